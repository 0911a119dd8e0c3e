"""DynamoDB adapter for referrals: the only code above which nothing touches boto3 for referral items."""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from shared.adapters import aws, table
from shared.domain import clock
from shared.domain.errors import ConfigurationError, ServiceUnavailable


@lru_cache(maxsize=1)
def _codecs() -> tuple[Any, Any]:
    # boto3's (de)serializers import all of boto3: loaded with the first request, like the client.
    from boto3.dynamodb.types import TypeDeserializer, TypeSerializer  # noqa: PLC0415

    return TypeSerializer(), TypeDeserializer()


_RETRYABLE = {
    "TransactionConflict",
    "ThrottlingException",
    "ProvisionedThroughputExceededException",
    "RequestLimitExceeded",
    "InternalServerError",
    "TransactionInProgressException",
}


def to_item(values: dict[str, Any]) -> dict[str, Any]:
    serializer = _codecs()[0]
    return {key: serializer.serialize(value) for key, value in values.items() if value is not None}


def from_item(item: dict[str, Any]) -> dict[str, Any]:
    deserializer = _codecs()[1]
    return {key: deserializer.deserialize(value) for key, value in item.items()}


class ReferenceTaken(Exception):
    """The random reference already exists; the caller draws another."""


class Contention(ServiceUnavailable):
    """Another writer touched the same items at the same moment; retrying is safe."""


@dataclass(frozen=True)
class EarlierSubmission:
    """A submission marker that already exists: the repeat answers its reference."""

    reference: str
    status: str
    body_fingerprint: str


class DuplicateSubmission(Exception):
    def __init__(self, earlier: EarlierSubmission) -> None:
        super().__init__(earlier.reference)
        self.earlier = earlier


@dataclass(frozen=True)
class NewReferral:
    """Everything one intake writes, in one transaction."""

    referral: dict[str, Any]
    audit: list[dict[str, Any]]  # received (and, for a lead practitioner's referral, accepted)
    outbox_events: list[dict[str, Any]]  # one per event, relayed by the table's stream
    submission_markers: list[dict[str, Any]]  # the body's fingerprint, and the Idempotency-Key's if one was sent
    daily_counts: list[DailyCount] = field(default_factory=list)  # each counted once, if under its cap
    search_entries: list[dict[str, Any]] = field(default_factory=list)  # the postcode's and the surname's


@dataclass(frozen=True)
class DailyCount:
    """A counter the new referral adds one to, in the same transaction, refused at `cap`."""

    counted: str  # what is counted ("referrer", "source"): the key holds a fingerprint of it
    key: dict[str, str]
    cap: int
    expires_at: int  # epoch seconds: the counter outlives its day, then DynamoDB's TTL removes it


class OverDailyCap(Exception):
    def __init__(self, count: DailyCount) -> None:
        super().__init__("over the daily cap")
        self.count = count


# One more referral today: the counter is created at its first (with the day's TTL) and refused at its cap.
_BATCH_GET_LIMIT = 100  # keys in one BatchGetItem
_BATCH_GET_RETRIES = 5  # of the keys DynamoDB left unprocessed, before the caller is told to try again later
_COUNT_ONE = "SET #n = if_not_exists(#n, :zero) + :one, #kind = :kind, #ttl = if_not_exists(#ttl, :ttl)"


