"""A referral's whole journey through the local runtime: the web form, automatic acceptance, a facilitator and
proposed slots, a booked meeting, the clock moved past it, the meeting held with a plan naming a community partner,
the plan agreed by the lead practitioner through their emailed link (keyboard only, no JavaScript), then the partner
(which confirms contact through its emailed link), the plan's review reminded, escalated when overdue, and recorded."""

from __future__ import annotations

import json
import uuid
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import requests
from playwright.sync_api import Browser

from infra.local.runtime import wait_for
from tests.e2e.browser import Keyboard, audit
from tests.e2e.conftest import RunningSystem
from tests.e2e.test_console import accessible
from tests.e2e.test_referral_form import fill_with_keyboard, new_page
from tests.preparation import prepare_through_api

EVERY_DAY = [
    {"day": day, "start": "08:00", "end": "20:00"}
    for day in ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
]


def test_from_the_form_to_a_held_meeting_a_plan_and_its_review(browser: Browser, system: RunningSystem) -> None:
    token = system.get("/_local/token", params={"role": "coordinator"}).json()["token"]
    auth = {"Authorization": f"Bearer {token}"}
    facilitator = f"fac-{uuid.uuid4().hex[:6]}"

    def staff(method: str, path: str, headers: dict[str, str] | None = None, **kwargs: Any) -> requests.Response:
        return requests.request(method, system.url + path, headers={**auth, **(headers or {})}, timeout=60, **kwargs)

    assert staff(
        "PUT", f"/facilitators/{facilitator}/availability", json={"locality": "Journey", "weekly": EVERY_DAY}
    ).ok

    # 1. A lead practitioner refers the family through the web form.
    referrer_email = f"journey-{uuid.uuid4().hex[:6]}@council.example.org"
    context, page = new_page(browser)
    try:
        page.goto(system.url + "/")
        fill_with_keyboard(page, route="lead_practitioner", email=referrer_email)
        Keyboard(page).type("referrer-locality_team", "Journey")
        Keyboard(page).press_button("Send referral")
        reference = page.locator("#reference").inner_text()
    finally:
        context.close()

    # 2. Accepted at intake; the scheduling consumer allocates the facilitator and proposes three slots.
    def proposed() -> dict[str, Any] | None:
        view = staff("GET", f"/referrals/{reference}").json()
        return view if view.get("proposals") else None

    view = wait_for(proposed, timeout=30)
    assert view["status"] == "accepted"
    proposals = view["proposals"]
    assert proposals["facilitator_id"] == facilitator and len(proposals["slots"]) == 3

    # 3. The coordinator prepares the family (they agree to go ahead, the checklist is met), then books the first
    # proposed slot.
    prepare_through_api(system.url, token, reference)
    slot = proposals["slots"][0]
    booked = staff(
        "PUT",
        f"/referrals/{reference}/meeting",
        json={**slot, "venue": {"type": "family_hub"}, "facilitator_id": facilitator},
        headers={"If-Match": staff("GET", f"/referrals/{reference}").headers["ETag"]},
    )
    assert booked.status_code == 200, booked.text
    assert booked.json()["status"] == "meeting_scheduled"

    # 4. Time passes (the local clock), then the meeting's outcome and the family's plan are recorded.
    starts = datetime.fromisoformat(slot["starts_at"].replace("Z", "+00:00"))
    now = datetime.fromisoformat(system.get("/_local/clock").json()["now"])
    days = (starts - now).total_seconds() / 86400 + 1
    assert system.post("/_local/clock", json={"advance_days": days}).status_code == 200
    held_on = starts.astimezone(ZoneInfo("Europe/London")).date()
    partner_email = f"hello-{uuid.uuid4().hex[:6]}@journey-hub.example.org"
    partner = staff(
        "POST",
        "/partners",
        json={
            "name": "Journey Family Hub",
            "kind": "family_hub",
            "offers": ["activities"],
            "localities": ["Journey"],
            "email": partner_email,
        },
    )
    assert partner.status_code == 201, partner.text
    partner_id = partner.json()["partner_id"]
    plan = {
        "network_actions": [
            {"who": "Grandmother", "what": "School pick-ups", "how_often": "Weekly"},
            {"who": "Journey Family Hub", "what": "Stay and play sessions", "partner_id": partner_id},
        ],
        "support_package": [{"category": "equipment", "description": "Sofa bed", "estimated_cost_pence": 25000}],
        "first_review_due_on": (held_on + timedelta(days=60)).isoformat(),
        "partner_consent": [{"partner_id": partner_id, "share_contact_name": True}],
    }
    held = staff(
        "POST",
        f"/referrals/{reference}/meeting/outcome",
        json={"held": True, "held_on": held_on.isoformat(), "plan": plan},
    )
    assert held.status_code == 200, held.text

    waiting = staff("GET", f"/referrals/{reference}").json()
    assert waiting["status"] == "awaiting_agreement" and waiting["reviews"] == [] and waiting["connections"] == []

    # 4b. The lead practitioner gets an email with the reference and dates only, and a link; opens it without
    # JavaScript, reads the plan and agrees it by keyboard alone. Only then is the partner asked and the feedback sent.
    def agreement_email() -> dict[str, Any] | None:
        subject = f"Please agree the plan for {reference}"
        return next((m for m in system.get("/_local/outbox").json() if m["subject"] == subject), None)

    asked = wait_for(agreement_email, timeout=30)
    assert asked["to"] == [referrer_email]
    for private in ("Grandmother", "School pick-ups", "Sofa bed", "Jo Bloggs", "Alfie"):
        assert private not in asked["text"] + asked["html"]
    agreement_link = next(word for word in asked["text"].split() if "/agreements/" in word)
    assert not [m for m in system.get("/_local/outbox").json() if m["to"] == [partner_email]]
    context, page = new_page(browser, javascript=False)
    try:
        page.goto(agreement_link)
        assert page.locator("h1").inner_text() == "The family's plan"
        assert "School pick-ups" in page.content() and "Sofa bed" in page.content()
        accessible(page, "agreement-form")  # axe runs on the same HTML, replayed with JavaScript on
        keys = Keyboard(page)
        keys.choose_next_radio("decision")  # changes, without saying which: the page asks for the reasons
        keys.press_button("Send your answer")
        assert page.locator(".govuk-error-summary").is_visible()
        assert page.locator("#decision-change").is_checked()  # the answer given is kept
        accessible(page, "agreement-errors")
        keys.tab_to("decision-change")  # the group's one stop is its checked radio: the arrow moves back to agree
        page.keyboard.press("ArrowUp")
        assert page.locator("#decision").is_checked()
        keys.press_button("Send your answer")
        assert page.locator("h1").inner_text() == "You have agreed the plan"
        accessible(page, "agreement-recorded")
    finally:
        context.close()

    final = staff("GET", f"/referrals/{reference}").json()
    assert final["status"] == "plan_active"
    assert final["meeting"]["status"] == "held"
    assert final["plan"]["support_package"][0]["description"] == "Sofa bed"
    assert [r["review_number"] for r in final["reviews"]] == [1]
    assert [a["action"] for a in final["audit"]] == [
        "referral.received",
        "referral.accepted",
        "meeting.proposed",
        "preparation.family_decision",
        "preparation.checklist",
        "meeting.scheduled",
        "meeting.held",
        "plan.agreed",
    ]
    assert "GET /agreements/{token}" in [a["route"] for a in final["accesses"]]

    def announced(report: dict[str, Any]) -> bool:
        return report.get("detail_type") == "PlanAgreed" and report["detail"]["data"]["reference"] == reference

    system.probe_saw(announced)

    # 5. The referrer hears from the service at each step; no email names a child or quotes the reason.
    def feedback_sent() -> list[dict[str, Any]]:
        mine = [m for m in system.get("/_local/outbox").json() if reference in m["subject"]]
        return mine if any(m["subject"] == f"Feedback on the meeting for {reference}" for m in mine) else []

    mine = wait_for(feedback_sent, timeout=30)
    subjects = {m["subject"] for m in mine}
    assert {f"Referral {reference} received", f"Family Network meeting for {reference}"} <= subjects
    invitation = next(m for m in mine if m["subject"] == f"Family Network meeting for {reference}")
    [ics] = invitation["attachments"]
    assert (ics["filename"], ics["content_type"]) == ("invitation.ics", "text/calendar")
    assert ics["calendar"]["method"] == "REQUEST" and "(Europe/London)" in ics["calendar"]["starts"]
    downloaded = system.get(ics["download"])  # the .ics itself, as a newcomer would open it
    assert downloaded.status_code == 200 and b"BEGIN:VCALENDAR" in downloaded.content

    # 5b. The plan connects the family with a community partner: it gets one email with a signed link to the local
    # gateway, opens it in a browser and confirms it has made contact; the coordinators hear of it.
    def connection_email() -> dict[str, Any] | None:
        return next((m for m in system.get("/_local/outbox").json() if m["to"] == [partner_email]), None)

    connection = wait_for(connection_email, timeout=30)
    assert connection["subject"] == f"Family Network connection: {reference}"
    # no name and no plan text in the email: the page behind its link has them
    assert "Jo Bloggs" not in json.dumps(connection) and "Stay and play" not in json.dumps(connection)
    link = next(word for word in connection["text"].split() if "/connections/" in word)
    assert link.startswith(system.url + "/connections/")
    context, page = new_page(browser)
    try:
        page.goto(link)
        assert page.locator("h1").inner_text() == "Connecting a family with your help"
        assert "Stay and play sessions" in page.locator("#agreed").inner_text()
        assert "Jo Bloggs" in page.locator("#family-contact").inner_text()  # the family agreed to share it
        audits = {"connection-form": audit(page, "connection-form")}
        page.get_by_role("button", name="Send your answer").click()  # no answer chosen: the page says so
        assert page.locator(".govuk-error-summary").is_visible()
        audits["connection-errors"] = audit(page, "connection-errors")
        page.get_by_label("We have made contact with the family").check()
        page.get_by_label("Anything the coordinators should know (optional)").fill("We rang on Monday.")
        page.get_by_role("button", name="Send your answer").click()
        assert page.locator("h1").inner_text() == "Your answer is recorded"
        audits["connection-recorded"] = audit(page, "connection-recorded")
        page.goto(link)  # the same link again: already answered, nothing changes
        assert page.locator("h1").inner_text() == "You have already answered"
        audits["connection-answered"] = audit(page, "connection-answered")
    finally:
        context.close()
    for state, counts in audits.items():
        assert counts["critical"] == 0 and counts["serious"] == 0, f"{state}: {counts} (see test-artifacts/form/)"
    answered = staff("GET", f"/referrals/{reference}").json()
    [recorded_connection] = answered["connections"]
    assert recorded_connection["partner_id"] == partner_id and recorded_connection["status"] == "contacted"
    assert "connection.contacted" in [a["action"] for a in answered["audit"]]

    def coordinators_told() -> bool:
        return any(m["subject"] == f"Partner answered: {reference}" for m in system.get("/_local/outbox").json())

    wait_for(coordinators_told, timeout=30)
    assert len([m for m in system.get("/_local/outbox").json() if m["to"] == [partner_email]]) == 1

    # 6. The first review's reminder: the reminders function scheduled it in EventBridge Scheduler; 90 days on the
    # local clock fire ReviewDue onto the bus (the referrer is reminded), then the daily checks find the review
    # overdue and escalate it (the referrer and the coordinators hear of it).
    def scheduled(number: int = 1) -> bool:
        schedules = system.client("scheduler").list_schedules(GroupName="familynet-reviews")["Schedules"]
        return any(s["Name"] == f"review-{reference}-{number:03d}" for s in schedules)

    wait_for(scheduled, timeout=30)
    # 90 days of work (a reminder, 90 daily checks, their escalations and emails), each left to settle in turn
    advanced = requests.post(system.url + "/_local/clock", json={"advance_days": 90}, timeout=300)
    assert advanced.json()["fired"] >= 90  # the daily checks too

    def escalated() -> list[dict[str, Any]]:
        mine = [m for m in system.get("/_local/outbox").json() if reference in m["subject"]]
        return mine if any(m["subject"] == f"Review overdue: {reference}" for m in mine) else []

    mine = wait_for(escalated, timeout=60)
    assert any(m["subject"] == f"Review due: {reference}" for m in mine)
    overdue_to = {address for m in mine if m["subject"] == f"Review overdue: {reference}" for address in m["to"]}
    assert len(overdue_to) == 2  # the referrer and the coordinators' inbox
    assert not scheduled()  # ActionAfterCompletion DELETE
    review = staff("GET", f"/referrals/{reference}").json()["reviews"][0]
    assert review["status"] == "overdue" and review["escalations"] >= 2  # again every 5 working days

    # 7. The coordinator records the review at last: the plan continues and the next review is scheduled.
    today = datetime.fromisoformat(system.get("/_local/clock").json()["now"]).astimezone(ZoneInfo("Europe/London"))
    recorded = staff(
        "POST",
        f"/referrals/{reference}/reviews",
        json={"outcome": "continue", "next_review_due_on": (today.date() + timedelta(days=60)).isoformat()},
    )
    assert recorded.status_code == 200, recorded.text
    wait_for(lambda: scheduled(2), timeout=30)
    assert [r["status"] for r in staff("GET", f"/referrals/{reference}").json()["reviews"]] == [
        "completed",
        "scheduled",
    ]
    for message in system.get("/_local/outbox").json():
        for private in ("Alfie", "recovering from surgery"):
            assert private not in message["subject"] + message["text"] + message["html"]

    # 8. Operations' view of all that: every line each function logged is JSON with a correlation id (log lines
    # and metric blobs alike), and none holds a name, an address, a postcode or the family's story.
    seeded = ["Sam Okafor", "Jo Bloggs", "Alfie", "sw1a 1aa", "SW1A 1AA", referrer_email, "recovering from surgery"]
    seeded += ["Grandmother", "School pick-ups", "Sofa bed", "Stay and play", partner_email, "We rang on Monday"]
    assert_logs_are_json_with_correlation_ids_and_no_personal_data(system, seeded)


def assert_logs_are_json_with_correlation_ids_and_no_personal_data(system: RunningSystem, seeded: list[str]) -> None:
    logs = [path for path in (system.stderr_path.parent / "logs").glob("*.log") if not path.name.startswith("Probe")]
    assert len(logs) >= 5  # intake, relay, scheduling, feedback, reminders
    lines = 0
    for path in logs:
        for number, line in enumerate(path.read_text().splitlines(), 1):
            where = f"{path.name}:{number}"
            parsed = json.loads(line)  # a traceback or a print would fail here
            assert parsed.get("correlation_id"), f"{where} has no correlation id: {line[:200]}"
            hits = [value for value in seeded if value.lower() in line.lower()]
            assert hits == [], f"{where} holds personal data {hits}"
            lines += 1
    assert lines > 100
