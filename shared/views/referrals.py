"""The read side of referrals: the coordinators' queue, one referral whole, and the read audit every staff read of
a referral leaves (who, when, through which route). Every read is a GetItem or a Query, never a Scan."""

from __future__ import annotations

import base64
import binascii
import json
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from shared.adapters import table
from shared.adapters.dynamodb import ReferralReader, put, transact
from shared.config import DEFAULT_PREPARATION_CHECKLIST, Settings
from shared.domain import clock
from shared.domain.actors import Actor
from shared.domain.errors import Unreadable
from shared.domain.plans import numbered
from shared.domain.referrals import ReferralNotFound, ReferralStatus, check_reference
from shared.domain.workflow import allowed_decisions
from shared.service.agreement import agreements_view
from shared.service.connections import connections_view
from shared.service.evaluations import evaluations_view
from shared.service.notes import notes_view
from shared.service.participants import participants_view
from shared.service.plan_links import links_view
from shared.service.preparation import child_voices_view, preparation_view
from shared.service.retention import inherited
from shared.service.reviews import review_view

MAX_PAGE = 100
MAX_CURSOR = 1024  # ours are a few hundred characters


def encode_cursor(key: dict[str, Any] | None) -> str | None:
    if key is None:
        return None
    return base64.urlsafe_b64encode(json.dumps(key, sort_keys=True).encode()).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> dict[str, Any] | None:
    return decode_key(cursor, table.STATUS_INDEX)


def decode_key(cursor: str | None, index: str) -> dict[str, Any] | None:
    """A page's start in `index`, from a cursor this service gave (Unreadable otherwise)."""
    if not cursor:
        return None
    if len(cursor) > MAX_CURSOR:
        raise Unreadable("The cursor is not one this service gave: start again without it")
    try:
        key = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (binascii.Error, ValueError, UnicodeDecodeError, RecursionError):
        raise Unreadable("The cursor is not one this service gave: start again without it") from None
    wanted = {table.PARTITION_KEY, table.SORT_KEY, *table.GLOBAL_SECONDARY_INDEXES[index]}
    if not isinstance(key, dict) or set(key) != wanted or not all(isinstance(v, str) for v in key.values()):
        raise Unreadable("The cursor is not one this service gave: start again without it")
    return key


def summary(referral: dict[str, Any]) -> dict[str, Any]:
    """A line of the queue: ids, states, dates and counts; the organisation referring, no one's name."""
    submission = referral.get("submission")
    submission = submission if isinstance(submission, dict) else {}  # an erased referral keeps a tombstone
    return {
        "reference": referral["reference"],
        "route": referral["route"],
        "status": referral["status"],
        "received_at": referral["received_at"],
        "updated_at": referral.get("updated_at", referral["received_at"]),
        "organisation": (submission.get("referrer") or {}).get("organisation"),
        "children": len((submission.get("family") or {}).get("children") or []),
        "version": int(referral["version"]),
    }


def list_referrals(reader: ReferralReader, status: ReferralStatus, limit: int, cursor: str | None) -> dict[str, Any]:
    if not 1 <= limit <= MAX_PAGE:
        raise Unreadable(f"limit must be from 1 to {MAX_PAGE}")
    page = reader.by_status(status.value, limit, decode_cursor(cursor))
    return {
        "status": status.value,
        "items": [summary(item) for item in page.items],
        "next_cursor": encode_cursor(page.last_key),
    }


KIND_ACCESS = "access"


@dataclass(frozen=True)
class Access:
    """A staff read of a referral's personal data, to be recorded (who, when, through which route)."""

    actor: Actor
    route: str
    settings: Settings
    now: datetime


def record_access(referral: dict[str, Any], access: Access) -> dict[str, Any]:
    """The read audit: one entry per staff read, kept as long as the referral (it inherits its expiry)."""

    at = clock.iso(access.now)
    entry = {"at": at, "actor": access.actor.audit_name, "route": access.route}
    item = {
        **inherited(referral),
        table.PARTITION_KEY: referral[table.PARTITION_KEY],
        table.SORT_KEY: f"ACCESS#{at}#{uuid.uuid4().hex[:8]}",
        table.KIND_ATTRIBUTE: KIND_ACCESS,
        "reference": referral["reference"],
        **entry,
    }
    transact([put(item, access.settings.table_name)], access.settings.table_name)
    return entry


