"""On ReferralAccepted: allocate a facilitator and propose the three earliest slots that suit everyone.

The facilitator: one of the referral's locality (the referrer's Locality Team) if any, else any; the one with the
fewest upcoming meetings (a Query count on the by-facilitator index), then by id. The slots: starting from the
next working day, up to the target (working days after acceptance), within the facilitator's weekly availability
(Europe/London), on the family's days and at their times of day (when they said), not touching the facilitator's
booked time. The proposal is written once per referral (a duplicate event changes nothing) with an audit entry;
the coordinator books one of them, or any other slot.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from shared.adapters import table
from shared.adapters.dynamodb import Cancelled, ReferralReader, put, transact
from shared.config import Settings
from shared.domain.clock import LONDON
from shared.domain.meetings import blocks
from shared.domain.working_days import add_working_days, is_working_day
from shared.service.meetings import FACILITATORS_PK, KIND_FACILITATOR

SLOTS = 3
STEP = timedelta(minutes=30)
TIMES_OF_DAY = {"morning": (time(8), time(12)), "afternoon": (time(12), time(17)), "evening": (time(17), time(21))}
DAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


@dataclass(frozen=True)
class Proposal:
    facilitator_id: str | None
    slots: list[tuple[datetime, datetime]]
    reason: str | None  # why there are fewer than three slots


def choose_facilitator(
    facilitators: list[dict[str, Any]], locality: str | None, upcoming: Mapping[str, int]
) -> dict[str, Any] | None:
    if not facilitators:
        return None
    wanted = (locality or "").strip().casefold()
    local = [f for f in facilitators if wanted and f.get("locality", "").strip().casefold() == wanted]
    pool = local or facilitators
    return min(pool, key=lambda f: (upcoming.get(f["facilitator_id"], 0), f["facilitator_id"]))


def free_slots(
    facilitator: dict[str, Any],
    preferences: dict[str, Any],
    busy: set[str],
    *,
    after: datetime,
    until: date,
    length: timedelta,
    wanted: int = SLOTS,
) -> list[tuple[datetime, datetime]]:
    """The earliest `wanted` slots of `length` from the next working day after `after` to `until` (inclusive)."""
    days = set(preferences.get("days") or DAYS)
    times = [TIMES_OF_DAY[t] for t in preferences.get("times_of_day") or []] or [(time(0), time(23, 59))]
    windows: dict[str, list[tuple[time, time]]] = {}
    for window in facilitator.get("weekly", []):
        windows.setdefault(window["day"], []).append(
            (time.fromisoformat(window["start"]), time.fromisoformat(window["end"]))
        )
    found: list[tuple[datetime, datetime]] = []
    day = add_working_days(after.astimezone(LONDON).date(), 1)
    while day <= until and len(found) < wanted:
        name = DAYS[day.weekday()]
        if name in days and (is_working_day(day) or name in ("saturday", "sunday")):
            for start, end in sorted(windows.get(name, [])):
                for family_start, family_end in times:
                    lo, hi = max(start, family_start), min(end, family_end)
                    moment = datetime.combine(day, lo, LONDON)
                    last = datetime.combine(day, hi, LONDON)
                    while moment + length <= last and len(found) < wanted:
                        slot = (moment.astimezone(UTC), (moment + length).astimezone(UTC))
                        if not busy & set(blocks(*slot)) and slot not in found:
                            found.append(slot)
                        moment += STEP
        day += timedelta(days=1)
    return sorted(found)[:wanted]


def propose(
    reference: str,
    *,
    event_id: str,
    accepted_at: datetime,
    reader: ReferralReader,
    settings: Settings,
    now: datetime,
) -> Proposal | None:
    """Write the referral's proposal once; None when it already has one (a duplicate event) or is gone."""
    referral = reader.referral(reference)
    if referral is None:
        return None
    facilitators = [f for f in reader.partition_of(FACILITATORS_PK) if f.get(table.KIND_ATTRIBUTE) == KIND_FACILITATOR]
    upcoming = reader.upcoming_meetings(now)
    submission = referral.get("submission") or {}
    chosen = choose_facilitator(facilitators, (submission.get("referrer") or {}).get("locality_team"), upcoming)
    until = add_working_days(accepted_at.astimezone(LONDON).date(), settings.meeting_target_working_days)
    if chosen is None:
        proposal = Proposal(None, [], "no_facilitator")
    else:
        busy = reader.busy_blocks(chosen["facilitator_id"], after=now, until=until + timedelta(days=1))
        slots = free_slots(
            chosen,
            submission.get("meeting_preferences") or {},
            busy,
            after=max(now, accepted_at),
            until=until,
            length=timedelta(minutes=settings.meeting_length_minutes),
        )
        proposal = Proposal(chosen["facilitator_id"], slots, None if len(slots) == SLOTS else "few_slots_within_target")
    at = now.astimezone(UTC).isoformat().replace("+00:00", "Z")
    pk = table.referral_pk(reference)
    item = {
        table.PARTITION_KEY: pk,
        table.SORT_KEY: "PROPOSALS",
        table.KIND_ATTRIBUTE: "proposals",
        "reference": reference,
        "facilitator_id": proposal.facilitator_id,
        "slots": [
            {"starts_at": s.isoformat().replace("+00:00", "Z"), "ends_at": e.isoformat().replace("+00:00", "Z")}
            for s, e in proposal.slots
        ],
        "target_date": until.isoformat(),
        "reason": proposal.reason,
        "event_id": event_id,
        "proposed_at": at,
    }
    audit = {
        table.PARTITION_KEY: pk,
        table.SORT_KEY: f"AUDIT#{at}#0#{event_id}",
        table.KIND_ATTRIBUTE: table.KIND_AUDIT,
        "reference": reference,
        "at": at,
        "actor": "system:scheduling",
        "action": "meeting.proposed",
        "changes": {"proposals": {"facilitator_id": proposal.facilitator_id, "slots": len(proposal.slots)}},
    }
    absent = f"attribute_not_exists({table.PARTITION_KEY})"
    try:
        transact([put(item, settings.table_name, absent), put(audit, settings.table_name, absent)], settings.table_name)
    except Cancelled:
        return None  # proposed already: at-least-once delivery, exactly-once effect
    return proposal
