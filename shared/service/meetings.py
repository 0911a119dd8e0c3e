"""Facilitators and meetings: availability, booking, moving and cancelling, never double-booking anyone.

A booked meeting holds its facilitator's time as one item per 15-minute block (`FACILITATOR#<id>` / `BUSY#<start>`),
each written with `attribute_not_exists` in the same transaction as the meeting, the referral's new state, its audit
entry and its event. Two bookings that overlap by a minute share a block, so exactly one transaction succeeds: the
guarantee comes from the conditional writes, not from a read before the write.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo

from pydantic import AwareDatetime, BaseModel, ConfigDict, EmailStr, Field, StringConstraints, model_validator

from shared.adapters import table
from shared.adapters.dynamodb import Cancelled, ReferralReader, put, to_item, transact
from shared.config import Settings
from shared.domain import clock
from shared.domain.events import (
    EventData,
    MeetingCancelled,
    MeetingHeld,
    MeetingRescheduled,
    MeetingScheduled,
    PartnerId,
    new_event,
)
from shared.domain.referrals import Day, ReferralStatus, VenueType
from shared.domain.workflow import IllegalTransition, check
from shared.service.coordination import Actor, NotFound, check_reference
from shared.service.outbox import outbox_item

BLOCK = timedelta(minutes=15)
MAX_MEETING = timedelta(hours=4)
BLOCK_RETENTION = timedelta(days=90)
FACILITATORS_PK = "FACILITATORS"
FACILITATOR_ID = re.compile(r"[a-z0-9][a-z0-9-]{0,39}")
FacilitatorId = Annotated[str, StringConstraints(pattern=rf"^{FACILITATOR_ID.pattern}$")]
Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Reason = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000)]
KIND_FACILITATOR = "facilitator"
KIND_MEETING = "meeting"
KIND_BUSY = "busy"
LONDON = ZoneInfo("Europe/London")  # the day a meeting was held is a date in England


class _Input(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, frozen=True)


class WeeklyWindow(_Input):
    day: Day = Field(title="the day of the week")
    start: time = Field(title="the start time")
    end: time = Field(title="the end time")

    @model_validator(mode="after")
    def _ordered(self) -> WeeklyWindow:
        if self.end <= self.start:
            raise ValueError("The end time must be after the start time")
        return self


class Availability(_Input):
    locality: Text = Field(title="the facilitator's locality")
    email: EmailStr | None = Field(default=None, title="the facilitator's work email (for invitations)")
    weekly: list[WeeklyWindow] = Field(title="the facilitator's weekly availability", max_length=28)


class Venue(_Input):
    type: VenueType = Field(title="the kind of venue")
    details: Text | None = Field(default=None, title="where exactly")


class MeetingRequest(_Input):
    starts_at: AwareDatetime = Field(title="when the meeting starts")
    ends_at: AwareDatetime = Field(title="when the meeting ends")
    venue: Venue = Field(title="the venue")
    facilitator_id: FacilitatorId = Field(title="the facilitator")

    @model_validator(mode="after")
    def _sensible(self) -> MeetingRequest:
        if self.ends_at <= self.starts_at:
            raise ValueError("The meeting must end after it starts")
        if self.ends_at - self.starts_at > MAX_MEETING:
            raise ValueError("A meeting can last at most 4 hours")
        return self


class CancelRequest(_Input):
    reason: Reason = Field(title="why the meeting is cancelled")


class DoubleBooked(Exception):
    def __init__(self, facilitator_id: str) -> None:
        super().__init__(f"The facilitator {facilitator_id} is already booked at that time: choose another slot")
        self.message = str(self)


class UnknownFacilitator(Exception):
    pass


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def blocks(starts_at: datetime, ends_at: datetime) -> list[str]:
    """The 15-minute blocks a meeting touches (UTC, ISO): any two overlapping meetings share at least one."""
    start = starts_at.astimezone(UTC)
    step = int(BLOCK.total_seconds() // 60)
    first = start.replace(minute=start.minute - start.minute % step, second=0, microsecond=0)
    found = []
    moment = first
    while moment < ends_at:
        found.append(_iso(moment))
        moment += BLOCK
    return found


# --- facilitators -----------------------------------------------------------------------------------------------
def facilitator_key(facilitator_id: str) -> dict[str, str]:
    return {table.PARTITION_KEY: FACILITATORS_PK, table.SORT_KEY: f"FACILITATOR#{facilitator_id}"}


def set_availability(
    facilitator_id: str, availability: Availability, *, actor: Actor, settings: Settings, now: datetime | None = None
) -> dict[str, Any]:
    now = now or clock.now()
    item = {
        **facilitator_key(facilitator_id),
        table.KIND_ATTRIBUTE: KIND_FACILITATOR,
        "facilitator_id": facilitator_id,
        "locality": availability.locality,
        "weekly": availability.model_dump(mode="json")["weekly"],
        "email": availability.email,
        "updated_at": _iso(now),
        "updated_by": actor.audit_name,
    }
    transact([put(item, settings.table_name)], settings.table_name)
    return facilitator_view(item)


def facilitator_view(item: dict[str, Any]) -> dict[str, Any]:
    return {key: item[key] for key in ("facilitator_id", "locality", "email", "weekly", "updated_at") if key in item}


def list_facilitators(reader: ReferralReader) -> list[dict[str, Any]]:
    return [facilitator_view(item) for item in reader.partition_of(FACILITATORS_PK)]


# --- meetings ---------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class CurrentState:
    referral: dict[str, Any]
    meeting: dict[str, Any] | None
    items: list[dict[str, Any]]  # the whole partition, as read

    @property
    def status(self) -> ReferralStatus:
        return ReferralStatus(self.referral["status"])

    @property
    def version(self) -> int:
        return int(self.referral["version"])

    @property
    def scheduled(self) -> dict[str, Any] | None:
        return self.meeting if self.meeting and self.meeting.get("status") == "scheduled" else None

    def allow(self, action: str, expected_version: int | None, *, needs_meeting: bool = False) -> dict[str, Any]:
        """Refuse (409) a change based on a stale read, one the state machine forbids, or one that needs the
        scheduled meeting when there is none; return that meeting (or {} when none is needed)."""
        if expected_version is not None and expected_version != self.version:
            raise IllegalTransition(action, self.status, stale=True)
        check(action, self.status)
        if needs_meeting and self.scheduled is None:
            raise IllegalTransition(action, self.status, stale=True)
        return self.scheduled or {}


def current_state(reader: ReferralReader, reference: str) -> CurrentState:
    items = reader.partition(check_reference(reference))
    referral = next((i for i in items if i.get(table.KIND_ATTRIBUTE) == table.KIND_REFERRAL), None)
    if referral is None:
        raise NotFound(reference)
    meeting = next((i for i in items if i.get(table.KIND_ATTRIBUTE) == KIND_MEETING), None)
    return CurrentState(referral, meeting, items)


def referral_update(settings: Settings, reference: str, version: int, to_status: ReferralStatus, at: str) -> Any:
    return {
        "Update": {
            "TableName": settings.table_name,
            "Key": to_item({table.PARTITION_KEY: table.referral_pk(reference), table.SORT_KEY: "REFERRAL"}),
            "UpdateExpression": "SET #status = :to, #status_key = :to, updated_at = :at, #version = #version + :one",
            "ConditionExpression": "#version = :version",
            "ExpressionAttributeNames": {
                "#status": "status",
                "#status_key": table.STATUS_INDEX_PK,
                "#version": "version",
            },
            "ExpressionAttributeValues": to_item({":to": to_status.value, ":at": at, ":one": 1, ":version": version}),
            "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
        }
    }


def _block_put(settings: Settings, facilitator_id: str, block: str, meeting: dict[str, Any], ends_at: datetime) -> Any:
    return put(
        {
            table.PARTITION_KEY: f"FACILITATOR#{facilitator_id}",
            table.SORT_KEY: f"BUSY#{block}",
            table.KIND_ATTRIBUTE: KIND_BUSY,
            "meeting_id": meeting["meeting_id"],
            "reference": meeting["reference"],
            table.TTL_ATTRIBUTE: int((ends_at + BLOCK_RETENTION).timestamp()),
        },
        settings.table_name,
        f"attribute_not_exists({table.PARTITION_KEY})",
    )


def _block_delete(settings: Settings, facilitator_id: str, block: str, meeting_id: str) -> Any:
    return {
        "Delete": {
            "TableName": settings.table_name,
            "Key": to_item({table.PARTITION_KEY: f"FACILITATOR#{facilitator_id}", table.SORT_KEY: f"BUSY#{block}"}),
            "ConditionExpression": "meeting_id = :mine",
            "ExpressionAttributeValues": to_item({":mine": meeting_id}),
        }
    }


def audit_entry(
    reference: str, *, at: str, actor: Actor, action: str, changes: dict[str, Any], event_id: str, cid: str
) -> Any:
    return {
        table.PARTITION_KEY: table.referral_pk(reference),
        table.SORT_KEY: f"AUDIT#{at}#0#{event_id}",
        table.KIND_ATTRIBUTE: table.KIND_AUDIT,
        "reference": reference,
        "at": at,
        "actor": actor.audit_name,
        "action": action,
        "changes": changes,
        "correlation_id": cid,
    }


def refuse_if_referral_moved(cancelled: Cancelled, reference: str, action: str) -> None:
    """A change's transaction starts with the referral's versioned update: if that failed, the referral is gone (404)
    or changed since it was read (409, with its state now)."""
    if cancelled.failed(0):
        old = cancelled.old_item(0)
        if old is None:
            raise NotFound(reference) from None
        raise IllegalTransition(action, ReferralStatus(old["status"]), stale=True) from None


def commit_change(items: list[Any], settings: Settings, reference: str, action: str, status: ReferralStatus) -> None:
    """One change to a referral in one transaction, its referral update first; any failed condition is a 404/409."""
    try:
        transact(items, settings.table_name)
    except Cancelled as cancelled:
        refuse_if_referral_moved(cancelled, reference, action)
        raise IllegalTransition(action, status, stale=True) from None


def _commit(
    settings: Settings,
    reference: str,
    *,
    action: str,
    head: list[Any],
    block_writes: list[tuple[Any, bool]],
    audit: dict[str, Any],
    event: EventData,
    envelope: Any,
    facilitator_id: str,
    now: datetime,
) -> None:
    """head: [referral update, meeting write]; block_writes: (write, is_new_block); then audit and event."""
    pk = table.referral_pk(reference)
    items = [*head, *(write for write, _ in block_writes), put(audit, settings.table_name)]
    items.append(put(outbox_item(pk, envelope, event.detail_type, now=now, settings=settings), settings.table_name))
    try:
        transact(items, settings.table_name)
    except Cancelled as cancelled:
        refuse_if_referral_moved(cancelled, reference, action)
        if cancelled.failed(1):
            raise IllegalTransition(action, ReferralStatus.MEETING_SCHEDULED, stale=True) from None
        if any(cancelled.failed(2 + i) and is_new for i, (_, is_new) in enumerate(block_writes)):
            raise DoubleBooked(facilitator_id) from None
        raise IllegalTransition(action, ReferralStatus.MEETING_SCHEDULED, stale=True) from None


def book_or_move(
    reference: str,
    request: MeetingRequest,
    *,
    actor: Actor,
    expected_version: int | None,
    reader: ReferralReader,
    settings: Settings,
    correlation_id: str,
    now: datetime | None = None,
) -> dict[str, Any]:
    """Book the referral's meeting, or move it (another time, venue or facilitator)."""
    now = now or clock.now()
    current = current_state(reader, reference)
    status, version, existing = current.status, current.version, current.scheduled
    action = "move_meeting" if existing else "book_meeting"
    current.allow(action, expected_version)
    if reader.item(facilitator_key(request.facilitator_id)) is None:
        raise UnknownFacilitator(request.facilitator_id)
    at = _iso(now)
    meeting = {
        table.PARTITION_KEY: table.referral_pk(reference),
        table.SORT_KEY: "MEETING",
        table.KIND_ATTRIBUTE: KIND_MEETING,
        "reference": reference,
        "meeting_id": existing["meeting_id"] if existing else "M" + uuid.uuid4().hex[:15],
        "facilitator_id": request.facilitator_id,
        "starts_at": _iso(request.starts_at),
        "ends_at": _iso(request.ends_at),
        "venue": request.venue.model_dump(mode="json", exclude_none=True),
        "status": "scheduled",
        "sequence": int(existing["sequence"]) + 1 if existing else 0,
        "version": int(existing["version"]) + 1 if existing else 1,
        "updated_at": at,
        table.FACILITATOR_INDEX_PK: request.facilitator_id,
        table.FACILITATOR_INDEX_SK: _iso(request.starts_at),
    }
    new_blocks = {(request.facilitator_id, b) for b in blocks(request.starts_at, request.ends_at)}
    old_blocks: set[tuple[str, str]] = set()
    event: EventData
    if existing:
        old_blocks = {
            (existing["facilitator_id"], b)
            for b in blocks(datetime.fromisoformat(existing["starts_at"]), datetime.fromisoformat(existing["ends_at"]))
        }
        meeting_write = put(meeting, settings.table_name, "version = :v", {":v": int(existing["version"])})
        event = MeetingRescheduled(
            reference=reference,
            meeting_id=meeting["meeting_id"],
            facilitator_id=request.facilitator_id,
            sequence=meeting["sequence"],
            starts_at=request.starts_at,
            ends_at=request.ends_at,
            previous_starts_at=datetime.fromisoformat(existing["starts_at"]),
        )
    else:
        meeting_write = put(
            meeting,
            settings.table_name,
            f"attribute_not_exists({table.PARTITION_KEY}) OR #s IN (:cancelled, :not_held)",
            {":cancelled": "cancelled", ":not_held": "not_held"},
            names={"#s": "status"},
        )
        event = MeetingScheduled(
            reference=reference,
            meeting_id=meeting["meeting_id"],
            facilitator_id=request.facilitator_id,
            sequence=0,
            starts_at=request.starts_at,
            ends_at=request.ends_at,
        )
    ends_at = request.ends_at
    meeting_id = str(meeting["meeting_id"])
    block_writes = [(_block_delete(settings, f, b, meeting_id), False) for f, b in sorted(old_blocks - new_blocks)]
    block_writes += [(_block_put(settings, f, b, meeting, ends_at), True) for f, b in sorted(new_blocks - old_blocks)]
    envelope = new_event(event, correlation_id=correlation_id, occurred_at=now)
    changes: dict[str, Any] = {
        "meeting": {
            "from": {k: existing[k] for k in ("starts_at", "ends_at", "facilitator_id")} if existing else None,
            "to": {k: meeting[k] for k in ("starts_at", "ends_at", "facilitator_id")},
        }
    }
    if not existing:
        changes["status"] = {"from": status.value, "to": ReferralStatus.MEETING_SCHEDULED.value}
    audit = audit_entry(
        reference,
        at=at,
        actor=actor,
        action=f"meeting.{'rescheduled' if existing else 'scheduled'}",
        changes=changes,
        event_id=envelope.metadata.event_id,
        cid=correlation_id,
    )
    head = [referral_update(settings, reference, version, ReferralStatus.MEETING_SCHEDULED, at), meeting_write]
    _commit(
        settings,
        reference,
        action=action,
        head=head,
        block_writes=block_writes,
        audit=audit,
        event=event,
        envelope=envelope,
        facilitator_id=request.facilitator_id,
        now=now,
    )
    return {
        "reference": reference,
        "status": "meeting_scheduled",
        "version": version + 1,
        "meeting": meeting_view(meeting),
    }


