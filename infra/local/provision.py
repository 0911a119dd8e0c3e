"""Creates the synthesized template's resources in moto with the services' own APIs (never moto's CloudFormation).

Tables (keys, GSIs, stream, TTL, PITR, KMS), KMS keys, secrets (with a random value), event buses, archives, queues
(redrive), rules and their targets are created; an HTTP API's endpoint is the local gateway's address; functions and
event source mappings are returned for the local runtime to run in-process.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass, field
from typing import Any

from infra.local.template import Template
from shared.config import Settings


@dataclass(frozen=True)
class LocalFunction:
    logical_id: str
    handler: str
    environment: dict[str, str]
    timeout_seconds: int
    memory_mb: int
    reserved_concurrency: int | None = None  # ReservedConcurrentExecutions: caps the local execution environments


@dataclass(frozen=True)
class LocalEventSource:
    logical_id: str
    function: str  # logical id
    source_arn: str
    kind: str  # "sqs" | "dynamodb"
    batch_size: int
    filters: list[dict[str, Any]]
    report_batch_item_failures: bool
    on_failure_arn: str | None
    maximum_retry_attempts: int = -1
    maximum_batching_window_seconds: int = 0


@dataclass(frozen=True)
class LambdaTarget:
    """A rule's Lambda target. moto never invokes Lambda targets, so the rule delivers to a local queue instead,
    which the runtime polls into the function as an asynchronous invocation (with Lambda's retries)."""

    rule: str
    function: str  # logical id
    queue_url: str
    dead_letter_arn: str | None
    maximum_retry_attempts: int


@dataclass(frozen=True)
class ScheduledRule:
    """A rule with a schedule expression: moto never fires it; the local clock does, into the rule's targets."""

    rule: str
    expression: str
    targets: list[dict[str, Any]]


@dataclass
class Provisioned:
    template: Template
    tables: dict[str, str] = field(default_factory=dict)  # logical id → table name
    buses: dict[str, str] = field(default_factory=dict)
    queues: dict[str, str] = field(default_factory=dict)  # logical id → queue URL
    functions: dict[str, LocalFunction] = field(default_factory=dict)
    event_sources: list[LocalEventSource] = field(default_factory=list)
    lambda_targets: list[LambdaTarget] = field(default_factory=list)
    scheduled_rules: list[ScheduledRule] = field(default_factory=list)


# Where `make run` serves the API by default (the settings' own default); the runtime passes the address it bound.
LOCAL_PUBLIC_URL = Settings().public_url


def provision(template: Template, clients: Any, *, public_url: str = LOCAL_PUBLIC_URL) -> Provisioned:
    """`clients(service)` returns a boto3 client bound to moto (in-process or the local server); `public_url` is the
    local gateway's address, what an HTTP API's ApiEndpoint resolves to (links in emails point there)."""
    result = Provisioned(template)
    _keys(template, clients("kms"))
    _secrets(template, clients("secretsmanager"))
    _apis(template, public_url)
    _user_pools(template, public_url)
    _tables(template, clients("dynamodb"), result)
    _buses(template, clients("events"), result)
    _queues(template, clients("sqs"), result)
    _rules(template, clients("events"), clients("sqs"), result)
    _schedules(template, clients("scheduler"))
    _email(template, clients("sesv2"))
    result.functions = local_functions(template)
    result.event_sources = local_event_sources(template)
    return result


def _keys(template: Template, kms: Any) -> None:
    for logical_id, props in template.of_type("AWS::KMS::Key"):
        key = kms.create_key(Description=props.get("Description", logical_id))["KeyMetadata"]
        if props.get("EnableKeyRotation"):
            kms.enable_key_rotation(KeyId=key["KeyId"])
        template.attributes[logical_id] = {"Ref": key["KeyId"], "Arn": key["Arn"]}


def _secrets(template: Template, secretsmanager: Any) -> None:
    """Each secret with a fresh random value (a generated secret's length, about), encrypted with its key if any."""
    for logical_id, raw in template.of_type("AWS::SecretsManager::Secret"):
        props = template.resolve(raw)
        value = props.get("SecretString")
        if value is None:
            length = int((props.get("GenerateSecretString") or {}).get("PasswordLength", 32))
            value = secrets.token_urlsafe(length)[:length]
        request: dict[str, Any] = {"Name": props.get("Name", logical_id), "SecretString": str(value)}
        for key in ("Description", "KmsKeyId"):
            if props.get(key):
                request[key] = props[key]
        arn = secretsmanager.create_secret(**request)["ARN"]
        template.attributes[logical_id] = {"Ref": arn, "Id": arn}  # a secret's Ref is its ARN
        template.secret_values[arn] = str(value)


def _apis(template: Template, public_url: str) -> None:
    """The API, its custom domain and CloudFront's aliases all answer at the gateway's address: links in emails and
    sign-in callbacks built from `https://<the domain>` resolve there."""
    for logical_id, _ in template.of_type("AWS::ApiGatewayV2::Api"):
        template.attributes[logical_id] = {"Ref": logical_id, "ApiId": logical_id, "ApiEndpoint": public_url}
    for logical_id, raw in template.of_type("AWS::ApiGatewayV2::DomainName"):
        name = str(raw.get("DomainName", logical_id))
        template.attributes[logical_id] = {"Ref": name, "RegionalDomainName": name}
        template.endpoints[f"https://{name}"] = public_url


LOCAL_COGNITO_PATH = "/_local/cognito"  # where the gateway serves the user pool's endpoints (infra/local/cognito.py)


def _user_pools(template: Template, public_url: str) -> None:
    """The user pool's web endpoints are served by the gateway: its domain (managed login, token, logout) at
    /_local/cognito, its issuer (and JWKS) at /_local/cognito/<pool>. Clients are their logical ids."""
    for logical_id, _ in template.of_type("AWS::Cognito::UserPool"):
        provider = f"cognito-idp.{template.region}.amazonaws.com/{logical_id}"
        template.attributes[logical_id] = {
            "Ref": logical_id,
            "Arn": template.arn(logical_id),
            "ProviderName": provider,
            "ProviderURL": f"https://{provider}",
        }
        template.endpoints[f"https://{provider}"] = f"{public_url}{LOCAL_COGNITO_PATH}/{logical_id}"
    for logical_id, raw in template.of_type("AWS::Cognito::UserPoolDomain"):
        prefix = str(template.resolve(raw.get("Domain", logical_id)))
        template.attributes[logical_id] = {"Ref": prefix}
        template.endpoints[f"https://{prefix}.auth.{template.region}.amazoncognito.com"] = (
            f"{public_url}{LOCAL_COGNITO_PATH}"
        )


def _tables(template: Template, dynamodb: Any, result: Provisioned) -> None:
    for logical_id, raw in template.of_type("AWS::DynamoDB::Table"):
        props = template.resolve(raw)
        request: dict[str, Any] = {
            "TableName": logical_id,
            "KeySchema": props["KeySchema"],
            "AttributeDefinitions": props["AttributeDefinitions"],
            "BillingMode": props.get("BillingMode", "PAY_PER_REQUEST"),
        }
        if props.get("GlobalSecondaryIndexes"):
            request["GlobalSecondaryIndexes"] = props["GlobalSecondaryIndexes"]
        if "StreamSpecification" in props:
            request["StreamSpecification"] = {"StreamEnabled": True, **props["StreamSpecification"]}
        sse = props.get("SSESpecification")
        if sse and sse.get("SSEEnabled"):
            request["SSESpecification"] = {"Enabled": True, "SSEType": sse.get("SSEType", "KMS")}
            if sse.get("KMSMasterKeyId"):
                request["SSESpecification"]["KMSMasterKeyId"] = sse["KMSMasterKeyId"]
        description = dynamodb.create_table(**request)["TableDescription"]
        ttl = props.get("TimeToLiveSpecification")
        if ttl and ttl.get("Enabled"):
            dynamodb.update_time_to_live(TableName=logical_id, TimeToLiveSpecification=ttl)
        if (props.get("PointInTimeRecoverySpecification") or {}).get("PointInTimeRecoveryEnabled"):
            dynamodb.update_continuous_backups(
                TableName=logical_id, PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True}
            )
        attributes = {"Ref": logical_id, "Arn": description["TableArn"]}
        if description.get("LatestStreamArn"):
            attributes["StreamArn"] = description["LatestStreamArn"]
        template.attributes[logical_id] = attributes
        result.tables[logical_id] = logical_id


