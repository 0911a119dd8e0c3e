"""The service layer against in-memory fakes of DynamoDB, Scheduler and Secrets Manager (tests/fakes.py): double
booking, review schedules, deadline clocks and a partner's link, in milliseconds and without moto.

The same behaviours are tested against moto, wired from the synthesized template, under tests/integration/."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import pytest

from shared.adapters import aws, secrets
from shared.adapters.dynamodb import ReferralReader, ReferralStore
from shared.config import Settings
from shared.domain import clock
from shared.domain.actors import Actor
from shared.domain.clock import LONDON
from shared.domain.meetings import Availability, CancelRequest, DoubleBooked, MeetingRequest, Venue, WeeklyWindow
from shared.domain.plans import NetworkAction, Outcome, PartnerConsent, Plan
from shared.domain.referrals import ReferralStatus
from shared.domain.workflow import Decision
from shared.service import agreement, connections, meetings, partners
from shared.service.deadlines import DailyCheck, start_clock
from shared.service.decisions import DecisionBody, decide
from shared.service.intake import submit_referral, validate_submission
from shared.service.proposals import propose
from shared.service.reminders import follow_review, schedule_name
from tests.conftest import minimal_referral
from tests.fakes import InMemoryDynamoDB, RecordingScheduler, StaticSecrets
from tests.preparation import prepare_for_meeting

COORDINATOR = Actor(subject="coordinator-1")
SETTINGS = Settings(link_key_secret_arn="arn:aws:secretsmanager:eu-west-2:123456789012:secret:links")
FAMILIES = itertools.count(1)


@pytest.fixture
def fakes(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Any]]:
    found: dict[str, Any] = {
        "dynamodb": InMemoryDynamoDB(),
        "scheduler": RecordingScheduler(),
        "secretsmanager": StaticSecrets("k" * 48),
    }
    monkeypatch.setattr(aws, "_client", lambda service: found[service])
    secrets.forget_link_keys()
    yield found
    secrets.forget_link_keys()


def reader() -> ReferralReader:
    return ReferralReader(SETTINGS.table_name)


def accepted_referral(now: datetime | None = None) -> str:
    """A lead practitioner's referral with consent (a new family each time): accepted as it is received."""
    family = minimal_referral()["family"] | {"contact_name": f"Family {next(FAMILIES)}"}
    request = validate_submission(minimal_referral(family=family), None, settings=SETTINGS)
    store = ReferralStore(SETTINGS.table_name)
    outcome = submit_referral(request, store=store, settings=SETTINGS, correlation_id="t", now=now)
    assert outcome.status is ReferralStatus.ACCEPTED
    return outcome.reference


def facilitator(facilitator_id: str = "fac-1") -> str:
    days = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
    weekly = [WeeklyWindow(day=day, start=time(9), end=time(17)) for day in days]
    meetings.set_availability(
        facilitator_id, Availability(locality="North", weekly=weekly), actor=COORDINATOR, settings=SETTINGS
    )
    return facilitator_id


def at(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=UTC)


def book(
    reference: str,
    starts_at: datetime,
    minutes: int = 60,
    facilitator_id: str = "fac-1",
    now: datetime | None = None,
) -> dict[str, Any]:
    """Book the meeting, the referral prepared first through the service (tests/preparation.py)."""
    prepare_for_meeting(reference, settings=SETTINGS)
    request = MeetingRequest(
        starts_at=starts_at,
        ends_at=starts_at + timedelta(minutes=minutes),
        venue=Venue(type="family_hub"),
        facilitator_id=facilitator_id,
    )
    return meetings.book_or_move(
        reference,
        request,
        actor=COORDINATOR,
        expected_version=None,
        reader=reader(),
        settings=SETTINGS,
        correlation_id="t",
        now=now,
    )


def received_days_ago(days: int = 3) -> str:
    """A referral received (and accepted) `days` ago: its meeting can be booked, then held, before today."""
    return accepted_referral(now=clock.now() - timedelta(days=days))


