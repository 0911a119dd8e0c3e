"""The scheduling function: the coordinators' routes (queue, one referral, decisions), JWT-authorised."""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_events as events
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

from infra.constants import SCHEDULING, STAFF_ROUTES
from infra.constructs.api import Api
from infra.constructs.auth import STAFF_SCOPE, StaffAuth
from infra.constructs.bus import Bus
from infra.constructs.consumer import EventConsumer
from infra.constructs.data import Data
from infra.constructs.function import FamilynetFunction
from infra.constructs.reminders import DEADLINES_CONTEXT, deadline_environment
from shared.adapters import table as layout
from shared.config import ENV_PARTNER_ANSWER_WORKING_DAYS, ENV_TABLE_NAME
from shared.domain.events import EVENT_SOURCE, ReferralAccepted


class Scheduling(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        data: Data,
        bus: Bus,
        api: Api,
        auth: StaffAuth,
        layer: lambda_.ILayerVersion,
    ) -> None:
        super().__init__(scope, construct_id)
        function = FamilynetFunction(
            self,
            "Scheduling",
            name=SCHEDULING,
            description="Coordinators' routes: the referral queue, one referral, accept/decline/withdraw",
            layer=layer,
            environment={
                ENV_TABLE_NAME: data.table.table_name,
                # a plan that asks a partner sets the day its answer is due (`familynet:deadlines`)
                ENV_PARTNER_ANSWER_WORKING_DAYS: deadline_environment(self.node.try_get_context(DEADLINES_CONTEXT))[
                    ENV_PARTNER_ANSWER_WORKING_DAYS
                ],
            },
            memory_mb=512,
            timeout=Duration.seconds(10),
        )
        self.function = function.function
        # Reads are GetItem and Query (the table and the queue index), never Scan; a decision is one transaction.
        self.function.add_to_role_policy(
            iam.PolicyStatement(
                actions=[
                    "dynamodb:GetItem",
                    "dynamodb:Query",
                    "dynamodb:UpdateItem",
                    "dynamodb:PutItem",
                    "dynamodb:DeleteItem",
                    # a plan naming a partner checks, in its transaction, that the partner is still active
                    "dynamodb:ConditionCheckItem",
                ],
                resources=[data.table.table_arn],
            )
        )
        self.function.add_to_role_policy(
            iam.PolicyStatement(
                actions=["dynamodb:Query"],
                resources=[f"{data.table.table_arn}/index/{layout.STATUS_INDEX}"],
            )
        )
        self.function.add_to_role_policy(
            iam.PolicyStatement(
                actions=["dynamodb:Query"],
                resources=[
                    f"{data.table.table_arn}/index/{layout.FACILITATOR_INDEX}",
                    f"{data.table.table_arn}/index/{layout.DIRECTORY_INDEX}",
                ],
            )
        )
        function.grant_table_key(data.key)
        # On ReferralAccepted (intake's automatic acceptance, or a coordinator's): allocate and propose slots.
        self.consumer = EventConsumer(
            self,
            "OnAccepted",
            bus=bus.bus,
            function=self.function,
            event_pattern=events.EventPattern(source=[EVENT_SOURCE], detail_type=[ReferralAccepted.detail_type]),
        )
        for route_key in STAFF_ROUTES:
            api.add_staff_route(route_key, self.function, auth.authorizer, scopes=[STAFF_SCOPE])
