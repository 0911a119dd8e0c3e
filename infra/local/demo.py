"""A populated system for a newcomer (`make run DEMO=1`), and the whole life of a referral for bench/cost.py.

Everything is made as people and the service would make it, through the running system's addresses: facilitators
and partners through the staff API (a local coordinator's token), referrals through the public `POST /referrals`,
decisions, bookings, outcomes and reviews through the staff API, a partner's answer through its emailed link, and
time through the local clock (`POST /_local/clock`), which fires the reviews' schedules and the daily checks. No
item is written by hand: every record, event and email comes from the functions.
"""

from __future__ import annotations

import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import requests

LONDON = ZoneInfo("Europe/London")
EVERY_DAY = [
    {"day": day, "start": "08:00", "end": "20:00"}
    for day in ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
]
LOCALITIES = ("North", "South", "East")
MEETINGS_A_DAY = 5  # two-hour meetings a facilitator holds in a day, from 08:00
# First names and reasons for the demo's families: invented, as any example data here must be.
NAMES = ("Alfie", "Maya", "Leo", "Ivy", "Noah", "Isla", "Theo", "Ava", "Oscar", "Freya", "Arlo", "Rosie")
REASONS = (
    "Mum is recovering from surgery and needs help with school runs.",
    "Dad works nights and the children need someone at home after school.",
    "Grandparents want to help more but the family needs a plan everyone agrees to.",
    "The family has moved to the area and has no support network nearby.",
)


class DemoError(RuntimeError):
    """The system answered a step of the walk in a way it should not have."""


@dataclass
class System:
    """A running system's addresses, used as a referrer's browser and a coordinator's tools would use them."""

    url: str
    timeout: float = 60.0
    session: requests.Session = field(default_factory=requests.Session)
    _tokens: dict[str, str] = field(default_factory=dict)

    def _token(self, role: str) -> str:
        if role not in self._tokens:
            self._tokens[role] = self.local("GET", "/_local/token", params={"role": role})["token"]
        return self._tokens[role]

    def local(self, method: str, path: str, **kwargs: Any) -> Any:
        answer = self.session.request(method, self.url + path, timeout=kwargs.pop("timeout", self.timeout), **kwargs)
        if not answer.ok:
            raise DemoError(f"{method} {path}: {answer.status_code} {answer.text[:300]}")
        return answer.json()

    def staff(self, method: str, path: str, body: Any = None, *, role: str = "coordinator", **headers: str) -> Any:
        answer = self.session.request(
            method,
            self.url + path,
            json=body,
            headers={"Authorization": f"Bearer {self._token(role)}", **headers},
            timeout=self.timeout,
        )
        if not answer.ok:
            raise DemoError(f"{method} {path}: {answer.status_code} {answer.text[:300]}")
        return answer.json() if answer.content else {}

    def version(self, reference: str) -> str:
        answer = self.session.get(
            f"{self.url}/referrals/{reference}",
            headers={"Authorization": f"Bearer {self._token('coordinator')}"},
            timeout=self.timeout,
        )
        return str(answer.headers["ETag"])

    def referral(self, reference: str) -> dict[str, Any]:
        return dict(self.staff("GET", f"/referrals/{reference}"))

    def now(self) -> datetime:
        return datetime.fromisoformat(self.local("GET", "/_local/clock")["now"])

    def advance(self, days: float) -> None:
        """Move the local clock on; it answers once what fell due has fired and settled."""
        self.local("POST", "/_local/clock", json={"advance_days": days}, timeout=600)

    def outbox_after(self, sequence: int) -> list[dict[str, Any]]:
        return list(self.local("GET", "/_local/outbox", params={"after": sequence}))

    def wait(self, what: str, condition: Callable[[], Any], timeout: float = 120.0) -> Any:
        deadline = time.monotonic() + timeout
        while True:
            value = condition()
            if value:
                return value
            if time.monotonic() > deadline:
                raise DemoError(f"waited {timeout:.0f} s for {what}")
            time.sleep(0.2)


# --- the steps of a referral's life -----------------------------------------------------------------------------------
def add_facilitators(system: System, count: int, tag: str) -> list[str]:
    made = []
    for n in range(count):
        facilitator = f"fac-{tag}-{n + 1}"
        locality = LOCALITIES[n % len(LOCALITIES)]
        system.staff(
            "PUT",
            f"/facilitators/{facilitator}/availability",
            {"locality": locality, "email": f"{facilitator}@council.example.org", "weekly": EVERY_DAY},
        )
        made.append(facilitator)
    return made


