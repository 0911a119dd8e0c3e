"""Random sequences of coordinators' calls never reach an illegal state, lose an audit entry or double-book.

A hypothesis state machine keeps a model of each referral (status, meeting, audit count) and of each facilitator's
booked hours, drives the real handlers against moto, and after every step compares what the API says with the
model: statuses, allowed actions, audit trails, and no two scheduled meetings of a facilitator overlapping.
"""

from __future__ import annotations

import itertools
import json
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import Bundle, RuleBasedStateMachine, invariant, rule, run_state_machine_as_test

from infra.constants import INTAKE
from shared.domain.referrals import ReferralStatus as S
from shared.domain.workflow import allowed_decisions
from tests.conftest import minimal_referral
from tests.integration.conftest import Cloud, api_event, invoke
from tests.integration.test_coordination import act, get_one
from tests.integration.test_meetings import availability, book, cancel
from tests.integration.test_outcome import outcome

BASE = (datetime.now(UTC) + timedelta(days=10)).replace(hour=0, minute=0, second=0, microsecond=0)
TRANSITIONS = {"accept": ({S.RECEIVED}, S.ACCEPTED), "decline": ({S.RECEIVED}, S.DECLINED)}
OPEN = {S.RECEIVED, S.ACCEPTED, S.MEETING_SCHEDULED, S.MEETING_HELD, S.PLAN_ACTIVE}


@dataclass
class Model:
    status: S
    audit: int
    meeting: tuple[str, datetime, datetime] | None = None  # facilitator, start, end (when scheduled)
    history: list[str] = field(default_factory=list)


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

    @rule(
        reference=referrals,
        facilitator=facilitators,
        day=st.integers(0, 2),
        hour=st.integers(9, 14),
        hours=st.sampled_from([1, 2]),
    )
    def book_or_move(self, reference: str, facilitator: str, day: int, hour: int, hours: int) -> None:
        model = self.model[reference]
        start = BASE + timedelta(days=day, hours=hour)
        end = start + timedelta(hours=hours)
        body = {
            "starts_at": start.isoformat(),
            "ends_at": end.isoformat(),
            "venue": {"type": "online"},
            "facilitator_id": facilitator,
        }
        response = book(self.cloud, reference, body)
        clash = any(
            other is not model
            and other.meeting
            and other.meeting[0] == facilitator
            and other.meeting[1] < end
            and start < other.meeting[2]
            for other in self.model.values()
        )
        if model.status not in (S.ACCEPTED, S.MEETING_SCHEDULED):
            assert response["statusCode"] == 409
            assert response["json"]["current_status"] == model.status.value
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
            model.status, model.audit, model.meeting = S.ACCEPTED, model.audit + 1, None
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
            model.status = (S.PLAN_ACTIVE if with_plan else S.MEETING_HELD) if held else S.ACCEPTED
        else:
            assert response["statusCode"] == 409

    @invariant()
    def the_api_agrees_with_the_model(self) -> None:
        for reference, model in self.model.items():
            view = get_one(self.cloud, reference)["json"]
            assert view["status"] == model.status.value, (reference, model.history)
            assert view["allowed_actions"] == allowed_decisions(model.status)
            assert len(view["audit"]) == model.audit, (reference, model.history, view["audit"])
            scheduled = view["meeting"] is not None and view["meeting"]["status"] == "scheduled"
            assert scheduled == (model.status is S.MEETING_SCHEDULED)

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
