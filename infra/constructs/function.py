"""A familynet Lambda function: arm64, the newest Python runtime, tracing, its own log group, Powertools settings."""

from __future__ import annotations

from aws_cdk import Duration, RemovalPolicy, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct

from infra import assets
from infra.constants import LOG_RETENTION_NAME
from infra.nag import acknowledge
from shared.config import METRICS_NAMESPACE

RUNTIME = lambda_.Runtime.PYTHON_3_14
LOG_RETENTION = getattr(logs.RetentionDays, LOG_RETENTION_NAME)

# The public functions' reserved concurrency (`-c 'familynet:reserved_concurrency={"intake": 20, ...}'`): a flood
# through the public routes can use no more than this, and can never take the concurrency the event consumers need.
# Throttled requests get API Gateway's 503 (behind WAF's and the stage's own limits, which answer first).
RESERVED_CONCURRENCY_CONTEXT = "familynet:reserved_concurrency"
DEFAULT_RESERVED_CONCURRENCY = {"intake": 20, "connections": 5, "console": 10}
MAX_RESERVED_CONCURRENCY = 900  # Lambda keeps 100 of an account's 1,000 unreserved


def reserved_concurrency(scope: Construct, name: str) -> int:
    """A public function's reserved concurrency from context (default above); a bad value fails the synth."""
    given = scope.node.try_get_context(RESERVED_CONCURRENCY_CONTEXT)
    if given is not None and not isinstance(given, dict):
        raise ValueError(f"{RESERVED_CONCURRENCY_CONTEXT} must be an object like {DEFAULT_RESERVED_CONCURRENCY}")
    unknown = sorted(set(given or {}) - set(DEFAULT_RESERVED_CONCURRENCY))
    if unknown:
        raise ValueError(f"{RESERVED_CONCURRENCY_CONTEXT}: {unknown[0]!r} is not a public function")
    value = (given or {}).get(name, DEFAULT_RESERVED_CONCURRENCY[name])
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_RESERVED_CONCURRENCY:
        raise ValueError(
            f"{RESERVED_CONCURRENCY_CONTEXT}.{name} must be a whole number from 1 to {MAX_RESERVED_CONCURRENCY}, "
            f"not {value!r}"
        )
    return int(value)


class DependenciesLayer(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, full: bool) -> None:
        super().__init__(scope, construct_id)
        self.layer = lambda_.LayerVersion(
            self,
            "Layer",
            code=lambda_.Code.from_asset(str(assets.dependencies_layer(full=full))),
            compatible_runtimes=[RUNTIME],
            compatible_architectures=[lambda_.Architecture.ARM_64],
            description="familynet runtime dependencies (Powertools, pydantic) for arm64",
        )


class FamilynetFunction(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        name: str,
        description: str,
        layer: lambda_.ILayerVersion,
        environment: dict[str, str],
        memory_mb: int,
        timeout: Duration,
        with_web: bool = False,
        public: bool = False,
    ) -> None:
        """`public`: behind a public route; its concurrency is reserved (and so capped)."""
        super().__init__(scope, construct_id)
        self.service = name
        self.log_group = logs.LogGroup(
            self,
            "Logs",
            retention=LOG_RETENTION,
            removal_policy=RemovalPolicy.DESTROY,
        )
        self.function = lambda_.Function(
            self,
            "Function",
            description=description,
            runtime=RUNTIME,
            architecture=lambda_.Architecture.ARM_64,
            handler=f"functions.{name}.handler.handler",
            code=lambda_.Code.from_asset(str(assets.function_code(name, with_web=with_web))),
            layers=[layer],
            memory_size=memory_mb,
            timeout=timeout,
            tracing=lambda_.Tracing.ACTIVE,
            reserved_concurrent_executions=reserved_concurrency(self, name) if public else None,
            log_group=self.log_group,
            environment={
                "POWERTOOLS_SERVICE_NAME": name,
                "POWERTOOLS_METRICS_NAMESPACE": METRICS_NAMESPACE,
                "POWERTOOLS_LOG_LEVEL": "INFO",
                **environment,
            },
        )
        assert self.function.role is not None
        acknowledge(
            self.function.role,
            "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]",
            "AWSLambdaBasicExecutionRole only lets the function write to CloudWatch Logs; no data access.",
        )
        acknowledge(
            self.function.role,
            "AwsSolutions-IAM5[Resource::*]",
            "Only X-Ray's PutTraceSegments/PutTelemetryRecords (and, for a stream consumer, dynamodb:ListStreams) use "
            "Resource '*': those actions support no resource-level permissions.",
        )

    def grant_table_key(self, key: kms.IKey) -> None:
        """Use of the table's key through DynamoDB only, with named actions (no wildcards)."""
        self.function.add_to_role_policy(
            iam.PolicyStatement(
                actions=["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey", "kms:DescribeKey"],
                resources=[key.key_arn],
                conditions={"StringEquals": {"kms:ViaService": f"dynamodb.{Stack.of(self).region}.amazonaws.com"}},
            )
        )
