"""The reminders function (reviews, deadlines and retention: what happens because time passes).

From its queue (consumer.py): keeps one Scheduler schedule per open review (MeetingHeld with a plan,
ReviewCompleted with a next review, ReviewRescheduled; deleted on ReviewCompleted and ReferralWithdrawn), marks a
review due when its reminder fires (ReviewDue), starts the deadline clocks (ReferralReceived, ReferralAccepted,
MeetingHeld), and sets the retention expiry on every item of a referral that ended (ReferralDeclined,
ReferralWithdrawn, a closing review).
From its daily schedule (07:00 Europe/London, `{"task": "daily_check"}`): escalates overdue reviews and checks the
clocks that fell due (shared/service/deadlines.py).
"""

from __future__ import annotations

import uuid
from typing import Any, Literal

from aws_lambda_powertools.metrics import MetricUnit, single_metric
from aws_lambda_powertools.utilities.batch import process_partial_response
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import BaseModel, ConfigDict, ValidationError

from functions.reminders import consumer
from shared.config import METRICS_NAMESPACE, get_settings
from shared.domain import clock
from shared.observability import correlate, logger, metrics
from shared.service.deadlines import DailyCheck, london_day


class DailyTask(BaseModel):
    """The daily schedule's input."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    task: Literal["daily_check"]  # shared.service.reminders.DAILY_CHECK_INPUT


def _daily(event: dict[str, Any]) -> dict[str, Any]:
    try:
        DailyTask.model_validate(event)
    except ValidationError as exc:
        logger.error("Refused a scheduled invocation", extra={"errors": exc.error_count()})
        raise
    now = clock.now()
    # The run's own correlation id: every escalation and breach it publishes carries it.
    correlate(f"daily-check-{london_day(now).isoformat()}-{uuid.uuid4().hex[:8]}")
    report = DailyCheck(settings=get_settings(), now=now, correlation_id=str(logger.get_correlation_id())).run()
    logger.info("Daily check done", extra=report.as_dict())
    metrics.add_metric(name="ReviewsOverdue", unit=MetricUnit.Count, value=report.escalated)
    # The alarm watches the total (service dimension only); the dashboard can split it by clock.
    metrics.add_metric(name="DeadlinesBreached", unit=MetricUnit.Count, value=len(report.breaches))
    for name in report.breaches:
        with single_metric(
            name="DeadlinesBreachedByClock", unit=MetricUnit.Count, value=1, namespace=METRICS_NAMESPACE
        ) as metric:
            metric.add_dimension(name="clock", value=name)
            metric.add_metadata(key="correlation_id", value=str(logger.get_correlation_id()))
    return report.as_dict()


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    if "Records" not in event:
        return _daily(event)
    batch = process_partial_response(
        event=event, record_handler=consumer.on_event, processor=consumer.processor, context=context
    )
    return dict(batch)
