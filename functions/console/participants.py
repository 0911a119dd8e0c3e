"""A meeting's participants on screen (issue 20, item 6): add one, change one, exclude one with a reason. Each
change is a form with the participant's version as read; done, it redirects (303) to the case page's participants,
so a reload never repeats it. A stale change shows the form again as the participant now stands."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.metrics import MetricUnit

from functions.console.cases import case, in_words
from functions.console.common import checked_form, correlation_id, reader, signed_in
from shared.config import get_settings
from shared.domain import clock
from shared.domain.errors import Conflict, Invalid
from shared.domain.participants import (
    ATTENDANCE_WORDS,
    PREFERENCE_WORDS,
    ROLE_WORDS,
    ParticipantNotFound,
    check_participant_id,
)
from shared.domain.referrals import ReferralNotFound, check_reference
from shared.domain.workflow import IllegalTransition
from shared.observability import logger, metrics
from shared.service import participants
from shared.service.staff_sessions import Session
from shared.views.referrals import Access, participants_read
from shared.web import participant_form
from shared.web.console import page, redirect
from shared.web.http import as_response, whole_number
from shared.web.routes import register

router = Router()


@register(router, "GET /staff/referrals/{reference}/participants/new")
def new_participant(reference: str) -> Response[str]:
    session = signed_in(router)
    reference = check_reference(reference)
    if reader().referral(reference) is None:
        raise ReferralNotFound(reference)
    return _form(session, reference, None, participant_form.prefilled(None))


@register(router, "POST /staff/referrals/{reference}/participants/new")
def add_participant(reference: str) -> Response[str]:
    reference = check_reference(reference)
    session, form = checked_form(router, return_to=f"/staff/referrals/{reference}")
    request, checked = participant_form.read(form)
    if request is None:
        return _form(session, reference, None, checked, status=422)
    try:
        added = participants.add(
            reference,
            request,
            actor=session.actor,
            reader=reader(),
            settings=get_settings(),
            correlation_id=correlation_id(),
        )
    except IllegalTransition as refused:
        return case(session, reference, status=409, refusal=in_words(refused))
    except Invalid as refused:  # one participant too many
        checked.errors.append({"text": refused.message, "href": "#name"})
        return _form(session, reference, None, checked, status=422)
    logger.info("Participant added", extra={"reference": reference, "participant_id": added["participant_id"]})
    metrics.add_metric(name="ParticipantsAdded", unit=MetricUnit.Count, value=1)
    return as_response(redirect(f"/staff/referrals/{reference}?done=participant-added#participants"))


@register(router, "GET /staff/referrals/{reference}/participants/{participant_id}")
def participant_page(reference: str, participant_id: str) -> Response[str]:
    check_participant_id(participant_id)
    session = signed_in(router)
    reference = check_reference(reference)
    participant = _participant(session, reference, participant_id)
    return _form(session, reference, participant, participant_form.prefilled(participant))


@register(router, "POST /staff/referrals/{reference}/participants/{participant_id}")
def change_participant(reference: str, participant_id: str) -> Response[str]:
    check_participant_id(participant_id)
    reference = check_reference(reference)
    session, form = checked_form(router, return_to=f"/staff/referrals/{reference}")
    version = whole_number(str(form.get("version", "")))
    request, checked = participant_form.read(form)
    if request is None:
        current = _participant(session, reference, participant_id)
        return _form(session, reference, {**current, "version": version or current["version"]}, checked, status=422)
    try:
        changed = participants.change(
            reference,
            participant_id,
            request,
            actor=session.actor,
            expected_version=version,
            reader=reader(),
            settings=get_settings(),
            correlation_id=correlation_id(),
        )
    except IllegalTransition as refused:
        return case(session, reference, status=409, refusal=in_words(refused))
    except Conflict as refused:
        fresh = _participant(session, reference, participant_id)
        stale = participant_form.prefilled(fresh)
        stale.errors.append({"text": refused.message, "href": "#name"})
        return _form(session, reference, fresh, stale, status=409)
    logger.info(
        "Participant changed",
        extra={"reference": reference, "participant_id": participant_id, "attendance": changed["attendance"]},
    )
    metrics.add_metric(name="ParticipantsChanged", unit=MetricUnit.Count, value=1)
    return as_response(redirect(f"/staff/referrals/{reference}?done=participant-changed#participants"))


def _participant(session: Session, reference: str, participant_id: str) -> dict[str, Any]:
    """The participant as stored (their details: a read of the case, recorded in the read audit)."""
    route = "GET /staff/referrals/{reference}/participants/{participant_id}"
    listed = participants_read(reader(), reference, Access(session.actor, route, get_settings(), clock.now()))
    found: dict[str, Any] | None = next((p for p in listed["items"] if p["participant_id"] == participant_id), None)
    if found is None:
        raise ParticipantNotFound()
    return found


def _form(
    session: Session,
    reference: str,
    participant: dict[str, Any] | None,
    form: participant_form.ParticipantForm,
    *,
    status: int = 200,
) -> Response[str]:
    return as_response(
        page(
            status,
            "participant.html",
            session=session,
            title="Change a participant's details" if participant else "Add a participant",
            reference=reference,
            participant=participant,
            form=form,
            errors=form.errors,
            role_words=ROLE_WORDS,
            preference_words=PREFERENCE_WORDS,
            attendance_words=ATTENDANCE_WORDS,
        )
    )
