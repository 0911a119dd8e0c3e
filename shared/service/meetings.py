"""Facilitators and meetings: availability, booking, moving and cancelling, never double-booking anyone.

A booked meeting holds its facilitator's time as one item per 15-minute block (`FACILITATOR#<id>` / `BUSY#<start>`),
each written with `attribute_not_exists` in the same transaction as the meeting, the referral's new state, its audit
entry and its event. Two bookings that overlap by a minute share a block, so exactly one transaction succeeds: the
guarantee comes from the conditional writes, not from a read before the write.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from shared.adapters import table
from shared.adapters.dynamodb import Cancelled, ReferralReader, put, to_item, transact
from shared.config import Settings
from shared.domain import clock
from shared.domain.actors import Actor
from shared.domain.clock import LONDON
from shared.domain.events import (
    EventData,
    MeetingCancelled,
    MeetingHeld,
    MeetingNotHeld,
    MeetingRescheduled,
    MeetingScheduled,
    new_event,
)
from shared.domain.meetings import (
    Availability,
    CancelRequest,
    DoubleBooked,
    MeetingRequest,
    OutcomeTooEarly,
    UnknownFacilitator,
    _iso,
    blocks,
    check_meeting_time,
)
from shared.domain.participants import took_part
from shared.domain.plans import Outcome, Plan, named_partners, stored_entries
from shared.domain.referrals import ReferralStatus
from shared.domain.workflow import IllegalTransition
from shared.service import agreement
from shared.service.approvals import record_package
from shared.service.changes import audit_entry, commit_change, current_state, referral_update, refuse_if_referral_moved
from shared.service.connections import UnknownPartner
from shared.service.outbox import outbox_item
from shared.service.participants import emailed, participants_of, roster_check
from shared.service.preparation import require_ready
from shared.service.proposals import KIND_FACILITATOR, Recomputed, noting_proposal, proposal_writes, recompute_waiting

BLOCK_RETENTION = timedelta(days=90)
FACILITATORS_PK = table.FACILITATORS_PK
KIND_MEETING = table.KIND_MEETING
KIND_BUSY = "busy"
KIND_MEETING_VERSION = "meeting_version"
SNAPSHOT = ("meeting_id", "version", "sequence", "status", "facilitator_id", "starts_at", "ends_at", "venue")


# --- facilitators -----------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class AvailabilitySet:
    facilitator: dict[str, Any]  # as GET /facilitators lists it
    proposals: Recomputed  # the waiting referrals' proposals, made again


def set_availability(
    facilitator_id: str,
    availability: Availability,
    *,
    actor: Actor,
    settings: Settings,
    reader: ReferralReader | None = None,
    now: datetime | None = None,
) -> AvailabilitySet:
    """Add a facilitator or change their availability; then every referral waiting for a meeting gets the proposal
    it would get now (a facilitator added later gives a referral accepted before any existed its three slots)."""
    now = now or clock.now()
    reader = reader or ReferralReader(settings.table_name)
    item = {
        **table.facilitator_key(facilitator_id),
        table.KIND_ATTRIBUTE: KIND_FACILITATOR,
        "facilitator_id": facilitator_id,
        **_named_on_screen(reader.item(table.facilitator_key(facilitator_id)), availability.locality),
        "locality": availability.locality,
        "weekly": availability.model_dump(mode="json")["weekly"],
        "email": availability.email,
        "updated_at": _iso(now),
        "updated_by": actor.audit_name,
    }
    transact([put(item, settings.table_name)], settings.table_name)
    recomputed = recompute_waiting(reader=reader, settings=settings, now=now, because="availability_changed")
    return AvailabilitySet(facilitator_view(item), recomputed)


def _named_on_screen(existing: dict[str, Any] | None, locality: str) -> dict[str, Any]:
    """What the console keeps about a facilitator (shared/service/facilitators.py) that this route does not set: the
    name, the other localities (the one set here first), and a new version for the console's stale check."""
    if not existing or "version" not in existing:
        return {}
    others = [p for p in existing.get("localities") or [] if str(p).casefold() != locality.casefold()]
    return {
        "name": existing.get("name", ""),
        "localities": [locality, *others][:10],
        "version": int(existing["version"]) + 1,
    }


