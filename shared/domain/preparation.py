"""Preparing the family and the network for their meeting: the coordinator's contacts (a visit or a call), the
family's decision to go ahead, the checklist a booking waits for, and each child's voice.

The first thing a coordinator records in preparation (a contact, the family's decision, a checklist item, a child's
voice) moves an accepted referral to `preparing`; a meeting is booked only from `preparing`, once every item of the
deployment's checklist (`familynet:preparation_checklist`) is met. The family declining closes the referral
(`family_declined`). Notes, wishes and feelings and advocates' names are personal free text: they stay in the
referral's partition (audited by id), never in an event, a log line or an email.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import date
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator, model_validator

from shared.domain.errors import Invalid, NotFound
from shared.domain.referrals import MAX_CHILDREN, STATED, LongText, Name, today

# Every item a deployment may put on its checklist, in the order shown. `family_agreed` is met by the family's
# recorded decision to go ahead (it cannot be ticked); the others are ticked by the coordinator.
CHECKLIST: dict[str, str] = {
    "family_agreed": "The family agreed to go ahead",
    "network_identified": "The family's network identified",
    "child_views_sought": "Each child's views sought",
    "participants_invited": "Everyone taking part invited",
    "interpreter_arranged": "An interpreter arranged, where one is needed",
    "safety_considered": "Safety considered: who attends, and who attends separately",
    "venue_agreed": "The venue agreed with the family",
}
FROM_DECISION = "family_agreed"
TICKED = tuple(key for key in CHECKLIST if key != FROM_DECISION)
DEFAULT_CHECKLIST = ("family_agreed", "network_identified", "child_views_sought")

ContactMethod = Literal["visit", "call"]
CONTACT_METHODS: dict[str, str] = {"visit": "Visit", "call": "Phone or video call"}
Participation = Literal["attends", "part_of_meeting", "advocate", "written_or_drawn"]
PARTICIPATION: dict[str, str] = {
    "attends": "Attends the meeting",
    "part_of_meeting": "Attends part of the meeting",
    "advocate": "Through an advocate",
    "written_or_drawn": "A written or drawn contribution",
}
Note = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=1000, pattern=STATED)]
TickedItem = Literal[
    "network_identified",
    "child_views_sought",
    "participants_invited",
    "interpreter_arranged",
    "safety_considered",
    "venue_agreed",
]


class _Input(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, frozen=True)


def _not_in_future(value: date, what: str) -> date:
    if value > today():
        raise ValueError(f"{what} must be today or in the past")
    return value


class Contact(_Input):
    """A visit to, or a call with, the family or someone in their network."""

    method: ContactMethod = Field(title="how you were in touch")
    contacted_on: date = Field(title="the date of the contact")
    note: Note = Field(
        title="a short note of the contact",
        description="Personal free text: kept with the referral and audited by id, never in an event, a log or an "
        "email",
    )

    @field_validator("contacted_on")
    @classmethod
    def _past(cls, value: date) -> date:
        return _not_in_future(value, "The date of the contact")


class FamilyDecision(_Input):
    """Whether the family goes ahead with the meeting. No closes the referral (`family_declined`), and the referrer
    is told (the reference and a fixed sentence only)."""

    go_ahead: bool = Field(title="whether the family agreed to go ahead")
    decided_on: date = Field(title="the date the family decided")
    note: Note | None = Field(default=None, title="a short note of what the family said")

    @field_validator("decided_on")
    @classmethod
    def _past(cls, value: date) -> date:
        return _not_in_future(value, "The date the family decided")


class ChecklistUpdate(_Input):
    """The checklist's ticked items as they now stand (an item left out is not done). The family's agreement is not
    ticked: it is met by the family's decision."""

    done: list[TickedItem] = Field(default_factory=list, title="the checklist items done", max_length=len(CHECKLIST))

    @field_validator("done")
    @classmethod
    def _once(cls, value: list[str]) -> list[str]:
        if len(set(value)) != len(value):
            raise ValueError("List each checklist item once")
        return value


class ChildVoice(_Input):
    """One child's voice in their meeting: what they wish and feel, how they take part, and their advocate."""

    wishes_and_feelings: LongText | None = Field(
        default=None,
        title="the child's wishes and feelings",
        description="Personal free text: kept with the referral, never in an event, a log or an email",
    )
    participation: Participation = Field(title="how the child takes part")
    advocate_allocated: bool = Field(title="whether an advocate is allocated")
    advocate_name: Name | None = Field(default=None, title="the advocate's name")

    @model_validator(mode="after")
    def _advocate(self) -> ChildVoice:
        if self.advocate_name is not None and not self.advocate_allocated:
            raise ValueError("Name an advocate only when one is allocated")
        return self


def child_number(value: str) -> int | None:
    """A child's number in the referral (1 for the first child), from a path; None when it cannot be one."""
    if not (value.isascii() and value.isdigit() and len(value) <= 2):
        return None
    number = int(value)
    return number if 1 <= number <= MAX_CHILDREN else None


def check_checklist(items: Iterable[str]) -> tuple[str, ...]:
    """A deployment's checklist: known items, each once, in the catalogue's order (ValueError names the others)."""
    given = [str(item).strip() for item in items]
    unknown = [item for item in given if item not in CHECKLIST]
    if unknown:
        raise ValueError(f"not a checklist item: {', '.join(unknown[:3])} (known: {', '.join(CHECKLIST)})")
    return tuple(key for key in CHECKLIST if key in given)


def checklist_state(configured: Sequence[str], preparation: Mapping[str, Any] | None) -> list[dict[str, Any]]:
    """Each configured item, in order: its label, whether it is done, and whether the family's decision meets it."""
    preparation = preparation or {}
    ticked = preparation.get("checklist") or {}
    decision = preparation.get("family_decision") or {}
    state = []
    for key in check_checklist(configured):
        done = bool(decision.get("go_ahead")) if key == FROM_DECISION else key in ticked
        state.append({"item": key, "label": CHECKLIST[key], "done": done, "from_decision": key == FROM_DECISION})
    return state


class PreparationIncomplete(Invalid):
    """A booking before the checklist is met: 422, naming each item not yet done."""

    def __init__(self, missing: Sequence[str]) -> None:
        labels = [CHECKLIST[key] for key in missing]
        super().__init__(
            "The meeting cannot be booked until the preparation checklist is met. Not yet done: " + "; ".join(labels),
            [
                {"field": f"preparation.checklist.{key}", "message": f"Not yet done: {CHECKLIST[key]}"}
                for key in missing
            ],
        )
        self.missing = tuple(missing)


class NoSuchChild(NotFound):
    """A child's number the referral does not name (1 is the first child)."""

    def __init__(self, children: int | None = None) -> None:
        named = "" if children is None else f": it names {children} (number them from 1)"
        super().__init__(f"There is no such child on this referral{named}")
