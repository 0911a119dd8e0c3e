"""What operations watch: one dashboard, and alarms to an encrypted SNS topic (the operations email from context).

Built last in the stack, it finds what to watch in the stack itself: every dead-letter queue (made by
`dead_letter_queue`), every consumer queue, every familynet function. A new queue or function is watched without
anyone remembering to add it here; a template test fails if a DLQ has no alarm.
"""

from __future__ import annotations

from aws_cdk import Duration, Stack
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as actions
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from constructs import Construct

from infra.constructs.api import Api
from infra.constructs.consumer import DeadLetterQueue, EventConsumer
from infra.constructs.function import FamilynetFunction
from shared.config import METRICS_NAMESPACE

OPERATIONS_EMAIL_CONTEXT = "familynet:operations_email"
DEFAULT_OPERATIONS_EMAIL = "operations@familynet.example.org"
OLDEST_MESSAGE_LIMIT = Duration.minutes(15)
BOUNCE_RATE_LIMIT = 0.02  # SES reviews an account at 5% and may pause sending at 10%: act at 2%
FIVE_MINUTES = Duration.minutes(5)
ONE_HOUR = Duration.hours(1)

# The business metrics on the dashboard: (title, [(service, metric name)]).
BUSINESS = (
    # ReferralsReceived has a route dimension: its own widget, by route.
    ("Decisions", [("scheduling", "ReferralsAccepted"), ("scheduling", "ReferralsDeclined")]),
    ("Withdrawals", [("scheduling", "ReferralsWithdrawn"), ("scheduling", "DecisionsRefused")]),
    (
        "Meetings",
        [("scheduling", "MeetingsBooked"), ("scheduling", "MeetingsHeld"), ("scheduling", "MeetingsCancelled")],
    ),
    (
        "Emails",
        [("feedback", "EmailsSent"), ("feedback", "EmailsFailed"), ("feedback", "EmailsBounced")],
    ),  # SES: account
    (
        "Reviews",
        [
            ("reminders", "ReviewRemindersSent"),
            ("scheduling", "ReviewsCompleted"),
            ("reminders", "ReviewsOverdue"),
            ("reminders", "DeadlinesBreached"),
        ],
    ),
    (
        "Partner connections",
        [
            ("connections", "ConnectionsContacted"),
            ("connections", "ConnectionsDeclined"),
            ("connections", "ConnectionLinksRefused"),
        ],
    ),
)


def _name(construct: Construct, what: str) -> str:
    """An alarm name from the construct's place in the stack: `Familynet-Feedback-OnEvents-DeadLetters-<what>`."""
    parts = construct.node.path.split("/")
    return "-".join([Stack.of(construct).stack_name, *parts[1:], what])[:255]


def _business(service: str, name: str, *, period: Duration = ONE_HOUR, label: bool = True) -> cloudwatch.Metric:
    return cloudwatch.Metric(
        namespace=METRICS_NAMESPACE,
        metric_name=name,
        dimensions_map={"service": service},
        statistic="Sum",
        period=period,
        label=name if label else None,
    )


