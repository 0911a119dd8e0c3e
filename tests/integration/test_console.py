"""The console function on moto, in-process: sessions, CSRF and Origin checks, the work list's and case page's reads
(the IAM guard of `invoke` refuses any call the console's role does not allow: it has no Scan), and decisions."""

from __future__ import annotations

import hashlib
import json
import secrets
import urllib.parse
from datetime import timedelta
from typing import Any

import pytest

from infra.constants import CONSOLE
from shared.adapters import table
from shared.domain import clock
from tests.integration.conftest import Cloud, invoke

ORIGIN = "http://127.0.0.1:8000"  # the settings' public URL the console's template environment gives locally


def console_event(
    method: str,
    path: str,
    route_key: str,
    *,
    session: str | None = None,
    form: dict[str, str] | None = None,
    origin: str | None = ORIGIN,
    query: dict[str, str] | None = None,
    parameters: dict[str, str] | None = None,
    cookies: list[str] | None = None,
) -> dict[str, Any]:
    headers = {"accept": "text/html"}
    if form is not None:
        headers["content-type"] = "application/x-www-form-urlencoded"
        if origin:
            headers["origin"] = origin
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": f"{method} {route_key}",
        "rawPath": path,
        "rawQueryString": urllib.parse.urlencode(query or {}),
        "headers": headers,
        "requestContext": {
            "http": {"method": method, "path": path, "protocol": "HTTP/1.1", "sourceIp": "127.0.0.1", "userAgent": "t"},
            "requestId": "req-console",
            "routeKey": f"{method} {route_key}",
            "stage": "$default",
            "timeEpoch": 0,
        },
        "isBase64Encoded": False,
    }
    jar = [*(cookies or []), *([f"__Host-familynet-session={session}"] if session else [])]
    if jar:
        event["cookies"] = jar
    if query:
        event["queryStringParameters"] = query
    if parameters:
        event["pathParameters"] = parameters
    if form is not None:
        event["body"] = urllib.parse.urlencode(form)
    return event


def a_session(cloud: Cloud, *, groups: tuple[str, ...] = ("coordinators",), hours: float = 8) -> tuple[str, str]:
    """A live session item, as a finished sign-in writes it: (cookie value, CSRF token)."""
    session_id, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    now = clock.now()
    item = {
        **table.session_key(hashlib.sha256(session_id.encode()).hexdigest()),
        "kind": "session",
        "subject": "sub-alex",
        "name": "Alex Morgan",
        "groups": list(groups),
        "csrf_token": csrf,
        "started_at": clock.iso(now),
        "last_seen": clock.iso(now),
        "absolute_end": int((now + timedelta(hours=12)).timestamp()),
        "expires_at": int((now + timedelta(hours=hours)).timestamp()),
    }
    from shared.adapters.dynamodb import to_item

    cloud.client("dynamodb").put_item(TableName=cloud.table_name, Item=to_item(item))
    return session_id, csrf


@pytest.fixture
def reference(submit: Any, referral_body: dict[str, Any]) -> str:
    body = {**referral_body, "route": "professional_request"}
    return str(submit(body)["json"]["reference"])


def referral_item(cloud: Cloud, reference: str) -> dict[str, Any]:
    [item] = [i for i in cloud.items() if i["pk"] == f"REFERRAL#{reference}" and i["sk"] == "REFERRAL"]
    return item


def test_a_page_without_a_session_sends_to_sign_in_and_back(cloud: Cloud) -> None:
    answer = invoke(CONSOLE, cloud, console_event("GET", "/staff", "/staff", query={"list": "new"}))
    assert answer["statusCode"] == 303
    location = answer["headers"]["Location"]
    assert location.startswith("/staff/sign-in?")
    assert urllib.parse.parse_qs(location.split("?", 1)[1])["return_to"] == ["/staff?list=new"]


