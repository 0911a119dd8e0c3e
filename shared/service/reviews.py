"""Reviews of a Family Plan: recording one (continue, adjust the package, or close the plan) and moving an open one.

A plan has one open review at a time (`REVIEW#<nnn>`, in the reviews-by-due-date index while open). Recording it
completes it and, unless the plan closes, opens the next; every change is one transaction with the referral's new
version, the audit entry and the event (ReviewCompleted, ReviewRescheduled), so the reminders follow the table.

Review states: scheduled ─(reminder sent)─▶ due ─(past due, escalated)─▶ overdue ─▶ completed (or cancelled when
the referral is withdrawn).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from shared.adapters import aws, table
from shared.adapters.dynamodb import Cancelled, ReferralReader, put, transact, update
from shared.config import Settings
from shared.domain import clock
from shared.domain.actors import Actor
from shared.domain.errors import Conflict, Invalid, NotFound
from shared.domain.events import EventData, ReviewCompleted, ReviewRescheduled, new_event
from shared.domain.plans import (
    MAX_PARTNERS,
    REVIEW_WITHIN,
    PackageItem,
    PartnerConsent,
    check_consents,
    named_partners,
)
from shared.domain.referrals import STATED, ReferralStatus, today
from shared.domain.workflow import IllegalTransition
from shared.service import plan_links
from shared.service.approvals import approval_removals, item_view, record_package
from shared.service.changes import CurrentState, audit_entry, commit_change, current_state, referral_update
from shared.service.connections import end_connections, request_connections
from shared.service.outbox import outbox_item

KIND_REVIEW = "review"
OPEN_STATES = ("scheduled", "due", "overdue")
# The condition "the review is still open", with its values (and "#status" named "status").
IS_OPEN = "#status IN (:o0, :o1, :o2)"
OPEN_VALUES = {f":o{i}": state for i, state in enumerate(OPEN_STATES)}
Reason = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000, pattern=STATED)]


def review_sort_key(number: int) -> str:
    return f"REVIEW#{number:03d}"


def review_index_sort(due_on: date, reference: str) -> str:
    return f"{due_on.isoformat()}#{reference}"


def review_item(reference: str, number: int, due_on: date, *, scheduled_on: date) -> dict[str, Any]:
    """An open review, in the reviews-by-due-date index (the overdue sweep's Query) until it is completed."""
    return {
        table.PARTITION_KEY: table.referral_pk(reference),
        table.SORT_KEY: review_sort_key(number),
        table.KIND_ATTRIBUTE: KIND_REVIEW,
        "reference": reference,
        "review_number": number,
        "due_on": due_on.isoformat(),
        "scheduled_on": scheduled_on.isoformat(),
        "status": "scheduled",
        "escalations": 0,
        table.REVIEW_DUE_INDEX_PK: "open",
        table.REVIEW_DUE_INDEX_SK: review_index_sort(due_on, reference),
    }


def open_review(items: list[dict[str, Any]]) -> dict[str, Any] | None:
    reviews = [i for i in items if i.get(table.KIND_ATTRIBUTE) == KIND_REVIEW and i.get("status") in OPEN_STATES]
    return max(reviews, key=lambda r: int(r["review_number"])) if reviews else None


def review_view(review: dict[str, Any]) -> dict[str, Any]:
    keys = ("review_number", "due_on", "status", "outcome", "completed_on", "escalations", "last_escalated_on")
    return {key: review[key] for key in keys if key in review}


class _Input(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, frozen=True)


class ReviewRequest(_Input):
    outcome: Literal["continue", "adjust", "close"] = Field(
        title="the review's outcome: continue the plan, adjust its package, or close it"
    )
    completed_on: date | None = Field(default=None, title="the date of the review (today when not given)")
    support_package: list[PackageItem] | None = Field(
        default=None, max_length=30, title="the support package as it stands after the review (adjust only)"
    )
    next_review_due_on: date | None = Field(default=None, title="the next review's date (unless closing)")
    partner_consent: list[PartnerConsent] | None = Field(
        default=None,
        max_length=MAX_PARTNERS,
        title="for each partner the adjusted package newly names, whether the family agreed to share their name",
    )

    @model_validator(mode="after")
    def _consistent(self) -> ReviewRequest:
        if self.partner_consent is not None:
            if self.support_package is None:
                raise ValueError("partner_consent goes with an adjusted support package that names partners")
            check_consents(named_partners([], self.support_package), self.partner_consent, required=set())
        if self.outcome == "close":
            if self.next_review_due_on is not None:
                raise ValueError("A closed plan has no next review: remove next_review_due_on")
            if self.support_package is not None:
                raise ValueError("Closing the plan changes no package: remove support_package")
            return self
        if self.next_review_due_on is None:
            raise ValueError("Give the next review's date (next_review_due_on)")
        if self.outcome == "adjust" and self.support_package is None:
            raise ValueError("An adjusted plan gives its support package as it stands after the review")
        if self.outcome == "continue" and self.support_package is not None:
            raise ValueError("A plan that continues keeps its package: to change it, record the outcome adjust")
        return self


class ReviewMove(_Input):
    due_on: date = Field(title="the review's new date")
    reason: Reason = Field(title="why the review moves")


def _date_error(field: str, message: str) -> Invalid:
    return Invalid("The review has problems to fix", [{"field": field, "message": message}])


def _review_key(reference: str, sort_key: str) -> dict[str, str]:
    return {table.PARTITION_KEY: table.referral_pk(reference), table.SORT_KEY: sort_key}


def _open_review_update(
    settings: Settings, reference: str, review: dict[str, Any], sets: dict[str, Any], *, remove: tuple[str, ...] = ()
) -> Any:
    """Update the open review, only while it is still open at the date that was read."""
    return update(
        _review_key(reference, review[table.SORT_KEY]),
        settings.table_name,
        sets,
        remove=remove,
        condition=f"{IS_OPEN} AND #due = :read_due",
        names={"#status": "status", "#due": "due_on"},
        values={**OPEN_VALUES, ":read_due": review["due_on"]},
    )


def _plan_update(settings: Settings, pk: str, plan_sets: dict[str, Any]) -> Any:
    """The plan after a review, its version raised; a None value (a closed plan's next review) is removed."""
    return update(
        {table.PARTITION_KEY: pk, table.SORT_KEY: "PLAN"},
        settings.table_name,
        plan_sets,
        increment="version",
        condition="attribute_exists(#version)",
        names={"#version": "version"},
    )


def record_review(
    reference: str,
    body: ReviewRequest,
    *,
    actor: Actor,
    expected_version: int | None,
    reader: ReferralReader,
    settings: Settings,
    correlation_id: str,
    now: datetime | None = None,
) -> dict[str, Any]:
    """Complete the open review: continue (next review), adjust (new package, next review) or close the plan."""
    now = now or clock.now()
    current = current_state(reader, reference)
    status, version = current.status, current.version
    current.allow("record_review", expected_version)
    items = current.items
    review = open_review(items)
    plan = next((i for i in items if i.get(table.KIND_ATTRIBUTE) == "plan"), None)
    if review is None or plan is None:  # a plan_active referral always has both; a concurrent change does not
        raise IllegalTransition("record_review", status, stale=True)
    completed_on = body.completed_on or today()
    if completed_on > today():
        raise _date_error("completed_on", "A review cannot be recorded for a date still to come")
    if completed_on < date.fromisoformat(str(plan.get("agreed_on") or completed_on)):
        raise _date_error("completed_on", "A review cannot be earlier than the meeting that agreed the plan")
    next_due = body.next_review_due_on
    if next_due is not None and not completed_on < next_due <= completed_on + REVIEW_WITHIN:
        raise _date_error("next_review_due_on", "The next review must be after this one and within three months of it")
    number = int(review["review_number"])
    at = clock.iso(now)
    to_status = ReferralStatus.CLOSED if body.outcome == "close" else ReferralStatus.PLAN_ACTIVE
    event: EventData = ReviewCompleted(
        reference=reference,
        review_number=number,
        due_on=date.fromisoformat(review["due_on"]),
        completed_on=completed_on,
        outcome=body.outcome,
        next_review_due_on=next_due,
    )
    envelope = new_event(event, correlation_id=correlation_id, occurred_at=now)
    pk = table.referral_pk(reference)
    review_update = _open_review_update(
        settings,
        reference,
        review,
        {"status": "completed", "outcome": body.outcome, "completed_on": completed_on.isoformat(), "updated_at": at},
        remove=(table.REVIEW_DUE_INDEX_PK, table.REVIEW_DUE_INDEX_SK),
    )
    plan_sets: dict[str, Any] = {
        "last_review_number": number,
        "last_reviewed_on": completed_on.isoformat(),
        "updated_at": at,
    }
    changes: dict[str, Any] = {
        "review": {"number": number, "outcome": body.outcome, "completed_on": completed_on.isoformat()},
        "version": {"from": version, "to": version + 1},
    }
    if status is not to_status:
        changes["status"] = {"from": status.value, "to": to_status.value}
    approvals = _package_change(
        reference, plan, body, current=current, plan_sets=plan_sets, changes=changes, settings=settings, now=now
    )
    connected = _partner_connections(
        reference,
        plan,
        body,
        items=items,
        plan_sets=plan_sets,
        changes=changes,
        reader=reader,
        settings=settings,
        correlation_id=correlation_id,
        now=now,
    )
    plan_sets["next_review_due_on"] = next_due.isoformat() if next_due else None
    plan_sets["plan_status"] = "closed" if body.outcome == "close" else "active"
    plan_update = _plan_update(settings, pk, plan_sets)
    writes = [referral_update(settings, reference, version, to_status, at), review_update, plan_update]
    next_review = None
    if next_due is not None:
        next_review = review_item(reference, number + 1, next_due, scheduled_on=completed_on)
        writes.append(put(next_review, settings.table_name, f"attribute_not_exists({table.PARTITION_KEY})"))
        changes["next_review"] = {"number": number + 1, "due_on": next_due.isoformat()}
    audit = audit_entry(
        reference,
        at=at,
        actor=actor,
        action=f"review.{body.outcome}",
        changes=changes,
        event_id=envelope.metadata.event_id,
        cid=correlation_id,
    )
    writes.append(put(audit, settings.table_name))
    writes.append(put(outbox_item(pk, envelope, event.detail_type, now=now, settings=settings), settings.table_name))
    writes += connected + approvals
    # the plan's page as the review left it: each link renewed and sent again, or its people told the plan closed
    writes += plan_links.share_writes(
        reference,
        items,
        because="closed" if body.outcome == "close" else "reviewed",
        next_review_due_on=next_due,
        reviewed_on=completed_on,
        settings=settings,
        correlation_id=correlation_id,
        now=now,
    )
    commit_change(writes, settings, reference, "record_review", status)
    return {
        "reference": reference,
        "status": to_status.value,
        "version": version + 1,
        "review": {"review_number": number, "outcome": body.outcome, "completed_on": completed_on.isoformat()},
        "next_review": review_view(next_review) if next_review else None,
    }


def _package_change(
    reference: str,
    plan: dict[str, Any],
    body: ReviewRequest,
    *,
    current: CurrentState,
    plan_sets: dict[str, Any],
    changes: dict[str, Any],
    settings: Settings,
    now: datetime,
) -> list[Any]:
    """An adjusted package (new items approved or waiting for a manager, items kept as they were); a closed plan
    leaves nothing waiting for a manager. The writes of its approval entries."""
    if body.support_package is None:
        return approval_removals(current.items, settings) if body.outcome == "close" else []
    recorded = record_package(
        reference,
        body.support_package,
        referral=current.referral,
        held=list(plan.get("support_package") or []),
        last_number=int(plan.get("last_item_number") or 0),
        meeting_held=True,  # a plan in force was agreed at a meeting that took place
        settings=settings,
        now=now,
    )
    plan_sets["support_package"] = recorded.entries
    plan_sets["last_item_number"] = recorded.last_number
    changes["support_package"] = {
        "from": [item_view(e) for e in plan.get("support_package", [])],
        "to": [item_view(e) for e in recorded.entries],
    }
    if recorded.waiting:
        changes["package_waiting_for_approval"] = recorded.waiting
    return recorded.writes


def _partner_connections(
    reference: str,
    plan: dict[str, Any],
    body: ReviewRequest,
    *,
    items: list[dict[str, Any]],
    plan_sets: dict[str, Any],
    changes: dict[str, Any],
    reader: ReferralReader,
    settings: Settings,
    correlation_id: str,
    now: datetime,
) -> list[Any]:
    """An adjusted package that names partners the plan did not name before connects the family with them (the
    family's answer on sharing their name is required for each; the plan keeps every answer given); the partners
    it no longer names, or all of them when the plan closes, stop waiting for an answer."""

    actions = plan.get("network_actions", [])
    before = named_partners(actions, plan.get("support_package", []))
    if body.outcome == "close":
        return _end_dropped(reference, before, items=items, changes=changes, settings=settings, now=now)
    if body.support_package is None:
        return []
    after = named_partners(actions, body.support_package)
    newly = after - before
    if len(after) > MAX_PARTNERS:
        raise _date_error("support_package", f"A plan can connect the family with at most {MAX_PARTNERS} partners")
    given = body.partner_consent or []
    try:
        check_consents(after, given, required=newly)
    except ValueError as problem:
        raise _date_error("partner_consent", str(problem)) from None
    if already := sorted({c.partner_id for c in given} - newly):
        raise _date_error(
            "partner_consent",
            f"The family's answer for {', '.join(already)} was recorded when the plan first named it: give answers "
            "for newly named partners only",
        )
    answers = {str(c["partner_id"]): bool(c["share_contact_name"]) for c in plan.get("partner_consent", [])}
    answers |= {c.partner_id: c.share_contact_name for c in given}
    plan_sets["partner_consent"] = [
        {"partner_id": partner_id, "share_contact_name": shared} for partner_id, shared in sorted(answers.items())
    ]
    writes = _end_dropped(reference, before - after, items=items, changes=changes, settings=settings, now=now)
    if not newly:
        return writes
    connected = request_connections(
        reference,
        newly,
        consents=answers,
        existing=items,
        reader=reader,
        settings=settings,
        correlation_id=correlation_id,
        now=now,
    )
    changes["connections_requested"] = connected.partner_ids
    return writes + connected.writes


def _end_dropped(
    reference: str,
    dropped: set[str],
    *,
    items: list[dict[str, Any]],
    changes: dict[str, Any],
    settings: Settings,
    now: datetime,
) -> list[Any]:
    """The connections of partners the plan no longer names, while their answer is still awaited, end."""

    ended = end_connections(reference, dropped, existing=items, settings=settings, now=now)
    if ended.partner_ids:
        changes["connections_ended"] = ended.partner_ids
    return ended.writes


def move_review(
    reference: str,
    number: int,
    body: ReviewMove,
    *,
    actor: Actor,
    expected_version: int | None,
    reader: ReferralReader,
    settings: Settings,
    correlation_id: str,
    now: datetime | None = None,
) -> dict[str, Any]:
    """Move the open review to another date (its reminder moves with it)."""
    now = now or clock.now()
    current = current_state(reader, reference)
    status, version = current.status, current.version
    current.allow("move_review", expected_version)
    review = next((i for i in current.items if i[table.SORT_KEY] == review_sort_key(number)), None)
    if review is None:
        raise NotFound(f"Review {number} of this referral does not exist")
    if review.get("status") not in OPEN_STATES:
        raise Conflict(f"Review {number} is {review.get('status')}: only an open review can be moved")
    previous = date.fromisoformat(review["due_on"])
    if body.due_on == previous:
        raise _date_error("due_on", "The review is already due on that date")
    if not today() < body.due_on <= today() + REVIEW_WITHIN:
        raise _date_error("due_on", "The new date must be after today and within three months of it")
    at = clock.iso(now)
    event = ReviewRescheduled(reference=reference, review_number=number, due_on=body.due_on, previous_due_on=previous)
    envelope = new_event(event, correlation_id=correlation_id, occurred_at=now)
    pk = table.referral_pk(reference)
    review_update = _open_review_update(
        settings,
        reference,
        review,
        {
            "due_on": body.due_on.isoformat(),
            "status": "scheduled",
            "escalations": 0,
            "updated_at": at,
            table.REVIEW_DUE_INDEX_SK: review_index_sort(body.due_on, reference),
        },
        remove=("last_escalated_on",),
    )
    audit = audit_entry(
        reference,
        at=at,
        actor=actor,
        action="review.moved",
        changes={
            "review": {"number": number, "due_on": {"from": previous.isoformat(), "to": body.due_on.isoformat()}},
            "reason": body.reason,
            "version": {"from": version, "to": version + 1},
        },
        event_id=envelope.metadata.event_id,
        cid=correlation_id,
    )
    writes = [
        referral_update(settings, reference, version, status, at),
        review_update,
        put(audit, settings.table_name),
        put(outbox_item(pk, envelope, event.detail_type, now=now, settings=settings), settings.table_name),
    ]
    commit_change(writes, settings, reference, "move_review", status)
    return {
        "reference": reference,
        "status": status.value,
        "version": version + 1,
        "review": {"review_number": number, "due_on": body.due_on.isoformat(), "status": "scheduled"},
    }


def cancel_open_review(
    review: dict[str, Any], *, settings: Settings, client: aws.DynamoDBClientFactory = aws.dynamodb
) -> bool:
    """A withdrawn referral's open review is cancelled and leaves the reviews-by-due-date index."""
    cancelled = update(
        {table.PARTITION_KEY: review[table.PARTITION_KEY], table.SORT_KEY: review[table.SORT_KEY]},
        settings.table_name,
        {"status": "cancelled"},
        remove=(table.REVIEW_DUE_INDEX_PK, table.REVIEW_DUE_INDEX_SK),
        condition=IS_OPEN,
        names={"#status": "status"},
        values=OPEN_VALUES,
    )
    try:
        transact([cancelled], settings.table_name, client)
    except Cancelled:
        return False  # no longer open
    return True


def mark_due(reference: str, number: int, due_on: date, *, settings: Settings) -> bool:
    """The reminder went out: a scheduled review is now due (an overdue or completed one stays as it is)."""
    due = update(
        _review_key(reference, review_sort_key(number)),
        settings.table_name,
        {"status": "due"},
        condition="#status = :scheduled AND due_on = :due_on",
        names={"#status": "status"},
        values={":scheduled": "scheduled", ":due_on": due_on.isoformat()},
    )
    try:
        transact([due], settings.table_name)
    except Cancelled:
        return False
    return True
