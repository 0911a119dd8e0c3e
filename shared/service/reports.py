"""The managers' figures: aggregate items a consumer keeps up to date from the events, and a period's report read
from them with a Query or two a month (never a scan of referrals).

Each event adds to the figures of the month (in England) it belongs to: a referral to the month it was received, a
decision to the month it was made, a meeting (and whether it made a plan) to the month it was held, a plan's
agreement by the lead practitioner or referrer (PlanAgreed, with its support package as agreed) to the month it was
agreed, a review to the month it was recorded, the referrer's feedback to the month it was sent, a package item's
actual cost (spend) to the month it was delivered, a family's evaluation of its meeting to the month it was received
(its closed answers, read from the referral's partition: never its free text). A plan made at a meeting is not yet
agreed (it waits for PlanAgreed, or goes back for changes): "plans made" and "plans agreed" are two figures.
An item per figure (`pk=REPORT#2026-11`, `sk=FIGURE#<name>`, `value`), added to with ADD in one transaction with a
marker for the event's id (a duplicate event changes nothing) and the event's entry in the reports' log
(`REPORT_LOG#<month>`: the event's data less its reference, and the facts read with it, kept LOG_DAYS), from which
`python -m infra.rebuild_reports` recomputes a period (shared/service/report_rebuild.py). Figures hold counts and
sums only, never a name.

Times from referral to meeting (counted in the month of the meeting) and from meeting to the referrer's feedback
(counted in the month the feedback was sent: FeedbackSent) are kept as histograms (one item per number of working
days), so that a period's median and 90th percentile come from counts alone.
"""

from __future__ import annotations

import csv
import io
import json
import re
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from shared.adapters import table
from shared.adapters.dynamodb import Cancelled, Contention, ReferralReader, add, condition_check, put, transact
from shared.config import Settings
from shared.domain import clock
from shared.domain.clock import LONDON
from shared.domain.evaluations import CHOICES
from shared.domain.events import (
    EVENT_TYPES,
    ConnectionAnswered,
    ConnectionRequested,
    EvaluationReceived,
    EventData,
    FeedbackSent,
    MeetingHeld,
    PackageItemDelivered,
    PlanAgreed,
    ReferralAccepted,
    ReferralDeclined,
    ReferralReceived,
    ReferralWithdrawn,
    ReviewCompleted,
)
from shared.domain.working_days import working_days_between

HANDLED = (
    ReferralReceived,
    ReferralAccepted,
    ReferralDeclined,
    ReferralWithdrawn,
    MeetingHeld,
    PlanAgreed,
    ReviewCompleted,
    ConnectionRequested,
    ConnectionAnswered,
    PackageItemDelivered,
    FeedbackSent,
    EvaluationReceived,
)
KIND_FIGURE = "report_figure"
KIND_COUNTED = "report_counted"
KIND_LOGGED = "report_logged_event"
KIND_POINTER = "report_generation"
POINTER = "GENERATION"
MARKER_DAYS = 35  # longer than any redelivery or replay of an event (EventBridge retries for 24 h)
LOG_DAYS = 400  # the reports' log: any month or quarter of the last year can be rebuilt
POINTER_TRIES = 5
STAND_IN_REFERENCE = "FN-22222222"  # a logged event's reference: the log keeps none, and the figures never read it
DAYS = "days_to_meeting#"
FEEDBACK_DAYS = "days_to_feedback#"
UNKNOWN = "not known"
EVALUATION_LABELS = {
    "family_led": "The family led the meeting",
    "felt_heard": "Felt listened to",
    "recommend": "Would recommend it",
}
PERIOD = re.compile(r"^(?P<year>20[0-9]{2})-(?:(?P<month>0[1-9]|1[0-2])|Q(?P<quarter>[1-4]))$")


def month_of(day: date) -> str:
    return f"{day:%Y-%m}"


def _day(moment: datetime) -> date:
    return moment.astimezone(LONDON).date()


def district(postcode: Any) -> str:
    """The postcode district (outward code: "LS6"), a place of a few thousand homes, for "by locality"."""
    if not isinstance(postcode, str) or " " not in postcode:
        return UNKNOWN
    return postcode.split(" ", 1)[0]


