"""Fixtures shared by every test level: the synthesized template (once per session) and referral bodies."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")
# Powertools: no metrics namespace warnings, no X-Ray daemon, logs at INFO as in the cloud.
os.environ.setdefault("POWERTOOLS_TRACE_DISABLED", "1")
os.environ.setdefault("POWERTOOLS_METRICS_NAMESPACE", "Familynet")
os.environ.setdefault("POWERTOOLS_SERVICE_NAME", "tests")


@pytest.fixture(scope="session")
def cloud_assembly() -> Path:
    """The app synthesized with light assets (no dependency bundling), nag checks included: `make run`'s synth in
    build/local/cdk.out, made once for both test workers, the benches and make run, and again only when what it
    is made from changes (each worker synthesized its own before: ~20 s each of a loaded make test)."""
    from infra.local.__main__ import BUILD, template_path

    return template_path(BUILD / "cdk.out").parent


@pytest.fixture(scope="session")
def template_body(cloud_assembly: Path) -> dict[str, Any]:
    from infra.constants import STACK_NAME

    return json.loads((cloud_assembly / f"{STACK_NAME}.template.json").read_text())  # type: ignore[no-any-return]


def minimal_referral(**overrides: Any) -> dict[str, Any]:
    """The minimal body from the design's Routes section."""
    body: dict[str, Any] = {
        "route": "lead_practitioner",
        "referrer": {
            "name": "Sam Okafor",
            "role": "Social worker",
            "organisation": "North Locality Team",
            "email": "sam.okafor@council.example.org",
        },
        "family": {
            "contact_name": "Jo Bloggs",
            "postcode": "sw1a 1aa",
            "children": [{"first_name": "Alfie", "date_of_birth": "2019-05-14"}],
        },
        "consent": {"given": True, "given_on": "2026-11-20", "obtained_by": "Sam Okafor"},
        "reason": "Mum is recovering from surgery and needs help with school runs.",
    }
    body.update(overrides)
    return body


@pytest.fixture
def referral_body() -> dict[str, Any]:
    return minimal_referral()


@pytest.hookimpl(tryfirst=True)  # before xdist's own hook reads the groups
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """`make test` runs on two xdist workers: the end-to-end tests that share one running system (the `system`
    session fixture) all go to one worker (`--dist loadgroup`), so that the whole-run privacy scan sees all their
    traffic, while the other tests (those that start a system of their own too) spread over both. pytest is held
    below 9.2, which ignores the group (pytest-xdist#1386)."""
    for item in items:
        if "e2e" in item.path.parts and "system" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.xdist_group("e2e"))


_BUSY: dict[str, float] = {}


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    """What each xdist worker spent in tests (setup, call and teardown), summed in the controller."""
    node = getattr(report, "node", None)  # xdist sets it on the reports a worker sends
    worker = getattr(getattr(node, "gateway", None), "id", None)
    if worker:
        _BUSY[worker] = _BUSY.get(worker, 0.0) + report.duration
        if report.nodeid.endswith("@e2e"):  # xdist's suffix for the shared system's group
            _BUSY["the e2e group"] = _BUSY.get("the e2e group", 0.0) + report.duration


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """`make test` must stay under 15 minutes on 2 cores: the busiest worker is its critical path."""
    if _BUSY:
        busy = ", ".join(f"{worker} {seconds:.0f} s" for worker, seconds in _BUSY.items())
        terminalreporter.write_line(f"time in tests by worker: {busy}")
