"""The staff console in a real browser (headless Debian Chromium) through the local runtime, as coordinators use it:
keyboard only and without JavaScript, signing in through the emulated managed login.

axe-core results and screenshots of every page are kept in test-artifacts/console/ (axe-summary.txt lists them).
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from playwright.sync_api import Browser, BrowserContext, Page

from infra.local.runtime import wait_for
from tests.conftest import minimal_referral
from tests.e2e.browser import ROOT, Keyboard, audit
from tests.e2e.conftest import RunningSystem
from tests.preparation import prepare_through_api

ARTIFACTS = ROOT / "test-artifacts" / "console"
NO_VIOLATIONS = {"critical": 0, "serious": 0, "moderate": 0, "minor": 0}
COORDINATOR = "Sign in as Alex Morgan (coordinators)"
SECOND_COORDINATOR = "Sign in as Priya Shah (coordinators)"
NO_GROUP = "Sign in as Jamie Doe (in no group)"


@pytest.fixture(scope="module", autouse=True)
def _fresh_summary() -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / "axe-summary.txt").write_text("")


def browser_page(browser: Browser) -> tuple[BrowserContext, Page]:
    context = browser.new_context(java_script_enabled=False, viewport={"width": 1366, "height": 900})
    page = context.new_page()
    page.set_default_timeout(20_000)
    return context, page


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context, opened = browser_page(browser)
    yield opened
    context.close()


def new_request(system: RunningSystem) -> str:
    body = minimal_referral()
    body["route"] = "professional_request"
    body["referrer"] = {**body["referrer"], "email": f"head-{uuid.uuid4().hex[:8]}@stannes.sch.uk"}
    response = system.post("/referrals", json=body)
    assert response.status_code == 201, response.text
    return str(response.json()["reference"])


def sign_in(page: Page, as_whom: str = COORDINATOR) -> None:
    """At the managed login: Tab to the person's button and press Enter."""
    assert "/_local/cognito/oauth2/authorize" in page.url
    Keyboard(page).press_button(as_whom)


def accessible(page: Page, state: str) -> None:
    """axe-core on exactly what the page shows. axe needs JavaScript, which these walks have off: the page's HTML is
    replayed at its own address in a context with JavaScript on (its styles and scripts load from the system)."""
    html, url = page.content(), page.url.split("#", 1)[0]  # a request never carries the fragment: route without it
    assert page.context.browser is not None
    context = page.context.browser.new_context(viewport={"width": 1366, "height": 900})
    try:
        replay = context.new_page()
        replay.route(url, lambda route: route.fulfill(status=200, content_type="text/html; charset=utf-8", body=html))
        replay.goto(url)
        assert audit(replay, state, ARTIFACTS) == NO_VIOLATIONS, f"{state}: see test-artifacts/console/{state}.axe.json"
    finally:
        context.close()


def follow_link(page: Page, text: str) -> None:
    """Tab to a link by its text and press Enter, as a keyboard user does."""
    for _ in range(200):
        focused = page.evaluate("() => document.activeElement ? document.activeElement.textContent.trim() : ''")
        if focused == text:
            with page.expect_navigation():
                page.keyboard.press("Enter")
            return
        page.keyboard.press("Tab")
    raise AssertionError(f"the link {text!r} cannot be reached with the Tab key")


def status_of(page: Page) -> str:
    return page.locator("#status").inner_text().strip()


def test_a_coordinator_signs_in_finds_a_new_request_and_accepts_it_with_the_keyboard_alone(
    system: RunningSystem, page: Page
) -> None:
    reference = new_request(system)
    page.goto(system.url + "/staff")
    accessible(page, "managed-login")
    sign_in(page)

    assert page.url == system.url + "/staff"
    accessible(page, "work-list")
    new_requests = page.locator("section[aria-labelledby=new]")
    assert reference in new_requests.inner_text()
    assert int(page.locator("#count-new").inner_text()) >= 1

    follow_link(page, reference)
    assert page.url.endswith(f"/staff/referrals/{reference}")
    assert status_of(page) == "New request"
    timeline = page.locator(".moj-timeline").inner_text()
    assert "Referral received" in timeline and "by the referrer" in timeline
    accessible(page, "case-page-new")

    Keyboard(page).press_button("Accept referral")
    assert page.url.endswith(f"/staff/referrals/{reference}?done=accepted")
    assert status_of(page) == "Accepted"
    assert "Referral accepted" in page.locator(".govuk-notification-banner").inner_text()
    assert "Referral accepted" in page.locator(".moj-timeline").inner_text()
    accessible(page, "case-page-accepted")
    page.reload()  # the change was a POST then a GET: reloading repeats nothing
    assert status_of(page) == "Accepted"

    Keyboard(page).type("note", "Spoke to the school: they support the meeting.")
    Keyboard(page).press_button("Add note")
    assert (
        "Spoke to the school: they support the meeting."
        in page.locator("#notes ~ .govuk-inset-text").first.inner_text()
    )

    Keyboard(page).press_button("Assign to me")
    assert page.locator("#named-coordinator").inner_text() == "Alex Morgan"
    assert "Coordinator named" in page.locator(".moj-timeline").inner_text()
    follow_link(page, "Work list")
    follow_link(page, "My cases")
    assert reference in page.locator("section[aria-labelledby=mine]").inner_text()
    assert page.locator("h1").inner_text() == "My cases"
    assert page.locator(".moj-sub-navigation [aria-current=page]").inner_text() == "My cases"
    accessible(page, "my-cases")


