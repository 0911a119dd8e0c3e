"""What 1,000 referrals cost in AWS's variable charges: N whole lives through a started `python -m infra.local`.

Each referral goes from the public form's API to a closed plan (infra/local/demo.py's `lifecycles`): accepted at
intake, proposed, booked, held with a plan connecting the family with a partner (which answers through its emailed
link), its first review reminded when due by its schedule, then recorded as closing the plan. Every AWS call the
functions make is metered where it lands, at the emulated APIs (infra/local/usage.py: each call a function's botocore
client sends, with DynamoDB's request units from the sizes of the items it touched), each invocation's duration at
the function's memory, the SQS requests Lambda's pollers would make and the schedules Scheduler fires. The
facilitators and the partner made first are left out (fixed, not per referral).

Printed: one table of quantity and cost per 1,000 referrals by service, with the list prices used and their date,
and the calls behind it by function. Durations are this machine's with moto in place of AWS (a DynamoDB call here
takes ~1-6 ms against ~5-10 ms in AWS, and the machine is shared): read Lambda's line as an order of magnitude.

BENCH_COST_REFERRALS (default 50) sets N.
"""

from __future__ import annotations

import os
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import requests

from bench import load

N = max(1, int(os.environ.get("BENCH_COST_REFERRALS", "50")))
REGION = "eu-west-2 (Europe, London)"
# List prices in USD, on-demand, no free tier, as published on each service's pricing page for Europe (London).
# Not fetched by the bench (there is no network here): check them before quoting the totals.
PRICES_AS_OF = "2025-06-01"
PRICES: dict[str, tuple[float, str]] = {
    "lambda_gb_s": (0.0000133334, "per GB-second, Arm (the functions' architecture)"),
    "lambda_requests": (0.20 / 1e6, "per request"),
    "dynamodb_write": (0.7425 / 1e6, "per write request unit, on-demand, Standard table class"),
    "dynamodb_read": (0.1485 / 1e6, "per read request unit, on-demand, Standard table class"),
    "events": (1.00 / 1e6, "per custom event published (each 64 KB)"),
    "sqs": (0.40 / 1e6, "per request, standard queue (each 64 KB)"),
    "ses_emails": (0.10 / 1000, "per email sent (each recipient)"),
    "ses_bytes": (0.12 / 2**30, "per GB of attachments (charged here on whole messages)"),
    "scheduler": (1.00 / 1e6, "per scheduled invocation"),
    "secrets": (0.05 / 10000, "per API call"),
}


def delta(after: Any, before: Any) -> Any:
    """`after - before` for nested counters (a key missing before counts as 0)."""
    if isinstance(after, Mapping):
        return {k: delta(v, (before or {}).get(k, 0) if isinstance(before, Mapping) else 0) for k, v in after.items()}
    return after - (before or 0)


def _usage(url: str) -> dict[str, Any]:
    return dict(requests.get(f"{url}/_local/usage", timeout=60).json())


def settled(url: str, quiet_seconds: float = 2.0, timeout: float = 120.0) -> dict[str, Any]:
    """The usage once nothing has been invoked for `quiet_seconds` (the last emails and reports are out)."""
    deadline = time.monotonic() + timeout
    last, since = _usage(url), time.monotonic()
    while time.monotonic() < deadline:
        time.sleep(0.5)
        now = _usage(url)
        if now["lambda"]["invocations"] != last["lambda"]["invocations"]:
            last, since = now, time.monotonic()
        elif time.monotonic() - since >= quiet_seconds:
            return now
    return last


