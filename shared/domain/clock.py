"""The time every function reads. In AWS it is the system clock; the local runtime may move it forward."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

LONDON = ZoneInfo("Europe/London")  # the service's days and times are England's

_offset = timedelta(0)


def now() -> datetime:
    return datetime.now(UTC) + _offset


def set_offset(seconds: float) -> None:
    """Used by the local runtime only: each invocation carries the local clock's offset from real time."""
    global _offset  # noqa: PLW0603 - one clock per process, as in Lambda
    _offset = timedelta(seconds=seconds)


def iso(moment: datetime) -> str:
    """A UTC moment as the table and the API write it: ISO 8601 with a Z."""
    return moment.isoformat().replace("+00:00", "Z")
