"""A throwaway consumer for the end-to-end tests: it tells a queue what reached it, and fails on request.

It is deployed only by the test stack (tests/e2e/stack.py), never by the app. Each SQS record, HTTP request or
scheduled invocation it receives is reported to PROBE_SEEN_QUEUE_URL; a record whose event detail says
`"fail": true` is reported back in batchItemFailures (or, invoked by a rule directly, raises); so is one whose
`"fail_while_exists"` names a file that exists (a fault the test removes by deleting the file).
"""

from __future__ import annotations

import json
import os
from typing import Any

import boto3

from shared.domain import clock


def _report(what: dict[str, Any]) -> None:
    boto3.client("sqs").send_message(QueueUrl=os.environ["PROBE_SEEN_QUEUE_URL"], MessageBody=json.dumps(what))


def handler(event: dict[str, Any], context: Any) -> Any:
    if "Records" in event:
        failures = []
        for record in event["Records"]:
            message = json.loads(record["body"])
            detail = message.get("detail") or {}
            _report(
                {
                    "via": "queue",
                    "message_id": record["messageId"],
                    "receive_count": int(record["attributes"]["ApproximateReceiveCount"]),
                    "detail_type": message.get("detail-type"),
                    "detail": detail,
                    "batch_size": len(event["Records"]),
                }
            )
            if detail.get("fail") or os.path.exists(detail.get("fail_while_exists") or "/nonexistent"):
                failures.append({"itemIdentifier": record["messageId"]})
        return {"batchItemFailures": failures}
    if event.get("version") == "2.0" and "requestContext" in event:
        body = {
            "route_key": event["routeKey"],
            "path_parameters": event.get("pathParameters"),
            "query": event.get("queryStringParameters"),
            "claims": ((event["requestContext"].get("authorizer") or {}).get("jwt") or {}).get("claims"),
            "function_name": context.function_name,
            "environment_table": os.environ.get("PROBE_TABLE_NAME"),
        }
        return {"statusCode": 200, "headers": {"content-type": "application/json"}, "body": json.dumps(body)}
    if "detail-type" in event:  # an EventBridge rule's Lambda target: an asynchronous invocation
        _report({"via": "rule", "detail_type": event["detail-type"], "detail": event["detail"]})
        if event["detail"].get("fail"):
            raise RuntimeError("the probe was asked to fail")
        return None
    _report({"via": "schedule", "input": event, "now": clock.now().isoformat()})
    return None
