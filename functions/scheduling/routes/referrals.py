"""Reading referrals (the queue, one referral whole, the subject access export), erasing one, and deciding."""

from __future__ import annotations

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.metrics import MetricUnit

from functions.scheduling.routes import apply, caller, correlation_id, reader
from shared.config import get_settings
from shared.domain import clock
from shared.domain.referrals import ReferralStatus
from shared.domain.workflow import Decision
from shared.observability import logger, metrics
from shared.service import erasure
from shared.service.decisions import AcceptBody, ReasonBody, decide
from shared.views import subject_access
from shared.views.referrals import MAX_PAGE, Access, list_referrals, referral_view
from shared.web import subject_access as subject_access_page
from shared.web.api import answer, body_as, etag
from shared.web.http import HttpError, html_response, whole_number
from shared.web.routes import register
from shared.web.staff import PRIVACY_MANAGERS_ONLY, manager_from

router = Router()
DECISION_METRICS = {
    Decision.ACCEPT: "ReferralsAccepted",
    Decision.DECLINE: "ReferralsDeclined",
    Decision.WITHDRAW: "ReferralsWithdrawn",
}


@register(router, "GET /referrals")
def queue() -> Response[str]:
    caller(router)
    params = router.current_event.query_string_parameters or {}
    try:
        status = ReferralStatus(params.get("status", ReferralStatus.RECEIVED.value))
    except ValueError:
        choices = ", ".join(s.value for s in ReferralStatus)
        raise HttpError(400, f"status must be one of: {choices}") from None
    limit = whole_number(params.get("limit", "25"))
    if limit is None:
        raise HttpError(400, f"limit must be a whole number from 1 to {MAX_PAGE}")
    return answer(200, list_referrals(reader(), status, limit, params.get("cursor")))


@register(router, "GET /referrals/{reference}")
def one_referral(reference: str) -> Response[str]:
    access = Access(caller(router), "GET /referrals/{reference}", get_settings(), clock.now())
    view = referral_view(reader(), reference, access)
    metrics.add_metric(name="ReferralsRead", unit=MetricUnit.Count, value=1)
    return answer(200, view, etag(view["version"]))


@register(router, "GET /referrals/{reference}/export")
def subject_access_export(reference: str) -> Response[str]:
    actor = manager_from(router.current_event.raw_event, PRIVACY_MANAGERS_ONLY)
    access = Access(actor, "GET /referrals/{reference}/export", get_settings(), clock.now())
    document = subject_access.export(reader(), reference, access)
    logger.info("Subject access export made", extra={"reference": reference})
    metrics.add_metric(name="SubjectAccessExports", unit=MetricUnit.Count, value=1)
    if "text/html" in router.current_event.headers.get("accept", ""):
        page = html_response(200, subject_access_page.to_html(document))
        return Response(status_code=200, body=page["body"], headers=page["headers"])
    disposition = {"Content-Disposition": f'attachment; filename="{reference}-subject-access.json"'}
    return answer(200, document, disposition)


@register(router, "POST /referrals/{reference}/erase")
def erase(reference: str) -> Response[str]:
    actor = manager_from(router.current_event.raw_event, PRIVACY_MANAGERS_ONLY)
    body = body_as(router.current_event.raw_event, erasure.ErasureRequest)
    outcome = erasure.erase(
        reference, body, actor=actor, reader=reader(), settings=get_settings(), correlation_id=correlation_id()
    )
    logger.info("Referral erased", extra={"reference": reference, "ground": body.ground, "items": outcome["items"]})
    metrics.add_metric(name="ReferralsErased", unit=MetricUnit.Count, value=1)
    return answer(200, outcome)


def _decide(reference: str, chosen: Decision) -> Response[str]:
    actor = caller(router)
    body = body_as(router.current_event.raw_event, AcceptBody if chosen is Decision.ACCEPT else ReasonBody)
    outcome = apply(router, decide, actor, reference, chosen, body)
    logger.info("Referral decided", extra={"reference": reference, "decision": chosen.value})
    metrics.add_metric(name=DECISION_METRICS[chosen], unit=MetricUnit.Count, value=1)
    return answer(200, outcome, etag(outcome["version"]))


@register(router, "POST /referrals/{reference}/accept")
def accept(reference: str) -> Response[str]:
    return _decide(reference, Decision.ACCEPT)


@register(router, "POST /referrals/{reference}/decline")
def decline(reference: str) -> Response[str]:
    return _decide(reference, Decision.DECLINE)


@register(router, "POST /referrals/{reference}/withdraw")
def withdraw(reference: str) -> Response[str]:
    return _decide(reference, Decision.WITHDRAW)
