"""The outcome and plan builder and the review forms in the console (issue 19, items 1 and 3), on moto in-process:
rows added and removed by posting the form back, the domain's problems on the form with every answer kept, a stale
form refused on the case page, a form without its CSRF token refused, and the service the API uses doing the work."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest

from infra.constants import CONSOLE
from shared.domain.referrals import today
from tests.integration.conftest import Cloud, invoke
from tests.integration.test_console import a_session, console_event, referral_item
from tests.integration.test_outcome import YESTERDAY, agree, scheduled
from tests.integration.test_partners import CHURCH, HUB, add


def post(cloud: Cloud, session: str, path: str, route: str, form: dict[str, str], **kwargs: Any) -> dict[str, Any]:
    reference = path.split("/")[3]
    event = console_event(
        "POST", path, route, session=session, form=form, parameters={"reference": reference}, **kwargs
    )
    return invoke(CONSOLE, cloud, event)  # type: ignore[no-any-return]


def get(cloud: Cloud, session: str, path: str, route: str, **query: str) -> dict[str, Any]:
    reference = path.split("/")[3]
    event = console_event("GET", path, route, session=session, query=query, parameters={"reference": reference})
    return invoke(CONSOLE, cloud, event)  # type: ignore[no-any-return]


def date_boxes(prefix: str, day: Any) -> dict[str, str]:
    return {f"{prefix}.day": str(day.day), f"{prefix}.month": str(day.month), f"{prefix}.year": str(day.year)}


def summary(body: str) -> list[tuple[str, str]]:
    """The error summary's links: (href, words)."""
    found = re.search(r'<div class="govuk-error-summary".*?</ul>', body, re.S)
    assert found, "no error summary"
    return [
        (h, re.sub(r"\s+", " ", t).strip()) for h, t in re.findall(r'<a href="([^"]+)">(.*?)</a>', found.group(0), re.S)
    ]


def value_of(body: str, name: str) -> str | None:
    found = re.search(rf'<input[^>]*name="{re.escape(name)}"[^>]*value="([^"]*)"', body)
    return found.group(1) if found else None


@pytest.fixture
def booked(cloud: Cloud, submit: Any, referral_body: dict[str, Any]) -> str:
    """A referral whose meeting (yesterday) is booked and waits for its outcome."""
    return scheduled(cloud, submit, referral_body)


def held_form(token: str, version: int, hub: str, **extra: str) -> dict[str, str]:
    return {
        "csrf_token": token,
        "version": str(version),
        "held": "yes",
        **date_boxes("held_on", YESTERDAY.date()),
        "actions.0.row": "0",
        "actions.0.who": "Grandma Jean",
        "actions.0.what": "School pick-ups",
        "actions.0.how_often": "Mondays and Wednesdays",
        **date_boxes("actions.0.by_when", YESTERDAY.date() + timedelta(days=30)),
        "actions.0.checked_by": "Uncle Dev",
        "items.0.row": "0",
        "items.0.category": "equipment",
        "items.0.description": "A sofa bed",
        "items.0.cost": "£400",
        "items.0.partner_id": hub,
        "consent.0.partner_id": hub,
        "consent.0.share": "yes",
        **date_boxes("first_review", YESTERDAY.date() + timedelta(days=60)),
        **extra,
    }


OUTCOME = "/staff/referrals/{reference}/outcome"