class ReferralStore:
    def __init__(self, table_name: str, client: aws.DynamoDBClientFactory = aws.dynamodb) -> None:
        self._table = table_name
        self._client = client

    def create(self, new: NewReferral, *, now: datetime) -> None:
        """Write the referral, its first audit entry, its outbox event and its submission markers atomically.

        Raises DuplicateSubmission when a live marker exists (an expired one awaiting TTL deletion is overwritten),
        ReferenceTaken when the reference is already used, Contention when a concurrent write collided.
        """
        absent = f"attribute_not_exists({table.PARTITION_KEY})"
        marker_free = f"{absent} OR {table.TTL_ATTRIBUTE} < :now"
        now_value = {":now": {"N": str(int(now.timestamp()))}}
        # The markers go first: they are the conditions a repeat fails on, and their reasons come first.
        items: list[Any] = [
            {
                "Put": {
                    "TableName": self._table,
                    "Item": to_item(marker),
                    "ConditionExpression": marker_free,
                    "ExpressionAttributeValues": now_value,
                    "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
                }
            }
            for marker in new.submission_markers
        ]
        items += [
            {"Put": {"TableName": self._table, "Item": to_item(item), "ConditionExpression": absent}}
            for item in (new.referral, *new.audit, *new.outbox_events)
        ]
        items += [{"Put": {"TableName": self._table, "Item": to_item(entry)}} for entry in new.search_entries]
        items += [
            {
                "Update": {
                    "TableName": self._table,
                    "Key": to_item(count.key),
                    "UpdateExpression": _COUNT_ONE,
                    "ConditionExpression": "attribute_not_exists(#n) OR #n < :cap",
                    "ExpressionAttributeNames": {
                        "#n": "count",
                        "#kind": table.KIND_ATTRIBUTE,
                        "#ttl": table.TTL_ATTRIBUTE,
                    },
                    "ExpressionAttributeValues": to_item(
                        {
                            ":zero": 0,
                            ":one": 1,
                            ":cap": count.cap,
                            ":kind": table.KIND_DAILY_COUNT,
                            ":ttl": count.expires_at,
                        }
                    ),
                }
            }
            for count in new.daily_counts
        ]
        try:
            transact(items, self._table, self._client, busy="The referral store was busy; try again")
        except Cancelled as cancelled:
            self._raise_for_cancellation(cancelled, new)

    def _raise_for_cancellation(self, cancelled: Cancelled, new: NewReferral) -> None:
        markers = len(new.submission_markers)
        for index, marker in enumerate(new.submission_markers):
            if cancelled.failed(index):
                earlier = cancelled.old_item(index) or self._get(marker)
                if earlier is None:  # deleted between the two calls: the caller's retry will succeed
                    raise Contention("A repeated submission was being processed at the same moment; try again")
                raise DuplicateSubmission(
                    EarlierSubmission(
                        reference=earlier["reference"],
                        status=earlier["status"],
                        body_fingerprint=earlier["body_fingerprint"],
                    )
                ) from None
        if cancelled.failed(markers):
            raise ReferenceTaken(new.referral["reference"]) from None
        first_count = markers + 1 + len(new.audit) + len(new.outbox_events) + len(new.search_entries)
        for index, count in enumerate(new.daily_counts, start=first_count):
            if cancelled.failed(index):
                raise OverDailyCap(count) from None
        raise ServiceUnavailable(f"DynamoDB refused the referral transaction: {cancelled}") from None

    def _get(self, marker: dict[str, Any]) -> dict[str, Any] | None:
        key = {table.PARTITION_KEY: marker[table.PARTITION_KEY], table.SORT_KEY: marker[table.SORT_KEY]}
        with translated(self._table):
            response = self._client().get_item(TableName=self._table, Key=to_item(key), ConsistentRead=True)
        found = response.get("Item")
        return from_item(found) if found else None


def _translate(exc: ClientError, table_name: str) -> Exception:
    code = exc.response.get("Error", {}).get("Code", "")
    if code == "ResourceNotFoundException":
        return ConfigurationError(f"DynamoDB table {table_name!r} does not exist: check TABLE_NAME")
    if code in {"AccessDeniedException", "UnrecognizedClientException", "KMSAccessDeniedException"}:
        return ConfigurationError(f"Access to DynamoDB table {table_name!r} was denied ({code}): check the role")
    if code in _RETRYABLE:
        return Contention(f"DynamoDB was busy ({code}); try again")
    return ServiceUnavailable(f"DynamoDB failed ({code}); try again")


class StaleWrite(Exception):
    """A conditional update found the item changed (or gone); `current` is the item as it is now, if any."""

    def __init__(self, current: dict[str, Any] | None, *, item_failed: bool = True) -> None:
        super().__init__("stale")
        self.current = current
        self.item_failed = item_failed  # False: another item of the transaction (its meeting) had moved on


