"""Preparing for the meeting, as the coordinator records it: contacts with the family and the network, the family's
decision to go ahead (or not: the referral closes), the checklist a booking waits for, and each child's voice.

Every record is one transaction conditional on the referral's version as read: the referral's update (a new version;
the first record on an accepted referral moves it to preparing, with PreparationStarted), the record's own item in
the referral's partition and its audit entry (ids, choices and dates: never a note, wishes and feelings or an
advocate's name), and the event where the state changes. The personal free text stays in the items, so subject
access exports it and erasure tombstones it with the rest of the referral.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from shared.adapters import table
from shared.adapters.dynamodb import ReferralReader, put
from shared.config import Settings
from shared.domain import clock
from shared.domain.actors import Actor
from shared.domain.clock import LONDON
from shared.domain.errors import Invalid
from shared.domain.events import EventData, FamilyDeclined, PreparationStarted, new_event
from shared.domain.preparation import (
    CHECKLIST,
    ChecklistUpdate,
    ChildVoice,
    Contact,
    FamilyDecision,
    NoSuchChild,
    PreparationIncomplete,
    checklist_state,
)
from shared.domain.referrals import ReferralStatus
from shared.service.changes import CurrentState, audit_entry, commit_change, current_state, referral_update
from shared.service.outbox import outbox_item

KIND_PREPARATION = "preparation"
KIND_CONTACT = "contact"
KIND_CHILD_VOICE = "child_voice"
PREPARATION_KEY = "PREPARATION"


def _item(current: CurrentState, kind: str) -> dict[str, Any] | None:
    return next((i for i in current.items if i.get(table.KIND_ATTRIBUTE) == kind), None)


def preparation_item(items: Sequence[dict[str, Any]]) -> dict[str, Any] | None:
    return next((i for i in items if i.get(table.KIND_ATTRIBUTE) == KIND_PREPARATION), None)


def missing(configured: Sequence[str], items: Sequence[dict[str, Any]]) -> list[str]:
    """The configured checklist items not yet done, in order."""
    return [entry["item"] for entry in checklist_state(configured, preparation_item(items)) if not entry["done"]]


def require_ready(current: CurrentState, settings: Settings) -> None:
    """A booking waits for the checklist: PreparationIncomplete (422) names what is not yet done."""
    not_done = missing(settings.preparation_checklist, current.items)
    if not_done:
        raise PreparationIncomplete(not_done)


def _received_on(current: CurrentState) -> date:
    received = datetime.fromisoformat(str(current.referral["received_at"]).replace("Z", "+00:00"))
    return received.astimezone(LONDON).date()


def _not_before_referral(current: CurrentState, day: date, field: str, what: str) -> None:
    received = _received_on(current)
    if day < received:
        message = f"{what} cannot be before the referral was received ({received:%-d %B %Y})"
        raise Invalid("The record has a problem to fix", [{"field": field, "message": message}])


def _change(
    current: CurrentState,
    action: str,
    *,
    writes: list[dict[str, Any]],
    audit_action: str,
    audit_changes: dict[str, Any],
    actor: Actor,
    expected_version: int | None,
    settings: Settings,
    correlation_id: str,
    now: datetime,
    closing: EventData | None = None,
) -> dict[str, Any]:
    """One preparation record, in one transaction: the referral's new version (and state), the record's items, its
    audit entry and, where the state changes, its event. `closing`: the family said no (its event and state)."""
    reference = str(current.referral["reference"])
    status, version = current.status, current.version
    at = clock.iso(now)
    event: EventData | None = closing
    to_status = status
    if closing is not None:
        to_status = ReferralStatus.FAMILY_DECLINED
    elif status is ReferralStatus.ACCEPTED:  # the first thing recorded in preparation starts it
        to_status = ReferralStatus.PREPARING
        event = PreparationStarted(reference=reference, started_at=now)
    envelope = new_event(event, correlation_id=correlation_id, occurred_at=now) if event is not None else None
    event_id = envelope.metadata.event_id if envelope is not None else uuid.uuid4().hex
    changes = dict(audit_changes)
    if to_status is not status:
        changes["status"] = {"from": status.value, "to": to_status.value}
    changes["version"] = {"from": version, "to": version + 1}
    audit = audit_entry(
        reference, at=at, actor=actor, action=audit_action, changes=changes, event_id=event_id, cid=correlation_id
    )
    items = [
        referral_update(settings, reference, version, to_status, at),
        *(put(write, settings.table_name) for write in writes),
        put(audit, settings.table_name),
    ]
    if envelope is not None and event is not None:
        pk = table.referral_pk(reference)
        items.append(put(outbox_item(pk, envelope, event.detail_type, now=now, settings=settings), settings.table_name))
    commit_change(items, settings, reference, action, status)
    return {"reference": reference, "status": to_status.value, "version": version + 1}


def _start(reader: ReferralReader, reference: str, action: str, expected_version: int | None) -> CurrentState:
    current = current_state(reader, reference)
    current.allow(action, expected_version)
    return current


def record_contact(
    reference: str,
    contact: Contact,
    *,
    actor: Actor,
    expected_version: int | None,
    reader: ReferralReader,
    settings: Settings,
    correlation_id: str,
    author: str | None = None,
    now: datetime | None = None,
) -> dict[str, Any]:
    """A visit or a call, with its date and a short note (the note stays in its item; the audit names its id)."""
    now = now or clock.now()
    current = _start(reader, reference, "record_contact", expected_version)
    _not_before_referral(current, contact.contacted_on, "contacted_on", "The date of the contact")
    at = clock.iso(now)
    contact_id = uuid.uuid4().hex[:12]
    item = {
        table.PARTITION_KEY: table.referral_pk(reference),
        table.SORT_KEY: f"CONTACT#{at}#{contact_id}",
        table.KIND_ATTRIBUTE: KIND_CONTACT,
        "reference": reference,
        "contact_id": contact_id,
        "method": contact.method,
        "contacted_on": contact.contacted_on.isoformat(),
        "note": contact.note,
        "at": at,
        "actor": actor.audit_name,
        **({"author": author} if author else {}),
    }
    changed = _change(
        current,
        "record_contact",
        writes=[item],
        audit_action="preparation.contact",
        audit_changes={"contact": {"id": contact_id, "method": contact.method, "on": item["contacted_on"]}},
        actor=actor,
        expected_version=expected_version,
        settings=settings,
        correlation_id=correlation_id,
        now=now,
    )
    return {**changed, "contact_id": contact_id}


def _preparation(current: CurrentState, at: str, **changes: Any) -> dict[str, Any]:
    existing = _item(current, KIND_PREPARATION) or {}
    return {
        "checklist": {},
        **existing,
        table.PARTITION_KEY: table.referral_pk(str(current.referral["reference"])),
        table.SORT_KEY: PREPARATION_KEY,
        table.KIND_ATTRIBUTE: KIND_PREPARATION,
        "reference": current.referral["reference"],
        "updated_at": at,
        **changes,
    }


def record_family_decision(
    reference: str,
    decision: FamilyDecision,
    *,
    actor: Actor,
    expected_version: int | None,
    reader: ReferralReader,
    settings: Settings,
    correlation_id: str,
    now: datetime | None = None,
) -> dict[str, Any]:
    """The family goes ahead (the checklist's `family_agreed` is met), or not: the referral closes
    (`family_declined`), and FamilyDeclined tells the referrer (the reference and a fixed sentence only)."""
    now = now or clock.now()
    current = _start(reader, reference, "record_family_decision", expected_version)
    _not_before_referral(current, decision.decided_on, "decided_on", "The date the family decided")
    at = clock.iso(now)
    recorded = {
        "go_ahead": decision.go_ahead,
        "decided_on": decision.decided_on.isoformat(),
        "at": at,
        "by": actor.audit_name,
        **({"note": decision.note} if decision.note else {}),
    }
    closing = (
        None
        if decision.go_ahead
        else FamilyDeclined(
            reference=reference,
            previous_status=current.status.value,  # accepted or preparing: allow() checked it
            decided_on=decision.decided_on,
            declined_at=now,
        )
    )
    return _change(
        current,
        "record_family_decision",
        writes=[_preparation(current, at, family_decision=recorded)],
        audit_action="preparation.family_decision",
        audit_changes={"family_decision": {"go_ahead": decision.go_ahead, "on": recorded["decided_on"]}},
        actor=actor,
        expected_version=expected_version,
        settings=settings,
        correlation_id=correlation_id,
        now=now,
        closing=closing,
    )


def update_checklist(
    reference: str,
    update: ChecklistUpdate,
    *,
    actor: Actor,
    expected_version: int | None,
    reader: ReferralReader,
    settings: Settings,
    correlation_id: str,
    now: datetime | None = None,
) -> dict[str, Any]:
    """The checklist's ticked items as they now stand: only this deployment's items (each keeps when it was first
    ticked, and by whom)."""
    now = now or clock.now()
    unknown = [item for item in update.done if item not in settings.preparation_checklist]
    if unknown:
        raise Invalid(
            "The checklist has a problem to fix",
            [
                {"field": "done", "message": f"{CHECKLIST[item]} is not on this service's checklist: untick it"}
                for item in unknown
            ],
        )
    current = _start(reader, reference, "update_checklist", expected_version)
    at = clock.iso(now)
    before = (_item(current, KIND_PREPARATION) or {}).get("checklist") or {}
    ticked = {item: before.get(item) or {"at": at, "by": actor.audit_name} for item in update.done}
    return _change(
        current,
        "update_checklist",
        writes=[_preparation(current, at, checklist=ticked)],
        audit_action="preparation.checklist",
        audit_changes={"checklist": {"from": sorted(before), "to": sorted(ticked)}},
        actor=actor,
        expected_version=expected_version,
        settings=settings,
        correlation_id=correlation_id,
        now=now,
    )


def record_child_voice(
    reference: str,
    child: int,
    voice: ChildVoice,
    *,
    actor: Actor,
    expected_version: int | None,
    reader: ReferralReader,
    settings: Settings,
    correlation_id: str,
    now: datetime | None = None,
) -> dict[str, Any]:
    """One child's wishes and feelings, how they take part and their advocate (child: 1 for the first child named
    on the referral). The wishes and the advocate's name stay in the child's item, never in the audit entry."""
    now = now or clock.now()
    current = current_state(reader, reference)
    submission = current.referral.get("submission")
    children = len(((submission if isinstance(submission, dict) else {}).get("family") or {}).get("children") or [])
    if not 1 <= child <= children:
        raise NoSuchChild(children)
    current.allow("record_child_voice", expected_version)
    at = clock.iso(now)
    existing = next(
        (i for i in current.items if i.get(table.KIND_ATTRIBUTE) == KIND_CHILD_VOICE and i.get("child") == child),
        None,
    )
    item = {
        table.PARTITION_KEY: table.referral_pk(reference),
        table.SORT_KEY: f"CHILD#{child:02d}",
        table.KIND_ATTRIBUTE: KIND_CHILD_VOICE,
        "reference": reference,
        "child": child,
        **voice.model_dump(mode="json", exclude_none=True),
        "updated_at": at,
        "actor": actor.audit_name,
        "version": int(existing["version"]) + 1 if existing else 1,
    }
    changed = _change(
        current,
        "record_child_voice",
        writes=[item],
        audit_action="preparation.child_voice",
        audit_changes={
            "child_voice": {
                "child": child,
                "participation": voice.participation,
                "advocate_allocated": voice.advocate_allocated,
                "wishes_recorded": voice.wishes_and_feelings is not None,
            }
        },
        actor=actor,
        expected_version=expected_version,
        settings=settings,
        correlation_id=correlation_id,
        now=now,
    )
    return {**changed, "child": child}


def preparation_view(items: Sequence[dict[str, Any]], configured: Sequence[str]) -> dict[str, Any]:
    """What the case page and `GET /referrals/{reference}` show of the preparation: contacts (newest first), the
    family's decision, the checklist against this deployment's items, and whether a meeting can be booked."""
    found = preparation_item(items) or {}
    contacts = sorted(
        (i for i in items if i.get(table.KIND_ATTRIBUTE) == KIND_CONTACT), key=lambda i: str(i[table.SORT_KEY])
    )
    checklist = checklist_state(configured, found)
    return {
        "contacts": [
            {key: c.get(key) for key in ("contact_id", "method", "contacted_on", "note", "at", "actor", "author")}
            for c in reversed(contacts)
        ],
        "family_decision": found.get("family_decision"),
        "checklist": checklist,
        "missing": [entry["item"] for entry in checklist if not entry["done"]],
    }


def child_voices_view(items: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each child's voice recorded, by the child's number on the referral."""
    voices = sorted(
        (i for i in items if i.get(table.KIND_ATTRIBUTE) == KIND_CHILD_VOICE), key=lambda i: int(i.get("child", 0))
    )
    keys = ("child", "wishes_and_feelings", "participation", "advocate_allocated", "advocate_name", "updated_at")
    return [{key: v[key] for key in keys if key in v} for v in voices]
