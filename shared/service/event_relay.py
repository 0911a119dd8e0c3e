"""The transactional outbox's far side: outbox items from the table's stream become events on the bus."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from typing import Any

from shared.adapters import table
from shared.adapters.eventbridge import EventPublisher, OutgoingEvent


@dataclass(frozen=True)
class RelayResult:
    published: int
    skipped: int
    failed_sequence_numbers: list[str]
    relayed: list[OutgoingEvent] = field(default_factory=list)
    refused: list[OutgoingEvent] = field(default_factory=list)  # still refused after the retries


RETRIES = 2  # refused entries are put again this many times within the invocation (EventBridge refuses a few)
RETRY_DELAY_SECONDS = 0.1


def outbox_events(records: list[dict[str, Any]]) -> tuple[list[tuple[str, OutgoingEvent]], int]:
    """(sequence number, event) for each new outbox item in a stream batch, and how many records were not ones."""
    found: list[tuple[str, OutgoingEvent]] = []
    skipped = 0
    for record in records:
        image = (record.get("dynamodb") or {}).get("NewImage") or {}
        if (
            record.get("eventName") != "INSERT"
            or image.get(table.KIND_ATTRIBUTE, {}).get("S") != table.KIND_OUTBOX_EVENT
        ):
            skipped += 1  # the event source mapping's filter should have dropped it already
            continue
        event = OutgoingEvent(
            event_id=image["event_id"]["S"],
            detail_type=image["detail_type"]["S"],
            detail=image["detail"]["S"],
        )
        found.append((record["dynamodb"]["SequenceNumber"], event))
    return found, skipped


def relay(records: list[dict[str, Any]], publisher: EventPublisher) -> RelayResult:
    """Publish a stream batch's outbox events; report failures from the first failed record on.

    Entries EventBridge refuses are put again a couple of times first. A stream is ordered per shard: Lambda retries
    from the first reported sequence number, so records after it are relayed again. Consumers dedupe on the event
    id, so a repeat is harmless.
    """
    found, skipped = outbox_events(records)
    failed_ids = set(publisher.publish([event for _, event in found]))
    for attempt in range(RETRIES):
        if not failed_ids:
            break
        # Only the refused ones again: the rest are on the bus (EventBridge keeps no order between entries anyway).
        time.sleep(RETRY_DELAY_SECONDS * 2**attempt)
        failed_ids = set(publisher.publish([event for _, event in found if event.event_id in failed_ids]))
    failed = [sequence for sequence, event in found if event.event_id in failed_ids]
    relayed = [event for _, event in found if event.event_id not in failed_ids]
    refused = [event for _, event in found if event.event_id in failed_ids]
    return RelayResult(
        published=len(found) - len(failed),
        skipped=skipped,
        failed_sequence_numbers=failed[:1],
        relayed=relayed,
        refused=refused,
    )


def correlation_id_of(event: OutgoingEvent) -> str:
    """The correlation id in the event's metadata (the relay logs each event under its own)."""
    try:
        return str(json.loads(event.detail)["metadata"]["correlation_id"])
    except (ValueError, KeyError, TypeError):
        return "unknown"
