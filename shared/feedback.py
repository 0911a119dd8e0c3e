"""Which emails an event sends, and sending each exactly once.

Before a message is sent, an email item keyed by (event id, template, recipient) is written in the referral's
partition with a conditional put: a duplicate event finds it and sends nothing. A message SES refuses for good is
marked failed (and counted); a throttled or failed call leaves the event on the queue to be retried. Handlers read
what they need by id: events carry no contact details.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from shared import emails, table
from shared.config import Settings
from shared.events import Event, EventData, ReferralReceived
from shared.referral_store import Cancelled, ReferralReader, put, to_item, transact

KIND_EMAIL = "email"


@dataclass(frozen=True)
class Sent:
    template: str
    status: str  # sent | failed | duplicate


def _iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def emails_for(envelope: Event[EventData], referral: dict[str, Any], settings: Settings) -> list[emails.Email]:
    data = envelope.data
    submission = referral.get("submission") or {}
    context = {
        "reference": referral["reference"],
        "route": referral["route"],
        # the least personal data that does the job: the family's contact name at most, in the body only
        "contact_name": (submission.get("family") or {}).get("contact_name", "the family"),
        "received_at": referral["received_at"],
    }
    if isinstance(data, ReferralReceived):
        referrer = (submission.get("referrer") or {}).get("email")
        found = [emails.render("new_referral", settings.coordinators_email, context)]
        if referrer:
            found.insert(0, emails.render("acknowledgement", referrer, context))
        return found
    return []


def email_key(reference: str, event_id: str, template: str, to: str) -> dict[str, str]:
    recipient = hashlib.sha256(to.strip().lower().encode()).hexdigest()[:16]
    return {
        table.PARTITION_KEY: table.referral_pk(reference),
        table.SORT_KEY: f"EMAIL#{event_id}#{template}#{recipient}",
    }


def deliver(envelope: Event[EventData], *, reader: ReferralReader, settings: Settings, now: datetime) -> list[Sent]:
    reference = getattr(envelope.data, "reference", None)
    if reference is None:
        return []
    referral = reader.item({table.PARTITION_KEY: table.referral_pk(reference), table.SORT_KEY: "REFERRAL"})
    if referral is None:
        return []
    results = []
    for email in emails_for(envelope, referral, settings):
        results.append(_send_once(email, reference, envelope.metadata.event_id, settings=settings, now=now))
    return results


def _send_once(email: emails.Email, reference: str, event_id: str, *, settings: Settings, now: datetime) -> Sent:
    key = email_key(reference, event_id, email.template, email.to)
    item = {
        **key,
        table.KIND_ATTRIBUTE: KIND_EMAIL,
        "reference": reference,
        "event_id": event_id,
        "template": email.template,
        "to": email.to,
        "subject": email.subject,
        "status": "sending",
        "created_at": _iso(now),
    }
    # A first attempt, or a retry of one that did not get as far as SES answering: "sending" may be retried.
    condition = f"attribute_not_exists({table.PARTITION_KEY}) OR #status = :sending"
    write = put(item, settings.table_name, condition, {":sending": "sending"})
    write["Put"]["ExpressionAttributeNames"] = {"#status": "status"}
    try:
        transact([write], settings.table_name)
    except Cancelled:
        return Sent(email.template, "duplicate")
    message = emails.mime(email, settings.email_sender)
    try:
        message_id = emails.send(message, configuration_set=settings.ses_configuration_set)
    except emails.PermanentSendFailure as failure:
        _mark(key, settings, {"status": "failed", "failure": str(failure), "updated_at": _iso(now)})
        return Sent(email.template, "failed")
    _mark(key, settings, {"status": "sent", "ses_message_id": message_id, "updated_at": _iso(now)})
    return Sent(email.template, "sent")


def _mark(key: dict[str, str], settings: Settings, values: dict[str, Any]) -> None:
    names = {f"#a{i}": name for i, name in enumerate(values)}
    update = {
        "Update": {
            "TableName": settings.table_name,
            "Key": to_item(key),
            "UpdateExpression": "SET " + ", ".join(f"#a{i} = :a{i}" for i in range(len(values))),
            "ExpressionAttributeNames": names,
            "ExpressionAttributeValues": to_item({f":a{i}": v for i, v in enumerate(values.values())}),
        }
    }
    transact([update], settings.table_name)
