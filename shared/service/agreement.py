"""The plan made at the meeting, agreed by the lead practitioner (issue 21): FGC practice is that the lead
practitioner (for a professional's request, the referrer) agrees the family's plan or asks for changes.

A held meeting with a plan leaves the referral `awaiting_agreement`: the plan waits, with an agreement round
(`AGREEMENT#nnn`: its id, who is asked, the day it is due) and PlanAgreementRequested, whose email carries a signed,
expiring link (purpose "agreement": a partner's connection link cannot open it, nor it a connection). Through the link
(no login), or a coordinator on their behalf, the answer is:
- agreed: the plan is in force (`plan_active`), its first review opens (the review clock and reminder start), the
  partners it names are asked (ConnectionRequested) and the referrer gets the feedback (PlanAgreed), in one
  transaction;
- changes asked, with reasons: the plan goes back to the coordinator (the work list shows it), who revises it (or
  not) and asks again: a new round and link; the last round's link then answers "no longer open".
Each answer is a conditional write on its round (still `requested`, the same agreement id), so a reused, stale or
forged link changes nothing; the reasons stay in the table (never in an event, a log or an email).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from shared.adapters import table
from shared.adapters.dynamodb import Cancelled, ReferralReader, put, to_item, transact, update
from shared.config import Settings
from shared.domain import clock, links
from shared.domain.actors import Actor
from shared.domain.clock import LONDON
from shared.domain.errors import Invalid
from shared.domain.events import (
    Answerer,
    PlanAgreed,
    PlanAgreementRequested,
    PlanChangesRequested,
    RecordedVia,
    new_event,
)
from shared.domain.plans import REVIEW_WITHIN, Plan, named_partners, stored_entries
from shared.domain.referrals import STATED, ReferralStatus
from shared.domain.workflow import IllegalTransition
from shared.domain.working_days import add_working_days
from shared.service import plan_links
from shared.service.approvals import record_package
from shared.service.changes import CurrentState, audit_entry, current_state, refuse_if_referral_moved
from shared.service.connections import LinkProblem, link_key, request_connections
from shared.service.outbox import outbox_item
from shared.service.retention import inherited
from shared.service.reviews import review_item

KIND_AGREEMENT = "agreement"
# The referral item's note of where its plan's agreement stands (the work list filters on it).
AGREEMENT_STATE = "plan_agreement"
Reasons = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000, pattern=STATED)]
ANSWERED = ("agreed", "changes_requested")


def agreement_key(reference: str, round_: int) -> dict[str, str]:
    return {table.PARTITION_KEY: table.referral_pk(reference), table.SORT_KEY: f"AGREEMENT#{round_:03d}"}


def answerer_of(referral: dict[str, Any]) -> Answerer:
    """Who agrees the plan: the lead practitioner who referred, or the referrer of a professional's request."""
    return "lead_practitioner" if referral.get("route") == "lead_practitioner" else "referrer"


class AgreementAnswer(BaseModel):
    """The lead practitioner's (or referrer's) answer to the plan: through their link, or recorded for them."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, frozen=True)

    decision: Literal["agree", "change"] = Field(
        title="agree: the plan is agreed as it is; change: changes are asked before it is agreed"
    )
    reasons: Reasons | None = Field(
        default=None, title="what should change in the plan, and why (needed to ask for changes)"
    )

    @model_validator(mode="after")
    def _reasons_with_changes(self) -> AgreementAnswer:
        if self.decision == "change" and self.reasons is None:
            raise ValueError("Say what should change in the plan, and why")
        if self.decision == "agree" and self.reasons is not None:
            raise ValueError("An agreement takes no reasons: remove them, or ask for changes")
        return self


# --- asking -----------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Requested:
    """A new round of agreement's writes, for the caller's transaction, and its PlanAgreementRequested's id."""

    writes: list[Any]
    event_id: str


