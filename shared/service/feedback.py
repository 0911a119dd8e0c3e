"""Which emails an event sends, and sending each exactly once.

Before a message is sent, an email item keyed by (event id, template, recipient) is written in the referral's
partition with a conditional put: a duplicate event finds it and sends nothing. A message SES refuses for good is
marked failed (and counted); a throttled or failed call leaves the event on the queue to be retried. Handlers read
what they need by id: events carry no contact details. The referrer's feedback after a meeting, once sent, is
announced (FeedbackSent, through the outbox, in the transaction that records it sent) for the managers' figures.
"""

from __future__ import annotations

import hashlib
import random
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from email.message import EmailMessage
from typing import Any

from shared.adapters import ses, table
from shared.adapters.dynamodb import Cancelled, ReferralReader, put, transact, update
from shared.config import Settings
from shared.domain import clock, emails
from shared.domain.clock import LONDON
from shared.domain.emails import Renderer
from shared.domain.errors import ServiceUnavailable
from shared.domain.evaluations import respondent_kind, respondents
from shared.domain.events import (
    ConnectionAnswered,
    ConnectionRequested,
    DeadlineBreached,
    Event,
    EventData,
    FamilyDeclined,
    FeedbackSent,
    MeetingCancelled,
    MeetingHeld,
    MeetingNotHeld,
    MeetingRescheduled,
    MeetingScheduled,
    PackageItemDecided,
    ParticipantInvited,
    PlanAgreed,
    PlanAgreementRequested,
    PlanChangesRequested,
    PlanShared,
    ReferralAccepted,
    ReferralDeclined,
    ReferralReceived,
    ReferralWithdrawn,
    ReviewDue,
    ReviewOverdue,
    new_event,
)
from shared.domain.participants import is_emailed, took_part, took_part_words
from shared.observability import logger
from shared.service import agreement, evaluations, plan_links
from shared.service.connections import connection_key, link_for, link_valid_for, redacted
from shared.service.outbox import outbox_item
from shared.service.retention import inherited

KIND_EMAIL = "email"
# The events that send emails: the feedback function's queue subscribes to exactly these.
HANDLED_EVENTS: tuple[type[EventData], ...] = (
    ReferralReceived,
    ReferralAccepted,
    ReferralDeclined,
    ReferralWithdrawn,
    FamilyDeclined,
    MeetingScheduled,
    MeetingRescheduled,
    MeetingCancelled,
    ParticipantInvited,
    MeetingHeld,
    MeetingNotHeld,
    ReviewDue,
    ReviewOverdue,
    DeadlineBreached,
    ConnectionRequested,
    ConnectionAnswered,
    PackageItemDecided,
    PlanAgreementRequested,
    PlanAgreed,
    PlanChangesRequested,
    PlanShared,
)
# A plan link's recipients that are the referrer (the lead practitioner who referred, or a professional's referrer).
REFERRER_LINKS = frozenset({"lead_practitioner", "referrer"})
_FEEDBACK_SENT = uuid.UUID("6c1e4a0e-3f0b-4b8e-9a57-2d1f6e5b7c41")  # FeedbackSent's id, from its email's
MEETING_EVENTS = (MeetingScheduled, MeetingRescheduled, MeetingCancelled, ParticipantInvited)
# What each deadline clock measures, in the coordinators' words. An overdue review's breach sends no email of its
# own: the review's escalation (ReviewOverdue) already tells the coordinators.
DEADLINES = {
    "acknowledgement": "acknowledging the referral",
    "decision": "a decision on the professional's request for a Family Network meeting",
    "meeting_held": "holding the Family Network meeting after the referral was accepted",
    "feedback_sent": "sending feedback to the referrer after the meeting",
    "plan_agreed": "the lead practitioner's agreement to the plan made at the meeting",
    "partner_answer": "an answer from {partner}, a community partner the family's plan connects them with",
}


@dataclass(frozen=True)
class Sent:
    template: str
    status: str  # sent | failed | duplicate
    # Service figures this email completes (metric name, value): the feedback email closes the loop of a meeting.
    measures: tuple[tuple[str, int], ...] = ()


