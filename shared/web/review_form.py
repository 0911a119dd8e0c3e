"""The console's review forms: record the open review of a plan (continue; adjust the support package, its rows
added, removed and changed as on the outcome form; or close the plan) with the next review's date, read into the
API's `ReviewRequest`; and move an open review to another date with a reason (the API's `ReviewMove`). Each of the
domain's problems is named against the box to fix, every answer kept.

A package row that was in the plan carries the index it had (`was`), to show the item's status beside it. The form
sends no status: the service keeps an item the plan has as it was, and approves a new or changed one, or has it
wait for a manager, by the spending limits (shared/service/approvals.py).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from pydantic import ValidationError

from shared.domain.errors import Refused
from shared.domain.plans import named_partners
from shared.domain.validation import field_errors
from shared.service.connections import UnknownPartner
from shared.service.reviews import ReviewMove, ReviewRequest
from shared.web import plan_form
from shared.web.plan_form import DATE_PARTS, ITEM_BOXES, MAX_REASON, Rows

OUTCOMES = (
    ("continue", "The plan continues as it is", None),
    ("adjust", "Adjust the support package", "Change, add or remove items below."),
    ("close", "Close the plan", "The referral closes. Partners still waiting to answer are told no more."),
)


@dataclass
class ReviewForm(Rows):
    outcome: str = ""
    completed_on: dict[str, str] = field(default_factory=dict)
    next_review: dict[str, str] = field(default_factory=dict)


@dataclass
class MoveForm:
    due_on: dict[str, str]
    reason: str
    errors: list[dict[str, str]] = field(default_factory=list)

    def error(self, name: str) -> str | None:
        return next((e["text"] for e in self.errors if e["href"] == f"#{name}"), None)

    def add_error(self, href: str, text: str) -> None:
        if not self.error(href):
            self.errors.append({"text": text, "href": f"#{href}"})


def parts_of(day: date) -> dict[str, str]:
    return {"day": str(day.day), "month": str(day.month), "year": str(day.year)}


def newly_named(form: Rows, plan: dict[str, Any]) -> list[str]:
    """The partners the package rows name that the plan did not name before: the family's answer is asked for these."""
    before = named_partners(plan.get("network_actions", []), plan.get("support_package", []))
    return [p for p in form.named(actions=False) if p not in before]


# --- recording a review -----------------------------------------------------------------------------------------
def opened(plan: dict[str, Any], today: date) -> ReviewForm:
    """The form as it opens: reviewed today, the package as the plan has it."""
    items = [
        {
            "was": str(n),
            "category": str(item.get("category", "")),
            "description": str(item.get("description", "")),
            "cost": plan_form.pounds(item.get("estimated_cost_pence", 0)),
            "partner_id": str(item.get("partner_id") or ""),
        }
        for n, item in enumerate(plan.get("support_package", []))
    ]
    return ReviewForm(items=items, completed_on=parts_of(today))


def posted(form: dict[str, Any]) -> ReviewForm:
    outcome = plan_form.text(form.get("outcome"))
    return ReviewForm(
        outcome=outcome if outcome in {value for value, _, _ in OUTCOMES} else "",
        completed_on=plan_form.date_parts(form.get("completed_on")),
        next_review=plan_form.date_parts(form.get("next_review")),
        items=plan_form.posted_rows(form, "items", ITEM_BOXES),
        consent=plan_form.posted_consent(form),
    )


def statuses(plan: dict[str, Any]) -> dict[str, str]:
    """Each stored item's status by its index (as a row's `was` gives it)."""
    return {str(n): str(item.get("status", "")) for n, item in enumerate(plan.get("support_package", []))}