def referral_view(
    reader: ReferralReader,
    reference: str,
    access: Access | None = None,
    *,
    checklist: tuple[str, ...] | None = None,
) -> dict[str, Any]:
    """The referral with everything under it, as a coordinator needs it on one screen; `access` records this
    read in the read audit (and the view shows it with the earlier ones); `checklist`: the deployment's preparation
    checklist (else the access's settings', else the default)."""

    items = reader.partition(check_reference(reference))
    by_kind: dict[str, list[dict[str, Any]]] = {}
    for item in items:
        by_kind.setdefault(item.get(table.KIND_ATTRIBUTE, ""), []).append(item)
    found = by_kind.get(table.KIND_REFERRAL) or []
    if not found:
        raise ReferralNotFound(reference)
    referral = found[0]
    status = ReferralStatus(referral["status"])
    audit = sorted(by_kind.get(table.KIND_AUDIT, []), key=lambda i: i[table.SORT_KEY])
    accesses = [
        {key: entry[key] for key in ("at", "actor", "route")}
        for entry in sorted(by_kind.get(KIND_ACCESS, []), key=lambda i: i[table.SORT_KEY])
    ]
    if access is not None:
        accesses.append(record_access(referral, access))
    return {
        **summary(referral),
        "submission": referral["submission"],
        "decision": referral.get("decision"),
        "coordinator": referral.get("coordinator"),  # {"subject", "name"}: the coordinator named for the case
        "allowed_actions": allowed_decisions(status),
        "meeting": _meeting(by_kind.get("meeting")),
        "proposals": _proposals(by_kind.get("proposals")),
        "preparation": preparation_view(
            items,
            checklist
            if checklist is not None
            else access.settings.preparation_checklist
            if access is not None
            else DEFAULT_PREPARATION_CHECKLIST,
        ),
        "child_voices": child_voices_view(items),
        "plan": _plan(by_kind.get("plan")),
        "participants": participants_view(items, referral),
        "agreements": agreements_view(items),
        "plan_links": links_view(items),
        "evaluations": evaluations_view(items),
        "connections": connections_view(items),
        "reviews": [review_view(r) for r in sorted(by_kind.get("review", []), key=lambda r: r[table.SORT_KEY])],
        "emails": [
            {key: e.get(key) for key in ("template", "to", "recipient_kind", "subject", "status", "created_at")}
            for e in sorted(by_kind.get("email", []), key=lambda e: (e.get("created_at", ""), e[table.SORT_KEY]))
        ],
        "notes": notes_view(items),
        "audit": [{key: entry[key] for key in ("at", "actor", "action", "changes") if key in entry} for entry in audit],
        "accesses": accesses,
    }


def participants_read(reader: ReferralReader, reference: str, access: Access) -> dict[str, Any]:
    """A meeting's participants (their contact details: a read of personal data, recorded in the read audit), who
    the coordinator must contact themselves, and the tasks they leave open."""
    items = reader.partition(check_reference(reference))
    referral = next((i for i in items if i.get(table.KIND_ATTRIBUTE) == table.KIND_REFERRAL), None)
    if referral is None:
        raise ReferralNotFound(reference)
    record_access(referral, access)
    return {"reference": reference, **participants_view(items, referral)}


def _meeting(found: list[dict[str, Any]] | None) -> dict[str, Any] | None:
    if not found:
        return None
    keys = ("meeting_id", "facilitator_id", "starts_at", "ends_at", "venue", "status", "sequence", "held_on")
    return {key: found[0][key] for key in keys if key in found[0]}


def _proposals(found: list[dict[str, Any]] | None) -> dict[str, Any] | None:
    if not found:
        return None
    keys = ("facilitator_id", "slots", "target_date", "reason", "proposed_at")
    return {key: found[0].get(key) for key in keys}


def _plan(found: list[dict[str, Any]] | None) -> dict[str, Any] | None:
    if not found:
        return None
    keys = (
        "meeting_id",
        "agreed_on",
        "network_actions",
        "support_package",
        "first_review_due_on",
        "next_review_due_on",
        "plan_status",
        "last_review_number",
        "partner_consent",
        "agreement_round",
        "agreement_status",
        "plan_agreed_at",
    )
    plan = {key: found[0][key] for key in keys if key in found[0]}
    if "support_package" in plan:  # each item with its number (a plan stored before items had numbers: its place)
        plan["support_package"] = numbered(list(plan["support_package"]))
    return plan
