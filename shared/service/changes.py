"""The toolkit every change to a referral uses: the referral as read (its state, its meeting, its partition), its
versioned update, its audit entry, and turning a cancelled transaction into 404 or 409."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from shared.adapters import table
from shared.adapters.dynamodb import Cancelled, ReferralReader, to_item, transact
from shared.config import Settings
from shared.domain.actors import Actor
from shared.domain.referrals import ReferralNotFound, ReferralStatus, check_reference
from shared.domain.workflow import IllegalTransition, check


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
        raise ReferralNotFound(reference)
    meeting = next((i for i in items if i.get(table.KIND_ATTRIBUTE) == table.KIND_MEETING), None)
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
            raise ReferralNotFound(reference) from None
        raise IllegalTransition(action, ReferralStatus(old["status"]), stale=True) from None


def commit_change(items: list[Any], settings: Settings, reference: str, action: str, status: ReferralStatus) -> None:
    """One change to a referral in one transaction, its referral update first; any failed condition is a 404/409."""
    try:
        transact(items, settings.table_name)
    except Cancelled as cancelled:
        refuse_if_referral_moved(cancelled, reference, action)
        raise IllegalTransition(action, status, stale=True) from None
