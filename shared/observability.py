"""The one Logger and Metrics of every function (Powertools).

Each function's service name comes from POWERTOOLS_SERVICE_NAME (set per function in infra/), so logs and
metrics carry a `service` of intake, event_relay, ...; the namespace is shared by all.

No Powertools Tracer: it is built on the AWS X-Ray SDK, which is in maintenance mode since 2026-02-25 and out of
support from 2027-02-25, and it costs ~100 ms of every cold start (bench/cold_init.py). Lambda's active tracing
(set on every function in infra/) still records each invocation in X-Ray; AWS-call subsegments return when
Powertools' OpenTelemetry-based tracer ships.
"""

from __future__ import annotations

from aws_lambda_powertools import Logger, Metrics

from shared.config import METRICS_NAMESPACE

logger = Logger()
metrics = Metrics(namespace=METRICS_NAMESPACE)
