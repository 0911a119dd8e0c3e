"""The transactional outbox: the table's stream, filtered as the template says, relayed to the bus."""

from __future__ import annotations

import pytest

from infra.constants import EVENT_RELAY
from shared.domain.errors import PublishFailed
from tests.integration.conftest import invoke


def test_only_new_outbox_items_pass_the_stream_filter(cloud, submit, referral_body):
    submit(referral_body, headers={"Idempotency-Key": "abc"})
    records = cloud.relay_reader().read()
    # referral, audit entries and two submission markers were written too: the filter keeps the outbox events only
    # (a lead practitioner's referral: ReferralReceived and ReferralAccepted)
    assert [r["dynamodb"]["NewImage"]["kind"]["S"] for r in records] == ["outbox_event", "outbox_event"]


def test_a_referral_whose_event_fails_to_publish_is_announced_when_the_relay_retries(cloud, submit, referral_body):
    # Given a stored referral, and a bus that is unreachable when the relay first runs
    reference = submit(referral_body)["json"]["reference"]
    bus = cloud.client("events").describe_event_bus(Name=cloud.bus_name)
    cloud.client("events").delete_event_bus(Name=cloud.bus_name)
    records = cloud.relay_reader().read()
    # When the relay runs, the whole batch fails, so Lambda keeps it on the stream and retries
    with pytest.raises(PublishFailed):
        invoke(EVENT_RELAY, cloud, {"Records": records})
    # Then the referral is still stored, and once the bus is back the retried batch announces it exactly once
    assert any(item.get("reference") == reference and item["kind"] == "referral" for item in cloud.items())
    cloud.client("events").create_event_bus(Name=bus["Name"])
    capture = cloud.capture_events()
    assert invoke(EVENT_RELAY, cloud, {"Records": records}) == {"batchItemFailures": []}
    events = capture.received()
    assert sorted(e["detail-type"] for e in events) == ["ReferralAccepted", "ReferralReceived"]
    assert {e["detail"]["data"]["reference"] for e in events} == {reference}
