"""Support package spending (issue 19, item 2) through the JSON API on moto: items over £250, or new items of a
package over £1,000, wait for a manager; a manager approves or declines (with a reason) once, the coordinators are
emailed once; coordinators cannot decide; an approved item's delivery is recorded and counted in the spend figures;
a referral the eligibility rules refuse gets no package."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from shared.adapters import table
from tests.integration.conftest import Cloud
from tests.integration.test_coordination import get_one, staff
from tests.integration.test_intake import relay_outbox
from tests.integration.test_outcome import YESTERDAY, held, outcome, scheduled
from tests.integration.test_reviews import london_today

MANAGER = {"sub": "m0ffee00-0000-4000-8000-000000000009", "cognito:groups": "[managers]"}
REVIEW_ON = (YESTERDAY.date() + timedelta(days=60)).isoformat()


def item(description: str, pence: int, category: str = "equipment") -> dict[str, Any]:
    return {"category": category, "description": description, "estimated_cost_pence": pence}


def plan_with(*items: dict[str, Any]) -> dict[str, Any]:
    return held({"support_package": list(items), "first_review_due_on": REVIEW_ON})


def on_item(cloud: Cloud, reference: str, number: int, action: str, body: Any = None, **kwargs: Any) -> dict[str, Any]:
    return staff(
        cloud,
        f"POST /referrals/{{reference}}/plan/items/{{number}}/{action}",
        f"/referrals/{reference}/plan/items/{number}/{action}",
        body=body,
        **kwargs,
    )


def package(cloud: Cloud, reference: str) -> list[tuple[int, int, str]]:
    return [
        (i["number"], i["estimated_cost_pence"], i["status"])
        for i in get_one(cloud, reference)["json"]["plan"]["support_package"]
    ]


def waiting_for_approval(cloud: Cloud) -> list[tuple[str, int]]:
    """The managers' list, read as the approvals page reads it: one Query of the index partition, oldest first."""
    answer = cloud.client("dynamodb").query(
        TableName=cloud.table_name,
        IndexName=table.DEADLINE_INDEX,
        KeyConditionExpression="#pk = :waiting",
        ExpressionAttributeNames={"#pk": table.DEADLINE_INDEX_PK},
        ExpressionAttributeValues={":waiting": {"S": table.DEADLINE_AWAITING_APPROVAL}},
    )
    return [(i["reference"]["S"], int(i["item_number"]["N"])) for i in answer["Items"]]


def events(cloud: Cloud, capture: Any, detail_type: str) -> list[dict[str, Any]]:
    relay_outbox(cloud)
    return [e for e in capture.received() if e["detail-type"] == detail_type]


def test_the_limits_decide_what_waits_for_a_manager_item_by_item_and_by_the_package_total(
    cloud: Cloud, submit: Any, referral_body: dict[str, Any]
) -> None:
    reference = scheduled(cloud, submit, referral_body)
    recorded = outcome(cloud, reference, plan_with(item("Car seat", 25000), item("Sofa bed", 25001)))
    assert recorded["statusCode"] == 200, recorded["json"]
    # £250 is within the limit: approved as recorded; £250.01 waits
    assert package(cloud, reference) == [(1, 25000, "approved"), (2, 25001, "requested")]
    assert waiting_for_approval(cloud) == [(reference, 2)]
    assert get_one(cloud, reference)["json"]["audit"][-1]["changes"]["package_waiting_for_approval"] == [2]

    # a review adds items: the package (less nothing declined) comes to £1,000.01, so each new item waits, however
    # small, while the items it had stay as they were
    adjusted = {
        "outcome": "adjust",
        "support_package": [
            item("Car seat", 25000),
            item("Sofa bed", 25001),
            item("Bunk beds", 25000),
            item("Washing machine", 25000),
            item("Bus pass", 1, "service"),
        ],
        "next_review_due_on": (london_today() + timedelta(days=30)).isoformat(),
    }
    reviewed = staff(cloud, "POST /referrals/{reference}/reviews", f"/referrals/{reference}/reviews", body=adjusted)
    assert reviewed["statusCode"] == 200, reviewed["json"]
    assert package(cloud, reference) == [
        (1, 25000, "approved"),
        (2, 25001, "requested"),
        (3, 25000, "requested"),
        (4, 25000, "requested"),
        (5, 1, "requested"),
    ]
    assert waiting_for_approval(cloud) == [(reference, 2), (reference, 3), (reference, 4), (reference, 5)]

    # a request may not approve an item itself: the status it gives is not read
    claimed = {
        **adjusted,
        "support_package": [*adjusted["support_package"], {**item("Cot", 900), "status": "approved"}],
    }
    claimed["next_review_due_on"] = (london_today() + timedelta(days=40)).isoformat()
    again = staff(cloud, "POST /referrals/{reference}/reviews", f"/referrals/{reference}/reviews", body=claimed)
    assert again["statusCode"] == 200, again["json"]
    assert package(cloud, reference)[-1] == (6, 900, "requested")
