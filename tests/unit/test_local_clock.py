"""The local clock's reading of Scheduler expressions: at, rate and cron, in their time zones."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import boto3
import pytest
from moto import mock_aws

from infra.local.clock import LocalClock, SchedulerDriver, occurrences

START = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)  # a Wednesday


def schedule(expression: str, zone: str | None = None, **extra: object) -> dict[str, object]:
    found: dict[str, object] = {"ScheduleExpression": expression, **extra}
    if zone:
        found["ScheduleExpressionTimezone"] = zone
    return found


def test_at_is_read_in_the_schedules_time_zone() -> None:
    # 1 July 09:00 in London is 08:00 UTC (British Summer Time).
    [moment] = occurrences(schedule("at(2027-07-01T09:00:00)", "Europe/London"), START, START + timedelta(days=365))
    assert moment == datetime(2027, 7, 1, 8, 0, tzinfo=UTC)


def test_at_outside_the_window_does_not_fire() -> None:
    assert occurrences(schedule("at(2026-11-25T11:00:00)"), START, START + timedelta(days=1)) == []
    assert occurrences(schedule("at(2026-11-30T11:00:00)"), START, START + timedelta(days=1)) == []


def test_rate_counts_from_the_schedules_creation() -> None:
    created = START - timedelta(hours=5)
    found = occurrences(schedule("rate(12 hours)", CreationDate=created), START, START + timedelta(days=2))
    assert found == [created + timedelta(hours=12 * n) for n in range(1, 5)]


def test_cron_uses_aws_weekday_numbers_and_the_time_zone() -> None:
    # AWS: 2-6 is Monday to Friday (1 is Sunday). 08:30 in London in winter is 08:30 UTC.
    found = occurrences(schedule("cron(30 8 ? * 2-6 *)", "Europe/London"), START, START + timedelta(days=7))
    assert [m.strftime("%a %H:%M") for m in found] == ["Thu 08:30", "Fri 08:30", "Mon 08:30", "Tue 08:30", "Wed 08:30"]


def test_cron_follows_daylight_saving_time() -> None:
    # The clocks go forward on 28 March 2027: 09:00 London is 09:00 UTC before, 08:00 UTC after.
    before = datetime(2027, 3, 26, 12, 0, tzinfo=UTC)
    found = occurrences(schedule("cron(0 9 * * ? *)", "Europe/London"), before, before + timedelta(days=3))
    assert [m.strftime("%d %H:%M") for m in found] == ["27 09:00", "28 08:00", "29 08:00"]


def test_cron_with_named_weekdays_and_a_year() -> None:
    found = occurrences(schedule("cron(0 7 ? * MON *)"), START, START + timedelta(days=14))
    assert [m.strftime("%a %d") for m in found] == ["Mon 30", "Mon 07"]
    assert occurrences(schedule("cron(0 7 ? * MON 2030)"), START, START + timedelta(days=14)) == []


def test_start_and_end_dates_bound_the_occurrences() -> None:
    bounded = schedule(
        "rate(1 day)",
        CreationDate=START,
        StartDate=START + timedelta(days=2),
        EndDate=START + timedelta(days=4),
    )
    found = occurrences(bounded, START, START + timedelta(days=10))
    assert found == [START + timedelta(days=n) for n in (2, 3, 4)]


def test_a_schedule_deleted_between_listing_and_reading_is_passed_over(monkeypatch: pytest.MonkeyPatch) -> None:
    # Given a one-time schedule that a function deletes (a review recorded) just after the clock listed it
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    with mock_aws():
        scheduler = boto3.client("scheduler", region_name="eu-west-2")
        due = (datetime.now(UTC) + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%S")
        for name in ("review-gone", "review-kept"):
            scheduler.create_schedule(
                Name=name,
                ScheduleExpression=f"at({due})",
                FlexibleTimeWindow={"Mode": "OFF"},
                Target={"Arn": "arn:aws:sqs:eu-west-2:123456789012:q", "RoleArn": "arn:aws:iam::123456789012:role/r"},
            )
        listed = scheduler.list_schedules()
        scheduler.delete_schedule(Name="review-gone")
        monkeypatch.setattr(scheduler, "list_schedules", lambda **_: listed)
        fired: list[str] = []
        driver = SchedulerDriver(LocalClock(), scheduler, lambda _target, o: fired.append(o.name), lambda: None)

        # When the clock moves past them, the other schedule fires and the gone one is not an error
        assert driver.run_until(datetime.now(UTC) + timedelta(hours=2)) == 1
        assert fired == ["review-kept"]