def request_writes(
    reference: str,
    *,
    round_: int,
    answerer: Answerer,
    held_on: date,
    settings: Settings,
    correlation_id: str,
    now: datetime,
) -> Requested:
    """A new round of agreement and its PlanAgreementRequested (whose email carries the link). It is due
    `agreement_working_days` after the meeting, whatever the round."""
    requested_on = now.astimezone(LONDON).date()
    event = PlanAgreementRequested(
        reference=reference,
        round=round_,
        agreement_id="A" + uuid.uuid4().hex[:16],
        answerer=answerer,
        requested_on=requested_on,
        due_on=add_working_days(held_on, settings.agreement_working_days),
    )
    item = {
        **agreement_key(reference, round_),
        table.KIND_ATTRIBUTE: KIND_AGREEMENT,
        "reference": reference,
        "round": round_,
        "agreement_id": event.agreement_id,
        "answerer": answerer,
        "status": "requested",
        "requested_at": clock.iso(now),
        "requested_on": requested_on.isoformat(),
        "due_on": event.due_on.isoformat(),
    }
    envelope = new_event(event, correlation_id=correlation_id, occurred_at=now)
    pk = table.referral_pk(reference)
    writes = [
        put(item, settings.table_name, f"attribute_not_exists({table.PARTITION_KEY})"),
        put(outbox_item(pk, envelope, event.detail_type, now=now, settings=settings), settings.table_name),
    ]
    return Requested(writes, envelope.metadata.event_id)


def noting_agreement(referral_update: Any, state: str | None) -> Any:
    """A referral's update (shared.service.changes.referral_update) that also notes where its plan's agreement
    stands (`requested`, `changes_requested`), or removes the note (None: agreed, or the referral moved on)."""
    change = referral_update["Update"]
    names = {**change["ExpressionAttributeNames"], "#agreement": AGREEMENT_STATE}
    if state is None:
        expression = change["UpdateExpression"] + " REMOVE #agreement"
        return {"Update": {**change, "UpdateExpression": expression, "ExpressionAttributeNames": names}}
    values = {**change["ExpressionAttributeValues"], **to_item({":agreement": state})}
    return {
        "Update": {
            **change,
            "UpdateExpression": change["UpdateExpression"] + ", #agreement = :agreement",
            "ExpressionAttributeNames": names,
            "ExpressionAttributeValues": values,
        }
    }


def _referral_update(
    settings: Settings, reference: str, *, to_status: ReferralStatus, at: str, expected_version: int | None
) -> Any:
    """The referral, from awaiting_agreement (and at the version read, when a coordinator read one) to `to_status`."""
    condition = "#status = :awaiting" + (" AND #version = :version" if expected_version is not None else "")
    values: dict[str, Any] = {
        ":to": to_status.value,
        ":at": at,
        ":one": 1,
        ":awaiting": ReferralStatus.AWAITING_AGREEMENT.value,
    }
    if expected_version is not None:
        values[":version"] = expected_version
    return {
        "Update": {
            "TableName": settings.table_name,
            "Key": to_item({table.PARTITION_KEY: table.referral_pk(reference), table.SORT_KEY: "REFERRAL"}),
            "UpdateExpression": "SET #status = :to, #status_key = :to, updated_at = :at, #version = #version + :one",
            "ConditionExpression": condition,
            "ExpressionAttributeNames": {
                "#status": "status",
                "#status_key": table.STATUS_INDEX_PK,
                "#version": "version",
            },
            "ExpressionAttributeValues": to_item(values),
            "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
        }
    }


# --- links --------------------------------------------------------------------------------------------------------
def link_valid_for(settings: Settings) -> timedelta:
    return timedelta(days=settings.agreement_link_days)


def link_for(reference: str, round_: int, agreement_id: str, *, settings: Settings, now: datetime) -> str:
    """The answerer's link to the plan's agreement round, signed at `now`."""
    token = links.sign(
        {"r": reference, "n": str(round_), "a": agreement_id},
        purpose="agreement",
        key=link_key(settings),
        now=now,
        valid_for=link_valid_for(settings),
    )
    return f"{settings.public_url.rstrip('/')}/agreements/{token}"


def redacted(text: str, link: str) -> str:
    """An email's text as it is kept (for subject access): without the link, which would let its reader answer."""
    return text.replace(link, "[the link to agree the plan: not kept]")