def facts_of(data: EventData, items: list[dict[str, Any]]) -> dict[str, Any]:
    """What the figures need that the event does not carry, read from the referral's partition when it is counted
    (and kept with it in the reports' log, so that a rebuild counts the same facts): where the family lives (the
    postcode district only), when the referral came, the package of the plan agreed (categories and amounts of the
    items not declined)."""
    kinds = {item.get(table.KIND_ATTRIBUTE): item for item in items}
    referral = kinds.get(table.KIND_REFERRAL) or {}
    if isinstance(data, ReferralReceived):
        submission = referral.get("submission") if isinstance(referral.get("submission"), dict) else {}
        return {"locality": district(((submission or {}).get("family") or {}).get("postcode"))}
    if isinstance(data, MeetingHeld):
        received = referral.get("received_at")
        received_on = _day(datetime.fromisoformat(str(received).replace("Z", "+00:00"))) if received else None
        return {"received_on": received_on.isoformat() if received_on else None}
    if isinstance(data, PlanAgreed):
        package = (kinds.get("plan") or {}).get("support_package") or []
        return {
            "package": [
                [str(item.get("category", UNKNOWN)), int(item.get("estimated_cost_pence") or 0)]
                for item in package
                if item.get("status") != "declined"
            ],
        }
    if isinstance(data, EvaluationReceived):  # the closed answers only: the family's own words are never counted
        evaluation = next(
            (
                item
                for item in items
                if item.get(table.KIND_ATTRIBUTE) == "evaluation" and item.get("evaluation_id") == data.evaluation_id
            ),
            {},
        )
        return {q: str(evaluation[q]) for q in CHOICES if str(evaluation.get(q)) in CHOICES[q]}
    return {}


def figures_of(data: EventData, facts: dict[str, Any]) -> dict[str, dict[str, int]]:
    """What the event adds, by month and figure; `facts` as facts_of gives them."""
    added: dict[str, dict[str, int]] = {}

    def count(day: date, name: str, amount: int = 1) -> None:
        month = added.setdefault(month_of(day), {})
        month[name] = month.get(name, 0) + amount

    if isinstance(data, ReferralReceived):
        day = _day(data.received_at)
        count(day, "referrals")
        count(day, f"route#{data.route}")
        count(day, f"locality#{facts.get('locality') or UNKNOWN}")
    elif isinstance(data, ReferralAccepted):
        count(_day(data.accepted_at), "accepted")
    elif isinstance(data, ReferralDeclined):
        count(_day(data.declined_at), "declined")
    elif isinstance(data, ReferralWithdrawn):
        count(_day(data.withdrawn_at), "withdrawn")
    elif isinstance(data, MeetingHeld):
        count(data.held_on, "meetings_held")
        if facts.get("received_on"):
            start = date.fromisoformat(str(facts["received_on"]))
            count(data.held_on, DAYS + str(max(working_days_between(start, data.held_on), 0)))
        if data.plan_agreed:  # the meeting made a plan: it waits for the lead practitioner's agreement
            count(data.held_on, "plans_made")
    elif isinstance(data, PlanAgreed):  # agreed (through their link or recorded for them): the package it holds
        agreed = _day(data.agreed_at)
        count(agreed, "plans_agreed")
        for category, pence in facts.get("package") or []:
            count(agreed, f"package_items#{category}")
            count(agreed, f"package_pence#{category}", int(pence))
    elif isinstance(data, ReviewCompleted):
        count(data.completed_on, "reviews_on_time" if data.completed_on <= data.due_on else "reviews_late")
    elif isinstance(data, ConnectionRequested):
        count(data.requested_on, "connections_requested")
    elif isinstance(data, ConnectionAnswered):
        count(_day(data.answered_at), f"connections_{data.answer}")
    elif isinstance(data, FeedbackSent):  # the referrer heard what was agreed: working days after the meeting
        sent = _day(data.sent_at)
        count(sent, FEEDBACK_DAYS + str(max(working_days_between(data.held_on, sent), 0)))
    elif isinstance(data, EvaluationReceived):  # the family's view of its meeting: counts of the closed answers
        received = _day(data.received_at)
        count(received, "evaluations")
        for question, answer in sorted(facts.items()):
            if question in CHOICES and answer in CHOICES[question]:
                count(received, f"evaluation_{question}#{answer}")
    elif isinstance(data, PackageItemDelivered):  # spend: what delivered items actually cost, when delivered
        count(data.delivered_on, f"delivered_items#{data.category}")
        count(data.delivered_on, f"spend_pence#{data.category}", data.actual_cost_pence)
    return added


