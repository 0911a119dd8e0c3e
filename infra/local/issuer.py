"""A local token issuer standing in for the Cognito user pool: RS256 tokens with `cognito:groups`, checked as
API Gateway's JWT authorizer checks them (signature, issuer, audience, expiry)."""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa

ROLE_GROUPS = {"coordinator": ["coordinators"], "manager": ["managers"], "none": []}
TOKEN_LIFETIME_SECONDS = 3600


class InvalidToken(Exception):
    pass


class LocalIssuer:
    def __init__(self, issuer_url: str, audience: list[str] | None = None) -> None:
        self.issuer = issuer_url
        self.audience = audience or ["familynet-local"]
        self._key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self._kid = uuid.uuid4().hex[:16]

    def token(
        self,
        role: str,
        subject: str | None = None,
        lifetime: int = TOKEN_LIFETIME_SECONDS,
        *,
        kind: str = "access",
        scopes: tuple[str, ...] = (),
    ) -> str:
        """A token as the user pool issues them: an access token (`client_id`, `scope`) for the API, or an ID token
        (`aud`, no scope: the staff routes refuse it)."""
        if role not in ROLE_GROUPS:
            raise ValueError(f"role must be one of {sorted(ROLE_GROUPS)}")
        if kind not in ("access", "id"):
            raise ValueError("kind must be access or id")
        now = int(time.time())
        client = self.audience[0]
        claims: dict[str, Any] = {
            "iss": self.issuer,
            "sub": subject or f"local-{role}",
            "username": subject or f"local-{role}",
            "token_use": kind,
            "iat": now,
            "exp": now + lifetime,
            "cognito:groups": ROLE_GROUPS[role],
        }
        if kind == "access":
            claims |= {"client_id": client, "scope": " ".join(scopes)}
        else:
            claims["aud"] = client
        return jwt.encode(claims, self._key, algorithm="RS256", headers={"kid": self._kid})

    def sign(self, claims: dict[str, Any]) -> str:
        """Any claims (the emulated user pool's ID and access tokens), signed with this issuer's key."""
        return jwt.encode(claims, self._key, algorithm="RS256", headers={"kid": self._kid})

    def jwks(self) -> dict[str, Any]:
        """The public key, as a user pool publishes it at <issuer>/.well-known/jwks.json."""
        public = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(self._key.public_key()))
        return {"keys": [{**public, "kid": self._kid, "alg": "RS256", "use": "sig"}]}

    def verify(self, token: str) -> dict[str, Any]:
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                self._key.public_key(),
                algorithms=["RS256"],
                issuer=self.issuer,
                options={"verify_aud": False, "require": ["exp", "iss", "sub"]},
            )
        except jwt.PyJWTError as exc:
            raise InvalidToken(str(exc)) from exc
        # as API Gateway's JWT authorizer: an ID token's `aud`, or an access token's `client_id`, is an audience
        audience = claims.get("aud", claims.get("client_id"))
        if not set(audience if isinstance(audience, list) else [audience]) & set(self.audience):
            raise InvalidToken("the token is for another client")
        return claims


def api_gateway_claims(claims: dict[str, Any]) -> dict[str, str]:
    """HTTP API passes every claim as a string; a list arrives as `[a b]`."""
    return {
        key: "[" + " ".join(str(v) for v in value) + "]" if isinstance(value, list) else str(value)
        for key, value in claims.items()
    }
