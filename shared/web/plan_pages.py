"""The pages a plan's signed links open (no login), in the form's GOV.UK layout: the lead practitioner's agreement
(the plan and the question), what was recorded, or why a link shows nothing."""

from __future__ import annotations

from datetime import date
from typing import Any

from shared.service.agreement import AgreementLink
from shared.web.http import html_response
from shared.web.referral_form import render_web_page

PAGE = {"service_name": "Family Network: the family's plan", "service_home": "#main-content"}
PROBLEMS = {
    "decision": "Choose whether you agree the plan or ask for changes",
    "reasons": "Say what should change in the plan, and why, in 2,000 characters or fewer",
}
UNAVAILABLE = "Sorry, there is a problem with the service"


def day(value: date | None) -> str:
    return f"{value.day} {value:%B %Y}" if value else ""


def shown(content: dict[str, Any]) -> dict[str, Any]:
    """A plan's content (shared/views/plans.py) with its dates in words."""
    return {
        **content,
        "actions": [{**action, "by_when_text": day(action.get("by_when"))} for action in content.get("actions", [])],
        "held_on_text": day(content.get("held_on")),
        "next_review_text": day(content.get("next_review_on")),
        "last_reviewed_text": day(content.get("last_reviewed_on")),
    }


def page(status: int, template: str, state: str, title: str, message: str = "", **values: Any) -> dict[str, Any]:
    text = render_web_page(template, state=state, title=title, message=message, **PAGE, **values)
    # no-store: a plan is never kept by a shared computer's cache; no-referrer: the link never leaves in a Referer
    return html_response(status, text, {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"})


def problem(status: int, title: str, message: str) -> dict[str, Any]:
    return page(status, "agreement.html", "problem", title, message)


def agreement_form(
    link: AgreementLink,
    content: dict[str, Any],
    *,
    coordinators_email: str,
    errors: list[dict[str, str]] | None = None,
    answers: dict[str, str] | None = None,
) -> dict[str, Any]:
    # a field's name is its input's id; the page says what to do in its own words
    listed = [{"target": e["field"], "message": PROBLEMS.get(e["field"], e["message"])} for e in errors or []]
    return page(
        422 if errors else 200,
        "agreement.html",
        "form",
        "The family's plan",
        link=link,
        plan=shown(content),
        due_on=day(link.due_on),
        expires_on=day(link.expires_at.date()),
        coordinators_email=coordinators_email,
        errors=listed,
        answers={"decision": "", "reasons": "", **(answers or {})},
    )


def plan_page(
    reference: str,
    content: dict[str, Any],
    *,
    route: str,
    agreed_on: date | None,
    closed: bool,
    expires_on: date,
    document_href: str,
    coordinators_email: str,
) -> dict[str, Any]:
    """The plan's page a recipient's link opens: who does what by when, the package, the next review, who to ask."""
    return page(
        200,
        "plan.html",
        "plan",
        "The family's plan",
        reference=reference,
        plan=shown(content),
        route=route,
        agreed_on=day(agreed_on),
        closed=closed,
        expires_on=day(expires_on),
        document_href=document_href,
        coordinators_email=coordinators_email,
    )


def plan_problem(status: int, title: str, message: str) -> dict[str, Any]:
    return page(status, "plan.html", "problem", title, message)


def agreement_recorded(reference: str, outcome: str) -> dict[str, Any]:
    if outcome == "agreed":
        title, thanks = (
            "You have agreed the plan",
            "Thank you. The plan is now in force: the coordinators are told, and the partners it names are asked "
            "to help.",
        )
    else:
        title, thanks = (
            "Your changes are with the coordinators",
            "Thank you. The coordinators will revise the plan with the family and send it to you again.",
        )
    return page(200, "agreement.html", "done", title, thanks, reference=reference)
