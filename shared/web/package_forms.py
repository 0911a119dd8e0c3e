"""The console's support package forms: a manager's decline (its reason) and an approved item's delivery (actual cost
in pounds, supplier, date), read into the domain's models, each problem against its box (the GOV.UK error summary),
every answer kept."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from shared.domain.errors import Refused
from shared.domain.plans import Delivery, PackageDecline
from shared.domain.validation import field_errors
from shared.web import plan_form

MAX_REASON = 2000


@dataclass
class DeliveryForm(plan_form.Rows):
    """One approved item's delivery form on the case page (box ids `delivery-<n>-…`)."""

    number: int = 0
    cost: str = ""
    supplier: str = ""
    delivered_on: dict[str, str] = field(default_factory=dict)

    def box(self, name: str) -> str:
        return f"delivery-{self.number}-{name}"


def delivery_posted(form: dict[str, Any], number: int) -> DeliveryForm:
    return DeliveryForm(
        number=number,
        cost=plan_form.text(form.get("actual_cost"), 20),
        supplier=plan_form.text(form.get("supplier")),
        delivered_on=plan_form.date_parts(form.get("delivered_on")),
    )


def delivery_read(checked: DeliveryForm) -> Delivery | None:
    """The delivery the form records, or None with its problems on `checked`."""
    body: dict[str, Any] = {"supplier": checked.supplier}
    amount = plan_form.pence(checked.cost) if checked.cost else None
    if not checked.cost:
        checked.add_error(checked.box("cost"), "Enter what the item cost, in pounds")
    elif amount is None:
        checked.add_error(checked.box("cost"), "Enter what the item cost in pounds, like 389 or 389.50")
    else:
        body["actual_cost_pence"] = amount
    if not checked.supplier:
        checked.add_error(checked.box("supplier"), "Enter who supplied it")
    delivered_on = plan_form.read_date(checked.delivered_on, checked, checked.box("day"), "The delivery date")
    if delivered_on is None and not checked.error(checked.box("day")):
        checked.add_error(checked.box("day"), "Enter the date it was delivered")
    body["delivered_on"] = delivered_on or ""
    try:
        delivery = Delivery.model_validate(body)
    except ValidationError as exc:
        for problem in field_errors(Delivery, exc):
            delivery_refused(checked, problem)
        return None
    return None if checked.errors else delivery


_DELIVERY_BOXES = {"actual_cost_pence": "cost", "supplier": "supplier", "delivered_on": "day"}


def delivery_refused(checked: DeliveryForm, problem: dict[str, str] | Refused) -> None:
    """A problem the model or the service found, against its box (a box already named keeps its first problem)."""
    found = [problem] if isinstance(problem, dict) else (problem.errors or [{"field": "", "message": problem.message}])
    for each in found:
        box = checked.box(_DELIVERY_BOXES.get(each["field"], "cost"))
        if checked.error(box) is None:
            message = each["message"]
            if each["field"] == "actual_cost_pence" and "less than" in message:
                message = f"The cost must be {plan_form.MAX_COST} or less"
            checked.add_error(box, message)


def delivery_values(checked: DeliveryForm | None) -> dict[str, Any]:
    """What the case page shows in one item's delivery form: its answers and problems."""
    if checked is None:
        return {}
    return {
        "number": checked.number,
        "cost": checked.cost,
        "supplier": checked.supplier,
        "delivered_on": checked.delivered_on,
        "errors": {e["href"].lstrip("#"): e["text"] for e in checked.errors},
    }


def decline_reason(form: dict[str, Any]) -> tuple[str, str | None]:
    """The reason as typed, and the problem with it (None: it will do)."""
    reason = plan_form.text(form.get("reason"), MAX_REASON + 1)
    if not reason:
        return reason, "Enter why the item is declined: the coordinator reads it on the case page"
    try:
        PackageDecline.model_validate({"reason": reason})
    except ValidationError:
        return reason[:MAX_REASON], f"The reason must be {MAX_REASON} characters or fewer"
    return reason, None
