"""Runs each function of the template in its own worker process, started on first use like a cold start."""

from __future__ import annotations

import json
import os
import select
import subprocess
import sys
import threading
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

from infra.local.provision import LocalFunction
from infra.local.template import LOCAL_ACCOUNT, LOCAL_REGION

ROOT = Path(__file__).resolve().parents[2]
_INHERITED = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "SYSTEMROOT", "VIRTUAL_ENV")


class FunctionError(Exception):
    """The function raised, timed out or could not start: Lambda would report a function error.

    Its text names the kind of failure only: an exception's message can quote the input (a name, free text), and
    belongs in the function's own log (where the worker writes the traceback), not in the runtime's."""

    def __init__(self, kind: str, detail: str = "") -> None:
        super().__init__(f"{kind}{': ' + detail if detail else ''}")
        self.kind = kind


class FunctionHost:
    def __init__(
        self,
        function: LocalFunction,
        *,
        endpoint_url: str,
        clock_offset: Callable[[], float],
        log_dir: Path,
        echo_logs: bool = False,
    ) -> None:
        self.function = function
        self.name = function.logical_id
        self._endpoint_url = endpoint_url
        self._clock_offset = clock_offset
        self._log_path = log_dir / f"{self.name}.log"
        self._echo = echo_logs
        self._lock = threading.Lock()
        self._process: subprocess.Popen[str] | None = None
        self.invocations = 0

    def environment(self) -> dict[str, str]:
        env = {key: os.environ[key] for key in _INHERITED if key in os.environ}
        env.update(
            {
                "PYTHONPATH": str(ROOT),
                "PYTHONUNBUFFERED": "1",
                "AWS_ENDPOINT_URL": self._endpoint_url,
                "AWS_ACCESS_KEY_ID": "local",
                "AWS_SECRET_ACCESS_KEY": "local",
                "AWS_SESSION_TOKEN": "local",
                "AWS_REGION": LOCAL_REGION,
                "AWS_DEFAULT_REGION": LOCAL_REGION,
                "AWS_LAMBDA_FUNCTION_NAME": self.name,
                "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(self.function.memory_mb),
                "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
                "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{self.name}",
                "AWS_ACCOUNT_ID": LOCAL_ACCOUNT,
                # Lambda's active tracing needs the X-Ray daemon; none runs here.
                "POWERTOOLS_TRACE_DISABLED": "true",
            }
        )
        env.update(self.function.environment)
        return env

    def _start(self) -> subprocess.Popen[str]:
        process = subprocess.Popen(  # noqa: S603 - our own worker, with the template's handler
            [sys.executable, "-m", "infra.local.worker", self.function.handler],
            cwd=ROOT,
            env=self.environment(),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            bufsize=1,
            # Ctrl-C reaches the runtime only, which stops its workers in order (no traceback from each).
            start_new_session=True,
        )
        assert process.stderr is not None
        threading.Thread(target=self._collect_logs, args=(process.stderr,), daemon=True).start()
        ready = self._read(process, timeout=30)
        if "init_error" in ready:
            process.kill()
            raise FunctionError("InitError", f"{self.name} failed to start (see {self._log_path})")
        return process

    def _collect_logs(self, stream: IO[str]) -> None:
        self._log_path.parent.mkdir(parents=True, exist_ok=True)
        with self._log_path.open("a", encoding="utf-8") as log:
            for line in stream:
                log.write(line)
                log.flush()
                if self._echo:
                    sys.stdout.write(line)
                    sys.stdout.flush()

    def _read(self, process: subprocess.Popen[str], timeout: float) -> dict[str, Any]:
        assert process.stdout is not None
        ready, _, _ = select.select([process.stdout], [], [], timeout)
        if not ready:
            process.kill()
            process.wait()
            raise FunctionError("Timeout", f"{self.name} timed out after {timeout:.0f} s")
        line = process.stdout.readline()
        if not line:
            raise FunctionError("Crashed", f"{self.name} stopped unexpectedly (see {self._log_path})")
        answer: dict[str, Any] = json.loads(line)
        return answer

    def invoke(self, event: Any) -> Any:
        """One invocation at a time per function, like one execution environment."""
        with self._lock:
            if self._process is None or self._process.poll() is not None:
                self._process = self._start()
            process = self._process
            request = {
                "event": event,
                "function_name": self.name,
                "memory_mb": self.function.memory_mb,
                "timeout_seconds": self.function.timeout_seconds,
                "request_id": str(uuid.uuid4()),
                "clock_offset_seconds": self._clock_offset(),
            }
            assert process.stdin is not None
            self.invocations += 1
            try:
                process.stdin.write(json.dumps(request) + "\n")
                process.stdin.flush()
                answer = self._read(process, timeout=self.function.timeout_seconds + 1)
            except (FunctionError, BrokenPipeError, OSError) as exc:
                self._process = None
                raise exc if isinstance(exc, FunctionError) else FunctionError("Crashed", type(exc).__name__) from exc
        if "error" in answer:
            raise FunctionError(answer["error"]["errorType"], f"see {self._log_path}")
        return answer["result"]

    def stop(self) -> None:
        """End the worker: politely (end of its input) when it is idle, at once when it is still busy."""
        idle = self._lock.acquire(timeout=2)
        try:
            process = self._process
            if process is not None and process.poll() is None:
                if idle and process.stdin is not None:
                    process.stdin.close()
                try:
                    process.wait(timeout=3 if idle else 0.1)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
            self._process = None
        finally:
            if idle:
                self._lock.release()
