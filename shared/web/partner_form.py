"""The console's partner form and directory words: an organisation's name, kind, offers (checkboxes), localities
(separated by commas) and contact email, read into the service's `PartnerRequest`, each problem against its box."""

from __future__ import annotations

import typing
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from shared.domain.validation import field_errors
from shared.service.partners import Offer, PartnerKind, PartnerRequest

OFFER_WORDS = {
    "activities": "Activities",
    "practical_support": "Practical support",
    "items": "Items (furniture, equipment)",
    "transport": "Transport",
    "counselling": "Counselling",
    "mediation": "Mediation",
    "parenting": "Parenting support",
    "advice": "Advice",
    "other": "Other",
}
KIND_WORDS = {
    "charity": "Charity",
    "faith_or_community_group": "Faith or community group",
    "family_hub": "Family Hub",
    "council_service": "Council service",
    "other": "Other",
}
OFFERS = typing.get_args(Offer)
KINDS = typing.get_args(PartnerKind)
MAX_BOX = 400
assert set(OFFER_WORDS) == set(OFFERS) and set(KIND_WORDS) == set(KINDS)


@dataclass
class PartnerForm:
    values: dict[str, Any]
    errors: list[dict[str, str]] = field(default_factory=list)

    def error(self, name: str) -> str | None:
        return next((e["text"] for e in self.errors if e["href"] == f"#{name}"), None)


def prefilled(partner: dict[str, Any] | None) -> PartnerForm:
    if not partner:
        return PartnerForm({"name": "", "kind": "", "offers": [], "localities": "", "email": ""})
    return PartnerForm(
        {
            "name": str(partner.get("name") or ""),
            "kind": str(partner.get("kind") or partner.get("partner_kind") or ""),
            "offers": list(partner.get("offers") or []),
            "localities": ", ".join(partner.get("localities") or []),
            "email": str(partner.get("email") or ""),
        }
    )


def _listed(value: Any) -> list[str]:
    values = value if isinstance(value, list) else [value] if value else []
    return [str(v) for v in values][: len(OFFERS)]


def read(form: dict[str, Any], *, active: bool = True) -> tuple[PartnerRequest | None, PartnerForm]:
    values: dict[str, Any] = {
        name: str(form.get(name) or "").strip()[:MAX_BOX] for name in ("name", "kind", "localities", "email")
    }
    values["offers"] = [offer for offer in _listed(form.get("offers")) if offer in OFFERS]
    checked = PartnerForm(values)
    if values["kind"] not in KINDS:
        checked.errors.append({"text": "Choose what kind of organisation it is", "href": "#kind"})
    if not values["offers"]:
        checked.errors.append({"text": "Choose what it offers families", "href": "#offers"})
    localities = [part.strip() for part in values["localities"].split(",") if part.strip()]
    body = {
        "name": values["name"],
        "kind": values["kind"] if values["kind"] in KINDS else "other",
        "offers": values["offers"] or ["other"],
        "localities": localities,
        "email": values["email"],
        "active": active,
    }
    try:
        request = PartnerRequest.model_validate(body)
    except ValidationError as exc:
        for problem in field_errors(PartnerRequest, exc):
            name = problem["field"].split(".")[0]
            if name in ("name", "localities", "email") and not checked.error(name):
                checked.errors.append({"text": problem["message"], "href": f"#{name}"})
        request = None
        if not checked.errors:
            checked.errors.append({"text": "Check the partner's details", "href": "#name"})
    if checked.errors or request is None:
        order = {name: n for n, name in enumerate(("name", "kind", "offers", "localities", "email"))}
        checked.errors.sort(key=lambda e: order.get(e["href"][1:], 99))
        return None, checked
    return request, checked


def as_request(partner: dict[str, Any], *, active: bool) -> PartnerRequest:
    """The partner as stored, as a change to it (deactivating it, or making it active again)."""
    return PartnerRequest(
        name=partner["name"],
        kind=partner["kind"],
        offers=list(partner["offers"]),
        localities=list(partner["localities"]),
        email=partner["email"],
        active=active,
    )
