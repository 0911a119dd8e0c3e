"""One plan from the meeting to the delivery of its support (issue 19, items 1, 2, 3 and 5) in headless Chromium
through the local runtime, keyboard only and with JavaScript off: a coordinator records a held meeting whose plan names
a partner (with the family's answer), a £400 item and a £300 item, and the lead practitioner's agreement given by
phone; a manager finds both items waiting (work list, approvals page), approves the £400 one and declines the other
with a reason (the error summary first); the coordinator sees the decision and its reason and records the £400 item's
delivery (actual cost, supplier, date; the error summary first), the partner's answer, then a review that adjusts the
package and a moved review. axe-core on every new page, kept with its screenshot in test-artifacts/console-plans/
(axe-summary.txt lists them)."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

import pytest
import requests
from playwright.sync_api import Browser, Page

from infra.local.runtime import wait_for
from shared.domain.clock import LONDON
from tests.conftest import minimal_referral
from tests.e2e.browser import ROOT, Keyboard, audit
from tests.e2e.conftest import RunningSystem
from tests.e2e.test_console import EVERY_DAY, NO_VIOLATIONS, browser_page, follow_link, sign_in, status_of
from tests.e2e.test_console_reports import MANAGER
from tests.preparation import prepare_through_api

ARTIFACTS = ROOT / "test-artifacts" / "console-plans"


@pytest.fixture(scope="module", autouse=True)
def _fresh_summary() -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / "axe-summary.txt").write_text("")


def accessible(page: Page, state: str) -> None:
    """axe-core on exactly what the page shows, replayed with JavaScript on (axe needs it; the walk has it off)."""
    html, url = page.content(), page.url.split("#", 1)[0]  # a request never carries the fragment: route without it
    assert page.context.browser is not None
    context = page.context.browser.new_context(viewport={"width": 1366, "height": 900})
    try:
        replay = context.new_page()
        replay.route(url, lambda route: route.fulfill(status=200, content_type="text/html; charset=utf-8", body=html))
        replay.goto(url)
        assert audit(replay, state, ARTIFACTS) == NO_VIOLATIONS, f"{state}: see {ARTIFACTS}/{state}.axe.json"
    finally:
        context.close()


def api(system: RunningSystem, method: str, path: str, body: dict[str, Any]) -> dict[str, Any]:
    token = system.get("/_local/token", params={"role": "coordinator"}).json()["token"]
    answer = requests.request(
        method, system.url + path, json=body, headers={"Authorization": f"Bearer {token}"}, timeout=30
    )
    assert answer.ok, answer.text
    return dict(answer.json())


def a_booked_meeting(system: RunningSystem, family_email: str | None = None) -> str:
    """A lead practitioner's referral (accepted at intake), prepared (the family agreed, the checklist met), with a
    meeting booked a few minutes from the system's clock (the console records an outcome on or after the day it took
    place); the family's contact with an email if one is given."""
    facilitator = f"fac-{uuid.uuid4().hex[:6]}"
    api(system, "PUT", f"/facilitators/{facilitator}/availability", {"locality": "Plans", "weekly": EVERY_DAY})
    body = minimal_referral()  # its own referrer: the same body again would be the same referral (intake's dedupe)
    body["referrer"] = {**body["referrer"], "email": f"lp-{uuid.uuid4().hex[:8]}@council.example.org"}
    if family_email:
        body["family"] = {**body["family"], "contact_email": family_email}
    answer = system.post("/referrals", json=body)
    assert answer.status_code == 201, answer.text
    reference = str(answer.json()["reference"])
    token = system.get("/_local/token", params={"role": "coordinator"}).json()["token"]
    prepare_through_api(system.url, token, reference)
    now = datetime.fromisoformat(system.get("/_local/clock").json()["now"])
    starts = (now + timedelta(minutes=5)).replace(second=0, microsecond=0)
    booking = {
        "starts_at": starts.isoformat(),
        "ends_at": (starts + timedelta(hours=2)).isoformat(),
        "facilitator_id": facilitator,
        "venue": {"type": "family_hub"},
        "exception_reason": "Whenever the test runs",
    }
    api(system, "PUT", f"/referrals/{reference}/meeting", booking)
    return reference