# --- double booking -----------------------------------------------------------------------------------------------
def test_two_meetings_overlapping_by_a_minute_cannot_both_hold_the_facilitator(fakes):
    first, second = accepted_referral(), accepted_referral()
    facilitator()
    day = date.today() + timedelta(days=10)
    book(first, at(day, 10))

    with pytest.raises(DoubleBooked):
        book(second, at(day, 10, 59))

    referral = reader().referral(second)
    assert referral is not None and referral["status"] == ReferralStatus.PREPARING.value  # nothing of it was written
    assert book(second, at(day, 11))["meeting"]["starts_at"].startswith(day.isoformat())  # back to back is fine


def test_a_cancelled_meeting_frees_its_facilitators_time(fakes):
    first, second = accepted_referral(), accepted_referral()
    facilitator()
    day = date.today() + timedelta(days=10)
    book(first, at(day, 10), minutes=120)
    meetings.cancel(
        first,
        CancelRequest(reason="The family asked to change the day"),
        actor=COORDINATOR,
        expected_version=None,
        reader=reader(),
        settings=SETTINGS,
        correlation_id="t",
    )
    assert book(second, at(day, 10, 30))["meeting"]["facilitator_id"] == "fac-1"
    busy = [i for i in fakes["dynamodb"].plain_items() if i["sk"].startswith("BUSY#")]
    assert {i["reference"] for i in busy} == {second}
    assert len(busy) == 4  # 10:30 to 11:30: four 15-minute blocks


# --- review schedules ---------------------------------------------------------------------------------------------
def held_with_plan(reference: str, first_review_due_on: date, plan: Plan | None = None) -> None:
    yesterday = date.today() - timedelta(days=1)
    book(reference, at(yesterday, 10), now=clock.now() - timedelta(days=2))  # booked before it was held
    outcome = Outcome(
        held=True,
        held_on=yesterday,
        plan=plan or Plan(network_actions=[], first_review_due_on=first_review_due_on),
    )
    meetings.record_outcome(
        reference,
        outcome,
        actor=COORDINATOR,
        expected_version=None,
        reader=reader(),
        settings=SETTINGS,
        correlation_id="t",
    )
    agreement.record_answer(  # agreed by the lead practitioner: the plan in force, its first review open
        reference,
        agreement.AgreementAnswer(decision="agree"),
        actor=COORDINATOR,
        expected_version=None,
        reader=reader(),
        settings=SETTINGS,
        correlation_id="t",
    )


def test_a_review_is_reminded_once_at_nine_five_working_days_before_it_is_due(fakes):
    reference = received_days_ago()
    facilitator()
    due = date.today() + timedelta(days=60)
    held_with_plan(reference, due)

    made = follow_review(reference, 1, due, settings=SETTINGS, reader=reader(), correlation_id="t")
    again = follow_review(reference, 1, due, settings=SETTINGS, reader=reader(), correlation_id="t")

    schedules = fakes["scheduler"].schedules
    assert list(schedules) == [schedule_name(reference, 1)]  # a repeated event replaces, never adds
    assert made is not None and made == again
    assert schedules[schedule_name(reference, 1)]["ScheduleExpression"] == f"at({made['remind_on']}T09:00:00)"


def test_a_late_event_for_a_review_no_longer_due_that_day_schedules_nothing(fakes):
    reference = received_days_ago()
    facilitator()
    due = date.today() + timedelta(days=60)
    held_with_plan(reference, due)

    assert (
        follow_review(reference, 1, due + timedelta(days=7), settings=SETTINGS, reader=reader(), correlation_id="t")
        is None
    )
    assert follow_review(reference, 2, due, settings=SETTINGS, reader=reader(), correlation_id="t") is None
    assert fakes["scheduler"].schedules == {}


