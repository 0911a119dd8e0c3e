"""The scheduling function: the coordinators' routes (JWT-authorised, `coordinators` group), and the consumer
of ReferralAccepted (its own queue, fed by a rule on the bus), which allocates a facilitator and proposes slots.

API Gateway's JWT authorizer has already refused a missing, bad, expired or foreign token (401); this function
refuses a valid token without the `coordinators` group (403).
"""

from __future__ import annotations

import json
import typing
from collections.abc import Callable
from typing import Any, TypeVar

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import BaseModel, ValidationError

from shared.adapters.dynamodb import ReferralReader
from shared.config import get_settings
from shared.domain import clock
from shared.domain.errors import ConfigurationError, ServiceUnavailable
from shared.domain.events import ReferralAccepted, parse_detail
from shared.domain.referrals import ReferralStatus
from shared.domain.validation import field_errors
from shared.domain.workflow import Decision, IllegalTransition, allowed_decisions
from shared.observability import bind_event, correlate, logger, metrics
from shared.service import connections, erasure, meetings, partners, reviews
from shared.service.coordination import (
    MAX_PAGE,
    Access,
    Actor,
    DecisionBody,
    NotFound,
    decide,
    list_referrals,
    referral_view,
)
from shared.service.proposals import propose
from shared.views import subject_access
from shared.web.http import HttpError, html_response, json_response
from shared.web.staff import Forbidden, Unauthorized, actor_from

app = APIGatewayHttpResolver()
ModelT = TypeVar("ModelT", bound=BaseModel)
DECISION_METRICS = {
    Decision.ACCEPT: "ReferralsAccepted",
    Decision.DECLINE: "ReferralsDeclined",
    Decision.WITHDRAW: "ReferralsWithdrawn",
}


def _reader() -> ReferralReader:
    return ReferralReader(get_settings().table_name)


def _answer(status: int, body: Any, headers: dict[str, str] | None = None) -> Response[str]:
    response = json_response(status, body, headers)
    return Response(status_code=status, body=response["body"], headers=response["headers"])


def _actor() -> Actor:
    return actor_from(app.current_event.raw_event)


def _apply(operation: Callable[..., dict[str, Any]], actor: Actor, *args: Any) -> dict[str, Any]:
    """Run one change to a referral as the caller, conditional on the version they read (If-Match)."""
    return operation(
        *args,
        actor=actor,
        expected_version=_expected_version(),
        reader=_reader(),
        settings=get_settings(),
        correlation_id=logger.get_correlation_id() or "none",
    )


def _etag(version: int) -> dict[str, str]:
    return {"ETag": f'"{version}"'}


def _expected_version() -> int | None:
    """`If-Match: "<version>"` (the ETag of the referral as read) makes a change conditional on it."""
    value = app.current_event.headers.get("if-match")
    if value is None:
        return None
    text = value.strip().removeprefix("W/").strip('"')
    if not text.isdigit():
        raise HttpError(400, 'If-Match must be the ETag of the referral as you read it, like "3"')
    return int(text)


@app.get("/referrals")
def queue() -> Response[str]:
    _actor()
    params = app.current_event.query_string_parameters or {}
    try:
        status = ReferralStatus(params.get("status", ReferralStatus.RECEIVED.value))
    except ValueError:
        choices = ", ".join(s.value for s in ReferralStatus)
        raise HttpError(400, f"status must be one of: {choices}") from None
    limit_text = params.get("limit", "25")
    if not limit_text.isdigit():
        raise HttpError(400, f"limit must be a whole number from 1 to {MAX_PAGE}")
    body = list_referrals(_reader(), status, int(limit_text), params.get("cursor"))
    return _answer(200, body)


@app.get("/referrals/<reference>")
def one_referral(reference: str) -> Response[str]:
    access = Access(_actor(), "GET /referrals/{reference}", get_settings(), clock.now())
    view = referral_view(_reader(), reference, access)
    metrics.add_metric(name="ReferralsRead", unit=MetricUnit.Count, value=1)
    return _answer(200, view, _etag(view["version"]))


def _body(model: type[ModelT]) -> ModelT:
    raw = app.current_event.body or "{}"
    try:
        return model.model_validate(json.loads(raw) if raw.strip() else {})
    except json.JSONDecodeError:
        raise HttpError(400, "The request body is not valid JSON") from None
    except ValidationError as exc:
        raise HttpError(422, "The request has problems to fix", field_errors(model, exc)) from None


