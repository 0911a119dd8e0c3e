"""The family's plan from the case page (issue 21, items 2 and 3): its PDF, as the people it is for download it (a
read, recorded), and each recipient's link to the plan's page, which a coordinator may close (revoke)."""

from __future__ import annotations

from datetime import date

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.metrics import MetricUnit

from functions.console.cases import DONE, case, in_words
from functions.console.common import apply, checked_form, reader, signed_in
from shared.config import get_settings
from shared.domain import clock
from shared.domain.errors import NotFound
from shared.domain.referrals import check_reference
from shared.domain.workflow import IllegalTransition
from shared.observability import logger, metrics
from shared.service import plan_links
from shared.views.plans import partner_names, plan_content
from shared.views.referrals import Access, referral_view
from shared.web import plan_pages
from shared.web.console import redirect
from shared.web.http import as_response, whole_number
from shared.web.plan_document import plan_download
from shared.web.routes import register

router = Router()
DOCUMENT_ROUTE = "GET /staff/referrals/{reference}/plan/document"
DONE |= {"link-revoked": "Link closed: it shows nothing from now on"}
LINK_ID_LENGTH = 17


@register(router, DOCUMENT_ROUTE)
def document(reference: str) -> Response[str]:
    session = signed_in(router)
    reference = check_reference(reference)
    settings = get_settings()
    view = referral_view(reader(), reference, Access(session.actor, DOCUMENT_ROUTE, settings, clock.now()))
    plan = view.get("plan")
    if not plan:
        raise NotFound("This referral has no plan yet")
    held = (view.get("meeting") or {}).get("held_on")
    content = plan_content(
        plan,
        held_on=date.fromisoformat(str(held)) if held else None,
        partners=partner_names(reader(), plan),
        reference=reference,
    )
    metrics.add_metric(name="PlanDocumentsDownloaded", unit=MetricUnit.Count, value=1)
    download = plan_download(
        plan_pages.shown(content), reference=reference, coordinators_email=settings.coordinators_email
    )
    return as_response(download)


@register(router, "POST /staff/referrals/{reference}/plan/links/{link_id}/revoke")
def revoke(reference: str, link_id: str) -> Response[str]:
    reference = check_reference(reference)
    if not (len(link_id) == LINK_ID_LENGTH and link_id.startswith("L") and link_id[1:].isalnum()):
        raise NotFound("This referral's plan has no such link")
    session, form = checked_form(router, return_to=f"/staff/referrals/{reference}")
    version = whole_number(str(form.get("version", "")))
    try:
        apply(plan_links.revoke, session, version, reference, link_id)
    except IllegalTransition as refused:
        return case(session, reference, status=409, refusal=in_words(refused))
    logger.info("Plan link revoked", extra={"reference": reference, "link_id": link_id})
    metrics.add_metric(name="PlanLinksRevoked", unit=MetricUnit.Count, value=1)
    return as_response(redirect(f"/staff/referrals/{reference}?done=link-revoked#plan-links"))
