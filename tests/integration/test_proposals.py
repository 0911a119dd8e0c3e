"""ReferralAccepted → the scheduling function's queue → a facilitator and three proposed slots, exactly once."""

from __future__ import annotations

import json
from typing import Any

from infra.constants import SCHEDULING
from tests.integration.conftest import Cloud, invoke
from tests.integration.test_coordination import act, get_one
from tests.integration.test_intake import relay_outbox
from tests.integration.test_meetings import availability


def sqs_batch(events: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "Records": [
            {
                "messageId": f"m-{i}",
                "receiptHandle": f"r-{i}",
                "body": json.dumps(event),
                "attributes": {"ApproximateReceiveCount": "1"},
                "messageAttributes": {},
                "md5OfBody": "",
                "eventSource": "aws:sqs",
                "eventSourceARN": "arn:aws:sqs:eu-west-2:123456789012:OnAccepted",
                "awsRegion": "eu-west-2",
            }
            for i, event in enumerate(events)
        ]
    }


def accepted_events(cloud: Cloud, capture: Any) -> list[dict[str, Any]]:
    relay_outbox(cloud)
    return [e for e in capture.received() if e["detail-type"] == "ReferralAccepted"]


def test_an_accepted_referral_gets_a_facilitator_and_three_slots(
    cloud: Cloud, submit: Any, referral_body: dict[str, Any]
) -> None:
    availability(cloud, "fac-north", "North Locality Team")
    availability(cloud, "fac-south", "South")
    capture = cloud.capture_events()
    body = {**referral_body, "referrer": {**referral_body["referrer"], "locality_team": "North Locality Team"}}
    body["meeting_preferences"] = {"days": ["monday", "wednesday"], "times_of_day": ["afternoon"]}
    reference = submit(body)["json"]["reference"]
    [event] = accepted_events(cloud, capture)

    result = invoke(SCHEDULING, cloud, sqs_batch([event]))

    assert result == {"batchItemFailures": []}
    proposals = get_one(cloud, reference)["json"]["proposals"]
    assert proposals["facilitator_id"] == "fac-north"
    assert len(proposals["slots"]) == 3 and proposals["reason"] is None
    assert get_one(cloud, reference)["json"]["audit"][-1]["action"] == "meeting.proposed"


def test_a_repeated_event_proposes_nothing_new(cloud: Cloud, submit: Any, referral_body: dict[str, Any]) -> None:
    availability(cloud, "fac-1")
    capture = cloud.capture_events()
    reference = submit(referral_body)["json"]["reference"]
    [event] = accepted_events(cloud, capture)
    invoke(SCHEDULING, cloud, sqs_batch([event]))
    first = get_one(cloud, reference)["json"]

    again = invoke(SCHEDULING, cloud, sqs_batch([event, event]))

    assert again == {"batchItemFailures": []}
    second = get_one(cloud, reference)["json"]
    assert second["proposals"] == first["proposals"]
    assert len(second["audit"]) == len(first["audit"])


def test_with_no_facilitator_the_proposal_says_so(cloud: Cloud, submit: Any, referral_body: dict[str, Any]) -> None:
    capture = cloud.capture_events()
    school = {**referral_body, "route": "professional_request"}
    reference = submit(school)["json"]["reference"]
    act(cloud, reference, "accept")
    [event] = accepted_events(cloud, capture)
    assert event["detail"]["data"]["automatic"] is False
    invoke(SCHEDULING, cloud, sqs_batch([event]))
    proposals = get_one(cloud, reference)["json"]["proposals"]
    assert proposals == {**proposals, "facilitator_id": None, "slots": [], "reason": "no_facilitator"}


def test_a_malformed_event_fails_alone(cloud: Cloud, submit: Any, referral_body: dict[str, Any]) -> None:
    availability(cloud, "fac-1")
    capture = cloud.capture_events()
    submit(referral_body)
    [good] = accepted_events(cloud, capture)
    bad = {**good, "detail": {**good["detail"], "data": {"reference": "not-a-reference"}}}
    result = invoke(SCHEDULING, cloud, sqs_batch([bad, good]))
    assert result == {"batchItemFailures": [{"itemIdentifier": "m-0"}]}
