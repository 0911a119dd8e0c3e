"""The managers' report (issue 19, item 7) in headless Chromium through the local runtime: the figures of what this
test submitted arrive through the events and the reports function, are shown for the month, chosen by keyboard with
JavaScript off, and downloaded as CSV with the same numbers; axe-core on the page (test-artifacts/console-reports/)."""

from __future__ import annotations

import csv
import re

from playwright.sync_api import Browser, Page

from infra.local.runtime import wait_for
from tests.e2e.browser import ROOT, Keyboard, audit
from tests.e2e.conftest import RunningSystem
from tests.e2e.test_console import COORDINATOR, NO_VIOLATIONS, browser_page, follow_link, new_request, sign_in

ARTIFACTS = ROOT / "test-artifacts" / "console-reports"
MANAGER = "Sign in as Chris Lee (managers)"


def shown(page: Page) -> dict[tuple[str, str], str]:
    """(section, measure) -> figure, as the page's tables show them."""
    figures: dict[tuple[str, str], str] = {}
    for table in page.locator("table.govuk-table").all():
        section = table.locator("caption").inner_text().strip()
        for row in table.locator("tbody tr").all():
            figures[(section, row.locator("th").inner_text().strip())] = row.locator("td").inner_text().strip()
    return figures


def received(page: Page) -> int:
    return int(shown(page).get(("Referrals", "Received"), "0"))


def count(figures: dict[tuple[str, str], str], section: str, measure: str) -> int:
    return int(figures.get((section, measure), "0"))


def accessible(page: Page, state: str) -> None:
    html, url = page.content(), page.url
    assert page.context.browser is not None
    context = page.context.browser.new_context(viewport={"width": 1366, "height": 900})
    try:
        replay = context.new_page()
        replay.route(url, lambda route: route.fulfill(status=200, content_type="text/html; charset=utf-8", body=html))
        replay.goto(url)
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        assert audit(replay, state, ARTIFACTS) == NO_VIOLATIONS, f"{state}: see {ARTIFACTS}/{state}.axe.json"
    finally:
        context.close()


def test_a_manager_reads_the_months_figures_and_downloads_them_a_coordinator_cannot(
    system: RunningSystem, browser: Browser
) -> None:
    context, page = browser_page(browser)
    try:
        page.goto(f"{system.url}/staff")
        sign_in(page, MANAGER)
        follow_link(page, "Reports")
        assert page.url == f"{system.url}/staff/reports"
        before = shown(page)
        month = page.locator("#period").input_value()  # this month on the system's clock (tests may move it)
        assert re.fullmatch(r"\d{4}-\d{2}", month)
        for _ in range(3):
            new_request(system)

        def counted() -> bool:
            page.reload()
            return received(page) == count(before, "Referrals", "Received") + 3

        wait_for(counted, timeout=30)
        accessible(page, "reports")
        # the three requests this test made, by route and by postcode district (minimal_referral's "sw1a 1aa")
        now = shown(page)
        for section, measure in (("Referrals by route", "professional request"), ("Referrals by locality", "SW1A")):
            assert count(now, section, measure) == count(before, section, measure) + 3, (section, measure)

        keys = Keyboard(page)
        keys.tab_to("period")
        page.keyboard.press("ArrowDown")  # last month, by keyboard: the select submits only with the button
        keys.press_button("Show figures")
        assert re.search(r"period=\d{4}-\d{2}$", page.url) and month not in page.url
        page.goto(f"{system.url}/staff/reports?period={month}")
        with page.expect_download() as downloaded:
            follow_download = page.get_by_role("link", name="Download these figures (CSV)")
            follow_download.focus()
            page.keyboard.press("Enter")
        assert downloaded.value.suggested_filename == f"familynet-figures-{month}.csv"
        with open(downloaded.value.path(), encoding="utf-8", newline="") as file:
            rows = list(csv.reader(file))
        assert rows[0] == ["period", "section", "measure", "value"]
        # the CSV holds the page's figures, every one (the page shows a figure not known yet as "None yet")
        on_page = {key: ("" if value == "None yet" else value) for key, value in shown(page).items()}
        assert {(section, measure): value for _, section, measure, value in rows[1:]} == on_page
        assert [month, "Referrals", "Received", str(count(now, "Referrals", "Received"))] in rows
    finally:
        context.close()

    context, page = browser_page(browser)
    try:
        page.goto(f"{system.url}/staff")
        sign_in(page, COORDINATOR)
        assert page.get_by_role("link", name="Reports").count() == 0
        refused = page.goto(f"{system.url}/staff/reports")
        assert refused is not None and refused.status == 403
    finally:
        context.close()
