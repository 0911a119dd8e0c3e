"""A meeting's participants: added and changed by the coordinator, each change one transaction (the participant's
version, the roster's, its audit entry and, when it newly sends an invitation, its event).

Each participant is an item in the referral's partition (`PARTICIPANT#<id>`): personal data stays there; audit
entries and events name the participant by id. The roster item (`PARTICIPANTS`) has a version every participant
change raises and every meeting change checks, so a booking, a move or a cancellation is emailed to exactly the
participants it read: one added meanwhile makes the meeting change stale (409), or, added after it, is invited by
its own event (ParticipantInvited) from the meeting as that change left it.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from shared.adapters import table
from shared.adapters.dynamodb import Cancelled, ReferralReader, condition_check, put, transact
from shared.config import Settings
from shared.domain import clock
from shared.domain.actors import Actor
from shared.domain.errors import Conflict, Invalid
from shared.domain.events import MAX_PARTICIPANTS, ParticipantInvited, new_event
from shared.domain.participants import (
    ParticipantNotFound,
    ParticipantRequest,
    check,
    check_participant_id,
    interpreter_needed,
    is_emailed,
    to_contact,
)
from shared.domain.workflow import OPEN_STATES, IllegalTransition
from shared.service.changes import CurrentState, audit_entry, current_state
from shared.service.outbox import outbox_item
from shared.service.retention import inherited

KIND_PARTICIPANT = "participant"
KIND_ROSTER = "participant_roster"
ROSTER_SK = "PARTICIPANTS"
SHOWN = (
    "participant_id",
    "name",
    "role",
    "contact_preference",
    "consent_to_contact",
    "email",
    "phone",
    "address",
    "attendance",
    "attendance_reason",
    "version",
    "created_at",
    "updated_at",
)


def participants_of(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The referral's participants (from its partition as read), in the order they were added."""
    found = [i for i in items if i.get(table.KIND_ATTRIBUTE) == KIND_PARTICIPANT]
    return sorted(found, key=lambda p: (str(p.get("created_at", "")), str(p[table.SORT_KEY])))


def emailed(items: list[dict[str, Any]]) -> list[str]:
    """The ids of the participants a meeting change is emailed to (what its event names)."""
    return [str(p["participant_id"]) for p in participants_of(items) if is_emailed(p)]


def roster_check(items: list[dict[str, Any]], settings: Settings) -> Any:
    """A meeting change commits only if the participants are as it read them (it names who it is emailed to)."""
    roster = next((i for i in items if i.get(table.SORT_KEY) == ROSTER_SK), None)
    key = {table.PARTITION_KEY: _pk_of(items), table.SORT_KEY: ROSTER_SK}
    if roster is None:
        return condition_check(key, settings.table_name, f"attribute_not_exists({table.PARTITION_KEY})")
    return condition_check(key, settings.table_name, "version = :v", values={":v": int(roster["version"])})


def _pk_of(items: list[dict[str, Any]]) -> str:
    referral = next(i for i in items if i.get(table.KIND_ATTRIBUTE) == table.KIND_REFERRAL)
    return str(referral[table.PARTITION_KEY])


def view(participant: dict[str, Any]) -> dict[str, Any]:
    shown = {key: participant[key] for key in SHOWN if key in participant}
    shown["version"] = int(participant.get("version", 1))
    shown["emailed"] = is_emailed(participant)
    shown["to_contact"] = to_contact(participant)
    return shown


def participants_view(items: list[dict[str, Any]], referral: dict[str, Any]) -> dict[str, Any]:
    """What the case page and `GET …/participants` show: everyone, who the coordinator must contact themselves (and
    why), and the tasks the participants leave open (an interpreter the referral asked for)."""
    found = [view(p) for p in participants_of(items) if not p.get("erased")]  # an erased one has nothing to show
    submission = referral.get("submission") if isinstance(referral.get("submission"), dict) else {}
    language = ((submission or {}).get("meeting_preferences") or {}).get("interpreter_language")
    tasks = []
    if interpreter_needed(language, found):
        tasks.append(
            {
                "task": "interpreter",
                "text": f"Arrange an interpreter ({language}) and add them as a participant",
            }
        )
    return {
        "items": found,
        "to_contact": [
            {"participant_id": p["participant_id"], "name": p.get("name", ""), "why": p["to_contact"]}
            for p in found
            if p["to_contact"]
        ],
        "tasks": tasks,
    }