# --- deadline clocks ----------------------------------------------------------------------------------------------
def test_a_clock_past_its_day_is_breached_once_and_a_withdrawn_referral_stops_it(fakes):
    late, withdrawn = accepted_referral(), accepted_referral()
    started = date.today() - timedelta(days=60)
    assert start_clock(late, "meeting_held", started, settings=SETTINGS) is not None
    assert start_clock(late, "meeting_held", started, settings=SETTINGS) is None  # a repeated event: started once
    start_clock(withdrawn, "meeting_held", started, settings=SETTINGS)
    decide(
        withdrawn,
        Decision.WITHDRAW,
        DecisionBody(reason="The family moved away"),
        actor=COORDINATOR,
        expected_version=None,
        reader=reader(),
        settings=SETTINGS,
        correlation_id="t",
    )

    now = clock.now()
    first = DailyCheck(settings=SETTINGS, now=now, correlation_id="daily").run()
    second = DailyCheck(settings=SETTINGS, now=now, correlation_id="daily").run()

    assert first.breaches == ["meeting_held"]
    assert second.breaches == [] and second.clocks_due == 0  # the clocks left the index
    breaches = [i for i in fakes["dynamodb"].plain_items() if i.get("detail_type") == "DeadlineBreached"]
    assert [i["pk"] for i in breaches] == [f"REFERRAL#{late}"]


# --- a partner's link ---------------------------------------------------------------------------------------------
def connected(fakes: dict[str, Any]) -> tuple[str, str, str]:
    """A held meeting whose plan names a partner: (reference, partner id, the partner's link token)."""
    partner = partners.add(
        partners.PartnerRequest(
            name="Northside Food Bank",
            kind="charity",
            offers=["practical_support"],
            localities=["North"],
            email="help@northside.example.org",
        ),
        actor=COORDINATOR,
        settings=SETTINGS,
    )
    partner_id = partner["partner_id"]
    reference = received_days_ago()
    facilitator()
    plan = Plan(
        network_actions=[NetworkAction(who="Food bank", what="A weekly food parcel", partner_id=partner_id)],
        first_review_due_on=date.today() + timedelta(days=60),
        partner_consent=[PartnerConsent(partner_id=partner_id, share_contact_name=False)],
    )
    held_with_plan(reference, plan.first_review_due_on, plan)
    connection = reader().item(connections.connection_key(reference, partner_id))
    assert connection is not None and connection["status"] == "requested"
    link = connections.link_for(reference, partner_id, connection["connection_id"], settings=SETTINGS, now=clock.now())
    return reference, partner_id, link.rsplit("/", 1)[1]


def test_a_partners_link_answers_once_then_says_so(fakes):
    reference, partner_id, token = connected(fakes)
    opened = connections.open_link(token, reader=reader(), settings=SETTINGS, now=clock.now())
    assert (opened.reference, opened.partner_id) == (reference, partner_id)

    connections.answer(
        opened, connections.ConnectionAnswer(answer="contacted"), settings=SETTINGS, correlation_id="t", now=clock.now()
    )

    with pytest.raises(connections.LinkProblem) as again:
        connections.open_link(token, reader=reader(), settings=SETTINGS, now=clock.now())
    assert again.value.reason == "answered"
    stored = reader().item(connections.connection_key(reference, partner_id))
    assert stored is not None and stored["status"] == "contacted"


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        (lambda token: token[:-2] + ("AA" if not token.endswith("AA") else "BB"), "invalid"),
        (lambda token: "not-a-token", "invalid"),
    ],
)
def test_an_altered_link_changes_nothing(fakes, change, reason):
    _, _, token = connected(fakes)
    before = sorted(map(str, fakes["dynamodb"].plain_items()))
    with pytest.raises(connections.LinkProblem) as refused:
        connections.open_link(change(token), reader=reader(), settings=SETTINGS, now=clock.now())
    assert refused.value.reason == reason
    assert sorted(map(str, fakes["dynamodb"].plain_items())) == before


