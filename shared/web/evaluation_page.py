"""The page a family respondent evaluates their meeting on (their signed link, no login), in the form's GOV.UK
layout: the four questions, their problems in the page's own words with every answer kept, what was recorded, or
why a link shows nothing."""

from __future__ import annotations

from typing import Any

from shared.domain.evaluations import CHOICES, COMMENTS_MAX, QUESTIONS
from shared.service.evaluations import EvaluationLink
from shared.web.http import html_response
from shared.web.referral_form import render_web_page

TITLE = "Tell us how your meeting went"
PAGE = {"service_name": "Family Network: your meeting", "service_home": "#main-content"}
PROBLEMS = {
    "family_led": "Choose whether your family led the meeting",
    "felt_heard": "Choose whether you felt listened to",
    "recommend": "Choose whether you would recommend a meeting to another family",
    "comments": f"Keep what you tell us to {COMMENTS_MAX:,} characters or fewer",
}
UNAVAILABLE = "Sorry, there is a problem with the service"
FIELDS = ("family_led", "felt_heard", "recommend", "comments")


def day(value: Any) -> str:
    return f"{value.day} {value:%B %Y}"


def page(status: int, state: str, title: str, message: str = "", **values: Any) -> dict[str, Any]:
    text = render_web_page("evaluation.html", state=state, title=title, message=message, **PAGE, **values)
    # no-store: never kept by a shared computer's cache; no-referrer: the link never leaves in a Referer
    return html_response(status, text, {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"})


def problem(status: int, title: str, message: str) -> dict[str, Any]:
    return page(status, "problem", title, message)


def form(
    link: EvaluationLink,
    *,
    coordinators_email: str,
    errors: list[dict[str, str]] | None = None,
    answers: dict[str, str] | None = None,
) -> dict[str, Any]:
    # a field's name is its first input's id; the page says what to do in its own words, in the questions' order
    listed = sorted(
        ({"target": e["field"], "message": PROBLEMS.get(e["field"], e["message"])} for e in errors or []),
        key=lambda e: FIELDS.index(e["target"]) if e["target"] in FIELDS else len(FIELDS),
    )
    return page(
        422 if errors else 200,
        "form",
        TITLE,
        link=link,
        held_on=day(link.held_on),
        expires_on=day(link.expires_at.date()),
        coordinators_email=coordinators_email,
        questions=QUESTIONS,
        choices=CHOICES,
        comments_max=COMMENTS_MAX,
        errors=listed,
        answers={field: "" for field in FIELDS} | (answers or {}),
    )


def recorded(reference: str) -> dict[str, Any]:
    thanks = (
        "Your answers are recorded. They help us make Family Network meetings better for every family. "
        "If something needs doing about your family's plan, contact your coordinator as usual."
    )
    return page(200, "done", "Thank you for telling us", thanks, reference=reference)
