"""POST /referrals: validate a referral, store it exactly once and announce it (through the outbox)."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from shared.config import get_settings
from shared.errors import ConfigurationError, ServiceUnavailable
from shared.http import HttpError, error_response, json_response
from shared.intake import outcome_body, read_request, submit_referral
from shared.observability import logger, metrics
from shared.referral_store import ReferralStore


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP, clear_state=True)
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext, store: ReferralStore | None = None) -> dict[str, Any]:
    settings = get_settings()
    correlation_id = logger.get_correlation_id() or context.aws_request_id
    try:
        request = read_request(event)
        outcome = submit_referral(
            request,
            store=store or ReferralStore(settings.table_name),
            settings=settings,
            correlation_id=correlation_id,
        )
    except HttpError as error:
        logger.info(
            "Referral refused",
            extra={"status": error.status, "fields": [e["field"] for e in error.errors or []]},
        )
        metrics.add_metric(name="ReferralsRefused", unit=MetricUnit.Count, value=1)
        return error_response(error)
    except (ServiceUnavailable, ConfigurationError) as error:
        logger.exception("Referral could not be stored", extra={"error_kind": type(error).__name__})
        metrics.add_metric(name="ReferralsFailed", unit=MetricUnit.Count, value=1)
        return error_response(
            HttpError(503, "The service is busy: please try again in a minute"), {"Retry-After": "30"}
        )

    logger.append_keys(reference=outcome.reference)
    if outcome.created:
        logger.info("Referral received", extra={"route": request.submission.route.value})
        metrics.add_dimension(name="route", value=request.submission.route.value)
        metrics.add_metric(name="ReferralsReceived", unit=MetricUnit.Count, value=1)
        headers = {"Location": f"/referrals/{outcome.reference}"}
    else:
        logger.info("Repeated submission answered with its first reference")
        metrics.add_metric(name="ReferralsRepeated", unit=MetricUnit.Count, value=1)
        headers = {"Location": f"/referrals/{outcome.reference}", "Idempotent-Replayed": "true"}
    return json_response(201, outcome_body(outcome), headers)
