"""The work list, a referral's case page, and the decisions on it (accept; decline and withdraw with a reason).

Every change is a form (POST) with the version the coordinator read: a stale or illegal change is refused with the
reason in words, on the case page as it now stands. A change done redirects (303) to the case page, so a reload
never repeats it."""

from __future__ import annotations

import urllib.parse
from typing import Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.metrics import MetricUnit

from functions.console.common import apply, checked_form, correlation_id, reader, signed_in
from shared.config import get_settings
from shared.domain import clock, search
from shared.domain.errors import Invalid
from shared.domain.referrals import REFERENCE_PATTERN, check_reference
from shared.domain.workflow import Decision, IllegalTransition
from shared.observability import logger, metrics
from shared.service import assignment, notes
from shared.service.decisions import DecisionBody, decide
from shared.service.staff_sessions import Session
from shared.views.referrals import Access, referral_view
from shared.views.worklist import Filters, work_list
from shared.web import case_page
from shared.web.console import page, redirect
from shared.web.http import as_response, whole_number
from shared.web.routes import register

router = Router()
DONE = {
    "accepted": "Referral accepted",
    "declined": "Referral declined",
    "withdrawn": "Referral withdrawn",
    "family_declined": "The family does not want to go ahead: the referral is closed and the referrer is told",
    "booked": "Meeting booked: the invitations are on their way",
    "moved": "Meeting moved: everyone invited is told",
    "cancelled": "Meeting cancelled: everyone invited is told",
    "assigned": "Coordinator named",
    "noted": "Note added",
    "participant-added": "Participant added",
    "participant-changed": "Participant's details saved",
}
REASON_FORMS = {
    Decision.DECLINE: ("Why are you declining this referral?", "Decline referral", "The referrer is told by email."),
    Decision.WITHDRAW: ("Why is this referral withdrawn?", "Withdraw referral", "Any meeting booked is cancelled."),
}
MAX_REASON = 2000
SEARCH_LIMIT = 50


@register(router, "GET /staff")
def home() -> Response[str]:
    session = signed_in(router)
    params = router.current_event.query_string_parameters or {}
    settings = get_settings()
    mine = params.get("show") == "mine"
    filters = Filters.of(params.get("route"), params.get("unassigned"))
    lists = work_list(
        reader(),
        now=clock.now(),
        review_lead_days=settings.review_lead_working_days,
        only=params.get("list") or ("mine" if mine else None),
        cursor=params.get("cursor"),
        subject=session.subject,
        filters=filters,
        manager=session.role == "manager",  # the approvals waiting come first
    )
    return as_response(
        page(
            200,
            "worklist.html",
            session=session,
            title="My cases" if mine else "Work list",
            section="worklist",
            lists=lists,
            only=params.get("list"),
            mine=mine,
            filters=filters,
            kept=urllib.parse.urlencode(
                {
                    k: v
                    for k, v in (("route", filters.route), ("unassigned", "yes" if filters.unassigned else None))
                    if v
                }
            ),
        )
    )


@register(router, "GET /staff/search")
def find() -> Response[str]:
    """A reference opens its case; a postcode or a surname lists what it finds (one Query of its term)."""
    session = signed_in(router)
    text = str((router.current_event.query_string_parameters or {}).get("q") or "").strip()[:100]
    if REFERENCE_PATTERN.match(text.upper()):
        return as_response(redirect(f"/staff/referrals/{text.upper()}"))
    term = search.term_of_query(text) if text else None
    found = reader().search(search.fingerprint(term), SEARCH_LIMIT) if term else []
    error = None if term or not text else "Enter a reference, a postcode or a surname"
    return as_response(
        page(
            422 if error else 200,
            "search.html",
            session=session,
            title="Find a referral",
            query=text,
            searched=bool(term),
            by="postcode" if term and term.startswith("postcode:") else "surname",
            found=found,
            error=error,
            errors=[{"text": error, "href": "#q"}] if error else [],
        )
    )


def case(session: Session, reference: str, *, status: int = 200, **extra: Any) -> Response[str]:
    """The case page as it stands now; opening it is recorded in the read audit."""
    access = Access(session.actor, "GET /staff/referrals/{reference}", get_settings(), clock.now())
    view = referral_view(reader(), reference, access)
    metrics.add_metric(name="CasePagesRead", unit=MetricUnit.Count, value=1)
    values = case_page.values(view)
    staff = [p for p in assignment.staff_directory(reader()) if p["subject"] != session.subject]
    return as_response(
        page(status, "referral.html", session=session, title=reference, referral=view, staff=staff, **values, **extra)
    )


@register(router, "GET /staff/referrals/{reference}")
def referral(reference: str) -> Response[str]:
    session = signed_in(router)
    done = (router.current_event.query_string_parameters or {}).get("done")
    return case(session, check_reference(reference), done=DONE.get(done or ""))


