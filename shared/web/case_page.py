"""A referral's case page, from the read side's view of it (shared/views/referrals.referral_view): the words and
dates a coordinator reads, and the timeline built from its audit trail."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from markupsafe import Markup, escape

from shared.domain.clock import LONDON
from shared.domain.participants import ATTENDANCE_WORDS, PREFERENCE_WORDS, ROLE_WORDS
from shared.domain.referrals import today

ACTIONS = {
    "referral.received": "Referral received",
    "referral.accepted": "Referral accepted",
    "referral.declined": "Referral declined",
    "referral.withdrawn": "Referral withdrawn",
    "referral.assigned": "Coordinator named",
    "preparation.contact": "Preparation: contact recorded",
    "preparation.family_decision": "Preparation: the family's decision recorded",
    "preparation.checklist": "Preparation: checklist changed",
    "preparation.child_voice": "Preparation: a child's voice recorded",
    "note.added": "Case note added",
    "meeting.scheduled": "Meeting booked",
    "meeting.rescheduled": "Meeting moved",
    "meeting.cancelled": "Meeting cancelled",
    "meeting.held": "Meeting held",
    "meeting.not_held": "Meeting not held",
    "meeting.proposed": "Meeting times proposed",
    "review.continue": "Review: the plan continues",
    "review.adjust": "Review: the support package adjusted",
    "review.close": "Review: the plan closed",
    "review.moved": "Review moved",
    "connection.contacted": "Partner contacted the family",
    "connection.cannot_help": "Partner cannot help",
    "connection.resent": "Partner's request sent again",
    "participant.added": "Participant added",
    "participant.changed": "Participant changed",
    "package.approved": "Support package item approved",
    "package.declined": "Support package item declined",
    "package.delivered": "Support package item delivered",
    "plan.agreed": "Plan agreed by the lead practitioner",
    "plan.changes_requested": "Changes to the plan asked",
    "plan.agreement_requested": "Plan sent for agreement again",
    "evaluation.received": "The family's evaluation of the meeting received",
}
VENUES = {
    "family_home": "At the family's home",
    "community_venue": "At a community venue",
    "family_hub": "At a Family Hub",
    "school": "At a school",
    "online": "Online",
}


REVIEW_OUTCOMES = {
    "continue": "The plan continues",
    "adjust": "The support package adjusted",
    "close": "The plan closed",
}


def day_words(value: Any) -> str:
    """`2026-12-08` as `8 December 2026` (what is not a date, as it is)."""
    try:
        return date.fromisoformat(str(value)).strftime("%-d %B %Y")
    except ValueError:
        return str(value or "")


def moment(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(LONDON)


def when(value: str) -> str:
    return moment(value).strftime("%A %-d %B %Y at %H:%M")


def actor_words(actor: str) -> str:
    role, _, subject = actor.partition(":")
    if role == "referrer":
        return "the referrer"
    if role == "lead_practitioner":
        return "the lead practitioner (through their link)"
    if role == "system":
        return "the service (automatically)"
    if role == "family_contact":
        return "the family's contact (through their link)"
    if role == "family_member":
        return f"family member {subject} (through their link)"
    return f"{role} {subject}".strip()


def lines(*parts: Any) -> Markup:
    """Each part on its own line, escaped (a part left out when empty)."""
    return Markup("<br>").join(escape(str(part)) for part in parts if part)


def summary_rows(view: dict[str, Any], children: list[str], network: list[str], preferences: str) -> list[Any]:
    submission = view["submission"] if isinstance(view.get("submission"), dict) else {}
    referrer, family = submission.get("referrer") or {}, submission.get("family") or {}
    consent = submission.get("consent") or {}
    decision = view.get("decision") or {}
    decided = ""
    if decision:
        decided = f"{str(decision.get('action', '')).capitalize()} on {when(str(decision['at']))}"
        decided += f": {decision['reason']}" if decision.get("reason") else ""
    rows = [
        ("Received", when(view["received_at"])),
        (
            "Referrer",
            lines(
                referrer.get("name"),
                f"{referrer.get('role', '')}, {referrer.get('organisation', '')}",
                referrer.get("email"),
                referrer.get("phone"),
                referrer.get("locality_team"),
            ),
        ),
        (
            "Family contact",
            lines(
                family.get("contact_name"),
                family.get("postcode"),
                family.get("contact_phone"),
                family.get("contact_email"),
            ),
        ),
        ("Children", lines(*children)),
        (
            "Consent",
            f"Given on {consent['given_on']}, obtained by {consent.get('obtained_by', '')}"
            if consent
            else "Not recorded",
        ),
        ("Why a meeting", submission.get("reason", "")),
        ("What matters to the family", submission.get("what_matters") or "Not given"),
        ("Network", lines(*network) if network else "None named"),
        ("Meeting preferences", preferences or "None given"),
        ("Decision", decided or "None yet"),
    ]
    return [
        {"key": {"text": key}, "value": {"html": value} if isinstance(value, Markup) else {"text": value}}
        for key, value in rows
    ]


def values(view: dict[str, Any]) -> dict[str, Any]:
    submission = view["submission"] if isinstance(view.get("submission"), dict) else {}
    family = submission.get("family") or {}
    children = [
        f"{child.get('first_name', '')}, {_age(child.get('date_of_birth'))}" for child in family.get("children") or []
    ]
    network = [f"{m.get('name', '')} ({m.get('relationship', '')})" for m in submission.get("network_members") or []]
    prefs = submission.get("meeting_preferences") or {}
    preferences = "; ".join(
        part
        for part in (
            ", ".join(prefs.get("days") or []),
            ", ".join(prefs.get("times_of_day") or []),
            VENUES.get(str(prefs.get("venue_type")), ""),
            f"interpreter: {prefs['interpreter_language']}" if prefs.get("interpreter_language") else "",
            f"access needs: {prefs['access_needs']}" if prefs.get("access_needs") else "",
        )
        if part
    )
    meeting = view.get("meeting") or {}
    venue = meeting.get("venue") or {}
    proposals = view.get("proposals") or {}
    return {
        "summary_rows": summary_rows(view, children, network, preferences),
        "meeting_when": f"{when(meeting['starts_at'])} to {moment(meeting['ends_at']):%H:%M}" if meeting else "",
        "meeting_venue": ", ".join(p for p in (VENUES.get(str(venue.get("type")), ""), venue.get("details", "")) if p),
        "proposal_slots": [when(slot["starts_at"]) for slot in proposals.get("slots") or [] if "starts_at" in slot],
        "timeline": timeline(view),
        # a plan names partners by id; their connections carry the name the directory had when they were asked
        "partner_names": {
            str(c["partner_id"]): str(c.get("partner_name") or c["partner_id"]) for c in view.get("connections") or []
        },
        "day_words": day_words,
        "review_outcomes": REVIEW_OUTCOMES,
        "role_words": ROLE_WORDS,
        "preference_words": PREFERENCE_WORDS,
        "attendance_words": ATTENDANCE_WORDS,
    }


def timeline(view: dict[str, Any]) -> list[dict[str, Any]]:
    """Who did what, when, newest first: the audit trail in words (reasons stay on the decision, not here)."""
    entries = []
    for entry in reversed(view.get("audit") or []):
        changes = entry.get("changes") or {}
        status = changes.get("status") or {}
        detail = f"Status: {status.get('from') or 'new'} to {status.get('to')}" if status else ""
        if item := changes.get("package_item"):  # a package item decided or delivered: which, and its new status
            detail = f"Item {item.get('number')}: {(item.get('status') or {}).get('to', '')}"
        entries.append(
            {
                "title": ACTIONS.get(str(entry.get("action")), str(entry.get("action", "")).replace(".", " ")),
                "by": actor_words(str(entry.get("actor", ""))),
                "at": entry["at"],
                "when": when(entry["at"]),
                "detail": detail.replace("_", " "),
            }
        )
    return entries


def _age(born: Any) -> str:
    try:
        birthday = date.fromisoformat(str(born))
    except ValueError:
        return "age not known"
    now = today()
    years = now.year - birthday.year - ((now.month, now.day) < (birthday.month, birthday.day))
    return f"aged {years}" if years >= 1 else "under 1"
