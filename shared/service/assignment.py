"""A referral's named coordinator: assigned to oneself or to another coordinator, audited, conditional on the version
read (a stale assignment is refused like any change); and the console's directory of staff who have signed in."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from shared.adapters import table
from shared.adapters.dynamodb import ReferralReader, StaleWrite, put, transact, write_transition
from shared.config import Settings
from shared.domain import clock
from shared.domain.actors import Actor
from shared.domain.errors import Invalid
from shared.domain.referrals import ReferralNotFound, ReferralStatus, check_reference
from shared.domain.workflow import IllegalTransition

MAX_SUBJECT = 128
OPEN = frozenset(
    {
        ReferralStatus.RECEIVED,
        ReferralStatus.ACCEPTED,
        ReferralStatus.PREPARING,
        ReferralStatus.MEETING_SCHEDULED,
        ReferralStatus.MEETING_HELD,
        ReferralStatus.AWAITING_AGREEMENT,
        ReferralStatus.PLAN_ACTIVE,
    }
)


def remember_staff(subject: str, name: str, role: str, *, settings: Settings, now: datetime | None = None) -> None:
    """Whoever signs in is in the directory the console assigns from (their subject id, name and role)."""
    item = {
        table.PARTITION_KEY: table.STAFF_PK,
        table.SORT_KEY: f"STAFF#{subject}",
        table.KIND_ATTRIBUTE: "staff",
        "subject": subject,
        "name": name,
        "role": role,
        "last_signed_in": clock.iso(now or clock.now()),
    }
    transact([put(item, settings.table_name)], settings.table_name)


def staff_directory(reader: ReferralReader) -> list[dict[str, Any]]:
    people = [item for item in reader.partition_of(table.STAFF_PK) if item.get("role") in ("coordinator", "manager")]
    return sorted(({k: p[k] for k in ("subject", "name", "role")} for p in people), key=lambda p: str(p["name"]))


def assign(
    reference: str,
    subject: str,
    *,
    actor: Actor,
    expected_version: int | None,
    reader: ReferralReader,
    settings: Settings,
    correlation_id: str,
    now: datetime | None = None,
) -> dict[str, Any]:
    """Name the referral's coordinator (someone in the directory); the audit trail says who assigned whom."""
    now = now or clock.now()
    referral = reader.referral(check_reference(reference))
    if referral is None:
        raise ReferralNotFound(reference)
    person = (
        reader.item({table.PARTITION_KEY: table.STAFF_PK, table.SORT_KEY: f"STAFF#{subject}"})
        if 0 < len(subject) <= MAX_SUBJECT  # a subject id (a UUID in Cognito); nothing longer is looked up
        else None
    )
    if person is None:
        raise Invalid("Choose someone who can take the case", [{"field": "to", "message": "Choose a coordinator"}])
    status = ReferralStatus(referral["status"])
    version = int(referral["version"])
    if expected_version is not None and expected_version != version:
        raise IllegalTransition("assign", status, stale=True)
    if status not in OPEN:
        raise IllegalTransition("assign", status)
    at = clock.iso(now)
    before = (referral.get("coordinator") or {}).get("subject")
    audit = {
        table.PARTITION_KEY: table.referral_pk(reference),
        table.SORT_KEY: f"AUDIT#{at}#0#assign-{version + 1}",
        table.KIND_ATTRIBUTE: table.KIND_AUDIT,
        "reference": reference,
        "at": at,
        "actor": actor.audit_name,
        "action": "referral.assigned",
        "changes": {"coordinator": {"from": before, "to": subject}, "version": {"from": version, "to": version + 1}},
        "correlation_id": correlation_id,
    }
    try:
        write_transition(
            settings.table_name,
            key={table.PARTITION_KEY: table.referral_pk(reference), table.SORT_KEY: "REFERRAL"},
            expected_version=version,
            updates={
                "coordinator": {"subject": subject, "name": person["name"]},
                table.COORDINATOR_INDEX_PK: subject,
                table.COORDINATOR_INDEX_SK: f"{referral['received_at']}#{reference}",
                "updated_at": at,
            },
            new_items=[audit],
        )
    except StaleWrite as stale:
        current = ReferralStatus(stale.current["status"]) if stale.current else status
        raise IllegalTransition("assign", current, stale=True) from None
    return {"reference": reference, "coordinator": subject, "version": version + 1}
