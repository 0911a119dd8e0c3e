"""The referral's state machine: which decision may move a referral from which state, and to which.

```
received ──accept──▶ accepted ──▶ meeting_scheduled ──▶ meeting_held ──▶ plan_active ──▶ closed
    └─decline(reason)─▶ declined
    └─withdraw(reason) from any open state ─▶ withdrawn
```
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from shared.referrals import ReferralStatus as S


class Decision(StrEnum):
    ACCEPT = "accept"
    DECLINE = "decline"
    WITHDRAW = "withdraw"


@dataclass(frozen=True)
class Transition:
    from_states: frozenset[S]
    to_state: S
    needs_reason: bool


OPEN_STATES = frozenset({S.RECEIVED, S.ACCEPTED, S.MEETING_SCHEDULED, S.MEETING_HELD, S.PLAN_ACTIVE})
TRANSITIONS: dict[Decision, Transition] = {
    Decision.ACCEPT: Transition(frozenset({S.RECEIVED}), S.ACCEPTED, needs_reason=False),
    Decision.DECLINE: Transition(frozenset({S.RECEIVED}), S.DECLINED, needs_reason=True),
    Decision.WITHDRAW: Transition(OPEN_STATES, S.WITHDRAWN, needs_reason=True),
}


def allowed_decisions(status: S) -> list[str]:
    """What a coordinator may do next, in a stable order (shown with every 409)."""
    return [decision.value for decision, rule in TRANSITIONS.items() if status in rule.from_states]


class IllegalTransition(Exception):
    """The decision does not apply to the referral's current state (or the state changed since it was read)."""

    def __init__(self, decision: Decision, current: S, *, stale: bool = False) -> None:
        self.decision = decision
        self.current = current
        self.stale = stale
        if stale:
            message = f"The referral changed since you read it (it is now {current.value}): reload it and try again"
        else:
            message = f"A referral that is {current.value.replace('_', ' ')} cannot be {_past(decision)}"
        super().__init__(message)
        self.message = message


def _past(decision: Decision) -> str:
    return {"accept": "accepted", "decline": "declined", "withdraw": "withdrawn"}[decision.value]
