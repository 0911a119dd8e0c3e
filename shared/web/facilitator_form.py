"""The console's facilitator form: a name, a work email, localities (separated by commas) and, for each day of the
week, the hours they work (`09:30-16:00`, or several spans separated by commas; empty: not that day), read into the
service's `FacilitatorDetails`, with each problem named against the box to fix."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from shared.domain.validation import field_errors
from shared.service.facilitators import FacilitatorDetails

DAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_SPAN = re.compile(r"^([01]?[0-9]|2[0-3])[:.]([0-5][0-9])\s*(?:-|\u2013|to)\s*([01]?[0-9]|2[0-3])[:.]([0-5][0-9])$")
MAX_BOX = 200


@dataclass
class FacilitatorForm:
    values: dict[str, str]
    errors: list[dict[str, str]] = field(default_factory=list)

    def error(self, name: str) -> str | None:
        return next((e["text"] for e in self.errors if e["href"] == f"#{name}"), None)


def prefilled(facilitator: dict[str, Any] | None) -> FacilitatorForm:
    """The form as it opens: empty, or the facilitator as stored."""
    values = {"name": "", "email": "", "localities": "", **{f"hours_{day}": "" for day in DAYS}}
    if facilitator:
        values |= {
            "name": str(facilitator.get("name") or ""),
            "email": str(facilitator.get("email") or ""),
            "localities": ", ".join(facilitator.get("localities") or []),
        }
        for day in DAYS:
            spans = [w for w in facilitator.get("weekly") or [] if w.get("day") == day]
            values[f"hours_{day}"] = ", ".join(f"{w['start'][:5]}-{w['end'][:5]}" for w in spans)
    return FacilitatorForm(values)


def weekly_words(weekly: list[dict[str, Any]]) -> str:
    """`Monday 09:00-17:00; Tuesday …`, for the list of facilitators."""
    parts = []
    for day in DAYS:
        spans = [f"{w['start'][:5]}-{w['end'][:5]}" for w in weekly if w.get("day") == day]
        if spans:
            parts.append(f"{day.capitalize()} {', '.join(spans)}")
    return "; ".join(parts) or "No hours set"


def read(form: dict[str, Any]) -> tuple[FacilitatorDetails | None, FacilitatorForm]:
    """The details the form gives, or None and the form with its problems."""
    names = ("name", "email", "localities", *(f"hours_{day}" for day in DAYS))
    values = {name: str(form.get(name) or "").strip()[:MAX_BOX] for name in names}
    checked = FacilitatorForm(values)
    weekly: list[dict[str, str]] = []
    for day in DAYS:
        box = f"hours_{day}"
        for span in (part.strip() for part in values[box].split(",") if part.strip()):
            found = _SPAN.match(span)
            if not found:
                problem = f"Enter {day.capitalize()}'s hours like 09:30-16:00, or leave it empty"
                checked.errors.append({"text": problem, "href": f"#{box}"})
                break
            start = f"{int(found.group(1)):02d}:{found.group(2)}"
            end = f"{int(found.group(3)):02d}:{found.group(4)}"
            if end <= start:
                checked.errors.append(
                    {"text": f"{day.capitalize()}'s hours must end after they start", "href": f"#{box}"}
                )
                break
            weekly.append({"day": day, "start": start, "end": end})
    if not weekly and not checked.errors:
        checked.errors.append({"text": "Enter the hours of at least one day", "href": "#hours_monday"})
    localities = [part.strip() for part in values["localities"].split(",") if part.strip()]
    body = {"name": values["name"], "email": values["email"], "localities": localities, "weekly": weekly}
    try:
        details = FacilitatorDetails.model_validate(body)
    except ValidationError as exc:
        for found_error in field_errors(FacilitatorDetails, exc):
            box = found_error["field"].split(".")[0]
            if box in ("name", "email", "localities") and not checked.error(box):
                checked.errors.append({"text": found_error["message"], "href": f"#{box}"})
        details = None
        if not checked.errors:
            checked.errors.append({"text": "Check the hours: each span is once, within a day", "href": "#hours_monday"})
    if checked.errors or details is None:
        order = {box: n for n, box in enumerate(names)}
        checked.errors.sort(key=lambda e: order.get(e["href"][1:], 99))
        return None, checked
    return details, checked
