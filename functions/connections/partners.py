"""A community partner's answer through the signed link in its connection email (no login).

`GET /connections/{token}` shows the question and changes nothing (mail scanners follow links);
`POST /connections/{token}` records the answer once. A link that is not valid, has expired, was already used or
belongs to a request the plan has replaced answers a page saying so, and changes nothing.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.metrics import MetricUnit
from pydantic import ValidationError

from shared.adapters.dynamodb import ReferralReader
from shared.config import Settings, get_settings
from shared.domain import clock
from shared.domain.actors import Actor
from shared.domain.errors import ConfigurationError, ServiceUnavailable
from shared.domain.validation import field_errors
from shared.observability import logger, metrics
from shared.service import connections
from shared.views.referrals import Access, record_access
from shared.web import partner_page
from shared.web.errors import status_of
from shared.web.http import HttpError, as_response, json_response, media_type, parse_body
from shared.web.routes import register

router = Router()
ROUTE = "GET /connections/{token}"  # the read audit's name for the partner's page


@register(router, "GET /connections/{token}")
def show(token: str) -> Response[str]:
    return link_page(router.current_event.raw_event, posting=False)


@register(router, "POST /connections/{token}")
def reply(token: str) -> Response[str]:
    return link_page(router.current_event.raw_event, posting=True)


def link_page(event: dict[str, Any], *, posting: bool) -> Response[str]:
    """The token as API Gateway passed it (decoded), whatever the resolver's own pattern made of the path."""
    token = (event.get("pathParameters") or {}).get("token", "")
    return as_response(_respond(event, token, posting=posting))


def _answer_from(event: dict[str, Any]) -> connections.ConnectionAnswer:
    body = parse_body(event)
    return connections.ConnectionAnswer.model_validate({k: v for k, v in body.items() if v not in ("", None)})


def _respond(event: dict[str, Any], token: str, *, posting: bool) -> dict[str, Any]:
    settings = get_settings()
    reader = ReferralReader(settings.table_name)
    try:
        connection = connections.open_link(token, reader=reader, settings=settings, now=clock.now())
        if not posting:
            _record_read(connection, settings)
            metrics.add_metric(name="ConnectionLinksOpened", unit=MetricUnit.Count, value=1)
            return partner_page.form(connection)
        try:
            body = _answer_from(event)
        except ValidationError as exc:
            _record_read(connection, settings)
            return partner_page.form(connection, field_errors(connections.ConnectionAnswer, exc))
        answered = connections.answer(
            connection, body, settings=settings, correlation_id=logger.get_correlation_id() or "none", now=clock.now()
        )
    except connections.LinkProblem as problem:
        status = status_of(problem)
        logger.info("Connection link refused", extra={"outcome": status})
        metrics.add_metric(name="ConnectionLinksRefused", unit=MetricUnit.Count, value=1)
        return partner_page.page(status, "problem", problem.title, problem.message)
    except HttpError as error:
        if media_type(event) not in ("", "application/x-www-form-urlencoded"):
            return json_response(error.status, {"message": error.message})
        return partner_page.page(error.status, "problem", "We could not read your answer", error.message)
    except (ServiceUnavailable, ConfigurationError) as error:
        logger.exception("Connection request failed", extra={"error_kind": type(error).__name__})
        return partner_page.page(
            503, "problem", "Sorry, there is a problem with the service", "Please try again later."
        )
    logger.info(
        "Connection answered",
        extra={"reference": answered.reference, "partner_id": answered.partner_id, "answer": answered.status},
    )
    metrics.add_metric(name="ConnectionsAnswered", unit=MetricUnit.Count, value=1)
    metrics.add_metric(
        name="ConnectionsContacted" if answered.status == "contacted" else "ConnectionsDeclined",
        unit=MetricUnit.Count,
        value=1,
    )
    return partner_page.recorded(answered)


def _record_read(connection: connections.Connection, settings: Settings) -> None:
    """The page shows what was agreed with the partner (and the family contact's name, where the family agreed):
    a read of the case, in its read audit as the partner's."""
    if connection.referral is not None:
        actor = Actor(subject=connection.partner_id, role="partner")
        record_access(connection.referral, Access(actor=actor, route=ROUTE, settings=settings, now=clock.now()))
