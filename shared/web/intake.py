"""A referral as a request: `POST /referrals` from an API client (JSON or form data) or from the web form."""

from __future__ import annotations

import hmac
import ipaddress
from typing import Any

from shared.config import Settings, get_settings
from shared.service.intake import IDEMPOTENCY_HEADER, IntakeRequest, validate_submission
from shared.web.http import FORM, header, media_type, parse_body
from shared.web.referral_form import model_body, read_form


def read_request(event: dict[str, Any]) -> IntakeRequest:
    """Parse and validate an API Gateway request; every problem becomes an HttpError (400, 413, 415) or a
    domain error (Unreadable 400, Invalid 422).

    A form's hidden one-time token is its idempotency key (the header wins when both are sent)."""
    key = header(event, IDEMPOTENCY_HEADER)
    body = parse_body(event)
    if media_type(event) == FORM:
        form = read_form(body)
        body = model_body(form.values)
        key = key or form.token
    return validate_submission(body, key, settings=get_settings(), source_ip=source_ip(event))


# CloudFront adds both to every request it sends to the API (infra/constructs/cdn.py), replacing any a client sent.
VIEWER_ADDRESS_HEADER = "CloudFront-Viewer-Address"  # "203.0.113.7:52100", "2001:db8::1:52100"
ORIGIN_SECRET_HEADER = "X-Familynet-Origin"  # noqa: S105 - a header name; its value is the secret


def source_ip(event: dict[str, Any], settings: Settings | None = None) -> str | None:
    """The client's address, or None.

    Through CloudFront, API Gateway sees an edge server: the client is in CloudFront-Viewer-Address. That header is
    believed only beside the origin secret CloudFront adds; anything else (a request sent to the API's own domain,
    around CloudFront) is counted by the address API Gateway saw, which no header changes."""
    settings = settings or get_settings()
    context = event.get("requestContext")
    http = context.get("http") if isinstance(context, dict) else None
    value = http.get("sourceIp") if isinstance(http, dict) else None
    gateway_view = value if isinstance(value, str) and 0 < len(value) <= 64 else None
    given = header(event, ORIGIN_SECRET_HEADER)
    if not settings.origin_secret or given is None:
        return gateway_view
    if not hmac.compare_digest(given.encode(), settings.origin_secret.encode()):
        return gateway_view
    return viewer_address(header(event, VIEWER_ADDRESS_HEADER)) or gateway_view


def viewer_address(value: str | None) -> str | None:
    """The address of a CloudFront-Viewer-Address value (address, colon, port), normalised; None if malformed."""
    if not value or len(value) > 64:
        return None
    address, _, port = value.rpartition(":")
    if not (port.isascii() and port.isdigit()):
        return None
    try:
        return str(ipaddress.ip_address(address.strip("[]")))
    except ValueError:
        return None
