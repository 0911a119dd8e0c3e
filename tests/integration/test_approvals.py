"""Support package spending (issue 19, item 2) through the JSON API on moto: items over £250, or new items of a
package over £1,000, wait for a manager; a manager approves or declines (with a reason) once, the coordinators are
emailed once; coordinators cannot decide; an approved item's delivery is recorded and counted in the spend figures;
a referral the eligibility rules refuse gets no package."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from typing import Any

from infra.constants import CONSOLE, FEEDBACK, REPORTS
from infra.local.outbox import sent_emails
from shared.adapters import table
from tests.integration.conftest import Cloud, invoke
from tests.integration.test_console import a_session, console_event
from tests.integration.test_console_plans import summary, value_of
from tests.integration.test_coordination import act, get_one, staff
from tests.integration.test_intake import relay_outbox
from tests.integration.test_meetings import availability, book, clock_at, meeting
from tests.integration.test_outcome import BOOKED, YESTERDAY, agree, held, outcome, scheduled
from tests.integration.test_proposals import sqs_batch
from tests.integration.test_reports import report_of
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
    assert agree(cloud, reference)["statusCode"] == 200  # the plan in force, its first review open

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


def test_a_manager_approves_once_the_coordinators_hear_once_and_the_delivery_counts_as_spend(
    cloud: Cloud, submit: Any, referral_body: dict[str, Any]
) -> None:
    reference = scheduled(cloud, submit, referral_body)
    assert outcome(cloud, reference, plan_with(item("Washing machine", 40000)))["statusCode"] == 200
    assert agree(cloud, reference)["statusCode"] == 200
    capture = cloud.capture_events()

    # a coordinator cannot approve or decline; delivery waits for the approval
    coordinator = on_item(cloud, reference, 1, "approve")
    assert coordinator["statusCode"] == 403 and "managers" in coordinator["json"]["message"]
    assert on_item(cloud, reference, 1, "decline", {"reason": "Too dear"})["statusCode"] == 403
    early = on_item(
        cloud, reference, 1, "delivery", {"actual_cost_pence": 1, "supplier": "S", "delivered_on": "2026-01-01"}
    )
    assert early["statusCode"] == 409 and "waiting for a manager" in early["json"]["message"]

    approved = on_item(cloud, reference, 1, "approve", claims=MANAGER)
    assert approved["statusCode"] == 200, approved["json"]
    assert (approved["json"]["changed"], approved["json"]["item"]["status"]) == (True, "approved")
    again = on_item(cloud, reference, 1, "approve", claims=MANAGER)  # a double click, a retry: nothing more
    assert (again["statusCode"], again["json"]["changed"]) == (200, False)
    assert again["json"]["version"] == approved["json"]["version"]
    assert on_item(cloud, reference, 1, "decline", {"reason": "Changed my mind"}, claims=MANAGER)["statusCode"] == 409
    assert waiting_for_approval(cloud) == []
    [decided] = events(cloud, capture, "PackageItemDecided")
    assert decided["detail"]["data"] | {"decided_at": None} == {
        "reference": reference,
        "item_number": 1,
        "decision": "approved",
        "category": "equipment",
        "estimated_cost_pence": 40000,
        "decided_at": None,
    }
    [entry] = [a for a in get_one(cloud, reference)["json"]["audit"] if a["action"] == "package.approved"]
    assert entry["actor"] == f"manager:{MANAGER['sub']}"

    # the coordinators' email, once however often the event comes: the reference and fixed words only
    assert invoke(FEEDBACK, cloud, sqs_batch([decided, decided])) == {"batchItemFailures": []}
    assert invoke(FEEDBACK, cloud, sqs_batch([decided])) == {"batchItemFailures": []}
    [email] = [m for m in sent_emails() if m["subject"].startswith("Support package decision")]
    assert email["to"] == ["coordinators@familynet.example.org"]
    assert email["subject"] == f"Support package decision: {reference}"
    assert "approved item 1" in email["text"] and "Washing machine" not in json.dumps(email)
    assert "Jo Bloggs" not in json.dumps(email)

    delivered_on = london_today().isoformat()
    delivery = {"actual_cost_pence": 38950, "supplier": "Hometown Appliances", "delivered_on": delivered_on}
    future = {**delivery, "delivered_on": (london_today() + timedelta(days=1)).isoformat()}
    assert on_item(cloud, reference, 1, "delivery", future)["json"]["errors"][0]["field"] == "delivered_on"
    recorded = on_item(cloud, reference, 1, "delivery", delivery)
    assert recorded["statusCode"] == 200, recorded["json"]
    assert recorded["json"]["item"] | {"recorded_at": None, "decided_at": None} == {
        "number": 1,
        "category": "equipment",
        "description": "Washing machine",
        "estimated_cost_pence": 40000,
        "status": "delivered",
        "actual_cost_pence": 38950,
        "supplier": "Hometown Appliances",
        "delivered_on": delivered_on,
        "recorded_at": None,
        "decided_at": None,
    }
    assert on_item(cloud, reference, 1, "delivery", delivery)["json"]["changed"] is False
    assert on_item(cloud, reference, 1, "delivery", {**delivery, "actual_cost_pence": 1})["statusCode"] == 409
    [spent] = events(cloud, capture, "PackageItemDelivered")
    assert "Hometown" not in json.dumps(spent)
    assert invoke(REPORTS, cloud, sqs_batch([spent, spent])) == {"batchItemFailures": []}  # counted once
    figures = report_of(cloud, delivered_on[:7])
    assert (figures.by("delivered_items#"), figures.by("spend_pence#")) == ({"equipment": 1}, {"equipment": 38950})
    assert ("Support package", "equipment: actual spend (£)", "389.50") in figures.rows()
    manager, _ = a_session(cloud, groups=("managers",))
    month = delivered_on[:7]
    shown = screen(cloud, manager, "GET", "/staff/reports", "/staff/reports", period=month)["body"]
    assert re.search(r"equipment: actual spend \(£\)</th>\s*<td[^>]*>389\.50<", shown)
    download = screen(cloud, manager, "GET", "/staff/reports/download", "/staff/reports/download", period=month)
    assert f"{month},Support package,equipment: actual spend (£),389.50" in download["body"].splitlines()


def test_a_decline_needs_a_reason_which_stays_on_the_plan(
    cloud: Cloud, submit: Any, referral_body: dict[str, Any]
) -> None:
    reference = scheduled(cloud, submit, referral_body)
    assert outcome(cloud, reference, plan_with(item("Driving lessons", 120000, "service")))["statusCode"] == 200
    capture = cloud.capture_events()
    for body in (None, {}, {"reason": "   "}):
        assert on_item(cloud, reference, 1, "decline", body, claims=MANAGER)["statusCode"] == 422
    assert on_item(cloud, reference, 2, "approve", claims=MANAGER)["statusCode"] == 404
    declined = on_item(cloud, reference, 1, "decline", {"reason": "Outside the fund's rules"}, claims=MANAGER)
    assert declined["statusCode"] == 200, declined["json"]
    [entry] = get_one(cloud, reference)["json"]["plan"]["support_package"]
    assert (entry["status"], entry["decline_reason"]) == ("declined", "Outside the fund's rules")
    [event] = events(cloud, capture, "PackageItemDecided")
    assert event["detail"]["data"]["decision"] == "declined" and "rules" not in json.dumps(event)
    delivery = {"actual_cost_pence": 1, "supplier": "S", "delivered_on": london_today().isoformat()}
    assert on_item(cloud, reference, 1, "delivery", delivery)["statusCode"] == 409
    assert waiting_for_approval(cloud) == []


def test_a_package_for_a_referral_without_a_named_lead_practitioner_is_refused_with_the_reason(
    cloud: Cloud, submit: Any, referral_body: dict[str, Any]
) -> None:
    availability(cloud, "fac-1")
    with clock_at(BOOKED):
        reference = str(submit({**referral_body, "route": "professional_request"})["json"]["reference"])
        assert act(cloud, reference, "accept")["statusCode"] == 200
        assert book(cloud, reference, meeting(YESTERDAY))["statusCode"] == 200

    refused = outcome(cloud, reference, plan_with(item("Car seat", 8500)))

    assert refused["statusCode"] == 422
    assert "named lead practitioner" in refused["json"]["message"]
    assert refused["json"]["errors"][0]["field"] == "plan.support_package"
    assert get_one(cloud, reference)["json"]["status"] == "meeting_scheduled"  # nothing written
    without = outcome(cloud, reference, held({"support_package": [], "first_review_due_on": REVIEW_ON}))
    assert without["statusCode"] == 200, without["json"]


# --- on screen ------------------------------------------------------------------------------------------------------
ITEM_ROUTE = "/staff/referrals/{reference}/plan/items/{number}"


def screen(
    cloud: Cloud, session: str, method: str, path: str, route: str, form: dict[str, str] | None = None, **query: str
) -> dict[str, Any]:
    parts = path.split("/")
    parameters = {"reference": parts[3]} if len(parts) > 3 and parts[2] == "referrals" else {}
    if len(parts) > 6:
        parameters["number"] = parts[6]
    event = console_event(
        method, path, route, session=session, form=form, query=query or None, parameters=parameters or None
    )
    return invoke(CONSOLE, cloud, event)  # type: ignore[no-any-return]


def test_on_screen_a_manager_decides_from_the_approvals_page_and_a_coordinator_records_the_delivery(
    cloud: Cloud, submit: Any, referral_body: dict[str, Any]
) -> None:
    reference = scheduled(cloud, submit, referral_body)
    body = plan_with(item("Washing machine", 40000), item("Holiday", 50000, "service"), item("Cot", 900))
    assert outcome(cloud, reference, body)["statusCode"] == 200
    assert agree(cloud, reference)["statusCode"] == 200
    manager, manager_token = a_session(cloud, groups=("managers",))
    coordinator, token = a_session(cloud)
    item_1 = f"/staff/referrals/{reference}/plan/items/1"

    work = screen(cloud, manager, "GET", "/staff", "/staff")["body"]
    assert re.search(r'id="count-approvals">2<', work) and "Support package items waiting for approval" in work
    assert "Approvals" not in screen(cloud, coordinator, "GET", "/staff", "/staff")["body"]
    listed = screen(cloud, manager, "GET", "/staff/approvals", "/staff/approvals")
    assert listed["statusCode"] == 200
    assert re.findall(r"/plan/items/(\d)/approval", listed["body"]) == ["1", "2"]  # oldest first, then by item
    assert "Washing machine" not in listed["body"]  # ids and amounts only: the item is read on its own page

    # coordinators are refused every manager's address
    for method, path, route in (
        ("GET", "/staff/approvals", "/staff/approvals"),
        ("GET", f"{item_1}/approval", f"{ITEM_ROUTE}/approval"),
        ("POST", f"{item_1}/approve", f"{ITEM_ROUTE}/approve"),
        ("POST", f"{item_1}/decline", f"{ITEM_ROUTE}/decline"),
    ):
        form = {"csrf_token": token, "version": "3", "reason": "x"} if method == "POST" else None
        refused = screen(cloud, coordinator, method, path, route, form)
        assert refused["statusCode"] == 403, path
        assert "Only a manager can approve or decline support package spending" in refused["body"], path

    opened = screen(cloud, manager, "GET", f"{item_1}/approval", f"{ITEM_ROUTE}/approval")
    assert opened["statusCode"] == 200 and "Washing machine" in opened["body"]
    assert "over the approval limit of £250" in opened["body"]
    assert get_one(cloud, reference)["json"]["accesses"][-2]["route"].endswith("/approval")  # a read of the case
    version = value_of(opened["body"], "version") or ""
    no_reason = screen(
        cloud,
        manager,
        "POST",
        f"{item_1}/decline",
        f"{ITEM_ROUTE}/decline",
        {"csrf_token": manager_token, "version": version},
    )
    assert no_reason["statusCode"] == 422 and summary(no_reason["body"])[0][0] == "#reason"
    approved = screen(
        cloud,
        manager,
        "POST",
        f"{item_1}/approve",
        f"{ITEM_ROUTE}/approve",
        {"csrf_token": manager_token, "version": version},
    )
    assert approved["statusCode"] == 303
    assert approved["headers"]["Location"] == f"/staff/approvals?done=approved&reference={reference}&item=1"
    declined = screen(
        cloud,
        manager,
        "POST",
        f"/staff/referrals/{reference}/plan/items/2/decline",
        f"{ITEM_ROUTE}/decline",
        {"csrf_token": manager_token, "version": str(int(version) + 1), "reason": "A holiday is outside the fund"},
    )
    assert declined["statusCode"] == 303
    banner = screen(
        cloud, manager, "GET", "/staff/approvals", "/staff/approvals", done="declined", reference=reference, item="2"
    )
    assert f"Item 2 of {reference} declined" in banner["body"] and 'id="none-waiting"' in banner["body"]

    case = screen(cloud, coordinator, "GET", f"/staff/referrals/{reference}", "/staff/referrals/{reference}")["body"]
    assert "Reason: A holiday is outside the fund" in case
    assert re.findall(r'id="deliver-(\d)"', case) == ["1", "3"]  # a form for each approved item
    current = value_of(case, "version") or ""
    wrong = {"csrf_token": token, "version": current, "actual_cost": "lots", "supplier": "", "delivered_on.day": "31"}
    refused = screen(cloud, coordinator, "POST", f"{item_1}/delivery", f"{ITEM_ROUTE}/delivery", wrong)
    assert refused["statusCode"] == 422
    assert [href for href, _ in summary(refused["body"])] == [
        "#delivery-1-cost",
        "#delivery-1-supplier",
        "#delivery-1-day",
    ]
    assert re.search(r'<details class="govuk-details" id="deliver-1" open', refused["body"])
    assert value_of(refused["body"], "actual_cost") == "lots"  # the answers are kept
    day = london_today()
    good = {
        "csrf_token": token,
        "version": current,
        "actual_cost": "389.50",
        "supplier": "Hometown Appliances",
        "delivered_on.day": str(day.day),
        "delivered_on.month": str(day.month),
        "delivered_on.year": str(day.year),
    }
    done = screen(cloud, coordinator, "POST", f"{item_1}/delivery", f"{ITEM_ROUTE}/delivery", good)
    assert done["statusCode"] == 303 and done["headers"]["Location"].endswith("?done=delivered#item-1")
    case = screen(cloud, coordinator, "GET", f"/staff/referrals/{reference}", "/staff/referrals/{reference}")["body"]
    assert "£389.50 from Hometown Appliances" in case and re.findall(r'id="deliver-(\d)"', case) == ["3"]
    assert "Support package item delivered" in case  # the timeline
