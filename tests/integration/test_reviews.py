"""Reviews of a Family Plan (POST /referrals/{reference}/reviews, PUT …/reviews/{n}), the reminders that follow
them, and the daily check: overdue reviews escalated, deadline clocks breached, once each."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from infra.constants import FEEDBACK, REMINDERS
from shared.config import Settings
from shared.domain import clock
from shared.domain.working_days import add_working_days
from shared.service.reminders import remind_on, schedule_name
from tests.integration.conftest import Cloud, invoke
from tests.integration.test_coordination import act, get_one, request_from_school, staff
from tests.integration.test_intake import relay_outbox
from tests.integration.test_proposals import sqs_batch
from tests.integration.test_reminders import held_with_plan

DAILY = {"task": "daily_check"}
DATE_FIELDS = ("next_review_due_on", "completed_on")


def london_today() -> date:
    """Today in England, when the test runs (not when it was collected: a run may cross midnight)."""
    from shared.domain.referrals import today

    return today()


def dated(body: dict[str, Any]) -> dict[str, Any]:
    """A request body whose date fields are given as days from today."""
    return {k: (london_today() + timedelta(days=v)).isoformat() if k in DATE_FIELDS else v for k, v in body.items()}


def record(cloud: Cloud, reference: str, body: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
    path = f"/referrals/{reference}/reviews"
    return staff(cloud, "POST /referrals/{reference}/reviews", path, body=body, **kwargs)


def move(cloud: Cloud, reference: str, number: int, body: dict[str, Any]) -> dict[str, Any]:
    path = f"/referrals/{reference}/reviews/{number}"
    return staff(cloud, "PUT /referrals/{reference}/reviews/{number}", path, body=body)


def events_of(cloud: Cloud, capture: Any, kind: str) -> list[dict[str, Any]]:
    relay_outbox(cloud)
    return [e for e in capture.received() if e["detail-type"] == kind]


def schedules(cloud: Cloud) -> dict[str, dict[str, Any]]:
    scheduler = cloud.client("scheduler")
    group = cloud.function(REMINDERS).environment["SCHEDULE_GROUP"]
    names = [s["Name"] for s in scheduler.list_schedules(GroupName=group)["Schedules"]]
    return {name: scheduler.get_schedule(GroupName=group, Name=name) for name in names}


@pytest.fixture
def first_due() -> date:
    return london_today() + timedelta(days=60)


@pytest.fixture
def plan(cloud: Cloud, submit: Any, referral_body: dict[str, Any], first_due: date) -> str:
    """A plan in force, its first review's reminder scheduled."""
    reference, held = held_with_plan(cloud, submit, referral_body, first_due)
    assert invoke(REMINDERS, cloud, sqs_batch([held])) == {"batchItemFailures": []}
    return reference


def at_day(monkeypatch: pytest.MonkeyPatch, day: date) -> None:
    """Move every function's clock to 08:00 UTC on `day` (the daily check runs at 07:00 London)."""
    target = datetime.combine(day, datetime.min.time(), tzinfo=UTC) + timedelta(hours=8)
    monkeypatch.setattr(clock, "_offset", target - datetime.now(UTC))


def test_a_review_that_continues_the_plan_opens_the_next_and_moves_the_reminder_to_it(
    cloud: Cloud, plan: str, first_due: date
) -> None:
    capture = cloud.capture_events()
    next_due = london_today() + timedelta(days=80)

    response = record(cloud, plan, {"outcome": "continue", "next_review_due_on": next_due.isoformat()})

    assert response["statusCode"] == 200, response["json"]
    assert response["json"]["status"] == "plan_active"
    assert response["json"]["next_review"] == {
        "review_number": 2,
        "due_on": next_due.isoformat(),
        "status": "scheduled",
        "escalations": 0,
    }
    view = get_one(cloud, plan)["json"]
    assert [(r["review_number"], r["status"], r.get("outcome")) for r in view["reviews"]] == [
        (1, "completed", "continue"),
        (2, "scheduled", None),
    ]
    assert view["plan"]["next_review_due_on"] == next_due.isoformat()
    assert view["audit"][-1]["action"] == "review.continue"
    [completed] = events_of(cloud, capture, "ReviewCompleted")
    assert completed["detail"]["data"] == {
        "reference": plan,
        "review_number": 1,
        "due_on": first_due.isoformat(),
        "completed_on": london_today().isoformat(),
        "outcome": "continue",
        "next_review_due_on": next_due.isoformat(),
    }

    assert invoke(REMINDERS, cloud, sqs_batch([completed, completed])) == {"batchItemFailures": []}

    found = schedules(cloud)
    assert list(found) == [schedule_name(plan, 2)]  # review 1's reminder went with it
    expression = found[schedule_name(plan, 2)]["ScheduleExpression"]
    assert expression == f"at({remind_on(next_due, Settings()).isoformat()}T09:00:00)"


