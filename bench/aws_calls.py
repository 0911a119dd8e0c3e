"""The AWS calls one intake makes, counted by a botocore event hook, against moto wired from the synthesized template.

Goal: ≤ 2 calls for a new referral. Also prints a repeated submission's calls, the relay's calls per batch and
the calls of each coordinators' route.
"""

from __future__ import annotations

import copy
import json
import os
import sys
from collections import Counter
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


def _staff_event(route_key: str, path: str, body: Any = None, query: dict[str, str] | None = None) -> dict[str, Any]:
    return {
        "version": "2.0",
        "routeKey": route_key,
        "rawPath": path,
        "rawQueryString": "",
        "headers": {"content-type": "application/json"},
        "queryStringParameters": query,
        "requestContext": {
            "http": {"method": route_key.split(" ", maxsplit=1)[0], "path": path, "sourceIp": "127.0.0.1"},
            "requestId": "bench",
            "routeKey": route_key,
            "stage": "$default",
            "authorizer": {"jwt": {"claims": {"sub": "bench", "cognito:groups": "[coordinators]"}}},
        },
        "body": json.dumps(body) if body is not None else None,
        "isBase64Encoded": False,
    }


def _staff_routes(functions: dict[str, Any], reference: str, counter: CallCounter) -> list[tuple[str, Counter[str]]]:
    """Each coordinators' route once, in a meaningful order, with the AWS calls it made."""
    from datetime import UTC, datetime, timedelta

    from infra.local.lambda_context import LocalLambdaContext
    from shared.config import get_settings

    os.environ.update(functions["scheduling"].environment)
    get_settings.cache_clear()
    from functions.scheduling.handler import handler as scheduling

    context: Any = LocalLambdaContext("scheduling")
    start = (datetime.now(UTC) + timedelta(days=7)).replace(hour=10, minute=0, second=0, microsecond=0)
    days = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
    weekly = [{"day": d, "start": "08:00", "end": "20:00"} for d in days]  # a booking on any day keeps the time rules
    meeting = {
        "starts_at": start.isoformat(),
        "ends_at": (start + timedelta(hours=2)).isoformat(),
        "venue": {"type": "online"},
        "facilitator_id": "bench-1",
    }
    today = datetime.now(UTC).date()
    partner_ids = []
    for n in (1, 2):
        partner = {
            "name": f"Bench partner {n}",
            "kind": "charity",
            "offers": ["items"],
            "localities": ["North"],
            "email": f"partner{n}@bench.example.org",
        }
        added = scheduling(_staff_event("POST /partners", "/partners", partner), context)
        partner_ids.append(json.loads(added["body"])["partner_id"])
    plan = {
        "first_review_due_on": (today + timedelta(days=60)).isoformat(),
        "network_actions": [{"who": "Bench", "what": "Bench", "partner_id": partner_ids[0]}],
        "support_package": [
            {"category": "item", "description": "Bench", "estimated_cost_pence": 1, "partner_id": partner_ids[1]}
        ],
        "partner_consent": [{"partner_id": p, "share_contact_name": False} for p in partner_ids],
    }
    steps = [
        (
            "PUT /facilitators/{facilitator_id}/availability",
            "/facilitators/bench-1/availability",
            {"locality": "North", "weekly": weekly},
            None,
        ),
        ("GET /facilitators", "/facilitators", None, None),
        ("GET /referrals", "/referrals", None, {"status": "accepted"}),
        ("GET /referrals/{reference}", f"/referrals/{reference}", None, None),
        # preparation: a contact starts it; the family agrees; the checklist; a child's voice
        (
            "POST /referrals/{reference}/preparation/contacts",
            f"/referrals/{reference}/preparation/contacts",
            {"method": "visit", "contacted_on": today.isoformat(), "note": "Bench"},
            None,
        ),
        (
            "PUT /referrals/{reference}/preparation/decision",
            f"/referrals/{reference}/preparation/decision",
            {"go_ahead": True, "decided_on": today.isoformat()},
            None,
        ),
        (
            "PUT /referrals/{reference}/preparation/checklist",
            f"/referrals/{reference}/preparation/checklist",
            {"done": ["network_identified", "child_views_sought"]},
            None,
        ),
        (
            "PUT /referrals/{reference}/children/{child}/voice",
            f"/referrals/{reference}/children/1/voice",
            {"participation": "attends", "advocate_allocated": False},
            None,
        ),
        ("PUT /referrals/{reference}/meeting", f"/referrals/{reference}/meeting", meeting, None),
        (
            "PUT /referrals/{reference}/meeting",
            f"/referrals/{reference}/meeting",
            {
                **meeting,
                "starts_at": (start + timedelta(days=1)).isoformat(),
                "ends_at": (start + timedelta(days=1, hours=2)).isoformat(),
            },
            None,
        ),
        ("DELETE /referrals/{reference}/meeting", f"/referrals/{reference}/meeting", {"reason": "Bench"}, None),
        ("PUT /referrals/{reference}/meeting", f"/referrals/{reference}/meeting", meeting, None),
        (
            "POST /referrals/{reference}/meeting/outcome",
            f"/referrals/{reference}/meeting/outcome",
            {"held": True, "held_on": today.isoformat(), "plan": plan},
            None,
        ),
        # the lead practitioner's agreement, recorded by the coordinator: the plan is in force, the partners asked
        (
            "POST /referrals/{reference}/plan/agreement",
            f"/referrals/{reference}/plan/agreement",
            {"decision": "agree"},
            None,
        ),
        (
            "PUT /referrals/{reference}/reviews/{number}",
            f"/referrals/{reference}/reviews/1",
            {"due_on": (today + timedelta(days=70)).isoformat(), "reason": "Bench"},
            None,
        ),
        (
            "POST /referrals/{reference}/reviews",
            f"/referrals/{reference}/reviews",
            {"outcome": "continue", "next_review_due_on": (today + timedelta(days=80)).isoformat()},
            None,
        ),
        ("POST /referrals/{reference}/withdraw", f"/referrals/{reference}/withdraw", {"reason": "Bench"}, None),
    ]
    results = []
    counter.take()
    from shared.observability import logger

    logger.setLevel("ERROR")
    notes = {8: " (book)", 9: " (move)", 11: " (book again)", 12: " (a plan naming 2 partners)"}
    for index, (route_key, path, body, query) in enumerate(steps):
        if route_key.endswith("/withdraw"):  # before the referral ends: a partner answers through its link
            results += _partner_answers(functions, reference, partner_ids[0], counter)
            os.environ.update(functions["scheduling"].environment)
            get_settings.cache_clear()
        response = scheduling(_staff_event(route_key, path, body, query), context)
        assert response["statusCode"] == 200, (route_key, response["body"])
        results.append((route_key + notes.get(index, ""), counter.take()))
    return results