def add_partners(system: System, count: int, tag: str) -> list[dict[str, str]]:
    kinds = (("family_hub", "activities"), ("charity", "items"), ("faith_or_community_group", "practical_support"))
    made = []
    for n in range(count):
        kind, offer = kinds[n % len(kinds)]
        email = f"hello-{tag}-{n + 1}@partner{n + 1}.example.org"
        partner = {
            "name": f"{LOCALITIES[n % len(LOCALITIES)]} {kind.replace('_', ' ')} {n + 1}",
            "kind": kind,
            "offers": [offer],
            "localities": list(LOCALITIES),
            "email": email,
        }
        made.append({"id": system.staff("POST", "/partners", partner)["partner_id"], "email": email})
    return made


def refer(system: System, n: int, *, route: str = "lead_practitioner") -> str:
    """A referral through the public form's API: a lead practitioner of a Locality Team (accepted at intake) or a
    professional's request (waiting for a coordinator)."""
    locality = LOCALITIES[n % len(LOCALITIES)]
    referrer = (
        {"name": "Sam Okafor", "role": "Social worker", "organisation": f"{locality} Locality Team"}
        if route == "lead_practitioner"
        else {"name": "Pat Lee", "role": "Deputy head", "organisation": "Hillside Primary School"}
    )
    body: dict[str, Any] = {
        "route": route,
        "referrer": {**referrer, "email": f"referrer{n % 7}@council.example.org", "locality_team": locality},
        "family": {
            "contact_name": "Jo Bloggs",
            "postcode": "SW1A 1AA",
            "children": [{"first_name": NAMES[n % len(NAMES)], "date_of_birth": "2018-05-14"}],
        },
        "consent": {"given": True, "given_on": "2026-11-20", "obtained_by": referrer["name"]},
        "reason": f"{REASONS[n % len(REASONS)]} (referral {n})",
    }
    answer = system.session.post(
        system.url + "/referrals", json=body, headers={"Idempotency-Key": str(uuid.uuid4())}, timeout=system.timeout
    )
    if answer.status_code != 201:
        raise DemoError(f"POST /referrals: {answer.status_code} {answer.text[:300]}")
    return str(answer.json()["reference"])


def proposed(system: System, reference: str) -> dict[str, Any]:
    """The referral once the scheduling function has proposed its slots (after its acceptance)."""
    return dict(
        system.wait(
            f"proposals for {reference}",
            lambda: (view := system.referral(reference)).get("proposals") and view,
        )
    )


def decide(system: System, reference: str, action: str, reason: str | None = None) -> None:
    system.staff("POST", f"/referrals/{reference}/{action}", {"reason": reason} if reason else {})


def prepare(system: System, reference: str) -> bool:
    """The preparation before a booking, where the system has one (issue 20: `preparing`, a checklist to meet): the
    family agreed today and the default checklist's other items done. False where there is none to do."""
    decided_on = system.now().astimezone(LONDON).date().isoformat()
    steps: tuple[tuple[str, dict[str, Any]], ...] = (
        ("decision", {"go_ahead": True, "decided_on": decided_on}),
        ("checklist", {"done": ["network_identified", "child_views_sought"]}),
    )
    for path, body in steps:
        answer = system.session.put(
            f"{system.url}/referrals/{reference}/preparation/{path}",
            json=body,
            headers={"Authorization": f"Bearer {system._token('coordinator')}"},
            timeout=system.timeout,
        )
        if answer.status_code == 404 and path == "decision":
            return False  # no preparation stage in this system
        if not answer.ok:
            raise DemoError(f"preparation {path} of {reference}: {answer.status_code} {answer.text[:300]}")
    return True


def start_preparing(system: System, reference: str, *, go_ahead: bool = True) -> bool:
    """The family's decision recorded (issue 20): agreed, the checklist left to do (`preparing`), or declined (the
    referral closes). False where the system has no preparation stage."""
    decided_on = system.now().astimezone(LONDON).date().isoformat()
    answer = system.session.put(
        f"{system.url}/referrals/{reference}/preparation/decision",
        json={"go_ahead": go_ahead, "decided_on": decided_on},
        headers={"Authorization": f"Bearer {system._token('coordinator')}"},
        timeout=system.timeout,
    )
    if answer.status_code == 404:
        return False
    if not answer.ok:
        raise DemoError(f"preparation decision of {reference}: {answer.status_code} {answer.text[:300]}")
    return True


