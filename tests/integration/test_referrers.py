"""Who may refer (issue 16): professional addresses only, a day's cap per address and per source, and automatic
acceptance only for the council's verified Locality Team addresses. Through the intake handler, on moto."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from infra.constants import INTAKE
from shared.domain import clock
from tests.integration.conftest import api_event, invoke
from tests.integration.test_referral_form import form_fields, post_form


def _with_email(body: dict[str, Any], email: str, route: str = "professional_request") -> dict[str, Any]:
    return {**body, "route": route, "referrer": {**body["referrer"], "email": email}}


def _from(cloud: Any, body: dict[str, Any], source_ip: str = "203.0.113.7", **kwargs: Any) -> dict[str, Any]:
    event = api_event(body, **kwargs)
    event["requestContext"]["http"]["sourceIp"] = source_ip
    return invoke(INTAKE, cloud, event)  # type: ignore[no-any-return]


def _stored(cloud: Any, kind: str) -> list[dict[str, Any]]:
    return [item for item in cloud.items() if item["kind"] == kind]


@pytest.mark.parametrize(
    "email",
    [
        "sam@gmail.com",
        "sam@evilgov.uk",  # ends in "gov.uk", but is not a gov.uk domain
        "sam@gov.uk.attacker.example",
        "sam@council.example.org.attacker.example",
    ],
)
def test_a_referral_from_an_address_not_allowed_is_refused_with_what_to_use_and_stores_nothing(
    cloud: Any, submit: Any, referral_body: dict[str, Any], email: str
) -> None:
    response = submit(_with_email(referral_body, email))

    assert response["statusCode"] == 422
    [error] = response["json"]["errors"]
    assert error["field"] == "referrer.email"
    assert "Use your work email address" in error["message"] and "nhs.net" in error["message"]
    assert cloud.items() == []  # no referral, no outbox event: no email to anyone


@pytest.mark.parametrize("email", ["sam@leeds.gov.uk", "sam@nhs.net", "head@stannes.sch.uk", "SAM@Council.Example.org"])
def test_professional_addresses_and_their_subdomains_are_allowed(
    submit: Any, referral_body: dict[str, Any], email: str
) -> None:
    assert submit(_with_email(referral_body, email))["statusCode"] == 201


def test_the_form_says_which_addresses_to_use_and_keeps_every_answer(cloud: Any) -> None:
    response = post_form(cloud, form_fields(**{"referrer.email": "sam@hotmail.co.uk"}))

    assert response["statusCode"] == 422
    page = response["body"]
    assert "govuk-error-summary" in page and "Use your work email address" in page
    assert 'value="sam@hotmail.co.uk"' in page  # kept, to correct
    assert cloud.items() == []


def test_a_lead_practitioner_from_an_address_outside_the_locality_teams_waits_for_a_coordinator(
    cloud: Any, submit: Any, referral_body: dict[str, Any]
) -> None:
    # nhs.net may refer, but only the council's own addresses show someone is a Family Help Lead Practitioner
    response = submit(_with_email(referral_body, "sam@nhs.net", route="lead_practitioner"))

    assert response["statusCode"] == 201 and response["json"]["status"] == "received"
    [referral] = _stored(cloud, "referral")
    assert referral["status"] == "received"
    outbox = _stored(cloud, "outbox_event")
    assert [item["detail_type"] for item in outbox] == ["ReferralReceived"]  # no ReferralAccepted: no invitation
    assert '"accepted_automatically":false' in outbox[0]["detail"].replace(" ", "")


def test_a_lead_practitioner_from_a_locality_team_address_is_accepted_at_intake(
    cloud: Any, submit: Any, referral_body: dict[str, Any]
) -> None:
    response = submit(_with_email(referral_body, "sam@north.council.example.org", route="lead_practitioner"))

    assert response["json"]["status"] == "accepted"
    assert sorted(item["detail_type"] for item in _stored(cloud, "outbox_event")) == [
        "ReferralAccepted",
        "ReferralReceived",
    ]


def test_one_address_is_capped_for_the_day_then_answered_429_with_retry_after_and_nothing_stored(
    cloud: Any, referral_body: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    # as `-c 'familynet:daily_caps={"per_referrer": 2}'` sets it
    monkeypatch.setitem(cloud.function(INTAKE).environment, "REFERRER_DAILY_CAP", "2")
    bodies = [_with_email({**referral_body, "reason": f"Referral {n}"}, "sam@leeds.gov.uk") for n in range(3)]
    first = _from(cloud, bodies[0], headers={"Idempotency-Key": "first"}, source_ip="203.0.113.1")
    assert first["statusCode"] == 201
    assert _from(cloud, bodies[1], source_ip="203.0.113.2")["statusCode"] == 201

    over = _from(cloud, bodies[2], source_ip="203.0.113.3")  # another network changes nothing: the address is capped
    assert over["statusCode"] == 429
    retry_after = int(over["headers"]["Retry-After"])
    assert 0 < retry_after <= 25 * 3600  # until midnight in England
    assert "Too many referrals" in over["body"]
    assert len(_stored(cloud, "referral")) == 2

    # a retry of a referral already made is answered, not capped, and not counted
    again = _from(cloud, bodies[0], headers={"Idempotency-Key": "first"}, source_ip="203.0.113.1")
    assert again["statusCode"] == 201 and again["headers"].get("Idempotent-Replayed") == "true"
    # another address is not affected
    assert _from(cloud, _with_email(bodies[2], "jo@leeds.gov.uk"), source_ip="203.0.113.3")["statusCode"] == 201


def test_one_source_address_is_capped_for_the_day_whatever_the_email(
    cloud: Any, referral_body: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(cloud.function(INTAKE).environment, "SOURCE_DAILY_CAP", "2")
    answers = [
        _from(cloud, _with_email(referral_body, f"worker{n}@leeds.gov.uk"), source_ip="198.51.100.9")["statusCode"]
        for n in range(3)
    ]
    assert answers == [201, 201, 429]
    assert (
        _from(cloud, _with_email(referral_body, "worker9@leeds.gov.uk"), source_ip="198.51.100.10")["statusCode"] == 201
    )


def test_the_counters_hold_no_address_and_expire_and_a_new_day_starts_a_new_count(
    cloud: Any, referral_body: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(cloud.function(INTAKE).environment, "REFERRER_DAILY_CAP", "1")
    body = _with_email(referral_body, "sam@leeds.gov.uk")
    assert _from(cloud, body)["statusCode"] == 201
    assert _from(cloud, {**body, "reason": "Another"})["statusCode"] == 429

    counters = _stored(cloud, "daily_count")
    assert len(counters) == 2 and all(item["count"] == 1 for item in counters)
    for item in counters:
        assert "leeds" not in str(item) and "203.0.113" not in str(item)
        assert item["expires_at"] > clock.now().timestamp()

    monkeypatch.setattr(clock, "_offset", timedelta(days=1))
    assert _from(cloud, {**body, "reason": "A third"})["statusCode"] == 201
