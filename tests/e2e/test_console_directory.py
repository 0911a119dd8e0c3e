"""Facilitators, partners and the managers' privacy actions in the console (issue 19, items 4 to 6), in headless
Chromium through the local runtime: keyboard only, JavaScript off, axe-core on every new page (kept with its
screenshot in test-artifacts/console-directory/, listed in axe-summary.txt)."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page

from infra.local.runtime import wait_for
from tests.conftest import minimal_referral
from tests.e2e.browser import ROOT, Keyboard, audit
from tests.e2e.conftest import RunningSystem
from tests.e2e.test_console import COORDINATOR, NO_VIOLATIONS, browser_page, follow_link, new_request, sign_in

ARTIFACTS = ROOT / "test-artifacts" / "console-directory"
MANAGER = "Sign in as Chris Lee (managers)"
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday")


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
    html, url = page.content(), page.url
    assert page.context.browser is not None
    context = page.context.browser.new_context(viewport={"width": 1366, "height": 900})
    try:
        replay = context.new_page()
        replay.route(url, lambda route: route.fulfill(status=200, content_type="text/html; charset=utf-8", body=html))
        replay.goto(url)
        found = audit(replay, state, ARTIFACTS)
        assert found == NO_VIOLATIONS, f"{state}: see test-artifacts/console-directory/{state}.axe.json"
    finally:
        context.close()


def retype(keys: Keyboard, element_id: str, text: str) -> None:
    """Tab to a box, select what it holds and type over it (nothing typed: it is emptied)."""
    keys.tab_to(element_id)
    keys.page.keyboard.press("Control+A")
    keys.page.keyboard.press("Delete")
    keys.page.keyboard.type(text)


def banner(page: Page) -> str:
    return page.locator(".govuk-notification-banner").inner_text()


def test_a_facilitator_created_on_screen_gives_a_waiting_referral_its_proposed_times(
    system: RunningSystem, page: Page
) -> None:
    locality = f"Ward {uuid.uuid4().hex[:6]}"
    body = minimal_referral()
    body["referrer"] = {
        **body["referrer"],
        "email": f"lp-{uuid.uuid4().hex[:8]}@council.example.org",
        "locality_team": locality,
    }
    answer = system.post("/referrals", json=body)  # a lead practitioner's: accepted at once, waiting for a meeting
    assert answer.status_code == 201, answer.text
    reference = str(answer.json()["reference"])

    page.goto(system.url + "/staff/facilitators")
    sign_in(page)
    assert page.url == system.url + "/staff/facilitators"
    accessible(page, "facilitators")
    follow_link(page, "Add a facilitator")
    accessible(page, "facilitator-new")

    keys = Keyboard(page)
    keys.type("name", "Robin Ellis")
    keys.type("email", "not an email")
    keys.type("hours_monday", "9 till 5")
    keys.press_button("Save facilitator")
    links = page.locator(".govuk-error-summary a")
    assert {links.nth(n).get_attribute("href") for n in range(links.count())} == {
        "#email",
        "#localities",
        "#hours_monday",
    }
    assert page.locator("#hours_monday").input_value() == "9 till 5"  # every answer kept
    accessible(page, "facilitator-new-errors")

    retype(keys, "email", "robin.ellis@council.example.gov.uk")
    retype(keys, "hours_monday", "")
    keys.type("localities", f"{locality}, Central")
    for day in WEEKDAYS:
        retype(keys, f"hours_{day}", "09:00-17:00")
    keys.press_button("Save facilitator")

    assert page.url.endswith("/staff/facilitators?done=added")
    assert "waiting referrals have new proposals" in banner(page)
    row = page.locator("#facilitators tr", has_text="Robin Ellis")
    assert "Monday 09:00-17:00" in row.inner_text() and locality in row.inner_text()
    href = row.locator("a").get_attribute("href") or ""
    facilitator_id = href.rsplit("/", 1)[1]
    assert re.fullmatch(r"f-[0-9a-f]{8}", facilitator_id)

    def proposed() -> bool:  # shown as soon as they are made; booking one waits for the preparation (issue 20)
        page.goto(f"{system.url}/staff/referrals/{reference}")
        return f"Proposed times with facilitator {facilitator_id}" in page.locator("#main-content").inner_text()

    wait_for(proposed, timeout=60)

    page.goto(system.url + href)
    accessible(page, "facilitator-change")
    retype(Keyboard(page), "hours_saturday", "10:00-12:00")
    Keyboard(page).press_button("Save facilitator")
    assert page.url.endswith("/staff/facilitators?done=changed")
    assert "Saturday 10:00-12:00" in page.locator("#facilitators tr", has_text="Robin Ellis").inner_text()


def test_a_partner_is_added_found_by_filter_changed_and_deactivated_with_the_keyboard_alone(
    system: RunningSystem, page: Page
) -> None:
    name = f"Northside Pantry {uuid.uuid4().hex[:4]}"
    locality = f"Quarter {uuid.uuid4().hex[:6]}"
    page.goto(system.url + "/staff/partners")
    sign_in(page)
    accessible(page, "partners")
    follow_link(page, "Add a partner")
    accessible(page, "partner-new")

    keys = Keyboard(page)
    keys.type("name", name)
    keys.press_button("Save partner")
    assert page.locator(".govuk-error-summary").count() == 1
    assert page.locator("#name").input_value() == name
    accessible(page, "partner-new-errors")

    keys.tick("kind")  # the first kind: a charity
    keys.tick("offers")  # the first offer: activities
    keys.tick("offers-3")  # items
    keys.type("localities", locality)
    keys.type("email", "hello@pantry.example.org")
    keys.press_button("Save partner")
    assert page.url.endswith("/staff/partners?done=partner-added")
    assert "Partner added" in banner(page)

    keys.type("locality", locality)
    keys.press_button("Apply filters")
    assert page.url.startswith(system.url + "/staff/partners?")
    rows = page.locator("#partners tbody tr")
    assert rows.count() == 1 and name in rows.inner_text()
    assert locality in page.locator(".moj-filter-tags").inner_text()
    accessible(page, "partners-filtered")

    page.goto(f"{system.url}/staff/partners?offer=counselling&locality={locality}")
    assert page.locator("#partners").count() == 0 and "No active partner matches" in page.inner_text("main")

    page.goto(f"{system.url}/staff/partners?offer=items&locality={locality}")
    follow_link(page, f"Change {name}")
    accessible(page, "partner-change")
    retype(keys, "localities", f"{locality}, Central")
    keys.press_button("Save partner")
    assert page.url.endswith("/staff/partners?done=partner-changed")

    page.goto(f"{system.url}/staff/partners?locality={locality}")
    follow_link(page, f"Change {name}")
    assert page.locator("#localities").input_value() == f"{locality}, Central"
    keys.press_button("Deactivate partner")
    assert page.url.endswith("/staff/partners?done=partner-deactivated")
    page.goto(f"{system.url}/staff/partners?locality={locality}")
    assert page.locator("#partners").count() == 0


def csrf_of(page: Page) -> str:
    return page.locator("input[name=csrf_token]").first.get_attribute("value") or ""


def test_a_coordinator_is_refused_export_and_erasure_and_a_manager_does_both(
    system: RunningSystem, browser: Browser
) -> None:
    reference = new_request(system)  # a school's request, never accepted: erasure applies
    case = f"{system.url}/staff/referrals/{reference}"

    context, page = browser_page(browser)
    try:
        page.goto(case)
        sign_in(page, COORDINATOR)
        assert page.locator("#privacy").count() == 0
        assert page.locator(f"a[href$='/{reference}/export']").count() == 0
        assert page.locator(f"a[href$='/{reference}/erase']").count() == 0
        token = csrf_of(page)
        for path in ("export", "export/download", "erase"):
            refused = page.goto(f"{case}/{path}")
            assert refused is not None and refused.status == 403, path
            assert "Only managers can export or erase" in page.inner_text("main")
        accessible(page, "privacy-refused")
        posted = context.request.post(
            f"{case}/erase",
            form={"csrf_token": token, "ground": "consent_withdrawn"},
            headers={"Origin": system.url},
            max_redirects=0,
        )
        assert posted.status == 403 and "Only managers can export or erase" in posted.text()
    finally:
        context.close()

    context, page = browser_page(browser)
    try:
        page.goto(case)
        sign_in(page, MANAGER)
        assert page.locator("#privacy").count() == 1
        follow_link(page, "Export everything held")
        assert page.url == f"{case}/export"
        assert f"Everything held about {reference}" in page.locator("h1").inner_text()
        accessible(page, "subject-access-export")
        with page.expect_download() as downloaded:
            page.locator("#download").focus()
            page.keyboard.press("Enter")
        assert downloaded.value.suggested_filename == f"{reference}-subject-access.json"

        page.goto(case)
        follow_link(page, "Erase personal data")
        accessible(page, "erase-form")
        keys = Keyboard(page)
        keys.press_button("Erase personal data")
        assert page.locator(".govuk-error-summary").count() == 1
        accessible(page, "erase-form-errors")
        keys.tick("ground")  # the family withdrew their consent
        keys.press_button("Erase personal data")
        assert page.url == f"{case}?done=erased"
        assert "Personal data erased" in banner(page)
        assert "referral erased" in page.locator(".moj-timeline").inner_text().lower()
        accessible(page, "case-page-erased")
        reads = [r["route"] for r in _accesses(system, reference)]
        assert "GET /staff/referrals/{reference}/export" in reads
        assert "GET /staff/referrals/{reference}/export/download" in reads
    finally:
        context.close()


def _accesses(system: RunningSystem, reference: str) -> list[dict[str, str]]:
    """The read audit as the JSON API gives it (a coordinator's token)."""
    token = system.get("/_local/token", params={"role": "coordinator"}).json()["token"]
    answer = system.get(f"/referrals/{reference}", headers={"Authorization": f"Bearer {token}"})
    assert answer.status_code == 200, answer.text
    return list(answer.json()["accesses"])