# --- where the figures are --------------------------------------------------------------------------------------
# A month's figures are a *generation*: "" (the first, at `REPORT#<month>`) or a rebuild's (`REPORT#<month>#<id>`).
# The month's pointer (`REPORT#<month>`, `GENERATION`) names the current one and, while a rebuild runs, the pending
# one: the consumer then adds each event to both, so the rebuilt set misses nothing counted meanwhile.


def figures_pk(month: str, generation: str) -> str:
    return f"REPORT#{month}" + (f"#{generation}" if generation else "")


def pointer_key(month: str) -> dict[str, str]:
    return {table.PARTITION_KEY: f"REPORT#{month}", table.SORT_KEY: POINTER}


def log_pk(month: str) -> str:
    return f"REPORT_LOG#{month}"


def marker_key(event_id: str, generation: str) -> dict[str, str]:
    return {
        table.PARTITION_KEY: f"REPORTED#{event_id}",
        table.SORT_KEY: "EVENT" + (f"#{generation}" if generation else ""),
    }


def generations(pointer: dict[str, Any] | None) -> list[str]:
    """The generations an event is added to: the current one, and a rebuild's while it runs."""
    current = str((pointer or {}).get("current") or "")
    pending = (pointer or {}).get("pending")
    return [current, *([str(pending)] if pending else [])]


def marker(event_id: str, generation: str, settings: Settings, now: datetime) -> Any:
    """The event's mark in a generation: a second put fails, so an event is added to each generation once."""
    item = {
        **marker_key(event_id, generation),
        table.KIND_ATTRIBUTE: KIND_COUNTED,
        table.TTL_ATTRIBUTE: int((now + timedelta(days=MARKER_DAYS)).timestamp()),
    }
    return put(item, settings.table_name, "attribute_not_exists(#pk)", names={"#pk": table.PARTITION_KEY})


def additions(month: str, generation: str, figures: dict[str, int], settings: Settings) -> list[Any]:
    return [
        add(
            {table.PARTITION_KEY: figures_pk(month, generation), table.SORT_KEY: f"FIGURE#{name}"},
            settings.table_name,
            "value",
            amount,
        )
        for name, amount in sorted(figures.items())
    ]


def log_item(month: str, event_id: str, data: EventData, facts: dict[str, Any], now: datetime) -> dict[str, Any]:
    """The event as the figures counted it, for a rebuild: its data less the reference (the log names no case),
    and the facts read with it."""
    return {
        table.PARTITION_KEY: log_pk(month),
        table.SORT_KEY: f"EVENT#{event_id}",
        table.KIND_ATTRIBUTE: KIND_LOGGED,
        "event_id": event_id,
        "detail_type": data.detail_type,
        "data": data.model_dump_json(exclude={"reference"}),
        "facts": facts,
        "counted_at": clock.iso(now),
        table.TTL_ATTRIBUTE: int((now + timedelta(days=LOG_DAYS)).timestamp()),
    }


def logged_event(item: dict[str, Any]) -> EventData:
    """A log item's event again (with a stand-in reference: figures never read it)."""
    model = EVENT_TYPES[str(item["detail_type"])]
    return model.model_validate({**json.loads(str(item["data"])), "reference": STAND_IN_REFERENCE})


def _pointer_write(
    month: str, pointer: dict[str, Any] | None, reader: ReferralReader, settings: Settings, now: datetime
) -> Any:
    """The transaction's hold on the month's pointer: it commits only if no rebuild began or ended since it was
    read. A month's first event writes it, saying whether every figure of the month is in the log (a month counted
    before the log began is not, and cannot be rebuilt)."""
    if pointer is None:
        counted_before = any(
            str(i[table.SORT_KEY]).startswith("FIGURE#") for i in reader.partition_of(figures_pk(month, ""))
        )
        item = {
            **pointer_key(month),
            table.KIND_ATTRIBUTE: KIND_POINTER,
            "current": "",
            "logged": not counted_before,
            "created_at": clock.iso(now),
        }
        return put(item, settings.table_name, "attribute_not_exists(#pk)", names={"#pk": table.PARTITION_KEY})
    names = {"#current": "current", "#pending": "pending"}
    if pointer.get("pending"):
        return condition_check(
            pointer_key(month),
            settings.table_name,
            "#current = :current AND #pending = :pending",
            names=names,
            values={":current": str(pointer.get("current") or ""), ":pending": str(pointer["pending"])},
        )
    return condition_check(
        pointer_key(month),
        settings.table_name,
        "#current = :current AND attribute_not_exists(#pending)",
        names=names,
        values={":current": str(pointer.get("current") or "")},
    )


