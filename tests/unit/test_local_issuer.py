"""The local issuer refuses what API Gateway's JWT authorizer refuses: expired, foreign and mis-addressed tokens."""

from __future__ import annotations

import time

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from infra.local.issuer import InvalidToken, LocalIssuer, api_gateway_claims

ISSUER = "https://cognito-idp.eu-west-2.amazonaws.com/StaffUsers"


def test_a_fresh_coordinator_token_verifies_with_its_group() -> None:
    issuer = LocalIssuer(ISSUER, ["client"])
    claims = issuer.verify(issuer.token("coordinator"))
    assert claims["cognito:groups"] == ["coordinators"]
    assert api_gateway_claims(claims)["cognito:groups"] == "[coordinators]"


def test_an_expired_token_is_refused() -> None:
    issuer = LocalIssuer(ISSUER, ["client"])
    with pytest.raises(InvalidToken):
        issuer.verify(issuer.token("coordinator", lifetime=-10))


def test_a_token_signed_by_another_key_is_refused() -> None:
    issuer = LocalIssuer(ISSUER, ["client"])
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    now = int(time.time())
    forged = jwt.encode(
        {"iss": ISSUER, "aud": "client", "sub": "x", "iat": now, "exp": now + 60, "cognito:groups": ["coordinators"]},
        other,
        algorithm="RS256",
    )
    with pytest.raises(InvalidToken):
        issuer.verify(forged)


def test_a_token_for_another_audience_or_issuer_is_refused() -> None:
    elsewhere = LocalIssuer("https://elsewhere.example", ["other-client"])
    ours = LocalIssuer(ISSUER, ["client"])
    with pytest.raises(InvalidToken):
        ours.verify(elsewhere.token("coordinator"))
    with pytest.raises(ValueError, match="role"):
        ours.token("admin")


def test_an_access_token_carries_its_client_and_scopes_and_an_id_token_has_no_scope() -> None:
    issuer = LocalIssuer(ISSUER, ["client"])
    access = issuer.verify(issuer.token("coordinator", scopes=("familynet-api/staff",)))
    assert (access["token_use"], access["client_id"], access["scope"]) == ("access", "client", "familynet-api/staff")
    assert "aud" not in access
    identity = issuer.verify(issuer.token("coordinator", kind="id"))
    assert (identity["token_use"], identity["aud"]) == ("id", "client") and "scope" not in identity