@dataclass(frozen=True)
class IndexSpan:
    """A stretch of one index partition: `key` in `index`, sort keys from `low` to `high` (either open)."""

    index: str
    key: str
    low: str | None = None
    high: str | None = None
    forward: bool = True
    not_status: tuple[str, ...] = ()  # items in these states are left out (a filter: read, not returned)
    equal: tuple[tuple[str, str], ...] = ()  # and only items whose attribute has this value
    absent: tuple[str, ...] = ()  # and only items without these attributes

    def request(self, table_name: str) -> dict[str, Any]:
        pk, sk = table.GLOBAL_SECONDARY_INDEXES[self.index]
        condition = "#pk = :key"
        values: dict[str, Any] = {":key": self.key}
        if self.low is not None and self.high is not None:
            condition += " AND #sk BETWEEN :low AND :high"
            values |= {":low": self.low, ":high": self.high}
        elif self.low is not None:
            condition += " AND #sk >= :low"
            values[":low"] = self.low
        elif self.high is not None:
            condition += " AND #sk <= :high"
            values[":high"] = self.high
        names = {"#pk": pk, **({"#sk": sk} if self.low is not None or self.high is not None else {})}
        request: dict[str, Any] = {
            "TableName": table_name,
            "IndexName": self.index,
            "KeyConditionExpression": condition,
        }
        filters = []
        if self.not_status:
            names["#status"] = "status"
            left_out = {f":not{i}": status for i, status in enumerate(self.not_status)}
            values |= left_out
            filters.append(f"NOT #status IN ({', '.join(left_out)})")
        for i, (name, value) in enumerate(self.equal):
            names[f"#eq{i}"], values[f":eq{i}"] = name, value
            filters.append(f"#eq{i} = :eq{i}")
        for i, name in enumerate(self.absent):
            names[f"#no{i}"] = name
            filters.append(f"attribute_not_exists(#no{i})")
        if filters:
            request["FilterExpression"] = " AND ".join(filters)
        return {**request, "ExpressionAttributeNames": names, "ExpressionAttributeValues": to_item(values)}


@dataclass(frozen=True)
class Page:
    items: list[dict[str, Any]]
    last_key: dict[str, Any] | None


def is_live(item: dict[str, Any], now_epoch: float | None = None) -> bool:
    """Not past its retention expiry. DynamoDB deletes expired items days late, so every read leaves them out."""
    expires = item.get(table.TTL_ATTRIBUTE)
    if expires is None:
        return True
    return int(expires) > (clock.now().timestamp() if now_epoch is None else now_epoch)


@contextmanager
def translated(table_name: str) -> Iterator[None]:
    """DynamoDB's failures, inside the block, as the domain errors a person or operations can act on."""
    try:
        yield
    except ClientError as exc:
        raise _translate(exc, table_name) from exc
    except BotoCoreError as exc:
        raise ServiceUnavailable(f"DynamoDB could not be reached: {exc}") from exc


def query_pages(client: aws.DynamoDBClientFactory, table_name: str, request: dict[str, Any]) -> Iterator[Any]:
    """Every page of a Query (boto3's paginator), with DynamoDB's failures as domain errors."""
    with translated(table_name):
        yield from client().get_paginator("query").paginate(**request)


