"""The family's plan behind each recipient's signed link (no login): `GET /plans/{token}` (the page, printable) and
`GET /plans/{token}/document` (the same plan as a PDF). Each opening is recorded in the referral's read audit, as the
recipient (their kind and link id). A link altered, made for something else, expired or revoked answers a page
saying so, and shows nothing of the plan.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.metrics import MetricUnit

from shared.adapters.dynamodb import ReferralReader
from shared.config import get_settings
from shared.domain import clock
from shared.domain.clock import LONDON
from shared.domain.errors import ConfigurationError, ServiceUnavailable
from shared.observability import logger, metrics
from shared.service import plan_links
from shared.service.connections import LinkProblem
from shared.views.plans import partner_names, plan_content
from shared.views.referrals import Access, record_access
from shared.web import plan_pages
from shared.web.errors import status_of
from shared.web.http import as_response
from shared.web.plan_document import plan_download
from shared.web.routes import register

router = Router()
PAGE_ROUTE = "GET /plans/{token}"
DOCUMENT_ROUTE = "GET /plans/{token}/document"


@register(router, PAGE_ROUTE)
def show(token: str) -> Response[str]:
    return link_page(router.current_event.raw_event, document=False)


@register(router, DOCUMENT_ROUTE)
def document(token: str) -> Response[str]:
    return link_page(router.current_event.raw_event, document=True)


def link_page(event: dict[str, Any], *, document: bool) -> Response[str]:
    """The token as API Gateway passed it (decoded), whatever the resolver's own pattern made of the path."""
    token = (event.get("pathParameters") or {}).get("token", "")
    return as_response(_respond(token, document=document))


def _respond(token: str, *, document: bool) -> dict[str, Any]:
    settings = get_settings()
    reader = ReferralReader(settings.table_name)
    now = clock.now()
    try:
        link = plan_links.open_link(token, reader=reader, settings=settings, now=now)
        route = DOCUMENT_ROUTE if document else PAGE_ROUTE
        record_access(link.referral, Access(actor=link.actor, route=route, settings=settings, now=now))
    except LinkProblem as problem:
        logger.info("Plan link refused", extra={"outcome": problem.reason})
        metrics.add_metric(name="PlanLinksRefused", unit=MetricUnit.Count, value=1)
        return plan_pages.plan_problem(status_of(problem), problem.title, problem.message)
    except (ServiceUnavailable, ConfigurationError) as error:
        logger.exception("Plan link failed", extra={"error_kind": type(error).__name__})
        return plan_pages.plan_problem(503, plan_pages.UNAVAILABLE, "Please try again later.")
    metrics.add_metric(
        name="PlanDocumentsDownloaded" if document else "PlanPagesOpened", unit=MetricUnit.Count, value=1
    )
    held = link.meeting.get("held_on")
    content = plan_content(
        link.plan,
        held_on=date.fromisoformat(str(held)) if held else None,
        partners=partner_names(reader, link.plan),
        reference=link.reference,
    )
    if document:
        return plan_download(
            plan_pages.shown(content), reference=link.reference, coordinators_email=settings.coordinators_email
        )
    agreed_at = link.plan.get("plan_agreed_at")
    return plan_pages.plan_page(
        link.reference,
        content,
        route=str(link.referral.get("route")),
        agreed_on=datetime.fromisoformat(str(agreed_at).replace("Z", "+00:00")).astimezone(LONDON).date()
        if agreed_at
        else None,
        closed=link.referral.get("status") == "closed",
        expires_on=link.expires_at.astimezone(LONDON).date(),
        document_href=f"/plans/{token}/document",
        coordinators_email=settings.coordinators_email,
    )
