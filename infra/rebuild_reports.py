"""`make rebuild-reports PERIOD=2026-11` (or 2026-Q4): recompute a month's or a quarter's figures from the reports'
log, safely while the reports function runs (shared/service/report_rebuild.py says how), and print what changed.

`--dry-run` (DRY_RUN=1) recomputes and prints the differences without writing anything. Against the local runtime
when `make run` is running (build/local/state.json names its moto), else the AWS account of the current credentials
(the table found from the stack, or `--table`). Refused, with the reason, for a month counted before the log began
or older than the log keeps, and while another rebuild of the same months runs.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from infra.constants import STACK_NAME
from infra.redrive import STATE, client, local_state
from shared.adapters.dynamodb import ReferralReader
from shared.config import Settings
from shared.domain import clock
from shared.domain.errors import FamilynetError
from shared.service import report_rebuild
from shared.service.reports import months


class NoTable(Exception):
    """The table could not be found: say which with --table."""


def table_of(state: dict[str, Any] | None) -> str:
    """The data table: the local runtime's one table, or the stack's in AWS."""
    if state is not None:
        tables = list((state.get("tables") or {}).values())
        if len(tables) != 1:
            raise NoTable(f"the local runtime has {len(tables)} tables: say which with --table")
        return str(tables[0])
    resources = client("cloudformation", None).describe_stack_resources(StackName=STACK_NAME)["StackResources"]
    found = [r["PhysicalResourceId"] for r in resources if r["ResourceType"] == "AWS::DynamoDB::Table"]
    if len(found) != 1:
        raise NoTable(f"the stack {STACK_NAME} has {len(found)} tables: say which with --table")
    return str(found[0])


def describe(rebuild: report_rebuild.Rebuild, *, dry_run: bool) -> str:
    changes = rebuild.changes()
    lines = [
        f"{rebuild.period}: {rebuild.events_read} logged events read"
        + ("" if dry_run else f", {rebuild.events_added} added by the rebuild (the rest by the reports function)"),
        "would change:" if dry_run and changes else "changed:" if changes else "no figure changed",
    ]
    lines += [f"  {name}: {before} -> {after}" for name, before, after in changes]
    if not dry_run:
        lines.append(f"now current: generation {rebuild.generation} (the one before stays until the next rebuild)")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="make rebuild-reports PERIOD=…", description=__doc__.splitlines()[0])
    parser.add_argument("period", help="a month (2026-11) or a quarter (2026-Q4)")
    parser.add_argument("--dry-run", action="store_true", help="print what would change, write nothing")
    parser.add_argument("--table", help="the data table (found by default)")
    parser.add_argument("--state", type=Path, default=STATE, help="the local runtime's state file")
    parser.add_argument("--aws", action="store_true", help="use AWS even if the local runtime is running")
    args = parser.parse_args(argv)
    try:
        months(args.period)
    except ValueError as problem:
        print(f"rebuild-reports: {problem}: make rebuild-reports PERIOD=2026-11", file=sys.stderr)
        return 2
    state = None if args.aws else local_state(args.state)
    where = f"the local runtime ({state['aws_endpoint_url']})" if state else "AWS"
    dynamodb = client("dynamodb", state)
    try:
        settings = Settings(table_name=args.table or table_of(state))
        if args.dry_run:
            reader = ReferralReader(settings.table_name, lambda: dynamodb)
            outcome = report_rebuild.recompute(args.period, reader=reader, now=clock.now())
        else:
            outcome = report_rebuild.rebuild_period(
                args.period,
                settings=settings,
                client=lambda: dynamodb,
                progress=lambda n: print(f"  {n} events read", flush=True),
            )
    except (FamilynetError, NoTable) as refused:
        print(f"rebuild-reports against {where}: {getattr(refused, 'message', refused)}", file=sys.stderr)
        return 1
    except (ClientError, BotoCoreError) as failed:
        print(f"rebuild-reports against {where}: AWS refused: {failed}", file=sys.stderr)
        return 1
    print(f"rebuild-reports against {where} ({settings.table_name}):\n{describe(outcome, dry_run=args.dry_run)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
