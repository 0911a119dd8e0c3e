"""Event source mappings, run locally: SQS queues and DynamoDB streams polled into their functions.

SQS: batches up to the mapping's size; with ReportBatchItemFailures only the reported messages stay on the queue;
a function error leaves the whole batch. Undeleted messages come back after the queue's visibility timeout, and
moto moves them to the DLQ once they pass maxReceiveCount, exactly as the queue's redrive policy says.
Streams: the mapping's filter criteria, retries up to MaximumRetryAttempts from the first failed record, then the
batch's coordinates go to the on-failure destination.
"""

from __future__ import annotations

import json
import logging
import threading
import time
import uuid
from datetime import UTC, datetime
from typing import Any

from infra.local.functions import FunctionError, FunctionHost
from infra.local.moto_isolation import wake_event
from infra.local.provision import LambdaTarget, LocalEventSource
from infra.local.streams import ShardReader
from infra.local.template import LOCAL_REGION

log = logging.getLogger("familynet.local")
_STREAM_RETRY_CAP = 10  # -1 means "until the record expires" in AWS: cap it locally
IDLE_POLL_SECONDS = 1.0


class Poller(threading.Thread):
    def __init__(self, name: str, host: FunctionHost, clients: Any, stop: threading.Event) -> None:
        super().__init__(name=f"poller-{name}", daemon=True)
        self.host = host
        self.clients = clients
        self.stopping = stop
        self.deliveries = 0  # batches handed to the function
        self.inflight = 0  # batches still with the function (a poller that delivers concurrently)
        self.wake = threading.Event()  # set when its source may have something new (moto_isolation.wake_event)
        self._idle = False  # waiting after a poll that found nothing (not before the first poll, nor during one)

    @property
    def quiet(self) -> bool:
        """Its last poll found nothing, nothing has arrived since (its wake event is set by every new message or
        stream record) and no batch is still with the function: the runtime's settle() asks, without a poll."""
        return self._idle and self.inflight == 0 and not self.wake.is_set()

    def run(self) -> None:
        while not self.stopping.is_set():
            try:
                self._idle = False  # first: settle() must not take the poll about to start for a quiet one
                self.wake.clear()  # before the poll: whatever arrives during it wakes the next wait at once
                if self.poll_once():
                    self.deliveries += 1
                else:
                    self._idle = True
                    # Until something arrives; a message visible again after its timeout is seen within a second.
                    self.wake.wait(IDLE_POLL_SECONDS)
            except Exception:  # keep polling whatever one batch did; the error is in the log
                log.exception("poller %s failed", self.name)
                self.stopping.wait(1)

    def poll_once(self) -> bool:
        raise NotImplementedError


