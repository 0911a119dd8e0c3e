"""DynamoDB stream of the table → EventBridge: publishes the events that writes left in the outbox."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from shared.adapters.eventbridge import EventPublisher
from shared.config import get_settings
from shared.domain.errors import PublishFailed
from shared.observability import correlate, logger, metrics
from shared.service.event_relay import correlation_id_of, outbox_events, relay


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext, publisher: EventPublisher | None = None) -> dict[str, Any]:
    records = event.get("Records") or []
    publisher = publisher or EventPublisher(get_settings().event_bus_name)
    correlate(f"relay-{context.aws_request_id}")  # until each event's own is known
    try:
        result = relay(records, publisher)
    except PublishFailed:
        # EventBridge unreachable: fail the whole batch so Lambda retries it (then bisects, then the DLQ).
        found, _ = outbox_events(records)
        logger.exception(
            "No event of the batch could be published",
            extra={"records": len(records), "event_ids": [event.event_id for _, event in found]},
        )
        metrics.add_metric(name="EventsRelayFailed", unit=MetricUnit.Count, value=1)
        raise
    metrics.add_metric(name="EventsRelayed", unit=MetricUnit.Count, value=result.published)
    for refused in result.refused:  # every failure with its event id: its stream record is retried, then DLQ'd
        correlate(correlation_id_of(refused))
        logger.warning("Event refused by EventBridge", extra={"event_id": refused.event_id})
    if result.failed_sequence_numbers:
        logger.warning("Some events were refused; retrying from the first", extra={"published": result.published})
        metrics.add_metric(name="EventsRelayFailed", unit=MetricUnit.Count, value=1)
    for relayed in result.relayed:  # one line per event, under the correlation id it carries
        correlate(correlation_id_of(relayed))
        logger.info("Event relayed", extra={"event_id": relayed.event_id, "detail_type": relayed.detail_type})
    return {"batchItemFailures": [{"itemIdentifier": seq} for seq in result.failed_sequence_numbers]}
