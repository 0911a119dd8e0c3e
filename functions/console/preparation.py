"""Preparing for the meeting, on screen: the coordinator's contacts (a visit or a call), the family's decision, the
checklist a booking waits for, and each child's voice, on the service layer the JSON API uses.

Every form carries the version the coordinator read: a stale or illegal change is refused on the page as it now
stands, with the reason. What was typed never reaches a log line (references and states only)."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.metrics import MetricUnit

from functions.console.cases import in_words
from functions.console.common import checked_form, correlation_id, reader, signed_in
from shared.config import get_settings
from shared.domain import clock
from shared.domain.errors import Invalid
from shared.domain.preparation import CHECKLIST, CONTACT_METHODS, PARTICIPATION, NoSuchChild, child_number
from shared.domain.referrals import check_reference, today
from shared.domain.workflow import IllegalTransition
from shared.observability import logger, metrics
from shared.service import preparation
from shared.service.staff_sessions import Session
from shared.views.referrals import Access, referral_view
from shared.web import preparation_form
from shared.web.case_page import when
from shared.web.console import page, redirect
from shared.web.http import as_response, whole_number
from shared.web.preparation_form import PreparationForm
from shared.web.routes import register

router = Router()
DONE = {
    "contact": "Contact recorded",
    "decision": "The family's decision recorded",
    "checklist": "Checklist saved",
    "voice": "The child's voice recorded",
}
# where a service refusal's field is on the forms
_BOXES = {"contacted_on": "contact_day", "decided_on": "decided_day", "done": "done"}


def _view(session: Session, reference: str, route: str) -> dict[str, Any]:
    """The referral as these pages need it; reading it (notes, wishes and feelings) is recorded in the read audit."""
    settings = get_settings()
    access = Access(session.actor, route, settings, clock.now())
    return referral_view(reader(), reference, access, checklist=settings.preparation_checklist)


def _children(view: dict[str, Any]) -> list[dict[str, Any]]:
    submission = view["submission"] if isinstance(view.get("submission"), dict) else {}
    voices = {int(v["child"]): v for v in view.get("child_voices") or []}
    return [
        {"number": n, "first_name": str(child.get("first_name") or f"Child {n}"), "voice": voices.get(n)}
        for n, child in enumerate((submission.get("family") or {}).get("children") or [], start=1)
    ]


def _blank(name: str) -> PreparationForm:
    now = today()
    dated = {"day": str(now.day), "month": str(now.month), "year": str(now.year)}
    if name == "contact":
        return PreparationForm(
            name, {"contact_method": "", "contact_note": ""} | {f"contact_{k}": v for k, v in dated.items()}
        )
    return PreparationForm(name, {"go_ahead": "", "decision_note": ""} | {f"decided_{k}": v for k, v in dated.items()})


def _preparation_page(
    session: Session,
    reference: str,
    *,
    posted: PreparationForm | None = None,
    status: int = 200,
    refusal: str | None = None,
    done: str | None = None,
) -> Response[str]:
    view = _view(session, reference, "GET /staff/referrals/{reference}/preparation")
    prepared = view["preparation"]
    forms = {name: _blank(name) for name in ("contact", "decision")}
    ticked = [entry["item"] for entry in prepared["checklist"] if entry["done"] and not entry["from_decision"]]
    forms["checklist"] = PreparationForm("checklist", {"done": ticked})
    if posted is not None:
        forms[posted.name] = posted
    decision = prepared.get("family_decision")
    return as_response(
        page(
            status,
            "preparation.html",
            session=session,
            title="Preparing for the meeting",
            reference=reference,
            referral=view,
            prepared=prepared,
            forms=forms,
            errors=posted.errors if posted else [],
            refusal=refusal,
            done=done,
            decision_words=(
                (
                    ("Going ahead" if decision.get("go_ahead") else "Not going ahead")
                    + f", decided on {decision['decided_on']}"
                )
                if decision
                else "Not recorded yet"
            ),
            contacts=[
                {**c, "method_words": CONTACT_METHODS.get(str(c.get("method")), ""), "recorded": when(str(c["at"]))}
                for c in prepared["contacts"]
            ],
            checklist_items=[
                {
                    "value": entry["item"],
                    "text": entry["label"],
                    "checked": entry["item"] in forms["checklist"].values["done"],
                }
                for entry in prepared["checklist"]
                if not entry["from_decision"]
            ],
            children=_children(view),
            participation_words=PARTICIPATION,
            missing_words=[CHECKLIST[item] for item in prepared["missing"]],
            method_items=[{"value": k, "text": v} for k, v in CONTACT_METHODS.items()],
        )
    )


@register(router, "GET /staff/referrals/{reference}/preparation")
def preparation_page(reference: str) -> Response[str]:
    session = signed_in(router)
    done = (router.current_event.query_string_parameters or {}).get("done")
    return _preparation_page(session, check_reference(reference), done=DONE.get(done or ""))


def _refused(checked: PreparationForm, refused: Invalid) -> None:
    """A rule the service applies (a date before the referral), against the form's box."""
    for problem in refused.errors or [{"field": "", "message": refused.message}]:
        box = _BOXES.get(problem["field"], next(iter(checked.values), ""))
        checked.errors.append({"text": problem["message"], "href": f"#{box}"})


