"""The transactional outbox: an event is written as an item in its referral's partition, in the same transaction as
the change it announces; the table's stream feeds the event relay, which publishes it to the bus."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from shared.adapters import table
from shared.config import Settings
from shared.domain import clock


def outbox_item(pk: str, envelope: Any, detail_type: str, *, now: datetime, settings: Settings) -> dict[str, Any]:
    """An event waiting in the referral's partition for the relay (the table's stream) to publish it."""
    return {
        table.PARTITION_KEY: pk,
        table.SORT_KEY: f"OUTBOX_EVENT#{envelope.metadata.event_id}",
        table.KIND_ATTRIBUTE: table.KIND_OUTBOX_EVENT,
        "event_id": envelope.metadata.event_id,
        "detail_type": detail_type,
        "detail": envelope.model_dump_json(),
        "created_at": clock.iso(now),
        table.TTL_ATTRIBUTE: int((now + timedelta(days=settings.outbox_retention_days)).timestamp()),
    }
