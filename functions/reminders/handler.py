"""The reminders function: keeps one Scheduler schedule per open review (created when a plan is agreed, deleted
when the referral is withdrawn)."""

from __future__ import annotations

import json
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from shared.config import get_settings
from shared.events import MeetingHeld, ReferralWithdrawn, parse_detail
from shared.observability import logger, metrics
from shared.reminders import delete_reviews, schedule_review

processor = BatchProcessor(event_type=EventType.SQS)


def _on_event(record: SQSRecord) -> None:
    message = json.loads(record.body)
    envelope = parse_detail(message["detail-type"], message["detail"])
    data = envelope.data
    if isinstance(data, ReferralWithdrawn):
        deleted = delete_reviews(data.reference, settings=get_settings())
        logger.info("Review reminders deleted", extra={"reference": data.reference, "deleted": deleted})
        return
    if not isinstance(data, MeetingHeld) or data.first_review_due_on is None:
        return  # no plan agreed: no review to remind
    logger.append_keys(reference=data.reference, event_id=envelope.metadata.event_id)
    made = schedule_review(
        data.reference,
        1,
        data.first_review_due_on,
        settings=get_settings(),
        correlation_id=envelope.metadata.correlation_id,
    )
    logger.info("Review reminder scheduled", extra={"remind_on": made["remind_on"], "review_number": 1})
    metrics.add_metric(name="ReviewRemindersScheduled", unit=MetricUnit.Count, value=1)


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    batch = process_partial_response(event=event, record_handler=_on_event, processor=processor, context=context)
    return dict(batch)
