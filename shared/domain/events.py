"""Event contracts: the envelope every familynet event shares and one pydantic model per event.

`data` carries ids, states and dates only: never names, contact details or free text. These models are the
source of truth for the JSON Schemas and examples in events/ (written by `make schemas`).
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated, Any, ClassVar, Generic, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

EVENT_SOURCE = "familynet"

Reference = Annotated[str, StringConstraints(pattern=r"^FN-[A-HJ-NP-Z2-9]{8}$")]
Identifier = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_.:#-]{1,128}$")]
RouteName = Literal["lead_practitioner", "professional_request"]
PartnerId = Annotated[str, StringConstraints(pattern=r"^p-[a-z0-9]{1,30}$")]
ParticipantId = Annotated[str, StringConstraints(pattern=r"^pt-[a-f0-9]{10}$")]
MAX_PARTICIPANTS = 40  # a meeting's participants: a large family network, with its professionals


class EventMetadata(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)

    event_id: str = Field(min_length=1, max_length=64, description="Unique per event; consumers dedupe on it.")
    version: str = Field(pattern=r"^\d+$", description="Major version of the event's data schema.")
    occurred_at: datetime
    correlation_id: str = Field(min_length=1, max_length=128)


class EventData(BaseModel):
    """Base of every event's `data`: ids, states and dates only."""

    # Built on first use: a function uses one or two of these models, and building all costs its cold start.
    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)

    detail_type: ClassVar[str]
    version: ClassVar[str] = "1"
    example: ClassVar[dict[str, Any]]


DataT = TypeVar("DataT", bound=EventData)


class Event(BaseModel, Generic[DataT]):
    """The `detail` of a familynet event on the bus."""

    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)

    metadata: EventMetadata
    data: DataT


def new_event(data: DataT, *, correlation_id: str, occurred_at: datetime, event_id: str | None = None) -> Event[DataT]:
    metadata = EventMetadata(
        event_id=event_id or str(uuid.uuid4()),
        version=data.version,
        occurred_at=occurred_at,
        correlation_id=correlation_id,
    )
    # Parametrised with the data's own class, so that serialising keeps every field of the subclass.
    model: Any = Event[type(data)]  # type: ignore[misc]
    event: Event[DataT] = model(metadata=metadata, data=data)
    return event


_REF = "FN-7KQ2MX4P"
_MEETING = {"reference": _REF, "meeting_id": "M1", "facilitator_id": "fac-0001"}


class ReferralReceived(EventData):
    detail_type: ClassVar[str] = "ReferralReceived"
    example: ClassVar[dict[str, Any]] = {
        "reference": _REF,
        "route": "lead_practitioner",
        "status": "received",
        "received_at": "2026-11-24T10:15:00Z",
        "consent_given_on": "2026-11-20",
        "accepted_automatically": True,
    }

    reference: Reference
    route: RouteName
    status: Literal["received"] = "received"
    received_at: datetime
    consent_given_on: date
    accepted_automatically: bool = Field(
        default=False,
        description="True when a ReferralAccepted follows at once: a lead practitioner's referral from one of the "
        "council's Locality Team domains. Otherwise the referral waits for a coordinator's decision.",
    )


class ReferralAccepted(EventData):
    detail_type: ClassVar[str] = "ReferralAccepted"
    example: ClassVar[dict[str, Any]] = {
        "reference": _REF,
        "route": "lead_practitioner",
        "status": "accepted",
        "accepted_at": "2026-11-24T10:15:01Z",
        "automatic": True,
    }

    reference: Reference
    route: RouteName
    status: Literal["accepted"] = "accepted"
    accepted_at: datetime
    automatic: bool = Field(description="True when accepted at intake (a lead practitioner's referral).")


class ReferralDeclined(EventData):
    detail_type: ClassVar[str] = "ReferralDeclined"
    example: ClassVar[dict[str, Any]] = {
        "reference": _REF,
        "route": "professional_request",
        "status": "declined",
        "declined_at": "2026-11-25T09:00:00Z",
    }

    reference: Reference
    route: RouteName
    status: Literal["declined"] = "declined"
    declined_at: datetime


