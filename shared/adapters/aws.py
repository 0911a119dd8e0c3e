"""boto3 clients, built lazily once per process with standard retries (importing this module is cheap)."""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_events import EventBridgeClient


class DynamoDBPort(Protocol):
    """The DynamoDB calls the adapters make, and nothing more: boto3's client has them, and so does the in-memory
    fake the service tests use (tests/fakes.py)."""

    @property
    def get_item(self) -> Callable[..., Any]: ...

    @property
    def batch_get_item(self) -> Callable[..., Any]: ...

    @property
    def query(self) -> Callable[..., Any]: ...

    @property
    def transact_write_items(self) -> Callable[..., Any]: ...

    @property
    def get_paginator(self) -> Callable[..., Any]: ...


# What a caller passes to use another DynamoDB client (a benchmark's counting one, a test's fake): the layers above
# name this, never boto3's types.
DynamoDBClientFactory = Callable[[], DynamoDBPort]


# SES sends are not idempotent: the SDK must not send again after a timeout (it would, in its standard retry mode,
# and SES may have accepted the first). One attempt, short timeouts; shared/service/feedback.py retries what SES
# refused (nothing sent) and never what went unanswered.
_ONE_ATTEMPT = {"sesv2": (3, 10)}  # connect and read timeouts, seconds


@cache
def _client(service: str) -> Any:
    import boto3  # noqa: PLC0415 - deferred so that importing a handler does not pay for boto3 twice
    from botocore.config import Config  # noqa: PLC0415

    name: Any = service
    if service in _ONE_ATTEMPT:
        connect, read = _ONE_ATTEMPT[service]
        config = Config(
            retries={"mode": "standard", "total_max_attempts": 1}, connect_timeout=connect, read_timeout=read
        )
    else:
        config = Config(retries={"mode": "standard", "max_attempts": 3})
    return boto3.client(name, config=config)


def dynamodb() -> DynamoDBClient:
    return _client("dynamodb")  # type: ignore[no-any-return]


def events() -> EventBridgeClient:
    return _client("events")  # type: ignore[no-any-return]


def sqs() -> Any:
    return _client("sqs")


def scheduler() -> Any:
    return _client("scheduler")


def sesv2() -> Any:
    return _client("sesv2")


def secretsmanager() -> Any:
    return _client("secretsmanager")


def reset_clients() -> None:
    """Forget cached clients (tests that switch endpoints or credentials call this)."""
    _client.cache_clear()
