"""Emails as the domain knows them: a rendered message (subject, plain text, HTML, attachments), as real MIME, and
its iCalendar invitation or cancellation. Rendering from templates is the web layer's (`shared/web/emails.py`);
sending is SES's adapter (`shared/adapters/ses.py`)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid, parseaddr
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
    attendees: Sequence[str],
    cancelled: bool,
    stamp: datetime,
) -> Attachment:
    """An iCalendar invitation (METHOD:REQUEST) or its cancellation (METHOD:CANCEL), as RFC 5546 asks of each: one
    stable UID per meeting, SEQUENCE from the event (raised on every change), the ORGANIZER and an ATTENDEE for every
    person the message goes to (a CANCEL names them all too: the whole meeting is off), times in Europe/London with
    the VTIMEZONE that RFC 5545 section 3.2.19 requires for that TZID, built from the tz database for the meeting's
    years (a calendar that guesses the rules, as Outlook does without it, can show the wrong hour)."""
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
    name, address = parseaddr(organizer)
    sender = vCalAddress(f"mailto:{address}")
    if name:
        sender.params["CN"] = name  # the service's name (the sender's display name), never a person's
    event.add("organizer", sender)
    for attendee in dict.fromkeys(a.strip().lower() for a in attendees if a.strip()):
        person = vCalAddress(f"mailto:{attendee}")
        person.params.update(CUTYPE="INDIVIDUAL", ROLE="REQ-PARTICIPANT", PARTSTAT="NEEDS-ACTION")
        if not cancelled:
            person.params["RSVP"] = "FALSE"  # replies go to the coordinators by email, not to a calendar server
        event.add("attendee", person)
    document.add_component(event)
    first, last = sorted((starts_at.astimezone(LONDON).year, ends_at.astimezone(LONDON).year))
    document.add_missing_timezones(first_date=date(first, 1, 1), last_date=date(last + 1, 1, 1))
    return Attachment(
        filename="cancellation.ics" if cancelled else "invitation.ics",
        content_type=f"text/calendar; method={method}",
        data=document.to_ical(),
    )
