"""Support package spending: which items wait for a manager's approval, the manager's decision, and the delivery.

A package item estimated over the item limit, or any new item of a package whose total is over the total limit, is
recorded as `requested` with an approval entry (`APPROVAL#<nnn>` in the referral's partition) in the by_deadline
index's `awaiting_approval` partition, oldest first: the managers' approvals page and work list read it with one
Query. The others are approved as they are recorded. A package is recorded only for an eligible referral
(`SpendingRules.eligibility`).

A decision (approve; decline with a reason) and a delivery (actual cost, supplier, date) are each one transaction:
the referral's new version, the plan (its version), the approval entry removed, the audit entry and the event
(PackageItemDecided, PackageItemDelivered: ids, states and amounts only). Deciding an item again the same way, or
recording the same delivery again, changes nothing and says so.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Literal

from shared.adapters import table
from shared.adapters.dynamodb import ReferralReader, delete, put, update
from shared.config import Settings
from shared.domain import clock
from shared.domain.actors import Actor
from shared.domain.errors import Conflict, Invalid, NotAllowed, NotFound
from shared.domain.events import EventData, PackageItemDecided, PackageItemDelivered, new_event
from shared.domain.plans import (
    WAITING,
    Delivery,
    PackageItem,
    SpendingRules,
    ineligible_because,
    numbered,
    settle_package,
)
from shared.domain.referrals import today
from shared.service.changes import CurrentState, audit_entry, commit_change, current_state, referral_update
from shared.service.outbox import outbox_item

KIND_APPROVAL = "approval"
MANAGERS_ONLY = "Only a manager can approve or decline support package spending: ask a manager"
Decision = Literal["approve", "decline"]
DECIDED: dict[str, Literal["approved", "declined"]] = {"approve": "approved", "decline": "declined"}
ITEM_KEYS = (
    "number",
    "category",
    "description",
    "estimated_cost_pence",
    "status",
    "partner_id",
    "recorded_at",
    "approval_needed",
    "decided_at",
    "decline_reason",
    "actual_cost_pence",
    "supplier",
    "delivered_on",
)


def spending_rules(settings: Settings) -> SpendingRules:
    return SpendingRules(
        item_limit_pence=settings.package_approval_pence,
        total_limit_pence=settings.package_approval_total_pence,
        eligibility=settings.package_eligibility,
    )


def approval_key(reference: str, number: int) -> dict[str, str]:
    return {table.PARTITION_KEY: table.referral_pk(reference), table.SORT_KEY: f"APPROVAL#{number:03d}"}


def approval_item(reference: str, entry: dict[str, Any]) -> dict[str, Any]:
    """An item waiting for a manager: ids, amounts and when it was recorded (the description stays on the plan)."""
    number, recorded_at = int(entry["number"]), str(entry["recorded_at"])
    return {
        **approval_key(reference, number),
        table.KIND_ATTRIBUTE: KIND_APPROVAL,
        "reference": reference,
        "item_number": number,
        "category": entry["category"],
        "estimated_cost_pence": int(entry["estimated_cost_pence"]),
        "approval_needed": entry.get("approval_needed", "item_limit"),
        "recorded_at": recorded_at,
        table.DEADLINE_INDEX_PK: table.DEADLINE_AWAITING_APPROVAL,
        table.DEADLINE_INDEX_SK: f"{recorded_at}#{reference}#{number:03d}",
    }


@dataclass(frozen=True)
class PackageRecorded:
    entries: list[dict[str, Any]]  # the package as the plan stores it
    last_number: int  # the highest item number the plan has given
    writes: list[Any]  # approval entries added (items waiting) and removed (waiting items dropped)
    waiting: list[int]  # the numbers of the items now waiting for a manager


def record_package(
    reference: str,
    given: list[PackageItem],
    *,
    referral: dict[str, Any],
    held: list[dict[str, Any]],
    last_number: int,
    meeting_held: bool,
    settings: Settings,
    now: datetime,
    field_prefix: str = "support_package",
) -> PackageRecorded:
    """A plan's package as recorded (at the meeting's outcome, or a review's adjustment): new items approved or
    waiting, items it had kept as they were; Invalid (422) for a new item on a referral the eligibility rules refuse
    a package, with the reason."""
    rules = spending_rules(settings)
    settled = settle_package(given, held, rules, last_number=last_number, recorded_at=clock.iso(now))
    if settled.added and (refusals := ineligible_because(str(referral.get("route")), meeting_held, rules)):
        raise Invalid(refusals[0], [{"field": field_prefix, "message": refusal} for refusal in refusals])
    writes: list[Any] = [
        put(approval_item(reference, entry), settings.table_name, f"attribute_not_exists({table.PARTITION_KEY})")
        for entry in settled.waiting
    ]
    writes += [
        delete(approval_key(reference, int(entry["number"])), settings.table_name)
        for entry in settled.dropped
        if entry.get("status") == WAITING
    ]
    return PackageRecorded(
        settled.entries, settled.last_number, writes, [int(entry["number"]) for entry in settled.waiting]
    )


def approval_removals(items: list[dict[str, Any]], settings: Settings) -> list[Any]:
    """A plan that ends (closed at a review, or its referral withdrawn) leaves nothing waiting for a manager."""
    return [
        delete(
            {table.PARTITION_KEY: item[table.PARTITION_KEY], table.SORT_KEY: item[table.SORT_KEY]}, settings.table_name
        )
        for item in items
        if item.get(table.KIND_ATTRIBUTE) == KIND_APPROVAL
    ]


def item_view(entry: dict[str, Any]) -> dict[str, Any]:
    return {key: entry[key] for key in ITEM_KEYS if key in entry}


# --- a manager's decision, and the delivery ------------------------------------------------------------------------


@dataclass(frozen=True)
class _Found:
    current: CurrentState
    plan: dict[str, Any]
    package: list[dict[str, Any]]  # numbered
    entry: dict[str, Any]


def _find(reader: ReferralReader, reference: str, number: int) -> _Found:
    current = current_state(reader, reference)
    plan = next((i for i in current.items if i.get(table.KIND_ATTRIBUTE) == "plan"), None)
    package = numbered(list((plan or {}).get("support_package") or []))
    entry = next((e for e in package if int(e["number"]) == number), None)
    if plan is None or entry is None:
        raise NotFound(f"This referral's plan has no support package item {number}")
    return _Found(current, plan, package, entry)


def _answer(found: _Found, entry: dict[str, Any], version: int, *, changed: bool) -> dict[str, Any]:
    return {
        "reference": found.current.referral["reference"],
        "status": found.current.status.value,
        "version": version,
        "changed": changed,
        "item": item_view(entry),
    }


def _commit(
    found: _Found,
    entry: dict[str, Any],
    event: EventData,
    *,
    action: str,
    changes: dict[str, Any],
    actor: Actor,
    settings: Settings,
    correlation_id: str,
    now: datetime,
) -> dict[str, Any]:
    """The item's new state in one transaction: the referral's version, the plan's, the approval entry gone, the audit
    entry and the event."""
    reference, version, status = found.current.referral["reference"], found.current.version, found.current.status
    at = clock.iso(now)
    pk = table.referral_pk(reference)
    package = [entry if e["number"] == entry["number"] else e for e in found.package]
    envelope = new_event(event, correlation_id=correlation_id, occurred_at=now)
    plan_update = update(
        {table.PARTITION_KEY: pk, table.SORT_KEY: "PLAN"},
        settings.table_name,
        {"support_package": package, "updated_at": at},
        increment="version",
        condition="#version = :read",
        names={"#version": "version"},
        values={":read": int(found.plan.get("version", 1))},
    )
    audit = audit_entry(
        reference,
        at=at,
        actor=actor,
        action=action,
        changes={**changes, "version": {"from": version, "to": version + 1}},
        event_id=envelope.metadata.event_id,
        cid=correlation_id,
    )
    writes = [
        referral_update(settings, reference, version, status, at),
        plan_update,
        put(audit, settings.table_name),
        put(outbox_item(pk, envelope, event.detail_type, now=now, settings=settings), settings.table_name),
    ]
    if isinstance(event, PackageItemDecided):  # no longer waiting for a manager
        writes.append(delete(approval_key(reference, int(entry["number"])), settings.table_name))
    commit_change(writes, settings, reference, action, status)
    return _answer(found, entry, version + 1, changed=True)


def decide(
    reference: str,
    number: int,
    decision: Decision,
    reason: str | None,
    *,
    actor: Actor,
    expected_version: int | None,
    reader: ReferralReader,
    settings: Settings,
    correlation_id: str,
    now: datetime | None = None,
) -> dict[str, Any]:
    """A manager approves or declines (with a reason) an item waiting for approval. The same decision again changes
    nothing (`changed: false`); the other decision on a decided item is refused (409)."""
    if actor.role != "manager":
        raise NotAllowed(MANAGERS_ONLY)
    if decision == "decline" and not (reason or "").strip():
        raise Invalid("Give the reason for declining", [{"field": "reason", "message": "Enter the reason"}])
    now = now or clock.now()
    found = _find(reader, reference, number)
    entry, to = found.entry, DECIDED[decision]
    if entry.get("status") == to:
        return _answer(found, entry, found.current.version, changed=False)  # decided already: nothing more
    found.current.allow("decide_package_item", expected_version)
    if entry.get("status") != WAITING:
        raise Conflict(f"Item {number} is {entry.get('status')}: only an item waiting for approval can be decided")
    decided = {**entry, "status": to, "decided_at": clock.iso(now)}
    decided.pop("approval_needed", None)
    changes: dict[str, Any] = {"package_item": {"number": number, "status": {"from": WAITING, "to": to}}}
    if decision == "decline":
        decided["decline_reason"] = (reason or "").strip()
        changes["reason"] = decided["decline_reason"]
    event = PackageItemDecided(
        reference=reference,
        item_number=number,
        decision=to,
        category=entry["category"],
        estimated_cost_pence=int(entry["estimated_cost_pence"]),
        decided_at=now,
    )
    return _commit(
        found,
        decided,
        event,
        action=f"package.{to}",
        changes=changes,
        actor=actor,
        settings=settings,
        correlation_id=correlation_id,
        now=now,
    )


def record_delivery(
    reference: str,
    number: int,
    delivery: Delivery,
    *,
    actor: Actor,
    expected_version: int | None,
    reader: ReferralReader,
    settings: Settings,
    correlation_id: str,
    now: datetime | None = None,
) -> dict[str, Any]:
    """An approved item delivered: its actual cost, supplier and date. The same delivery again changes nothing."""
    now = now or clock.now()
    found = _find(reader, reference, number)
    entry = found.entry
    recorded = {
        "actual_cost_pence": delivery.actual_cost_pence,
        "supplier": delivery.supplier,
        "delivered_on": delivery.delivered_on.isoformat(),
    }
    if entry.get("status") == "delivered" and all(entry.get(k) == v for k, v in recorded.items()):
        return _answer(found, entry, found.current.version, changed=False)
    found.current.allow("record_delivery", expected_version)
    status = entry.get("status")
    if status == WAITING:
        raise Conflict(f"Item {number} is waiting for a manager's approval: record its delivery once it is approved")
    if status == "declined":
        raise Conflict(f"Item {number} was declined: it cannot be delivered")
    if status == "delivered":
        raise Conflict(f"Item {number} was already recorded as delivered on {entry.get('delivered_on')}")
    _check_delivered_on(delivery.delivered_on, found.plan)
    delivered = {**entry, "status": "delivered", **recorded}
    event = PackageItemDelivered(
        reference=reference,
        item_number=number,
        category=entry["category"],
        estimated_cost_pence=int(entry["estimated_cost_pence"]),
        actual_cost_pence=delivery.actual_cost_pence,
        delivered_on=delivery.delivered_on,
    )
    changes = {
        "package_item": {
            "number": number,
            "status": {"from": "approved", "to": "delivered"},
            "actual_cost_pence": delivery.actual_cost_pence,
        }
    }
    return _commit(
        found,
        delivered,
        event,
        action="package.delivered",
        changes=changes,
        actor=actor,
        settings=settings,
        correlation_id=correlation_id,
        now=now,
    )


def _check_delivered_on(delivered_on: date, plan: dict[str, Any]) -> None:
    if delivered_on > today():
        raise Invalid(
            "The delivery has problems to fix",
            [{"field": "delivered_on", "message": "The delivery date must be today or in the past"}],
        )
    agreed = plan.get("agreed_on")
    if agreed and delivered_on < date.fromisoformat(str(agreed)):
        raise Invalid(
            "The delivery has problems to fix",
            [
                {
                    "field": "delivered_on",
                    "message": f"The delivery date cannot be before the plan was agreed ({agreed})",
                }
            ],
        )
