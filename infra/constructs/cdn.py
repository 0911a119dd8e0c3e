"""CloudFront in front of the API: the edge stack's WAF web ACL and certificate, no caching, every method, and the
security headers on every answer (API Gateway's own 401/403/404/429 included: an HTTP API cannot change those).

The origin is the API's custom domain (the execute-api endpoint is disabled). CloudFront forwards every viewer
header, Host included (only an all-viewer policy forwards Authorization when nothing is cached; Host is the API's
custom domain name, so API Gateway maps it), plus CloudFront-Viewer-Address, the client's address. It adds the origin
secret (a generated Secrets Manager value) to each request: the intake function believes the viewer address only
beside it, so a client that goes round CloudFront to the API's domain is counted by its own address.
"""

from __future__ import annotations

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_certificatemanager as acm
from aws_cdk import aws_cloudfront as cloudfront
from aws_cdk import aws_cloudfront_origins as origins
from aws_cdk import aws_secretsmanager as secretsmanager
from constructs import Construct

from infra.constructs.api import Api
from infra.nag import acknowledge
from shared.web.http import CONTENT_SECURITY_POLICY
from shared.web.intake import ORIGIN_SECRET_HEADER, VIEWER_ADDRESS_HEADER

ORIGIN_SECRET_LENGTH = 48
# On every answer that does not set its own (override off: the pages' and the console's own choices win).
PERMISSIONS_POLICY = "camera=(), microphone=(), geolocation=(), payment=(), usb=()"
HSTS_SECONDS = 63072000  # two years, as the functions send it (shared/web/http.py)


class Cdn(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        api: Api,
        web_acl_arn: str,
        certificate_arn: str,
    ) -> None:
        super().__init__(scope, construct_id)
        self.origin_secret = secretsmanager.Secret(
            self,
            "OriginSecret",
            description="familynet: the header value CloudFront adds to requests to the API (proves the path)",
            generate_secret_string=secretsmanager.SecretStringGenerator(
                password_length=ORIGIN_SECRET_LENGTH, exclude_punctuation=True, include_space=False
            ),
            removal_policy=RemovalPolicy.DESTROY,
        )
        acknowledge(
            self.origin_secret,
            "AwsSolutions-SMG4",
            "CloudFront's origin header and the intake function's environment both take this value at deploy time "
            "(dynamic references): a new value is rolled out by a deployment, not by Secrets Manager rotation.",
        )
        # The resolved value lives in CloudFront's and the function's configuration (read by admins only); it only
        # decides which address a referral is counted under, never access.
        self.origin_secret_value = self.origin_secret.secret_value.unsafe_unwrap()
        self.origin_request_policy = cloudfront.OriginRequestPolicy(
            self,
            "ForwardAll",
            comment="familynet: every viewer header (Authorization, cookies, Idempotency-Key, If-Match...), query "
            "and cookie, and the client's address",
            header_behavior=cloudfront.OriginRequestHeaderBehavior.all(VIEWER_ADDRESS_HEADER),
            cookie_behavior=cloudfront.OriginRequestCookieBehavior.all(),
            query_string_behavior=cloudfront.OriginRequestQueryStringBehavior.all(),
        )
        self.response_headers_policy = cloudfront.ResponseHeadersPolicy(
            self,
            "SecurityHeaders",
            comment="familynet: security headers on every answer, API Gateway's own errors included",
            security_headers_behavior=cloudfront.ResponseSecurityHeadersBehavior(
                strict_transport_security=cloudfront.ResponseHeadersStrictTransportSecurity(
                    access_control_max_age=Duration.seconds(HSTS_SECONDS), include_subdomains=True, override=False
                ),
                content_type_options=cloudfront.ResponseHeadersContentTypeOptions(override=False),
                frame_options=cloudfront.ResponseHeadersFrameOptions(
                    frame_option=cloudfront.HeadersFrameOption.DENY, override=False
                ),
                referrer_policy=cloudfront.ResponseHeadersReferrerPolicy(
                    referrer_policy=cloudfront.HeadersReferrerPolicy.NO_REFERRER, override=False
                ),
                content_security_policy=cloudfront.ResponseHeadersContentSecurityPolicy(
                    content_security_policy=CONTENT_SECURITY_POLICY, override=False
                ),
            ),
            custom_headers_behavior=cloudfront.ResponseCustomHeadersBehavior(
                custom_headers=[
                    cloudfront.ResponseCustomHeader(header="Cache-Control", value="no-store", override=False),
                    cloudfront.ResponseCustomHeader(
                        header="Permissions-Policy", value=PERMISSIONS_POLICY, override=False
                    ),
                    cloudfront.ResponseCustomHeader(
                        header="Cross-Origin-Opener-Policy", value="same-origin", override=False
                    ),
                ]
            ),
        )
        origin = origins.HttpOrigin(
            api.domain_name.regional_domain_name,
            protocol_policy=cloudfront.OriginProtocolPolicy.HTTPS_ONLY,
            origin_ssl_protocols=[cloudfront.OriginSslPolicy.TLS_V1_2],
            read_timeout=Duration.seconds(30),  # an HTTP API's own limit
            custom_headers={ORIGIN_SECRET_HEADER: self.origin_secret_value},
        )
        self.distribution = cloudfront.Distribution(
            self,
            "Distribution",
            comment="familynet: the web form, partners' links, the staff console and API",
            domain_names=[api.domain],
            certificate=acm.Certificate.from_certificate_arn(self, "Certificate", certificate_arn),
            minimum_protocol_version=cloudfront.SecurityPolicyProtocol.TLS_V1_2_2021,
            http_version=cloudfront.HttpVersion.HTTP2_AND_3,
            price_class=cloudfront.PriceClass.PRICE_CLASS_100,  # Europe and North America edges
            enable_ipv6=True,
            web_acl_id=web_acl_arn,
            default_behavior=cloudfront.BehaviorOptions(
                origin=origin,
                viewer_protocol_policy=cloudfront.ViewerProtocolPolicy.REDIRECT_TO_HTTPS,
                allowed_methods=cloudfront.AllowedMethods.ALLOW_ALL,
                cache_policy=cloudfront.CachePolicy.CACHING_DISABLED,
                origin_request_policy=self.origin_request_policy,
                response_headers_policy=self.response_headers_policy,
                compress=True,
            ),
        )
        acknowledge(
            self.distribution,
            "AwsSolutions-CFR3",
            "No CloudFront access logs: they would keep every client's address and the partners' signed link tokens "
            "(in /connections/{token} paths). The API's access logs already record each request by id, route and "
            "status, without addresses or paths; WAF's metrics count what its rules block.",
        )
        acknowledge(
            self.distribution,
            "AwsSolutions-CFR1",
            "No geo restriction: referrers, partners and coordinators are in England, but work from devices and VPNs "
            "that may leave from elsewhere; the WAF's per-address rate limits and managed rules guard the API.",
        )