def _partner_answers(
    functions: dict[str, Any], reference: str, partner_id: str, counter: CallCounter
) -> list[tuple[str, Counter[str]]]:
    """The partner's link opened, then answered; and a second partner page with the link key already cached."""
    from datetime import UTC, datetime

    from infra.local.lambda_context import LocalLambdaContext
    from shared.adapters import secrets
    from shared.adapters.dynamodb import ReferralReader
    from shared.config import get_settings
    from shared.service import connections

    os.environ.update(functions["connections"].environment)
    get_settings.cache_clear()
    settings = get_settings()
    from functions.connections.handler import handler as answer_page

    item = ReferralReader(settings.table_name).item(connections.connection_key(reference, partner_id))
    assert item is not None
    token = connections.link_for(
        reference, partner_id, item["connection_id"], settings=settings, now=datetime.now(UTC)
    ).rsplit("/", 1)[1]
    secrets.forget_link_keys()  # a cold function: the key is read once, then kept
    counter.take()

    def call(method: str, body: str | None = None) -> Counter[str]:
        event = _staff_event(f"{method} /connections/{{token}}", f"/connections/{token}")
        event["pathParameters"] = {"token": token}
        event["headers"] = {"content-type": "application/x-www-form-urlencoded"}
        event["body"] = body
        response = answer_page(event, LocalLambdaContext("connections"))
        assert response["statusCode"] == 200, response["body"]
        return counter.take()

    return [
        ("GET /connections/{token} (cold: reads the link key)", call("GET")),
        ("POST /connections/{token} (key cached)", call("POST", "answer=contacted")),
    ]


