"""Every email SES (moto) has sent, parsed from its MIME message, newest first: `/_local/outbox`. An invitation's
calendar is shown with its times in England, and every attachment can be downloaded
(`/_local/outbox/<message id>/attachments/<n>`).

In the runtime (`keep_outbox()`), moto's list of sent messages is replaced by a `SentLog`: each message is numbered
and stamped as SES accepts it, parsed once (when first read), and only the newest `limit` are kept, so the outbox
costs the same at the 100th email and the 100,000th. `/_local/outbox?after=<sequence>` pages through it in sent
order. moto 5.2's `SESBackend` keeps `sent_messages` as a plain list that only ever appends; test_local_outbox checks
that it still does.
"""

from __future__ import annotations

import email
import email.policy
import html
import threading
import time
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import parsedate_to_datetime
from typing import Any

from shared.domain.clock import LONDON

DEFAULT_LIMIT = 5000  # emails kept by the runtime's outbox (the oldest go first)
_SEQUENCE = "_familynet_sequence"  # attributes the SentLog puts on moto's message objects
_RECORDED = "_familynet_recorded_at"
_DESCRIBED = "_familynet_described"


class SentLog(list):  # type: ignore[type-arg]
    """moto's `sent_messages`, numbered, stamped and bounded (appends come from moto's request threads)."""

    def __init__(self, limit: int = DEFAULT_LIMIT) -> None:
        super().__init__()
        self.limit = max(1, limit)
        self.total = 0
        self._lock = threading.Lock()

    def append(self, message: Any) -> None:
        with self._lock:
            self.total += 1
            setattr(message, _SEQUENCE, self.total)
            setattr(message, _RECORDED, time.time())
            super().append(message)
            if len(self) > self.limit + self.limit // 10:  # trimmed in steps: O(1) per email on average
                del self[: len(self) - self.limit]

    def snapshot(self) -> list[Any]:
        """The messages as they are now. A reader must not walk the list itself: a trim shifts it under the walk,
        and the messages shifted past are skipped (the load bench once saw referrals without their emails)."""
        with self._lock:
            return list(self)


def keep_outbox(limit: int = DEFAULT_LIMIT) -> None:
    """Every SES backend made from now on keeps its sent messages in a SentLog of `limit` (the runtime's moto)."""
    from moto.ses.models import SESBackend  # noqa: PLC0415

    original = SESBackend.__init__
    if getattr(original, "_familynet_outbox", False):
        return

    def init(self: Any, *args: Any, **kwargs: Any) -> None:
        original(self, *args, **kwargs)
        self.sent_messages = SentLog(limit)

    init._familynet_outbox = True  # type: ignore[attr-defined]
    init.__wrapped__ = original  # type: ignore[attr-defined]
    SESBackend.__init__ = init  # type: ignore[method-assign]


def sent_emails(after: int | None = None) -> list[dict[str, Any]]:
    """Every email kept, newest first; or, with `after`, those sent after that sequence number, oldest first."""
    if after is not None:
        newer = []
        for position, message in _numbered():
            if position <= after:
                break
            newer.append(_describe(message))
        return newer[::-1]
    found = [_describe(message) for message in _sent()]
    # Sent order breaks ties between messages stamped in the same instant (the sort is stable).
    return sorted(reversed(found), key=lambda m: m["sent_at"], reverse=True)


def _numbered() -> list[tuple[int, Any]]:
    """The messages with their sequence numbers, newest first (a plain list's are its positions from 1)."""
    messages = _sent()
    return [(int(getattr(m, _SEQUENCE, i + 1)), m) for i, m in reversed(list(enumerate(messages)))]


def _sent() -> list[Any]:
    """Every message moto's SES holds, in the order it was sent."""
    from moto.ses.models import ses_backends  # noqa: PLC0415 - moto runs in this process (moto_server.py)

    return [
        message
        for account in list(ses_backends.keys())
        for _region, backend in list(ses_backends[account].items())
        for message in _snapshot(backend.sent_messages)
    ]


def _snapshot(messages: list[Any]) -> list[Any]:
    """A copy taken at one instant (moto's own plain list is copied in one step, which no thread interleaves)."""
    return messages.snapshot() if isinstance(messages, SentLog) else list(messages)


def _parsed(message: Any) -> EmailMessage | None:
    """A raw message's MIME (SES's simple messages have none)."""
    raw = getattr(message, "raw_data", None)
    if not raw:
        return None
    parsed = email.message_from_string(raw, policy=email.policy.default)
    assert isinstance(parsed, EmailMessage)
    return parsed


def _bytes(part: EmailMessage) -> bytes:
    content = part.get_content()
    return content if isinstance(content, bytes) else str(content).encode()


def _key(message: Any) -> str:
    return str(getattr(message, "id", id(message)))


def attachment(message_id: str, index: int) -> tuple[bytes, str, str] | None:
    """One attachment of a sent email: (bytes, content type, file name), or None."""
    parsed = next((_parsed(m) for m in _sent() if _key(m) == message_id), None)
    parts = list(parsed.iter_attachments()) if parsed is not None else []
    if not 0 <= index < len(parts):
        return None
    part = parts[index]
    return _bytes(part), part.get_content_type(), part.get_filename() or f"attachment-{index}"


