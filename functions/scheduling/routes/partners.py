"""The Early Help network's directory, and a referral's connections with its partners."""

from __future__ import annotations

import typing

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.metrics import MetricUnit

from functions.scheduling.routes import caller, correlation_id, reader
from shared.config import get_settings
from shared.domain import clock
from shared.observability import logger, metrics
from shared.service import connections, partners
from shared.web.api import answer, body_as, etag, expected_version
from shared.web.http import HttpError
from shared.web.routes import register

router = Router()


@register(router, "GET /partners")
def partner_directory() -> Response[str]:
    caller(router)
    params = router.current_event.query_string_parameters or {}
    offer = params.get("offer")
    if offer is not None and offer not in typing.get_args(partners.Offer):
        raise HttpError(400, f"offer must be one of: {', '.join(typing.get_args(partners.Offer))}")
    found = partners.directory(reader(), offer=offer, locality=params.get("locality") or None)
    return answer(200, {"items": found})


@register(router, "POST /partners")
def add_partner() -> Response[str]:
    actor = caller(router)
    partner = partners.add(
        body_as(router.current_event.raw_event, partners.PartnerRequest), actor=actor, settings=get_settings()
    )
    logger.info("Partner added", extra={"partner_id": partner["partner_id"]})
    metrics.add_metric(name="PartnersAdded", unit=MetricUnit.Count, value=1)
    return answer(201, partner, etag(partner["version"]))


@register(router, "PUT /partners/{partner_id}")
def change_partner(partner_id: str) -> Response[str]:
    actor = caller(router)
    body = body_as(router.current_event.raw_event, partners.PartnerRequest)
    partner = partners.change(
        partner_id,
        body,
        actor=actor,
        expected_version=expected_version(router.current_event.headers),
        reader=reader(),
        settings=get_settings(),
    )
    logger.info("Partner changed", extra={"partner_id": partner_id, "active": partner["active"]})
    metrics.add_metric(name="PartnersChanged", unit=MetricUnit.Count, value=1)
    return answer(200, partner, etag(partner["version"]))


@register(router, "POST /referrals/{reference}/connections/{partner_id}/resend")
def resend_connection(reference: str, partner_id: str) -> Response[str]:
    actor = caller(router)
    shown = connections.resend(
        reference,
        partner_id,
        actor=actor,
        reader=reader(),
        settings=get_settings(),
        correlation_id=correlation_id(),
        now=clock.now(),
    )
    logger.info("Connection asked again", extra={"reference": reference, "partner_id": partner_id})
    metrics.add_metric(name="ConnectionsResent", unit=MetricUnit.Count, value=1)
    return answer(200, shown)


@register(router, "POST /referrals/{reference}/connections/{partner_id}")
def record_connection_answer(reference: str, partner_id: str) -> Response[str]:
    actor = caller(router)
    body = body_as(router.current_event.raw_event, connections.ConnectionAnswer)
    shown = connections.record_for_partner(
        reference,
        partner_id,
        body,
        actor=actor,
        reader=reader(),
        settings=get_settings(),
        correlation_id=correlation_id(),
        now=clock.now(),
    )
    logger.info("Connection answer recorded", extra={"reference": reference, "partner_id": partner_id})
    metrics.add_metric(name="ConnectionsAnswered", unit=MetricUnit.Count, value=1)
    return answer(200, shown)