def emails_for(
    envelope: Event[EventData],
    items: dict[str, dict[str, Any]],
    facilitator: dict[str, Any] | None,
    settings: Settings,
    *,
    render: Renderer,
) -> list[emails.Email]:
    """The emails an event sends, from the referral's items (`referral`, `meeting`, `plan`) read by id."""
    data = envelope.data
    referral = items["referral"]
    submission = referral.get("submission") or {}
    referrer = (submission.get("referrer") or {}).get("email")
    context: dict[str, Any] = {
        "reference": referral["reference"],
        "route": referral["route"],
        # the least personal data that does the job: the family's contact name at most, in the body only
        "contact_name": (submission.get("family") or {}).get("contact_name", "the family"),
        "received_at": referral["received_at"],
        "coordinators_email": settings.coordinators_email,
    }
    to_referrer: list[tuple[str, dict[str, Any]]] = []
    found: list[emails.Email] = []
    if isinstance(data, ReferralReceived):
        # from the event: whether intake accepted it (a verified Locality Team address), not the status as it is now
        context["accepted"] = data.accepted_automatically
        found.append(render("new_referral", settings.coordinators_email, context, recipient_kind="coordinators"))
        to_referrer.append(("acknowledgement", {}))
    elif isinstance(data, ReferralAccepted) and not data.automatic:
        to_referrer.append(("accepted", {}))
    elif isinstance(data, ReferralDeclined):
        to_referrer.append(("declined", {"reason": (referral.get("decision") or {}).get("reason", "")}))
    elif isinstance(data, ReferralWithdrawn):
        to_referrer.append(("withdrawn", {}))
    elif isinstance(data, FamilyDeclined):  # the reference and a fixed sentence: what the family said stays here
        to_referrer.append(("family_declined", {}))
    elif isinstance(data, MeetingScheduled | MeetingRescheduled | MeetingCancelled | ParticipantInvited):
        found += _meeting_emails(
            data,
            snapshot=items.get("meeting") or {},
            participants=list((items.get("participants") or {}).values()),
            facilitator=facilitator,
            referrer=referrer,
            context=context,
            settings=settings,
            envelope=envelope,
            render=render,
        )
    elif isinstance(data, MeetingNotHeld):  # no plan, and another meeting to come: its own feedback will follow
        to_referrer.append(("meeting_not_held", {"when": _when(data.starts_at)}))
    elif isinstance(data, PlanAgreed) or (isinstance(data, MeetingHeld) and not data.plan_agreed):
        # the referrer's feedback, once: a plan made waits for its agreement first (PlanAgreed sends it then)
        found += _feedback_email(
            data,
            items,
            context=context,
            to=referrer,
            settings=settings,
            signed_at=envelope.metadata.occurred_at,
            render=render,
        )
    elif isinstance(data, PlanShared | PlanAgreementRequested):  # emails carrying a signed link to the plan
        send = _plan_emails if isinstance(data, PlanShared) else _agreement_email
        found += send(
            data,  # type: ignore[arg-type]
            items,
            context=context,
            to=referrer,
            settings=settings,
            signed_at=envelope.metadata.occurred_at,
            render=render,
        )
    elif isinstance(data, DeadlineBreached) and data.clock == "partner_answer" and not _still_waiting(items):
        pass  # the partner answered (or the connection ended) after the daily check: nothing to chase
    elif isinstance(data, DeadlineBreached) and data.clock in DEADLINES:
        breach = {
            "what": DEADLINES[data.clock].format(partner=_partner_name(items, data.partner_id)),
            "target_working_days": data.target_working_days,
            "started_on": _day(data.started_on),
            "due_on": _day(data.due_on),
        }
        found.append(
            render(
                "deadline_breached", settings.coordinators_email, {**context, **breach}, recipient_kind="coordinators"
            )
        )
    elif isinstance(data, ConnectionRequested):
        found += _connection_email(data, items, context, settings, envelope.metadata.occurred_at, render=render)
    elif isinstance(data, PlanChangesRequested | ConnectionAnswered | PackageItemDecided):
        template, told = _to_coordinators(data, items)
        found.append(render(template, settings.coordinators_email, {**context, **told}, recipient_kind="coordinators"))
    elif isinstance(data, ReviewDue | ReviewOverdue):
        template = "review_due" if isinstance(data, ReviewDue) else "review_overdue"
        extra = {"review_number": data.review_number, "due_on": _day(data.due_on)}
        if isinstance(data, ReviewOverdue):
            extra |= {"working_days_overdue": data.working_days_overdue, "escalation": data.escalation}
        to_referrer.append((template, extra))
        if isinstance(data, ReviewOverdue):  # escalation: the coordinators hear of it too
            found.append(
                render(template, settings.coordinators_email, {**context, **extra}, recipient_kind="coordinators")
            )
    if referrer:
        found = [render(t, referrer, {**context, **extra}) for t, extra in to_referrer] + found
    return found


def evaluation_emails(
    envelope: Event[EventData], items: dict[str, dict[str, Any]], settings: Settings, *, render: Renderer
) -> list[emails.Email]:
    """After a held meeting (MeetingHeld), each family respondent's email asking how it went, with their own signed
    link: the reference and the meeting's date only (never a name). Nothing once the referral is withdrawn."""
    data, referral, signed_at = envelope.data, items["referral"], envelope.metadata.occurred_at
    if not isinstance(data, MeetingHeld) or referral.get("status") == "withdrawn":
        return []
    family = (referral.get("submission") or {}).get("family") or {}
    asked = respondents(family.get("contact_email"), list((items.get("participants") or {}).values()))
    expires = (signed_at + evaluations.link_valid_for(settings)).astimezone(LONDON).date()
    found = []
    for respondent_id, to in asked.items():
        link = evaluations.link_for(data.reference, data.meeting_id, respondent_id, settings=settings, now=signed_at)
        values = {
            "reference": data.reference,
            "coordinators_email": settings.coordinators_email,
            "held_on": _day(data.held_on),
            "link": link,
            "expires_on": _day(expires),
        }
        email = render("evaluation_request", to, values, recipient_kind=respondent_kind(respondent_id))
        found.append(replace(email, kept_text=evaluations.redacted(email.text, link)))
    return found


