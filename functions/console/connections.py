"""A referral's connections with community partners (issue 19, item 5): the coordinator records a partner's answer
given by phone (as through the partner's link, audited as the coordinator's), or asks a waiting partner again (a
new email and link; the old link closes). A connection no longer waiting is refused in words on the case page."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.metrics import MetricUnit
from pydantic import ValidationError

from functions.console.cases import DONE, case
from functions.console.common import checked_form, correlation_id, reader, signed_in
from shared.config import get_settings
from shared.domain import clock
from shared.domain.errors import Conflict, Invalid, NotFound
from shared.domain.referrals import check_reference
from shared.observability import logger, metrics
from shared.service import connections, partners
from shared.service.staff_sessions import Session
from shared.web.console import page, redirect
from shared.web.http import as_response
from shared.web.routes import register

router = Router()
DONE |= {  # the case page's banners after these changes
    "partner-answered": "Partner's answer recorded",
    "partner-asked-again": "Partner asked again: a new email and link are on their way",
    "erased": "Personal data erased: the reference, states, dates and audit trail stay",
}
ANSWERS = (
    ("contacted", "The partner has made contact with the family"),
    ("declined", "The partner cannot help"),
)
PROBLEMS = {"answer": "Choose what the partner said", "note": "Keep the note to 500 characters or fewer"}
MAX_NOTE = 500


def _connection(reference: str, partner_id: str) -> dict[str, Any]:
    """The connection alone (a partner's name, its state and dates): no one's details, so not a read of the case."""
    item = reader().item(connections.connection_key(reference, partner_id)) if partner_id.startswith("p-") else None
    if item is None or item.get("kind") != connections.KIND_CONNECTION:
        raise NotFound("This referral has no connection with that partner")
    [shown] = connections.connections_view([item])
    return shown


@register(router, "GET /staff/referrals/{reference}/connections/{partner_id}")
def answer_page(reference: str, partner_id: str) -> Response[str]:
    partners.check_id(partner_id)
    session = signed_in(router)
    reference = check_reference(reference)
    return _page(session, reference, _connection(reference, partner_id), answer="", note="", errors=[])


@register(router, "POST /staff/referrals/{reference}/connections/{partner_id}")
def record_answer(reference: str, partner_id: str) -> Response[str]:
    reference, partner_id = check_reference(reference), partners.check_id(partner_id)
    session, form = checked_form(router, return_to=f"/staff/referrals/{reference}")
    connection = _connection(reference, partner_id)
    answer = str(form.get("answer") or "")
    note = str(form.get("note") or "").strip()
    try:
        body = connections.ConnectionAnswer.model_validate({"answer": answer, **({"note": note} if note else {})})
    except ValidationError as exc:
        fields = {str(error["loc"][0]) for error in exc.errors() if error["loc"]}
        errors = [{"text": PROBLEMS[name], "href": f"#{name}"} for name in ("answer", "note") if name in fields]
        errors = errors or [{"text": PROBLEMS["answer"], "href": "#answer"}]
        return _page(
            session, reference, connection, answer=answer, note=note[: MAX_NOTE * 2], errors=errors, status=422
        )
    try:
        connections.record_for_partner(
            reference,
            partner_id,
            body,
            actor=session.actor,
            reader=reader(),
            settings=get_settings(),
            correlation_id=correlation_id(),
            now=clock.now(),
        )
    except Conflict as refused:
        return case(session, reference, status=409, refusal=refused.message)
    logger.info("Connection answer recorded", extra={"reference": reference, "partner_id": partner_id})
    metrics.add_metric(name="ConnectionsAnswered", unit=MetricUnit.Count, value=1)
    return as_response(redirect(f"/staff/referrals/{reference}?done=partner-answered#plan"))


@register(router, "POST /staff/referrals/{reference}/connections/{partner_id}/resend")
def ask_again(reference: str, partner_id: str) -> Response[str]:
    reference, partner_id = check_reference(reference), partners.check_id(partner_id)
    session, _ = checked_form(router, return_to=f"/staff/referrals/{reference}")
    _connection(reference, partner_id)
    try:
        connections.resend(
            reference,
            partner_id,
            actor=session.actor,
            reader=reader(),
            settings=get_settings(),
            correlation_id=correlation_id(),
            now=clock.now(),
        )
    except (Conflict, Invalid) as refused:
        return case(session, reference, status=409 if isinstance(refused, Conflict) else 422, refusal=refused.message)
    logger.info("Connection asked again", extra={"reference": reference, "partner_id": partner_id})
    metrics.add_metric(name="ConnectionsResent", unit=MetricUnit.Count, value=1)
    return as_response(redirect(f"/staff/referrals/{reference}?done=partner-asked-again#plan"))


def _page(
    session: Session,
    reference: str,
    connection: dict[str, Any],
    *,
    answer: str,
    note: str,
    errors: list[dict[str, str]],
    status: int = 200,
) -> Response[str]:
    return as_response(
        page(
            status,
            "connection.html",
            session=session,
            title=f"{connection.get('partner_name') or 'The partner'}'s answer",
            reference=reference,
            connection=connection,
            answers=ANSWERS,
            answer=answer,
            note=note,
            errors=errors,
            answer_error=next((e["text"] for e in errors if e["href"] == "#answer"), None),
            note_error=next((e["text"] for e in errors if e["href"] == "#note"), None),
        )
    )
