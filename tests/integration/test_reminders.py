"""PlanAgreed → the reminders function schedules the first review's reminder in EventBridge Scheduler."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from typing import Any

from infra.constants import REMINDERS
from shared.config import Settings
from shared.service.reminders import remind_on, schedule_name
from tests.integration.conftest import Cloud, invoke
from tests.integration.test_intake import relay_outbox
from tests.integration.test_meetings import availability, book, clock_at, meeting
from tests.integration.test_outcome import agree, outcome
from tests.integration.test_proposals import sqs_batch


def held_with_plan(
    cloud: Cloud, submit: Any, referral_body: dict[str, Any], review: date
) -> tuple[str, dict[str, Any]]:
    availability(cloud, "fac-1")
    past = (datetime.now(UTC) - timedelta(days=1)).replace(hour=10, minute=0, second=0, microsecond=0)
    with clock_at(past - timedelta(days=2)):  # received, and its meeting booked, before the meeting
        reference = submit(referral_body)["json"]["reference"]
        assert book(cloud, reference, meeting(past))["statusCode"] == 200
    capture = cloud.capture_events()
    outcome(
        cloud,
        reference,
        {"held": True, "held_on": past.date().isoformat(), "plan": {"first_review_due_on": review.isoformat()}},
    )
    assert agree(cloud, reference)["statusCode"] == 200
    relay_outbox(cloud)
    [agreed] = [e for e in capture.received() if e["detail-type"] == "PlanAgreed"]
    return reference, agreed


def test_an_agreed_plan_schedules_its_first_review_reminder(
    cloud: Cloud, submit: Any, referral_body: dict[str, Any]
) -> None:
    review = datetime.now(UTC).date() + timedelta(days=60)
    reference, held = held_with_plan(cloud, submit, referral_body, review)

    assert invoke(REMINDERS, cloud, sqs_batch([held, held])) == {"batchItemFailures": []}  # a duplicate replaces

    scheduler = cloud.client("scheduler")
    function = cloud.function(REMINDERS)
    group = function.environment["SCHEDULE_GROUP"]
    [summary] = scheduler.list_schedules(GroupName=group)["Schedules"]
    schedule = scheduler.get_schedule(GroupName=group, Name=summary["Name"])
    assert schedule["Name"] == schedule_name(reference, 1)
    assert schedule["ScheduleExpression"] == f"at({remind_on(review, Settings()).isoformat()}T09:00:00)"
    assert schedule["ScheduleExpressionTimezone"] == "Europe/London"
    assert schedule["ActionAfterCompletion"] == "DELETE"
    target = schedule["Target"]
    assert target["Arn"] == function.environment["EVENT_BUS_ARN"]
    assert target["EventBridgeParameters"] == {"DetailType": "ReviewDue", "Source": "familynet"}
    assert target["DeadLetterConfig"]["Arn"] == function.environment["REMINDERS_DLQ_ARN"]
    detail = json.loads(target["Input"])
    assert detail["data"] == {"reference": reference, "review_number": 1, "due_on": review.isoformat()}


def test_a_meeting_held_without_a_plan_schedules_nothing(
    cloud: Cloud, submit: Any, referral_body: dict[str, Any]
) -> None:
    availability(cloud, "fac-1")
    past = (datetime.now(UTC) - timedelta(days=1)).replace(hour=10, minute=0, second=0, microsecond=0)
    with clock_at(past - timedelta(days=2)):  # received, and its meeting booked, before the meeting
        reference = submit(referral_body)["json"]["reference"]
        assert book(cloud, reference, meeting(past))["statusCode"] == 200
    capture = cloud.capture_events()
    outcome(cloud, reference, {"held": True, "held_on": past.date().isoformat()})
    relay_outbox(cloud)
    [held] = [e for e in capture.received() if e["detail-type"] == "MeetingHeld"]
    assert invoke(REMINDERS, cloud, sqs_batch([held])) == {"batchItemFailures": []}
    group = cloud.function(REMINDERS).environment["SCHEDULE_GROUP"]
    assert cloud.client("scheduler").list_schedules(GroupName=group)["Schedules"] == []


def test_withdrawing_the_referral_deletes_its_review_reminder(
    cloud: Cloud, submit: Any, referral_body: dict[str, Any]
) -> None:
    from tests.integration.test_coordination import act

    review = datetime.now(UTC).date() + timedelta(days=60)
    reference, held = held_with_plan(cloud, submit, referral_body, review)
    invoke(REMINDERS, cloud, sqs_batch([held]))
    capture = cloud.capture_events()
    act(cloud, reference, "withdraw", {"reason": "The family moved away."})
    relay_outbox(cloud)
    [withdrawn] = [e for e in capture.received() if e["detail-type"] == "ReferralWithdrawn"]

    assert invoke(REMINDERS, cloud, sqs_batch([withdrawn, withdrawn])) == {"batchItemFailures": []}

    group = cloud.function(REMINDERS).environment["SCHEDULE_GROUP"]
    assert cloud.client("scheduler").list_schedules(GroupName=group)["Schedules"] == []