def retype(keys: Keyboard, element_id: str, text: str) -> None:
    keys.tab_to(element_id)
    keys.page.keyboard.press("Control+A")
    keys.page.keyboard.press("Delete")
    keys.page.keyboard.type(text)


def type_date(keys: Keyboard, prefix: str, day: Any) -> None:
    retype(keys, f"{prefix}-day", str(day.day))
    retype(keys, f"{prefix}-month", str(day.month))
    retype(keys, f"{prefix}-year", str(day.year))


def choose(keys: Keyboard, element_id: str, words: str) -> None:
    """A select, by keyboard: typing its option's first words selects it, as in any browser."""
    keys.tab_to(element_id)
    keys.page.keyboard.type(words)


def follow_to_item(page: Page, link: str) -> None:
    """The item's link on the approvals page, oldest first: on a later page when many wait (a shared system)."""
    for _ in range(20):
        if page.get_by_role("link", name=link).count():
            follow_link(page, link)
            return
        follow_link(page, "Next page of items waiting for approval")
    raise AssertionError(f"{link!r} is not on the approvals pages")


def test_a_plan_from_the_meeting_to_its_delivered_support_approved_by_a_manager_then_reviewed(
    system: RunningSystem, browser: Browser
) -> None:
    partner_name = f"Northside Pantry {uuid.uuid4().hex[:4]}"
    partner = api(
        system,
        "POST",
        "/partners",
        {
            "name": partner_name,
            "kind": "charity",
            "offers": ["items"],
            "localities": ["Plans"],
            "email": "hello@pantry.example.org",
        },
    )["partner_id"]
    reference = a_booked_meeting(system)
    today = datetime.fromisoformat(system.get("/_local/clock").json()["now"]).astimezone(LONDON).date()

    context, page = browser_page(browser)
    try:
        page.goto(f"{system.url}/staff/referrals/{reference}")
        sign_in(page)
        assert status_of(page) == "Meeting booked"
        follow_link(page, "Record the outcome")
        assert page.url.startswith(f"{system.url}/staff/referrals/{reference}/outcome?version=")
        accessible(page, "outcome-form")

        keys = Keyboard(page)
        keys.tick("held")  # yes, it took place
        type_date(keys, "held_on", today)
        keys.type("actions-0-who", "Grandma Jean")
        keys.type("actions-0-what", "School pick-ups")
        keys.type("actions-0-how_often", "Mondays and Wednesdays")
        type_date(keys, "actions-0-by_when", today + timedelta(days=14))
        keys.type("actions-0-checked_by", "Uncle Dev")
        choose(keys, "items-0-category", "Equipment")
        keys.type("items-0-description", "A sofa bed")
        keys.type("items-0-cost", "400")
        choose(keys, "items-0-partner_id", partner_name)
        keys.press_button("Add another item")  # without JavaScript: the form again, a new row, asking about the partner

        assert page.locator("#items-0-partner_id").input_value() == partner
        assert page.locator("#items-0-cost").input_value() == "400"  # every answer kept
        assert page.locator("#items-0-category").input_value() == "equipment"
        choose(keys, "items-1-category", "Equipment")
        keys.type("items-1-description", "A washing machine")
        keys.type("items-1-cost", "300")
        keys.press_button("Record the outcome")  # the family's answer and the first review are missing
        summary = page.locator(".govuk-error-summary").inner_text()
        assert f"Choose whether the family agreed to {partner_name} being told their contact's name" in summary
        assert "Enter the date of the first review" in summary
        assert page.locator("#actions-0-checked_by").input_value() == "Uncle Dev"
        accessible(page, "outcome-form-errors")

        keys.tick(f"consent-{partner}")  # yes, the family agreed
        type_date(keys, "first_review", today + timedelta(days=60))
        keys.press_button("Record the outcome")

        assert page.url == f"{system.url}/staff/referrals/{reference}?done=held"
        assert status_of(page) == "Plan awaiting agreement"
        # the lead practitioner agreed it by phone: the coordinator records it for them (issue 21, item 1)
        follow_link(page, "Record their answer")
        accessible(page, "agreement-form")
        keys.tick("decision")  # they agree the plan
        keys.press_button("Record answer")
        assert page.url == f"{system.url}/staff/referrals/{reference}?done=plan-agreed#plan"
        assert status_of(page) == "Plan active"
        actions = page.locator("#plan-actions").inner_text()
        assert (
            "Grandma Jean" in actions
            and "Uncle Dev" in actions
            and f"{today + timedelta(days=14):%-d %B %Y}" in actions
        )
        package = page.locator("#plan-package").inner_text()
        assert "A sofa bed" in package and "£400.00" in package and partner_name in package
        assert "A washing machine" in package and "£300.00" in package
        assert page.locator("#item-1-status").inner_text() == page.locator("#item-2-status").inner_text()
        assert page.locator("#item-1-status").inner_text() == "Waiting for approval"  # both over the £250 limit
        assert f"{partner_name}: may be told the family contact's name" in page.locator("#plan-partners").inner_text()
        accessible(page, "case-page-plan")

        # a manager, at their own desk, finds both items waiting and decides them (issue 19, item 2)
        decided = manager_decides(system, browser, reference)

        page.goto(f"{system.url}/staff/referrals/{reference}")  # the coordinator's page again, as it now is
        assert page.locator("#item-1-status").inner_text() == "Approved"
        assert page.locator("#item-2-status").inner_text() == "Declined"
        assert page.locator("#item-2-reason").inner_text() == f"Reason: {decided}"
        assert page.locator("#deliver-2").count() == 0  # a declined item has no delivery to record
        keys.tab_to("deliver-1-summary")
        page.keyboard.press("Enter")  # the details open, without JavaScript
        keys.press_button("Record delivery of item 1")  # nothing filled in: the error summary
        summary = page.locator(".govuk-error-summary").inner_text()
        assert "Enter what the item cost" in summary and "Enter who supplied it" in summary
        assert page.locator("#deliver-1").get_attribute("open") is not None
        accessible(page, "delivery-problems")

        keys.type("delivery-1-cost", "389.50")
        keys.type("delivery-1-supplier", "Hometown Furniture")
        type_date(keys, "delivery-1", today)
        keys.press_button("Record delivery of item 1")

        assert page.url == f"{system.url}/staff/referrals/{reference}?done=delivered#item-1"
        assert "Delivery recorded" in page.locator(".govuk-notification-banner").inner_text()
        assert page.locator("#item-1-status").inner_text() == "Delivered"
        assert page.locator("#item-1-delivery").inner_text() == (
            f"£389.50 from Hometown Furniture, delivered {today:%-d %B %Y}"
        )
        accessible(page, "delivered")

        # the partner named was asked; the answer they gave by phone is recorded on screen (issue 19, item 5)
        follow_link(page, f"Record answer or ask again: {partner_name}")
        accessible(page, "connection-answer")
        keys.tick("answer")  # the partner has made contact with the family
        keys.press_button("Record answer")
        assert page.url == f"{system.url}/staff/referrals/{reference}?done=partner-answered#plan"
        assert f"{partner_name}: contacted" in page.locator("main").inner_text()

        follow_link(page, "Record the review")
        accessible(page, "review-form")
        assert page.locator("#items-0-description").input_value() == "A sofa bed"
        assert page.locator("#items-1-description").input_value() == "A washing machine"
        keys.choose_next_radio("outcome")  # adjust the package
        keys.press_button("Add another item")
        assert page.locator("#outcome-2").is_checked()  # every answer kept
        choose(keys, "items-2-category", "A service")
        keys.type("items-2-description", "Four mediation sessions")
        keys.type("items-2-cost", "180")
        type_date(keys, "next_review", today + timedelta(days=45))
        keys.press_button("Record the review")

        assert page.url == f"{system.url}/staff/referrals/{reference}?done=reviewed-adjust#plan"
        package = page.locator("#plan-package").inner_text()
        assert "A sofa bed" in package and "Four mediation sessions" in package and "£180.00" in package
        reviews = page.locator("#reviews tbody tr")
        assert "The support package adjusted" in reviews.nth(0).inner_text()
        assert f"{today + timedelta(days=45):%-d %B %Y}" in reviews.nth(1).inner_text()

        follow_link(page, "Move review 2")
        accessible(page, "review-move-form")
        type_date(keys, "due_on", today + timedelta(days=50))
        keys.type("reason", "The family is away that week")
        keys.press_button("Move the review")
        assert page.url == f"{system.url}/staff/referrals/{reference}?done=review-moved#plan"
        assert f"{today + timedelta(days=50):%-d %B %Y}" in page.locator("#reviews tbody tr").nth(1).inner_text()
        assert "Review moved" in page.locator(".moj-timeline").inner_text()
    finally:
        context.close()

    def emailed() -> list[dict[str, object]] | None:  # the coordinators are told of each decision, from its event
        subject = f"Support package decision: {reference}"
        found = [m for m in system.get("/_local/outbox").json() if m["subject"] == subject]
        return found if len(found) >= 2 else None

    emails = wait_for(emailed, timeout=30)
    assert len(emails) == 2 and all(m["to"] == ["coordinators@familynet.example.org"] for m in emails)
    assert not [m for m in emails if "A sofa bed" in str(m) or decided in str(m)]  # ids and states only


