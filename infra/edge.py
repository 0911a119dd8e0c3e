"""The edge stack (us-east-1): the WAF web ACL CloudFront uses, and CloudFront's certificate. CloudFront only takes
a web ACL of scope CLOUDFRONT and a certificate from us-east-1; the distribution itself lives in the main stack,
which reads both through CDK's cross-region references (SSM parameters written by a custom resource at deploy).

Rules, in order: a rate limit per client address on POST /referrals, one on the signed links' pages
(/connections/*, /agreements/*), one on everything; then
AWS's managed common and known-bad-inputs rule groups. Limits come from `-c 'familynet:waf_rate_limits={...}'`.
Sampled requests are off: a sample keeps whole requests' headers (cookies, bearer tokens) for hours in the console.
"""

from __future__ import annotations

import re
from typing import Any

from aws_cdk import Environment, Stack
from aws_cdk import aws_certificatemanager as acm
from aws_cdk import aws_wafv2 as wafv2
from constructs import Construct

from infra.constants import EDGE_REGION, SIGNED_LINK_PATHS

WAF_RATE_LIMITS_CONTEXT = "familynet:waf_rate_limits"
# Requests per client address per 5 minutes. A referrer sends a handful of referrals a day and a partner answers a
# link a few times; an office behind one NAT address still fits. Everything else: a page and its files per visit.
DEFAULT_WAF_RATE_LIMITS = {"referrals": 100, "connections": 100, "all": 2000}
WAF_WINDOW_SECONDS = 300
WAF_MIN_LIMIT = 10  # WAF's own bounds on a rate-based rule's limit
WAF_MAX_LIMIT = 2_000_000_000

CERTIFICATES_CONTEXT = "familynet:certificates"
_CERTIFICATE_ARN = r"^arn:aws[a-z-]*:acm:(?P<region>[a-z0-9-]+):\d{12}:certificate/[0-9a-f-]{36}$"

# The common rule set blocks any body over 8 KB; the functions bound bodies themselves (64 KB JSON, 256 KB form),
# and a referral in a language of several bytes a character passes 8 KB: that one rule only counts.
COUNTED_MANAGED_RULES = {"AWSManagedRulesCommonRuleSet": ["SizeRestrictions_BODY"]}


def waf_rate_limits(context: Any) -> dict[str, int]:
    """The rate limits (`referrals`, `connections`, `all`), each a whole number WAF accepts; unknown names and
    wrong values fail the synth naming the setting."""
    if context is None:
        return dict(DEFAULT_WAF_RATE_LIMITS)
    if not isinstance(context, dict):
        raise ValueError(f"{WAF_RATE_LIMITS_CONTEXT} must be an object like {DEFAULT_WAF_RATE_LIMITS}, not {context!r}")
    unknown = sorted(set(context) - set(DEFAULT_WAF_RATE_LIMITS))
    if unknown:
        raise ValueError(
            f"{WAF_RATE_LIMITS_CONTEXT}: unknown limit {unknown[0]!r} (known: referrals, connections, all)"
        )
    limits = {**DEFAULT_WAF_RATE_LIMITS, **context}
    for name, value in limits.items():
        if isinstance(value, bool) or not isinstance(value, int) or not WAF_MIN_LIMIT <= value <= WAF_MAX_LIMIT:
            raise ValueError(
                f"{WAF_RATE_LIMITS_CONTEXT}.{name} must be a whole number of requests per 5 minutes from "
                f"{WAF_MIN_LIMIT} to {WAF_MAX_LIMIT}, not {value!r}"
            )
    return limits


def certificate_arn(context: Any, which: str, region: str) -> str | None:
    """An existing ACM certificate's ARN from `-c 'familynet:certificates={"edge": …, "api": …}'` (`edge` in
    us-east-1 for CloudFront, `api` in the main stack's region for the API's custom domain), or None: the stack then
    requests one itself, validated by DNS (the deployment waits until its CNAME record is added)."""
    if context is None:
        return None
    if not isinstance(context, dict) or set(context) - {"edge", "api"}:
        raise ValueError(f'{CERTIFICATES_CONTEXT} must be an object with "edge" and/or "api" ARNs, not {context!r}')
    arn = context.get(which)
    if arn is None:
        return None
    found = re.match(_CERTIFICATE_ARN, arn) if isinstance(arn, str) else None
    if found is None:
        raise ValueError(f"{CERTIFICATES_CONTEXT}.{which} is not an ACM certificate ARN: {arn!r}")
    if found.group("region") != region:
        raise ValueError(f"{CERTIFICATES_CONTEXT}.{which} must be a certificate in {region}, not in {found['region']}")
    return str(arn)


