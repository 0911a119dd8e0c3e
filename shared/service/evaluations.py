"""The family's evaluation of their meeting (issue 21, item 5), through each respondent's signed link (no login).

When a meeting is held, the feedback function emails each family respondent (shared/domain/evaluations.py: the
family's contact, and each family member who took part with an email and consent) their own link (purpose
"evaluation": it opens nothing else, and no other link opens it), in an email holding the reference and dates
only. `GET /evaluations/{token}` shows the short form, changes nothing and is recorded in the read audit;
`POST /evaluations/{token}` records the answers once: one item per meeting and respondent
(`EVALUATION#<meeting id>#<respondent>`), put only if absent, with its audit entry and EvaluationReceived (ids and
dates) in one transaction. A second answer finds it and changes nothing. The answers stay in the referral's
partition (exported, tombstoned by erasure); the reports function reads the closed ones to count them.

A link carries ids only: the reference, the meeting and the respondent (`family`, or a participant id).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from shared.adapters import table
from shared.adapters.dynamodb import Cancelled, ReferralReader, condition_check, put, transact
from shared.config import Settings
from shared.domain import clock, links
from shared.domain.actors import Actor
from shared.domain.clock import LONDON
from shared.domain.evaluations import (
    CHOICES,
    FAMILY_CONTACT,
    RESPONDENT,
    EvaluationAnswers,
    evaluates,
    respondent_kind,
)
from shared.domain.events import EvaluationReceived, new_event
from shared.domain.referrals import REFERENCE_PATTERN
from shared.service.changes import audit_entry
from shared.service.connections import LinkProblem, link_key
from shared.service.outbox import outbox_item
from shared.service.retention import inherited

KIND_EVALUATION = "evaluation"
MEETING_ID_MAX = 64


def evaluation_key(reference: str, meeting_id: str, respondent_id: str) -> dict[str, str]:
    return {
        table.PARTITION_KEY: table.referral_pk(reference),
        table.SORT_KEY: f"EVALUATION#{meeting_id}#{respondent_id}",
    }


# --- links --------------------------------------------------------------------------------------------------------
def link_valid_for(settings: Settings) -> timedelta:
    return timedelta(days=settings.evaluation_link_days)


def link_for(reference: str, meeting_id: str, respondent_id: str, *, settings: Settings, now: datetime) -> str:
    """The respondent's link to evaluate the meeting, signed at `now`."""
    token = links.sign(
        {"r": reference, "m": meeting_id, "w": respondent_id},
        purpose="evaluation",
        key=link_key(settings),
        now=now,
        valid_for=link_valid_for(settings),
    )
    return f"{settings.public_url.rstrip('/')}/evaluations/{token}"


def redacted(text: str, link: str) -> str:
    """An email's text as it is kept (for subject access): without the link, which would let its reader answer."""
    return text.replace(link, "[the link to tell us about the meeting: not kept]")


@dataclass(frozen=True)
class EvaluationLink:
    """The meeting and respondent a link opened, while their evaluation may still be given."""

    reference: str
    meeting_id: str
    respondent_id: str
    held_on: date
    expires_at: datetime
    referral: dict[str, Any]

    @property
    def actor(self) -> Actor:
        """Who reads and answers, in the audit trail: by kind and id, never by name."""
        return Actor(subject=self.respondent_id, role=respondent_kind(self.respondent_id))


def _problem(reason: str, settings: Settings) -> LinkProblem:
    ask = f"If you want to tell us something, email the Family Network coordinators at {settings.coordinators_email}."
    if reason == "expired":
        return LinkProblem("expired", "This link has expired", f"Links in our emails work for a limited time. {ask}")
    if reason == "answered":
        return LinkProblem(
            "answered",
            "You have already told us about the meeting",
            f"Your answers were recorded before: nothing has changed. Thank you. {ask}",
        )
    if reason == "ended":
        return LinkProblem("ended", "This link is no longer open", f"We are no longer asking about this meeting. {ask}")
    return LinkProblem(
        "invalid", "This link is not valid", f"Check that you used the whole link from our email, as it was sent. {ask}"
    )


def _claims(token: str, settings: Settings, now: datetime) -> tuple[str, str, str, int]:
    try:
        claims = links.verify(token, purpose="evaluation", key=link_key(settings), now=now)
    except links.LinkRefused as refused:
        raise _problem(refused.reason, settings) from None
    reference, meeting_id, respondent_id = (claims.get(k) for k in ("r", "m", "w"))
    if not (isinstance(reference, str) and isinstance(meeting_id, str) and isinstance(respondent_id, str)):
        raise _problem("malformed", settings)
    if not (0 < len(meeting_id) <= MEETING_ID_MAX and "#" not in meeting_id and RESPONDENT.match(respondent_id)):
        raise _problem("malformed", settings)
    if not REFERENCE_PATTERN.match(reference):
        raise _problem("malformed", settings)
    return reference, meeting_id, respondent_id, int(claims["exp"])


