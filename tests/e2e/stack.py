"""A throwaway stack for the end-to-end tests: the app's stack plus a probe consumer, defined only here.

It proves that whatever `infra/` defines runs locally with no other change: an extra rule, queue (with its DLQ),
function, JWT-authorised route and schedules, declared with the same constructs as the app.
"""

from __future__ import annotations

import json
from pathlib import Path

from aws_cdk import App, Duration
from aws_cdk import aws_apigatewayv2 as apigwv2
from aws_cdk import aws_apigatewayv2_integrations as integrations
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_scheduler as scheduler
from aws_cdk import aws_ses as ses
from aws_cdk import aws_sqs as sqs

from infra.constants import DEFAULT_REGION, EDGE_STACK_NAME, STACK_NAME
from infra.constructs.api import DEFAULT_PUBLIC_URL
from infra.constructs.consumer import EventConsumer
from infra.constructs.function import RUNTIME
from infra.edge import EdgeStack
from infra.stack import FamilynetStack

PROBE_DIR = Path(__file__).parent / "probe"
PROBE_SOURCE = "familynet.probe"
PROBE_DIRECT_SOURCE = "familynet.probe.direct"  # to a rule whose target is the function itself
PROBE_MAX_RECEIVE_COUNT = 2
PROBE_VISIBILITY_SECONDS = 2
PROBE_SENDER = "noreply@familynet.test"
DAILY_AT_NINE_LONDON = "cron(0 9 * * ? *)"


class ProbeStack(FamilynetStack):
    def __init__(self, app: App) -> None:
        edge = EdgeStack(app, EDGE_STACK_NAME, domain=DEFAULT_PUBLIC_URL.removeprefix("https://"))
        super().__init__(app, STACK_NAME, bundle_dependencies=False, region=DEFAULT_REGION, edge=edge)
        seen = sqs.Queue(self, "ProbeSeen", encryption=sqs.QueueEncryption.SQS_MANAGED, enforce_ssl=True)
        self.probe = lambda_.Function(
            self,
            "Probe",
            runtime=RUNTIME,
            architecture=lambda_.Architecture.ARM_64,
            handler="tests.e2e.probe.handler.handler",
            code=lambda_.Code.from_asset(str(PROBE_DIR)),
            timeout=Duration.seconds(2),
            environment={
                "PROBE_SEEN_QUEUE_URL": seen.queue_url,
                "PROBE_TABLE_NAME": self.data.table.table_name,
            },
        )
        seen.grant_send_messages(self.probe)
        EventConsumer(
            self,
            "ProbeConsumer",
            bus=self.bus.bus,
            function=self.probe,
            event_pattern=events.EventPattern(source=["familynet", PROBE_SOURCE]),
            max_receive_count=PROBE_MAX_RECEIVE_COUNT,
            visibility_timeout=Duration.seconds(PROBE_VISIBILITY_SECONDS),
            max_batching_window=Duration.seconds(1),
        )
        self.operations.watch()  # the probe consumer's DLQ gets its alarm, as the app's do
        self.api.http_api.add_routes(
            path="/probe/{name}",
            methods=[apigwv2.HttpMethod.GET],
            integration=integrations.HttpLambdaIntegration("ProbeIntegration", self.probe),
            authorizer=self.staff_auth.authorizer,  # the app's own: a local token from /_local/token opens it
        )
        direct_dead_letters = sqs.Queue(
            self, "ProbeDirectDeadLetters", encryption=sqs.QueueEncryption.SQS_MANAGED, enforce_ssl=True
        )
        events.Rule(
            self,
            "ProbeDirect",
            event_bus=self.bus.bus,
            event_pattern=events.EventPattern(source=[PROBE_DIRECT_SOURCE]),
            targets=[targets.LambdaFunction(self.probe, dead_letter_queue=direct_dead_letters, retry_attempts=2)],
        )
        events.Rule(
            self,
            "ProbeRuleDaily",
            schedule=events.Schedule.rate(Duration.days(1)),
            targets=[
                targets.LambdaFunction(self.probe, event=events.RuleTargetInput.from_object({"probe": "rule-daily"}))
            ],
        )
        configuration_set = ses.ConfigurationSet(self, "ProbeEmail")
        ses.EmailIdentity(
            self, "ProbeSender", identity=ses.Identity.email(PROBE_SENDER), configuration_set=configuration_set
        )
        role = iam.Role(self, "ProbeScheduleRole", assumed_by=iam.ServicePrincipal("scheduler.amazonaws.com"))
        self.probe.grant_invoke(role)
        scheduler.CfnSchedule(
            self,
            "ProbeDaily",
            flexible_time_window=scheduler.CfnSchedule.FlexibleTimeWindowProperty(mode="OFF"),
            schedule_expression=DAILY_AT_NINE_LONDON,
            schedule_expression_timezone="Europe/London",
            target=scheduler.CfnSchedule.TargetProperty(
                arn=self.probe.function_arn, role_arn=role.role_arn, input=json.dumps({"probe": "daily"})
            ),
        )


def synthesize(outdir: Path) -> Path:
    app = App(outdir=str(outdir))
    ProbeStack(app)
    app.synth()
    return outdir / f"{STACK_NAME}.template.json"
