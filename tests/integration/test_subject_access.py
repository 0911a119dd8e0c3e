"""Subject access: GET /referrals/{reference}/export holds every item and email of the referral and is audited."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

from infra.constants import FEEDBACK
from shared.adapters import table
from shared.web.staff import PRIVACY_MANAGERS_ONLY
from tests.integration.conftest import Cloud, invoke
from tests.integration.test_coordination import COORDINATOR, MANAGER, staff
from tests.integration.test_proposals import sqs_batch
from tests.integration.test_reminders import held_with_plan

ROUTE = "GET /referrals/{reference}/export"


def export(cloud: Cloud, reference: str, **kwargs: Any) -> dict[str, Any]:
    kwargs.setdefault("claims", MANAGER)
    return staff(cloud, ROUTE, f"/referrals/{reference}/export", **kwargs)


def test_the_export_holds_every_item_and_email_of_the_referral_and_is_itself_recorded(
    cloud: Cloud, submit: Any, referral_body: dict[str, Any]
) -> None:
    # Given a referral with a held meeting, a plan agreed and the feedback email sent
    reference, held = held_with_plan(cloud, submit, referral_body, datetime.now(UTC).date() + timedelta(days=60))
    invoke(FEEDBACK, cloud, sqs_batch([held]))
    items = [i for i in cloud.items() if i[table.PARTITION_KEY] == table.referral_pk(reference)]

    # When a manager exports it
    response = export(cloud, reference)

    # Then every item but the relay's event copies is in it, emails with the text that was sent
    assert response["statusCode"] == 200, response["body"]
    assert reference in response["headers"]["Content-Disposition"]
    document = response["json"]
    assert document["referral"]["submission"]["family"]["contact_name"] == "Jo Bloggs"
    assert document["plan"]["first_review_due_on"]
    assert [r["review_number"] for r in document["reviews"]] == [1]
    assert {m["status"] for m in document["meetings"] if "status" in m} == {"held"}
    feedback = [e for e in document["emails"] if e["template"] == "feedback"]
    assert feedback and f"{reference}" in feedback[0]["text"]
    assert [v["status"] for v in document["meeting_versions"]] == ["scheduled"]  # as the invitations described it
    assert [(a["round"], a["status"]) for a in document["agreements"]] == [(1, "agreed")]  # the plan's agreement
    sections = (
        "meetings",
        "meeting_versions",
        "participants",
        "preparation",
        "children",
        "agreements",
        "plan_links",
        "reviews",
        "emails",
        "audit",
        "deadlines",
    )
    exported = sum(len(document[key]) for key in sections)
    exported += len(document["accesses"]) - 1 + 2 + len(document["other"])  # less this export; plus referral, plan
    assert exported == len([i for i in items if i["kind"] != "outbox_event"])
    assert document["accesses"][-1]["route"] == ROUTE
    assert "pk" not in json.dumps(document["referral"]) and "status_key" not in document["referral"]
    # And the export is in the read audit from now on
    again = export(cloud, reference)["json"]
    assert [a["route"] for a in again["accesses"]].count(ROUTE) == 2


def test_the_export_reads_as_a_page_with_everything_escaped(
    cloud: Cloud, submit: Any, referral_body: dict[str, Any]
) -> None:
    referral_body["reason"] = "Mum <b>needs</b> help with the school run."
    reference = submit(referral_body)["json"]["reference"]
    response = export(cloud, reference, headers={"accept": "text/html"})
    assert response["statusCode"] == 200
    assert response["headers"]["Content-Type"].startswith("text/html")
    page = response["body"]
    assert f"Everything held about referral {reference}" in page
    assert "Jo Bloggs" in page and "Mum &lt;b&gt;needs&lt;/b&gt; help" in page and "<b>needs" not in page


def test_only_managers_export_and_only_what_exists(cloud: Cloud, submit: Any, referral_body: dict[str, Any]) -> None:
    reference = submit(referral_body)["json"]["reference"]
    refused = export(cloud, reference, claims=COORDINATOR)
    assert refused["statusCode"] == 403
    assert refused["json"]["message"] == PRIVACY_MANAGERS_ONLY
    assert "Content-Disposition" not in refused["headers"]
    assert export(cloud, reference, claims={"sub": "someone", "cognito:groups": "[]"})["statusCode"] == 403
    # a refused export is no read of the case
    accesses = export(cloud, reference)["json"]["accesses"]
    assert [a["route"] for a in accesses] == [ROUTE]
    assert export(cloud, "FN-AAAAAAAA")["statusCode"] == 404