@dataclass(frozen=True)
class AgreementLink:
    """A round of agreement a link opened, while it may still be answered, and the plan it asks about."""

    reference: str
    round: int
    agreement_id: str
    answerer: Answerer
    expires_at: datetime
    due_on: date
    plan: dict[str, Any]
    held_on: date | None
    referral: dict[str, Any]


def _problem(reason: str, settings: Settings) -> LinkProblem:
    ask = f"If you need to tell us something, email the Family Network coordinators at {settings.coordinators_email}."
    if reason == "expired":
        return LinkProblem("expired", "This link has expired", f"Links in our emails work for a limited time. {ask}")
    if reason == "answered":
        return LinkProblem(
            "answered", "You have already answered", f"Your answer was recorded: nothing has changed. {ask}"
        )
    if reason == "ended":
        return LinkProblem(
            "ended",
            "This plan is no longer waiting for your answer",
            f"The plan has changed since we emailed you, or the referral has closed. {ask}",
        )
    return LinkProblem(
        "invalid", "This link is not valid", f"Check that you used the whole link from our email, as it was sent. {ask}"
    )


def open_link(token: str, *, reader: ReferralReader, settings: Settings, now: datetime) -> AgreementLink:
    """The round of agreement a link is for, while it may still be answered; LinkProblem otherwise (shows nothing of
    the plan). Reads only: a GET (an email scanner following the link) never answers."""
    try:
        claims = links.verify(token, purpose="agreement", key=link_key(settings), now=now)
    except links.LinkRefused as refused:
        raise _problem(refused.reason, settings) from None
    reference, number, agreement_id = (str(claims.get(k, "")) for k in ("r", "n", "a"))
    if not (reference and agreement_id and number.isascii() and number.isdigit() and 0 < len(number) <= 3):
        raise _problem("malformed", settings)
    items = {i[table.SORT_KEY]: i for i in reader.partition(reference)}
    referral = items.get("REFERRAL")
    agreement = items.get(agreement_key(reference, int(number))[table.SORT_KEY])
    plan = items.get("PLAN")
    if referral is None or agreement is None or plan is None or referral.get("erased"):
        raise _problem("malformed", settings)
    if agreement.get("agreement_id") != agreement_id:
        raise _problem("malformed", settings)
    if agreement["status"] in ANSWERED:
        raise _problem("answered", settings)
    if agreement["status"] != "requested" or referral.get("status") != ReferralStatus.AWAITING_AGREEMENT.value:
        raise _problem("ended", settings)  # asked again since (a newer round), or the referral withdrawn
    meeting = items.get("MEETING") or {}
    return AgreementLink(
        reference=reference,
        round=int(number),
        agreement_id=agreement_id,
        answerer=agreement["answerer"],
        expires_at=datetime.fromtimestamp(int(claims["exp"]), tz=LONDON),
        due_on=date.fromisoformat(str(agreement["due_on"])),
        plan=plan,
        held_on=date.fromisoformat(str(meeting["held_on"])) if meeting.get("held_on") else None,
        referral=referral,
    )


# --- answering ----------------------------------------------------------------------------------------------------
def answer_through_link(
    link: AgreementLink,
    body: AgreementAnswer,
    *,
    reader: ReferralReader,
    settings: Settings,
    correlation_id: str,
    now: datetime,
) -> str:
    """The answerer's answer through their link; "agreed" or "changes_requested", or LinkProblem (answered or no
    longer open meanwhile: nothing changed)."""
    actor = Actor(subject=link.agreement_id, role=link.answerer)
    try:
        return _answer(
            link.reference,
            link.round,
            body,
            actor=actor,
            via="link",
            expected_version=None,
            reader=reader,
            settings=settings,
            correlation_id=correlation_id,
            now=now,
        )
    except IllegalTransition:
        raise _problem("ended", settings) from None
    except _AlreadyAnswered:
        raise _problem("answered", settings) from None


