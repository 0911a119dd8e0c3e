"""moto wired from the synthesized template: tables, bus, queues and function environments, as in the cloud."""

from __future__ import annotations

import copy
import fnmatch
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import boto3
import botocore.loaders
import botocore.session
import pytest
from moto import mock_aws

from infra.constants import EVENT_RELAY, INTAKE
from infra.local.lambda_context import LocalLambdaContext
from infra.local.moto_isolation import isolate_dynamodb
from infra.local.provision import LocalFunction, Provisioned, provision
from infra.local.streams import StreamReader
from infra.local.template import LOCAL_REGION, Template
from shared.adapters import aws as shared_aws
from shared.config import get_settings

# botocore's service ids → IAM's service prefixes, and a transaction's items → the IAM action each needs.
_IAM_PREFIX = {"eventbridge": "events", "secrets-manager": "secretsmanager", "sesv2": "ses"}
_TRANSACT_ACTIONS = {
    "Put": "PutItem",
    "Update": "UpdateItem",
    "Delete": "DeleteItem",
    "ConditionCheck": "ConditionCheckItem",
}


@dataclass
class PermissionsUsed:
    """The IAM actions the function being invoked needs for the AWS calls it makes (a botocore hook, with the
    call's parameters, on the default session: the functions' clients come from it; the test's own clients use
    another session)."""

    function: str | None = None
    actions: set[str] = field(default_factory=set)

    def __call__(self, event_name: str, params: dict[str, Any], **_: Any) -> None:
        if self.function is None:
            return
        _hook, service, operation = event_name.split(".", 2)
        prefix = _IAM_PREFIX.get(service, service)
        if operation == "TransactWriteItems":
            for item in params.get("TransactItems", []):
                self.actions |= {f"{prefix}:{_TRANSACT_ACTIONS[kind]}" for kind in item}
        else:
            self.actions.add(f"{prefix}:{operation}")


def allowed_actions(template_body: dict[str, Any], function_logical_id: str) -> list[str]:
    """The actions the function's role is allowed (patterns, as IAM writes them)."""
    role = template_body["Resources"][function_logical_id]["Properties"]["Role"]["Fn::GetAtt"][0]
    found: list[str] = []
    for resource in template_body["Resources"].values():
        if resource["Type"] == "AWS::IAM::Policy" and {"Ref": role} in resource["Properties"]["Roles"]:
            for statement in resource["Properties"]["PolicyDocument"]["Statement"]:
                if statement.get("Effect", "Allow") == "Allow":
                    action = statement["Action"]
                    found += action if isinstance(action, list) else [action]
    return found


@dataclass
class Cloud:
    provisioned: Provisioned
    session: boto3.Session
    monkeypatch: pytest.MonkeyPatch
    permissions: PermissionsUsed = field(default_factory=PermissionsUsed)
    _reader: StreamReader | None = None

    def client(self, service: str) -> Any:
        return self.session.client(service)  # type: ignore[call-overload]

    def function(self, name: str) -> LocalFunction:
        [found] = [f for f in self.provisioned.functions.values() if f.handler == f"functions.{name}.handler.handler"]
        return found

    def use_environment_of(self, name: str) -> LocalFunction:
        """Run as the function `name` runs: with exactly the environment its template gives it."""
        function = self.function(name)
        for key, value in function.environment.items():
            self.monkeypatch.setenv(key, value)
        get_settings.cache_clear()
        return function

    @property
    def table_name(self) -> str:
        [name] = self.provisioned.tables.values()
        return name

    @property
    def bus_name(self) -> str:
        [name] = self.provisioned.buses.values()
        return name

    def items(self) -> list[dict[str, Any]]:
        from shared.adapters.dynamodb import from_item

        pages = self.client("dynamodb").get_paginator("scan").paginate(TableName=self.table_name)
        return [from_item(item) for page in pages for item in page["Items"]]

    def capture_events(self) -> EventCapture:
        sqs, events = self.client("sqs"), self.client("events")
        url = sqs.create_queue(QueueName="test-capture")["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        events.put_rule(
            Name="test-capture",
            EventBusName=self.bus_name,
            EventPattern=json.dumps({"source": ["familynet"]}),
        )
        events.put_targets(Rule="test-capture", EventBusName=self.bus_name, Targets=[{"Id": "capture", "Arn": arn}])
        return EventCapture(sqs, url)

    def relay_reader(self) -> StreamReader:
        """The relay's event source: one reader per test, so each read returns only records not yet read."""
        if self._reader is None:
            relay = self.function(EVENT_RELAY)
            [source] = [s for s in self.provisioned.event_sources if s.function == relay.logical_id]
            self._reader = StreamReader(
                source.source_arn, self.client("dynamodbstreams"), source.filters, self.client("dynamodb")
            )
        return self._reader


@dataclass
class EventCapture:
    sqs: Any
    url: str

    def received(self) -> list[dict[str, Any]]:
        messages: list[dict[str, Any]] = []
        while batch := self.sqs.receive_message(QueueUrl=self.url, MaxNumberOfMessages=10).get("Messages", []):
            for message in batch:
                messages.append(json.loads(message["Body"]))
                self.sqs.delete_message(QueueUrl=self.url, ReceiptHandle=message["ReceiptHandle"])
        return messages


# One loader of botocore's service models for every session the tests make: a new session parses the JSON models of
# each service it uses again, a third of each test's setup before (~0.3 s of ~1 s on a quiet machine).
_MODELS = botocore.loaders.create_loader()


