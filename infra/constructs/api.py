"""The HTTP API: one stage with throttling and JSON access logs (ids and status codes, no bodies)."""

from __future__ import annotations

import json

import jsii
from aws_cdk import RemovalPolicy
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_apigatewayv2 as apigwv2
from aws_cdk import aws_apigatewayv2_integrations as integrations
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct

from infra.constants import REFERRALS_BURST_LIMIT, REFERRALS_RATE_LIMIT, REFERRALS_ROUTE
from infra.constructs.function import LOG_RETENTION
from infra.nag import acknowledge

_ACCESS_LOG_FIELDS = {
    "requestId": "$context.requestId",
    "requestTime": "$context.requestTime",
    "routeKey": "$context.routeKey",
    "status": "$context.status",
    "responseLength": "$context.responseLength",
    "integrationLatency": "$context.integrationLatency",
    "latency": "$context.responseLatency",
    "integrationError": "$context.integrationErrorMessage",
}


@jsii.implements(apigwv2.IAccessLogSettings)
class _AccessLogs:
    def __init__(self, log_group: logs.ILogGroup) -> None:
        self._destination = apigwv2.LogGroupLogDestination(log_group)

    @property
    def destination(self) -> apigwv2.IAccessLogDestination:
        return self._destination

    @property
    def format(self) -> apigw.AccessLogFormat:
        return apigw.AccessLogFormat.custom(json.dumps(_ACCESS_LOG_FIELDS))


class Api(Construct):
    def __init__(self, scope: Construct, construct_id: str) -> None:
        super().__init__(scope, construct_id)
        self.http_api = apigwv2.HttpApi(
            self,
            "HttpApi",
            description="familynet: referrals from the web form, coordinators' routes",
            create_default_stage=False,
        )
        self.access_logs = logs.LogGroup(
            self, "AccessLogs", retention=LOG_RETENTION, removal_policy=RemovalPolicy.DESTROY
        )
        self.stage = self.http_api.add_stage(
            "DefaultStage",
            stage_name="$default",
            auto_deploy=True,
            throttle=apigwv2.ThrottleSettings(
                rate_limit=REFERRALS_RATE_LIMIT * 5, burst_limit=REFERRALS_BURST_LIMIT * 5
            ),
            access_log_settings=_AccessLogs(self.access_logs),
        )
        self._route_settings: dict[str, dict[str, int]] = {}

    def add_staff_route(
        self, route_key: str, function: lambda_.IFunction, authorizer: apigwv2.IHttpRouteAuthorizer
    ) -> apigwv2.HttpRoute:
        """A coordinators' route: a valid token of the staff user pool (401 otherwise); the stage's throttling."""
        method, path = route_key.split(" ", 1)
        [route] = self.http_api.add_routes(
            path=path,
            methods=[apigwv2.HttpMethod(method)],
            integration=integrations.HttpLambdaIntegration(f"{method.title()}{_route_name(path)}", function),
            authorizer=authorizer,
        )
        return route

    def add_public_route(
        self, route_key: str, function: lambda_.IFunction, *, rate_limit: int, burst_limit: int
    ) -> apigwv2.HttpRoute:
        method, path = route_key.split(" ", 1)
        name = "".join(part.title() for part in path.strip("/").replace("{", "").replace("}", "").split("/")) or "Root"
        [route] = self.http_api.add_routes(
            path=path,
            methods=[apigwv2.HttpMethod(method)],
            integration=integrations.HttpLambdaIntegration(f"{method.title()}{name}", function),
        )
        self._route_settings[route_key] = {
            "ThrottlingRateLimit": rate_limit,
            "ThrottlingBurstLimit": burst_limit,
        }
        stage = self.stage.node.default_child
        assert isinstance(stage, apigwv2.CfnStage)
        stage.add_property_override("RouteSettings", self._route_settings)
        acknowledge(
            route,
            "AwsSolutions-APIG4",
            f"{route_key} is part of the public referral form: referrers have no account; it is throttled "
            "(and POST bodies size-limited) instead.",
        )
        return route


def _route_name(path: str) -> str:
    return "".join(part.title() for part in path.strip("/").replace("{", "").replace("}", "").split("/")) or "Root"


def referrals_route_limits() -> tuple[str, int, int]:
    return REFERRALS_ROUTE, REFERRALS_RATE_LIMIT, REFERRALS_BURST_LIMIT
