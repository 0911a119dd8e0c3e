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
from infra.constructs.api import DEFAULT_ROUTE, Api
from infra.constructs.data import Data
from infra.constructs.function import FamilynetFunction
from infra.constructs.reminders import settings_environment
from shared.config import (
    ENV_LOCALITY_DOMAINS,
    ENV_ORIGIN_SECRET,
    ENV_REFERRER_DAILY_CAP,
    ENV_REFERRER_DOMAINS,
    ENV_SOURCE_DAILY_CAP,
    ENV_TABLE_NAME,
    Settings,
)

FORM_IS_PUBLIC = (
    "part of the public referral form: referrers have no account; it is throttled (and POST bodies size-limited) "
    "instead."
)

# Who may refer (`-c familynet:referrer_domains=gov.uk,nhs.net,…`), whose lead practitioners' referrals are accepted
# at intake (`-c familynet:locality_domains=…`: the council's Locality Team domains), and the daily caps
# (`-c 'familynet:daily_caps={"per_referrer": 20, "per_source": 100}'`).
REFERRER_DOMAINS_CONTEXT = "familynet:referrer_domains"
LOCALITY_DOMAINS_CONTEXT = "familynet:locality_domains"
DAILY_CAPS_CONTEXT = "familynet:daily_caps"
DAILY_CAP_SETTINGS = {
    "per_referrer": (ENV_REFERRER_DAILY_CAP, "referrer_daily_cap"),
    "per_source": (ENV_SOURCE_DAILY_CAP, "source_daily_cap"),
}


def referrer_environment(scope: Construct) -> dict[str, str]:
    """The intake's referrer rules of this deployment, checked by the Settings model (a bad domain fails the synth
    with its name), as environment variables."""
    given = {
        field: scope.node.try_get_context(key)
        for field, key in (
            ("referrer_domains", REFERRER_DOMAINS_CONTEXT),
            ("locality_domains", LOCALITY_DOMAINS_CONTEXT),
        )
    }
    checked = Settings.model_validate({field: value for field, value in given.items() if value})
    return {
        ENV_REFERRER_DOMAINS: ",".join(checked.referrer_domains),
        ENV_LOCALITY_DOMAINS: ",".join(checked.locality_domains),
        **settings_environment(scope.node.try_get_context(DAILY_CAPS_CONTEXT), DAILY_CAP_SETTINGS, DAILY_CAPS_CONTEXT),
    }


class Intake(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        data: Data,
        api: Api,
        layer: lambda_.ILayerVersion,
        origin_secret: str,
    ) -> None:
        """`origin_secret`: what CloudFront adds to its requests (infra/constructs/cdn.py), for the per-source cap."""
        super().__init__(scope, construct_id)
        function = FamilynetFunction(
            self,
            "Intake",
            name=INTAKE,
            description="POST /referrals: validates, stores a referral once and queues ReferralReceived",
            layer=layer,
            environment={
                ENV_TABLE_NAME: data.table.table_name,
                ENV_ORIGIN_SECRET: origin_secret,
                **referrer_environment(scope),
            },
            memory_mb=512,
            timeout=Duration.seconds(10),
            with_web=True,
            public=True,
        )
        self.function = function.function
        # Least privilege: one transaction of conditional puts and the day's counters (updates), and a read of a
        # submission marker on a repeat.
        self.function.add_to_role_policy(
            iam.PolicyStatement(
                actions=["dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:ConditionCheckItem", "dynamodb:GetItem"],
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
        # What no route matches (another method, or no such path): answered by this function, 405 with the Allow
        # header where the path has routes, else 404 (API Gateway's own answer would be a bare 404 for both).
        api.add_public_route(
            DEFAULT_ROUTE,
            self.function,
            rate_limit=FORM_RATE_LIMIT,
            burst_limit=FORM_BURST_LIMIT,
            reason=FORM_IS_PUBLIC,
        )
