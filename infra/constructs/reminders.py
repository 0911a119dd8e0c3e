"""Review reminders and deadline clocks: the reminders function, the schedule group its review schedules live in,
its daily check (07:00 Europe/London), the role EventBridge Scheduler assumes (put ReviewDue on the bus, invoke the
daily check), the DLQ of what Scheduler could not deliver, and the deadline targets (CDK context
`familynet:deadlines`, validated like every input)."""

from __future__ import annotations

import json
from typing import Any

from aws_cdk import Duration, Stack, Token
from aws_cdk import aws_events as events
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_scheduler as scheduler
from constructs import Construct

from infra.constants import REMINDERS
from infra.constructs.bus import Bus
from infra.constructs.consumer import EventConsumer, dead_letter_queue
from infra.constructs.data import Data
from infra.constructs.function import FamilynetFunction
from infra.nag import acknowledge
from shared.adapters import table as layout
from shared.config import (
    ENV_AGREEMENT_WORKING_DAYS,
    ENV_DECISION_WORKING_DAYS,
    ENV_EVENT_BUS_ARN,
    ENV_FEEDBACK_WORKING_DAYS,
    ENV_MEETING_TARGET_WORKING_DAYS,
    ENV_PARTNER_ANSWER_WORKING_DAYS,
    ENV_REMINDERS_DLQ_ARN,
    ENV_RETENTION_CLOSED_YEARS,
    ENV_RETENTION_UNTIL_AGE,
    ENV_RETENTION_WITHDRAWN_DAYS,
    ENV_REVIEW_ESCALATION_WORKING_DAYS,
    ENV_REVIEW_LEAD_WORKING_DAYS,
    ENV_SCHEDULE_GROUP,
    ENV_SCHEDULER_ROLE_ARN,
    ENV_TABLE_NAME,
    Settings,
)
from shared.domain.events import EVENT_SOURCE
from shared.service.reminders import DAILY_CHECK_CRON, DAILY_CHECK_INPUT, HANDLED_EVENTS, TIMEZONE

SCHEDULE_GROUP = "familynet-reviews"
DEADLINES_CONTEXT = "familynet:deadlines"
# Context key → (environment variable, Settings field): e.g. `-c 'familynet:deadlines={"decision": 3}'`.
DEADLINE_SETTINGS = {
    "decision": (ENV_DECISION_WORKING_DAYS, "decision_working_days"),
    "meeting_held": (ENV_MEETING_TARGET_WORKING_DAYS, "meeting_target_working_days"),
    "feedback_sent": (ENV_FEEDBACK_WORKING_DAYS, "feedback_working_days"),
    "review_lead": (ENV_REVIEW_LEAD_WORKING_DAYS, "review_lead_working_days"),
    "review_escalation": (ENV_REVIEW_ESCALATION_WORKING_DAYS, "review_escalation_working_days"),
    # set by the scheduling function when a plan asks a partner; checked by the daily check
    "partner_answer": (ENV_PARTNER_ANSWER_WORKING_DAYS, "partner_answer_working_days"),
    # the plan made at the meeting agreed by the lead practitioner: the clock (reminders), the day asked (scheduling,
    # console)
    "plan_agreed": (ENV_AGREEMENT_WORKING_DAYS, "agreement_working_days"),
}


# How long an ended referral is kept (shared/service/retention.py), per council:
# `-c 'familynet:retention={"until_age": 25, "closed_years": 6, "withdrawn_days": 90}'`.
RETENTION_CONTEXT = "familynet:retention"
RETENTION_SETTINGS = {
    "closed_years": (ENV_RETENTION_CLOSED_YEARS, "retention_closed_years"),
    "withdrawn_days": (ENV_RETENTION_WITHDRAWN_DAYS, "retention_withdrawn_days"),
    "until_age": (ENV_RETENTION_UNTIL_AGE, "retention_until_age"),
}


def settings_environment(context: Any, settings: dict[str, tuple[str, str]], key: str) -> dict[str, str]:
    """Per-deployment settings from a CDK context object, checked by the Settings model (a bad value fails the
    synth with the field's name), as environment variables."""
    given = json.loads(context) if isinstance(context, str) else (context or {})
    if not isinstance(given, dict) or not set(given) <= set(settings):
        raise ValueError(f"{key} takes an object with the keys {sorted(settings)}")
    checked = Settings.model_validate({settings[name][1]: value for name, value in given.items()})
    return {env: str(getattr(checked, field)) for env, field in settings.values()}


def deadline_environment(context: Any) -> dict[str, str]:
    """The deadline targets of this deployment (`-c familynet:deadlines={...}`)."""
    return settings_environment(context, DEADLINE_SETTINGS, DEADLINES_CONTEXT)


