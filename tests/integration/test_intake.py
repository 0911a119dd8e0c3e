"""POST /referrals through the intake handler, against moto wired from the synthesized template."""

from __future__ import annotations

import json
from collections import Counter
from urllib.parse import urlencode

import pytest

from infra.constants import EVENT_RELAY
from shared.domain.events import ReferralReceived, parse_detail
from tests.conftest import minimal_referral
from tests.integration.conftest import api_event, invoke


def kinds(items):
    return Counter(item["kind"] for item in items)


def relay_outbox(cloud):
    records = cloud.relay_reader().read()
    return invoke(EVENT_RELAY, cloud, {"Records": records}), records


def test_a_request_from_another_professional_is_stored_with_audit_entry_and_announced_once(
    cloud, submit, referral_body
):
    # Given a bus with a consumer listening
    capture = cloud.capture_events()
    # When the minimal body of a request from another professional is submitted
    referral_body["route"] = "professional_request"
    response = submit(referral_body)
    # Then the referrer gets a reference
    assert response["statusCode"] == 201
    reference = response["json"]["reference"]
    assert response["json"] == {"reference": reference, "status": "received"}
    assert response["headers"]["Location"] == f"/referrals/{reference}"
    # And one referral, one audit entry and one outbox event are stored under it
    items = cloud.items()
    assert kinds(i for i in items if i["pk"] == f"REFERRAL#{reference}") == {
        "referral": 1,
        "audit": 1,
        "outbox_event": 1,
    }
    [referral] = [i for i in items if i["kind"] == "referral"]
    assert referral["status"] == "received"  # waiting for a coordinator's decision
    assert referral["submission"]["family"]["postcode"] == "SW1A 1AA"
    assert referral["status_key"] == "received"
    # And once the outbox is relayed, exactly one ReferralReceived reaches the bus, with ids and dates only
    result, _ = relay_outbox(cloud)
    assert result == {"batchItemFailures": []}
    [event] = capture.received()
    assert event["source"] == "familynet" and event["detail-type"] == "ReferralReceived"
    detail = parse_detail(event["detail-type"], event["detail"])
    assert isinstance(detail.data, ReferralReceived)
    assert detail.data.reference == reference and detail.data.route == "professional_request"
    text = json.dumps(event)
    for personal in ("Sam", "Okafor", "Jo Bloggs", "Alfie", "SW1A", "school runs", "council.example.org"):
        assert personal not in text


def test_a_lead_practitioners_referral_with_consent_is_accepted_at_intake(cloud, submit, referral_body):
    capture = cloud.capture_events()
    response = submit(referral_body)
    assert response["statusCode"] == 201
    reference = response["json"]["reference"]
    assert response["json"] == {"reference": reference, "status": "accepted"}
    items = [i for i in cloud.items() if i["pk"] == f"REFERRAL#{reference}"]
    assert kinds(items) == {"referral": 1, "audit": 2, "outbox_event": 2}
    [referral] = [i for i in items if i["kind"] == "referral"]
    assert (referral["status"], referral["status_key"]) == ("accepted", "accepted")
    audit = sorted((i for i in items if i["kind"] == "audit"), key=lambda i: i["sk"])
    assert [(a["action"], a["actor"]) for a in audit] == [
        ("referral.received", "referrer"),
        ("referral.accepted", "system:intake"),
    ]
    relay_outbox(cloud)
    events = {e["detail-type"]: e for e in capture.received()}
    assert set(events) == {"ReferralReceived", "ReferralAccepted"}
    assert events["ReferralAccepted"]["detail"]["data"]["automatic"] is True


def test_a_repeated_body_answers_the_same_reference_and_stores_nothing_new(cloud, submit, referral_body):
    capture = cloud.capture_events()
    first = submit(referral_body)
    relay_outbox(cloud)
    before = cloud.items()
    # When the same referral arrives again (keys reordered, spacing changed: the same submission)
    again = dict(reversed(list(referral_body.items())))
    again["family"] = {**referral_body["family"], "postcode": "SW1A1AA"}
    second = submit(again)
    # Then it answers the first reference, stores nothing and publishes nothing
    assert second["statusCode"] == 201
    assert second["json"] == first["json"]
    assert second["headers"]["Idempotent-Replayed"] == "true"
    assert cloud.items() == before
    relay_outbox(cloud)
    assert len(capture.received()) == 2  # the first submission's ReferralReceived and ReferralAccepted only


def test_the_same_idempotency_key_answers_the_first_reference(cloud, submit, referral_body):
    first = submit(referral_body, headers={"Idempotency-Key": "form-token-123"})
    second = submit(referral_body, headers={"Idempotency-Key": "form-token-123"})
    assert second["json"]["reference"] == first["json"]["reference"]
    assert kinds(cloud.items())["referral"] == 1


