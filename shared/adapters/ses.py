"""SES v2: sends one raw MIME message through the configuration set; its failures as domain errors.

SES has no idempotency key, so what a failure says about the message matters: SES refused it for now (`NotSent`:
throttled, or never reached; safe to send again), refused it for good (`PermanentSendFailure`), or gave no answer
(`MaybeSent`: it may have been accepted; sending again may duplicate it). The client makes one attempt
(`aws._ONE_ATTEMPT`): the SDK's own retries would send again after a timeout.
"""

from __future__ import annotations

from email.message import EmailMessage
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError, ConnectTimeoutError, EndpointConnectionError

from shared.adapters import aws
from shared.domain.errors import ServiceUnavailable

# SES answers these when a retry may succeed: it did not accept the message. Anything else about the message
# itself is permanent.
_TRANSIENT = {
    "TooManyRequestsException",
    "LimitExceededException",
    "ThrottlingException",
    "Throttling",
    "InternalFailure",
    "ServiceUnavailable",
    "SendingPausedException",
}


class PermanentSendFailure(Exception):
    """SES refused the message for a reason a retry will not change (a bad address, an unverified sender)."""


class NotSent(ServiceUnavailable):
    """SES did not accept the message (throttled, busy, or never reached): sending it again is safe."""


class MaybeSent(ServiceUnavailable):
    """SES gave no answer once it had the message: it may have accepted it."""


def send(message: EmailMessage, *, configuration_set: str | None, tags: dict[str, str] | None = None) -> str:
    """Send through SES v2; return SES's message id."""
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
        status = int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0)
        if code in _TRANSIENT or status == 429 or status >= 500:
            raise NotSent(f"SES is busy ({code or status}); the message will be retried") from exc
        raise PermanentSendFailure(code or "unknown") from exc
    except (ConnectTimeoutError, EndpointConnectionError) as exc:
        raise NotSent(f"SES could not be reached: {type(exc).__name__}") from exc
    except BotoCoreError as exc:
        raise MaybeSent(f"SES did not answer: {type(exc).__name__}") from exc
    return str(response["MessageId"])
