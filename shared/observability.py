"""The one Logger, Tracer and Metrics of every function (Powertools).

Each function's service name comes from POWERTOOLS_SERVICE_NAME (set per function in infra/), so logs and
metrics carry a `service` of intake, event_relay, ...; the namespace is shared by all.
"""

from __future__ import annotations

from aws_lambda_powertools import Logger, Metrics, Tracer

METRICS_NAMESPACE = "Familynet"

logger = Logger()
tracer = Tracer()
metrics = Metrics(namespace=METRICS_NAMESPACE)