def test_declining_needs_a_reason_shown_in_the_error_summary_and_keeps_what_was_typed(
    system: RunningSystem, page: Page
) -> None:
    reference = new_request(system)
    page.goto(f"{system.url}/staff/referrals/{reference}")
    sign_in(page)
    assert page.url.endswith(f"/staff/referrals/{reference}")  # back to the page asked for
    follow_link(page, "Decline referral")
    accessible(page, "decline-form")

    Keyboard(page).press_button("Decline referral")
    assert page.title().startswith("Error: ")
    summary = page.locator(".govuk-error-summary")
    assert "Enter a reason" in summary.inner_text()
    accessible(page, "decline-form-error")

    keys = Keyboard(page)
    keys.type("reason", "The family already has a plan with Early Help.")
    keys.press_button("Decline referral")
    assert status_of(page) == "Declined"
    assert "The family already has a plan with Early Help." in page.locator("main").inner_text()


def test_a_second_coordinators_stale_change_is_refused_with_the_reason_and_the_page_as_it_now_stands(
    system: RunningSystem, browser: Browser
) -> None:
    reference = new_request(system)
    first_context, first = browser_page(browser)
    second_context, second = browser_page(browser)
    try:
        first.goto(f"{system.url}/staff/referrals/{reference}")
        sign_in(first)
        second.goto(f"{system.url}/staff/referrals/{reference}")
        sign_in(second, SECOND_COORDINATOR)

        Keyboard(second).press_button("Accept referral")
        assert status_of(second) == "Accepted"

        Keyboard(first).press_button("Accept referral")  # the first still shows the referral as it was
        banner = first.locator(".govuk-notification-banner").inner_text()
        assert "Someone else changed this referral since you opened it: it is now accepted" in banner
        assert status_of(first) == "Accepted"
        accessible(first, "case-page-stale-change")
        audit_entries = re.findall(r"Referral accepted", first.locator(".moj-timeline").inner_text())
        assert len(audit_entries) == 1  # accepted once, by the second coordinator
    finally:
        first_context.close()
        second_context.close()


def test_someone_in_no_group_is_refused_and_sees_why(system: RunningSystem, page: Page) -> None:
    page.goto(system.url + "/staff")
    sign_in(page, NO_GROUP)
    assert "not in the coordinators' or the managers' group" in page.locator("main").inner_text()
    accessible(page, "no-access")
    page.goto(system.url + "/staff")  # no session was made
    assert "/_local/cognito/oauth2/authorize" in page.url


def test_a_form_post_without_its_csrf_token_or_from_another_site_is_refused_and_changes_nothing(
    system: RunningSystem, page: Page
) -> None:
    reference = new_request(system)
    page.goto(f"{system.url}/staff/referrals/{reference}")
    sign_in(page)
    version = page.locator("input[name=version]").first.get_attribute("value")
    token = page.locator("input[name=csrf_token]").first.get_attribute("value")
    url = f"{system.url}/staff/referrals/{reference}/accept"

    without_token = page.request.post(url, form={"version": str(version)}, headers={"Origin": system.url})
    assert without_token.status == 403
    assert "did not come from this service" in without_token.text()
    foreign = page.request.post(
        url, form={"version": str(version), "csrf_token": str(token)}, headers={"Origin": "https://evil.example"}
    )
    assert foreign.status == 403
    page.reload()
    assert status_of(page) == "New request"


def test_an_expired_session_is_sent_to_sign_in_again_and_returned_to_the_page_asked_for(
    system: RunningSystem, page: Page
) -> None:
    reference = new_request(system)
    page.goto(system.url + "/staff")
    sign_in(page)
    assert system.post("/_local/clock", json={"advance_days": 0.55}).status_code == 200  # past the 12-hour end

    page.goto(f"{system.url}/staff/referrals/{reference}")
    sign_in(page)
    assert page.url == f"{system.url}/staff/referrals/{reference}"
    assert status_of(page) == "New request"


