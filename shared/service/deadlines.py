"""Deadline clocks and the daily check: practice standards in working days (England, with its bank holidays).

Clocks: `decision` (a professional's request decided), `meeting_held` (after acceptance), `feedback_sent` (after
a meeting without a plan), `plan_agreed` (the plan made at the meeting agreed by the lead practitioner) are items
`CLOCK#<name>` in the referral's partition, started by the event that starts them and indexed by the day they fall
due (`by_deadline`). `review_completed` is the open review's own due date, in the
reviews-by-due-date index.

The daily check (07:00 Europe/London) reads through those two indexes only what has fallen due (a Query, never a
Scan: its cost follows what is due, not how many plans exist):
- a review past its due date is escalated (ReviewOverdue) once, then again every N working days while it stays
  open; the first escalation is also the `review_completed` clock's breach;
- a clock past its day is checked against the referral: met or stopped (withdrawn) leaves it quietly; otherwise
  DeadlineBreached. Either way it leaves the index, so it is read once.
Every change is conditional (a second run the same day, or two at once, publish nothing twice) and writes its
event to the outbox in the same transaction.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Literal

from shared.adapters import aws, table
from shared.adapters.dynamodb import Cancelled, MeteredReader, put, transact, update
from shared.config import Settings
from shared.domain.clock import LONDON
from shared.domain.events import DeadlineBreached, EventData, ReviewOverdue, new_event
from shared.domain.referrals import ReferralStatus
from shared.domain.working_days import add_working_days, working_days_between
from shared.service.connections import CHASE_CLOCK, KIND_CONNECTION, update_waiting
from shared.service.outbox import outbox_item
from shared.service.reviews import IS_OPEN, OPEN_VALUES, cancel_open_review

ClockName = Literal["decision", "meeting_held", "feedback_sent", "plan_agreed"]
KIND_CLOCK = "clock"
RUNNING = table.DEADLINE_RUNNING
_NAMESPACE = uuid.UUID("0f7f3d55-93a4-4cf0-8d3e-52b1e53f6a2e")


def target_working_days(clock: ClockName, settings: Settings) -> int:
    return {
        "decision": settings.decision_working_days,
        "meeting_held": settings.meeting_target_working_days,
        "feedback_sent": settings.feedback_working_days,
        "plan_agreed": settings.agreement_working_days,
    }[clock]


def london_day(moment: datetime) -> date:
    return moment.astimezone(LONDON).date()


def start_clock(
    reference: str,
    clock: ClockName,
    started_on: date,
    *,
    settings: Settings,
    client: aws.DynamoDBClientFactory = aws.dynamodb,
) -> date | None:
    """Start a clock once (a repeated event finds it started); return the day it falls due, or None if started."""
    target = target_working_days(clock, settings)
    due_on = add_working_days(started_on, target)
    item = {
        table.PARTITION_KEY: table.referral_pk(reference),
        table.SORT_KEY: f"CLOCK#{clock}",
        table.KIND_ATTRIBUTE: KIND_CLOCK,
        "reference": reference,
        "clock": clock,
        "started_on": started_on.isoformat(),
        "target_working_days": target,
        "due_on": due_on.isoformat(),
        "status": RUNNING,
        table.DEADLINE_INDEX_PK: RUNNING,
        table.DEADLINE_INDEX_SK: f"{due_on.isoformat()}#{reference}#{clock}",
    }
    try:
        transact(
            [put(item, settings.table_name, f"attribute_not_exists({table.PARTITION_KEY})")],
            settings.table_name,
            client,
        )
    except Cancelled:
        return None
    return due_on


def clock_state(clock: str, items: list[dict[str, Any]]) -> Literal["met", "stopped", "breached"]:
    """What the referral's items say of a clock whose day has passed."""
    referral = next((i for i in items if i.get(table.KIND_ATTRIBUTE) == table.KIND_REFERRAL), None)
    if referral is None:
        return "stopped"
    status = ReferralStatus(referral["status"])
    if clock == "feedback_sent":
        met = any(
            i.get(table.KIND_ATTRIBUTE) == "email" and i.get("template") == "feedback" and i.get("status") == "sent"
            for i in items
        )
    elif clock == "plan_agreed":
        met = status in (ReferralStatus.PLAN_ACTIVE, ReferralStatus.CLOSED)
    elif clock == "decision":
        met = status not in (ReferralStatus.RECEIVED, ReferralStatus.WITHDRAWN)
    else:
        met = status in (
            ReferralStatus.MEETING_HELD,
            ReferralStatus.AWAITING_AGREEMENT,
            ReferralStatus.PLAN_ACTIVE,
            ReferralStatus.CLOSED,
        )
    if met:
        return "met"
    return "stopped" if status in (ReferralStatus.WITHDRAWN, ReferralStatus.FAMILY_DECLINED) else "breached"


