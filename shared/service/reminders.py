"""Review reminders: one EventBridge Scheduler one-time schedule per open review, which puts ReviewDue on the bus
a lead time (working days) before the review is due, at 09:00 in Europe/London, then deletes itself.

The schedule follows the review item in the table: created when a plan is agreed or a review opens the next one,
moved when the review moves, deleted when the review is completed or the referral withdrawn. Each change is
checked against the table first, so events arriving twice or out of order cannot resurrect a closed review."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

from shared.adapters import scheduler, table
from shared.adapters.dynamodb import ReferralReader
from shared.config import Settings
from shared.domain.events import (
    EVENT_SOURCE,
    EventData,
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
    new_event,
)
from shared.domain.working_days import subtract_working_days
from shared.service.reviews import KIND_REVIEW, OPEN_STATES, cancel_open_review, review_sort_key

# The events the reminders function's queue subscribes to (infra/constructs/reminders.py builds its rule from this).
HANDLED_EVENTS: tuple[type[EventData], ...] = (
    ReferralReceived,
    ReferralAccepted,
    ReferralDeclined,
    ReferralWithdrawn,
    FamilyDeclined,  # its retention
    MeetingHeld,
    PlanAgreed,
    ReviewDue,
    ReviewRescheduled,
    ReviewCompleted,
)
DAILY_CHECK_INPUT = {"task": "daily_check"}
DAILY_CHECK_CRON = "cron(0 7 * * ? *)"  # 07:00 every day, Europe/London
REMIND_AT = time(9, 0)
TIMEZONE = "Europe/London"
_NAMESPACE = uuid.UUID("5b0c1f9e-6a57-4c59-9d59-0f3c8f1d2a10")


def schedule_name(reference: str, review_number: int) -> str:
    return f"review-{reference}-{review_number:03d}"


def delete_schedule(reference: str, review_number: int, *, settings: Settings) -> bool:
    """Delete one review's schedule; False if there was none (fired already, or deleted by a repeated event)."""
    return scheduler.delete_schedule(settings.schedule_group, schedule_name(reference, review_number))


def delete_reviews(reference: str, *, settings: Settings, reader: ReferralReader) -> int:
    """A withdrawn referral has no review to remind: its open reviews are cancelled (they leave the overdue
    sweep's index) and every review's schedule is deleted, by name (no ListSchedules, so no `*` in IAM)."""
    deleted = 0
    for review in reader.partition(reference):
        if review.get(table.KIND_ATTRIBUTE) != KIND_REVIEW:
            continue
        if review.get("status") in OPEN_STATES:
            cancel_open_review(review, settings=settings)
        deleted += delete_schedule(reference, int(review["review_number"]), settings=settings)
    return deleted


def open_due_date(reader: ReferralReader, reference: str, review_number: int) -> date | None:
    """The review's due date as the table has it now, if it is still open (events may arrive out of order)."""
    review = reader.item(
        {table.PARTITION_KEY: table.referral_pk(reference), table.SORT_KEY: review_sort_key(review_number)}
    )
    if review is None or review.get("status") not in OPEN_STATES:
        return None
    return date.fromisoformat(review["due_on"])


def follow_review(
    reference: str, review_number: int, due_on: date, *, settings: Settings, reader: ReferralReader, correlation_id: str
) -> dict[str, Any] | None:
    """Make the review's schedule match the table: create or move it while the review is open at `due_on`."""
    if open_due_date(reader, reference, review_number) != due_on:
        return None  # completed, cancelled or moved since: a later event (or none) decides
    return schedule_review(reference, review_number, due_on, settings=settings, correlation_id=correlation_id)


def remind_on(due_on: date, settings: Settings) -> date:
    return subtract_working_days(due_on, settings.review_lead_working_days)


def schedule_review(
    reference: str, review_number: int, due_on: date, *, settings: Settings, correlation_id: str
) -> dict[str, Any]:
    """Create the review's schedule, or replace it (a moved review moves its reminder)."""
    day = remind_on(due_on, settings)
    local = datetime.combine(day, REMIND_AT)
    # The event is fixed when the schedule is made; its id is derived from the review, so a replayed or
    # re-created schedule announces the same ReviewDue (consumers dedupe on it).
    envelope = new_event(
        ReviewDue(reference=reference, review_number=review_number, due_on=due_on),
        correlation_id=correlation_id,
        occurred_at=local.replace(tzinfo=ZoneInfo(TIMEZONE)).astimezone(UTC),
        event_id=str(uuid.uuid5(_NAMESPACE, f"{reference}/{review_number}/{due_on.isoformat()}")),
    )
    target: dict[str, Any] = {
        "Arn": settings.event_bus_arn,
        "RoleArn": settings.scheduler_role_arn,
        "EventBridgeParameters": {"DetailType": ReviewDue.detail_type, "Source": EVENT_SOURCE},
        "Input": envelope.model_dump_json(),
        "RetryPolicy": {"MaximumEventAgeInSeconds": 86400, "MaximumRetryAttempts": 185},
    }
    if settings.reminders_dlq_arn:
        target["DeadLetterConfig"] = {"Arn": settings.reminders_dlq_arn}
    request: dict[str, Any] = {
        "Name": schedule_name(reference, review_number),
        "GroupName": settings.schedule_group,
        "ScheduleExpression": f"at({local.isoformat(timespec='seconds')})",
        "ScheduleExpressionTimezone": TIMEZONE,
        "FlexibleTimeWindow": {"Mode": "OFF"},
        "ActionAfterCompletion": "DELETE",
        "Target": target,
        "Description": f"Review {review_number} of {reference} due {due_on.isoformat()}",
    }
    scheduler.put_schedule(request)
    return {"name": request["Name"], "expression": request["ScheduleExpression"], "remind_on": day.isoformat()}