def test_sign_in_starts_at_the_managed_login_with_pkce_and_a_state_bound_to_this_browser(cloud: Cloud) -> None:
    answer = invoke(CONSOLE, cloud, console_event("GET", "/staff/sign-in", "/staff/sign-in"))
    assert answer["statusCode"] == 302
    location = urllib.parse.urlsplit(answer["headers"]["Location"])
    query = dict(urllib.parse.parse_qsl(location.query))
    assert location.path.endswith("/oauth2/authorize")
    assert query["response_type"] == "code" and query["code_challenge_method"] == "S256"
    assert query["redirect_uri"].endswith("/staff/callback") and query["scope"] == "openid email profile"
    [cookie] = answer["cookies"]
    assert cookie.startswith(f"__Host-familynet-sign-in={query['state']};")
    assert all(flag in cookie for flag in ("Secure", "HttpOnly", "SameSite=Lax", "Path=/"))
    stored = [i for i in cloud.items() if i["kind"] == "sign_in"]
    assert len(stored) == 1 and query["state"] not in json.dumps(stored, default=str)  # kept under its SHA-256

    # a callback from another browser (no cookie, or another state) starts nothing
    other = invoke(
        CONSOLE,
        cloud,
        console_event("GET", "/staff/callback", "/staff/callback", query={"code": "x", "state": query["state"]}),
    )
    assert other["statusCode"] == 400 and "sign in again" in other["body"]
    assert [i for i in cloud.items() if i["kind"] == "session"] == []


def test_the_work_list_and_case_page_read_with_queries_and_the_read_is_audited(cloud: Cloud, reference: str) -> None:
    session, _ = a_session(cloud)
    work = invoke(CONSOLE, cloud, console_event("GET", "/staff", "/staff", session=session))
    assert work["statusCode"] == 200 and reference in work["body"]
    assert "dynamodb:Scan" not in cloud.permissions.actions

    case = invoke(
        CONSOLE,
        cloud,
        console_event(
            "GET",
            f"/staff/referrals/{reference}",
            "/staff/referrals/{reference}",
            session=session,
            parameters={"reference": reference},
        ),
    )
    assert case["statusCode"] == 200 and "Jo Bloggs" in case["body"]
    assert case["headers"]["Content-Security-Policy"].startswith("default-src 'none'")
    assert case["headers"]["Cache-Control"] == "no-store"
    [access] = [i for i in cloud.items() if i["kind"] == "access"]
    assert access["actor"] == "coordinator:sub-alex" and access["route"] == "GET /staff/referrals/{reference}"


@pytest.mark.parametrize(
    ("csrf", "origin"),
    [(None, ORIGIN), ("wrong", ORIGIN), ("right", "https://evil.example"), ("right", None)],
)
def test_a_change_without_its_token_or_from_another_site_is_refused_and_changes_nothing(
    cloud: Cloud, reference: str, csrf: str | None, origin: str | None
) -> None:
    session, token = a_session(cloud)
    form = {"version": "1", **({"csrf_token": token if csrf == "right" else csrf} if csrf else {})}
    path = f"/staff/referrals/{reference}/accept"
    event = console_event(
        "POST",
        path,
        "/staff/referrals/{reference}/accept",
        session=session,
        form=form,
        origin=origin,
        parameters={"reference": reference},
    )
    answer = invoke(CONSOLE, cloud, event)
    assert answer["statusCode"] == 403
    assert referral_item(cloud, reference)["status"] == "received"


def test_accept_then_a_stale_second_accept_is_refused_in_words(cloud: Cloud, reference: str) -> None:
    session, token = a_session(cloud)

    def accept() -> dict[str, Any]:
        event = console_event(
            "POST",
            f"/staff/referrals/{reference}/accept",
            "/staff/referrals/{reference}/accept",
            session=session,
            form={"version": "1", "csrf_token": token},
            parameters={"reference": reference},
        )
        return invoke(CONSOLE, cloud, event)  # type: ignore[no-any-return]

    done = accept()
    assert done["statusCode"] == 303 and done["headers"]["Location"] == f"/staff/referrals/{reference}?done=accepted"
    assert referral_item(cloud, reference)["status"] == "accepted"
    stale = accept()
    assert stale["statusCode"] == 409
    assert "Someone else changed this referral since you opened it: it is now accepted" in stale["body"]
    assert referral_item(cloud, reference)["version"] == 2


def test_an_expired_or_absent_session_changes_nothing(cloud: Cloud, reference: str) -> None:
    session, token = a_session(cloud, hours=-1)  # idle past its limit (DynamoDB's TTL deletes it later)
    event = console_event(
        "POST",
        f"/staff/referrals/{reference}/accept",
        "/staff/referrals/{reference}/accept",
        session=session,
        form={"version": "1", "csrf_token": token},
        parameters={"reference": reference},
    )
    answer = invoke(CONSOLE, cloud, event)
    assert answer["statusCode"] == 303 and answer["headers"]["Location"].startswith("/staff/sign-in?")
    assert "return_to=%2Fstaff%2Freferrals%2F" in answer["headers"]["Location"]
    assert referral_item(cloud, reference)["status"] == "received"