def test_a_link_past_its_days_has_expired(fakes):
    _, _, token = connected(fakes)
    later = clock.now() + timedelta(days=SETTINGS.connection_link_days, minutes=1)
    with pytest.raises(connections.LinkProblem) as refused:
        connections.open_link(token, reader=reader(), settings=SETTINGS, now=later)
    assert refused.value.reason == "expired"
    assert fakes["secretsmanager"].reads == 1  # the key is read once, then kept


# --- allocating a facilitator -------------------------------------------------------------------------------------
def proposed(reference: str) -> Any:
    return propose(
        reference, event_id="e-1", accepted_at=clock.now(), reader=reader(), settings=SETTINGS, now=clock.now()
    )


def test_the_least_busy_facilitator_is_proposed(fakes):
    facilitator("fac-a"), facilitator("fac-b")
    day = date.today() + timedelta(days=15)
    book(accepted_referral(), at(day, 10), facilitator_id="fac-a")
    book(accepted_referral(), at(day, 14), facilitator_id="fac-a")
    book(accepted_referral(), at(day, 10), facilitator_id="fac-b")
    assert proposed(accepted_referral()).facilitator_id == "fac-b"


def test_allocating_costs_the_same_calls_with_one_facilitator_or_thirty(fakes):
    facilitator("fac-0")
    fakes["dynamodb"].calls.clear()
    proposed(accepted_referral())
    one = [call for call in fakes["dynamodb"].calls if call != "TransactWriteItems"]
    for n in range(1, 30):
        facilitator(f"fac-{n}")
    first_calls = len(fakes["dynamodb"].calls)
    proposed(accepted_referral())
    thirty = [call for call in fakes["dynamodb"].calls[first_calls:] if call != "TransactWriteItems"]
    assert one == thirty == ["GetItem", "Query", "Query"]  # referral, facilitators, scheduled meetings (and their time)


# --- proposals made again -----------------------------------------------------------------------------------------
def proposals_of(reference: str) -> dict[str, Any]:
    [item] = [i for i in reader().partition(reference) if i["sk"] == "PROPOSALS"]
    return item


def proposed_audits(reference: str) -> list[dict[str, Any]]:
    return [i for i in reader().partition(reference) if i.get("action") == "meeting.proposed"]


def test_a_facilitator_added_later_gives_a_waiting_referral_three_days_to_choose_from(fakes):
    # Given a referral accepted when no facilitator existed
    reference = accepted_referral()
    assert proposed(reference).reason == "no_facilitator"
    # When a facilitator's availability is stated
    facilitator()
    # Then the referral's proposal names them, with three slots on three different days
    proposal = proposals_of(reference)
    assert proposal["facilitator_id"] == "fac-1" and proposal.get("reason") is None
    days = {
        datetime.fromisoformat(s["starts_at"].replace("Z", "+00:00")).astimezone(LONDON).date()
        for s in proposal["slots"]
    }
    assert len(proposal["slots"]) == 3 and len(days) == 3
    assert [a["changes"]["because"] for a in proposed_audits(reference)] == [
        "referral_accepted",
        "availability_changed",
    ]


