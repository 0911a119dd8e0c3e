"""Seconds from `make run` to its ready line, and to the first referral answered through the gateway.

Each run starts `make run` (PORT=0: a free port) in its own process group, waits for the one line that says the
system is ready, submits one referral, then stops it with Ctrl-C (SIGINT) and times the stop too. The first run may
synthesize the CDK app (the template is cached by a hash of infra/ and shared/); the runs after it are what a
developer sees on a second start. Goal: second start ≤ 15 s. RUNS (default 3) starts after the first.
"""

from __future__ import annotations

import json
import os
import select
import signal
import statistics
import subprocess
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RUNS = max(1, int(os.environ.get("BENCH_RUNS", "3")))
GOAL_SECONDS = 15.0


def one_start() -> tuple[float, float, float]:
    started = time.perf_counter()
    process = subprocess.Popen(
        ["make", "--no-print-directory", "run"],
        cwd=ROOT,
        env={**os.environ, "PORT": "0"},
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        start_new_session=True,
    )
    assert process.stdout is not None
    line = ""
    deadline = started + 180
    while time.perf_counter() < deadline and not line.startswith("familynet is running at"):
        if select.select([process.stdout], [], [], 1)[0]:
            line = process.stdout.readline()
    ready = time.perf_counter() - started
    if not line:
        os.killpg(process.pid, signal.SIGKILL)
        raise SystemExit("make run printed no ready line within 180 s")
    url = line.split(" at ", 1)[1].split()[0]
    from tests.conftest import minimal_referral

    request = urllib.request.Request(
        url + "/referrals",
        data=json.dumps(minimal_referral()).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=60) as response:
        assert response.status == 201
    first_referral = time.perf_counter() - started
    stopping = time.perf_counter()
    os.killpg(process.pid, signal.SIGINT)
    process.wait(timeout=30)
    return ready, first_referral, time.perf_counter() - stopping


def main() -> None:
    first = one_start()
    print(f"make run, first start (may synthesize): ready {first[0]:.1f} s")
    samples = [one_start() for _ in range(RUNS)]
    ready = statistics.median(s[0] for s in samples)
    referral = statistics.median(s[1] for s in samples)
    stop = statistics.median(s[2] for s in samples)
    verdict = "meets" if ready <= GOAL_SECONDS else "MISSES"
    print(f"make run, second start: ready {ready:.1f} s (median of {RUNS}; goal <= {GOAL_SECONDS:.0f} s: {verdict})")
    print(f"  first referral answered (cold intake worker) {referral:.1f} s after make run; Ctrl-C stop {stop:.1f} s")


if __name__ == "__main__":
    main()