def test_a_held_meeting_and_its_plan_are_recorded_from_the_form_by_the_apis_service(cloud: Cloud, booked: str) -> None:
    hub = str(add(cloud, HUB)["json"]["partner_id"])
    session, token = a_session(cloud)
    path = f"/staff/referrals/{booked}/outcome"
    version = int(referral_item(cloud, booked)["version"])
    opened = get(cloud, session, path, OUTCOME, version=str(version))
    assert opened["statusCode"] == 200
    assert value_of(opened["body"], "held_on.day") == str(YESTERDAY.day)  # the day it was booked for
    assert f'<option value="{hub}">Northside Family Hub</option>' in opened["body"]  # the directory to choose from

    done = post(cloud, session, path, OUTCOME, held_form(token, version, hub))

    assert done["statusCode"] == 303, summary(done["body"])
    assert done["headers"]["Location"] == f"/staff/referrals/{booked}?done=held"
    [plan] = [i for i in cloud.items() if i["pk"] == f"REFERRAL#{booked}" and i["sk"] == "PLAN"]
    assert plan["network_actions"] == [
        {
            "who": "Grandma Jean",
            "what": "School pick-ups",
            "how_often": "Mondays and Wednesdays",
            "by_when": (YESTERDAY.date() + timedelta(days=30)).isoformat(),
            "checked_by": "Uncle Dev",
        }
    ]
    [item] = plan["support_package"]
    assert (item["estimated_cost_pence"], item["partner_id"], item["category"]) == (40000, hub, "equipment")
    assert plan["partner_consent"] == [{"partner_id": hub, "share_contact_name": True}]
    assert plan["plan_status"] == "awaiting_agreement"
    assert not [i for i in cloud.items() if i["kind"] == "connection"]  # the partner is asked once it is agreed
    assert agree(cloud, booked)["statusCode"] == 200
    [connection] = [i for i in cloud.items() if i["kind"] == "connection"]
    assert connection["partner_id"] == hub and connection["share_contact_name"] is True
    [audit] = [i for i in cloud.items() if i["kind"] == "audit" and i["action"] == "meeting.held"]
    assert audit["actor"] == "coordinator:sub-alex"

    case = get(cloud, session, f"/staff/referrals/{booked}", "/staff/referrals/{reference}", done="held")["body"]
    for shown in ("Grandma Jean", "Uncle Dev", "A sofa bed", "£400.00", "Northside Family Hub", "may be told"):
        assert shown in case, shown
    review_on = YESTERDAY.date() + timedelta(days=60)
    assert f"Next review due {review_on:%-d %B %Y}" in case

    # the same form again is stale: the case page as it now stands, with the reason, and nothing changes twice
    again = post(cloud, session, path, OUTCOME, held_form(token, version, hub))
    assert again["statusCode"] == 409 and "Someone else changed this referral since you opened it" in again["body"]
    assert len([i for i in cloud.items() if i["kind"] == "audit" and i["action"] == "meeting.held"]) == 1


PROBLEMS: list[tuple[dict[str, str], list[tuple[str, str]]]] = [
    ({"held": ""}, [("#held", "Choose whether the meeting took place")]),
    ({"held": "no"}, [("#reason", "Enter why the meeting did not take place")]),
    (
        {"held_on.day": "", "held_on.month": "", "held_on.year": ""},
        [("#held_on-day", "Enter the date the meeting took place")],
    ),
    (
        {"held_on.day": "31", "held_on.month": "2"},
        [("#held_on-day", "The date the meeting took place must be a real date, like 27 3 2026")],
    ),
    (
        {"actions.0.who": "", "items.0.cost": "four hundred", "items.0.category": ""},
        [
            ("#actions-0-who", "Action 1: enter who in the network will do it"),
            ("#items-0-category", "Item 1: choose the kind of support"),
            ("#items-0-cost", "Item 1: enter the estimated cost in pounds, like 85 or 85.50"),
        ],
    ),
    ({"items.0.cost": "250000"}, [("#items-0-cost", "Item 1: the estimated cost must be £100,000 or less")]),
    (
        {"consent.0.share": ""},
        [("#consent-HUB", "Choose whether the family agreed to Northside Family Hub being told their contact's name")],
    ),
    (
        {"first_review.year": "2099"},
        [("#first_review-day", "The first review must be after the meeting and within three months of it")],
    ),
    ({"first_review.day": ""}, [("#first_review-day", "The first review's date must be a real date, like 27 3 2026")]),
]


