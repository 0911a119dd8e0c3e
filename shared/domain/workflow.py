"""The referral's state machine: which decision may move a referral from which state, and to which.

```
received ──accept──▶ accepted ──prepare──▶ preparing ──book (checklist met)──▶ meeting_scheduled ──▶ meeting_held
    │                    │                  ▲    │                               │ cancel / not held   (no plan)
    │                    └─family says no───┼────┴──▶ family_declined            ▼
    │                                       └──────────────────────────────── preparing
    │     meeting_held (a plan) ─▶ awaiting_agreement ─agree─▶ plan_active ──review(close)──▶ closed
    │                                ▲ └─changes asked─┐ (back to the coordinator, who
    │                                └──ask again──────┘  revises the plan and asks again)
    └─decline(reason)─▶ declined
    └─withdraw(reason) from any open state ─▶ withdrawn
```
The first thing recorded in preparation (a contact, the family's decision, a checklist item, a child's voice)
moves an accepted referral to preparing; a meeting cancelled or not held returns it to preparing (its preparation
stands), to book again.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from shared.domain.errors import Conflict
from shared.domain.referrals import ReferralStatus as S


class Decision(StrEnum):
    ACCEPT = "accept"
    DECLINE = "decline"
    WITHDRAW = "withdraw"


@dataclass(frozen=True)
class Transition:
    from_states: frozenset[S]
    to_state: S
    needs_reason: bool


OPEN_STATES = frozenset(
    {
        S.RECEIVED,
        S.ACCEPTED,
        S.PREPARING,
        S.MEETING_SCHEDULED,
        S.MEETING_HELD,
        S.AWAITING_AGREEMENT,
        S.PLAN_ACTIVE,
    }
)
TRANSITIONS: dict[Decision, Transition] = {
    Decision.ACCEPT: Transition(frozenset({S.RECEIVED}), S.ACCEPTED, needs_reason=False),
    Decision.DECLINE: Transition(frozenset({S.RECEIVED}), S.DECLINED, needs_reason=True),
    Decision.WITHDRAW: Transition(OPEN_STATES, S.WITHDRAWN, needs_reason=True),
}


# Meeting actions: book a meeting for a referral in preparation (once its checklist is met); move or cancel it
# (cancelling returns the referral to preparing); record its outcome.
MEETING_ACTIONS: dict[str, frozenset[S]] = {
    "book_meeting": frozenset({S.PREPARING}),
    "move_meeting": frozenset({S.MEETING_SCHEDULED}),
    "cancel_meeting": frozenset({S.MEETING_SCHEDULED}),
    "record_outcome": frozenset({S.MEETING_SCHEDULED}),
    # The plan made at the meeting is agreed by the lead practitioner (or the referrer), or changes are asked and the
    # coordinator asks again (the plan revised, or as it was): shared/service/agreement.py.
    "record_agreement": frozenset({S.AWAITING_AGREEMENT}),
    "ask_agreement_again": frozenset({S.AWAITING_AGREEMENT}),
    # A plan in force is reviewed (a review may close it, closing the referral) and its open review may move.
    "record_review": frozenset({S.PLAN_ACTIVE}),
    "move_review": frozenset({S.PLAN_ACTIVE}),
}
# A plan's support package items are approved or declined by a manager (while the plan waits for the lead
# practitioner's agreement too: the two checks run side by side), and delivered once the plan is in force. Not listed
# among a referral's allowed actions (they act on one item of its plan, shown with that item).
PLAN_ITEM_ACTIONS: dict[str, frozenset[S]] = {
    "decide_package_item": frozenset({S.AWAITING_AGREEMENT, S.PLAN_ACTIVE}),
    "record_delivery": frozenset({S.PLAN_ACTIVE}),
}
# Preparation (shared/domain/preparation.py): on an accepted referral the first of these starts preparing it. The
# family's decision and the checklist gate the booking; contacts and the children's voices go on after it.
PREPARATION_ACTIONS: dict[str, frozenset[S]] = {
    "record_contact": frozenset({S.ACCEPTED, S.PREPARING, S.MEETING_SCHEDULED}),
    "record_family_decision": frozenset({S.ACCEPTED, S.PREPARING}),
    "update_checklist": frozenset({S.ACCEPTED, S.PREPARING}),
    "record_child_voice": frozenset({S.ACCEPTED, S.PREPARING, S.MEETING_SCHEDULED}),
}
ACTIONS: dict[str, frozenset[S]] = {**MEETING_ACTIONS, **PREPARATION_ACTIONS}
_CANNOT = {
    "accept": "be accepted",
    "decline": "be declined",
    "withdraw": "be withdrawn",
    "book_meeting": "have a meeting booked (only a referral in preparation is booked)",
    "move_meeting": "have its meeting moved",
    "cancel_meeting": "have its meeting cancelled",
    "record_outcome": "have a meeting outcome recorded",
    "record_agreement": "have its plan agreed (only a plan waiting for agreement is)",
    "ask_agreement_again": "have its plan sent for agreement (only a plan waiting for agreement is)",
    "record_review": "have a review recorded (only a plan in force is reviewed)",
    "move_review": "have a review moved (only a plan in force is reviewed)",
    "assign": "be assigned (it is no longer open)",
    "change_participants": "have its meeting's participants changed (it is no longer open)",
    "decide_package_item": "have support package spending decided (only a plan made at a meeting and not ended has)",
    "record_delivery": "have support delivered recorded (only a plan in force has its package delivered)",
    "record_contact": "have a preparation contact recorded",
    "record_family_decision": "have the family's decision recorded",
    "update_checklist": "have its preparation checklist changed",
    "record_child_voice": "have a child's voice recorded",
}


def allowed_decisions(status: S) -> list[str]:
    """What a coordinator may do next, in a stable order (shown with every 409)."""
    decisions = [decision.value for decision, rule in TRANSITIONS.items() if status in rule.from_states]
    return decisions + [action for action, states in ACTIONS.items() if status in states]


class IllegalTransition(Conflict):
    """The action does not apply to the referral's current state (or the state changed since it was read)."""

    def __init__(self, action: str, current: S, *, stale: bool = False) -> None:
        self.action = str(action)
        self.current = current
        self.stale = stale
        if stale:
            message = f"The referral changed since you read it (it is now {current.value}): reload it and try again"
        else:
            message = f"A referral that is {current.value.replace('_', ' ')} cannot {_CANNOT[self.action]}"
        super().__init__(message)


def check(action: str, current: S) -> None:
    if action in Decision._value2member_map_:
        states = TRANSITIONS[Decision(action)].from_states
    else:
        states = ACTIONS[action] if action in ACTIONS else PLAN_ITEM_ACTIONS[action]
    if current not in states:
        raise IllegalTransition(action, current)
