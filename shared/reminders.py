"""Review reminders: one EventBridge Scheduler one-time schedule per open review, which puts ReviewDue on the bus
a lead time (working days) before the review is due, at 09:00 in Europe/London, then deletes itself."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

from botocore.exceptions import BotoCoreError, ClientError

from shared import aws
from shared.config import Settings
from shared.errors import ServiceUnavailable
from shared.events import EVENT_SOURCE, ReviewDue, new_event
from shared.working_days import subtract_working_days

REMIND_AT = time(9, 0)
TIMEZONE = "Europe/London"
_NAMESPACE = uuid.UUID("5b0c1f9e-6a57-4c59-9d59-0f3c8f1d2a10")


def schedule_name(reference: str, review_number: int) -> str:
    return f"review-{reference}-{review_number:03d}"


def delete_reviews(reference: str, *, settings: Settings) -> int:
    """A withdrawn referral (or a closed plan) has no review to remind: delete its schedules."""
    client = aws.scheduler()
    deleted = 0
    try:
        pages = client.get_paginator("list_schedules").paginate(
            GroupName=settings.schedule_group, NamePrefix=f"review-{reference}-"
        )
        for page in pages:
            for schedule in page.get("Schedules", []):
                try:
                    client.delete_schedule(GroupName=settings.schedule_group, Name=schedule["Name"])
                    deleted += 1
                except ClientError as exc:
                    if exc.response.get("Error", {}).get("Code") != "ResourceNotFoundException":
                        raise
    except (ClientError, BotoCoreError) as exc:
        raise ServiceUnavailable(f"EventBridge Scheduler failed: {type(exc).__name__}") from exc
    return deleted


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
    client = aws.scheduler()
    try:
        try:
            client.create_schedule(**request)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") != "ConflictException":
                raise
            client.update_schedule(**request)
    except (ClientError, BotoCoreError) as exc:
        raise ServiceUnavailable(f"EventBridge Scheduler failed: {type(exc).__name__}") from exc
    return {"name": request["Name"], "expression": request["ScheduleExpression"], "remind_on": day.isoformat()}
