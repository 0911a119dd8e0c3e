"""What the functions' work would be billed for: every AWS call the functions make, metered at the emulated APIs.

A middleware on moto's server (beside faults.py's) sees each request a function's botocore client sends (a worker
names its function in its User-Agent) and each answer, and counts what AWS bills by:
- DynamoDB: read and write request units (on-demand) from the sizes of the items each call touched, read from moto's
  table before and after the call: a write costs 1 unit per KB of the larger of the item before and after (2 in a
  transaction, a ConditionCheck as a transactional write), plus one per global secondary index the item is in (by
  the projected size); a read 1 unit per 4 KB of the items it returned (half when eventually consistent, 2 in a
  transaction). A cancelled transaction or failed condition is billed as AWS bills it; a throttled call is not.
- SES: emails (one per recipient) and the bytes of their raw messages; EventBridge: PutEvents entries (per 64 KB);
  Secrets Manager: API calls; Scheduler: the schedules the local clock fires (`scheduled`); SQS: the requests
  Lambda's event source mapping would make (a receive that found messages, a delete, and the send that put each
  message there); Lambda: each invocation's duration at the function's memory (`invoked`, from functions.py).
The runtime's own plumbing (pollers' empty receives, the stream reader, the clock, the outbox) is not counted,
except SQS as above. `GET /_local/usage` answers the totals; bench/cost.py prices them. Off unless asked for
(`python -m infra.local --usage`, or FAMILYNET_USAGE=1): reading item sizes costs the emulator time on every call.

Written for moto 5.2 (its DynamoDB JSON protocol, `Item.size()`, `SecondaryIndex.project`).
"""

from __future__ import annotations

import functools
import json
import math
import threading
from collections import Counter, defaultdict
from collections.abc import Iterable
from typing import Any

from infra.local.faults import _caller

ENV_USAGE = "FAMILYNET_USAGE"  # 1: a runtime started from now on meters (python -m infra.local --usage sets it)
_APPLIED = "_familynet_usage"
_ACTIVE: list[Usage] = []
EVENT_CHUNK = 64 * 1024  # EventBridge bills each 64 KB of an entry as one event
_BILLED_ERRORS = ("ConditionalCheckFailed", "TransactionCanceled")  # refused writes AWS still bills


class Usage:
    """Counters, safe across moto's request threads and the runtime's pollers."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.calls: Counter[str] = Counter()  # "<function> <service>.<Operation>"
        self.read_units: Counter[str] = Counter()  # by function
        self.write_units: Counter[str] = Counter()
        self.emails = 0
        self.email_bytes = 0
        self.events = 0
        self.secrets_calls = 0
        self.scheduler_invocations = 0
        self.sqs_requests: Counter[str] = Counter()  # receive / delete / send
        self.invocations: Counter[str] = Counter()
        self.gb_seconds: defaultdict[str, float] = defaultdict(float)
        self.billed_ms: Counter[str] = Counter()

    def add(self, field: str, amount: float = 1, key: str | None = None) -> None:
        with self._lock:
            current = getattr(self, field)
            if key is None:
                setattr(self, field, current + amount)
            else:
                current[key] += amount

    def invoked(self, function: str, memory_mb: int, seconds: float) -> None:
        """One invocation, billed by the millisecond at the function's memory."""
        billed_ms = max(1, math.ceil(seconds * 1000))
        with self._lock:
            self.invocations[function] += 1
            self.billed_ms[function] += billed_ms
            self.gb_seconds[function] += billed_ms / 1000 * memory_mb / 1024

    def scheduled(self) -> None:
        self.add("scheduler_invocations")

    def describe(self) -> dict[str, Any]:
        with self._lock:
            return {
                "calls": dict(sorted(self.calls.items())),
                "dynamodb": {
                    "read_units": dict(self.read_units),
                    "write_units": dict(self.write_units),
                },
                "ses": {"emails": self.emails, "bytes": self.email_bytes},
                "events": {"entries": self.events},
                "secretsmanager": {"calls": self.secrets_calls},
                "scheduler": {"invocations": self.scheduler_invocations},
                "sqs": {"requests": dict(self.sqs_requests)},
                "lambda": {
                    "invocations": dict(self.invocations),
                    "billed_ms": dict(self.billed_ms),
                    "gb_seconds": dict(self.gb_seconds),
                },
            }


def activate(usage: Usage | None) -> None:
    """Meter the calls to the runtime's moto from now on into `usage` (None: stop)."""
    install()
    _ACTIVE[:] = [usage] if usage is not None else []


