"""The consumers' front door: an SQS record whose body is the EventBridge event a rule delivered, parsed by
Powertools' BatchProcessor into these models (a record that does not parse is a failure of its own, retried and
then dead-lettered; the rest of the batch goes on).

Plain pydantic models rather than Powertools' parser models: importing the parser costs a cold start about 250 ms.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType
from aws_lambda_powertools.utilities.batch.base import FailureResponse
from aws_lambda_powertools.utilities.batch.exceptions import ExceptionInfo
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import BaseModel, ConfigDict, Field, Json, ValidationError

from shared.adapters import queues
from shared.domain.errors import ServiceUnavailable
from shared.domain.events import Event, EventData, parse_detail
from shared.observability import logger


def batch_processor() -> BatchProcessor:
    """A consumer's BatchProcessor, each SQS record parsed into an EventRecord (BatchProcessor only calls
    `model_validate`, so a plain pydantic model serves where its type hints name Powertools' own models)."""
    return LoggedBatchProcessor(event_type=EventType.SQS, model=EventRecord)  # type: ignore[arg-type]


# A record is started only with this much of the invocation left, and with twice the longest record so far: one
# started later could run into the function's timeout, which fails the whole batch (every record, the ones already
# handled too, comes back and counts a receive towards the DLQ).
RESERVE_SECONDS = 1.0
# A record left for later the first time is back this soon, not after the queue's visibility timeout (six times the
# function's: 3 minutes for feedback, during which a referrer waits for an acknowledgement that only lacked time).
# Only the first time: a record left again waits the whole timeout, so that a lasting overload does not spend the
# queue's receives (maxReceiveCount 5, then the DLQ) within seconds.
RETRY_SOON_SECONDS = 5


def seconds_left(context: LambdaContext | None, without: float = float("inf")) -> Callable[[], float]:
    """Seconds left in the invocation; `without` when there is no Lambda context (a test calling a handler)."""
    if context is None:
        return lambda: without
    return lambda: context.get_remaining_time_in_millis() / 1000


class LoggedBatchProcessor(BatchProcessor):
    """Every record that fails is logged with its event id (and the bus's and SQS's ids): it comes back after the
    queue's visibility timeout, and goes to the DLQ after maxReceiveCount, where an operator finds it by them.

    Records are taken while the invocation has time for them: when too little is left, the rest of the batch is
    reported as batch item failures without being started, and comes back after the visibility timeout, instead of
    the function timing out with the whole batch (under load a batch of slow records did so again and again, until
    every one of its records was dead-lettered). Those on their first receive come back after RETRY_SOON_SECONDS."""

    def process(self) -> list[tuple[Any, ...]]:
        left = seconds_left(getattr(self, "lambda_context", None))
        results: list[tuple[Any, ...]] = []
        slowest = 0.0
        for index, record in enumerate(self.records):
            if index and left() < max(RESERVE_SECONDS, 2 * slowest):
                results.extend(self._left_for_later(later, left()) for later in self.records[index:])
                _retry_soon(self.records[index:])
                break
            started = time.monotonic()
            results.append(self._process_record(record))
            slowest = max(slowest, time.monotonic() - started)
        return results

    def _left_for_later(self, record: dict[str, Any], seconds: float) -> FailureResponse:
        """A record not started: reported as a failure (not an error: it is not counted as one of the batch's)."""
        try:
            data: Any = self._to_batch_type(record=record, event_type=self.event_type, model=self.model)
        except ValidationError:  # a record that does not parse is still reported by its message id
            data = self._to_batch_type(record=record, event_type=self.event_type)
        logger.warning(
            "Event left for the next invocation: too little time left to handle it",
            extra={**_ids(data), "seconds_left": round(seconds, 3)},
        )
        self.fail_messages.append(data)
        return ("fail", "left for the next invocation", data)

    def failure_handler(self, record: Any, exception: ExceptionInfo) -> FailureResponse:
        logger.error(
            "Event not handled; it will be retried, then dead-lettered", exc_info=exception[1], extra=_ids(record)
        )
        return super().failure_handler(record, exception)


def _retry_soon(records: list[dict[str, Any]]) -> None:
    """Records left for later on their first receive: visible again after RETRY_SOON_SECONDS."""
    first = [
        (str(r["eventSourceARN"]), str(r["receiptHandle"]))
        for r in records
        if isinstance(r, dict)
        and str((r.get("attributes") or {}).get("ApproximateReceiveCount")) == "1"
        and r.get("eventSourceARN")
        and r.get("receiptHandle")
    ]
    if not first:
        return
    try:
        changed = queues.visible_again_in(first, RETRY_SOON_SECONDS)
    except ServiceUnavailable as exc:  # they come back after the visibility timeout instead
        logger.warning("Records left for later wait for the visibility timeout", extra={"reason": str(exc)})
        return
    logger.info("Records left for later come back soon", extra={"records": changed, "seconds": RETRY_SOON_SECONDS})


def _ids(record: Any) -> dict[str, Any]:
    """A record's event id (None, not the previous record's, when unreadable), and the bus's and SQS's ids."""
    body = getattr(record, "body", None)
    detail = body.detail if isinstance(body, QueuedEvent) else {}
    metadata = detail.get("metadata")
    metadata = metadata if isinstance(metadata, dict) else {}
    return {
        "event_id": metadata.get("event_id"),
        "bus_event_id": body.id if isinstance(body, QueuedEvent) else None,
        "message_id": getattr(record, "messageId", None) or getattr(record, "message_id", None),
    }


class UnexpectedEvent(Exception):
    """The queue's rule lets through only what its consumer handles: anything else is a wiring mistake."""


class QueuedEvent(BaseModel):
    """An EventBridge event, as a rule's SQS target receives it."""

    model_config = ConfigDict(populate_by_name=True)
    id: str
    source: str
    detail_type: str = Field(alias="detail-type")
    detail: dict[str, Any]


class EventRecord(BaseModel):
    """An SQS record (the fields a consumer reads) with its body parsed."""

    messageId: str
    body: Json[QueuedEvent]

    def envelope(self) -> Event[EventData]:
        """One of familynet's own events, validated against the model its detail-type names."""
        return parse_detail(self.body.detail_type, self.body.detail)
