"""The feedback function and its email sending: an SES identity (the council's domain), a configuration set that
suppresses bounced and complained addresses, and a queue of the events that send emails."""

from __future__ import annotations

from aws_cdk import Duration, Stack
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_secretsmanager as secretsmanager
from aws_cdk import aws_ses as ses
from constructs import Construct

from infra.constants import FEEDBACK
from infra.constructs.bus import Bus
from infra.constructs.consumer import EventConsumer
from infra.constructs.data import Data
from infra.constructs.function import FamilynetFunction
from shared.config import (
    ENV_COORDINATORS_EMAIL,
    ENV_EMAIL_SENDER,
    ENV_LINK_KEY_SECRET_ARN,
    ENV_PUBLIC_URL,
    ENV_SES_CONFIGURATION_SET,
    ENV_TABLE_NAME,
)
from shared.domain.events import EVENT_SOURCE
from shared.service.feedback import FUNCTION_TIMEOUT_SECONDS, HANDLED_EVENTS

EMAIL_DOMAIN_CONTEXT = "familynet:email_domain"
SES_EVENT_TYPES = ["Email Delivered", "Email Bounced", "Email Complaint Received", "Email Rejected"]
COORDINATORS_EMAIL_CONTEXT = "familynet:coordinators_email"
DEFAULT_DOMAIN = "familynet.example.org"
# ReviewDue/ReviewOverdue are published by the reminders issue's functions.
EMAIL_EVENTS = sorted(model.detail_type for model in HANDLED_EVENTS)


def email_domain(scope: Construct) -> str:
    """The domain emails are sent from (`-c familynet:email_domain=…`)."""
    return str(scope.node.try_get_context(EMAIL_DOMAIN_CONTEXT) or DEFAULT_DOMAIN)


def coordinators_email(scope: Construct) -> str:
    """The coordinators' shared inbox (`-c familynet:coordinators_email=…`, else coordinators@ the email domain)."""
    return str(scope.node.try_get_context(COORDINATORS_EMAIL_CONTEXT) or f"coordinators@{email_domain(scope)}")


class Feedback(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        data: Data,
        bus: Bus,
        link_key: secretsmanager.ISecret,
        public_url: str,
        layer: lambda_.ILayerVersion,
    ) -> None:
        """`link_key` signs the links in partners' connection emails, under `public_url` (the API's address)."""
        super().__init__(scope, construct_id)
        domain = email_domain(self)
        self.configuration_set = ses.ConfigurationSet(
            self,
            "Emails",
            suppression_reasons=ses.SuppressionReasons.BOUNCES_AND_COMPLAINTS,
            reputation_metrics=True,
            sending_enabled=True,
        )
        self.identity = ses.EmailIdentity(
            self, "Sender", identity=ses.Identity.domain(domain), configuration_set=self.configuration_set
        )
        function = FamilynetFunction(
            self,
            "Feedback",
            name=FEEDBACK,
            description="Sends every email to people (acknowledgements, decisions, invitations, feedback), once",
            layer=layer,
            environment={
                ENV_TABLE_NAME: data.table.table_name,
                ENV_EMAIL_SENDER: f"Family Network <noreply@{domain}>",
                ENV_COORDINATORS_EMAIL: coordinators_email(self),
                ENV_SES_CONFIGURATION_SET: self.configuration_set.configuration_set_name,
                # The key's ARN only: the key itself is read at run time, never in the template or environment.
                ENV_LINK_KEY_SECRET_ARN: link_key.secret_arn,
                ENV_PUBLIC_URL: public_url,
            },
            memory_mb=512,
            # What its email claims assume: a claim older than this belongs to no running invocation.
            timeout=Duration.seconds(FUNCTION_TIMEOUT_SECONDS),
        )
        self.function = function.function
        self.function.add_to_role_policy(
            iam.PolicyStatement(
                actions=[
                    "dynamodb:GetItem",
                    "dynamodb:BatchGetItem",
                    "dynamodb:Query",
                    "dynamodb:PutItem",
                    "dynamodb:UpdateItem",
                ],
                resources=[data.table.table_arn],
            )
        )
        function.grant_table_key(data.key)
        link_key.grant_read(self.function)  # and decrypt with its KMS key, through Secrets Manager only
        stack = Stack.of(self)
        # Only this identity, only through this configuration set.
        self.function.add_to_role_policy(
            iam.PolicyStatement(
                actions=["ses:SendEmail", "ses:SendRawEmail"],
                resources=[
                    stack.format_arn(service="ses", resource="identity", resource_name=domain),
                    stack.format_arn(
                        service="ses",
                        resource="configuration-set",
                        resource_name=self.configuration_set.configuration_set_name,
                    ),
                ],
            )
        )
        self.consumer = EventConsumer(
            self,
            "OnEvents",
            bus=bus.bus,
            function=self.function,
            event_pattern=events.EventPattern(source=[EVENT_SOURCE], detail_type=EMAIL_EVENTS),
        )
        # Delivery tracking: SES publishes the configuration set's events to the account's default bus; a rule
        # there brings deliveries, bounces and complaints to the same queue.
        default_bus = events.EventBus.from_event_bus_name(self, "DefaultBus", "default")
        self.configuration_set.add_event_destination(
            "ToEventBridge",
            destination=ses.EventDestination.event_bus(default_bus),
            events=[
                ses.EmailSendingEvent.DELIVERY,
                ses.EmailSendingEvent.BOUNCE,
                ses.EmailSendingEvent.COMPLAINT,
                ses.EmailSendingEvent.REJECT,
            ],
        )
        events.Rule(
            self,
            "SesEvents",
            event_bus=default_bus,
            event_pattern=events.EventPattern(source=["aws.ses"], detail_type=SES_EVENT_TYPES),
            targets=[targets.SqsQueue(self.consumer.queue)],
        )