def test_each_problem_is_named_against_its_box_and_rows_come_and_go_with_every_answer_kept(
    cloud: Cloud, booked: str
) -> None:
    hub = str(add(cloud, HUB)["json"]["partner_id"])
    session, token = a_session(cloud)
    path = f"/staff/referrals/{booked}/outcome"
    for change, expected in PROBLEMS:
        form = held_form(token, int(referral_item(cloud, booked)["version"]), hub, **change)

        answer = post(cloud, session, path, OUTCOME, {k: v for k, v in form.items() if v != ""})

        assert answer["statusCode"] == 422, change
        shown = [(href.replace("HUB", hub), words.replace("'", "&#39;")) for href, words in expected]
        assert summary(answer["body"]) == shown, change
        assert value_of(answer["body"], "actions.0.what") == "School pick-ups"  # every answer kept

    # rows are added and removed by posting the form back, every answer kept and nothing recorded
    form = held_form(token, 3, hub, action="add-action")

    added = post(cloud, session, path, OUTCOME, form)
    assert added["statusCode"] == 200
    assert 'name="actions.1.who"' in added["body"] and value_of(added["body"], "actions.0.who") == "Grandma Jean"
    assert value_of(added["body"], "items.0.cost") == "£400"
    assert referral_item(cloud, booked)["status"] == "meeting_scheduled"  # nothing recorded

    removed = post(cloud, session, path, OUTCOME, {**form, "action": "remove-item-0"})
    assert removed["statusCode"] == 200 and 'name="items.0.description"' not in removed["body"]
    assert "No items in the package" in removed["body"]
    assert 'name="consent.0.partner_id"' not in removed["body"]  # the partner is no longer named

    # naming a partner, then updating the list: the family's answer is asked for it
    church = str(add(cloud, CHURCH)["json"]["partner_id"])
    refreshed = post(cloud, session, path, OUTCOME, {**form, "actions.0.partner_id": church, "action": "refresh"})
    assert value_of(refreshed["body"], "consent.0.partner_id") == church  # named first, by the action
    assert value_of(refreshed["body"], "consent.1.partner_id") == hub
    assert "May St Anne&#39;s Community Kitchen be told" in refreshed["body"]
    assert re.search(rf'id="consent-{hub}"[^>]*value="yes" checked', refreshed["body"])  # its answer kept
    assert [i for i in cloud.items() if i["kind"] == "plan"] == []


def test_a_meeting_not_held_goes_back_to_waiting_with_its_reason_and_only_with_its_csrf_token(
    cloud: Cloud, booked: str
) -> None:
    session, token = a_session(cloud)
    version = str(referral_item(cloud, booked)["version"])
    form = {"csrf_token": token, "version": version, "held": "no", "reason": "The family were unwell"}
    for forged in ({**form, "csrf_token": "wrong"}, {k: v for k, v in form.items() if k != "csrf_token"}):
        assert post(cloud, session, f"/staff/referrals/{booked}/outcome", OUTCOME, forged)["statusCode"] == 403
    assert referral_item(cloud, booked)["status"] == "meeting_scheduled"
    done = post(cloud, session, f"/staff/referrals/{booked}/outcome", OUTCOME, form)
    assert done["statusCode"] == 303 and done["headers"]["Location"].endswith("?done=not-held")
    assert referral_item(cloud, booked)["status"] == "preparing"  # waiting again, its preparation standing
    [meeting] = [i for i in cloud.items() if i["pk"] == f"REFERRAL#{booked}" and i["sk"] == "MEETING"]
    assert meeting["not_held_reason"] == "The family were unwell"


