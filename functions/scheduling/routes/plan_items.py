"""A plan's support package items: a manager approves or declines one waiting for approval; a coordinator records
the delivery of an approved one (shared/service/approvals.py)."""

from __future__ import annotations

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.metrics import MetricUnit

from functions.scheduling.routes import apply, caller
from shared.domain.plans import Delivery, PackageDecline
from shared.observability import logger, metrics
from shared.service import approvals
from shared.web.api import answer, body_as, etag
from shared.web.http import HttpError, whole_number
from shared.web.routes import register
from shared.web.staff import manager_from

router = Router()


def item_number(number: str) -> int:
    found = whole_number(number)
    if found is None or not 1 <= found <= 999:
        raise HttpError(404, "An item number is a whole number from 1")
    return found


def _decided(reference: str, number: int, outcome: dict[str, object], decision: str) -> Response[str]:
    logger.info(
        "Package item decided" if outcome["changed"] else "Package item decided before: nothing changed",
        extra={"reference": reference, "item_number": number, "decision": decision},
    )
    if outcome["changed"]:
        metrics.add_metric(
            name="PackageItemsApproved" if decision == "approve" else "PackageItemsDeclined",
            unit=MetricUnit.Count,
            value=1,
        )
    return answer(200, outcome, etag(int(str(outcome["version"]))))


@register(router, "POST /referrals/{reference}/plan/items/{number}/approve")
def approve(reference: str, number: str) -> Response[str]:
    actor = manager_from(router.current_event.raw_event)
    found = item_number(number)
    outcome = apply(router, approvals.decide, actor, reference, found, "approve", None)
    return _decided(reference, found, outcome, "approve")


@register(router, "POST /referrals/{reference}/plan/items/{number}/decline")
def decline(reference: str, number: str) -> Response[str]:
    actor = manager_from(router.current_event.raw_event)
    found = item_number(number)
    body = body_as(router.current_event.raw_event, PackageDecline)
    outcome = apply(router, approvals.decide, actor, reference, found, "decline", body.reason)
    return _decided(reference, found, outcome, "decline")


@register(router, "POST /referrals/{reference}/plan/items/{number}/delivery")
def delivery(reference: str, number: str) -> Response[str]:
    actor = caller(router)
    found = item_number(number)
    body = body_as(router.current_event.raw_event, Delivery)
    outcome = apply(router, approvals.record_delivery, actor, reference, found, body)
    logger.info("Package item delivered", extra={"reference": reference, "item_number": found})
    if outcome["changed"]:
        metrics.add_metric(name="PackageItemsDelivered", unit=MetricUnit.Count, value=1)
    return answer(200, outcome, etag(outcome["version"]))
