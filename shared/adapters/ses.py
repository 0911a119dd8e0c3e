"""SES v2: sends one raw MIME message through the configuration set; its failures as domain errors."""

from __future__ import annotations

from email.message import EmailMessage
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from shared.adapters import aws
from shared.domain.errors import ServiceUnavailable

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
