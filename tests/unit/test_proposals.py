"""Allocation and slot finding: locality first, fewest upcoming meetings, availability, preferences, busy time."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, timedelta
from typing import Any

from shared.domain.meetings import blocks
from shared.domain.working_days import add_working_days, is_working_day
from shared.service.proposals import choose_facilitator, free_slots

NORTH = {
    "facilitator_id": "n-1",
    "locality": "North",
    "weekly": [{"day": "monday", "start": "09:00:00", "end": "17:00:00"}],
}
NORTH_2 = {**NORTH, "facilitator_id": "n-2"}
SOUTH = {**NORTH, "facilitator_id": "s-1", "locality": "South"}
TWO_HOURS = timedelta(hours=2)
# Tuesday 1 December 2026, noon in London (GMT)
AFTER = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


def chosen(facilitators: list[dict[str, Any]], locality: str | None, upcoming: dict[str, int]) -> str | None:
    found = choose_facilitator(facilitators, locality, upcoming)
    return None if found is None else str(found["facilitator_id"])


def test_the_facilitator_is_local_then_least_busy_then_by_id() -> None:
    assert chosen([SOUTH, NORTH, NORTH_2], "north ", {"n-1": 3, "n-2": 1}) == "n-2"
    assert chosen([SOUTH, NORTH], "West", {"s-1": 2}) == "n-1"  # none local: any, the least busy
    assert chosen([NORTH_2, NORTH], None, {}) == "n-1"
    assert chosen([], "North", {}) is None


def test_slots_are_the_earliest_of_three_different_days_in_the_facilitators_hours_in_london_time() -> None:
    slots = free_slots(NORTH, {}, set(), after=AFTER, until=date(2026, 12, 31), length=TWO_HOURS)
    assert [s.isoformat() for s, _ in slots] == [
        "2026-12-07T09:00:00+00:00",
        "2026-12-14T09:00:00+00:00",
        "2026-12-21T09:00:00+00:00",
    ]
    assert all(e - s == TWO_HOURS for s, e in slots)


def test_where_the_days_run_out_the_choices_are_in_different_parts_of_a_day() -> None:
    # two Mondays before the target: one slot each, then the first Monday's afternoon (not 09:30, the same choice)
    slots = free_slots(NORTH, {}, set(), after=AFTER, until=date(2026, 12, 14), length=TWO_HOURS)
    assert [s.strftime("%d %H:%M") for s, _ in slots] == ["07 09:00", "07 12:00", "14 09:00"]
    # one Monday: its morning and its afternoon, and a shortfall (the facilitator's day ends at five)
    one_day = free_slots(NORTH, {}, set(), after=AFTER, until=date(2026, 12, 7), length=TWO_HOURS)
    assert [s.strftime("%d %H:%M") for s, _ in one_day] == ["07 09:00", "07 12:00"]
    # the choices never overlap one another
    for (start, end), (other_start, other_end) in itertools.combinations(slots, 2):
        assert end <= other_start or other_end <= start


def test_slots_follow_the_familys_times_of_day_and_skip_busy_time() -> None:
    busy = set(blocks(datetime(2026, 12, 7, 13, 0, tzinfo=UTC), datetime(2026, 12, 7, 15, 0, tzinfo=UTC)))
    slots = free_slots(
        NORTH,
        {"days": ["monday"], "times_of_day": ["afternoon"]},
        busy,
        after=AFTER,
        until=date(2026, 12, 31),
        length=TWO_HOURS,
    )
    assert [s.strftime("%d %H:%M") for s, _ in slots] == ["07 15:00", "14 12:00", "21 12:00"]


def test_no_slot_beyond_the_target_or_on_a_day_the_family_cannot_do() -> None:
    assert (
        free_slots(NORTH, {"days": ["tuesday"]}, set(), after=AFTER, until=date(2026, 12, 31), length=TWO_HOURS) == []
    )
    assert free_slots(NORTH, {}, set(), after=AFTER, until=date(2026, 12, 6), length=TWO_HOURS) == []


def test_summer_time_slots_are_an_hour_earlier_in_utc() -> None:
    july = datetime(2027, 6, 29, 12, 0, tzinfo=UTC)
    [first] = free_slots(NORTH, {}, set(), after=july, until=date(2027, 7, 31), length=TWO_HOURS, wanted=1)
    assert first[0].isoformat() == "2027-07-05T08:00:00+00:00"  # 09:00 BST


def test_working_days_skip_weekends_and_english_bank_holidays() -> None:
    assert not is_working_day(date(2026, 12, 25)) and not is_working_day(date(2026, 12, 28))  # Boxing Day substitute
    assert add_working_days(date(2026, 12, 24), 1) == date(2026, 12, 29)
    assert add_working_days(date(2026, 12, 1), 20) == date(2026, 12, 31)
