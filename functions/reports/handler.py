"""The reports function: keeps the managers' figures (shared/service/reports.py) from the events on its queue, each
event counted once (its id)."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import process_partial_response
from aws_lambda_powertools.utilities.typing import LambdaContext

from shared.adapters.dynamodb import ReferralReader
from shared.config import get_settings
from shared.domain import clock
from shared.observability import bind_event, logger, metrics
from shared.service import reports
from shared.web.queue import EventRecord, UnexpectedEvent, batch_processor

processor = batch_processor()


def _on_event(record: EventRecord) -> None:
    envelope = record.envelope()
    if not isinstance(envelope.data, reports.HANDLED):
        raise UnexpectedEvent(record.body.detail_type)
    bind_event(envelope)
    settings = get_settings()
    counted = reports.record(
        envelope.metadata.event_id,
        envelope.data,
        reader=ReferralReader(settings.table_name),
        settings=settings,
        now=clock.now(),
    )
    logger.info("Event counted" if counted else "Event counted before: nothing changed")
    metrics.add_metric(
        name="ReportEventsCounted" if counted else "ReportEventsRepeated", unit=MetricUnit.Count, value=1
    )


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    batch = process_partial_response(event=event, record_handler=_on_event, processor=processor, context=context)
    return dict(batch)