def record_answer(
    reference: str,
    body: AgreementAnswer,
    *,
    actor: Actor,
    expected_version: int | None,
    reader: ReferralReader,
    settings: Settings,
    correlation_id: str,
    now: datetime | None = None,
) -> dict[str, Any]:
    """A coordinator records the answerer's answer given another way (a call, a meeting), audited as theirs; the
    answerer's link then says it was answered."""
    now = now or clock.now()
    current = current_state(reader, reference)
    current.allow("record_agreement", expected_version)
    plan = _plan(current)
    round_ = int(plan.get("agreement_round") or 1)
    try:
        outcome = _answer(
            reference,
            round_,
            body,
            actor=actor,
            via="coordinator",
            expected_version=current.version,
            reader=reader,
            settings=settings,
            correlation_id=correlation_id,
            now=now,
            current=current,
        )
    except _AlreadyAnswered:
        raise IllegalTransition("record_agreement", current.status, stale=True) from None
    to_status = ReferralStatus.PLAN_ACTIVE if outcome == "agreed" else ReferralStatus.AWAITING_AGREEMENT
    return {"reference": reference, "status": to_status.value, "version": current.version + 1, "agreement": outcome}


class _AlreadyAnswered(Exception):
    """The round was answered meanwhile (a double click, or the coordinator recorded it first)."""


def _plan(current: CurrentState) -> dict[str, Any]:
    plan = next((i for i in current.items if i.get(table.KIND_ATTRIBUTE) == "plan"), None)
    if plan is None:  # an awaiting_agreement referral always has one; a concurrent change does not
        raise IllegalTransition("record_agreement", current.status, stale=True)
    return plan


def _answer(
    reference: str,
    round_: int,
    body: AgreementAnswer,
    *,
    actor: Actor,
    via: RecordedVia,
    expected_version: int | None,
    reader: ReferralReader,
    settings: Settings,
    correlation_id: str,
    now: datetime,
    current: CurrentState | None = None,
) -> str:
    current = current or current_state(reader, reference)
    if current.status is not ReferralStatus.AWAITING_AGREEMENT:
        raise IllegalTransition("record_agreement", current.status)
    plan = _plan(current)
    agreement = _round(current, reference, round_)
    if agreement is None or int(plan.get("agreement_round") or 1) != round_:
        raise IllegalTransition("record_agreement", current.status, stale=True)
    if agreement["status"] in ANSWERED:
        raise _AlreadyAnswered()
    at = clock.iso(now)
    agreed = body.decision == "agree"
    outcome = "agreed" if agreed else "changes_requested"
    to_status = ReferralStatus.PLAN_ACTIVE if agreed else ReferralStatus.AWAITING_AGREEMENT
    answered = {"status": outcome, "answered_at": at, "recorded_via": via, "recorded_by": actor.audit_name}
    if body.reasons:
        answered["reasons"] = body.reasons
    round_write = update(
        agreement_key(reference, round_),
        settings.table_name,
        answered,
        condition="agreement_id = :id AND #status = :requested",
        names={"#status": "status"},
        values={":id": agreement["agreement_id"], ":requested": "requested"},
    )
    round_write["Update"]["ReturnValuesOnConditionCheckFailure"] = "ALL_OLD"
    plan_sets: dict[str, Any] = {"agreement_status": outcome}
    if agreed:
        plan_sets |= {"plan_status": "active", "plan_agreed_at": at}
    writes: list[Any] = [
        noting_agreement(
            _referral_update(settings, reference, to_status=to_status, at=at, expected_version=expected_version),
            None if agreed else "changes_requested",
        ),
        round_write,
        update(
            {table.PARTITION_KEY: table.referral_pk(reference), table.SORT_KEY: "PLAN"},
            settings.table_name,
            plan_sets,
            condition="agreement_round = :round",
            values={":round": round_},
        ),
    ]
    changes: dict[str, Any] = {"agreement": {"round": round_, "from": "requested", "to": outcome, "via": via}}
    if agreed:
        changes["status"] = {"from": ReferralStatus.AWAITING_AGREEMENT.value, "to": to_status.value}
        event: PlanAgreed | PlanChangesRequested = _in_force(
            current,
            plan,
            round_=round_,
            answerer=agreement["answerer"],
            via=via,
            writes=writes,
            changes=changes,
            reader=reader,
            settings=settings,
            correlation_id=correlation_id,
            now=now,
        )
    else:
        changes["reasons"] = body.reasons  # the answerer's words: kept with the case, never in the event
        event = PlanChangesRequested(
            reference=reference, round=round_, answerer=agreement["answerer"], recorded_via=via, requested_at=now
        )
    envelope = new_event(event, correlation_id=correlation_id, occurred_at=now)
    pk = table.referral_pk(reference)
    writes.append(put(outbox_item(pk, envelope, event.detail_type, now=now, settings=settings), settings.table_name))
    audit = audit_entry(
        reference,
        at=at,
        actor=actor,
        action=f"plan.{outcome}",
        changes=changes,
        event_id=envelope.metadata.event_id,
        cid=correlation_id,
    )
    writes.append(put({**audit, **inherited(current.referral)}, settings.table_name))
    try:
        transact(writes, settings.table_name)
    except Cancelled as cancelled:
        if cancelled.failed(1) and (cancelled.old_item(1) or {}).get("status") in ANSWERED:
            raise _AlreadyAnswered() from None  # a double click, or the coordinator recorded it first
        refuse_if_referral_moved(cancelled, reference, "record_agreement")
        raise IllegalTransition("record_agreement", current.status, stale=True) from None
    return outcome


