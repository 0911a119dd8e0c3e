"""A meeting's participants on screen (issue 20, item 6), in headless Chromium through the local runtime: keyboard
only, JavaScript off, axe-core on every new page (kept in test-artifacts/console/)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page

from tests.conftest import minimal_referral
from tests.e2e.browser import Keyboard
from tests.e2e.conftest import RunningSystem
from tests.e2e.test_console import accessible, browser_page, follow_link, sign_in


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context, opened = browser_page(browser)
    yield opened
    context.close()


def arrow_to(keys: Keyboard, group_first_id: str, steps: int) -> None:
    """Tab into a radio group (its first option, none checked yet), then the arrow key checks the option `steps`
    further down."""
    keys.tab_to(group_first_id)
    for _ in range(steps):
        keys.page.keyboard.press("ArrowDown")


def test_a_coordinator_adds_participants_and_excludes_one_with_a_reason_with_the_keyboard_alone(
    system: RunningSystem, page: Page
) -> None:
    body = minimal_referral(meeting_preferences={"interpreter_language": "Polish"})
    body["referrer"] = {**body["referrer"], "email": f"lp-{uuid.uuid4().hex[:8]}@council.example.org"}
    answer = system.post("/referrals", json=body)  # a lead practitioner's: accepted at once
    assert answer.status_code == 201, answer.text
    reference = str(answer.json()["reference"])
    case = f"{system.url}/staff/referrals/{reference}"

    page.goto(case)
    sign_in(page)
    assert "Arrange an interpreter (Polish)" in page.locator("#task-interpreter").inner_text()
    follow_link(page, "Add a participant")
    assert page.url == f"{case}/participants/new"
    accessible(page, "participant-new")

    keys = Keyboard(page)
    keys.type("name", "Gran Bloggs")
    keys.type("email", "not an email")
    keys.press_button("Save participant")
    links = page.locator(".govuk-error-summary a")
    assert [links.nth(n).get_attribute("href") for n in range(links.count())] == [
        "#role",
        "#contact_preference",
        "#email",
        "#consent_to_contact",
    ]
    assert page.locator("#name").input_value() == "Gran Bloggs"  # every answer kept
    accessible(page, "participant-new-errors")

    keys.tick("role")  # a family member
    keys.tick("contact_preference")  # by email
    keys.tab_to("email")
    page.keyboard.press("Control+A")
    page.keyboard.type("gran.bloggs@example.org")
    keys.tick("consent_to_contact")  # yes
    keys.press_button("Save participant")
    assert page.url == f"{case}?done=participant-added#participants"
    row = page.locator("#participant-list tr", has_text="Gran Bloggs")
    assert "Family member" in row.inner_text() and "By email" in row.inner_text()

    follow_link(page, "Add a participant")
    keys.type("name", "Ana Nowak")
    arrow_to(keys, "role", 4)  # an interpreter
    arrow_to(keys, "contact_preference", 2)  # a phone call from the coordinator
    keys.type("phone", "01632 960 001")
    keys.tick("consent_to_contact")
    keys.press_button("Save participant")
    assert page.locator("#task-interpreter").count() == 0  # an interpreter takes part now
    assert "Ana Nowak: Prefers a phone call" in page.locator("#to-contact-list").inner_text()
    accessible(page, "case-page-participants")

    follow_link(page, "Change Gran Bloggs")
    accessible(page, "participant-change")
    keys.tab_to("attendance")  # invited, as added
    for _ in range(3):
        page.keyboard.press("ArrowDown")  # confirmed, declined, excluded
    keys.press_button("Save participant")
    assert page.locator(".govuk-error-summary a").get_attribute("href") == "#attendance_reason"
    assert page.locator("#attendance-4").is_checked()  # the exclusion chosen is kept
    accessible(page, "participant-change-errors")
    keys.type("attendance_reason", "Not safe to attend with the family")
    keys.press_button("Save participant")
    assert page.url == f"{case}?done=participant-changed#participants"
    row = page.locator("#participant-list tr", has_text="Gran Bloggs")
    assert "Excluded" in row.inner_text() and "None: excluded" in row.inner_text()
    assert "Not safe" not in page.locator(".moj-timeline").inner_text()  # the reason stays with the participant
    assert "Participant changed" in page.locator(".moj-timeline").inner_text()
