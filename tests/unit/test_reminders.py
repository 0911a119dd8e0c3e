"""A review's reminder: five working days before it is due, at 09:00 in London, whatever the clocks do."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from infra.local.clock import occurrences
from shared.config import Settings
from shared.service.reminders import REMIND_AT, TIMEZONE, remind_on, schedule_name

SETTINGS = Settings()


def fires_at(due_on: date) -> datetime:
    day = remind_on(due_on, SETTINGS)
    expression = f"at({datetime.combine(day, REMIND_AT).isoformat(timespec='seconds')})"
    schedule = {"ScheduleExpression": expression, "ScheduleExpressionTimezone": TIMEZONE}
    start = datetime.combine(day, REMIND_AT).replace(tzinfo=UTC) - timedelta(days=2)
    [moment] = occurrences(schedule, start, start + timedelta(days=4))
    return moment


def test_five_working_days_before_skipping_weekends_and_bank_holidays() -> None:
    assert remind_on(date(2027, 3, 12), SETTINGS) == date(2027, 3, 5)  # a plain week
    assert remind_on(date(2027, 4, 1), SETTINGS) == date(2027, 3, 23)  # Good Friday and Easter Monday skipped


def test_the_reminder_is_at_nine_in_london_on_both_sides_of_the_clock_change() -> None:
    assert fires_at(date(2027, 3, 12)) == datetime(2027, 3, 5, 9, 0, tzinfo=UTC)  # GMT
    assert fires_at(date(2027, 4, 14)) == datetime(2027, 4, 7, 8, 0, tzinfo=UTC)  # BST: 09:00 is 08:00 UTC
    assert fires_at(date(2027, 11, 5)) == datetime(2027, 10, 29, 8, 0, tzinfo=UTC)  # still BST until 31 October
    assert fires_at(date(2027, 11, 10)) == datetime(2027, 11, 3, 9, 0, tzinfo=UTC)  # GMT again


def test_one_schedule_name_per_review() -> None:
    assert schedule_name("FN-7KQ2MX4P", 1) == "review-FN-7KQ2MX4P-001"
    assert len(schedule_name("FN-7KQ2MX4P", 999)) <= 64


def test_working_days_between_counts_after_the_start_up_to_the_end_without_weekends_or_bank_holidays() -> None:
    from shared.domain.working_days import add_working_days, working_days_between

    assert working_days_between(date(2026, 12, 24), date(2026, 12, 24)) == 0
    # Christmas Eve (Thu) → 4 Jan 2027 (Mon): Christmas, Boxing Day substitute (Mon 28th), New Year's Day are off.
    assert working_days_between(date(2026, 12, 24), date(2027, 1, 4)) == 4
    for start in (date(2026, 12, 24), date(2027, 3, 26), date(2027, 8, 27)):
        for n in (1, 2, 5, 20):
            assert working_days_between(start, add_working_days(start, n)) == n


def test_a_clock_is_met_stopped_or_breached_by_what_the_referral_says() -> None:
    from shared.service.deadlines import clock_state

    def referral(status: str) -> dict[str, str]:
        return {"kind": "referral", "status": status}

    sent = {"kind": "email", "template": "feedback", "status": "sent"}
    failed = {"kind": "email", "template": "feedback", "status": "failed"}
    assert clock_state("decision", [referral("received")]) == "breached"
    assert clock_state("decision", [referral("declined")]) == "met"
    assert clock_state("decision", [referral("withdrawn")]) == "stopped"
    assert clock_state("meeting_held", [referral("meeting_scheduled")]) == "breached"
    assert clock_state("meeting_held", [referral("plan_active")]) == "met"
    assert clock_state("meeting_held", [referral("withdrawn")]) == "stopped"
    assert clock_state("feedback_sent", [referral("plan_active"), failed]) == "breached"
    assert clock_state("feedback_sent", [referral("plan_active"), sent]) == "met"
    assert clock_state("feedback_sent", [referral("withdrawn")]) == "stopped"
    assert clock_state("feedback_sent", []) == "stopped"


def test_the_feedback_email_measures_days_from_referral_to_meeting_and_meeting_to_feedback() -> None:
    from shared.domain.events import MeetingHeld
    from shared.service.feedback import meeting_measures

    held = MeetingHeld(
        reference="FN-7KQ2MX4P", meeting_id="M1", held_on=date(2026, 7, 14), plan_agreed=False, support_package_items=0
    )
    # 23:30 UTC on 30 June is 00:30 on 1 July in London (BST): days count in England's calendar.
    measures = dict(
        meeting_measures(held, {"received_at": "2026-06-30T23:30:00Z"}, datetime(2026, 7, 16, 9, tzinfo=UTC))
    )
    assert measures == {"FeedbackEmailsSent": 1, "DaysReferralToMeeting": 13, "DaysMeetingToFeedback": 2}
