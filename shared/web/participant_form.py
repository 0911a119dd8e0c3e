"""The console's participant form: name, role, how they prefer to be contacted (and the email address, phone number
or postal address that needs), their consent to be contacted, and whether they take part (excluded with a reason,
or attending separately), read into the domain's `ParticipantRequest`, each problem named against its box."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from shared.domain.errors import Invalid
from shared.domain.participants import (
    ATTENDANCE_WORDS,
    PREFERENCE_WORDS,
    ROLE_WORDS,
    ParticipantRequest,
    check,
)
from shared.domain.validation import field_errors

FIELDS = (
    "name",
    "role",
    "contact_preference",
    "email",
    "phone",
    "address",
    "consent_to_contact",
    "attendance",
    "attendance_reason",
)
CHOICES = {"role": ROLE_WORDS, "contact_preference": PREFERENCE_WORDS, "attendance": ATTENDANCE_WORDS}
CONSENT = {"yes": True, "no": False}
MAX_BOX = {"attendance_reason": 2000, "address": 300}
CHOOSE = {
    "role": "Choose their role",
    "contact_preference": "Choose how they prefer to be contacted",
    "consent_to_contact": "Choose whether they agreed to be contacted",
    "attendance": "Choose whether they take part",
}


@dataclass
class ParticipantForm:
    values: dict[str, str]
    errors: list[dict[str, str]] = field(default_factory=list)

    def error(self, name: str) -> str | None:
        return next((e["text"] for e in self.errors if e["href"] == f"#{name}"), None)


def prefilled(participant: dict[str, Any] | None) -> ParticipantForm:
    """The form as it opens: empty (invited, by default), or the participant as stored."""
    values = {name: "" for name in FIELDS} | {"attendance": "invited"}
    if participant:
        values |= {name: str(participant.get(name) or "") for name in FIELDS if name != "consent_to_contact"}
        consent = participant.get("consent_to_contact")
        values["consent_to_contact"] = "yes" if consent is True else "no" if consent is False else ""
    return ParticipantForm(values)


def read(form: dict[str, Any]) -> tuple[ParticipantRequest | None, ParticipantForm]:
    """The participant the form gives, or None and the form with its problems (every answer kept)."""
    values = {name: str(form.get(name) or "").strip()[: MAX_BOX.get(name, 254)] for name in FIELDS}
    checked = ParticipantForm(values)
    for name, words in CHOICES.items():
        if values[name] not in words:
            checked.errors.append({"text": CHOOSE[name], "href": f"#{name}"})
    if values["consent_to_contact"] not in CONSENT:
        checked.errors.append({"text": CHOOSE["consent_to_contact"], "href": "#consent_to_contact"})
    body: dict[str, Any] = {
        "name": values["name"],
        "role": values["role"] if values["role"] in ROLE_WORDS else "family_member",
        "contact_preference": values["contact_preference"]
        if values["contact_preference"] in PREFERENCE_WORDS
        else "email",
        "consent_to_contact": CONSENT.get(values["consent_to_contact"], False),
        "attendance": values["attendance"] if values["attendance"] in ATTENDANCE_WORDS else "invited",
        **{name: values[name] or None for name in ("email", "phone", "address", "attendance_reason")},
    }
    request: ParticipantRequest | None = None
    try:
        request = ParticipantRequest.model_validate(body)
    except ValidationError as exc:
        for problem in field_errors(ParticipantRequest, exc):
            _against(checked, problem["field"], problem["message"])
    if request is not None:
        try:
            check(request)
        except Invalid as refused:
            chosen = values["contact_preference"] in PREFERENCE_WORDS
            for problem in refused.errors or []:
                if chosen or problem["field"] not in ("email", "phone", "address"):
                    _against(checked, problem["field"], problem["message"])
    if checked.errors:
        order = {name: n for n, name in enumerate(FIELDS)}
        checked.errors.sort(key=lambda e: order.get(e["href"][1:], 99))
        return None, checked
    return request, checked


PHONE = "Enter a phone number in digits, like 01632 960 001 or +44 7700 900 982"


def _against(checked: ParticipantForm, name: str, message: str) -> None:
    name = name if name in FIELDS else "name"
    message = PHONE if name == "phone" and message.startswith("String should match") else message
    if not checked.error(name):
        checked.errors.append({"text": message, "href": f"#{name}"})
