"""Signing in through the user pool's managed login, and out again."""

from __future__ import annotations

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.metrics import MetricUnit

from functions.console.common import checked_form, sessions
from shared.config import get_settings
from shared.domain import clock
from shared.observability import logger, metrics
from shared.service import assignment, staff_sessions
from shared.web.console import SESSION_COOKIE, SIGN_IN_COOKIE, clear_cookie, cookies, page, redirect, set_cookie
from shared.web.http import as_response
from shared.web.routes import register

router = Router()


@register(router, "GET /staff/sign-in")
def sign_in() -> Response[str]:
    params = router.current_event.query_string_parameters or {}
    start = staff_sessions.begin(params.get("return_to"), store=sessions(), settings=get_settings())
    cookie = set_cookie(SIGN_IN_COOKIE, start.state, max_age=staff_sessions.SIGN_IN_MINUTES * 60)
    return as_response(redirect(start.location, status=302, cookies=[cookie]))


@register(router, "GET /staff/callback")
def callback() -> Response[str]:
    params = router.current_event.query_string_parameters or {}
    event = router.current_event.raw_event
    session, return_to = staff_sessions.finish(
        params.get("code"),
        params.get("state"),
        cookies(event).get(SIGN_IN_COOKIE),
        store=sessions(),
        settings=get_settings(),
    )
    assignment.remember_staff(session.subject, session.name, session.role, settings=get_settings())
    logger.info("Signed in", extra={"staff_role": session.role})
    metrics.add_metric(name="StaffSignIns", unit=MetricUnit.Count, value=1)
    max_age = session.expires_at - int(clock.now().timestamp())
    cookie = set_cookie(SESSION_COOKIE, session.id, max_age=max_age)
    return as_response(redirect(return_to, cookies=[cookie, clear_cookie(SIGN_IN_COOKIE)]))


@register(router, "POST /staff/sign-out")
def sign_out() -> Response[str]:
    session, _ = checked_form(router, return_to="/staff")
    staff_sessions.end(session.id, store=sessions())
    logger.info("Signed out", extra={"staff_role": session.role})
    settings = get_settings()
    location = staff_sessions.provider(settings).logout_url(settings.public_url + staff_sessions.SIGNED_OUT_PATH)
    return as_response(redirect(location, cookies=[clear_cookie(SESSION_COOKIE)]))


@register(router, "GET /staff/signed-out")
def signed_out() -> Response[str]:
    return as_response(
        page(
            200,
            "message.html",
            session=None,
            title="You have signed out",
            message="You have signed out of the Family Network console.",
            link={"href": "/staff/sign-in", "text": "Sign in again"},
        )
    )