class ReferralWithdrawn(EventData):
    detail_type: ClassVar[str] = "ReferralWithdrawn"
    example: ClassVar[dict[str, Any]] = {
        "reference": _REF,
        "previous_status": "accepted",
        "status": "withdrawn",
        "withdrawn_at": "2026-11-26T09:00:00Z",
    }

    reference: Reference
    previous_status: Literal[
        "received",
        "accepted",
        "preparing",
        "meeting_scheduled",
        "meeting_held",
        "awaiting_agreement",
        "plan_active",
    ]
    status: Literal["withdrawn"] = "withdrawn"
    withdrawn_at: datetime


class PreparationStarted(EventData):
    """The coordinator recorded the first thing in preparing the family and the network (a contact, the family's
    decision, a checklist item or a child's voice): the referral is preparing for its meeting."""

    detail_type: ClassVar[str] = "PreparationStarted"
    example: ClassVar[dict[str, Any]] = {
        "reference": _REF,
        "previous_status": "accepted",
        "status": "preparing",
        "started_at": "2026-11-25T14:00:00Z",
    }

    reference: Reference
    previous_status: Literal["accepted"] = "accepted"
    status: Literal["preparing"] = "preparing"
    started_at: datetime


class FamilyDeclined(EventData):
    """The family decided not to go ahead with the meeting: the referral is closed (`family_declined`) and the
    referrer is told. What the family said stays in the table, never in the event."""

    detail_type: ClassVar[str] = "FamilyDeclined"
    example: ClassVar[dict[str, Any]] = {
        "reference": _REF,
        "previous_status": "preparing",
        "status": "family_declined",
        "decided_on": "2026-11-27",
        "declined_at": "2026-11-27T16:30:00Z",
    }

    reference: Reference
    previous_status: Literal["accepted", "preparing"]
    status: Literal["family_declined"] = "family_declined"
    decided_on: date
    declined_at: datetime


class _MeetingEvent(EventData):
    """A change to a meeting, as the emails about it are written: its times, facilitator and SEQUENCE travel in the
    event (ids and times are not personal); its venue does not, because the venue's details may be the family's home
    address. The venue is read from the meeting's snapshot item for the version the event names
    (`MEETING#<meeting_id>#v<meeting_version>` in the referral's partition, written in the same transaction as the
    change and never changed after), so an email sent late still describes this change, not a later one.
    `participant_ids` are the participants the change is emailed to (chosen when it was made); their addresses are
    read from their items by id."""

    version: ClassVar[str] = "2"  # v2: times, meeting_version and participant_ids on every meeting event

    reference: Reference
    meeting_id: Identifier
    facilitator_id: Identifier
    sequence: int = Field(ge=0, description="iCalendar SEQUENCE: rises with every change to the meeting.")
    meeting_version: int = Field(
        ge=1,
        description="The meeting item's version this change wrote. The venue is not in the event (its details may be "
        "the family's home address): it is read from the snapshot of this version, `MEETING#<meeting_id>#v<version>` "
        "in the referral's partition, written with the change and never changed after (erased with the referral).",
    )
    starts_at: datetime
    ends_at: datetime
    participant_ids: list[ParticipantId] = Field(
        default_factory=list,
        max_length=MAX_PARTICIPANTS,
        description="The participants this change is emailed to (an address and consent to be contacted by email, "
        "not excluded): ids only.",
    )


class MeetingScheduled(_MeetingEvent):
    detail_type: ClassVar[str] = "MeetingScheduled"
    example: ClassVar[dict[str, Any]] = {
        **_MEETING,
        "sequence": 0,
        "meeting_version": 1,
        "starts_at": "2026-12-08T10:00:00Z",
        "ends_at": "2026-12-08T12:00:00Z",
        "participant_ids": ["pt-4b1c9e0d2a", "pt-8f3e2d1c0b"],
    }


class MeetingRescheduled(_MeetingEvent):
    detail_type: ClassVar[str] = "MeetingRescheduled"
    example: ClassVar[dict[str, Any]] = {
        **_MEETING,
        "sequence": 1,
        "meeting_version": 2,
        "starts_at": "2026-12-09T14:00:00Z",
        "ends_at": "2026-12-09T16:00:00Z",
        "previous_starts_at": "2026-12-08T10:00:00Z",
        "participant_ids": ["pt-4b1c9e0d2a", "pt-8f3e2d1c0b"],
    }

    previous_starts_at: datetime


