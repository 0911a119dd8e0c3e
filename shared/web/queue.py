"""The consumers' front door: an SQS record whose body is the EventBridge event a rule delivered, parsed by
Powertools' BatchProcessor into these models (a record that does not parse is a failure of its own, retried and
then dead-lettered; the rest of the batch goes on).

Plain pydantic models rather than Powertools' parser models: importing the parser costs a cold start about 250 ms.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType
from aws_lambda_powertools.utilities.batch.base import FailureResponse
from aws_lambda_powertools.utilities.batch.exceptions import ExceptionInfo
from pydantic import BaseModel, ConfigDict, Field, Json

from shared.domain.events import Event, EventData, parse_detail
from shared.observability import logger


def batch_processor() -> BatchProcessor:
    """A consumer's BatchProcessor, each SQS record parsed into an EventRecord (BatchProcessor only calls
    `model_validate`, so a plain pydantic model serves where its type hints name Powertools' own models)."""
    return LoggedBatchProcessor(event_type=EventType.SQS, model=EventRecord)  # type: ignore[arg-type]


class LoggedBatchProcessor(BatchProcessor):
    """Every record that fails is logged with its event id (and the bus's and SQS's ids): it comes back after the
    queue's visibility timeout, and goes to the DLQ after maxReceiveCount, where an operator finds it by them."""

    def failure_handler(self, record: Any, exception: ExceptionInfo) -> FailureResponse:
        body = getattr(record, "body", None)
        detail = body.detail if isinstance(body, QueuedEvent) else {}
        metadata = detail.get("metadata")
        metadata = metadata if isinstance(metadata, dict) else {}
        logger.error(
            "Event not handled; it will be retried, then dead-lettered",
            exc_info=exception[1],
            extra={
                "event_id": metadata.get("event_id"),  # None, not the previous record's, when unreadable
                "bus_event_id": body.id if isinstance(body, QueuedEvent) else None,
                "message_id": getattr(record, "messageId", None) or getattr(record, "message_id", None),
            },
        )
        return super().failure_handler(record, exception)


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
