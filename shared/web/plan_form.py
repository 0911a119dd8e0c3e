"""The console's outcome and plan builder: a meeting held (its date, the network's actions, the support package, the
family's answer for each partner the plan names, the first review) or not held (why), as a person fills it in, read
into the API's own `Outcome`, with each of the domain's problems named against the box to fix.

Rows are added and removed without JavaScript, as on the public referral form: the pressed button's `action`
(`add-action`, `remove-item-2`, `refresh`…) re-renders the form with every answer kept, and only `send` records.
Each row carries a hidden `row` marker so a row left blank is still a row on screen (an empty box is not sent).
The review form (`review_form.py`) shares the package rows and the partners' answers.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from pydantic import ValidationError

from shared.domain.errors import Refused
from shared.domain.meetings import OutcomeTooEarly
from shared.domain.plans import Outcome, PartnerConsent, check_consents
from shared.domain.validation import field_errors
from shared.service.connections import UnknownPartner

SEND = "send"
ACTION_FIELD = "action"
_ACTION = re.compile(r"^(send|refresh|add-action|add-item|remove-action-\d{1,2}|remove-item-\d{1,2})$")
MAX_ACTIONS = 50  # as many as a Plan takes
MAX_ITEMS = 30
FIRST_YEAR, LAST_YEAR = 2000, 2100
MAX_BOX = 200
MAX_REASON = 2000
CATEGORIES = (("item", "An item"), ("service", "A service"), ("equipment", "Equipment"))
ACTION_BOXES = ("who", "what", "how_often", "checked_by", "partner_id")
ITEM_BOXES = ("category", "description", "cost", "partner_id")
DATE_PARTS = ("day", "month", "year")
_POUNDS = re.compile(r"^£?\s*([0-9]{1,3}(?:,[0-9]{3})+|[0-9]{1,9})(?:\.([0-9]{1,2}))?$")
_PARTNER = re.compile(r"^p-[a-z0-9]{1,30}$")
MAX_COST = "£100,000"  # PackageItem's estimated_cost_pence ≤ 10,000,000


@dataclass
class Partner:
    partner_id: str
    name: str


@dataclass
class Rows:
    """What a form with package rows (and maybe action rows) holds, as text, and the problems found."""

    actions: list[dict[str, str]] = field(default_factory=list)
    items: list[dict[str, str]] = field(default_factory=list)
    consent: dict[str, str] = field(default_factory=dict)  # partner id → "yes" / "no" / ""
    errors: list[dict[str, str]] = field(default_factory=list)

    def error(self, name: str) -> str | None:
        return next((e["text"] for e in self.errors if e["href"] == f"#{name}"), None)

    def add_error(self, href: str, text: str) -> None:
        if not self.error(href):  # one problem per box: the first found, in the form's words
            self.errors.append({"text": text, "href": f"#{href}"})

    def named(self, *, actions: bool = True) -> list[str]:
        """The partners the rows name, in the order they are first named."""
        found: list[str] = []
        for row in [*(self.actions if actions else []), *self.items]:
            partner_id = row.get("partner_id", "")
            if _PARTNER.match(partner_id) and partner_id not in found:
                found.append(partner_id)
        return found


@dataclass
class PlanForm(Rows):
    held: str = ""  # "yes" / "no"
    reason: str = ""
    held_on: dict[str, str] = field(default_factory=dict)
    first_review: dict[str, str] = field(default_factory=dict)


def field_id(name: str) -> str:
    return name.replace(".", "-")


# --- reading what was posted ------------------------------------------------------------------------------------
def pressed(form: dict[str, Any]) -> str:
    action = form.get(ACTION_FIELD, SEND)
    return action if isinstance(action, str) and _ACTION.match(action) else SEND


def text(value: Any, limit: int = MAX_BOX) -> str:
    """A box's answer: text only (a nested group is no answer), trimmed, bounded (the model says if it is long)."""
    return value.strip()[: limit + 1] if isinstance(value, str) else ""


def date_parts(value: Any) -> dict[str, str]:
    value = value if isinstance(value, dict) else {}
    return {part: text(value.get(part), 4) for part in DATE_PARTS}


def posted_rows(
    form: dict[str, Any], name: str, boxes: tuple[str, ...], *, dated: str | None = None
) -> list[dict[str, str]]:
    """The rows of a list as posted (`items.0.description`…), in order, as text; at most 100 (two-digit indexes)."""
    found = form.get(name)
    rows = found if isinstance(found, list) else []
    read = []
    for row in rows:
        if not isinstance(row, dict):
            continue
        values = {box: text(row.get(box)) for box in boxes}
        if "was" in row:
            values["was"] = text(row.get("was"), 3)
        if dated:
            values |= {f"{dated}_{part}": value for part, value in date_parts(row.get(dated)).items()}
        read.append(values)
    return read