@dataclass
class SweepReport:
    """What one daily check did, and what it cost (items read and read capacity, from DynamoDB's own counts)."""

    day: str
    reviews_due: int = 0
    escalated: int = 0
    clocks_due: int = 0
    breaches: list[str] = field(default_factory=list)
    items_read: int = 0
    read_capacity: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        return {
            "day": self.day,
            "reviews_due": self.reviews_due,
            "escalated": self.escalated,
            "clocks_due": self.clocks_due,
            "breaches": len(self.breaches),
            "items_read": self.items_read,
            "read_capacity": self.read_capacity,
        }


class DailyCheck:
    """The daily sweep of overdue reviews and the deadline clocks, as of one day in England."""

    def __init__(
        self,
        *,
        settings: Settings,
        now: datetime,
        correlation_id: str,
        client: aws.DynamoDBClientFactory = aws.dynamodb,
    ) -> None:
        self.settings = settings
        self.now = now
        self.today = london_day(now)
        self.correlation_id = correlation_id
        self.client = client
        self.reader = MeteredReader(settings.table_name, client)
        self.report = SweepReport(day=self.today.isoformat())

    def run(self) -> SweepReport:
        today = self.today.isoformat()
        due = self.reader.due_before
        for review in due(table.REVIEW_DUE_INDEX, table.REVIEW_DUE_INDEX_PK, table.REVIEW_DUE_INDEX_SK, "open", today):
            self.report.reviews_due += 1
            self._escalate(review)
        for clock in due(table.DEADLINE_INDEX, table.DEADLINE_INDEX_PK, table.DEADLINE_INDEX_SK, RUNNING, today):
            self.report.clocks_due += 1
            if clock.get(table.KIND_ATTRIBUTE) == KIND_CONNECTION:
                self._chase(clock)
            else:
                self._check(clock)
        self.report.items_read, self.report.read_capacity = self.reader.items_read, self.reader.read_capacity
        return self.report

    # --- reviews -------------------------------------------------------------------------------------------------
    def _escalate(self, review: dict[str, Any]) -> None:
        reference, number = str(review["reference"]), int(review["review_number"])
        due_on = date.fromisoformat(review["due_on"])
        escalations = int(review.get("escalations", 0))
        last = review.get("last_escalated_on")
        if escalations and working_days_between(date.fromisoformat(str(last)), self.today) < self._every:
            return  # escalated less than N working days ago: nothing more to read or write
        referral = self.reader.get(table.referral_pk(reference), "REFERRAL")
        if referral is None or referral["status"] != ReferralStatus.PLAN_ACTIVE.value:
            # withdrawn: nothing to review any more; it leaves the index
            cancel_open_review(review, settings=self.settings, client=self.client)
            return
        escalation = escalations + 1
        events: list[EventData] = [
            ReviewOverdue(
                reference=reference,
                review_number=number,
                due_on=due_on,
                working_days_overdue=working_days_between(due_on, self.today),
                escalation=escalation,
            )
        ]
        if escalation == 1:  # the review_completed clock breaks when the review first goes overdue
            started = date.fromisoformat(str(review.get("scheduled_on") or due_on.isoformat()))
            events.append(
                DeadlineBreached(
                    reference=reference,
                    clock="review_completed",
                    started_on=started,
                    target_working_days=working_days_between(started, due_on),
                    due_on=due_on,
                    breached_on=self.today,
                )
            )
        overdue = update(
            {table.PARTITION_KEY: review[table.PARTITION_KEY], table.SORT_KEY: review[table.SORT_KEY]},
            self.settings.table_name,
            {"status": "overdue", "escalations": escalation, "last_escalated_on": self.today.isoformat()},
            condition=f"{IS_OPEN} AND due_on = :due AND escalations = :prev",
            names={"#status": "status"},
            values={**OPEN_VALUES, ":due": due_on.isoformat(), ":prev": escalations},
        )
        key = f"{reference}/review/{number}/{due_on.isoformat()}"
        if self._publish(reference, overdue, events, key=f"{key}/{escalation}"):
            self.report.escalated += 1
            if escalation == 1:
                self.report.breaches.append("review_completed")

    @property
    def _every(self) -> int:
        return self.settings.review_escalation_working_days

    # --- clocks --------------------------------------------------------------------------------------------------
    def _check(self, clock: dict[str, Any]) -> None:
        reference, name = str(clock["reference"]), str(clock["clock"])
        state = clock_state(name, self.reader.partition(table.referral_pk(reference)))
        # A breached clock moves to the index's "breached" partition (the console's work list reads it, by due date);
        # a met or stopped one leaves the index.
        breached = state == "breached"
        checked = update(
            {table.PARTITION_KEY: clock[table.PARTITION_KEY], table.SORT_KEY: clock[table.SORT_KEY]},
            self.settings.table_name,
            {
                "status": state,
                "checked_on": self.today.isoformat(),
                **({table.DEADLINE_INDEX_PK: table.DEADLINE_BREACHED} if breached else {}),
            },
            remove=() if breached else (table.DEADLINE_INDEX_PK, table.DEADLINE_INDEX_SK),
            condition="#status = :running",
            names={"#status": "status"},
            values={":running": RUNNING},
        )
        events: list[EventData] = []
        if state == "breached":
            events.append(
                DeadlineBreached(
                    reference=reference,
                    clock=name,
                    started_on=date.fromisoformat(clock["started_on"]),
                    target_working_days=int(clock["target_working_days"]),
                    due_on=date.fromisoformat(clock["due_on"]),
                    breached_on=self.today,
                )
            )
        if self._publish(reference, checked, events, key=f"{reference}/clock/{name}") and state == "breached":
            self.report.breaches.append(name)

    # --- partners' answers ---------------------------------------------------------------------------------------
    def _chase(self, connection: dict[str, Any]) -> None:
        """A partner that has not answered its connection by its day: the coordinators are told, once (the
        `partner_answer` clock's DeadlineBreached); the connection leaves the index and its link still works. An
        answer or an ending takes a connection out of the index, so only a waiting one is read here."""
        reference, partner_id = str(connection["reference"]), str(connection["partner_id"])
        referral = self.reader.get(table.referral_pk(reference), "REFERRAL")
        waiting = referral is not None and referral["status"] != ReferralStatus.WITHDRAWN.value
        chased = (
            update_waiting(connection, {"chased_on": self.today.isoformat()}, settings=self.settings, unanswered=True)
            if waiting
            else update_waiting(connection, {}, settings=self.settings)
        )
        requested_on = date.fromisoformat(str(connection["requested_on"]))
        due_on = date.fromisoformat(str(connection["answer_due_on"]))
        events: list[EventData] = []
        if waiting:  # a withdrawn referral's partner is not chased: its link already says the request is closed
            events.append(
                DeadlineBreached(
                    reference=reference,
                    clock=CHASE_CLOCK,
                    started_on=requested_on,
                    target_working_days=working_days_between(requested_on, due_on),
                    due_on=due_on,
                    breached_on=self.today,
                    partner_id=partner_id,
                )
            )
        key = f"{reference}/{CHASE_CLOCK}/{partner_id}/{connection['connection_id']}"
        if self._publish(reference, chased, events, key=key) and waiting:
            self.report.breaches.append(CHASE_CLOCK)

    # --- writing -------------------------------------------------------------------------------------------------
    def _publish(self, reference: str, change: dict[str, Any], events: list[EventData], *, key: str) -> bool:
        """The item's conditional change and its events in one transaction; False when the condition no longer
        holds (another run got there first, or the review was recorded meanwhile)."""
        pk = table.referral_pk(reference)
        writes = [change]
        for event in events:
            envelope = new_event(
                event,
                correlation_id=self.correlation_id,
                occurred_at=self.now,
                event_id=str(uuid.uuid5(_NAMESPACE, f"{key}/{event.detail_type}")),
            )
            item = outbox_item(pk, envelope, event.detail_type, now=self.now, settings=self.settings)
            writes.append(put(item, self.settings.table_name, f"attribute_not_exists({table.PARTITION_KEY})"))
        try:
            transact(writes, self.settings.table_name, self.client)
        except Cancelled:
            return False
        return True
