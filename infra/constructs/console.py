"""The staff console: server-rendered pages under /staff for coordinators and managers, signed in through the user
pool's managed login into a server-side session (no JWT authorizer on these routes: the function checks the session
cookie, and every form's CSRF token and Origin)."""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

from infra.constants import CONSOLE, CONSOLE_BURST_LIMIT, CONSOLE_RATE_LIMIT, CONSOLE_ROUTES
from infra.constructs.api import Api
from infra.constructs.auth import StaffAuth
from infra.constructs.data import Data
from infra.constructs.function import FamilynetFunction
from infra.constructs.reminders import DEADLINES_CONTEXT, deadline_environment
from infra.constructs.scheduling import preparation_environment, spending_environment
from shared.adapters import table as layout
from shared.config import (
    ENV_AGREEMENT_WORKING_DAYS,
    ENV_PARTNER_ANSWER_WORKING_DAYS,
    ENV_PUBLIC_URL,
    ENV_STAFF_AUTH_URL,
    ENV_STAFF_CLIENT_ID,
    ENV_STAFF_ISSUER,
    ENV_TABLE_NAME,
)

CONSOLE_SIGNS_IN_ITSELF = (
    "the staff console: each page checks the server-side session that Cognito's managed login starts (a __Host- "
    "cookie), and each form its CSRF token and Origin; a request without a session is sent to sign in."
)


class Console(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        data: Data,
        api: Api,
        auth: StaffAuth,
        layer: lambda_.ILayerVersion,
    ) -> None:
        super().__init__(scope, construct_id)
        deadlines = deadline_environment(self.node.try_get_context(DEADLINES_CONTEXT))
        function = FamilynetFunction(
            self,
            "Console",
            name=CONSOLE,
            description="The staff console: work list, case pages, decisions; Cognito sign-in into a session",
            layer=layer,
            environment={
                ENV_TABLE_NAME: data.table.table_name,
                ENV_PUBLIC_URL: api.public_url,
                ENV_STAFF_AUTH_URL: auth.sign_in_url,
                ENV_STAFF_ISSUER: auth.issuer,
                ENV_STAFF_CLIENT_ID: auth.console_client.user_pool_client_id,
                **spending_environment(self),  # the console records, approves and delivers packages too
                **preparation_environment(self),
                # the days a partner's answer and a plan's agreement are due (`familynet:deadlines`), as scheduling's
                ENV_PARTNER_ANSWER_WORKING_DAYS: deadlines[ENV_PARTNER_ANSWER_WORKING_DAYS],
                ENV_AGREEMENT_WORKING_DAYS: deadlines[ENV_AGREEMENT_WORKING_DAYS],
            },
            memory_mb=512,
            timeout=Duration.seconds(10),
            public=True,
        )
        self.function = function.function
        # Reads are GetItem and Query (never Scan); sessions are put, updated and deleted; a decision is one
        # transaction of an update and puts.
        self.function.add_to_role_policy(
            iam.PolicyStatement(
                actions=[
                    "dynamodb:GetItem",
                    "dynamodb:Query",
                    "dynamodb:PutItem",
                    "dynamodb:UpdateItem",
                    "dynamodb:DeleteItem",
                    "dynamodb:ConditionCheckItem",
                ],
                resources=[data.table.table_arn],
            )
        )
        self.function.add_to_role_policy(
            iam.PolicyStatement(
                actions=["dynamodb:Query"],
                resources=[
                    f"{data.table.table_arn}/index/{layout.STATUS_INDEX}",
                    f"{data.table.table_arn}/index/{layout.FACILITATOR_INDEX}",
                    f"{data.table.table_arn}/index/{layout.REVIEW_DUE_INDEX}",
                    f"{data.table.table_arn}/index/{layout.COORDINATOR_INDEX}",
                    f"{data.table.table_arn}/index/{layout.DEADLINE_INDEX}",
                    f"{data.table.table_arn}/index/{layout.DIRECTORY_INDEX}",
                ],
            )
        )
        function.grant_table_key(data.key)
        for route_key in CONSOLE_ROUTES:
            api.add_public_route(
                route_key,
                self.function,
                rate_limit=CONSOLE_RATE_LIMIT,
                burst_limit=CONSOLE_BURST_LIMIT,
                reason=CONSOLE_SIGNS_IN_ITSELF,
            )