def test_an_idempotency_key_reused_for_another_referral_is_refused(cloud, submit, referral_body):
    submit(referral_body, headers={"Idempotency-Key": "k-1"})
    other = minimal_referral(reason="A different family situation entirely.")
    response = submit(other, headers={"Idempotency-Key": "k-1"})
    assert response["statusCode"] == 422
    assert response["json"]["errors"] == [
        {"field": "Idempotency-Key", "message": "Use a new Idempotency-Key for a different referral"}
    ]
    assert kinds(cloud.items())["referral"] == 1


def test_a_repeat_after_the_dedupe_window_is_a_new_referral(cloud, submit, referral_body):
    from datetime import UTC, datetime, timedelta

    from shared.adapters.dynamodb import ReferralStore
    from shared.config import get_settings
    from shared.service.intake import submit_referral
    from shared.web.intake import read_request

    first = submit(referral_body)
    later = datetime.now(UTC) + timedelta(hours=get_settings().submission_dedupe_hours, minutes=1)
    outcome = submit_referral(
        read_request(api_event(referral_body)),
        store=ReferralStore(cloud.table_name),
        settings=get_settings(),
        correlation_id="c-2",
        now=later,
    )
    assert outcome.created and outcome.reference != first["json"]["reference"]


def test_a_form_encoded_referral_is_the_same_referral_as_its_json(cloud, submit, referral_body):
    form = {
        "route": "lead_practitioner",
        "referrer.name": "Sam Okafor",
        "referrer.role": "Social worker",
        "referrer.organisation": "North Locality Team",
        "referrer.email": "sam.okafor@council.example.org",
        "family.contact_name": "Jo Bloggs",
        "family.postcode": "SW1A 1AA",
        "family.children.0.first_name": "Alfie",
        "family.children.0.date_of_birth": "2019-05-14",
        "consent.given": "true",
        "consent.given_on": "2026-11-20",
        "consent.obtained_by": "Sam Okafor",
        "reason": "Mum is recovering from surgery and needs help with school runs.",
    }
    by_form = submit(urlencode(form), content_type="application/x-www-form-urlencoded")
    by_json = submit(referral_body)
    assert by_form["statusCode"] == 201
    assert by_json["json"]["reference"] == by_form["json"]["reference"]


@pytest.mark.parametrize(
    ("body", "content_type", "status", "message"),
    [
        ("{not json", "application/json", 400, "The request body is not valid JSON (line 1, column 2)"),
        ("[1, 2]", "application/json", 400, "The request body must be a JSON object"),
        ("", "application/json", 400, "The request body is not valid JSON (line 1, column 1)"),
        (
            "<referral/>",
            "application/xml",
            415,
            "Send the referral as application/json or application/x-www-form-urlencoded",
        ),
        ("{}", None, 415, "Send the referral as application/json or application/x-www-form-urlencoded"),
        ("a=1&a", "application/x-www-form-urlencoded", 400, "The form data is malformed"),
    ],
)
def test_malformed_requests_get_a_clear_4xx_and_store_nothing(cloud, submit, body, content_type, status, message):
    response = submit(body, content_type=content_type)
    assert response["statusCode"] == status
    assert response["json"]["message"] == message
    assert cloud.items() == []


def test_a_body_over_64_kb_is_refused_with_413(cloud, submit):
    response = submit(minimal_referral(reason="x" * (65 * 1024)))
    assert response["statusCode"] == 413
    assert response["json"]["message"] == "The request body is larger than 64 KB"
    assert cloud.items() == []


def test_a_base64_body_from_api_gateway_is_decoded(cloud, submit, referral_body):
    response = submit(referral_body, base64=True)
    assert response["statusCode"] == 201


def test_validation_problems_answer_422_with_each_field(cloud, submit, referral_body):
    referral_body["referrer"]["email"] = "not-an-email"
    del referral_body["family"]["children"]
    response = submit(referral_body)
    assert response["statusCode"] == 422
    assert response["json"]["errors"] == [
        {
            "field": "referrer.email",
            "message": "Enter an email address in the correct format, like name@example.org",
        },
        {"field": "family.children", "message": "Add at least one child"},
    ]
    assert cloud.items() == []


def test_a_missing_table_answers_503_not_500(cloud, submit, referral_body):
    cloud.client("dynamodb").delete_table(TableName=cloud.table_name)
    response = submit(referral_body)
    assert response["statusCode"] == 503
    assert response["headers"]["Retry-After"] == "30"
    assert "Traceback" not in response["body"]


def test_a_double_click_stores_one_referral(cloud, submit, referral_body):
    # Given two identical submissions racing (a double click), each from its own thread
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=2) as pool:
        responses = list(pool.map(lambda _: submit(referral_body), range(2)))
    # Then both answer the same reference, and one referral exists
    assert {r["statusCode"] for r in responses} == {201}
    assert len({r["json"]["reference"] for r in responses}) == 1
    assert kinds(cloud.items())["referral"] == 1
