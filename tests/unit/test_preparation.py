"""The preparation checklist as a deployment sets it, and the rules of the preparation records."""

from __future__ import annotations

import typing
from datetime import timedelta

import pytest
from pydantic import ValidationError

from shared.config import ENV_PREPARATION_CHECKLIST, Settings
from shared.domain.preparation import (
    DEFAULT_CHECKLIST,
    TICKED,
    ChecklistUpdate,
    ChildVoice,
    Contact,
    TickedItem,
    checklist_state,
    child_number,
)
from shared.domain.referrals import today


def test_the_items_a_coordinator_ticks_are_the_catalogue_s_less_the_family_s_agreement() -> None:
    assert set(typing.get_args(TickedItem)) == set(TICKED)
    assert Settings().preparation_checklist == DEFAULT_CHECKLIST


def test_the_functions_read_the_checklist_their_environment_gives() -> None:
    assert Settings.from_environ({ENV_PREPARATION_CHECKLIST: "family_agreed,venue_agreed"}).preparation_checklist == (
        "family_agreed",
        "venue_agreed",
    )
    assert Settings.from_environ({ENV_PREPARATION_CHECKLIST: "none"}).preparation_checklist == ()
    assert Settings.from_environ({}).preparation_checklist == DEFAULT_CHECKLIST


def test_the_family_s_agreement_is_met_by_its_decision_and_the_rest_by_ticks() -> None:
    preparation = {"family_decision": {"go_ahead": False}, "checklist": {"network_identified": {}}}
    state = {e["item"]: e["done"] for e in checklist_state(DEFAULT_CHECKLIST, preparation)}
    assert state == {"family_agreed": False, "network_identified": True, "child_views_sought": False}
    assert checklist_state(DEFAULT_CHECKLIST, {"family_decision": {"go_ahead": True}})[0]["done"] is True
    assert checklist_state((), preparation) == []


def test_records_are_checked_before_anything_is_written() -> None:
    with pytest.raises(ValidationError, match="must be today or in the past"):
        Contact(method="call", contacted_on=today() + timedelta(days=1), note="Rang Jo")
    with pytest.raises(ValidationError):
        ChecklistUpdate.model_validate({"done": ["family_agreed"]})  # met by the decision, never ticked
    with pytest.raises(ValidationError, match="List each checklist item once"):
        ChecklistUpdate.model_validate({"done": ["venue_agreed", "venue_agreed"]})
    with pytest.raises(ValidationError, match="Name an advocate only when one is allocated"):
        ChildVoice(participation="attends", advocate_allocated=False, advocate_name="Pat")
    assert [child_number(v) for v in ("1", "12", "0", "13", "²", "01x", "")] == [1, 12, None, None, None, None, None]