@app.get("/referrals/<reference>/export")
def subject_access_export(reference: str) -> Response[str]:
    access = Access(_actor(), "GET /referrals/{reference}/export", get_settings(), clock.now())
    document = subject_access.export(_reader(), reference, access)
    logger.info("Subject access export made", extra={"reference": reference})
    metrics.add_metric(name="SubjectAccessExports", unit=MetricUnit.Count, value=1)
    accept = app.current_event.headers.get("accept", "")
    if "text/html" in accept:
        page = html_response(200, subject_access.to_html(document))
        return Response(status_code=200, body=page["body"], headers=page["headers"])
    disposition = {"Content-Disposition": f'attachment; filename="{reference}-subject-access.json"'}
    return _answer(200, document, disposition)


@app.post("/referrals/<reference>/erase")
def erase(reference: str) -> Response[str]:
    actor = _actor()
    body = _body(erasure.ErasureRequest)
    outcome = erasure.erase(
        reference,
        body,
        actor=actor,
        reader=_reader(),
        settings=get_settings(),
        correlation_id=logger.get_correlation_id() or "none",
    )
    logger.info("Referral erased", extra={"reference": reference, "ground": body.ground, "items": outcome["items"]})
    metrics.add_metric(name="ReferralsErased", unit=MetricUnit.Count, value=1)
    return _answer(200, outcome)


@app.exception_handler(erasure.ErasureRefused)
def _erasure_refused(error: erasure.ErasureRefused) -> Response[str]:
    metrics.add_metric(name="ErasuresRefused", unit=MetricUnit.Count, value=1)
    return _answer(409, {"message": error.message})


@app.get("/partners")
def partner_directory() -> Response[str]:
    _actor()
    params = app.current_event.query_string_parameters or {}
    offer = params.get("offer") or None
    if offer is not None and offer not in typing.get_args(partners.Offer):
        raise HttpError(400, f"offer must be one of: {', '.join(typing.get_args(partners.Offer))}")
    found = partners.directory(_reader(), offer=offer, locality=params.get("locality") or None)
    return _answer(200, {"items": found})


@app.post("/partners")
def add_partner() -> Response[str]:
    actor = _actor()
    partner = partners.add(_body(partners.PartnerRequest), actor=actor, settings=get_settings())
    logger.info("Partner added", extra={"partner_id": partner["partner_id"]})
    metrics.add_metric(name="PartnersAdded", unit=MetricUnit.Count, value=1)
    return _answer(201, partner, _etag(partner["version"]))


@app.put("/partners/<partner_id>")
def change_partner(partner_id: str) -> Response[str]:
    actor = _actor()
    body = _body(partners.PartnerRequest)
    partner = partners.change(
        partner_id,
        body,
        actor=actor,
        expected_version=_expected_version(),
        reader=_reader(),
        settings=get_settings(),
    )
    logger.info("Partner changed", extra={"partner_id": partner_id, "active": partner["active"]})
    metrics.add_metric(name="PartnersChanged", unit=MetricUnit.Count, value=1)
    return _answer(200, partner, _etag(partner["version"]))


@app.exception_handler(partners.NotAPartner)
def _not_a_partner(error: partners.NotAPartner) -> Response[str]:
    return _answer(404, {"message": "There is no partner with this id"})


@app.get("/facilitators")
def facilitators() -> Response[str]:
    _actor()
    return _answer(200, {"items": meetings.list_facilitators(_reader())})


@app.put("/facilitators/<facilitator_id>/availability")
def availability(facilitator_id: str) -> Response[str]:
    actor = _actor()
    if not meetings.FACILITATOR_ID.fullmatch(facilitator_id):
        raise HttpError(400, "A facilitator id is 1 to 40 lower-case letters, digits and hyphens")
    body = _body(meetings.Availability)
    return _answer(200, meetings.set_availability(facilitator_id, body, actor=actor, settings=get_settings()))


@app.put("/referrals/<reference>/meeting")
def book_meeting(reference: str) -> Response[str]:
    actor = _actor()
    body = _body(meetings.MeetingRequest)
    outcome = _apply(meetings.book_or_move, actor, reference, body)
    logger.info("Meeting booked", extra={"reference": reference, "sequence": outcome["meeting"]["sequence"]})
    metrics.add_metric(name="MeetingsBooked", unit=MetricUnit.Count, value=1)
    return _answer(200, outcome, _etag(outcome["version"]))


