"""ReferralAccepted → the scheduling function's queue → a facilitator and three proposed slots, exactly once."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from typing import Any

import pytest

from infra.constants import SCHEDULING
from shared.domain.clock import LONDON
from shared.web import queue
from tests.integration.conftest import Cloud, invoke
from tests.integration.test_coordination import act, get_one
from tests.integration.test_intake import relay_outbox
from tests.integration.test_meetings import WEEKLY, availability, book, cancel, meeting


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


def test_a_batch_stops_taking_records_when_the_invocation_is_short_of_time_and_leaves_the_rest_for_later(
    cloud: Cloud, submit: Any, referral_body: dict[str, Any]
) -> None:
    # Given three accepted referrals on the queue, and an invocation with under a second left after the first
    availability(cloud, "fac-1")
    capture = cloud.capture_events()
    references = [
        submit({**referral_body, "reason": f"{referral_body['reason']} ({n})"})["json"]["reference"] for n in range(3)
    ]
    events = sorted(accepted_events(cloud, capture), key=lambda e: references.index(e["detail"]["data"]["reference"]))

    # When the batch is handled with 0.5 s left
    short = invoke(SCHEDULING, cloud, sqs_batch(events), seconds_left=0.5)

    # Then the first is proposed, and the two it had no time for are reported back untouched (not timed out with it)
    assert short == {"batchItemFailures": [{"itemIdentifier": "m-1"}, {"itemIdentifier": "m-2"}]}
    assert [bool(get_one(cloud, r)["json"]["proposals"]) for r in references] == [True, False, False]
    # and when they come back, they are proposed
    assert invoke(SCHEDULING, cloud, sqs_batch(events[1:])) == {"batchItemFailures": []}
    assert all(get_one(cloud, r)["json"]["proposals"]["slots"] for r in references)


def test_what_a_batch_left_for_later_comes_back_within_seconds_the_first_time_and_after_the_timeout_the_next(
    cloud: Cloud, submit: Any, referral_body: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given three accepted referrals on the scheduling queue itself (the bus's rule put them there), received once
    availability(cloud, "fac-1")
    for n in range(3):
        submit({**referral_body, "reason": f"{referral_body['reason']} ({n})"})
    [url] = [u for k, u in cloud.provisioned.queues.items() if "OnAccepted" in k and "DeadLetters" not in k]
    [arn] = [s.source_arn for s in cloud.provisioned.event_sources if s.source_arn.endswith(url.rsplit("/", 1)[1])]
    sqs = cloud.client("sqs")
    relay_outbox(cloud)
    monkeypatch.setattr(queue, "RETRY_SOON_SECONDS", 1)

    def received() -> list[dict[str, Any]]:
        messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, AttributeNames=["All"]).get("Messages", [])
        return [
            {
                "messageId": m["MessageId"],
                "receiptHandle": m["ReceiptHandle"],
                "body": m["Body"],
                "attributes": m["Attributes"],
                "eventSource": "aws:sqs",
                "eventSourceARN": arn,
                "awsRegion": "eu-west-2",
            }
            for m in messages
        ]

    first = received()
    assert len(first) == 3

    # When an invocation short of time handles one and leaves two, they are back a second later (not in 60 s)
    short = invoke(SCHEDULING, cloud, {"Records": first}, seconds_left=0.5)
    assert len(short["batchItemFailures"]) == 2
    time.sleep(1.5)
    again = received()
    assert {r["messageId"] for r in again} == {f["itemIdentifier"] for f in short["batchItemFailures"]}
    assert {r["attributes"]["ApproximateReceiveCount"] for r in again} == {"2"}

    # and one left for later a second time waits for the queue's visibility timeout
    shorter = invoke(SCHEDULING, cloud, {"Records": again}, seconds_left=0.5)
    assert len(shorter["batchItemFailures"]) == 1
    time.sleep(1.5)
    assert received() == []


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


def test_a_facilitator_added_later_proposes_three_days_to_a_referral_waiting_without_one(
    cloud: Cloud, submit: Any, referral_body: dict[str, Any]
) -> None:
    # Given a referral accepted before any facilitator existed: its proposal says so
    capture = cloud.capture_events()
    reference = submit(referral_body)["json"]["reference"]
    [event] = accepted_events(cloud, capture)
    invoke(SCHEDULING, cloud, sqs_batch([event]))
    assert get_one(cloud, reference)["json"]["proposals"]["reason"] == "no_facilitator"

    # When a facilitator states their availability
    assert availability(cloud, "fac-late")["statusCode"] == 200

    # Then the waiting referral is proposed three slots with them, on three different days, within their hours
    proposals = get_one(cloud, reference)["json"]["proposals"]
    assert proposals["facilitator_id"] == "fac-late" and proposals["reason"] is None
    starts = [datetime.fromisoformat(s["starts_at"]).astimezone(LONDON) for s in proposals["slots"]]
    assert len(starts) == 3 and len({s.date() for s in starts}) == 3
    assert all(s > datetime.now(UTC) and s.hour >= 9 for s in starts)
    audit = get_one(cloud, reference)["json"]["audit"]
    assert [a["changes"]["because"] for a in audit if a["action"] == "meeting.proposed"] == [
        "referral_accepted",
        "availability_changed",
    ]
    # and each proposal can be booked as it stands: it keeps every time rule
    first = proposals["slots"][0]
    body = {**meeting(datetime.fromisoformat(first["starts_at"]), facilitator="fac-late")}
    body["ends_at"] = first["ends_at"]
    assert book(cloud, reference, body)["statusCode"] == 200


def test_the_family_s_days_and_times_bound_the_new_proposal_and_a_shortfall_is_said(
    cloud: Cloud, submit: Any, referral_body: dict[str, Any]
) -> None:
    body = {**referral_body, "meeting_preferences": {"days": ["saturday"], "times_of_day": ["morning"]}}
    reference = submit(body)["json"]["reference"]
    weekdays = [w for w in WEEKLY if w["day"] not in ("saturday", "sunday")]

    availability(cloud, "fac-weekdays", weekly=weekdays)
    short = get_one(cloud, reference)["json"]["proposals"]
    availability(cloud, "fac-weekdays", weekly=WEEKLY)
    saturdays = get_one(cloud, reference)["json"]["proposals"]

    assert (short["facilitator_id"], short["slots"], short["reason"]) == (
        "fac-weekdays",
        [],
        "few_slots_within_target",
    )
    starts = [datetime.fromisoformat(s["starts_at"]).astimezone(LONDON) for s in saturdays["slots"]]
    assert starts and all(s.strftime("%A") == "Saturday" and s.hour < 12 for s in starts)
    assert len({s.date() for s in starts}) == len(starts)  # one choice per Saturday within the target


def test_a_cancelled_meeting_leaves_a_fresh_proposal(cloud: Cloud, submit: Any, referral_body: dict[str, Any]) -> None:
    reference = submit(referral_body)["json"]["reference"]
    availability(cloud, "fac-1")  # waiting: proposed times with this facilitator
    [slot, *_] = get_one(cloud, reference)["json"]["proposals"]["slots"]
    body = {**meeting(datetime.fromisoformat(slot["starts_at"])), "ends_at": slot["ends_at"]}
    assert book(cloud, reference, body)["statusCode"] == 200

    assert cancel(cloud, reference, {"reason": "The family is unwell."})["statusCode"] == 200

    view = get_one(cloud, reference)["json"]
    assert view["proposals"]["slots"][0] == slot  # the cancelled meeting's time is free again
    assert [a["action"] for a in view["audit"]][-2:] == ["meeting.cancelled", "meeting.proposed"]
    assert "unwell" not in str(view["audit"][-1])  # the proposal's audit: ids, counts and why, no one's words
