"""Erasure: where the rules allow it, no seeded personal value survives anywhere in the table; where they do not,
409 with the reason and nothing changes."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from infra.constants import FEEDBACK
from shared.web.staff import PRIVACY_MANAGERS_ONLY
from tests.integration.conftest import Cloud, invoke
from tests.integration.test_coordination import COORDINATOR, MANAGER, act, get_one, request_from_school, staff
from tests.integration.test_intake import relay_outbox
from tests.integration.test_proposals import sqs_batch
from tests.integration.test_reminders import held_with_plan

SEEDED = ("Sam Okafor", "sam.okafor@council.example.org", "Jo Bloggs", "sw1a 1aa", "SW1A 1AA", "Alfie", "surgery")


def erase(cloud: Cloud, reference: str, ground: Any = "consent_withdrawn", **kwargs: Any) -> dict[str, Any]:
    kwargs.setdefault("claims", MANAGER)
    path = f"/referrals/{reference}/erase"
    return staff(cloud, "POST /referrals/{reference}/erase", path, body={"ground": ground}, **kwargs)


def personal_values_left(cloud: Cloud) -> list[str]:
    text = json.dumps(cloud.items(), default=str)
    return [value for value in SEEDED if value.lower() in text.lower()]


def emails_sent(cloud: Cloud, capture: Any) -> None:
    relay_outbox(cloud)
    invoke(FEEDBACK, cloud, sqs_batch(capture.received()))


def test_a_withdrawn_request_is_erased_everywhere_and_the_record_of_what_happened_stays(
    cloud: Cloud, submit: Any, referral_body: dict[str, Any]
) -> None:
    # Given a request from a school, its emails sent, accepted, then withdrawn by the family
    capture = cloud.capture_events()
    reference = request_from_school(submit, referral_body)
    act(cloud, reference, "accept")
    act(cloud, reference, "withdraw", {"reason": "Jo Bloggs withdrew consent."})
    emails_sent(cloud, capture)
    assert personal_values_left(cloud)  # the seeded values are there to find

    # When a manager erases it (twice: a retried request)
    response = erase(cloud, reference)
    again = erase(cloud, reference)

    # Then no seeded value is anywhere in the table, and the states, dates and audit trail remain
    assert response["statusCode"] == 200, response["json"]
    assert again["statusCode"] == 200
    assert personal_values_left(cloud) == []
    assert "withdrew consent" not in json.dumps(cloud.items(), default=str)
    # nothing finds it by the family's postcode or the contact's surname any more
    assert [i for i in cloud.items() if i["kind"] == "search_entry"] == []
    view = get_one(cloud, reference)["json"]
    assert view["status"] == "withdrawn"
    actions = [entry["action"] for entry in view["audit"]]
    assert actions[:3] == ["referral.received", "referral.accepted", "referral.withdrawn"]
    assert actions.count("referral.erased") == 2
    assert view["audit"][-1]["changes"]["ground"] == "consent_withdrawn"
    assert view["audit"][-1]["actor"] == f"manager:{MANAGER['sub']}"
    assert {e["to"] for e in view["emails"]} == {"[erased]"}
    assert staff(cloud, "GET /referrals", "/referrals", query={"status": "withdrawn"})["statusCode"] == 200


def test_a_request_never_accepted_may_be_erased(cloud: Cloud, submit: Any, referral_body: dict[str, Any]) -> None:
    reference = request_from_school(submit, referral_body)
    assert erase(cloud, reference, "no_longer_necessary")["statusCode"] == 200
    assert personal_values_left(cloud) == []


def test_erasure_does_not_apply_to_a_referral_the_service_works_on_or_a_plan_in_force(
    cloud: Cloud, submit: Any, referral_body: dict[str, Any]
) -> None:
    accepted = submit(referral_body)["json"]["reference"]  # a lead practitioner's: accepted at once
    refused = erase(cloud, accepted)
    assert refused["statusCode"] == 409
    assert "public task" in refused["json"]["message"]

    plan, _ = held_with_plan(
        cloud, submit, {**referral_body, "reason": "Another family."}, datetime.now(UTC).date() + timedelta(days=30)
    )
    act(cloud, plan, "withdraw", {"reason": "Moved away."})
    refused = erase(cloud, plan)
    assert refused["statusCode"] == 409
    assert "plan was in force" in refused["json"]["message"]
    assert get_one(cloud, plan)["json"]["submission"]["family"]["contact_name"] == "Jo Bloggs"  # unchanged


@pytest.mark.parametrize("ground", [None, "because", ""])
def test_an_erasure_needs_one_of_the_grounds(
    cloud: Cloud, submit: Any, referral_body: dict[str, Any], ground: Any
) -> None:
    reference = request_from_school(submit, referral_body)
    response = erase(cloud, reference, ground)
    assert response["statusCode"] == 422
    assert get_one(cloud, reference)["json"]["submission"]["family"]["contact_name"] == "Jo Bloggs"


def test_a_coordinator_is_refused_erasure_with_words_to_act_on_and_nothing_changes(
    cloud: Cloud, submit: Any, referral_body: dict[str, Any]
) -> None:
    reference = request_from_school(submit, referral_body)
    refused = erase(cloud, reference, claims=COORDINATOR)
    assert refused["statusCode"] == 403
    assert refused["json"]["message"] == PRIVACY_MANAGERS_ONLY
    assert erase(cloud, reference, claims={"sub": "someone", "cognito:groups": "[]"})["statusCode"] == 403
    assert get_one(cloud, reference)["json"]["submission"]["family"]["contact_name"] == "Jo Bloggs"