@app.delete("/referrals/<reference>/meeting")
def cancel_meeting(reference: str) -> Response[str]:
    actor = _actor()
    body = _body(meetings.CancelRequest)
    outcome = _apply(meetings.cancel, actor, reference, body)
    logger.info("Meeting cancelled", extra={"reference": reference})
    metrics.add_metric(name="MeetingsCancelled", unit=MetricUnit.Count, value=1)
    return _answer(200, outcome, _etag(outcome["version"]))


@app.post("/referrals/<reference>/meeting/outcome")
def meeting_outcome(reference: str) -> Response[str]:
    actor = _actor()
    body = _body(meetings.Outcome)
    outcome = _apply(meetings.record_outcome, actor, reference, body)
    logger.info("Meeting outcome recorded", extra={"reference": reference, "status": outcome["status"]})
    metrics.add_metric(name="MeetingsHeld" if body.held else "MeetingsNotHeld", unit=MetricUnit.Count, value=1)
    return _answer(200, outcome, _etag(outcome["version"]))


@app.post("/referrals/<reference>/reviews")
def record_review(reference: str) -> Response[str]:
    actor = _actor()
    body = _body(reviews.ReviewRequest)
    outcome = _apply(reviews.record_review, actor, reference, body)
    logger.info("Review recorded", extra={"reference": reference, "outcome": body.outcome})
    metrics.add_metric(name="ReviewsCompleted", unit=MetricUnit.Count, value=1)
    if body.outcome == "close":
        metrics.add_metric(name="PlansClosed", unit=MetricUnit.Count, value=1)
    return _answer(200, outcome, _etag(outcome["version"]))


@app.put("/referrals/<reference>/reviews/<number>")
def move_review(reference: str, number: str) -> Response[str]:
    actor = _actor()
    if not number.isdigit() or not 1 <= int(number) <= 999:
        raise HttpError(404, "A review number is a whole number from 1")
    body = _body(reviews.ReviewMove)
    outcome = _apply(reviews.move_review, actor, reference, int(number), body)
    logger.info("Review moved", extra={"reference": reference, "review_number": int(number)})
    metrics.add_metric(name="ReviewsMoved", unit=MetricUnit.Count, value=1)
    return _answer(200, outcome, _etag(outcome["version"]))


@app.exception_handler(meetings.OutcomeTooEarly)
def _too_early(error: meetings.OutcomeTooEarly) -> Response[str]:
    return _answer(422, {"message": error.message, "errors": [{"field": "held_on", "message": error.message}]})


@app.post("/referrals/<reference>/connections/<partner_id>/resend")
def resend_connection(reference: str, partner_id: str) -> Response[str]:
    actor = _actor()
    shown = connections.resend(
        reference,
        partner_id,
        actor=actor,
        reader=_reader(),
        settings=get_settings(),
        correlation_id=logger.get_correlation_id() or "none",
        now=clock.now(),
    )
    logger.info("Connection asked again", extra={"reference": reference, "partner_id": partner_id})
    metrics.add_metric(name="ConnectionsResent", unit=MetricUnit.Count, value=1)
    return _answer(200, shown)


@app.post("/referrals/<reference>/connections/<partner_id>")
def record_connection_answer(reference: str, partner_id: str) -> Response[str]:
    actor = _actor()
    body = _body(connections.ConnectionAnswer)
    shown = connections.record_for_partner(
        reference,
        partner_id,
        body,
        actor=actor,
        reader=_reader(),
        settings=get_settings(),
        correlation_id=logger.get_correlation_id() or "none",
        now=clock.now(),
    )
    logger.info("Connection answer recorded", extra={"reference": reference, "partner_id": partner_id})
    metrics.add_metric(name="ConnectionsAnswered", unit=MetricUnit.Count, value=1)
    return _answer(200, shown)


@app.exception_handler(connections.UnknownPartner)
def _unknown_partner(error: connections.UnknownPartner) -> Response[str]:
    return _answer(
        422,
        {"message": "The plan has problems to fix", "errors": [{"field": "partner_id", "message": error.message}]},
    )


@app.exception_handler(meetings.DoubleBooked)
def _double_booked(error: meetings.DoubleBooked) -> Response[str]:
    metrics.add_metric(name="DoubleBookingsRefused", unit=MetricUnit.Count, value=1)
    return _answer(409, {"message": error.message, "field": "starts_at"})