class ReferralReader:
    """Reads for the coordinators' routes: every one a GetItem (or a batch of them) or a Query, never a Scan; items
    past their retention expiry are never returned."""

    def __init__(self, table_name: str, client: aws.DynamoDBClientFactory = aws.dynamodb) -> None:
        self._table = table_name
        self._client = client

    def referral(self, reference: str) -> dict[str, Any] | None:
        return self.item({table.PARTITION_KEY: table.referral_pk(reference), table.SORT_KEY: "REFERRAL"})

    def partition(self, reference: str) -> list[dict[str, Any]]:
        """The referral and everything under it (audit trail, meeting, plan, reviews, emails)."""
        return self.partition_of(table.referral_pk(reference))

    def item(self, key: dict[str, Any]) -> dict[str, Any] | None:
        with translated(self._table):
            response = self._client().get_item(TableName=self._table, Key=to_item(key), ConsistentRead=True)
        found = response.get("Item")
        item = from_item(found) if found else None
        return item if item is not None and is_live(item) else None

    def items_of(self, reference: str, sort_keys: Iterable[str]) -> list[dict[str, Any]]:
        """The referral's items with these sort keys (those that exist), read together: what an event's handler
        needs from a partition that grows with every email and audit entry, without reading the rest of it."""
        pk = table.referral_pk(reference)
        wanted = [to_item({table.PARTITION_KEY: pk, table.SORT_KEY: sk}) for sk in dict.fromkeys(sort_keys)]
        found: list[dict[str, Any]] = []
        for start in range(0, len(wanted), _BATCH_GET_LIMIT):
            keys, tries = wanted[start : start + _BATCH_GET_LIMIT], 0
            while keys:
                request = {self._table: {"Keys": keys, "ConsistentRead": True}}
                with translated(self._table):
                    response = self._client().batch_get_item(RequestItems=request)
                found += [from_item(item) for item in response.get("Responses", {}).get(self._table, [])]
                keys = response.get("UnprocessedKeys", {}).get(self._table, {}).get("Keys", [])
                if keys:  # DynamoDB read some of them only (throttled, or too much at once): the rest again
                    tries += 1
                    if tries > _BATCH_GET_RETRIES:
                        raise ServiceUnavailable("The referral store was busy; try again")
                    time.sleep(min(1.0, 0.05 * 2**tries))
        return [item for item in found if is_live(item)]

    def partition_of(self, pk: str) -> list[dict[str, Any]]:
        request: dict[str, Any] = {
            "TableName": self._table,
            "KeyConditionExpression": "#pk = :pk",
            "ExpressionAttributeNames": {"#pk": table.PARTITION_KEY},
            "ExpressionAttributeValues": {":pk": {"S": pk}},
            "ConsistentRead": True,
        }
        pages = query_pages(self._client, self._table, request)
        return [found for page in pages for found in map(from_item, page.get("Items", [])) if is_live(found)]

    def by_status(self, status: str, limit: int, start_key: dict[str, Any] | None) -> Page:
        """One page of the coordinators' queue: referrals in a state, newest first."""
        request: dict[str, Any] = {
            "TableName": self._table,
            "IndexName": table.STATUS_INDEX,
            "KeyConditionExpression": "#status_key = :status",
            "ExpressionAttributeNames": {"#status_key": table.STATUS_INDEX_PK},
            "ExpressionAttributeValues": {":status": {"S": status}},
            "ScanIndexForward": False,
            "Limit": limit,
        }
        if start_key:
            request["ExclusiveStartKey"] = to_item(start_key)
        response = self._query(request)
        last = response.get("LastEvaluatedKey")
        live = [found for found in map(from_item, response.get("Items", [])) if is_live(found)]
        return Page(live, from_item(last) if last else None)

    def index_page(self, span: IndexSpan, limit: int, start_key: dict[str, Any] | None = None) -> Page:
        """One page of an index partition between two sort keys, in order (or newest first)."""
        request = {**span.request(self._table), "ScanIndexForward": span.forward, "Limit": limit}
        if start_key:
            request["ExclusiveStartKey"] = to_item(start_key)
        response = self._query(request)
        last = response.get("LastEvaluatedKey")
        live = [found for found in map(from_item, response.get("Items", [])) if is_live(found)]
        return Page(live, from_item(last) if last else None)

    def index_count(self, span: IndexSpan) -> int:
        """How many items an index partition holds between two sort keys (a Query counting, page after page)."""
        request = {**span.request(self._table), "Select": "COUNT"}
        return sum(int(page.get("Count", 0)) for page in query_pages(self._client, self._table, request))

    def search(self, fingerprint: str, limit: int) -> list[dict[str, Any]]:
        """The newest referrals a search term finds: one Query of the term's partition."""
        request = {
            "TableName": self._table,
            "KeyConditionExpression": "#pk = :pk",
            "ExpressionAttributeNames": {"#pk": table.PARTITION_KEY},
            "ExpressionAttributeValues": {":pk": {"S": table.search_pk(fingerprint)}},
            "ScanIndexForward": False,
            "Limit": limit,
        }
        return [item for item in map(from_item, self._query(request).get("Items", [])) if is_live(item)]

    def query_index(self, request: dict[str, Any]) -> list[dict[str, Any]]:
        """Every live item an index Query (the caller's key condition) returns, page after page."""
        pages = query_pages(self._client, self._table, {"TableName": self._table, **request})
        return [item for page in pages for item in map(from_item, page.get("Items", [])) if is_live(item)]

    def _query(self, request: dict[str, Any]) -> Any:
        with translated(self._table):
            return self._client().query(**request)


