"""moto, made exact and cheap enough to run the system at volume: DynamoDB isolated between threads, transactions
and queries that cost what they touch, and nothing kept that AWS would not keep.

Written for moto 5.2 (`TARGET_MOTO`); each fix replaces or wraps one moto function, and tests/unit/
test_local_moto_fixes.py fails if an upgrade changes any of them (their source is fingerprinted) or breaks what the
fix promises (behaviour, memory). What each fixes, measured with 8 clients posting referrals to `make run`:

- **Isolation**: moto's DynamoDB has none between threads (a cancelled TransactWriteItems restored a copy of its
  tables, wiping out what another thread wrote meanwhile). DynamoDB serialises conflicting writes; so do we: every
  backend operation runs under one lock, stream reads included (a reader never sees a transaction half done).
- **Transactions**: moto deep-copies every table a TransactWriteItems touches, items and stream, before each call, to
  restore on cancellation: O(table) per call (each intake is one). Under the lock an undo log is exact: a copy of
  each item the transaction names, and each stream's length; on cancellation those items are put back and the
  stream cut back. The copies of the tables are no longer made.
- **Instance tracking**: `BaseModel.__new__` appends every model instance, copies included, to a class-level list
  (for moto's dashboard), so nothing moto creates is ever freed: 150 referrals took the runtime from 171 MiB to
  3.8 GiB. Instances are no longer tracked.
- **Queries**: moto's Query sorts the whole table (`all_items`) for every call, then keeps one partition. A table
  query now reads only its partition; an index query only the items filed under its partition key value in a
  per-index map (a superset, checked item by item as moto does, so a stale entry costs nothing but a look).
- **Item responses**: moto 5.2 writes every response through botocore's model, shape by shape, and each of an
  item's attribute values is a union structure it resolves member by member (`AttributePicker`): about half of the
  CPU of a DynamoDB call that returns items (a referral's partition: ~10 ms). A map of attribute values (an item, a
  key) is now written straight from its DynamoDB JSON, as that walk writes it (blobs in base64, strings as text).
- **Item sizes**: moto checks an item's 400 KB limit by summing the size of every attribute it holds, deeply, each
  time it sets one (`LimitedSizeDict.__setitem__`): O(attributes²) for every item written, and again for every copy
  of one. An item made or copied whole is now checked once (the sums only grow, so the last is the same check);
  an update's item once, after all its actions (as DynamoDB checks the item it would write), not before each SET:
  an attribute replaced by one as large is no longer counted twice, and growth through a nested path (`SET m.a`)
  is now refused too. A refused UpdateItem leaves its item as it was (moto left the actions before the refusal done).
- **Update expressions**: moto parses each UpdateExpression anew (a tokenizer and parser in Python) for every update
  and again to validate the request; a parsed one is kept by its text (moto copies it before resolving it, now
  node by node without the pickle protocol's round trip: 0.34 → 0.14 ms for a four-action SET).
- **Condition expressions**: moto parses every ConditionExpression anew (a lexer and parser in Python), twice per
  write (to validate the request, then to apply it), a dozen per intake transaction; parsed ones are kept (by
  expression, names and values) and reused.
- **The server's dispatch** (`speed_up_server()`, the runtime only): for every request moto's server lists its own
  package folder (`list_of_moto_modules`: ~200 `isdir` calls) and matches the host against every service's URL
  patterns, under one lock that all requests share; PutEvents compiles each rule target's JSONPath expressions with
  a freshly generated parser (yacc) per event. Both are now computed once.
- **SQS counts**: moto computes every attribute of a queue, its approximate message counts included (a pass over
  every message, reading the clock for each), to read one: on each SendMessage (for ContentBasedDeduplication) and,
  in ReceiveMessage, for each message (its retention period): O(queue²) per receive once a queue backs up. The
  counts are skipped where the caller reads none of them, a message's retention is read from its queue, and which
  messages are visible is decided against one reading of the clock (moto read it twice per message).
- **Names**: moto converts names from CamelCase (an action's, each queue attribute's) character by character, and
  lists a response class's methods (`inspect.getmembers`) for every request; both are now remembered.
- **Deleting a message**: moto's `Queue.delete_message` walks the queue's list, builds a new one without the message
  and puts it in place, taking no lock; SendMessage appends under a lock of its own. A message sent while a delete
  walked (onto the list another thread's delete had put in place meanwhile, or just after the walk) was in no list
  any more: lost without a trace. The feedback function deletes up to three batches at once from a queue of
  thousands while EventBridge sends to it: the second 10,000 run lost 4 of 7,501 ReferralReceived events from the
  feedback queue (reports, another target of the same events, had them all). The message is now removed in place,
  under the lock the sends take.
- **Waking the pollers**: a queue's new message or a table's new stream record wakes the runtime's poller of that
  queue or stream (`wake_event(name)`), which otherwise waits a second between empty polls: an idle runtime no
  longer spends a third of a core polling moto every 50 ms, and a message is still picked up at once.
- **Backends by account**: every request looks up its service's backend for the account
  (`BackendDict.__getitem__`), and moto checks each time, under one lock all requests share, that the account's
  backend exists and that the service is in its list of every service's backends (a list search comparing dicts):
  ~6% of the runtime's CPU at load. An account seen before is now answered from the dict.
- **KMS keys**: moto makes an RSA-2048 private key (~65 ms of CPU) for every key it creates, symmetric ones too,
  which never use it; the stack's two keys cost each integration test's setup 0.13 s. It is now made the first time
  something asks for it.
- **Streams**: every shard iterator moto hands out is kept for ever (a poller takes several a second); iterators now
  expire after 15 minutes, as DynamoDB's do. `trim_streams()` drops stream records older than 24 hours, as DynamoDB
  does.
"""

