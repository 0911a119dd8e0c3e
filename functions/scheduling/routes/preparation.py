"""Preparing for the meeting: the coordinator's contacts, the family's decision, the checklist and each child's
voice. Notes, wishes and feelings and advocates' names never reach a log line: only references, numbers and states."""

from __future__ import annotations

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.metrics import MetricUnit

from functions.scheduling.routes import apply, caller
from shared.domain.preparation import ChecklistUpdate, ChildVoice, Contact, FamilyDecision, NoSuchChild, child_number
from shared.observability import logger, metrics
from shared.service import preparation
from shared.web.api import answer, body_as, etag
from shared.web.routes import register

router = Router()


@register(router, "POST /referrals/{reference}/preparation/contacts")
def record_contact(reference: str) -> Response[str]:
    actor = caller(router)
    body = body_as(router.current_event.raw_event, Contact)
    outcome = apply(router, preparation.record_contact, actor, reference, body)
    logger.info("Preparation contact recorded", extra={"reference": reference, "status": outcome["status"]})
    metrics.add_metric(name="PreparationContacts", unit=MetricUnit.Count, value=1)
    return answer(200, outcome, etag(outcome["version"]))


@register(router, "PUT /referrals/{reference}/preparation/decision")
def family_decision(reference: str) -> Response[str]:
    actor = caller(router)
    body = body_as(router.current_event.raw_event, FamilyDecision)
    outcome = apply(router, preparation.record_family_decision, actor, reference, body)
    logger.info("Family's decision recorded", extra={"reference": reference, "status": outcome["status"]})
    if not body.go_ahead:
        metrics.add_metric(name="FamiliesDeclined", unit=MetricUnit.Count, value=1)
    return answer(200, outcome, etag(outcome["version"]))


@register(router, "PUT /referrals/{reference}/preparation/checklist")
def checklist(reference: str) -> Response[str]:
    actor = caller(router)
    body = body_as(router.current_event.raw_event, ChecklistUpdate)
    outcome = apply(router, preparation.update_checklist, actor, reference, body)
    logger.info("Preparation checklist changed", extra={"reference": reference, "done": len(body.done)})
    return answer(200, outcome, etag(outcome["version"]))


@register(router, "PUT /referrals/{reference}/children/{child}/voice")
def child_voice(reference: str, child: str) -> Response[str]:
    actor = caller(router)
    number = child_number(child)
    if number is None:
        raise NoSuchChild()
    body = body_as(router.current_event.raw_event, ChildVoice)
    outcome = apply(router, preparation.record_child_voice, actor, reference, number, body)
    logger.info("Child's voice recorded", extra={"reference": reference, "child": number})
    return answer(200, outcome, etag(outcome["version"]))
