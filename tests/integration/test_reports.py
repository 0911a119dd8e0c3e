"""The managers' figures: the reports function counts each event once into its month's aggregate items, and a
period's report is read back with one Query a month."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from infra.constants import FEEDBACK, REPORTS
from shared.adapters.dynamodb import ReferralReader
from shared.domain.clock import LONDON
from shared.domain.working_days import working_days_between
from shared.service import report_rebuild, reports
from tests.integration.conftest import Cloud, invoke
from tests.integration.test_coordination import staff
from tests.integration.test_intake import relay_outbox
from tests.integration.test_meetings import availability, book, clock_at, meeting
from tests.integration.test_outcome import PLAN, agree, outcome
from tests.integration.test_proposals import sqs_batch


def report_of(cloud: Cloud, period: str) -> reports.Report:
    return reports.report(period, reader=ReferralReader(cloud.function(REPORTS).environment["TABLE_NAME"]))


def test_referrals_are_counted_once_by_route_and_district(
    cloud: Cloud, submit: Any, referral_body: dict[str, Any]
) -> None:
    capture = cloud.capture_events()
    school = {**referral_body, "route": "professional_request", "reason": "Asked by the school nurse."}
    elsewhere = {**referral_body, "family": {**referral_body["family"], "postcode": "M1 1AE"}}
    for body in (referral_body, school, elsewhere):
        assert submit(body)["statusCode"] == 201
    relay_outbox(cloud)
    received = [e for e in capture.received() if e["detail-type"] == "ReferralReceived"]
    assert len(received) == 3

    # every event twice, as at-least-once delivery may bring it
    assert invoke(REPORTS, cloud, sqs_batch(received + received)) == {"batchItemFailures": []}

    month = reports.month_of(datetime.now(UTC).date())
    figures = report_of(cloud, month)
    assert figures.get("referrals") == 3
    assert figures.by("route#") == {"lead_practitioner": 2, "professional_request": 1}
    home = referral_body["family"]["postcode"].upper().split(" ")[0]  # as stored: normalised
    assert figures.by("locality#") == {home: 2, "M1": 1}
    # a quarter holds its months
    quarter = f"{month[:4]}-Q{(int(month[5:]) - 1) // 3 + 1}"
    assert report_of(cloud, quarter).get("referrals") == 3


def test_a_held_meeting_counts_a_plan_made_and_its_agreement_counts_the_plan_agreed_with_its_package(
    cloud: Cloud, submit: Any, referral_body: dict[str, Any]
) -> None:
    availability(cloud, "fac-1")
    held_at = (datetime.now(UTC) - timedelta(days=1)).replace(hour=10, minute=0, second=0, microsecond=0)
    received_at = held_at - timedelta(days=9)
    with clock_at(received_at):
        reference = submit(referral_body)["json"]["reference"]
    with clock_at(held_at - timedelta(days=2)):
        assert book(cloud, reference, meeting(held_at))["statusCode"] == 200
    capture = cloud.capture_events()
    review = (held_at + timedelta(days=60)).date().isoformat()
    answer = outcome(
        cloud,
        reference,
        {"held": True, "held_on": held_at.date().isoformat(), "plan": {**PLAN, "first_review_due_on": review}},
    )
    assert answer["statusCode"] == 200, answer
    relay_outbox(cloud)
    [held] = [e for e in capture.received() if e["detail-type"] == "MeetingHeld"]

    assert invoke(REPORTS, cloud, sqs_batch([held])) == {"batchItemFailures": []}
    assert invoke(REPORTS, cloud, sqs_batch([held])) == {"batchItemFailures": []}  # redelivered: counted once

    # a plan made at the meeting is not a plan agreed: it waits for the lead practitioner
    held_month = reports.month_of(held_at.date())
    figures = report_of(cloud, held_month)
    assert (figures.get("meetings_held"), figures.get("plans_made"), figures.get("plans_agreed")) == (1, 1, 0)
    assert figures.by("package_items#") == figures.by("package_pence#") == {}
    days = working_days_between(received_at.date(), held_at.date())
    assert figures.days_to_meeting == {days: 1}
    assert figures.median_days_to_meeting == figures.p90_days_to_meeting == days
    rows = figures.rows()
    assert ("Plans", "Made at the meeting", "1") in rows
    assert ("Plans", "Agreed", "0") in rows

    # When the lead practitioner asks for changes and the coordinator revises the package (the car seat dropped,
    # a cot added), then a manager declines the counselling, and the revised plan is agreed (the event twice)
    reasons = {"decision": "change", "reasons": "The car seat is not needed: a cot is"}
    assert agree(cloud, reference, reasons)["statusCode"] == 200
    revised = {
        **PLAN,
        "first_review_due_on": review,
        "support_package": [
            {"category": "service", "description": "Six counselling sessions", "estimated_cost_pence": 36000},
            {"category": "equipment", "description": "Cot", "estimated_cost_pence": 12000},
        ],
    }
    sent_again = staff(cloud, "PUT /referrals/{reference}/plan", f"/referrals/{reference}/plan", body=revised)
    assert sent_again["statusCode"] == 200, sent_again["json"]
    assert invoke(REPORTS, cloud, sqs_batch([held])) == {"batchItemFailures": []}  # still counted once
    from tests.integration.test_approvals import MANAGER, on_item  # (it reads figures with this module's report_of)

    declined = on_item(cloud, reference, 2, "decline", {"reason": "Counselling comes from the NHS"}, claims=MANAGER)
    assert declined["statusCode"] == 200, declined["json"]
    assert agree(cloud, reference)["statusCode"] == 200
    relay_outbox(cloud)
    [agreed] = [e for e in capture.received() if e["detail-type"] == "PlanAgreed"]
    assert invoke(REPORTS, cloud, sqs_batch([agreed, agreed])) == {"batchItemFailures": []}

    # Then the month it was agreed counts one plan agreed, with the package as agreed
    agreed_month = reports.month_of(datetime.fromisoformat(agreed["detail"]["data"]["agreed_at"]).astimezone(LONDON))
    figures = report_of(cloud, agreed_month)
    assert figures.get("plans_agreed") == 1
    assert figures.by("package_items#") == {"equipment": 1}  # the cot: the car seat dropped, counselling declined
    assert figures.by("package_pence#") == {"equipment": 12000}
    rows = figures.rows()
    assert ("Plans", "Agreed", "1") in rows
    assert ("Support package", "equipment: items in plans agreed", "1") in rows
    assert ("Support package", "equipment: estimated spend in plans agreed (£)", "120.00") in rows
    csv = figures.csv().splitlines()
    assert csv[0] == "period,section,measure,value"
    assert len(csv) == len(rows) + 1
    assert f"{agreed_month},Plans,Agreed,1" in csv
    if agreed_month != held_month:  # on the 1st: the meeting's month keeps its plan made and no agreement
        assert report_of(cloud, held_month).get("plans_agreed") == 0

    # When the referrer's feedback is sent (the event delivered twice: one email, one FeedbackSent)
    capture = cloud.capture_events()
    sent_on = datetime.now(LONDON).date()
    assert invoke(FEEDBACK, cloud, sqs_batch([held])) == {"batchItemFailures": []}  # a plan made: not yet
    assert invoke(FEEDBACK, cloud, sqs_batch([agreed])) == {"batchItemFailures": []}
    assert invoke(FEEDBACK, cloud, sqs_batch([agreed])) == {"batchItemFailures": []}
    relay_outbox(cloud)
    [feedback] = [e for e in capture.received() if e["detail-type"] == "FeedbackSent"]
    assert feedback["detail"]["data"] == {
        "reference": reference,
        "meeting_id": held["detail"]["data"]["meeting_id"],
        "held_on": held_at.date().isoformat(),
        "sent_at": feedback["detail"]["data"]["sent_at"],
    }
    assert invoke(REPORTS, cloud, sqs_batch([feedback, feedback])) == {"batchItemFailures": []}

    # Then the month it was sent counts its working days since the meeting, once
    after = report_of(cloud, reports.month_of(sent_on))
    waited = working_days_between(held_at.date(), sent_on)
    assert after.days_to_feedback == {waited: 1}
    assert after.median_days_to_feedback == after.p90_days_to_feedback == waited
    assert ("Feedback to referrers", "Sent", "1") in after.rows()
    assert ("Feedback to referrers", "Working days, meeting to feedback: median", str(waited)) in after.rows()
    assert f'Feedback to referrers,"Working days, meeting to feedback: 90th percentile",{waited}\r\n' in after.csv()

    # And the reports' log holds what a rebuild needs to count them the same way (the package as agreed)
    reader = ReferralReader(cloud.function(REPORTS).environment["TABLE_NAME"])
    for month in {held_month, agreed_month, reports.month_of(sent_on)}:
        again = report_rebuild.recompute(month, reader=reader, now=datetime.now(UTC))
        assert again.events_read and again.changes() == []


def test_a_period_is_a_month_or_a_quarter_and_percentiles_come_from_counts() -> None:
    for wrong in ("2026-13", "2026-Q5", "26-11", "2026-11-01", ""):
        with pytest.raises(ValueError, match="Choose a month"):
            reports.months(wrong)
    assert reports.months("2026-Q4") == ("2026-10", "2026-11", "2026-12")
    assert reports._percentile({1: 5, 3: 4, 20: 1}, 0.5) == 1
    assert reports._percentile({1: 5, 3: 4, 20: 1}, 0.9) == 3


def test_a_manager_sees_the_figures_and_downloads_them_and_a_coordinator_cannot(
    cloud: Cloud, submit: Any, referral_body: dict[str, Any]
) -> None:
    from infra.constants import CONSOLE
    from tests.integration.test_console import a_session, console_event

    capture = cloud.capture_events()
    for _ in range(2):
        assert submit({**referral_body, "reason": f"Reason {_}"})["statusCode"] == 201
    relay_outbox(cloud)
    assert invoke(REPORTS, cloud, sqs_batch(capture.received())) == {"batchItemFailures": []}
    month = reports.month_of(datetime.now(UTC).date())
    manager, _ = a_session(cloud, groups=("managers",))
    coordinator, _ = a_session(cloud)

    def get(path: str, session: str, **query: str) -> dict[str, Any]:
        event = console_event("GET", path, path, session=session, query=query or None)
        answer: dict[str, Any] = invoke(CONSOLE, cloud, event)
        return answer

    from shared.adapters import aws

    calls: list[tuple[str, str]] = []

    def seen(event_name: str, params: dict[str, Any], **_: Any) -> None:
        calls.append((event_name.rsplit(".", 1)[1], json.dumps(params, default=str)))

    aws.dynamodb().meta.events.register("before-parameter-build.dynamodb.*", seen)
    try:
        shown = get("/staff/reports", manager, period="2026-Q4")
        get("/staff/reports/download", manager, period=month)
    finally:
        aws.dynamodb().meta.events.unregister("before-parameter-build.dynamodb.*", seen)
    # the figures are read from their aggregate items only: a Query of each month's REPORT# partition (and the
    # manager's session), never a Scan, never a referral
    assert shown["statusCode"] == 200
    queries = [params for operation, params in calls if operation == "Query"]
    assert len(queries) == 3 + 1 and all('"REPORT#' in params for params in queries)
    assert {operation for operation, _ in calls} <= {"Query", "GetItem"}
    assert not [params for _, params in calls if "REFERRAL#" in params]
    shown = get("/staff/reports", manager, period=month)
    assert shown["statusCode"] == 200
    assert re.search(r"Received</th>\s*<td[^>]*>2</td>", shown["body"])
    assert 'href="/staff/reports"' in shown["body"]  # in the managers' menu
    assert re.search(r"Made at the meeting</th>\s*<td[^>]*>0</td>", shown["body"])
    meanings = shown["body"][shown["body"].index('id="meanings"') :]
    assert "Plans made at the meeting</dt>" in meanings and "Plans agreed</dt>" in meanings  # each figure explained
    csv = get("/staff/reports/download", manager, period=month)
    assert csv["statusCode"] == 200
    assert csv["headers"]["Content-Type"].startswith("text/csv")
    assert f"{month},Referrals,Received,2" in csv["body"].splitlines()
    assert get("/staff/reports", manager)["statusCode"] == 200  # this month when none is given

    refused = get("/staff/reports", coordinator, period=month)
    assert refused["statusCode"] == 403
    assert "Only managers can see the service&#39;s figures" in refused["body"]  # not the privacy actions' words
    assert get("/staff/reports/download", coordinator, period=month)["statusCode"] == 403
    assert 'href="/staff/reports"' not in get("/staff", coordinator)["body"]
    assert get("/staff/reports", manager, period="2026-13")["statusCode"] == 400
    assert get("/staff/reports/download", manager, period="")["statusCode"] == 400  # given but empty: not this month
    # a period that cannot be is refused before anything else, signed in or not
    assert get("/staff/reports", "no-such-session", period="last week")["statusCode"] == 400
