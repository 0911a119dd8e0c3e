"""The Early Help network's directory: community partners, what they offer and where, for coordinators to connect
families with (issue 10).

A partner is one item (`PARTNER#<id>` / `PARTNER`) and, while active, a few listing items in the directory index
(`by_directory`): one per offer, one per locality and one for "all", each a copy of the partner's summary. So every
directory question is one Query of one index partition (by offer, by locality, or everything), never a Scan; asked
by offer and locality, the offer's partition is read and filtered on the locality. A deactivated partner leaves the
directory but is never deleted (connections refer to it). Every change is one transaction with its audit entry.
"""

from __future__ import annotations

import re
import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, EmailStr, Field, StrictBool, StringConstraints, field_validator

from shared.adapters import table
from shared.adapters.dynamodb import Cancelled, ReferralReader, put, to_item, transact
from shared.config import Settings
from shared.domain import clock
from shared.domain.actors import Actor
from shared.domain.errors import Conflict, NotFound
from shared.domain.referrals import STATED

Offer = Literal[
    "activities",
    "practical_support",
    "items",
    "transport",
    "counselling",
    "mediation",
    "parenting",
    "advice",
    "other",
]
PartnerKind = Literal["charity", "faith_or_community_group", "family_hub", "council_service", "other"]
Locality = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=60, pattern=STATED)]
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=120, pattern=STATED)]
KIND_PARTNER = "partner"
KIND_LISTING = "listing"
PARTNER_ID_PREFIX = "p-"
# Stored attributes; the organisation's kind is stored as partner_kind (`kind` is every item's own kind).
SUMMARY = ("partner_id", "name", "partner_kind", "offers", "localities", "email", "active", "version", "updated_at")
FIELDS = ("name", "partner_kind", "offers", "localities", "email", "active")


def _stored(body: PartnerRequest) -> dict[str, Any]:
    values = body.model_dump(mode="json")
    values["partner_kind"] = values.pop("kind")
    return values


class PartnerRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, frozen=True)

    name: Name = Field(title="the organisation's name")
    kind: PartnerKind = Field(title="the kind of organisation")
    offers: list[Offer] = Field(
        min_length=1, max_length=9, title="what it offers families", json_schema_extra={"uniqueItems": True}
    )
    localities: list[Locality] = Field(
        min_length=1,
        max_length=10,
        title="the localities it serves (each once, whatever its case)",
        json_schema_extra={"uniqueItems": True},
    )
    email: EmailStr = Field(title="the organisation's contact email")
    active: StrictBool = Field(default=True, title="whether coordinators may connect families with it")

    @field_validator("offers", "localities")
    @classmethod
    def _distinct(cls, values: list[str]) -> list[str]:
        if len({v.casefold() for v in values}) != len(values):
            raise ValueError("List each one once")
        return values


class NotAPartner(NotFound):
    def __init__(self, partner_id: str = "") -> None:
        super().__init__("There is no partner with this id")
        self.partner_id = partner_id


def _directory_keys(partner: dict[str, Any]) -> list[str]:
    return (
        ["all#all"]
        + [f"offer#{offer}" for offer in partner["offers"]]
        + [f"locality#{locality.casefold()}" for locality in partner["localities"]]
    )


def _listings(partner: dict[str, Any]) -> list[dict[str, Any]]:
    """The partner's entries in the directory index: none while inactive."""
    if not partner["active"]:
        return []
    summary = {key: partner[key] for key in SUMMARY if key in partner}
    return [
        {
            table.PARTITION_KEY: f"PARTNER#{partner['partner_id']}",
            table.SORT_KEY: f"LISTING#{directory_key}",
            table.KIND_ATTRIBUTE: KIND_LISTING,
            table.DIRECTORY_INDEX_PK: directory_key,
            table.DIRECTORY_INDEX_SK: f"{partner['name'].casefold()}#{partner['partner_id']}",
            "locality_keys": [locality.casefold() for locality in partner["localities"]],
            **summary,
        }
        for directory_key in _directory_keys(partner)
    ]


def _audit(partner_id: str, *, actor: Actor, action: str, changes: dict[str, Any], at: str) -> dict[str, Any]:
    return {
        table.PARTITION_KEY: f"PARTNER#{partner_id}",
        table.SORT_KEY: f"AUDIT#{at}#{uuid.uuid4().hex[:8]}",
        table.KIND_ATTRIBUTE: table.KIND_AUDIT,
        "partner_id": partner_id,
        "at": at,
        "actor": actor.audit_name,
        "action": action,
        "changes": changes,
    }


