"""Recomputing a period's figures from the reports' log (`python -m infra.rebuild_reports PERIOD`), for when the
figures are wrong: a fix to how an event is counted, a figure added, a doubt.

The source is the reports' own log (`REPORT_LOG#<month>`, written by the consumer in the same transaction as each
event's additions: the event's data less its reference, and the facts read from the referral when it was counted),
read with one Query a month. Not the outbox: its items live in the referrals' partitions (a Scan of every case to
find them) and are kept 7 days; not the bus archive: it keeps 30 days and can only be replayed onto the bus, to
every consumer. What the log cannot give, the command refuses: a month counted before the log began, or older than
the log keeps (LOG_DAYS).

Safe while the reports function runs, and idempotent:
1. begin: each month's pointer gets a pending generation (a fresh id); from then on the consumer adds every event
   to the current figures and to the pending ones (shared/service/reports.py, `record`);
2. recount: every logged event of the period is added to the pending generation once (the same per-generation
   marker as the consumer's: an event the consumer added meanwhile is not added again);
3. finish: one transaction makes the pending generation current in every month of the period (readers switch at
   once: they read the pointer first). The generation before the previous one is deleted; the previous one stays
   until the next rebuild, for comparison.
A rebuild that stops half way leaves the current figures as they were; its pending generation is abandoned (or
taken over by the next rebuild after STALE_AFTER). Running it again starts a new generation.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from shared.adapters import aws, table
from shared.adapters.dynamodb import Cancelled, ReferralReader, delete, to_item, transact
from shared.config import Settings
from shared.domain import clock
from shared.domain.clock import LONDON
from shared.domain.errors import Conflict
from shared.service.reports import (
    KIND_POINTER,
    LOG_DAYS,
    additions,
    figures_of,
    figures_pk,
    log_pk,
    logged_event,
    marker,
    month_figures,
    months,
    pointer_key,
)

STALE_AFTER = timedelta(hours=1)  # a pending generation older than this was left by a rebuild that stopped
BUSY = "The figures were being changed at the same moment"


class RebuildRefused(Conflict):
    """The period cannot be rebuilt (now, or from the log at all): the message says why and what to do."""


@dataclass
class Rebuild:
    period: str
    generation: str
    months: tuple[str, ...]
    previous: dict[str, str] = field(default_factory=dict)  # month -> the generation current when it began
    before: dict[str, int] = field(default_factory=dict)  # figure -> value over the period, as it was
    after: dict[str, int] = field(default_factory=dict)  # figure -> value, recomputed
    events_read: int = 0
    events_added: int = 0  # by the rebuild (the others the consumer added meanwhile)
    finished: bool = False

    def changes(self) -> list[tuple[str, int, int]]:
        """(figure, before, after) for every figure the rebuild changed."""
        names = sorted(set(self.before) | set(self.after))
        return [
            (n, self.before.get(n, 0), self.after.get(n, 0))
            for n in names
            if self.before.get(n, 0) != self.after.get(n, 0)
        ]


def _first_day(month: str) -> date:
    return date.fromisoformat(f"{month}-01")


def _period_figures(wanted: tuple[str, ...], reader: ReferralReader) -> dict[str, int]:
    total: dict[str, int] = {}
    for month in wanted:
        for name, value in month_figures(month, reader=reader).items():
            total[name] = total.get(name, 0) + value
    return total


def check_coverage(
    wanted: tuple[str, ...], *, reader: ReferralReader, now: datetime
) -> dict[str, dict[str, Any] | None]:
    """The months' pointers; refused if the log cannot hold all of a month's events."""
    today = now.astimezone(LONDON).date()
    oldest = today - timedelta(days=LOG_DAYS)
    pointers: dict[str, dict[str, Any] | None] = {}
    for month in wanted:
        if _first_day(month) > today:
            raise RebuildRefused(f"{month} has not begun: there is nothing to rebuild")
        if _first_day(month) < oldest:
            raise RebuildRefused(
                f"The reports' log keeps events {LOG_DAYS} days, so {month} (before {oldest:%B %Y}) cannot be rebuilt"
            )
        pointer = reader.item(pointer_key(month))
        if pointer is None and any(
            str(i[table.SORT_KEY]).startswith("FIGURE#") for i in reader.partition_of(figures_pk(month, ""))
        ):
            pointer = {"logged": False}
        if pointer is not None and pointer.get("logged") is False:
            raise RebuildRefused(
                f"{month} was counted (at least in part) before the reports' log began, so its events are not all in "
                "the log: rebuilding it would lose them. Nothing was changed."
            )
        pointers[month] = pointer
    return pointers


def recompute(period: str, *, reader: ReferralReader, now: datetime) -> Rebuild:
    """What a rebuild would make of the period, changing nothing (the command's --dry-run)."""
    wanted = months(period)
    check_coverage(wanted, reader=reader, now=now)
    plan = Rebuild(period, "", wanted, before=_period_figures(wanted, reader))
    for month in wanted:
        for item in reader.partition_of(log_pk(month)):
            plan.events_read += 1
            for counted_month, figures in figures_of(logged_event(item), dict(item.get("facts") or {})).items():
                if counted_month in wanted:
                    for name, amount in figures.items():
                        plan.after[name] = plan.after.get(name, 0) + amount
    return plan


def begin(
    period: str,
    *,
    reader: ReferralReader,
    settings: Settings,
    now: datetime,
    client: aws.DynamoDBClientFactory = aws.dynamodb,
) -> Rebuild:
    """Give each month of the period a pending generation, in one transaction (refused while another rebuild of any
    of them runs)."""
    wanted = months(period)
    pointers = check_coverage(wanted, reader=reader, now=now)
    generation = f"{now.astimezone(LONDON):%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:6]}"
    rebuild = Rebuild(period, generation, wanted, before=_period_figures(wanted, reader))
    writes = []
    for month in wanted:
        rebuild.previous[month] = str((pointers[month] or {}).get("current") or "")
        request = {
            "TableName": settings.table_name,
            "Key": to_item(pointer_key(month)),
            "UpdateExpression": "SET #pending = :generation, #since = :now, #current = if_not_exists(#current, :none), "
            "#kind = :kind, #logged = if_not_exists(#logged, :logged)",
            "ConditionExpression": "attribute_not_exists(#pending) OR #since < :stale",
            "ExpressionAttributeNames": {
                "#pending": "pending",
                "#since": "pending_since",
                "#current": "current",
                "#kind": table.KIND_ATTRIBUTE,
                "#logged": "logged",
            },
            "ExpressionAttributeValues": to_item(
                {
                    ":generation": generation,
                    ":now": clock.iso(now),
                    ":none": "",
                    ":kind": KIND_POINTER,
                    ":logged": True,
                    ":stale": clock.iso(now - STALE_AFTER),
                }
            ),
        }
        writes.append({"Update": request})
    try:
        transact(writes, settings.table_name, client, busy=BUSY)
    except Cancelled as cancelled:
        busy = [month for i, month in enumerate(wanted) if cancelled.failed(i)]
        since = [str((reader.item(pointer_key(m)) or {}).get("pending_since", "")) for m in busy]
        raise RebuildRefused(
            f"A rebuild of {', '.join(busy)} began at {', '.join(since)} and has not finished: wait for it (a rebuild "
            f"that stopped is taken over {int(STALE_AFTER.total_seconds() // 60)} minutes after it began)"
        ) from None
    return rebuild


def recount(
    rebuild: Rebuild,
    *,
    reader: ReferralReader,
    settings: Settings,
    now: datetime,
    client: aws.DynamoDBClientFactory = aws.dynamodb,
    progress: Callable[[int], None] | None = None,
) -> None:
    """Add every logged event of the period to the pending generation, each once (one transaction per event)."""
    for month in rebuild.months:
        for item in reader.partition_of(log_pk(month)):
            rebuild.events_read += 1
            added = figures_of(logged_event(item), dict(item.get("facts") or {}))
            writes = [marker(str(item["event_id"]), rebuild.generation, settings, now)]
            for counted_month, figures in sorted(added.items()):
                if counted_month in rebuild.months:
                    writes += additions(counted_month, rebuild.generation, figures, settings)
            if len(writes) == 1:
                continue  # counted, as the code now stands, in a month outside the period
            try:
                transact(writes, settings.table_name, client, busy=BUSY)
            except Cancelled as cancelled:
                if not cancelled.failed(0):
                    raise
                continue  # the consumer added it meanwhile (or it was logged under two months of the period)
            rebuild.events_added += 1
            if progress and rebuild.events_read % 500 == 0:
                progress(rebuild.events_read)


def finish(
    rebuild: Rebuild,
    *,
    reader: ReferralReader,
    settings: Settings,
    now: datetime,
    client: aws.DynamoDBClientFactory = aws.dynamodb,
) -> None:
    """Make the pending generation current in every month at once; delete the generation before the previous."""
    older = {month: str((reader.item(pointer_key(month)) or {}).get("previous") or "") for month in rebuild.months}
    writes = []
    for month in rebuild.months:
        request = {
            "TableName": settings.table_name,
            "Key": to_item(pointer_key(month)),
            "UpdateExpression": "SET #current = :generation, #previous = :previous, #swapped = :now "
            "REMOVE #pending, #since",
            "ConditionExpression": "#pending = :generation",
            "ExpressionAttributeNames": {
                "#current": "current",
                "#previous": "previous",
                "#swapped": "swapped_at",
                "#pending": "pending",
                "#since": "pending_since",
            },
            "ExpressionAttributeValues": to_item(
                {":generation": rebuild.generation, ":previous": rebuild.previous[month], ":now": clock.iso(now)}
            ),
        }
        writes.append({"Update": request})
    try:
        transact(writes, settings.table_name, client, busy=BUSY)
    except Cancelled:
        raise RebuildRefused(
            "Another rebuild took this one over (it was taken for stopped): the figures are as that one leaves them"
        ) from None
    rebuild.finished = True
    rebuild.after = _period_figures(rebuild.months, reader)
    for month, generation in older.items():
        if generation != rebuild.previous[month] and generation != rebuild.generation:
            _delete_generation(month, generation, reader=reader, settings=settings, client=client)


def abandon(rebuild: Rebuild, *, settings: Settings, client: aws.DynamoDBClientFactory = aws.dynamodb) -> None:
    """Stop the consumer adding to a rebuild that will not finish (its pending generation stays, unread)."""
    for month in rebuild.months:
        request = {
            "TableName": settings.table_name,
            "Key": to_item(pointer_key(month)),
            "UpdateExpression": "REMOVE #pending, #since",
            "ConditionExpression": "#pending = :generation",
            "ExpressionAttributeNames": {"#pending": "pending", "#since": "pending_since"},
            "ExpressionAttributeValues": to_item({":generation": rebuild.generation}),
        }
        try:
            transact([{"Update": request}], settings.table_name, client, busy=BUSY)
        except Cancelled:
            continue  # taken over, or never begun for this month


def _delete_generation(
    month: str, generation: str, *, reader: ReferralReader, settings: Settings, client: aws.DynamoDBClientFactory
) -> None:
    """A generation nobody reads any more (its pointer moved on twice): its figures go, the pointer stays."""
    keys = [
        {table.PARTITION_KEY: item[table.PARTITION_KEY], table.SORT_KEY: item[table.SORT_KEY]}
        for item in reader.partition_of(figures_pk(month, generation))
        if str(item[table.SORT_KEY]).startswith("FIGURE#")
    ]
    for start in range(0, len(keys), 100):
        transact([delete(key, settings.table_name) for key in keys[start : start + 100]], settings.table_name, client)


def rebuild_period(
    period: str,
    *,
    settings: Settings,
    now: datetime | None = None,
    client: aws.DynamoDBClientFactory = aws.dynamodb,
    progress: Callable[[int], None] | None = None,
) -> Rebuild:
    """begin, recount, finish; a failure on the way abandons the pending generation and leaves the figures as
    they were."""
    moment = now or clock.now()
    reader = ReferralReader(settings.table_name, client)
    rebuild = begin(period, reader=reader, settings=settings, now=moment, client=client)
    try:
        recount(rebuild, reader=reader, settings=settings, now=moment, client=client, progress=progress)
        finish(rebuild, reader=reader, settings=settings, now=clock.now(), client=client)
    except BaseException:
        abandon(rebuild, settings=settings, client=client)
        raise
    return rebuild