def read(checked: ReviewForm, plan: dict[str, Any], names: dict[str, str]) -> ReviewRequest | None:
    """The review the form records, or None with its problems on `checked`."""
    if not checked.outcome:
        checked.add_error("outcome", "Choose the review's outcome")
    completed_on = plan_form.read_date(checked.completed_on, checked, "completed_on-day", "The date of the review")
    body: dict[str, Any] = {"outcome": checked.outcome or "continue"}
    if completed_on:
        body["completed_on"] = completed_on
    if checked.outcome != "close":
        next_review = plan_form.read_date(
            checked.next_review, checked, "next_review-day", "The date of the next review"
        )
        if next_review:
            body["next_review_due_on"] = next_review
    rows: list[int] = []
    if checked.outcome == "adjust":
        package = []
        for n, row in enumerate(checked.items):
            if not plan_form.is_blank(row):
                package.append(plan_form.item_body(row, n, checked))  # no status: the service keeps or sets it
                rows.append(n)
        body["support_package"] = package
        asked = newly_named(checked, plan)
        if asked:
            body["partner_consent"] = plan_form.consent_body(checked, asked)
    try:
        request = ReviewRequest.model_validate(body)
    except ValidationError as exc:
        for problem in field_errors(ReviewRequest, exc):
            if plan_form.row_problem(checked, problem, {"support_package": rows}):
                continue
            name, message = problem["field"], problem["message"]
            if name.startswith("partner_consent"):
                plan_form.consent_problems(checked, newly_named(checked, plan), names, message)
            elif name == "support_package":
                checked.add_error("items", message)
            elif message.startswith("Give the next review's date"):
                checked.add_error("next_review-day", "Enter the date of the next review")
            else:
                checked.add_error("outcome", message)
        if checked.outcome == "adjust":
            plan_form.unanswered(checked, newly_named(checked, plan), names)
        return None
    return None if checked.errors else request


_REFUSED_AT = {
    "completed_on": "completed_on-day",
    "next_review_due_on": "next_review-day",
    "support_package": "items",
    "partner_consent": "partners",
}


def refused(checked: ReviewForm, problem: Refused, plan: dict[str, Any], names: dict[str, str]) -> None:
    """The service's refusals of a review the model allowed (its dates against the plan's, a partner no longer
    active, the family's answer missing for a newly named partner), against the boxes."""
    if isinstance(problem, UnknownPartner):
        plan_form.unknown_partner(checked, problem, names)
        return
    for found in problem.errors or [{"field": "", "message": problem.message}]:
        if found["field"] == "partner_consent" and "contact's name" in found["message"]:
            plan_form.consent_problems(checked, newly_named(checked, plan), names, found["message"])
        else:
            checked.add_error(_REFUSED_AT.get(found["field"], "outcome"), found["message"])


def layout(checked: ReviewForm, asked: list[str]) -> list[str]:
    order = ["outcome", "completed_on-day", "next_review-day", "items"]
    for n in range(len(checked.items)):
        order += [f"items-{n}-{box}" for box in ("category", "description", "cost", "partner_id")]
    return [*order, "partners", *(f"consent-{p}" for p in asked)]


# --- moving a review --------------------------------------------------------------------------------------------
def move_opened(due_on: str) -> MoveForm:
    try:
        return MoveForm(parts_of(date.fromisoformat(due_on)), "")
    except ValueError:
        return MoveForm({part: "" for part in DATE_PARTS}, "")


def move_posted(form: dict[str, Any]) -> MoveForm:
    return MoveForm(plan_form.date_parts(form.get("due_on")), plan_form.text(form.get("reason"), MAX_REASON))


def move_read(checked: MoveForm) -> ReviewMove | None:
    rows = Rows()  # read_date reports on a Rows; its problems are the move form's
    due_on = plan_form.read_date(checked.due_on, rows, "due_on-day", "The review's new date")
    checked.errors += rows.errors
    if due_on is None and not checked.error("due_on-day"):
        checked.add_error("due_on-day", "Enter the review's new date")
    body = {"due_on": due_on or "", "reason": checked.reason}
    try:
        move = ReviewMove.model_validate(body)
    except ValidationError as exc:
        for problem in field_errors(ReviewMove, exc):
            if problem["field"] == "reason":
                message = "Enter why the review moves" if problem["message"].startswith("Enter") else problem["message"]
                checked.add_error("reason", message)
        return None
    return None if checked.errors else move


def move_refused(checked: MoveForm, problem: Refused) -> None:
    for found in problem.errors or [{"field": "due_on", "message": problem.message}]:
        checked.add_error("reason" if found["field"] == "reason" else "due_on-day", found["message"])
