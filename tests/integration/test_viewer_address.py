"""Behind CloudFront, a referral is counted under the client's address (CloudFront-Viewer-Address) only when the
request carries the origin secret CloudFront adds; a client going round CloudFront cannot choose its address.
Through the intake handler, on moto, with the environment the template gives it (the secret resolved as deployed)."""

from __future__ import annotations

from typing import Any

import pytest

from infra.constants import INTAKE
from shared.web.intake import ORIGIN_SECRET_HEADER, VIEWER_ADDRESS_HEADER
from tests.integration.conftest import api_event, invoke
from tests.integration.test_referrers import _with_email


def _referral(cloud: Any, body: dict[str, Any], n: int, headers: dict[str, str], source: str) -> int:
    event = api_event(_with_email({**body, "reason": f"Referral {n}"}, f"worker{n}@leeds.gov.uk"), headers=headers)
    event["requestContext"]["http"]["sourceIp"] = source
    return invoke(INTAKE, cloud, event)["statusCode"]  # type: ignore[no-any-return]


@pytest.fixture
def origin_secret(cloud: Any, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setitem(cloud.function(INTAKE).environment, "SOURCE_DAILY_CAP", "2")
    secret = cloud.function(INTAKE).environment["ORIGIN_SECRET"]
    assert len(secret) >= 32 and "{{resolve" not in secret  # the secret's value, as CloudFormation resolves it
    return secret  # type: ignore[no-any-return]


def test_through_cloudfront_each_viewer_is_counted_on_its_own(cloud, referral_body, origin_secret):
    edge = "130.176.0.1"  # every request reaches API Gateway from a CloudFront edge server
    answers = [
        _referral(
            cloud,
            referral_body,
            n,
            {ORIGIN_SECRET_HEADER: origin_secret, VIEWER_ADDRESS_HEADER: f"203.0.113.{n % 2}:5{n}000"},
            edge,
        )
        for n in range(5)
    ]
    # two viewers, two referrals each, then the first is capped: not one edge address capped at 2
    assert answers == [201, 201, 201, 201, 429]


def test_a_forged_viewer_address_without_the_secret_is_counted_under_the_real_address(
    cloud, referral_body, origin_secret
):
    answers = [
        _referral(
            cloud,
            referral_body,
            n,
            {ORIGIN_SECRET_HEADER: "a-guess-at-the-secret-value-000000", VIEWER_ADDRESS_HEADER: f"198.51.100.{n}:1"},
            "192.0.2.50",
        )
        for n in range(3)
    ]
    assert answers == [201, 201, 429]  # a new forged address each time changes nothing