def _round(current: CurrentState, reference: str, round_: int) -> dict[str, Any] | None:
    sort_key = agreement_key(reference, round_)[table.SORT_KEY]
    return next((i for i in current.items if i[table.SORT_KEY] == sort_key), None)


def _held_on(current: CurrentState, plan: dict[str, Any]) -> date:
    meeting = current.meeting or {}
    return date.fromisoformat(str(meeting.get("held_on") or plan.get("agreed_on")))


def _in_force(
    current: CurrentState,
    plan: dict[str, Any],
    *,
    round_: int,
    answerer: Answerer,
    via: RecordedVia,
    writes: list[Any],
    changes: dict[str, Any],
    reader: ReferralReader,
    settings: Settings,
    correlation_id: str,
    now: datetime,
) -> PlanAgreed:
    """An agreed plan comes into force in the same transaction: its first review opens (from today: the review
    clock), the partners it names are asked (`writes` and `changes` gain them); its PlanAgreed."""
    reference = str(current.referral["reference"])
    review_on = date.fromisoformat(str(plan["first_review_due_on"]))
    today = now.astimezone(LONDON).date()
    writes.append(
        put(
            review_item(reference, 1, review_on, scheduled_on=today),
            settings.table_name,
            f"attribute_not_exists({table.PARTITION_KEY})",
        )
    )
    named = named_partners(plan.get("network_actions") or [], plan.get("support_package") or [])
    if named:
        consents = {str(c["partner_id"]): bool(c.get("share_contact_name")) for c in plan.get("partner_consent") or []}
        connected = request_connections(
            reference,
            named,
            consents=consents,
            existing=current.items,
            reader=reader,
            settings=settings,
            correlation_id=correlation_id,
            now=now,
        )
        writes += connected.writes
        changes["connections_requested"] = connected.partner_ids
    # the plan goes to the people it is for, each with their own link to its page
    writes += plan_links.share_writes(
        reference,
        current.items,
        because="agreed",
        next_review_due_on=review_on,
        settings=settings,
        correlation_id=correlation_id,
        now=now,
    )
    return PlanAgreed(
        reference=reference,
        meeting_id=str(plan.get("meeting_id") or (current.meeting or {}).get("meeting_id")),
        round=round_,
        answerer=answerer,
        recorded_via=via,
        agreed_at=now,
        held_on=_held_on(current, plan),
        support_package_items=len(plan.get("support_package") or []),
        first_review_due_on=review_on,
    )