def _to_coordinators(
    data: PlanChangesRequested | ConnectionAnswered | PackageItemDecided, items: dict[str, dict[str, Any]]
) -> tuple[str, dict[str, Any]]:
    """An email only the coordinators get: its template and what it says besides the reference."""
    if isinstance(data, PlanChangesRequested):  # who asked, how and when: the reasons stay in the table
        return "plan_changes_requested", {
            "answerer": data.answerer,
            "via": data.recorded_via,
            "on": _day(data.requested_at),
        }
    if isinstance(data, ConnectionAnswered):
        return "connection_answered", {
            "partner_name": _partner_name(items, data.partner_id),
            "answer": data.answer,
            "has_note": bool((items.get("connection") or {}).get("note")),  # the note itself is on the case page
        }
    # the reference, the item's number and the decision: never what the item is, or anyone's name
    return "package_decided", {"item_number": data.item_number, "decision": data.decision}


def _feedback_email(
    data: MeetingHeld | PlanAgreed,
    items: dict[str, dict[str, Any]],
    *,
    context: dict[str, Any],
    to: str | None,
    settings: Settings,
    signed_at: datetime,
    render: Renderer,
) -> list[emails.Email]:
    """The referrer's feedback on the meeting: its date, who took part (by role and number, never a name), whether a
    plan was agreed (when, and how many actions and package items it has: what they are is on the plan's page), the
    referrer's own link to that page (this email carries it: their plan email at agreement is not sent, see
    _plan_emails), the first review's date, and what the referrer is asked to do. Never the plan's text or a name."""
    if not to:
        return []
    meeting, plan, by_key = items.get("meeting") or {}, items.get("plan") or {}, items.get("by_key") or {}
    counts = meeting.get("took_part")
    if counts is None:  # a meeting held before its roles were counted at the outcome: as they stand now
        participants = [v for k, v in by_key.items() if k.startswith("PARTICIPANT#")]
        counts = took_part(participants, facilitated=bool(meeting.get("facilitator_id")))
    values: dict[str, Any] = {
        "held_on": _day(data.held_on),
        "took_part": took_part_words(counts),
        "plan_agreed": isinstance(data, PlanAgreed),
        "agreed_on": "",
        "recorded_by_coordinator": False,
        "actions": 0,
        "package_items": 0,
        "review_due_on": "",
        "link": "",
        "expires_on": "",
    }
    link = None
    if isinstance(data, PlanAgreed):
        values |= {
            "agreed_on": _day(data.agreed_at),
            "recorded_by_coordinator": data.recorded_via == "coordinator",
            "actions": len(plan.get("network_actions") or []),
            "package_items": data.support_package_items,
            "review_due_on": _day(data.first_review_due_on),
        }
        mine = _referrers_link(by_key, to)
        if mine is not None:
            link = plan_links.link_for(data.reference, mine, settings=settings, now=signed_at)
            until = plan_links.valid_until(mine)
            values |= {"link": link, "expires_on": _day(until)}
    email = render("feedback", to, {**context, **values})
    return [replace(email, kept_text=plan_links.redacted(email.text, link))] if link else [email]


def _referrers_link(by_key: dict[str, dict[str, Any]], to: str) -> dict[str, Any] | None:
    """The referrer's own open link to the plan's page (they are its lead practitioner or its referrer)."""
    for key, link in sorted(by_key.items()):
        if not key.startswith("PLANLINK#") or link.get("recipient") not in REFERRER_LINKS:
            continue
        address = plan_links.address_of(link, by_key)
        if link.get("status") == "active" and address and address.strip().lower() == to.strip().lower():
            return link
    return None


def _agreement_email(
    data: PlanAgreementRequested,
    items: dict[str, dict[str, Any]],
    *,
    context: dict[str, Any],
    to: str | None,
    settings: Settings,
    signed_at: datetime,
    render: Renderer,
) -> list[emails.Email]:
    """The lead practitioner's (or referrer's) email asking them to agree the plan: the reference, the meeting's
    date, the day it is due and the signed link (never the plan itself). Nothing when this round is no longer the
    one waiting (answered, or asked again since) or the referral moved on."""
    round_ = items.get("agreement") or {}
    if not to or round_.get("agreement_id") != data.agreement_id or round_.get("status") != "requested":
        return []
    if items["referral"].get("status") != "awaiting_agreement":
        return []
    link = agreement.link_for(data.reference, data.round, data.agreement_id, settings=settings, now=signed_at)
    expires = (signed_at + agreement.link_valid_for(settings)).astimezone(LONDON).date()
    held_on = (items.get("meeting") or {}).get("held_on")
    values = {
        "answerer": data.answerer,
        "round": data.round,
        "held_on": _day(date.fromisoformat(str(held_on))) if held_on else "",
        "due_on": _day(data.due_on),
        "link": link,
        "expires_on": _day(expires),
    }
    email = render("agreement_request", to, {**context, **values}, recipient_kind=data.answerer)
    return [replace(email, kept_text=agreement.redacted(email.text, link))]


