"""ReferralAccepted, from the scheduling function's queue: allocate a facilitator and propose slots."""

from __future__ import annotations

from aws_lambda_powertools.metrics import MetricUnit

from shared.adapters.dynamodb import ReferralReader
from shared.config import get_settings
from shared.domain import clock
from shared.domain.events import ReferralAccepted
from shared.observability import bind_event, logger, metrics
from shared.service.proposals import propose
from shared.web.queue import EventRecord, UnexpectedEvent, batch_processor

processor = batch_processor()


def on_event(record: EventRecord) -> None:
    envelope = record.envelope()
    if not isinstance(envelope.data, ReferralAccepted):
        raise UnexpectedEvent(record.body.detail_type)
    bind_event(envelope)
    proposal = propose(
        envelope.data.reference,
        event_id=envelope.metadata.event_id,
        accepted_at=envelope.data.accepted_at,
        reader=ReferralReader(get_settings().table_name),
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
