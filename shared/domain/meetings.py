"""Facilitators and meetings as the domain sees them: what a booking, a move or a cancellation must say, the
15-minute blocks a meeting holds, and the refusals a booking can meet."""

from __future__ import annotations

import re
from datetime import UTC, datetime, time, timedelta
from typing import Annotated

from pydantic import AwareDatetime, BaseModel, ConfigDict, EmailStr, Field, StringConstraints, model_validator

from shared.domain.errors import Conflict, Invalid
from shared.domain.referrals import Day, VenueType

BLOCK = timedelta(minutes=15)


MAX_MEETING = timedelta(hours=4)


FACILITATOR_ID = re.compile(r"[a-z0-9][a-z0-9-]{0,39}")


FacilitatorId = Annotated[str, StringConstraints(pattern=rf"^{FACILITATOR_ID.pattern}$")]


Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]


Reason = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000)]


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
