"""The AWS calls one intake makes, counted by a botocore event hook, against moto wired from the synthesized template.

Goal: ≤ 2 calls for a new referral. Also prints a repeated submission's calls and the relay's calls per batch.
"""

from __future__ import annotations

import copy
import json
import os
import sys
import tempfile
from collections import Counter
from pathlib import Path
from typing import Any

for key, value in {
    "AWS_ACCESS_KEY_ID": "bench",
    "AWS_SECRET_ACCESS_KEY": "bench",
    "AWS_SESSION_TOKEN": "bench",
    "AWS_DEFAULT_REGION": "eu-west-2",
    "AWS_ACCOUNT_ID_ENDPOINT_MODE": "disabled",
    "POWERTOOLS_METRICS_NAMESPACE": "Familynet",
    "POWERTOOLS_LOG_LEVEL": "ERROR",
    "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20",
}.items():
    os.environ.setdefault(key, value)


class CallCounter:
    def __init__(self) -> None:
        self.calls: Counter[str] = Counter()

    def __call__(self, event_name: str, **_: Any) -> None:
        # event_name: before-call.<service>.<Operation>
        _hook, service, operation = event_name.split(".", 2)
        self.calls[f"{service}.{operation}"] += 1

    def take(self) -> Counter[str]:
        taken, self.calls = self.calls, Counter()
        return taken


def main() -> None:
    import boto3
    from moto import mock_aws

    from infra.app import build_app
    from infra.local.lambda_context import LocalLambdaContext
    from infra.local.provision import provision
    from infra.local.streams import StreamReader
    from infra.local.template import Template
    from shared import aws
    from shared.config import get_settings

    with tempfile.TemporaryDirectory() as outdir:
        app, stack = build_app(outdir=outdir, bundle="light")
        app.synth()
        body = json.loads((Path(outdir) / f"{stack.stack_name}.template.json").read_text())

    body_text = json.dumps(
        {
            "route": "lead_practitioner",
            "referrer": {
                "name": "A Referrer",
                "role": "Social worker",
                "organisation": "Locality Team",
                "email": "referrer@council.example.org",
            },
            "family": {
                "contact_name": "A Parent",
                "postcode": "SW1A 1AA",
                "children": [{"first_name": "A", "date_of_birth": "2019-05-14"}],
            },
            "consent": {"given": True, "given_on": "2026-11-20", "obtained_by": "A Referrer"},
            "reason": "Help with school runs.",
        }
    )
    request = {
        "headers": {"content-type": "application/json"},
        "body": body_text,
        "isBase64Encoded": False,
        "requestContext": {"requestId": "bench-1"},
    }

    with mock_aws():
        provisioned = provision(Template(copy.deepcopy(body)), boto3.Session(region_name="eu-west-2").client)
        counter = CallCounter()
        boto3.setup_default_session(region_name="eu-west-2")
        assert boto3.DEFAULT_SESSION is not None
        boto3.DEFAULT_SESSION.events.register("before-call.*.*", counter)
        aws.reset_clients()

        functions = {f.handler.split(".")[1]: f for f in provisioned.functions.values()}
        os.environ.update(functions["intake"].environment)
        os.environ.update(functions["event_relay"].environment)
        get_settings.cache_clear()
        from functions.event_relay.handler import handler as relay
        from functions.intake.handler import handler as intake

        context: Any = LocalLambdaContext("intake")  # duck-typed like Lambda's own context object
        first = intake(request, context)
        new_calls = counter.take()
        repeat = intake(request, context)
        repeat_calls = counter.take()
        assert first["statusCode"] == repeat["statusCode"] == 201, (first, repeat)

        [source] = provisioned.event_sources
        reader = StreamReader(source.source_arn, boto3.client("dynamodbstreams"), source.filters)
        records = reader.read()
        counter.take()  # in AWS the event source mapping reads the stream, not the function
        relay({"Records": records}, LocalLambdaContext("event_relay"))
        relay_calls = counter.take()

    def show(label: str, calls: Counter[str]) -> str:
        listed = ", ".join(f"{name} x{count}" for name, count in sorted(calls.items()))
        return f"  {label:<34} {sum(calls.values())} call(s): {listed}"

    total = sum(new_calls.values())
    print("aws_calls: botocore before-call hook, moto wired from the synthesized template")
    print(show("new referral (goal <= 2)", new_calls) + ("" if total <= 2 else "   OVER GOAL"))
    print(show("repeated submission", repeat_calls))
    print(show("event relay, one stream batch", relay_calls))
    sys.stdout.flush()


if __name__ == "__main__":
    main()