# --- asking again -------------------------------------------------------------------------------------------------
def ask_again(
    reference: str,
    plan: Plan | None,
    *,
    actor: Actor,
    expected_version: int | None,
    reader: ReferralReader,
    settings: Settings,
    correlation_id: str,
    now: datetime | None = None,
) -> dict[str, Any]:
    """The coordinator sends the plan for agreement again, revised (`plan`) or as it is: a new round and link; the
    last round's link, if unanswered, answers "no longer open"."""
    now = now or clock.now()
    current = current_state(reader, reference)
    current.allow("ask_agreement_again", expected_version)
    stored = _plan(current)
    round_ = int(stored.get("agreement_round") or 1)
    held_on = _held_on(current, stored)
    at = clock.iso(now)
    plan_sets: dict[str, Any] = {"agreement_round": round_ + 1, "agreement_status": "requested"}
    package_writes: list[Any] = []
    changes: dict[str, Any] = {"agreement": {"round": {"from": round_, "to": round_ + 1}, "revised": plan is not None}}
    if plan is not None:
        due = plan.first_review_due_on
        if not held_on < due <= held_on + REVIEW_WITHIN:
            raise Invalid(
                "The plan has problems to fix",
                [
                    {
                        "field": "first_review_due_on",
                        "message": "The first review must be after the meeting and within three months of it",
                    }
                ],
            )
        # the revised package as a review's adjustment records it: items the plan had keep their number and status,
        # new or changed ones are approved or wait for a manager by the limits
        package = record_package(
            reference,
            plan.support_package,
            referral=current.referral,
            held=list(stored.get("support_package") or []),
            last_number=int(stored.get("last_item_number") or 0),
            meeting_held=True,
            settings=settings,
            now=now,
            field_prefix="plan.support_package",
        )
        package_writes = package.writes
        if package.waiting:
            changes["package_waiting_for_approval"] = package.waiting
        plan_sets |= {
            **plan.model_dump(mode="json"),
            "network_actions": stored_entries(plan.network_actions),
            "support_package": package.entries,
            "last_item_number": package.last_number,
            "next_review_due_on": plan.first_review_due_on.isoformat(),
            "version": int(stored.get("version", 1)) + 1,
        }
    writes: list[Any] = [
        noting_agreement(
            _referral_update(
                settings,
                reference,
                to_status=ReferralStatus.AWAITING_AGREEMENT,
                at=at,
                expected_version=current.version,
            ),
            "requested",
        ),
        update(  # the plan as read: a manager's decision on one of its items meanwhile is not overwritten
            {table.PARTITION_KEY: table.referral_pk(reference), table.SORT_KEY: "PLAN"},
            settings.table_name,
            plan_sets,
            condition="agreement_round = :round AND #plan_version = :plan_version",
            names={"#plan_version": "version"},
            values={":round": round_, ":plan_version": int(stored.get("version", 1))},
        ),
    ]
    last = _round(current, reference, round_)
    if last is not None and last.get("status") == "requested":  # unanswered: its link closes
        writes.append(
            update(
                agreement_key(reference, round_),
                settings.table_name,
                {"status": "replaced", "replaced_at": at},
                condition="#status = :requested",
                names={"#status": "status"},
                values={":requested": "requested"},
            )
        )
    requested = request_writes(
        reference,
        round_=round_ + 1,
        answerer=answerer_of(current.referral),
        held_on=held_on,
        settings=settings,
        correlation_id=correlation_id,
        now=now,
    )
    writes += requested.writes + package_writes
    audit = audit_entry(
        reference,
        at=at,
        actor=actor,
        action="plan.agreement_requested",
        changes=changes,
        event_id=requested.event_id,
        cid=correlation_id,
    )
    writes.append(put(audit, settings.table_name))
    try:
        transact(writes, settings.table_name)
    except Cancelled as cancelled:
        refuse_if_referral_moved(cancelled, reference, "ask_agreement_again")
        raise IllegalTransition("ask_agreement_again", current.status, stale=True) from None
    return {
        "reference": reference,
        "status": ReferralStatus.AWAITING_AGREEMENT.value,
        "version": current.version + 1,
        "agreement": "requested",
        "round": round_ + 1,
    }


def agreements_view(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each round of agreement, oldest first, as a coordinator reads it (the reasons included)."""
    keys = (
        "round",
        "answerer",
        "status",
        "requested_on",
        "due_on",
        "answered_at",
        "recorded_via",
        "recorded_by",
        "reasons",
    )
    found = [i for i in items if i.get(table.KIND_ATTRIBUTE) == KIND_AGREEMENT]
    return [{key: a[key] for key in keys if key in a} for a in sorted(found, key=lambda a: a[table.SORT_KEY])]