def record(event_id: str, data: EventData, *, reader: ReferralReader, settings: Settings, now: datetime) -> bool:
    """Add the event to the figures (and the reports' log), once: False when its id was counted before (nothing
    changes). One transaction: the pointers as read, the event's marks, its log entry and the additions."""
    items: list[dict[str, Any]] = []
    if isinstance(data, EvaluationReceived):  # the evaluation, found among the case's items
        items = reader.partition(data.reference)
    elif isinstance(data, ReferralReceived | MeetingHeld | PlanAgreed):  # the referral and its plan, by key
        items = reader.items_of(data.reference, ("REFERRAL", "PLAN"))
    facts = facts_of(data, items)
    added = figures_of(data, facts)
    if not added:
        return True
    done: set[str] = set()  # generations that have this event already
    for _ in range(POINTER_TRIES):
        pointers = {month: reader.item(pointer_key(month)) for month in sorted(added)}
        targets = {month: [g for g in generations(pointers[month]) if g not in done] for month in pointers}
        wanted = sorted({g for found in targets.values() for g in found})
        if not wanted:
            return False
        writes = [_pointer_write(month, pointer, reader, settings, now) for month, pointer in pointers.items()]
        writes += [marker(event_id, generation, settings, now) for generation in wanted]
        writes += [put(log_item(month, event_id, data, facts, now), settings.table_name) for month in pointers]
        for month, found in targets.items():
            for generation in found:
                writes += additions(month, generation, added[month], settings)
        try:
            transact(writes, settings.table_name, busy="The figures were being changed at the same moment")
        except Cancelled as cancelled:
            if any(cancelled.failed(i) for i in range(len(pointers))):
                continue  # a rebuild began or ended since the pointers were read: read them again
            failed = {g for i, g in enumerate(wanted) if cancelled.failed(len(pointers) + i)}
            if not failed:
                raise
            done |= failed
            continue
        return True
    raise Contention("The figures were being rebuilt at the same moment; the event will be counted on its retry")


# --- reading ----------------------------------------------------------------------------------------------------


def months(period: str) -> tuple[str, ...]:
    """A period's months: "2026-11" is one, "2026-Q4" three. ValueError for anything else."""
    found = PERIOD.match(period)
    if not found:
        raise ValueError("Choose a month (like 2026-11) or a quarter (like 2026-Q4)")
    year = int(found["year"])
    if found["month"]:
        return (f"{year}-{found['month']}",)
    first = (int(found["quarter"]) - 1) * 3 + 1
    return tuple(f"{year}-{m:02d}" for m in range(first, first + 3))


def _percentile(histogram: dict[int, int], share: float) -> int | None:
    total = sum(histogram.values())
    if total == 0:
        return None
    wanted, seen = share * total, 0
    for days in sorted(histogram):
        seen += histogram[days]
        if seen >= wanted:
            return days
    return max(histogram)


