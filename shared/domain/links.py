"""Signed, expiring links for people who take part by email only (no login): partners' connection replies (issue
10), the lead practitioner's agreement to a plan, the plan's own page and the family's evaluation of the meeting
(issue 21).

A token is `<payload>.<signature>`, both base64url: the payload is the JSON of what the link is for (ids only), its
purpose (`use`) and its expiry; the signature is HMAC-SHA256 of the payload with the deployment's key. `verify`
refuses a token that was altered, signed with another key, has expired, or was made for another purpose, each with
its own reason: one purpose per token, so a partner's connection link never opens a plan or agrees one. A link's
single use is the store's business (the connection's or agreement's state), not the token's.

The standard library's `hmac` rather than a package (itsdangerous): thirty lines, nothing more in the Lambda layer,
and the expiry is a claim of our own rather than a timestamp format to learn.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from datetime import datetime, timedelta
from typing import Any, Literal

MIN_KEY_BYTES = 32
Purpose = Literal["connection", "agreement", "plan", "evaluation"]
# Partners' links signed before purposes were stated carry none: they are connection links, and only those.
UNSTATED_PURPOSE: Purpose = "connection"


class LinkRefused(Exception):
    def __init__(self, reason: Literal["malformed", "tampered", "expired", "foreign"]) -> None:
        super().__init__(reason)
        self.reason = reason


def _encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _signature(payload: str, key: bytes) -> str:
    return _encode(hmac.new(key, payload.encode(), hashlib.sha256).digest())


def sign(claims: dict[str, str], *, purpose: Purpose, key: bytes, now: datetime, valid_for: timedelta) -> str:
    if len(key) < MIN_KEY_BYTES:
        raise ValueError(f"The link key must be at least {MIN_KEY_BYTES} bytes")
    body = {**claims, "use": purpose, "exp": int((now + valid_for).timestamp())}
    payload = _encode(json.dumps(body, sort_keys=True, separators=(",", ":")).encode())
    return f"{payload}.{_signature(payload, key)}"


def verify(token: str, *, purpose: Purpose, key: bytes, now: datetime) -> dict[str, Any]:
    """The link's claims, if it was made for `purpose`; LinkRefused saying why not (a link made for another purpose
    is "foreign", even when its signature holds)."""
    payload, dot, signature = token.partition(".")
    if not dot or not payload or not signature:
        raise LinkRefused("malformed")
    # Bytes, not str: compare_digest refuses non-ASCII text (a pasted link can hold anything).
    if not hmac.compare_digest(signature.encode(), _signature(payload, key).encode()):
        raise LinkRefused("tampered")
    try:
        claims = json.loads(_decode(payload))
    except (binascii.Error, ValueError, UnicodeDecodeError):
        raise LinkRefused("malformed") from None
    if not isinstance(claims, dict) or not isinstance(claims.get("exp"), int):
        raise LinkRefused("malformed")
    if claims.get("use", UNSTATED_PURPOSE) != purpose:
        raise LinkRefused("foreign")
    if claims["exp"] <= now.timestamp():
        raise LinkRefused("expired")
    return claims
