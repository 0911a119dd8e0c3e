"""`make redrive QUEUE=<dead-letter queue>`: move a DLQ's messages back to the queue they came from, once the fault
that put them there is fixed. Prints what it moved.

In AWS it starts an SQS message move task (`StartMessageMoveTask`: SQS returns each message to its source queue)
and waits for it. Against the local runtime (`make run` running: build/local/state.json names its moto) it does
the same; moto (5.2) answers StartMessageMoveTask with a 500, so there it moves them itself: receive from the DLQ,
send to the source queue, delete from the DLQ, ten at a time (a message is deleted only once it is sent).

A DLQ whose messages did not come from a queue (the event relay's stream failures, the review schedules'
undeliverable reminders) cannot go back: the command says so and what to do instead.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

import boto3
from botocore.exceptions import ClientError

STATE = Path(__file__).resolve().parent.parent / "build" / "local" / "state.json"
MOVE_TASK_TIMEOUT_SECONDS = 600


class RedriveError(Exception):
    """Something a person must act on: the message says what."""


def local_state(path: Path) -> dict[str, Any] | None:
    """The running local runtime's addresses, if it is running."""
    if not path.exists():
        return None
    state: dict[str, Any] = json.loads(path.read_text())
    try:
        os.kill(int(state["pid"]), 0)
    except (OSError, KeyError, ValueError):
        return None  # left behind by a runtime that is gone
    return state


def sqs_client(state: dict[str, Any] | None) -> Any:
    if state is None:
        return boto3.client("sqs")
    return boto3.client(
        "sqs",
        endpoint_url=state["aws_endpoint_url"],
        region_name=state["region"],
        aws_access_key_id="local",
        aws_secret_access_key="local",  # noqa: S106 - moto accepts any credentials
    )


def find_queue(sqs: Any, wanted: str) -> str:
    """A queue URL from a URL, an exact name, or a fragment of exactly one queue's name."""
    if wanted.startswith(("https://", "http://")):
        return wanted
    try:
        return str(sqs.get_queue_url(QueueName=wanted)["QueueUrl"])
    except ClientError:
        pass
    urls = [url for page in sqs.get_paginator("list_queues").paginate() for url in page.get("QueueUrls", [])]
    matches = [url for url in urls if wanted.lower() in url.rsplit("/", 1)[1].lower()]
    if len(matches) != 1:
        names = ", ".join(url.rsplit("/", 1)[1] for url in matches) or "none"
        raise RedriveError(f"{wanted!r} names {len(matches)} queues ({names}): give one queue's full name")
    return str(matches[0])


def count(sqs: Any, url: str) -> int:
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"])
    return int(attributes["Attributes"].get("ApproximateNumberOfMessages", 0))


def sources_of(sqs: Any, dlq_url: str) -> list[str]:
    return [
        u
        for page in sqs.get_paginator("list_dead_letter_source_queues").paginate(QueueUrl=dlq_url)
        for u in page.get("queueUrls", [])
    ]


def move_task(sqs: Any, dlq_arn: str) -> int:
    """SQS's own redrive: each message back to its source queue; waits for the task and returns how many moved."""
    handle = sqs.start_message_move_task(SourceArn=dlq_arn)["TaskHandle"]
    deadline = time.monotonic() + MOVE_TASK_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        [task] = [t for t in sqs.list_message_move_tasks(SourceArn=dlq_arn)["Results"] if t.get("TaskHandle") == handle]
        if task["Status"] in ("COMPLETED", "FAILED", "CANCELLED"):
            if task["Status"] != "COMPLETED":
                raise RedriveError(f"the move task ended {task['Status']}: {task.get('FailureReason', 'no reason')}")
            return int(task.get("ApproximateNumberOfMessagesMoved", 0))
        time.sleep(2)
    raise RedriveError(f"the move task {handle} is still running: see it in the SQS console")


def move_by_hand(sqs: Any, dlq_url: str, source_url: str) -> int:
    moved = 0
    while batch := sqs.receive_message(
        QueueUrl=dlq_url, MaxNumberOfMessages=10, MessageAttributeNames=["All"], VisibilityTimeout=30
    ).get("Messages", []):
        entries = [
            {
                "Id": str(i),
                "MessageBody": m["Body"],
                **({"MessageAttributes": m["MessageAttributes"]} if m.get("MessageAttributes") else {}),
            }
            for i, m in enumerate(batch)
        ]
        sent = sqs.send_message_batch(QueueUrl=source_url, Entries=entries)
        done = {entry["Id"] for entry in sent.get("Successful", [])}
        sqs.delete_message_batch(
            QueueUrl=dlq_url,
            Entries=[
                {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(batch) if str(i) in done
            ],
        )
        moved += len(done)
        if sent.get("Failed"):
            raise RedriveError(f"{len(sent['Failed'])} message(s) could not be sent back; they stay in the DLQ")
    return moved


def redrive(sqs: Any, wanted: str, *, move_tasks: bool = True) -> str:
    dlq_url = find_queue(sqs, wanted)
    name = dlq_url.rsplit("/", 1)[1]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    waiting = count(sqs, dlq_url)
    sources = sources_of(sqs, dlq_url)
    if not sources:
        raise RedriveError(
            f"{name} is not the dead-letter queue of another queue (its messages come from a stream or a schedule), "
            "so there is nowhere to send them back: read them, fix the cause, and replay from the bus archive "
            "(docs/operations.md)"
        )
    if waiting == 0:
        return f"{name}: no messages to redrive"
    if move_tasks:
        moved, how = move_task(sqs, dlq_arn), "SQS message move task"
    else:
        if len(sources) != 1:
            raise RedriveError(f"{name} is the DLQ of {len(sources)} queues; only SQS's move task can sort them")
        moved = move_by_hand(sqs, dlq_url, sources[0])
        how = "moved one by one (this endpoint has no message move tasks)"
    targets = ", ".join(url.rsplit("/", 1)[1] for url in sources)
    return f"{name}: {waiting} message(s) waiting, {moved} moved back to {targets} ({how}); {count(sqs, dlq_url)} left"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="make redrive QUEUE=…", description=__doc__.splitlines()[0])
    parser.add_argument("queue", help="the dead-letter queue: its name, URL, or a fragment of one queue's name")
    parser.add_argument("--state", type=Path, default=STATE, help="the local runtime's state file")
    parser.add_argument("--aws", action="store_true", help="use AWS even if the local runtime is running")
    args = parser.parse_args(argv)
    if not args.queue:
        print("Say which queue: make redrive QUEUE=<dead-letter queue name>", file=sys.stderr)
        return 2
    state = None if args.aws else local_state(args.state)
    where = f"the local runtime ({state['aws_endpoint_url']})" if state else "AWS"
    try:
        outcome = redrive(sqs_client(state), args.queue, move_tasks=state is None)  # moto has no move tasks
        print(f"redrive against {where}: {outcome}", flush=True)
    except RedriveError as exc:
        print(f"redrive: {exc}", file=sys.stderr)
        return 1
    except ClientError as exc:
        print(f"redrive: SQS refused: {exc.response.get('Error', {}).get('Message', exc)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
