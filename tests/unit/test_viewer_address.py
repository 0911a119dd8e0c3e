"""The address a referral is counted under (shared/web/intake.py): CloudFront's viewer address only beside the origin
secret CloudFront adds; otherwise the address API Gateway saw, whatever headers the client sent."""

from __future__ import annotations

from typing import Any

import pytest

from shared.config import Settings
from shared.web.intake import ORIGIN_SECRET_HEADER, VIEWER_ADDRESS_HEADER, source_ip, viewer_address

SECRET = "s3cr3t-value-from-cloudfront-0123456789"
BEHIND_CLOUDFRONT = Settings(origin_secret=SECRET)


def _event(headers: dict[str, str], source: str = "130.176.0.1") -> dict[str, Any]:
    return {"headers": {k.lower(): v for k, v in headers.items()}, "requestContext": {"http": {"sourceIp": source}}}


def test_through_cloudfront_the_client_is_the_viewer_address():
    event = _event({ORIGIN_SECRET_HEADER: SECRET, VIEWER_ADDRESS_HEADER: "203.0.113.7:52100"})
    assert source_ip(event, BEHIND_CLOUDFRONT) == "203.0.113.7"


def test_an_ipv6_viewer_address_is_read_without_its_port():
    event = _event({ORIGIN_SECRET_HEADER: SECRET, VIEWER_ADDRESS_HEADER: "2001:db8:0:0:0:0:0:1:443"})
    assert source_ip(event, BEHIND_CLOUDFRONT) == "2001:db8::1"


@pytest.mark.parametrize(
    "headers",
    [
        {VIEWER_ADDRESS_HEADER: "198.51.100.1:1"},  # round CloudFront to the API's domain, forging the address
        {ORIGIN_SECRET_HEADER: "guess", VIEWER_ADDRESS_HEADER: "198.51.100.1:1"},
        {ORIGIN_SECRET_HEADER: SECRET[:-1], VIEWER_ADDRESS_HEADER: "198.51.100.1:1"},
    ],
)
def test_without_the_origin_secret_a_viewer_address_is_ignored(headers):
    assert source_ip(_event(headers, source="192.0.2.50"), BEHIND_CLOUDFRONT) == "192.0.2.50"


def test_without_cloudfront_configured_the_header_means_nothing():
    event = _event({ORIGIN_SECRET_HEADER: SECRET, VIEWER_ADDRESS_HEADER: "198.51.100.1:1"}, source="192.0.2.50")
    assert source_ip(event, Settings()) == "192.0.2.50"


@pytest.mark.parametrize("value", ["", "203.0.113.7", "not-an-address:80", "203.0.113.7:port", "1.2.3.4:5" * 10])
def test_a_malformed_viewer_address_falls_back_to_the_gateways_view(value):
    assert viewer_address(value) is None
    event = _event({ORIGIN_SECRET_HEADER: SECRET, VIEWER_ADDRESS_HEADER: value}, source="192.0.2.50")
    assert source_ip(event, BEHIND_CLOUDFRONT) == "192.0.2.50"