def test_an_outcome_for_a_later_date_or_an_inactive_partner_is_refused_on_the_form(cloud: Cloud, booked: str) -> None:
    hub = str(add(cloud, HUB)["json"]["partner_id"])
    session, token = a_session(cloud)
    version = int(referral_item(cloud, booked)["version"])
    path = f"/staff/referrals/{booked}/outcome"
    tomorrow = today() + timedelta(days=1)
    early = post(cloud, session, path, OUTCOME, held_form(token, version, hub, **date_boxes("held_on", tomorrow)))
    assert early["statusCode"] == 422
    assert summary(early["body"])[0][0] == "#held_on-day"

    from tests.integration.test_coordination import staff

    assert (
        staff(cloud, "PUT /partners/{partner_id}", f"/partners/{hub}", body={**HUB, "active": False})["statusCode"]
        == 200
    )
    gone = post(cloud, session, path, OUTCOME, held_form(token, version, hub))
    assert gone["statusCode"] == 422
    assert summary(gone["body"]) == [
        (
            "#items-0-partner_id",
            "Item 1: Northside Family Hub is no longer an active partner in the directory: choose another",
        )
    ]
    assert referral_item(cloud, booked)["status"] == "meeting_scheduled"


# --- reviews ----------------------------------------------------------------------------------------------------
REVIEWS = "/staff/referrals/{reference}/reviews"
MOVE = "/staff/referrals/{reference}/reviews/{number}/move"


@pytest.fixture
def in_force(cloud: Cloud, booked: str) -> str:
    """A plan in force (through the API): an approved car seat and a requested counselling course, review 1 open."""
    from tests.integration.test_outcome import PLAN, held, outcome

    body = held({**PLAN, "first_review_due_on": (YESTERDAY.date() + timedelta(days=60)).isoformat()})
    assert outcome(cloud, booked, body)["statusCode"] == 200
    assert agree(cloud, booked)["statusCode"] == 200
    return booked


def plan_item(cloud: Cloud, reference: str) -> dict[str, Any]:
    [plan] = [i for i in cloud.items() if i["pk"] == f"REFERRAL#{reference}" and i["sk"] == "PLAN"]
    return plan


def review_form(token: str, version: int, **extra: str) -> dict[str, str]:
    """Adjust: the counselling course's cost changed (the tests add the other rows)."""
    return {
        "csrf_token": token,
        "version": str(version),
        "outcome": "adjust",
        **date_boxes("completed_on", today()),
        **date_boxes("next_review", today() + timedelta(days=45)),
        "items.0.row": "0",
        "items.0.was": "1",
        "items.0.category": "service",
        "items.0.description": "Six counselling sessions",
        "items.0.cost": "380.50",
        **extra,
    }