def write_transition(
    table_name: str,
    *,
    key: dict[str, Any],
    expected_version: int,
    updates: dict[str, Any],
    new_items: list[dict[str, Any]],
    extra_operations: list[Any] | None = None,
    client: aws.DynamoDBClientFactory = aws.dynamodb,
) -> None:
    """Update one item if (and only if) it is still at `expected_version`, and add `new_items` (its audit entry, its
    outbox event), all in one transaction. Raises StaleWrite with the item as it is now when the version moved."""
    names = {f"#u{i}": name for i, name in enumerate(updates)}
    values: dict[str, Any] = {f":u{i}": value for i, value in enumerate(updates.values())}
    values.update({":expected": expected_version, ":one": 1})
    assignments = ", ".join(f"#u{i} = :u{i}" for i in range(len(updates)))
    update: Any = {
        "Update": {
            "TableName": table_name,
            "Key": to_item(key),
            "UpdateExpression": f"SET {assignments}, #version = #version + :one",
            "ConditionExpression": "#version = :expected",
            "ExpressionAttributeNames": {**names, "#version": "version"},
            "ExpressionAttributeValues": to_item(values),
            "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
        }
    }
    puts: list[Any] = [
        {
            "Put": {
                "TableName": table_name,
                "Item": to_item(item),
                "ConditionExpression": f"attribute_not_exists({table.PARTITION_KEY})",
            }
        }
        for item in new_items
    ]
    try:
        transact([update, *puts, *(extra_operations or [])], table_name, client)
    except Cancelled as cancelled:
        if cancelled.failed(0):
            raise StaleWrite(cancelled.old_item(0)) from None
        raise StaleWrite(None, item_failed=False) from None


class Cancelled(Exception):
    """A transaction was cancelled: `reasons[i]` says why for the i-th item (with the item as it was, if asked)."""

    def __init__(self, reasons: list[dict[str, Any]]) -> None:
        super().__init__([reason.get("Code") for reason in reasons])
        self.reasons = reasons

    def failed(self, index: int) -> bool:
        return index < len(self.reasons) and self.reasons[index].get("Code") == "ConditionalCheckFailed"

    def old_item(self, index: int) -> dict[str, Any] | None:
        item = self.reasons[index].get("Item") if index < len(self.reasons) else None
        return from_item(item) if item else None


def transact(
    items: list[Any],
    table_name: str,
    client: aws.DynamoDBClientFactory = aws.dynamodb,
    *,
    busy: str = "The referral was being changed at the same moment; try again",
) -> None:
    """One TransactWriteItems call: the one place a cancelled transaction is decoded. A failed condition raises
    Cancelled (with each item's reason); contention raises Contention (`busy` says what was busy)."""
    try:
        client().transact_write_items(TransactItems=items)
    except ClientError as exc:
        code = exc.response.get("Error", {}).get("Code", "")
        if code != "TransactionCanceledException":
            raise _translate(exc, table_name) from exc
        reasons: list[Any] = exc.response.get("CancellationReasons") or []
        codes = [reason.get("Code", "None") for reason in reasons]
        if "ConditionalCheckFailed" in codes:
            raise Cancelled(reasons) from exc
        if any(code in _RETRYABLE for code in codes):
            raise Contention(busy) from exc
        raise ServiceUnavailable(f"DynamoDB refused the change: {codes}") from exc
    except BotoCoreError as exc:
        raise ServiceUnavailable(f"DynamoDB could not be reached: {exc}") from exc


def put(
    item: dict[str, Any],
    table_name: str,
    condition: str | None = None,
    values: dict[str, Any] | None = None,
    *,
    names: dict[str, str] | None = None,
) -> Any:
    request: dict[str, Any] = {"TableName": table_name, "Item": to_item(item)}
    if condition:
        request["ConditionExpression"] = condition
    if names:
        request["ExpressionAttributeNames"] = names
    if values:
        request["ExpressionAttributeValues"] = to_item(values)
    return {"Put": request}


def delete(key: dict[str, Any], table_name: str, condition: str | None = None) -> Any:
    """One Delete of a transaction (conditional, when `condition` is given)."""
    request: dict[str, Any] = {"TableName": table_name, "Key": to_item(key)}
    if condition:
        request["ConditionExpression"] = condition
    return {"Delete": request}


def condition_check(
    key: dict[str, Any],
    table_name: str,
    condition: str,
    *,
    names: dict[str, str] | None = None,
    values: dict[str, Any] | None = None,
) -> Any:
    """One ConditionCheck of a transaction: the transaction commits only while `condition` holds for that item."""
    request: dict[str, Any] = {"TableName": table_name, "Key": to_item(key), "ConditionExpression": condition}
    if names:
        request["ExpressionAttributeNames"] = names
    if values:
        request["ExpressionAttributeValues"] = to_item(values)
    return {"ConditionCheck": request}


