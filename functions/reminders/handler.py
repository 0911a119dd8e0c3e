"""The reminders function (reviews, deadlines and retention: what happens because time passes).

From its queue: keeps one Scheduler schedule per open review (MeetingHeld with a plan, ReviewCompleted with a next
review, ReviewRescheduled; deleted on ReviewCompleted and ReferralWithdrawn), marks a review due when its reminder
fires (ReviewDue), starts the deadline clocks (ReferralReceived, ReferralAccepted, MeetingHeld), and sets the
retention expiry on every item of a referral that ended (ReferralDeclined, ReferralWithdrawn, a closing review).
From its daily schedule (07:00 Europe/London, `{"task": "daily_check"}`): escalates overdue reviews and checks the
clocks that fell due (shared/deadlines.py).
"""

from __future__ import annotations

import json
import uuid
from datetime import date
from typing import Any, Literal

from aws_lambda_powertools.metrics import MetricUnit, single_metric
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import BaseModel, ConfigDict, ValidationError

from shared.adapters.dynamodb import ReferralReader
from shared.config import METRICS_NAMESPACE, get_settings
from shared.domain import clock
from shared.domain.events import (
    MeetingHeld,
    ReferralAccepted,
    ReferralDeclined,
    ReferralReceived,
    ReferralWithdrawn,
    ReviewCompleted,
    ReviewDue,
    ReviewRescheduled,
    parse_detail,
)
from shared.observability import bind_event, correlate, logger, metrics
from shared.service import retention
from shared.service.deadlines import ClockName, DailyCheck, london_day, start_clock
from shared.service.reminders import HANDLED_EVENTS, delete_reviews, delete_schedule, follow_review
from shared.service.reviews import mark_due

processor = BatchProcessor(event_type=EventType.SQS)


class DailyTask(BaseModel):
    """The daily schedule's input."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    task: Literal["daily_check"]  # shared.reminders.DAILY_CHECK_INPUT


class UnexpectedEvent(Exception):
    """The queue's rule lets through only what this consumer handles: anything else is a wiring mistake."""


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


def _on_event(record: SQSRecord) -> None:
    message = json.loads(record.body)
    envelope = parse_detail(message["detail-type"], message["detail"])
    data = envelope.data
    cid = envelope.metadata.correlation_id
    if not isinstance(data, HANDLED_EVENTS):
        raise UnexpectedEvent(message["detail-type"])
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
        _start(data.reference, "feedback_sent", data.held_on)
        if data.first_review_due_on is not None:
            _schedule(data.reference, 1, data.first_review_due_on, cid)
    elif isinstance(data, ReviewRescheduled):
        _schedule(data.reference, data.review_number, data.due_on, cid)
    elif isinstance(data, ReviewCompleted):
        delete_schedule(data.reference, data.review_number, settings=settings)  # recorded before its reminder
        if data.next_review_due_on is not None:
            _schedule(data.reference, data.review_number + 1, data.next_review_due_on, cid)
    elif isinstance(data, ReviewDue) and mark_due(data.reference, data.review_number, data.due_on, settings=settings):
        metrics.add_metric(name="ReviewRemindersSent", unit=MetricUnit.Count, value=1)
    ending = isinstance(data, ReferralDeclined | ReferralWithdrawn | ReviewCompleted)
    if (
        ending and (expires_at := retention.expiry(data, settings)) is not None
    ):  # the referral ended: its records are kept for the retention period, then go
        changed = retention.apply(envelope.data.reference, expires_at, settings=settings)  # type: ignore[attr-defined]
        logger.info("Retention set", extra={"expires_at": expires_at, "items": changed})


def _daily(event: dict[str, Any]) -> dict[str, Any]:
    try:
        DailyTask.model_validate(event)
    except ValidationError as exc:
        logger.error("Refused a scheduled invocation", extra={"errors": exc.error_count()})
        raise
    now = clock.now()
    # The run's own correlation id: every escalation and breach it publishes carries it.
    correlate(f"daily-check-{london_day(now).isoformat()}-{uuid.uuid4().hex[:8]}")
    report = DailyCheck(settings=get_settings(), now=now, correlation_id=str(logger.get_correlation_id())).run()
    logger.info("Daily check done", extra=report.as_dict())
    metrics.add_metric(name="ReviewsOverdue", unit=MetricUnit.Count, value=report.escalated)
    # The alarm watches the total (service dimension only); the dashboard can split it by clock.
    metrics.add_metric(name="DeadlinesBreached", unit=MetricUnit.Count, value=len(report.breaches))
    for name in report.breaches:
        with single_metric(
            name="DeadlinesBreachedByClock", unit=MetricUnit.Count, value=1, namespace=METRICS_NAMESPACE
        ) as metric:
            metric.add_dimension(name="clock", value=name)
            metric.add_metadata(key="correlation_id", value=str(logger.get_correlation_id()))
    return report.as_dict()


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    if "Records" not in event:
        return _daily(event)
    batch = process_partial_response(event=event, record_handler=_on_event, processor=processor, context=context)
    return dict(batch)
