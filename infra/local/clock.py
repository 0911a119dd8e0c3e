"""The local clock: real time plus an offset that `POST /_local/clock` moves forward, firing what falls due.

moto stores EventBridge Scheduler schedules but never fires them. The driver reads them back through the
Scheduler API and fires each due occurrence (at, rate, cron, in the schedule's time zone) into its target, in
time order, with the clock set to that occurrence; one-time schedules with ActionAfterCompletion DELETE are
deleted after they fire, as in AWS.
"""

from __future__ import annotations

import json
import logging
import math
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from cronsim import CronSim

log = logging.getLogger("familynet.local")
MAX_OCCURRENCES_PER_ADVANCE = 500  # a rate(1 minute) schedule over 90 days would otherwise fire 129,600 times

_RATE = re.compile(r"^rate\((\d+)\s+(minute|minutes|hour|hours|day|days)\)$")
_AT = re.compile(r"^at\((\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})\)$")
_CRON = re.compile(r"^cron\((.+)\)$")
_AWS_WEEKDAYS = {str(n): str(n - 1) for n in range(1, 8)}  # AWS cron: 1=SUN..7=SAT; standard cron: 0=SUN..6=SAT


class LocalClock:
    def __init__(self) -> None:
        self._offset = timedelta(0)
        self._lock = threading.Lock()

    def now(self) -> datetime:
        with self._lock:
            return datetime.now(UTC) + self._offset

    def offset_seconds(self) -> float:
        with self._lock:
            return self._offset.total_seconds()

    def set(self, moment: datetime) -> None:
        with self._lock:
            self._offset = max(self._offset, moment - datetime.now(UTC))  # never backwards


@dataclass(frozen=True)
class Occurrence:
    at: datetime
    group: str
    name: str
    schedule: dict[str, Any]


def occurrences(schedule: dict[str, Any], after: datetime, until: datetime) -> list[datetime]:
    """The instants in (after, until] at which a schedule fires, in UTC."""
    expression = schedule["ScheduleExpression"].strip()
    zone = ZoneInfo(schedule.get("ScheduleExpressionTimezone") or "UTC")
    start = _utc(schedule.get("StartDate")) or None
    end = _utc(schedule.get("EndDate")) or None
    found: list[datetime] = []
    if match := _AT.match(expression):
        moment = datetime.fromisoformat(match.group(1)).replace(tzinfo=zone).astimezone(UTC)
        found = [moment] if after < moment <= until else []
    elif match := _RATE.match(expression):
        amount, unit = int(match.group(1)), match.group(2).rstrip("s")
        period = timedelta(**{f"{unit}s": amount})
        anchor = start or _utc(schedule.get("CreationDate")) or after
        moment = anchor + period * max(0, math.floor((after - anchor) / period) + 1)
        while moment <= until and len(found) < MAX_OCCURRENCES_PER_ADVANCE:
            if moment > after:
                found.append(moment)
            moment += period
    elif match := _CRON.match(expression):
        minute, hour, day, month, weekday, year = match.group(1).split()
        # Only day numbers change: the n of "6#3" (the third Friday) and the L of "6L" stay as they are.
        weekday = re.sub(r"(?<![#\d])[1-7]", lambda m: _AWS_WEEKDAYS[m.group(0)], weekday.replace("?", "*"))
        day = day.replace("?", "*")
        iterator = CronSim(f"{minute} {hour} {day} {month} {weekday}", after.astimezone(zone))
        for moment_local in iterator:
            moment = moment_local.astimezone(UTC)
            if moment > until or len(found) >= MAX_OCCURRENCES_PER_ADVANCE:
                break
            if year in ("*", "?") or str(moment_local.year) in year.split(","):
                found.append(moment)
    else:
        log.warning("schedule expression %r is not understood locally", expression)
    if len(found) >= MAX_OCCURRENCES_PER_ADVANCE:
        log.warning(
            "schedule %s: only its first %d occurrences in this jump fire; advance the clock in smaller steps",
            schedule.get("Name", expression),
            MAX_OCCURRENCES_PER_ADVANCE,
        )
    return [m for m in found if (start is None or m >= start) and (end is None or m <= end)]


def _utc(value: Any) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)
    return datetime.fromisoformat(str(value)).astimezone(UTC)


class SchedulerDriver:
    """Fires due schedules. `fire(target, occurrence)` delivers one occurrence; `settle()` waits for its effects."""

    def __init__(
        self,
        clock: LocalClock,
        scheduler: Any,
        fire: Callable[[dict[str, Any], Occurrence], None],
        settle: Callable[[], None],
        static: list[dict[str, Any]] | None = None,
    ) -> None:
        self.clock = clock
        self.static = static or []  # schedules that live outside the Scheduler API (EventBridge scheduled rules)
        self.scheduler = scheduler
        self.fire = fire
        self.settle = settle
        self._checked_until = clock.now()
        self._fired_once: set[tuple[str, str, str]] = set()
        self._lock = threading.Lock()

    def _schedules(self) -> list[dict[str, Any]]:
        groups = [g["Name"] for g in self.scheduler.list_schedule_groups().get("ScheduleGroups", [])] or ["default"]
        found = []
        for group in groups:
            for summary in self.scheduler.list_schedules(GroupName=group).get("Schedules", []):
                try:
                    schedule = self.scheduler.get_schedule(GroupName=group, Name=summary["Name"])
                except self.scheduler.exceptions.ResourceNotFoundException:
                    continue  # deleted since it was listed (a review recorded meanwhile deletes its reminder)
                if schedule.get("State", "ENABLED") == "ENABLED":
                    found.append(schedule)
        return found + self.static

    def run_until(self, until: datetime) -> int:
        """Fire every occurrence in (last check, until], in order; return how many fired."""
        with self._lock:
            due: list[Occurrence] = []
            for schedule in self._schedules():
                group = schedule.get("GroupName", "default")
                for moment in occurrences(schedule, self._checked_until, until):
                    key = (group, schedule["Name"], schedule["ScheduleExpression"])
                    if schedule["ScheduleExpression"].startswith("at(") and key in self._fired_once:
                        continue
                    due.append(Occurrence(moment, group, schedule["Name"], schedule))
            due.sort(key=lambda o: o.at)
            for occurrence in due:
                self.clock.set(occurrence.at)
                self._fire(occurrence)
            self._checked_until = max(self._checked_until, until)
            self.clock.set(until)
            return len(due)

    def _fire(self, occurrence: Occurrence) -> None:
        schedule = occurrence.schedule
        log.info("schedule %s/%s fires for %s", occurrence.group, occurrence.name, occurrence.at.isoformat())
        try:
            self.fire(schedule["Target"], occurrence)
        except Exception:
            log.exception("schedule %s/%s could not deliver to its target", occurrence.group, occurrence.name)
        if schedule["ScheduleExpression"].startswith("at("):
            self._fired_once.add((occurrence.group, occurrence.name, schedule["ScheduleExpression"]))
            if schedule.get("ActionAfterCompletion") == "DELETE":
                self.scheduler.delete_schedule(GroupName=occurrence.group, Name=occurrence.name)
        self.settle()

    def advance(self, delta: timedelta) -> int:
        return self.run_until(self.clock.now() + delta)

    def tick(self) -> int:
        return self.run_until(self.clock.now())


def input_of(target: dict[str, Any]) -> str:
    return str(target.get("Input") or json.dumps({}))