def _record(reference: str, name: str, operation: Any, *args: Any, **extra: Any) -> Response[str]:
    """Read one preparation form, apply it as the signed-in person, and show the result (or the problems)."""
    session, form = checked_form(router, return_to=f"/staff/referrals/{reference}/preparation")
    version = whole_number(str(form.get("version", "")))
    if name == "contact":
        request, checked = preparation_form.read_contact(form)
    elif name == "decision":
        request, checked = preparation_form.read_decision(form)  # type: ignore[assignment]
    else:
        request, checked = preparation_form.read_checklist(form, get_settings().preparation_checklist)  # type: ignore[assignment]
    if request is None:
        return _preparation_page(session, reference, posted=checked, status=422)
    try:
        outcome = operation(
            reference,
            request,
            *args,
            actor=session.actor,
            expected_version=version,
            reader=reader(),
            settings=get_settings(),
            correlation_id=correlation_id(),
            **({"author": session.name} if name == "contact" else {}),
            **extra,
        )
    except IllegalTransition as refused:
        metrics.add_metric(name="ConsoleChangesRefused", unit=MetricUnit.Count, value=1)
        return _preparation_page(session, reference, status=409, refusal=in_words(refused))
    except Invalid as refused:
        _refused(checked, refused)
        return _preparation_page(session, reference, posted=checked, status=422)
    logger.info("Preparation recorded", extra={"reference": reference, "what": name, "status": outcome["status"]})
    if outcome["status"] == "family_declined":
        metrics.add_metric(name="FamiliesDeclined", unit=MetricUnit.Count, value=1)
        return as_response(redirect(f"/staff/referrals/{reference}?done=family_declined"))
    return as_response(redirect(f"/staff/referrals/{reference}/preparation?done={name}#{name}"))


@register(router, "POST /staff/referrals/{reference}/preparation/contacts")
def record_contact(reference: str) -> Response[str]:
    return _record(check_reference(reference), "contact", preparation.record_contact)


@register(router, "POST /staff/referrals/{reference}/preparation/decision")
def record_decision(reference: str) -> Response[str]:
    return _record(check_reference(reference), "decision", preparation.record_family_decision)


@register(router, "POST /staff/referrals/{reference}/preparation/checklist")
def update_checklist(reference: str) -> Response[str]:
    return _record(check_reference(reference), "checklist", preparation.update_checklist)


def _child(view: dict[str, Any], child: str) -> dict[str, Any]:
    number = child_number(child)
    found = next((c for c in _children(view) if c["number"] == number), None)
    if found is None:
        raise NoSuchChild(len(_children(view)))
    return found


def _voice_page(
    session: Session, reference: str, child: str, *, form: PreparationForm | None = None, status: int = 200
) -> Response[str]:
    view = _view(session, reference, "GET /staff/referrals/{reference}/children/{child}/voice")
    found = _child(view, child)
    checked = form or PreparationForm("voice", preparation_form.voice_values(found["voice"]))
    return as_response(
        page(
            status,
            "child_voice.html",
            session=session,
            title=f"{found['first_name']}'s voice",
            reference=reference,
            referral=view,
            child=found,
            form=checked,
            errors=checked.errors,
            participation_items=[{"value": k, "text": v} for k, v in PARTICIPATION.items()],
        )
    )


@register(router, "GET /staff/referrals/{reference}/children/{child}/voice")
def voice_page(reference: str, child: str) -> Response[str]:
    if child_number(child) is None:  # an address that cannot be a child's is not found, signed in or not
        raise NoSuchChild()
    session = signed_in(router)
    return _voice_page(session, check_reference(reference), child)


@register(router, "POST /staff/referrals/{reference}/children/{child}/voice")
def record_voice(reference: str, child: str) -> Response[str]:
    reference = check_reference(reference)
    number = child_number(child)
    if number is None:
        raise NoSuchChild()
    session, form = checked_form(router, return_to=f"/staff/referrals/{reference}/preparation")
    version = whole_number(str(form.get("version", "")))
    request, checked = preparation_form.read_child_voice(form)
    if request is None:
        return _voice_page(session, reference, child, form=checked, status=422)
    try:
        preparation.record_child_voice(
            reference,
            number,
            request,
            actor=session.actor,
            expected_version=version,
            reader=reader(),
            settings=get_settings(),
            correlation_id=correlation_id(),
        )
    except IllegalTransition as refused:
        metrics.add_metric(name="ConsoleChangesRefused", unit=MetricUnit.Count, value=1)
        return _preparation_page(session, reference, status=409, refusal=in_words(refused))
    logger.info("Child's voice recorded", extra={"reference": reference, "child": number})
    return as_response(redirect(f"/staff/referrals/{reference}/preparation?done=voice#children"))