@register(router, "POST /staff/referrals/{reference}/assign")
def assign(reference: str) -> Response[str]:
    reference = check_reference(reference)
    session, form = checked_form(router, return_to=f"/staff/referrals/{reference}")
    to = str(form.get("to") or "")
    try:
        version = whole_number(str(form.get("version", "")))
        apply(assignment.assign, session, version, reference, session.subject if to == "me" else to)
    except IllegalTransition as refused:
        return case(session, reference, status=409, refusal=in_words(refused))
    except Invalid as refused:
        return case(session, reference, status=422, refusal=refused.message)
    logger.info("Referral assigned", extra={"reference": reference})
    return as_response(redirect(f"/staff/referrals/{reference}?done=assigned"))


@register(router, "POST /staff/referrals/{reference}/notes")
def add_note(reference: str) -> Response[str]:
    reference = check_reference(reference)
    session, form = checked_form(router, return_to=f"/staff/referrals/{reference}")
    text = str(form.get("note") or "")
    try:
        notes.add_note(
            reference,
            text,
            actor=session.actor,
            author=session.name,
            reader=reader(),
            settings=get_settings(),
            correlation_id=correlation_id(),
        )
    except Invalid as refused:
        problem = (refused.errors or [{"message": refused.message}])[0]["message"]
        return case(
            session, reference, status=422, note=text, note_error=problem, errors=[{"text": problem, "href": "#note"}]
        )
    logger.info("Case note added", extra={"reference": reference})  # the note's text never reaches a log
    return as_response(redirect(f"/staff/referrals/{reference}?done=noted#notes"))


@register(router, "POST /staff/referrals/{reference}/accept")
def accept(reference: str) -> Response[str]:
    return _decide(check_reference(reference), Decision.ACCEPT)


@register(router, "GET /staff/referrals/{reference}/decline")
@register(router, "GET /staff/referrals/{reference}/withdraw")
def reason_form(reference: str) -> Response[str]:
    session = signed_in(router)
    reference = check_reference(reference)
    decision = Decision(router.current_event.path.rsplit("/", 1)[1])
    version = whole_number((router.current_event.query_string_parameters or {}).get("version", "")) or 0
    return _reason_page(session, reference, decision, version, reason="", error=None)


@register(router, "POST /staff/referrals/{reference}/decline")
def decline(reference: str) -> Response[str]:
    return _decide(check_reference(reference), Decision.DECLINE)


@register(router, "POST /staff/referrals/{reference}/withdraw")
def withdraw(reference: str) -> Response[str]:
    return _decide(check_reference(reference), Decision.WITHDRAW)


def _decide(reference: str, decision: Decision) -> Response[str]:
    session, form = checked_form(router, return_to=f"/staff/referrals/{reference}")
    version = whole_number(str(form.get("version", "")))
    reason = str(form.get("reason") or "").strip() if decision in REASON_FORMS else None
    if decision in REASON_FORMS and (not reason or len(reason) > MAX_REASON):
        error = "Enter a reason" if not reason else f"The reason must be {MAX_REASON} characters or fewer"
        return _reason_page(session, reference, decision, version or 0, reason=reason or "", error=error, status=422)
    try:
        outcome = apply(decide, session, version, reference, decision, DecisionBody(reason=reason))
    except IllegalTransition as refused:
        logger.info("Change refused", extra={"action": decision.value, "current_status": refused.current.value})
        metrics.add_metric(name="ConsoleChangesRefused", unit=MetricUnit.Count, value=1)
        return case(session, reference, status=409, refusal=in_words(refused))
    logger.info("Referral decided", extra={"reference": reference, "decision": decision.value})
    return as_response(redirect(f"/staff/referrals/{reference}?done={outcome['status']}"))


def in_words(refused: IllegalTransition) -> str:
    now = refused.current.value.replace("_", " ")
    if refused.stale:
        return (
            f"Someone else changed this referral since you opened it: it is now {now}. Check it before you try again."
        )
    return refused.message


def _reason_page(
    session: Session,
    reference: str,
    decision: Decision,
    version: int,
    *,
    reason: str,
    error: str | None,
    status: int = 200,
) -> Response[str]:
    title, button, hint = REASON_FORMS[decision]
    return reason_page(
        session,
        reference,
        version,
        title=title,
        button=button,
        hint=hint,
        reason=reason,
        error=error,
        status=status,
        form_action=f"/staff/referrals/{reference}/{decision.value}",
        warning=decision is Decision.WITHDRAW,
    )


def reason_page(
    session: Session,
    reference: str,
    version: int,
    *,
    title: str,
    button: str,
    hint: str,
    reason: str,
    error: str | None,
    form_action: str,
    warning: bool,
    status: int = 200,
) -> Response[str]:
    """A form asking why (decline, withdraw, cancel a meeting): the GOV.UK error summary when the reason is missing."""
    errors = [{"text": error, "href": "#reason"}] if error else []
    return as_response(
        page(
            status,
            "decide.html",
            session=session,
            title=title,
            button=button,
            hint=hint,
            form_action=form_action,
            warning=warning,
            reference=reference,
            version=version,
            reason=reason,
            reason_error=error,
            errors=errors,
        )
    )