def _plan_emails(
    data: PlanShared,
    items: dict[str, dict[str, Any]],
    *,
    context: dict[str, Any],
    to: str | None,
    settings: Settings,
    signed_at: datetime,
    render: Renderer,
) -> list[emails.Email]:
    """Each recipient's email with their own link to the plan's page: the reference and dates only (never the plan,
    nor the family's name). Nothing for a link revoked since, or a recipient with no address any more."""
    del to  # each recipient's address is their link's
    found = []
    by_key = items.get("by_key") or {}
    for link_id in data.link_ids:
        link = by_key.get(f"PLANLINK#{link_id}")
        if not link or link.get("status") != "active":
            continue
        if data.because == "agreed" and link.get("recipient") in REFERRER_LINKS:
            continue  # the referrer's feedback, sent at the agreement, carries their link (one email, not two)
        to = plan_links.address_of(link, by_key)
        if not to:
            continue
        url = plan_links.link_for(data.reference, link, settings=settings, now=signed_at)
        expires = plan_links.valid_until(link).astimezone(LONDON).date()
        values = {
            "reference": data.reference,
            "coordinators_email": context["coordinators_email"],
            "because": data.because,
            "next_review_due_on": _day(data.next_review_due_on) if data.next_review_due_on else "",
            "reviewed_on": _day(data.reviewed_on) if data.reviewed_on else "",
            "link": url,
            "expires_on": _day(min(expires, data.expires_on)),
        }
        email = render("plan_shared", to, values, recipient_kind=str(link["recipient"]))
        found.append(replace(email, kept_text=plan_links.redacted(email.text, url)))
    return found


def _partner_name(items: dict[str, dict[str, Any]], partner_id: str | None) -> str:
    """The partner's name as its connection was asked (else as the directory has it now; else its id)."""
    connection, partner = items.get("connection") or {}, items.get("partner") or {}
    return str(connection.get("partner_name") or partner.get("name") or partner_id or "")


def _still_waiting(items: dict[str, dict[str, Any]]) -> bool:
    return (items.get("connection") or {}).get("status") == "requested"


def _connection_email(
    data: ConnectionRequested,
    items: dict[str, dict[str, Any]],
    context: dict[str, Any],
    settings: Settings,
    signed_at: datetime,
    *,
    render: Renderer,
) -> list[emails.Email]:
    """The partner's connection email: the reference, the coordinators' contact and the signed link, behind which
    the partner reads what was agreed with it (and the family contact's name, where the family agreed): an email
    holds no plan text and no name. Nothing when the connection is no longer this round's request (a later review
    replaced it, or the partner already answered) or the partner is inactive."""
    connection, partner = items.get("connection") or {}, items.get("partner") or {}
    if connection.get("connection_id") != data.connection_id or not _still_waiting(items):
        return []
    if not partner.get("active") or items["referral"].get("status") == "withdrawn":
        return []
    link = link_for(data.reference, data.partner_id, data.connection_id, settings=settings, now=signed_at)
    expires = (signed_at + link_valid_for(settings)).astimezone(LONDON).date()
    values = {"partner_name": _partner_name(items, data.partner_id), "link": link, "expires_on": _day(expires)}
    email = render("connection", str(partner["email"]), {**context, **values}, recipient_kind="partner")
    return [replace(email, kept_text=redacted(email.text, link))]


def _day(value: date | datetime) -> str:
    if isinstance(value, datetime):
        value = value.astimezone(LONDON).date()
    return f"{value.day} {value:%B %Y}"


