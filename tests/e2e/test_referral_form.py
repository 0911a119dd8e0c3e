"""The referral form in a real browser (headless Debian Chromium), through the local runtime's gateway.

Screenshots and axe-core results of every state are kept in test-artifacts/form/.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import date, timedelta
from typing import Any

import pytest
from boto3.dynamodb.types import TypeDeserializer
from playwright.sync_api import Browser, BrowserContext, Page

from infra.local.runtime import wait_for
from tests.e2e.browser import ARTIFACTS, REFERENCE, Keyboard, audit, date_parts, screenshot
from tests.e2e.conftest import RunningSystem

REQUIRED = {
    # field id (as the error summary links to it) → the message shown when it is left empty
    "route": "Select who is making this referral",
    "referrer-name": "Enter the referrer's full name",
    "referrer-role": "Enter the referrer's job title",
    "referrer-organisation": "Enter the referrer's organisation",
    "referrer-email": "Enter the referrer's email address",
    "family-contact_name": "Enter the name of the family's main contact",
    "family-postcode": "Enter the family's postcode",
    "family-children-0-first_name": "Enter the child's first name",
    "family-children-0-date_of_birth-day": "Enter the child's date of birth",
    "consent-given": "Confirm that the family agreed to this referral",
    "consent-given_on-day": "Enter the date the family agreed",
    "consent-obtained_by": "Enter the name of who obtained the family's consent",
    "reason": "Enter why the family would benefit from a Family Network meeting",
}


def new_page(browser: Browser, *, javascript: bool = True) -> tuple[BrowserContext, Page]:
    context = browser.new_context(java_script_enabled=javascript, viewport={"width": 1024, "height": 900})
    page = context.new_page()
    page.set_default_timeout(20_000)
    return context, page


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context, opened = new_page(browser)
    yield opened
    context.close()


@pytest.fixture
def page_without_javascript(browser: Browser) -> Iterator[Page]:
    context, opened = new_page(browser, javascript=False)
    yield opened
    context.close()


def referrals_by(system: RunningSystem, email: str) -> list[dict[str, Any]]:
    [table] = system.state["tables"].values()
    deserializer = TypeDeserializer()
    found = []
    for page in system.client("dynamodb").get_paginator("scan").paginate(TableName=table):
        for item in page["Items"]:
            plain = {key: deserializer.deserialize(value) for key, value in item.items()}
            submission = plain.get("submission")  # an erased referral (another test's) keeps no submission
            if isinstance(submission, dict) and plain.get("kind") == "referral":
                found += [plain] if submission["referrer"]["email"] == email else []
    return found


def fill_with_keyboard(page: Page, *, route: str, email: str) -> None:
    """A whole referral with Tab, typing, Space and the arrow keys: no mouse."""
    keys = Keyboard(page)
    if route == "lead_practitioner":
        keys.tick("route")  # Space checks the focused radio
    else:
        keys.choose_next_radio("route")
    keys.type("referrer-name", "Sam Okafor")
    keys.type("referrer-role", "Family worker" if route == "lead_practitioner" else "Designated safeguarding lead")
    keys.type("referrer-organisation", "North Locality Team" if route == "lead_practitioner" else "Park Road School")
    keys.type("referrer-email", email)
    keys.type("family-contact_name", "Jo Bloggs")
    keys.type("family-postcode", "sw1a 1aa")
    keys.type("family-children-0-first_name", "Alfie")
    day, month, year = date_parts("2019-05-14")
    keys.type("family-children-0-date_of_birth-day", day)
    keys.type("family-children-0-date_of_birth-month", month)
    keys.type("family-children-0-date_of_birth-year", year)
    keys.tick("consent-given")
    day, month, year = date_parts((date.today() - timedelta(days=2)).isoformat())
    keys.type("consent-given_on-day", day)
    keys.type("consent-given_on-month", month)
    keys.type("consent-given_on-year", year)
    keys.type("consent-obtained_by", "Sam Okafor")
    keys.type("reason", "Mum is recovering from surgery and needs help with the school run.")


def test_a_lead_practitioner_refers_a_family_with_the_keyboard_alone(page: Page, system: RunningSystem) -> None:
    email = f"lead-{uuid.uuid4().hex[:8]}@council.example.org"
    page.goto(system.url + "/")
    fill_with_keyboard(page, route="lead_practitioner", email=email)
    keys = Keyboard(page)
    keys.type("meeting_preferences-interpreter_language", "Polish")
    keys.tick("meeting_preferences-days")  # Monday

    Keyboard(page).press_button("Send referral")

    assert page.locator("h1").inner_text() == "Referral sent"
    reference = page.locator("#reference").inner_text()
    assert REFERENCE.match(reference)
    assert "The family will be offered a Family Network meeting" in page.content()
    [stored] = referrals_by(system, email)
    assert stored["reference"] == reference
    assert stored["route"] == "lead_practitioner"
    preferences = stored["submission"]["meeting_preferences"]
    assert (preferences["days"], preferences["interpreter_language"]) == (["monday"], "Polish")
    system.probe_saw(
        lambda r: r.get("detail_type") == "ReferralReceived" and r["detail"]["data"]["reference"] == reference
    )


def test_another_professional_asks_for_a_meeting_and_adds_network_members_with_the_keyboard(
    page: Page, system: RunningSystem
) -> None:
    email = f"school-{uuid.uuid4().hex[:8]}@stannes.sch.uk"
    page.goto(system.url + "/")
    fill_with_keyboard(page, route="professional_request", email=email)
    keys = Keyboard(page)
    keys.type("network_members-0-name", "Nan Bloggs")
    keys.type("network_members-0-relationship", "Grandmother")

    keys.press_button("Add another person")  # no JavaScript needed: the server adds a row, every answer kept

    assert page.locator("#network_members-0-name").input_value() == "Nan Bloggs"
    assert page.locator("#referrer-email").input_value() == email
    keys = Keyboard(page)
    keys.type("network_members-1-name", "Pat Jones")
    keys.type("network_members-1-relationship", "Neighbour")
    keys.press_button("Send referral")

    assert page.locator("h1").inner_text() == "Referral sent"
    assert "look at your request" in page.content()
    [stored] = referrals_by(system, email)
    assert stored["route"] == "professional_request"
    assert stored["submission"]["network_members"] == [
        {"name": "Nan Bloggs", "relationship": "Grandmother"},
        {"name": "Pat Jones", "relationship": "Neighbour"},
    ]


def check_every_required_field_error(page: Page) -> None:
    assert page.title().startswith("Error: ")
    summary = page.locator(".govuk-error-summary")
    assert summary.locator("h2").inner_text() == "There is a problem"
    links = {link.get_attribute("href"): link.inner_text() for link in summary.locator("a").all()}
    for field_id, message in REQUIRED.items():
        assert links.get(f"#{field_id}") == message, field_id
        assert page.locator(f"#{field_id}").count() == 1, f"the summary links to #{field_id}, which is not there"
        inline_id = field_id.removesuffix("-day") + "-error"
        assert message in page.locator(f"#{inline_id}").inner_text(), inline_id
    assert len(links) == len(REQUIRED)


@pytest.mark.parametrize("javascript", [True, False], ids=["javascript", "no-javascript"])
def test_each_required_field_is_named_in_the_summary_and_inline(
    browser: Browser, system: RunningSystem, javascript: bool
) -> None:
    context, page = new_page(browser, javascript=javascript)
    try:
        page.goto(system.url + "/")
        Keyboard(page).press_button("Send referral")
        check_every_required_field_error(page)
        screenshot(page, f"errors-{'js' if javascript else 'no-js'}")
        if javascript:  # GOV.UK Frontend moves focus to the summary, and a link to its field
            assert page.evaluate("() => document.activeElement.closest('.govuk-error-summary') !== null")
            page.get_by_role("link", name=REQUIRED["referrer-email"]).click()
            assert Keyboard(page).focused_id() == "referrer-email"
    finally:
        context.close()


def test_without_javascript_every_answer_is_kept_and_a_fix_sends_it(
    page_without_javascript: Page, system: RunningSystem
) -> None:
    page = page_without_javascript
    email = f"nojs-{uuid.uuid4().hex[:8]}@council.example.org"
    page.goto(system.url + "/")
    fill_with_keyboard(page, route="lead_practitioner", email="not an email")
    Keyboard(page).type("what_matters", "Staying together at home.")

    Keyboard(page).press_button("Send referral")

    assert page.locator(".govuk-error-summary a").all_inner_texts() == [
        "Enter an email address in the correct format, like name@example.org"
    ]
    assert page.locator("#referrer-email").input_value() == "not an email"
    assert page.locator("#family-children-0-date_of_birth-year").input_value() == "2019"
    assert page.locator("#what_matters").input_value() == "Staying together at home."
    assert page.locator("#consent-given").is_checked()
    assert page.locator("#route").is_checked()
    page.locator("#referrer-email").fill(email)
    Keyboard(page).press_button("Send referral")
    assert page.locator("h1").inner_text() == "Referral sent"
    assert len(referrals_by(system, email)) == 1


@pytest.mark.parametrize("javascript", [True, False], ids=["javascript", "no-javascript"])
def test_a_double_click_stores_one_referral(browser: Browser, system: RunningSystem, javascript: bool) -> None:
    context, page = new_page(browser, javascript=javascript)
    try:
        email = f"double-{uuid.uuid4().hex[:8]}@council.example.org"
        page.goto(system.url + "/")
        fill_with_keyboard(page, route="lead_practitioner", email=email)
        # Without JavaScript the second click starts a second navigation that aborts the first: wait for where
        # the page ends up, not for one particular navigation.
        page.get_by_role("button", name="Send referral", exact=True).dblclick(no_wait_after=True)
        page.locator("h1", has_text="Referral sent").wait_for(timeout=30_000)
        shown = page.locator("#reference").inner_text()
        stored = wait_for(lambda: referrals_by(system, email))
        assert [r["reference"] for r in stored] == [shown]
    finally:
        context.close()


def test_no_serious_or_critical_accessibility_violations(page: Page, system: RunningSystem) -> None:
    page.goto(system.url + "/")
    empty = audit(page, "empty")
    Keyboard(page).press_button("Send referral")
    errors = audit(page, "errors")
    fill_with_keyboard(page, route="lead_practitioner", email=f"axe-{uuid.uuid4().hex[:8]}@council.example.org")
    Keyboard(page).press_button("Send referral")
    assert page.locator("h1").inner_text() == "Referral sent"
    confirmation = audit(page, "confirmation")
    page.goto(system.url + "/privacy")
    privacy = audit(page, "privacy")
    page.goto(system.url + "/accessibility")
    statement = audit(page, "accessibility")

    states = {
        "empty": empty,
        "errors": errors,
        "confirmation": confirmation,
        "privacy": privacy,
        "accessibility": statement,
    }
    for state, counts in states.items():
        assert counts["critical"] == 0 and counts["serious"] == 0, f"{state}: {counts} (see {ARTIFACTS})"


def test_the_page_makes_no_request_beyond_its_own_origin(page: Page, system: RunningSystem) -> None:
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    page.goto(system.url + "/")
    page.wait_for_load_state("networkidle")
    assert requested
    assert all(url.startswith(system.url + "/") for url in requested), requested
    assert page.evaluate("() => document.body.classList.contains('govuk-frontend-supported')")
