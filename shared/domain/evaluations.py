"""The family's view of their meeting (issue 21, item 5): a short evaluation each family respondent gives once,
through their own signed link (no login), after the meeting is held.

Who is asked: the family's contact (their email from the referral: the family consented to the referral) and each
family member taking part who gave an email and agreed to be contacted (never one excluded, or who declined);
each address once. What they answer: was the meeting led by the family, did they feel heard, would they recommend
it, and anything else in their own words. The answers are personal (the family's opinions, and free text): they
stay in the referral's partition; events say an evaluation was received (ids and dates); the managers' figures
count the closed answers, never the words.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from shared.domain.referrals import STATED

FAMILY_CONTACT = "family"  # the family contact's respondent id (a participant's is their participant id)
RESPONDENT = re.compile(r"^(family|pt-[a-f0-9]{10})$")
Respondent = Literal["family_contact", "family_member"]
# Whoever took part, or had their part arranged separately: never one excluded, nor one who declined.
TOOK_PART = frozenset({"invited", "confirmed", "attends_separately"})
COMMENTS_MAX = 2000

YesPartlyNo = Literal["yes", "partly", "no"]
Recommend = Literal["yes", "no", "not_sure"]
QUESTIONS: dict[str, str] = {
    "family_led": "Did your family lead the meeting and make the plan?",
    "felt_heard": "Did you feel listened to at the meeting?",
    "recommend": "Would you recommend a Family Network meeting to another family?",
}
CHOICES: dict[str, dict[str, str]] = {
    "family_led": {"yes": "Yes", "partly": "Partly", "no": "No"},
    "felt_heard": {"yes": "Yes", "partly": "Partly", "no": "No"},
    "recommend": {"yes": "Yes", "no": "No", "not_sure": "Not sure"},
}
Comments = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=COMMENTS_MAX, pattern=STATED)
]


class EvaluationAnswers(BaseModel):
    """A family respondent's evaluation of their meeting, as its form (or a JSON client) sends it."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, frozen=True)

    family_led: YesPartlyNo = Field(title="whether the family led the meeting and made the plan: yes, partly or no")
    felt_heard: YesPartlyNo = Field(title="whether they felt listened to at the meeting: yes, partly or no")
    recommend: Recommend = Field(title="whether they would recommend a meeting to another family: yes, no, not sure")
    comments: Comments | None = Field(
        default=None,
        title="anything else about the meeting, in their own words (optional)",
        description="Kept with the referral; never in an event, a log or an email, nor in the managers' figures.",
    )


def respondent_kind(respondent_id: str) -> Respondent:
    return "family_contact" if respondent_id == FAMILY_CONTACT else "family_member"


def evaluates(participant: Mapping[str, Any]) -> bool:
    """Whether a participant is asked for their evaluation: a family member who took part, with an email and their
    consent to be contacted (an excluded one, or one who declined, is asked nothing)."""
    return bool(
        participant.get("role") == "family_member"
        and participant.get("email")
        and participant.get("consent_to_contact") is True
        and participant.get("attendance") in TOOK_PART
        and not participant.get("erased")
    )


def respondents(family_email: str | None, participants: list[Mapping[str, Any]]) -> dict[str, str]:
    """Who is asked for an evaluation, by respondent id: their address. The family contact first; each address
    once (a family member whose address is the contact's is asked as the contact)."""
    found: dict[str, str] = {}
    taken: set[str] = set()
    if family_email:
        found[FAMILY_CONTACT] = family_email
        taken.add(family_email.strip().lower())
    for participant in sorted(participants, key=lambda p: str(p.get("participant_id", ""))):
        address = str(participant.get("email") or "")
        if evaluates(participant) and address.strip().lower() not in taken:
            found[str(participant["participant_id"])] = address
            taken.add(address.strip().lower())
    return found
