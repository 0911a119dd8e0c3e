"""The reports function: the managers' figures, kept from the events on its own queue (a failure here retries
and dead-letters apart from every other consumer)."""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_events as events
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

from infra.constants import REPORTS
from infra.constructs.bus import Bus
from infra.constructs.consumer import EventConsumer
from infra.constructs.data import Data
from infra.constructs.function import FamilynetFunction
from shared.config import ENV_TABLE_NAME
from shared.domain.events import EVENT_SOURCE
from shared.service.reports import HANDLED

REPORT_EVENTS = sorted(model.detail_type for model in HANDLED)


class Reports(Construct):
    def __init__(
        self, scope: Construct, construct_id: str, *, data: Data, bus: Bus, layer: lambda_.ILayerVersion
    ) -> None:
        super().__init__(scope, construct_id)
        function = FamilynetFunction(
            self,
            "Reports",
            name=REPORTS,
            description="Keeps the managers' figures (counts and sums by month) from the events, each once",
            layer=layer,
            environment={ENV_TABLE_NAME: data.table.table_name},
            memory_mb=256,
            timeout=Duration.seconds(15),
        )
        self.function = function.function
        # Reads a referral's partition (where it came from, the package agreed) and each month's pointer (which
        # generation of figures is current, and whether a rebuild runs); adds to figures in a transaction with the
        # pointer's check, a put of the event's marker and its entry in the reports' log.
        self.function.add_to_role_policy(
            iam.PolicyStatement(
                actions=[
                    "dynamodb:Query",
                    "dynamodb:GetItem",
                    "dynamodb:BatchGetItem",
                    "dynamodb:PutItem",
                    "dynamodb:UpdateItem",
                    "dynamodb:ConditionCheckItem",
                ],
                resources=[data.table.table_arn],
            )
        )
        function.grant_table_key(data.key)
        self.consumer = EventConsumer(
            self,
            "OnEvents",
            bus=bus.bus,
            function=self.function,
            event_pattern=events.EventPattern(source=[EVENT_SOURCE], detail_type=REPORT_EVENTS),
        )
