"""The plan's page behind a signed link, one link per person it is for (issue 21, item 2).

When a plan comes into force (agreed), each recipient gets a link item (`PLANLINK#<link id>`: who it is for, by kind
and participant id, never an address; its expiry; active or revoked) and PlanShared, whose emails carry each their
own link (purpose "plan": a connection or agreement link cannot open it, nor it them). A review renews every active
link (a new expiry, `plan_link_days` on) and sends it again. A coordinator may revoke one link: it shows nothing from
then on. The recipients, each once (by address):
- the lead practitioner (who referred), or for a professional's request the referrer;
- the family's contact, if the referral gave their email;
- each participant with an email and consent to be contacted who took part (never one excluded, or who declined).
At agreement the referrer's link travels in their feedback on the meeting (shared/service/feedback.py), not in an
email of its own; at a review everyone's link is sent again.

Opening a link reads the referral's partition and is recorded in its read audit, as the recipient (kind and link id).
A link that was altered, made for something else, expired, revoked, or belongs to a referral withdrawn or erased
answers LinkProblem and shows nothing.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, Literal

from shared.adapters import table
from shared.adapters.dynamodb import ReferralReader, put, update
from shared.config import Settings
from shared.domain import clock, links
from shared.domain.actors import Actor
from shared.domain.clock import LONDON
from shared.domain.errors import NotFound
from shared.domain.events import PlanLinkRevoked, PlanRecipient, PlanShared, new_event
from shared.domain.participants import receives_plan
from shared.domain.referrals import ReferralStatus
from shared.domain.workflow import IllegalTransition
from shared.service.changes import audit_entry, commit_change, current_state, referral_update
from shared.service.connections import LinkProblem, link_key
from shared.service.outbox import outbox_item

KIND_PLAN_LINK = "plan_link"
# The states a plan's page shows: in force, or closed at its last review (its links expire as they were).
SHOWN = frozenset({ReferralStatus.PLAN_ACTIVE.value, ReferralStatus.CLOSED.value})
RECIPIENT_WORDS = {
    "lead_practitioner": "The lead practitioner",
    "referrer": "The professional who referred the family",
    "family": "The family's contact",
    "participant": "A participant",
}


def link_item_key(reference: str, link_id: str) -> dict[str, str]:
    return {table.PARTITION_KEY: table.referral_pk(reference), table.SORT_KEY: f"PLANLINK#{link_id}"}


@dataclass(frozen=True)
class Recipient:
    kind: PlanRecipient
    participant_id: str | None
    email: str


def recipients(items: list[dict[str, Any]]) -> list[Recipient]:
    """Who the plan is sent to, each once (the first role an address has): see the module's docstring."""
    referral = next(i for i in items if i[table.SORT_KEY] == "REFERRAL")
    submission = referral.get("submission") or {}
    found: list[Recipient] = []
    referrer = (submission.get("referrer") or {}).get("email")
    if referrer:
        kind: PlanRecipient = "lead_practitioner" if referral.get("route") == "lead_practitioner" else "referrer"
        found.append(Recipient(kind, None, str(referrer)))
    family = (submission.get("family") or {}).get("contact_email")
    if family:
        found.append(Recipient("family", None, str(family)))
    participants = sorted(
        (i for i in items if i.get(table.KIND_ATTRIBUTE) == "participant"), key=lambda i: i[table.SORT_KEY]
    )
    found += [
        Recipient("participant", str(p["participant_id"]), str(p["email"])) for p in participants if receives_plan(p)
    ]
    seen: set[str] = set()
    once = []
    for recipient in found:
        if recipient.email.lower() not in seen:
            seen.add(recipient.email.lower())
            once.append(recipient)
    return once


def address_of(link: dict[str, Any], items: dict[str, dict[str, Any]]) -> str | None:
    """The address a link is sent to now (from the referral, or its participant), None if there is none any more."""
    submission = (items.get("REFERRAL") or {}).get("submission") or {}
    kind = link.get("recipient")
    if kind in ("lead_practitioner", "referrer"):
        return (submission.get("referrer") or {}).get("email")
    if kind == "family":
        return (submission.get("family") or {}).get("contact_email")
    participant = items.get(f"PARTICIPANT#{link.get('participant_id')}") or {}
    return str(participant["email"]) if receives_plan(participant) else None


