"""The connections function: a partner's answer through the signed link in its connection email.

`GET /connections/{token}` shows the question and changes nothing (mail scanners follow links);
`POST /connections/{token}` records the answer once. A link that is not valid, has expired, was already used or
belongs to a request the plan has replaced answers a page saying so, and changes nothing.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import ValidationError

from shared.adapters.dynamodb import ReferralReader
from shared.config import get_settings
from shared.domain import clock
from shared.domain.errors import ConfigurationError, ServiceUnavailable
from shared.domain.validation import field_errors
from shared.observability import correlate, logger, metrics
from shared.service import connections
from shared.web.errors import status_of
from shared.web.http import HttpError, as_response, html_response, json_response, media_type, parse_body
from shared.web.referral_form import render_web_page
from shared.web.routes import check_served, register

TITLE = "Connecting a family with your help"
PROBLEMS = {
    "answer": "Choose whether you have made contact with the family or cannot help",
    "note": "Keep the note to 500 characters or fewer",
}
app = APIGatewayHttpResolver()
PAGE = {"service_name": "Family Network: Early Help partners", "service_home": "#main-content"}


def _page(status: int, state: str, title: str, message: str = "", **values: Any) -> dict[str, Any]:
    page = render_web_page("connection.html", state=state, title=title, message=message, **PAGE, **values)
    return html_response(status, page, {"Cache-Control": "no-store"})


def _form(connection: connections.Connection, errors: list[dict[str, str]] | None = None) -> dict[str, Any]:
    expires = f"{connection.expires_at.day} {connection.expires_at:%B %Y}"
    # a field's name is its input's id; the page says what to do in its own words
    shown = [{"target": e["field"], "message": PROBLEMS.get(e["field"], e["message"])} for e in errors or []]
    return _page(422 if errors else 200, "form", TITLE, connection=connection, expires_on=expires, errors=shown)


def _answer_from(event: dict[str, Any]) -> connections.ConnectionAnswer:
    body = parse_body(event)
    return connections.ConnectionAnswer.model_validate({k: v for k, v in body.items() if v not in ("", None)})


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP, clear_state=True)
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    correlate(logger.get_correlation_id() or context.aws_request_id)
    return app.resolve(event, context)


@register(app, "GET /connections/{token}")
def show(token: str) -> Response[str]:
    return as_response(_respond(app.current_event.raw_event, token, posting=False))


@register(app, "POST /connections/{token}")
def reply(token: str) -> Response[str]:
    return as_response(_respond(app.current_event.raw_event, token, posting=True))


check_served("connections")


def _respond(event: dict[str, Any], token: str, *, posting: bool) -> dict[str, Any]:
    settings = get_settings()
    reader = ReferralReader(settings.table_name)
    try:
        connection = connections.open_link(token, reader=reader, settings=settings, now=clock.now())
        if not posting:
            metrics.add_metric(name="ConnectionLinksOpened", unit=MetricUnit.Count, value=1)
            return _form(connection)
        try:
            body = _answer_from(event)
        except ValidationError as exc:
            return _form(connection, field_errors(connections.ConnectionAnswer, exc))
        answered = connections.answer(
            connection, body, settings=settings, correlation_id=logger.get_correlation_id() or "none", now=clock.now()
        )
    except connections.LinkProblem as problem:
        status = status_of(problem)
        logger.info("Connection link refused", extra={"outcome": status})
        metrics.add_metric(name="ConnectionLinksRefused", unit=MetricUnit.Count, value=1)
        return _page(status, "problem", problem.title, problem.message)
    except HttpError as error:
        if media_type(event) not in ("", "application/x-www-form-urlencoded"):
            return json_response(error.status, {"message": error.message})
        return _page(error.status, "problem", "We could not read your answer", error.message)
    except (ServiceUnavailable, ConfigurationError) as error:
        logger.exception("Connection request failed", extra={"error_kind": type(error).__name__})
        return _page(503, "problem", "Sorry, there is a problem with the service", "Please try again later.")
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
    thanks = (
        "Thank you for making contact with the family. The coordinators have been told."
        if answered.status == "contacted"
        else "Thank you for letting us know. The coordinators have been told and will look for other help."
    )
    return _page(200, "done", "Your answer is recorded", thanks, connection=answered)
