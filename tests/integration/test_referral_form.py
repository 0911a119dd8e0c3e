"""The web form through the intake handler (GET /, assets, a browser's form POST), against moto."""

from __future__ import annotations

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
        "referrer.email": "sam@school.example.org",
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
    assert "<script>" not in first["body"]  # no inline script: the policy allows none


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


@pytest.mark.parametrize(("body", "status"), [("a=1&a", 400), ("x" * 70_000, 413)])
def test_an_unreadable_form_gets_a_page_not_a_stack_trace(cloud: Cloud, body: str, status: int) -> None:
    response = invoke(INTAKE, cloud, api_event(body, content_type=FORM, headers=BROWSER))
    assert response["statusCode"] == status
    assert response["headers"]["Content-Type"] == "text/html; charset=utf-8"
    assert "Start a new referral" in response["body"]


def test_api_clients_posting_a_form_still_get_json(cloud: Cloud) -> None:
    response = invoke(INTAKE, cloud, api_event(urlencode(form_fields()), content_type=FORM))
    assert response["statusCode"] == 201
    assert response["headers"]["Content-Type"] == "application/json"