def test_a_referral_is_assigned_to_another_coordinator_audited_and_in_their_cases(cloud: Cloud, reference: str) -> None:
    from shared.config import get_settings
    from shared.service.assignment import remember_staff

    cloud.use_environment_of(CONSOLE)
    remember_staff("sub-priya", "Priya Shah", "coordinator", settings=get_settings())
    session, token = a_session(cloud)
    event = console_event(
        "POST",
        f"/staff/referrals/{reference}/assign",
        "/staff/referrals/{reference}/assign",
        session=session,
        form={"version": "1", "csrf_token": token, "to": "sub-priya"},
        parameters={"reference": reference},
    )
    assert invoke(CONSOLE, cloud, event)["statusCode"] == 303
    referral = referral_item(cloud, reference)
    assert referral["coordinator"] == {"subject": "sub-priya", "name": "Priya Shah"}
    [audit] = [i for i in cloud.items() if i["kind"] == "audit" and i["action"] == "referral.assigned"]
    assert audit["actor"] == "coordinator:sub-alex" and audit["changes"]["coordinator"]["to"] == "sub-priya"

    # someone not in the directory cannot be named
    event["body"] = urllib.parse.urlencode({"version": "2", "csrf_token": token, "to": "sub-nobody"})
    assert invoke(CONSOLE, cloud, event)["statusCode"] == 422

    # in Priya's cases (one Query of the by_coordinator index), not in Alex's
    priya = a_session_for(cloud, "sub-priya")
    mine = invoke(CONSOLE, cloud, console_event("GET", "/staff", "/staff", session=priya, query={"show": "mine"}))
    assert mine["statusCode"] == 200 and reference in mine["body"]
    alex = invoke(CONSOLE, cloud, console_event("GET", "/staff", "/staff", session=session, query={"show": "mine"}))
    assert reference not in alex["body"]
    assert "dynamodb:Scan" not in cloud.permissions.actions


def a_session_for(cloud: Cloud, subject: str) -> str:
    session_id, _ = a_session(cloud)
    key = table.session_key(hashlib.sha256(session_id.encode()).hexdigest())
    from shared.adapters.dynamodb import to_item

    cloud.client("dynamodb").update_item(
        TableName=cloud.table_name,
        Key=to_item(key),
        UpdateExpression="SET subject = :s",
        ExpressionAttributeValues={":s": {"S": subject}},
    )
    return session_id


def test_a_referral_is_found_by_reference_postcode_or_surname_and_the_table_holds_only_fingerprints(
    cloud: Cloud, reference: str
) -> None:
    entries = [i for i in cloud.items() if i["kind"] == "search_entry"]
    assert len(entries) == 2 and all(e["reference"] == reference for e in entries)
    assert "SW1A" not in json.dumps(entries) and "Bloggs" not in json.dumps(entries)
    session, _ = a_session(cloud)

    def search(text: str) -> dict[str, Any]:
        event = console_event("GET", "/staff/search", "/staff/search", session=session, query={"q": text})
        return invoke(CONSOLE, cloud, event)  # type: ignore[no-any-return]

    for text in ("sw1a 1aa", "BLOGGS", "Jo Bloggs"):
        found = search(text)
        assert found["statusCode"] == 200 and f"/staff/referrals/{reference}" in found["body"], text
    assert reference not in search("Smith")["body"]
    assert search(reference.lower())["headers"]["Location"] == f"/staff/referrals/{reference}"
    assert search("!!!")["statusCode"] == 422
    assert "dynamodb:Scan" not in cloud.permissions.actions


