"""Referrals: what a referrer submits, how it is checked, and the reference it is given."""

from __future__ import annotations

import re
import secrets
from datetime import date
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationInfo,
    field_validator,
)

from shared.domain import clock
from shared.domain.clock import LONDON
from shared.domain.errors import NotFound

REFERENCE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O or 1/I: read aloud over the phone
REFERENCE_PATTERN = re.compile(r"^FN-[A-HJ-NP-Z2-9]{8}$")
MAX_CHILDREN = 12
MAX_CHILD_AGE_YEARS = 25  # care leavers and young people with SEND are supported up to 25

# Full UK postcode, including GIR 0AA; spacing and case are normalised before matching.
_OUTWARD = r"[A-PR-UWYZ]([0-9]{1,2}|[A-HK-Y][0-9]{1,2}|[0-9][A-HJKPS-UW]|[A-HK-Y][0-9][ABEHMNPRVWXY])"
_POSTCODE = re.compile(rf"^(GIR ?0AA|{_OUTWARD} ?[0-9][ABD-HJLNP-UW-Z]{{2}})$")


class ReferralNotFound(NotFound):
    def __init__(self, reference: str) -> None:
        super().__init__("There is no referral with this reference")
        self.reference = reference


def check_reference(reference: str) -> str:
    """A reference in our format, or ReferralNotFound: nothing else is looked up."""
    if not REFERENCE_PATTERN.match(reference):
        raise ReferralNotFound(reference)
    return reference


def new_reference() -> str:
    return "FN-" + "".join(secrets.choice(REFERENCE_ALPHABET) for _ in range(8))


def today() -> date:
    # The family's "today": dates of birth and consent are calendar dates in England.
    return clock.now().astimezone(LONDON).date()


# Text must say something: a character that is not a space, in JSON Schema's (ECMA) sense and in Python's (str.strip
# also takes \x1c-\x1f and \x85; ECMA's \s also has \ufeff), so that any text the schema allows is accepted.
STATED = r"[^\s\x1c-\x1f\x85\ufeff]"
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100, pattern=STATED)]
ShortText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200, pattern=STATED)]
LongText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=5000, pattern=STATED)]


def _email(value: str) -> str:
    # deferred: email_validator compiles its grammar on import (~13 ms), which only a submission needs, never the
    # form's pages or its assets
    from email_validator import EmailNotValidError, validate_email  # noqa: PLC0415

    if not re.match(EMAIL_PATTERN, value):
        raise ValueError("Enter an email address in the correct format, like name@example.org")
    try:
        return validate_email(value, check_deliverability=False).normalized
    except EmailNotValidError:
        raise ValueError("Enter an email address in the correct format, like name@example.org") from None


# An address as the schema states it (ASCII: dotted local part, host names, a letters-only top-level domain), then
# checked by email_validator, which also normalises it.
EMAIL_LOCAL = r"[A-Za-z0-9_%+-]+(\.[A-Za-z0-9_%+-]+)*"
EMAIL_HOST = r"([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)"
EMAIL_PATTERN = rf"^{EMAIL_LOCAL}@{EMAIL_HOST}+[A-Za-z]{{2,63}}$"
Email = Annotated[
    str,
    StringConstraints(strip_whitespace=True, max_length=254),
    AfterValidator(_email),
    Field(json_schema_extra={"pattern": EMAIL_PATTERN}),
]
Phone = Annotated[str, StringConstraints(strip_whitespace=True, pattern=r"^\+?[0-9 ()-]{7,20}$")]


class Route(StrEnum):
    LEAD_PRACTITIONER = "lead_practitioner"
    PROFESSIONAL_REQUEST = "professional_request"


class _Input(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, frozen=True)


def _not_in_future(value: date, what: str) -> date:
    if value > today():
        raise ValueError(f"{what} must be today or in the past")
    return value


# The validation context key naming the email domains a referrer may use (the service passes its settings' list):
# `ReferralSubmission.model_validate(body, context={REFERRER_DOMAINS: (...)})`.
REFERRER_DOMAINS = "referrer_domains"


def in_domains(email: str, domains: tuple[str, ...]) -> bool:
    """Whether an (already normalised) address is at one of `domains` or a subdomain of one."""
    domain = email.rpartition("@")[2].lower()
    return any(domain == allowed or domain.endswith("." + allowed) for allowed in domains)


def domains_in_words(domains: tuple[str, ...]) -> str:
    return domains[0] if len(domains) == 1 else ", ".join(domains[:-1]) + " or " + domains[-1]


class Referrer(_Input):
    name: Name = Field(title="the referrer's full name")
    role: ShortText = Field(title="the referrer's job title")
    organisation: ShortText = Field(title="the referrer's organisation")
    email: Email = Field(title="the referrer's email address")
    phone: Phone | None = Field(default=None, title="the referrer's phone number")
    locality_team: ShortText | None = Field(default=None, title="the referrer's Locality Team")

    @field_validator("email")
    @classmethod
    def _professional_address(cls, value: str, info: ValidationInfo) -> str:
        domains = (info.context or {}).get(REFERRER_DOMAINS)
        if domains and not in_domains(value, tuple(domains)):
            raise ValueError(
                "Use your work email address: referrals are accepted only from addresses ending in "
                + domains_in_words(tuple(domains))
            )
        return value


