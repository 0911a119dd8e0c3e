"""Facilitators and the Early Help network's partners, on screen (issue 19, items 4 and 5): list, add and change a
facilitator (saving one makes the waiting referrals' proposals again); the partner directory with its filters by
offer and locality, add, change and deactivate a partner. Every change is a form with the version read; done, it
redirects (303) to the list, so a reload never repeats it."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.metrics import MetricUnit

from functions.console.common import checked_form, reader, signed_in
from shared.config import get_settings
from shared.domain.errors import Conflict
from shared.observability import logger, metrics
from shared.service import facilitators, partners
from shared.service.staff_sessions import Session
from shared.web import facilitator_form, partner_form
from shared.web.console import page, redirect
from shared.web.http import HttpError, as_response, whole_number
from shared.web.routes import register

router = Router()
DONE = {
    "added": "Facilitator added: waiting referrals have new proposals",
    "changed": "Facilitator's details saved: waiting referrals have new proposals",
    "partner-added": "Partner added to the directory",
    "partner-changed": "Partner's details saved",
    "partner-deactivated": "Partner deactivated: it is no longer in the directory",
}
MAX_FILTER = 60


def _done() -> str | None:
    return DONE.get((router.current_event.query_string_parameters or {}).get("done") or "")


# --- facilitators -----------------------------------------------------------------------------------------------
@register(router, "GET /staff/facilitators")
def facilitator_list() -> Response[str]:
    session = signed_in(router)
    found = facilitators.every(reader())
    for facilitator in found:
        facilitator["hours"] = facilitator_form.weekly_words(facilitator.get("weekly") or [])
    return as_response(
        page(
            200,
            "facilitators.html",
            session=session,
            title="Facilitators",
            section="facilitators",
            facilitators=found,
            done=_done(),
        )
    )


@register(router, "GET /staff/facilitators/new")
def new_facilitator() -> Response[str]:
    session = signed_in(router)
    return _facilitator_page(session, None, facilitator_form.prefilled(None), version=0)


@register(router, "POST /staff/facilitators/new")
def add_facilitator() -> Response[str]:
    session, form = checked_form(router, return_to="/staff/facilitators/new")
    details, checked = facilitator_form.read(form)
    if details is None:
        return _facilitator_page(session, None, checked, version=0, status=422)
    saved = facilitators.add(details, actor=session.actor, reader=reader(), settings=get_settings())
    _saved("Facilitator added", saved)
    return as_response(redirect("/staff/facilitators?done=added"))


@register(router, "GET /staff/facilitators/{facilitator_id}")
def facilitator_page(facilitator_id: str) -> Response[str]:
    facilitators.check_id(facilitator_id)
    session = signed_in(router)
    facilitator = facilitators.one(reader(), facilitator_id)
    return _facilitator_page(
        session, facilitator, facilitator_form.prefilled(facilitator), version=facilitator["version"]
    )


@register(router, "POST /staff/facilitators/{facilitator_id}")
def change_facilitator(facilitator_id: str) -> Response[str]:
    facilitators.check_id(facilitator_id)
    session, form = checked_form(router, return_to="/staff/facilitators")
    current = facilitators.one(reader(), facilitator_id)
    version = whole_number(str(form.get("version", "")))
    details, checked = facilitator_form.read(form)
    if details is None:
        return _facilitator_page(session, current, checked, version=version or 0, status=422)
    try:
        saved = facilitators.change(
            facilitator_id,
            details,
            expected_version=version,
            actor=session.actor,
            reader=reader(),
            settings=get_settings(),
        )
    except Conflict as refused:
        fresh = facilitators.one(reader(), facilitator_id)
        checked.errors.append({"text": refused.message, "href": "#name"})
        return _facilitator_page(session, fresh, checked, version=fresh["version"], status=409)
    _saved("Facilitator changed", saved)
    return as_response(redirect("/staff/facilitators?done=changed"))


def _saved(what: str, saved: facilitators.Saved) -> None:
    logger.info(
        what,
        extra={
            "facilitator_id": saved.facilitator["facilitator_id"],
            "waiting": saved.proposals.waiting,
            "proposals_changed": saved.proposals.changed,
        },
    )
    metrics.add_metric(name="FacilitatorsSaved", unit=MetricUnit.Count, value=1)


def _facilitator_page(
    session: Session,
    facilitator: dict[str, Any] | None,
    form: facilitator_form.FacilitatorForm,
    *,
    version: int,
    status: int = 200,
) -> Response[str]:
    return as_response(
        page(
            status,
            "facilitator.html",
            session=session,
            title="Change a facilitator's details" if facilitator else "Add a facilitator",
            section="facilitators",
            facilitator=facilitator,
            version=version,
            form=form,
            errors=form.errors,
            days=facilitator_form.DAYS,
        )
    )


# --- partners ---------------------------------------------------------------------------------------------------
@register(router, "GET /staff/partners")
def partner_directory() -> Response[str]:
    params = router.current_event.query_string_parameters or {}
    offer = params.get("offer") or None
    if offer is not None and offer not in partner_form.OFFERS:
        raise HttpError(400, "Choose what the partner offers from the list")
    locality = str(params.get("locality") or "").strip() or None
    if len(params.get("locality") or "") > MAX_FILTER:
        raise HttpError(400, f"Enter a locality of {MAX_FILTER} characters or fewer")
    session = signed_in(router)
    found = partners.directory(reader(), offer=offer, locality=locality)
    return as_response(
        page(
            200,
            "partners.html",
            session=session,
            title="Partners",
            section="partners",
            partners=found,
            offer=offer,
            locality=locality,
            offer_words=partner_form.OFFER_WORDS,
            kind_words=partner_form.KIND_WORDS,
            done=_done(),
        )
    )


@register(router, "GET /staff/partners/new")
def new_partner() -> Response[str]:
    session = signed_in(router)
    return _partner_page(session, None, partner_form.prefilled(None))


@register(router, "POST /staff/partners/new")
def add_partner() -> Response[str]:
    session, form = checked_form(router, return_to="/staff/partners/new")
    request, checked = partner_form.read(form)
    if request is None:
        return _partner_page(session, None, checked, status=422)
    partner = partners.add(request, actor=session.actor, settings=get_settings())
    logger.info("Partner added", extra={"partner_id": partner["partner_id"]})
    metrics.add_metric(name="PartnersAdded", unit=MetricUnit.Count, value=1)
    return as_response(redirect("/staff/partners?done=partner-added"))


@register(router, "GET /staff/partners/{partner_id}")
def partner_page(partner_id: str) -> Response[str]:
    partners.check_id(partner_id)
    session = signed_in(router)
    partner = _partner(partner_id)
    return _partner_page(session, partner, partner_form.prefilled(partner))


@register(router, "POST /staff/partners/{partner_id}")
def change_partner(partner_id: str) -> Response[str]:
    partners.check_id(partner_id)
    session, form = checked_form(router, return_to=f"/staff/partners/{partner_id}")
    current = _partner(partner_id)
    version = whole_number(str(form.get("version", "")))
    request, checked = partner_form.read(form, active=bool(current["active"]))
    if request is None:
        return _partner_page(session, {**current, "version": version or current["version"]}, checked, status=422)
    try:
        partner = partners.change(
            partner_id, request, actor=session.actor, expected_version=version, reader=reader(), settings=get_settings()
        )
    except Conflict as refused:
        checked.errors.append({"text": refused.message, "href": "#name"})
        return _partner_page(session, _partner(partner_id), checked, status=409)
    logger.info("Partner changed", extra={"partner_id": partner_id, "active": partner["active"]})
    metrics.add_metric(name="PartnersChanged", unit=MetricUnit.Count, value=1)
    return as_response(redirect("/staff/partners?done=partner-changed"))


@register(router, "POST /staff/partners/{partner_id}/deactivate")
@register(router, "POST /staff/partners/{partner_id}/activate")
def set_active(partner_id: str) -> Response[str]:
    partners.check_id(partner_id)
    session, form = checked_form(router, return_to=f"/staff/partners/{partner_id}")
    current = _partner(partner_id)
    active = router.current_event.path.endswith("/activate")
    version = whole_number(str(form.get("version", "")))
    try:
        partners.change(
            partner_id,
            partner_form.as_request(current, active=active),
            actor=session.actor,
            expected_version=version,
            reader=reader(),
            settings=get_settings(),
        )
    except Conflict as refused:
        checked = partner_form.prefilled(current)
        checked.errors.append({"text": refused.message, "href": "#name"})
        return _partner_page(session, current, checked, status=409)
    logger.info("Partner changed", extra={"partner_id": partner_id, "active": active})
    metrics.add_metric(name="PartnersChanged", unit=MetricUnit.Count, value=1)
    if active:
        return as_response(redirect("/staff/partners?done=partner-changed"))
    return as_response(redirect("/staff/partners?done=partner-deactivated"))


def _partner(partner_id: str) -> dict[str, Any]:
    return partners.one(reader(), partner_id)


def _partner_page(
    session: Session, partner: dict[str, Any] | None, form: partner_form.PartnerForm, *, status: int = 200
) -> Response[str]:
    return as_response(
        page(
            status,
            "partner.html",
            session=session,
            title="Change a partner's details" if partner else "Add a partner",
            section="partners",
            partner=partner,
            form=form,
            errors=form.errors,
            offer_words=partner_form.OFFER_WORDS,
            kind_words=partner_form.KIND_WORDS,
        )
    )