def _cancellation(
    existing: dict[str, Any], *, reason: str, settings: Settings, now: datetime
) -> tuple[dict[str, Any], MeetingCancelled, list[Any]]:
    """A scheduled meeting, cancelled: the meeting item, its MeetingCancelled (sequence + 1) and the deletes that
    free its facilitator's busy blocks."""
    meeting = _without_facilitator_index(existing)
    meeting.update(
        status="cancelled",
        sequence=int(existing["sequence"]) + 1,
        version=int(existing["version"]) + 1,
        updated_at=_iso(now),
        cancel_reason=reason,
    )
    event = MeetingCancelled(
        reference=str(existing["reference"]),
        meeting_id=existing["meeting_id"],
        facilitator_id=existing["facilitator_id"],
        sequence=meeting["sequence"],
        cancelled_at=now,
    )
    return meeting, event, _release(existing, settings)


def _release(existing: dict[str, Any], settings: Settings) -> list[Any]:
    """The deletes that free a meeting's facilitator's busy blocks (it was cancelled, or its outcome recorded)."""
    freed = blocks(datetime.fromisoformat(existing["starts_at"]), datetime.fromisoformat(existing["ends_at"]))
    return [_block_delete(settings, existing["facilitator_id"], b, existing["meeting_id"]) for b in freed]


