"""Hosts one function in its own process, as a Lambda execution environment would.

`python -m infra.local.worker <handler>` runs with exactly the environment the template gives the function (and
the local endpoints). It reads one invocation per line on stdin and answers one line on the protocol stream; the
function's own output (its JSON logs) goes to stderr, which the runtime collects.
"""

from __future__ import annotations

import importlib
import json
import os
import sys
import traceback
from typing import Any


def main() -> None:
    handler_path = sys.argv[1]
    protocol = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(2, 1)  # anything the function prints goes to the log stream, never into the protocol
    sys.stdout = sys.stderr
    module_name, attribute = handler_path.rsplit(".", 1)
    try:
        handler = getattr(importlib.import_module(module_name), attribute)
    except Exception as exc:  # an init error, as Lambda reports it
        traceback.print_exc(file=sys.stderr)
        protocol.write(json.dumps({"init_error": type(exc).__name__}) + "\n")
        return
    protocol.write(json.dumps({"ready": True}) + "\n")

    from infra.local.lambda_context import LocalLambdaContext  # noqa: PLC0415
    from shared.domain import clock  # noqa: PLC0415

    for line in sys.stdin:
        request: dict[str, Any] = json.loads(line)
        clock.set_offset(request["clock_offset_seconds"])
        context = LocalLambdaContext(
            function_name=request["function_name"],
            memory_limit_in_mb=request["memory_mb"],
            timeout_seconds=request["timeout_seconds"],
            aws_request_id=request["request_id"],
        )
        try:
            result = handler(request["event"], context)
            answer = {"result": result}
        except Exception as exc:
            traceback.print_exc(file=sys.stderr)
            answer = {"error": {"errorType": type(exc).__name__, "errorMessage": str(exc)}}
        protocol.write(json.dumps(answer, default=str) + "\n")


if __name__ == "__main__":
    main()
