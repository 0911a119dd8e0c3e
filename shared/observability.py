"""The one Logger and Metrics of every function (Powertools).

Each function's service name comes from POWERTOOLS_SERVICE_NAME (set per function in infra/), so logs and
metrics carry a `service` of intake, event_relay, ...; the namespace is shared by all. The correlation id starts at
the API request (intake, staff routes), travels in every event's metadata and outbox item, and is bound to every
log line of a consumer while it handles that event (`bind_event`).

No Powertools Tracer: it is built on the AWS X-Ray SDK, which is in maintenance mode since 2026-02-25 and out of
support from 2027-02-25, and it costs ~100 ms of every cold start (bench/cold_init.py). Lambda's active tracing
(set on every function in infra/) still records each invocation in X-Ray; AWS-call subsegments return when
Powertools' OpenTelemetry-based tracer ships.
"""

from __future__ import annotations

import warnings
from typing import Any

from aws_lambda_powertools import Logger, Metrics

from shared.config import METRICS_NAMESPACE

logger = Logger()
metrics = Metrics(namespace=METRICS_NAMESPACE)
# An invocation that counted nothing (a repeated event) is normal: not a plain-text warning in a JSON log.
warnings.filterwarnings("ignore", message="No application metrics to publish")


def correlate(correlation_id: str) -> None:
    """Log lines and the metrics blob (EMF metadata, not a dimension) carry this correlation id from now on."""
    logger.set_correlation_id(correlation_id)
    metrics.add_metadata(key="correlation_id", value=correlation_id)


def bind_event(envelope: Any) -> None:
    """Every log line while this event is handled carries its correlation id (set at intake, or by the staff
    request, and carried in every event's metadata), its event id, type and reference: ids only."""
    correlate(envelope.metadata.correlation_id)
    logger.append_keys(
        event_id=envelope.metadata.event_id,
        detail_type=envelope.data.detail_type,
        reference=getattr(envelope.data, "reference", None),
    )