from __future__ import annotations

import base64
import copy
import functools
import inspect
import json
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

TARGET_MOTO = "5.2"  # the moto minor version these fixes were written for (uv.lock pins 5.2.x)
STREAM_RETENTION = timedelta(hours=24)
SHARD_ITERATOR_SECONDS = 15 * 60
MAX_SHARD_ITERATORS = 10_000

_LOCK = threading.RLock()
_LOCAL = threading.local()  # per thread: inside a transaction; the partition or candidates a query may read
_SERIALISED = (
    "put_item",
    "update_item",
    "delete_item",
    "transact_write_items",
    "batch_write_item",
    "get_item",
    "batch_get_item",
    "query",
    # A scan iterates the table's items: one beside a write failed with "dictionary changed size during iteration"
    # (moto answered 500) at the end of a 10,000-referral run, while reports were still being written.
    "scan",
)
_STREAM_READS = ("describe_stream", "get_shard_iterator", "get_records")
_APPLIED = "_familynet_fixed"


def dynamodb_lock() -> threading.RLock:
    """The lock every DynamoDB operation of the in-process moto runs under (readers of its state take it too)."""
    return _LOCK


def isolate_dynamodb() -> None:
    """Every fix, once per process: the local runtime and the integration tests (`mock_aws`) both call it."""
    from moto.core.base_backend import BackendDict  # noqa: PLC0415 - moto is a local-only dependency
    from moto.core.common_models import BaseModel  # noqa: PLC0415
    from moto.core.serialize import BaseJSONSerializer  # noqa: PLC0415
    from moto.dynamodb import comparisons  # noqa: PLC0415
    from moto.dynamodb import models as dynamodb_models  # noqa: PLC0415
    from moto.dynamodb import responses as dynamodb_responses  # noqa: PLC0415
    from moto.dynamodb.models import DynamoDBBackend  # noqa: PLC0415
    from moto.dynamodb.models.dynamo_type import Item, LimitedSizeDict  # noqa: PLC0415
    from moto.dynamodb.models.table import Table  # noqa: PLC0415
    from moto.dynamodb.parsing.ast_nodes import Node  # type: ignore[attr-defined]  # noqa: PLC0415
    from moto.dynamodb.parsing.executors import UpdateExpressionExecutor  # noqa: PLC0415
    from moto.dynamodb.parsing.expressions import UpdateExpressionParser  # type: ignore[attr-defined]  # noqa: PLC0415
    from moto.dynamodbstreams.models import DynamoDBStreamsBackend  # noqa: PLC0415
    from moto.kms import models as kms_models  # noqa: PLC0415

    with _LOCK:
        if getattr(DynamoDBBackend, _APPLIED, False):
            return
        _ORIGINALS["BaseModel.__new__"] = BaseModel.__new__
        BaseModel.__new__ = staticmethod(_untracked_new)  # type: ignore[method-assign]
        dynamodb_models.copy = _TableCopyShim()  # type: ignore[assignment,attr-defined]
        _wrap(DynamoDBBackend, "transact_write_items", _transaction)
        _wrap(DynamoDBBackend, "update_item", _indexed_update)
        _wrap(Table, "put_item", _indexed_put)
        _wrap(Table, "query", _narrow_query)
        _ORIGINALS["create_condition_expression_parser"] = comparisons.create_condition_expression_parser
        remembering = _remembering(comparisons.ConditionExpressionParser)
        for module in (comparisons, dynamodb_models, dynamodb_responses):  # moto's own get_filter_expression too
            module.create_condition_expression_parser = remembering  # type: ignore[attr-defined]
        _wrap(Table, "all_items", _narrowed_items)
        _wrap(Item, "__init__", _item_checked_once)
        _ORIGINALS["LimitedSizeDict.__setitem__"] = LimitedSizeDict.__setitem__
        LimitedSizeDict.__setitem__ = _set_unless_sized_after  # type: ignore[method-assign]
        LimitedSizeDict.__deepcopy__ = _copy_checked_once  # type: ignore[attr-defined]
        _wrap(UpdateExpressionExecutor, "execute", _executed_then_sized)
        _ORIGINALS["Node.__init__"] = Node.__init__  # what a node's copy copies: its attributes
        Node.__deepcopy__ = _node_copy
        _ORIGINALS["UpdateExpressionParser.make"] = UpdateExpressionParser.make
        remembered_updates = functools.lru_cache(maxsize=MAX_EXPRESSIONS)(UpdateExpressionParser.make.__func__)
        UpdateExpressionParser.make = classmethod(remembered_updates)  # type: ignore[arg-type]
        for name in _SERIALISED:
            _wrap(DynamoDBBackend, name, _serialised)
        for name in _STREAM_READS:
            _wrap(DynamoDBStreamsBackend, name, _serialised)
        _wrap(DynamoDBStreamsBackend, "__init__", _expiring_iterators)
        _wrap(BackendDict, "__getitem__", _known_account)
        _wrap(BaseJSONSerializer, "_serialize_type_map", _attribute_map)
        _ORIGINALS["BackendDict.reset"] = BackendDict.reset
        BackendDict.reset = classmethod(_reset_backends(BackendDict.reset))  # type: ignore[method-assign,assignment]
        _ORIGINALS["generate_private_key"] = kms_models.generate_private_key  # type: ignore[attr-defined]
        kms_models.generate_private_key = _private_key_when_used  # type: ignore[attr-defined]
        setattr(DynamoDBBackend, _APPLIED, True)