class MeetingCancelled(_MeetingEvent):
    """The meeting as it was when cancelled (its times and venue snapshot), so the cancellation describes it even
    if another meeting is booked at once."""

    detail_type: ClassVar[str] = "MeetingCancelled"
    example: ClassVar[dict[str, Any]] = {
        **_MEETING,
        "sequence": 2,
        "meeting_version": 3,
        "starts_at": "2026-12-09T14:00:00Z",
        "ends_at": "2026-12-09T16:00:00Z",
        "cancelled_at": "2026-12-01T09:00:00Z",
        "participant_ids": ["pt-4b1c9e0d2a", "pt-8f3e2d1c0b"],
    }

    cancelled_at: datetime


class ParticipantInvited(_MeetingEvent):
    """A participant became one the meeting is emailed to (added, or given an address and consent) while it is
    scheduled: the invitation, as the meeting now stands, goes to that participant alone (same UID and SEQUENCE)."""

    detail_type: ClassVar[str] = "ParticipantInvited"
    version: ClassVar[str] = "1"
    example: ClassVar[dict[str, Any]] = {
        **_MEETING,
        "sequence": 1,
        "meeting_version": 2,
        "starts_at": "2026-12-09T14:00:00Z",
        "ends_at": "2026-12-09T16:00:00Z",
        "participant_ids": ["pt-4b1c9e0d2a"],
        "invited_at": "2026-12-02T11:30:00Z",
    }

    invited_at: datetime


class MeetingHeld(EventData):
    detail_type: ClassVar[str] = "MeetingHeld"
    example: ClassVar[dict[str, Any]] = {
        "reference": _REF,
        "meeting_id": "M1",
        "held_on": "2026-12-08",
        "plan_agreed": True,
        "support_package_items": 2,
        "first_review_due_on": "2027-03-08",
    }

    reference: Reference
    meeting_id: Identifier
    held_on: date
    plan_agreed: bool = Field(
        description="True when the meeting made a plan: it then waits for the lead practitioner's agreement "
        "(PlanAgreementRequested, then PlanAgreed or PlanChangesRequested)."
    )
    support_package_items: int = Field(ge=0)
    first_review_due_on: date | None = None


class MeetingNotHeld(EventData):
    """A booked meeting was recorded as not having taken place: the referral is preparing again, for another meeting.
    The referrer is told (no plan was made; another meeting is being arranged). The reason stays in the table."""

    detail_type: ClassVar[str] = "MeetingNotHeld"
    example: ClassVar[dict[str, Any]] = {
        "reference": _REF,
        "meeting_id": "M1",
        "starts_at": "2026-12-08T10:00:00Z",
        "recorded_at": "2026-12-08T15:30:00Z",
    }

    reference: Reference
    meeting_id: Identifier
    starts_at: datetime = Field(description="When the meeting was booked for.")
    recorded_at: datetime


class _ReviewEvent(EventData):
    reference: Reference
    review_number: int = Field(ge=1)
    due_on: date


class ReviewScheduled(_ReviewEvent):
    detail_type: ClassVar[str] = "ReviewScheduled"
    example: ClassVar[dict[str, Any]] = {
        "reference": _REF,
        "review_number": 1,
        "due_on": "2027-03-08",
        "remind_at": "2027-03-01T09:00:00Z",
    }

    remind_at: datetime


class ReviewDue(_ReviewEvent):
    detail_type: ClassVar[str] = "ReviewDue"
    example: ClassVar[dict[str, Any]] = {"reference": _REF, "review_number": 1, "due_on": "2027-03-08"}


class ReviewOverdue(_ReviewEvent):
    detail_type: ClassVar[str] = "ReviewOverdue"
    example: ClassVar[dict[str, Any]] = {
        "reference": _REF,
        "review_number": 1,
        "due_on": "2027-03-08",
        "working_days_overdue": 5,
        "escalation": 1,
    }

    working_days_overdue: int = Field(ge=0)
    escalation: int = Field(ge=1, description="1 for the first escalation, then one more every 5 working days.")


