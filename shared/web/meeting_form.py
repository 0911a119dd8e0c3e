"""The console's meeting form: book a meeting (from a proposed slot or any time) or move it, as a person fills it in
(a date in three boxes, a start time, a length, a venue), read into the API's own `MeetingRequest`, with each
problem named against the field to fix."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

from pydantic import ValidationError

from shared.domain.clock import LONDON
from shared.domain.meetings import MeetingRequest, MeetingTimeRefused
from shared.domain.validation import field_errors

VENUE_CHOICES = (
    ("family_home", "At the family's home"),
    ("family_hub", "At a Family Hub"),
    ("community_venue", "At a community venue"),
    ("school", "At a school"),
    ("online", "Online"),
)
LENGTHS = (60, 90, 120, 150, 180, 240)
FIRST_YEAR, LAST_YEAR = 2000, 2100
_TIME = re.compile(r"^([01]?[0-9]|2[0-3])[:.]([0-5][0-9])$")
# the model's field → the form's field an error summary links to
_FIELD_OF = {
    "starts_at": "day",
    "ends_at": "length",
    "facilitator_id": "facilitator_id",
    "venue": "venue_type",
    "exception_reason": "exception_reason",
}
MAX_REASON = 2000


@dataclass
class MeetingForm:
    values: dict[str, str]
    errors: list[dict[str, str]] = field(default_factory=list)
    exception_needed: bool = False  # the time is outside the facilitator's availability: ask for the reason

    def refused_time(self, refused: MeetingTimeRefused) -> None:
        """The service's time rules, against the form's fields: a past or early date against the date, a time
        outside the facilitator's availability against the start time, with the box for the exception's reason."""
        self.exception_needed = refused.rule == "outside_availability"
        for problem in refused.errors or []:
            name = "time" if self.exception_needed and problem["field"] == "starts_at" else problem["field"]
            self.errors.append({"text": problem["message"], "href": f"#{_FIELD_OF.get(name, name)}"})

    def error(self, name: str) -> str | None:
        return next((e["text"] for e in self.errors if e["href"] == f"#{name}"), None)


def prefilled(
    meeting: dict[str, Any] | None, slot: dict[str, Any] | None, facilitator_id: str | None, length: int
) -> dict[str, str]:
    """The form as it opens: the meeting being moved, or a proposed slot, or empty."""
    source = meeting or slot
    values = {
        "facilitator_id": facilitator_id or "",
        "length": str(length),
        "venue_type": "",
        "venue_details": "",
        "exception_reason": "",
    }
    if source:
        starts = datetime.fromisoformat(str(source["starts_at"]).replace("Z", "+00:00")).astimezone(LONDON)
        ends = datetime.fromisoformat(str(source["ends_at"]).replace("Z", "+00:00")).astimezone(LONDON)
        values |= {
            "day": str(starts.day),
            "month": str(starts.month),
            "year": str(starts.year),
            "time": starts.strftime("%H:%M"),
            "length": str(int((ends - starts).total_seconds() // 60)),
        }
    if meeting:
        venue = meeting.get("venue") or {}
        values |= {
            "facilitator_id": str(meeting.get("facilitator_id", "")),
            "venue_type": str(venue.get("type", "")),
            "venue_details": str(venue.get("details", "")),
        }
    return values


def read(form: dict[str, Any]) -> tuple[MeetingRequest | None, MeetingForm]:
    """The request the form asks for, or None and the form with its problems."""
    values = {
        name: str(form.get(name) or "").strip()[:200]
        for name in ("facilitator_id", "day", "month", "year", "time", "length", "venue_type", "venue_details")
    }
    values["exception_reason"] = str(form.get("exception_reason") or "").strip()
    checked = MeetingForm(values, exception_needed=bool(values["exception_reason"]))
    starts = _start(values, checked)
    if len(values["exception_reason"]) > MAX_REASON:
        checked.errors.append(
            {"text": f"The reason must be {MAX_REASON} characters or fewer", "href": "#exception_reason"}
        )
    length = int(values["length"]) if values["length"].isascii() and values["length"].isdigit() else 0
    if length not in LENGTHS:
        checked.errors.append({"text": "Choose how long the meeting lasts", "href": "#length"})
    if values["venue_type"] not in {value for value, _ in VENUE_CHOICES}:
        checked.errors.append({"text": "Choose where the meeting is", "href": "#venue_type"})
    if not values["facilitator_id"]:
        checked.errors.append({"text": "Choose the facilitator", "href": "#facilitator_id"})
    if checked.errors or starts is None:
        return None, checked
    body = {
        "starts_at": starts.isoformat(),
        "ends_at": (starts + timedelta(minutes=length)).isoformat(),
        "facilitator_id": values["facilitator_id"],
        "venue": {
            "type": values["venue_type"],
            **({"details": values["venue_details"]} if values["venue_details"] else {}),
        },
        **({"exception_reason": values["exception_reason"]} if values["exception_reason"] else {}),
    }
    try:
        return MeetingRequest.model_validate(body), checked
    except ValidationError as exc:
        for problem in field_errors(MeetingRequest, exc):
            name = _FIELD_OF.get(problem["field"].split(".")[0], "day")
            checked.errors.append({"text": problem["message"], "href": f"#{name}"})
        return None, checked


def _start(values: dict[str, str], checked: MeetingForm) -> datetime | None:
    parts = [values["day"], values["month"], values["year"]]
    if not all(p.isascii() and p.isdigit() and len(p) <= 4 for p in parts):
        checked.errors.append({"text": "Enter the date of the meeting, like 8 12 2026", "href": "#day"})
        return None
    if not FIRST_YEAR <= int(values["year"]) <= LAST_YEAR:  # and no arithmetic on it can leave datetime's range
        checked.errors.append({"text": f"Enter a year from {FIRST_YEAR} to {LAST_YEAR}", "href": "#day"})
        return None
    try:
        day = date(int(values["year"]), int(values["month"]), int(values["day"]))
    except ValueError:
        checked.errors.append({"text": "The date of the meeting must be a real date", "href": "#day"})
        return None
    found = _TIME.match(values["time"])
    if not found:
        checked.errors.append({"text": "Enter the start time in 24 hours, like 14:30", "href": "#time"})
        return None
    return datetime.combine(day, time(int(found.group(1)), int(found.group(2))), tzinfo=LONDON)