def _session() -> boto3.Session:
    core = botocore.session.get_session()
    core.register_component("data_loader", _MODELS)
    session = boto3.Session(botocore_session=core, region_name=LOCAL_REGION)
    _MODELS.search_paths[:] = dict.fromkeys(_MODELS.search_paths)  # boto3 appends its own path for each session
    return session


@pytest.fixture
def cloud(template_body: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> Iterator[Cloud]:
    for key, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": LOCAL_REGION,
        "AWS_REGION": LOCAL_REGION,
        # botocore's account-based endpoints ({account}.streams-ddb...) are unknown to moto's URL patterns
        "AWS_ACCOUNT_ID_ENDPOINT_MODE": "disabled",
    }.items():
        monkeypatch.setenv(key, value)
    shared_aws.reset_clients()
    isolate_dynamodb()
    with mock_aws():
        session = _session()
        provisioned = provision(Template(copy.deepcopy(template_body)), session.client)
        cloud = Cloud(provisioned, session, monkeypatch)
        boto3.DEFAULT_SESSION = _session()  # the functions' clients come from this session
        assert boto3.DEFAULT_SESSION is not None
        boto3.DEFAULT_SESSION.events.register("before-parameter-build.*.*", cloud.permissions)
        yield cloud
    shared_aws.reset_clients()
    get_settings.cache_clear()


def api_event(
    body: str | dict[str, Any] | None,
    *,
    content_type: str | None = "application/json",
    headers: dict[str, str] | None = None,
    base64: bool = False,
) -> dict[str, Any]:
    """An API Gateway HTTP API (payload 2.0) request for POST /referrals."""
    import base64 as b64

    text = json.dumps(body) if isinstance(body, dict) else body
    all_headers = {"content-type": content_type} if content_type else {}
    all_headers.update({k.lower(): v for k, v in (headers or {}).items()})
    if base64 and text is not None:
        text = b64.b64encode(text.encode()).decode()
    return {
        "version": "2.0",
        "routeKey": "POST /referrals",
        "rawPath": "/referrals",
        "rawQueryString": "",
        "headers": all_headers,
        "requestContext": {
            "http": {
                "method": "POST",
                "path": "/referrals",
                "protocol": "HTTP/1.1",
                "sourceIp": "127.0.0.1",
                "userAgent": "pytest",
            },
            "requestId": "req-" + str(abs(hash(text)) % 10**8),
            "routeKey": "POST /referrals",
            "stage": "$default",
            "timeEpoch": 0,
        },
        "body": text,
        "isBase64Encoded": base64,
    }


def link_event(
    token: str, kind: str, method: str = "GET", form: dict[str, str] | None = None, *, suffix: str = "", **headers: str
) -> dict[str, Any]:
    """An API Gateway HTTP API (payload 2.0) request for a signed link's route, `/<kind>/{token}<suffix>`
    (connections, agreements, plans, evaluations), with the form as a browser posts it."""
    from urllib.parse import urlencode

    path = f"/{kind}/{token}{suffix}"
    route = f"{method} /{kind}/{{token}}{suffix}"
    body = urlencode(form) if form is not None else None
    form_type = {"content-type": "application/x-www-form-urlencoded"} if body is not None else {}
    return {
        "version": "2.0",
        "routeKey": route,
        "rawPath": path,
        "rawQueryString": "",
        "headers": {**form_type, **headers},
        "pathParameters": {"token": token},
        "requestContext": {
            "http": {"method": method, "path": path, "protocol": "HTTP/1.1", "sourceIp": "127.0.0.1", "userAgent": "t"},
            "requestId": f"req-{kind}",
            "routeKey": route,
            "stage": "$default",
            "timeEpoch": 0,
        },
        "body": body,
        "isBase64Encoded": False,
    }


def invoke(
    name: str, cloud: Cloud, event: dict[str, Any], *, seconds_left: float | None = None, **collaborators: Any
) -> Any:
    """Import the function's handler as the template names it and call it with a Lambda context (with the function's
    timeout, or `seconds_left`)."""
    import importlib

    function = cloud.use_environment_of(name)
    module_name, attribute = function.handler.rsplit(".", 1)
    handler = getattr(importlib.import_module(module_name), attribute)
    context = LocalLambdaContext(
        function.logical_id, function.memory_mb, function.timeout_seconds if seconds_left is None else seconds_left
    )
    from shared.adapters.secrets import forget_link_keys

    forget_link_keys()  # each function reads the link key itself (a process-wide cache would hide its call)
    cloud.permissions.function, cloud.permissions.actions = function.logical_id, set()
    try:
        return handler(event, context, **collaborators)
    finally:
        # What moto lets through, IAM might not: every call the function made must be allowed by its role.
        cloud.permissions.function = None
        allowed = allowed_actions(cloud.provisioned.template.body, function.logical_id)
        refused = sorted(a for a in cloud.permissions.actions if not any(fnmatch.fnmatch(a, p) for p in allowed))
        assert refused == [], f"{name}'s role does not allow {refused}: add them to its construct's policy"


@pytest.fixture
def submit(cloud: Cloud) -> Any:
    def _submit(body: Any, **kwargs: Any) -> dict[str, Any]:
        response = invoke(INTAKE, cloud, api_event(body, **kwargs))
        response["json"] = json.loads(response["body"])
        return response  # type: ignore[no-any-return]

    return _submit