def view(partner: dict[str, Any]) -> dict[str, Any]:
    shown = {key: partner[key] for key in SUMMARY if key in partner}
    shown["kind"] = shown.pop("partner_kind", None)
    return shown


def check_id(partner_id: str) -> str:
    """An id that cannot be one this service gave is not found (before anything is read)."""
    if not re.fullmatch(r"p-[a-z0-9]{1,30}", partner_id):
        raise NotAPartner(partner_id)
    return partner_id


def one(reader: ReferralReader, partner_id: str) -> dict[str, Any]:
    """A partner as the directory shows it, active or not."""
    item = reader.item(table.partner_key(partner_id)) if partner_id.startswith(PARTNER_ID_PREFIX) else None
    if item is None or item.get(table.KIND_ATTRIBUTE) != KIND_PARTNER:
        raise NotAPartner(partner_id)
    return view(item)


def add(body: PartnerRequest, *, actor: Actor, settings: Settings, now: datetime | None = None) -> dict[str, Any]:
    now = now or clock.now()
    at = clock.iso(now)
    partner_id = PARTNER_ID_PREFIX + uuid.uuid4().hex[:10]
    partner = {
        **table.partner_key(partner_id),
        table.KIND_ATTRIBUTE: KIND_PARTNER,
        "partner_id": partner_id,
        **_stored(body),
        "version": 1,
        "updated_at": at,
    }
    writes = [put(partner, settings.table_name, f"attribute_not_exists({table.PARTITION_KEY})")]
    writes += [put(listing, settings.table_name) for listing in _listings(partner)]
    writes.append(
        put(_audit(partner_id, actor=actor, action="partner.added", changes=view(partner), at=at), settings.table_name)
    )
    transact(writes, settings.table_name)
    return view(partner)


def change(
    partner_id: str,
    body: PartnerRequest,
    *,
    actor: Actor,
    expected_version: int | None,
    reader: ReferralReader,
    settings: Settings,
    now: datetime | None = None,
) -> dict[str, Any]:
    """Replace a partner's entry (deactivating it takes it out of the directory; it is never deleted)."""
    now = now or clock.now()
    at = clock.iso(now)
    current = reader.item(table.partner_key(partner_id)) if partner_id.startswith(PARTNER_ID_PREFIX) else None
    if current is None:
        raise NotAPartner(partner_id)
    version = int(current["version"])
    if expected_version is not None and expected_version != version:
        raise Conflict("The partner changed since you read it: reload it and try again")
    partner = {**current, **_stored(body), "version": version + 1, "updated_at": at}
    changes = {
        key: {"from": current.get(key), "to": partner[key]} for key in FIELDS if current.get(key) != partner[key]
    }
    action = "partner.deactivated" if current["active"] and not partner["active"] else "partner.changed"
    old = [i for i in reader.partition_of(f"PARTNER#{partner_id}") if i.get(table.KIND_ATTRIBUTE) == KIND_LISTING]
    new = _listings(partner)
    new_keys = {listing[table.SORT_KEY] for listing in new}
    writes = [put(partner, settings.table_name, "#v = :v", {":v": version}, names={"#v": "version"})]
    writes += [
        {
            "Delete": {
                "TableName": settings.table_name,
                "Key": to_item({k: i[k] for k in (table.PARTITION_KEY, table.SORT_KEY)}),
            }
        }
        for i in old
        if i[table.SORT_KEY] not in new_keys
    ]
    writes += [put(listing, settings.table_name) for listing in new]
    writes.append(put(_audit(partner_id, actor=actor, action=action, changes=changes, at=at), settings.table_name))
    try:
        transact(writes, settings.table_name)
    except Cancelled:
        raise Conflict("The partner changed since you read it: reload it and try again") from None
    return view(partner)


def directory(reader: ReferralReader, *, offer: str | None, locality: str | None) -> list[dict[str, Any]]:
    """Active partners, by name: one Query of the directory index (never a Scan)."""
    if offer is not None:
        key = f"offer#{offer}"
    elif locality is not None:
        key = f"locality#{locality.strip().casefold()}"
    else:
        key = "all#all"
    request: dict[str, Any] = {
        "IndexName": table.DIRECTORY_INDEX,
        "KeyConditionExpression": "#k = :k",
        "ExpressionAttributeNames": {"#k": table.DIRECTORY_INDEX_PK},
        "ExpressionAttributeValues": to_item({":k": key}),
    }
    if offer is not None and locality is not None:
        request["FilterExpression"] = "contains(locality_keys, :loc)"
        request["ExpressionAttributeValues"] |= to_item({":loc": locality.strip().casefold()})
    return [view(item) for item in reader.query_index(request)]