def _calendar(data: bytes) -> dict[str, Any] | None:
    """An invitation's (or cancellation's) method and event, its times as England reads them."""
    from icalendar import Calendar  # noqa: PLC0415 - only for emails with a calendar

    try:
        document = Calendar.from_ical(data)
    except (ValueError, KeyError, IndexError, TypeError):  # not a calendar it can read: shown by name only
        return None
    events = list(document.walk("VEVENT"))
    if not events:
        return None
    event = events[0]

    def when(name: str) -> str:
        value = event.get(name)
        moment = value.dt if value is not None else None
        if not isinstance(moment, datetime):
            return str(moment or "")
        return moment.astimezone(LONDON).strftime("%A %d %B %Y, %H:%M (Europe/London)")

    return {
        "method": str(document.get("METHOD", "")),
        "uid": str(event.get("UID", "")),
        "sequence": int(event.get("SEQUENCE", 0)),
        "summary": str(event.get("SUMMARY", "")),
        "starts": when("DTSTART"),
        "ends": when("DTEND"),
        "location": str(event.get("LOCATION", "")),
        "status": str(event.get("STATUS", "")),
    }


def _attachments(key: str, parsed: EmailMessage) -> list[dict[str, Any]]:
    found = []
    for index, part in enumerate(parsed.iter_attachments()):
        described: dict[str, Any] = {
            "filename": part.get_filename(),
            "content_type": part.get_content_type(),
            "download": f"/_local/outbox/{key}/attachments/{index}",
        }
        if part.get_content_type() == "text/calendar":
            described["calendar"] = _calendar(_bytes(part))
        found.append(described)
    return found


def _describe(message: Any) -> dict[str, Any]:
    """A message as the outbox shows it, parsed once: a sent message never changes."""
    described: dict[str, Any] | None = getattr(message, _DESCRIBED, None)
    if described is None:
        described = _parse(message)
        if hasattr(message, _SEQUENCE):
            described["sequence"] = getattr(message, _SEQUENCE)
            described["recorded_at"] = getattr(message, _RECORDED)
        setattr(message, _DESCRIBED, described)
    return described


def _parse(message: Any) -> dict[str, Any]:
    key = _key(message)
    parsed = _parsed(message)
    # When it was sent: its Date header (written by the function as it sent it, on the local clock), else when SES
    # accepted it (the SentLog's stamp) or moto's own timestamp.
    recorded = getattr(message, _RECORDED, None)
    stamped = datetime.fromtimestamp(recorded, UTC) if recorded is not None else None
    sent_at = _dated(parsed) or stamped or getattr(message, "timestamp", None) or datetime.now(UTC)
    if parsed is not None:
        text = parsed.get_body(preferencelist=("plain",))
        body_html = parsed.get_body(preferencelist=("html",))
        return {
            "to": [str(a) for a in (parsed.get_all("To") or [])] or list(getattr(message, "destinations", [])),
            "subject": str(parsed.get("Subject", "")),
            "text": text.get_content() if text else "",
            "html": body_html.get_content() if body_html else "",
            "attachments": _attachments(key, parsed),
            "sent_at": _iso(sent_at),
            "id": key,
        }
    destinations = getattr(message, "destinations", {}) or {}
    to = destinations.get("ToAddresses", []) if isinstance(destinations, dict) else list(destinations)
    return {
        "to": to,
        "subject": str(getattr(message, "subject", "")),
        "text": str(getattr(message, "body", "")),
        "html": str(getattr(message, "html_body", "") or ""),
        "attachments": [],
        "sent_at": _iso(sent_at),
        "id": key,
    }


def _dated(parsed: EmailMessage | None) -> datetime | None:
    if parsed is None or not parsed.get("Date"):
        return None
    try:
        return parsedate_to_datetime(str(parsed["Date"])).astimezone(UTC)
    except (TypeError, ValueError):
        return None


def _iso(moment: Any) -> str:
    return moment.isoformat() if isinstance(moment, datetime) else str(moment)


def _attachment_html(described: dict[str, Any]) -> str:
    link = f"<a href='{html.escape(described['download'])}'>{html.escape(str(described['filename']))}</a>"
    calendar = described.get("calendar")
    if not calendar:
        return f"{link} ({html.escape(described['content_type'])})"
    return (
        f"{link}: {html.escape(calendar['method'])} {html.escape(calendar['summary'])}, "
        f"{html.escape(calendar['starts'])} to {html.escape(calendar['ends'])}, {html.escape(calendar['location'])} "
        f"(sequence {calendar['sequence']}, {html.escape(calendar['status'])})"
    )


def outbox_page(emails: list[dict[str, Any]]) -> str:
    """The outbox as a person reads it."""
    rows = []
    for message in emails:
        attachments = ", ".join(_attachment_html(a) for a in message["attachments"])
        rows.append(
            "<article class='email'>"
            f"<h2>{html.escape(message['subject'])}</h2>"
            f"<p><strong>To:</strong> {html.escape(', '.join(message['to']))} · "
            f"<strong>Sent:</strong> {html.escape(message['sent_at'])}</p>"
            + (f"<p><strong>Attachments:</strong> {attachments}</p>" if attachments else "")
            + f"<pre>{html.escape(message['text'])}</pre></article>"
        )
    body = "\n".join(rows) or "<p>No email has been sent yet.</p>"
    return (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'><title>Local outbox: familynet</title>"
        "<style>body{font-family:sans-serif;max-width:50rem;margin:2rem auto;padding:0 1rem}"
        ".email{border-top:1px solid #b1b4b6;padding:1rem 0}pre{white-space:pre-wrap}</style></head>"
        f"<body><h1>Local outbox</h1><p>{len(emails)} email(s), newest first.</p>{body}</body></html>"
    )
