"""A referral as a request: `POST /referrals` from an API client (JSON or form data) or from the web form."""

from __future__ import annotations

from typing import Any

from shared.config import get_settings
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


def source_ip(event: dict[str, Any]) -> str | None:
    """The client's address as API Gateway saw it (payload 2.0), or None."""
    context = event.get("requestContext")
    http = context.get("http") if isinstance(context, dict) else None
    value = http.get("sourceIp") if isinstance(http, dict) else None
    return value if isinstance(value, str) and 0 < len(value) <= 64 else None
