"""Support package spending (issue 19, item 2) in headless Chromium through the local runtime, keyboard only and with
JavaScript off: a plan's £400 item waits for a manager; the manager finds it on the approvals page and approves it;
the coordinator records its delivery on the case page (the form's error summary first). axe-core on each new page,
kept with its screenshot in test-artifacts/console-approvals/ (axe-summary.txt lists them)."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

import pytest
from playwright.sync_api import Browser, Page

from infra.local.runtime import wait_for
from shared.domain.clock import LONDON
from tests.e2e.browser import ROOT, Keyboard, audit
from tests.e2e.conftest import RunningSystem
from tests.e2e.test_console import NO_VIOLATIONS, browser_page, follow_link, sign_in
from tests.e2e.test_console_plans import a_booked_meeting, api, type_date
from tests.e2e.test_console_reports import MANAGER

ARTIFACTS = ROOT / "test-artifacts" / "console-approvals"


@pytest.fixture(scope="module", autouse=True)
def _fresh_summary() -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / "axe-summary.txt").write_text("")


def accessible(page: Page, state: str) -> None:
    """axe-core on exactly what the page shows, replayed with JavaScript on (axe needs it; the walk has it off)."""
    html, url = page.content(), page.url.split("#", 1)[0]
    assert page.context.browser is not None
    context = page.context.browser.new_context(viewport={"width": 1366, "height": 900})
    try:
        replay = context.new_page()
        replay.route(url, lambda route: route.fulfill(status=200, content_type="text/html; charset=utf-8", body=html))
        replay.goto(url)
        assert audit(replay, state, ARTIFACTS) == NO_VIOLATIONS, f"{state}: see {ARTIFACTS}/{state}.axe.json"
    finally:
        context.close()


def follow_to_item(page: Page, link: str) -> None:
    """The item's link on the approvals page, oldest first: on a later page when many wait (a shared system)."""
    for _ in range(20):
        if page.get_by_role("link", name=link).count():
            follow_link(page, link)
            return
        follow_link(page, "Next page of items waiting for approval")
    raise AssertionError(f"{link!r} is not on the approvals pages")


def test_a_manager_approves_a_400_pound_item_from_the_approvals_page_and_the_coordinator_records_its_delivery(
    system: RunningSystem, browser: Browser
) -> None:
    reference = a_booked_meeting(system)
    today = datetime.fromisoformat(system.get("/_local/clock").json()["now"]).astimezone(LONDON).date()
    plan = {
        "support_package": [{"category": "equipment", "description": "A sofa bed", "estimated_cost_pence": 40000}],
        "first_review_due_on": (today + timedelta(days=60)).isoformat(),
    }
    api(
        system,
        "POST",
        f"/referrals/{reference}/meeting/outcome",
        {"held": True, "held_on": today.isoformat(), "plan": plan},
    )
    api(system, "POST", f"/referrals/{reference}/plan/agreement", {"decision": "agree"})  # the plan in force

    context, page = browser_page(browser)
    try:
        page.goto(f"{system.url}/staff")
        sign_in(page, MANAGER)
        assert int(page.locator("#count-approvals").inner_text()) >= 1  # the work list counts what waits
        follow_link(page, "Approvals")
        assert page.url == f"{system.url}/staff/approvals"
        accessible(page, "approvals")
        follow_to_item(page, f"Approve or decline item 1 of {reference}")
        assert page.url == f"{system.url}/staff/referrals/{reference}/plan/items/1/approval"
        assert "A sofa bed" in page.locator("main").inner_text() and "£400.00" in page.locator("main").inner_text()
        accessible(page, "approve")

        Keyboard(page).press_button("Approve item 1")

        assert page.url.startswith(f"{system.url}/staff/approvals?done=approved")
        assert f"Item 1 of {reference} approved" in page.locator(".govuk-notification-banner").inner_text()
        assert page.get_by_role("link", name=f"Approve or decline item 1 of {reference}").count() == 0
        accessible(page, "approved")
    finally:
        context.close()

    context, page = browser_page(browser)
    try:
        page.goto(f"{system.url}/staff/referrals/{reference}")
        sign_in(page)
        assert page.locator("#item-1-status").inner_text() == "Approved"
        keys = Keyboard(page)
        keys.tab_to("deliver-1-summary")
        page.keyboard.press("Enter")  # the details open, without JavaScript
        keys.press_button("Record delivery of item 1")  # nothing filled in: the error summary
        summary = page.locator(".govuk-error-summary").inner_text()
        assert "Enter what the item cost" in summary and "Enter who supplied it" in summary
        assert page.locator("#deliver-1").get_attribute("open") is not None
        accessible(page, "delivery-problems")

        keys = Keyboard(page)
        keys.type("delivery-1-cost", "389.50")
        keys.type("delivery-1-supplier", "Hometown Furniture")
        type_date(keys, "delivery-1", today)
        keys.press_button("Record delivery of item 1")

        assert page.url.endswith(f"/staff/referrals/{reference}?done=delivered#item-1")
        assert "Delivery recorded" in page.locator(".govuk-notification-banner").inner_text()
        assert page.locator("#item-1-status").inner_text() == "Delivered"
        assert re.search(r"£389\.50 from Hometown Furniture", page.locator("#item-1-delivery").inner_text())
        accessible(page, "delivered")
    finally:
        context.close()

    def emailed() -> list[dict[str, object]]:  # the coordinators are told of the decision, from its event
        subject = f"Support package decision: {reference}"
        return [m for m in system.get("/_local/outbox").json() if m["subject"] == subject]

    [email] = wait_for(emailed, timeout=30)
    assert email["to"] == ["coordinators@familynet.example.org"] and "A sofa bed" not in str(email)