def _meeting_emails(
    data: MeetingScheduled | MeetingRescheduled | MeetingCancelled | ParticipantInvited,
    *,
    snapshot: dict[str, Any],
    participants: list[dict[str, Any]],
    facilitator: dict[str, Any] | None,
    referrer: str | None,
    context: dict[str, Any],
    settings: Settings,
    envelope: Event[EventData],
    render: Renderer,
) -> list[emails.Email]:
    """Invitations (or their cancellation) with an iCalendar file, each describing the change its event names: the
    times and SEQUENCE from the event, the venue from the snapshot of the meeting version it names (never the
    meeting as it stands now, which a later change may have moved). To the referrer and the facilitator (their
    .ics names both) and to each participant the event names who is still emailed (their .ics names them alone: a
    participant's address is never shown to anyone else). A ParticipantInvited goes to its participant only."""
    cancelled = isinstance(data, MeetingCancelled)
    venue = snapshot.get("venue") or {}
    where = ", ".join(str(v) for v in (VENUES.get(venue.get("type", ""), ""), venue.get("details")) if v)
    extra = {
        "when": _when(data.starts_at),
        "venue": where or "to be confirmed",
        "moved": isinstance(data, MeetingRescheduled),
        "previously": _when(data.previous_starts_at) if isinstance(data, MeetingRescheduled) else "",
    }
    professionals = []
    if not isinstance(data, ParticipantInvited):
        professionals = [
            (to, kind) for to, kind in ((referrer, "referrer"), ((facilitator or {}).get("email"), "facilitator")) if to
        ]
    invited = [str(p["email"]) for p in participants if is_emailed(p)]  # one excluded since is sent nothing

    def attachment(attendees: list[str]) -> emails.Attachment:
        return emails.calendar(
            uid=f"{data.meeting_id}@familynet",
            sequence=data.sequence,
            starts_at=data.starts_at,
            ends_at=data.ends_at,
            summary=f"Family Network meeting {data.reference}",
            location=where,
            organizer=settings.email_sender,
            attendees=attendees,  # RFC 5546: a REQUEST (and a CANCEL) names its attendees
            cancelled=cancelled,
            stamp=envelope.metadata.occurred_at,
        )

    template = "cancellation" if cancelled else "invitation"
    found = []
    if professionals:
        shared = attachment([to for to, _ in professionals])
        found += [render(template, to, {**context, **extra}, (shared,), kind) for to, kind in professionals]
    taken = {to.strip().lower() for to, _ in professionals}
    for to in dict.fromkeys(invited):
        if to.strip().lower() not in taken:
            found.append(render(template, to, {**context, **extra}, (attachment([to]),), "participant"))
    return found


def _when(moment: datetime) -> str:
    local = moment.astimezone(LONDON)
    return f"{local:%A} {local.day} {local:%B %Y} at {local:%H:%M}"


VENUES = {
    "family_home": "At the family's home",
    "community_venue": "At a community venue",
    "family_hub": "At a Family Hub",
    "school": "At school",
    "online": "Online",
    "no_preference": "",
}


# Exactly once, as far as SES allows. An email item (the claim) is written before the send and records SES's answer
# after it. The claim's `attempt` says which invocation holds it; it may be taken over only when SES said "not now"
# (status not_sent) or when the invocation that wrote it has surely ended (claimed longer ago than the function may
# run). A send starts only with SEND_MARGIN_SECONDS of the invocation left, so a timeout cannot strike between SES
# accepting a message and its record; the record is retried until RECORD_RESERVE_SECONDS are left. What remains is
# described in the README ("Emails, exactly once").
FUNCTION_TIMEOUT_SECONDS = 30  # the feedback function's timeout (infra/constructs/feedback.py uses this)
CLAIM_STALE_AFTER = timedelta(seconds=FUNCTION_TIMEOUT_SECONDS + 10)
SEND_MARGIN_SECONDS = 10.0
RECORD_RESERVE_SECONDS = 1.0
CLAIM_WAIT_SECONDS = 5.0  # how long a duplicate delivery waits for another invocation's send to be recorded
TimeLeft = Callable[[], float]  # seconds left in the invocation


class EmailNotSentYet(ServiceUnavailable):
    """The email could not be sent now (SES busy, too little time left, another invocation sending it): the event
    is retried."""


def _unbounded() -> float:
    return float(FUNCTION_TIMEOUT_SECONDS)


def _pause(tries: int, time_left: TimeLeft, reserve: float) -> bool:
    """Wait before the next try (exponential, jittered, at most 2 s); False if that would leave under `reserve`."""
    delay = min(2.0, 0.05 * 2**tries) * (0.5 + random.random() / 2)  # noqa: S311 - jitter, not a secret
    if time_left() - delay < reserve:
        return False
    time.sleep(delay)
    return True


def email_tag(event_id: str, template: str, to: str) -> str:
    """The email's id within its referral, in the characters SES allows in a tag value."""
    recipient = hashlib.sha256(to.strip().lower().encode()).hexdigest()[:16]
    return f"{event_id}--{template}--{recipient}"


def email_key(reference: str, event_id: str, template: str, to: str) -> dict[str, str]:
    return key_of(reference, email_tag(event_id, template, to))


def key_of(reference: str, tag: str) -> dict[str, str]:
    return {table.PARTITION_KEY: table.referral_pk(reference), table.SORT_KEY: "EMAIL#" + tag.replace("--", "#")}


