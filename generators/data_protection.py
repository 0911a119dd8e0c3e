"""Writes docs/data-protection.md: the record of processing (UK GDPR Art. 30) for the council's DPO.

The field lists are generated from the pydantic models that accept personal data, so they cannot drift: every
field needs a purpose below (a test fails on a field without one, or on a purpose for a field that is gone), and a
test checks the document matches `render()`. `python -m generators.data_protection` (make schemas) rewrites it.
"""

from __future__ import annotations

import sys
import types
import typing
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from shared.config import Settings
from shared.domain.evaluations import EvaluationAnswers
from shared.domain.meetings import Availability, CancelRequest, MeetingRequest
from shared.domain.participants import ParticipantRequest
from shared.domain.plans import Delivery, Outcome, PackageDecline
from shared.domain.preparation import ChildVoice, Contact, FamilyDecision
from shared.domain.referrals import ReferralSubmission
from shared.service.agreement import AgreementAnswer
from shared.service.connections import ConnectionAnswer
from shared.service.decisions import DecisionBody
from shared.service.partners import PartnerRequest
from shared.service.reports import LOG_DAYS
from shared.service.reviews import ReviewMove, ReviewRequest

DOCUMENT = Path(__file__).resolve().parent.parent / "docs" / "data-protection.md"
REFERRAL = "the referral item (`REFERRAL`), its partition of the familynet table"
# (section title, model, where it is stored, who can see it)
SOURCES: tuple[tuple[str, type[BaseModel], str, str], ...] = (
    ("The referral (web form or API)", ReferralSubmission, REFERRAL, "coordinators"),
    ("Decisions (decline, withdraw)", DecisionBody, "the referral item (`decision`)", "coordinators"),
    ("The meeting", MeetingRequest, "the meeting item (`MEETING`)", "coordinators; the venue in the invitation"),
    ("Cancelling a meeting", CancelRequest, "the meeting item", "coordinators"),
    (
        "The meeting's participants",
        ParticipantRequest,
        "the participant items (`PARTICIPANT#id`) of the referral's partition; events, logs and audit entries name "
        "them by id only",
        "coordinators; each participant emailed receives their own invitation, whose calendar file names them alone",
    ),
    (
        "Preparation: contacts with the family and the network",
        Contact,
        "a contact item (`CONTACT#…`) of the referral; the audit entry names its id, method and date only",
        "coordinators",
    ),
    (
        "Preparation: the family's decision to go ahead",
        FamilyDecision,
        "the preparation item (`PREPARATION`); the referrer is told only that the referral closed",
        "coordinators",
    ),
    (
        "The child's voice",
        ChildVoice,
        "one item per child (`CHILD#nn`) of the referral; never in an event, a log line or an email",
        "coordinators",
    ),
    ("The meeting's outcome and the plan", Outcome, "the meeting and plan items (`PLAN`)", "coordinators"),
    (
        "The plan's agreement by the lead practitioner",
        AgreementAnswer,
        "the agreement items (`AGREEMENT#nnn`) of the referral and their audit entries",
        "coordinators (the reasons are never emailed, nor in an event)",
    ),
    ("Reviews", ReviewRequest, "the plan and review items (`REVIEW#nnn`)", "coordinators"),
    ("Moving a review", ReviewMove, "the audit entry of the move", "coordinators"),
    (
        "A manager declining a support package item",
        PackageDecline,
        "the plan item (`PLAN`, the item's `decline_reason`) and the decision's audit entry",
        "coordinators and managers (never in the event or the email)",
    ),
    ("A support package item delivered", Delivery, "the plan item (`PLAN`, the item)", "coordinators and managers"),
    ("Facilitators' availability (staff)", Availability, "the facilitator item (`FACILITATOR#id`)", "coordinators"),
    ("The Early Help network's directory", PartnerRequest, "the partner item (`PARTNER#id`)", "coordinators"),
    (
        "A partner's answer to a connection",
        ConnectionAnswer,
        "the connection item (`CONNECTION#partner id`) of the referral",
        "coordinators (the note is also emailed to them)",
    ),
    (
        "The family's evaluation of the meeting",
        EvaluationAnswers,
        "one evaluation item per meeting and respondent (`EVALUATION#meeting id#respondent`) of the referral; the "
        "audit entry and EvaluationReceived name the respondent by kind and participant id only",
        "coordinators and managers in the export; the managers' figures count the three closed answers by month "
        "(never the comments)",
    ),
)
# Why each field is needed. Every generated field path must be here; nothing else may be.
PURPOSES: dict[str, str] = {
    "ReferralSubmission.route": "which route the referral takes (a lead practitioner's is accepted at once)",
    "ReferralSubmission.referrer.name": "to address the referrer and record who referred",
    "ReferralSubmission.referrer.role": "to know the referrer's standing (lead practitioner or other professional)",
    "ReferralSubmission.referrer.organisation": "to know which service referred; shown in the coordinators' queue",
    "ReferralSubmission.referrer.email": "to acknowledge, send invitations and feedback after the meeting",
    "ReferralSubmission.referrer.phone": "to call the referrer when email is not enough (optional)",
    "ReferralSubmission.referrer.locality_team": "to allocate a facilitator of the same locality",
    "ReferralSubmission.family.contact_name": "to arrange the meeting with the family; named in emails' bodies only",
    "ReferralSubmission.family.postcode": "to find a venue near the family",
    "ReferralSubmission.family.contact_phone": "to arrange the meeting with the family (optional)",
    "ReferralSubmission.family.contact_email": "to arrange the meeting with the family (optional)",
    "ReferralSubmission.family.children.first_name": "to know which children the plan is for",
    "ReferralSubmission.family.children.date_of_birth": "children's ages shape the help a network can give",
    "ReferralSubmission.consent.given": "the family's agreement to the referral (required)",
    "ReferralSubmission.consent.given_on": "when the family agreed",
    "ReferralSubmission.consent.obtained_by": "who obtained the agreement, for the record",
    "ReferralSubmission.reason": "why a Family Network meeting would help (special category data may appear)",
    "ReferralSubmission.what_matters": "the family's own words on what matters, for the meeting (optional)",
    "ReferralSubmission.network_members.name": "who the family would like at the meeting (optional)",
    "ReferralSubmission.network_members.relationship": "how they know the family (optional)",
    "ReferralSubmission.meeting_preferences.days": "to propose meeting times that suit the family",
    "ReferralSubmission.meeting_preferences.times_of_day": "to propose meeting times that suit the family",
    "ReferralSubmission.meeting_preferences.venue_type": "to choose a venue the family is comfortable in",
    "ReferralSubmission.meeting_preferences.interpreter_language": "to book an interpreter (optional)",
    "ReferralSubmission.meeting_preferences.access_needs": "to make the meeting accessible (health data may appear)",
    "DecisionBody.reason": "why a referral was declined or withdrawn, told to the referrer when declined",
    "MeetingRequest.starts_at": "when the meeting is",
    "MeetingRequest.ends_at": "when the meeting ends",
    "MeetingRequest.venue.type": "the kind of venue",
    "MeetingRequest.venue.details": "where the meeting is (may be the family's home address)",
    "MeetingRequest.facilitator_id": "who facilitates (a staff id)",
    "MeetingRequest.exception_reason": (
        "why the meeting is outside the facilitator's availability (the coordinator's confirmed exception; may "
        "reveal the family's circumstances): kept with the meeting and its audit entry, never in an event"
    ),
    "CancelRequest.reason": "why a meeting was cancelled",
    "ParticipantRequest.name": "who takes part in the meeting (family, network, professionals)",
    "ParticipantRequest.role": "the part they play (family member, network member, professional, advocate, ...)",
    "ParticipantRequest.contact_preference": "to contact them the way they asked (email, post, or a call)",
    "ParticipantRequest.consent_to_contact": "nothing is sent to them without their agreement to be contacted",
    "ParticipantRequest.email": "to send them the invitation and its changes (with their consent)",
    "ParticipantRequest.phone": "for the coordinator to call them, when that is how they prefer (optional)",
    "ParticipantRequest.address": "to send them the invitation by post, when that is how they prefer (optional)",
    "ParticipantRequest.attendance": "whether they come: invited, confirmed, declined, excluded, attending separately",
    "ParticipantRequest.attendance_reason": (
        "why someone is excluded or attends separately (may reveal domestic abuse or other safety concerns): "
        "kept with the participant, never in an event, a log, an audit entry or an email"
    ),
    "Contact.method": "whether the coordinator visited or called, to show the preparation done",
    "Contact.contacted_on": "when, to show the preparation done (FGC practice: 25-30 hours before a meeting)",
    "Contact.note": "what the coordinator needs to remember of the contact (free text; may reveal circumstances)",
    "FamilyDecision.go_ahead": "whether the family goes ahead: a meeting needs their agreement; no closes the referral",
    "FamilyDecision.decided_on": "when the family decided",
    "FamilyDecision.note": "what the family said, in short (free text; optional)",
    "ChildVoice.wishes_and_feelings": (
        "the child's wishes and feelings, so the meeting hears them (free text about a child; may reveal health or "
        "circumstances)"
    ),
    "ChildVoice.participation": "how the child takes part, to arrange the meeting around them",
    "ChildVoice.advocate_allocated": "whether the child has an advocate, as the child may want one",
    "ChildVoice.advocate_name": "who the advocate is, to invite them (a professional's name)",
    "Outcome.held": "whether the meeting took place",
    "Outcome.held_on": "when it took place",
    "Outcome.plan.network_actions.who": "who in the network helps (names of family and friends)",
    "Outcome.plan.network_actions.what": "what they agreed to do",
    "Outcome.plan.network_actions.how_often": "how often",
    "Outcome.plan.network_actions.by_when": "when the action is to be done by",
    "Outcome.plan.network_actions.checked_by": "who in the network checks it is done (a name)",
    "Outcome.plan.support_package.category": "the kind of support the council funds",
    "Outcome.plan.support_package.description": "what the support is (may reveal health or circumstances)",
    "Outcome.plan.support_package.estimated_cost_pence": "the council's cost",
    "Outcome.plan.support_package.status": "where the support is",
    "Outcome.plan.first_review_due_on": "when the package is reviewed",
    "Outcome.plan.network_actions.partner_id": "the community partner that helps, to connect the family with it",
    "Outcome.plan.support_package.partner_id": "the community partner that provides it, to connect the family",
    "Outcome.plan.partner_consent.partner_id": "which partner the family's answer is about",
    "Outcome.plan.partner_consent.share_contact_name": (
        "the family's agreement to the partner being told their contact's name: the page behind the partner's "
        "signed link names the family contact only when it is true (its email never does)"
    ),
    "Outcome.reason": "why a meeting did not take place",
    "AgreementAnswer.decision": "whether the lead practitioner (or the referrer of a request) agrees the plan made at "
    "the meeting: only an agreed plan comes into force",
    "AgreementAnswer.reasons": "what they ask to change in the plan, for the coordinator to revise it with the family "
    "(free text; may reveal the family's circumstances)",
    "ReviewRequest.outcome": "the review's outcome",
    "ReviewRequest.completed_on": "when the review took place",
    "ReviewRequest.support_package.category": "the kind of support after the review",
    "ReviewRequest.support_package.description": "what the support is after the review",
    "ReviewRequest.support_package.estimated_cost_pence": "the council's cost after the review",
    "ReviewRequest.support_package.status": "where the support is",
    "ReviewRequest.next_review_due_on": "when the next review is",
    "ReviewRequest.support_package.partner_id": "the community partner that provides it, to connect the family",
    "ReviewRequest.partner_consent.partner_id": "which newly named partner the family's answer is about",
    "ReviewRequest.partner_consent.share_contact_name": "the family's agreement to that partner being told their name",
    "ConnectionAnswer.answer": "whether the partner made contact with the family, or cannot help",
    "ConnectionAnswer.note": "what the partner wants the coordinators to know (free text; may name the family)",
    "PackageDecline.reason": "why a manager declined spending on the item (may reveal the family's circumstances)",
    "Delivery.actual_cost_pence": "what the council spent on the item (the managers' spend figures)",
    "Delivery.supplier": "who supplied it (an organisation), for the council's accounts",
    "Delivery.delivered_on": "when the family received it",
    "ReviewMove.due_on": "the review's new date",
    "ReviewMove.reason": "why the review moved",
    "Availability.locality": "which families a facilitator serves (staff data)",
    "Availability.email": "to send facilitators their invitations (staff data)",
    "Availability.weekly.day": "when a facilitator can facilitate (staff data)",
    "Availability.weekly.start": "when a facilitator can facilitate (staff data)",
    "Availability.weekly.end": "when a facilitator can facilitate (staff data)",
    "PartnerRequest.name": "which organisation (an organisation, not a person)",
    "PartnerRequest.kind": "the kind of organisation",
    "PartnerRequest.offers": "what families can find there",
    "PartnerRequest.localities": "where it serves",
    "PartnerRequest.email": "to tell the partner of a connection (an organisation's address; may name a person)",
    "PartnerRequest.active": "whether coordinators may connect families with it",
    "EvaluationAnswers.family_led": "whether the meeting was the family's own (FGC practice), counted in the figures",
    "EvaluationAnswers.felt_heard": "whether the family felt listened to, counted in the managers' figures",
    "EvaluationAnswers.recommend": "whether they would recommend a meeting, counted in the managers' figures",
    "EvaluationAnswers.comments": "what the family wants the service to know (free text; may reveal circumstances): "
    "kept with the referral, never counted, in an event, a log or an email",
}


