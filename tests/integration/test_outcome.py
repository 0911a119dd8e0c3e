"""A meeting's outcome and the family's plan through the scheduling handler."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

from tests.integration.conftest import Cloud
from tests.integration.test_coordination import get_one, staff
from tests.integration.test_intake import relay_outbox
from tests.integration.test_meetings import availability, book, clock_at, meeting

YESTERDAY = (datetime.now(UTC) - timedelta(days=1)).replace(hour=10, minute=0, second=0, microsecond=0)
BOOKED = YESTERDAY - timedelta(days=2)  # when the referral was received and its meeting (yesterday's) booked
PLAN = {
    "network_actions": [
        {"who": "Grandmother", "what": "School pick-ups", "how_often": "Mondays and Wednesdays"},
        {"who": "Neighbour", "what": "A listening ear"},
    ],
    "support_package": [
        {"category": "item", "description": "Car seat", "estimated_cost_pence": 8500},
        {
            "category": "service",
            "description": "Six counselling sessions",
            "estimated_cost_pence": 36000,  # over the £250 limit: waits for a manager's approval
        },
    ],
}


def outcome(cloud: Cloud, reference: str, body: dict[str, Any]) -> dict[str, Any]:
    return staff(
        cloud,
        "POST /referrals/{reference}/meeting/outcome",
        f"/referrals/{reference}/meeting/outcome",
        body=body,
    )


def agree(cloud: Cloud, reference: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
    """The lead practitioner's answer to the plan, recorded by a coordinator (agreed, unless `body` says otherwise)."""
    return staff(
        cloud,
        "POST /referrals/{reference}/plan/agreement",
        f"/referrals/{reference}/plan/agreement",
        body=body or {"decision": "agree"},
    )


def scheduled(cloud: Cloud, submit: Any, referral_body: dict[str, Any]) -> str:
    availability(cloud, "fac-1")
    with clock_at(BOOKED):
        reference = str(submit(referral_body)["json"]["reference"])
        assert book(cloud, reference, meeting(YESTERDAY))["statusCode"] == 200
    return reference


def held(plan: dict[str, Any] | None, held_on: date | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"held": True, "held_on": (held_on or YESTERDAY.date()).isoformat()}
    if plan is not None:
        body["plan"] = plan
    return body


def test_a_held_meeting_with_a_plan_waits_for_agreement_and_agreement_opens_its_first_review(
    cloud: Cloud, submit: Any, referral_body: dict[str, Any]
) -> None:
    reference = scheduled(cloud, submit, referral_body)
    relay_outbox(cloud)
    capture = cloud.capture_events()
    review_on = YESTERDAY.date() + timedelta(days=84)

    response = outcome(cloud, reference, held({**PLAN, "first_review_due_on": review_on.isoformat()}))

    # the plan waits for the lead practitioner: no review, no reminder yet
    assert response["statusCode"] == 200, response["json"]
    assert response["json"]["status"] == "awaiting_agreement"
    view = get_one(cloud, reference)["json"]
    assert view["meeting"]["status"] == "held"
    assert view["plan"]["plan_status"] == "awaiting_agreement"
    assert [(item["number"], item["status"]) for item in view["plan"]["support_package"]] == [
        (1, "approved"),
        (2, "requested"),
    ]
    assert view["reviews"] == []
    assert [(a["round"], a["answerer"], a["status"]) for a in view["agreements"]] == [
        (1, "lead_practitioner", "requested")
    ]
    assert view["allowed_actions"] == ["withdraw", "record_agreement", "ask_agreement_again"]
    relay_outbox(cloud)
    events = {e["detail-type"]: e for e in capture.received()}
    assert set(events) == {"MeetingHeld", "PlanAgreementRequested"}
    data = events["MeetingHeld"]["detail"]["data"]
    assert (data["plan_agreed"], data["support_package_items"], data["first_review_due_on"]) == (
        True,
        2,
        review_on.isoformat(),
    )
    assert "Car seat" not in str(events) and "Grandmother" not in str(events)

    # agreed: the plan is in force and its first review opens
    agreed = agree(cloud, reference)
    assert agreed["json"] == {**agreed["json"], "status": "plan_active", "agreement": "agreed"}
    view = get_one(cloud, reference)["json"]
    assert view["plan"]["plan_status"] == "active"
    assert view["reviews"] == [
        {"review_number": 1, "due_on": review_on.isoformat(), "status": "scheduled", "escalations": 0}
    ]
    assert view["allowed_actions"] == ["withdraw", "record_review", "move_review"]


