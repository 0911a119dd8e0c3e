"""What every console route needs: the signed-in session (or a redirect to sign in), a checked form, the stores."""

from __future__ import annotations

import urllib.parse
from collections.abc import Callable
from typing import Any

from aws_lambda_powertools.event_handler.api_gateway import Router

from shared.adapters.dynamodb import ReferralReader
from shared.adapters.sessions import SessionStore
from shared.config import get_settings
from shared.domain.referrals import REFERENCE_PATTERN, ReferralNotFound
from shared.observability import logger
from shared.service import staff_sessions
from shared.service.staff_sessions import Session
from shared.web.console import SESSION_COOKIE, cookies, same_origin
from shared.web.http import HttpError, parse_body


class SignInNeeded(Exception):
    """No live session: to the sign-in, returning to `return_to` after."""

    def __init__(self, return_to: str) -> None:
        super().__init__(return_to)
        self.return_to = return_to


class FormRefused(Exception):
    """A form without its session's CSRF token, or from another site: 403, and nothing changes."""


def sessions() -> SessionStore:
    return SessionStore(get_settings().table_name)


def reader() -> ReferralReader:
    return ReferralReader(get_settings().table_name)


def correlation_id() -> str:
    return logger.get_correlation_id() or "none"


def signed_in(router: Router, *, return_to: str | None = None) -> Session:
    """The live session; first, a case's address that cannot be one is not found (signed in or not)."""
    event = router.current_event.raw_event
    reference = (event.get("pathParameters") or {}).get("reference")
    if reference is not None and not REFERENCE_PATTERN.match(str(reference)):
        raise ReferralNotFound(str(reference))
    session = staff_sessions.current(cookies(event).get(SESSION_COOKIE), store=sessions(), settings=get_settings())
    if session is None:
        raise SignInNeeded(return_to or _here(event))
    logger.append_keys(staff_role=session.role)
    return session


def checked_form(router: Router, *, return_to: str) -> tuple[Session, dict[str, Any]]:
    """The session and the posted form, if the form carries the session's CSRF token and comes from this site."""
    event = router.current_event.raw_event
    session = signed_in(router, return_to=return_to)
    if not same_origin(event, get_settings().public_url):
        raise FormRefused("origin")
    try:
        form = parse_body(event)
    except HttpError:
        raise FormRefused("unreadable") from None
    token = form.get("csrf_token")
    if not staff_sessions.csrf_holds(session, token if isinstance(token, str) else None):
        raise FormRefused("csrf")
    return session, form


def _here(event: dict[str, Any]) -> str:
    path = str(event.get("rawPath") or "/staff")
    query = str(event.get("rawQueryString") or "")
    return path + ("?" + query if query and len(query) < 256 else "")


def sign_in_location(return_to: str) -> str:
    return "/staff/sign-in?" + urllib.parse.urlencode({"return_to": return_to})


def apply(
    operation: Callable[..., dict[str, Any]], session: Session, version: int | None, *args: Any
) -> dict[str, Any]:
    """One change to a referral as the signed-in person, conditional on the version they read (the API's `apply`)."""
    return operation(
        *args,
        actor=session.actor,
        expected_version=version,
        reader=reader(),
        settings=get_settings(),
        correlation_id=correlation_id(),
    )
