"""The console's sign-in and sessions through the service layer, on the in-memory DynamoDB: state bound to the
browser and used once, PKCE and nonce, groups, idle and absolute ends, sign-out, and where a sign-in may return."""

from __future__ import annotations

import base64
import hashlib
import urllib.parse
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from shared.adapters import aws
from shared.adapters.sessions import SessionStore
from shared.config import Settings
from shared.domain import clock
from shared.service import staff_sessions
from shared.service.staff_sessions import NoAccess, SignInProblem, safe_return_path
from tests.fakes import InMemoryDynamoDB

SETTINGS = Settings()
START = datetime(2026, 12, 2, 9, 0, tzinfo=UTC)


class FakeProvider:
    """The user pool's token endpoint and key check: it records the exchange and answers the claims it is given."""

    def __init__(self, claims: dict[str, Any]) -> None:
        self.claims = claims
        self.exchanged: list[dict[str, str]] = []

    def exchange(self, code: str, *, redirect_uri: str, verifier: str) -> str:
        self.exchanged.append({"code": code, "redirect_uri": redirect_uri, "verifier": verifier})
        return "id-token"

    def verify(self, id_token: str) -> dict[str, Any]:
        return self.claims


@pytest.fixture
def store(monkeypatch: pytest.MonkeyPatch) -> Iterator[SessionStore]:
    fake = InMemoryDynamoDB()
    monkeypatch.setattr(aws, "_client", lambda service: fake)
    monkeypatch.setattr(clock, "_offset", START - datetime.now(UTC))  # reads leave out what expired by the clock
    yield SessionStore(SETTINGS.table_name)


def started(store: SessionStore, return_to: str = "/staff/referrals/FN-7KQ2MX4P") -> tuple[str, dict[str, str]]:
    start = staff_sessions.begin(return_to, store=store, settings=SETTINGS, now=START)
    query = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(start.location).query))
    return start.state, query


def claims(nonce: str, groups: list[str] | None = None) -> dict[str, Any]:
    return {"sub": "sub-alex", "name": "Alex Morgan", "nonce": nonce, "cognito:groups": groups or ["coordinators"]}


def test_a_finished_sign_in_starts_a_session_and_returns_to_the_page_asked_for(store: SessionStore) -> None:
    state, query = started(store)
    oidc = FakeProvider(claims(query["nonce"]))
    session, back = staff_sessions.finish("code-1", state, state, store=store, settings=SETTINGS, oidc=oidc, now=START)

    assert back == "/staff/referrals/FN-7KQ2MX4P"
    assert (session.subject, session.role, session.actor.audit_name) == (
        "sub-alex",
        "coordinator",
        "coordinator:sub-alex",
    )
    [exchange] = oidc.exchanged
    challenge = base64.urlsafe_b64encode(hashlib.sha256(exchange["verifier"].encode()).digest()).decode().rstrip("=")
    assert challenge == query["code_challenge"] and query["code_challenge_method"] == "S256"
    assert len(session.id) >= 43 and len(session.csrf_token) >= 43  # 256 random bits each
    assert staff_sessions.current(session.id, store=store, settings=SETTINGS, now=START) is not None


def test_a_state_from_another_browser_or_used_twice_starts_nothing(store: SessionStore) -> None:
    state, query = started(store)
    oidc = FakeProvider(claims(query["nonce"]))
    with pytest.raises(SignInProblem):
        staff_sessions.finish("code", state, "another", store=store, settings=SETTINGS, oidc=oidc, now=START)
    with pytest.raises(SignInProblem):
        staff_sessions.finish("code", state, None, store=store, settings=SETTINGS, oidc=oidc, now=START)
    staff_sessions.finish("code", state, state, store=store, settings=SETTINGS, oidc=oidc, now=START)
    with pytest.raises(SignInProblem, match="already used"):
        staff_sessions.finish("code", state, state, store=store, settings=SETTINGS, oidc=oidc, now=START)


def test_a_token_for_another_sign_in_or_without_a_staff_group_is_refused(store: SessionStore) -> None:
    state, _ = started(store)
    with pytest.raises(SignInProblem):  # a replayed token: its nonce is another sign-in's
        staff_sessions.finish(
            "code", state, state, store=store, settings=SETTINGS, oidc=FakeProvider(claims("other")), now=START
        )
    state, query = started(store)
    outsider = FakeProvider(claims(query["nonce"], ["coordinators-archive", "volunteers"]))  # exact names only
    with pytest.raises(NoAccess):
        staff_sessions.finish("code", state, state, store=store, settings=SETTINGS, oidc=outsider, now=START)


def test_a_session_ends_after_8_idle_hours_or_12_hours_whatever_happens_and_at_sign_out(store: SessionStore) -> None:
    state, query = started(store)
    oidc = FakeProvider(claims(query["nonce"], ["managers"]))
    session, _ = staff_sessions.finish("c", state, state, store=store, settings=SETTINGS, oidc=oidc, now=START)
    assert session.role == "manager"

    def live(at: datetime) -> bool:
        return staff_sessions.current(session.id, store=store, settings=SETTINGS, now=at) is not None

    assert not live(START + timedelta(hours=8, seconds=1))  # idle past 8 hours
    state, query = started(store)
    oidc = FakeProvider(claims(query["nonce"]))
    session, _ = staff_sessions.finish("c", state, state, store=store, settings=SETTINGS, oidc=oidc, now=START)
    for hours in (3, 6, 9, 11.5):  # used every three hours: the idle clock starts over each time
        assert live(START + timedelta(hours=hours)), hours
    assert not live(START + timedelta(hours=12, seconds=1))  # but never past 12 hours after sign-in

    state, query = started(store)
    oidc = FakeProvider(claims(query["nonce"]))
    session, _ = staff_sessions.finish("c", state, state, store=store, settings=SETTINGS, oidc=oidc, now=START)
    staff_sessions.end(session.id, store=store)
    assert not live(START)
    assert staff_sessions.current("made-up", store=store, settings=SETTINGS, now=START) is None


@pytest.mark.parametrize(
    ("asked", "returned"),
    [
        ("/staff/referrals/FN-7KQ2MX4P", "/staff/referrals/FN-7KQ2MX4P"),
        ("/staff?show=mine", "/staff?show=mine"),
        ("https://evil.example/staff", "/staff"),
        ("//evil.example/staff", "/staff"),
        ("/staff//evil.example", "/staff"),
        ("/staffing", "/staff"),
        ("/staff/\\evil", "/staff"),
        ("/staff\r\nSet-Cookie: x=y", "/staff"),
        (None, "/staff"),
    ],
)
def test_a_sign_in_returns_only_to_a_console_page(asked: str | None, returned: str) -> None:
    assert safe_return_path(asked) == returned


def test_hostile_states_and_tokens_are_refused_not_crashed_on(store: SessionStore) -> None:
    state, query = started(store)
    oidc = FakeProvider(claims(query["nonce"]))
    with pytest.raises(SignInProblem):  # hmac.compare_digest raises TypeError on non-ASCII str
        staff_sessions.finish("code", "\u00e9t\u00e9", "\u00e9t\u00e9\u00e9", store=store, settings=SETTINGS, oidc=oidc)
    session, _ = staff_sessions.finish("c", state, state, store=store, settings=SETTINGS, oidc=oidc, now=START)
    assert not staff_sessions.csrf_holds(session, "\u00e9" * 43)
    assert not staff_sessions.csrf_holds(session, "\ud800")  # a lone surrogate, as a JSON body may carry
    assert staff_sessions.csrf_holds(session, session.csrf_token)