def deliver(
    envelope: Event[EventData],
    *,
    reader: ReferralReader,
    settings: Settings,
    now: datetime,
    render: Renderer,
    time_left: TimeLeft = _unbounded,
) -> list[Sent]:
    reference = getattr(envelope.data, "reference", None)
    if reference is None:
        return []
    partner_id = getattr(envelope.data, "partner_id", None)
    connection_sk = connection_key(reference, partner_id)[table.SORT_KEY] if partner_id else None
    # a meeting's email: the meeting as the change left it (the snapshot its event names), and its participants
    snapshot_sk, participant_sks = None, []
    if isinstance(envelope.data, MEETING_EVENTS):
        data = envelope.data
        snapshot_sk = table.meeting_snapshot_key(reference, data.meeting_id, data.meeting_version)[table.SORT_KEY]
        participant_sks = [table.participant_key(reference, p)[table.SORT_KEY] for p in data.participant_ids]
    everyone = isinstance(envelope.data, MeetingHeld)  # a held meeting's evaluation: every participant may be asked
    # a plan's agreement email: the round it asks about, and the meeting's date
    round_ = envelope.data.round if isinstance(envelope.data, PlanAgreementRequested) else None
    agreement_sk = agreement.agreement_key(reference, round_)[table.SORT_KEY] if round_ else None
    wanted = {"REFERRAL", "PLAN", connection_sk, snapshot_sk, agreement_sk, *participant_sks}
    feedback_due = isinstance(envelope.data, MeetingHeld | PlanAgreed)  # the referrer's feedback: the meeting, links
    if agreement_sk or feedback_due:
        wanted.add("MEETING")
    # the whole partition only where every participant or plan link may be needed; else the items named, by key
    whole = everyone or feedback_due or isinstance(envelope.data, PlanShared)
    read = reader.partition(reference) if whole else reader.items_of(reference, sorted(k for k in wanted if k))
    everything = {item[table.SORT_KEY]: item for item in read}
    items = {
        key: item
        for key, item in everything.items()
        if key in wanted or (everyone and str(key).startswith("PARTICIPANT#"))
    }
    if everyone:
        participant_sks = [sk for sk in items if sk.startswith("PARTICIPANT#")]
    if "REFERRAL" not in items or items["REFERRAL"].get("erased"):
        return []  # nothing to say about a referral that is gone, or erased
    named: dict[str, dict[str, Any]] = {
        "referral": items["REFERRAL"],
        "meeting": items.get(str(snapshot_sk), {}),
        "plan": items.get("PLAN", {}),
        "participants": {sk: items[sk] for sk in participant_sks if sk in items},
    }
    if agreement_sk:
        named["agreement"] = items.get(agreement_sk, {})
    if agreement_sk or feedback_due:
        named["meeting"] = items.get("MEETING", {})
    if isinstance(envelope.data, PlanShared) or feedback_due:  # each link, and the participants it may be for
        named["by_key"] = {
            k: v for k, v in everything.items() if k.startswith(("PLANLINK#", "PARTICIPANT#", "REFERRAL"))
        }
    if partner_id:  # a connection's emails: the partner, and its connection (read with the partition)
        named["partner"] = reader.item(table.partner_key(partner_id)) or {}
        named["connection"] = items.get(str(connection_sk), {})
    facilitator_id = getattr(envelope.data, "facilitator_id", None)
    facilitator = reader.item(table.facilitator_key(facilitator_id)) if facilitator_id else None
    results = []
    sending = emails_for(envelope, named, facilitator, settings, render=render)
    for email in sending + evaluation_emails(envelope, named, settings, render=render):
        announce = None
        if email.template == "feedback" and isinstance(envelope.data, MeetingHeld | PlanAgreed):
            announce = feedback_sent_item(envelope, envelope.data, email, named["referral"], settings=settings, now=now)
        sent = _send_once(
            email,
            reference,
            envelope.metadata.event_id,
            settings=settings,
            now=now,
            reader=reader,
            retention=inherited(named["referral"]),
            time_left=time_left,
            announce=announce,
        )
        if (
            sent.status == "sent"
            and email.template == "feedback"
            and isinstance(envelope.data, MeetingHeld | PlanAgreed)
        ):
            sent = replace(sent, measures=meeting_measures(envelope.data, named["referral"], now))
        results.append(sent)
    return results


def feedback_sent_item(
    envelope: Event[EventData],
    held: MeetingHeld | PlanAgreed,
    email: emails.Email,
    referral: dict[str, Any],
    *,
    settings: Settings,
    now: datetime,
) -> dict[str, Any]:
    """FeedbackSent, as an outbox item written with the record that the referrer's feedback was sent. Its id comes
    from the email's, so a record written again (a retried transaction) announces the same event."""
    reference = str(referral["reference"])
    tag = email_tag(envelope.metadata.event_id, email.template, email.to)
    event = new_event(
        FeedbackSent(reference=reference, meeting_id=held.meeting_id, held_on=held.held_on, sent_at=now),
        correlation_id=envelope.metadata.correlation_id,
        occurred_at=now,
        event_id=str(uuid.uuid5(_FEEDBACK_SENT, tag)),
    )
    item = outbox_item(
        table.referral_pk(reference), envelope=event, detail_type=FeedbackSent.detail_type, now=now, settings=settings
    )
    ends = inherited(referral).get(table.TTL_ATTRIBUTE)  # never kept longer than the ended referral it is about
    if ends is not None:
        item[table.TTL_ATTRIBUTE] = min(int(item[table.TTL_ATTRIBUTE]), int(ends))
    return item


