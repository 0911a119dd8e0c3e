"""What coordinators do with referrals: read the queue, read one referral whole, and decide (accept, decline,
withdraw). Each decision is checked against the state machine and written, with its audit entry and its event,
in one transaction conditional on the version that was read: a stale or illegal change is refused, never applied.
"""

from __future__ import annotations

import base64
import binascii
import json
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, StringConstraints

from shared.adapters import table
from shared.adapters.dynamodb import ReferralReader, StaleWrite, put, transact, write_transition
from shared.config import Settings
from shared.domain import clock
from shared.domain.events import EventData, ReferralAccepted, ReferralDeclined, ReferralWithdrawn, new_event
from shared.domain.referrals import REFERENCE_PATTERN, ReferralStatus
from shared.domain.workflow import TRANSITIONS, Decision, IllegalTransition, allowed_decisions
from shared.service.outbox import outbox_item
from shared.web.http import HttpError

MAX_PAGE = 100
Reason = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000)]


class DecisionBody(BaseModel):
    """`accept` takes no reason; `decline` and `withdraw` need one (it stays in the table, never in an event)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    reason: Reason | None = None


@dataclass(frozen=True)
class Actor:
    """Who acts, from the token: its subject id only (no name or email reaches the audit trail)."""

    subject: str
    role: str = "coordinator"  # or "partner" (a community partner answering through its link; subject: its id)

    @property
    def audit_name(self) -> str:
        return f"{self.role}:{self.subject}"


class NotFound(Exception):
    pass


def check_reference(reference: str) -> str:
    if not REFERENCE_PATTERN.match(reference):
        raise NotFound(reference)
    return reference


# --- reading ----------------------------------------------------------------------------------------------------
def encode_cursor(key: dict[str, Any] | None) -> str | None:
    if key is None:
        return None
    return base64.urlsafe_b64encode(json.dumps(key, sort_keys=True).encode()).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> dict[str, Any] | None:
    if not cursor:
        return None
    try:
        key = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (binascii.Error, ValueError, UnicodeDecodeError):
        raise HttpError(400, "The cursor is not one this service gave: start again without it") from None
    wanted = {table.PARTITION_KEY, table.SORT_KEY, table.STATUS_INDEX_PK, table.STATUS_INDEX_SK}
    if not isinstance(key, dict) or set(key) != wanted or not all(isinstance(v, str) for v in key.values()):
        raise HttpError(400, "The cursor is not one this service gave: start again without it")
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
        raise HttpError(400, f"limit must be from 1 to {MAX_PAGE}")
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
    from shared.service.retention import inherited  # noqa: PLC0415 - retention reads through referral_store

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


def referral_view(reader: ReferralReader, reference: str, access: Access | None = None) -> dict[str, Any]:
    """The referral with everything under it, as a coordinator needs it on one screen; `access` records this
    read in the read audit (and the view shows it with the earlier ones)."""
    from shared.service.connections import connections_view  # noqa: PLC0415 - connections builds on this module
    from shared.service.reviews import review_view  # noqa: PLC0415 - reviews builds on this module

    items = reader.partition(check_reference(reference))
    by_kind: dict[str, list[dict[str, Any]]] = {}
    for item in items:
        by_kind.setdefault(item.get(table.KIND_ATTRIBUTE, ""), []).append(item)
    found = by_kind.get(table.KIND_REFERRAL) or []
    if not found:
        raise NotFound(reference)
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
        "allowed_actions": allowed_decisions(status),
        "meeting": _meeting(by_kind.get("meeting")),
        "proposals": _proposals(by_kind.get("proposals")),
        "plan": _plan(by_kind.get("plan")),
        "connections": connections_view(items),
        "reviews": [review_view(r) for r in sorted(by_kind.get("review", []), key=lambda r: r[table.SORT_KEY])],
        "emails": [
            {key: e.get(key) for key in ("template", "to", "recipient_kind", "subject", "status", "created_at")}
            for e in sorted(by_kind.get("email", []), key=lambda e: (e.get("created_at", ""), e[table.SORT_KEY]))
        ],
        "audit": [{key: entry[key] for key in ("at", "actor", "action", "changes") if key in entry} for entry in audit],
        "accesses": accesses,
    }


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
    )
    return {key: found[0][key] for key in keys if key in found[0]}


# --- deciding ---------------------------------------------------------------------------------------------------
def _event(decision: Decision, referral: dict[str, Any], now: datetime) -> EventData:
    reference, route = referral["reference"], referral["route"]
    if decision is Decision.ACCEPT:
        return ReferralAccepted(reference=reference, route=route, accepted_at=now, automatic=False)
    if decision is Decision.DECLINE:
        return ReferralDeclined(reference=reference, route=route, declined_at=now)
    return ReferralWithdrawn(reference=reference, previous_status=referral["status"], withdrawn_at=now)


def decide(
    reference: str,
    decision: Decision,
    body: DecisionBody,
    *,
    actor: Actor,
    expected_version: int | None,
    reader: ReferralReader,
    settings: Settings,
    correlation_id: str,
    now: datetime | None = None,
) -> dict[str, Any]:
    """Apply one decision, or raise IllegalTransition (409), NotFound (404) or HttpError (422: a reason needed)."""
    now = now or clock.now()
    rule = TRANSITIONS[decision]
    if rule.needs_reason and body.reason is None:
        raise HttpError(422, f"Give a reason to {decision.value}", [{"field": "reason", "message": "Enter a reason"}])
    if not rule.needs_reason and body.reason is not None:
        raise HttpError(422, "Accepting takes no reason", [{"field": "reason", "message": "Remove the reason"}])
    referral = reader.referral(check_reference(reference))
    if referral is None:
        raise NotFound(reference)
    current = ReferralStatus(referral["status"])
    version = int(referral["version"])
    if expected_version is not None and expected_version != version:
        raise IllegalTransition(decision, current, stale=True)
    if current not in rule.from_states:
        raise IllegalTransition(decision, current)
    at = clock.iso(now)
    envelope = new_event(_event(decision, referral, now), correlation_id=correlation_id, occurred_at=now)
    event_id = envelope.metadata.event_id
    pk = table.referral_pk(reference)
    record = {"action": decision.value, "by": actor.audit_name, "at": at}
    if body.reason is not None:
        record["reason"] = body.reason
    audit = {
        table.PARTITION_KEY: pk,
        table.SORT_KEY: f"AUDIT#{at}#0#{event_id}",
        table.KIND_ATTRIBUTE: table.KIND_AUDIT,
        "reference": reference,
        "at": at,
        "actor": actor.audit_name,
        "action": f"referral.{rule.to_state.value}",
        "changes": {
            "status": {"from": current.value, "to": rule.to_state.value},
            "version": {"from": version, "to": version + 1},
        },
        "correlation_id": correlation_id,
    }
    extra: list[Any] = []
    if decision is Decision.WITHDRAW and current is ReferralStatus.MEETING_SCHEDULED:
        from shared.service.meetings import KIND_MEETING, withdrawal_operations  # noqa: PLC0415 - meetings imports this module

        scheduled = [
            item
            for item in reader.partition(reference)
            if item.get(table.KIND_ATTRIBUTE) == KIND_MEETING and item.get("status") == "scheduled"
        ]
        for meeting in scheduled:  # the meeting goes with the referral: its facilitator's time is freed
            extra += withdrawal_operations(
                meeting, reason=body.reason or "", settings=settings, correlation_id=correlation_id, now=now
            )
    try:
        write_transition(
            settings.table_name,
            key={table.PARTITION_KEY: pk, table.SORT_KEY: "REFERRAL"},
            expected_version=version,
            updates={
                "status": rule.to_state.value,
                table.STATUS_INDEX_PK: rule.to_state.value,
                "updated_at": at,
                "decision": record,
            },
            new_items=[audit, outbox_item(pk, envelope, envelope.data.detail_type, now=now, settings=settings)],
            extra_operations=extra,
        )
    except StaleWrite as stale:
        if not stale.item_failed:
            raise IllegalTransition(decision, current, stale=True) from None
        if stale.current is None:
            raise NotFound(reference) from None
        raise IllegalTransition(decision, ReferralStatus(stale.current["status"]), stale=True) from None
    return {"reference": reference, "status": rule.to_state.value, "version": version + 1}