def facilitator_view(item: dict[str, Any]) -> dict[str, Any]:
    shown = ("facilitator_id", "name", "locality", "localities", "email", "weekly", "updated_at")
    return {key: item[key] for key in shown if key in item}


def list_facilitators(reader: ReferralReader) -> list[dict[str, Any]]:
    return [facilitator_view(item) for item in reader.partition_of(FACILITATORS_PK)]


# --- meetings ---------------------------------------------------------------------------------------------------


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


def _snapshot(meeting: dict[str, Any], settings: Settings) -> Any:
    """Written with every change to the meeting, in its transaction, and never changed after: what a late email
    reads the venue from (the venue stays out of the event: its details may be the family's address)."""
    item = {
        **table.meeting_snapshot_key(str(meeting["reference"]), str(meeting["meeting_id"]), int(meeting["version"])),
        table.KIND_ATTRIBUTE: KIND_MEETING_VERSION,
        "reference": meeting["reference"],
        **{key: meeting[key] for key in SNAPSHOT if key in meeting},
        "updated_at": meeting["updated_at"],
    }
    return put(item, settings.table_name)


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
    tail: tuple[Any, ...] = (),
) -> None:
    """head: [referral update, meeting write]; block_writes: (write, is_new_block); then audit and event, and the
    tail (a cancelled meeting's new proposal)."""
    pk = table.referral_pk(reference)
    items = [*head, *(write for write, _ in block_writes), put(audit, settings.table_name)]
    items.append(put(outbox_item(pk, envelope, event.detail_type, now=now, settings=settings), settings.table_name))
    items += tail
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
    if not existing:  # a meeting is booked once the family and the network are prepared (the checklist met)
        require_ready(current, settings)
    facilitator = reader.item(table.facilitator_key(request.facilitator_id))
    if facilitator is None:
        raise UnknownFacilitator(request.facilitator_id)
    exception = check_meeting_time(
        request,
        now=now,
        received_at=datetime.fromisoformat(str(current.referral["received_at"]).replace("Z", "+00:00")),
        weekly=facilitator.get("weekly") or [],
    )
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
        table.FACILITATOR_INDEX_PK: table.SCHEDULED_MEETINGS,
        table.FACILITATOR_INDEX_SK: table.facilitator_slot(_iso(request.starts_at), request.facilitator_id),
    }
    if exception is not None:  # the coordinator's reason, kept with the meeting and its audit entry, never an event
        meeting["availability_exception"] = exception
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
            meeting_version=meeting["version"],
            starts_at=request.starts_at,
            ends_at=request.ends_at,
            previous_starts_at=datetime.fromisoformat(existing["starts_at"]),
            participant_ids=emailed(current.items),
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
            meeting_version=meeting["version"],
            starts_at=request.starts_at,
            ends_at=request.ends_at,
            participant_ids=emailed(current.items),
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
    if exception is not None:
        changes["availability_exception"] = exception
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
        tail=(_snapshot(meeting, settings), roster_check(current.items, settings)),
    )
    return {
        "reference": reference,
        "status": "meeting_scheduled",
        "version": version + 1,
        "meeting": meeting_view(meeting),
    }