@dataclass(frozen=True)
class Report:
    period: str
    figures: dict[str, int] = field(default_factory=dict)
    days_to_meeting: dict[int, int] = field(default_factory=dict)
    days_to_feedback: dict[int, int] = field(default_factory=dict)

    def get(self, name: str) -> int:
        return self.figures.get(name, 0)

    def by(self, prefix: str) -> dict[str, int]:
        return {k.removeprefix(prefix): v for k, v in sorted(self.figures.items()) if k.startswith(prefix)}

    @property
    def median_days_to_meeting(self) -> int | None:
        return _percentile(self.days_to_meeting, 0.5)

    @property
    def p90_days_to_meeting(self) -> int | None:
        return _percentile(self.days_to_meeting, 0.9)

    @property
    def median_days_to_feedback(self) -> int | None:
        return _percentile(self.days_to_feedback, 0.5)

    @property
    def p90_days_to_feedback(self) -> int | None:
        return _percentile(self.days_to_feedback, 0.9)

    def rows(self) -> list[tuple[str, str, str]]:
        """(section, measure, value): the report as the page and the CSV show it."""
        rows = [("Referrals", "Received", str(self.get("referrals")))]
        rows += [("Referrals by route", route.replace("_", " "), str(n)) for route, n in self.by("route#").items()]
        rows += [("Referrals by locality", place, str(n)) for place, n in self.by("locality#").items()]
        rows += [
            ("Decisions", name.capitalize(), str(self.get(name))) for name in ("accepted", "declined", "withdrawn")
        ]
        median, p90 = self.median_days_to_meeting, self.p90_days_to_meeting
        rows += [
            ("Meetings", "Held", str(self.get("meetings_held"))),
            ("Meetings", "Working days, referral to meeting: median", "" if median is None else str(median)),
            ("Meetings", "Working days, referral to meeting: 90th percentile", "" if p90 is None else str(p90)),
            ("Plans", "Made at the meeting", str(self.get("plans_made"))),
            ("Plans", "Agreed", str(self.get("plans_agreed"))),
        ]
        median, p90 = self.median_days_to_feedback, self.p90_days_to_feedback
        rows += [
            ("Feedback to referrers", "Sent", str(sum(self.days_to_feedback.values()))),
            (
                "Feedback to referrers",
                "Working days, meeting to feedback: median",
                "" if median is None else str(median),
            ),
            (
                "Feedback to referrers",
                "Working days, meeting to feedback: 90th percentile",
                "" if p90 is None else str(p90),
            ),
        ]
        pence, agreed = self.by("package_pence#"), self.by("package_items#")
        delivered, spend = self.by("delivered_items#"), self.by("spend_pence#")
        for category in sorted(set(agreed) | set(delivered)):
            if category in agreed:
                rows.append(("Support package", f"{category}: items in plans agreed", str(agreed[category])))
                rows.append(
                    (
                        "Support package",
                        f"{category}: estimated spend in plans agreed (£)",
                        _pounds(pence.get(category, 0)),
                    )
                )
            if category in delivered:
                rows.append(("Support package", f"{category}: items delivered", str(delivered[category])))
                rows.append(("Support package", f"{category}: actual spend (£)", _pounds(spend.get(category, 0))))
        rows += [
            ("Reviews", "On time", str(self.get("reviews_on_time"))),
            ("Reviews", "Late", str(self.get("reviews_late"))),
            ("Community partners", "Connections requested", str(self.get("connections_requested"))),
            ("Community partners", "Made contact", str(self.get("connections_contacted"))),
            ("Community partners", "Declined", str(self.get("connections_declined"))),
            ("Families' evaluations", "Received", str(self.get("evaluations"))),
        ]
        for question, label in EVALUATION_LABELS.items():
            rows += [
                ("Families' evaluations", f"{label}: {words.lower()}", str(self.get(f"evaluation_{question}#{answer}")))
                for answer, words in CHOICES[question].items()
            ]
        return rows

    def csv(self) -> str:
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\r\n")
        writer.writerow(["period", "section", "measure", "value"])
        writer.writerows((self.period, *row) for row in self.rows())
        return out.getvalue()


def _pounds(pence: int) -> str:
    return f"{pence / 100:.2f}"


def month_figures(month: str, *, reader: ReferralReader) -> dict[str, int]:
    """A month's figures by name, from its current generation: one Query (two once it has been rebuilt)."""
    items = reader.partition_of(figures_pk(month, ""))
    pointer = next((i for i in items if i[table.SORT_KEY] == POINTER), None)
    current = str((pointer or {}).get("current") or "")
    if current:
        items = reader.partition_of(figures_pk(month, current))
    return {
        str(i[table.SORT_KEY]).removeprefix("FIGURE#"): int(i.get("value", 0))
        for i in items
        if str(i[table.SORT_KEY]).startswith("FIGURE#")
    }


def report(period: str, *, reader: ReferralReader) -> Report:
    """The period's figures: one Query of each month's aggregate items."""
    figures: dict[str, int] = {}
    histograms: dict[str, dict[int, int]] = {DAYS: {}, FEEDBACK_DAYS: {}}
    for month in months(period):
        for name, value in month_figures(month, reader=reader).items():
            prefix = next((p for p in histograms if name.startswith(p)), None)
            if prefix:
                days = int(name.removeprefix(prefix))
                histograms[prefix][days] = histograms[prefix].get(days, 0) + value
            else:
                figures[name] = figures.get(name, 0) + value
    return Report(period, figures, histograms[DAYS], histograms[FEEDBACK_DAYS])
