"""The lead practitioner's agreement to the family's plan, through the signed link in their email (no login).

`GET /agreements/{token}` shows the plan and the question, changes nothing (mail scanners follow links) and is
recorded in the referral's read audit; `POST /agreements/{token}` records the answer once: agreed, or changes asked
with reasons. A link that is not valid, has expired, was answered, or belongs to a round the coordinator has replaced
answers a page saying so, and shows nothing of the plan.
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
from shared.domain.actors import Actor
from shared.domain.errors import ConfigurationError, ServiceUnavailable
from shared.domain.validation import field_errors
from shared.observability import logger, metrics
from shared.service import agreement
from shared.service.connections import LinkProblem
from shared.views.plans import partner_names, plan_content
from shared.views.referrals import Access, record_access
from shared.web import plan_pages
from shared.web.errors import status_of
from shared.web.http import HttpError, as_response, json_response, media_type, parse_body
from shared.web.routes import register

router = Router()
ROUTE = "GET /agreements/{token}"


@register(router, "GET /agreements/{token}")
def show(token: str) -> Response[str]:
    return link_page(router.current_event.raw_event, posting=False)


@register(router, "POST /agreements/{token}")
def answer(token: str) -> Response[str]:
    return link_page(router.current_event.raw_event, posting=True)


def link_page(event: dict[str, Any], *, posting: bool) -> Response[str]:
    """The token as API Gateway passed it (decoded), whatever the resolver's own pattern made of the path."""
    token = (event.get("pathParameters") or {}).get("token", "")
    return as_response(_respond(event, token, posting=posting))


def _answer_from(event: dict[str, Any]) -> tuple[agreement.AgreementAnswer | None, dict[str, str], list[Any]]:
    """The answer, the page's fields as given (to show again) and the problems, each against its field."""
    body = parse_body(event)
    fields = ("decision", "reasons")
    kept = {k: str(v) for k, v in body.items() if k in fields and isinstance(v, str)}
    given = {k: v for k, v in body.items() if k in fields and v not in ("", None)}
    if given.get("decision") == "agree":
        given.pop("reasons", None)  # the page's box is there for changes; an agreement takes no reasons
    try:
        return agreement.AgreementAnswer.model_validate(given), kept, []
    except ValidationError as exc:
        errors = field_errors(agreement.AgreementAnswer, exc)
        # the one rule across both fields (changes need reasons) is the reasons box's to show
        return None, kept, [{**e, "field": "reasons"} if e["field"] == "body" else e for e in errors]


def _respond(event: dict[str, Any], token: str, *, posting: bool) -> dict[str, Any]:
    settings = get_settings()
    reader = ReferralReader(settings.table_name)
    now = clock.now()
    try:
        link = agreement.open_link(token, reader=reader, settings=settings, now=now)
        if not posting:
            actor = Actor(subject=link.agreement_id, role=link.answerer)
            record_access(link.referral, Access(actor=actor, route=ROUTE, settings=settings, now=now))
            metrics.add_metric(name="AgreementLinksOpened", unit=MetricUnit.Count, value=1)
            return _form(link, reader, settings.coordinators_email)
        body, answers, errors = _answer_from(event)
        if body is None:
            return _form(link, reader, settings.coordinators_email, errors=errors, answers=answers)
        outcome = agreement.answer_through_link(
            link,
            body,
            reader=reader,
            settings=settings,
            correlation_id=logger.get_correlation_id() or "none",
            now=clock.now(),
        )
    except LinkProblem as problem:
        status = status_of(problem)
        logger.info("Agreement link refused", extra={"outcome": status})
        metrics.add_metric(name="AgreementLinksRefused", unit=MetricUnit.Count, value=1)
        return plan_pages.problem(status, problem.title, problem.message)
    except HttpError as error:
        if media_type(event) not in ("", "application/x-www-form-urlencoded"):
            return json_response(error.status, {"message": error.message})
        return plan_pages.problem(error.status, "We could not read your answer", error.message)
    except (ServiceUnavailable, ConfigurationError) as error:
        logger.exception("Agreement link failed", extra={"error_kind": type(error).__name__})
        return plan_pages.problem(503, plan_pages.UNAVAILABLE, "Please try again later.")
    logger.info("Plan answered", extra={"reference": link.reference, "round": link.round, "outcome": outcome})
    metrics.add_metric(
        name="PlansAgreed" if outcome == "agreed" else "PlanChangesAsked", unit=MetricUnit.Count, value=1
    )
    return plan_pages.agreement_recorded(link.reference, outcome)


def _form(
    link: agreement.AgreementLink,
    reader: ReferralReader,
    coordinators_email: str,
    *,
    errors: list[dict[str, str]] | None = None,
    answers: dict[str, str] | None = None,
) -> dict[str, Any]:
    content = plan_content(
        link.plan, held_on=link.held_on, partners=partner_names(reader, link.plan), reference=link.reference
    )
    return plan_pages.agreement_form(
        link, content, coordinators_email=coordinators_email, errors=errors, answers=answers
    )