def manager_decides(system: RunningSystem, browser: Browser, reference: str) -> str:
    """A manager signs in, finds the plan's two items on the approvals page, approves item 1 and declines item 2
    with a reason (the error summary first); the reason they gave."""
    reason = "A washing machine is outside what the fund pays for"
    context, page = browser_page(browser)
    try:
        page.goto(f"{system.url}/staff")
        sign_in(page, MANAGER)
        assert int(page.locator("#count-approvals").inner_text()) >= 2  # the work list counts what waits
        follow_link(page, "Approvals")
        assert page.url == f"{system.url}/staff/approvals"
        accessible(page, "approvals")
        follow_to_item(page, f"Approve or decline item 1 of {reference}")
        assert page.url == f"{system.url}/staff/referrals/{reference}/plan/items/1/approval"
        main = page.locator("main").inner_text()
        assert "A sofa bed" in main and "£400.00" in main and "over the approval limit of £250" in main
        accessible(page, "approve")
        keys = Keyboard(page)
        keys.press_button("Approve item 1")

        assert page.url.startswith(f"{system.url}/staff/approvals?done=approved")
        assert f"Item 1 of {reference} approved" in page.locator(".govuk-notification-banner").inner_text()
        assert page.get_by_role("link", name=f"Approve or decline item 1 of {reference}").count() == 0
        accessible(page, "approved")

        follow_to_item(page, f"Approve or decline item 2 of {reference}")
        assert "A washing machine" in page.locator("main").inner_text()
        keys.press_button("Decline item 2")  # no reason given: the error summary
        assert "Enter why the item is declined" in page.locator(".govuk-error-summary").inner_text()
        accessible(page, "decline-problems")
        keys.type("reason", reason)
        keys.press_button("Decline item 2")

        assert page.url.startswith(f"{system.url}/staff/approvals?done=declined")
        assert f"Item 2 of {reference} declined" in page.locator(".govuk-notification-banner").inner_text()
        assert page.get_by_role("link", name=f"Approve or decline item 2 of {reference}").count() == 0
    finally:
        context.close()
    return reason