class ReviewRescheduled(_ReviewEvent):
    """A coordinator moved an open review to another date: its reminder moves with it."""

    detail_type: ClassVar[str] = "ReviewRescheduled"
    example: ClassVar[dict[str, Any]] = {
        "reference": _REF,
        "review_number": 1,
        "due_on": "2027-03-22",
        "previous_due_on": "2027-03-08",
    }

    previous_due_on: date


class ReviewCompleted(_ReviewEvent):
    detail_type: ClassVar[str] = "ReviewCompleted"
    example: ClassVar[dict[str, Any]] = {
        "reference": _REF,
        "review_number": 1,
        "due_on": "2027-03-08",
        "completed_on": "2027-03-05",
        "outcome": "adjust",
        "next_review_due_on": "2027-06-05",
    }

    completed_on: date
    outcome: Literal["continue", "adjust", "close"]
    next_review_due_on: date | None = None


class _EmailEvent(EventData):
    message_id: Identifier
    reference: Reference | None = None
    recipient_kind: Literal["referrer", "facilitator", "coordinator", "lead_practitioner", "partner"]


class EmailBounced(_EmailEvent):
    detail_type: ClassVar[str] = "EmailBounced"
    example: ClassVar[dict[str, Any]] = {
        "message_id": "0100018c-example",
        "reference": _REF,
        "recipient_kind": "referrer",
        "bounce_type": "Permanent",
        "bounced_at": "2026-11-24T10:16:00Z",
    }

    bounce_type: Literal["Permanent", "Transient", "Undetermined"]
    bounced_at: datetime


class EmailComplained(_EmailEvent):
    detail_type: ClassVar[str] = "EmailComplained"
    example: ClassVar[dict[str, Any]] = {
        "message_id": "0100018c-example",
        "reference": _REF,
        "recipient_kind": "referrer",
        "complained_at": "2026-11-24T11:00:00Z",
    }

    complained_at: datetime


class DeadlineBreached(EventData):
    detail_type: ClassVar[str] = "DeadlineBreached"
    example: ClassVar[dict[str, Any]] = {
        "reference": _REF,
        "clock": "meeting_held",
        "started_on": "2026-11-24",
        "target_working_days": 20,
        "due_on": "2026-12-22",
        "breached_on": "2026-12-23",
    }

    reference: Reference
    clock: Literal[
        "acknowledgement",
        "decision",
        "meeting_held",
        "feedback_sent",
        "plan_agreed",
        "review_completed",
        "partner_answer",
    ]
    started_on: date
    target_working_days: int = Field(ge=0)
    due_on: date
    breached_on: date
    partner_id: PartnerId | None = Field(
        default=None, description="partner_answer only: the community partner that has not answered"
    )


class ConnectionRequested(EventData):
    """A plan (agreed at the meeting, or changed by a review) newly names a community partner: the partner is sent
    a connection email with a signed link to answer. One event per partner per change."""

    detail_type: ClassVar[str] = "ConnectionRequested"
    example: ClassVar[dict[str, Any]] = {
        "reference": _REF,
        "partner_id": "p-3f9c2a1b7d",
        "connection_id": "C5e0a4c1d9b2f4e7a",
        "requested_on": "2026-12-08",
    }

    reference: Reference
    partner_id: PartnerId
    connection_id: Identifier
    requested_on: date


class ConnectionAnswered(EventData):
    """The partner answered through its link: it has made contact with the family, or declines."""

    detail_type: ClassVar[str] = "ConnectionAnswered"
    example: ClassVar[dict[str, Any]] = {
        "reference": _REF,
        "partner_id": "p-3f9c2a1b7d",
        "connection_id": "C5e0a4c1d9b2f4e7a",
        "answer": "contacted",
        "answered_at": "2026-12-10T14:02:00Z",
    }

    reference: Reference
    partner_id: PartnerId
    connection_id: Identifier
    answer: Literal["contacted", "declined"]
    answered_at: datetime


PackageCategory = Literal["item", "service", "equipment"]


