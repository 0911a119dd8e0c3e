"""The web form through the intake handler (GET /, assets, a browser's form POST), against moto."""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import urlencode

import pytest

from infra.constants import INTAKE
from tests.integration.conftest import Cloud, api_event, invoke

FORM = "application/x-www-form-urlencoded"
BROWSER = {"accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}


def form_fields(**overrides: str) -> dict[str, str]:
    fields = {
        "submission_token": "tok-" + "a" * 20,
        "action": "send",
        "route": "professional_request",
        "referrer.name": "Sam Okafor",
        "referrer.role": "Teacher",
        "referrer.organisation": "Park Road School",
        "referrer.email": "sam@stannes.sch.uk",
        "referrer.phone": "",
        "family.contact_name": "Jo Bloggs",
        "family.postcode": "sw1a1aa",
        "family.children.0.first_name": "Alfie",
        "family.children.0.date_of_birth.day": "14",
        "family.children.0.date_of_birth.month": "5",
        "family.children.0.date_of_birth.year": "2019",
        "consent.given": "true",
        "consent.given_on.day": "20",
        "consent.given_on.month": "11",
        "consent.given_on.year": "2026",
        "consent.obtained_by": "Sam Okafor",
        "reason": "Mum is recovering from surgery.",
        "network_members.0.name": "",
        "network_members.0.relationship": "",
    }
    fields.update(overrides)
    return {key: value for key, value in fields.items() if value is not None}


def post_form(cloud: Cloud, fields: dict[str, str] | list[tuple[str, str]]) -> dict[str, Any]:
    response: dict[str, Any] = invoke(INTAKE, cloud, api_event(urlencode(fields), content_type=FORM, headers=BROWSER))
    return response


def get(cloud: Cloud, route_key: str, path: str, **parameters: str) -> dict[str, Any]:
    event = api_event(None, content_type=None, headers=BROWSER)
    event.update(routeKey=route_key, rawPath=path, pathParameters=parameters or None)
    event["requestContext"].update(routeKey=route_key, http={**event["requestContext"]["http"], "method": "GET"})
    response: dict[str, Any] = invoke(INTAKE, cloud, event)
    return response


def referrals(cloud: Cloud) -> list[dict[str, Any]]:
    return [item for item in cloud.items() if item["kind"] == "referral"]


def test_the_form_page_has_a_fresh_token_and_a_strict_policy(cloud: Cloud) -> None:
    first, second = get(cloud, "GET /", "/"), get(cloud, "GET /", "/")
    assert first["statusCode"] == 200
    assert first["headers"]["Content-Type"] == "text/html; charset=utf-8"
    policy = first["headers"]["Content-Security-Policy"]
    assert "default-src 'none'" in policy and "script-src 'self'" in policy and "frame-ancestors 'none'" in policy
    assert "unsafe-inline" not in policy
    assert first["headers"]["Cache-Control"] == "no-store"
    tokens = [re.findall(r'name="submission_token" value="([^"]+)"', r["body"]) for r in (first, second)]
    assert all(len(found) == 1 for found in tokens)
    assert tokens[0] != tokens[1]
    # No inline script (the policy allows none): every <script> element has a src.
    assert re.findall(r"<script(?![^>]*\bsrc=)[^>]*>", first["body"]) == []


def test_assets_are_served_and_nothing_else_is(cloud: Cloud) -> None:
    css = get(cloud, "GET /assets/{file}", "/assets/app.css", file="app.css")
    assert css["statusCode"] == 200
    assert css["headers"]["Content-Type"].startswith("text/css")
    assert "govuk-error-summary" in css["body"]
    assert "GDS Transport" not in css["body"]  # a council service off GOV.UK uses Arial
    for name in ("..%2Fpyproject.toml", "../templates/form.html", "missing.css", "app.py"):
        assert get(cloud, "GET /assets/{file}", f"/assets/{name}", file=name)["statusCode"] == 404


def test_a_browser_post_answers_the_confirmation_page(cloud: Cloud) -> None:
    response = post_form(cloud, form_fields())
    assert response["statusCode"] == 201
    assert response["headers"]["Content-Type"] == "text/html; charset=utf-8"
    [stored] = referrals(cloud)
    assert f'<strong id="reference">{stored["reference"]}</strong>' in response["body"]
    assert "look at your request within 5 working days" in response["body"]
    submission = stored["submission"]
    assert submission["family"]["children"] == [{"first_name": "Alfie", "date_of_birth": "2019-05-14"}]
    assert submission["consent"]["given_on"] == "2026-11-20"
    assert "network_members" not in submission or submission["network_members"] == []
    assert "phone" not in submission["referrer"]


def test_the_same_token_twice_answers_the_same_reference(cloud: Cloud) -> None:
    first = post_form(cloud, form_fields())
    second = post_form(cloud, form_fields())
    [stored] = referrals(cloud)
    for response in (first, second):
        assert response["statusCode"] == 201
        assert stored["reference"] in response["body"]


def test_a_used_token_with_other_answers_is_refused_and_stores_nothing(cloud: Cloud) -> None:
    post_form(cloud, form_fields())
    again = post_form(cloud, form_fields(reason="Something else entirely."))
    assert again["statusCode"] == 409
    assert "already sent" in again["body"]
    assert len(referrals(cloud)) == 1


def test_errors_come_back_on_the_form_with_every_answer_kept(cloud: Cloud) -> None:
    response = post_form(
        cloud,
        form_fields(
            **{"referrer.email": "sam@", "family.children.0.date_of_birth.month": "13", "what_matters": "Home"}
        ),
    )
    assert response["statusCode"] == 422
    page = response["body"]
    assert "<title>Error: " in page
    assert '<h2 class="govuk-error-summary__title">There is a problem</h2>' in page
    assert '<a href="#referrer-email">Enter an email address in the correct format' in page
    assert (
        '<a href="#family-children-0-date_of_birth-day">The child&#39;s date of birth must be a real date</a>' in page
    )
    assert 'id="referrer-email-error"' in page and 'aria-describedby="referrer-email-hint referrer-email-error"' in page
    assert 'value="sam@"' in page and 'value="13"' in page and ">Home</textarea>" in page
    assert 'name="submission_token" value="tok-' in page  # the same token: a fix then a double submit is one
    assert referrals(cloud) == []


def test_add_and_remove_rows_without_sending(cloud: Cloud) -> None:
    added = post_form(cloud, form_fields(action="add-child"))
    assert added["statusCode"] == 200
    assert 'id="family-children-1-first_name"' in added["body"]
    assert 'value="Alfie"' in added["body"]
    removed = post_form(
        cloud,
        form_fields(action="remove-child-0", **{"family.children.1.first_name": "Bea"}),
    )
    assert 'value="Bea"' in removed["body"] and 'value="Alfie"' not in removed["body"]
    assert 'id="family-children-1-first_name"' not in removed["body"]
    assert referrals(cloud) == []


def test_a_blank_extra_row_is_not_an_answer(cloud: Cloud) -> None:
    fields = form_fields(**{"family.children.1.first_name": "", "network_members.1.name": ""})
    assert post_form(cloud, fields)["statusCode"] == 201
    [stored] = referrals(cloud)
    assert len(stored["submission"]["family"]["children"]) == 1


def test_a_service_failure_keeps_the_answers_on_the_page(cloud: Cloud) -> None:
    cloud.client("dynamodb").delete_table(TableName=cloud.table_name)
    response = post_form(cloud, form_fields())
    assert response["statusCode"] == 503
    assert response["headers"]["Retry-After"] == "30"
    assert "Your answers have not been sent" in response["body"]
    assert 'value="Sam Okafor"' in response["body"]
    assert "Traceback" not in response["body"]


@pytest.mark.parametrize(("body", "status"), [("a=1&a", 400), ("x" * 300_000, 413)])
def test_an_unreadable_form_gets_a_page_not_a_stack_trace(cloud: Cloud, body: str, status: int) -> None:
    response = invoke(INTAKE, cloud, api_event(body, content_type=FORM, headers=BROWSER))
    assert response["statusCode"] == status
    assert response["headers"]["Content-Type"] == "text/html; charset=utf-8"
    assert "Start a new referral" in response["body"]


def test_api_clients_posting_a_form_still_get_json(cloud: Cloud) -> None:
    response = invoke(INTAKE, cloud, api_event(urlencode(form_fields()), content_type=FORM))
    assert response["statusCode"] == 201
    assert response["headers"]["Content-Type"] == "application/json"


def test_a_form_post_base64_encoded_by_api_gateway_is_read(cloud: Cloud) -> None:
    import base64

    event = api_event(urlencode(form_fields()), content_type=FORM, headers=BROWSER)
    event["body"] = base64.b64encode(event["body"].encode()).decode()
    event["isBase64Encoded"] = True  # what an HTTP API does with a form post
    assert invoke(INTAKE, cloud, event)["statusCode"] == 201


def test_a_long_answer_in_another_script_is_not_too_large(cloud: Cloud) -> None:
    # Ukrainian: 4,900 characters (5,000 allowed), two bytes of UTF-8 each, six bytes each url-encoded.
    text = "Мамі потрібна допомога. " * 204
    fields = form_fields(reason=text, what_matters=text, **{"meeting_preferences.access_needs": text})
    assert len(urlencode(fields)) > 64 * 1024
    assert post_form(cloud, fields)["statusCode"] == 201


def test_an_unusable_token_is_replaced_not_a_dead_end(cloud: Cloud) -> None:
    response = post_form(cloud, form_fields(submission_token="x" * 300, **{"referrer.email": "bad"}))
    assert response["statusCode"] == 422
    [token] = re.findall(r'name="submission_token" value="([^"]+)"', response["body"])
    assert token != "x" * 300
    assert post_form(cloud, form_fields(submission_token=token))["statusCode"] == 201


def test_errors_in_several_rows_say_which_row(cloud: Cloud) -> None:
    response = post_form(cloud, form_fields(**{"family.children.1.date_of_birth.year": "2020"}))
    assert ">Enter child 2&#39;s first name</a>" in response["body"]
    assert "Enter the child" not in response["body"]


def test_the_privacy_notice_and_accessibility_statement_are_linked_from_every_page(cloud: Cloud) -> None:
    form = get(cloud, "GET /", "/")["body"]
    assert 'href="/privacy"' in form and 'href="/accessibility"' in form
    for route, heading in (("GET /privacy", "Privacy notice"), ("GET /accessibility", "Accessibility statement")):
        page = get(cloud, route, route.split(" ")[1])
        assert page["statusCode"] == 200
        assert f'<h1 class="govuk-heading-l">{heading}</h1>' in page["body"]


def test_what_was_typed_is_shown_back_escaped(cloud: Cloud) -> None:
    hostile = '"><script>alert(1)</script></textarea>'
    response = post_form(
        cloud, form_fields(**{"referrer.email": "bad", "what_matters": hostile, "referrer.name": hostile})
    )
    assert "<script>alert(1)" not in response["body"]
    assert "&lt;script&gt;alert(1)&lt;/script&gt;&lt;/textarea&gt;" in response["body"]


def test_no_personal_data_reaches_the_logs(
    cloud: Cloud, capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    import json
    import logging

    caplog.set_level(logging.INFO)
    post_form(cloud, form_fields(**{"referrer.email": "not-an-email"}))
    post_form(cloud, form_fields())
    invoke(INTAKE, cloud, api_event({"Jane Smith": "x", "route": "lead_practitioner"}, headers=BROWSER))
    # every log record with its structured fields, and the metrics written to stdout
    logs = "\n".join(json.dumps(vars(record), default=str) for record in caplog.records) + capsys.readouterr().out
    assert "Referral received" in logs and "Referral refused" in logs and "(unknown field)" in logs
    for personal in ("Sam Okafor", "Jo Bloggs", "Alfie", "SW1A", "sam@school", "not-an-email", "surgery", "Jane"):
        assert personal not in logs


def _unrouted(cloud: Cloud, method: str, path: str) -> dict[str, Any]:
    """What API Gateway's `$default` route hands the intake function: a request no other route matched."""
    event = api_event(None, content_type=None)
    event.update(routeKey="$default", rawPath=path)
    event["requestContext"].update(routeKey="$default", http={**event["requestContext"]["http"], "method": method})
    response: dict[str, Any] = invoke(INTAKE, cloud, event)
    return response


@pytest.mark.parametrize(
    ("method", "path", "allow"),
    [
        ("DELETE", "/referrals", "GET, POST"),
        ("TRACE", "/", "GET"),
        ("PATCH", "/referrals/FN-ABCDEFGH/meeting", "DELETE, PUT"),
        ("GET", "/connections/anything", None),  # a route takes it: never sent here, and not found if it is
    ],
)
def test_a_method_a_path_does_not_take_answers_405_with_the_methods_it_does(cloud, method, path, allow) -> None:
    response = _unrouted(cloud, method, path)
    if allow is None:
        assert response["statusCode"] == 404
        return
    assert response["statusCode"] == 405
    assert response["headers"]["Allow"] == allow
    assert response["headers"]["X-Content-Type-Options"] == "nosniff"
    assert method in json.loads(response["body"])["message"]


def test_options_lists_the_methods_and_an_unknown_path_is_not_found(cloud) -> None:
    options = _unrouted(cloud, "OPTIONS", "/partners")
    assert (options["statusCode"], options["headers"]["Allow"]) == (204, "GET, POST")
    assert _unrouted(cloud, "GET", "/no/such/page")["statusCode"] == 404