def add(
    reference: str,
    request: ParticipantRequest,
    *,
    actor: Actor,
    reader: ReferralReader,
    settings: Settings,
    correlation_id: str,
    now: datetime | None = None,
) -> dict[str, Any]:
    """A new participant (invited, unless said otherwise); emailed the invitation now if the meeting is booked."""
    check(request)
    now = now or clock.now()
    current = _open(reader, reference)
    if len(participants_of(current.items)) >= MAX_PARTICIPANTS:
        message = f"A meeting can have at most {MAX_PARTICIPANTS} participants"
        raise Invalid(message, [{"field": "body", "message": message}])
    participant_id = "pt-" + uuid.uuid4().hex[:10]
    item = _item(reference, participant_id, request, current.referral, version=1, created_at=clock.iso(now), now=now)
    write = put(item, settings.table_name, f"attribute_not_exists({table.PARTITION_KEY})")
    _commit(current, item, write, None, actor=actor, settings=settings, correlation_id=correlation_id, now=now)
    return view(item)


def change(
    reference: str,
    participant_id: str,
    request: ParticipantRequest,
    *,
    actor: Actor,
    expected_version: int | None,
    reader: ReferralReader,
    settings: Settings,
    correlation_id: str,
    now: datetime | None = None,
) -> dict[str, Any]:
    """A participant changed (contact details, consent, attendance: excluded with a reason); emailed the invitation
    if this change makes them someone it is emailed to while the meeting is booked."""
    check_participant_id(participant_id)
    check(request)
    now = now or clock.now()
    current = _open(reader, reference)
    existing = next((p for p in participants_of(current.items) if p["participant_id"] == participant_id), None)
    if existing is None or existing.get("erased"):
        raise ParticipantNotFound()
    version = int(existing["version"])
    if expected_version is not None and expected_version != version:
        raise Conflict("Someone else changed this participant since you read it: check it before you try again")
    item = _item(
        reference,
        participant_id,
        request,
        current.referral,
        version=version + 1,
        created_at=str(existing.get("created_at") or clock.iso(now)),
        now=now,
    )
    write = put(item, settings.table_name, "version = :v", {":v": version})
    _commit(current, item, write, existing, actor=actor, settings=settings, correlation_id=correlation_id, now=now)
    return view(item)


def _open(reader: ReferralReader, reference: str) -> CurrentState:
    current = current_state(reader, reference)
    if current.status not in OPEN_STATES or current.referral.get("erased"):
        raise IllegalTransition("change_participants", current.status)
    return current


def _item(
    reference: str,
    participant_id: str,
    request: ParticipantRequest,
    referral: dict[str, Any],
    *,
    version: int,
    created_at: str,
    now: datetime,
) -> dict[str, Any]:
    values = request.model_dump(mode="json", exclude_none=True)
    if request.attendance not in ("excluded", "attends_separately"):
        values.pop("attendance_reason", None)  # a reason belongs to an exclusion or a separate part only
    return {
        **inherited(referral),
        **table.participant_key(reference, participant_id),
        table.KIND_ATTRIBUTE: KIND_PARTICIPANT,
        "reference": reference,
        "participant_id": participant_id,
        **values,
        "version": version,
        "created_at": created_at,
        "updated_at": clock.iso(now),
    }