class PackageItemDecided(EventData):
    """A manager approved or declined a support package item that waited for approval (over the item limit, or in a
    package over the total). The reason for a decline stays on the plan, never in the event."""

    detail_type: ClassVar[str] = "PackageItemDecided"
    example: ClassVar[dict[str, Any]] = {
        "reference": _REF,
        "item_number": 2,
        "decision": "approved",
        "category": "equipment",
        "estimated_cost_pence": 40000,
        "decided_at": "2026-12-09T11:30:00Z",
    }

    reference: Reference
    item_number: int = Field(ge=1, description="The item's number in the plan's package (stable through reviews).")
    decision: Literal["approved", "declined"]
    category: PackageCategory
    estimated_cost_pence: int = Field(ge=0)
    decided_at: datetime


class PackageItemDelivered(EventData):
    """An approved support package item was delivered: what it actually cost (the managers' spend figures)."""

    detail_type: ClassVar[str] = "PackageItemDelivered"
    example: ClassVar[dict[str, Any]] = {
        "reference": _REF,
        "item_number": 2,
        "category": "equipment",
        "estimated_cost_pence": 40000,
        "actual_cost_pence": 38950,
        "delivered_on": "2026-12-15",
    }

    reference: Reference
    item_number: int = Field(ge=1)
    category: PackageCategory
    estimated_cost_pence: int = Field(ge=0)
    actual_cost_pence: int = Field(ge=0)
    delivered_on: date


class FeedbackSent(EventData):
    """The referrer's feedback after a held meeting was sent (SES took it): the end of the meeting-to-feedback time
    in the managers' figures. Published by the feedback function, in the transaction that records the email sent."""

    detail_type: ClassVar[str] = "FeedbackSent"
    example: ClassVar[dict[str, Any]] = {
        "reference": _REF,
        "meeting_id": "M1",
        "held_on": "2026-12-01",
        "sent_at": "2026-12-03T09:12:00Z",
    }

    reference: Reference
    meeting_id: Identifier
    held_on: date
    sent_at: datetime


Answerer = Literal["lead_practitioner", "referrer"]
RecordedVia = Literal["link", "coordinator"]


class PlanAgreementRequested(EventData):
    """The plan made at the meeting (or revised after changes were asked) waits for the lead practitioner's agreement
    (the referrer's, for a professional's request): they are emailed a signed link to agree it or ask for changes.
    One event per round; a new round's link replaces the last."""

    detail_type: ClassVar[str] = "PlanAgreementRequested"
    example: ClassVar[dict[str, Any]] = {
        "reference": _REF,
        "round": 1,
        "agreement_id": "A5e0a4c1d9b2f4e7a",
        "answerer": "lead_practitioner",
        "requested_on": "2026-12-08",
        "due_on": "2026-12-22",
    }

    reference: Reference
    round: int = Field(ge=1)
    agreement_id: Identifier
    answerer: Answerer = Field(description="Who is asked: the lead practitioner, or the referrer of a request.")
    requested_on: date
    due_on: date = Field(description="The day the agreement clock falls due (working days after the meeting).")


class PlanAgreed(EventData):
    """The plan is agreed (through the answerer's link, or recorded by a coordinator on their behalf): it is in
    force, its first review is open, the partners it names are asked, and the referrer gets the feedback."""

    detail_type: ClassVar[str] = "PlanAgreed"
    example: ClassVar[dict[str, Any]] = {
        "reference": _REF,
        "meeting_id": "M1",
        "round": 1,
        "answerer": "lead_practitioner",
        "recorded_via": "link",
        "agreed_at": "2026-12-10T14:02:00Z",
        "held_on": "2026-12-08",
        "support_package_items": 2,
        "first_review_due_on": "2027-03-08",
    }

    reference: Reference
    meeting_id: Identifier = Field(description="The meeting that made the plan.")
    round: int = Field(ge=1)
    answerer: Answerer
    recorded_via: RecordedVia
    agreed_at: datetime
    held_on: date
    support_package_items: int = Field(ge=0)
    first_review_due_on: date