def posted_consent(form: dict[str, Any]) -> dict[str, str]:
    """The family's answer for each partner, as posted: `consent.0.partner_id` with `consent.0.share` yes or no."""
    found = form.get("consent")
    answers: dict[str, str] = {}
    for row in found if isinstance(found, list) else []:
        if isinstance(row, dict) and _PARTNER.match(text(row.get("partner_id"))):
            share = text(row.get("share"))
            answers[text(row.get("partner_id"))] = share if share in ("yes", "no") else ""
    return answers


def apply_action(rows: Rows, action: str, *, with_actions: bool = True) -> None:
    """Add or remove a row (the no-JavaScript "add another")."""
    if action == "add-action" and with_actions and len(rows.actions) < MAX_ACTIONS:
        rows.actions.append(blank_action())
    elif action == "add-item" and len(rows.items) < MAX_ITEMS:
        rows.items.append(blank_item())
    elif action.startswith("remove-action-"):
        index = int(action.rsplit("-", 1)[1])
        rows.actions = [row for n, row in enumerate(rows.actions) if n != index]
    elif action.startswith("remove-item-"):
        index = int(action.rsplit("-", 1)[1])
        rows.items = [row for n, row in enumerate(rows.items) if n != index]


def blank_action() -> dict[str, str]:
    return {**{box: "" for box in ACTION_BOXES}, **{f"by_when_{part}": "" for part in DATE_PARTS}}


def blank_item() -> dict[str, str]:
    return {box: "" for box in ITEM_BOXES}


def is_blank(row: dict[str, str]) -> bool:
    return not any(value for key, value in row.items() if key != "was")


# --- turning answers into the model's values --------------------------------------------------------------------
def read_date(parts: dict[str, str], rows: Rows, href: str, what: str) -> str | None:
    """`YYYY-MM-DD`, or None when left empty; a date that cannot be one is named against its first box."""
    values = [parts.get(part, "") for part in DATE_PARTS]
    if not any(values):
        return None
    try:
        if not all(v.isascii() and v.isdigit() for v in values) or not FIRST_YEAR <= int(values[2]) <= LAST_YEAR:
            raise ValueError
        return date(int(values[2]), int(values[1]), int(values[0])).isoformat()
    except ValueError:
        rows.add_error(href, f"{what} must be a real date, like 27 3 2026")
        return None


def pence(value: str) -> int | None:
    """`400`, `£400`, `1,250.5` or `85.50` pounds in pence; None when it is not an amount of pounds."""
    found = _POUNDS.match(value.replace(" ", ""))
    if not found:
        return None
    pounds = int(found.group(1).replace(",", ""))
    return pounds * 100 + int((found.group(2) or "0").ljust(2, "0"))


def pounds(value: Any) -> str:
    """Pence as the pounds a person types: `400`, `85.50`."""
    amount = int(value)
    return f"{amount // 100}" if amount % 100 == 0 else f"{amount // 100}.{amount % 100:02d}"


def action_body(row: dict[str, str], n: int, rows: Rows) -> dict[str, Any]:
    body: dict[str, Any] = {box: row[box] for box in ("who", "what", "how_often", "checked_by") if row.get(box)}
    by_when = read_date(
        {part: row.get(f"by_when_{part}", "") for part in DATE_PARTS},
        rows,
        f"actions-{n}-by_when-day",
        f"Action {n + 1}: the date it is done by",
    )
    if by_when:
        body["by_when"] = by_when
    if row.get("partner_id"):
        body["partner_id"] = row["partner_id"]
    return body


def item_body(row: dict[str, str], n: int, rows: Rows) -> dict[str, Any]:
    body: dict[str, Any] = {box: row[box] for box in ("category", "description") if row.get(box)}
    if row.get("cost"):
        amount = pence(row["cost"])
        if amount is None:
            rows.add_error(f"items-{n}-cost", f"Item {n + 1}: enter the estimated cost in pounds, like 85 or 85.50")
        else:
            body["estimated_cost_pence"] = amount
    if row.get("partner_id"):
        body["partner_id"] = row["partner_id"]
    return body


def consent_body(rows: Rows, partners: list[str]) -> list[dict[str, Any]]:
    return [
        {"partner_id": partner_id, "share_contact_name": rows.consent[partner_id] == "yes"}
        for partner_id in partners
        if rows.consent.get(partner_id) in ("yes", "no")
    ]


