"""A meeting's participants: listed (a read of their contact details, recorded), added and changed."""

from __future__ import annotations

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.metrics import MetricUnit

from functions.scheduling.routes import caller, correlation_id, reader
from shared.config import get_settings
from shared.domain import clock
from shared.domain.participants import ParticipantRequest, check_participant_id
from shared.domain.referrals import check_reference
from shared.observability import logger, metrics
from shared.service import participants
from shared.views.referrals import Access, participants_read
from shared.web.api import answer, body_as, etag, expected_version
from shared.web.routes import register

router = Router()


@register(router, "GET /referrals/{reference}/participants")
def participant_list(reference: str) -> Response[str]:
    actor = caller(router)
    access = Access(actor, "GET /referrals/{reference}/participants", get_settings(), clock.now())
    return answer(200, participants_read(reader(), check_reference(reference), access))


@register(router, "POST /referrals/{reference}/participants")
def add_participant(reference: str) -> Response[str]:
    actor = caller(router)
    check_reference(reference)
    body = body_as(router.current_event.raw_event, ParticipantRequest)
    added = participants.add(
        reference, body, actor=actor, reader=reader(), settings=get_settings(), correlation_id=correlation_id()
    )
    logger.info("Participant added", extra={"reference": reference, "participant_id": added["participant_id"]})
    metrics.add_metric(name="ParticipantsAdded", unit=MetricUnit.Count, value=1)
    return answer(201, added, etag(added["version"]))


@register(router, "PUT /referrals/{reference}/participants/{participant_id}")
def change_participant(reference: str, participant_id: str) -> Response[str]:
    actor = caller(router)
    check_reference(reference)
    check_participant_id(participant_id)
    body = body_as(router.current_event.raw_event, ParticipantRequest)
    changed = participants.change(
        reference,
        participant_id,
        body,
        actor=actor,
        expected_version=expected_version(router.current_event.headers),
        reader=reader(),
        settings=get_settings(),
        correlation_id=correlation_id(),
    )
    logger.info(
        "Participant changed",
        extra={"reference": reference, "participant_id": participant_id, "attendance": changed["attendance"]},
    )
    metrics.add_metric(name="ParticipantsChanged", unit=MetricUnit.Count, value=1)
    return answer(200, changed, etag(changed["version"]))
