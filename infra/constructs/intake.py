"""The intake function: the web form, and POST /referrals (the referral, its audit entry and its outbox event)."""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

from infra.constants import (
    FORM_ASSETS_ROUTE,
    FORM_BURST_LIMIT,
    FORM_PAGE_ROUTES,
    FORM_RATE_LIMIT,
    FORM_ROUTE,
    INTAKE,
    REFERRALS_BURST_LIMIT,
    REFERRALS_RATE_LIMIT,
    REFERRALS_ROUTE,
)
from infra.constructs.api import Api
from infra.constructs.data import Data
from infra.constructs.function import FamilynetFunction
from shared.config import ENV_TABLE_NAME

FORM_IS_PUBLIC = (
    "part of the public referral form: referrers have no account; it is throttled (and POST bodies size-limited) "
    "instead."
)


class Intake(Construct):
    def __init__(
        self, scope: Construct, construct_id: str, *, data: Data, api: Api, layer: lambda_.ILayerVersion
    ) -> None:
        super().__init__(scope, construct_id)
        function = FamilynetFunction(
            self,
            "Intake",
            name=INTAKE,
            description="POST /referrals: validates, stores a referral once and queues ReferralReceived",
            layer=layer,
            environment={ENV_TABLE_NAME: data.table.table_name},
            memory_mb=512,
            timeout=Duration.seconds(10),
            with_web=True,
        )
        self.function = function.function
        # Least privilege: one transaction of conditional puts, and a read of a submission marker on a repeat.
        self.function.add_to_role_policy(
            iam.PolicyStatement(
                actions=["dynamodb:PutItem", "dynamodb:ConditionCheckItem", "dynamodb:GetItem"],
                resources=[data.table.table_arn],
            )
        )
        function.grant_table_key(data.key)
        api.add_public_route(
            REFERRALS_ROUTE,
            self.function,
            rate_limit=REFERRALS_RATE_LIMIT,
            burst_limit=REFERRALS_BURST_LIMIT,
            reason=FORM_IS_PUBLIC,
        )
        # The web form is served by the same function, through the same API: one origin, so the page's
        # Content-Security-Policy can be 'self' only and the form posts without CORS (README: "The web form").
        for route_key in (FORM_ROUTE, FORM_ASSETS_ROUTE, *FORM_PAGE_ROUTES):
            api.add_public_route(
                route_key,
                self.function,
                rate_limit=FORM_RATE_LIMIT,
                burst_limit=FORM_BURST_LIMIT,
                reason=FORM_IS_PUBLIC,
            )
