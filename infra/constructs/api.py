"""The HTTP API: one stage with throttling and JSON access logs (ids and status codes, no bodies), reached only
through its custom domain (the execute-api endpoint is disabled), which is CloudFront's origin (infra/constructs/cdn.py)
and the public address (`-c familynet:public_url=https://…`; CloudFront serves the same name)."""

from __future__ import annotations

import json
import re
from typing import Any

import jsii
from aws_cdk import Fn, RemovalPolicy, Stack
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_apigatewayv2 as apigwv2
from aws_cdk import aws_apigatewayv2_integrations as integrations
from aws_cdk import aws_certificatemanager as acm
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct

from infra.constants import REFERRALS_BURST_LIMIT, REFERRALS_RATE_LIMIT, REFERRALS_ROUTE
from infra.constructs.function import LOG_RETENTION
from infra.edge import CERTIFICATES_CONTEXT, certificate_arn
from infra.nag import acknowledge
from shared.config import Settings

PUBLIC_URL_CONTEXT = "familynet:public_url"
# Offline (tests, the local runtime) and until a deployment names its own: example.org is reserved for examples.
DEFAULT_PUBLIC_URL = "https://familynet.example.org"
# Every request no route matches: its function answers 405 with Allow where the path has routes, else 404.
DEFAULT_ROUTE = "$default"

_HOST = r"(?=.{4,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}"

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
            # Only through the custom domain, CloudFront's origin: no way around the WAF by the execute-api address.
            disable_execute_api_endpoint=True,
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
        # The public name: CloudFront's alias and the API's custom domain both. CloudFront forwards the viewer's Host
        # (it must, to forward Authorization: infra/constructs/cdn.py), which API Gateway maps by this name.
        public_url = checked_public_url(self.node.try_get_context(PUBLIC_URL_CONTEXT)) or DEFAULT_PUBLIC_URL
        self.domain = public_url.removeprefix("https://")
        given = certificate_arn(self.node.try_get_context(CERTIFICATES_CONTEXT), "api", Stack.of(self).region)
        certificate = (
            acm.Certificate.from_certificate_arn(self, "Certificate", given)
            if given
            else acm.Certificate(
                self, "Certificate", domain_name=self.domain, validation=acm.CertificateValidation.from_dns()
            )
        )
        self.domain_name = apigwv2.DomainName(
            self,
            "Domain",
            domain_name=self.domain,
            certificate=certificate,
            endpoint_type=apigwv2.EndpointType.REGIONAL,
            security_policy=apigwv2.SecurityPolicy.TLS_1_2,
        )
        apigwv2.ApiMapping(self, "Mapping", api=self.http_api, domain_name=self.domain_name, stage=self.stage)
        # For links in emails and sign-in callbacks: the domain's Ref (a name the local runtime maps to its gateway).
        self.public_url: str = Fn.join("", ["https://", self.domain_name.name])

    def add_staff_route(
        self,
        route_key: str,
        function: lambda_.IFunction,
        authorizer: apigwv2.IHttpRouteAuthorizer,
        scopes: list[str] | None = None,
    ) -> apigwv2.HttpRoute:
        """A coordinators' route: a valid access token of the staff user pool with `scopes` (401 without a token,
        403 without the scope); the stage's throttling."""
        method, path = route_key.split(" ", 1)
        [route] = self.http_api.add_routes(
            path=path,
            methods=[apigwv2.HttpMethod(method)],
            integration=integrations.HttpLambdaIntegration(f"{method.title()}{_route_name(path)}", function),
            authorizer=authorizer,
            authorization_scopes=scopes,
        )
        return route

    def add_public_route(
        self, route_key: str, function: lambda_.IFunction, *, rate_limit: int, burst_limit: int, reason: str
    ) -> apigwv2.HttpRoute:
        """A route without an authorizer (cdk-nag APIG4 acknowledged with `reason`: why no login), throttled."""
        if route_key == DEFAULT_ROUTE:
            route = apigwv2.HttpRoute(
                self,
                "DefaultRoute",
                http_api=self.http_api,
                route_key=apigwv2.HttpRouteKey.DEFAULT,
                integration=integrations.HttpLambdaIntegration("DefaultIntegration", function),
            )
        else:
            method, path = route_key.split(" ", 1)
            [route] = self.http_api.add_routes(
                path=path,
                methods=[apigwv2.HttpMethod(method)],
                integration=integrations.HttpLambdaIntegration(f"{method.title()}{_route_name(path)}", function),
            )
        self._route_settings[route_key] = {
            "ThrottlingRateLimit": rate_limit,
            "ThrottlingBurstLimit": burst_limit,
        }
        stage = self.stage.node.default_child
        assert isinstance(stage, apigwv2.CfnStage)
        stage.add_property_override("RouteSettings", self._route_settings)
        acknowledge(route, "AwsSolutions-APIG4", f"{route_key}: {reason}")
        return route


def checked_public_url(context: Any) -> str | None:
    """The API's custom domain (`-c familynet:public_url=https://…`), checked like every setting: an https address
    (links in emails carry a signed token), no trailing slash. None when not given."""
    if context is None or context == "":
        return None
    if not isinstance(context, str) or not context.startswith("https://"):
        raise ValueError(f"{PUBLIC_URL_CONTEXT} must be an https:// address (the API's custom domain), not {context!r}")
    try:
        checked = Settings.model_validate({"public_url": context.rstrip("/")})
    except ValueError as exc:
        raise ValueError(f"{PUBLIC_URL_CONTEXT} is not a valid address: {exc}") from exc
    host = checked.public_url.removeprefix("https://")
    if not re.fullmatch(_HOST, host):
        raise ValueError(
            f"{PUBLIC_URL_CONTEXT} must be https:// and a host name only (CloudFront's alias and the API's custom "
            f"domain: no port, path or address), not {context!r}"
        )
    return checked.public_url


def _route_name(path: str) -> str:
    return "".join(part.title() for part in path.strip("/").replace("{", "").replace("}", "").split("/")) or "Root"


def referrals_route_limits() -> tuple[str, int, int]:
    return REFERRALS_ROUTE, REFERRALS_RATE_LIMIT, REFERRALS_BURST_LIMIT
