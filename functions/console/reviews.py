"""Reviews of a plan on screen (issue 19, item 3): record the open review (continue; adjust the support package;
close the plan) with the next review's date, and move an open review with a reason. The API's `record_review` and
`move_review` with the version the coordinator read: a stale or illegal change is refused on the case page as it
now stands; the domain's problems are shown on the form, every answer kept."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.metrics import MetricUnit

from functions.console.cases import DONE, case, in_words
from functions.console.common import apply, checked_form, reader, signed_in
from functions.console.outcomes import partner_choices
from shared.domain.errors import Conflict, Invalid, NotFound
from shared.domain.referrals import check_reference, today
from shared.domain.workflow import IllegalTransition
from shared.observability import logger, metrics
from shared.service import reviews
from shared.service.staff_sessions import Session
from shared.views.referrals import referral_view
from shared.web import plan_form, review_form
from shared.web.case_page import day_words
from shared.web.console import page, redirect
from shared.web.http import as_response, whole_number
from shared.web.routes import register

router = Router()
DONE |= {
    "reviewed-continue": "Review recorded: the plan continues",
    "reviewed-adjust": "Review recorded: the support package is adjusted",
    "reviewed-close": "Review recorded: the plan is closed",
    "review-moved": "Review moved: its reminder moves with it",
}


def _plan_and_reviews(reference: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The plan and its reviews (dates, states and the package: the form's context, not a read of the case)."""
    view = referral_view(reader(), reference)
    return view.get("plan") or {}, list(view.get("reviews") or [])


def _open(found: list[dict[str, Any]]) -> dict[str, Any] | None:
    waiting = [r for r in found if r.get("status") in reviews.OPEN_STATES]
    return max(waiting, key=lambda r: int(r["review_number"])) if waiting else None


@register(router, "GET /staff/referrals/{reference}/reviews")
def review_page(reference: str) -> Response[str]:
    session = signed_in(router)
    reference = check_reference(reference)
    version = whole_number((router.current_event.query_string_parameters or {}).get("version", "")) or 0
    plan, found = _plan_and_reviews(reference)
    return _form(session, reference, version, review_form.opened(plan, today()), plan=plan, found=found)


@register(router, "POST /staff/referrals/{reference}/reviews")
def record_review(reference: str) -> Response[str]:
    reference = check_reference(reference)
    session, form = checked_form(router, return_to=f"/staff/referrals/{reference}")
    version = whole_number(str(form.get("version", "")))
    checked = review_form.posted(form)
    plan, found = _plan_and_reviews(reference)
    pressed = plan_form.pressed(form)
    if pressed != plan_form.SEND:  # add or remove a row, or list the partners named: the form again, nothing sent
        plan_form.apply_action(checked, pressed, with_actions=False)
        return _form(session, reference, version or 0, checked, plan=plan, found=found)
    _, names = partner_choices(checked)
    request = review_form.read(checked, plan, names)
    if request is None:
        return _form(session, reference, version or 0, checked, plan=plan, found=found, status=422)
    try:
        apply(reviews.record_review, session, version, reference, request)
    except IllegalTransition as refused:
        metrics.add_metric(name="ConsoleChangesRefused", unit=MetricUnit.Count, value=1)
        return case(session, reference, status=409, refusal=in_words(refused))
    except Invalid as refused:  # its dates against the plan's, a partner no longer active
        review_form.refused(checked, refused, plan, names)
        return _form(session, reference, version or 0, checked, plan=plan, found=found, status=422)
    logger.info("Review recorded", extra={"reference": reference, "outcome": request.outcome})
    metrics.add_metric(name="ReviewsCompleted", unit=MetricUnit.Count, value=1)
    return as_response(redirect(f"/staff/referrals/{reference}?done=reviewed-{request.outcome}#plan"))


@register(router, "GET /staff/referrals/{reference}/reviews/{number}/move")
def move_page(reference: str, number: str) -> Response[str]:
    review_number = _number(number)  # an address that cannot be a review's is not found, signed in or not
    session = signed_in(router)
    reference = check_reference(reference)
    version = whole_number((router.current_event.query_string_parameters or {}).get("version", "")) or 0
    _, found = _plan_and_reviews(reference)
    review = next((r for r in found if int(r["review_number"]) == review_number), None)
    if review is None:
        raise NotFound(f"Review {review_number} of this referral does not exist")
    form = review_form.move_opened(str(review.get("due_on", "")))
    return _move_form(session, reference, review_number, version, form, due_on=str(review.get("due_on", "")))


@register(router, "POST /staff/referrals/{reference}/reviews/{number}/move")
def move_review(reference: str, number: str) -> Response[str]:
    review_number = _number(number)
    reference = check_reference(reference)
    session, form = checked_form(router, return_to=f"/staff/referrals/{reference}")
    version = whole_number(str(form.get("version", "")))
    checked = review_form.move_posted(form)
    move = review_form.move_read(checked)
    if move is None:
        return _move_form(session, reference, review_number, version or 0, checked, status=422)
    try:
        apply(reviews.move_review, session, version, reference, review_number, move)
    except IllegalTransition as refused:
        metrics.add_metric(name="ConsoleChangesRefused", unit=MetricUnit.Count, value=1)
        return case(session, reference, status=409, refusal=in_words(refused))
    except Conflict as refused:  # the review is no longer open
        return case(session, reference, status=409, refusal=refused.message)
    except Invalid as refused:  # the same date, or not within three months
        review_form.move_refused(checked, refused)
        return _move_form(session, reference, review_number, version or 0, checked, status=422)
    logger.info("Review moved", extra={"reference": reference, "review_number": review_number})
    metrics.add_metric(name="ReviewsMoved", unit=MetricUnit.Count, value=1)
    return as_response(redirect(f"/staff/referrals/{reference}?done=review-moved#plan"))


def _number(number: str) -> int:
    found = whole_number(number)
    if found is None or not 1 <= found <= 999:
        raise NotFound("There is no such review: a review's number is a whole number from 1")
    return found


def _form(
    session: Session,
    reference: str,
    version: int,
    form: review_form.ReviewForm,
    *,
    plan: dict[str, Any],
    found: list[dict[str, Any]],
    status: int = 200,
) -> Response[str]:
    active, names = partner_choices(form)
    asked = review_form.newly_named(form, plan)
    review = _open(found)
    return as_response(
        page(
            status,
            "review.html",
            session=session,
            title=f"Record review {review['review_number']}" if review else "Record the review",
            reference=reference,
            version=version,
            form=form,
            errors=plan_form.ordered(form.errors, review_form.layout(form, asked)),
            review=review,
            due_on=day_words(review["due_on"]) if review else "",
            outcomes=review_form.OUTCOMES,
            partners=active,
            names=names,
            asked=asked,
            statuses=review_form.statuses(plan),
            categories=plan_form.CATEGORIES,
            max_items=plan_form.MAX_ITEMS,
        )
    )


def _move_form(
    session: Session,
    reference: str,
    number: int,
    version: int,
    form: review_form.MoveForm,
    *,
    due_on: str = "",
    status: int = 200,
) -> Response[str]:
    return as_response(
        page(
            status,
            "review_move.html",
            session=session,
            title=f"Move review {number}",
            reference=reference,
            number=number,
            version=version,
            form=form,
            errors=form.errors,
            due_on=day_words(due_on) if due_on else "",
        )
    )
