"""Facilitators' availability, booking, moving and cancelling a meeting, and recording its outcome and plan."""

from __future__ import annotations

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.metrics import MetricUnit

from functions.scheduling.routes import apply, caller, reader
from shared.config import get_settings
from shared.domain.meetings import FACILITATOR_ID, Availability, CancelRequest, MeetingRequest
from shared.domain.plans import Outcome
from shared.observability import logger, metrics
from shared.service import meetings
from shared.web.api import answer, body_as, etag
from shared.web.http import HttpError
from shared.web.routes import register

router = Router()


@register(router, "GET /facilitators")
def facilitators() -> Response[str]:
    caller(router)
    return answer(200, {"items": meetings.list_facilitators(reader())})


@register(router, "PUT /facilitators/{facilitator_id}/availability")
def availability(facilitator_id: str) -> Response[str]:
    actor = caller(router)
    if not FACILITATOR_ID.fullmatch(facilitator_id):
        raise HttpError(400, "A facilitator id is 1 to 40 lower-case letters, digits and hyphens")
    body = body_as(router.current_event.raw_event, Availability)
    changed = meetings.set_availability(facilitator_id, body, actor=actor, settings=get_settings(), reader=reader())
    recomputed = changed.proposals
    logger.info("Proposals recomputed", extra={"waiting": recomputed.waiting, "changed": recomputed.changed})
    metrics.add_metric(name="ProposalsRecomputed", unit=MetricUnit.Count, value=recomputed.changed)
    return answer(200, changed.facilitator)


@register(router, "PUT /referrals/{reference}/meeting")
def book_meeting(reference: str) -> Response[str]:
    actor = caller(router)
    body = body_as(router.current_event.raw_event, MeetingRequest)
    outcome = apply(router, meetings.book_or_move, actor, reference, body)
    logger.info("Meeting booked", extra={"reference": reference, "sequence": outcome["meeting"]["sequence"]})
    metrics.add_metric(name="MeetingsBooked", unit=MetricUnit.Count, value=1)
    return answer(200, outcome, etag(outcome["version"]))


@register(router, "DELETE /referrals/{reference}/meeting")
def cancel_meeting(reference: str) -> Response[str]:
    actor = caller(router)
    body = body_as(router.current_event.raw_event, CancelRequest)
    outcome = apply(router, meetings.cancel, actor, reference, body)
    logger.info("Meeting cancelled", extra={"reference": reference})
    metrics.add_metric(name="MeetingsCancelled", unit=MetricUnit.Count, value=1)
    return answer(200, outcome, etag(outcome["version"]))


@register(router, "POST /referrals/{reference}/meeting/outcome")
def meeting_outcome(reference: str) -> Response[str]:
    actor = caller(router)
    body = body_as(router.current_event.raw_event, Outcome)
    outcome = apply(router, meetings.record_outcome, actor, reference, body)
    logger.info("Meeting outcome recorded", extra={"reference": reference, "status": outcome["status"]})
    metrics.add_metric(name="MeetingsHeld" if body.held else "MeetingsNotHeld", unit=MetricUnit.Count, value=1)
    return answer(200, outcome, etag(outcome["version"]))