@app.exception_handler(meetings.UnknownFacilitator)
def _unknown_facilitator(error: meetings.UnknownFacilitator) -> Response[str]:
    return _answer(
        422,
        {
            "message": "The meeting has problems to fix",
            "errors": [{"field": "facilitator_id", "message": "There is no facilitator with this id"}],
        },
    )


@app.post("/referrals/<reference>/<action>")
def decision(reference: str, action: str) -> Response[str]:
    actor = _actor()
    try:
        chosen = Decision(action)
    except ValueError:
        raise NotFound(reference) from None
    body = _body(DecisionBody)
    outcome = _apply(decide, actor, reference, chosen, body)
    logger.info("Referral decided", extra={"reference": reference, "decision": chosen.value})
    metrics.add_metric(name=DECISION_METRICS[chosen], unit=MetricUnit.Count, value=1)
    return _answer(200, outcome, _etag(outcome["version"]))


@app.exception_handler(Unauthorized)
def _unauthorized(error: Unauthorized) -> Response[str]:
    return _answer(401, {"message": "Sign in to use this service"}, {"WWW-Authenticate": "Bearer"})


@app.exception_handler(Forbidden)
def _forbidden(error: Forbidden) -> Response[str]:
    logger.info("Staff route refused: not a coordinator")
    return _answer(403, {"message": "Only coordinators can use this service"})


@app.exception_handler(NotFound)
def _not_found(error: NotFound) -> Response[str]:
    return _answer(404, {"message": "There is no referral with this reference"})


@app.exception_handler(IllegalTransition)
def _conflict(error: IllegalTransition) -> Response[str]:
    logger.info("Change refused", extra={"action": error.action, "current_status": error.current.value})
    metrics.add_metric(name="DecisionsRefused", unit=MetricUnit.Count, value=1)
    body = {
        "message": error.message,
        "current_status": error.current.value,
        "allowed_actions": allowed_decisions(error.current),
    }
    return _answer(409, body)


@app.exception_handler(HttpError)
def _client_error(error: HttpError) -> Response[str]:
    body: dict[str, Any] = {"message": error.message}
    if error.errors is not None:
        body["errors"] = error.errors
    return _answer(error.status, body)


@app.exception_handler(ServiceUnavailable)
def _unavailable(error: ServiceUnavailable) -> Response[str]:
    logger.exception("Staff request failed", extra={"error_kind": type(error).__name__})
    return _answer(503, {"message": "The service is busy: please try again in a minute"}, {"Retry-After": "30"})


@app.exception_handler(ConfigurationError)
def _misconfigured(error: ConfigurationError) -> Response[str]:
    logger.exception("Staff request failed", extra={"error_kind": type(error).__name__})
    return _answer(503, {"message": "The service is not available: operations have been alerted"})


# --- ReferralAccepted, from the function's queue -----------------------------------------------------------------
processor = BatchProcessor(event_type=EventType.SQS)


class UnexpectedEvent(Exception):
    """The queue's rule lets through only what this consumer handles: anything else is a wiring mistake."""


def _on_event(record: SQSRecord) -> None:
    message = json.loads(record.body)
    envelope = parse_detail(message["detail-type"], message["detail"])
    if not isinstance(envelope.data, ReferralAccepted):
        raise UnexpectedEvent(message["detail-type"])
    bind_event(envelope)
    proposal = propose(
        envelope.data.reference,
        event_id=envelope.metadata.event_id,
        accepted_at=envelope.data.accepted_at,
        reader=_reader(),
        settings=get_settings(),
        now=clock.now(),
    )
    if proposal is None:
        logger.info("Proposal already made (a repeated event)")
        metrics.add_metric(name="ProposalsRepeated", unit=MetricUnit.Count, value=1)
        return
    logger.info("Meeting proposed", extra={"slots": len(proposal.slots), "shortfall": proposal.reason})
    metrics.add_metric(name="ProposalsMade", unit=MetricUnit.Count, value=1)
    if proposal.reason:
        metrics.add_metric(name="ProposalsShort", unit=MetricUnit.Count, value=1)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP, clear_state=True)
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    if "Records" in event:
        batch = process_partial_response(event=event, record_handler=_on_event, processor=processor, context=context)
        return dict(batch)
    correlate(logger.get_correlation_id() or context.aws_request_id)
    metrics.add_metric(name="StaffRequests", unit=MetricUnit.Count, value=1)
    return app.resolve(event, context)
