"""The user pool as an OpenID Connect provider: the token endpoint (an authorization code and its PKCE verifier for
tokens) and the ID token's check against the pool's published keys (JWKS), issuer, audience and expiry.

The endpoints are the deployment's (the pool's domain and issuer, from settings); locally the runtime serves the same
paths (infra/local/cognito.py), so this code has no local branch."""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from functools import cache
from typing import TYPE_CHECKING, Any, Protocol

from shared.domain.errors import ServiceUnavailable

if TYPE_CHECKING:
    from jwt import PyJWKClient

_TIMEOUT_SECONDS = 5
_MAX_BODY = 64 * 1024


class SignInRefused(Exception):
    """The provider refused the code (used, expired, or another's), or its token failed a check: `why` says which
    (for the log; the person is only asked to sign in again)."""

    def __init__(self, why: str) -> None:
        super().__init__(why)
        self.why = why


class TokenEndpoint(Protocol):
    """What finishing a sign-in needs of the provider (OidcProvider; a test's fake): the code's ID token, checked."""

    def exchange(self, code: str, *, redirect_uri: str, verifier: str) -> str: ...

    def verify(self, id_token: str) -> dict[str, Any]: ...


class OidcProvider:
    def __init__(self, auth_url: str, issuer: str, client_id: str) -> None:
        self.auth_url = auth_url.rstrip("/")
        self.issuer = issuer
        self.client_id = client_id

    def authorize_url(self, **parameters: str) -> str:
        return f"{self.auth_url}/oauth2/authorize?" + urllib.parse.urlencode(parameters)

    def logout_url(self, logout_uri: str) -> str:
        return f"{self.auth_url}/logout?" + urllib.parse.urlencode(
            {"client_id": self.client_id, "logout_uri": logout_uri}
        )

    def exchange(self, code: str, *, redirect_uri: str, verifier: str) -> str:
        """The ID token for an authorization code (a public client: the PKCE verifier stands for a secret)."""
        form = urllib.parse.urlencode(
            {
                "grant_type": "authorization_code",
                "client_id": self.client_id,
                "code": code,
                "redirect_uri": redirect_uri,
                "code_verifier": verifier,
            }
        ).encode()
        request = urllib.request.Request(  # noqa: S310 - the deployment's own https endpoint, from settings
            f"{self.auth_url}/oauth2/token",
            data=form,
            headers={"Content-Type": "application/x-www-form-urlencoded", "Accept": "application/json"},
            method="POST",
        )
        try:
            with urllib.request.urlopen(request, timeout=_TIMEOUT_SECONDS) as response:  # noqa: S310
                body = response.read(_MAX_BODY)
        except urllib.error.HTTPError as exc:
            if 400 <= exc.code < 500:
                raise SignInRefused(f"token endpoint refused the code ({exc.code})") from None
            raise ServiceUnavailable(f"The sign-in service failed ({exc.code}); try again") from None
        except (urllib.error.URLError, TimeoutError, OSError) as exc:
            raise ServiceUnavailable(f"The sign-in service could not be reached: {exc}") from None
        try:
            token = json.loads(body)["id_token"]
        except (ValueError, KeyError, TypeError):
            raise SignInRefused("token endpoint answered without an ID token") from None
        if not isinstance(token, str):
            raise SignInRefused("token endpoint answered without an ID token")
        return token

    def verify(self, id_token: str) -> dict[str, Any]:
        """The ID token's claims, if its signature (the pool's JWKS), issuer, audience, expiry and use hold."""
        import jwt  # noqa: PLC0415 - deferred: only a sign-in needs it (~40 ms with cryptography)

        try:
            key = _keys(f"{self.issuer}/.well-known/jwks.json").get_signing_key_from_jwt(id_token)
            claims: dict[str, Any] = jwt.decode(
                id_token,
                key.key,
                algorithms=["RS256"],
                audience=self.client_id,
                issuer=self.issuer,
                options={"require": ["exp", "iat", "iss", "aud", "sub"]},
                leeway=30,
            )
        except jwt.PyJWKClientConnectionError as exc:
            raise ServiceUnavailable(f"The sign-in keys could not be read: {exc}") from None
        except jwt.PyJWTError as exc:
            raise SignInRefused(f"ID token refused: {type(exc).__name__}") from None
        if claims.get("token_use") != "id":
            raise SignInRefused("not an ID token")
        return claims


@cache
def _keys(jwks_url: str) -> PyJWKClient:
    """One key set client per process: PyJWT caches the keys, and fetches again for a key id it has not seen."""
    import jwt  # noqa: PLC0415

    return jwt.PyJWKClient(jwks_url, cache_keys=True, lifespan=3600, timeout=_TIMEOUT_SECONDS)
