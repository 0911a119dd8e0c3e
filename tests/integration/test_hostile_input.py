"""Crafted input at every kind of route answers 4xx with words to act on, never a 500 (issue 16, first slice):
JSON nested past Python's recursion limit, integer literals past its 4,300-digit limit, form names of hundreds of
dotted parts, and non-ASCII digits where a number is read from text. Nothing is stored for any of them."""

from __future__ import annotations

import base64
import json
import re
from typing import Any
from urllib.parse import urlencode

import pytest

from infra.constants import CONNECTIONS, INTAKE, SCHEDULING
from shared.web.routes import ROUTES, Route
from tests.integration.conftest import Cloud, api_event, invoke
from tests.integration.test_coordination import COORDINATOR

DEEP_JSON = "[" * 5000 + "]" * 5000
DEEP_OBJECT = '{"reason":' * 2000 + "null" + "}" * 2000
JUST_TOO_DEEP = '{"a":' * 40 + "1" + "}" * 40
HUGE_INT = '{"reason": ' + "9" * 5000 + "}"
NAN = '{"reason": NaN}'
BODIES = [DEEP_JSON, DEEP_OBJECT, JUST_TOO_DEEP, HUGE_INT, NAN]
DEEP_FORM_NAME = ".".join(["a"] * 500)
ODD_DIGITS = ["²", "١٢", "9" * 5000, "-1", "1.0", " 3"]


def event(route_key: str, path: str, body: str | None, **extra: Any) -> dict[str, Any]:
    method = route_key.split(" ", 1)[0]
    return {
        "version": "2.0",
        "routeKey": route_key,
        "rawPath": path,
        "rawQueryString": "",
        "headers": {"content-type": "application/json", **extra.pop("headers", {})},
        "requestContext": {
            "http": {"method": method, "path": path, "protocol": "HTTP/1.1", "sourceIp": "127.0.0.1", "userAgent": "t"},
            "requestId": "req-hostile",
            "routeKey": route_key,
            "stage": "$default",
            "timeEpoch": 0,
            "authorizer": {"jwt": {"claims": COORDINATOR, "scopes": None}},
        },
        "body": body,
        "isBase64Encoded": False,
        **extra,
    }


def refused(response: dict[str, Any]) -> str:
    """The answer is a 4xx with a message (JSON) or a page, and the security headers."""
    assert 400 <= response["statusCode"] < 500, response
    headers = response["headers"]
    assert headers["X-Content-Type-Options"] == "nosniff"
    if headers["Content-Type"].startswith("application/json"):
        message = json.loads(response["body"])["message"]
        assert message and "Traceback" not in message
        return str(message)
    assert "<title>" in response["body"]
    return str(response["body"])


def nothing_stored(cloud: Cloud) -> None:
    assert not [i for i in cloud.items() if i["sk"].startswith(("REFERRAL", "AUDIT#", "OUTBOX_EVENT#"))]


@pytest.mark.parametrize("body", BODIES, ids=["deep-list", "deep-object", "depth-40", "huge-int", "nan"])
def test_a_json_referral_too_deep_or_with_a_huge_number_is_refused(cloud: Cloud, body: str) -> None:
    message = refused(invoke(INTAKE, cloud, api_event(body)))
    assert "nested" in message or "digits" in message or "NaN" in message
    nothing_stored(cloud)


def test_a_form_with_a_name_of_hundreds_of_parts_is_refused(cloud: Cloud) -> None:
    form = urlencode({DEEP_FORM_NAME: "x", "family.contact_name": "A"})
    as_api = refused(invoke(INTAKE, cloud, api_event(form, content_type="application/x-www-form-urlencoded")))
    assert "is not one this service uses" in as_api
    browser = api_event(form, content_type="application/x-www-form-urlencoded", headers={"Accept": "text/html"})
    refused(invoke(INTAKE, cloud, browser))
    nothing_stored(cloud)


PATH_VALUES = {"reference": "FN-AAAAAAAA", "facilitator_id": "fac-1", "partner_id": "p-abc", "number": "1"}


def _path(route: Route) -> tuple[str, dict[str, str]]:
    """The route's path with plausible values, and those values as API Gateway's pathParameters."""
    parameters = {name: PATH_VALUES.get(name, "abc.def") for name in re.findall(r"\{(\w+)\}", route.path)}
    return re.sub(r"\{(\w+)\}", lambda found: parameters[found.group(1)], route.path), parameters


WITH_BODIES = [route for route in ROUTES if route.body is not None]


