"""The feedback function: every email the service sends to people, from the events on its queue (familynet's own,
and SES's delivery events through the configuration set)."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import process_partial_response
from aws_lambda_powertools.utilities.typing import LambdaContext

from shared.adapters.dynamodb import ReferralReader
from shared.config import get_settings
from shared.domain import clock
from shared.observability import bind_event, correlate, logger, metrics
from shared.service.feedback import FUNCTION_TIMEOUT_SECONDS, deliver, track
from shared.web import emails
from shared.web.queue import EventRecord, batch_processor, seconds_left

processor = batch_processor()


def _on_event(record: EventRecord, lambda_context: LambdaContext | None = None) -> None:
    # A failure is logged with its event id by the batch processor (shared/web/queue.py).
    logger.remove_keys(["event_id", "detail_type", "reference"])  # the batch's previous event's
    if record.body.source == "aws.ses":
        _on_ses_event(record, lambda_context)
    else:
        _on_domain_event(record, lambda_context)


def _on_domain_event(record: EventRecord, lambda_context: LambdaContext | None) -> None:
    envelope = record.envelope()
    bind_event(envelope)
    settings = get_settings()
    reader = ReferralReader(settings.table_name)
    for sent in deliver(
        envelope,
        reader=reader,
        settings=settings,
        now=clock.now(),
        render=emails.render,
        time_left=seconds_left(lambda_context, without=FUNCTION_TIMEOUT_SECONDS),
    ):
        logger.info("Email handled", extra={"template": sent.template, "outcome": sent.status})
        name = {"sent": "EmailsSent", "failed": "EmailsFailed", "duplicate": "EmailsDuplicate"}[sent.status]
        metrics.add_metric(name=name, unit=MetricUnit.Count, value=1)
        for measure, value in sent.measures:
            metrics.add_metric(name=measure, unit=MetricUnit.Count, value=value)


def _on_ses_event(record: EventRecord, lambda_context: LambdaContext | None) -> None:
    # SES's own event carries no familynet metadata: its event id is the correlation id of what follows.
    correlate(f"ses-{record.body.id}")
    settings = get_settings()
    status = track(
        record.body.detail,
        event_id=record.body.id,
        reader=ReferralReader(settings.table_name),
        settings=settings,
        now=clock.now(),
        render=emails.render,
        time_left=seconds_left(lambda_context, without=FUNCTION_TIMEOUT_SECONDS),
    )
    logger.info("Email status", extra={"outcome": status})
    names = {"delivered": "EmailsDelivered", "bounced": "EmailsBounced", "complained": "EmailsComplained"}
    if status in names:
        metrics.add_metric(name=names[status], unit=MetricUnit.Count, value=1)


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    batch = process_partial_response(event=event, record_handler=_on_event, processor=processor, context=context)
    return dict(batch)