def update(
    key: dict[str, Any],
    table_name: str,
    sets: dict[str, Any],
    *,
    remove: tuple[str, ...] = (),
    increment: str | None = None,
    condition: str | None = None,
    names: dict[str, str] | None = None,
    values: dict[str, Any] | None = None,
) -> Any:
    """One Update of a transaction: SET each of `sets` (a None value is removed instead), REMOVE `remove`, add 1 to
    `increment`; the condition uses the `names` and `values` given with it."""
    cleared = [*remove, *(name for name, value in sets.items() if value is None)]
    kept = {name: value for name, value in sets.items() if value is not None}
    assignments = [f"#s{i} = :s{i}" for i in range(len(kept))]
    all_names = {f"#s{i}": name for i, name in enumerate(kept)} | {f"#r{i}": name for i, name in enumerate(cleared)}
    all_values = {f":s{i}": value for i, value in enumerate(kept.values())}
    if increment is not None:
        assignments.append("#inc = #inc + :inc")
        all_names["#inc"] = increment
        all_values[":inc"] = 1
    expression = "SET " + ", ".join(assignments) if assignments else ""
    if cleared:
        expression += " REMOVE " + ", ".join(f"#r{i}" for i in range(len(cleared)))
    request: dict[str, Any] = {
        "TableName": table_name,
        "Key": to_item(key),
        "UpdateExpression": expression.strip(),
        "ExpressionAttributeNames": all_names | (names or {}),
    }
    if condition:
        request["ConditionExpression"] = condition
    all_values |= values or {}
    if all_values:
        request["ExpressionAttributeValues"] = to_item(all_values)
    return {"Update": request}


def add(key: dict[str, Any], table_name: str, attribute: str, amount: int) -> Any:
    """One Update of a transaction: ADD `amount` to a number (created at 0), the way counters stay right under
    concurrent writers."""
    return {
        "Update": {
            "TableName": table_name,
            "Key": to_item(key),
            "UpdateExpression": "ADD #a :n",
            "ExpressionAttributeNames": {"#a": attribute},
            "ExpressionAttributeValues": to_item({":n": amount}),
        }
    }


class MeteredReader:
    """Reads for a sweep that reports its own cost: items read and read capacity, from DynamoDB's own counts."""

    def __init__(self, table_name: str, client: aws.DynamoDBClientFactory = aws.dynamodb) -> None:
        self._table = table_name
        self._client = client
        self.items_read = 0
        self.read_capacity = 0.0

    def due_before(self, index: str, pk: str, sk: str, key: str, day: str) -> list[dict[str, Any]]:
        """Every item of the index's `key` partition whose sort key (starting with an ISO date) is before `day`."""
        request: dict[str, Any] = {
            "TableName": self._table,
            "IndexName": index,
            "KeyConditionExpression": "#pk = :key AND #sk < :today",
            "ExpressionAttributeNames": {"#pk": pk, "#sk": sk},
            "ExpressionAttributeValues": to_item({":key": key, ":today": day}),
            "ReturnConsumedCapacity": "TOTAL",
        }
        return self._pages(request, count_all=True)

    def get(self, pk: str, sk: str) -> dict[str, Any] | None:
        response = self._call(
            "get_item",
            TableName=self._table,
            Key=to_item({table.PARTITION_KEY: pk, table.SORT_KEY: sk}),
            ConsistentRead=True,
            ReturnConsumedCapacity="TOTAL",
        )
        self._count(response, 1 if "Item" in response else 0)
        return from_item(response["Item"]) if "Item" in response else None

    def partition(self, pk: str) -> list[dict[str, Any]]:
        request: dict[str, Any] = {
            "TableName": self._table,
            "KeyConditionExpression": "#pk = :pk",
            "ExpressionAttributeNames": {"#pk": table.PARTITION_KEY},
            "ExpressionAttributeValues": to_item({":pk": pk}),
            "ConsistentRead": True,
            "ReturnConsumedCapacity": "TOTAL",
        }
        return self._pages(request, count_all=False)

    def _pages(self, request: dict[str, Any], *, count_all: bool) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = []
        for page in query_pages(self._client, self._table, request):
            scanned = page.get("ScannedCount", len(page.get("Items", [])) if count_all else 0)
            self._count(page, int(scanned))
            found += [from_item(item) for item in page.get("Items", [])]
        return found

    def _count(self, response: Any, items: int) -> None:
        self.items_read += items
        self.read_capacity += float((response.get("ConsumedCapacity") or {}).get("CapacityUnits") or 0.0)

    def _call(self, operation: str, **request: Any) -> Any:
        with translated(self._table):
            return getattr(self._client(), operation)(**request)