def _without_facilitator_index(meeting: dict[str, Any]) -> dict[str, Any]:
    """A meeting that no longer holds its facilitator's time leaves the by-facilitator index."""
    return {k: v for k, v in meeting.items() if k not in (table.FACILITATOR_INDEX_PK, table.FACILITATOR_INDEX_SK)}


def cancel(
    reference: str,
    request: CancelRequest,
    *,
    actor: Actor,
    expected_version: int | None,
    reader: ReferralReader,
    settings: Settings,
    correlation_id: str,
    now: datetime | None = None,
) -> dict[str, Any]:
    """Cancel the meeting: its facilitator's time is freed and the referral is accepted again, to book anew."""
    now = now or clock.now()
    current = current_state(reader, reference)
    status, version = current.status, current.version
    existing = current.allow("cancel_meeting", expected_version, needs_meeting=True)
    at = _iso(now)
    meeting, event, deletes = _cancellation(existing, reason=request.reason, settings=settings, now=now)
    block_writes = [(delete, False) for delete in deletes]
    envelope = new_event(event, correlation_id=correlation_id, occurred_at=now)
    audit = audit_entry(
        reference,
        at=at,
        actor=actor,
        action="meeting.cancelled",
        changes={"status": {"from": status.value, "to": ReferralStatus.ACCEPTED.value}, "reason": request.reason},
        event_id=envelope.metadata.event_id,
        cid=correlation_id,
    )
    head = [
        referral_update(settings, reference, version, ReferralStatus.ACCEPTED, at),
        put(meeting, settings.table_name, "version = :v", {":v": int(existing["version"])}),
    ]
    _commit(
        settings,
        reference,
        action="cancel_meeting",
        head=head,
        block_writes=block_writes,
        audit=audit,
        event=event,
        envelope=envelope,
        facilitator_id=existing["facilitator_id"],
        now=now,
    )
    return {"reference": reference, "status": "accepted", "version": version + 1, "meeting": meeting_view(meeting)}