def meeting_measures(
    held: MeetingHeld | PlanAgreed, referral: dict[str, Any], now: datetime
) -> tuple[tuple[str, int], ...]:
    """Calendar days from the referral to its meeting, and from the meeting to the referrer's feedback."""
    received = datetime.fromisoformat(str(referral["received_at"]).replace("Z", "+00:00")).astimezone(LONDON)
    today = now.astimezone(LONDON).date()
    return (
        ("FeedbackEmailsSent", 1),
        ("DaysReferralToMeeting", (held.held_on - received.date()).days),
        ("DaysMeetingToFeedback", (today - held.held_on).days),
    )


def _send_once(
    email: emails.Email,
    reference: str,
    event_id: str,
    *,
    settings: Settings,
    now: datetime,
    reader: ReferralReader,
    retention: dict[str, Any] | None = None,
    time_left: TimeLeft = _unbounded,
    announce: dict[str, Any] | None = None,
) -> Sent:
    """Send the email once; `announce`, an outbox item, is written with the record that it was sent."""
    key = email_key(reference, event_id, email.template, email.to)
    tag = email_tag(event_id, email.template, email.to)
    ids = {"event_id": event_id, "email": tag}
    if time_left() < SEND_MARGIN_SECONDS:
        raise EmailNotSentYet("too little of the invocation is left to send and record an email")
    attempt = uuid.uuid4().hex
    item = {
        **(retention or {}),  # an email about an ended referral expires with it
        **key,
        table.KIND_ATTRIBUTE: KIND_EMAIL,
        "reference": reference,
        "event_id": event_id,
        "template": email.template,
        "to": email.to,
        "recipient_kind": email.recipient_kind,
        "subject": email.subject,
        # what was sent, for the family's subject access request (less a partner's answer link); expires with it
        "text": email.kept_text if email.kept_text is not None else email.text,
        "status": "sending",
        "attempt": attempt,
        "created_at": clock.iso(now),
    }
    if not _claim(item, key, settings=settings, reader=reader, time_left=time_left, ids=ids):
        return Sent(email.template, "duplicate")
    message = emails.mime(email, settings.email_sender)
    try:
        message_id = _send(message, reference, tag, settings=settings, time_left=time_left)
    except ses.PermanentSendFailure as failure:
        logger.warning("Email refused by SES", extra={**ids, "failure": str(failure)})
        failed = {"status": "failed", "failure": str(failure), "updated_at": clock.iso(now)}
        _record(key, attempt, failed, settings=settings, time_left=time_left, ids=ids)
        return Sent(email.template, "failed")
    except ses.NotSent:
        _record(key, attempt, {"status": "not_sent"}, settings=settings, time_left=lambda: 0.0, ids=ids)
        logger.warning("SES did not take the email; the event will be retried", extra=ids)
        raise
    except ses.MaybeSent:
        # Left as `sending`: a retry after the claim goes stale sends it again (at least once, not at most once).
        logger.error("SES did not answer: the email may have been sent; the event will be retried", extra=ids)
        raise
    logger.info("Email sent", extra={**ids, "ses_message_id": message_id})
    sent = {"status": "sent", "ses_message_id": message_id, "updated_at": clock.iso(now)}
    also = [put(announce, settings.table_name)] if announce else []
    if not _record(key, attempt, sent, settings=settings, time_left=time_left, ids=ids, also=also):
        # Sending again would duplicate it: SES's delivery event records it instead (track), by its tag.
        logger.error("Email sent but not recorded", extra={**ids, "ses_message_id": message_id})
    return Sent(email.template, "sent")


def _claim(
    item: dict[str, Any],
    key: dict[str, str],
    *,
    settings: Settings,
    reader: ReferralReader,
    time_left: TimeLeft,
    ids: dict[str, str],
) -> bool:
    """Write the claim; True when this invocation may send, False when the email was handled already. Raises
    EmailNotSentYet when another invocation is sending it now, or DynamoDB refuses the claim for too long."""
    condition = f"attribute_not_exists({table.PARTITION_KEY})"
    values: dict[str, Any] = {}
    names: dict[str, str] = {}
    tries = 0
    waiting_until = time.monotonic() + CLAIM_WAIT_SECONDS
    while True:
        write = put(item, settings.table_name, condition, values or None, names=names or None)
        try:
            transact([write], settings.table_name)
            return True
        except Cancelled:
            current = reader.item(key)
        except ServiceUnavailable:
            current = None
            if not _pause(tries, time_left, SEND_MARGIN_SECONDS):
                raise EmailNotSentYet("DynamoDB did not take the email's claim") from None
            tries += 1
            continue
        if current is None:  # gone meanwhile, or kept past its retention (an old email): handled
            return False
        status, holder = current.get("status"), current.get("attempt")
        if holder == item["attempt"]:
            return True  # our own claim: the answer to an earlier try was lost
        if status == "sending" and not _stale(current):
            # Another invocation (a duplicate delivery) is sending it now: wait for its record, else retry later.
            if time.monotonic() < waiting_until and _pause(tries, time_left, SEND_MARGIN_SECONDS):
                tries += 1
                continue
            raise EmailNotSentYet("another invocation is sending this email")
        if status not in ("sending", "not_sent"):
            return False  # sent, failed, delivered, bounced…: handled
        if status == "sending":
            logger.warning(
                "Email claim left by an invocation that ended before SES answered; sending again",
                extra={**ids, "claimed_at": current.get("created_at")},
            )
        # Take over exactly the claim read, and only if it is still as read.
        names = {"#status": "status", "#attempt": "attempt"}
        values = {":status": status, **({":attempt": holder} if holder else {})}
        held = "#attempt = :attempt" if holder else "attribute_not_exists(#attempt)"
        condition = f"#status = :status AND {held}"


