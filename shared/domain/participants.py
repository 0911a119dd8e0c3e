"""A meeting's participants as the domain knows them: who takes part and in what role, how they want to be
contacted and whether they agreed to be, whether they come; and which of them the invitations are emailed to.

A participant is personal data (a name, perhaps an address, phone and email): it is kept in the referral's
partition only. Events, logs and audit entries name a participant by id.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from shared.domain.errors import Invalid, NotFound
from shared.domain.referrals import STATED, Email, Name, Phone

Role = Literal["family_member", "network_member", "professional", "advocate", "interpreter", "facilitator"]
ContactPreference = Literal["email", "post", "phone"]
Attendance = Literal["invited", "confirmed", "declined", "excluded", "attends_separately"]
ROLE_WORDS: dict[str, str] = {
    "family_member": "Family member",
    "network_member": "Network member",
    "professional": "Professional",
    "advocate": "Advocate",
    "interpreter": "Interpreter",
    "facilitator": "Facilitator",
}
PREFERENCE_WORDS: dict[str, str] = {
    "email": "Email",
    "post": "Post",
    "phone": "Phone (the coordinator calls)",
}
ATTENDANCE_WORDS: dict[str, str] = {
    "invited": "Invited",
    "confirmed": "Confirmed",
    "declined": "Declined",
    "excluded": "Excluded",
    "attends_separately": "Attends separately",
}
# Whoever is emailed the invitation and its changes: invited or confirmed, never excluded, declined, or attending
# separately (their part is arranged with the coordinator, so the main meeting's time is not sent to them).
EMAILED_ATTENDANCE = frozenset({"invited", "confirmed"})
PARTICIPANT_ID = re.compile(r"^pt-[a-f0-9]{10}$")  # as events' ParticipantId states it

Address = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=300, pattern=STATED)]
Reason = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000, pattern=STATED)]


class ParticipantRequest(BaseModel):
    """A participant as a coordinator adds or changes them (the JSON API's body; the console's form reads into it)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, frozen=True)

    name: Name = Field(title="the participant's name")
    role: Role = Field(title="the participant's role")
    contact_preference: ContactPreference = Field(title="how they prefer to be contacted")
    consent_to_contact: bool = Field(title="whether they agreed to be contacted by the service")
    email: Email | None = Field(default=None, title="their email address")
    phone: Phone | None = Field(default=None, title="their phone number")
    address: Address | None = Field(default=None, title="their postal address")
    attendance: Attendance = Field(default="invited", title="whether they take part")
    attendance_reason: Reason | None = Field(
        default=None,
        title="the reason for excluding them or for their attending separately",
        description="Required when excluded; kept with the participant and never in an event, a log or an email.",
    )


class ParticipantNotFound(NotFound):
    def __init__(self) -> None:
        super().__init__("There is no participant with this id for this referral")


def check_participant_id(participant_id: str) -> str:
    if not PARTICIPANT_ID.match(participant_id):
        raise ParticipantNotFound()
    return participant_id


def check(request: ParticipantRequest) -> None:
    """What a participant needs beyond each field: the way they prefer to be contacted, and a reason to exclude."""
    problems = []
    needed = {"email": request.email, "post": request.address, "phone": request.phone}[request.contact_preference]
    if not needed:
        what = {"email": "email address", "post": "postal address", "phone": "phone number"}
        preference = request.contact_preference
        field = "address" if preference == "post" else preference
        message = f"Enter their {what[preference]}, or choose another way to contact them"
        problems.append({"field": field, "message": message})
    if request.attendance == "excluded" and not request.attendance_reason:
        problems.append({"field": "attendance_reason", "message": "Enter why they are excluded from the meeting"})
    if problems:
        raise Invalid("The participant has problems to fix", problems)


def is_emailed(participant: Mapping[str, Any]) -> bool:
    """Whether the invitation and its changes are emailed to this participant: an address, their consent to be
    contacted, email their preference, and invited or confirmed (an excluded participant is sent nothing)."""
    return bool(
        participant.get("email")
        and participant.get("consent_to_contact") is True
        and participant.get("contact_preference") == "email"
        and participant.get("attendance") in EMAILED_ATTENDANCE
        and not participant.get("erased")
    )


# Who took part (or had their part arranged separately) and so gets the plan's page: never someone excluded.
PLAN_ATTENDANCE = frozenset({"invited", "confirmed", "attends_separately"})


def receives_plan(participant: Mapping[str, Any]) -> bool:
    """Whether a participant is sent their own link to the plan: an address, their consent to be contacted, and
    they took part (an excluded participant, or one who declined, is sent nothing)."""
    return bool(
        participant.get("email")
        and participant.get("consent_to_contact") is True
        and participant.get("attendance") in PLAN_ATTENDANCE
        and not participant.get("erased")
    )


def to_contact(participant: Mapping[str, Any]) -> str | None:
    """Why the coordinator must reach this participant themselves (None: emailed, or excluded or declined)."""
    attendance = participant.get("attendance")
    if attendance in ("excluded", "declined") or is_emailed(participant):
        return None
    if attendance == "attends_separately":
        return "Attends separately: arrange their part of the meeting"
    if participant.get("consent_to_contact") is not True:
        return "No consent to be contacted yet: ask through the family"
    preference = participant.get("contact_preference")
    if preference == "post":
        return "Prefers post: send the invitation by post"
    if preference == "phone":
        return "Prefers a phone call: call with the invitation"
    return "No email address: contact another way"


def interpreter_needed(language: str | None, participants: Iterable[Mapping[str, Any]]) -> bool:
    """The referral asked for an interpreter and no interpreter takes part yet (one excluded or declined does not)."""
    if not language:
        return False
    return not any(
        p.get("role") == "interpreter" and p.get("attendance") not in ("excluded", "declined") for p in participants
    )


# Who took part, by role and counted (never named): what the referrer's feedback says of the meeting.
COUNTED_ROLES: dict[str, tuple[str, str]] = {
    "family_member": ("family member", "family members"),
    "network_member": ("member of the family's network", "members of the family's network"),
    "professional": ("professional", "professionals"),
    "advocate": ("advocate", "advocates"),
    "interpreter": ("interpreter", "interpreters"),
    "facilitator": ("facilitator", "facilitators"),
}


def took_part(participants: Iterable[Mapping[str, Any]], *, facilitated: bool) -> dict[str, int]:
    """How many took part in each role, as the coordinator recorded them (invited, confirmed, or their part arranged
    separately: never one excluded or who declined), the meeting's facilitator among them; roles none had left out."""
    counts = dict.fromkeys(COUNTED_ROLES, 0)
    for participant in participants:
        role = participant.get("role")
        if role in counts and participant.get("attendance") in PLAN_ATTENDANCE:
            counts[str(role)] += 1
    if facilitated:  # the facilitator booked for the meeting (perhaps recorded as a participant too)
        counts["facilitator"] = max(counts["facilitator"], 1)
    return {role: count for role, count in counts.items() if count}


def took_part_words(counts: Mapping[str, int]) -> str:
    """Who took part in words, by role and number: "2 family members, 1 professional and the facilitator"."""
    phrases = []
    for role, (one, many) in COUNTED_ROLES.items():
        count = int(counts.get(role, 0))
        if count == 1 and role == "facilitator":
            phrases.append("the facilitator")
        elif count:
            phrases.append(f"{count} {one if count == 1 else many}")
    if len(phrases) < 2:
        return "".join(phrases)
    return f"{', '.join(phrases[:-1])} and {phrases[-1]}"
