"""The coordinators' work list: what needs doing now, each list one Query of an index (never a Scan), counted and
paged. Rows carry references, states, dates and the referring organisation: no one's name."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from typing import Any

from shared.adapters import table
from shared.adapters.dynamodb import IndexSpan, ReferralReader
from shared.domain import clock
from shared.domain.clock import LONDON
from shared.domain.errors import Unreadable
from shared.views.referrals import decode_key, encode_cursor, summary

PAGE = 10  # rows of each list on the work list; "more" pages through the rest
APPROVALS_PAGE = 25  # rows of the managers' approvals page
CLOCKS = {
    "decision": "A decision on the request",
    "meeting_held": "The meeting held",
    "feedback_sent": "Feedback sent to the referrer",
    "plan_agreed": "The plan agreed by the lead practitioner",
}


@dataclass(frozen=True)
class WorkList:
    name: str  # its id in links (`?list=…`)
    title: str
    empty: str  # what an empty list says
    span: IndexSpan


def work_lists(now: datetime, review_lead_days: int) -> tuple[WorkList, ...]:
    today = now.astimezone(LONDON).date()
    at = clock.iso(now)
    week = clock.iso(now + timedelta(days=7))
    reviews_until = (today + timedelta(days=review_lead_days + 2)).isoformat() + "~"
    return (
        WorkList(
            "new",
            "New requests to decide",
            "No requests are waiting for a decision.",
            IndexSpan(table.STATUS_INDEX, "received"),
        ),
        WorkList(
            "to_prepare",
            "Accepted, preparation not started",
            "Every accepted referral is being prepared.",
            IndexSpan(table.STATUS_INDEX, "accepted"),
        ),
        WorkList(
            "preparing",
            "Preparing, no meeting yet",
            "No referral is being prepared for its meeting.",
            IndexSpan(table.STATUS_INDEX, "preparing"),
        ),
        WorkList(
            "this_week",
            "Meetings in the next 7 days",
            "No meetings in the next 7 days.",
            IndexSpan(table.FACILITATOR_INDEX, table.SCHEDULED_MEETINGS, low=at, high=week),
        ),
        WorkList(
            "no_outcome",
            "Meetings held, outcome not recorded",
            "Every meeting held has its outcome.",
            IndexSpan(table.FACILITATOR_INDEX, table.SCHEDULED_MEETINGS, high=at),
        ),
        WorkList(
            "changes",
            "Plans with changes asked",
            "No lead practitioner has asked for changes to a plan.",
            IndexSpan(table.STATUS_INDEX, "awaiting_agreement", equal=(("plan_agreement", "changes_requested"),)),
        ),
        WorkList(
            "reviews",
            "Reviews due and overdue",
            "No reviews are due.",
            IndexSpan(table.REVIEW_DUE_INDEX, "open", high=reviews_until),
        ),
        WorkList(
            "breached",
            "Deadlines missed in the last 30 days",
            "No deadline was missed in the last 30 days.",
            IndexSpan(
                table.DEADLINE_INDEX,
                table.DEADLINE_BREACHED,
                low=(today - timedelta(days=30)).isoformat(),
                forward=False,
            ),
        ),
        WorkList(
            "unanswered",
            "Partners not answering",
            "Every partner asked has answered, or is not yet due to.",
            IndexSpan(table.DEADLINE_INDEX, table.DEADLINE_UNANSWERED),
        ),
    )


CLOSED = ("declined", "withdrawn", "closed", "family_declined")

# Support package items waiting for a manager's approval, oldest first: managers' work (shared/service/approvals.py).
APPROVALS = WorkList(
    "approvals",
    "Support package items waiting for approval",
    "No support package items are waiting for approval.",
    IndexSpan(table.DEADLINE_INDEX, table.DEADLINE_AWAITING_APPROVAL),
)


def my_cases_list(subject: str) -> WorkList:
    return WorkList(
        "mine",
        "My open cases",
        "No open cases are assigned to you.",
        IndexSpan(table.COORDINATOR_INDEX, subject, forward=False, not_status=CLOSED),
    )


ROUTES = ("lead_practitioner", "professional_request")


@dataclass(frozen=True)
class Filters:
    """The work list's filters: they narrow the lists of referrals (by route; only those with no coordinator)."""

    route: str | None = None
    unassigned: bool = False

    @classmethod
    def of(cls, route: str | None, unassigned: str | None) -> Filters:
        if route not in (None, "", *ROUTES):
            raise Unreadable("There is no such route to filter by: clear the filters")
        return cls(route=route or None, unassigned=unassigned == "yes")

    def narrow(self, listed: WorkList) -> WorkList:
        if listed.span.index not in (table.STATUS_INDEX, table.COORDINATOR_INDEX):
            return listed  # meetings, reviews and deadlines carry no route or coordinator
        span = replace(
            listed.span,
            equal=listed.span.equal + ((("route", self.route),) if self.route else ()),
            absent=(table.COORDINATOR_INDEX_PK,) if self.unassigned else (),
        )
        return replace(listed, span=span)

    @property
    def any(self) -> bool:
        return bool(self.route or self.unassigned)