def withdrawal_operations(
    existing: dict[str, Any], *, reason: str, settings: Settings, correlation_id: str, now: datetime
) -> list[Any]:
    """A referral withdrawn with its meeting scheduled: the meeting is cancelled in the same transaction (its
    facilitator's time freed, MeetingCancelled sent so invitations are withdrawn too)."""
    reference = str(existing["reference"])
    meeting, event, deletes = _cancellation(existing, reason=reason, settings=settings, now=now)
    envelope = new_event(event, correlation_id=correlation_id, occurred_at=now)
    return [
        put(meeting, settings.table_name, "version = :v", {":v": int(existing["version"])}),
        *deletes,
        put(
            outbox_item(table.referral_pk(reference), envelope, event.detail_type, now=now, settings=settings),
            settings.table_name,
        ),
    ]


def meeting_view(meeting: dict[str, Any] | None) -> dict[str, Any] | None:
    if meeting is None:
        return None
    keys = ("meeting_id", "facilitator_id", "starts_at", "ends_at", "venue", "status", "sequence")
    return {key: meeting[key] for key in keys if key in meeting}


# --- outcome and plan -------------------------------------------------------------------------------------------
REVIEW_WITHIN = timedelta(days=92)  # a support package is reviewed within three months
Cost = Annotated[int, Field(ge=0, le=10_000_000)]


