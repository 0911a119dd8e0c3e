"""The plan made at the meeting, waiting for the lead practitioner's agreement: their answer recorded on their behalf
(given by phone or in person), and the plan revised and sent for agreement again."""

from __future__ import annotations

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.metrics import MetricUnit

from functions.scheduling.routes import apply, caller
from shared.domain.plans import Plan
from shared.observability import logger, metrics
from shared.service import agreement
from shared.web.api import answer, body_as, etag
from shared.web.routes import register

router = Router()


@register(router, "POST /referrals/{reference}/plan/agreement")
def record_agreement(reference: str) -> Response[str]:
    actor = caller(router)
    body = body_as(router.current_event.raw_event, agreement.AgreementAnswer)
    outcome = apply(router, agreement.record_answer, actor, reference, body)
    logger.info("Plan answer recorded", extra={"reference": reference, "outcome": outcome["agreement"]})
    metrics.add_metric(
        name="PlansAgreed" if outcome["agreement"] == "agreed" else "PlanChangesAsked", unit=MetricUnit.Count, value=1
    )
    return answer(200, outcome, etag(outcome["version"]))


@register(router, "PUT /referrals/{reference}/plan")
def revise_plan(reference: str) -> Response[str]:
    actor = caller(router)
    body = body_as(router.current_event.raw_event, Plan)
    outcome = apply(router, agreement.ask_again, actor, reference, body)
    logger.info("Plan sent for agreement again", extra={"reference": reference, "round": outcome["round"]})
    metrics.add_metric(name="PlanAgreementsAskedAgain", unit=MetricUnit.Count, value=1)
    return answer(200, outcome, etag(outcome["version"]))
