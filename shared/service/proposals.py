"""Proposals: a facilitator and three real choices of time for a referral waiting for its meeting.

Waiting for a meeting: accepted, or preparing for it. Made on ReferralAccepted (once per referral: a duplicate event
changes nothing), and made again for every referral waiting for a meeting when a facilitator is added or their
availability changes (`recompute_waiting`), and for one referral when its meeting is cancelled (`proposal_writes`, in
the cancellation's own transaction).

The facilitator: one of the referral's locality (the referrer's Locality Team) if any, else any; the one with the
fewest upcoming meetings, then by id. The slots: from the next working day up to the target (working days after
acceptance), within the facilitator's weekly availability (Europe/London), on the family's days and at their times
of day (when they said), not touching the facilitator's booked time; the earliest on three different days, or, where
the days run out, in different parts of a day (morning, afternoon, evening). Fewer than three is said (`reason`).

What it costs, whatever the number of facilitators: the facilitators (one Query of their partition) and every
scheduled meeting from now on (one Query of the by_facilitator index, which gives both each facilitator's load and
their booked time); recomputing every waiting referral adds one Query of the by_status index per waiting state
(`accepted`, `preparing`: the referral items, with the fingerprint of their current proposal) and one transaction per
referral whose proposal changed. No read per referral or per facilitator.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from shared.adapters import table
from shared.adapters.dynamodb import Cancelled, IndexSpan, ReferralReader, put, to_item, transact
from shared.config import Settings
from shared.domain import clock
from shared.domain.clock import LONDON
from shared.domain.meetings import MAX_MEETING, blocks
from shared.domain.referrals import ReferralStatus
from shared.domain.working_days import add_working_days, is_working_day

SLOTS = 3
STEP = timedelta(minutes=30)
TIMES_OF_DAY = {"morning": (time(8), time(12)), "afternoon": (time(12), time(17)), "evening": (time(17), time(21))}
DAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
KIND_FACILITATOR = "facilitator"
KIND_PROPOSALS = "proposals"
PROPOSAL_KEY = "proposal_key"  # on the referral item: the fingerprint of its current proposal
# the states in which a referral waits for its meeting to be booked: accepted, and preparing for it
WAITING = (ReferralStatus.ACCEPTED, ReferralStatus.PREPARING)
SYSTEM = "system:scheduling"


@dataclass(frozen=True)
class Proposal:
    facilitator_id: str | None
    slots: list[tuple[datetime, datetime]]
    reason: str | None  # why there are fewer than three slots
    target_date: date | None = None

    @property
    def key(self) -> str:
        """What a coordinator would see change: the facilitator, the slots and the shortfall."""
        shown = [self.facilitator_id, [(clock.iso(s), clock.iso(e)) for s, e in self.slots], self.reason]
        return hashlib.sha256(json.dumps(shown).encode()).hexdigest()[:16]


@dataclass(frozen=True)
class Capacity:
    """What every proposal is made from: the facilitators, their upcoming meetings and their booked blocks."""

    facilitators: list[dict[str, Any]]
    upcoming: Mapping[str, int]
    busy: Mapping[str, set[str]]


@dataclass(frozen=True)
class Recomputed:
    waiting: int  # referrals waiting for a meeting
    changed: int  # whose proposal changed, and was written
    no_facilitator: int  # of those changed, how many still have no facilitator


def choose_facilitator(
    facilitators: list[dict[str, Any]], locality: str | None, upcoming: Mapping[str, int]
) -> dict[str, Any] | None:
    if not facilitators:
        return None
    wanted = (locality or "").strip().casefold()
    local = [f for f in facilitators if wanted and wanted in _localities(f)]
    pool = local or facilitators
    return min(pool, key=lambda f: (upcoming.get(f["facilitator_id"], 0), f["facilitator_id"]))


def _localities(facilitator: dict[str, Any]) -> set[str]:
    """Where a facilitator works: the localities named on screen, or the one locality the API sets."""
    named = facilitator.get("localities") or [facilitator.get("locality") or ""]
    return {str(locality).strip().casefold() for locality in named}


def part_of_day(moment: datetime) -> str:
    """Morning, afternoon or evening in England (before noon, before five, after)."""
    start = moment.astimezone(LONDON).time()
    return "morning" if start < time(12) else "afternoon" if start < time(17) else "evening"


def _candidates(
    facilitator: dict[str, Any],
    preferences: dict[str, Any],
    busy: set[str],
    *,
    after: datetime,
    until: date,
    length: timedelta,
) -> list[tuple[datetime, datetime]]:
    """Every free slot of `length`, every 30 minutes, from the next working day after `after` to `until`."""
    days = set(preferences.get("days") or DAYS)
    times = [TIMES_OF_DAY[t] for t in preferences.get("times_of_day") or []] or [(time(0), time(23, 59))]
    windows: dict[str, list[tuple[time, time]]] = {}
    for window in facilitator.get("weekly", []):
        windows.setdefault(window["day"], []).append(
            (time.fromisoformat(window["start"]), time.fromisoformat(window["end"]))
        )
    found: set[tuple[datetime, datetime]] = set()
    day = add_working_days(after.astimezone(LONDON).date(), 1)
    while day <= until:
        name = DAYS[day.weekday()]
        if name in days and (is_working_day(day) or name in ("saturday", "sunday")):
            for start, end in windows.get(name, []):
                for family_start, family_end in times:
                    lo, hi = max(start, family_start), min(end, family_end)
                    moment = datetime.combine(day, lo, LONDON)
                    last = datetime.combine(day, hi, LONDON)
                    while moment + length <= last:
                        slot = (moment.astimezone(UTC), (moment + length).astimezone(UTC))
                        if not busy & set(blocks(*slot)):
                            found.add(slot)
                        moment += STEP
        day += timedelta(days=1)
    return sorted(found)


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
    """Real choices: the earliest free slot of each of the first `wanted` days that have one; where the days run
    out, the earliest in another part of a day already used (never overlapping a slot already chosen)."""
    candidates = _candidates(facilitator, preferences, busy, after=after, until=until, length=length)
    chosen: list[tuple[datetime, datetime]] = []
    days_used: set[date] = set()
    for slot in candidates:
        day = slot[0].astimezone(LONDON).date()
        if len(chosen) < wanted and day not in days_used:
            chosen.append(slot)
            days_used.add(day)
    parts_used = {(s.astimezone(LONDON).date(), part_of_day(s)) for s, _ in chosen}
    for slot in candidates:
        part = (slot[0].astimezone(LONDON).date(), part_of_day(slot[0]))
        overlaps = any(slot[0] < e and s < slot[1] for s, e in chosen)
        if len(chosen) < wanted and part not in parts_used and not overlaps:
            chosen.append(slot)
            parts_used.add(part)
    return sorted(chosen)


def capacity(reader: ReferralReader, settings: Settings, *, now: datetime, leaving: str | None = None) -> Capacity:
    """Two Queries: every facilitator, and every scheduled meeting still to end (the by_facilitator index's one
    partition, from the earliest start that can still hold time now). `leaving`: a meeting being cancelled in the
    same transaction, whose time counts as free."""
    facilitators = [
        f for f in reader.partition_of(table.FACILITATORS_PK) if f.get(table.KIND_ATTRIBUTE) == KIND_FACILITATOR
    ]
    span = IndexSpan(table.FACILITATOR_INDEX, table.SCHEDULED_MEETINGS, low=clock.iso(now - MAX_MEETING))
    meetings = [m for m in reader.query_index(span.request(settings.table_name)) if m.get("meeting_id") != leaving]
    upcoming: Counter[str] = Counter()
    busy: dict[str, set[str]] = {}
    for meeting in meetings:
        starts, ends = _moment(meeting["starts_at"]), _moment(meeting["ends_at"])
        if starts >= now:
            upcoming[meeting["facilitator_id"]] += 1
        busy.setdefault(meeting["facilitator_id"], set()).update(blocks(starts, ends))
    return Capacity(facilitators, upcoming, busy)


def _moment(value: Any) -> datetime:
    return datetime.fromisoformat(str(value).replace("Z", "+00:00"))


def accepted_at(referral: Mapping[str, Any]) -> datetime:
    """When the referral was accepted: the coordinator's decision, else on receipt (a lead practitioner's)."""
    decision = referral.get("decision") or {}
    return _moment(decision["at"] if decision.get("action") == "accept" else referral["received_at"])


def proposal_for(
    referral: Mapping[str, Any], capacity: Capacity, *, accepted: datetime, settings: Settings, now: datetime
) -> Proposal:
    submission = referral.get("submission") or {}
    chosen = choose_facilitator(
        capacity.facilitators, (submission.get("referrer") or {}).get("locality_team"), capacity.upcoming
    )
    until = add_working_days(accepted.astimezone(LONDON).date(), settings.meeting_target_working_days)
    if chosen is None:
        return Proposal(None, [], "no_facilitator", until)
    slots = free_slots(
        chosen,
        submission.get("meeting_preferences") or {},
        capacity.busy.get(chosen["facilitator_id"], set()),
        after=max(now, accepted),
        until=until,
        length=timedelta(minutes=settings.meeting_length_minutes),
    )
    return Proposal(chosen["facilitator_id"], slots, None if len(slots) == SLOTS else "few_slots_within_target", until)


def _items(
    reference: str, proposal: Proposal, *, event_id: str, because: str, at: str, order: int = 0
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The proposal's item and its audit entry (ids, times and counts: no one's details)."""
    pk = table.referral_pk(reference)
    item = {
        table.PARTITION_KEY: pk,
        table.SORT_KEY: "PROPOSALS",
        table.KIND_ATTRIBUTE: KIND_PROPOSALS,
        "reference": reference,
        "facilitator_id": proposal.facilitator_id,
        "slots": [{"starts_at": clock.iso(s), "ends_at": clock.iso(e)} for s, e in proposal.slots],
        "target_date": proposal.target_date.isoformat() if proposal.target_date else None,
        "reason": proposal.reason,
        "event_id": event_id,
        "proposed_at": at,
        PROPOSAL_KEY: proposal.key,
    }
    audit = {
        table.PARTITION_KEY: pk,
        table.SORT_KEY: f"AUDIT#{at}#{order}#{event_id}",
        table.KIND_ATTRIBUTE: table.KIND_AUDIT,
        "reference": reference,
        "at": at,
        "actor": SYSTEM,
        "action": "meeting.proposed",
        "changes": {
            "proposals": {"facilitator_id": proposal.facilitator_id, "slots": len(proposal.slots)},
            "because": because,
        },
    }
    return item, audit


