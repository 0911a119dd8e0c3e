"""Headless Chromium (Debian's), driven by Playwright, with axe-core (npm) for accessibility audits."""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path
from typing import Any

from playwright.sync_api import Page

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
# As root, with this machine's closed network: no sandbox, and no background connections to Google's hosts.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = ROOT / "test-artifacts" / "form"
AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice"]
MAX_TABS = 150


def audit(page: Page, state: str, folder: Path = ARTIFACTS) -> dict[str, int]:
    """Run axe-core on the page as it is; keep the full result and a screenshot; return violations by impact."""
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        page.evaluate(AXE.read_text())  # through the DevTools protocol: the page's CSP does not apply
    result: dict[str, Any] = page.evaluate(
        "async (tags) => await axe.run(document, {runOnly: {type: 'tag', values: tags}, resultTypes: ['violations']})",
        AXE_TAGS,
    )
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{state}.axe.json").write_text(json.dumps(result["violations"], indent=1))
    page.screenshot(path=str(folder / f"{state}.png"), full_page=True)
    counts = Counter(violation["impact"] for violation in result["violations"])
    summary = {impact: counts.get(impact, 0) for impact in ("critical", "serious", "moderate", "minor")}
    with (folder / "axe-summary.txt").open("a") as log:
        log.write(f"{state}: {json.dumps(summary)} {[v['id'] for v in result['violations']]}\n")
    return summary


def screenshot(page: Page, state: str) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{state}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


class Keyboard:
    """Moves through the page with Tab only, as a keyboard user does, and types, ticks and presses there."""

    def __init__(self, page: Page) -> None:
        self.page = page

    def focused_id(self) -> str:
        return str(self.page.evaluate("() => document.activeElement ? document.activeElement.id : ''"))

    def tab_to(self, element_id: str) -> None:
        for _ in range(MAX_TABS):
            if self.focused_id() == element_id:
                return
            self.page.keyboard.press("Tab")
        raise AssertionError(f"#{element_id} cannot be reached with the Tab key")

    def type(self, element_id: str, text: str) -> None:
        self.tab_to(element_id)
        self.page.keyboard.type(text)

    def tick(self, element_id: str) -> None:
        """A checkbox, or the first radio of a group: Space checks it."""
        self.tab_to(element_id)
        self.page.keyboard.press("Space")

    def choose_next_radio(self, group_first_id: str) -> None:
        """Tab into a radio group, then the arrow key moves to (and checks) the next option."""
        self.tab_to(group_first_id)
        self.page.keyboard.press("ArrowDown")

    def press_button(self, name: str) -> None:
        """Tab to the visible button with this text and press Enter; wait for the page it leads to."""
        focused = (
            "(name) => { const e = document.activeElement;"
            " return !!e && e.tagName === 'BUTTON' && e.textContent.trim() === name; }"
        )
        for _ in range(MAX_TABS):
            if self.page.evaluate(focused, name):
                with self.page.expect_navigation():
                    self.page.keyboard.press("Enter")
                return
            self.page.keyboard.press("Tab")
        raise AssertionError(f"the {name!r} button cannot be reached with the Tab key")


def date_parts(value: str) -> tuple[str, str, str]:
    year, month, day = value.split("-")
    return str(int(day)), str(int(month)), year


REFERENCE = re.compile(r"^FN-[A-HJ-NP-Z2-9]{8}$")
