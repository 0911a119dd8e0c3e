"""Puts familynet events on the bus: chunks of 10, and a failure when any entry is refused."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from shared.adapters import aws
from shared.domain.errors import PublishFailed
from shared.domain.events import EVENT_SOURCE

if TYPE_CHECKING:
    from mypy_boto3_events import EventBridgeClient

MAX_ENTRIES_PER_CALL = 10


@dataclass(frozen=True)
class OutgoingEvent:
    event_id: str
    detail_type: str
    detail: str  # the JSON text of the envelope, exactly as stored in the outbox


class EventPublisher:
    def __init__(self, bus_name: str, client: Callable[[], EventBridgeClient] = aws.events) -> None:
        self._bus_name = bus_name
        self._client = client

    def publish(self, events: Sequence[OutgoingEvent]) -> list[str]:
        """Publish every event; return the ids EventBridge refused (the caller retries those)."""
        failed: list[str] = []
        for start in range(0, len(events), MAX_ENTRIES_PER_CALL):
            chunk = events[start : start + MAX_ENTRIES_PER_CALL]
            entries: list[Any] = [
                {
                    "Source": EVENT_SOURCE,
                    "DetailType": e.detail_type,
                    "Detail": e.detail,
                    "EventBusName": self._bus_name,
                }
                for e in chunk
            ]
            try:
                response = self._client().put_events(Entries=entries)
            except (ClientError, BotoCoreError) as exc:
                raise PublishFailed(f"EventBridge did not accept events for bus {self._bus_name!r}: {exc}") from exc
            if response.get("FailedEntryCount", 0):
                failed.extend(
                    event.event_id
                    for event, result in zip(chunk, response["Entries"], strict=True)
                    if "ErrorCode" in result
                )
        return failed

    def publish_all(self, events: Sequence[OutgoingEvent]) -> None:
        failed = self.publish(events)
        if failed:
            raise PublishFailed(f"EventBridge refused {len(failed)} of {len(events)} events: {failed}")


def outgoing(detail_type: str, envelope: dict[str, Any]) -> OutgoingEvent:
    return OutgoingEvent(
        event_id=envelope["metadata"]["event_id"],
        detail_type=detail_type,
        detail=json.dumps(envelope, sort_keys=True),
    )
