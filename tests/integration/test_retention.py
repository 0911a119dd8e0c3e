"""Retention: an ended referral's items carry the expiry its rule gives, expired items are invisible to every
read, and every staff read of a referral leaves an access entry."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from infra.constants import FEEDBACK, REMINDERS
from shared.adapters import table
from shared.domain import clock
from tests.integration.conftest import Cloud, invoke
from tests.integration.test_coordination import COORDINATOR, act, get_one, request_from_school, staff
from tests.integration.test_intake import relay_outbox
from tests.integration.test_proposals import sqs_batch


def ended(cloud: Cloud, reference: str, action: str, body: dict[str, Any] | None) -> dict[str, Any]:
    capture = cloud.capture_events()
    assert act(cloud, reference, action, body)["statusCode"] == 200
    relay_outbox(cloud)
    [event] = [e for e in capture.received() if e["detail-type"] != "ReferralReceived"]
    return event


def partition(cloud: Cloud, reference: str) -> list[dict[str, Any]]:
    return [item for item in cloud.items() if item[table.PARTITION_KEY] == table.referral_pk(reference)]


@pytest.mark.parametrize(
    ("action", "body", "born", "days"),
    [
        ("withdraw", {"reason": "The family asked us to stop."}, "2019-05-14", 90),  # before acceptance: 90 days
        ("decline", {"reason": "Not a Family Network need."}, "2004-05-14", 6 * 365),  # a young adult: six years
        ("decline", {"reason": "Not a Family Network need."}, "2019-05-14", None),  # a child: until 25
    ],
)
def test_an_ended_referral_s_items_all_expire_by_the_rule(
    cloud: Cloud,
    submit: Any,
    referral_body: dict[str, Any],
    action: str,
    body: dict[str, Any],
    born: str,
    days: int | None,
) -> None:
    # Given a request from a school for a family whose youngest child was born on `born`, decided
    family = referral_body["family"]
    children = [{"first_name": "Alfie", "date_of_birth": "2001-01-01"}, {"first_name": "Bea", "date_of_birth": born}]
    reference = request_from_school(submit, {**referral_body, "family": {**family, "children": children}})
    event = ended(cloud, reference, action, body)
    # When the reminders function hears of it (twice: at-least-once delivery)
    assert invoke(REMINDERS, cloud, sqs_batch([event, event])) == {"batchItemFailures": []}
    # And the feedback function emails the referrer afterwards
    invoke(FEEDBACK, cloud, sqs_batch([event]))
    # Then every item of the referral expires on the rule's day (an outbox item keeps its shorter week)
    now = datetime.now(UTC)
    if days is None:  # until the youngest child's 25th birthday
        days = (datetime(int(born[:4]) + 25, int(born[5:7]), int(born[8:]), tzinfo=UTC) - now).days
    items = partition(cloud, reference)
    assert {item["kind"] for item in items} >= {"referral", "audit", "email", "outbox_event"}
    for item in items:
        expires = datetime.fromtimestamp(int(item[table.TTL_ATTRIBUTE]), UTC)
        if item["kind"] == "outbox_event":
            assert expires < now + timedelta(days=8)
        else:
            assert abs((expires - now) - timedelta(days=days)) < timedelta(days=3), item[table.SORT_KEY]


def test_an_open_referral_has_no_expiry(cloud: Cloud, submit: Any, referral_body: dict[str, Any]) -> None:
    reference = request_from_school(submit, referral_body)
    assert [i for i in partition(cloud, reference) if i["kind"] == "referral" and table.TTL_ATTRIBUTE in i] == []


def test_an_expired_referral_is_invisible_to_every_read(
    cloud: Cloud, submit: Any, referral_body: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    reference = request_from_school(submit, referral_body)
    event = ended(cloud, reference, "withdraw", {"reason": "The family asked us to stop."})
    invoke(REMINDERS, cloud, sqs_batch([event]))
    assert get_one(cloud, reference)["statusCode"] == 200
    listed = staff(cloud, "GET /referrals", "/referrals", query={"status": "withdrawn"})["json"]["items"]
    assert [item["reference"] for item in listed] == [reference]

    # 91 days on, DynamoDB may not have deleted the items yet: no read shows them
    monkeypatch.setattr(clock, "_offset", timedelta(days=91))
    assert partition(cloud, reference)  # still in the table
    assert get_one(cloud, reference)["statusCode"] == 404
    assert staff(cloud, "GET /referrals", "/referrals", query={"status": "withdrawn"})["json"]["items"] == []
    assert act(cloud, reference, "accept")["statusCode"] == 404


def test_every_read_of_a_referral_leaves_an_access_entry(
    cloud: Cloud, submit: Any, referral_body: dict[str, Any]
) -> None:
    reference = request_from_school(submit, referral_body)
    get_one(cloud, reference)
    view = get_one(cloud, reference)["json"]
    assert [(a["actor"], a["route"]) for a in view["accesses"]] == [
        (f"coordinator:{COORDINATOR['sub']}", "GET /referrals/{reference}")
    ] * 2
    assert view["accesses"][0]["at"] <= view["accesses"][1]["at"]
    # A read refused (not a coordinator) or of nothing leaves no entry
    staff(cloud, "GET /referrals/{reference}", f"/referrals/{reference}", claims={"sub": "x", "cognito:groups": "[]"})
    assert len(get_one(cloud, reference)["json"]["accesses"]) == 3
