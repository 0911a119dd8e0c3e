"""The console's preparation forms, as a person fills them in (a date in three boxes, choices as radios and
checkboxes), read into the domain's own models (shared/domain/preparation.py), each problem named against the box to
fix: a contact, the family's decision, the checklist, and a child's voice."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from shared.domain.preparation import (
    CONTACT_METHODS,
    PARTICIPATION,
    ChecklistUpdate,
    ChildVoice,
    Contact,
    FamilyDecision,
)
from shared.domain.validation import field_errors

ModelT = TypeVar("ModelT", bound=BaseModel)
MAX_BOX = 200
MAX_TEXT = 6000  # what a text box keeps to show back (the models' own limits give the message)
FIRST_YEAR, LAST_YEAR = 2000, 2100


@dataclass
class PreparationForm:
    """One form's values as typed and its problems (`href` names the box: `#contact_note`)."""

    name: str  # contact | decision | checklist | voice
    values: dict[str, Any] = field(default_factory=dict)
    errors: list[dict[str, str]] = field(default_factory=list)

    def error(self, box: str) -> str | None:
        return next((e["text"] for e in self.errors if e["href"] == f"#{box}"), None)


def _text(form: dict[str, Any], name: str, limit: int = MAX_BOX) -> str:
    value = form.get(name)
    return str(value).strip()[:limit] if isinstance(value, str) else ""


def _date(values: dict[str, Any], prefix: str, what: str, checked: PreparationForm) -> date | None:
    parts = [values[f"{prefix}_{part}"] for part in ("day", "month", "year")]
    if not all(p.isascii() and p.isdigit() and len(p) <= 4 for p in parts):
        checked.errors.append({"text": f"Enter {what}, like 27 11 2026", "href": f"#{prefix}_day"})
        return None
    if not FIRST_YEAR <= int(parts[2]) <= LAST_YEAR:
        checked.errors.append({"text": f"Enter a year from {FIRST_YEAR} to {LAST_YEAR}", "href": f"#{prefix}_day"})
        return None
    try:
        return date(int(parts[2]), int(parts[1]), int(parts[0]))
    except ValueError:
        checked.errors.append({"text": f"{what[0].upper()}{what[1:]} must be a real date", "href": f"#{prefix}_day"})
        return None


def _validated(
    model: type[ModelT], body: dict[str, Any], boxes: dict[str, str], checked: PreparationForm
) -> ModelT | None:
    """The model, or None with each problem against its box (`boxes`: the model's field → the form's box)."""
    if checked.errors:
        return None
    try:
        return model.model_validate(body)
    except ValidationError as exc:
        for problem in field_errors(model, exc):
            box = boxes.get(problem["field"].split(".")[0], next(iter(boxes.values())))
            checked.errors.append({"text": problem["message"], "href": f"#{box}"})
        return None


def read_contact(form: dict[str, Any]) -> tuple[Contact | None, PreparationForm]:
    values = {name: _text(form, name) for name in ("contact_method", "contact_day", "contact_month", "contact_year")}
    values["contact_note"] = _text(form, "contact_note", MAX_TEXT)
    checked = PreparationForm("contact", values)
    if values["contact_method"] not in CONTACT_METHODS:
        checked.errors.append({"text": "Choose whether you visited or called", "href": "#contact_method"})
    day = _date(values, "contact", "the date of the contact", checked)
    if not values["contact_note"]:
        checked.errors.append({"text": "Enter a short note of the contact", "href": "#contact_note"})
    body = {"method": values["contact_method"], "contacted_on": day, "note": values["contact_note"]}
    boxes = {"method": "contact_method", "contacted_on": "contact_day", "note": "contact_note"}
    return _validated(Contact, body, boxes, checked), checked


def read_decision(form: dict[str, Any]) -> tuple[FamilyDecision | None, PreparationForm]:
    values = {name: _text(form, name) for name in ("go_ahead", "decided_day", "decided_month", "decided_year")}
    values["decision_note"] = _text(form, "decision_note", MAX_TEXT)
    checked = PreparationForm("decision", values)
    if values["go_ahead"] not in ("yes", "no"):
        checked.errors.append({"text": "Choose whether the family wants to go ahead", "href": "#go_ahead"})
    day = _date(values, "decided", "the date the family decided", checked)
    body = {
        "go_ahead": values["go_ahead"] == "yes",
        "decided_on": day,
        **({"note": values["decision_note"]} if values["decision_note"] else {}),
    }
    boxes = {"go_ahead": "go_ahead", "decided_on": "decided_day", "note": "decision_note"}
    return _validated(FamilyDecision, body, boxes, checked), checked


def read_checklist(form: dict[str, Any], configured: tuple[str, ...]) -> tuple[ChecklistUpdate | None, PreparationForm]:
    ticked = form.get("done")
    done = [str(item) for item in ticked] if isinstance(ticked, list) else []
    checked = PreparationForm("checklist", {"done": done})
    if any(item not in configured for item in done):
        checked.errors.append({"text": "Tick only the items on the checklist", "href": "#done"})
    return _validated(ChecklistUpdate, {"done": done}, {"done": "done"}, checked), checked


def voice_values(voice: dict[str, Any] | None) -> dict[str, Any]:
    """The child's voice form as it opens: empty, or as recorded."""
    voice = voice or {}
    allocated = voice.get("advocate_allocated")
    return {
        "wishes_and_feelings": str(voice.get("wishes_and_feelings") or ""),
        "participation": str(voice.get("participation") or ""),
        "advocate_allocated": "" if allocated is None else "yes" if allocated else "no",
        "advocate_name": str(voice.get("advocate_name") or ""),
    }


def read_child_voice(form: dict[str, Any]) -> tuple[ChildVoice | None, PreparationForm]:
    values = {name: _text(form, name) for name in ("participation", "advocate_allocated", "advocate_name")}
    values["wishes_and_feelings"] = _text(form, "wishes_and_feelings", MAX_TEXT)
    checked = PreparationForm("voice", values)
    if values["participation"] not in PARTICIPATION:
        checked.errors.append({"text": "Choose how the child takes part", "href": "#participation"})
    if values["advocate_allocated"] not in ("yes", "no"):
        checked.errors.append({"text": "Choose whether an advocate is allocated", "href": "#advocate_allocated"})
    if values["advocate_allocated"] == "no" and values["advocate_name"]:
        checked.errors.append(
            {
                "text": "Leave the advocate's name empty, or choose that an advocate is allocated",
                "href": "#advocate_name",
            }
        )
    body = {
        "participation": values["participation"],
        "advocate_allocated": values["advocate_allocated"] == "yes",
        **({"wishes_and_feelings": values["wishes_and_feelings"]} if values["wishes_and_feelings"] else {}),
        **({"advocate_name": values["advocate_name"]} if values["advocate_name"] else {}),
    }
    boxes = {
        "wishes_and_feelings": "wishes_and_feelings",
        "participation": "participation",
        "advocate_allocated": "advocate_allocated",
        "advocate_name": "advocate_name",
    }
    return _validated(ChildVoice, body, boxes, checked), checked
