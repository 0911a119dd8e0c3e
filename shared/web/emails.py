"""Emails as real MIME messages: every one multipart (plain text and HTML) from its own jinja2 templates, the
subject carrying the reference and never a name; sent with SES v2 through the configuration set."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import make_msgid
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from botocore.exceptions import BotoCoreError, ClientError

from shared.adapters import aws
from shared.domain.errors import ServiceUnavailable

if TYPE_CHECKING:
    from jinja2 import Environment

TEMPLATES = Path(__file__).resolve().parent / "email_templates"
LONDON = ZoneInfo("Europe/London")
# Subjects: the reference only (an email subject is shown on lock screens and in shared inboxes).
SUBJECTS = {
    "acknowledgement": "Referral {reference} received",
    "new_referral": "New referral {reference}",
    "accepted": "Referral {reference} accepted",
    "declined": "Referral {reference} not accepted",
    "withdrawn": "Referral {reference} withdrawn",
    "invitation": "Family Network meeting for {reference}",
    "cancellation": "Cancelled: Family Network meeting for {reference}",
    "feedback": "Feedback on the meeting for {reference}",
    "review_due": "Review due: {reference}",
    "review_overdue": "Review overdue: {reference}",
    "bounce_notice": "Email not delivered: {reference}",
    "deadline_breached": "Deadline missed: {reference}",
    "connection": "Family Network connection: {reference}",
    "connection_answered": "Partner answered: {reference}",
}
# SES answers these when a retry may succeed; anything else about the message itself is permanent.
_TRANSIENT = {
    "TooManyRequestsException",
    "LimitExceededException",
    "ThrottlingException",
    "InternalFailure",
    "ServiceUnavailable",
    "SendingPausedException",
}


class PermanentSendFailure(Exception):
    """SES refused the message for a reason a retry will not change (a bad address, an unverified sender)."""


@dataclass(frozen=True)
class Attachment:
    filename: str
    content_type: str  # e.g. "text/calendar; method=REQUEST"
    data: bytes


@dataclass(frozen=True)
class Email:
    template: str
    to: str
    subject: str
    text: str
    html: str
    attachments: tuple[Attachment, ...] = ()
    recipient_kind: str = "referrer"  # referrer | facilitator | coordinators | partner
    kept_text: str | None = None  # what the record keeps of the text, when not all of it (a partner's link)


@cache
def _environment(autoescape: bool) -> Environment:
    from jinja2 import Environment, FileSystemLoader, StrictUndefined  # noqa: PLC0415

    # Plain-text parts are not HTML: escaping them would show "&amp;" to the reader. HTML parts are escaped.
    return Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=autoescape,  # noqa: S701
        undefined=StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def render(
    template: str,
    to: str,
    context: dict[str, Any],
    attachments: tuple[Attachment, ...] = (),
    recipient_kind: str = "referrer",
) -> Email:
    subject = SUBJECTS[template].format(reference=context["reference"])
    values = {**context, "subject": subject}
    return Email(
        template=template,
        to=to,
        subject=subject,
        text=_environment(False).get_template(f"{template}.txt").render(values),
        html=_environment(True).get_template(f"{template}.html").render(values),
        attachments=attachments,
        recipient_kind=recipient_kind,
    )


def mime(email: Email, sender: str, message_id_domain: str | None = None) -> EmailMessage:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = email.to
    message["Subject"] = email.subject
    message["Message-ID"] = make_msgid(domain=message_id_domain or sender.rsplit("@", 1)[-1])
    message.set_content(email.text)
    message.add_alternative(email.html, subtype="html")
    for attachment in email.attachments:
        maintype, subtype = attachment.content_type.split(";", 1)[0].split("/", 1)
        params = dict(part.strip().split("=", 1) for part in attachment.content_type.split(";")[1:] if "=" in part)
        message.add_attachment(
            attachment.data, maintype=maintype, subtype=subtype, filename=attachment.filename, params=params
        )
    return message


def calendar(
    *,
    uid: str,
    sequence: int,
    starts_at: datetime,
    ends_at: datetime,
    summary: str,
    location: str,
    organizer: str,
    cancelled: bool,
    stamp: datetime,
) -> Attachment:
    """An iCalendar invitation (METHOD:REQUEST) or its cancellation (METHOD:CANCEL): one stable UID per meeting,
    SEQUENCE from the event, times in Europe/London."""
    from icalendar import Calendar, Event, vCalAddress  # noqa: PLC0415

    method = "CANCEL" if cancelled else "REQUEST"
    document = Calendar()
    document.add("prodid", "-//familynet//Family Network service//EN")
    document.add("version", "2.0")
    document.add("method", method)
    event = Event()
    event.add("uid", uid)
    event.add("sequence", sequence)
    event.add("dtstamp", stamp.astimezone(UTC))
    event.add("dtstart", starts_at.astimezone(LONDON))
    event.add("dtend", ends_at.astimezone(LONDON))
    event.add("summary", summary)
    event.add("location", location)
    event.add("status", "CANCELLED" if cancelled else "CONFIRMED")
    event.add("organizer", vCalAddress(f"mailto:{organizer.rsplit('<', 1)[-1].rstrip('>')}"))
    document.add_component(event)
    return Attachment(
        filename="cancellation.ics" if cancelled else "invitation.ics",
        content_type=f"text/calendar; method={method}",
        data=document.to_ical(),
    )


def send(message: EmailMessage, *, configuration_set: str | None, tags: dict[str, str] | None = None) -> str:
    """Send through SES v2; return SES's message id. Transient failures raise ServiceUnavailable (retry)."""
    request: dict[str, Any] = {
        "FromEmailAddress": str(message["From"]),
        "Destination": {"ToAddresses": [str(message["To"])]},
        "Content": {"Raw": {"Data": message.as_bytes()}},
    }
    if configuration_set:
        request["ConfigurationSetName"] = configuration_set
    if tags:  # SES repeats them in its delivery, bounce and complaint events: how an event finds its email
        request["EmailTags"] = [{"Name": name, "Value": value} for name, value in tags.items()]
    try:
        response = aws.sesv2().send_email(**request)
    except ClientError as exc:
        code = exc.response.get("Error", {}).get("Code", "")
        if code in _TRANSIENT:
            raise ServiceUnavailable(f"SES is busy ({code}); the message will be retried") from exc
        raise PermanentSendFailure(code or "unknown") from exc
    except BotoCoreError as exc:
        raise ServiceUnavailable(f"SES could not be reached: {type(exc).__name__}") from exc
    return str(response["MessageId"])
