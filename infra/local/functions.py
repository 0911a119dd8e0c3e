"""Runs each function of the template in its own worker process, started on first use like a cold start."""

from __future__ import annotations

import contextlib
import json
import os
import select
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

from infra.local.faults import APP_ID_PREFIX, Faults
from infra.local.provision import LocalFunction
from infra.local.template import LOCAL_ACCOUNT, LOCAL_REGION
from infra.local.usage import Usage

ROOT = Path(__file__).resolve().parents[2]
_INHERITED = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "SYSTEMROOT", "VIRTUAL_ENV")


class FunctionError(Exception):
    """The function raised, timed out or could not start: Lambda would report a function error.

    Its text names the kind of failure only: an exception's message can quote the input (a name, free text), and
    belongs in the function's own log (where the worker writes the traceback), not in the runtime's."""

    def __init__(self, kind: str, detail: str = "") -> None:
        super().__init__(f"{kind}{': ' + detail if detail else ''}")
        self.kind = kind


DEFAULT_CONCURRENCY = 3  # execution environments per function locally (a reserved concurrency caps it further)


def reap(processes: list[subprocess.Popen[str]], deadline: float) -> None:
    """Wait for ending workers until `deadline`, then kill those still there."""
    for process in processes:
        try:
            process.wait(timeout=max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


class FunctionHost:
    """A function's execution environments: worker processes started on first use (a cold start) and kept warm, up
    to `concurrency` of them invoked at once, as Lambda scales a function out; an invocation beyond them waits."""

    def __init__(
        self,
        function: LocalFunction,
        *,
        endpoint_url: str,
        clock_offset: Callable[[], float],
        log_dir: Path,
        echo_logs: bool = False,
        concurrency: int = DEFAULT_CONCURRENCY,
        faults: Faults | None = None,
        usage: Usage | None = None,
    ) -> None:
        self.function = function
        self.name = function.logical_id
        self.function_arn = f"arn:aws:lambda:{LOCAL_REGION}:{LOCAL_ACCOUNT}:function:{self.name}"
        self._endpoint_url = endpoint_url
        self._clock_offset = clock_offset
        self._log_path = log_dir / f"{self.name}.log"
        self._echo = echo_logs
        reserved = function.reserved_concurrency
        self.concurrency = max(1, min(concurrency, reserved) if reserved else concurrency)
        self._ready = threading.Condition()
        self._idle: list[subprocess.Popen[str]] = []
        self._workers: set[subprocess.Popen[str]] = set()  # idle and busy
        self._starting = 0
        self._stopping = False
        self.invocations = 0
        self._faults = faults
        self._usage = usage
        self._usual_seconds = 0.5  # a moving average of how long an invocation takes (where a timeout may strike)

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
                # Its calls name the function (User-Agent app/fn-<name>): the fault middleware fails only these.
                "AWS_SDK_UA_APP_ID": (APP_ID_PREFIX + self.name)[:50],
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
        self._log_path.parent.mkdir(parents=True, exist_ok=True)
        # The worker writes its log straight to the file (appending, as every environment of the function does):
        # copying each line through the runtime cost it a thread's worth of CPU at volume. Echoed logs are copied.
        with self._log_path.open("a", encoding="utf-8") as log:
            process = subprocess.Popen(  # noqa: S603 - our own worker, with the template's handler
                [sys.executable, "-m", "infra.local.worker", self.function.handler],
                cwd=ROOT,
                env=self.environment(),
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE if self._echo else log,
                text=True,
                bufsize=1,
                # Ctrl-C reaches the runtime only, which stops its workers in order (no traceback from each).
                start_new_session=True,
            )
        if self._echo:
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

    def _acquire(self) -> subprocess.Popen[str] | None:
        """A warm worker, or None when the caller is to start one (a cold start); waits while all are busy."""
        with self._ready:
            while True:
                if self._stopping:
                    raise FunctionError("Stopped", f"{self.name} is stopping")
                while self._idle:
                    process = self._idle.pop()
                    if process.poll() is None:
                        return process
                    self._workers.discard(process)
                if len(self._workers) + self._starting < self.concurrency:
                    self._starting += 1
                    return None
                self._ready.wait()

    def _release(self, process: subprocess.Popen[str] | None, healthy: bool) -> None:
        with self._ready:
            if process is not None:
                if healthy and not self._stopping:
                    self._idle.append(process)
                else:
                    self._workers.discard(process)
                    if process.poll() is None:
                        process.kill()
            self._ready.notify()

    def invoke(self, event: Any) -> Any:
        """One invocation on one execution environment (a worker runs one invocation at a time)."""
        process = self._acquire()
        if process is None:
            try:
                process = self._start()
            finally:
                with self._ready:
                    self._starting -= 1
                    if process is not None:
                        self._workers.add(process)
                    self._ready.notify()
        # An injected timeout: the deadline comes at a random point of the invocation's usual length.
        cut = None
        if self._faults is not None and self._faults.draw("lambda.timeout", self.name):
            cut = self._faults.uniform(0.0, self._usual_seconds)
        timeout = cut if cut is not None else self.function.timeout_seconds
        request = {
            "event": event,
            "function_name": self.name,
            "memory_mb": self.function.memory_mb,
            "timeout_seconds": timeout,
            "request_id": str(uuid.uuid4()),
            "clock_offset_seconds": self._clock_offset(),
        }
        assert process.stdin is not None
        with self._ready:
            self.invocations += 1
        healthy = False
        started = time.monotonic()
        try:
            process.stdin.write(json.dumps(request) + "\n")
            process.stdin.flush()
            answer = self._read(process, timeout=timeout if cut is not None else timeout + 1)
            healthy = cut is None  # after a timeout, Lambda starts the environment afresh
        except FunctionError as exc:
            if cut is not None and exc.kind == "Timeout":
                self._timed_out("killed at the deadline")
            raise
        except (BrokenPipeError, OSError, ValueError) as exc:
            raise FunctionError("Crashed", type(exc).__name__) from exc
        finally:
            self._release(process, healthy)
            if self._usage is not None:  # billed, whatever its outcome
                self._usage.invoked(self.name, self.function.memory_mb, time.monotonic() - started)
        if cut is not None:  # it answered first: it timed out returning, and its answer is lost
            self._timed_out("answer lost")
            raise FunctionError("Timeout", f"{self.name} timed out after {cut:.2f} s (injected fault)")
        self._usual_seconds = 0.8 * self._usual_seconds + 0.2 * (time.monotonic() - started)
        if "error" in answer:
            raise FunctionError(answer["error"]["errorType"], f"see {self._log_path}")
        return answer["result"]

    def _timed_out(self, how: str) -> None:
        assert self._faults is not None
        self._faults.hit("lambda.timeout", f"{self.name} {how}")

    def stop(self, *, wait: bool = True) -> list[subprocess.Popen[str]]:
        """End the workers: politely (end of their input) when idle, at once when still busy. Returns them; with
        `wait=False` the caller reaps them (`reap`), so that every function's workers end at the same time."""
        with self._ready:
            self._stopping = True
            idle, busy = list(self._idle), [p for p in self._workers if p not in self._idle]
            self._idle.clear()
            self._workers.clear()
            self._ready.notify_all()
        for process in busy:
            process.kill()
        for process in idle:
            if process.poll() is None and process.stdin is not None:
                with contextlib.suppress(OSError):
                    process.stdin.close()
        if wait:
            reap([*idle, *busy], time.monotonic() + 3)
        return [*idle, *busy]