class Child(_Input):
    first_name: Name = Field(title="the child's first name")
    date_of_birth: date = Field(title="the child's date of birth")

    @field_validator("date_of_birth")
    @classmethod
    def _born_in_range(cls, value: date) -> date:
        _not_in_future(value, "The child's date of birth")
        born_by = today()
        if (born_by.year - value.year) - (
            (born_by.month, born_by.day) < (value.month, value.day)
        ) > MAX_CHILD_AGE_YEARS:
            raise ValueError(f"The child must be {MAX_CHILD_AGE_YEARS} or younger")
        return value


class Family(_Input):
    contact_name: Name = Field(title="the name of the family's main contact")
    postcode: str = Field(
        title="the family's postcode",
        description="A full UK postcode; spacing and case are normalised",
        max_length=10,
        json_schema_extra={"pattern": _POSTCODE.pattern},
    )
    contact_phone: Phone | None = Field(default=None, title="the family contact's phone number")
    contact_email: Email | None = Field(default=None, title="the family contact's email address")
    children: list[Child] = Field(title="at least one child", min_length=1, max_length=MAX_CHILDREN)

    @field_validator("postcode")
    @classmethod
    def _uk_postcode(cls, value: str) -> str:
        compact = re.sub(r"\s+", "", value).upper()
        if not _POSTCODE.match(compact):
            raise ValueError("Enter a real UK postcode, like SW1A 1AA")
        return f"{compact[:-3]} {compact[-3:]}"


class Consent(_Input):
    given: bool = Field(
        title="whether the family agreed to the referral",
        description="It must be true: a referral is made only with the family's agreement",
        json_schema_extra={"const": True},
    )
    given_on: date = Field(title="the date the family agreed")
    obtained_by: Name = Field(title="the name of who obtained the family's consent")

    @field_validator("given")
    @classmethod
    def _must_be_given(cls, value: bool) -> bool:
        if not value:
            raise ValueError("The family must agree to the referral before it is made")
        return value

    @field_validator("given_on")
    @classmethod
    def _given_in_past(cls, value: date) -> date:
        return _not_in_future(value, "The date the family agreed")


class NetworkMember(_Input):
    name: Name = Field(title="the network member's name")
    relationship: ShortText = Field(title="how the network member knows the family")


Day = Literal["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
TimeOfDay = Literal["morning", "afternoon", "evening"]
VenueType = Literal["family_home", "community_venue", "family_hub", "school", "online", "no_preference"]


class MeetingPreferences(_Input):
    days: list[Day] = Field(default_factory=list, title="the days that suit the family", max_length=7)
    times_of_day: list[TimeOfDay] = Field(
        default_factory=list, title="the times of day that suit the family", max_length=3
    )
    venue_type: VenueType | None = Field(default=None, title="the kind of venue the family prefers")
    interpreter_language: ShortText | None = Field(default=None, title="the language an interpreter is needed for")
    access_needs: LongText | None = Field(default=None, title="any access needs")


class ReferralSubmission(_Input):
    """What a referrer sends: the web form and `POST /referrals` share this model."""

    route: Route = Field(title="who is making the referral")
    referrer: Referrer = Field(title="the referrer's details")
    family: Family = Field(title="the family's details")
    consent: Consent = Field(title="the family's consent")
    reason: LongText = Field(title="why the family would benefit from a Family Network meeting")
    what_matters: LongText | None = Field(default=None, title="what matters to the family")
    network_members: list[NetworkMember] = Field(default_factory=list, title="the family's network", max_length=30)
    meeting_preferences: MeetingPreferences | None = Field(default=None, title="the family's meeting preferences")


class ReferralStatus(StrEnum):
    RECEIVED = "received"
    ACCEPTED = "accepted"
    PREPARING = "preparing"  # the coordinator prepares the family and the network (shared/domain/preparation.py)
    FAMILY_DECLINED = "family_declined"  # the family decided not to go ahead: closed
    DECLINED = "declined"
    WITHDRAWN = "withdrawn"
    MEETING_SCHEDULED = "meeting_scheduled"
    MEETING_HELD = "meeting_held"
    AWAITING_AGREEMENT = "awaiting_agreement"  # the plan made at the meeting, waiting for the lead practitioner
    PLAN_ACTIVE = "plan_active"
    CLOSED = "closed"


class SubmissionOutcome(BaseModel):
    """What intake answers: the reference, and whether this call created it or repeated an earlier one."""

    model_config = ConfigDict(frozen=True)

    reference: str
    status: ReferralStatus
    created: bool