def _models_in(annotation: Any) -> list[type[BaseModel]]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    if isinstance(annotation, types.UnionType) or typing.get_origin(annotation) is not None:
        return [model for arg in typing.get_args(annotation) for model in _models_in(arg)]
    return []


def fields(model: type[BaseModel], prefix: str = "") -> list[tuple[str, str]]:
    """(path, title) of every leaf field of a model, nested models walked."""
    found: list[tuple[str, str]] = []
    for name, info in model.model_fields.items():
        inner = _models_in(info.annotation)
        if inner:
            for nested in inner:
                found += fields(nested, f"{prefix}{name}.")
        else:
            found.append((f"{prefix}{name}", info.title or name.replace("_", " ")))
    return found


def field_paths() -> list[str]:
    return [f"{model.__name__}.{path}" for _, model, _, _ in SOURCES for path, _ in fields(model)]


def render() -> str:
    settings = Settings()
    lines = [
        "# Record of processing: familynet",
        "",
        "Generated by `python -m generators.data_protection` (`make schemas`) from the models that accept "
        "personal data;",
        "a test fails if it drifts. Wording for the council's Data Protection Officer to confirm.",
        "",
        "## Controller, purpose and lawful basis",
        "- **Controller**: the council (Family Help). **Processor**: the independent charity that coordinates the",
        "  meetings, under the council's instructions; AWS as the council's cloud processor.",
        "- **Purpose**: to offer families a Family Network meeting, arrange it, tell the referrer what was agreed,",
        "  and review the support package the council funds.",
        "- **Lawful basis**: public task, UK GDPR Art. 6(1)(e). **Special category data** (health, in the reason,",
        "  access needs and package): Art. 9(2)(g), substantial public interest, DPA 2018 Sch. 1 para. 18",
        "  (safeguarding of children and individuals at risk).",
        "- **Data subjects**: children, their parents and carers, members of their network, referrers, facilitators.",
        "- **Recipients**: community partners of the Early Help network that a family's plan names get one email:",
        "  the reference, the coordinators' address and a signed link that expires after"
        f" {settings.connection_link_days} days. The page behind it shows what was agreed with them, and the family",
        "  contact's name only if the family agreed for that partner (opening it is recorded as a read); they answer",
        "  there.",
        "- The **lead practitioner** (or the referrer of a professional's request) reads the plan made at the meeting",
        "  through a signed link (its email: the reference and dates only) that expires after"
        f" {settings.agreement_link_days} days, and agrees it or asks for changes; opening it is recorded as a read.",
        "- Once agreed, the **plan** (its actions, package items and their status, next review; no costs, no one's",
        "  address) is opened by the people it is for, each through their own signed link (the lead practitioner or",
        "  referrer, the family's contact if they gave an email, each participant with an email and consent who",
        f"  took part; never one excluded) that expires after {settings.plan_link_days} days, renewed and sent again",
        "  at each review; a coordinator may close any link. Its email holds the reference and dates only; the page",
        "  and its PDF are recorded as reads (`PLANLINK#id` items: whose link it is, by kind and participant id).",
        "- After a meeting is held, the **family's contact** (their email from the referral) and each **family"
        " member**",
        "  who took part with an email and consent are asked how it went, each through their own signed link (its",
        "  email: the reference and the meeting's date only) that expires after"
        f" {settings.evaluation_link_days} days; each answers once;",
        "  opening it is recorded as a read.",
        "",
        "## Where it is kept and who sees it",
        "- One DynamoDB table in **eu-west-2 (London)**, encrypted with a customer-managed KMS key, point-in-time",
        "  recovery (35 days of backups). Everything about a referral is in its partition.",
        "- **Who**: coordinators and managers only (Cognito, invitation only, MFA), through the staff routes and the",
        "  console; exports and erasure by managers only. Every read of a referral is recorded (`accesses` in",
        "  `GET /referrals/{reference}`). Referrers see only what emails tell them.",
        "- **Never** in events, logs, metrics or email subjects: ids, states and dates only (tests scan for it).",
        "- **Emails** (SES, eu-west-2) carry the family contact's name in the body at most; the text sent is kept",
        "  with the referral for subject access.",
        "- **Processors (AWS, eu-west-2)**: DynamoDB, Lambda, API Gateway, EventBridge and EventBridge Scheduler,",
        "  SQS, SES, Cognito, KMS, CloudWatch (logs without personal data), X-Ray (traces without payloads).",
        "",
        "## How long",
        "- Open referrals: while open. Declined, closed, withdrawn after acceptance, or closed because the"
        " family did not go ahead (a children's record): until"
        f" the youngest child is **{settings.retention_until_age}** or **{settings.retention_closed_years} years**"
        " after that day, whichever is later (a child of 2 when the case ends: until they are"
        f" {settings.retention_until_age}; a young person of 20: {settings.retention_closed_years} years).",
        f"- Withdrawn before acceptance: **{settings.retention_withdrawn_days} days** after the withdrawal.",
        "- Every item of the referral carries the expiry (DynamoDB TTL); reads leave expired items out at once.",
        "  Configurable per council: `-c 'familynet:retention="
        f'{{"until_age": {settings.retention_until_age}, "closed_years": {settings.retention_closed_years},'
        f' "withdrawn_days": {settings.retention_withdrawn_days}}}\'` (`until_age` 0: no age rule).',
        f"- Copies of events for the relay: {settings.outbox_retention_days} days. Duplicate-submission markers"
        f" (hashes only): {settings.submission_dedupe_hours} hours. Logs: 3 months (no personal data).",
        "- The managers' figures (counts and sums by month, never a name or a reference): kept. The reports' log"
        " of the events they count (dates, states, postcode districts, meeting and partner ids; no reference):"
        f" {LOG_DAYS} days, to recompute a month or quarter of the last year; for a family's evaluation, its three"
        " closed answers (never its comments).",
        "",
        "## Rights",
        "- **Access** (managers): `GET /referrals/{reference}/export` (JSON, or a readable page; in the console",
        "  `/staff/referrals/{reference}/export`): every item and email; the export is recorded. Answer within one",
        "  month.",
        "- **Erasure** (managers): `POST /referrals/{reference}/erase` (in the console",
        "  `/staff/referrals/{reference}/erase`) with a ground from Art. 17(1), where the rules allow it (never",
        "  accepted, withdrawn with no plan in force, or closed because the family did not go ahead); otherwise 409",
        "  with the reason. Ids, states, dates and the audit trail stay; every other value becomes `[erased]`.",
        "  Coordinators are refused (403).",
        "",
        "## The personal data, field by field",
    ]
    for title, model, where, who in SOURCES:
        lines += ["", f"### {title}", f"Stored in {where}; seen by {who}.", ""]
        lines += ["| field | what | why it is needed |", "|---|---|---|"]
        for path, what in fields(model):
            lines.append(f"| `{path}` | {what} | {PURPOSES[f'{model.__name__}.{path}']} |")
    return "\n".join(lines) + "\n"


def main() -> None:
    DOCUMENT.parent.mkdir(exist_ok=True)
    DOCUMENT.write_text(render())
    sys.stdout.write(f"wrote {DOCUMENT.name}\n")


if __name__ == "__main__":
    main()
