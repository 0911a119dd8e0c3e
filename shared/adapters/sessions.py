"""The console's sessions and sign-ins in the table: each under a fingerprint of its secret (the cookie's value or
the sign-in's `state`), expiring by TTL, and never returned past its expiry (DynamoDB deletes expired items late).
Writes go through `transact`, like every other write, so the DynamoDB port stays GetItem, Query and transactions."""

from __future__ import annotations

from contextlib import suppress
from typing import Any

from shared.adapters import aws, table
from shared.adapters.dynamodb import Cancelled, ReferralReader, put, transact, update

_EXISTS = f"attribute_exists({table.PARTITION_KEY})"


class SessionStore:
    def __init__(self, table_name: str, client: aws.DynamoDBClientFactory = aws.dynamodb) -> None:
        self._table = table_name
        self._client = client
        self._reader = ReferralReader(table_name, client)

    def put(self, key: dict[str, str], values: dict[str, Any]) -> None:
        transact([put({**values, **key}, self._table)], self._table, self._client)

    def get(self, key: dict[str, str]) -> dict[str, Any] | None:
        return self._reader.item(key)

    def take(self, key: dict[str, str]) -> dict[str, Any] | None:
        """The item, deleted: a sign-in's state is used once. Of two requests with it, only the one whose delete
        finds the item gets it."""
        found = self._reader.item(key)
        if found is None:
            return None
        try:
            transact(
                [{"Delete": {"TableName": self._table, "Key": _typed(key), "ConditionExpression": _EXISTS}}],
                self._table,
                self._client,
            )
        except Cancelled:
            return None
        return found

    def extend(self, key: dict[str, str], *, last_seen: str, expires_at: int) -> None:
        """A session used again: its idle clock starts over (never past its absolute end: the caller's sum)."""
        change = update(key, self._table, {"last_seen": last_seen, table.TTL_ATTRIBUTE: expires_at}, condition=_EXISTS)
        with suppress(Cancelled):  # signed out meanwhile: the next request finds no session
            transact([change], self._table, self._client)

    def delete(self, key: dict[str, str]) -> None:
        transact([{"Delete": {"TableName": self._table, "Key": _typed(key)}}], self._table, self._client)


def _typed(key: dict[str, str]) -> dict[str, Any]:
    return {name: {"S": value} for name, value in key.items()}
