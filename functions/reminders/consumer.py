"""The reminders function's queue: review schedules, deadline clocks and retention follow the events."""

from __future__ import annotations

from datetime import date
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit

from shared.adapters.dynamodb import ReferralReader
from shared.config import get_settings
from shared.domain.events import (
    FamilyDeclined,
    MeetingHeld,
    PlanAgreed,
    ReferralAccepted,
    ReferralDeclined,
    ReferralReceived,
    ReferralWithdrawn,
    ReviewCompleted,
    ReviewDue,
    ReviewRescheduled,
)
from shared.observability import bind_event, logger, metrics
from shared.service import retention
from shared.service.deadlines import ClockName, london_day, start_clock
from shared.service.reminders import HANDLED_EVENTS, delete_reviews, delete_schedule, follow_review
from shared.service.reviews import mark_due
from shared.web.queue import EventRecord, UnexpectedEvent, batch_processor

processor = batch_processor()


def _reader() -> ReferralReader:
    return ReferralReader(get_settings().table_name)


def _schedule(reference: str, number: int, due_on: Any, correlation_id: str) -> None:
    made = follow_review(
        reference, number, due_on, settings=get_settings(), reader=_reader(), correlation_id=correlation_id
    )
    if made is None:
        logger.info("Review no longer open at that date: no reminder", extra={"review_number": number})
        return
    logger.info("Review reminder scheduled", extra={"remind_on": made["remind_on"], "review_number": number})
    metrics.add_metric(name="ReviewRemindersScheduled", unit=MetricUnit.Count, value=1)


def _start(reference: str, name: ClockName, started_on: date) -> None:
    due = start_clock(reference, name, started_on, settings=get_settings())
    if due is not None:
        logger.info("Deadline clock started", extra={"clock": name, "due_on": due.isoformat()})


def on_event(record: EventRecord) -> None:
    envelope = record.envelope()
    data = envelope.data
    cid = envelope.metadata.correlation_id
    if not isinstance(data, HANDLED_EVENTS):
        raise UnexpectedEvent(record.body.detail_type)
    bind_event(envelope)
    settings = get_settings()
    if isinstance(data, ReferralReceived):
        if data.route == "professional_request":  # a lead practitioner's referral is accepted at once
            _start(data.reference, "decision", london_day(data.received_at))
    elif isinstance(data, ReferralAccepted):
        _start(data.reference, "meeting_held", london_day(data.accepted_at))
    elif isinstance(data, ReferralWithdrawn):
        deleted = delete_reviews(data.reference, settings=settings, reader=_reader())
        logger.info("Review reminders deleted", extra={"deleted": deleted})
    elif isinstance(data, MeetingHeld):
        # a plan made waits for the lead practitioner's agreement (the referrer's feedback follows it); without one,
        # the referrer is told so
        _start(data.reference, "plan_agreed" if data.plan_agreed else "feedback_sent", data.held_on)
    elif isinstance(data, PlanAgreed):  # the plan in force: its first review's reminder
        _schedule(data.reference, 1, data.first_review_due_on, cid)
    elif isinstance(data, ReviewRescheduled):
        _schedule(data.reference, data.review_number, data.due_on, cid)
    elif isinstance(data, ReviewCompleted):
        delete_schedule(data.reference, data.review_number, settings=settings)  # recorded before its reminder
        if data.next_review_due_on is not None:
            _schedule(data.reference, data.review_number + 1, data.next_review_due_on, cid)
    elif isinstance(data, ReviewDue) and mark_due(data.reference, data.review_number, data.due_on, settings=settings):
        metrics.add_metric(name="ReviewRemindersSent", unit=MetricUnit.Count, value=1)
    ending = isinstance(data, ReferralDeclined | ReferralWithdrawn | FamilyDeclined | ReviewCompleted)
    if ending and (expires_at := retention.expiry(data, settings)) is not None:
        # the referral ended: its records are kept for the retention period (by its children's ages), then go
        reference = data.reference  # type: ignore[attr-defined]  # each ending event names its referral
        youngest = retention.youngest_born_on(_reader().referral(reference))
        expires_at = retention.expiry(data, settings, youngest) or expires_at
        changed = retention.apply(reference, expires_at, settings=settings)
        logger.info("Retention set", extra={"expires_at": expires_at, "items": changed})