def work_list(
    reader: ReferralReader,
    *,
    now: datetime,
    review_lead_days: int,
    only: str | None = None,
    cursor: str | None = None,
    subject: str | None = None,
    filters: Filters | None = None,
    manager: bool = False,
) -> list[dict[str, Any]]:
    """Each list's count and first rows (or, with `only`, one list's page at `cursor`); `subject`: whose cases are
    "mine"; `filters` narrow the lists of referrals (still one Query each); a `manager` sees the approvals waiting
    first."""
    lists = ((APPROVALS,) if manager else ()) + work_lists(now, review_lead_days)
    lists += (my_cases_list(subject),) if subject else ()
    lists = tuple((filters or Filters()).narrow(listed) for listed in lists)
    if only is not None and only not in {w.name for w in lists}:
        raise Unreadable("There is no such list: go back to the work list")
    today = now.astimezone(LONDON).date()
    found = []
    for listed in lists:
        if only is not None and listed.name != only:
            continue
        page = reader.index_page(listed.span, PAGE, decode_key(cursor, listed.span.index) if only else None)
        found.append(
            {
                "name": listed.name,
                "title": listed.title,
                "empty": listed.empty,
                "count": reader.index_count(listed.span),
                "rows": [_row(listed.name, item, today) for item in page.items],
                "next_cursor": encode_cursor(page.last_key),
            }
        )
    return found


def approvals_waiting(
    reader: ReferralReader, *, now: datetime, cursor: str | None = None, limit: int = APPROVALS_PAGE
) -> dict[str, Any]:
    """The managers' approvals page: items waiting, oldest first, a page at a time (one Query), and how many."""
    span = APPROVALS.span
    page = reader.index_page(span, limit, decode_key(cursor, span.index))
    today = now.astimezone(LONDON).date()
    return {
        "count": reader.index_count(span),
        "rows": [_row(APPROVALS.name, item, today) for item in page.items],
        "next_cursor": encode_cursor(page.last_key),
    }


def _row(name: str, item: dict[str, Any], today: date) -> dict[str, Any]:
    if item.get(table.KIND_ATTRIBUTE) == "approval":
        recorded = datetime.fromisoformat(str(item["recorded_at"]).replace("Z", "+00:00")).astimezone(LONDON).date()
        return {
            "kind": "approval",
            "reference": item["reference"],
            "item_number": int(item["item_number"]),
            "category": item.get("category", ""),
            "estimated_cost_pence": int(item.get("estimated_cost_pence", 0)),
            "approval_needed": item.get("approval_needed", "item_limit"),
            "recorded_on": recorded,
            "waiting_days": (today - recorded).days,
        }
    if item.get(table.KIND_ATTRIBUTE) == table.KIND_REFERRAL:
        row = summary(item)
        received = datetime.fromisoformat(row["received_at"].replace("Z", "+00:00")).astimezone(LONDON).date()
        coordinator = (item.get("coordinator") or {}).get("name")  # the console shows whose case it is
        return {**row, "kind": "referral", "waiting_days": (today - received).days, "coordinator": coordinator}
    if item.get(table.KIND_ATTRIBUTE) == table.KIND_MEETING:
        starts = datetime.fromisoformat(str(item["starts_at"]).replace("Z", "+00:00")).astimezone(LONDON)
        return {
            "kind": "meeting",
            "reference": item["reference"],
            "starts": starts,
            "facilitator_id": item.get("facilitator_id"),
            "venue_type": (item.get("venue") or {}).get("type"),
        }
    if item.get(table.KIND_ATTRIBUTE) == "clock":
        return {
            "kind": "deadline",
            "reference": item["reference"],
            "what": CLOCKS.get(str(item.get("clock")), str(item.get("clock", "")).replace("_", " ")),
            "due_on": date.fromisoformat(str(item["due_on"])),
        }
    if item.get(table.KIND_ATTRIBUTE) == "connection":
        return {
            "kind": "connection",
            "reference": item["reference"],
            "partner_name": item.get("partner_name", ""),
            "due_on": date.fromisoformat(str(item["answer_due_on"])),
        }
    due_on = date.fromisoformat(str(item["due_on"]))
    return {
        "kind": "review",
        "reference": item["reference"],
        "review_number": int(item["review_number"]),
        "due_on": due_on,
        "status": item.get("status"),
        "overdue": due_on < today,
    }