@pytest.mark.parametrize("body", BODIES, ids=["deep-list", "deep-object", "depth-40", "huge-int", "nan"])
@pytest.mark.parametrize("route", WITH_BODIES, ids=[route.key for route in WITH_BODIES])
def test_every_body_too_deep_or_with_a_huge_number_is_refused(cloud: Cloud, route: Route, body: str) -> None:
    path, parameters = _path(route)
    response = invoke(route.function, cloud, event(route.key, path, body, pathParameters=parameters or None))
    assert refused(response)
    assert not [i for i in cloud.items() if i["sk"] != "REFERRAL" and not i["sk"].startswith("SUBMISSION#")]


@pytest.mark.parametrize("digits", ODD_DIGITS)
def test_numbers_in_text_are_ascii_digits_or_refused(cloud: Cloud, digits: str) -> None:
    queue = event("GET /referrals", "/referrals", None, queryStringParameters={"limit": digits})
    assert "limit must be a whole number" in refused(invoke(SCHEDULING, cloud, queue))
    stale = event(
        "POST /referrals/{reference}/accept",
        "/referrals/FN-AAAAAAAA/accept",
        None,
        headers={"if-match": f'"{digits}"'},
    )
    assert "If-Match" in refused(invoke(SCHEDULING, cloud, stale))
    review = event(
        "PUT /referrals/{reference}/reviews/{number}",
        f"/referrals/FN-AAAAAAAA/reviews/{digits}",
        json.dumps({"due_on": "2027-01-04", "reason": "The family asked"}),
        pathParameters={"reference": "FN-AAAAAAAA", "number": digits},
    )
    refused(invoke(SCHEDULING, cloud, review))


@pytest.mark.parametrize("cursor", ["W" * 5000, "WwWw" * 300, "e30", "%%%"])
def test_a_cursor_that_is_not_ours_is_refused(cloud: Cloud, cursor: str) -> None:
    queue = event("GET /referrals", "/referrals", None, queryStringParameters={"cursor": cursor})
    assert "cursor" in refused(invoke(SCHEDULING, cloud, queue))


def test_a_partners_answer_with_a_name_of_hundreds_of_parts_is_refused(cloud: Cloud) -> None:
    token = "abc.def"
    form = urlencode({DEEP_FORM_NAME: "x", "answer": "contacted"})
    post = event(
        "POST /connections/{token}",
        f"/connections/{token}",
        form,
        headers={"content-type": "application/x-www-form-urlencoded"},
        pathParameters={"token": token},
    )
    refused(invoke(CONNECTIONS, cloud, post))


def _broken(*_: Any, **__: Any) -> Any:
    raise RuntimeError("a bug, with words that must not reach the client")


def test_a_bug_answers_500_with_an_id_to_quote_and_the_security_headers(
    cloud: Cloud, monkeypatch: pytest.MonkeyPatch, referral_body: dict[str, Any], caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr("functions.scheduling.routes.referrals.list_referrals", _broken)
    monkeypatch.setattr("functions.intake.submissions.submit_referral", _broken)
    monkeypatch.setattr("functions.intake.submissions.validate_submission", _broken)
    monkeypatch.setattr("shared.service.connections.open_link", _broken)
    staff = invoke(SCHEDULING, cloud, event("GET /referrals", "/referrals", None))
    api = invoke(INTAKE, cloud, api_event(referral_body))
    browser = invoke(
        INTAKE,
        cloud,
        api_event(
            urlencode({"action": "send"}),
            content_type="application/x-www-form-urlencoded",
            headers={"Accept": "text/html"},
        ),
    )
    link = invoke(
        CONNECTIONS,
        cloud,
        event("GET /connections/{token}", "/connections/abc.def", None, pathParameters={"token": "abc.def"}),
    )
    for response in (staff, api, browser, link):
        assert response["statusCode"] == 500
        assert response["headers"]["X-Content-Type-Options"] == "nosniff"
        assert "must not reach" not in response["body"]
    error_id = json.loads(staff["body"])["error_id"]
    assert error_id in json.loads(staff["body"])["message"]
    assert "tell us this code" in browser["body"] and "tell us this code" in link["body"]
    assert any(getattr(record, "error_id", None) == error_id for record in caplog.records)  # logged by its id


def test_a_staff_body_of_invalid_utf8_or_over_64_kb_is_refused(cloud: Cloud) -> None:
    invalid = event(
        "POST /referrals/{reference}/decline",
        "/referrals/FN-AAAAAAAA/decline",
        base64.b64encode(b'{"reason": "caf\xe9"}').decode(),
        isBase64Encoded=True,
    )
    assert "UTF-8" in refused(invoke(SCHEDULING, cloud, invalid))
    large = event("POST /partners", "/partners", json.dumps({"name": "x" * 70_000}))
    response = invoke(SCHEDULING, cloud, large)
    assert response["statusCode"] == 413 and "64 KB" in refused(response)
