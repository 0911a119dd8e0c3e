"""The event relay: the table's stream (outbox items only) → the bus, with retries, bisection and a DLQ."""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_event_sources as sources
from constructs import Construct

from infra.constants import EVENT_RELAY
from infra.constructs.bus import Bus
from infra.constructs.consumer import dead_letter_queue
from infra.constructs.data import Data
from infra.constructs.function import FamilynetFunction
from shared.adapters import table as layout
from shared.config import ENV_EVENT_BUS_NAME


class EventRelay(Construct):
    def __init__(
        self, scope: Construct, construct_id: str, *, data: Data, bus: Bus, layer: lambda_.ILayerVersion
    ) -> None:
        super().__init__(scope, construct_id)
        self.function = FamilynetFunction(
            self,
            "Relay",
            name=EVENT_RELAY,
            description="Publishes the events that writes leave in the table's outbox (DynamoDB stream → EventBridge)",
            layer=layer,
            environment={ENV_EVENT_BUS_NAME: bus.bus.event_bus_name},
            memory_mb=256,
            timeout=Duration.seconds(30),
        ).function
        # Records that still fail after retries and bisection: their stream coordinates land here for a redrive.
        self.dead_letters = dead_letter_queue(self, "DeadLetters", of="the relay's stream event source mapping")
        self.function.add_event_source(
            sources.DynamoEventSource(
                data.table,
                starting_position=lambda_.StartingPosition.TRIM_HORIZON,
                batch_size=100,
                max_batching_window=Duration.seconds(1),
                bisect_batch_on_error=True,
                retry_attempts=10,
                report_batch_item_failures=True,
                on_failure=sources.SqsDlq(self.dead_letters),
                filters=[
                    lambda_.FilterCriteria.filter(
                        {
                            "eventName": lambda_.FilterRule.is_equal("INSERT"),
                            "dynamodb": {
                                "NewImage": {
                                    layout.KIND_ATTRIBUTE: {"S": lambda_.FilterRule.is_equal(layout.KIND_OUTBOX_EVENT)}
                                }
                            },
                        }
                    )
                ],
            )
        )
        bus.bus.grant_put_events_to(self.function)
