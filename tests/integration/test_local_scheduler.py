"""The local clock fires schedules stored in moto's Scheduler, in time order, and honours ActionAfterCompletion."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from moto import mock_aws

from infra.local.clock import LocalClock, Occurrence, SchedulerDriver
from infra.local.template import LOCAL_REGION

ROLE = "arn:aws:iam::123456789012:role/scheduler"
TARGET = "arn:aws:lambda:eu-west-2:123456789012:function:Reminders"


@pytest.fixture
def scheduler(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    with mock_aws():
        yield boto3.client("scheduler", region_name=LOCAL_REGION)


def at(moment: datetime) -> str:
    return f"at({moment.astimezone(UTC).replace(tzinfo=None, microsecond=0).isoformat()})"


def create(scheduler: Any, name: str, expression: str, **extra: Any) -> None:
    scheduler.create_schedule(
        Name=name,
        ScheduleExpression=expression,
        FlexibleTimeWindow={"Mode": "OFF"},
        Target={"Arn": TARGET, "RoleArn": ROLE, "Input": json.dumps({"name": name})},
        **extra,
    )


def driver_for(scheduler: Any) -> tuple[SchedulerDriver, list[tuple[str, datetime, datetime]]]:
    clock = LocalClock()
    fired: list[tuple[str, datetime, datetime]] = []

    def fire(target: dict[str, Any], occurrence: Occurrence) -> None:
        fired.append((json.loads(target["Input"])["name"], occurrence.at, clock.now()))

    return SchedulerDriver(clock, scheduler, fire, settle=lambda: None), fired


def test_due_schedules_fire_in_time_order_with_the_clock_at_each_occurrence(scheduler: Any) -> None:
    now = datetime.now(UTC)
    create(scheduler, "later", at(now + timedelta(days=2)))
    create(scheduler, "sooner", at(now + timedelta(days=1)))
    create(scheduler, "beyond", at(now + timedelta(days=9)))
    driver, fired = driver_for(scheduler)

    assert driver.advance(timedelta(days=3)) == 2

    assert [name for name, _, _ in fired] == ["sooner", "later"]
    for _, occurrence, clock_then in fired:
        assert timedelta(0) <= clock_then - occurrence < timedelta(seconds=5)
    assert driver.clock.now() >= now + timedelta(days=3)


def test_a_one_time_schedule_fires_once_and_is_deleted_when_asked(scheduler: Any) -> None:
    now = datetime.now(UTC)
    create(scheduler, "delete-me", at(now + timedelta(hours=1)), ActionAfterCompletion="DELETE")
    create(scheduler, "keep-me", at(now + timedelta(hours=1)))
    driver, fired = driver_for(scheduler)

    driver.advance(timedelta(days=1))
    driver.advance(timedelta(days=1))

    assert sorted(name for name, _, _ in fired) == ["delete-me", "keep-me"]
    assert [s["Name"] for s in scheduler.list_schedules()["Schedules"]] == ["keep-me"]


def test_disabled_schedules_do_not_fire(scheduler: Any) -> None:
    create(scheduler, "off", "rate(1 hour)", State="DISABLED")
    driver, fired = driver_for(scheduler)
    driver.advance(timedelta(days=1))
    assert fired == []


def test_a_recurring_schedule_fires_for_every_occurrence_in_the_jump(scheduler: Any) -> None:
    create(scheduler, "daily", "cron(0 9 * * ? *)", ScheduleExpressionTimezone="Europe/London")
    driver, fired = driver_for(scheduler)
    driver.advance(timedelta(days=7))
    assert len(fired) == 7
    assert {occurrence.astimezone(UTC).hour for _, occurrence, _ in fired} <= {8, 9}
