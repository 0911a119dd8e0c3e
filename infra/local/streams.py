"""Reads a DynamoDB stream in moto as Lambda's event source mapping would, filter criteria included."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from typing import Any

from moto.events.models import EventPattern

SHARDS_TTL_SECONDS = 5.0


class StreamReader:
    """Records of one stream, in order, each once.

    moto (5.2) alone lets a reader see the stream records of a TransactWriteItems call that is later cancelled
    (its stream reads take no lock); DynamoDB shows none. `isolate_dynamodb()` (moto_isolation.py) makes that
    impossible; without it, give the `dynamodb` client and a record is passed on only if its item is in the table.

    The reader keeps the last sequence number it passed per shard (as Lambda's poller checkpoints) and takes a
    fresh iterator after it on every read.
    """

    def __init__(
        self,
        stream_arn: str,
        client: Any,
        filters: list[dict[str, Any]] | None = None,
        dynamodb: Any | None = None,
    ) -> None:
        self._arn = stream_arn
        self._client = client
        self._dynamodb = dynamodb
        self._table = stream_arn.split(":table/", 1)[1].split("/stream/", 1)[0]
        self._last: dict[str, str] = {}
        self._shard_ids: list[str] | None = None
        self._shards_read_at = 0.0
        self._patterns = [EventPattern.load(json.dumps(f)) for f in filters or []]

    def _shards(self) -> list[str]:
        """The stream's shards, looked up again every few seconds (a stream keeps its shards for hours)."""
        if self._shard_ids is None or time.monotonic() - self._shards_read_at > SHARDS_TTL_SECONDS:
            description = self._client.describe_stream(StreamArn=self._arn)["StreamDescription"]
            self._shard_ids = [shard["ShardId"] for shard in description["Shards"]]
            self._shards_read_at = time.monotonic()
        return self._shard_ids

    def read(self, limit: int = 100) -> list[dict[str, Any]]:
        """New records since the last read (TRIM_HORIZON at first), those that pass the filters, in order."""
        records: list[dict[str, Any]] = []
        for shard in self._shards():
            if shard in self._last:
                iterator = self._client.get_shard_iterator(
                    StreamArn=self._arn,
                    ShardId=shard,
                    ShardIteratorType="AFTER_SEQUENCE_NUMBER",
                    SequenceNumber=self._last[shard],
                )["ShardIterator"]
            else:
                iterator = self._client.get_shard_iterator(
                    StreamArn=self._arn, ShardId=shard, ShardIteratorType="TRIM_HORIZON"
                )["ShardIterator"]
            # Page on until the shard has nothing new (or the batch is full): a page of records the filters drop
            # must not hide the records behind it.
            while len(records) < limit:
                response = self._client.get_records(ShardIterator=iterator, Limit=limit)
                iterator = response.get("NextShardIterator") or iterator
                page = response.get("Records", [])
                for raw in page:
                    self._last[shard] = raw["dynamodb"]["SequenceNumber"]
                    record = _as_lambda_delivers(raw, self._arn)
                    if self._patterns and not any(p.matches_event(_plain(record)) for p in self._patterns):
                        continue
                    if self._is_phantom(record):
                        continue
                    records.append(record)
                if not page:
                    break
        return records

    def _is_phantom(self, record: dict[str, Any]) -> bool:
        if self._dynamodb is None or record.get("eventName") != "INSERT":
            return False
        keys = record["dynamodb"]["Keys"]
        return "Item" not in self._dynamodb.get_item(TableName=self._table, Key=keys, ConsistentRead=True)


MAX_RECORDS_PER_READ = 1000  # read under moto's lock: bounded, so a long stream never holds the others up


class ShardReader:
    """The same records, read from moto's own shard in this process, as Lambda's poller reads a stream inside AWS:
    no GetRecords call, so no serialising each record (both images) to JSON and parsing it back, which made the
    runtime spend seconds reading a busy stream. The local runtime's StreamPoller uses it; the sequence numbers,
    order, filters and record shape are those of GetRecords (TRIM_HORIZON at first, then after the last read)."""

    def __init__(self, stream_arn: str, filters: list[dict[str, Any]] | None = None) -> None:
        self._arn = stream_arn
        _arn, _aws, _service, self._region, self._account, resource = stream_arn.split(":", 5)
        self._table = resource.split("/", 2)[1]
        self._patterns = [EventPattern.load(json.dumps(f)) for f in filters or []]
        self._next: int | None = None  # the sequence number to read next
        self.shard_id = ""  # the shard read (named in the on-failure destination's messages)

    def _raw(self) -> list[dict[str, Any]]:
        from moto.dynamodb.models import dynamodb_backends  # noqa: PLC0415 - moto runs in this process

        from infra.local.moto_isolation import dynamodb_lock  # noqa: PLC0415

        with dynamodb_lock():
            table = dynamodb_backends[self._account][self._region].tables.get(self._table)
            shard = table.stream_shard if table is not None else None
            if shard is None:
                return []
            self.shard_id = str(shard.id)
            first = int(shard.starting_sequence_number)
            start = first if self._next is None else max(self._next, first)  # trimmed records are gone
            return [record.to_json() for record in shard.items[start - first : start - first + MAX_RECORDS_PER_READ]]

    def read(self, limit: int = 100) -> list[dict[str, Any]]:
        records: list[dict[str, Any]] = []
        for raw in self._raw():
            if len(records) >= limit:
                break
            self._next = int(raw["dynamodb"]["SequenceNumber"]) + 1
            record = _as_lambda_delivers(raw, self._arn)
            if self._patterns and not any(p.matches_event(_plain(record)) for p in self._patterns):
                continue
            records.append(record)
        return records


def _as_lambda_delivers(raw: dict[str, Any], stream_arn: str) -> dict[str, Any]:
    """boto3 parses ApproximateCreationDateTime into a datetime; Lambda's event carries epoch seconds."""
    record = {**raw, "eventSourceARN": stream_arn, "dynamodb": dict(raw["dynamodb"])}
    created = record["dynamodb"].get("ApproximateCreationDateTime")
    if isinstance(created, datetime):
        created = created if created.tzinfo else created.replace(tzinfo=UTC)  # moto's own is naive UTC
        record["dynamodb"]["ApproximateCreationDateTime"] = int(created.timestamp())
    return record


def _plain(record: dict[str, Any]) -> Any:
    """Lambda filters match the record's JSON form (numbers and dates as JSON values, not Python objects)."""
    return json.loads(json.dumps(record, default=str))