def _stale(claim: dict[str, Any]) -> bool:
    """Whether the invocation that wrote this claim has surely ended (claimed longer ago than it may run)."""
    claimed = datetime.fromisoformat(str(claim.get("created_at", "")).replace("Z", "+00:00"))
    return clock.now() - claimed > CLAIM_STALE_AFTER


def _send(message: EmailMessage, reference: str, tag: str, *, settings: Settings, time_left: TimeLeft) -> str:
    """Send; what SES refused for now is tried again while the invocation has time (nothing was sent)."""
    tries = 0
    while True:
        try:
            return ses.send(
                message, configuration_set=settings.ses_configuration_set, tags={"reference": reference, "email": tag}
            )
        except ses.NotSent:
            if not _pause(tries, time_left, SEND_MARGIN_SECONDS):
                raise
            tries += 1


def _record(
    key: dict[str, str],
    attempt: str,
    values: dict[str, Any],
    *,
    settings: Settings,
    time_left: TimeLeft,
    ids: dict[str, str],
    also: list[Any] | None = None,
) -> bool:
    """SES's answer on the claim this invocation holds (with `also`, in the same transaction), retried while the
    invocation has time; False if not recorded."""
    write = update(
        key,
        settings.table_name,
        values,
        condition="#attempt = :attempt",
        names={"#attempt": "attempt"},
        values={":attempt": attempt},
    )
    tries = 0
    while True:
        try:
            transact([write, *(also or [])], settings.table_name)
            return True
        except Cancelled:
            logger.error("Email claim taken over before SES's answer was recorded", extra=ids)
            return False
        except ServiceUnavailable:
            if not _pause(tries, time_left, RECORD_RESERVE_SECONDS):
                return False
            tries += 1


def _mark(key: dict[str, str], settings: Settings, values: dict[str, Any]) -> None:
    transact([update(key, settings.table_name, values)], settings.table_name)


# --- SES delivery tracking --------------------------------------------------------------------------------------
SES_STATUS = {"Delivery": "delivered", "Bounce": "bounced", "Complaint": "complained", "Reject": "rejected"}


def track(
    detail: dict[str, Any],
    *,
    event_id: str,
    reader: ReferralReader,
    settings: Settings,
    now: datetime,
    render: Renderer,
    time_left: TimeLeft = _unbounded,
) -> str:
    """An SES event (from the configuration set, through EventBridge): the email's status follows it; a bounce or
    complaint from a referrer or facilitator tells the coordinators, once."""
    kind = str(detail.get("eventType", ""))
    tags = (detail.get("mail") or {}).get("tags") or {}
    reference = (tags.get("reference") or [None])[0]
    tag = (tags.get("email") or [None])[0]
    if kind not in SES_STATUS or not reference or not tag:
        return "ignored"
    key = key_of(reference, tag)
    item = reader.item(key)
    if item is None:
        return "ignored"
    status = SES_STATUS[kind]
    if kind == "Delivery" and item.get("status") in ("bounced", "complained"):
        return "ignored"  # events can arrive out of order: a bounce stands
    recorded = {"status": status, "updated_at": clock.iso(now), f"{status}_at": clock.iso(now)}
    if message_id := (detail.get("mail") or {}).get("messageId"):
        recorded["ses_message_id"] = str(message_id)  # an email sent but not recorded (see _send_once) is, now
    _mark(key, settings, recorded)
    if kind in ("Bounce", "Complaint") and item.get("recipient_kind") != "coordinators":
        bounce = detail.get("bounce") or {}
        notice = render(
            "bounce_notice",
            settings.coordinators_email,
            {
                "reference": reference,
                "failed_subject": item.get("subject", ""),
                "recipient_kind": item.get("recipient_kind", "referrer"),
                "address": item.get("to", ""),
                "complaint": kind == "Complaint",
                "bounce_type": bounce.get("bounceType", "Undetermined"),
            },
            recipient_kind="coordinators",
        )
        _send_once(notice, reference, event_id, settings=settings, now=now, reader=reader, time_left=time_left)
    return status
