"""Emails as real MIME messages: every one multipart (plain text and HTML) from its own jinja2 templates, the
subject carrying the reference and never a name; sent with SES v2 through the configuration set."""

from __future__ import annotations

from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import make_msgid
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from shared import aws
from shared.errors import ServiceUnavailable

if TYPE_CHECKING:
    from jinja2 import Environment

TEMPLATES = Path(__file__).resolve().parent / "email_templates"
# Subjects: the reference only (an email subject is shown on lock screens and in shared inboxes).
SUBJECTS = {
    "acknowledgement": "Referral {reference} received",
    "new_referral": "New referral {reference}",
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
class Email:
    template: str
    to: str
    subject: str
    text: str
    html: str


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


def render(template: str, to: str, context: dict[str, Any]) -> Email:
    subject = SUBJECTS[template].format(reference=context["reference"])
    values = {**context, "subject": subject}
    return Email(
        template=template,
        to=to,
        subject=subject,
        text=_environment(False).get_template(f"{template}.txt").render(values),
        html=_environment(True).get_template(f"{template}.html").render(values),
    )


def mime(email: Email, sender: str, message_id_domain: str | None = None) -> EmailMessage:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = email.to
    message["Subject"] = email.subject
    message["Message-ID"] = make_msgid(domain=message_id_domain or sender.rsplit("@", 1)[-1])
    message.set_content(email.text)
    message.add_alternative(email.html, subtype="html")
    return message


def send(message: EmailMessage, *, configuration_set: str | None) -> str:
    """Send through SES v2; return SES's message id. Transient failures raise ServiceUnavailable (retry)."""
    request: dict[str, Any] = {
        "FromEmailAddress": str(message["From"]),
        "Destination": {"ToAddresses": [str(message["To"])]},
        "Content": {"Raw": {"Data": message.as_bytes()}},
    }
    if configuration_set:
        request["ConfigurationSetName"] = configuration_set
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
