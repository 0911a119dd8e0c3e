"""Signed links: what was signed comes back; altered, foreign, expired or another purpose's links are refused with a
reason."""

from __future__ import annotations

import string
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shared.domain.links import LinkRefused, sign, verify

KEY = b"k" * 32
NOW = datetime(2026, 11, 25, 12, tzinfo=UTC)
CLAIMS = {"connection": "c-1234", "partner": "p-abcdef", "reference": "FN-7KQ2MX4P"}


def test_a_signed_link_gives_back_its_claims_until_it_expires() -> None:
    token = sign(CLAIMS, purpose="connection", key=KEY, now=NOW, valid_for=timedelta(days=14))
    assert set(token) <= set(string.ascii_letters + string.digits + "-_.")  # goes in a URL as it is
    claims = verify(token, purpose="connection", key=KEY, now=NOW + timedelta(days=13))
    assert {k: claims[k] for k in CLAIMS} == CLAIMS
    with pytest.raises(LinkRefused) as refused:
        verify(token, purpose="connection", key=KEY, now=NOW + timedelta(days=14))
    assert refused.value.reason == "expired"


def test_a_link_signed_with_another_key_is_refused() -> None:
    token = sign(CLAIMS, purpose="connection", key=b"x" * 32, now=NOW, valid_for=timedelta(days=1))
    with pytest.raises(LinkRefused) as refused:
        verify(token, purpose="connection", key=KEY, now=NOW)
    assert refused.value.reason == "tampered"


@given(position=st.integers(min_value=0), replacement=st.sampled_from("ABCxyz019-_"))
def test_any_altered_character_is_refused(position: int, replacement: str) -> None:
    token = sign(CLAIMS, purpose="connection", key=KEY, now=NOW, valid_for=timedelta(days=1))
    index = position % len(token)
    altered = token[:index] + replacement + token[index + 1 :]
    if altered == token:
        return
    with pytest.raises(LinkRefused):
        verify(altered, purpose="connection", key=KEY, now=NOW)


@pytest.mark.parametrize("token", ["", "nodot", ".sig", "payload.", "%%%.%%%", "abc.é", "é.é", "a.b\u0000"])
def test_a_malformed_link_is_refused(token: str) -> None:
    with pytest.raises(LinkRefused):
        verify(token, purpose="connection", key=KEY, now=NOW)


def test_a_short_key_is_refused_at_signing() -> None:
    with pytest.raises(ValueError, match="32 bytes"):
        sign(CLAIMS, purpose="connection", key=b"short", now=NOW, valid_for=timedelta(days=1))


@given(token=st.text(max_size=300))
def test_any_text_at_all_is_refused_with_a_reason_never_an_error(token: str) -> None:
    with pytest.raises(LinkRefused):
        verify(token, purpose="connection", key=KEY, now=NOW)


def test_a_link_made_for_one_purpose_is_refused_for_every_other() -> None:
    purposes = ("connection", "agreement", "plan", "evaluation")
    for made_for in purposes:
        token = sign(CLAIMS, purpose=made_for, key=KEY, now=NOW, valid_for=timedelta(days=1))  # type: ignore[arg-type]
        assert verify(token, purpose=made_for, key=KEY, now=NOW)["use"] == made_for  # type: ignore[arg-type]
        for other in purposes:
            if other != made_for:
                with pytest.raises(LinkRefused) as refused:
                    verify(token, purpose=other, key=KEY, now=NOW)  # type: ignore[arg-type]
                assert refused.value.reason == "foreign"


def test_a_partner_s_link_signed_before_purposes_were_stated_is_a_connection_link_only() -> None:
    import base64
    import hashlib
    import hmac
    import json

    payload = base64.urlsafe_b64encode(json.dumps({**CLAIMS, "exp": int(NOW.timestamp()) + 60}).encode()).decode()
    payload = payload.rstrip("=")
    signature = base64.urlsafe_b64encode(hmac.new(KEY, payload.encode(), hashlib.sha256).digest()).decode().rstrip("=")
    legacy = f"{payload}.{signature}"
    assert verify(legacy, purpose="connection", key=KEY, now=NOW)["reference"] == CLAIMS["reference"]
    for other in ("agreement", "plan", "evaluation"):
        with pytest.raises(LinkRefused):
            verify(legacy, purpose=other, key=KEY, now=NOW)