def _cancellation(
    existing: dict[str, Any], *, reason: str, items: list[dict[str, Any]], settings: Settings, now: datetime
) -> tuple[dict[str, Any], MeetingCancelled, list[Any]]:
    """A scheduled meeting, cancelled: the meeting item, its MeetingCancelled (sequence + 1, the times it had, the
    participants it was emailed to) and the writes that go with it: its snapshot, the check that the participants
    are as read, and the deletes that free its facilitator's busy blocks."""
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
        meeting_version=meeting["version"],
        starts_at=datetime.fromisoformat(existing["starts_at"]),
        ends_at=datetime.fromisoformat(existing["ends_at"]),
        cancelled_at=now,
        participant_ids=emailed(items),
    )
    writes = [_snapshot(meeting, settings), roster_check(items, settings), *_release(existing, settings)]
    return meeting, event, writes


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
    """Cancel the meeting: its facilitator's time is freed and the referral is preparing again (its preparation
    stands), to book anew."""
    now = now or clock.now()
    current = current_state(reader, reference)
    status, version = current.status, current.version
    existing = current.allow("cancel_meeting", expected_version, needs_meeting=True)
    at = _iso(now)
    meeting, event, writes = _cancellation(
        existing, reason=request.reason, items=current.items, settings=settings, now=now
    )
    block_writes = [(write, False) for write in writes]
    envelope = new_event(event, correlation_id=correlation_id, occurred_at=now)
    audit = audit_entry(
        reference,
        at=at,
        actor=actor,
        action="meeting.cancelled",
        changes={"status": {"from": status.value, "to": ReferralStatus.PREPARING.value}, "reason": request.reason},
        event_id=envelope.metadata.event_id,
        cid=correlation_id,
    )
    # waiting again: the proposal it would get now, the cancelled meeting's time counted free, in the same transaction
    proposal, proposed = proposal_writes(
        current.referral, reader=reader, settings=settings, now=now, leaving=existing["meeting_id"], because="cancel"
    )
    head = [
        noting_proposal(referral_update(settings, reference, version, ReferralStatus.PREPARING, at), proposal),
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
        tail=tuple(proposed),
    )
    return {"reference": reference, "status": "preparing", "version": version + 1, "meeting": meeting_view(meeting)}


def withdrawal_operations(
    existing: dict[str, Any],
    *,
    reason: str,
    items: list[dict[str, Any]],
    settings: Settings,
    correlation_id: str,
    now: datetime,
) -> list[Any]:
    """A referral withdrawn with its meeting scheduled: the meeting is cancelled in the same transaction (its
    facilitator's time freed, MeetingCancelled sent so invitations are withdrawn too)."""
    reference = str(existing["reference"])
    meeting, event, deletes = _cancellation(existing, reason=reason, items=items, settings=settings, now=now)
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


def _plan_items(
    reference: str,
    *,
    referral: dict[str, Any],
    meeting: dict[str, Any],
    outcome: Outcome,
    plan: Plan,
    settings: Settings,
    now: datetime,
) -> tuple[list[Any], list[int]]:
    """The plan made at the meeting (its package items approved, or waiting for a manager), waiting for the lead
    practitioner's agreement (shared/service/agreement.py): its first review opens, and its partners are asked, only
    once it is agreed. The numbers of the items waiting for a manager."""
    package = record_package(
        reference,
        plan.support_package,
        referral=referral,
        held=[],
        last_number=0,
        meeting_held=outcome.held,
        settings=settings,
        now=now,
        field_prefix="plan.support_package",
    )
    return [
        *package.writes,
        put(
            {
                table.PARTITION_KEY: table.referral_pk(reference),
                table.SORT_KEY: "PLAN",
                table.KIND_ATTRIBUTE: "plan",
                "reference": reference,
                "meeting_id": meeting["meeting_id"],
                "agreed_on": outcome.held_on.isoformat() if outcome.held_on else None,  # by the family, at the meeting
                **plan.model_dump(mode="json"),
                "network_actions": stored_entries(plan.network_actions),
                "support_package": package.entries,
                "last_item_number": package.last_number,
                "next_review_due_on": plan.first_review_due_on.isoformat(),
                "plan_status": "awaiting_agreement",
                "agreement_round": 1,
                "agreement_status": "requested",
                "version": 1,
            },
            settings.table_name,
            f"attribute_not_exists({table.PARTITION_KEY})",
        ),
    ], package.waiting