def lines(used: dict[str, Any], referrals: int) -> list[tuple[str, float, str, str, float]]:
    """(service, quantity per 1,000 referrals, unit, price used, cost per 1,000 referrals in USD)."""
    per = 1000 / referrals
    dynamodb, lam = used["dynamodb"], used["lambda"]
    quantities = {
        "lambda_gb_s": sum(lam["gb_seconds"].values()),
        "lambda_requests": sum(lam["invocations"].values()),
        "dynamodb_write": sum(dynamodb["write_units"].values()),
        "dynamodb_read": sum(dynamodb["read_units"].values()),
        "events": used["events"]["entries"],
        "sqs": sum(used["sqs"]["requests"].values()),
        "ses_emails": used["ses"]["emails"],
        "ses_bytes": used["ses"]["bytes"],
        "scheduler": used["scheduler"]["invocations"],
        "secrets": used["secretsmanager"]["calls"],
    }
    services = {
        "lambda_gb_s": ("Lambda", "GB-s"),
        "lambda_requests": ("Lambda", "requests"),
        "dynamodb_write": ("DynamoDB", "WRU"),
        "dynamodb_read": ("DynamoDB", "RRU"),
        "events": ("EventBridge", "events"),
        "sqs": ("SQS", "requests"),
        "ses_emails": ("SES", "emails"),
        "ses_bytes": ("SES", "bytes"),
        "scheduler": ("Scheduler", "invocations"),
        "secrets": ("Secrets Manager", "API calls"),
    }
    found = []
    for key, quantity in quantities.items():
        price, unit_text = PRICES[key]
        service, unit = services[key]
        found.append((service, quantity * per, unit, f"${price:.10f} {unit_text}", quantity * per * price))
    return found


def run(n: int = N, workdir: Path | None = None) -> dict[str, Any]:
    from infra.local import demo

    workdir = workdir or Path(f"/tmp/familynet-cost-{os.getpid()}")
    os.environ["FAMILYNET_USAGE"] = "1"  # the runtime meters (infra/local/usage.py)
    runtime = load.Runtime.start(load.template(), workdir)
    try:
        facilitators, [partner] = demo.setup_for_lifecycles(runtime.url, "cost")
        before = settled(runtime.url)
        started = time.perf_counter()
        references = demo.lifecycles(runtime.url, n, facilitators, partner)
        after = settled(runtime.url)
        seconds = time.perf_counter() - started
    finally:
        runtime.stop()
    used = delta(after, before)
    return {"referrals": len(references), "seconds": seconds, "used": used, "lines": lines(used, len(references))}


def report(figures: dict[str, Any]) -> None:
    table = figures["lines"]
    print(
        f"cost: {figures['referrals']} referrals from intake to a closed plan (one review, one partner connection) "
        f"in {figures['seconds']:.0f} s; variable AWS cost per 1,000 referrals, {REGION}, "
        f"list prices of {PRICES_AS_OF} (USD, no free tier)"
    )
    print(f"  {'service':<16} {'quantity':>14} {'unit':<12} {'cost':>9}  price used")
    for service, quantity, unit, price, cost in table:
        print(f"  {service:<16} {quantity:>14,.1f} {unit:<12} {cost:>9.4f}  {price}")
    print(f"  {'total':<16} {'':>14} {'':<12} {sum(line[4] for line in table):>9.4f}  per 1,000 referrals")
    by_service: dict[str, float] = {}
    for service, _q, _u, _p, cost in table:
        by_service[service] = by_service.get(service, 0.0) + cost
    print("  by service: " + ", ".join(f"{s} ${c:.4f}" for s, c in sorted(by_service.items(), key=lambda i: -i[1])))
    used, per = figures["used"], 1000 / figures["referrals"]
    print("  per referral, by function: invocations, billed ms, DynamoDB RRU / WRU")
    lam, dynamodb = used["lambda"], used["dynamodb"]
    for function in sorted(lam["invocations"], key=lambda f: -lam["gb_seconds"][f]):
        calls = lam["invocations"][function] * per / 1000
        print(
            f"    {function:<40} {calls:6.1f} inv {lam['billed_ms'][function] * per / 1000:8.0f} ms "
            f"{dynamodb['read_units'].get(function, 0) * per / 1000:6.1f} RRU "
            f"{dynamodb['write_units'].get(function, 0) * per / 1000:6.1f} WRU"
        )
    print("  not in the table: API Gateway, WAF and CloudFront requests, CloudWatch Logs and metrics, X-Ray traces,")
    print("  DynamoDB storage, backups and streams (free to Lambda), KMS (the table's key, cached by DynamoDB)")


if __name__ == "__main__":
    report(run())
