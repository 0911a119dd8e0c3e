"""The JSON answers of the HTTP API, as models: what each route's body holds, for the OpenAPI document
(`make schemas`, generators/api_catalogue.py) and the contract test that checks every answer against it.

The handlers build their answers as plain dicts (no model at run time: a function pays nothing for these at cold
start); Schemathesis, in `make test`, checks each real answer against these schemas. Answers may gain fields
(`additionalProperties` stays open, as clients should expect); the fields here are always present unless
`None` is allowed, and have these types.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

from shared.domain.referrals import REFERENCE_PATTERN, ReferralStatus, Route

Reference = Field(pattern=REFERENCE_PATTERN.pattern)
Version = Field(ge=1, title="the referral's version: its ETag, to send back as If-Match")


class FieldProblem(BaseModel):
    field: str = Field(title="the field, dotted (family.children.0.date_of_birth), or body for the whole")
    message: str = Field(title="what to do about it")


class Problem(BaseModel):
    """Every refusal: a message a person can act on, and what else the refusal knows."""

    message: str
    errors: list[FieldProblem] | None = Field(default=None, title="one problem per field")
    field: str | None = Field(default=None, title="the field a conflict is about (an Idempotency-Key)")
    current_status: ReferralStatus | None = Field(default=None, title="a change refused: the referral's status")
    allowed_actions: list[str] | None = Field(default=None, title="a change refused: what may be done instead")
    error_id: str | None = Field(default=None, title="a fault on our side: the code to quote")


class Created(BaseModel):
    """A referral received (or the first answer again, for a repeat)."""

    reference: str = Reference
    status: ReferralStatus


class Summary(BaseModel):
    """A line of the coordinators' queue: ids, states, dates and counts."""

    reference: str = Reference
    route: Route
    status: ReferralStatus
    received_at: str = Field(json_schema_extra={"format": "date-time"})
    updated_at: str = Field(json_schema_extra={"format": "date-time"})
    organisation: str | None
    children: int = Field(ge=0)
    version: int = Version


class Queue(BaseModel):
    status: ReferralStatus
    items: list[Summary]
    next_cursor: str | None = Field(title="the next page's cursor; null on the last page")


class Meeting(BaseModel):
    meeting_id: str
    facilitator_id: str
    starts_at: str = Field(json_schema_extra={"format": "date-time"})
    ends_at: str = Field(json_schema_extra={"format": "date-time"})
    venue: dict[str, Any]
    status: str
    sequence: int = Field(ge=0)


class Access(BaseModel):
    at: str
    actor: str
    route: str


class ChecklistItem(BaseModel):
    item: str
    label: str
    done: bool
    from_decision: bool = Field(title="met by the family's decision to go ahead, not ticked")


class Preparation(BaseModel):
    """Preparing for the meeting: contacts (newest first), the family's decision, the checklist, what is missing."""

    contacts: list[dict[str, Any]]
    family_decision: dict[str, Any] | None
    checklist: list[ChecklistItem]
    missing: list[str] = Field(title="the checklist items not yet done: a meeting is booked when there are none")


class Referral(Summary):
    """One referral with everything under it (ETag: its version)."""

    submission: dict[str, Any] | None = Field(title="the referral as submitted (erased: a tombstone)")
    decision: dict[str, Any] | None
    coordinator: dict[str, Any] | None
    allowed_actions: list[str]
    meeting: Meeting | None
    proposals: dict[str, Any] | None
    preparation: Preparation
    child_voices: list[dict[str, Any]] = Field(title="each child's voice recorded, by the child's number")
    plan: dict[str, Any] | None
    agreements: list[dict[str, Any]] = Field(title="each round of the plan's agreement by the lead practitioner")
    plan_links: list[dict[str, Any]] = Field(title="each recipient's link to the plan's page (whose, its dates, state)")
    evaluations: list[dict[str, Any]] = Field(
        title="each family respondent's evaluation of the meeting (their answers in words, and comments)"
    )
    connections: list[dict[str, Any]]
    reviews: list[dict[str, Any]]
    emails: list[dict[str, Any]]
    notes: list[dict[str, Any]]
    audit: list[dict[str, Any]]
    accesses: list[Access] = Field(title="the read audit, this read included")