def test_an_adjusted_package_is_recorded_with_what_it_was(cloud: Cloud, plan: str) -> None:
    package = [{"category": "equipment", "description": "Sofa bed", "estimated_cost_pence": 25000}]
    response = record(
        cloud,
        plan,
        {
            "outcome": "adjust",
            "support_package": package,
            "next_review_due_on": (london_today() + timedelta(days=30)).isoformat(),
        },
    )
    assert response["statusCode"] == 200, response["json"]
    view = get_one(cloud, plan)["json"]
    [item] = view["plan"]["support_package"]
    assert item == {**package[0], "status": "approved", "number": 1, "recorded_at": item["recorded_at"]}  # £250
    change = view["audit"][-1]
    assert change["action"] == "review.adjust"
    assert change["changes"]["support_package"]["from"] == []
    assert change["changes"]["support_package"]["to"][0]["description"] == "Sofa bed"


def test_closing_the_plan_closes_the_referral_and_deletes_the_reminder(cloud: Cloud, plan: str) -> None:
    capture = cloud.capture_events()
    response = record(cloud, plan, {"outcome": "close"})
    assert response["statusCode"] == 200, response["json"]
    assert response["json"]["status"] == "closed"
    assert response["json"]["next_review"] is None
    [completed] = events_of(cloud, capture, "ReviewCompleted")
    invoke(REMINDERS, cloud, sqs_batch([completed]))
    assert schedules(cloud) == {}
    again = record(cloud, plan, {"outcome": "close"})
    assert again["statusCode"] == 409
    assert again["json"]["current_status"] == "closed"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"outcome": "continue"}, None),
        ({"outcome": "adjust", "next_review_due_on": 30}, None),
        ({"outcome": "close", "next_review_due_on": 30}, None),
        (
            {"outcome": "continue", "next_review_due_on": 120},
            "next_review_due_on",
        ),
        ({"outcome": "continue", "next_review_due_on": 0}, "next_review_due_on"),
        (
            {
                "outcome": "continue",
                "completed_on": 1,
                "next_review_due_on": 30,
            },
            "completed_on",
        ),
        ({"outcome": "pause", "next_review_due_on": 30}, "outcome"),
    ],
)
def test_a_review_that_does_not_add_up_is_refused_and_changes_nothing(
    cloud: Cloud, plan: str, body: dict[str, Any], field: str | None
) -> None:
    before = get_one(cloud, plan)["json"]
    response = record(cloud, plan, dated(body))
    assert response["statusCode"] == 422, response["json"]
    if field is not None:
        assert field in {error["field"] for error in response["json"]["errors"]}
    after = get_one(cloud, plan)["json"]
    assert len(after.pop("accesses")) == len(before.pop("accesses")) + 1  # only the read itself is recorded
    assert after == before


def test_a_review_needs_a_plan_in_force_and_a_fresh_read(
    cloud: Cloud, plan: str, submit: Any, referral_body: dict[str, Any]
) -> None:
    body = {"outcome": "continue", "next_review_due_on": (london_today() + timedelta(days=30)).isoformat()}
    received = request_from_school(submit, referral_body)
    refused = record(cloud, received, body)
    assert refused["statusCode"] == 409
    assert refused["json"]["allowed_actions"] == ["accept", "decline", "withdraw"]
    stale = record(cloud, plan, body, headers={"if-match": '"1"'})
    assert stale["statusCode"] == 409
    assert "changed since you read it" in stale["json"]["message"]


