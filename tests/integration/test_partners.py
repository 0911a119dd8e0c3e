"""The Early Help network's directory: partners found by offer and locality through the index (never a Scan),
changed and deactivated with an audit entry, never deleted."""

from __future__ import annotations

from typing import Any

import pytest

from tests.integration.conftest import Cloud
from tests.integration.test_coordination import staff

HUB = {
    "name": "Northside Family Hub",
    "kind": "family_hub",
    "offers": ["activities", "parenting"],
    "localities": ["North", "Central"],
    "email": "hello@northside-hub.example.org",
}
CHURCH = {
    "name": "St Anne's Community Kitchen",
    "kind": "faith_or_community_group",
    "offers": ["practical_support", "items"],
    "localities": ["North"],
    "email": "kitchen@stannes.example.org",
}
MEDIATION = {
    "name": "Family Mediation South",
    "kind": "charity",
    "offers": ["mediation", "parenting"],
    "localities": ["South"],
    "email": "referrals@fms.example.org",
}


def add(cloud: Cloud, body: dict[str, Any]) -> dict[str, Any]:
    return staff(cloud, "POST /partners", "/partners", body=body)


def find(cloud: Cloud, **query: str) -> list[str]:
    response = staff(cloud, "GET /partners", "/partners", query=query)
    assert response["statusCode"] == 200, response["json"]
    return [partner["name"] for partner in response["json"]["items"]]


@pytest.fixture
def directory(cloud: Cloud) -> dict[str, str]:
    return {str(body["name"]): add(cloud, body)["json"]["partner_id"] for body in (HUB, CHURCH, MEDIATION)}


def test_the_directory_answers_by_offer_by_locality_by_both_and_whole_without_a_scan(
    cloud: Cloud, directory: dict[str, str]
) -> None:
    from shared.adapters import aws

    calls: list[str] = []
    aws.dynamodb().meta.events.register("before-call.dynamodb.*", lambda event_name, **_: calls.append(event_name))

    assert find(cloud, offer="parenting") == ["Family Mediation South", "Northside Family Hub"]
    assert find(cloud, locality="north") == ["Northside Family Hub", "St Anne's Community Kitchen"]
    assert find(cloud, offer="parenting", locality="North") == ["Northside Family Hub"]
    assert find(cloud, offer="transport") == []
    assert len(find(cloud)) == 3
    assert calls and {call.rsplit(".", 1)[1] for call in calls} == {"Query"}


def test_a_partner_changes_and_is_deactivated_with_audit_but_never_deleted(
    cloud: Cloud, directory: dict[str, str]
) -> None:
    partner_id = directory["St Anne's Community Kitchen"]
    changed = staff(
        cloud,
        "PUT /partners/{partner_id}",
        f"/partners/{partner_id}",
        body={**CHURCH, "localities": ["North", "South"]},
        headers={"if-match": '"1"'},
    )
    assert changed["statusCode"] == 200, changed["json"]
    assert changed["json"]["version"] == 2
    assert "St Anne's Community Kitchen" in find(cloud, locality="South")

    stale = staff(
        cloud, "PUT /partners/{partner_id}", f"/partners/{partner_id}", body=CHURCH, headers={"if-match": '"1"'}
    )
    assert stale["statusCode"] == 409

    off = staff(cloud, "PUT /partners/{partner_id}", f"/partners/{partner_id}", body={**CHURCH, "active": False})
    assert off["statusCode"] == 200 and off["json"]["active"] is False
    assert "St Anne's Community Kitchen" not in find(cloud) + find(cloud, locality="North")
    kept = [i for i in cloud.items() if i["pk"] == f"PARTNER#{partner_id}"]
    assert [i["kind"] for i in kept if i["kind"] == "partner"] == ["partner"]  # never deleted
    actions = sorted(i["action"] for i in kept if i["kind"] == "audit")
    assert actions == ["partner.added", "partner.changed", "partner.deactivated"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({**HUB, "offers": ["yoga"]}, "offers"),
        ({**HUB, "offers": []}, "offers"),
        ({**HUB, "localities": ["North", "north"]}, "localities"),
        ({**HUB, "email": "not an email"}, "email"),
        ({**HUB, "kind": "shop"}, "kind"),
    ],
)
def test_a_partner_that_does_not_add_up_is_refused(cloud: Cloud, body: dict[str, Any], field: str) -> None:
    response = add(cloud, body)
    assert response["statusCode"] == 422
    assert field in {error["field"].split(".")[0] for error in response["json"]["errors"]}
    assert find(cloud) == []


def test_unknown_partners_and_offers_get_a_clear_4xx(cloud: Cloud) -> None:
    assert staff(cloud, "PUT /partners/{partner_id}", "/partners/p-nothing", body=HUB)["statusCode"] == 404
    assert staff(cloud, "GET /partners", "/partners", query={"offer": "yoga"})["statusCode"] == 400