def test_signing_out_ends_the_session(system: RunningSystem, page: Page) -> None:
    page.goto(system.url + "/staff")
    sign_in(page)
    Keyboard(page).press_button("Sign out")
    assert page.url == system.url + "/staff/signed-out"
    accessible(page, "signed-out")
    page.goto(system.url + "/staff")
    assert "/_local/cognito/oauth2/authorize" in page.url


def test_a_stranger_gets_a_page_not_a_trace(system: RunningSystem, page: Page) -> None:
    page.goto(system.url + "/staff")
    sign_in(page)
    page.goto(system.url + "/staff/referrals/FN-AAAAAAAA")
    assert "There is no referral with this reference" in page.locator("main").inner_text()
    accessible(page, "not-found")
    answer: Any = page.request.get(system.url + "/staff?list=nonsense")
    assert answer.status == 400


EVERY_DAY = [
    {"day": day, "start": "08:00", "end": "20:00"}
    for day in ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
]


def follow_link_starting(page: Page, prefix: str) -> None:
    for _ in range(250):
        focused = page.evaluate(
            "() => { const e = document.activeElement; return e && e.tagName === 'A' ? e.textContent.trim() : ''; }"
        )
        if focused.startswith(prefix):
            with page.expect_navigation():
                page.keyboard.press("Enter")
            return
        page.keyboard.press("Tab")
    raise AssertionError(f"no link starting {prefix!r} can be reached with the Tab key")


def test_a_coordinator_books_a_proposed_slot_moves_it_and_cancels_it_with_the_keyboard_alone(
    system: RunningSystem, page: Page
) -> None:
    token = system.get("/_local/token", params={"role": "coordinator"}).json()["token"]
    facilitator = f"fac-{uuid.uuid4().hex[:6]}"
    availability = requests.put(
        f"{system.url}/facilitators/{facilitator}/availability",
        json={"locality": "Console", "weekly": EVERY_DAY},
        headers={"Authorization": f"Bearer {token}"},
        timeout=30,
    )
    assert availability.ok, availability.text
    reference = new_request(system)
    page.goto(f"{system.url}/staff/referrals/{reference}")
    sign_in(page)
    Keyboard(page).press_button("Accept referral")
    prepare_through_api(system.url, token, reference)  # booking waits for the preparation checklist

    def proposed() -> bool:  # the scheduling consumer proposes slots on ReferralAccepted, through its queue
        page.reload()
        return page.locator("a", has_text="Book this time").count() > 0

    wait_for(proposed, timeout=30)
    follow_link_starting(page, "Book this time")
    accessible(page, "meeting-form-proposed")
    assert page.locator("#time").input_value() != ""  # the slot's date and time are filled in
    keys = Keyboard(page)
    keys.press_button("Book meeting")  # no venue yet: the error summary says so
    assert "Choose where the meeting is" in page.locator(".govuk-error-summary").inner_text()
    accessible(page, "meeting-form-error")
    keys.tick("venue_type")
    keys.type("venue_details", "North Family Hub, room 2")
    keys.press_button("Book meeting")
    assert page.url.endswith("?done=booked")
    assert status_of(page) == "Meeting booked"
    meeting = page.locator("#meeting + .govuk-summary-list").inner_text()
    assert facilitator in meeting and "North Family Hub, room 2" in meeting
    accessible(page, "case-page-meeting-booked")

    follow_link(page, "Move meeting")
    hour = int(page.locator("#time").input_value()[:2])
    keys.tab_to("time")
    page.keyboard.press("Control+A")
    page.keyboard.type(f"{(hour + 3) % 24 if hour < 16 else hour - 3:02d}:00")
    keys.press_button("Move meeting")
    assert page.url.endswith("?done=moved")
    assert "Meeting moved" in page.locator(".govuk-notification-banner").inner_text()

    # before the facilitator's day starts: refused, with the box to confirm the exception and its reason
    follow_link(page, "Move meeting")
    keys.tab_to("time")
    page.keyboard.press("Control+A")
    page.keyboard.type("06:00")
    keys.press_button("Move meeting")
    summary = page.locator(".govuk-error-summary").inner_text()
    assert "outside the facilitator's availability" in summary and "reason for the exception" in summary
    accessible(page, "meeting-form-outside-availability")
    keys.type("exception_reason", "The network can only come before work")
    keys.press_button("Move meeting")
    assert page.url.endswith("?done=moved")

    follow_link(page, "Cancel meeting")
    keys.type("reason", "The family asked to wait until after the school holidays.")
    keys.press_button("Cancel meeting")
    assert page.url.endswith("?done=cancelled")
    assert status_of(page) == "Preparing"  # its preparation stands: to book anew
    timeline = page.locator(".moj-timeline").inner_text()
    assert "Meeting booked" in timeline and "Meeting moved" in timeline and "Meeting cancelled" in timeline