def test_a_review_adjusts_the_package_keeping_unchanged_items_and_connects_a_new_partner(
    cloud: Cloud, in_force: str
) -> None:
    church = str(add(cloud, CHURCH)["json"]["partner_id"])
    session, token = a_session(cloud)
    path = f"/staff/referrals/{in_force}/reviews"
    version = int(referral_item(cloud, in_force)["version"])
    opened = get(cloud, session, path, REVIEWS, version=str(version))
    assert opened["statusCode"] == 200 and "Record review 1" in opened["body"]
    assert value_of(opened["body"], "items.0.description") == "Car seat"  # the package as the plan has it
    assert value_of(opened["body"], "items.1.cost") == "360"
    assert value_of(opened["body"], "items.1.was") == "1"
    assert "Item 1 (approved)" in opened["body"] and "Item 2 (requested)" in opened["body"]

    form = review_form(
        token,
        version,
        **{
            "items.1.row": "1",
            "items.1.was": "0",  # the car seat, kept as it was
            "items.1.category": "item",
            "items.1.description": "Car seat",
            "items.1.cost": "85.00",
            "items.2.row": "2",
            "items.2.category": "item",
            "items.2.description": "A school uniform",
            "items.2.cost": "60",
            "items.2.partner_id": church,
            "consent.0.partner_id": church,
            "consent.0.share": "no",
        },
    )
    done = post(cloud, session, path, REVIEWS, form)

    assert done["statusCode"] == 303, summary(done["body"])
    assert done["headers"]["Location"] == f"/staff/referrals/{in_force}?done=reviewed-adjust#plan"
    plan = plan_item(cloud, in_force)
    assert [(i["description"], i["estimated_cost_pence"], i["status"]) for i in plan["support_package"]] == [
        # its cost changed: a new estimate over £250, to be approved again (shared/service/approvals.py)
        ("Six counselling sessions", 38050, "requested"),
        ("Car seat", 8500, "approved"),  # kept as it was, with its status and number
        ("A school uniform", 6000, "approved"),  # within the limits: approved as recorded
    ]
    assert [i["number"] for i in plan["support_package"]] == [3, 1, 4]
    assert plan["partner_consent"] == [{"partner_id": church, "share_contact_name": False}]
    [connection] = [i for i in cloud.items() if i["kind"] == "connection"]
    assert connection["partner_id"] == church
    [audit] = [i for i in cloud.items() if i["kind"] == "audit" and i["action"] == "review.adjust"]
    assert audit["actor"] == "coordinator:sub-alex"

    case = get(cloud, session, f"/staff/referrals/{in_force}", "/staff/referrals/{reference}")["body"]
    reviews = re.search(r'<table class="govuk-table" id="reviews">.*?</table>', case, re.S)
    assert reviews is not None
    cells = [re.sub(r"<[^>]+>|\s+", " ", c).strip() for c in re.findall(r"<td[^>]*>(.*?)</td>", reviews.group(0), re.S)]
    next_due = today() + timedelta(days=45)
    assert cells[:4] == [
        "1",
        f"{YESTERDAY.date() + timedelta(days=60):%-d %B %Y}",
        f"completed on {today():%-d %B %Y}",
        "The support package adjusted",
    ]
    assert cells[5:8] == ["2", f"{next_due:%-d %B %Y}", "scheduled"]

    stale = post(cloud, session, path, REVIEWS, form)
    assert stale["statusCode"] == 409 and "Someone else changed this referral" in stale["body"]
    forged = post(cloud, session, path, REVIEWS, {**form, "csrf_token": "forged"})
    assert forged["statusCode"] == 403
    assert len([i for i in cloud.items() if i["kind"] == "audit" and i["action"].startswith("review.")]) == 1


REVIEW_PROBLEMS: list[tuple[dict[str, str], list[tuple[str, str]]]] = [
    ({"outcome": ""}, [("#outcome", "Choose the review's outcome")]),
    (
        {"next_review.day": "", "next_review.month": "", "next_review.year": ""},
        [("#next_review-day", "Enter the date of the next review")],
    ),
    (
        {"items.0.description": "", "items.0.cost": "lots"},
        [
            ("#items-0-description", "Item 1: enter what the support is"),
            ("#items-0-cost", "Item 1: enter the estimated cost in pounds, like 85 or 85.50"),
        ],
    ),
    (
        {"items.0.partner_id": "CHURCH"},
        [
            (
                "#consent-CHURCH",
                "Choose whether the family agreed to St Anne's Community Kitchen being told their contact's name",
            )
        ],
    ),
    (
        {"next_review.month": "12", "next_review.year": str(today().year + 1)},
        [("#next_review-day", "The next review must be after this one and within three months of it")],
    ),
    (
        {"completed_on.year": str(today().year + 1)},
        [("#completed_on-day", "A review cannot be recorded for a date still to come")],
    ),
]


