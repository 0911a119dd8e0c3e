"""A family respondent's evaluation of their meeting, through the signed link in their email (no login).

`GET /evaluations/{token}` shows the four questions, changes nothing (mail scanners follow links) and is recorded in
the referral's read audit; `POST /evaluations/{token}` records the answers once. A link that is not valid (altered,
incomplete, made for something else), has expired, or whose evaluation was given answers a page saying so, and shows
nothing of the case. The answers are never logged.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.metrics import MetricUnit
from pydantic import ValidationError

from shared.adapters.dynamodb import ReferralReader
from shared.config import get_settings
from shared.domain import clock
from shared.domain.errors import ConfigurationError, ServiceUnavailable
from shared.domain.evaluations import EvaluationAnswers
from shared.domain.validation import field_errors
from shared.observability import logger, metrics
from shared.service import evaluations
from shared.service.connections import LinkProblem
from shared.views.referrals import Access, record_access
from shared.web import evaluation_page
from shared.web.errors import status_of
from shared.web.http import HttpError, as_response, json_response, media_type, parse_body
from shared.web.routes import register

router = Router()
ROUTE = "GET /evaluations/{token}"


@register(router, "GET /evaluations/{token}")
def show(token: str) -> Response[str]:
    return link_page(router.current_event.raw_event, posting=False)


@register(router, "POST /evaluations/{token}")
def answer(token: str) -> Response[str]:
    return link_page(router.current_event.raw_event, posting=True)


def link_page(event: dict[str, Any], *, posting: bool) -> Response[str]:
    """The token as API Gateway passed it (decoded), whatever the resolver's own pattern made of the path."""
    token = (event.get("pathParameters") or {}).get("token", "")
    return as_response(_respond(event, token, posting=posting))


def _answers_from(event: dict[str, Any]) -> tuple[EvaluationAnswers | None, dict[str, str], list[dict[str, str]]]:
    """The answers, the page's fields as given (to show again) and the problems, each against its field."""
    body = parse_body(event)
    kept = {k: str(v) for k, v in body.items() if k in evaluation_page.FIELDS and isinstance(v, str)}
    given = {k: v for k, v in body.items() if k in evaluation_page.FIELDS and v not in ("", None)}
    try:
        return EvaluationAnswers.model_validate(given), kept, []
    except ValidationError as exc:
        return None, kept, field_errors(EvaluationAnswers, exc)


def _respond(event: dict[str, Any], token: str, *, posting: bool) -> dict[str, Any]:
    settings = get_settings()
    reader = ReferralReader(settings.table_name)
    now = clock.now()
    try:
        link = evaluations.open_link(token, reader=reader, settings=settings, now=now)
        if not posting:
            record_access(link.referral, Access(actor=link.actor, route=ROUTE, settings=settings, now=now))
            metrics.add_metric(name="EvaluationLinksOpened", unit=MetricUnit.Count, value=1)
            return evaluation_page.form(link, coordinators_email=settings.coordinators_email)
        answers, given, errors = _answers_from(event)
        if answers is None:
            return evaluation_page.form(
                link, coordinators_email=settings.coordinators_email, errors=errors, answers=given
            )
        evaluation_id = evaluations.record(
            link, answers, settings=settings, correlation_id=logger.get_correlation_id() or "none", now=clock.now()
        )
    except LinkProblem as problem:
        status = status_of(problem)
        logger.info("Evaluation link refused", extra={"outcome": status})
        metrics.add_metric(name="EvaluationLinksRefused", unit=MetricUnit.Count, value=1)
        return evaluation_page.problem(status, problem.title, problem.message)
    except HttpError as error:
        if media_type(event) not in ("", "application/x-www-form-urlencoded"):
            return json_response(error.status, {"message": error.message})
        return evaluation_page.problem(error.status, "We could not read your answers", error.message)
    except (ServiceUnavailable, ConfigurationError) as error:
        logger.exception("Evaluation link failed", extra={"error_kind": type(error).__name__})
        return evaluation_page.problem(503, evaluation_page.UNAVAILABLE, "Please try again later.")
    # ids only: what the family said stays in the table
    logger.info(
        "Evaluation recorded",
        extra={"reference": link.reference, "meeting_id": link.meeting_id, "evaluation_id": evaluation_id},
    )
    metrics.add_metric(name="EvaluationsReceived", unit=MetricUnit.Count, value=1)
    return evaluation_page.recorded(link.reference)
