"""The daily check at scale: 100,000 plans, 100 reviews overdue, against moto wired from the synthesized template.

Goal (issue 7): the sweep reads no more than 1% of the table's items. It Queries what has fallen due through the
reviews-by-due-date and deadline indexes and reads each due review's referral, so its reads follow what is due, not
how many plans exist. Prints the items read, the read capacity moto reports and what DynamoDB would charge, the
escalations published and the wall time; then runs again the same day, which must publish nothing. Exits non-zero
when the sweep reads more than 1% of the items (or the second run publishes anything). BENCH_PLANS (default 100000)
sets the number of plans, BENCH_REVIEWS_DUE (100) how many are overdue; each plan has its referral item and its open
review item, seeded by BatchWriteItem.

The wall times are moto's, not DynamoDB's. moto answers every Query by sorting the whole table (~10 s at 200,000
items), and its TransactWriteItems deep-copies the whole table once per write it holds, to roll back if cancelled:
at 4,000 items the first sweep took 132 s that way (300 copies); at 200,000 it would take hours. For the sweeps
only, those copies are skipped (the figures printed are the same either way): every call still goes through boto3
and moto, but a cancelled transaction would then keep its partial writes, so the bench stops if moto cancels any.
"""

from __future__ import annotations

import copy
import json
import math
import os
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any
from unittest.mock import patch

from bench.aws_calls import CallCounter  # importing it also sets the benches' AWS environment (moto, eu-west-2)

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

