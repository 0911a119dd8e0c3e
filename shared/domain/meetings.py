"""Facilitators and meetings as the domain sees them: what a booking, a move or a cancellation must say, the
15-minute blocks a meeting holds, and the refusals a booking can meet."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, time, timedelta
from typing import Annotated, Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, EmailStr, Field, StringConstraints, model_validator

from shared.domain.clock import LONDON
from shared.domain.errors import Conflict, Invalid
from shared.domain.referrals import STATED, Day, VenueType

BLOCK = timedelta(minutes=15)


MAX_MEETING = timedelta(hours=4)


FACILITATOR_ID = re.compile(r"[a-z0-9][a-z0-9-]{0,39}")


FacilitatorId = Annotated[str, StringConstraints(pattern=rf"^{FACILITATOR_ID.pattern}$")]


Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200, pattern=STATED)]


Reason = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000, pattern=STATED)]


class _Input(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, frozen=True)


class WeeklyWindow(_Input):
    day: Day = Field(title="the day of the week")
    start: time = Field(title="the start time")
    end: time = Field(title="the end time")

    @model_validator(mode="after")
    def _ordered(self) -> WeeklyWindow:
        if self.end <= self.start:
            raise ValueError("The end time must be after the start time")
        return self


class Availability(_Input):
    locality: Text = Field(title="the facilitator's locality")
    email: EmailStr | None = Field(default=None, title="the facilitator's work email (for invitations)")
    weekly: list[WeeklyWindow] = Field(title="the facilitator's weekly availability", max_length=28)


class Venue(_Input):
    type: VenueType = Field(title="the kind of venue")
    details: Text | None = Field(default=None, title="where exactly")


class MeetingRequest(_Input):
    starts_at: AwareDatetime = Field(title="when the meeting starts")
    ends_at: AwareDatetime = Field(title="when the meeting ends")
    venue: Venue = Field(title="the venue")
    facilitator_id: FacilitatorId = Field(title="the facilitator")
    exception_reason: Reason | None = Field(
        default=None,
        title="why the meeting is outside the facilitator's availability",
        description="The coordinator confirms an exception to the facilitator's weekly availability by giving its "
        "reason (audited). Without it, a time outside the availability is refused. Never one for a past time.",
    )

    @model_validator(mode="after")
    def _sensible(self) -> MeetingRequest:
        if self.ends_at <= self.starts_at:
            raise ValueError("The meeting must end after it starts")
        if self.ends_at - self.starts_at > MAX_MEETING:
            raise ValueError("A meeting can last at most 4 hours")
        return self


class CancelRequest(_Input):
    reason: Reason = Field(title="why the meeting is cancelled")


class DoubleBooked(Conflict):
    """Another meeting holds one of the facilitator's blocks: the second booking never commits."""

    def __init__(self, facilitator_id: str) -> None:
        super().__init__(
            f"The facilitator {facilitator_id} is already booked at that time: choose another slot", field="starts_at"
        )


class UnknownFacilitator(Invalid):
    def __init__(self, facilitator_id: str) -> None:
        super().__init__(
            "The meeting has problems to fix",
            [{"field": "facilitator_id", "message": "There is no facilitator with this id"}],
        )
        self.facilitator_id = facilitator_id


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def blocks(starts_at: datetime, ends_at: datetime) -> list[str]:
    """The 15-minute blocks a meeting touches (UTC, ISO): any two overlapping meetings share at least one."""
    start = starts_at.astimezone(UTC)
    step = int(BLOCK.total_seconds() // 60)
    first = start.replace(minute=start.minute - start.minute % step, second=0, microsecond=0)
    found = []
    moment = first
    while moment < ends_at:
        found.append(_iso(moment))
        moment += BLOCK
    return found


class OutcomeTooEarly(Invalid):
    def __init__(self) -> None:
        message = "A meeting cannot be recorded as held on a date still to come"
        super().__init__(message, [{"field": "held_on", "message": message}])


# --- when a meeting may be -------------------------------------------------------------------------------------
DAY_NAMES = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
TimeRule = Literal["past", "before_referral", "outside_availability"]


class MeetingTimeRefused(Invalid):
    """A time no one can attend or no one agreed to: past, before the referral was received, or outside the
    facilitator's availability without a confirmed exception. `rule` says which, for a front door's own words."""

    def __init__(self, rule: TimeRule, message: str, errors: list[dict[str, str]]) -> None:
        super().__init__(message, errors)
        self.rule = rule


def _when(moment: datetime) -> str:
    local = moment.astimezone(LONDON)
    return f"{local:%A} {local.day} {local:%B %Y} at {local:%H:%M}"


def weekly_windows(weekly: Iterable[Mapping[str, Any]]) -> list[WeeklyWindow]:
    """A facilitator's weekly availability as stored (day, start, end as ISO times), in weekday and time order."""
    windows = [WeeklyWindow.model_validate(dict(window)) for window in weekly]
    return sorted(windows, key=lambda w: (DAY_NAMES.index(w.day), w.start))


def within_availability(starts_at: datetime, ends_at: datetime, windows: Iterable[WeeklyWindow]) -> bool:
    """Whether the whole meeting falls inside one of the facilitator's weekly windows, in England's time."""
    start, end = starts_at.astimezone(LONDON), ends_at.astimezone(LONDON)
    if start.date() != end.date():
        return False
    day = DAY_NAMES[start.weekday()]
    return any(w.day == day and w.start <= start.time() and end.time() <= w.end for w in windows)


def described(windows: Iterable[WeeklyWindow]) -> str:
    found = [f"{w.day.capitalize()} {w.start:%H:%M} to {w.end:%H:%M}" for w in windows]
    return ", ".join(found) if found else "none stated"


def check_meeting_time(
    request: MeetingRequest, *, now: datetime, received_at: datetime, weekly: Iterable[Mapping[str, Any]]
) -> str | None:
    """Refuse a meeting no one can attend: it starts in the future (the system clock), after the referral was
    received, and within the facilitator's weekly availability, unless the coordinator confirms an exception with a
    reason. Returns that reason when the booking is such an exception (None when it needs none)."""
    if request.starts_at <= now:
        message = f"The meeting must start in the future: {_when(request.starts_at)} has passed"
        raise MeetingTimeRefused("past", message, [{"field": "starts_at", "message": message}])
    if request.starts_at <= received_at:
        message = (
            f"The meeting must start after the referral was received ({_when(received_at)}): "
            f"{_when(request.starts_at)} is before it"
        )
        raise MeetingTimeRefused("before_referral", message, [{"field": "starts_at", "message": message}])
    windows = weekly_windows(weekly)
    if within_availability(request.starts_at, request.ends_at, windows):
        return None
    if request.exception_reason:
        return request.exception_reason
    message = (
        f"{_when(request.starts_at)} to {request.ends_at.astimezone(LONDON):%H:%M} is outside the facilitator's "
        f"availability ({described(windows)}): choose a time within it, or confirm an exception with its reason"
    )
    raise MeetingTimeRefused(
        "outside_availability",
        message,
        [
            {"field": "starts_at", "message": message},
            {
                "field": "exception_reason",
                "message": "To book outside the facilitator's availability, give the reason for the exception",
            },
        ],
    )