_WAKE: dict[str, threading.Event] = {}
_WAKE_LOCK = threading.Lock()


def wake_event(name: str) -> threading.Event:
    """Set whenever the queue or the table (its stream) of this name gets something new."""
    with _WAKE_LOCK:
        return _WAKE.setdefault(name, threading.Event())


def wake_all() -> None:
    with _WAKE_LOCK:
        events = list(_WAKE.values())
    for event in events:
        event.set()


def _wakes(attribute: Callable[[Any], str]) -> Callable[..., Any]:
    def wrapper(original: Callable[..., Any], owner: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return original(owner, *args, **kwargs)
        finally:
            wake_event(attribute(owner)).set()

    return wrapper


def speed_up_server() -> None:
    """What moto's server recomputes for every request, computed once (the local runtime's server only)."""
    import jsonpath_ng.ext  # noqa: PLC0415 - moto's events backend imports parse from here at each call
    from moto import backends  # noqa: PLC0415
    from moto.dynamodb.models.table import StreamShard  # noqa: PLC0415
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication  # noqa: PLC0415
    from moto.sqs.models import Queue, SQSBackend  # noqa: PLC0415

    with _LOCK:
        if getattr(DomainDispatcherApplication, _APPLIED, False):
            return
        modules = list(backends.list_of_moto_modules())
        backends.list_of_moto_modules = lambda: modules
        _wrap(DomainDispatcherApplication, "get_backend_for_host", _remembered_backend)
        _wrap(Queue, "add_message", _wakes(lambda queue: str(queue.name)))
        for name in ("send_message", "send_message_batch"):
            _wrap(SQSBackend, name, _uncounted)
        _wrap(SQSBackend, "is_message_valid_based_on_retention_period", _retained)
        _ORIGINALS["Queue.delete_message"] = Queue.delete_message
        Queue.delete_message = _delete_message  # type: ignore[method-assign,assignment]
        _ORIGINALS["Queue.messages"] = Queue.__dict__["messages"].fget
        Queue.messages = property(_visible_messages)  # type: ignore[method-assign,assignment]
        _remember_names()
        for name in _QUEUE_COUNTS:
            _wrap_property(Queue, name, _count_unless_uncounted)
        _wrap(StreamShard, "add", _wakes(lambda shard: str(shard.table.name)))
        jsonpath_ng.ext.parse = functools.lru_cache(maxsize=512)(jsonpath_ng.ext.parse)  # type: ignore[attr-defined]
        setattr(DomainDispatcherApplication, _APPLIED, True)


_QUEUE_COUNTS = (
    "approximate_number_of_messages",
    "approximate_number_of_messages_delayed",
    "approximate_number_of_messages_not_visible",
)


def _uncounted(original: Callable[..., Any], backend: Any, *args: Any, **kwargs: Any) -> Any:
    """Within these calls a queue's attributes are read for other names than its counts."""
    before = getattr(_LOCAL, "uncounted", False)
    _LOCAL.uncounted = True
    try:
        return original(backend, *args, **kwargs)
    finally:
        _LOCAL.uncounted = before


def _retained(_original: Callable[..., Any], backend: Any, queue_name: str, message: Any) -> bool:
    """moto's check of a message's retention period, read from its queue (moto computed all its attributes)."""
    from moto.core.utils import unix_time  # noqa: PLC0415 - the clock moto's own check reads

    retention_period = backend.get_queue(queue_name).message_retention_period
    return bool(retention_period + message.sent_timestamp / 1000 > unix_time())


def _delete_message(queue: Any, receipt_handle: str) -> None:
    """moto's Queue.delete_message, without losing a message sent meanwhile: moto put a rebuilt list in place of the
    queue's, while a SendMessage on another thread (an EventBridge target) could append to the list it replaced. The
    message is now removed from the list itself, under the lock the appends take."""
    from moto.sqs.exceptions import ReceiptHandleIsInvalid  # noqa: PLC0415

    with queue._messages_lock:
        if receipt_handle in queue.deleted_messages:
            return  # deleted already: a second delete is no error
        found = [m for m in queue._messages if m.had_receipt_handle(receipt_handle)]
        if not found:
            raise ReceiptHandleIsInvalid()
        for message in found:
            queue._messages.remove(message)  # this very message (messages compare by identity)
            queue.pending_messages.discard(message)
            queue.deleted_messages.update(message.all_receipt_handles)


def _visible_messages(queue: Any) -> list[Any]:
    """moto's Queue.messages (visible, not delayed) against one reading of the clock, not two per message."""
    from moto.core.utils import unix_time_millis  # noqa: PLC0415

    now = unix_time_millis()
    return [message for message in queue._messages if now > message.visible_at and not now < message.delayed_until]


def _remember_names() -> None:
    """moto's CamelCase conversion and its list of a class's methods, remembered (both are pure), wherever a moto
    module imported so far looks them up."""
    import sys  # noqa: PLC0415

    from moto.core import utils  # noqa: PLC0415

    remembered = {
        "camelcase_to_underscores": functools.lru_cache(maxsize=4096)(utils.camelcase_to_underscores),
        "method_names_from_class": functools.lru_cache(maxsize=256)(utils.method_names_from_class),
    }
    for name in remembered:
        _ORIGINALS[name] = getattr(utils, name)
    for module_name, module in list(sys.modules.items()):
        if module_name == "moto" or module_name.startswith("moto."):
            for name, function in remembered.items():
                if getattr(module, name, None) is _ORIGINALS[name]:
                    setattr(module, name, function)


def _count_unless_uncounted(original: Callable[[Any], int], queue: Any) -> int:
    return 0 if getattr(_LOCAL, "uncounted", False) else original(queue)


def _wrap_property(owner: type, name: str, wrapper: Callable[..., Any]) -> None:
    original = getattr(owner, name).fget
    _ORIGINALS[f"{owner.__name__}.{name}"] = original
    setattr(owner, name, property(functools.wraps(original)(lambda self: wrapper(original, self))))


def _remembered_backend(original: Callable[..., Any], dispatcher: Any, host: str | None) -> Any:
    known: dict[str | None, Any] = dispatcher.__dict__.setdefault("_familynet_backends", {})
    if host not in known:
        known[host] = original(dispatcher, host)
    return known[host]


_ORIGINALS: dict[str, Any] = {}  # "Class.method" → moto's own (the tests fingerprint their source)


def _wrap(owner: type, name: str, wrapper: Callable[..., Any]) -> None:
    original = getattr(owner, name)
    _ORIGINALS.setdefault(f"{owner.__name__}.{name}", original)

    @functools.wraps(original)
    def wrapped(self: Any, *args: Any, **kwargs: Any) -> Any:
        return wrapper(original, self, *args, **kwargs)

    setattr(owner, name, wrapped)


def _serialised(original: Callable[..., Any], self: Any, *args: Any, **kwargs: Any) -> Any:
    with _LOCK:
        return original(self, *args, **kwargs)


# --- item responses -------------------------------------------------------------------------------------------------
_STRINGS = frozenset({"S", "N", "SS", "NS"})  # AttributeValue's members, by how moto's serializer writes them
_BLOBS = frozenset({"B", "BS"})
_AS_IS = frozenset({"BOOL", "NULL"})


def _attribute_map(original: Callable[..., Any], serializer: Any, *args: Any) -> None:
    """A map of attribute values (an item, a key) written straight from its DynamoDB JSON; any other map as moto
    writes it. `args`: the serialized result being built, the map, its shape and its key."""
    serialized, value, shape, key = args
    if shape.value.name != "AttributeValue":
        return original(serializer, *args)  # type: ignore[no-any-return]
    serializer._default_serialize(serialized, {name: _attribute(v) for name, v in value.items()}, shape, key)
    return None


def _attribute(value: dict[str, Any]) -> dict[str, Any]:
    """One AttributeValue as moto's model-driven serializer writes it: a member it has no value for is left out, a
    string written with str() (`_serialize_type_string`), a blob in base64, a map or list member by member."""
    written: dict[str, Any] = {}
    for member, inner in value.items():
        if inner is None:
            continue
        if member in _STRINGS:
            written[member] = _text(inner) if member in ("S", "N") else [_text(v) for v in inner]
        elif member in _BLOBS:
            written[member] = _base64(inner) if member == "B" else [_base64(v) for v in inner]
        elif member == "M":
            written[member] = {name: _attribute(v) for name, v in inner.items()}
        elif member == "L":
            written[member] = [_attribute(v) for v in inner]
        elif member in _AS_IS:
            written[member] = inner
    return written


def _text(value: Any) -> Any:
    return str(value) if value not in (None, {}, []) else value


def _base64(value: str | bytes) -> str:
    return base64.b64encode(value.encode() if isinstance(value, str) else value).strip().decode()


# --- backends by account ------------------------------------------------------------------------------------------
_LISTED: set[int] = set()  # ids of the BackendDicts in moto's list for its reset, since that reset


def _known_account(original: Callable[..., Any], backends: dict[str, Any], account_id: str) -> Any:
    """An account's backends once made and listed for moto's reset; else moto's own look-up, then the listing."""
    found = backends.get(account_id)
    if found is not None and id(backends) in _LISTED:
        return found  # every request: nothing more on this path
    from moto.core.base_backend import BackendDict, backend_lock  # noqa: PLC0415

    made = original(backends, account_id)
    # moto lists the dict with `self not in _instances`, which compares dicts by value (one whose account has no
    # region yet equals another's), and a reset that makes a backend again (SES v2 makes SES's) lists it just
    # before emptying the list: moto relies on its next look-ups to list it. Listed here by identity.
    with backend_lock:
        if not any(known is backends for known in BackendDict._instances):  # type: ignore[misc]
            BackendDict._instances.append(backends)  # type: ignore[misc,arg-type]
        _LISTED.add(id(backends))
    return made


def _reset_backends(original: Callable[[], None]) -> Callable[[Any], None]:
    def reset(_cls: Any) -> None:
        from moto.core.base_backend import backend_lock  # noqa: PLC0415

        with backend_lock:
            original()
            _LISTED.clear()

    return reset


# --- KMS keys -------------------------------------------------------------------------------------------------------
class _PrivateKeyWhenUsed:
    """moto's private key of a KMS key, made the first time one of its attributes is read (to sign, verify or give
    the public key), not when the key is created."""

    def __init__(self, make: Callable[[], Any]) -> None:
        self._make = make
        self._key: Any = None
        self._making = threading.Lock()

    @property
    def made(self) -> bool:
        return self._key is not None

    def __getattr__(self, name: str) -> Any:
        with self._making:
            if self._key is None:
                self._key = self._make()
        return getattr(self._key, name)


def _private_key_when_used(key_spec: str) -> Any:
    original = _ORIGINALS["generate_private_key"]
    return _PrivateKeyWhenUsed(lambda: original(key_spec))


# --- instance tracking ----------------------------------------------------------------------------------------------
def _untracked_new(cls: type, *_args: Any, **_kwargs: Any) -> Any:
    """`BaseModel.__new__` without `cls.instances_tracked.append(instance)`."""
    return object.__new__(cls)


# --- transactions ---------------------------------------------------------------------------------------------------
class _TableCopyShim:
    """`moto.dynamodb.models.copy`, except that a table is not copied inside a transaction (the undo log is kept
    instead): moto's own rollback then puts back the very same table, and the undo log restores what changed."""

    def __getattr__(self, name: str) -> Any:
        return getattr(copy, name)

    def deepcopy(self, value: Any, memo: dict[int, Any] | None = None) -> Any:
        from moto.dynamodb.models.table import Table  # noqa: PLC0415

        if getattr(_LOCAL, "transaction", False) and isinstance(value, Table):
            return value
        return copy.deepcopy(value, memo)


def _transaction(original: Callable[..., Any], backend: Any, transact_items: list[dict[str, Any]]) -> Any:
    with _LOCK:
        undo = _undo_log(backend, transact_items)
        _LOCAL.transaction = True
        try:
            return original(backend, transact_items)
        except BaseException:
            _restore(undo)
            raise
        finally:
            _LOCAL.transaction = False


def _undo_log(backend: Any, transact_items: list[dict[str, Any]]) -> dict[str, Any]:
    """A copy of each item the transaction names (None: absent) and the length of each touched table's stream."""
    from moto.dynamodb.models.dynamo_type import DynamoType  # noqa: PLC0415

    items: list[tuple[Any, Any, Any, Any]] = []
    streams: dict[int, tuple[Any, int]] = {}
    for entry in transact_items[:100]:  # moto refuses more, before writing anything
        if len(entry) != 1:
            continue
        op_type, op = next(iter(entry.items()))
        table = _table_named(backend, op.get("TableName")) if isinstance(op, dict) else None
        if table is None:
            continue
        key = (op.get("Item") if op_type == "Put" else op.get("Key")) or {}
        try:
            hash_key = DynamoType(key[table.hash_key_attr])
            range_key = DynamoType(key[table.range_key_attr]) if table.range_key_attr else None
        except (KeyError, TypeError, AttributeError):
            continue  # moto refuses the operation before it writes
        items.append((table, hash_key, range_key, copy.deepcopy(_stored(table, hash_key, range_key))))
        if table.stream_shard is not None:
            streams[id(table)] = (table.stream_shard, len(table.stream_shard.items))
    return {"items": items, "streams": list(streams.values())}


def _table_named(backend: Any, name: Any) -> Any:
    """The table a request names, by name or ARN as moto's get_table finds it; None if there is none."""
    from moto.dynamodb.exceptions import ResourceNotFoundException  # noqa: PLC0415

    if not isinstance(name, str):
        return None
    try:
        return backend.get_table(name)
    except ResourceNotFoundException:
        return None


def _stored(table: Any, hash_key: Any, range_key: Any) -> Any:
    """The item at a key, or None (without moto's defaultdict growing an empty partition)."""
    partition = table.items.get(hash_key)
    if partition is None:
        return None
    return partition.get(range_key) if table.range_key_attr else partition


def _restore(undo: dict[str, Any]) -> None:
    for table, hash_key, range_key, before in reversed(undo["items"]):
        if table.range_key_attr:
            partition = table.items.get(hash_key)
            if before is None:
                if partition is not None:
                    partition.pop(range_key, None)
            else:
                table.items[hash_key][range_key] = before
        elif before is None:
            table.items.pop(hash_key, None)
        else:
            table.items[hash_key] = before
        if before is not None:
            _file(table, before)
    for shard, length in undo["streams"]:
        del shard.items[length:]


MAX_EXPRESSIONS = 1024


def _remembering(parser: type) -> type:
    """moto's ConditionExpressionParser, its parse remembered by expression, names and values: the result (an Op tree
    of paths and values) is only read, and the names and values it found are told again."""
    known: OrderedDict[str, tuple[Any, tuple[str, ...], tuple[str, ...]]] = OrderedDict()

    class Remembered(parser):  # type: ignore[misc]
        def parse(self) -> Any:
            names, values = self.expression_attribute_names, self.expression_attribute_values
            key = json.dumps([self.condition_expression, names, values], sort_keys=True, default=str)
            with _EXPRESSIONS_LOCK:
                parsed = known.get(key)
                if parsed is not None:
                    known.move_to_end(key)
            if parsed is not None:
                self.expr_attr_names_found.extend(parsed[1])
                self.expr_attr_values_found.extend(parsed[2])
                return parsed[0]
            op = super().parse()
            with _EXPRESSIONS_LOCK:
                known[key] = (op, tuple(self.expr_attr_names_found), tuple(self.expr_attr_values_found))
                if len(known) > MAX_EXPRESSIONS:
                    known.popitem(last=False)
            return op

    return Remembered


_EXPRESSIONS_LOCK = threading.Lock()


# --- item sizes ---------------------------------------------------------------------------------------------------
ITEM_SIZE_LIMIT = 405_000  # moto's (between DynamoDB's measured 409 and 410 KB, LimitedSizeDict.__setitem__)


def _item_checked_once(
    _original: Callable[..., Any], item: Any, hash_key: Any, range_key: Any, attrs: dict[str, Any]
) -> None:
    """moto's Item.__init__, its attributes' sizes summed once."""
    from moto.dynamodb.models.dynamo_type import DynamoType, LimitedSizeDict  # noqa: PLC0415

    item.hash_key, item.range_key = hash_key, range_key
    item.attrs = _filled(LimitedSizeDict.__new__(LimitedSizeDict), {k: DynamoType(v) for k, v in attrs.items()})


def _copy_checked_once(attributes: Any, memo: dict[int, Any]) -> Any:
    """A deep copy of an item's attributes (a LimitedSizeDict) as copy.deepcopy makes it, their sizes summed once."""
    copied = dict.__new__(type(attributes))
    memo[id(attributes)] = copied
    if attributes.__dict__:
        copied.__dict__.update(copy.deepcopy(attributes.__dict__, memo))
    return _filled(copied, {copy.deepcopy(k, memo): copy.deepcopy(v, memo) for k, v in attributes.items()})


def _filled(attributes: Any, values: dict[str, Any]) -> Any:
    """`attributes` (an empty LimitedSizeDict) holding `values`, if together they fit in an item, as moto checks it."""
    _check_size(values)
    dict.update(attributes, values)
    return attributes


def _check_size(values: dict[str, Any]) -> None:
    """moto's ItemSizeTooLarge if these attributes, names and values, are more than an item may hold."""
    from moto.dynamodb.exceptions import ItemSizeTooLarge  # noqa: PLC0415
    from moto.dynamodb.models.dynamo_type import DynamoType  # noqa: PLC0415
    from moto.dynamodb.models.utilities import bytesize  # noqa: PLC0415

    def size(value: Any) -> int:
        return int(value.size()) if type(value) is DynamoType else bytesize(str(value))

    if sum(size(key) + size(value) for key, value in values.items()) > ITEM_SIZE_LIMIT:
        raise ItemSizeTooLarge


def _set_unless_sized_after(attributes: Any, key: str, value: Any) -> None:
    """LimitedSizeDict.__setitem__: moto's check, except while an update expression runs (checked once after)."""
    if getattr(_LOCAL, "sizing_after", False):
        dict.__setitem__(attributes, key, value)
    else:
        _ORIGINALS["LimitedSizeDict.__setitem__"](attributes, key, value)


def _executed_then_sized(original: Callable[..., Any], executor: Any, node: Any = None) -> None:
    """An update expression's actions, then the item's size checked once, as DynamoDB checks the item it would write
    (moto summed the whole item for each attribute SET; its update_item turns the error into its own)."""
    if getattr(_LOCAL, "sizing_after", False):  # execute() recurses over the expression's nodes
        original(executor, node)
        return
    _LOCAL.sizing_after = True
    try:
        original(executor, node)
    finally:
        _LOCAL.sizing_after = False
    _check_size(executor.item.attrs)


def _node_copy(node: Any, memo: dict[int, Any]) -> Any:
    """A deep copy of an expression's node, as copy.deepcopy makes it (its attributes copied deeply) without the
    pickle protocol's round trip: moto copies a parsed update expression for every update it validates."""
    copied = object.__new__(type(node))
    memo[id(node)] = copied
    attributes = copied.__dict__
    for name, value in node.__dict__.items():
        attributes[name] = copy.deepcopy(value, memo)
    return copied


def _index_map(table: Any, index: Any) -> dict[tuple[Any, ...], dict[tuple[Any, Any], None]]:
    """The keys of the items filed under each value of an index's partition key, built on first use."""
    maps: dict[str, Any] = table.__dict__.setdefault("_familynet_index_maps", {})
    if index.name not in maps:
        maps[index.name] = {}
        for partition in list(table.items.values()):
            for item in list(partition.values()) if table.range_key_attr else [partition]:
                _file_in(maps[index.name], _hash_attributes(index), item)
    return maps[index.name]  # type: ignore[no-any-return]


def _hash_attributes(index: Any) -> list[str]:
    return [key["AttributeName"] for key in index.schema if key["KeyType"] == "HASH"]


def _file_in(mapping: dict[tuple[Any, ...], dict[tuple[Any, Any], None]], attributes: list[str], item: Any) -> None:
    values = tuple(item.attrs.get(name) for name in attributes)
    if all(value is not None for value in values):
        mapping.setdefault(values, {})[(item.hash_key, item.range_key)] = None


def _files_under(item: Any, attributes: list[str], wanted: tuple[Any, ...]) -> bool:
    """Whether the item still has these index key values (an attribute removed is None: moto's == cannot take it)."""
    values = [item.attrs.get(name) for name in attributes]
    return all(value is not None and value == expected for value, expected in zip(values, wanted, strict=True))


def _file(table: Any, item: Any) -> None:
    """File a written item in every index map built so far (entries are never removed here: a query drops those
    whose item has gone or changed)."""
    maps = table.__dict__.get("_familynet_index_maps")
    if not maps:
        return
    for index in table.all_indexes():
        if index.name in maps:
            _file_in(maps[index.name], _hash_attributes(index), item)


def _indexed_put(original: Callable[..., Any], table: Any, *args: Any, **kwargs: Any) -> Any:
    item = original(table, *args, **kwargs)
    _file(table, item)
    return item


def _indexed_update(original: Callable[..., Any], backend: Any, table_name: str, *args: Any, **kwargs: Any) -> Any:
    # A refused UpdateItem leaves its item as it was, as DynamoDB does: moto's executor changes the item action by
    # action, so one found too large only after its actions were left changed. A transaction has its own undo log.
    undo = None
    if not getattr(_LOCAL, "transaction", False):
        key = kwargs.get("key", args[0] if args else None)
        undo = _undo_log(backend, [{"Update": {"TableName": table_name, "Key": key}}])
    try:
        item = original(backend, table_name, *args, **kwargs)
    except BaseException:
        if undo is not None:
            _restore(undo)
        raise
    if item is not None:
        _file(backend.get_table(table_name), item)
    return item


def _narrow_query(original: Callable[..., Any], table: Any, *args: Any, **kwargs: Any) -> Any:
    """Tell `all_items` (which moto's query calls once) which items can match."""
    arguments = _query_signature(original).bind_partial(table, *args, **kwargs).arguments
    hash_key = arguments.get("hash_key")
    index_name = arguments.get("index_name")
    conditions = arguments.get("hash_key_conditions") or []
    candidates: list[Any] | None = None
    if not index_name and hash_key is not None:
        partition = table.items.get(hash_key)
        candidates = [] if partition is None else list(partition.values()) if table.range_key_attr else [partition]
    elif index_name:
        index = next((i for i in table.all_indexes() if i.name == index_name), None)
        attributes = _hash_attributes(index) if index is not None else []
        given = dict(conditions)
        if attributes and set(given) == set(attributes):
            mapping = _index_map(table, index)
            wanted = tuple(given[name] for name in attributes)
            keys = mapping.get(wanted, {})
            candidates = []
            for key in list(keys):
                item = _stored(table, *key)
                if item is None or not _files_under(item, attributes, wanted):
                    del keys[key]  # gone, or filed under another value since
                else:
                    candidates.append(item)
    _LOCAL.candidates = (table, candidates)
    try:
        return original(table, *args, **kwargs)
    finally:
        _LOCAL.candidates = None


@functools.cache
def _query_signature(query: Callable[..., Any]) -> inspect.Signature:
    return inspect.signature(query)


def _narrowed_items(original: Callable[..., Any], table: Any) -> Any:
    narrowed = getattr(_LOCAL, "candidates", None)
    if narrowed is not None and narrowed[0] is table and narrowed[1] is not None:
        _LOCAL.candidates = None  # once: the query's own call
        return sorted(narrowed[1], key=lambda x: (x.hash_key, x.range_key) if x.range_key else x.hash_key)
    return original(table)


# --- streams --------------------------------------------------------------------------------------------------------
class _ExpiringIterators(OrderedDict):  # type: ignore[type-arg]
    """moto's `shard_iterators`: an iterator is forgotten 15 minutes after it was handed out (DynamoDB's expiry),
    and the oldest beyond MAX_SHARD_ITERATORS."""

    def __setitem__(self, key: Any, value: Any) -> None:
        super().__setitem__(key, (time.monotonic(), value))
        cutoff = time.monotonic() - SHARD_ITERATOR_SECONDS
        while self and (len(self) > MAX_SHARD_ITERATORS or next(iter(OrderedDict.values(self)))[0] < cutoff):
            self.popitem(last=False)

    def __getitem__(self, key: Any) -> Any:
        return super().__getitem__(key)[1]


def _expiring_iterators(original: Callable[..., Any], backend: Any, *args: Any, **kwargs: Any) -> None:
    original(backend, *args, **kwargs)
    backend.shard_iterators = _ExpiringIterators()


def trim_streams(now: datetime | None = None) -> int:
    """Drop the stream records older than 24 hours from every table's stream, as DynamoDB does; returns how many.
    Sequence numbers are kept (the shard's first number moves on)."""
    from moto.dynamodb.models import dynamodb_backends  # noqa: PLC0415

    cutoff = (now or datetime.now(UTC)) - STREAM_RETENTION
    dropped = 0
    with _LOCK:
        for account in list(dynamodb_backends.keys()):
            for backend in list(dynamodb_backends[account].values()):
                for table in list(backend.tables.values()):
                    shard = table.stream_shard
                    if shard is None:
                        continue
                    old = 0
                    for record in shard.items:
                        created = record.record["dynamodb"]["ApproximateCreationDateTime"]
                        created = created if created.tzinfo else created.replace(tzinfo=UTC)
                        if created >= cutoff:
                            break
                        old += 1
                    if old:
                        del shard.items[:old]
                        shard.starting_sequence_number += old
                        dropped += old
    return dropped