class PlanChangesRequested(EventData):
    """The answerer asked for changes to the plan (their reasons stay in the table): it goes back to the
    coordinator, who revises it and asks again."""

    detail_type: ClassVar[str] = "PlanChangesRequested"
    example: ClassVar[dict[str, Any]] = {
        "reference": _REF,
        "round": 1,
        "answerer": "lead_practitioner",
        "recorded_via": "link",
        "requested_at": "2026-12-10T14:02:00Z",
    }

    reference: Reference
    round: int = Field(ge=1)
    answerer: Answerer
    recorded_via: RecordedVia
    requested_at: datetime


PlanRecipient = Literal["lead_practitioner", "referrer", "family", "participant"]


class PlanShared(EventData):
    """The plan in force is sent to the people it is for, each with their own signed link to its page (when it is
    agreed), or their links renewed and sent again (at each review), or they are told it closed (at the review that
    closes it; their links not renewed): the email holds the reference and dates only."""

    detail_type: ClassVar[str] = "PlanShared"
    example: ClassVar[dict[str, Any]] = {
        "reference": _REF,
        "because": "agreed",
        "link_ids": ["L5e0a4c1d9b2f4e7a", "L0b1c2d3e4f5a6b7c"],
        "expires_on": "2027-03-10",
        "next_review_due_on": "2027-03-08",
    }

    reference: Reference
    because: Literal["agreed", "reviewed", "closed"]
    link_ids: list[Identifier] = Field(max_length=60, description="The links sent (each recipient's, by id).")
    expires_on: date = Field(description="The last day the links work (renewed at each review).")
    next_review_due_on: date | None = None
    reviewed_on: date | None = Field(default=None, description="The review that changed or closed the plan.")


class PlanLinkRevoked(EventData):
    """A coordinator closed one recipient's link to the plan's page: it shows nothing from now on."""

    detail_type: ClassVar[str] = "PlanLinkRevoked"
    example: ClassVar[dict[str, Any]] = {
        "reference": _REF,
        "link_id": "L5e0a4c1d9b2f4e7a",
        "recipient": "participant",
        "revoked_at": "2026-12-20T10:00:00Z",
    }

    reference: Reference
    link_id: Identifier
    recipient: PlanRecipient
    revoked_at: datetime


class EvaluationReceived(EventData):
    """A family respondent's evaluation of their meeting was recorded (once per respondent and meeting). Its answers
    stay in the referral's partition: the event says who answered by kind (and participant id) and when, nothing of
    what they said."""

    detail_type: ClassVar[str] = "EvaluationReceived"
    example: ClassVar[dict[str, Any]] = {
        "reference": _REF,
        "meeting_id": "M1",
        "evaluation_id": "E5e0a4c1d9b2f4e7a",
        "respondent": "family_member",
        "participant_id": "pt-0123456789",
        "held_on": "2026-12-08",
        "received_at": "2026-12-11T18:30:00Z",
    }

    reference: Reference
    meeting_id: Identifier
    evaluation_id: Identifier
    respondent: Literal["family_contact", "family_member"] = Field(
        description="The family's contact, or a family member who took part (then `participant_id` names them)."
    )
    participant_id: ParticipantId | None = None
    held_on: date
    received_at: datetime


EVENT_TYPES: dict[str, type[EventData]] = {
    model.detail_type: model
    for model in (
        ReferralReceived,
        ReferralAccepted,
        ReferralDeclined,
        ReferralWithdrawn,
        PreparationStarted,
        FamilyDeclined,
        MeetingScheduled,
        MeetingRescheduled,
        MeetingCancelled,
        ParticipantInvited,
        MeetingHeld,
        MeetingNotHeld,
        ReviewScheduled,
        ReviewDue,
        ReviewOverdue,
        ReviewRescheduled,
        ReviewCompleted,
        EmailBounced,
        EmailComplained,
        DeadlineBreached,
        ConnectionRequested,
        ConnectionAnswered,
        PackageItemDecided,
        PackageItemDelivered,
        FeedbackSent,
        PlanAgreementRequested,
        PlanAgreed,
        PlanChangesRequested,
        PlanShared,
        PlanLinkRevoked,
        EvaluationReceived,
    )
}


def parse_detail(detail_type: str, detail: dict[str, Any]) -> Event[EventData]:
    """Validate an event's `detail` against the model its detail-type names."""
    model = EVENT_TYPES[detail_type]
    return Event[model].model_validate(detail)  # type: ignore[valid-type]
