"""Emails as the domain knows them: a rendered message (subject, plain text, HTML, attachments), as real MIME, and
its iCalendar invitation or cancellation. Rendering from templates is the web layer's (`shared/web/emails.py`);
sending is SES's adapter (`shared/adapters/ses.py`)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from typing import Any, Protocol

from shared.domain import clock
from shared.domain.clock import LONDON


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


class Renderer(Protocol):
    """Renders one email from its templates (shared.web.emails.render): what the feedback service is given."""

    def __call__(
        self,
        template: str,
        to: str,
        context: dict[str, Any],
        attachments: tuple[Attachment, ...] = (),
        recipient_kind: str = "referrer",
    ) -> Email: ...


def mime(email: Email, sender: str, message_id_domain: str | None = None) -> EmailMessage:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = email.to
    message["Subject"] = email.subject
    message["Date"] = format_datetime(clock.now())  # RFC 5322's one required field beside From: when it was sent
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
    from icalendar import Calendar, Event, vCalAddress  # noqa: PLC0415 - deferred: only invitations need it

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
