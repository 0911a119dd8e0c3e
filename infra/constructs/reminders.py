"""Review reminders: the reminders function, the schedule group its schedules live in, the role EventBridge
Scheduler assumes to put ReviewDue on the bus, and the DLQ of reminders that could not be delivered."""

from __future__ import annotations

from aws_cdk import Duration, Stack
from aws_cdk import aws_events as events
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_scheduler as scheduler
from constructs import Construct

from infra.constants import REMINDERS
from infra.constructs.bus import Bus
from infra.constructs.consumer import EventConsumer, dead_letter_queue
from infra.constructs.function import FamilynetFunction
from infra.nag import acknowledge
from shared.config import (
    ENV_EVENT_BUS_ARN,
    ENV_REMINDERS_DLQ_ARN,
    ENV_SCHEDULE_GROUP,
    ENV_SCHEDULER_ROLE_ARN,
)
from shared.events import EVENT_SOURCE, MeetingHeld, ReferralWithdrawn

SCHEDULE_GROUP = "familynet-reviews"


class Reminders(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, bus: Bus, layer: lambda_.ILayerVersion) -> None:
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
            description="Keeps one EventBridge Scheduler schedule per open review (ReviewDue before it is due)",
            layer=layer,
            environment={
                ENV_SCHEDULE_GROUP: SCHEDULE_GROUP,
                ENV_SCHEDULER_ROLE_ARN: self.role.role_arn,
                ENV_REMINDERS_DLQ_ARN: self.dead_letters.queue_arn,
                ENV_EVENT_BUS_ARN: bus.bus.event_bus_arn,
            },
            memory_mb=256,
            timeout=Duration.seconds(30),
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
        acknowledge(
            self.function.role,  # type: ignore[arg-type]
            f"AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:scheduler:<AWS::Region>:<AWS::AccountId>:schedule/{SCHEDULE_GROUP}/*]",
            "One schedule per review, named at run time, all in the reviews group: the wildcard is the group.",
        )
        self.consumer = EventConsumer(
            self,
            "OnHeld",
            bus=bus.bus,
            function=self.function,
            event_pattern=events.EventPattern(
                source=[EVENT_SOURCE], detail_type=[MeetingHeld.detail_type, ReferralWithdrawn.detail_type]
            ),
        )
