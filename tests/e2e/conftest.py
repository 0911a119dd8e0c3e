"""The local runtime as a session fixture: `python -m infra.local` (what `make run` runs) on free ports, driven over
HTTP, with a throwaway stack that adds a probe consumer, route and schedule to the app's own stack."""

from __future__ import annotations

import json
import os
import select
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import boto3
import pytest
import requests
from playwright.sync_api import Browser, Playwright, sync_playwright

from infra.local.runtime import wait_for
from infra.local.template import LOCAL_REGION
from tests.e2e.browser import ARTIFACTS, CHROMIUM, CHROMIUM_ARGS
from tests.e2e.stack import synthesize

ROOT = Path(__file__).resolve().parents[2]
READY_TIMEOUT_SECONDS = 60


@dataclass
class RunningSystem:
    """One `python -m infra.local` process, as a person (HTTP) and an operator (the AWS APIs) see it."""

    process: subprocess.Popen[str]
    ready_line: str
    state: dict[str, Any]
    stderr_path: Path
    seen: list[dict[str, Any]] = field(default_factory=list)

    @property
    def url(self) -> str:
        return str(self.state["url"])

    def client(self, service: str) -> Any:
        return boto3.client(  # type: ignore[call-overload]
            service,
            endpoint_url=self.state["aws_endpoint_url"],
            region_name=LOCAL_REGION,
            aws_access_key_id="local",
            aws_secret_access_key="local",
        )

    def get(self, path: str, **kwargs: Any) -> requests.Response:
        return requests.get(self.url + path, timeout=30, **kwargs)

    def post(self, path: str, **kwargs: Any) -> requests.Response:
        return requests.post(self.url + path, timeout=60, **kwargs)

    def queue_url(self, fragment: str) -> str:
        [url] = [url for logical_id, url in self.state["queues"].items() if logical_id.startswith(fragment)]
        return str(url)

    def drain(self, fragment: str) -> list[dict[str, Any]]:
        sqs, url = self.client("sqs"), self.queue_url(fragment)
        found = []
        while batch := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", []):
            for message in batch:
                found.append(json.loads(message["Body"]))
                sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
        return found

    def probe_saw(self, predicate: Callable[[dict[str, Any]], bool], count: int = 1, timeout: float = 20) -> list[Any]:
        """What the probe reported that matches, once at least `count` such reports have arrived."""

        def matching() -> list[dict[str, Any]] | None:
            self.seen.extend(self.drain("ProbeSeen"))
            found = [report for report in self.seen if predicate(report)]
            return found if len(found) >= count else None

        return wait_for(matching, timeout=timeout)  # type: ignore[no-any-return]

    def stop(self) -> int:
        """Ctrl-C, as a person stops `make run` (killed if it does not stop within 30 s)."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
        try:
            return self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            raise


def start_system(template: Path, workdir: Path) -> RunningSystem:
    state_path = workdir / "state.json"
    stderr_path = workdir / "runtime.stderr"
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    env.pop("AWS_ENDPOINT_URL", None)
    stderr = stderr_path.open("w")
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "infra.local",
            "--template",
            str(template),
            "--port",
            "0",
            "--state",
            str(state_path),
            "--logs",
            str(workdir / "logs"),
        ],
        cwd=ROOT,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=stderr,
        text=True,
    )
    stderr.close()  # the child has its own copy
    line = _read_line(process.stdout, READY_TIMEOUT_SECONDS)
    if not line.startswith("familynet is running at"):
        process.kill()
        raise RuntimeError(f"the local runtime did not start: {line!r}\n{stderr_path.read_text()}")
    return RunningSystem(process, line, json.loads(state_path.read_text()), stderr_path)


def _read_line(stream: IO[str] | None, timeout: float) -> str:
    assert stream is not None
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ready, _, _ = select.select([stream], [], [], 0.5)
        if ready:
            return stream.readline().strip()
    return ""


RAN_HERE: list[str] = []


@pytest.fixture(autouse=True)
def _ran_here(request: pytest.FixtureRequest) -> None:
    """Which e2e tests this process ran: the whole-run privacy scan checks that it saw all of them."""
    RAN_HERE.append(request.node.nodeid)


@pytest.fixture(scope="session")
def probe_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return synthesize(tmp_path_factory.mktemp("probe.cdk.out"))


@pytest.fixture(scope="session")
def system(probe_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningSystem]:
    running = start_system(probe_template, tmp_path_factory.mktemp("local"))
    yield running
    running.stop()


@pytest.fixture(scope="session")
def playwright() -> Iterator[Playwright]:
    with sync_playwright() as running:
        yield running


@pytest.fixture(scope="session")
def browser(playwright: Playwright) -> Iterator[Browser]:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / "axe-summary.txt").write_text("")
    launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
    yield launched
    launched.close()
