"""The scheduling function: the coordinators' routes (queue, one referral, decisions), JWT-authorised."""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_events as events
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

from infra.constants import SCHEDULING, STAFF_ROUTES
from infra.constructs.api import Api
from infra.constructs.auth import STAFF_SCOPE, StaffAuth
from infra.constructs.bus import Bus
from infra.constructs.consumer import EventConsumer
from infra.constructs.data import Data
from infra.constructs.function import FamilynetFunction
from infra.constructs.reminders import DEADLINES_CONTEXT, deadline_environment
from shared.adapters import table as layout
from shared.config import (
    ENV_AGREEMENT_WORKING_DAYS,
    ENV_PACKAGE_APPROVAL_PENCE,
    ENV_PACKAGE_APPROVAL_TOTAL_PENCE,
    ENV_PACKAGE_ELIGIBILITY,
    ENV_PARTNER_ANSWER_WORKING_DAYS,
    ENV_PREPARATION_CHECKLIST,
    ENV_TABLE_NAME,
    Settings,
)
from shared.domain.events import EVENT_SOURCE, ReferralAccepted
from shared.domain.preparation import check_checklist

# What must be done before a meeting is booked: `-c familynet:preparation_checklist=family_agreed,network_identified`
# (a list or a comma-separated string of the items in shared/domain/preparation.py; `[]` for none).
PREPARATION_CHECKLIST_CONTEXT = "familynet:preparation_checklist"


def preparation_environment(scope: Construct) -> dict[str, str]:
    """The preparation checklist of this deployment, checked against the catalogue (an unknown item fails the synth
    with its name), as the environment variable both the API and the console read ("none": no checklist)."""
    given = scope.node.try_get_context(PREPARATION_CHECKLIST_CONTEXT)
    checked = Settings.model_validate({} if given is None else {"preparation_checklist": given})
    try:
        items = check_checklist(checked.preparation_checklist)
    except ValueError as wrong:
        raise ValueError(f"{PREPARATION_CHECKLIST_CONTEXT}: {wrong}") from None
    return {ENV_PREPARATION_CHECKLIST: ",".join(items) or "none"}


# Support package spending (shared/service/approvals.py): the item limit and the package total over which items wait
# for a manager's approval, in pence (`-c familynet:package_approval_pence=25000`,
# `-c familynet:package_approval_total_pence=100000`), and what makes a referral eligible for a package
# (`-c familynet:package_eligibility=lead_practitioner,meeting_held`, or `none`).
PACKAGE_APPROVAL_CONTEXT = "familynet:package_approval_pence"
PACKAGE_APPROVAL_TOTAL_CONTEXT = "familynet:package_approval_total_pence"
PACKAGE_ELIGIBILITY_CONTEXT = "familynet:package_eligibility"
PROPOSALS_BATCH_SIZE = 5  # ReferralAccepted records per invocation (see the consumer below)


def spending_environment(scope: Construct) -> dict[str, str]:
    """The deployment's spending rules, checked by the Settings model (a bad value fails the synth with its name), as
    environment variables of every function that records or decides a package."""
    given = {
        field: scope.node.try_get_context(key)
        for field, key in (
            ("package_approval_pence", PACKAGE_APPROVAL_CONTEXT),
            ("package_approval_total_pence", PACKAGE_APPROVAL_TOTAL_CONTEXT),
            ("package_eligibility", PACKAGE_ELIGIBILITY_CONTEXT),
        )
    }
    checked = Settings.model_validate({field: value for field, value in given.items() if value is not None})
    return {
        ENV_PACKAGE_APPROVAL_PENCE: str(checked.package_approval_pence),
        ENV_PACKAGE_APPROVAL_TOTAL_PENCE: str(checked.package_approval_total_pence),
        ENV_PACKAGE_ELIGIBILITY: ",".join(checked.package_eligibility) or "none",
    }


class Scheduling(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        data: Data,
        bus: Bus,
        api: Api,
        auth: StaffAuth,
        layer: lambda_.ILayerVersion,
    ) -> None:
        super().__init__(scope, construct_id)
        deadlines = deadline_environment(self.node.try_get_context(DEADLINES_CONTEXT))
        function = FamilynetFunction(
            self,
            "Scheduling",
            name=SCHEDULING,
            description="Coordinators' routes: the referral queue, one referral, accept/decline/withdraw",
            layer=layer,
            environment={
                ENV_TABLE_NAME: data.table.table_name,
                # a plan that asks a partner sets the day its answer is due, a plan made at a meeting the day its
                # agreement is (`familynet:deadlines`)
                ENV_PARTNER_ANSWER_WORKING_DAYS: deadlines[ENV_PARTNER_ANSWER_WORKING_DAYS],
                ENV_AGREEMENT_WORKING_DAYS: deadlines[ENV_AGREEMENT_WORKING_DAYS],
                **spending_environment(self),
                **preparation_environment(self),
            },
            memory_mb=512,
            timeout=Duration.seconds(10),
        )
        self.function = function.function
        # Reads are GetItem and Query (the table and the queue index), never Scan; a decision is one transaction.
        self.function.add_to_role_policy(
            iam.PolicyStatement(
                actions=[
                    "dynamodb:GetItem",
                    "dynamodb:Query",
                    "dynamodb:UpdateItem",
                    "dynamodb:PutItem",
                    "dynamodb:DeleteItem",
                    # a plan naming a partner checks, in its transaction, that the partner is still active
                    "dynamodb:ConditionCheckItem",
                ],
                resources=[data.table.table_arn],
            )
        )
        self.function.add_to_role_policy(
            iam.PolicyStatement(
                actions=["dynamodb:Query"],
                resources=[f"{data.table.table_arn}/index/{layout.STATUS_INDEX}"],
            )
        )
        self.function.add_to_role_policy(
            iam.PolicyStatement(
                actions=["dynamodb:Query"],
                resources=[
                    f"{data.table.table_arn}/index/{layout.FACILITATOR_INDEX}",
                    f"{data.table.table_arn}/index/{layout.DIRECTORY_INDEX}",
                ],
            )
        )
        function.grant_table_key(data.key)
        # On ReferralAccepted (intake's automatic acceptance, or a coordinator's): allocate and propose slots. A
        # proposal reads the facilitators' calendars and writes a transaction: under load one took over a second, and
        # batches of 10 ran past the 10 s timeout again and again until their records were dead-lettered. Batches of
        # 5 fit, and a batch short of time leaves its last records for later (shared/web/queue.py).
        self.consumer = EventConsumer(
            self,
            "OnAccepted",
            bus=bus.bus,
            function=self.function,
            event_pattern=events.EventPattern(source=[EVENT_SOURCE], detail_type=[ReferralAccepted.detail_type]),
            batch_size=PROPOSALS_BATCH_SIZE,
        )
        for route_key in STAFF_ROUTES:
            api.add_staff_route(route_key, self.function, auth.authorizer, scopes=[STAFF_SCOPE])