PLANS = max(100, int(os.environ.get("BENCH_PLANS", "100000")))
DUE = max(1, min(int(os.environ.get("BENCH_REVIEWS_DUE", "100")), PLANS // 10))
GOAL_PERCENT = 1.0
BATCH = 25  # BatchWriteItem's most items per call
READ_UNIT = 4096  # bytes a read capacity unit covers (strongly consistent; eventually consistent: half a unit)


def reference(number: int) -> str:
    """A distinct, deterministic reference per plan number (an odd multiplier permutes 32**8)."""
    from shared.domain.referrals import REFERENCE_ALPHABET

    code, letters = (number * 0x9E3779B1 + 0x2545F491) % 32**8, []
    for _ in range(8):
        code, digit = divmod(code, 32)
        letters.append(REFERENCE_ALPHABET[digit])
    return "FN-" + "".join(letters)


def plan_items(number: int, today: date, due_every: int) -> list[dict[str, Any]]:
    """A plan's referral (plan_active) and its open first review: every due_every-th overdue, the rest due over the
    next three months."""
    from shared.adapters import table
    from shared.service.reviews import review_item

    ref = reference(number)
    if number % due_every == 0 and number // due_every < DUE:
        due_on = today - timedelta(days=1 + (number // due_every) % 20)
    else:
        due_on = today + timedelta(days=1 + number % 92)
    referral = {
        table.PARTITION_KEY: table.referral_pk(ref),
        table.SORT_KEY: "REFERRAL",
        table.KIND_ATTRIBUTE: table.KIND_REFERRAL,
        "reference": ref,
        "status": "plan_active",
        "version": 4,
    }
    return [referral, review_item(ref, 1, due_on, scheduled_on=due_on - timedelta(days=90))]


def seed(client: DynamoDBClient, table_name: str, today: date) -> tuple[int, int, float]:
    """Every plan through BatchWriteItem, 25 items a call; returns (items, calls, seconds)."""
    from shared.adapters.dynamodb import to_item

    due_every = PLANS // DUE
    started = time.perf_counter()
    pending: list[Any] = []
    items = calls = 0
    for number in range(PLANS):
        pending += [{"PutRequest": {"Item": to_item(item)}} for item in plan_items(number, today, due_every)]
        while len(pending) >= BATCH or (number == PLANS - 1 and pending):
            batch, pending = pending[:BATCH], pending[BATCH:]
            items += len(batch)
            while batch:
                calls += 1
                unprocessed = client.batch_write_item(RequestItems={table_name: batch}).get("UnprocessedItems", {})
                batch = list(unprocessed.get(table_name, []))
    return items, calls, time.perf_counter() - started


def item_size(item: dict[str, Any]) -> int:
    """An item's size as DynamoDB counts it (attribute names plus values), from its wire format."""
    return sum(len(name.encode()) + _value_size(value) for name, value in item.items())


def _value_size(value: dict[str, Any]) -> int:
    [(kind, data)] = value.items()
    if kind == "S":
        return len(str(data).encode())
    if kind == "N":
        digits = len(str(data).lstrip("-").replace(".", "").strip("0")) or 1
        return (digits + 1) // 2 + 1
    if kind == "B":
        return len(data)
    if kind in ("BOOL", "NULL"):
        return 1
    if kind in ("SS", "BS"):
        return sum(len(v.encode() if isinstance(v, str) else v) for v in data)
    if kind == "NS":
        return sum(_value_size({"N": v}) for v in data)
    if kind == "L":
        return 3 + sum(1 + _value_size(v) for v in data)
    return 3 + sum(1 + len(k.encode()) + _value_size(v) for k, v in data.items())  # M


class CapacityEstimate:
    """The read units DynamoDB would charge, from each response's items: a Query rounds the total size it read up
    to 4 KB units, a GetItem its item's; eventually consistent reads (every index Query) cost half."""

    def __init__(self) -> None:
        self.units = 0.0

    def before(self, params: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
        context["bench_consistent"] = bool(params.get("ConsistentRead")) and "IndexName" not in params

    def after(self, parsed: dict[str, Any], model: Any, context: dict[str, Any], **_: Any) -> None:
        if model.name == "Query":
            size = sum(item_size(item) for item in parsed.get("Items", []))
        elif model.name == "GetItem":
            size = item_size(parsed["Item"]) if "Item" in parsed else 0
        else:
            return
        self.units += max(1, math.ceil(size / READ_UNIT)) * (1.0 if context.get("bench_consistent") else 0.5)

    def take(self) -> float:
        taken, self.units = self.units, 0.0
        return taken


@contextmanager
def transactions_without_table_copies() -> Iterator[list[str]]:
    """moto's TransactWriteItems without its deep copy of the whole table; yields the transactions moto cancelled
    (whose partial writes then stay: the caller must find none)."""
    from moto.dynamodb import models
    from moto.dynamodb.models.table import Table

    def deepcopy(value: Any, memo: dict[int, Any] | None = None) -> Any:
        return value if isinstance(value, Table) else copy.deepcopy(value, memo)

    original = models.DynamoDBBackend.transact_write_items
    cancelled: list[str] = []

    def transact_write_items(self: Any, transact_items: list[dict[str, Any]]) -> None:
        try:
            original(self, transact_items)
        except Exception as exc:
            cancelled.append(type(exc).__name__)
            raise

    shim = SimpleNamespace(deepcopy=deepcopy, copy=copy.copy)
    with (
        patch.object(models, "copy", shim),
        patch.object(models.DynamoDBBackend, "transact_write_items", transact_write_items),
    ):
        yield cancelled


def item_count(client: DynamoDBClient, table_name: str) -> int:
    return int(client.describe_table(TableName=table_name)["Table"].get("ItemCount", 0))


def show(label: str, value: str) -> None:
    print(f"  {label:<48} {value}")
    sys.stdout.flush()


def calls_text(calls: Counter[str]) -> str:
    listed = ", ".join(f"{name.split('.', 1)[1]} x{count}" for name, count in sorted(calls.items()))
    return f"{sum(calls.values())}: {listed or 'none'}"


def sweep(
    label: str,
    run: Callable[[], Any],
    in_table: int,
    counter: CallCounter,
    estimate: CapacityEstimate,
) -> tuple[Any, float]:
    """One daily check, timed, with its reads and calls; returns its report and the % of the table it read."""
    counter.take()
    estimate.take()
    started = time.perf_counter()
    report = run()
    seconds = time.perf_counter() - started
    calls, units = counter.take(), estimate.take()
    percent = 100.0 * report.items_read / in_table
    print(f"{label} ({report.day}):")
    show("reviews found due", f"{report.reviews_due:,}")
    show("deadline clocks found due", f"{report.clocks_due:,}")
    show("items read by the sweep", f"{report.items_read:,}")
    over = "" if percent <= GOAL_PERCENT else "   OVER GOAL"
    show("items read, % of the items in the table", f"{percent:.3f}% of {in_table:,} (goal <= {GOAL_PERCENT:g}%){over}")
    show(
        "consumed read capacity reported (moto)",
        f"{report.read_capacity:g} (moto's fixed figures: 1.0 a Query, 0.5 a GetItem, whatever they read)",
    )
    show(
        "read capacity DynamoDB would charge (estimate)",
        f"{units:g} RCU (index Query eventually consistent: 0.5 per 4 KB; GetItem strongly consistent: 1 per 4 KB)",
    )
    show("escalations published (ReviewOverdue)", f"{report.escalated:,}")
    show("review_completed clocks breached", f"{len(report.breaches):,}")
    show("AWS calls", calls_text(calls))
    show("sweep wall time (moto)", f"{seconds:.1f} s")
    return report, percent


def main() -> int:
    import boto3
    from moto import mock_aws

    from infra.local.__main__ import BUILD, template_path
    from infra.local.provision import provision
    from infra.local.template import LOCAL_REGION, Template
    from shared.config import Settings
    from shared.domain.referrals import REFERENCE_PATTERN
    from shared.service.deadlines import DailyCheck, london_day

    assert all(REFERENCE_PATTERN.match(reference(n)) for n in (0, 1, PLANS - 1))
    assert len({reference(n) for n in range(PLANS)}) == PLANS
    template = Template(json.loads(template_path(BUILD / "cdk.out").read_text()))
    now = datetime.now(UTC)
    today = london_day(now)

    with mock_aws():
        session = boto3.Session(region_name=LOCAL_REGION)
        provisioned = provision(template, session.client)
        [table_name] = provisioned.tables.values()
        dynamodb = session.client("dynamodb")
        print(f"review_sweep: the daily check over {PLANS:,} plans, in-process moto wired from the template")
        items, calls, seconds = seed(dynamodb, table_name, today)
        in_table = item_count(dynamodb, table_name)
        show("plans seeded", f"{PLANS:,} (a referral, plan_active, and its open review each)")
        show("seeding", f"{items:,} items in {calls:,} BatchWriteItem calls, {seconds:.1f} s")
        show("items in the table", f"{in_table:,}")
        show("reviews due before today", f"{DUE} (the other {PLANS - DUE:,} due over the next 3 months)")

        counter, estimate = CallCounter(), CapacityEstimate()
        dynamodb.meta.events.register("before-call.*.*", counter)
        dynamodb.meta.events.register("before-parameter-build.dynamodb", estimate.before)
        dynamodb.meta.events.register("after-call.dynamodb", estimate.after)
        settings = Settings(table_name=table_name)

        def daily_check() -> Any:
            return DailyCheck(settings=settings, now=now, correlation_id="bench", client=lambda: dynamodb).run()

        with transactions_without_table_copies() as cancelled:
            first, percent = sweep("first run", daily_check, in_table, counter, estimate)
            assert not cancelled, f"moto cancelled {len(cancelled)} transaction(s): the figures are not reliable"
            written = item_count(dynamodb, table_name) - in_table
            show("items written to the outbox", f"{written:,}")
            second, second_percent = sweep("second run, same day", daily_check, in_table + written, counter, estimate)
            assert not cancelled, f"moto cancelled {len(cancelled)} transaction(s): the figures are not reliable"
        show("idempotent", "yes: the second run escalated 0" if second.escalated == 0 else "NO")
    show("goal", f"{'met' if max(percent, second_percent) <= GOAL_PERCENT else 'NOT MET'}: <= {GOAL_PERCENT:g}% read")

    ok = percent <= GOAL_PERCENT and second_percent <= GOAL_PERCENT
    ok = ok and first.reviews_due == first.escalated == DUE and second.escalated == 0
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
