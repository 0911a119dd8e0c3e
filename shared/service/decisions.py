"""What coordinators decide about a referral: accept, decline or withdraw it. Each decision is checked against the
state machine and written, with its audit entry and its event, in one transaction conditional on the version that
was read: a stale or illegal change is refused, never applied.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, StringConstraints

from shared.adapters import table
from shared.adapters.dynamodb import ReferralReader, StaleWrite, write_transition
from shared.config import Settings
from shared.domain import clock
from shared.domain.actors import Actor
from shared.domain.errors import Invalid
from shared.domain.events import EventData, ReferralAccepted, ReferralDeclined, ReferralWithdrawn, new_event
from shared.domain.referrals import STATED, ReferralNotFound, ReferralStatus, check_reference
from shared.domain.workflow import TRANSITIONS, Decision, IllegalTransition
from shared.service.approvals import approval_removals
from shared.service.meetings import withdrawal_operations
from shared.service.outbox import outbox_item

Reason = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000, pattern=STATED)]


class DecisionBody(BaseModel):
    """`accept` takes no reason; `decline` and `withdraw` need one (it stays in the table, never in an event)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    reason: Reason | None = None


class AcceptBody(DecisionBody):
    """`accept`: no reason (an empty body, or `reason: null`)."""

    reason: None = None


class ReasonBody(DecisionBody):
    """`decline` and `withdraw`: the reason is required."""

    reason: Reason


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
    """Apply one decision, or raise IllegalTransition (409), ReferralNotFound (404) or Invalid (422: a reason
    needed)."""
    now = now or clock.now()
    rule = TRANSITIONS[decision]
    if rule.needs_reason and body.reason is None:
        raise Invalid(f"Give a reason to {decision.value}", [{"field": "reason", "message": "Enter a reason"}])
    if not rule.needs_reason and body.reason is not None:
        raise Invalid("Accepting takes no reason", [{"field": "reason", "message": "Remove the reason"}])
    referral = reader.referral(check_reference(reference))
    if referral is None:
        raise ReferralNotFound(reference)
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
        items = reader.partition(reference)
        scheduled = [
            item
            for item in items
            if item.get(table.KIND_ATTRIBUTE) == table.KIND_MEETING and item.get("status") == "scheduled"
        ]
        for meeting in scheduled:  # the meeting goes with the referral: its facilitator's time is freed
            extra += withdrawal_operations(
                meeting,
                reason=body.reason or "",
                items=items,
                settings=settings,
                correlation_id=correlation_id,
                now=now,
            )
    if decision is Decision.WITHDRAW and current in (ReferralStatus.AWAITING_AGREEMENT, ReferralStatus.PLAN_ACTIVE):
        extra += approval_removals(reader.partition(reference), settings)  # nothing left waiting for a manager
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
            raise ReferralNotFound(reference) from None
        raise IllegalTransition(decision, ReferralStatus(stale.current["status"]), stale=True) from None
    return {"reference": reference, "status": rule.to_state.value, "version": version + 1}