class Operations(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, api: Api) -> None:
        super().__init__(scope, construct_id)
        stack = Stack.of(self)
        email = self.node.try_get_context(OPERATIONS_EMAIL_CONTEXT) or DEFAULT_OPERATIONS_EMAIL
        # CloudWatch publishes to an encrypted topic only with a customer-managed key it may use.
        self.key = kms.Key(self, "AlarmsKey", enable_key_rotation=True, description="familynet alarm notifications")
        self.key.grant(iam.ServicePrincipal("cloudwatch.amazonaws.com"), "kms:Decrypt", "kms:GenerateDataKey*")
        self.topic = sns.Topic(self, "Alarms", display_name="familynet alarms", master_key=self.key, enforce_ssl=True)
        self.topic.add_subscription(subscriptions.EmailSubscription(email))
        self.topic.add_to_resource_policy(
            iam.PolicyStatement(
                actions=["sns:Publish"],
                principals=[iam.ServicePrincipal("cloudwatch.amazonaws.com")],
                resources=[self.topic.topic_arn],
                conditions={"StringEquals": {"aws:SourceAccount": stack.account}},
            )
        )
        self._action = actions.SnsAction(self.topic)
        self.alarms: list[cloudwatch.Alarm] = []
        self._watched: set[str] = set()
        dead_letters, consumers, functions = self.watch()
        self._alarm(
            api,
            "5xx",
            api.http_api.metric_server_error(period=FIVE_MINUTES, statistic="Sum"),
            threshold=1,
            description="The API answered 5xx: a function failed or timed out.",
        )
        bounce_rate = cloudwatch.Metric(
            namespace="AWS/SES",
            metric_name="Reputation.BounceRate",
            statistic="Maximum",
            period=Duration.hours(1),
        )
        self._alarm(
            self,
            "ses-bounce-rate",
            bounce_rate,
            threshold=BOUNCE_RATE_LIMIT,
            comparison=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
            description="Over 2% of emails bounce: check the addresses referrers give before SES pauses sending.",
        )
        self._alarm(
            self,
            "deadline-breached",
            _business("reminders", "DeadlinesBreached", period=FIVE_MINUTES, label=False),
            threshold=1,
            description="A practice deadline was missed (the coordinators have an email naming the referral).",
        )
        self.dashboard = self._dashboard(api, dead_letters, consumers, functions)

    def watch(self) -> tuple[list[DeadLetterQueue], list[EventConsumer], list[FamilynetFunction]]:
        """Alarm on every DLQ, consumer queue and function of the stack not yet watched (a stack that adds more
        after this construct calls it again); returns them."""
        found = [c for c in Stack.of(self).node.find_all() if c.node.path not in self._watched]
        dead_letters = [c for c in found if isinstance(c, DeadLetterQueue)]
        consumers = [c for c in found if isinstance(c, EventConsumer)]
        functions = [c for c in found if isinstance(c, FamilynetFunction)]
        for queue in dead_letters:
            self._alarm(
                queue,
                "has-messages",
                queue.metric_approximate_number_of_messages_visible(period=Duration.minutes(1), statistic="Maximum"),
                threshold=1,
                description=f"A message is in the dead-letter queue of {queue.purpose}: fix the cause, then "
                "`make redrive QUEUE=<this queue>` (docs/operations.md).",
            )
        for consumer in consumers:
            self._alarm(
                consumer.queue,
                "oldest-message",
                consumer.queue.metric_approximate_age_of_oldest_message(period=FIVE_MINUTES, statistic="Maximum"),
                threshold=OLDEST_MESSAGE_LIMIT.to_seconds(),
                comparison=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
                description="Events wait more than 15 minutes for their function: it is failing or throttled.",
            )
        for function in functions:
            self._alarm(
                function,
                "errors",
                function.function.metric_errors(period=FIVE_MINUTES, statistic="Sum"),
                threshold=1,
                description=f"The {function.service} function failed (its log group has the error).",
            )
        self._watched |= {c.node.path for c in [*dead_letters, *consumers, *functions]}
        return dead_letters, consumers, functions

    def _alarm(
        self,
        subject: Construct,
        what: str,
        metric: cloudwatch.IMetric,
        *,
        threshold: float,
        description: str,
        comparison: cloudwatch.ComparisonOperator = cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
    ) -> cloudwatch.Alarm:
        alarm = cloudwatch.Alarm(
            self,
            f"{subject.node.path.replace('/', '')}-{what}",
            alarm_name=_name(subject, what),
            alarm_description=description,
            metric=metric,
            threshold=threshold,
            comparison_operator=comparison,
            evaluation_periods=1,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
        )
        alarm.add_alarm_action(self._action)
        self.alarms.append(alarm)
        return alarm

    def _dashboard(
        self,
        api: Api,
        dead_letters: list[DeadLetterQueue],
        consumers: list[EventConsumer],
        functions: list[FamilynetFunction],
    ) -> cloudwatch.Dashboard:
        dashboard = cloudwatch.Dashboard(
            self,
            "Dashboard",
            dashboard_name=f"{Stack.of(self).stack_name}-operations",
            default_interval=Duration.days(7),
        )
        dashboard.add_widgets(
            cloudwatch.TextWidget(
                markdown="# familynet\nReferrals flowing, emails going out, reviews on time. "
                "Alarms go to the operations topic; the runbook is docs/operations.md.",
                width=24,
                height=2,
            )
        )
        dashboard.add_widgets(
            *[
                cloudwatch.GraphWidget(
                    title=title, left=[_business(service, name) for service, name in metrics], width=24 // len(BUSINESS)
                )
                for title, metrics in BUSINESS
            ]
        )
        dashboard.add_widgets(
            cloudwatch.GraphWidget(
                title="Days from referral to meeting, and from meeting to feedback (average, p90)",
                left=[
                    _business("feedback", name).with_(
                        statistic=statistic, period=Duration.days(1), label=f"{name} {statistic}"
                    )
                    for name in ("DaysReferralToMeeting", "DaysMeetingToFeedback")
                    for statistic in ("Average", "p90")
                ],
                width=12,
            ),
            cloudwatch.GraphWidget(
                title="Referrals received by route",
                left=[
                    cloudwatch.Metric(
                        namespace=METRICS_NAMESPACE,
                        metric_name="ReferralsReceived",
                        dimensions_map={"service": "intake", "route": route},
                        statistic="Sum",
                        period=ONE_HOUR,
                        label=route,
                    )
                    for route in ("lead_practitioner", "professional_request")
                ],
                width=12,
            ),
        )
        dashboard.add_widgets(
            cloudwatch.GraphWidget(
                title="Function errors",
                left=[f.function.metric_errors(period=FIVE_MINUTES, label=f.service) for f in functions],
                width=8,
            ),
            cloudwatch.GraphWidget(
                title="Function throttles",
                left=[f.function.metric_throttles(period=FIVE_MINUTES, label=f.service) for f in functions],
                width=8,
            ),
            cloudwatch.GraphWidget(
                title="Function duration p95 (ms)",
                left=[
                    f.function.metric_duration(period=FIVE_MINUTES, statistic="p95", label=f.service) for f in functions
                ],
                width=8,
            ),
        )
        dashboard.add_widgets(
            cloudwatch.GraphWidget(
                title="Oldest message waiting (s)",
                left=[
                    c.queue.metric_approximate_age_of_oldest_message(
                        period=FIVE_MINUTES, statistic="Maximum", label=c.node.path.split("/")[1]
                    )
                    for c in consumers
                ],
                width=8,
            ),
            cloudwatch.GraphWidget(
                title="Dead-letter queue depth",
                left=[
                    q.metric_approximate_number_of_messages_visible(
                        period=Duration.minutes(1), statistic="Maximum", label=q.purpose[:40]
                    )
                    for q in dead_letters
                ],
                width=8,
            ),
            cloudwatch.AlarmStatusWidget(title="Alarms", alarms=list(self.alarms), width=8),
        )
        dashboard.add_widgets(
            cloudwatch.GraphWidget(
                title="API responses",
                left=[
                    api.http_api.metric_client_error(period=FIVE_MINUTES, label="4xx"),
                    api.http_api.metric_server_error(period=FIVE_MINUTES, label="5xx"),
                ],
                width=8,
            ),
            cloudwatch.GraphWidget(
                title="API latency (ms)",
                left=[
                    api.http_api.metric_latency(period=FIVE_MINUTES, statistic="p50", label="p50"),
                    api.http_api.metric_latency(period=FIVE_MINUTES, statistic="p95", label="p95"),
                ],
                width=8,
            ),
            cloudwatch.GraphWidget(
                title="SES bounce and complaint rates",
                left=[
                    cloudwatch.Metric(
                        namespace="AWS/SES",
                        metric_name=name,
                        statistic="Maximum",
                        period=Duration.hours(1),
                        label=label,
                    )
                    for name, label in (("Reputation.BounceRate", "bounce"), ("Reputation.ComplaintRate", "complaint"))
                ],
                width=8,
            ),
        )
        return dashboard
