"""Every benchmark runs, at a tiny size, so that none can rot unseen between the sessions that quote its figures.

The figures themselves are `make bench`'s (full sizes); here each bench must finish and print its table."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
# The sweep must read under 1% of the table to pass: 12,000 plans is the least that leaves room (~15 s).
TINY = {
    "BENCH_RUNS": "1",
    "BENCH_PLANS": "12000",
    # 12 referrals under faults that never hold a feedback batch back for its 3-minute visibility timeout
    "BENCH_RELIABILITY_REFERRALS": "12",
    "BENCH_RELIABILITY_FAULTS": "dynamodb.throttle=0.05,events.fail=0.05,ses.throttle=0.05,lambda.timeout:Relay=0.05",
    "BENCH_RELIABILITY_OUTAGE": "0",
    "BENCH_ACK_WAIT": "120",
    "BENCH_COST_REFERRALS": "2",
}


@pytest.mark.parametrize(
    ("bench", "expected"),
    [
        ("cold_init", ["baseline", "intake", "scheduling", "connections", "feedback", "reminders", "event_relay"]),
        ("aws_calls", ["new referral", "GET /referrals/{reference}", "POST /connections/{token}", "30 facilitator"]),
        ("review_sweep", ["first run", "second run", "idempotent"]),
        ("local_start", ["make run, second start", "first referral answered"]),
        ("reliability", ["lost 0, duplicated 0", "twice 0, missing 0", "faults   dynamodb.throttle"]),
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
