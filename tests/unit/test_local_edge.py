"""The local gateway plays the template's CloudFront distribution: the origin secret and the client's address go on
each request (a client's own values replaced), the response headers policy's headers on each answer lacking them;
and the public name resolves to the gateway (links in emails, sign-in callbacks)."""

from __future__ import annotations

from typing import Any

from werkzeug.wrappers import Response

from infra.local.gateway import edge_of
from infra.local.provision import _apis
from infra.local.template import Template

SECRET_ARN = "arn:aws:secretsmanager:eu-west-2:123456789012:secret:Origin-abc"


def cloudfront_template() -> Template:
    """The shapes infra/constructs/cdn.py synthesizes (tests/infra/test_edge.py asserts the real ones)."""
    resources: dict[str, Any] = {
        "Secret": {"Type": "AWS::SecretsManager::Secret", "Properties": {}},
        "Forward": {
            "Type": "AWS::CloudFront::OriginRequestPolicy",
            "Properties": {
                "OriginRequestPolicyConfig": {
                    "HeadersConfig": {
                        "HeaderBehavior": "allViewerAndWhitelistCloudFront",
                        "Headers": ["CloudFront-Viewer-Address"],
                    }
                }
            },
        },
        "Headers": {
            "Type": "AWS::CloudFront::ResponseHeadersPolicy",
            "Properties": {
                "ResponseHeadersPolicyConfig": {
                    "SecurityHeadersConfig": {
                        "ContentTypeOptions": {"Override": False},
                        "FrameOptions": {"FrameOption": "DENY", "Override": False},
                        "StrictTransportSecurity": {"AccessControlMaxAgeSec": 600, "IncludeSubdomains": True},
                    },
                    "CustomHeadersConfig": {"Items": [{"Header": "Cache-Control", "Value": "no-store"}]},
                }
            },
        },
        "Domain": {"Type": "AWS::ApiGatewayV2::DomainName", "Properties": {"DomainName": "families.example.org"}},
        "Distribution": {
            "Type": "AWS::CloudFront::Distribution",
            "Properties": {
                "DistributionConfig": {
                    "Origins": [
                        {
                            "OriginCustomHeaders": [
                                {
                                    "HeaderName": "X-Familynet-Origin",
                                    "HeaderValue": {
                                        "Fn::Join": [
                                            "",
                                            ["{{resolve:secretsmanager:", {"Ref": "Secret"}, ":SecretString:::}}"],
                                        ]
                                    },
                                }
                            ]
                        }
                    ],
                    "DefaultCacheBehavior": {
                        "OriginRequestPolicyId": {"Ref": "Forward"},
                        "ResponseHeadersPolicyId": {"Ref": "Headers"},
                    },
                }
            },
        },
    }
    template = Template({"Resources": resources})
    template.attributes["Secret"] = {"Ref": SECRET_ARN}
    template.secret_values[SECRET_ARN] = "the-value-cloudfront-sends"
    return template


def test_each_request_gets_the_origin_secret_and_the_viewer_address_and_forged_ones_are_replaced() -> None:
    edge = edge_of(cloudfront_template())
    assert edge is not None

    headers = edge.request_headers(
        {"x-familynet-origin": "forged", "cloudfront-viewer-address": "198.51.100.1:1", "accept": "text/html"},
        "127.0.0.1",
        52100,
    )

    assert headers == {
        "accept": "text/html",
        "x-familynet-origin": "the-value-cloudfront-sends",
        "cloudfront-viewer-address": "127.0.0.1:52100",
    }


def test_answers_get_the_policys_headers_they_lack_and_keep_their_own() -> None:
    edge = edge_of(cloudfront_template())
    assert edge is not None

    answer = edge.answer(Response("{}", 404, headers={"X-Frame-Options": "SAMEORIGIN"}))

    assert answer.headers["X-Frame-Options"] == "SAMEORIGIN"  # the function's own choice wins (override off)
    assert answer.headers["X-Content-Type-Options"] == "nosniff"
    assert answer.headers["Strict-Transport-Security"] == "max-age=600; includeSubDomains"
    assert answer.headers["Cache-Control"] == "no-store"


def test_without_a_distribution_the_gateway_adds_nothing() -> None:
    assert edge_of(Template({"Resources": {}})) is None


def test_the_public_name_resolves_to_the_gateway() -> None:
    template = cloudfront_template()
    _apis(template, "http://127.0.0.1:40123")

    link = template.resolve({"Fn::Join": ["", ["https://", {"Ref": "Domain"}, "/connections/abc"]]})

    assert link == "http://127.0.0.1:40123/connections/abc"
