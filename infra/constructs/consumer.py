"""How every consumer hears events: rule → SQS queue (encrypted, SSL only, own DLQ) → function, partial batch failures.

The queue absorbs bursts and retries; a poison message ends in the DLQ with its receive count. Locally, moto
matches the rule's pattern and delivers to the queue, and the local runtime polls the queue as Lambda would.
"""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_event_sources as sources
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from infra.nag import acknowledge

DLQ_RETENTION = Duration.days(14)


class DeadLetterQueue(sqs.Queue):
    """A dead-letter queue: what failed for good waits here for a fix and a redrive; operations alarm on it."""

    def __init__(self, scope: Construct, construct_id: str, *, purpose: str) -> None:
        super().__init__(
            scope,
            construct_id,
            encryption=sqs.QueueEncryption.SQS_MANAGED,
            enforce_ssl=True,
            retention_period=DLQ_RETENTION,
        )
        self.purpose = purpose


def dead_letter_queue(
    scope: Construct, construct_id: str, *, of: str | None = None, purpose: str | None = None
) -> DeadLetterQueue:
    """An encrypted, SSL-only queue keeping failures 14 days. `of` names what it is the dead-letter destination of,
    when that is not an SQS queue (cdk-nag's SQS3 cannot see the relation then)."""
    queue = DeadLetterQueue(scope, construct_id, purpose=purpose or of or "a queue")
    if of is not None:
        acknowledge(queue, "AwsSolutions-SQS3", f"This queue is itself the dead-letter destination of {of}.")
    return queue


class EventConsumer(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        bus: events.IEventBus,
        function: lambda_.Function,
        event_pattern: events.EventPattern,
        max_receive_count: int = 5,
        batch_size: int = 10,
        visibility_timeout: Duration | None = None,
        max_batching_window: Duration | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        self.dead_letters = dead_letter_queue(self, "DeadLetters", purpose=f"the event queue {self.node.path}")
        timeout = function.timeout or Duration.seconds(3)
        self.queue = sqs.Queue(
            self,
            "Queue",
            encryption=sqs.QueueEncryption.SQS_MANAGED,
            enforce_ssl=True,
            # AWS's advice for Lambda consumers: at least six times the function's timeout.
            visibility_timeout=visibility_timeout or Duration.seconds(timeout.to_seconds() * 6),
            dead_letter_queue=sqs.DeadLetterQueue(max_receive_count=max_receive_count, queue=self.dead_letters),
        )
        self.rule = events.Rule(
            self,
            "Rule",
            event_bus=bus,
            event_pattern=event_pattern,
            targets=[targets.SqsQueue(self.queue)],
        )
        function.add_event_source(
            sources.SqsEventSource(
                self.queue,
                batch_size=batch_size,
                max_batching_window=max_batching_window,
                report_batch_item_failures=True,
            )
        )
