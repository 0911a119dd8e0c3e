"""Random sequences of coordinators' calls never reach an illegal state, lose an audit entry or double-book.

A hypothesis state machine keeps a model of each referral (status, meeting, audit count, preparation) and of each
facilitator's booked hours, drives the real handlers against moto, and after every step compares what the API says
with the model: statuses, allowed actions, audit trails, and no two scheduled meetings of a facilitator overlapping.
"""

from __future__ import annotations

import itertools
import json
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import Bundle, RuleBasedStateMachine, invariant, rule, run_state_machine_as_test

from infra.constants import INTAKE
from shared.domain.clock import LONDON
from shared.domain.referrals import ReferralStatus as S
from shared.domain.workflow import allowed_decisions
from shared.service.proposals import part_of_day
from tests.conftest import minimal_referral
from tests.integration.conftest import Cloud, api_event, invoke
from tests.integration.test_coordination import act, get_one
from tests.integration.test_meetings import WEEKLY, availability, book, cancel
from tests.integration.test_outcome import outcome
from tests.integration.test_preparation import decide as decide_to_go_ahead
from tests.integration.test_preparation import tick

BASE = datetime.now(LONDON).date() + timedelta(days=10)  # in England: the facilitators work 09:00 to 17:00 daily
TRANSITIONS = {"accept": ({S.RECEIVED}, S.ACCEPTED), "decline": ({S.RECEIVED}, S.DECLINED)}
OPEN = {S.RECEIVED, S.ACCEPTED, S.PREPARING, S.MEETING_SCHEDULED, S.MEETING_HELD, S.AWAITING_AGREEMENT, S.PLAN_ACTIVE}
PREPARED = {S.ACCEPTED, S.PREPARING}  # where the family's decision and the checklist are recorded


@dataclass
class Model:
    status: S
    audit: int
    meeting: tuple[str, datetime, datetime] | None = None  # facilitator, start, end (when scheduled)
    history: list[str] = field(default_factory=list)
    proposed: bool = False  # waited for a meeting while a facilitator existed: it has a proposal naming one
    prepared: bool = False  # the family agreed and the checklist is met