def _mark_referral(reference: str, key: str, settings: Settings, *, waiting: bool) -> Any:
    """The referral notes its proposal's fingerprint (no version change: nothing the coordinator decided changed);
    `waiting`: only while it still waits for a meeting (a recompute that lost a race to a booking writes nothing)."""
    condition = f"attribute_exists({table.PARTITION_KEY})"
    values: dict[str, Any] = {":key": key}
    if waiting:
        condition += " AND #status IN (" + ", ".join(f":w{i}" for i in range(len(WAITING))) + ")"
        values |= {f":w{i}": status.value for i, status in enumerate(WAITING)}
    names = {"#key": PROPOSAL_KEY, **({"#status": "status"} if waiting else {})}
    return {
        "Update": {
            "TableName": settings.table_name,
            "Key": to_item({table.PARTITION_KEY: table.referral_pk(reference), table.SORT_KEY: "REFERRAL"}),
            "UpdateExpression": "SET #key = :key",
            "ConditionExpression": condition,
            "ExpressionAttributeNames": names,
            "ExpressionAttributeValues": to_item(values),
        }
    }


def propose(
    reference: str,
    *,
    event_id: str,
    accepted_at: datetime,
    reader: ReferralReader,
    settings: Settings,
    now: datetime,
) -> Proposal | None:
    """On ReferralAccepted: write the referral's proposal once; None when it already has one (a duplicate event,
    or a recompute got there first) or the referral is gone."""
    referral = reader.referral(reference)
    if referral is None:
        return None
    found = capacity(reader, settings, now=now)
    proposal = proposal_for(referral, found, accepted=accepted_at, settings=settings, now=now)
    item, audit = _items(reference, proposal, event_id=event_id, because="referral_accepted", at=clock.iso(now))
    absent = f"attribute_not_exists({table.PARTITION_KEY})"
    try:
        transact(
            [
                put(item, settings.table_name, absent),
                put(audit, settings.table_name, absent),
                _mark_referral(reference, proposal.key, settings, waiting=False),
            ],
            settings.table_name,
        )
    except Cancelled:
        return None  # proposed already: at-least-once delivery, exactly-once effect
    return proposal


