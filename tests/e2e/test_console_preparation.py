"""Preparing for the meeting in the console (issue 20, items 5 and 7), in headless Chromium through the local runtime:
keyboard only, JavaScript off, axe-core on every new page (kept with its screenshot in
test-artifacts/console-preparation/, listed in axe-summary.txt)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
import requests
from playwright.sync_api import Browser, Page

from infra.local.runtime import wait_for
from tests.conftest import minimal_referral
from tests.e2e.browser import ROOT, Keyboard, audit
from tests.e2e.conftest import RunningSystem
from tests.e2e.test_console import (
    EVERY_DAY,
    NO_VIOLATIONS,
    browser_page,
    follow_link,
    follow_link_starting,
    sign_in,
    status_of,
)

ARTIFACTS = ROOT / "test-artifacts" / "console-preparation"


@pytest.fixture(scope="module", autouse=True)
def _fresh_summary() -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / "axe-summary.txt").write_text("")


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context, opened = browser_page(browser)
    yield opened
    context.close()


def accessible(page: Page, state: str) -> None:
    """axe-core on exactly what the page shows, replayed with JavaScript on (axe needs it; these walks have it off)."""
    html, url = page.content(), page.url.split("#", 1)[0]  # a route never sees the fragment
    assert page.context.browser is not None
    context = page.context.browser.new_context(viewport={"width": 1366, "height": 900})
    try:
        replay = context.new_page()
        replay.route(url, lambda route: route.fulfill(status=200, content_type="text/html; charset=utf-8", body=html))
        replay.goto(url)
        assert replay.locator("h1").first.inner_text() == page.locator("h1").first.inner_text()  # the page itself
        found = audit(replay, state, ARTIFACTS)
        assert found == NO_VIOLATIONS, f"{state}: see test-artifacts/console-preparation/{state}.axe.json"
    finally:
        context.close()


def test_a_coordinator_prepares_the_family_and_the_child_s_voice_then_books_with_the_keyboard_alone(
    system: RunningSystem, page: Page
) -> None:
    token = system.get("/_local/token", params={"role": "coordinator"}).json()["token"]
    auth = {"Authorization": f"Bearer {token}"}
    facilitator = f"fac-{uuid.uuid4().hex[:6]}"
    availability = requests.put(
        f"{system.url}/facilitators/{facilitator}/availability",
        json={"locality": "Preparation", "weekly": EVERY_DAY},
        headers=auth,
        timeout=30,
    )
    assert availability.ok, availability.text
    body = minimal_referral()  # a lead practitioner's: accepted at once
    body["referrer"] = {**body["referrer"], "email": f"prep-{uuid.uuid4().hex[:8]}@council.example.org"}
    reference = str(system.post("/referrals", json=body).json()["reference"])

    def proposed() -> bool:  # the scheduling consumer proposes slots on ReferralAccepted, through its queue
        view = requests.get(f"{system.url}/referrals/{reference}", headers=auth, timeout=30).json()
        return bool((view.get("proposals") or {}).get("slots"))

    wait_for(proposed, timeout=30)
    page.goto(f"{system.url}/staff/referrals/{reference}")
    sign_in(page)
    assert status_of(page) == "Accepted"
    assert page.locator("a", has_text="Book this time").count() == 0  # nothing prepared: no booking offered
    follow_link(page, f"Start preparing for {reference}")
    accessible(page, "preparation-start")
    keys = Keyboard(page)

    # 1. A visit: the referral is now preparing.
    keys.tick("contact_method")  # a visit
    keys.type("contact_note", "Visited Jo at home; Nan and Uncle Dev will come.")
    keys.press_button("Record contact")
    assert status_of(page) == "Preparing"
    assert "Visited Jo at home" in page.locator("#contacts").inner_text()

    # 2. Booking before the checklist is met: refused, the error summary naming each item not yet done.
    page.goto(f"{system.url}/staff/referrals/{reference}/meeting?slot=0")
    keys.tick("venue_type")
    keys.press_button("Book meeting")
    summary = page.locator(".govuk-error-summary").inner_text()
    assert "Not yet done: The family agreed to go ahead" in summary
    assert "Not yet done: The family's network identified" in summary
    assert "Not yet done: Each child's views sought" in summary
    accessible(page, "meeting-form-not-prepared")
    follow_link(page, "Not yet done: The family agreed to go ahead")
    assert page.url.endswith(f"/staff/referrals/{reference}/preparation#checklist")

    # 3. The family agrees; the checklist; the child's voice.
    keys.tick("go_ahead")  # yes
    keys.press_button("Record decision")
    assert "Going ahead" in page.locator("#family-decision").inner_text()
    keys.press_button("Save checklist")  # nothing ticked yet: saved as it stands, still not met
    keys.tick("done")  # the network identified
    keys.tick("done-2")  # the child's views sought
    keys.press_button("Save checklist")
    assert "Checklist saved" in page.locator(".govuk-notification-banner").inner_text()
    follow_link(page, "Record Alfie's voice")
    accessible(page, "child-voice-form")
    keys.press_button("Save")  # nothing chosen: the error summary
    assert "Choose how the child takes part" in page.locator(".govuk-error-summary").inner_text()
    accessible(page, "child-voice-form-error")
    keys.type("wishes_and_feelings", "Alfie wants Nan there and would like to draw a picture.")
    keys.choose_next_radio("participation")  # part of the meeting
    keys.tick("advocate_allocated")  # yes
    keys.type("advocate_name", "Pat Advocate")
    keys.press_button("Save")
    assert page.url.endswith("?done=voice#children")
    assert "Attends part of the meeting; advocate: Pat Advocate" in page.locator("#children + dl").inner_text()
    state = page.locator("#checklist-state").inner_text()
    assert state.count("Done") == 3 and "Not done" not in state
    accessible(page, "preparation-ready")

    # 4. Booked from a proposed time.
    follow_link(page, f"Back to {reference}")
    follow_link_starting(page, "Book this time")
    keys.tick("venue_type")
    keys.press_button("Book meeting")
    assert page.url.endswith("?done=booked")
    assert status_of(page) == "Meeting booked"
    timeline = page.locator(".moj-timeline").inner_text()
    for entry in ("Preparation: contact recorded", "Preparation: checklist changed", "Preparation: a child's voice"):
        assert entry in timeline
    accessible(page, "case-page-prepared-and-booked")
