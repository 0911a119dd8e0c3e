"""moto 5.2's DynamoDB has no isolation between threads: a cancelled TransactWriteItems restores a deep copy of
each table it touched, taken before it began, wiping out whatever another thread wrote meanwhile (a concurrent
transaction that succeeded loses its writes). DynamoDB serialises conflicting writes; so do we, in the emulator.

`isolate_dynamodb()` wraps the in-process backend's writes in one lock. Both the integration tests (`mock_aws`) and
the local runtime (moto's server runs in the runtime's process) call it; it changes nothing in AWS.
"""

from __future__ import annotations

import functools
import threading
from typing import Any

_LOCK = threading.RLock()
_WRITES = ("put_item", "update_item", "delete_item", "transact_write_items", "batch_write_item", "get_item", "query")


def isolate_dynamodb() -> None:
    from moto.dynamodb.models import DynamoDBBackend  # noqa: PLC0415 - moto is a local-only dependency

    for name in _WRITES:
        method = getattr(DynamoDBBackend, name)
        if getattr(method, "_familynet_isolated", False):
            continue

        @functools.wraps(method)
        def serialised(self: Any, *args: Any, __method: Any = method, **kwargs: Any) -> Any:
            with _LOCK:
                return __method(self, *args, **kwargs)

        serialised._familynet_isolated = True  # type: ignore[attr-defined]
        setattr(DynamoDBBackend, name, serialised)