def proposal_writes(
    referral: Mapping[str, Any],
    *,
    reader: ReferralReader,
    settings: Settings,
    now: datetime,
    leaving: str,
    because: str,
) -> tuple[Proposal, list[Any]]:
    """A referral's meeting is being cancelled (or did not take place): its new proposal (that meeting's time
    counted free) and the writes that go in that change's own transaction, after its own audit entry. The caller's
    referral update notes the proposal (`noting_proposal`)."""
    proposal = proposal_for(
        referral,
        capacity(reader, settings, now=now, leaving=leaving),
        accepted=accepted_at(referral),
        settings=settings,
        now=now,
    )
    item, audit = _items(
        str(referral["reference"]),
        proposal,
        event_id=uuid.uuid4().hex,
        because=because,
        at=clock.iso(now),
        order=1,  # after the change's own audit entry, at the same moment
    )
    return proposal, [put(item, settings.table_name), put(audit, settings.table_name)]


def noting_proposal(referral_update: Any, proposal: Proposal) -> Any:
    """A referral's versioned update (shared.service.changes.referral_update) that also notes its proposal's key."""
    update = referral_update["Update"]
    return {
        "Update": {
            **update,
            "UpdateExpression": update["UpdateExpression"] + ", #proposal_key = :proposal_key",
            "ExpressionAttributeNames": {**update["ExpressionAttributeNames"], "#proposal_key": PROPOSAL_KEY},
            "ExpressionAttributeValues": {
                **update["ExpressionAttributeValues"],
                **to_item({":proposal_key": proposal.key}),
            },
        }
    }


