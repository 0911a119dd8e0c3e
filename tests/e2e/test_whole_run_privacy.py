"""After every other end-to-end test (this file sorts last, and `make test` runs the e2e tests on one worker in
order): no child's name, wishes and feelings, reason for referral or plan text that the tests typed reached any
event on the bus, any log line of any function, or any email's subject, body or calendar (issues 20 and 21: such
text stays in the referral's partition and travels to people only behind a signed link)."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest

from infra.local.runtime import wait_for
from tests.conftest import minimal_referral
from tests.e2e.conftest import RAN_HERE, RunningSystem

# Text the e2e tests type or post (tests/conftest.py's minimal_referral, the console walks): none of it is an id,
# a state or a date, so none may leave the table.
SEEDED = [
    "Alfie",  # the child's first name
    "recovering from surgery",  # the reason for referral
    "Grandma Jean",  # plan action: who
    "School pick-ups",  # plan action: what
    "Mondays and Wednesdays",
    "Uncle Dev",
    "A sofa bed",  # package item
    "Four mediation sessions",
    "Hometown Furniture",  # a delivery's supplier
    "The family is away that week",  # a review moved: its reason
    "wants Nan there",  # the child's wishes and feelings
    "Pat Advocate",  # the child's advocate
    "Visited Jo at home",  # a preparation contact's note
    "flapjacks helped",  # the family's evaluation of the meeting, in their words
]


def _hits(text: str) -> list[str]:
    lowered = text.lower()
    return [marker for marker in SEEDED if marker.lower() in lowered]


def _every_email(system: RunningSystem) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    after = 0
    while page := system.get("/_local/outbox", params={"after": after}).json():
        found.extend(page)
        after = max(int(email["sequence"]) for email in page)
    return found


def test_no_seeded_personal_text_in_any_event_log_line_or_email_of_the_whole_run(
    system: RunningSystem, request: pytest.FixtureRequest
) -> None:
    # Under xdist every worker collects every test: each e2e test of this session must have run here, before this
    # one, or the scan would miss its traffic (pytest 9.2 silently dropped the e2e group: pytest-xdist#1386).
    shared = [i for i in request.session.items if "system" in getattr(i, "fixturenames", ())]
    e2e = [i.nodeid for i in shared if "e2e" in i.path.parts]
    assert e2e[-1] == request.node.nodeid, "the privacy scan must run after every other e2e test"
    assert set(e2e) <= set(RAN_HERE), f"e2e tests ran in another process: {sorted(set(e2e) - set(RAN_HERE))}"

    # One referral of its own, acknowledged, so that the scan has something to read even when run alone.
    body = minimal_referral()
    body["referrer"] = {**body["referrer"], "email": f"scan-{uuid.uuid4().hex[:8]}@council.example.org"}
    answer = system.post("/referrals", json=body)
    assert answer.status_code == 201, answer.text
    subject = f"Referral {answer.json()['reference']} received"
    wait_for(lambda: [e for e in system.get("/_local/outbox").json() if e["subject"] == subject], timeout=60)

    system.seen.extend(system.drain("ProbeSeen"))
    events = [report for report in system.seen if report.get("detail_type")]
    for report in events:
        assert _hits(json.dumps(report["detail"])) == [], f"{report['detail_type']} event holds seeded text"

    logs = sorted((system.stderr_path.parent / "logs").glob("*.log"))
    lines = 0
    for path in logs:
        for number, line in enumerate(path.read_text().splitlines(), 1):
            assert _hits(line) == [], f"{path.name}:{number} holds {_hits(line)}"
            lines += 1

    emails = _every_email(system)
    for email in emails:
        calendars = json.dumps([a.get("calendar") for a in email["attachments"]])
        where = f"email {email['id']} ({email['subject']})"
        assert _hits(email["subject"]) == [], where
        assert _hits(email["text"] + email["html"] + calendars) == [], f"{where} holds {_hits(email['text'])}"

    assert lines > 0 and emails and events, "nothing was scanned"
    print(f"scanned {len(events)} events, {lines} log lines in {len(logs)} files, {len(emails)} emails")
