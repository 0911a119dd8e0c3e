"""In-memory fakes of the AWS clients the adapters use, for fast tests of the service layer without moto.

`InMemoryDynamoDB` keeps one table in a dict and answers the calls `shared/adapters/dynamodb.py` makes (GetItem,
Query on the table or a GSI, TransactWriteItems with every condition, update and key expression the services write,
cancellations with their reasons as DynamoDB gives them). `RecordingScheduler` and `StaticSecrets` stand in for
EventBridge Scheduler and Secrets Manager. `use_fakes` points the adapters' client factory at them.

They are fakes, not emulators: enough of each API for the service layer's own calls, and a clear error for anything
else, so that a new kind of call is noticed rather than silently mis-emulated.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.exceptions import ClientError

from shared.adapters import aws
from shared.adapters import table as layout

_deserialize = TypeDeserializer().deserialize
_TOKEN = re.compile(r"\s*(<>|<=|>=|[=<>(),+-]|#\w+|:\w+|[A-Za-z_][\w.]*)")


def _tokens(expression: str) -> list[str]:
    found, position = [], 0
    expression = expression.strip()
    while position < len(expression):
        match = _TOKEN.match(expression, position)
        if match is None:
            raise NotImplementedError(f"The fake cannot read {expression[position:]!r}")
        found.append(match.group(1))
        position = match.end()
    return found


def _top_level(assignments: str) -> list[str]:
    """SET's assignments: split at the commas outside a function's parentheses."""
    parts, depth, start = [], 0, 0
    for position, char in enumerate(assignments):
        depth += {"(": 1, ")": -1}.get(char, 0)
        if char == "," and depth == 0:
            parts.append(assignments[start:position])
            start = position + 1
    return [*parts, assignments[start:]]


@dataclass
class _Expression:
    """A condition or key condition over one item (plain Python values), by recursive descent."""

    tokens: list[str]
    names: dict[str, str]
    values: dict[str, Any]
    position: int = 0

    def peek(self) -> str | None:
        return self.tokens[self.position] if self.position < len(self.tokens) else None

    def take(self, expected: str | None = None) -> str:
        token = self.tokens[self.position]
        if expected is not None and token.upper() != expected:
            raise NotImplementedError(f"expected {expected}, found {token}")
        self.position += 1
        return token

    def name(self, token: str) -> str:
        return self.names[token] if token.startswith("#") else token

    def operand(self, item: dict[str, Any]) -> Any:
        token = self.take()
        if token == "if_not_exists":
            self.take("(")
            path = self.name(self.take())
            self.take(",")
            fallback = self.operand(item)
            self.take(")")
            return item.get(path, fallback)
        if token.startswith(":"):
            return self.values[token]
        return item.get(self.name(token))

    def evaluate(self, item: dict[str, Any]) -> bool:
        self.position = 0
        result = self._or(item)
        if self.peek() is not None:
            raise NotImplementedError(f"unread: {self.tokens[self.position :]}")
        return result

    def _or(self, item: dict[str, Any]) -> bool:
        result = self._and(item)
        while (self.peek() or "").upper() == "OR":
            self.take()
            right = self._and(item)
            result = result or right
        return result

    def _and(self, item: dict[str, Any]) -> bool:
        result = self._not(item)
        while (self.peek() or "").upper() == "AND":
            self.take()
            right = self._not(item)
            result = result and right
        return result

    def _not(self, item: dict[str, Any]) -> bool:
        if (self.peek() or "").upper() == "NOT":
            self.take()
            return not self._not(item)
        return self._primary(item)

    def _primary(self, item: dict[str, Any]) -> bool:
        token = self.peek()
        if token == "(":
            self.take()
            result = self._or(item)
            self.take(")")
            return result
        if token in ("attribute_exists", "attribute_not_exists", "contains"):
            self.take()
            self.take("(")
            path = self.name(self.take())
            if token == "contains":
                self.take(",")
                wanted = self.operand(item)
                self.take(")")
                return wanted in (item.get(path) or ())
            self.take(")")
            return (path in item) == (token == "attribute_exists")
        left = self.operand(item)
        operator = self.take().upper()
        if operator == "IN":
            self.take("(")
            choices = [self.operand(item)]
            while self.peek() == ",":
                self.take()
                choices.append(self.operand(item))
            self.take(")")
            return left in choices
        if operator == "BETWEEN":
            low = self.operand(item)
            self.take("AND")
            high = self.operand(item)
            return left is not None and low <= left <= high
        right = self.operand(item)
        if operator == "=":
            return bool(left == right)
        if operator == "<>":
            return bool(left != right)
        if left is None or right is None:
            return False
        return bool({"<": left < right, "<=": left <= right, ">": left > right, ">=": left >= right}[operator])


def _plain(typed: dict[str, Any]) -> dict[str, Any]:
    return {key: _deserialize(value) for key, value in typed.items()}


def _typed_values(values: dict[str, Any] | None) -> dict[str, Any]:
    return {key: _deserialize(value) for key, value in (values or {}).items()}


def _cancelled(reasons: list[dict[str, Any]]) -> ClientError:
    error = ClientError(
        {"Error": {"Code": "TransactionCanceledException", "Message": "Transaction cancelled"}},
        "TransactWriteItems",
    )
    error.response["CancellationReasons"] = reasons  # type: ignore[typeddict-item]
    return error


@dataclass
class InMemoryDynamoDB:
    """One table: items by (pk, sk), typed as DynamoDB types them."""

    items: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    calls: list[str] = field(default_factory=list)

    def _key(self, key: dict[str, Any]) -> tuple[str, str]:
        plain = _plain(key)
        return str(plain[layout.PARTITION_KEY]), str(plain[layout.SORT_KEY])

    # --- reads ---------------------------------------------------------------------------------------------------
    def get_item(self, *, Key: dict[str, Any], **_: Any) -> dict[str, Any]:
        self.calls.append("GetItem")
        found = self.items.get(self._key(Key))
        return {"Item": dict(found)} if found is not None else {}

    def batch_get_item(self, *, RequestItems: dict[str, dict[str, Any]]) -> dict[str, Any]:
        self.calls.append("BatchGetItem")
        responses = {
            name: [dict(self.items[self._key(k)]) for k in wanted["Keys"] if self._key(k) in self.items]
            for name, wanted in RequestItems.items()
        }
        return {"Responses": responses, "UnprocessedKeys": {}}

    def query(self, **request: Any) -> dict[str, Any]:
        self.calls.append("Query")
        if "FilterExpression" in request and "ExclusiveStartKey" in request:
            raise NotImplementedError("The fake does not page filtered queries")
        index = request.get("IndexName")
        pk_name, sk_name = layout.GLOBAL_SECONDARY_INDEXES[index] if index else (layout.PARTITION_KEY, layout.SORT_KEY)
        names = request.get("ExpressionAttributeNames", {})
        values = _typed_values(request.get("ExpressionAttributeValues"))
        condition = _Expression(_tokens(request["KeyConditionExpression"]), names, values)
        matched = [item for item in self.items.values() if pk_name in item and condition.evaluate(_plain(item))]
        if "FilterExpression" in request:
            keep = _Expression(_tokens(request["FilterExpression"]), names, values)
            matched = [item for item in matched if keep.evaluate(_plain(item))]
        matched.sort(key=lambda item: str(_deserialize(item[sk_name])) if sk_name in item else "")
        if request.get("ScanIndexForward") is False:
            matched.reverse()
        limit = request.get("Limit")
        page = matched[:limit] if limit else matched
        if request.get("Select") == "COUNT":
            return {"Count": len(page), "ScannedCount": len(page)}
        response: dict[str, Any] = {"Items": [dict(item) for item in page], "ScannedCount": len(page)}
        if limit and len(matched) > limit:
            raise NotImplementedError("The fake does not page queries")
        if request.get("ReturnConsumedCapacity"):
            response["ConsumedCapacity"] = {"CapacityUnits": 0.5 * len(page)}
        return response

    def get_paginator(self, operation: str) -> Any:
        if operation != "query":
            raise NotImplementedError(operation)
        fake = self

        class _Paginator:
            def paginate(self, **request: Any) -> Iterator[dict[str, Any]]:
                yield fake.query(**request)

        return _Paginator()

    # --- writes --------------------------------------------------------------------------------------------------
    def transact_write_items(self, *, TransactItems: list[dict[str, Any]], **_: Any) -> dict[str, Any]:
        self.calls.append("TransactWriteItems")
        planned: list[tuple[str, tuple[str, str], dict[str, Any] | None]] = []
        reasons: list[dict[str, Any]] = []
        failed = False
        for operation in TransactItems:
            ((kind, request),) = operation.items()
            key = self._key(request["Item"] if kind == "Put" else request["Key"])
            current = self.items.get(key)
            condition = request.get("ConditionExpression")
            names = request.get("ExpressionAttributeNames", {})
            values = _typed_values(request.get("ExpressionAttributeValues"))
            holds = condition is None or _Expression(_tokens(condition), names, values).evaluate(_plain(current or {}))
            if not holds:
                failed = True
                reason: dict[str, Any] = {"Code": "ConditionalCheckFailed"}
                if request.get("ReturnValuesOnConditionCheckFailure") == "ALL_OLD" and current is not None:
                    reason["Item"] = dict(current)
                reasons.append(reason)
                continue
            reasons.append({"Code": "None"})
            if kind == "Put":
                planned.append(("put", key, dict(request["Item"])))
            elif kind == "Delete":
                planned.append(("delete", key, None))
            elif kind == "Update":
                planned.append(("put", key, self._updated(current, key, request, names, values)))
        if failed:
            raise _cancelled(reasons)
        if len({key for _, key, _ in planned}) != len(planned):
            raise ClientError({"Error": {"Code": "ValidationException"}}, "TransactWriteItems")
        for action, key, item in planned:
            if action == "put" and item is not None:
                self.items[key] = item
            else:
                self.items.pop(key, None)
        return {}

    def _updated(
        self,
        current: dict[str, Any] | None,
        key: tuple[str, str],
        request: dict[str, Any],
        names: dict[str, str],
        values: dict[str, Any],
    ) -> dict[str, Any]:
        serialize = TypeSerializer().serialize
        item = _plain(current or {layout.PARTITION_KEY: {"S": key[0]}, layout.SORT_KEY: {"S": key[1]}})
        expression = request["UpdateExpression"]
        sets, _, removes = expression.partition(" REMOVE ")
        if expression.startswith("REMOVE "):
            sets, removes = "", expression.removeprefix("REMOVE ")
        for assignment in filter(None, (part.strip() for part in _top_level(sets.removeprefix("SET ")))):
            target, value = (side.strip() for side in assignment.split("=", 1))
            parts = _Expression(_tokens(value), names, values)
            total = parts.operand(item)
            while parts.peek() in ("+", "-"):
                sign = parts.take()
                other = parts.operand(item)
                total = total + other if sign == "+" else total - other
            item[parts.name(target)] = total
        for removed in filter(None, (part.strip() for part in removes.split(","))):
            item.pop(names.get(removed, removed), None)
        return {name: serialize(value) for name, value in item.items()}

    def plain_items(self) -> Iterator[dict[str, Any]]:
        for item in self.items.values():
            yield {key: int(v) if isinstance(v, Decimal) and v == int(v) else v for key, v in _plain(item).items()}


@dataclass
class RecordingScheduler:
    """EventBridge Scheduler: schedules by name, created, replaced and deleted."""

    schedules: dict[str, dict[str, Any]] = field(default_factory=dict)

    def create_schedule(self, **request: Any) -> dict[str, Any]:
        if request["Name"] in self.schedules:
            raise ClientError({"Error": {"Code": "ConflictException"}}, "CreateSchedule")
        self.schedules[request["Name"]] = request
        return {}

    def update_schedule(self, **request: Any) -> dict[str, Any]:
        self.schedules[request["Name"]] = request
        return {}

    def delete_schedule(self, *, Name: str, **_: Any) -> dict[str, Any]:
        if self.schedules.pop(Name, None) is None:
            raise ClientError({"Error": {"Code": "ResourceNotFoundException"}}, "DeleteSchedule")
        return {}


@dataclass
class StaticSecrets:
    """Secrets Manager holding one secret's text."""

    secret: str
    reads: int = 0

    def get_secret_value(self, **_: Any) -> dict[str, Any]:
        self.reads += 1
        return {"SecretString": self.secret}


def _satisfies_the_port() -> aws.DynamoDBClientFactory:
    """mypy checks here that the fake offers every call the adapters make (aws.DynamoDBPort)."""
    return InMemoryDynamoDB