class Change(BaseModel):
    """A change made: the referral's new status and version (also its ETag)."""

    reference: str = Reference
    status: ReferralStatus
    version: int = Version


class PreparationChange(Change):
    """A preparation record: the referral's status (preparing, or family_declined) and new version."""

    contact_id: str | None = Field(default=None, title="a contact recorded: its id")
    child: int | None = Field(default=None, title="a child's voice recorded: the child's number")


class MeetingChange(Change):
    meeting: Meeting


class AgreementRecorded(Change):
    agreement: Literal["agreed", "changes_requested"] = Field(title="the answer recorded")


class AgreementRequested(Change):
    agreement: Literal["requested"] = Field(title="the plan waits for agreement again")
    round: int = Field(ge=2, title="the round of agreement now asked (each with its own link)")


class ReviewRecorded(Change):
    review: dict[str, Any]
    next_review: dict[str, Any] | None


class ReviewMoved(Change):
    review: dict[str, Any]


class PackageItemChange(Change):
    """A support package item decided or delivered (or, with `changed: false`, as it already was)."""

    changed: bool = Field(title="false when the item already was so: nothing was done again")
    item: dict[str, Any] = Field(title="the item: number, category, description, costs, status and its decision")


class Facilitator(BaseModel):
    facilitator_id: str
    weekly: Any = Field(title="the weekly hours")


class Facilitators(BaseModel):
    items: list[Facilitator]


class Partner(BaseModel):
    partner_id: str
    name: str
    kind: str
    offers: list[str]
    localities: list[str]
    email: str
    active: bool
    version: int = Field(ge=1, title="the partner's version: its ETag, to send back as If-Match")


class Partners(BaseModel):
    items: list[Partner]


class Connection(BaseModel):
    partner_id: str
    status: str
    round: int = Field(ge=1)


class Participant(BaseModel):
    """One of the meeting's participants, as the coordinator keeps them."""

    participant_id: str = Field(pattern=r"^pt-[a-f0-9]{10}$")
    name: str
    role: str
    contact_preference: str
    consent_to_contact: bool
    attendance: str
    version: int = Field(ge=1, title="the participant's version: its ETag, to send back as If-Match")
    emailed: bool = Field(title="whether the invitation and its changes are emailed to them")
    to_contact: str | None = Field(title="why the coordinator contacts them another way (null: emailed, or not)")


class ToContact(BaseModel):
    participant_id: str
    name: str
    why: str


class Task(BaseModel):
    task: str = Field(title="what is open: interpreter")
    text: str


class Participants(BaseModel):
    reference: str = Reference
    items: list[Participant]
    to_contact: list[ToContact] = Field(title="whom the coordinator contacts themselves, and why")
    tasks: list[Task]


class Erased(BaseModel):
    reference: str = Reference
    erased: Literal[True]
    items: int = Field(ge=0, title="how many items were erased or emptied")
    ground: str


class SubjectAccess(BaseModel):
    """Everything held about a referral, in sections."""

    reference: str = Reference
    exported_at: str
    exported_by: str
    retention: str
    referral: dict[str, Any] | list[Any]
    meetings: list[dict[str, Any]]
    meeting_versions: list[dict[str, Any]]
    participants: list[dict[str, Any]]
    preparation: list[dict[str, Any]]
    children: list[dict[str, Any]]
    agreements: list[dict[str, Any]]
    plan_links: list[dict[str, Any]]
    evaluations: list[dict[str, Any]]
    reviews: list[dict[str, Any]]
    connections: list[dict[str, Any]]
    emails: list[dict[str, Any]]
    audit: list[dict[str, Any]]
    accesses: list[dict[str, Any]]