def waiting_referrals(reader: ReferralReader, settings: Settings) -> Iterable[dict[str, Any]]:
    """Every referral waiting for its meeting: one Query of the by_status index per waiting state, page by page."""
    for status in WAITING:
        span = IndexSpan(table.STATUS_INDEX, status.value)
        yield from (
            item
            for item in reader.query_index(span.request(settings.table_name))
            if item.get(table.KIND_ATTRIBUTE) == table.KIND_REFERRAL
        )


def recompute_waiting(*, reader: ReferralReader, settings: Settings, now: datetime, because: str) -> Recomputed:
    """A facilitator was added or their availability changed: every referral waiting for a meeting gets the proposal
    it would get now, written only where it changed (one transaction each: a referral booked meanwhile is left)."""
    found = capacity(reader, settings, now=now)
    waiting = changed = without = 0
    at = clock.iso(now)
    for referral in waiting_referrals(reader, settings):
        waiting += 1
        proposal = proposal_for(referral, found, accepted=accepted_at(referral), settings=settings, now=now)
        if referral.get(PROPOSAL_KEY) == proposal.key:
            continue
        reference = str(referral["reference"])
        item, audit = _items(reference, proposal, event_id=uuid.uuid4().hex, because=because, at=at)
        try:
            transact(
                [
                    _mark_referral(reference, proposal.key, settings, waiting=True),
                    put(item, settings.table_name),
                    put(audit, settings.table_name),
                ],
                settings.table_name,
            )
        except Cancelled:
            continue  # booked, withdrawn or erased since the Query: it no longer waits
        changed += 1
        without += proposal.facilitator_id is None
    return Recomputed(waiting, changed, without)
