"""The one mapping from domain errors to HTTP answers: a status, a JSON body a person can act on, and headers.

The JSON API (the staff routes, `POST /referrals` from API clients) answers with `api_problem`; the public pages
say the same things in their own words, from the same statuses (`status_of`).
"""

from __future__ import annotations

import uuid
from typing import Any

from shared.domain.errors import (
    ConfigurationError,
    Conflict,
    Invalid,
    NotAllowed,
    NotFound,
    Refused,
    ServiceUnavailable,
    TooMany,
    Unreadable,
)
from shared.domain.workflow import IllegalTransition, allowed_decisions
from shared.observability import logger
from shared.web.http import HttpError
from shared.web.staff import Forbidden, Unauthorized

BUSY = "The service is busy: please try again in a minute"
RETRY_AFTER = {"Retry-After": "30"}
# A partner's link that changes nothing: why, as a status (the page says it in words).
LINK_STATUS = {"invalid": 404, "answered": 409, "expired": 410, "ended": 410}


def status_of(error: Refused) -> int:
    if isinstance(error, Invalid):
        return 422
    if isinstance(error, NotFound):
        return 404
    if isinstance(error, NotAllowed):
        return 403
    if isinstance(error, Conflict):
        return 409
    if isinstance(error, Unreadable):
        return 400
    if isinstance(error, TooMany):
        return 429
    reason = getattr(error, "reason", None)  # a partner's link (shared.service.connections.LinkProblem)
    return LINK_STATUS.get(str(reason), 400)


def api_problem(error: Exception) -> tuple[int, dict[str, Any], dict[str, str]] | None:
    """(status, body, headers) for an error the API answers on purpose; None for one it does not know (a bug)."""
    if isinstance(error, HttpError):
        return error.status, _body(error.message, error.errors), {}
    if isinstance(error, Unauthorized):
        return 401, {"message": "Sign in to use this service"}, {"WWW-Authenticate": "Bearer"}
    if isinstance(error, Forbidden):
        return 403, {"message": error.message}, {}
    if isinstance(error, IllegalTransition):
        body = {
            "message": error.message,
            "current_status": error.current.value,
            "allowed_actions": allowed_decisions(error.current),
        }
        return 409, body, {}
    if isinstance(error, Refused):
        body = _body(error.message, error.errors)
        if isinstance(error, Conflict) and error.field is not None:
            body["field"] = error.field
        headers = {"Retry-After": str(error.retry_after)} if isinstance(error, TooMany) else {}
        return status_of(error), body, headers
    if isinstance(error, ServiceUnavailable):
        return 503, {"message": BUSY}, RETRY_AFTER
    if isinstance(error, ConfigurationError):
        return 503, {"message": "The service is not available: operations have been alerted"}, {}
    return None


def unexpected(error: Exception) -> tuple[int, dict[str, Any], dict[str, str]]:
    """A bug, not a refusal: logged with an id the person can quote (never the error's own words), answered 500."""
    error_id = uuid.uuid4().hex[:12]
    logger.exception("Unexpected error", extra={"error_id": error_id, "error_kind": type(error).__name__})
    message = f"Sorry, something went wrong on our side. If it happens again, tell us this code: {error_id}"
    return 500, {"message": message, "error_id": error_id}, {}


def _body(message: str, errors: list[dict[str, str]] | None) -> dict[str, Any]:
    body: dict[str, Any] = {"message": message}
    if errors is not None:
        body["errors"] = errors
    return body
