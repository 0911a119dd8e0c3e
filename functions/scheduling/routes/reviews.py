"""Recording a review of a Family Plan, and moving an open one."""

from __future__ import annotations

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.metrics import MetricUnit

from functions.scheduling.routes import apply, caller
from shared.observability import logger, metrics
from shared.service import reviews
from shared.web.api import answer, body_as, etag
from shared.web.http import HttpError, whole_number
from shared.web.routes import register

router = Router()


@register(router, "POST /referrals/{reference}/reviews")
def record_review(reference: str) -> Response[str]:
    actor = caller(router)
    body = body_as(router.current_event.raw_event, reviews.ReviewRequest)
    outcome = apply(router, reviews.record_review, actor, reference, body)
    logger.info("Review recorded", extra={"reference": reference, "outcome": body.outcome})
    metrics.add_metric(name="ReviewsCompleted", unit=MetricUnit.Count, value=1)
    if body.outcome == "close":
        metrics.add_metric(name="PlansClosed", unit=MetricUnit.Count, value=1)
    return answer(200, outcome, etag(outcome["version"]))


@register(router, "PUT /referrals/{reference}/reviews/{number}")
def move_review(reference: str, number: str) -> Response[str]:
    actor = caller(router)
    review_number = whole_number(number)
    if review_number is None or not 1 <= review_number <= 999:
        raise HttpError(404, "A review number is a whole number from 1")
    body = body_as(router.current_event.raw_event, reviews.ReviewMove)
    outcome = apply(router, reviews.move_review, actor, reference, review_number, body)
    logger.info("Review moved", extra={"reference": reference, "review_number": review_number})
    metrics.add_metric(name="ReviewsMoved", unit=MetricUnit.Count, value=1)
    return answer(200, outcome, etag(outcome["version"]))