class EdgeStack(Stack):
    def __init__(self, scope: Construct, construct_id: str, *, domain: str, **kwargs: Any) -> None:
        super().__init__(
            scope,
            construct_id,
            env=Environment(region=EDGE_REGION),
            cross_region_references=True,
            description="familynet edge: the WAF web ACL and certificate of the CloudFront distribution (us-east-1)",
            **kwargs,
        )
        self.rate_limits = waf_rate_limits(self.node.try_get_context(WAF_RATE_LIMITS_CONTEXT))
        given = certificate_arn(self.node.try_get_context(CERTIFICATES_CONTEXT), "edge", EDGE_REGION)
        self.certificate: acm.ICertificate = (
            acm.Certificate.from_certificate_arn(self, "Certificate", given)
            if given
            else acm.Certificate(
                self, "Certificate", domain_name=domain, validation=acm.CertificateValidation.from_dns()
            )
        )
        self.web_acl = wafv2.CfnWebACL(
            self,
            "WebAcl",
            scope="CLOUDFRONT",
            default_action=wafv2.CfnWebACL.DefaultActionProperty(allow={}),
            visibility_config=_visibility("familynet-edge"),
            description="familynet: per-client rate limits and AWS managed rules in front of the API",
            rules=[
                _rate_rule("RateReferrals", 0, self.rate_limits["referrals"], _post_referrals()),
                _rate_rule("RateConnections", 1, self.rate_limits["connections"], _signed_links()),
                _rate_rule("RateAll", 2, self.rate_limits["all"], None),
                _managed_rule("AWSManagedRulesCommonRuleSet", 3),
                _managed_rule("AWSManagedRulesKnownBadInputsRuleSet", 4),
            ],
        )


def _visibility(name: str) -> wafv2.CfnWebACL.VisibilityConfigProperty:
    return wafv2.CfnWebACL.VisibilityConfigProperty(
        cloud_watch_metrics_enabled=True, metric_name=name, sampled_requests_enabled=False
    )


def _rate_rule(
    name: str, priority: int, limit: int, scope_down: wafv2.CfnWebACL.StatementProperty | None
) -> wafv2.CfnWebACL.RuleProperty:
    return wafv2.CfnWebACL.RuleProperty(
        name=name,
        priority=priority,
        action=wafv2.CfnWebACL.RuleActionProperty(block={}),
        visibility_config=_visibility(name),
        statement=wafv2.CfnWebACL.StatementProperty(
            rate_based_statement=wafv2.CfnWebACL.RateBasedStatementProperty(
                aggregate_key_type="IP",  # the viewer's address as CloudFront sees it (no forwarded-for to forge)
                limit=limit,
                evaluation_window_sec=WAF_WINDOW_SECONDS,
                scope_down_statement=scope_down,
            )
        ),
    )


def _byte_match(
    field: wafv2.CfnWebACL.FieldToMatchProperty, value: str, where: str, transformation: str = "NONE"
) -> wafv2.CfnWebACL.StatementProperty:
    return wafv2.CfnWebACL.StatementProperty(
        byte_match_statement=wafv2.CfnWebACL.ByteMatchStatementProperty(
            field_to_match=field,
            positional_constraint=where,
            search_string=value,
            text_transformations=[wafv2.CfnWebACL.TextTransformationProperty(priority=0, type=transformation)],
        )
    )


def _path(value: str, where: str) -> wafv2.CfnWebACL.StatementProperty:
    """The path as the API will route it: percent-decoded first (`/%72eferrals` is `/referrals`)."""
    return _byte_match(wafv2.CfnWebACL.FieldToMatchProperty(uri_path={}), value, where, "URL_DECODE")


def _path_starts(prefix: str) -> wafv2.CfnWebACL.StatementProperty:
    return _path(prefix, "STARTS_WITH")


def _signed_links() -> wafv2.CfnWebACL.StatementProperty:
    """The pages signed links open (partners' connections, plans' agreement): one limit per client for them all."""
    starts = [_path_starts(prefix) for prefix in SIGNED_LINK_PATHS]
    if len(starts) == 1:
        return starts[0]
    return wafv2.CfnWebACL.StatementProperty(or_statement=wafv2.CfnWebACL.OrStatementProperty(statements=starts))


def _post_referrals() -> wafv2.CfnWebACL.StatementProperty:
    return wafv2.CfnWebACL.StatementProperty(
        and_statement=wafv2.CfnWebACL.AndStatementProperty(
            statements=[
                _byte_match(wafv2.CfnWebACL.FieldToMatchProperty(method={}), "POST", "EXACTLY"),
                # The form's and API clients' submissions only: staff decisions (POST /referrals/{ref}/…) are not
                # counted with them.
                wafv2.CfnWebACL.StatementProperty(
                    or_statement=wafv2.CfnWebACL.OrStatementProperty(
                        statements=[_path("/referrals", "EXACTLY"), _path("/referrals/", "EXACTLY")]
                    )
                ),
            ]
        )
    )


def _managed_rule(name: str, priority: int) -> wafv2.CfnWebACL.RuleProperty:
    return wafv2.CfnWebACL.RuleProperty(
        name=name,
        priority=priority,
        override_action=wafv2.CfnWebACL.OverrideActionProperty(none={}),
        visibility_config=_visibility(name),
        statement=wafv2.CfnWebACL.StatementProperty(
            managed_rule_group_statement=wafv2.CfnWebACL.ManagedRuleGroupStatementProperty(
                vendor_name="AWS",
                name=name,
                rule_action_overrides=[
                    wafv2.CfnWebACL.RuleActionOverrideProperty(
                        name=rule, action_to_use=wafv2.CfnWebACL.RuleActionProperty(count={})
                    )
                    for rule in COUNTED_MANAGED_RULES.get(name, [])
                ]
                or None,
            )
        ),
    )