def links_of(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return sorted(
        (i for i in items if i.get(table.KIND_ATTRIBUTE) == KIND_PLAN_LINK), key=lambda i: str(i.get("issued_at"))
    )


def expiry(settings: Settings, now: datetime) -> datetime:
    return now + timedelta(days=settings.plan_link_days)


def share_writes(
    reference: str,
    items: list[dict[str, Any]],
    *,
    because: Literal["agreed", "reviewed", "closed"],
    next_review_due_on: date | None,
    settings: Settings,
    correlation_id: str,
    now: datetime,
    reviewed_on: date | None = None,
) -> list[Any]:
    """For the caller's transaction: each recipient's link (a new one, or theirs renewed: a new expiry) and
    PlanShared. A link revoked stays revoked; someone no longer a recipient keeps what they had, unrenewed. When the
    plan closes, those with an open link are told, and their links run to their end unrenewed (none is made)."""
    until = expiry(settings, now)
    existing = {(link.get("recipient"), link.get("participant_id")): link for link in links_of(items)}
    writes: list[Any] = []
    link_ids: list[str] = []
    open_until: list[datetime] = []  # closing: the links as they stand
    for recipient in recipients(items):
        had = existing.get((recipient.kind, recipient.participant_id))
        if had is not None and had.get("status") == "revoked":
            continue
        if because == "closed":
            if had is not None and valid_until(had) > now:
                link_ids.append(str(had["link_id"]))
                open_until.append(valid_until(had))
            continue
        if had is not None:
            link_id = str(had["link_id"])
            writes.append(
                update(
                    link_item_key(reference, link_id),
                    settings.table_name,
                    {"valid_until": clock.iso(until), "renewed_at": clock.iso(now)},
                    condition="#status = :active",
                    names={"#status": "status"},
                    values={":active": "active"},
                )
            )
        else:
            link_id = "L" + uuid.uuid4().hex[:16]
            item = {
                **link_item_key(reference, link_id),
                table.KIND_ATTRIBUTE: KIND_PLAN_LINK,
                "reference": reference,
                "link_id": link_id,
                "recipient": recipient.kind,
                "status": "active",
                "issued_at": clock.iso(now),
                "valid_until": clock.iso(until),
            }
            if recipient.participant_id:
                item["participant_id"] = recipient.participant_id
            writes.append(put(item, settings.table_name, f"attribute_not_exists({table.PARTITION_KEY})"))
        link_ids.append(link_id)
    if not link_ids:
        return writes
    until = max(open_until, default=until)
    event = PlanShared(
        reference=reference,
        because=because,
        link_ids=link_ids,
        expires_on=until.astimezone(LONDON).date(),
        next_review_due_on=next_review_due_on,
        reviewed_on=reviewed_on,
    )
    envelope = new_event(event, correlation_id=correlation_id, occurred_at=now)
    pk = table.referral_pk(reference)
    writes.append(put(outbox_item(pk, envelope, event.detail_type, now=now, settings=settings), settings.table_name))
    return writes


def valid_until(link: dict[str, Any]) -> datetime:
    """The moment a link item stops working (its `valid_until`, kept in ISO 8601 with a Z)."""
    return datetime.fromisoformat(str(link["valid_until"]).replace("Z", "+00:00"))


# --- the link itself -------------------------------------------------------------------------------------------------
def link_for(reference: str, link: dict[str, Any], *, settings: Settings, now: datetime) -> str:
    """A recipient's link to the plan's page, signed at `now`, working until their link's expiry."""
    expires_at = valid_until(link)
    token = links.sign(
        {"r": reference, "l": str(link["link_id"])},
        purpose="plan",
        key=link_key(settings),
        now=now,
        valid_for=max(expires_at - now, timedelta(seconds=1)),
    )
    return f"{settings.public_url.rstrip('/')}/plans/{token}"


def redacted(text: str, link: str) -> str:
    """An email's text as it is kept (for subject access): without the link, which opens the plan."""
    return text.replace(link, "[the link to the plan: not kept]")


@dataclass(frozen=True)
class PlanLink:
    """An open link to a plan's page: whose, until when, and the referral's items it shows."""

    reference: str
    link_id: str
    recipient: PlanRecipient
    expires_at: datetime
    referral: dict[str, Any]
    plan: dict[str, Any]
    meeting: dict[str, Any]
    reviews: list[dict[str, Any]]

    @property
    def actor(self) -> Actor:
        return Actor(subject=self.link_id, role=self.recipient)


def _problem(reason: str, settings: Settings) -> LinkProblem:
    ask = f"If you need the plan, email the Family Network coordinators at {settings.coordinators_email}."
    if reason == "expired":
        return LinkProblem("expired", "This link has expired", f"Links to the plan work for a limited time. {ask}")
    if reason == "revoked":
        return LinkProblem("ended", "This link no longer works", f"The coordinators have closed this link. {ask}")
    if reason == "ended":
        return LinkProblem("ended", "This plan is no longer available", f"The referral has closed. {ask}")
    return LinkProblem(
        "invalid", "This link is not valid", f"Check that you used the whole link from our email, as it was sent. {ask}"
    )


def open_link(token: str, *, reader: ReferralReader, settings: Settings, now: datetime) -> PlanLink:
    """The plan a link opens, while it may; LinkProblem otherwise (which shows nothing of the plan)."""
    try:
        claims = links.verify(token, purpose="plan", key=link_key(settings), now=now)
    except links.LinkRefused as refused:
        raise _problem("expired" if refused.reason == "expired" else "invalid", settings) from None
    reference, link_id = str(claims.get("r", "")), str(claims.get("l", ""))
    if not (reference.startswith("FN-") and len(reference) == 11 and link_id.isascii() and link_id.isalnum()):
        raise _problem("invalid", settings)
    items = {i[table.SORT_KEY]: i for i in reader.partition(reference)}
    referral, link, plan = items.get("REFERRAL"), items.get(f"PLANLINK#{link_id}"), items.get("PLAN")
    if referral is None or link is None or plan is None or referral.get("erased"):
        raise _problem("invalid", settings)
    if link.get("status") != "active":
        raise _problem("revoked", settings)
    expires_at = valid_until(link)
    if expires_at <= now:
        raise _problem("expired", settings)
    if referral.get("status") not in SHOWN:
        raise _problem("ended", settings)
    return PlanLink(
        reference=reference,
        link_id=link_id,
        recipient=link["recipient"],
        expires_at=expires_at,
        referral=referral,
        plan=plan,
        meeting=items.get("MEETING") or {},
        reviews=[i for i in items.values() if i.get(table.KIND_ATTRIBUTE) == "review"],
    )


# --- revoking --------------------------------------------------------------------------------------------------------
def revoke(
    reference: str,
    link_id: str,
    *,
    actor: Actor,
    expected_version: int | None,
    reader: ReferralReader,
    settings: Settings,
    correlation_id: str,
    now: datetime | None = None,
) -> dict[str, Any]:
    """A coordinator closes one recipient's link, in one transaction (the referral's version, the link, the audit
    entry, PlanLinkRevoked). Revoking it again changes nothing."""
    now = now or clock.now()
    current = current_state(reader, reference)
    if expected_version is not None and expected_version != current.version:
        raise IllegalTransition("revoke_plan_link", current.status, stale=True)
    link = next((i for i in links_of(current.items) if i.get("link_id") == link_id), None)
    if link is None:
        raise NotFound("This referral's plan has no such link")
    if link.get("status") == "revoked":
        return {"reference": reference, "version": current.version, "changed": False}
    at = clock.iso(now)
    event = PlanLinkRevoked(reference=reference, link_id=link_id, recipient=link["recipient"], revoked_at=now)
    envelope = new_event(event, correlation_id=correlation_id, occurred_at=now)
    audit = audit_entry(
        reference,
        at=at,
        actor=actor,
        action="plan.link_revoked",
        changes={"plan_link": {"link_id": link_id, "recipient": link["recipient"], "from": "active", "to": "revoked"}},
        event_id=envelope.metadata.event_id,
        cid=correlation_id,
    )
    pk = table.referral_pk(reference)
    writes = [
        referral_update(settings, reference, current.version, current.status, at),
        update(
            link_item_key(reference, link_id),
            settings.table_name,
            {"status": "revoked", "revoked_at": at, "revoked_by": actor.audit_name},
            condition="#status = :active",
            names={"#status": "status"},
            values={":active": "active"},
        ),
        put(audit, settings.table_name),
        put(outbox_item(pk, envelope, event.detail_type, now=now, settings=settings), settings.table_name),
    ]
    commit_change(writes, settings, reference, "revoke_plan_link", current.status)
    return {"reference": reference, "version": current.version + 1, "changed": True}


def links_view(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each link as a coordinator reads it: who it is for (kind and participant id), its dates and state."""
    keys = ("link_id", "recipient", "participant_id", "status", "issued_at", "renewed_at", "valid_until", "revoked_at")
    return [{key: link[key] for key in keys if key in link} for link in links_of(items)]