MAX_PARTNERS = 10  # community partners one change may connect the family with (each is an email and a link)


class NetworkAction(_Input):
    who: Text = Field(title="who in the network")
    what: Text = Field(title="what they will do")
    how_often: Text | None = Field(default=None, title="how often")
    partner_id: PartnerId | None = Field(
        default=None,
        title="the community partner that does it, from the directory (its email quotes `what`: no family details)",
    )


class PackageItem(_Input):
    category: Literal["item", "service", "equipment"] = Field(title="the kind of support")
    description: Text = Field(title="what the support is")
    estimated_cost_pence: Cost = Field(title="the estimated cost in pence")
    status: Literal["requested", "approved", "delivered", "declined"] = Field(default="requested", title="its status")
    partner_id: PartnerId | None = Field(
        default=None, title="the community partner that provides it (its email quotes the description)"
    )


class PartnerConsent(_Input):
    partner_id: PartnerId = Field(title="a community partner the plan names")
    share_contact_name: bool = Field(
        title="whether the family agreed that this partner is told the family contact's name"
    )


def check_consents(named: set[str], consents: list[PartnerConsent], *, required: set[str]) -> None:
    """Every partner in `required` has the family's answer on sharing their name, given once; no answer is given
    for a partner the plan does not name."""
    given = [c.partner_id for c in consents]
    if len(set(given)) != len(given):
        raise ValueError("Give the family's answer for each partner once (partner_consent)")
    if missing := sorted(required - set(given)):
        raise ValueError(
            f"Record whether the family agreed to share their contact's name with {', '.join(missing)} "
            "(partner_consent, share_contact_name true or false)"
        )
    if unnamed := sorted(set(given) - named):
        raise ValueError(f"partner_consent names {', '.join(unnamed)}, which no action or package item names")