class SqsPoller(Poller):
    def __init__(self, source: LocalEventSource, host: FunctionHost, clients: Any, stop: threading.Event) -> None:
        super().__init__(source.logical_id, host, clients, stop)
        self.source = source
        self.sqs = clients("sqs")
        arn = source.source_arn
        self.queue_url = self.sqs.get_queue_url(QueueName=arn.rsplit(":", 1)[1])["QueueUrl"]
        # Batches run concurrently only where the queue's visibility timeout leaves room for a slow invocation
        # (AWS's advice: six times the function's timeout). Else one at a time: a batch still running (a cold
        # start on a busy machine) is never received again from under it.
        visibility = int(
            self.sqs.get_queue_attributes(QueueUrl=self.queue_url, AttributeNames=["VisibilityTimeout"])[
                "Attributes"
            ].get("VisibilityTimeout", 30)
        )
        roomy = visibility >= 2 * host.function.timeout_seconds + 10
        self.concurrency = host.concurrency if roomy else 1
        self._slots = threading.Semaphore(self.concurrency)
        self._counting = threading.Lock()
        self.wake = wake_event(arn.rsplit(":", 1)[1])

    def _receive(self, limit: int) -> list[dict[str, Any]]:
        response = self.sqs.receive_message(
            QueueUrl=self.queue_url,
            MaxNumberOfMessages=min(limit, 10),
            WaitTimeSeconds=0,
            AttributeNames=["All"],
            MessageAttributeNames=["All"],
        )
        return response.get("Messages", [])  # type: ignore[no-any-return]

    def poll_once(self) -> bool:
        """One batch, handed to a free execution environment of the function: as Lambda scales an SQS mapping out,
        batches are processed concurrently, up to the function's environments (one receiver per queue: moto's
        ReceiveMessage takes no lock, and two receivers could be handed the same message)."""
        if not self._slots.acquire(timeout=0.5):
            return True  # every environment is busy: not a quiet poll
        try:
            messages = self._receive(self.source.batch_size)
            if messages:
                # The batching window: keep gathering until the batch is full or the window has passed, as Lambda.
                window_ends = time.monotonic() + self.source.maximum_batching_window_seconds
                while len(messages) < self.source.batch_size and time.monotonic() < window_ends:
                    more = self._receive(self.source.batch_size - len(messages))
                    messages.extend(more)
                    if not more:
                        self.stopping.wait(0.05)
        except BaseException:
            self._slots.release()
            raise
        if not messages:
            self._slots.release()
            return False
        with self._counting:
            self.inflight += 1
        threading.Thread(target=self._deliver_then_free, args=(messages,), daemon=True).start()
        return True

    def _deliver_then_free(self, messages: list[dict[str, Any]]) -> None:
        try:
            self._deliver(messages)
        except Exception:
            log.exception("poller %s could not deliver a batch", self.name)
        finally:
            with self._counting:
                self.inflight -= 1
            self._slots.release()

    def _deliver(self, messages: list[dict[str, Any]]) -> None:
        event = {"Records": [self._record(m) for m in messages]}
        try:
            result = self.host.invoke(event)
        except FunctionError as exc:
            if not self.stopping.is_set():  # stopping: the batch was cut short, not failed
                log.warning("%s failed a batch of %d: %s", self.host.name, len(messages), exc)
            return  # every message becomes visible again after the visibility timeout
        failed: set[str] = set()
        if self.source.report_batch_item_failures and isinstance(result, dict):
            failed = {f["itemIdentifier"] for f in result.get("batchItemFailures") or []}
        done = [m for m in messages if m["MessageId"] not in failed]
        for start in range(0, len(done), 10):
            self.sqs.delete_message_batch(
                QueueUrl=self.queue_url,
                Entries=[
                    {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(done[start : start + 10])
                ],
            )

    def _record(self, message: dict[str, Any]) -> dict[str, Any]:
        return {
            "messageId": message["MessageId"],
            "receiptHandle": message["ReceiptHandle"],
            "body": message["Body"],
            "attributes": message.get("Attributes", {}),
            "messageAttributes": message.get("MessageAttributes", {}),
            "md5OfBody": message.get("MD5OfBody", ""),
            "eventSource": "aws:sqs",
            "eventSourceARN": self.source.source_arn,
            "awsRegion": LOCAL_REGION,
        }


class StreamPoller(Poller):
    def __init__(self, source: LocalEventSource, host: FunctionHost, clients: Any, stop: threading.Event) -> None:
        super().__init__(source.logical_id, host, clients, stop)
        self.source = source
        # Read from moto's shard in this process (no GetRecords round trip), never a cancelled transaction's record.
        self.reader = ShardReader(source.source_arn, source.filters)
        self.sqs = clients("sqs")
        self.wake = wake_event(source.source_arn.split(":table/", 1)[1].split("/", 1)[0])

    def poll_once(self) -> bool:
        records = self.reader.read(limit=self.source.batch_size)
        if not records:
            return False
        self._deliver(records)
        return True

    def _deliver(self, records: list[dict[str, Any]]) -> None:
        attempts = self.source.maximum_retry_attempts
        attempts = _STREAM_RETRY_CAP if attempts < 0 else min(attempts, _STREAM_RETRY_CAP)
        pending = records
        for attempt in range(attempts + 1):
            try:
                result = self.host.invoke({"Records": pending})
            except FunctionError as exc:
                if self.stopping.is_set():
                    return  # cut short by the stop: not a failure, nothing to dead-letter
                log.warning("%s failed a stream batch (attempt %d): %s", self.host.name, attempt + 1, exc)
                self.stopping.wait(min(0.2 * 2**attempt, 2))
                continue
            failures = (result or {}).get("batchItemFailures") or [] if isinstance(result, dict) else []
            if not failures:
                return
            first = failures[0]["itemIdentifier"]
            index = next((i for i, r in enumerate(pending) if r["dynamodb"]["SequenceNumber"] == first), 0)
            pending = pending[index:]
            self.stopping.wait(min(0.2 * 2**attempt, 2))
        self._send_to_failure_destination(pending, attempts + 1)

    def _send_to_failure_destination(self, records: list[dict[str, Any]], attempts: int) -> None:
        destination = self.source.on_failure_arn
        log.error("%s gave up on %d stream records; destination %s", self.host.name, len(records), destination)
        if not destination or ":sqs:" not in destination:
            return
        url = self.sqs.get_queue_url(QueueName=destination.rsplit(":", 1)[1])["QueueUrl"]
        # What Lambda sends an on-failure destination for a stream batch: where the records are, not the records.
        info = {
            "requestContext": {
                "requestId": str(uuid.uuid4()),
                "functionArn": self.host.function_arn,
                "condition": "RetryAttemptsExhausted",
                "approximateInvokeCount": attempts,
            },
            "responseContext": {"statusCode": 200, "executedVersion": "$LATEST", "functionError": "Unhandled"},
            "version": "1.0",
            "timestamp": _iso(time.time()),
            "DDBStreamBatchInfo": {
                "shardId": self.reader.shard_id,
                "startSequenceNumber": records[0]["dynamodb"]["SequenceNumber"],
                "endSequenceNumber": records[-1]["dynamodb"]["SequenceNumber"],
                "approximateArrivalOfFirstRecord": _iso(records[0]["dynamodb"].get("ApproximateCreationDateTime")),
                "approximateArrivalOfLastRecord": _iso(records[-1]["dynamodb"].get("ApproximateCreationDateTime")),
                "batchSize": len(records),
                "streamArn": self.source.source_arn,
            },
        }
        self.sqs.send_message(QueueUrl=url, MessageBody=json.dumps(info))


class AsyncTargetPoller(Poller):
    """A rule's Lambda target: each event is one asynchronous invocation, retried as Lambda retries a function
    error (up to twice, a second apart here), then sent to the target's dead-letter queue, if it has one."""

    RETRY_DELAY_SECONDS = 1

    def __init__(self, target: LambdaTarget, host: FunctionHost, clients: Any, stop: threading.Event) -> None:
        super().__init__(f"{target.rule}-{target.function}", host, clients, stop)
        self.target = target
        self.sqs = clients("sqs")
        self.wake = wake_event(target.queue_url.rsplit("/", 1)[1])

    def poll_once(self) -> bool:
        messages = self.sqs.receive_message(
            QueueUrl=self.target.queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=0, AttributeNames=["All"]
        ).get("Messages", [])
        for message in messages:
            self._deliver(message)
        return bool(messages)

    def _deliver(self, message: dict[str, Any]) -> None:
        url, handle = self.target.queue_url, message["ReceiptHandle"]
        try:
            self.host.invoke(json.loads(message["Body"]))
        except FunctionError as exc:
            if self.stopping.is_set():
                return  # cut short by the stop: left on its queue
            attempt = int(message["Attributes"]["ApproximateReceiveCount"])
            log.warning("%s failed an event from %s (attempt %d): %s", self.host.name, self.target.rule, attempt, exc)
            if attempt <= self.target.maximum_retry_attempts:
                self.sqs.change_message_visibility(
                    QueueUrl=url, ReceiptHandle=handle, VisibilityTimeout=self.RETRY_DELAY_SECONDS
                )
                return
            if self.target.dead_letter_arn:
                dead_letters = self.sqs.get_queue_url(QueueName=self.target.dead_letter_arn.rsplit(":", 1)[1])
                self.sqs.send_message(QueueUrl=dead_letters["QueueUrl"], MessageBody=message["Body"])
        self.sqs.delete_message(QueueUrl=url, ReceiptHandle=handle)


def _iso(epoch: float | None) -> str:
    moment = datetime.fromtimestamp(epoch if epoch is not None else time.time(), UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def poller_for(source: LocalEventSource, host: FunctionHost, clients: Any, stop: threading.Event) -> Poller:
    return (StreamPoller if source.kind == "dynamodb" else SqsPoller)(source, host, clients, stop)
