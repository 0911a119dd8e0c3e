"""Every email SES (moto) has sent, parsed from its MIME message, newest first: `/_local/outbox`."""

from __future__ import annotations

import email
import email.policy
import html
from datetime import UTC, datetime
from email.message import EmailMessage
from typing import Any

_first_seen: dict[str, datetime] = {}  # moto stamps no send time: the time the runtime first saw the message


def sent_emails() -> list[dict[str, Any]]:
    from moto.ses.models import ses_backends  # noqa: PLC0415 - moto runs in this process (ThreadedMotoServer)

    found: list[dict[str, Any]] = []
    for account in list(ses_backends.keys()):
        for _region, backend in ses_backends[account].items():
            found.extend(_describe(message) for message in backend.sent_messages)
    # Sent order breaks ties between messages stamped in the same instant (the sort is stable).
    return sorted(reversed(found), key=lambda m: m["sent_at"], reverse=True)


def _describe(message: Any) -> dict[str, Any]:
    key = str(getattr(message, "id", id(message)))
    sent_at = getattr(message, "timestamp", None) or _first_seen.setdefault(key, datetime.now(UTC))
    raw = getattr(message, "raw_data", None)
    if raw:
        parsed = email.message_from_string(raw, policy=email.policy.default)
        assert isinstance(parsed, EmailMessage)
        text = parsed.get_body(preferencelist=("plain",))
        body_html = parsed.get_body(preferencelist=("html",))
        return {
            "to": [str(a) for a in (parsed.get_all("To") or [])] or list(getattr(message, "destinations", [])),
            "subject": str(parsed.get("Subject", "")),
            "text": text.get_content() if text else "",
            "html": body_html.get_content() if body_html else "",
            "attachments": [
                {"filename": part.get_filename(), "content_type": part.get_content_type()}
                for part in parsed.iter_attachments()
            ],
            "sent_at": _iso(sent_at),
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
    }


def _iso(moment: Any) -> str:
    return moment.isoformat() if isinstance(moment, datetime) else str(moment)


def outbox_page(emails: list[dict[str, Any]]) -> str:
    """The outbox as a person reads it."""
    rows = []
    for message in emails:
        attachments = ", ".join(html.escape(f"{a['filename']} ({a['content_type']})") for a in message["attachments"])
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