def test_each_review_problem_is_named_against_its_box_and_rows_come_and_go_without_recording(
    cloud: Cloud, in_force: str
) -> None:
    church = str(add(cloud, CHURCH)["json"]["partner_id"])
    session, token = a_session(cloud)
    path = f"/staff/referrals/{in_force}/reviews"
    version = int(referral_item(cloud, in_force)["version"])
    for problem, expected in REVIEW_PROBLEMS:
        change = {k: v.replace("CHURCH", church) for k, v in problem.items()}
        form = {k: v for k, v in review_form(token, version, **change).items() if v != ""}

        answer = post(cloud, session, path, REVIEWS, form)

        assert answer["statusCode"] == 422, change
        shown = [(h.replace("CHURCH", church), w.replace("'", "&#39;")) for h, w in expected]
        assert summary(answer["body"]) == shown, change
        assert value_of(answer["body"], "items.0.was") == "1"  # every answer kept, with the item it was

    added = post(cloud, session, path, REVIEWS, review_form(token, version, action="add-item"))
    assert added["statusCode"] == 200 and 'name="items.1.description"' in added["body"]
    removed = post(cloud, session, path, REVIEWS, review_form(token, version, action="remove-item-0"))
    assert removed["statusCode"] == 200 and "No items in the package" in removed["body"]
    assert referral_item(cloud, in_force)["version"] == version  # nothing recorded
    assert [i for i in cloud.items() if i["kind"] == "review" and i["status"] == "completed"] == []


def test_a_review_moves_with_a_reason_and_a_bad_stale_or_forged_move_changes_nothing(
    cloud: Cloud, in_force: str
) -> None:
    session, token = a_session(cloud)
    path = f"/staff/referrals/{in_force}/reviews/1/move"

    def move(**form: str) -> dict[str, Any]:
        event = console_event(
            "POST", path, MOVE, session=session, form=form, parameters={"reference": in_force, "number": "1"}
        )
        return invoke(CONSOLE, cloud, event)  # type: ignore[no-any-return]

    version = str(referral_item(cloud, in_force)["version"])
    opened = invoke(
        CONSOLE,
        cloud,
        console_event("GET", path, MOVE, session=session, parameters={"reference": in_force, "number": "1"}),
    )
    due = YESTERDAY.date() + timedelta(days=60)
    assert opened["statusCode"] == 200 and value_of(opened["body"], "due_on.day") == str(due.day)
    new_day = today() + timedelta(days=20)
    for form, expected in (
        ({**date_boxes("due_on", new_day)}, [("#reason", "Enter why the review moves")]),
        ({"reason": "The family is away"}, [("#due_on-day", "Enter the review&#39;s new date")]),
        (
            {**date_boxes("due_on", today() + timedelta(days=120)), "reason": "Away"},
            [("#due_on-day", "The new date must be after today and within three months of it")],
        ),
        (
            {**date_boxes("due_on", due), "reason": "Away"},
            [("#due_on-day", "The review is already due on that date")],
        ),
    ):
        refused = move(csrf_token=token, version=version, **form)
        assert refused["statusCode"] == 422 and summary(refused["body"]) == expected, form
    assert move(version=version, reason="Away", **date_boxes("due_on", new_day))["statusCode"] == 403

    done = move(csrf_token=token, version=version, reason="The family is away", **date_boxes("due_on", new_day))
    assert done["statusCode"] == 303 and done["headers"]["Location"].endswith("?done=review-moved#plan")
    [review] = [i for i in cloud.items() if i["kind"] == "review"]
    assert review["due_on"] == new_day.isoformat()
    [audit] = [i for i in cloud.items() if i["kind"] == "audit" and i["action"] == "review.moved"]
    assert audit["changes"]["reason"] == "The family is away"

    stale = move(csrf_token=token, version=version, reason="Again", **date_boxes("due_on", new_day + timedelta(days=1)))
    assert stale["statusCode"] == 409 and "Someone else changed this referral" in stale["body"]
    nowhere = console_event(
        "GET",
        f"/staff/referrals/{in_force}/reviews/7/move",
        MOVE,
        session=session,
        parameters={"reference": in_force, "number": "7"},
    )
    assert invoke(CONSOLE, cloud, nowhere)["statusCode"] == 404