def book(system: System, reference: str, facilitator: str, starts_at: datetime) -> None:
    meeting = {
        "starts_at": starts_at.isoformat(),
        "ends_at": (starts_at + timedelta(hours=2)).isoformat(),
        "venue": {"type": "family_hub", "details": "Room 2"},
        "facilitator_id": facilitator,
    }
    system.staff("PUT", f"/referrals/{reference}/meeting", meeting, **{"If-Match": system.version(reference)})


def slot(start: date, index: int, facilitators: list[str]) -> tuple[str, datetime]:
    """The index-th meeting of a run: facilitators in turn, five two-hour meetings a day each, from `start`."""
    facilitator = facilitators[index % len(facilitators)]
    turn = index // len(facilitators)
    day = start + timedelta(days=turn // MEETINGS_A_DAY)
    hour = 8 + 2 * (turn % MEETINGS_A_DAY)
    return facilitator, datetime(day.year, day.month, day.day, hour, tzinfo=LONDON)


def hold(system: System, reference: str, held_on: date, *, partner: str | None, review_in_days: int | None) -> None:
    """The meeting's outcome: held, with a plan (a network action with the partner, one support item under the
    approval limit, the first review) or without one."""
    outcome: dict[str, Any] = {"held": True, "held_on": held_on.isoformat()}
    if review_in_days is not None:
        actions: list[dict[str, Any]] = [{"who": "Grandmother", "what": "School pick-ups", "how_often": "Weekly"}]
        if partner:
            actions.append({"who": "A community partner", "what": "Stay and play sessions", "partner_id": partner})
        outcome["plan"] = {
            "network_actions": actions,
            "support_package": [{"category": "equipment", "description": "Bunk beds", "estimated_cost_pence": 18000}],
            "first_review_due_on": (held_on + timedelta(days=review_in_days)).isoformat(),
            "partner_consent": [{"partner_id": partner, "share_contact_name": True}] if partner else [],
        }
    system.staff("POST", f"/referrals/{reference}/meeting/outcome", outcome)


def follow_link(
    system: System, reference: str, kind: str, form: dict[str, str], *, since: int, to: str | None = None
) -> None:
    """Someone opens the signed link (`/<kind>/<token>`) an email about the referral sent them, and answers."""

    def emailed() -> str | None:
        for message in system.outbox_after(since):
            if (to is None or message["to"] == [to]) and reference in message["subject"]:
                link = next((str(word) for word in message["text"].split() if f"/{kind}/" in word), None)
                if link:
                    return link
        return None

    link = system.wait(f"the {kind} email for {reference}", emailed)
    path = f"/{kind}/" + link.rsplit(f"/{kind}/", 1)[1]
    page = system.session.get(system.url + path, timeout=system.timeout)
    answer = system.session.post(system.url + path, data=form, headers={"Origin": system.url}, timeout=system.timeout)
    if page.status_code != 200 or answer.status_code != 200:
        raise DemoError(f"the {kind} link for {reference}: {page.status_code}, {answer.status_code}")


def answer_connection(system: System, reference: str, partner_email: str, since: int) -> None:
    """The partner opens the link in its email and says it has made contact."""
    follow_link(system, reference, "connections", {"answer": "contacted"}, since=since, to=partner_email)


def agree(system: System, reference: str, since: int) -> bool:
    """The plan agreed by the lead practitioner through their link, where the system asks for it (issue 21:
    `awaiting_agreement` after a held meeting). False where the plan needs no agreement."""
    if system.referral(reference)["status"] != "awaiting_agreement":
        return False
    follow_link(system, reference, "agreements", {"decision": "agree"}, since=since)
    return True


def review(system: System, reference: str, outcome: str, next_due: date | None = None) -> None:
    body: dict[str, Any] = {"outcome": outcome}
    if next_due is not None:
        body["next_review_due_on"] = next_due.isoformat()
    system.staff("POST", f"/referrals/{reference}/reviews", body)


def sequence(system: System) -> int:
    """The outbox's last email now (links are looked for in what is sent after it)."""
    newest = system.local("GET", "/_local/outbox")
    return max((int(m.get("sequence", 0)) for m in newest[:1]), default=0)


# --- the demo ------------------------------------------------------------------------------------------------------
def populate(url: str, say: Callable[[str], None] = print) -> Counter[str]:
    """Facilitators, partners and a few dozen referrals in every state the system has, with reviews due and plans
    waiting for agreement where it asks for one; returns how many referrals are in each state."""
    system = System(url)
    tag = "demo"
    facilitators = add_facilitators(system, 3, tag)
    partners = add_partners(system, 3, tag)
    start = system.now().astimezone(LONDON).date() + timedelta(days=1)

    # 1. Fourteen referrals whose meetings are held: booked for the next days, then the clock moves past them.
    held = [refer(system, n) for n in range(14)]
    for index, reference in enumerate(held):
        proposed(system, reference)
        prepare(system, reference)
        book(system, reference, *slot(start, index, facilitators))
    system.advance(4)
    mark = sequence(system)
    for index, reference in enumerate(held):
        _, starts = slot(start, index, facilitators)
        if index < 2:  # held, no plan agreed at the meeting
            hold(system, reference, starts.date(), partner=None, review_in_days=None)
            continue
        partner = partners[index % len(partners)]
        # first reviews: four within the week (due, reminded below), the rest in six weeks
        hold(system, reference, starts.date(), partner=partner["id"], review_in_days=9 if index < 6 else 42)
        if index >= 12:
            continue  # left waiting for the lead practitioner's agreement, where the system asks for it
        agree(system, reference, mark)
        if index % 2 == 0:
            answer_connection(system, reference, partner["email"], mark)
    for reference in held[9:12]:  # three plans closed at their first review
        review(system, reference, "close")
    system.advance(3)  # the four reviews fall due: their reminders are sent

    # 2. Referrals of this week, in the states before a meeting.
    base = 100
    waiting = [refer(system, base + n, route="professional_request") for n in range(10)]
    for reference in waiting[:3]:
        decide(system, reference, "decline", "The family is already supported by a Family Group Conference.")
    for reference in waiting[3:5]:
        decide(system, reference, "withdraw", "The family asked for the referral to be withdrawn.")
    for reference in waiting[5:7]:
        decide(system, reference, "accept")
    accepted = [refer(system, base + 20 + n) for n in range(10)]
    booked_from = system.now().astimezone(LONDON).date() + timedelta(days=7)
    for index, reference in enumerate(accepted[:5]):
        proposed(system, reference)
        prepare(system, reference)
        book(system, reference, *slot(booked_from, index, facilitators))
    for reference in accepted[5:7]:  # withdrawn after acceptance
        decide(system, reference, "withdraw", "The family moved out of the area.")
    for reference in accepted[7:9]:  # preparing: the family has agreed, the checklist is not yet met
        start_preparing(system, reference)
    start_preparing(system, accepted[9], go_ahead=False)  # the family said no: the referral closes

    states: Counter[str] = Counter()
    for reference in [*held, *waiting, *accepted]:
        states[system.referral(reference)["status"]] += 1
    say(
        f"demo: {sum(states.values())} referrals ("
        + ", ".join(f"{state} {count}" for state, count in sorted(states.items()))
        + f"), {len(facilitators)} facilitators, {len(partners)} partners; the local clock is at "
        + system.now().astimezone(LONDON).strftime("%d %B %Y")
        + f"; see {url}/staff and {url}/_local/outbox.html"
    )
    return states


# --- whole lives, for the cost bench -------------------------------------------------------------------------------
def setup_for_lifecycles(url: str, tag: str) -> tuple[list[str], list[dict[str, str]]]:
    system = System(url)
    return add_facilitators(system, 3, tag), add_partners(system, 1, tag)


def lifecycles(
    url: str, count: int, facilitators: list[str], partner: dict[str, str], say: Callable[[str], None] = print
) -> list[str]:
    """`count` referrals from intake to a closed plan: accepted at intake, proposed, booked, held with a plan that
    connects the family with a partner (which answers through its link), the first review reminded when due, then
    recorded as closing the plan. Steps are taken for all the referrals at once, so the clock moves only twice."""
    system = System(url)
    start = system.now().astimezone(LONDON).date() + timedelta(days=1)
    references = [refer(system, n) for n in range(count)]
    for index, reference in enumerate(references):
        proposed(system, reference)
        prepare(system, reference)
        book(system, reference, *slot(start, index, facilitators))
    last = slot(start, count - 1, facilitators)[1].date()
    system.advance((last - start).days + 2)
    say(f"lifecycles: {count} booked, the clock past their meetings")
    mark = sequence(system)
    for index, reference in enumerate(references):
        held_on = slot(start, index, facilitators)[1].date()
        hold(system, reference, held_on, partner=partner["id"], review_in_days=2 + (last - held_on).days)
        agree(system, reference, mark)
        answer_connection(system, reference, partner["email"], mark)
    system.advance(3)  # every first review falls due: its reminder is sent
    say(f"lifecycles: {count} held with a plan, each partner answered, the reviews due")
    for reference in references:
        review(system, reference, "close")
    system.wait(
        "every plan closed",
        lambda: all(system.referral(r)["status"] == "closed" for r in references),
    )
    return references