def test_a_held_meeting_without_a_plan_and_one_that_did_not_take_place(
    cloud: Cloud, submit: Any, referral_body: dict[str, Any]
) -> None:
    reference = scheduled(cloud, submit, referral_body)
    assert outcome(cloud, reference, held(None))["json"]["status"] == "meeting_held"
    with clock_at(BOOKED):
        other = str(submit({**referral_body, "reason": "Another family"})["json"]["reference"])
        assert book(cloud, other, meeting(YESTERDAY + timedelta(hours=3)))["statusCode"] == 200
    not_held = outcome(cloud, other, {"held": False, "reason": "The family did not come."})
    assert not_held["json"]["status"] == "preparing"
    assert not_held["json"]["meeting"]["status"] == "not_held"
    waiting = get_one(cloud, other)["json"]  # waiting again for a meeting: proposed the times it could have now
    assert waiting["audit"][-1]["changes"]["because"] == "not_held"
    assert waiting["proposals"]["facilitator_id"] == "fac-1" and len(waiting["proposals"]["slots"]) == 3
    assert book(cloud, other, meeting(YESTERDAY + timedelta(days=10)))["statusCode"] == 200  # book again


def test_an_outcome_that_does_not_add_up_is_refused(cloud: Cloud, submit: Any, referral_body: dict[str, Any]) -> None:
    reference = scheduled(cloud, submit, referral_body)
    too_late = (YESTERDAY.date() + timedelta(days=120)).isoformat()
    for body in (
        {"held": True},
        held({**PLAN, "first_review_due_on": too_late}),
        held({**PLAN, "first_review_due_on": YESTERDAY.date().isoformat()}),
        held({**PLAN}),  # no review date
        held(None, held_on=date.today() + timedelta(days=3)),
        {"held": False},
        {"held": False, "reason": "x", "plan": {**PLAN, "first_review_due_on": too_late}},
        held(
            {
                **PLAN,
                "first_review_due_on": too_late,
                "support_package": [{"category": "cash", "description": "x", "estimated_cost_pence": 1}],
            }
        ),
    ):
        response = outcome(cloud, reference, body)
        assert response["statusCode"] == 422, (body, response["json"])
    assert get_one(cloud, reference)["json"]["status"] == "meeting_scheduled"


def test_an_outcome_needs_a_scheduled_meeting(cloud: Cloud, submit: Any, referral_body: dict[str, Any]) -> None:
    reference = str(submit(referral_body)["json"]["reference"])
    response = outcome(cloud, reference, held(None))
    assert response["statusCode"] == 409
    assert response["json"]["allowed_actions"] == [
        "withdraw",
        "record_contact",
        "record_family_decision",
        "update_checklist",
        "record_child_voice",
    ]


def test_a_recorded_outcome_frees_the_facilitator_s_time(
    cloud: Cloud, submit: Any, referral_body: dict[str, Any]
) -> None:
    # Given a meeting recorded as not having taken place (the referral is preparing again)
    reference = scheduled(cloud, submit, referral_body)
    assert outcome(cloud, reference, {"held": False, "reason": "The family was unwell."})["statusCode"] == 200
    # When the same facilitator is booked at the same time again (as it could be then, before that time)
    with clock_at(BOOKED + timedelta(hours=1)):
        again = book(cloud, reference, meeting(YESTERDAY))
    # Then the slot is free: the old meeting no longer holds it
    assert again["statusCode"] == 200, again["json"]
    busy = [i for i in cloud.items() if i["pk"] == "FACILITATOR#fac-1" and i["sk"].startswith("BUSY#")]
    assert {i["meeting_id"] for i in busy} == {again["json"]["meeting"]["meeting_id"]}
