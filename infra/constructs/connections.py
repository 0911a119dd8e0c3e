"""Signed links: the key that signs them (a Secrets Manager secret, encrypted with the data key), and the connections
function behind the public pages they open: GET/POST /connections/{token} (a partner's answer), GET/POST
/agreements/{token} (the lead practitioner's agreement to a plan). The signed link is the authorisation.
"""

from __future__ import annotations

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_secretsmanager as secretsmanager
from constructs import Construct

from infra.constants import CONNECTION_ROUTES, CONNECTIONS, CONNECTIONS_BURST_LIMIT, CONNECTIONS_RATE_LIMIT
from infra.constructs.api import Api
from infra.constructs.data import Data
from infra.constructs.feedback import coordinators_email
from infra.constructs.function import FamilynetFunction
from infra.constructs.reminders import DEADLINES_CONTEXT, deadline_environment
from infra.nag import acknowledge
from shared.adapters import table as layout
from shared.config import (
    ENV_COORDINATORS_EMAIL,
    ENV_LINK_KEY_SECRET_ARN,
    ENV_PARTNER_ANSWER_WORKING_DAYS,
    ENV_TABLE_NAME,
    Settings,
)

LINK_KEY_LENGTH = 64
PARTNERS_USE_LINKS = (
    "community partners and lead practitioners take part by email only (no account); the signed, expiring link in "
    "the path is the authorisation; the route is throttled."
)


class Connections(Construct):
    def __init__(
        self, scope: Construct, construct_id: str, *, data: Data, api: Api, layer: lambda_.ILayerVersion
    ) -> None:
        super().__init__(scope, construct_id)
        # One key signs every link (the feedback function signs, this function verifies). It guards links that
        # expire within weeks: nothing in it is worth keeping once the stack is gone.
        self.link_key = secretsmanager.Secret(
            self,
            "LinkKey",
            description="familynet: the HMAC key that signs community partners' connection links",
            encryption_key=data.key,
            generate_secret_string=secretsmanager.SecretStringGenerator(
                password_length=LINK_KEY_LENGTH, exclude_punctuation=True, include_space=False
            ),
            removal_policy=RemovalPolicy.DESTROY,
        )
        acknowledge(
            self.link_key,
            "AwsSolutions-SMG4",
            f"Links are valid for {Settings().connection_link_days} days (CONNECTION_LINK_DAYS) and rotating the key "
            "invalidates every link already sent, so it is rotated by hand (docs/operations.md: Rotating the "
            "partners' link key).",
        )
        function = FamilynetFunction(
            self,
            "Connections",
            name=CONNECTIONS,
            description="Signed links' pages: a partner answers a connection; a lead practitioner agrees a plan",
            layer=layer,
            environment={
                ENV_TABLE_NAME: data.table.table_name,
                ENV_LINK_KEY_SECRET_ARN: self.link_key.secret_arn,
                ENV_COORDINATORS_EMAIL: coordinators_email(self),
                # a plan agreed through its link asks its partners, whose answers are due this many working days on
                ENV_PARTNER_ANSWER_WORKING_DAYS: deadline_environment(self.node.try_get_context(DEADLINES_CONTEXT))[
                    ENV_PARTNER_ANSWER_WORKING_DAYS
                ],
            },
            memory_mb=256,
            timeout=Duration.seconds(10),
            public=True,
            with_web=True,  # the partner's page uses the web form's layout and assets
        )
        self.function = function.function
        # Least privilege: GetItem by key (a link names its items), conditional writes of the answer, its audit entry
        # and outbox events; a Query of one referral's partition only (a plan's agreement reads the case it changes:
        # its plan, meeting and connections); no index, no Scan, no Delete.
        self.function.add_to_role_policy(
            iam.PolicyStatement(
                actions=[
                    "dynamodb:GetItem",
                    "dynamodb:PutItem",
                    "dynamodb:UpdateItem",
                    "dynamodb:ConditionCheckItem",
                ],
                resources=[data.table.table_arn],
            )
        )
        self.function.add_to_role_policy(
            iam.PolicyStatement(
                actions=["dynamodb:Query"],
                resources=[data.table.table_arn],
                conditions={"ForAllValues:StringLike": {"dynamodb:LeadingKeys": [layout.referral_pk("*")]}},
            )
        )
        function.grant_table_key(data.key)
        self.link_key.grant_read(self.function)  # and decrypt with its KMS key, through Secrets Manager only
        for route_key in CONNECTION_ROUTES:
            api.add_public_route(
                route_key,
                self.function,
                rate_limit=CONNECTIONS_RATE_LIMIT,
                burst_limit=CONNECTIONS_BURST_LIMIT,
                reason=PARTNERS_USE_LINKS,
            )