def test_a_case_note_is_kept_with_the_case_audited_by_id_and_never_in_an_event(
    cloud: Cloud, reference: str, capsys: pytest.CaptureFixture[str]
) -> None:
    session, token = a_session(cloud)

    def note(text: str) -> dict[str, Any]:
        event = console_event(
            "POST",
            f"/staff/referrals/{reference}/notes",
            "/staff/referrals/{reference}/notes",
            session=session,
            form={"csrf_token": token, "note": text},
            parameters={"reference": reference},
        )
        return invoke(CONSOLE, cloud, event)  # type: ignore[no-any-return]

    text = "Jo rang: Alfie's dad may join by phone.\nCall back on Tuesday."
    assert note(text)["statusCode"] == 303
    [kept] = [i for i in cloud.items() if i["kind"] == "note"]
    assert kept["text"] == text and kept["author"] == "Alex Morgan" and kept["pk"] == f"REFERRAL#{reference}"
    [audit] = [i for i in cloud.items() if i["kind"] == "audit" and i["action"] == "note.added"]
    assert audit["changes"] == {"note": kept["note_id"]}
    outbox = [i for i in cloud.items() if i["kind"] == "outbox_event"]
    assert all("Alfie's dad" not in json.dumps(i, default=str) for i in [*outbox, audit])
    assert "Alfie's dad" not in capsys.readouterr().out  # nor in any log line

    empty = note("   ")
    assert empty["statusCode"] == 422 and "Enter the note" in empty["body"]
    assert len([i for i in cloud.items() if i["kind"] == "note"]) == 1


def test_the_case_page_shows_the_plan_its_support_package_and_its_reviews(
    cloud: Cloud, submit: Any, referral_body: dict[str, Any]
) -> None:
    from datetime import UTC, date, datetime

    from tests.integration.test_meetings import availability, book, clock_at, meeting
    from tests.integration.test_outcome import outcome

    availability(cloud, "fac-1")
    past = (datetime.now(UTC) - timedelta(days=1)).replace(hour=10, minute=0, second=0, microsecond=0)
    with clock_at(past - timedelta(days=2)):  # received, and its meeting booked, before the meeting
        reference = submit(referral_body)["json"]["reference"]
        assert book(cloud, reference, meeting(past))["statusCode"] == 200
    review_on = (past + timedelta(days=60)).date().isoformat()
    plan = {
        "first_review_due_on": review_on,
        "network_actions": [{"who": "Grandma", "what": "School pick-ups", "how_often": "Mondays and Wednesdays"}],
        "support_package": [{"category": "equipment", "description": "A car seat", "estimated_cost_pence": 8999}],
    }
    assert (
        outcome(cloud, reference, {"held": True, "held_on": past.date().isoformat(), "plan": plan})["statusCode"] == 200
    ), "the outcome was refused"
    session, _ = a_session(cloud)
    page = invoke(
        CONSOLE,
        cloud,
        console_event(
            "GET",
            f"/staff/referrals/{reference}",
            "/staff/referrals/{reference}",
            session=session,
            parameters={"reference": reference},
        ),
    )["body"]
    review_day = f"{date.fromisoformat(review_on):%-d %B %Y}"
    for shown in ("School pick-ups", "Mondays and Wednesdays", "A car seat", "£89.99", f"Next review due {review_day}"):
        assert shown in page, shown


def test_the_work_list_filters_narrow_its_referral_lists_in_one_query_each(
    cloud: Cloud, submit: Any, referral_body: dict[str, Any]
) -> None:
    request = submit({**referral_body, "route": "professional_request"})["json"]["reference"]
    lead = submit({**referral_body, "reason": "Another family"})["json"]["reference"]  # accepted at intake
    session, token = a_session(cloud)

    def work(**query: str) -> str:
        return str(
            invoke(CONSOLE, cloud, console_event("GET", "/staff", "/staff", session=session, query=query))["body"]
        )

    everything = work()
    assert request in everything and lead in everything
    professional = work(route="professional_request")
    assert request in professional and lead not in professional
    assert "Professionals&#39; requests" in professional  # the selected filter is shown, with a way to clear it
    assert lead in work(route="lead_practitioner") and request not in work(route="lead_practitioner")

    assign = console_event(
        "POST",
        f"/staff/referrals/{lead}/assign",
        "/staff/referrals/{reference}/assign",
        session=session,
        form={"version": "1", "csrf_token": token, "to": "me"},
        parameters={"reference": lead},
    )
    from shared.config import get_settings
    from shared.service.assignment import remember_staff

    cloud.use_environment_of(CONSOLE)
    remember_staff("sub-alex", "Alex Morgan", "coordinator", settings=get_settings())
    assert invoke(CONSOLE, cloud, assign)["statusCode"] == 303
    unassigned = work(unassigned="yes")
    assert request in unassigned and lead not in unassigned
    bad = invoke(CONSOLE, cloud, console_event("GET", "/staff", "/staff", session=session, query={"route": "x"}))
    assert bad["statusCode"] == 400
    assert "dynamodb:Scan" not in cloud.permissions.actions