def test_a_moved_review_moves_its_reminder_and_a_late_event_cannot_bring_back_a_closed_one(
    cloud: Cloud, plan: str, first_due: date
) -> None:
    capture = cloud.capture_events()
    later = first_due + timedelta(days=14)
    response = move(cloud, plan, 1, {"due_on": later.isoformat(), "reason": "The family is away at half term."})
    assert response["statusCode"] == 200, response["json"]
    [moved] = events_of(cloud, capture, "ReviewRescheduled")
    assert moved["detail"]["data"]["previous_due_on"] == first_due.isoformat()
    invoke(REMINDERS, cloud, sqs_batch([moved]))
    [schedule] = schedules(cloud).values()
    assert schedule["ScheduleExpression"] == f"at({remind_on(later, Settings()).isoformat()}T09:00:00)"
    assert get_one(cloud, plan)["json"]["audit"][-1]["changes"]["reason"] == "The family is away at half term."

    record(cloud, plan, {"outcome": "close"})
    [completed] = events_of(cloud, capture, "ReviewCompleted")
    invoke(REMINDERS, cloud, sqs_batch([completed]))
    assert invoke(REMINDERS, cloud, sqs_batch([moved])) == {"batchItemFailures": []}  # redelivered, out of order
    assert schedules(cloud) == {}
    assert move(cloud, plan, 1, {"due_on": later.isoformat(), "reason": "x"})["statusCode"] == 409
    assert move(cloud, plan, 7, {"due_on": later.isoformat(), "reason": "x"})["statusCode"] in (404, 409)


def test_an_overdue_review_is_escalated_once_then_every_five_working_days(
    cloud: Cloud, plan: str, monkeypatch: pytest.MonkeyPatch, first_due: date
) -> None:
    capture = cloud.capture_events()
    at_day(monkeypatch, first_due)  # due today: not overdue yet
    assert invoke(REMINDERS, cloud, DAILY)["escalated"] == 0
    day_after = first_due + timedelta(days=1)
    at_day(monkeypatch, day_after)

    first = invoke(REMINDERS, cloud, DAILY)
    again = invoke(REMINDERS, cloud, DAILY)  # the same day: a retried schedule publishes nothing

    assert (first["reviews_due"], first["escalated"], first["breaches"]) == (1, 1, 1)
    assert (again["reviews_due"], again["escalated"]) == (1, 0)
    relay_outbox(cloud)
    received = capture.received()
    [overdue] = [e for e in received if e["detail-type"] == "ReviewOverdue"]
    assert overdue["detail"]["data"]["escalation"] == 1
    # the review's breach (the feedback follows the plan's agreement: sent, so no clock of its own)
    breaches = {e["detail"]["data"]["clock"]: e for e in received if e["detail-type"] == "DeadlineBreached"}
    assert sorted(breaches) == ["review_completed"]
    breach = breaches["review_completed"]
    assert breach["detail"]["data"]["due_on"] == first_due.isoformat()
    assert get_one(cloud, plan)["json"]["reviews"][0]["status"] == "overdue"

    at_day(monkeypatch, add_working_days(day_after, 4))
    assert invoke(REMINDERS, cloud, DAILY)["escalated"] == 0
    at_day(monkeypatch, add_working_days(day_after, 5))
    assert invoke(REMINDERS, cloud, DAILY)["escalated"] == 1
    [second] = events_of(cloud, capture, "ReviewOverdue")
    assert second["detail"]["data"]["escalation"] == 2
    assert second["detail"]["data"]["working_days_overdue"] >= 5

    # Recording the review takes it out of the sweep.
    record(cloud, plan, {"outcome": "close"})
    at_day(monkeypatch, add_working_days(day_after, 10))
    assert invoke(REMINDERS, cloud, DAILY)["reviews_due"] == 0


def test_a_withdrawn_referral_is_never_escalated(
    cloud: Cloud, plan: str, monkeypatch: pytest.MonkeyPatch, first_due: date
) -> None:
    capture = cloud.capture_events()
    act(cloud, plan, "withdraw", {"reason": "The family moved away."})
    [withdrawn] = events_of(cloud, capture, "ReferralWithdrawn")
    invoke(REMINDERS, cloud, sqs_batch([withdrawn]))
    assert schedules(cloud) == {}
    assert get_one(cloud, plan)["json"]["reviews"][0]["status"] == "cancelled"
    at_day(monkeypatch, first_due + timedelta(days=3))
    report = invoke(REMINDERS, cloud, DAILY)
    assert (report["reviews_due"], report["escalated"]) == (0, 0)