def _buses(template: Template, events: Any, result: Provisioned) -> None:
    for logical_id, _ in template.of_type("AWS::Events::EventBus"):
        arn = events.create_event_bus(Name=logical_id)["EventBusArn"]
        template.attributes[logical_id] = {"Ref": logical_id, "Name": logical_id, "Arn": arn}
        result.buses[logical_id] = logical_id
    for logical_id, raw in template.of_type("AWS::Events::Archive"):
        props = template.resolve(raw)
        pattern = props.get("EventPattern")
        events.create_archive(
            ArchiveName=logical_id,
            EventSourceArn=props["SourceArn"],
            EventPattern=json.dumps(pattern) if isinstance(pattern, dict) else (pattern or "{}"),
            RetentionDays=int(props.get("RetentionDays", 0)),
        )


def _queues(template: Template, sqs: Any, result: Provisioned) -> None:
    queues = list(template.of_type("AWS::SQS::Queue"))
    for logical_id, raw in queues:  # all queues first: a redrive policy names its DLQ by ARN
        props = template.resolve({k: v for k, v in raw.items() if k != "RedrivePolicy"})
        attributes = {
            name: str(props[key])
            for key, name in (
                ("VisibilityTimeout", "VisibilityTimeout"),
                ("MessageRetentionPeriod", "MessageRetentionPeriod"),
                ("SqsManagedSseEnabled", "SqsManagedSseEnabled"),
                ("KmsMasterKeyId", "KmsMasterKeyId"),
                ("DelaySeconds", "DelaySeconds"),
            )
            if key in props
        }
        url = sqs.create_queue(QueueName=logical_id, Attributes=attributes)["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        template.attributes[logical_id] = {"Ref": url, "Arn": arn, "QueueName": logical_id, "QueueUrl": url}
        result.queues[logical_id] = url
    for logical_id, raw in queues:
        if "RedrivePolicy" in raw:
            policy = template.resolve(raw["RedrivePolicy"])
            sqs.set_queue_attributes(
                QueueUrl=result.queues[logical_id], Attributes={"RedrivePolicy": json.dumps(policy)}
            )


def _rules(template: Template, events: Any, sqs: Any, result: Provisioned) -> None:
    for logical_id, raw in template.of_type("AWS::Events::Rule"):
        props = template.resolve(raw)
        request: dict[str, Any] = {"Name": logical_id, "State": props.get("State", "ENABLED")}
        if "EventBusName" in props:
            request["EventBusName"] = props["EventBusName"]
        if "EventPattern" in props:
            request["EventPattern"] = json.dumps(props["EventPattern"])
        if "ScheduleExpression" in props:
            request["ScheduleExpression"] = props["ScheduleExpression"]
        arn = events.put_rule(**request)["RuleArn"]
        template.attributes[logical_id] = {"Ref": logical_id, "Arn": arn}
        targets = [
            {key: target[key] for key in ("Id", "Arn", "Input", "InputPath", "SqsParameters") if key in target}
            for target in props.get("Targets", [])
        ]
        for target, declared in zip(targets, props.get("Targets", []), strict=True):
            if ":function:" in target["Arn"]:
                target["Arn"] = _lambda_target_queue(logical_id, target, declared, sqs, result)
        if "ScheduleExpression" in props and props.get("State", "ENABLED") == "ENABLED":
            result.scheduled_rules.append(ScheduledRule(logical_id, props["ScheduleExpression"], targets))
        if targets:
            events.put_targets(Rule=logical_id, EventBusName=request.get("EventBusName", "default"), Targets=targets)


def _lambda_target_queue(
    rule: str, target: dict[str, Any], declared: dict[str, Any], sqs: Any, result: Provisioned
) -> str:
    name = f"local-{rule}-{target['Id']}"[:80]
    url = sqs.create_queue(QueueName=name)["QueueUrl"]
    retry = declared.get("RetryPolicy") or {}
    result.lambda_targets.append(
        LambdaTarget(
            rule=rule,
            function=target["Arn"].split(":function:", 1)[1].split(":", 1)[0],
            queue_url=url,
            dead_letter_arn=(declared.get("DeadLetterConfig") or {}).get("Arn"),
            # Lambda's asynchronous invocation retries a function error twice.
            maximum_retry_attempts=min(int(retry.get("MaximumRetryAttempts", 2)), 2),
        )
    )
    arn: str = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    return arn


def _schedules(template: Template, scheduler: Any) -> None:
    for logical_id, raw in template.of_type("AWS::Scheduler::ScheduleGroup"):
        name = raw.get("Name", logical_id)
        scheduler.create_schedule_group(Name=name)
        template.attributes[logical_id] = {"Ref": name, "Name": name}
    for logical_id, raw in template.of_type("AWS::Scheduler::Schedule"):
        props = template.resolve(raw)
        request = {
            key: props[key]
            for key in (
                "GroupName",
                "ScheduleExpression",
                "ScheduleExpressionTimezone",
                "FlexibleTimeWindow",
                "Target",
                "State",
                "Description",
                "StartDate",
                "EndDate",
                "ActionAfterCompletion",
            )
            if key in props
        }
        request.setdefault("FlexibleTimeWindow", {"Mode": "OFF"})
        name = props.get("Name", logical_id)
        scheduler.create_schedule(Name=name, **request)
        template.attributes[logical_id] = {"Ref": name}


def _email(template: Template, sesv2: Any) -> None:
    for logical_id, raw in template.of_type("AWS::SES::ConfigurationSet"):
        name = raw.get("Name", logical_id)
        sesv2.create_configuration_set(ConfigurationSetName=name)
        template.attributes[logical_id] = {"Ref": name}
    for logical_id, raw in template.of_type("AWS::SES::EmailIdentity"):
        identity = template.resolve(raw["EmailIdentity"])
        sesv2.create_email_identity(EmailIdentity=identity)
        template.attributes[logical_id] = {"Ref": identity}


def local_functions(template: Template) -> dict[str, LocalFunction]:
    """The project's functions (CDK's helper functions excluded), with their environments resolved to local names."""
    functions: dict[str, LocalFunction] = {}
    for logical_id, raw in template.of_type("AWS::Lambda::Function"):
        if not str(raw.get("Runtime", "")).startswith("python") or "Handler" not in raw:
            continue  # CDK's own helper functions (Node.js custom resources) do not run locally
        props = template.resolve({k: v for k, v in raw.items() if k not in ("Code", "Role", "Layers")})
        functions[logical_id] = LocalFunction(
            logical_id=logical_id,
            handler=props["Handler"],
            environment={k: str(v) for k, v in props.get("Environment", {}).get("Variables", {}).items()},
            timeout_seconds=int(props.get("Timeout", 3)),
            memory_mb=int(props.get("MemorySize", 128)),
            reserved_concurrency=(
                int(props["ReservedConcurrentExecutions"]) if props.get("ReservedConcurrentExecutions") else None
            ),
        )
    return functions


def local_event_sources(template: Template) -> list[LocalEventSource]:
    sources: list[LocalEventSource] = []
    for logical_id, raw in template.of_type("AWS::Lambda::EventSourceMapping"):
        props = template.resolve(raw)
        function = raw["FunctionName"]["Ref"] if isinstance(raw["FunctionName"], dict) else raw["FunctionName"]
        source_arn = props["EventSourceArn"]
        on_failure = ((props.get("DestinationConfig") or {}).get("OnFailure") or {}).get("Destination")
        sources.append(
            LocalEventSource(
                logical_id=logical_id,
                function=function,
                source_arn=source_arn,
                kind="dynamodb" if ":dynamodb:" in source_arn else "sqs",
                batch_size=int(props.get("BatchSize", 10)),
                filters=[json.loads(f["Pattern"]) for f in (props.get("FilterCriteria") or {}).get("Filters", [])],
                report_batch_item_failures="ReportBatchItemFailures" in props.get("FunctionResponseTypes", []),
                on_failure_arn=on_failure,
                maximum_retry_attempts=int(props.get("MaximumRetryAttempts", -1)),
                maximum_batching_window_seconds=int(props.get("MaximumBatchingWindowInSeconds", 0)),
            )
        )
    return sources
