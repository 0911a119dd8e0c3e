"""Per-client limits in AWS (issue 16, item 4): CloudFront with a WAF web ACL in front of the API, the execute-api
endpoint disabled, reserved concurrency on the public functions, security headers on every answer."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from infra.constants import CONNECTIONS, CONSOLE, EDGE_STACK_NAME, INTAKE
from shared.web.http import CONTENT_SECURITY_POLICY

CACHING_DISABLED = "4135ea2d-6df8-44a3-9df3-4b5a84be39ad"  # CloudFront's managed CachingDisabled policy


def resources(body: dict[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    return {k: v for k, v in body["Resources"].items() if v["Type"] == kind}


@pytest.fixture(scope="module")
def edge_body(cloud_assembly: Path) -> dict[str, Any]:
    return json.loads((cloud_assembly / f"{EDGE_STACK_NAME}.template.json").read_text())  # type: ignore[no-any-return]


@pytest.fixture(scope="module")
def distribution(template_body: dict[str, Any]) -> dict[str, Any]:
    [found] = resources(template_body, "AWS::CloudFront::Distribution").values()
    return found["Properties"]["DistributionConfig"]  # type: ignore[no-any-return]


def _function(body: dict[str, Any], name: str) -> dict[str, Any]:
    [found] = [
        f["Properties"]
        for f in resources(body, "AWS::Lambda::Function").values()
        if f["Properties"].get("Handler") == f"functions.{name}.handler.handler"
    ]
    return found  # type: ignore[no-any-return]


def _reads_from_the_edge_stack(value: Any, what: str) -> bool:
    """A cross-region reference: the main stack's ExportsReader attribute named after the edge stack's output."""
    reader, attribute = value["Fn::GetAtt"]
    return (
        reader.startswith("ExportsReader")
        and attribute.startswith(f"/cdk/exports/Familynet/{EDGE_STACK_NAME}")
        and (what in attribute)
    )


def test_the_execute_api_endpoint_is_disabled_and_the_api_answers_at_its_custom_domain_only(template_body):
    [api] = resources(template_body, "AWS::ApiGatewayV2::Api").values()
    assert api["Properties"]["DisableExecuteApiEndpoint"] is True
    [domain_id] = resources(template_body, "AWS::ApiGatewayV2::DomainName")
    domain = template_body["Resources"][domain_id]["Properties"]
    assert domain["DomainName"] == "familynet.example.org"
    [configuration] = domain["DomainNameConfigurations"]
    assert configuration["EndpointType"] == "REGIONAL" and configuration["SecurityPolicy"] == "TLS_1_2"
    [mapping] = resources(template_body, "AWS::ApiGatewayV2::ApiMapping").values()
    assert mapping["Properties"]["DomainName"] == {"Ref": domain_id}
    [stage] = resources(template_body, "AWS::ApiGatewayV2::Stage").values()
    assert mapping["Properties"]["Stage"] == stage["Properties"]["StageName"] == "$default"
    assert mapping["Properties"]["ApiId"] == stage["Properties"]["ApiId"]


def test_cloudfront_serves_the_public_name_through_the_edge_stacks_web_acl_and_certificate(distribution):
    assert distribution["Aliases"] == ["familynet.example.org"]
    assert _reads_from_the_edge_stack(distribution["WebACLId"], "WebAcl")
    certificate = distribution["ViewerCertificate"]
    assert _reads_from_the_edge_stack(certificate["AcmCertificateArn"], "Certificate")
    assert certificate["MinimumProtocolVersion"] == "TLSv1.2_2021" and certificate["SslSupportMethod"] == "sni-only"


def test_cloudfront_caches_nothing_and_passes_every_method_to_the_apis_custom_domain_over_tls_1_2(
    template_body, distribution
):
    behavior = distribution["DefaultCacheBehavior"]
    assert behavior["CachePolicyId"] == CACHING_DISABLED
    assert sorted(behavior["AllowedMethods"]) == sorted(["GET", "HEAD", "OPTIONS", "PUT", "PATCH", "POST", "DELETE"])
    assert behavior["ViewerProtocolPolicy"] == "redirect-to-https"
    assert "CacheBehaviors" not in distribution  # one behaviour: nothing is served around the policies below
    [origin] = distribution["Origins"]
    [domain_id] = resources(template_body, "AWS::ApiGatewayV2::DomainName")
    assert origin["DomainName"] == {"Fn::GetAtt": [domain_id, "RegionalDomainName"]}
    assert origin["CustomOriginConfig"]["OriginProtocolPolicy"] == "https-only"
    assert origin["CustomOriginConfig"]["OriginSSLProtocols"] == ["TLSv1.2"]


def test_the_origin_gets_every_viewer_header_cookie_and_query_and_the_clients_address(template_body, distribution):
    policy_id = distribution["DefaultCacheBehavior"]["OriginRequestPolicyId"]["Ref"]
    config = template_body["Resources"][policy_id]["Properties"]["OriginRequestPolicyConfig"]
    # Authorization (forwarded only by an all-viewer policy when nothing is cached), Idempotency-Key, If-Match,
    # Content-Type, Origin, Accept, and Host (the API's custom domain is the same name, so API Gateway maps it).
    assert config["HeadersConfig"] == {
        "HeaderBehavior": "allViewerAndWhitelistCloudFront",
        "Headers": ["CloudFront-Viewer-Address"],
    }
    assert config["CookiesConfig"] == {"CookieBehavior": "all"}
    assert config["QueryStringsConfig"] == {"QueryStringBehavior": "all"}


def test_cloudfront_adds_the_origin_secret_which_only_the_intake_function_knows(template_body, distribution):
    [origin] = distribution["Origins"]
    [header] = origin["OriginCustomHeaders"]
    assert header["HeaderName"] == "X-Familynet-Origin"
    secret = header["HeaderValue"]["Fn::Join"][1][1]["Ref"]
    assert (
        resources(template_body, "AWS::SecretsManager::Secret")[secret]["Properties"]["GenerateSecretString"][
            "PasswordLength"
        ]
        >= 32
    )
    # A dynamic reference: the value is resolved at deploy time, never written in the template.
    assert header["HeaderValue"] == {
        "Fn::Join": ["", ["{{resolve:secretsmanager:", {"Ref": secret}, ":SecretString:::}}"]]
    }
    holders = [
        props["Handler"]
        for props in (f["Properties"] for f in resources(template_body, "AWS::Lambda::Function").values())
        if "ORIGIN_SECRET" in props.get("Environment", {}).get("Variables", {})
    ]
    assert holders == [f"functions.{INTAKE}.handler.handler"]
    assert _function(template_body, INTAKE)["Environment"]["Variables"]["ORIGIN_SECRET"] == header["HeaderValue"]
    assert secret not in json.dumps(
        [s for s in resources(template_body, "AWS::IAM::Policy").values()]
    )  # read by no role: CloudFormation resolves it


def test_every_answer_gets_the_security_headers_api_gateways_own_errors_included(template_body, distribution):
    policy_id = distribution["DefaultCacheBehavior"]["ResponseHeadersPolicyId"]["Ref"]
    config = template_body["Resources"][policy_id]["Properties"]["ResponseHeadersPolicyConfig"]
    security = config["SecurityHeadersConfig"]
    assert security["StrictTransportSecurity"] == {
        "AccessControlMaxAgeSec": 63072000,
        "IncludeSubdomains": True,
        "Override": False,
    }
    assert security["ContentTypeOptions"] == {"Override": False}
    assert security["FrameOptions"] == {"FrameOption": "DENY", "Override": False}
    assert security["ReferrerPolicy"] == {"ReferrerPolicy": "no-referrer", "Override": False}
    # The pages' own policy (override off: a page's, or the console's, own headers win; API Gateway's 401, 403,
    # 404 and 429 have none, and get these).
    assert security["ContentSecurityPolicy"] == {
        "ContentSecurityPolicy": CONTENT_SECURITY_POLICY,
        "Override": False,
    }
    custom = {item["Header"]: item["Value"] for item in config["CustomHeadersConfig"]["Items"]}
    assert custom["Cache-Control"] == "no-store"
    assert "camera=()" in custom["Permissions-Policy"]


def test_the_web_acl_limits_each_client_on_referrals_connections_and_everything_and_runs_aws_managed_rules(
    edge_body,
):
    [acl] = resources(edge_body, "AWS::WAFv2::WebACL").values()
    props = acl["Properties"]
    assert props["Scope"] == "CLOUDFRONT" and props["DefaultAction"] == {"Allow": {}}
    rules = {rule["Name"]: rule for rule in props["Rules"]}
    rates = {name: rule["Statement"]["RateBasedStatement"] for name, rule in rules.items() if "Action" in rule}
    assert {name: (rate["Limit"], rate["AggregateKeyType"]) for name, rate in rates.items()} == {
        "RateReferrals": (100, "IP"),
        "RateConnections": (100, "IP"),
        "RateAll": (2000, "IP"),
    }
    assert all(rules[name]["Action"] == {"Block": {}} for name in rates)
    assert all(rate["EvaluationWindowSec"] == 300 for rate in rates.values())
    referrals = json.dumps(rates["RateReferrals"]["ScopeDownStatement"])
    assert '"SearchString": "POST"' in referrals and '"SearchString": "/referrals"' in referrals
    assert '"PositionalConstraint": "EXACTLY"' in referrals and "STARTS_WITH" not in referrals
    # every page a signed link opens (a partner's connection, a plan's agreement, the plan's page, a family's
    # evaluation) shares one limit
    signed = rates["RateConnections"]["ScopeDownStatement"]["OrStatement"]["Statements"]
    matches = [statement["ByteMatchStatement"] for statement in signed]
    assert {(m["SearchString"], m["PositionalConstraint"]) for m in matches} == {
        ("/agreements/", "STARTS_WITH"),
        ("/connections/", "STARTS_WITH"),
        ("/plans/", "STARTS_WITH"),
        ("/evaluations/", "STARTS_WITH"),
    }
    assert all(m["FieldToMatch"] == {"UriPath": {}} for m in matches)
    managed = {
        name: rule["Statement"]["ManagedRuleGroupStatement"]
        for name, rule in rules.items()
        if "ManagedRuleGroupStatement" in rule["Statement"]
    }
    assert set(managed) == {"AWSManagedRulesCommonRuleSet", "AWSManagedRulesKnownBadInputsRuleSet"}
    assert all(group["VendorName"] == "AWS" for group in managed.values())
    # The rate rules come first: a flood is cut before the managed rules inspect it.
    assert max(rules[name]["Priority"] for name in rates) < min(rules[name]["Priority"] for name in managed)
    # No sampled requests: a sample keeps whole requests' headers (cookies, bearer tokens) in the console.
    visibility = [props["VisibilityConfig"], *(rule["VisibilityConfig"] for rule in rules.values())]
    assert all(v["SampledRequestsEnabled"] is False and v["CloudWatchMetricsEnabled"] is True for v in visibility)


def test_waf_rate_limits_come_from_context_and_a_bad_one_fails_the_synth_naming_it():
    from infra.edge import WAF_RATE_LIMITS_CONTEXT, waf_rate_limits

    assert waf_rate_limits({"referrals": 50}) == {"referrals": 50, "connections": 100, "all": 2000}
    for wrong in ({"referrals": 5}, {"referrals": "100"}, {"referrals": True}, {"everything": 100}, [100]):
        with pytest.raises(ValueError, match=WAF_RATE_LIMITS_CONTEXT):
            waf_rate_limits(wrong)


def test_certificates_from_context_must_be_acm_arns_in_the_right_region():
    from infra.edge import CERTIFICATES_CONTEXT, certificate_arn

    edge = "arn:aws:acm:us-east-1:123456789012:certificate/0b1c2d3e-4f5a-6b7c-8d9e-0f1a2b3c4d5e"
    assert certificate_arn({"edge": edge}, "edge", "us-east-1") == edge
    assert certificate_arn({"edge": edge}, "api", "eu-west-2") is None  # the stack requests one, DNS-validated
    with pytest.raises(ValueError, match="must be a certificate in eu-west-2"):
        certificate_arn({"api": edge}, "api", "eu-west-2")
    with pytest.raises(ValueError, match=CERTIFICATES_CONTEXT):
        certificate_arn({"edge": "arn:aws:iam::123456789012:role/x"}, "edge", "us-east-1")
    with pytest.raises(ValueError, match=CERTIFICATES_CONTEXT):
        certificate_arn({"cloudfront": edge}, "edge", "us-east-1")


def test_without_certificate_arns_both_stacks_request_dns_validated_certificates_for_the_public_name(
    template_body, edge_body
):
    for body in (template_body, edge_body):
        [certificate] = resources(body, "AWS::CertificateManager::Certificate").values()
        assert certificate["Properties"]["DomainName"] == "familynet.example.org"
        assert certificate["Properties"]["ValidationMethod"] == "DNS"


def test_the_public_functions_have_reserved_concurrency_and_the_others_none(template_body):
    reserved = {
        props["Handler"].split(".")[1]: props.get("ReservedConcurrentExecutions")
        for props in (f["Properties"] for f in resources(template_body, "AWS::Lambda::Function").values())
        if props.get("Handler", "").startswith("functions.")
    }
    assert {name: value for name, value in reserved.items() if value is not None} == {
        INTAKE: 20,
        CONNECTIONS: 5,
        CONSOLE: 10,
    }


def test_reserved_concurrency_comes_from_context_and_a_bad_value_fails_the_synth_naming_it():
    from aws_cdk import App, Stack

    from infra.constructs.function import RESERVED_CONCURRENCY_CONTEXT, reserved_concurrency

    def with_context(value: Any) -> Stack:
        return Stack(App(context={RESERVED_CONCURRENCY_CONTEXT: value}), "Concurrency")

    assert reserved_concurrency(with_context({"intake": 50}), INTAKE) == 50
    assert reserved_concurrency(with_context({"intake": 50}), CONSOLE) == 10
    for wrong in ({"intake": 0}, {"intake": 5000}, {"intake": "5"}, {"scheduling": 5}, 5):
        with pytest.raises(ValueError, match=RESERVED_CONCURRENCY_CONTEXT):
            reserved_concurrency(with_context(wrong), INTAKE)