@pytest.mark.parametrize(
    ("form", "origin"),
    [
        ({"version": "1", "csrf_token": "\u00e9" * 10}, ORIGIN),
        ({"version": "1", "csrf_token": "right"}, "http://["),
    ],
)
def test_hostile_tokens_and_origins_get_403_not_500(
    cloud: Cloud, reference: str, form: dict[str, str], origin: str
) -> None:
    session, token = a_session(cloud)
    form = {k: (token if v == "right" else v) for k, v in form.items()}
    event = console_event(
        "POST",
        f"/staff/referrals/{reference}/accept",
        "/staff/referrals/{reference}/accept",
        session=session,
        form=form,
        origin=origin,
        parameters={"reference": reference},
    )
    assert invoke(CONSOLE, cloud, event)["statusCode"] == 403
    assert referral_item(cloud, reference)["status"] == "received"


def test_a_hostile_assignee_or_meeting_year_is_refused_in_words(cloud: Cloud, reference: str) -> None:
    session, token = a_session(cloud)
    assign = console_event(
        "POST",
        f"/staff/referrals/{reference}/assign",
        "/staff/referrals/{reference}/assign",
        session=session,
        form={"version": "1", "csrf_token": token, "to": "x" * 5000},
        parameters={"reference": reference},
    )
    assert invoke(CONSOLE, cloud, assign)["statusCode"] == 422
    book = console_event(
        "POST",
        f"/staff/referrals/{reference}/meeting",
        "/staff/referrals/{reference}/meeting",
        session=session,
        form={
            "version": "1",
            "csrf_token": token,
            "facilitator_id": "fac-1",
            "day": "31",
            "month": "12",
            "year": "9999",
            "time": "23:30",
            "length": "240",
            "venue_type": "online",
        },
        parameters={"reference": reference},
    )
    answer = invoke(CONSOLE, cloud, book)
    assert answer["statusCode"] == 422 and "Enter a year from 2000 to 2100" in answer["body"]


def test_the_meeting_form_refuses_a_past_or_out_of_hours_time_and_takes_an_exception_with_its_reason(
    cloud: Cloud, submit: Any, referral_body: dict[str, Any]
) -> None:
    from datetime import datetime

    from shared.domain.clock import LONDON
    from tests.integration.test_meetings import DAYS, availability, next_weekday, prepared

    availability(cloud, "fac-1", weekly=[{"day": day, "start": "09:00", "end": "17:00"} for day in DAYS[:5]])
    reference = prepared(cloud, str(submit(referral_body)["json"]["reference"]))  # accepted, then prepared
    session, token = a_session(cloud)

    def post(day: Any, at: str, **extra: str) -> dict[str, Any]:
        form = {
            "version": str(referral_item(cloud, reference)["version"]),
            "csrf_token": token,
            "facilitator_id": "fac-1",
            "day": str(day.day),
            "month": str(day.month),
            "year": str(day.year),
            "time": at,
            "length": "120",
            "venue_type": "online",
            **extra,
        }
        path = f"/staff/referrals/{reference}/meeting"
        event = console_event(
            "POST",
            path,
            "/staff/referrals/{reference}/meeting",
            session=session,
            form=form,
            parameters={"reference": reference},
        )
        return invoke(CONSOLE, cloud, event)  # type: ignore[no-any-return]

    past = post(datetime.now(LONDON).date() - timedelta(days=4), "10:00")
    assert past["statusCode"] == 422
    assert "govuk-error-summary" in past["body"] and 'href="#day"' in past["body"]
    assert "must start in the future" in past["body"]
    assert 'id="exception_reason"' not in past["body"]  # no exception makes the past possible

    saturday = next_weekday("saturday", 14)
    out_of_hours = post(saturday, "20:00")
    assert out_of_hours["statusCode"] == 422
    assert "outside the facilitator&#39;s availability" in out_of_hours["body"]
    assert 'href="#time"' in out_of_hours["body"] and 'href="#exception_reason"' in out_of_hours["body"]
    assert 'id="exception_reason"' in out_of_hours["body"]  # the box to confirm the exception with its reason
    assert referral_item(cloud, reference)["status"] == "preparing"  # nothing of a refused booking written

    booked = post(saturday, "20:00", exception_reason="Only time the family's network can all come")

    assert booked["statusCode"] == 303, booked["body"][:500]
    [meeting] = [i for i in cloud.items() if i["pk"] == f"REFERRAL#{reference}" and i["sk"] == "MEETING"]
    assert meeting["availability_exception"] == "Only time the family's network can all come"