class Reminders(Construct):
    def __init__(
        self, scope: Construct, construct_id: str, *, data: Data, bus: Bus, layer: lambda_.ILayerVersion
    ) -> None:
        super().__init__(scope, construct_id)
        self.group = scheduler.CfnScheduleGroup(self, "Reviews", name=SCHEDULE_GROUP)
        self.dead_letters = dead_letter_queue(self, "DeadLetters", of="the review reminder schedules")
        self.role = iam.Role(
            self,
            "SchedulerRole",
            assumed_by=iam.ServicePrincipal(
                "scheduler.amazonaws.com",
                conditions={"StringEquals": {"aws:SourceAccount": Stack.of(self).account}},
            ),
            description="EventBridge Scheduler puts ReviewDue on the familynet bus",
        )
        bus.bus.grant_put_events_to(self.role)
        self.dead_letters.grant_send_messages(self.role)
        function = FamilynetFunction(
            self,
            "Reminders",
            name=REMINDERS,
            description="One Scheduler schedule per open review; the daily check of overdue reviews and deadlines",
            layer=layer,
            environment={
                ENV_TABLE_NAME: data.table.table_name,
                **deadline_environment(self.node.try_get_context(DEADLINES_CONTEXT)),
                **settings_environment(
                    self.node.try_get_context(RETENTION_CONTEXT), RETENTION_SETTINGS, RETENTION_CONTEXT
                ),
                ENV_SCHEDULE_GROUP: SCHEDULE_GROUP,
                ENV_SCHEDULER_ROLE_ARN: self.role.role_arn,
                ENV_REMINDERS_DLQ_ARN: self.dead_letters.queue_arn,
                ENV_EVENT_BUS_ARN: bus.bus.event_bus_arn,
            },
            memory_mb=256,
            timeout=Duration.minutes(2),  # the daily check; a queue batch takes a second
        )
        self.function = function.function
        stack = Stack.of(self)
        self.function.add_to_role_policy(
            iam.PolicyStatement(
                actions=[
                    "scheduler:CreateSchedule",
                    "scheduler:UpdateSchedule",
                    "scheduler:DeleteSchedule",
                    "scheduler:GetSchedule",
                ],
                resources=[
                    stack.format_arn(service="scheduler", resource="schedule", resource_name=f"{SCHEDULE_GROUP}/*")
                ],
            )
        )
        self.function.add_to_role_policy(iam.PolicyStatement(actions=["iam:PassRole"], resources=[self.role.role_arn]))
        # The table: reviews and clocks by Query of their two indexes and of one referral's partition (never Scan);
        # changes are conditional writes in transactions.
        self.function.add_to_role_policy(
            iam.PolicyStatement(
                actions=["dynamodb:GetItem", "dynamodb:Query", "dynamodb:UpdateItem", "dynamodb:PutItem"],
                resources=[data.table.table_arn],
            )
        )
        self.function.add_to_role_policy(
            iam.PolicyStatement(
                actions=["dynamodb:Query"],
                resources=[
                    f"{data.table.table_arn}/index/{layout.REVIEW_DUE_INDEX}",
                    f"{data.table.table_arn}/index/{layout.DEADLINE_INDEX}",
                ],
            )
        )
        function.grant_table_key(data.key)
        # The daily check: Scheduler invokes the function at 07:00 London time (GMT or BST).
        self.role.add_to_policy(  # the function itself, not its versions (`grant_invoke` would add `:*`)
            iam.PolicyStatement(actions=["lambda:InvokeFunction"], resources=[self.function.function_arn])
        )
        self.daily_check = scheduler.CfnSchedule(
            self,
            "DailyCheck",
            description="Daily check of overdue reviews and deadline clocks",
            flexible_time_window=scheduler.CfnSchedule.FlexibleTimeWindowProperty(mode="OFF"),
            schedule_expression=DAILY_CHECK_CRON,
            schedule_expression_timezone=TIMEZONE,
            target=scheduler.CfnSchedule.TargetProperty(
                arn=self.function.function_arn,
                role_arn=self.role.role_arn,
                input=json.dumps(DAILY_CHECK_INPUT),
                retry_policy=scheduler.CfnSchedule.RetryPolicyProperty(
                    maximum_event_age_in_seconds=6 * 3600, maximum_retry_attempts=20
                ),
                dead_letter_config=scheduler.CfnSchedule.DeadLetterConfigProperty(arn=self.dead_letters.queue_arn),
            ),
        )
        # nag names the region as the template has it: literal now the stack has one (cross-region references).
        region = "<AWS::Region>" if Token.is_unresolved(Stack.of(self).region) else Stack.of(self).region
        acknowledge(
            self.function.role,  # type: ignore[arg-type]
            f"AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:scheduler:{region}:<AWS::AccountId>:schedule/{SCHEDULE_GROUP}/*]",
            "One schedule per review, named at run time, all in the reviews group: the wildcard is the group.",
        )
        self.consumer = EventConsumer(
            self,
            "OnEvents",
            bus=bus.bus,
            function=self.function,
            event_pattern=events.EventPattern(
                source=[EVENT_SOURCE], detail_type=sorted(model.detail_type for model in HANDLED_EVENTS)
            ),
        )
