"""Signing in to the console and staying signed in: OAuth 2.0 authorization code with PKCE and `state` against the
user pool's managed login, then a server-side session (a random 256-bit id in a cookie; idle and absolute limits by
TTL) carrying a per-session CSRF token.

Nothing secret is stored as given: sign-ins and sessions are kept under a SHA-256 of their `state` or id."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from shared.adapters import table
from shared.adapters.oidc import OidcProvider, SignInRefused, TokenEndpoint
from shared.adapters.sessions import SessionStore
from shared.config import Settings
from shared.domain import clock
from shared.domain.actors import Actor
from shared.domain.errors import Refused

COORDINATORS, MANAGERS = "coordinators", "managers"
STAFF_GROUPS = (COORDINATORS, MANAGERS)
CALLBACK_PATH = "/staff/callback"
SIGNED_OUT_PATH = "/staff/signed-out"
HOME = "/staff"
SIGN_IN_MINUTES = 10  # a sign-in left at the login page longer than this starts again
_EXTEND_AFTER_SECONDS = 60  # a session's idle clock is written again at most once a minute


class SignInProblem(Refused):
    """The sign-in cannot be finished (expired, used, altered, or started in another browser): start again."""


class NoAccess(Refused):
    """Signed in, but in neither the coordinators' nor the managers' group."""


@dataclass(frozen=True)
class SignInStart:
    state: str  # also set as a cookie: the callback must come back to the browser that started it
    location: str  # the managed login's authorize URL


@dataclass(frozen=True)
class Session:
    id: str  # the cookie's value; stored only as its SHA-256
    subject: str
    name: str
    groups: tuple[str, ...]
    csrf_token: str
    expires_at: int

    @property
    def role(self) -> str:
        return "manager" if MANAGERS in self.groups else "coordinator"

    @property
    def actor(self) -> Actor:
        return Actor(subject=self.subject, role=self.role)


def _same(given: str, kept: str) -> bool:
    """Constant-time equality of two texts (as bytes: hmac refuses str with non-ASCII characters, which anyone may
    send)."""
    return hmac.compare_digest(given.encode("utf-8", "surrogatepass"), kept.encode("utf-8", "surrogatepass"))


def _fingerprint(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def safe_return_path(value: str | None) -> str:
    """Where to go after signing in: a console path only (never another site: `//evil`, `/\\evil`, `https:`)."""
    if not value or not value.startswith(HOME) or len(value) > 512:
        return HOME
    rest = value[len(HOME) :]
    if (rest and rest[0] not in "/?") or any(ch in value for ch in "\\\r\n\t") or "//" in value:
        return HOME
    return value


def provider(settings: Settings) -> OidcProvider:
    return OidcProvider(settings.staff_auth_url, settings.staff_issuer, settings.staff_client_id)


def begin(
    return_to: str | None, *, store: SessionStore, settings: Settings, now: datetime | None = None
) -> SignInStart:
    """A new sign-in: its state, PKCE verifier and nonce kept for ten minutes; the authorize URL to send the
    browser to."""
    now = now or clock.now()
    state, verifier, nonce = secrets.token_urlsafe(32), secrets.token_urlsafe(64), secrets.token_urlsafe(16)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).decode().rstrip("=")
    store.put(
        table.sign_in_key(_fingerprint(state)),
        {
            table.KIND_ATTRIBUTE: table.KIND_SIGN_IN,
            "verifier": verifier,
            "nonce": nonce,
            "return_to": safe_return_path(return_to),
            table.TTL_ATTRIBUTE: int((now + timedelta(minutes=SIGN_IN_MINUTES)).timestamp()),
        },
    )
    location = provider(settings).authorize_url(
        response_type="code",
        client_id=settings.staff_client_id,
        redirect_uri=settings.public_url + CALLBACK_PATH,
        scope="openid email profile",
        state=state,
        code_challenge=challenge,
        code_challenge_method="S256",
        nonce=nonce,
    )
    return SignInStart(state=state, location=location)


def finish(
    code: str | None,
    state: str | None,
    browser_state: str | None,
    *,
    store: SessionStore,
    settings: Settings,
    oidc: TokenEndpoint | None = None,
    now: datetime | None = None,
) -> tuple[Session, str]:
    """The session a finished sign-in starts, and where to go; SignInProblem (400) or NoAccess (403) otherwise."""
    now = now or clock.now()
    if not code or not state or not browser_state or not _same(state, browser_state):
        raise SignInProblem("This sign-in was not started in this browser, or has expired: sign in again")
    if len(code) > 2048 or len(state) > 256:
        raise SignInProblem("This sign-in link is not one we gave: sign in again")
    started = store.take(table.sign_in_key(_fingerprint(state)))
    if started is None:
        raise SignInProblem("This sign-in has expired or was already used: sign in again")
    oidc = oidc or provider(settings)
    try:
        claims = oidc.verify(
            oidc.exchange(code, redirect_uri=settings.public_url + CALLBACK_PATH, verifier=started["verifier"])
        )
    except SignInRefused:
        raise SignInProblem("The sign-in could not be finished: sign in again") from None
    if not _same(str(claims.get("nonce", "")), str(started["nonce"])):
        raise SignInProblem("The sign-in could not be finished: sign in again")
    groups = tuple(group for group in _groups(claims) if group in STAFF_GROUPS)
    if not groups:
        raise NoAccess("Your account is not in the coordinators' or the managers' group: ask a manager to add you")
    absolute_end = int((now + timedelta(hours=settings.session_absolute_hours)).timestamp())
    session = Session(
        id=secrets.token_urlsafe(32),
        subject=str(claims["sub"]),
        name=str(claims.get("name") or claims.get("email") or "Signed in"),
        groups=groups,
        csrf_token=secrets.token_urlsafe(32),
        expires_at=_idle_end(now, absolute_end, settings),
    )
    store.put(
        table.session_key(_fingerprint(session.id)),
        {
            table.KIND_ATTRIBUTE: table.KIND_SESSION,
            "subject": session.subject,
            "name": session.name,
            "groups": list(groups),
            "csrf_token": session.csrf_token,
            "started_at": clock.iso(now),
            "last_seen": clock.iso(now),
            "absolute_end": absolute_end,
            table.TTL_ATTRIBUTE: session.expires_at,
        },
    )
    return session, str(started.get("return_to") or HOME)


def current(
    session_id: str | None, *, store: SessionStore, settings: Settings, now: datetime | None = None
) -> Session | None:
    """The live session a cookie names (its idle clock started over), or None: never signed in, signed out, idle
    past its limit, or past its absolute end."""
    if not session_id or len(session_id) > 128:
        return None
    now = now or clock.now()
    key = table.session_key(_fingerprint(session_id))
    item = store.get(key)
    if item is None or int(item[table.TTL_ATTRIBUTE]) <= now.timestamp():
        return None
    absolute_end = int(item["absolute_end"])
    expires_at = int(item[table.TTL_ATTRIBUTE])
    last_seen = datetime.fromisoformat(str(item["last_seen"]).replace("Z", "+00:00"))
    if (now - last_seen).total_seconds() >= _EXTEND_AFTER_SECONDS:
        expires_at = _idle_end(now, absolute_end, settings)
        store.extend(key, last_seen=clock.iso(now), expires_at=expires_at)
    return Session(
        id=session_id,
        subject=str(item["subject"]),
        name=str(item["name"]),
        groups=tuple(str(g) for g in item.get("groups") or ()),
        csrf_token=str(item["csrf_token"]),
        expires_at=expires_at,
    )


def end(session_id: str, *, store: SessionStore) -> None:
    store.delete(table.session_key(_fingerprint(session_id)))


def csrf_holds(session: Session, token: str | None) -> bool:
    return bool(token) and _same(str(token), session.csrf_token)


def _idle_end(now: datetime, absolute_end: int, settings: Settings) -> int:
    return min(int((now + timedelta(hours=settings.session_idle_hours)).timestamp()), absolute_end)


def _groups(claims: dict[str, Any]) -> list[str]:
    value = claims.get("cognito:groups") or []
    return [str(group) for group in value] if isinstance(value, list) else [str(value)]
