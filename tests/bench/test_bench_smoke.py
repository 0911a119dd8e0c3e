"""Every benchmark runs, at a tiny size, so that none can rot unseen between the sessions that quote its figures.

The figures themselves are `make bench`'s (full sizes); here each bench must finish and print its table. The
reliability bench is not here: tests/e2e/test_local_load.py runs it (`run` and `report`, all its `__main__` does) at
100 referrals under faults and checks its figures."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
# The sweep must read under 1% of the table to pass: 10 reviews due among 2,500 plans leave room (12,000 plans with
# 100 due took 87 s of a loaded make test).
TINY = {
    "BENCH_RUNS": "1",
    "BENCH_PLANS": "2500",
    "BENCH_REVIEWS_DUE": "10",
    "BENCH_COST_REFERRALS": "2",
}


@pytest.mark.parametrize(
    ("bench", "expected"),
    [
        ("cold_init", ["baseline", "intake", "scheduling", "connections", "feedback", "reminders", "event_relay"]),
        ("aws_calls", ["new referral", "GET /referrals/{reference}", "POST /connections/{token}", "30 facilitator"]),
        ("review_sweep", ["first run", "second run", "idempotent"]),
        ("local_start", ["make run, second start", "first referral answered"]),
        ("cost", ["2 referrals from intake to a closed plan", "DynamoDB", "Secrets Manager", "per 1,000 referrals"]),
    ],
)
def test_the_bench_runs_and_prints_its_figures(bench: str, expected: list[str]) -> None:
    env = {**os.environ, **TINY, "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20"}
    done = subprocess.run(
        [sys.executable, "-m", f"bench.{bench}"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    printed = "\n".join(line for line in done.stdout.splitlines() if not line.startswith("{"))
    for words in expected:
        assert words in printed, printed
