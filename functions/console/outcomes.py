"""Recording a meeting's outcome on screen (issue 19, item 1): held, with the plan it agreed (the network's actions,
the support package, the family's answer for each partner named, the first review), or not held with the reason.
The API's `record_outcome` with the version the coordinator read: a stale or illegal change is refused on the case
page as it now stands; the domain's problems are shown on the form, every answer kept."""

from __future__ import annotations

import contextlib

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.metrics import MetricUnit

from functions.console.cases import DONE, case, in_words
from functions.console.common import apply, checked_form, reader, signed_in
from shared.domain.errors import Invalid, NotFound
from shared.domain.referrals import check_reference
from shared.domain.workflow import IllegalTransition
from shared.observability import logger, metrics
from shared.service import meetings, partners
from shared.service.staff_sessions import Session
from shared.views.referrals import referral_view
from shared.web import case_page, plan_form
from shared.web.console import page, redirect
from shared.web.http import as_response, whole_number
from shared.web.routes import register

router = Router()
DONE |= {
    "held": "Outcome recorded: the meeting took place and its plan is recorded",
    "not-held": "Outcome recorded: the meeting did not take place. New times are proposed",
}


@register(router, "GET /staff/referrals/{reference}/outcome")
def outcome_page(reference: str) -> Response[str]:
    session = signed_in(router)
    reference = check_reference(reference)
    version = whole_number((router.current_event.query_string_parameters or {}).get("version", "")) or 0
    return _form(session, reference, version, plan_form.opened(), prefill=True)


@register(router, "POST /staff/referrals/{reference}/outcome")
def record_outcome(reference: str) -> Response[str]:
    reference = check_reference(reference)
    session, form = checked_form(router, return_to=f"/staff/referrals/{reference}")
    version = whole_number(str(form.get("version", "")))
    checked = plan_form.posted(form)
    pressed = plan_form.pressed(form)
    if pressed != plan_form.SEND:  # add or remove a row, or list the partners named: the form again, nothing sent
        plan_form.apply_action(checked, pressed)
        return _form(session, reference, version or 0, checked)
    _, names = partner_choices(checked)
    outcome = plan_form.read(checked, names)
    if outcome is None:
        return _form(session, reference, version or 0, checked, status=422)
    try:
        done = apply(meetings.record_outcome, session, version, reference, outcome)
    except IllegalTransition as refused:
        metrics.add_metric(name="ConsoleChangesRefused", unit=MetricUnit.Count, value=1)
        return case(session, reference, status=409, refusal=in_words(refused))
    except Invalid as refused:  # a partner no longer active, a date still to come
        plan_form.refused(checked, refused, names)
        return _form(session, reference, version or 0, checked, status=422)
    logger.info("Meeting outcome recorded", extra={"reference": reference, "status": done["status"]})
    metrics.add_metric(name="ConsoleOutcomesRecorded", unit=MetricUnit.Count, value=1)
    return as_response(redirect(f"/staff/referrals/{reference}?done={'held' if outcome.held else 'not-held'}"))


def partner_choices(form: plan_form.Rows) -> tuple[list[plan_form.Partner], dict[str, str]]:
    """The active partners to choose from (one Query of the directory index), and the name of every partner the
    form names (one no longer active is read by its id, so the form can say which it is)."""
    active, names = plan_form.partner_choices(partners.directory(reader(), offer=None, locality=None), form)
    for partner_id in [p for p, name in names.items() if name == p]:
        with contextlib.suppress(NotFound):  # an id this service never gave: shown as it was sent
            names[partner_id] = str(partners.one(reader(), partner_id).get("name") or partner_id)
    return active, names


def _form(
    session: Session,
    reference: str,
    version: int,
    form: plan_form.PlanForm,
    *,
    status: int = 200,
    prefill: bool = False,
) -> Response[str]:
    active, names = partner_choices(form)
    meeting = referral_view(reader(), reference).get("meeting")  # its time only: no one's details
    if prefill and meeting and meeting.get("starts_at"):  # most meetings take place when booked
        day = case_page.moment(meeting["starts_at"])
        form.held_on = {"day": str(day.day), "month": str(day.month), "year": str(day.year)}
    return as_response(
        page(
            status,
            "outcome.html",
            session=session,
            title="Record the meeting's outcome",
            reference=reference,
            version=version,
            form=form,
            errors=plan_form.ordered(form.errors, plan_form.layout(form)),
            partners=active,
            names=names,
            named=form.named(),
            categories=plan_form.CATEGORIES,
            max_actions=plan_form.MAX_ACTIONS,
            max_items=plan_form.MAX_ITEMS,
            meeting_when=case_page.when(meeting["starts_at"]) if meeting and meeting.get("starts_at") else "",
        )
    )