def test_an_undecided_request_breaches_the_decision_clock_once_and_the_coordinators_hear_of_it(
    cloud: Cloud, submit: Any, referral_body: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    capture = cloud.capture_events()
    started = london_today()
    late = request_from_school(submit, referral_body, 1)
    prompt = request_from_school(submit, referral_body, 2)
    received = events_of(cloud, capture, "ReferralReceived")
    assert invoke(REMINDERS, cloud, sqs_batch(received + received)) == {"batchItemFailures": []}
    act(cloud, prompt, "accept")
    deadline = add_working_days(started, Settings().decision_working_days)
    at_day(monkeypatch, deadline)
    assert invoke(REMINDERS, cloud, DAILY)["clocks_due"] == 0  # the last day of the target is still in time

    at_day(monkeypatch, deadline + timedelta(days=1))
    report = invoke(REMINDERS, cloud, DAILY)
    assert (report["clocks_due"], report["breaches"]) == (2, 1)
    assert invoke(REMINDERS, cloud, DAILY)["clocks_due"] == 0  # each clock is read once

    relay_outbox(cloud)
    got = capture.received()
    [breach] = [e for e in got if e["detail-type"] == "DeadlineBreached"]
    assert breach["detail"]["data"]["reference"] == late
    assert breach["detail"]["data"]["clock"] == "decision"
    assert breach["detail"]["data"]["target_working_days"] == 2
    assert not {"Sam Okafor", "Jo Bloggs", "Alfie", "SW1A"} & set(json.dumps(breach).split('"'))  # ids and dates

    invoke(FEEDBACK, cloud, sqs_batch([breach, breach]))
    emails = [e for e in get_one(cloud, late)["json"]["emails"] if e["template"] == "deadline_breached"]
    assert [(e["recipient_kind"], e["status"]) for e in emails] == [("coordinators", "sent")]
    assert emails[0]["subject"] == f"Deadline missed: {late}"

    # the console's work list shows the missed deadline (the clock's by_deadline "breached" partition); the met one
    # left the index
    from infra.constants import CONSOLE
    from tests.integration.test_console import a_session, console_event

    session, _ = a_session(cloud)
    page = invoke(CONSOLE, cloud, console_event("GET", "/staff", "/staff", session=session, query={"list": "breached"}))
    assert late in page["body"] and "A decision on the request" in page["body"] and prompt not in page["body"]


def test_the_plan_agreed_clock_breaks_once_for_a_plan_left_unagreed_and_never_for_an_agreed_one(
    cloud: Cloud, submit: Any, referral_body: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A meeting with a plan starts the plan_agreed clock (10 working days); the day after it, a plan still not
    agreed is a breach the coordinators hear of, once; one agreed in time is not."""
    from tests.integration.test_meetings import availability, book, clock_at, meeting
    from tests.integration.test_outcome import agree, outcome

    availability(cloud, "fac-1")
    past = (datetime.now(UTC) - timedelta(days=1)).replace(hour=9, minute=0, second=0, microsecond=0)
    plan_body = {"first_review_due_on": (london_today() + timedelta(days=30)).isoformat()}
    references = []
    for hour in (0, 3):
        with clock_at(past - timedelta(days=2)):
            reference = submit({**referral_body, "reason": f"Clock {hour}"})["json"]["reference"]
            assert book(cloud, reference, meeting(past + timedelta(hours=hour)))["statusCode"] == 200
        held = {"held": True, "held_on": past.date().isoformat(), "plan": plan_body}
        assert outcome(cloud, reference, held)["statusCode"] == 200
        references.append(reference)
    waiting, agreed = references
    assert agree(cloud, agreed)["statusCode"] == 200
    capture = cloud.capture_events()
    relay_outbox(cloud)
    assert invoke(REMINDERS, cloud, sqs_batch(events_of(cloud, capture, "MeetingHeld"))) == {"batchItemFailures": []}
    clocks = {item["pk"]: item for item in cloud.items() if item["sk"] == "CLOCK#plan_agreed"}
    assert set(clocks) == {f"REFERRAL#{waiting}", f"REFERRAL#{agreed}"}
    assert not [item for item in cloud.items() if item["sk"] == "CLOCK#feedback_sent"]  # feedback follows agreement
    due = date.fromisoformat(clocks[f"REFERRAL#{waiting}"]["due_on"])
    assert due == add_working_days(past.date(), Settings().agreement_working_days)

    at_day(monkeypatch, due + timedelta(days=1))
    assert invoke(REMINDERS, cloud, DAILY)["breaches"] == 1
    assert invoke(REMINDERS, cloud, DAILY)["breaches"] == 0  # checked once
    [breach] = events_of(cloud, capture, "DeadlineBreached")
    assert (breach["detail"]["data"]["clock"], breach["detail"]["data"]["reference"]) == ("plan_agreed", waiting)