# --- the domain's problems, against the boxes -------------------------------------------------------------------
_ROW_FIELD = re.compile(r"^(?:plan\.)?(network_actions|support_package)\.(\d+)\.([a-z_]+)")
_BOX_WORDS = {
    ("network_actions", "who"): "enter who in the network will do it",
    ("network_actions", "what"): "enter what they will do",
    ("support_package", "category"): "choose the kind of support",
    ("support_package", "description"): "enter what the support is",
    ("support_package", "estimated_cost_pence"): "enter the estimated cost in pounds, like 85 or 85.50",
}


def row_problem(rows: Rows, problem: dict[str, str], index_of: dict[str, list[int]]) -> bool:
    """A model error about one row's box, named against that box with the row's number (True if it was one)."""
    found = _ROW_FIELD.match(problem["field"])
    if not found:
        return False
    kind, model_index, box = found.group(1), int(found.group(2)), found.group(3)
    positions = index_of.get(kind, [])
    n = positions[model_index] if model_index < len(positions) else 0
    prefix, name = ("Action", "actions") if kind == "network_actions" else ("Item", "items")
    message = problem["message"]
    if box == "estimated_cost_pence" and "less than" in message:
        words = f"the estimated cost must be {MAX_COST} or less"
    elif message.startswith(("Enter", "Choose", "Add")):
        words = _BOX_WORDS.get((kind, box), message[:1].lower() + message[1:])
    else:
        words = message[:1].lower() + message[1:]
    href = {"estimated_cost_pence": "cost", "by_when": "by_when-day"}.get(box, box)
    rows.add_error(f"{name}-{n}-{href}", f"{prefix} {n + 1}: {words}")
    return True


def consent_problems(rows: Rows, required: list[str], partners: dict[str, str], message: str) -> None:
    """The family's answer is missing for some partners: against each one's radios; else the domain's words."""
    missing = [p for p in required if rows.consent.get(p) not in ("yes", "no")]
    for partner_id in missing:
        rows.add_error(
            f"consent-{partner_id}",
            f"Choose whether the family agreed to {partners.get(partner_id, partner_id)} being told their "
            "contact's name",
        )
    if not missing:
        rows.add_error("partners", message)


def unanswered(rows: Rows, required: list[str], partners: dict[str, str]) -> None:
    """The domain's consent rule (`check_consents`, which the model runs only once every other answer is valid),
    checked now so the family's missing answers are shown with the form's other problems."""
    given = [
        PartnerConsent(partner_id=p, share_contact_name=rows.consent[p] == "yes")
        for p in required
        if rows.consent.get(p) in ("yes", "no")
    ]
    try:
        check_consents(set(required), given, required=set(required))
    except ValueError as problem:
        consent_problems(rows, required, partners, str(problem))


def unknown_partner(rows: Rows, refused: UnknownPartner, partners: dict[str, str]) -> None:
    """A partner no longer active: against the first row naming it."""
    name = partners.get(refused.partner_id, refused.partner_id)
    for kind, listed in (("actions", rows.actions), ("items", rows.items)):
        for n, row in enumerate(listed):
            if row.get("partner_id") == refused.partner_id:
                label = "Action" if kind == "actions" else "Item"
                rows.add_error(
                    f"{kind}-{n}-partner_id",
                    f"{label} {n + 1}: {name} is no longer an active partner in the directory: choose another",
                )
                return
    rows.add_error("partners", refused.message)


def ordered(errors: list[dict[str, str]], order: list[str]) -> list[dict[str, str]]:
    """The error summary in the order of the form (the boxes' ids as the page lays them out)."""
    position = {box: n for n, box in enumerate(order)}
    return sorted(errors, key=lambda e: position.get(e["href"][1:], len(position)))


# --- the outcome form --------------------------------------------------------------------------------------------
def opened() -> PlanForm:
    """The form as it opens: one empty action and one empty package row."""
    return PlanForm(actions=[blank_action()], items=[blank_item()])


def posted(form: dict[str, Any]) -> PlanForm:
    return PlanForm(
        held=text(form.get("held")) if text(form.get("held")) in ("yes", "no") else "",
        reason=text(form.get("reason"), MAX_REASON),
        held_on=date_parts(form.get("held_on")),
        first_review=date_parts(form.get("first_review")),
        actions=posted_rows(form, "actions", ACTION_BOXES, dated="by_when"),
        items=posted_rows(form, "items", ITEM_BOXES),
        consent=posted_consent(form),
    )


