"""Support package spending on screen (issue 19, item 2): the managers' approvals page (items waiting, oldest first,
one Query), the page where a manager approves or declines an item (with a reason), and the delivery of an approved
item recorded from the case page (actual cost, supplier, date). The API's `decide` and `record_delivery`
(shared/service/approvals.py) with the version read: a coordinator is refused approving or declining (403), a stale
or illegal change is refused with the reason on the page as it now stands."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.metrics import MetricUnit

from functions.console.cases import DONE, case, in_words
from functions.console.common import apply, checked_form, reader, signed_in
from functions.console.privacy import managers_only
from shared.config import get_settings
from shared.domain import clock
from shared.domain.errors import Conflict, Invalid, NotFound
from shared.domain.referrals import REFERENCE_PATTERN, check_reference
from shared.domain.workflow import IllegalTransition
from shared.observability import logger, metrics
from shared.service import approvals
from shared.service.staff_sessions import Session
from shared.views.referrals import Access, decode_key, referral_view
from shared.views.worklist import APPROVALS, approvals_waiting
from shared.web import package_forms
from shared.web.console import page, redirect
from shared.web.http import HttpError, as_response, whole_number
from shared.web.routes import register

router = Router()
DONE |= {"delivered": "Delivery recorded: the spend is counted in the managers' figures"}
DECIDED = {
    "approved": "Item {number} of {reference} approved: the coordinators are told by email",
    "declined": "Item {number} of {reference} declined: the coordinators are told by email, the reason is on the "
    "case page",
}
WHY = {
    "item_limit": "Its estimated cost is over the approval limit of £{item_limit}",
    "total": "The package's estimated total is over the approval limit of £{total_limit}",
}


def _number(number: str) -> int:
    found = whole_number(number)
    if found is None or not 1 <= found <= 999:
        raise HttpError(404, "There is no such support package item")
    return found


def _pounds(pence: int) -> str:
    return f"{pence / 100:,.2f}".removesuffix(".00")


@register(router, "GET /staff/approvals")
def approvals_page() -> Response[str]:
    params = router.current_event.query_string_parameters or {}
    decode_key(params.get("cursor"), APPROVALS.span.index)  # one this service never gave: 400, signed in or not
    session = managers_only(signed_in(router), approvals.MANAGERS_ONLY)
    waiting = approvals_waiting(reader(), now=clock.now(), cursor=params.get("cursor"))
    decided = params.get("done", "")
    done = None
    ref, n = params.get("reference", ""), whole_number(params.get("item", ""))
    if decided in DECIDED and REFERENCE_PATTERN.match(ref) and n is not None:  # a banner: anything else shows none
        done = DECIDED[decided].format(number=n, reference=ref)
    return as_response(
        page(
            200,
            "approvals.html",
            session=session,
            title="Support package items waiting for approval",
            section="approvals",
            waiting=waiting,
            done=done,
            limits=_limits(),
        )
    )


def _limits() -> dict[str, str]:
    settings = get_settings()
    return {
        "item_limit": _pounds(settings.package_approval_pence),
        "total_limit": _pounds(settings.package_approval_total_pence),
    }


def _why() -> dict[str, str]:
    return {key: words.format(**_limits()) for key, words in WHY.items()}


def _approval_page(
    session: Session,
    reference: str,
    number: int,
    *,
    status: int = 200,
    reason: str = "",
    reason_error: str | None = None,
    refusal: str | None = None,
) -> Response[str]:
    """The item as the plan holds it, with the approve and decline forms while it waits (reading it is a read of
    the case: recorded in the read audit)."""
    route = "GET /staff/referrals/{reference}/plan/items/{number}/approval"
    view = referral_view(reader(), reference, Access(session.actor, route, get_settings(), clock.now()))
    package = list((view.get("plan") or {}).get("support_package") or [])
    entry = next((e for e in package if int(e["number"]) == number), None)
    if entry is None:
        raise NotFound(f"This referral's plan has no support package item {number}")
    total = sum(int(e["estimated_cost_pence"]) for e in package if e.get("status") != "declined")
    return as_response(
        page(
            status,
            "approve.html",
            session=session,
            title=f"Approve or decline item {number} of {reference}",
            section="approvals",
            reference=reference,
            version=view["version"],
            item=entry,
            total_pence=total,
            why=_why(),
            reason=reason,
            reason_error=reason_error,
            refusal=refusal,
            errors=[{"text": reason_error, "href": "#reason"}] if reason_error else [],
        )
    )


@register(router, "GET /staff/referrals/{reference}/plan/items/{number}/approval")
def approval_page(reference: str, number: str) -> Response[str]:
    found = _number(number)  # an address that cannot be an item's is not found, signed in or not
    session = managers_only(signed_in(router), approvals.MANAGERS_ONLY)
    return _approval_page(session, check_reference(reference), found)


@register(router, "POST /staff/referrals/{reference}/plan/items/{number}/approve")
def approve(reference: str, number: str) -> Response[str]:
    return _decide(check_reference(reference), _number(number), "approve")


@register(router, "POST /staff/referrals/{reference}/plan/items/{number}/decline")
def decline(reference: str, number: str) -> Response[str]:
    return _decide(check_reference(reference), _number(number), "decline")


def _decide(reference: str, number: int, decision: approvals.Decision) -> Response[str]:
    here = f"/staff/referrals/{reference}/plan/items/{number}/approval"
    session, form = checked_form(router, return_to=here)
    managers_only(session, approvals.MANAGERS_ONLY)
    reason: str | None = None
    if decision == "decline":
        reason, problem = package_forms.decline_reason(form)
        if problem:
            return _approval_page(session, reference, number, status=422, reason=reason, reason_error=problem)
    version = whole_number(str(form.get("version", "")))
    try:
        outcome = apply(approvals.decide, session, version, reference, number, decision, reason)
    except IllegalTransition as refused:
        metrics.add_metric(name="ConsoleChangesRefused", unit=MetricUnit.Count, value=1)
        return _approval_page(session, reference, number, status=409, refusal=in_words(refused))
    except Conflict as refused:
        return _approval_page(session, reference, number, status=409, refusal=refused.message)
    logger.info(
        "Package item decided" if outcome["changed"] else "Package item decided before: nothing changed",
        extra={"reference": reference, "item_number": number, "decision": decision},
    )
    if outcome["changed"]:
        name = "PackageItemsApproved" if decision == "approve" else "PackageItemsDeclined"
        metrics.add_metric(name=name, unit=MetricUnit.Count, value=1)
    done = approvals.DECIDED[decision]
    return as_response(redirect(f"/staff/approvals?done={done}&reference={reference}&item={number}"))


@register(router, "POST /staff/referrals/{reference}/plan/items/{number}/delivery")
def delivery(reference: str, number: str) -> Response[str]:
    reference, found = check_reference(reference), _number(number)
    session, form = checked_form(router, return_to=f"/staff/referrals/{reference}")
    checked = package_forms.delivery_posted(form, found)
    recorded = package_forms.delivery_read(checked)
    if recorded is not None:
        try:
            version = whole_number(str(form.get("version", "")))
            outcome = apply(approvals.record_delivery, session, version, reference, found, recorded)
        except IllegalTransition as refused:
            metrics.add_metric(name="ConsoleChangesRefused", unit=MetricUnit.Count, value=1)
            return case(session, reference, status=409, refusal=in_words(refused))
        except Conflict as refused:
            return case(session, reference, status=409, refusal=refused.message)
        except Invalid as refused:
            package_forms.delivery_refused(checked, refused)
        else:
            logger.info("Package item delivered", extra={"reference": reference, "item_number": found})
            if outcome["changed"]:
                metrics.add_metric(name="PackageItemsDelivered", unit=MetricUnit.Count, value=1)
            return as_response(redirect(f"/staff/referrals/{reference}?done=delivered#item-{found}"))
    return _delivery_again(session, reference, checked)


def _delivery_again(session: Session, reference: str, checked: package_forms.DeliveryForm) -> Response[str]:
    values: dict[str, Any] = package_forms.delivery_values(checked)
    return case(session, reference, status=422, delivery=values, errors=checked.errors)