def named_partners(actions: list[Any], package: list[Any]) -> set[str]:
    """The partners a plan names (its actions and package items, as models or as stored)."""
    found = set()
    for entry in [*actions, *package]:
        partner_id = entry.get("partner_id") if isinstance(entry, dict) else entry.partner_id
        if partner_id:
            found.add(str(partner_id))
    return found


def stored_entries(entries: list[NetworkAction] | list[PackageItem]) -> list[dict[str, Any]]:
    """Actions or package items as the plan stores them: a partner only where one is named."""
    dumped = [entry.model_dump(mode="json") for entry in entries]
    return [{k: v for k, v in entry.items() if not (k == "partner_id" and v is None)} for entry in dumped]


class Plan(_Input):
    network_actions: list[NetworkAction] = Field(default_factory=list, title="the network's actions", max_length=50)
    support_package: list[PackageItem] = Field(default_factory=list, title="the support package", max_length=30)
    first_review_due_on: date = Field(title="the first review's date")
    partner_consent: list[PartnerConsent] = Field(
        default_factory=list,
        max_length=MAX_PARTNERS,
        title="for each partner the plan names, whether the family agreed to share their contact's name with it",
    )

    @model_validator(mode="after")
    def _partners(self) -> Plan:
        named = named_partners(self.network_actions, self.support_package)
        if len(named) > MAX_PARTNERS:
            raise ValueError(f"A plan can connect the family with at most {MAX_PARTNERS} partners")
        check_consents(named, self.partner_consent, required=named)
        return self


class Outcome(_Input):
    held: bool = Field(title="whether the meeting took place")
    held_on: date | None = Field(default=None, title="the date the meeting took place")
    plan: Plan | None = Field(default=None, title="what the meeting agreed")
    reason: Reason | None = Field(default=None, title="why the meeting did not take place")

    @model_validator(mode="after")
    def _consistent(self) -> Outcome:
        if self.held:
            if self.held_on is None:
                raise ValueError("Give the date the meeting took place (held_on)")
            if self.reason is not None:
                raise ValueError("A meeting that took place takes no reason: remove it")
            if self.plan is not None:
                due = self.plan.first_review_due_on
                if not self.held_on < due <= self.held_on + REVIEW_WITHIN:
                    raise ValueError("The first review must be after the meeting and within three months of it")
        else:
            if self.reason is None:
                raise ValueError("Give the reason the meeting did not take place")
            if self.plan is not None or self.held_on is not None:
                raise ValueError("A meeting that did not take place has no date or plan: remove them")
        return self


def _plan_items(
    reference: str, *, meeting: dict[str, Any], outcome: Outcome, plan: Plan, settings: Settings
) -> list[Any]:
    """The agreed plan, and its first review (open, in the reviews-by-due-date index)."""
    existing, pk = meeting, table.referral_pk(reference)
    extra: list[Any] = []
    extra.append(
        put(
            {
                table.PARTITION_KEY: pk,
                table.SORT_KEY: "PLAN",
                table.KIND_ATTRIBUTE: "plan",
                "reference": reference,
                "meeting_id": existing["meeting_id"],
                "agreed_on": outcome.held_on.isoformat() if outcome.held_on else None,
                **plan.model_dump(mode="json"),
                "network_actions": stored_entries(plan.network_actions),
                "support_package": stored_entries(plan.support_package),
                "next_review_due_on": plan.first_review_due_on.isoformat(),
                "plan_status": "active",
                "version": 1,
            },
            settings.table_name,
            f"attribute_not_exists({table.PARTITION_KEY})",
        )
    )
    from shared.service.reviews import review_item  # noqa: PLC0415 - reviews builds on this module

    first = review_item(
        reference, 1, plan.first_review_due_on, scheduled_on=outcome.held_on or plan.first_review_due_on
    )
    extra.append(put(first, settings.table_name, f"attribute_not_exists({table.PARTITION_KEY})"))
    return extra