class Workflow(RuleBasedStateMachine):
    cloud: Cloud

    referrals = Bundle("referrals")
    facilitators = Bundle("facilitators")

    def __init__(self) -> None:
        super().__init__()
        self.model: dict[str, Model] = {}
        self.run = uuid.uuid4().hex[:6]

    @rule(target=facilitators, n=st.integers(0, 1))
    def a_facilitator(self, n: int) -> str:
        facilitator = f"f{self.run}-{n}"
        assert availability(self.cloud, facilitator)["statusCode"] == 200
        for model in self.model.values():  # every referral waiting for a meeting is proposed times again
            model.proposed = model.proposed or model.status in PREPARED
        return facilitator

    @rule(target=referrals, lead=st.booleans())
    def a_referral(self, lead: bool) -> str:
        body = {**minimal_referral(), "reason": f"Stateful {uuid.uuid4()}"}
        if not lead:
            body["route"] = "professional_request"
        response = invoke(INTAKE, self.cloud, api_event(body))
        assert response["statusCode"] == 201
        reference = json.loads(response["body"])["reference"]
        self.model[reference] = Model(S.ACCEPTED if lead else S.RECEIVED, audit=2 if lead else 1)
        return str(reference)

    @rule(reference=referrals, action=st.sampled_from(["accept", "decline", "withdraw"]))
    def decide(self, reference: str, action: str) -> None:
        model = self.model[reference]
        response = act(self.cloud, reference, action, None if action == "accept" else {"reason": "Because"})
        if action == "withdraw":
            allowed, to = OPEN, S.WITHDRAWN
        else:
            allowed, to = TRANSITIONS[action]
        if model.status in allowed:
            assert response["statusCode"] == 200, response["json"]
            model.status, model.audit, model.meeting = to, model.audit + 1, None if to is S.WITHDRAWN else model.meeting
            model.history.append(action)
        else:
            assert response["statusCode"] == 409, response["json"]
            assert response["json"]["current_status"] == model.status.value

    @rule(reference=referrals, go_ahead=st.sampled_from([True, True, False]))
    def prepare(self, reference: str, go_ahead: bool) -> None:
        """The family's decision, then (going ahead) the checklist: a referral in preparation can be booked; a family
        saying no closes it."""
        model = self.model[reference]
        decided = decide_to_go_ahead(self.cloud, reference, go_ahead)
        if model.status not in PREPARED:
            assert decided["statusCode"] == 409 and decided["json"]["current_status"] == model.status.value
            return
        assert decided["statusCode"] == 200, decided["json"]
        model.audit += 1
        model.history.append("prepare" if go_ahead else "family_declined")
        if not go_ahead:
            model.status = S.FAMILY_DECLINED
            return
        model.status = S.PREPARING
        assert tick(self.cloud, reference, "network_identified", "child_views_sought")["statusCode"] == 200
        model.audit += 1
        model.prepared = True

    @rule(
        reference=referrals,
        facilitator=facilitators,
        day=st.sampled_from([-11, 0, 1, 2]),  # -11: yesterday, gone
        hour=st.integers(7, 17),
        hours=st.sampled_from([1, 2]),
        exception=st.sampled_from([None, None, "The family's network can only come then"]),
    )
    def book_or_move(
        self, reference: str, facilitator: str, day: int, hour: int, hours: int, exception: str | None
    ) -> None:
        model = self.model[reference]
        start = datetime.combine(BASE + timedelta(days=day), time(hour), tzinfo=LONDON)
        end = start + timedelta(hours=hours)
        body = {
            "starts_at": start.isoformat(),
            "ends_at": end.isoformat(),
            "venue": {"type": "online"},
            "facilitator_id": facilitator,
            **({"exception_reason": exception} if exception else {}),
        }
        response = book(self.cloud, reference, body, prepare=False)
        clash = any(
            other is not model
            and other.meeting
            and other.meeting[0] == facilitator
            and other.meeting[1] < end
            and start < other.meeting[2]
            for other in self.model.values()
        )
        # every day 09:00 to 17:00 in England (WEEKLY), on the meeting's own day
        within = any(w["start"] <= f"{start:%H:%M}" and f"{end:%H:%M}" <= w["end"] for w in WEEKLY)
        if model.status not in (S.PREPARING, S.MEETING_SCHEDULED):
            assert response["statusCode"] == 409
            assert response["json"]["current_status"] == model.status.value
        elif model.status is S.PREPARING and not model.prepared:
            assert response["statusCode"] == 422, response["json"]
            assert response["json"]["errors"][0]["field"].startswith("preparation.checklist.")
        elif start <= datetime.now(UTC):
            assert response["statusCode"] == 422, response["json"]
            assert "must start in the future" in response["json"]["message"]
        elif not within and not exception:
            assert response["statusCode"] == 422, response["json"]
            assert [e["field"] for e in response["json"]["errors"]] == ["starts_at", "exception_reason"]
        elif clash:
            assert response["statusCode"] == 409
            assert "already booked" in response["json"]["message"]
        else:
            assert response["statusCode"] == 200, response["json"]
            model.status, model.audit, model.meeting = S.MEETING_SCHEDULED, model.audit + 1, (facilitator, start, end)
            model.history.append("book")

    @rule(reference=referrals)
    def cancel_meeting(self, reference: str) -> None:
        model = self.model[reference]
        response = cancel(self.cloud, reference, {"reason": "Unwell"})
        if model.status is S.MEETING_SCHEDULED:
            assert response["statusCode"] == 200, response["json"]
            model.status, model.audit, model.meeting, model.proposed = S.PREPARING, model.audit + 1, None, True
        else:
            assert response["statusCode"] == 409

    @rule(reference=referrals, held=st.booleans(), with_plan=st.booleans())
    def record_outcome(self, reference: str, held: bool, with_plan: bool) -> None:
        model = self.model[reference]
        today = datetime.now(UTC).date()
        body: dict[str, Any] = {"held": False, "reason": "Did not come"}
        if held:
            body = {"held": True, "held_on": today.isoformat()}
            if with_plan:
                body["plan"] = {"first_review_due_on": (today + timedelta(days=30)).isoformat()}
        response = outcome(self.cloud, reference, body)
        if model.status is S.MEETING_SCHEDULED:
            assert response["statusCode"] == 200, response["json"]
            model.audit += 1
            model.meeting = None
            # a plan made at the meeting waits for the lead practitioner's agreement
            model.status = (S.AWAITING_AGREEMENT if with_plan else S.MEETING_HELD) if held else S.PREPARING
            model.proposed = model.proposed or not held
        else:
            assert response["statusCode"] == 409

    @invariant()
    def the_api_agrees_with_the_model(self) -> None:
        for reference, model in self.model.items():
            view = get_one(self.cloud, reference)["json"]
            assert view["status"] == model.status.value, (reference, model.history)
            assert view["allowed_actions"] == allowed_decisions(model.status)
            # the coordinators' changes; the system's proposals are audited too, and checked below
            decided = [a for a in view["audit"] if a["action"] != "meeting.proposed"]
            assert len(decided) == model.audit, (reference, model.history, view["audit"])
            scheduled = view["meeting"] is not None and view["meeting"]["status"] == "scheduled"
            assert scheduled == (model.status is S.MEETING_SCHEDULED)
            if model.proposed:
                proposals = view["proposals"]
                assert proposals is not None and proposals["facilitator_id"] is not None, (reference, model.history)
                starts = [datetime.fromisoformat(slot["starts_at"]).astimezone(LONDON) for slot in proposals["slots"]]
                choices = {(start.date(), part_of_day(start)) for start in starts}
                assert len(choices) == len(starts), proposals  # real choices: other days, or other parts of one

    @invariant()
    def no_facilitator_is_double_booked(self) -> None:
        meetings = sorted(m.meeting for m in self.model.values() if m.meeting)
        for (f1, s1, e1), (f2, s2, e2) in itertools.pairwise(meetings):
            assert not (f1 == f2 and s2 < e1), (f1, s1, e1, s2, e2)


def test_random_sequences_of_calls_keep_every_rule(cloud: Cloud, monkeypatch: pytest.MonkeyPatch) -> None:
    # hundreds of referrals from one address in one day: this test is about the workflow, not the daily caps
    for cap in ("REFERRER_DAILY_CAP", "SOURCE_DAILY_CAP"):
        monkeypatch.setitem(cloud.function(INTAKE).environment, cap, "10000")
    Workflow.cloud = cloud
    run_state_machine_as_test(
        Workflow,
        settings=settings(
            max_examples=12,
            stateful_step_count=18,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
        ),
    )
