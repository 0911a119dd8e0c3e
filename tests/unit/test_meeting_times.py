"""When a meeting may be: in the future, after the referral was received, within the facilitator's weekly
availability in England's time, or outside it only as an exception the coordinator confirms with a reason."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from shared.domain.clock import LONDON
from shared.domain.meetings import (
    MeetingRequest,
    MeetingTimeRefused,
    check_meeting_time,
    weekly_windows,
    within_availability,
)

WEEKDAYS = [{"day": day, "start": "09:00:00", "end": "17:00:00"} for day in ("monday", "tuesday", "friday")]
NOW = datetime(2027, 3, 1, 12, 0, tzinfo=UTC)  # Monday 1 March 2027, noon in England
RECEIVED = datetime(2027, 2, 26, 9, 30, tzinfo=UTC)


def request(starts_at: datetime, hours: float = 2, exception_reason: str | None = None) -> MeetingRequest:
    return MeetingRequest.model_validate(
        {
            "starts_at": starts_at,
            "ends_at": starts_at + timedelta(hours=hours),
            "venue": {"type": "online"},
            "facilitator_id": "fac-1",
            "exception_reason": exception_reason,
        }
    )


def refusal(meeting: MeetingRequest, *, now: datetime = NOW, received_at: datetime = RECEIVED) -> MeetingTimeRefused:
    with pytest.raises(MeetingTimeRefused) as refused:
        check_meeting_time(meeting, now=now, received_at=received_at, weekly=WEEKDAYS)
    return refused.value


def test_a_time_within_the_availability_needs_no_exception() -> None:
    friday = datetime(2027, 3, 5, 10, 0, tzinfo=LONDON)
    assert check_meeting_time(request(friday), now=NOW, received_at=RECEIVED, weekly=WEEKDAYS) is None
    ending_at_five = datetime(2027, 3, 5, 15, 0, tzinfo=LONDON)
    assert check_meeting_time(request(ending_at_five), now=NOW, received_at=RECEIVED, weekly=WEEKDAYS) is None


def test_a_past_time_is_refused_even_with_a_reason() -> None:
    refused = refusal(request(datetime(2027, 2, 25, 10, 0, tzinfo=LONDON), exception_reason="Family asked"))
    assert refused.rule == "past"
    assert refused.errors == [{"field": "starts_at", "message": refused.message}]
    assert refusal(request(NOW)).rule == "past"  # starting now is too late as well


def test_a_time_before_the_referral_was_received_is_refused() -> None:
    received_later = datetime(2027, 3, 12, 9, 0, tzinfo=UTC)  # a clock that ran behind: still refused
    refused = refusal(request(datetime(2027, 3, 5, 10, 0, tzinfo=LONDON)), received_at=received_later)
    assert refused.rule == "before_referral"
    assert "after the referral was received (Friday 12 March 2027 at 09:00)" in refused.message


def test_saturday_evening_outside_every_window_is_refused_naming_the_field_and_the_windows() -> None:
    saturday_evening = datetime(2027, 3, 6, 20, 0, tzinfo=LONDON)
    refused = refusal(request(saturday_evening))
    assert refused.rule == "outside_availability"
    assert [e["field"] for e in refused.errors or []] == ["starts_at", "exception_reason"]
    assert "Saturday 6 March 2027 at 20:00 to 22:00 is outside the facilitator's availability" in refused.message
    assert "(Monday 09:00 to 17:00, Tuesday 09:00 to 17:00, Friday 09:00 to 17:00)" in refused.message


def test_the_coordinator_may_confirm_an_exception_with_its_reason() -> None:
    saturday_evening = datetime(2027, 3, 6, 20, 0, tzinfo=LONDON)
    reason = "The only time the network can all come"
    meeting = request(saturday_evening, exception_reason=reason)
    assert check_meeting_time(meeting, now=NOW, received_at=RECEIVED, weekly=WEEKDAYS) == reason


def test_a_meeting_must_fit_the_window_whole_in_england_s_time() -> None:
    parsed = weekly_windows(WEEKDAYS)
    friday = datetime(2027, 3, 5, 16, 0, tzinfo=LONDON)
    assert not within_availability(friday, friday + timedelta(hours=2), parsed)  # runs past 17:00
    assert not within_availability(friday - timedelta(hours=8), friday - timedelta(hours=6), parsed)  # 08:00
    # Summer time: 09:00 in England is 08:00 UTC, inside the window
    summer = datetime(2027, 7, 5, 8, 0, tzinfo=UTC)
    assert within_availability(summer, summer + timedelta(hours=2), parsed)
    assert not within_availability(summer - timedelta(minutes=15), summer + timedelta(hours=1), parsed)
    monday_night = datetime(2027, 3, 1, 23, 0, tzinfo=LONDON)
    assert not within_availability(monday_night, monday_night + timedelta(hours=2), parsed)  # across midnight
    assert not within_availability(friday, friday + timedelta(hours=1), [])  # no availability stated


def test_a_blank_reason_is_no_reason() -> None:
    with pytest.raises(ValueError):
        request(datetime(2027, 3, 6, 20, 0, tzinfo=LONDON), exception_reason="   ")