def read(checked: PlanForm, partners: dict[str, str]) -> Outcome | None:
    """The outcome the form asks for, or None with its problems on `checked`."""
    if not checked.held:
        checked.add_error("held", "Choose whether the meeting took place")
        return None
    if checked.held == "no":
        return _validated(checked, {"held": False, **({"reason": checked.reason} if checked.reason else {})}, partners)
    held_on = read_date(checked.held_on, checked, "held_on-day", "The date the meeting took place")
    if held_on is None and not checked.error("held_on-day"):
        checked.add_error("held_on-day", "Enter the date the meeting took place")
    first_review = read_date(checked.first_review, checked, "first_review-day", "The first review's date")
    actions, action_rows = [], []
    for n, row in enumerate(checked.actions):
        if not is_blank(row):
            actions.append(action_body(row, n, checked))
            action_rows.append(n)
    items, item_rows = [], []
    for n, row in enumerate(checked.items):
        if not is_blank(row):
            items.append(item_body(row, n, checked))
            item_rows.append(n)
    named = checked.named()
    plan: dict[str, Any] = {
        "network_actions": actions,
        "support_package": items,
        "partner_consent": consent_body(checked, named),
    }
    if first_review:
        plan["first_review_due_on"] = first_review
    body = {"held": True, "plan": plan, **({"held_on": held_on} if held_on else {})}
    return _validated(checked, body, partners, {"network_actions": action_rows, "support_package": item_rows})


_OUTCOME_WORDS = {  # the model's cross-field messages (which name the API's fields) in the form's words
    "Give the date the meeting took place": ("held_on-day", "Enter the date the meeting took place"),
    "Give the reason the meeting did not take place": ("reason", "Enter why the meeting did not take place"),
    "The first review must be": ("first_review-day", None),
}


def _validated(
    checked: PlanForm, body: dict[str, Any], partners: dict[str, str], index_of: dict[str, list[int]] | None = None
) -> Outcome | None:
    try:
        outcome = Outcome.model_validate(body)
    except ValidationError as exc:
        for problem in field_errors(Outcome, exc):
            if row_problem(checked, problem, index_of or {}):
                continue
            name, message = problem["field"], problem["message"]
            if name == "plan" and "contact's name" in message:
                consent_problems(checked, checked.named(), partners, message)
            elif name.startswith("plan.partner_consent") or name == "plan":
                checked.add_error("partners", message)
            elif name == "plan.first_review_due_on":
                checked.add_error("first_review-day", "Enter the date of the first review")
            elif name in ("plan.network_actions", "plan.support_package"):
                checked.add_error("actions" if name.endswith("actions") else "items", message)
            elif name == "reason":
                checked.add_error("reason", message)
            else:
                href, words = next(
                    ((h, w or message) for start, (h, w) in _OUTCOME_WORDS.items() if message.startswith(start)),
                    ("held", message),
                )
                checked.add_error(href, words)
        if body.get("held"):
            unanswered(checked, checked.named(), partners)
        return None
    return None if checked.errors else outcome


def refused(checked: PlanForm, problem: Refused, partners: dict[str, str]) -> None:
    """The service's refusals of an outcome that the model allowed, against the boxes."""
    if isinstance(problem, UnknownPartner):
        unknown_partner(checked, problem, partners)
    elif isinstance(problem, OutcomeTooEarly):
        checked.add_error("held_on-day", problem.message)
    else:  # a package the eligibility rules refuse (shared/service/approvals.py), or what else the service says
        for found in problem.errors or [{"field": "", "message": problem.message}]:
            at = "items" if found["field"].startswith("plan.support_package") else "held"
            checked.add_error(at, found["message"])


def layout(checked: PlanForm) -> list[str]:
    """The boxes' ids in the order the page shows them (for the error summary's order)."""
    order = ["held", "reason", "held_on-day", "actions"]
    for n in range(len(checked.actions)):
        order += [
            f"actions-{n}-{box}" for box in ("who", "what", "how_often", "by_when-day", "checked_by", "partner_id")
        ]
    order.append("items")
    for n in range(len(checked.items)):
        order += [f"items-{n}-{box}" for box in ("category", "description", "cost", "partner_id")]
    order += ["partners", *(f"consent-{p}" for p in checked.named()), "first_review-day"]
    return order


def partner_choices(directory: list[dict[str, Any]], rows: Rows) -> tuple[list[Partner], dict[str, str]]:
    """The active partners to choose from, and a name for every partner the rows name (one no longer active
    keeps its id as its name, so the answer is kept and the service can say why it is refused)."""
    active = [Partner(str(p["partner_id"]), str(p.get("name") or p["partner_id"])) for p in directory]
    names = {p.partner_id: p.name for p in active}
    for partner_id in rows.named():
        names.setdefault(partner_id, partner_id)
    return active, names
