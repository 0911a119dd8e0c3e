"""Facilitators as people the coordinators name on screen (issue 19, item 4): a name, a work email, the localities
they work in and their weekly hours. Saving one makes every waiting referral's proposal again, as
`meetings.set_availability` (the API's route) does, through the same `recompute_waiting`.

A facilitator's id is made by the service ("f-" and 8 hex digits), never from their name: ids travel in events and
logs, names do not. The item keeps `locality` (the first of the localities) for readers that know only one.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, EmailStr, Field, StringConstraints, field_validator

from shared.adapters import table
from shared.adapters.dynamodb import Cancelled, ReferralReader, put, transact
from shared.config import Settings
from shared.domain import clock
from shared.domain.actors import Actor
from shared.domain.errors import Conflict, NotFound
from shared.domain.meetings import FACILITATOR_ID, WeeklyWindow
from shared.domain.referrals import STATED
from shared.service.proposals import KIND_FACILITATOR, Recomputed, recompute_waiting

ID_PREFIX = "f-"
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100, pattern=STATED)]
Locality = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=60, pattern=STATED)]
SHOWN = ("facilitator_id", "name", "email", "localities", "locality", "weekly", "version", "updated_at")


class FacilitatorDetails(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, frozen=True)

    name: Name = Field(title="the facilitator's name")
    email: EmailStr = Field(title="the facilitator's work email")
    localities: list[Locality] = Field(min_length=1, max_length=10, title="the localities they work in")
    weekly: list[WeeklyWindow] = Field(max_length=28, title="their weekly availability")

    @field_validator("localities")
    @classmethod
    def _distinct(cls, values: list[str]) -> list[str]:
        if len({v.casefold() for v in values}) != len(values):
            raise ValueError("List each locality once")
        return values


class NotAFacilitator(NotFound):
    def __init__(self) -> None:
        super().__init__("There is no facilitator with this id")


@dataclass(frozen=True)
class Saved:
    facilitator: dict[str, Any]
    proposals: Recomputed  # the waiting referrals' proposals, made again


def view(item: dict[str, Any]) -> dict[str, Any]:
    shown = {key: item[key] for key in SHOWN if key in item}
    shown.setdefault("localities", [item["locality"]] if item.get("locality") else [])
    shown.setdefault("name", "")
    shown["version"] = int(item.get("version") or 0)
    return shown


def every(reader: ReferralReader) -> list[dict[str, Any]]:
    """Every facilitator, by name: one Query of their shared partition."""
    found = [
        view(item)
        for item in reader.partition_of(table.FACILITATORS_PK)
        if item.get(table.KIND_ATTRIBUTE) == KIND_FACILITATOR
    ]
    return sorted(found, key=lambda f: (str(f["name"]).casefold() or "~", f["facilitator_id"]))


def check_id(facilitator_id: str) -> str:
    """An id that cannot be one is not found (before anything is read)."""
    if not FACILITATOR_ID.fullmatch(facilitator_id):
        raise NotAFacilitator()
    return facilitator_id


def one(reader: ReferralReader, facilitator_id: str) -> dict[str, Any]:
    item = reader.item(table.facilitator_key(check_id(facilitator_id)))
    if item is None or item.get(table.KIND_ATTRIBUTE) != KIND_FACILITATOR:
        raise NotAFacilitator()
    return view(item)


def add(
    details: FacilitatorDetails,
    *,
    actor: Actor,
    reader: ReferralReader,
    settings: Settings,
    now: datetime | None = None,
) -> Saved:
    facilitator_id = ID_PREFIX + uuid.uuid4().hex[:8]
    return _save(facilitator_id, details, None, actor=actor, reader=reader, settings=settings, now=now)


def change(
    facilitator_id: str,
    details: FacilitatorDetails,
    *,
    expected_version: int | None,
    actor: Actor,
    reader: ReferralReader,
    settings: Settings,
    now: datetime | None = None,
) -> Saved:
    """Replace a facilitator's details, if nobody changed them since they were read (`expected_version`)."""
    current = one(reader, facilitator_id)
    if expected_version is not None and expected_version != current["version"]:
        raise Conflict("Someone changed this facilitator since you opened it: check the details and try again")
    return _save(facilitator_id, details, current["version"], actor=actor, reader=reader, settings=settings, now=now)


def _save(
    facilitator_id: str,
    details: FacilitatorDetails,
    version: int | None,
    *,
    actor: Actor,
    reader: ReferralReader,
    settings: Settings,
    now: datetime | None,
) -> Saved:
    now = now or clock.now()
    values = details.model_dump(mode="json")
    item = {
        **table.facilitator_key(facilitator_id),
        table.KIND_ATTRIBUTE: KIND_FACILITATOR,
        "facilitator_id": facilitator_id,
        **values,
        "locality": values["localities"][0],
        "version": (version or 0) + 1,
        "updated_at": clock.iso(now),
        "updated_by": actor.audit_name,
    }
    if version is None:  # a new id: never over another facilitator
        condition, names, expected = f"attribute_not_exists({table.PARTITION_KEY})", None, None
    elif version == 0:  # made through the API, before facilitators had versions
        condition, names, expected = "attribute_not_exists(#v)", {"#v": "version"}, None
    else:
        condition, names, expected = "#v = :v", {"#v": "version"}, {":v": version}
    try:
        transact([put(item, settings.table_name, condition, expected, names=names)], settings.table_name)
    except Cancelled:
        raise Conflict(
            "Someone changed this facilitator since you opened it: check the details and try again"
        ) from None
    recomputed = recompute_waiting(reader=reader, settings=settings, now=now, because="availability_changed")
    return Saved(view(item), recomputed)
