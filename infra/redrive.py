"""`make redrive QUEUE=<dead-letter queue>`: move a DLQ's messages back to the queue they came from, once the fault
that put them there is fixed. Prints what it moved.

In AWS it starts an SQS message move task (`StartMessageMoveTask`: SQS returns each message to its source queue)
and waits for it. Against the local runtime (`make run` running: build/local/state.json names its moto) it does
the same; moto (5.2) answers StartMessageMoveTask with a 500, so there it moves them itself: receive from the DLQ,
send to the source queue, delete from the DLQ, ten at a time (a message is deleted only once it is sent).

The event relay's DLQ holds no events: each message names a batch of stream records the relay could not publish
(Lambda's on-failure destination for a stream: shard and sequence numbers). For it, the command reads those records
from the stream (DynamoDB keeps them 24 hours), reads each outbox item they name from the table, and puts its event
on the bus again (consumers dedupe on the event id); a message is deleted once all its events are on the bus. Past
24 hours, `--outbox-between FIRST LAST` publishes the outbox items written in that time instead (a Scan).

Any other DLQ whose messages did not come from a queue (the review schedules' undeliverable reminders) cannot go
back: the command says so and what to do instead.
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
from botocore.exceptions import BotoCoreError, ClientError

from shared.adapters import table as layout
from shared.adapters.eventbridge import EventPublisher, OutgoingEvent
from shared.config import ENV_EVENT_BUS_NAME

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


def client(service: str, state: dict[str, Any] | None) -> Any:
    if state is None:
        return boto3.client(service)  # type: ignore[call-overload]
    return boto3.client(  # type: ignore[call-overload]
        service,
        endpoint_url=state["aws_endpoint_url"],
        region_name=state["region"],
        aws_access_key_id="local",
        aws_secret_access_key="local",  # noqa: S106 - moto accepts any credentials
    )


def sqs_client(state: dict[str, Any] | None) -> Any:
    return client("sqs", state)


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


def redrive(sqs: Any, wanted: str, *, move_tasks: bool = True, republisher: Republisher | None = None) -> str:
    dlq_url = find_queue(sqs, wanted)
    name = dlq_url.rsplit("/", 1)[1]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    waiting = count(sqs, dlq_url)
    sources = sources_of(sqs, dlq_url)
    if not sources:
        if waiting == 0:
            return f"{name}: no messages to redrive"
        if republisher is not None and holds_stream_batches(sqs, dlq_url):
            return republisher.republish(sqs, dlq_url, name)
        raise RedriveError(
            f"{name} is not the dead-letter queue of another queue (its messages come from a schedule or a rule), "
            "so there is nowhere to send them back: read them, fix the cause, and put their events on the bus "
            "again (docs/operations.md)"
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


# --- the event relay's DLQ: stream batches, republished from the outbox ---------------------------------------------
def holds_stream_batches(sqs: Any, dlq_url: str) -> bool:
    """Whether the queue's messages are a stream mapping's on-failure records (looked at, left in the queue)."""
    peeked = sqs.receive_message(QueueUrl=dlq_url, MaxNumberOfMessages=1, VisibilityTimeout=0).get("Messages", [])
    try:
        return bool(peeked) and "DDBStreamBatchInfo" in json.loads(peeked[0]["Body"])
    except ValueError:
        return False


PUT_ATTEMPTS = 5


class Republisher:
    """Puts the events of the outbox items that dead-lettered stream batches name on the bus again."""

    def __init__(
        self, state: dict[str, Any] | None, *, bus: str | None = None, between: tuple[str, str] | None = None
    ) -> None:
        self.state = state
        self.bus = bus
        self.between = between
        self.streams = client("dynamodbstreams", state)
        self.dynamodb = client("dynamodb", state)
        self.events = client("events", state)

    def republish(self, sqs: Any, dlq_url: str, name: str) -> str:
        published, letters, reasons = 0, 0, set()
        while batch := sqs.receive_message(QueueUrl=dlq_url, MaxNumberOfMessages=10, VisibilityTimeout=120).get(
            "Messages", []
        ):
            for message in batch:
                letter = json.loads(message["Body"])
                info = letter["DDBStreamBatchInfo"]
                reasons.add(str((letter.get("requestContext") or {}).get("condition", "unknown")))
                events = self.outbox_events(info)
                self.put(events, bus=self.bus or self.bus_of(info["streamArn"], dlq_url))
                sqs.delete_message(QueueUrl=dlq_url, ReceiptHandle=message["ReceiptHandle"])
                published += len(events)
                letters += 1
        return (
            f"{name}: {letters} dead letter(s) ({', '.join(sorted(reasons)) or 'no reason given'}): "
            f"{published} outbox event(s) put on the bus again; {count(sqs, dlq_url)} left"
        )

    def outbox_events(self, info: dict[str, Any]) -> list[OutgoingEvent]:
        """The events of the outbox items the batch's stream records name, read from the table (the source of truth:
        an item erased since is not sent)."""
        table = info["streamArn"].split(":table/", 1)[1].split("/", 1)[0]
        keys = self.between_keys(table) if self.between else self.stream_keys(info)
        events = []
        for key in keys:
            item = self.dynamodb.get_item(TableName=table, Key=key, ConsistentRead=True).get("Item")
            if item and item.get(layout.KIND_ATTRIBUTE, {}).get("S") == layout.KIND_OUTBOX_EVENT:
                events.append(OutgoingEvent(item["event_id"]["S"], item["detail_type"]["S"], item["detail"]["S"]))
        return events

    def stream_keys(self, info: dict[str, Any]) -> list[dict[str, Any]]:
        start, end = int(info["startSequenceNumber"]), int(info["endSequenceNumber"])
        try:
            iterator = self.streams.get_shard_iterator(
                StreamArn=info["streamArn"],
                ShardId=info["shardId"],
                ShardIteratorType="AT_SEQUENCE_NUMBER",
                SequenceNumber=info["startSequenceNumber"],
            )["ShardIterator"]
            keys: list[dict[str, Any]] = []
            while iterator:
                response = self.streams.get_records(ShardIterator=iterator, Limit=1000)
                page = response.get("Records", [])
                for record in page:
                    if int(record["dynamodb"]["SequenceNumber"]) > end:
                        return keys
                    if int(record["dynamodb"]["SequenceNumber"]) >= start and record["eventName"] == "INSERT":
                        keys.append(record["dynamodb"]["Keys"])
                if not page:
                    return keys
                iterator = response.get("NextShardIterator")
            return keys
        except (ClientError, BotoCoreError) as exc:
            first = info.get("approximateArrivalOfFirstRecord", "FIRST")
            last = info.get("approximateArrivalOfLastRecord", "LAST")
            raise RedriveError(
                f"the stream no longer holds the records {start} to {end} (DynamoDB keeps them 24 hours): publish "
                f"the outbox items written then with --outbox-between {first} {last} (widen it by a minute)"
            ) from exc

    def between_keys(self, table: str) -> list[dict[str, Any]]:
        """The keys of the outbox items created in the window (a Scan: for records the stream no longer holds)."""
        assert self.between is not None
        keys = []
        for page in self.dynamodb.get_paginator("scan").paginate(
            TableName=table,
            FilterExpression="#kind = :outbox AND created_at BETWEEN :first AND :last",
            ExpressionAttributeNames={"#kind": layout.KIND_ATTRIBUTE},
            ExpressionAttributeValues={
                ":outbox": {"S": layout.KIND_OUTBOX_EVENT},
                ":first": {"S": self.between[0]},
                ":last": {"S": self.between[1]},
            },
            ProjectionExpression=f"{layout.PARTITION_KEY}, {layout.SORT_KEY}",
        ):
            keys.extend(page.get("Items", []))
        return keys

    def bus_of(self, stream_arn: str, dlq_url: str) -> str:
        """The bus the relay publishes to: the local runtime's one bus, or (in AWS) the EVENT_BUS_NAME of the
        function whose stream mapping sends its failures to this DLQ."""
        if self.state is not None:
            buses = [name for name in (self.state.get("buses") or {}).values() if name != "default"]
            if len(buses) != 1:
                raise RedriveError(f"the local runtime has {len(buses)} buses: say which with --bus")
            return str(buses[0])
        sqs = client("sqs", None)
        dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        functions = client("lambda", None)
        for page in functions.get_paginator("list_event_source_mappings").paginate(EventSourceArn=stream_arn):
            for mapping in page.get("EventSourceMappings", []):
                if ((mapping.get("DestinationConfig") or {}).get("OnFailure") or {}).get("Destination") == dlq_arn:
                    configuration = functions.get_function_configuration(FunctionName=mapping["FunctionArn"])
                    return str(configuration["Environment"]["Variables"][ENV_EVENT_BUS_NAME])
        raise RedriveError("no stream mapping sends its failures to this queue: say which bus with --bus")

    def put(self, events: list[OutgoingEvent], *, bus: str) -> None:
        """Every event on the bus, the refused ones again (a few times); else the dead letter stays."""
        publisher = EventPublisher(bus, client=lambda: self.events)
        pending = events
        for attempt in range(PUT_ATTEMPTS):
            refused = set(publisher.publish(pending))
            pending = [event for event in pending if event.event_id in refused]
            if not pending:
                return
            time.sleep(0.2 * 2**attempt)
        raise RedriveError(f"EventBridge refused {len(pending)} event(s) {PUT_ATTEMPTS} times; the dead letter stays")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="make redrive QUEUE=…", description=__doc__.splitlines()[0])
    parser.add_argument("queue", help="the dead-letter queue: its name, URL, or a fragment of one queue's name")
    parser.add_argument("--state", type=Path, default=STATE, help="the local runtime's state file")
    parser.add_argument("--aws", action="store_true", help="use AWS even if the local runtime is running")
    parser.add_argument("--bus", help="the event relay's DLQ: the bus to put its events on (found by default)")
    parser.add_argument(
        "--outbox-between",
        nargs=2,
        metavar=("FIRST", "LAST"),
        help="the event relay's DLQ, past the stream's 24 hours: publish the outbox items created between these "
        "ISO times instead of those the stream records name",
    )
    args = parser.parse_args(argv)
    if not args.queue:
        print("Say which queue: make redrive QUEUE=<dead-letter queue name>", file=sys.stderr)
        return 2
    state = None if args.aws else local_state(args.state)
    where = f"the local runtime ({state['aws_endpoint_url']})" if state else "AWS"
    try:
        republisher = Republisher(
            state, bus=args.bus, between=tuple(args.outbox_between) if args.outbox_between else None
        )
        outcome = redrive(sqs_client(state), args.queue, move_tasks=state is None, republisher=republisher)
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