def _allocation_calls(
    functions: dict[str, Any], counter: CallCounter, intake: Any, request: dict[str, Any]
) -> list[tuple[str, Counter[str]]]:
    """The ReferralAccepted consumer's calls (allocate a facilitator, propose slots) with 1 and with 30 facilitators:
    they must not grow with the number of facilitators."""
    from datetime import UTC, datetime

    from infra.local.lambda_context import LocalLambdaContext
    from shared.adapters.dynamodb import ReferralReader
    from shared.config import get_settings
    from shared.service.proposals import propose

    weekly = [{"day": d, "start": "08:00", "end": "20:00"} for d in ("monday", "tuesday", "wednesday", "thursday")]
    results = []
    made = 0
    for wanted in (1, 30):
        os.environ.update(functions["scheduling"].environment)
        get_settings.cache_clear()
        from functions.scheduling.handler import handler as scheduling

        for n in range(made, wanted):
            path = f"/facilitators/alloc-{n}/availability"
            route = "PUT /facilitators/{facilitator_id}/availability"
            scheduling(_staff_event(route, path, {"locality": "South", "weekly": weekly}), LocalLambdaContext("s"))
        made = wanted
        body = json.loads(request["body"])
        body["family"]["contact_name"] = f"Allocation {wanted}"
        submitted = intake({**request, "body": json.dumps(body)}, LocalLambdaContext("intake"))
        reference = json.loads(submitted["body"])["reference"]
        counter.take()
        now = datetime.now(UTC)
        settings = get_settings()
        reader = ReferralReader(settings.table_name)
        propose(reference, event_id=f"bench-{wanted}", accepted_at=now, reader=reader, settings=settings, now=now)
        results.append((f"ReferralAccepted consumer, {wanted} facilitator(s)", counter.take()))
    [(_, one), (_, thirty)] = results
    assert sum(one.values()) == sum(thirty.values()), "the consumer's calls grow with the number of facilitators"
    return results


def main() -> None:
    import boto3
    from moto import mock_aws

    from infra.local.__main__ import BUILD, template_path
    from infra.local.lambda_context import LocalLambdaContext
    from infra.local.provision import provision
    from infra.local.streams import StreamReader
    from infra.local.template import Template
    from shared.adapters import aws
    from shared.config import get_settings

    body = json.loads(template_path(BUILD / "cdk.out").read_text())  # make run's light synth, cached

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
        "version": "2.0",
        "routeKey": "POST /referrals",
        "rawPath": "/referrals",
        "rawQueryString": "",
        "headers": {"content-type": "application/json"},
        "body": body_text,
        "isBase64Encoded": False,
        "requestContext": {
            "http": {"method": "POST", "path": "/referrals", "sourceIp": "127.0.0.1"},
            "requestId": "bench-1",
            "routeKey": "POST /referrals",
            "stage": "$default",
        },
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

        [source] = [s for s in provisioned.event_sources if s.kind == "dynamodb"]
        reader = StreamReader(source.source_arn, boto3.client("dynamodbstreams"), source.filters)
        records = reader.read()
        counter.take()  # in AWS the event source mapping reads the stream, not the function
        relay({"Records": records}, LocalLambdaContext("event_relay"))
        relay_calls = counter.take()
        staff_calls = [
            *_staff_routes(functions, json.loads(first["body"])["reference"], counter),
            *_allocation_calls(functions, counter, intake, request),
        ]

    def show(label: str, calls: Counter[str]) -> str:
        listed = ", ".join(f"{name} x{count}" for name, count in sorted(calls.items()))
        return f"  {label:<52} {sum(calls.values())} call(s): {listed}"

    total = sum(new_calls.values())
    print("aws_calls: botocore before-call hook, moto wired from the synthesized template")
    print(show("new referral (goal <= 2)", new_calls) + ("" if total <= 2 else "   OVER GOAL"))
    print(show("repeated submission", repeat_calls))
    print(show("event relay, one stream batch", relay_calls))
    for label, calls in staff_calls:
        print(show(label, calls))
    sys.stdout.flush()


if __name__ == "__main__":
    main()
