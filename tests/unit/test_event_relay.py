"""Relaying outbox records: which are published, and where a retry starts after a partial failure."""

from __future__ import annotations

import json

from shared.adapters.eventbridge import OutgoingEvent
from shared.service.event_relay import relay


class RecordingPublisher:
    """An in-memory stand-in for the EventPublisher port: records events, refuses the ids it is told to."""

    def __init__(self, refuse: set[str] | None = None) -> None:
        self.refuse = refuse or set()
        self.published: list[OutgoingEvent] = []

    def publish(self, events):
        self.published.extend(e for e in events if e.event_id not in self.refuse)
        return [e.event_id for e in events if e.event_id in self.refuse]


def stream_record(sequence: str, kind: str = "outbox_event", event_name: str = "INSERT", event_id: str = "e1"):
    image = {
        "kind": {"S": kind},
        "event_id": {"S": event_id},
        "detail_type": {"S": "ReferralReceived"},
        "detail": {"S": json.dumps({"metadata": {"event_id": event_id}, "data": {}})},
    }
    return {"eventName": event_name, "dynamodb": {"SequenceNumber": sequence, "NewImage": image}}


def test_outbox_inserts_are_published_and_other_records_skipped():
    publisher = RecordingPublisher()
    result = relay(
        [
            stream_record("1", event_id="a"),
            stream_record("2", kind="audit"),
            stream_record("3", event_name="MODIFY"),
            stream_record("4", event_id="b"),
        ],
        publisher,  # type: ignore[arg-type]
    )
    assert [e.event_id for e in publisher.published] == ["a", "b"]
    assert (result.published, result.skipped, result.failed_sequence_numbers) == (2, 2, [])


def test_a_partial_failure_reports_the_first_failed_record_so_the_retry_starts_there():
    publisher = RecordingPublisher(refuse={"b", "c"})
    records = [stream_record(str(n), event_id=eid) for n, eid in enumerate("abcd", start=1)]
    result = relay(records, publisher)  # type: ignore[arg-type]
    assert result.failed_sequence_numbers == ["2"]
    assert result.published == 2
    assert [e.event_id for e in result.refused] == ["b", "c"]


class RefusingOnce(RecordingPublisher):
    """EventBridge refusing an entry the first time it is put (FailedEntryCount 1), taking it the next."""

    def publish(self, events):
        refused = super().publish(events)
        self.refuse -= set(refused)
        return refused


def test_an_entry_refused_once_is_put_again_within_the_invocation_and_nothing_is_retried():
    publisher = RefusingOnce(refuse={"b"})
    records = [stream_record(str(n), event_id=eid) for n, eid in enumerate("abc", start=1)]
    result = relay(records, publisher)  # type: ignore[arg-type]
    assert sorted(e.event_id for e in publisher.published) == ["a", "b", "c"]
    assert (result.published, result.failed_sequence_numbers, result.refused) == (3, [], [])
