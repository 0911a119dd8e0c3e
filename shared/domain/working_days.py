"""Working days in England: Monday to Friday, less England's bank holidays (the `holidays` package, GB/ENG)."""

from __future__ import annotations

from datetime import date, timedelta
from functools import lru_cache


@lru_cache(maxsize=16)
def _bank_holidays(year: int) -> frozenset[date]:
    # deferred: the holidays package costs ~14 ms to import, which only a request that counts working days needs
    import holidays  # noqa: PLC0415

    return frozenset(holidays.country_holidays("GB", subdiv="ENG", years=[year]))


def is_working_day(day: date) -> bool:
    return day.weekday() < 5 and day not in _bank_holidays(day.year)


def subtract_working_days(end: date, days: int) -> date:
    """The date `days` working days before `end`."""
    current, left = end, days
    while left > 0:
        current -= timedelta(days=1)
        if is_working_day(current):
            left -= 1
    return current


def add_working_days(start: date, days: int) -> date:
    """The date `days` working days after `start` (start itself not counted)."""
    current, left = start, days
    while left > 0:
        current += timedelta(days=1)
        if is_working_day(current):
            left -= 1
    return current


def working_days_between(start: date, end: date) -> int:
    """How many working days fall after `start` up to and including `end` (0 when end is not after start)."""
    count, current = 0, start
    while current < end:
        current += timedelta(days=1)
        if is_working_day(current):
            count += 1
    return count
