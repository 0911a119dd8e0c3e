"""The scheduling function: the coordinators' routes (JWT-authorised, `coordinators` group), one Router per
resource under routes/, and the consumer of ReferralAccepted (consumer.py: its own queue, fed by a rule on the bus).

API Gateway's JWT authorizer has already refused a missing, bad, expired or foreign token (401); this function
refuses a valid token without the `coordinators` group (403). Every refusal is answered by the one mapping from
domain errors to statuses (`shared/web/errors.py`).
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import process_partial_response
from aws_lambda_powertools.utilities.typing import LambdaContext

from functions.scheduling import consumer
from functions.scheduling.routes import (
    meetings,
    participants,
    partners,
    plan_items,
    plans,
    preparation,
    referrals,
    reviews,
)
from shared.domain.meetings import DoubleBooked
from shared.domain.workflow import IllegalTransition
from shared.observability import correlate, logger, metrics
from shared.service.erasure import ErasureRefused
from shared.web.api import answer
from shared.web.errors import api_problem, unexpected
from shared.web.routes import check_served
from shared.web.staff import Forbidden

SCHEDULING = "scheduling"

app = APIGatewayHttpResolver()
for router in (
    referrals.router,
    partners.router,
    meetings.router,
    participants.router,
    preparation.router,
    plans.router,
    reviews.router,
    plan_items.router,
):
    app.include_router(router)
check_served(SCHEDULING)

# Refusals worth counting on the dashboard, by the metric each adds.
REFUSAL_METRICS = {IllegalTransition: "DecisionsRefused", DoubleBooked: "DoubleBookingsRefused"}


@app.exception_handler(Exception)
def _refused(error: Exception) -> Response[str]:
    status, body, headers = api_problem(error) or unexpected(error)
    if isinstance(error, Forbidden):
        logger.info("Staff route refused: not in the group it needs")
    if isinstance(error, IllegalTransition):
        logger.info("Change refused", extra={"action": error.action, "current_status": error.current.value})
    if isinstance(error, ErasureRefused):
        metrics.add_metric(name="ErasuresRefused", unit=MetricUnit.Count, value=1)
    for kind, name in REFUSAL_METRICS.items():
        if isinstance(error, kind):
            metrics.add_metric(name=name, unit=MetricUnit.Count, value=1)
    if status == 503:
        logger.exception("Staff request failed", extra={"error_kind": type(error).__name__})
    return answer(status, body, headers)


@app.not_found
def _unmatched(_: Exception) -> Response[str]:
    return answer(404, {"message": "There is nothing at this address: see docs/openapi.json for the routes"})


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP, clear_state=True)
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    if "Records" in event:
        batch = process_partial_response(
            event=event, record_handler=consumer.on_event, processor=consumer.processor, context=context
        )
        return dict(batch)
    correlate(logger.get_correlation_id() or context.aws_request_id)
    metrics.add_metric(name="StaffRequests", unit=MetricUnit.Count, value=1)
    return app.resolve(event, context)
