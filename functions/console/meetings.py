"""Booking a meeting from a proposed slot or any time, moving it, and cancelling it with a reason: the API's
`book_or_move` and `cancel`, with the version the coordinator read. A double booking is shown on the form against
the time; a stale or illegal change on the case page as it now stands."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.metrics import MetricUnit

from functions.console.cases import case, in_words, reason_page
from functions.console.common import apply, checked_form, reader, signed_in
from shared.config import get_settings
from shared.domain.meetings import CancelRequest, DoubleBooked, MeetingTimeRefused
from shared.domain.preparation import PreparationIncomplete
from shared.domain.referrals import check_reference
from shared.domain.workflow import IllegalTransition
from shared.observability import logger, metrics
from shared.service import meetings
from shared.service.staff_sessions import Session
from shared.views.referrals import referral_view
from shared.web import meeting_form
from shared.web.console import page, redirect
from shared.web.http import as_response, whole_number
from shared.web.routes import register

router = Router()
MAX_REASON = 2000


@register(router, "GET /staff/referrals/{reference}/meeting")
def meeting_page(reference: str) -> Response[str]:
    session = signed_in(router)
    reference = check_reference(reference)
    params = router.current_event.query_string_parameters or {}
    view = referral_view(reader(), reference)  # what the form needs: the meeting and proposals, no one's details
    proposals = view.get("proposals") or {}
    slots = proposals.get("slots") or []
    chosen = whole_number(params.get("slot", ""))
    slot = slots[chosen] if chosen is not None and chosen < len(slots) else None
    values = meeting_form.prefilled(
        view.get("meeting") if view["status"] == "meeting_scheduled" else None,
        slot,
        proposals.get("facilitator_id"),
        get_settings().meeting_length_minutes,
    )
    version = whole_number(params.get("version", "")) or int(view["version"])
    return _form(
        session, reference, version, meeting_form.MeetingForm(values), moving=view["status"] == "meeting_scheduled"
    )


@register(router, "POST /staff/referrals/{reference}/meeting")
def book_or_move(reference: str) -> Response[str]:
    reference = check_reference(reference)
    session, form = checked_form(router, return_to=f"/staff/referrals/{reference}")
    version = whole_number(str(form.get("version", "")))
    moving = form.get("moving") == "yes"
    request, checked = meeting_form.read(form)
    if request is None:
        return _form(session, reference, version or 0, checked, moving=moving, status=422)
    try:
        outcome = apply(meetings.book_or_move, session, version, reference, request)
    except PreparationIncomplete as refused:  # each item not yet done, to the preparation page's checklist
        metrics.add_metric(name="BookingsBeforePreparation", unit=MetricUnit.Count, value=1)
        checked.errors += [
            {"text": problem["message"], "href": f"/staff/referrals/{reference}/preparation#checklist"}
            for problem in refused.errors or []
        ]
        return _form(session, reference, version or 0, checked, moving=moving, status=422)
    except MeetingTimeRefused as refused:
        metrics.add_metric(name="MeetingTimesRefused", unit=MetricUnit.Count, value=1)
        checked.refused_time(refused)
        return _form(session, reference, version or 0, checked, moving=moving, status=422)
    except DoubleBooked as refused:
        metrics.add_metric(name="DoubleBookingsRefused", unit=MetricUnit.Count, value=1)
        checked.errors.append({"text": refused.message, "href": "#time"})
        return _form(session, reference, version or 0, checked, moving=moving, status=409)
    except IllegalTransition as refused:
        metrics.add_metric(name="ConsoleChangesRefused", unit=MetricUnit.Count, value=1)
        return case(session, reference, status=409, refusal=in_words(refused))
    done = "moved" if outcome["meeting"]["sequence"] else "booked"
    logger.info("Meeting booked", extra={"reference": reference, "sequence": outcome["meeting"]["sequence"]})
    return as_response(redirect(f"/staff/referrals/{reference}?done={done}"))


@register(router, "GET /staff/referrals/{reference}/meeting/cancel")
def cancel_page(reference: str) -> Response[str]:
    session = signed_in(router)
    reference = check_reference(reference)
    version = whole_number((router.current_event.query_string_parameters or {}).get("version", "")) or 0
    return _cancel_form(session, reference, version, reason="", error=None)


@register(router, "POST /staff/referrals/{reference}/meeting/cancel")
def cancel(reference: str) -> Response[str]:
    reference = check_reference(reference)
    session, form = checked_form(router, return_to=f"/staff/referrals/{reference}")
    version = whole_number(str(form.get("version", "")))
    reason = str(form.get("reason") or "").strip()
    if not reason or len(reason) > MAX_REASON:
        error = (
            "Enter why the meeting is cancelled"
            if not reason
            else f"The reason must be {MAX_REASON} characters or fewer"
        )
        return _cancel_form(session, reference, version or 0, reason=reason, error=error, status=422)
    try:
        apply(meetings.cancel, session, version, reference, CancelRequest(reason=reason))
    except IllegalTransition as refused:
        return case(session, reference, status=409, refusal=in_words(refused))
    logger.info("Meeting cancelled", extra={"reference": reference})
    return as_response(redirect(f"/staff/referrals/{reference}?done=cancelled"))


def _form(
    session: Session, reference: str, version: int, form: meeting_form.MeetingForm, *, moving: bool, status: int = 200
) -> Response[str]:
    facilitators = meetings.list_facilitators(reader())
    values: dict[str, Any] = {
        "facilitator_items": [
            {"value": f["facilitator_id"], "text": f"{f.get('name') or f['facilitator_id']} ({f.get('locality', '')})"}
            for f in facilitators
        ],
        "length_items": [
            {"value": str(n), "text": f"{n // 60} h {n % 60:02d} min" if n % 60 else f"{n // 60} hours"}
            for n in meeting_form.LENGTHS
        ],
        "venue_items": [{"value": value, "text": text} for value, text in meeting_form.VENUE_CHOICES],
    }
    return as_response(
        page(
            status,
            "meeting.html",
            session=session,
            title="Move the meeting" if moving else "Book the meeting",
            button="Move meeting" if moving else "Book meeting",
            moving=moving,
            reference=reference,
            version=version,
            form=form,
            errors=form.errors,
            **values,
        )
    )


def _cancel_form(
    session: Session, reference: str, version: int, *, reason: str, error: str | None, status: int = 200
) -> Response[str]:
    return reason_page(
        session,
        reference,
        version,
        title="Why is the meeting cancelled?",
        button="Cancel meeting",
        hint="The family, the referrer and the facilitator are told, with a cancellation for their calendars.",
        reason=reason,
        error=error,
        status=status,
        form_action=f"/staff/referrals/{reference}/meeting/cancel",
        warning=True,
    )