def test_recomputing_writes_only_what_changed_and_costs_one_read_and_four_queries_whatever_the_numbers(fakes):
    facilitator("fac-0")
    waiting = [accepted_referral() for _ in range(6)]
    booked = accepted_referral()
    book(booked, at(date.today() + timedelta(days=10), 10), facilitator_id="fac-0")
    fakes["dynamodb"].calls.clear()

    again = meetings.set_availability(  # Mondays only: every waiting referral's proposal changes
        "fac-0",
        Availability(locality="North", weekly=[WeeklyWindow(day=d, start=time(9), end=time(17)) for d in ("monday",)]),
        actor=COORDINATOR,
        settings=SETTINGS,
    )
    first = list(fakes["dynamodb"].calls)
    unchanged = meetings.set_availability(
        "fac-0",
        Availability(locality="North", weekly=[WeeklyWindow(day=d, start=time(9), end=time(17)) for d in ("monday",)]),
        actor=COORDINATOR,
        settings=SETTINGS,
    )
    second = fakes["dynamodb"].calls[len(first) :]

    assert (again.proposals.waiting, again.proposals.changed) == (6, 6)  # the facilitator now works Mondays only
    assert (unchanged.proposals.waiting, unchanged.proposals.changed) == (6, 0)
    # the facilitator's own item (its name and localities are kept), then facilitators, by_facilitator, and by_status
    # once per waiting state (accepted, preparing)
    assert [c for c in first if c != "TransactWriteItems"] == ["GetItem", "Query", "Query", "Query", "Query"]
    assert first.count("TransactWriteItems") == 1 + 6  # the availability, then one per changed proposal
    assert second == ["GetItem", "TransactWriteItems", "Query", "Query", "Query", "Query"]  # nothing changed: no write
    assert all(len(proposed_audits(r)) == 1 for r in waiting)  # proposed once, by the first change
    assert proposed_audits(booked) == []  # booked: it waits for nothing


def test_a_cancelled_meeting_leaves_its_referral_with_a_fresh_proposal_counting_its_time_free(fakes):
    reference = accepted_referral()
    facilitator()
    first = proposals_of(reference)["slots"][0]
    starts = datetime.fromisoformat(first["starts_at"].replace("Z", "+00:00"))
    book(reference, starts, minutes=SETTINGS.meeting_length_minutes)

    meetings.cancel(
        reference,
        CancelRequest(reason="The family asked to change the day"),
        actor=COORDINATOR,
        expected_version=None,
        reader=reader(),
        settings=SETTINGS,
        correlation_id="t",
    )

    proposal = proposals_of(reference)
    assert proposal["slots"][0] == first  # the cancelled meeting's time is free again: still the earliest
    assert proposed_audits(reference)[-1]["changes"]["because"] == "cancel"
    referral = reader().referral(reference)
    assert referral is not None and referral["proposal_key"] == proposal["proposal_key"]


# --- reading by key -----------------------------------------------------------------------------------------------
def test_items_read_by_key_are_asked_again_when_dynamodb_leaves_some_and_never_come_back_expired(
    fakes: dict[str, Any],
) -> None:
    reference = accepted_referral()
    dynamodb: InMemoryDynamoDB = fakes["dynamodb"]
    everything = {item["sk"]: item for item in reader().partition(reference)}
    audit = sorted(sk for sk in everything if str(sk).startswith("AUDIT#"))
    batch_get_item = dynamodb.batch_get_item
    asked: list[int] = []

    def leaves_all_but_one(*, RequestItems: dict[str, dict[str, Any]]) -> dict[str, Any]:
        [(name, wanted)] = RequestItems.items()
        asked.append(len(wanted["Keys"]))
        first, rest = wanted["Keys"][:1], wanted["Keys"][1:]
        answer = batch_get_item(RequestItems={name: {**wanted, "Keys": first}})
        return {**answer, "UnprocessedKeys": {name: {"Keys": rest}} if rest else {}}

    dynamodb.batch_get_item = leaves_all_but_one  # type: ignore[method-assign]
    wanted = ["REFERRAL", "PLAN", *audit, "REFERRAL"]  # a key twice is read once; PLAN does not exist yet
    found = {item["sk"] for item in reader().items_of(reference, wanted)}
    assert found == {"REFERRAL", *audit}
    assert asked == list(range(len(audit) + 2, 0, -1))  # each answer left the rest, asked for again
    expired = dynamodb.items[(f"REFERRAL#{reference}", audit[0])]
    expired["expires_at"] = {"N": str(int(clock.now().timestamp()) - 60)}
    assert audit[0] not in {item["sk"] for item in reader().items_of(reference, audit)}