def _check_partners(named: set[str], reader: ReferralReader) -> None:
    """Every partner a plan names is active in the directory (they are asked once it is agreed)."""
    for partner_id in sorted(named):
        partner = reader.item(table.partner_key(partner_id))
        if partner is None or not partner.get("active"):
            raise UnknownPartner(partner_id)


def _outcome_event(reference: str, meeting: dict[str, Any], outcome: Outcome, now: datetime) -> EventData:
    """MeetingHeld (with what the plan made, if any), or MeetingNotHeld: the referrer is told; the reason stays here."""
    if outcome.held and outcome.held_on is not None:
        plan = outcome.plan
        return MeetingHeld(
            reference=reference,
            meeting_id=meeting["meeting_id"],
            held_on=outcome.held_on,
            plan_agreed=plan is not None,
            support_package_items=len(plan.support_package) if plan else 0,
            first_review_due_on=plan.first_review_due_on if plan else None,
        )
    return MeetingNotHeld(
        reference=reference,
        meeting_id=meeting["meeting_id"],
        starts_at=datetime.fromisoformat(str(meeting["starts_at"]).replace("Z", "+00:00")),
        recorded_at=now,
    )


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
    """Held (with the plan, if one was made) or not held. A held meeting with a plan leaves the plan waiting for the
    lead practitioner's agreement (its review and connections start once agreed); one that did not take place
    returns the referral to preparing, to book again."""
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
        # who took part, by role and counted as the outcome found them: what the referrer's feedback says
        meeting["took_part"] = took_part(
            participants_of(current.items), facilitated=bool(existing.get("facilitator_id"))
        )
    else:
        meeting["not_held_reason"] = outcome.reason
    extra: list[Any] = []
    waiting: list[int] = []  # package items waiting for a manager's approval
    plan = outcome.plan
    if not outcome.held:
        to_status = ReferralStatus.PREPARING
    elif plan is None:
        to_status = ReferralStatus.MEETING_HELD
    else:  # the plan waits for the lead practitioner's agreement, through the link in its PlanAgreementRequested
        to_status = ReferralStatus.AWAITING_AGREEMENT
        _check_partners(named_partners(plan.network_actions, plan.support_package), reader)
        extra, waiting = _plan_items(
            reference,
            referral=current.referral,
            meeting=existing,
            outcome=outcome,
            plan=plan,
            settings=settings,
            now=now,
        )
        extra += agreement.request_writes(
            reference,
            round_=1,
            answerer=agreement.answerer_of(current.referral),
            held_on=outcome.held_on or now.astimezone(LONDON).date(),
            settings=settings,
            correlation_id=correlation_id,
            now=now,
        ).writes
    update = referral_update(settings, reference, version, to_status, at)
    if to_status is ReferralStatus.AWAITING_AGREEMENT:
        update = agreement.noting_agreement(update, "requested")
    if not outcome.held:  # waiting again for a meeting: the proposal it would get now
        proposal, proposed = proposal_writes(
            current.referral,
            reader=reader,
            settings=settings,
            now=now,
            leaving=existing["meeting_id"],
            because="not_held",
        )
        update, extra = noting_proposal(update, proposal), [*extra, *proposed]
    head = [update, put(meeting, settings.table_name, "version = :v", {":v": int(existing["version"])})]
    audit_changes: dict[str, Any] = {
        "status": {"from": status.value, "to": to_status.value},
        "meeting": {"from": "scheduled", "to": meeting["status"]},
    }
    audit_changes |= {"package_waiting_for_approval": waiting} if waiting else {}
    items = [*head, *extra, *_release(existing, settings)]
    event = _outcome_event(reference, existing, outcome, now)
    envelope = new_event(event, correlation_id=correlation_id, occurred_at=now)
    items.append(put(outbox_item(pk, envelope, event.detail_type, now=now, settings=settings), settings.table_name))
    event_id = envelope.metadata.event_id
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