def install() -> None:
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication  # noqa: PLC0415

    if getattr(DomainDispatcherApplication, _APPLIED, False):
        return
    original = DomainDispatcherApplication.__call__

    @functools.wraps(original)
    def call(app: Any, environ: dict[str, Any], start_response: Any) -> Any:
        usage = _ACTIVE[0] if _ACTIVE else None
        if usage is None:
            return original(app, environ, start_response)
        return _metered(usage, functools.partial(original, app), environ, start_response)

    DomainDispatcherApplication.__call__ = call  # type: ignore[method-assign,assignment]
    setattr(DomainDispatcherApplication, _APPLIED, True)


def _metered(usage: Usage, app: Any, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
    from infra.local.faults import _body  # noqa: PLC0415

    function = _caller(environ)
    target = str(environ.get("HTTP_X_AMZ_TARGET", ""))
    path = str(environ.get("PATH_INFO", ""))
    sqs = target.startswith("AmazonSQS.")
    if function is None and not sqs:
        return app(environ, start_response)  # type: ignore[no-any-return] # the runtime's own plumbing
    request = _body(environ)
    before: list[tuple[Any, ...]] = []
    operation = target.split(".", 1)[1] if "." in target else ""
    dynamodb = target.startswith("DynamoDB_20120810.")
    if dynamodb:
        before = _images(_written_keys(operation, _json(request)))
    answered: dict[str, str] = {}

    def capture(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
        answered["status"] = status
        answered["error"] = next((v for k, v in headers if k.lower() == "x-amzn-errortype"), "")
        return start_response(status, headers, exc_info)

    body = b"".join(app(environ, capture))
    ok = answered.get("status", "").startswith("2")
    if sqs:
        _sqs(usage, function, operation, ok, body)
        return [body]
    assert function is not None
    service = _service(environ, target, path)
    if ok:
        usage.add("calls", key=f"{function} {service}.{operation or path}")
    refused = answered.get("error", "") + body[:300].decode(errors="replace")
    if dynamodb and (ok or any(error in refused for error in _BILLED_ERRORS)):
        if before:
            _writes(usage, function, before, written=ok)
        else:
            _reads(usage, function, operation, _json(request), _json(body) if ok else {})
    elif ok and target == "AWSEvents.PutEvents":
        entries = _json(request).get("Entries", [])
        usage.add("events", sum(max(1, math.ceil(len(json.dumps(e)) / EVENT_CHUNK)) for e in entries))
    elif ok and target.startswith("secretsmanager."):
        usage.add("secrets_calls")
    elif ok and path == "/v2/email/outbound-emails":
        sent = _json(request)
        destination = sent.get("Destination", {})
        recipients = sum(len(destination.get(k, [])) for k in ("ToAddresses", "CcAddresses", "BccAddresses"))
        usage.add("emails", max(1, recipients))
        usage.add("email_bytes", len(str(sent.get("Content", {}).get("Raw", {}).get("Data", ""))) * 3 // 4)
    return [body]


def _service(environ: dict[str, Any], target: str, path: str) -> str:
    if target:
        return target.split("_", 1)[0].split(".", 1)[0].lower()
    if path.startswith("/v2/email"):
        return "ses"
    authorization = str(environ.get("HTTP_AUTHORIZATION", ""))
    return authorization.split("/")[3] if authorization.count("/") >= 3 else "unknown"


def _json(data: bytes) -> dict[str, Any]:
    try:
        parsed = json.loads(data or b"{}")
    except ValueError:
        return {}
    return parsed if isinstance(parsed, dict) else {}


def _sqs(usage: Usage, function: str | None, operation: str, ok: bool, body: bytes) -> None:
    if not ok:
        return
    if function is not None:
        usage.add("calls", key=f"{function} sqs.{operation}")
        usage.add("sqs_requests", key=operation)
    elif operation == "ReceiveMessage":
        messages = len(_json(body).get("Messages", []))
        if messages:  # Lambda's poller: a receive that found messages, and the send of each by the rule or schedule
            usage.add("sqs_requests", key="ReceiveMessage")
            usage.add("sqs_requests", messages, key="SendMessage")
    elif operation in ("DeleteMessage", "DeleteMessageBatch"):
        usage.add("sqs_requests", key=operation)


# --- DynamoDB ---------------------------------------------------------------------------------------------------------
def _written_keys(operation: str, request: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    """(kind, table, key or item) of each item a write touches; kind is put, update, delete or check."""
    found: list[tuple[str, str, dict[str, Any]]] = []
    if operation == "PutItem":
        found.append(("put", request.get("TableName", ""), request.get("Item", {})))
    elif operation == "UpdateItem":
        found.append(("update", request.get("TableName", ""), request.get("Key", {})))
    elif operation == "DeleteItem":
        found.append(("delete", request.get("TableName", ""), request.get("Key", {})))
    elif operation == "TransactWriteItems":
        for entry in request.get("TransactItems", []):
            for action, op in entry.items():
                key = op.get("Item") if action == "Put" else op.get("Key")
                kind = {"Put": "put", "Update": "update", "Delete": "delete"}.get(action, "check")
                found.append((f"transact-{kind}", op.get("TableName", ""), key or {}))
    elif operation == "BatchWriteItem":
        for table, requests in request.get("RequestItems", {}).items():
            for one in requests:
                if "PutRequest" in one:
                    found.append(("put", table, one["PutRequest"].get("Item", {})))
                elif "DeleteRequest" in one:
                    found.append(("delete", table, one["DeleteRequest"].get("Key", {})))
    return found


def _table(name: str) -> Any:
    from moto.dynamodb.models import dynamodb_backends  # noqa: PLC0415

    for account in list(dynamodb_backends.keys()):
        for _region, backend in dynamodb_backends[account].items():
            table = backend.tables.get(name)
            if table is not None:
                return table
    return None


def _stored(table: Any, key: dict[str, Any]) -> Any:
    from moto.dynamodb.models.dynamo_type import DynamoType  # noqa: PLC0415

    try:
        hash_key = DynamoType(key[table.hash_key_attr])
        range_key = DynamoType(key[table.range_key_attr]) if table.range_key_attr else None
    except (KeyError, TypeError):
        return None
    partition = table.items.get(hash_key)
    if partition is None:
        return None
    return partition.get(range_key) if table.range_key_attr else partition


def _images(written: list[tuple[str, str, dict[str, Any]]]) -> list[tuple[Any, ...]]:
    """(kind, table, key, item as stored now) of each item a write names."""
    from infra.local.moto_isolation import dynamodb_lock  # noqa: PLC0415

    images = []
    with dynamodb_lock():
        for kind, name, key in written:
            table = _table(name)
            images.append((kind, table, key, _stored(table, key) if table is not None else None))
    return images


def _item_size(item: dict[str, Any]) -> int:
    from moto.dynamodb.models.dynamo_type import DynamoType  # noqa: PLC0415

    return sum(len(name.encode()) + DynamoType(value).size() for name, value in item.items())


def _index_units(table: Any, before: Any, after: Any) -> float:
    """Writes to the global secondary indexes an item is (or was) in, by the projected size."""
    units = 0.0
    for index in getattr(table, "global_indexes", []) or []:
        keys = index.schema_key_attrs
        images = [i for i in (before, after) if i is not None and all(k in i.attrs for k in keys)]
        if not images:
            continue
        sizes = [index.project(i).size() for i in images]
        moved = len(images) == 2 and any(images[0].attrs[k] != images[1].attrs[k] for k in keys)
        units += sum(math.ceil(s / 1024) or 1 for s in sizes) if moved else math.ceil(max(sizes) / 1024) or 1
    return units


def _writes(usage: Usage, function: str, before: list[tuple[Any, ...]], *, written: bool) -> None:
    """A write's units; one refused (a failed condition, a cancelled transaction) writes no index."""
    from infra.local.moto_isolation import dynamodb_lock  # noqa: PLC0415

    units = 0.0
    with dynamodb_lock():
        for kind, table, key, old in before:
            if table is None:
                continue
            new = _stored(table, key)
            size = max(old.size() if old is not None else 0, new.size() if new is not None else 0)
            if kind in {"put", "transact-put"}:
                size = max(size, _item_size(key))
            factor = 2 if kind.startswith("transact") else 1
            units += factor * (math.ceil(size / 1024) or 1)
            if written and not kind.endswith("check"):
                units += _index_units(table, old, new)
    usage.add("write_units", units, key=function)


def _reads(usage: Usage, function: str, operation: str, request: dict[str, Any], answer: dict[str, Any]) -> None:
    consistent = bool(request.get("ConsistentRead")) and not request.get("IndexName")
    factor = 1.0 if consistent else 0.5
    units = 0.0
    if operation == "GetItem":
        units = factor * (math.ceil(_item_size(answer.get("Item", {})) / 4096) or 1)
    elif operation in ("Query", "Scan"):
        total = sum(_item_size(item) for item in answer.get("Items", []))
        units = factor * (math.ceil(total / 4096) or 1)
    elif operation == "BatchGetItem":
        for items in answer.get("Responses", {}).values():
            units += sum(0.5 * (math.ceil(_item_size(item) / 4096) or 1) for item in items)
    elif operation == "TransactGetItems":
        units = sum(2 * (math.ceil(_item_size(r.get("Item", {})) / 4096) or 1) for r in answer.get("Responses", []))
    usage.add("read_units", units, key=function)
