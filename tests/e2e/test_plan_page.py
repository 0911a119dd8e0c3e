"""The family's plan behind a recipient's signed link (issue 21, items 2 and 3) in headless Chromium through the local
runtime, keyboard only and with JavaScript off: a plan agreed, the lead practitioner's feedback email (which carries
their link) holds the reference, dates and roles only; the link opens the plan without login (axe 0), printed it
shows the plan alone, its PDF downloads from the page by keyboard and holds the plan's text; a tampered link shows
nothing (axe 0). The same held meeting's evaluation (item 5): the family contact's link, from an email of the
reference and dates only, opens the GOV.UK form (axe 0); answers missing show the error summary with every answer
given kept; the answers are recorded once, with a confirmation (axe 0), and the link opened again says so.
Screenshots and axe reports in test-artifacts/plan-page/."""

from __future__ import annotations

import io
from datetime import date, datetime, timedelta
from typing import Any

import pytest
from playwright.sync_api import Browser, Page
from pypdf import PdfReader

from infra.local.runtime import wait_for
from shared.domain.clock import LONDON
from tests.e2e.browser import ROOT, Keyboard, audit
from tests.e2e.conftest import RunningSystem
from tests.e2e.test_console import NO_VIOLATIONS, browser_page
from tests.e2e.test_console_plans import a_booked_meeting, api

ARTIFACTS = ROOT / "test-artifacts" / "plan-page"
PLAN_TEXT = ("Grandma Jean", "School pick-ups", "A sofa bed")
FAMILY_EMAIL = "jo.bloggs@example.org"
# the family's own words (tests/e2e/test_whole_run_privacy.py looks for them in every event, log line and email)
EVALUATION_TEXT = "The flapjacks helped everyone relax"


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


def test_a_recipient_reads_prints_and_downloads_the_plan_through_their_link_and_a_tampered_one_shows_nothing(
    system: RunningSystem, browser: Browser
) -> None:
    reference = a_booked_meeting(system, family_email=FAMILY_EMAIL)
    today = datetime.fromisoformat(system.get("/_local/clock").json()["now"]).astimezone(LONDON).date()
    plan = {
        "network_actions": [
            {
                "who": "Grandma Jean",
                "what": "School pick-ups",
                "how_often": "Mondays",
                "by_when": (today + timedelta(days=14)).isoformat(),
            }
        ],
        "support_package": [{"category": "equipment", "description": "A sofa bed", "estimated_cost_pence": 9000}],
        "first_review_due_on": (today + timedelta(days=60)).isoformat(),
    }
    api(
        system,
        "POST",
        f"/referrals/{reference}/meeting/outcome",
        {"held": True, "held_on": today.isoformat(), "plan": plan},
    )
    api(system, "POST", f"/referrals/{reference}/plan/agreement", {"decision": "agree"})

    def emailed() -> list[dict[str, object]]:  # the lead practitioner's link comes in their feedback on the meeting
        subject = f"Feedback on the meeting for {reference}"
        return [m for m in system.get("/_local/outbox").json() if m["subject"] == subject]

    [email] = wait_for(emailed, timeout=30)
    # the reference, dates and roles only
    assert not any(words in str(email) for words in (*PLAN_TEXT, "Jo Bloggs")) and "A plan was agreed" in str(email)
    link = next(word for word in str(email["text"]).split() if "/plans/" in word)

    context, page = browser_page(browser)
    try:
        page.goto(link)
        assert page.locator("h1").inner_text() == "The family's plan"
        main = page.locator("main").inner_text()
        assert all(words in main for words in PLAN_TEXT) and "Who to contact" in main and "£" not in main
        accessible(page, "plan-page")

        page.emulate_media(media="print")  # printed: the plan alone
        assert not page.locator(".govuk-template__header").is_visible()
        assert not page.locator("#plan-document").is_visible() and page.get_by_text("School pick-ups").is_visible()
        page.screenshot(path=str(ARTIFACTS / "plan-page-print.png"), full_page=True)
        page.emulate_media(media="screen")

        keys = Keyboard(page)
        keys.tab_to("plan-document")
        with page.expect_download() as downloading:
            page.keyboard.press("Enter")
        path = downloading.value.path()
        pdf = PdfReader(io.BytesIO(path.read_bytes()))
        text = " ".join(p.extract_text() for p in pdf.pages)
        assert all(words in text for words in PLAN_TEXT) and reference in text
        root: Any = pdf.trailer["/Root"]
        assert root["/Lang"] == "en-GB"

        page.goto(link[:-4] + ("AAAA" if not link.endswith("AAAA") else "BBBB"))
        assert page.locator("h1").inner_text() == "This link is not valid"
        assert not any(words in page.locator("main").inner_text() for words in PLAN_TEXT)
        accessible(page, "plan-link-invalid")

        evaluated_by_the_family(page, system, reference, held_on=today)
    finally:
        context.close()
    token = system.get("/_local/token", params={"role": "coordinator"}).json()["token"]
    accesses = system.get(f"/referrals/{reference}", headers={"Authorization": f"Bearer {token}"}).json()["accesses"]
    routes = [a["route"] for a in accesses]
    assert "GET /plans/{token}" in routes and "GET /plans/{token}/document" in routes
    assert "GET /evaluations/{token}" in routes


def evaluated_by_the_family(page: Page, system: RunningSystem, reference: str, *, held_on: date) -> None:
    """The family contact evaluates the held meeting through the link in their email, keyboard only."""
    subject = f"How did your Family Network meeting go? {reference}"
    [email] = wait_for(lambda: [m for m in system.get("/_local/outbox").json() if m["subject"] == subject], timeout=30)
    assert email["to"] == [FAMILY_EMAIL]
    said = str(email["text"]) + str(email["html"])
    assert reference in said and f"{held_on.day} {held_on:%B %Y}" in said  # the reference and dates only
    assert not any(words in said for words in (*PLAN_TEXT, "Jo Bloggs", "Alfie", "surgery"))
    link = next(word for word in str(email["text"]).split() if "/evaluations/" in word)

    page.goto(link)
    assert page.locator("h1").inner_text() == "Tell us how your meeting went"
    accessible(page, "evaluation-form")
    keys = Keyboard(page)
    keys.tick("family_led")  # Yes
    keys.type("comments", EVALUATION_TEXT)
    keys.press_button("Send your answers")  # two questions not answered
    summary = page.locator(".govuk-error-summary").inner_text()
    assert "Choose whether you felt listened to" in summary and "recommend" in summary and "family led" not in summary
    assert page.locator("#family_led").is_checked() and page.locator("#comments").input_value() == EVALUATION_TEXT

    keys.tick("felt_heard")  # Yes
    keys.choose_next_radio("recommend")  # No
    keys.press_button("Send your answers")
    assert page.locator("h1").inner_text() == "Thank you for telling us"
    accessible(page, "evaluation-recorded")

    again = page.goto(link)
    assert again is not None and again.status == 409
    assert page.locator("h1").inner_text() == "You have already told us about the meeting"
    assert EVALUATION_TEXT not in page.locator("main").inner_text()

    token = system.get("/_local/token", params={"role": "coordinator"}).json()["token"]
    case = system.get(f"/referrals/{reference}", headers={"Authorization": f"Bearer {token}"}).json()
    [recorded] = case["evaluations"]  # once
    assert recorded["respondent"] == "family_contact" and recorded["comments"] == EVALUATION_TEXT
    assert (recorded["family_led"], recorded["felt_heard"], recorded["recommend"]) == ("Yes", "Yes", "No")
