"""Erasure (UK GDPR Art. 17) where the rules allow it, and what stays.

The service's processing is a public task, so the right to erasure is limited: a referral may be erased only when
it was never accepted (received, declined, or withdrawn before acceptance), or when it was withdrawn (the family
withdrew its consent) with no plan in force, or closed because the family decided not to go ahead (no plan was ever
made). Anything else answers 409 with the reason.

Erasing keeps every item, so the record of what happened stays (ids, states, dates, who acted), but replaces every
other value with a tombstone: an allow-list of attributes survives, nothing else does, so a field added later is
erased without anyone remembering to list it. The erasure's own audit entry names the ground (a fixed list), not
free text. Events never held personal data; logs and metrics never did either.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from shared.adapters import table
from shared.adapters.dynamodb import ReferralReader, put, to_item, transact
from shared.config import Settings
from shared.domain import clock, search
from shared.domain.actors import Actor
from shared.domain.errors import Conflict
from shared.domain.referrals import ReferralStatus
from shared.service.changes import audit_entry, current_state
from shared.service.retention import inherited

ERASED = "[erased]"
# What survives: keys, kinds, ids, states, dates, counts and who acted (a coordinator's subject id).
KEPT = frozenset(
    {
        *table.KEY_ATTRIBUTES,
        table.KIND_ATTRIBUTE,
        table.TTL_ATTRIBUTE,
        "reference",
        "route",
        "status",
        "version",
        "received_at",
        "updated_at",
        "created_at",
        "at",
        "actor",
        "action",
        "correlation_id",
        "event_id",
        "detail_type",
        "detail",  # an outbox event: ids, states and dates only
        "meeting_id",
        "participant_id",
        "facilitator_id",
        "starts_at",
        "ends_at",
        "sequence",
        "held_on",
        "agreed_on",
        "review_number",
        "due_on",
        "scheduled_on",
        "completed_on",
        "outcome",
        "escalations",
        "last_escalated_on",
        "next_review_due_on",
        "first_review_due_on",
        "plan_status",
        "last_review_number",
        "template",
        "recipient_kind",
        "subject",  # the reference only, never a name
        "message_id",
        "clock",
        "started_on",
        "target_working_days",
        "checked_on",
        "route_key",
        "round",  # a plan's agreement: its round, states and dates (its reasons go)
        "answerer",
        "requested_on",
        "answered_at",
        "recorded_via",
        "agreement_round",
        "agreement_status",
        "link_id",  # a plan page's link: whose (by kind and participant id), its dates and state
        "recipient",
        "issued_at",
        "renewed_at",
        "valid_until",
        "revoked_at",
        "evaluation_id",  # a family's evaluation: who answered (by kind and participant id) and when; answers go
        "respondent",
        "erased",
        "erased_at",
        # preparation: ids, choices and dates (notes, wishes and feelings and advocates' names go)
        "contact_id",
        "method",
        "contacted_on",
        "child",
        "participation",
        "advocate_allocated",
    }
)
# Audit changes keep their state transitions only.
KEPT_CHANGES = frozenset(
    {
        "status",
        "version",
        "meeting",
        "review",
        "next_review",
        "ground",
        "items",
        "participant",
        "attendance",
        "contact",
        "checklist",
        "child_voice",
        "family_decision",
        "agreement",
        "evaluation",
    }
)
GROUNDS = Literal["consent_withdrawn", "no_longer_necessary", "objection", "unlawfully_processed"]


class ErasureRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    ground: GROUNDS = Field(title="the UK GDPR Art. 17(1) ground: consent withdrawn, no longer necessary, ...")


class ErasureRefused(Conflict):
    """The rules do not allow erasing this referral (yet): the message says why."""


def why_not(referral: dict[str, Any], items: list[dict[str, Any]]) -> str | None:
    """None when the rules allow erasure; otherwise the reason, for the 409."""
    if referral.get("erased"):
        return None  # a repeated request finishes or repeats the erasure: nothing personal is left either way
    status = ReferralStatus(referral["status"])
    accepted_ever = any(i.get("action") == "referral.accepted" for i in items)
    if status in (ReferralStatus.RECEIVED, ReferralStatus.DECLINED) and not accepted_ever:
        return None
    if status is ReferralStatus.FAMILY_DECLINED:
        return None
    if status is ReferralStatus.WITHDRAWN:
        plan = next((i for i in items if i.get(table.KIND_ATTRIBUTE) == "plan"), None)
        if plan is None or plan.get("plan_status") == "closed":
            return None
        return (
            "A plan was in force when the referral was withdrawn: its records are kept under the council's public "
            "task and delete themselves at the end of the retention period"
        )
    return (
        f"The referral is {status.value.replace('_', ' ')}: the service is working with the family under its "
        "public task, so erasure does not apply (withdraw the referral first if the family withdrew consent)"
    )


def _tombstoned(item: dict[str, Any]) -> dict[str, Any]:
    erased: dict[str, Any] = {}
    for key, value in item.items():
        if key in KEPT:
            erased[key] = value
        elif key == "changes" and isinstance(value, dict):
            erased[key] = {k: v for k, v in value.items() if k in KEPT_CHANGES}
        else:
            erased[key] = ERASED
    erased["erased"] = True
    return erased


def erase(
    reference: str,
    body: ErasureRequest,
    *,
    actor: Actor,
    reader: ReferralReader,
    settings: Settings,
    correlation_id: str,
    now: datetime | None = None,
) -> dict[str, Any]:
    now = now or clock.now()
    current = current_state(reader, reference)
    referral, items = current.referral, current.items
    reason = why_not(referral, items)
    if reason is not None:
        raise ErasureRefused(reason)
    at = clock.iso(now)
    # The referral last: until it is marked erased, a retried request finds it and finishes the job.
    ordered = [i for i in items if i is not referral] + [{**referral, "erased_at": at}]
    # First, what finds it by the family's postcode and the contact's surname (their own partitions).
    writes: list[Any] = [
        {
            "Delete": {
                "TableName": settings.table_name,
                "Key": to_item(
                    {
                        table.PARTITION_KEY: table.search_pk(search.fingerprint(term)),
                        table.SORT_KEY: f"{referral['received_at']}#{reference}",
                    }
                ),
            }
        }
        for term in search.terms_of(referral.get("submission"))
    ]
    writes += [put(_tombstoned(item), settings.table_name) for item in ordered]
    audit = audit_entry(
        reference,
        at=at,
        actor=actor,
        action="referral.erased",
        changes={"ground": body.ground, "items": len(ordered)},
        event_id=str(uuid.uuid4()),
        cid=correlation_id,
    )
    writes.append(put({**audit, **inherited(referral)}, settings.table_name))
    for start in range(0, len(writes), 25):  # TransactWriteItems takes 100; smaller batches retry cheaper
        transact(writes[start : start + 25], settings.table_name)
    return {"reference": reference, "erased": True, "items": len(ordered), "ground": body.ground}