def _commit(
    current: CurrentState,
    item: dict[str, Any],
    write: Any,
    existing: dict[str, Any] | None,
    *,
    actor: Actor,
    settings: Settings,
    correlation_id: str,
    now: datetime,
) -> None:
    """The participant, the roster's new version, the referral as read (still open), the audit entry (ids and
    states: never a name, an address or a reason) and, when this change newly emails them, their invitation."""
    reference = str(current.referral["reference"])
    pk = table.referral_pk(reference)
    roster = next((i for i in current.items if i.get(table.SORT_KEY) == ROSTER_SK), None)
    roster_version = int(roster["version"]) if roster else 0
    roster_item = {
        **inherited(current.referral),
        table.PARTITION_KEY: pk,
        table.SORT_KEY: ROSTER_SK,
        table.KIND_ATTRIBUTE: KIND_ROSTER,
        "reference": reference,
        "version": roster_version + 1,
        "updated_at": clock.iso(now),
    }
    if roster is None:
        roster_write = put(roster_item, settings.table_name, f"attribute_not_exists({table.PARTITION_KEY})")
    else:
        roster_write = put(roster_item, settings.table_name, "version = :v", {":v": roster_version})
    referral_check = condition_check(
        {table.PARTITION_KEY: pk, table.SORT_KEY: "REFERRAL"},
        settings.table_name,
        "version = :v",
        values={":v": current.version},
    )
    changes: dict[str, Any] = {
        "participant": item["participant_id"],
        "role": item["role"],
        "attendance": {"from": existing.get("attendance") if existing else None, "to": item["attendance"]},
    }
    writes = [referral_check, roster_write, write]
    invited = _invitation(current, item, existing, settings=settings, correlation_id=correlation_id, now=now)
    event_id = uuid.uuid4().hex
    if invited:
        event_id, invitation_writes = invited
        writes += invitation_writes
        changes["invited"] = True
    action = "participant.added" if existing is None else "participant.changed"
    audit = audit_entry(
        reference, at=clock.iso(now), actor=actor, action=action, changes=changes, event_id=event_id, cid=correlation_id
    )
    writes.append(put({**audit, **inherited(current.referral)}, settings.table_name))
    try:
        transact(writes, settings.table_name)
    except Cancelled as cancelled:
        if cancelled.failed(2) and existing is not None:
            raise Conflict(
                "Someone else changed this participant since you read it: check it before you try again"
            ) from None
        raise IllegalTransition("change_participants", current.status, stale=True) from None


def _invitation(
    current: CurrentState,
    item: dict[str, Any],
    existing: dict[str, Any] | None,
    *,
    settings: Settings,
    correlation_id: str,
    now: datetime,
) -> tuple[str, list[Any]] | None:
    """A participant newly emailed while the meeting is booked (added, or given an address, consent or a place back
    at the meeting) is sent the invitation as the meeting stands: the event, and a check that it still stands so."""
    meeting = current.scheduled
    if meeting is None or not is_emailed(item):
        return None
    if existing is not None and is_emailed(existing) and existing.get("email") == item.get("email"):
        return None  # already invited at this address
    event = ParticipantInvited(
        reference=str(item["reference"]),
        meeting_id=meeting["meeting_id"],
        facilitator_id=meeting["facilitator_id"],
        sequence=int(meeting["sequence"]),
        meeting_version=int(meeting["version"]),
        starts_at=datetime.fromisoformat(str(meeting["starts_at"]).replace("Z", "+00:00")),
        ends_at=datetime.fromisoformat(str(meeting["ends_at"]).replace("Z", "+00:00")),
        participant_ids=[str(item["participant_id"])],
        invited_at=now,
    )
    envelope = new_event(event, correlation_id=correlation_id, occurred_at=now)
    pk = table.referral_pk(str(item["reference"]))
    meeting_as_read = condition_check(
        {table.PARTITION_KEY: pk, table.SORT_KEY: "MEETING"},
        settings.table_name,
        "version = :v",
        values={":v": int(meeting["version"])},
    )
    outbox = put(outbox_item(pk, envelope, event.detail_type, now=now, settings=settings), settings.table_name)
    return envelope.metadata.event_id, [meeting_as_read, outbox]