def open_link(token: str, *, reader: ReferralReader, settings: Settings, now: datetime) -> EvaluationLink:
    """The meeting and respondent a link is for, while their evaluation may be given; LinkProblem otherwise (it
    shows nothing). Reads only, by key: a GET (an email scanner following the link) never answers."""
    reference, meeting_id, respondent_id, expires = _claims(token, settings, now)
    pk = table.referral_pk(reference)
    referral = reader.item({table.PARTITION_KEY: pk, table.SORT_KEY: "REFERRAL"})
    meeting = reader.item({table.PARTITION_KEY: pk, table.SORT_KEY: "MEETING"})
    if referral is None or meeting is None or referral.get("erased"):
        raise _problem("malformed", settings)
    if meeting.get("meeting_id") != meeting_id or meeting.get("status") != "held" or not meeting.get("held_on"):
        raise _problem("malformed", settings)
    if respondent_id == FAMILY_CONTACT:
        family = (referral.get("submission") or {}).get("family") or {}
        if not family.get("contact_email"):
            raise _problem("malformed", settings)
    else:
        participant = reader.item(table.participant_key(reference, respondent_id))
        if participant is None or participant.get("erased"):
            raise _problem("malformed", settings)
        if not evaluates(participant):  # excluded since, or their consent to be contacted withdrawn
            raise _problem("ended", settings)
    if reader.item(evaluation_key(reference, meeting_id, respondent_id)) is not None:
        raise _problem("answered", settings)
    if referral.get("status") == "withdrawn":
        raise _problem("ended", settings)
    return EvaluationLink(
        reference=reference,
        meeting_id=meeting_id,
        respondent_id=respondent_id,
        held_on=date.fromisoformat(str(meeting["held_on"])),
        expires_at=datetime.fromtimestamp(expires, tz=LONDON),
        referral=referral,
    )


# --- recording ----------------------------------------------------------------------------------------------------
def record(
    link: EvaluationLink, answers: EvaluationAnswers, *, settings: Settings, correlation_id: str, now: datetime
) -> str:
    """Record the respondent's evaluation once: the evaluation item (only if absent), a check that the referral is
    still there and not erased or withdrawn, its audit entry and EvaluationReceived, in one transaction. Its id;
    LinkProblem ("answered": a second answer, or a double click) changing nothing otherwise."""
    reference = link.reference
    at = clock.iso(now)
    kind = respondent_kind(link.respondent_id)
    participant_id = None if link.respondent_id == FAMILY_CONTACT else link.respondent_id
    evaluation_id = "E" + uuid.uuid4().hex[:16]
    retention = inherited(link.referral)  # an evaluation of an ended referral expires with it
    item = {
        **retention,
        **evaluation_key(reference, link.meeting_id, link.respondent_id),
        table.KIND_ATTRIBUTE: KIND_EVALUATION,
        "reference": reference,
        "evaluation_id": evaluation_id,
        "meeting_id": link.meeting_id,
        "held_on": link.held_on.isoformat(),
        "respondent": kind,
        **({"participant_id": participant_id} if participant_id else {}),
        "received_at": at,
        **answers.model_dump(exclude_none=True),
    }
    event = EvaluationReceived(
        reference=reference,
        meeting_id=link.meeting_id,
        evaluation_id=evaluation_id,
        respondent=kind,
        participant_id=participant_id,
        held_on=link.held_on,
        received_at=now,
    )
    envelope = new_event(event, correlation_id=correlation_id, occurred_at=now)
    audit = audit_entry(
        reference,
        at=at,
        actor=link.actor,
        action="evaluation.received",
        # who answered and about which meeting: what they said stays in the evaluation item
        changes={"evaluation": {"meeting_id": link.meeting_id, "respondent": kind, "evaluation_id": evaluation_id}},
        event_id=envelope.metadata.event_id,
        cid=correlation_id,
    )
    pk = table.referral_pk(reference)
    writes = [
        put(item, settings.table_name, f"attribute_not_exists({table.PARTITION_KEY})"),
        condition_check(
            {table.PARTITION_KEY: pk, table.SORT_KEY: "REFERRAL"},
            settings.table_name,
            "attribute_exists(#pk) AND attribute_not_exists(erased) AND #status <> :withdrawn",
            names={"#pk": table.PARTITION_KEY, "#status": "status"},
            values={":withdrawn": "withdrawn"},
        ),
        put({**audit, **retention}, settings.table_name),
        put(outbox_item(pk, envelope, event.detail_type, now=now, settings=settings), settings.table_name),
    ]
    try:
        transact(writes, settings.table_name)
    except Cancelled as cancelled:
        if cancelled.failed(0):
            raise _problem("answered", settings) from None  # a second answer, or a double click
        raise _problem("ended", settings) from None  # withdrawn or erased since the link was opened
    return evaluation_id


def evaluations_view(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each evaluation of the referral's meetings, oldest first, with its answers in words (the free text too)."""
    found = [i for i in items if i.get(table.KIND_ATTRIBUTE) == KIND_EVALUATION and not i.get("erased")]
    return [
        {
            "meeting_id": e.get("meeting_id"),
            "respondent": e.get("respondent"),
            **({"participant_id": e["participant_id"]} if e.get("participant_id") else {}),
            "received_at": e.get("received_at"),
            **{question: CHOICES[question].get(str(e.get(question)), "") for question in CHOICES},
            **({"comments": e["comments"]} if e.get("comments") else {}),
        }
        for e in sorted(found, key=lambda e: str(e.get("received_at", "")))
    ]