def record_outcome(
    reference: str,
    outcome: Outcome,
    *,
    actor: Actor,
    expected_version: int | None,
    reader: ReferralReader,
    settings: Settings,
    correlation_id: str,
    now: datetime | None = None,
) -> dict[str, Any]:
    """Held (with the plan, if one was agreed) or not held. A held meeting with a plan makes the plan active and
    opens its first review; one that did not take place returns the referral to accepted, to book again."""
    now = now or clock.now()
    current = current_state(reader, reference)
    status, version = current.status, current.version
    existing = current.allow("record_outcome", expected_version, needs_meeting=True)
    if outcome.held and outcome.held_on is not None and outcome.held_on > now.astimezone(LONDON).date():
        raise OutcomeTooEarly()
    at = _iso(now)
    pk = table.referral_pk(reference)
    meeting = {
        **_without_facilitator_index(existing),  # its outcome recorded, the meeting holds no more of their time
        "status": "held" if outcome.held else "not_held",
        "updated_at": at,
        "version": int(existing["version"]) + 1,
    }
    if outcome.held:
        meeting["held_on"] = outcome.held_on.isoformat() if outcome.held_on else None
    else:
        meeting["not_held_reason"] = outcome.reason
    extra: list[Any] = []
    requested: list[str] = []  # partners the plan connects the family with
    plan = outcome.plan
    if not outcome.held:
        to_status = ReferralStatus.ACCEPTED
    elif plan is None:
        to_status = ReferralStatus.MEETING_HELD
    else:
        to_status = ReferralStatus.PLAN_ACTIVE
        extra = _plan_items(reference, meeting=existing, outcome=outcome, plan=plan, settings=settings)
        named = named_partners(plan.network_actions, plan.support_package)
        if named:
            from shared.service.connections import request_connections  # noqa: PLC0415 - connections builds on this module

            connected = request_connections(
                reference,
                named,
                consents={c.partner_id: c.share_contact_name for c in plan.partner_consent},
                existing=current.items,
                reader=reader,
                settings=settings,
                correlation_id=correlation_id,
                now=now,
            )
            extra += connected.writes
            requested = connected.partner_ids
    head = [
        referral_update(settings, reference, version, to_status, at),
        put(meeting, settings.table_name, "version = :v", {":v": int(existing["version"])}),
    ]
    audit_changes: dict[str, Any] = {
        "status": {"from": status.value, "to": to_status.value},
        "meeting": {"from": "scheduled", "to": meeting["status"]},
    }
    if requested:
        audit_changes["connections_requested"] = requested
    items = [*head, *extra, *_release(existing, settings)]
    if outcome.held and outcome.held_on is not None:
        event: EventData = MeetingHeld(
            reference=reference,
            meeting_id=existing["meeting_id"],
            held_on=outcome.held_on,
            plan_agreed=plan is not None,
            support_package_items=len(plan.support_package) if plan else 0,
            first_review_due_on=plan.first_review_due_on if plan else None,
        )
        envelope = new_event(event, correlation_id=correlation_id, occurred_at=now)
        items.append(put(outbox_item(pk, envelope, event.detail_type, now=now, settings=settings), settings.table_name))
        event_id = envelope.metadata.event_id
    else:
        event_id = uuid.uuid4().hex
    action = "meeting.held" if outcome.held else "meeting.not_held"
    items.append(
        put(
            audit_entry(
                reference,
                at=at,
                actor=actor,
                action=action,
                changes=audit_changes,
                event_id=event_id,
                cid=correlation_id,
            ),
            settings.table_name,
        )
    )
    commit_change(items, settings, reference, "record_outcome", status)
    return {"reference": reference, "status": to_status.value, "version": version + 1, "meeting": meeting_view(meeting)}


class OutcomeTooEarly(Exception):
    message = "A meeting cannot be recorded as held on a date still to come"
