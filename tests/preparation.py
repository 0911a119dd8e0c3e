"""The preparation a coordinator does before booking, through the service (never by writing items): the family agrees
to go ahead and every ticked item of the checklist is done. Tests that book a meeting use it; the rule stays whole."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import requests

from shared.adapters.dynamodb import ReferralReader
from shared.config import Settings, get_settings
from shared.domain.actors import Actor
from shared.domain.clock import LONDON
from shared.domain.preparation import DEFAULT_CHECKLIST, FROM_DECISION, ChecklistUpdate, FamilyDecision
from shared.domain.referrals import ReferralStatus, today
from shared.service import preparation

COORDINATOR = Actor(subject="coordinator-preparing")
WAITING = (ReferralStatus.ACCEPTED.value, ReferralStatus.PREPARING.value)


def prepare_for_meeting(reference: str, *, settings: Settings | None = None, decided_on: date | None = None) -> bool:
    """Meet the referral's checklist (the family agreed today, every other item ticked); False when it is not waiting
    for a meeting (received, booked, closed) or has no checklist left to meet."""
    settings = settings or get_settings()
    reader = ReferralReader(settings.table_name)
    referral = reader.referral(reference)
    if referral is None or referral["status"] not in WAITING:
        return False
    if not preparation.missing(settings.preparation_checklist, reader.partition(reference)):
        return False
    common: dict[str, Any] = {"actor": COORDINATOR, "expected_version": None, "settings": settings}
    preparation.record_family_decision(
        reference,
        FamilyDecision(go_ahead=True, decided_on=decided_on or today()),
        reader=reader,
        correlation_id="test-preparation",
        **common,
    )
    ticked = [item for item in settings.preparation_checklist if item != FROM_DECISION]
    preparation.update_checklist(
        reference,
        ChecklistUpdate.model_validate({"done": ticked}),
        reader=reader,
        correlation_id="test-preparation",
        **common,
    )
    return True


def prepare_through_api(url: str, token: str, reference: str) -> None:
    """The same through the running system's API (the service behind it), as the browser tests' coordinator: the
    family agreed on the system's today (its clock may have moved), every ticked item of the default checklist done."""
    headers = {"Authorization": f"Bearer {token}"}
    now = datetime.fromisoformat(requests.get(f"{url}/_local/clock", timeout=30).json()["now"])
    decided_on = now.astimezone(LONDON).date().isoformat()
    steps: tuple[tuple[str, dict[str, Any]], ...] = (
        ("decision", {"go_ahead": True, "decided_on": decided_on}),
        ("checklist", {"done": [item for item in DEFAULT_CHECKLIST if item != FROM_DECISION]}),
    )
    for path, body in steps:
        answer = requests.put(f"{url}/referrals/{reference}/preparation/{path}", json=body, headers=headers, timeout=30)
        assert answer.ok, answer.text
