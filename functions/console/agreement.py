"""The plan made at the meeting, waiting for the lead practitioner's agreement (issue 21, item 1): the coordinator
records their answer given by phone or in person (agreed, or changes asked with reasons), audited as the
coordinator's, or sends the plan for agreement again (a new email and link; the last link closes). A plan no longer
waiting for agreement, or a stale read, is refused in words on the case page."""

from __future__ import annotations

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.metrics import MetricUnit
from pydantic import ValidationError

from functions.console.cases import DONE, case, in_words
from functions.console.common import apply, checked_form, signed_in
from shared.domain.referrals import check_reference
from shared.domain.workflow import IllegalTransition
from shared.observability import logger, metrics
from shared.service import agreement
from shared.service.staff_sessions import Session
from shared.web.console import page, redirect
from shared.web.http import as_response, whole_number
from shared.web.routes import register

router = Router()
DONE |= {  # the case page's banners after these changes
    "plan-agreed": "Agreement recorded: the plan is in force, its partners are asked and the referrer is told",
    "plan-changes": "Changes recorded: the plan waits for you to revise it and ask again",
    "agreement-asked": "Plan sent for agreement again: a new email and link are on their way",
}
DECISIONS = (
    ("agree", "They agree the plan"),
    ("change", "They ask for changes"),
)
PROBLEMS = {
    "decision": "Choose whether they agree the plan or ask for changes",
    "reasons": "Say what should change in the plan, and why, in 2,000 characters or fewer",
}
MAX_REASONS = 2000


@register(router, "GET /staff/referrals/{reference}/plan/agreement")
def agreement_page(reference: str) -> Response[str]:
    session = signed_in(router)
    reference = check_reference(reference)
    version = whole_number((router.current_event.query_string_parameters or {}).get("version", "")) or 0
    return _page(session, reference, version, decision="", reasons="", errors=[])


@register(router, "POST /staff/referrals/{reference}/plan/agreement")
def record_answer(reference: str) -> Response[str]:
    reference = check_reference(reference)
    session, form = checked_form(router, return_to=f"/staff/referrals/{reference}")
    version = whole_number(str(form.get("version", "")))
    decision = str(form.get("decision") or "")
    reasons = str(form.get("reasons") or "").strip()
    given = {"decision": decision, **({"reasons": reasons} if reasons and decision == "change" else {})}
    try:
        body = agreement.AgreementAnswer.model_validate(given)
    except ValidationError as exc:
        fields = {str(error["loc"][0]) for error in exc.errors() if error["loc"]}
        wrong = "decision" if "decision" in fields or not decision else "reasons"
        errors = [{"text": PROBLEMS[wrong], "href": f"#{wrong}"}]
        return _page(session, reference, version or 0, decision=decision, reasons=reasons[:4000], errors=errors)
    try:
        outcome = apply(agreement.record_answer, session, version, reference, body)
    except IllegalTransition as refused:
        return case(session, reference, status=409, refusal=in_words(refused))
    logger.info("Plan answer recorded", extra={"reference": reference, "outcome": outcome["agreement"]})
    agreed = outcome["agreement"] == "agreed"
    metrics.add_metric(name="PlansAgreed" if agreed else "PlanChangesAsked", unit=MetricUnit.Count, value=1)
    return as_response(
        redirect(f"/staff/referrals/{reference}?done={'plan-agreed' if agreed else 'plan-changes'}#plan")
    )


@register(router, "POST /staff/referrals/{reference}/plan/agreement/again")
def ask_again(reference: str) -> Response[str]:
    reference = check_reference(reference)
    session, form = checked_form(router, return_to=f"/staff/referrals/{reference}")
    version = whole_number(str(form.get("version", "")))
    try:
        apply(agreement.ask_again, session, version, reference, None)
    except IllegalTransition as refused:
        return case(session, reference, status=409, refusal=in_words(refused))
    logger.info("Plan sent for agreement again", extra={"reference": reference})
    metrics.add_metric(name="PlanAgreementsAskedAgain", unit=MetricUnit.Count, value=1)
    return as_response(redirect(f"/staff/referrals/{reference}?done=agreement-asked#plan"))


def _page(
    session: Session, reference: str, version: int, *, decision: str, reasons: str, errors: list[dict[str, str]]
) -> Response[str]:
    return as_response(
        page(
            422 if errors else 200,
            "agreement.html",
            session=session,
            title="The lead practitioner's answer to the plan",
            reference=reference,
            version=version,
            decisions=DECISIONS,
            decision=decision,
            reasons=reasons,
            errors=errors,
            decision_error=next((e["text"] for e in errors if e["href"] == "#decision"), None),
            reasons_error=next((e["text"] for e in errors if e["href"] == "#reasons"), None),
        )
    )
