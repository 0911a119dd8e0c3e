"""Retention that fits children's records: an ended case is kept until its youngest child is 25 or six years after it
ended, whichever is later; a referral withdrawn before acceptance stays short."""

from __future__ import annotations

from datetime import UTC, date, datetime

from shared.config import Settings
from shared.domain.events import ReferralDeclined, ReferralWithdrawn, ReviewCompleted
from shared.service.retention import expiry, youngest_born_on

SETTINGS = Settings()
CLOSED_ON = date(2027, 3, 15)
REFERENCE = "FN-7KQ2MX4P"


def closed(on: date = CLOSED_ON) -> ReviewCompleted:
    return ReviewCompleted.model_validate({**ReviewCompleted.example, "outcome": "close", "completed_on": on})


def last_day(expires_at: int | None) -> date:
    assert expires_at is not None
    moment = datetime.fromtimestamp(expires_at, UTC)
    assert (moment.hour, moment.minute) == (23, 59)  # kept to the end of that day
    return moment.date()


def referral_with_children(*born: str) -> dict[str, object]:
    return {"submission": {"family": {"children": [{"first_name": "A", "date_of_birth": b} for b in born]}}}


def test_a_two_year_old_s_case_is_kept_past_six_years_until_their_25th_birthday() -> None:
    born = date(2025, 1, 10)  # two when the case closes
    kept = last_day(expiry(closed(), SETTINGS, born))
    assert kept == date(2050, 1, 10)
    assert kept > date(2033, 3, 15)  # well past six years


def test_a_17_year_old_s_case_is_kept_at_least_six_years_and_until_they_are_25() -> None:
    born = date(2010, 1, 10)  # 17 when the case closes: 25 eight years on, later than six
    assert last_day(expiry(closed(), SETTINGS, born)) == date(2035, 1, 10)


def test_at_the_boundary_the_six_years_win_for_a_young_person_who_is_25_sooner() -> None:
    # 19 at closure, turning 25 the day before six years are up: six years
    born = date(2008, 3, 14)
    assert last_day(expiry(closed(), SETTINGS, born)) == date(2033, 3, 15)
    # turning 25 the day after six years are up: their birthday
    born = date(2008, 3, 16)
    assert last_day(expiry(closed(), SETTINGS, born)) == date(2033, 3, 16)
    # an adult child (23 at closure): six years
    assert last_day(expiry(closed(), SETTINGS, date(2004, 1, 1))) == date(2033, 3, 15)


def test_the_youngest_child_decides_and_a_29_february_birthday_falls_on_28_february() -> None:
    referral = referral_with_children("2012-05-01", "2024-02-29", "2019-07-07")
    youngest = youngest_born_on(referral)
    assert youngest == date(2024, 2, 29)
    assert last_day(expiry(closed(), SETTINGS, youngest)) == date(2049, 2, 28)


def test_declined_and_withdrawn_after_acceptance_follow_the_same_rule_withdrawn_before_stays_short() -> None:
    born = date(2025, 1, 10)
    declined = ReferralDeclined.model_validate({**ReferralDeclined.example, "declined_at": "2027-03-15T10:00:00Z"})
    assert last_day(expiry(declined, SETTINGS, born)) == date(2050, 1, 10)
    withdrawn = {**ReferralWithdrawn.example, "withdrawn_at": "2027-03-15T10:00:00Z"}
    after = ReferralWithdrawn.model_validate({**withdrawn, "previous_status": "plan_active"})
    assert last_day(expiry(after, SETTINGS, born)) == date(2050, 1, 10)
    before = ReferralWithdrawn.model_validate({**withdrawn, "previous_status": "received"})
    assert datetime.fromtimestamp(expiry(before, SETTINGS, born) or 0, UTC).date() == date(2027, 6, 13)  # 90 days


def test_each_council_sets_its_own_rule() -> None:
    born = date(2025, 1, 10)
    assert last_day(expiry(closed(), Settings(retention_until_age=0), born)) == date(2033, 3, 15)  # no age rule
    assert last_day(expiry(closed(), Settings(retention_until_age=21), born)) == date(2046, 1, 10)
    assert last_day(expiry(closed(), Settings(retention_closed_years=25), born)) == date(2052, 3, 15)


def test_without_a_readable_date_of_birth_the_years_after_the_end_apply() -> None:
    erased = {"submission": "[erased]"}
    assert youngest_born_on(erased) is None
    assert youngest_born_on(referral_with_children("[erased]")) is None
    assert last_day(expiry(closed(), SETTINGS, None)) == date(2033, 3, 15)
    assert expiry(ReviewCompleted.model_validate({**ReviewCompleted.example, "outcome": "continue"}), SETTINGS) is None
