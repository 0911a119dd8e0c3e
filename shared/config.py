"""Settings read once from the environment; every setting has a default that works locally."""

from __future__ import annotations

import os
import re
from functools import lru_cache

from pydantic import BaseModel, ConfigDict, Field, field_validator

# Environment variable keys, shared with infra/ so the template and the code cannot disagree.
ENV_TABLE_NAME = "TABLE_NAME"
ENV_EVENT_BUS_NAME = "EVENT_BUS_NAME"
ENV_SUBMISSION_DEDUPE_HOURS = "SUBMISSION_DEDUPE_HOURS"
ENV_OUTBOX_RETENTION_DAYS = "OUTBOX_RETENTION_DAYS"
ENV_MEETING_TARGET_WORKING_DAYS = "MEETING_TARGET_WORKING_DAYS"
ENV_MEETING_LENGTH_MINUTES = "MEETING_LENGTH_MINUTES"
ENV_EMAIL_SENDER = "EMAIL_SENDER"
ENV_COORDINATORS_EMAIL = "COORDINATORS_EMAIL"
ENV_SES_CONFIGURATION_SET = "SES_CONFIGURATION_SET"
ENV_SCHEDULE_GROUP = "SCHEDULE_GROUP"
ENV_SCHEDULER_ROLE_ARN = "SCHEDULER_ROLE_ARN"
ENV_REMINDERS_DLQ_ARN = "REMINDERS_DLQ_ARN"
ENV_EVENT_BUS_ARN = "EVENT_BUS_ARN"
ENV_REVIEW_LEAD_WORKING_DAYS = "REVIEW_LEAD_WORKING_DAYS"
ENV_DECISION_WORKING_DAYS = "DECISION_WORKING_DAYS"
ENV_FEEDBACK_WORKING_DAYS = "FEEDBACK_WORKING_DAYS"
ENV_REVIEW_ESCALATION_WORKING_DAYS = "REVIEW_ESCALATION_WORKING_DAYS"
ENV_RETENTION_CLOSED_YEARS = "RETENTION_CLOSED_YEARS"
ENV_RETENTION_WITHDRAWN_DAYS = "RETENTION_WITHDRAWN_DAYS"
ENV_RETENTION_UNTIL_AGE = "RETENTION_UNTIL_AGE"
ENV_LINK_KEY_SECRET_ARN = "LINK_KEY_SECRET_ARN"  # noqa: S105 - an environment key, not a secret
ENV_PUBLIC_URL = "PUBLIC_URL"
ENV_CONNECTION_LINK_DAYS = "CONNECTION_LINK_DAYS"
ENV_PARTNER_ANSWER_WORKING_DAYS = "PARTNER_ANSWER_WORKING_DAYS"
ENV_AGREEMENT_WORKING_DAYS = "AGREEMENT_WORKING_DAYS"
ENV_AGREEMENT_LINK_DAYS = "AGREEMENT_LINK_DAYS"
ENV_PLAN_LINK_DAYS = "PLAN_LINK_DAYS"
ENV_EVALUATION_LINK_DAYS = "EVALUATION_LINK_DAYS"
ENV_REFERRER_DOMAINS = "REFERRER_DOMAINS"
ENV_LOCALITY_DOMAINS = "LOCALITY_DOMAINS"
ENV_REFERRER_DAILY_CAP = "REFERRER_DAILY_CAP"
ENV_SOURCE_DAILY_CAP = "SOURCE_DAILY_CAP"
ENV_STAFF_AUTH_URL = "STAFF_AUTH_URL"
ENV_STAFF_ISSUER = "STAFF_ISSUER"
ENV_STAFF_CLIENT_ID = "STAFF_CLIENT_ID"
ENV_ORIGIN_SECRET = "ORIGIN_SECRET"  # noqa: S105 - an environment key, not a secret
ENV_PACKAGE_APPROVAL_PENCE = "PACKAGE_APPROVAL_PENCE"
ENV_PACKAGE_APPROVAL_TOTAL_PENCE = "PACKAGE_APPROVAL_TOTAL_PENCE"
ENV_PACKAGE_ELIGIBILITY = "PACKAGE_ELIGIBILITY"
ENV_PREPARATION_CHECKLIST = "PREPARATION_CHECKLIST"

# Referrals come from professional addresses only (issue 16): the public sector's domains in England, and the
# council's own. A deployment names its own lists (`-c familynet:referrer_domains=…`, `familynet:locality_domains`).
PROFESSIONAL_DOMAINS = ("gov.uk", "nhs.net", "nhs.uk", "sch.uk", "police.uk")
# The council's own domain (the example council of this repository); its Locality Team's addresses are verified.
COUNCIL_DOMAINS = ("council.example.org",)
# What makes a referral eligible for a support package (shared/domain/plans.py): the referral names a lead
# practitioner (it came from one), and the meeting took place. "none" in the environment: no rule.
PACKAGE_RULES = ("lead_practitioner", "meeting_held")
_DOMAIN = r"^(?=.{3,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$"

# What must be done before a meeting is booked (`-c familynet:preparation_checklist=family_agreed,...`): items of
# the catalogue in shared/domain/preparation.py (the synth checks each is one of them).
DEFAULT_PREPARATION_CHECKLIST = ("family_agreed", "network_identified", "child_views_sought")
_CHECKLIST_ITEM = r"^[a-z][a-z_]{1,39}$"

# One CloudWatch namespace for every function; each function's `service` dimension tells them apart.
METRICS_NAMESPACE = "Familynet"


class Settings(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")

    table_name: str = Field(default="familynet", min_length=3, max_length=255)
    event_bus_name: str = Field(default="familynet", min_length=1, max_length=256)
    # A repeated submission inside this window answers the first reference (issue: 48 h).
    submission_dedupe_hours: int = Field(default=48, ge=1, le=24 * 30)
    # Outbox event items only need to live until the stream has relayed them.
    outbox_retention_days: int = Field(default=7, ge=1, le=365)
    # Practice standard: a meeting within 20 working days of acceptance; meetings last two hours.
    meeting_target_working_days: int = Field(default=20, ge=1, le=120)
    meeting_length_minutes: int = Field(default=120, ge=30, le=240)
    # Emails: the sender (an address of the SES identity's domain), the coordinators' shared inbox, the
    # configuration set whose events track delivery.
    email_sender: str = Field(default="Family Network <noreply@familynet.example.org>", min_length=3)
    coordinators_email: str = Field(default="coordinators@familynet.example.org", min_length=3)
    ses_configuration_set: str | None = None
    # Review reminders: one Scheduler schedule per open review, in this group, assumed role and DLQ, putting
    # ReviewDue on the bus this many working days before the review is due.
    schedule_group: str = Field(default="familynet-reviews", min_length=1, max_length=64)
    scheduler_role_arn: str = Field(default="arn:aws:iam::123456789012:role/familynet-scheduler")
    reminders_dlq_arn: str | None = None
    event_bus_arn: str = Field(default="arn:aws:events:eu-west-2:123456789012:event-bus/familynet")
    review_lead_working_days: int = Field(default=5, ge=0, le=30)
    # Deadline clocks (working days, England): a decision on a professional's request, the meeting held after
    # acceptance (meeting_target_working_days above), feedback sent after the meeting; an overdue review is
    # escalated again every review_escalation_working_days while it stays overdue.
    decision_working_days: int = Field(default=2, ge=1, le=60)
    feedback_working_days: int = Field(default=5, ge=1, le=60)
    review_escalation_working_days: int = Field(default=5, ge=1, le=60)
    # Retention (shared/service/retention.py): declined, closed, or withdrawn after acceptance: until the youngest
    # child is retention_until_age (0: no age rule) or retention_closed_years after that day, whichever is later;
    # withdrawn before acceptance: days after the withdrawal.
    retention_closed_years: int = Field(default=6, ge=1, le=25)
    retention_withdrawn_days: int = Field(default=90, ge=1, le=3650)
    retention_until_age: int = Field(default=25, ge=0, le=75)
    # Partners' links (shared/service/connections.py): signed with the key in this Secrets Manager secret (read at run
    # time, never in the template or the environment), under the API's public address, valid this many days.
    link_key_secret_arn: str | None = None
    public_url: str = Field(default="http://127.0.0.1:8000", pattern=r"^https?://[^\s/]+(/[^\s]*)?$")
    connection_link_days: int = Field(default=28, ge=1, le=90)
    # A partner that has not answered its connection this many working days after it was asked: the coordinators
    # are told (the daily check), once.
    partner_answer_working_days: int = Field(default=10, ge=1, le=60)
    # The plan made at the meeting is agreed by the lead practitioner (or the referrer) within this many working days
    # of the meeting (the `plan_agreed` clock), through a signed link that works this many days.
    agreement_working_days: int = Field(default=10, ge=1, le=60)
    agreement_link_days: int = Field(default=28, ge=1, le=90)
    # The plan page's links (one per recipient) work this many days from when they are sent, renewed at each review.
    plan_link_days: int = Field(default=90, ge=1, le=400)
    # The family's evaluation of their meeting: each respondent's link works this many days from when it is sent.
    evaluation_link_days: int = Field(default=28, ge=1, le=90)
    # Who may refer (shared/domain/referrals.py checks the referrer's address against it): email domains, each
    # allowing its subdomains (`gov.uk` allows `leeds.gov.uk`). A lead practitioner's referral is accepted at
    # intake only from a Locality Team domain (verified: the council's own); those are allowed referrers too.
    referrer_domains: tuple[str, ...] = Field(default=PROFESSIONAL_DOMAINS + COUNCIL_DOMAINS, min_length=1)
    locality_domains: tuple[str, ...] = Field(default=COUNCIL_DOMAINS, max_length=50)
    # The most referrals a day (England's day) one referrer's address, or one source address, may make: the
    # public form must not be a way to make the council's SES send email to anyone, or flood the coordinators.
    referrer_daily_cap: int = Field(default=20, ge=1, le=10_000)
    source_daily_cap: int = Field(default=100, ge=1, le=100_000)

    # The staff console's sign-in (shared/service/staff_sessions.py): the Cognito user pool's domain (its managed
    # login, token and logout endpoints), its issuer (ID tokens' `iss`; the JWKS under it) and the console's app
    # client. Locally the runtime serves these endpoints (infra/local/cognito.py) at the addresses the template gives.
    staff_auth_url: str = Field(default="http://127.0.0.1:8000/_local/cognito", pattern=r"^https?://[^\s/]+(/[^\s]*)?$")
    staff_issuer: str = Field(
        default="http://127.0.0.1:8000/_local/cognito/StaffAuthUsers", pattern=r"^https?://[^\s/]+(/[^\s]*)?$"
    )
    staff_client_id: str = Field(default="familynet-console", min_length=1, max_length=128)
    # A console session ends after this many hours without a request, and this many after sign-in whatever happens.
    session_idle_hours: int = Field(default=8, ge=1, le=24)
    session_absolute_hours: int = Field(default=12, ge=1, le=24)
    # The value CloudFront adds to every request it sends to the API (shared/web/intake.py): a request carrying it came
    # through CloudFront, so its CloudFront-Viewer-Address is the client's. None: no CloudFront in front.
    origin_secret: str | None = Field(default=None, min_length=16, max_length=256, repr=False)
    # Spending on support packages (shared/service/approvals.py): an item estimated over package_approval_pence, or
    # any new item of a package whose estimated total is over package_approval_total_pence, waits for a manager's
    # approval; the rest are approved as they are recorded. A package is recorded only for a referral meeting every
    # rule of package_eligibility. CDK context: `familynet:package_approval_pence`, `familynet:package_approval_total_
    # pence`, `familynet:package_eligibility` (infra/constructs/scheduling.py).
    package_approval_pence: int = Field(default=25_000, ge=0, le=10_000_000)
    package_approval_total_pence: int = Field(default=100_000, ge=0, le=100_000_000)
    package_eligibility: tuple[str, ...] = Field(default=PACKAGE_RULES, max_length=len(PACKAGE_RULES))

    @field_validator("package_eligibility", mode="before")
    @classmethod
    def _package_rules(cls, value: object) -> object:
        """A comma-separated list (as the environment and CDK context give it) or a list; "none" for no rule."""
        names = value.split(",") if isinstance(value, str) else value
        if not isinstance(names, list | tuple):
            return value
        cleaned = tuple(dict.fromkeys(str(name).strip() for name in names if str(name).strip() not in ("", "none")))
        if wrong := [name for name in cleaned if name not in PACKAGE_RULES]:
            raise ValueError(f"not an eligibility rule: {', '.join(wrong)} (give {', '.join(PACKAGE_RULES)} or none)")
        return cleaned

    # The preparation checklist a booking waits for (shared/domain/preparation.py names each item); may be empty.
    preparation_checklist: tuple[str, ...] = Field(default=DEFAULT_PREPARATION_CHECKLIST, max_length=20)

    @field_validator("referrer_domains", "locality_domains", mode="before")
    @classmethod
    def _domain_list(cls, value: object) -> object:
        """A comma-separated list (as the environment and CDK context give it) or a list; lower case, no dots at
        either end, each a real domain name."""
        names = value.split(",") if isinstance(value, str) else value
        if not isinstance(names, list | tuple):
            return value
        cleaned = tuple(str(name).strip().strip(".").lower() for name in names if str(name).strip())
        wrong = [name for name in cleaned if not re.match(_DOMAIN, name)]
        if wrong:
            raise ValueError(f"not a domain name: {', '.join(wrong[:3])} (give names like council.gov.uk)")
        if len(cleaned) > 50:
            raise ValueError("give at most 50 domains")
        return cleaned

    @field_validator("preparation_checklist", mode="before")
    @classmethod
    def _checklist(cls, value: object) -> object:
        """A comma-separated list (the environment, CDK context) or a list of item names, each once; "none" for no
        checklist at all."""
        names = value.split(",") if isinstance(value, str) else value
        if not isinstance(names, list | tuple):
            return value
        cleaned = tuple(dict.fromkeys(str(name).strip() for name in names if str(name).strip() not in ("", "none")))
        wrong = [name for name in cleaned if not re.match(_CHECKLIST_ITEM, name)]
        if wrong:
            raise ValueError(f"not a checklist item: {', '.join(wrong[:3])}")
        return cleaned

    def allowed_referrer_domains(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(self.referrer_domains + self.locality_domains))

    @classmethod
    def from_environ(cls, environ: dict[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ
        values = {
            "table_name": env.get(ENV_TABLE_NAME),
            "event_bus_name": env.get(ENV_EVENT_BUS_NAME),
            "submission_dedupe_hours": env.get(ENV_SUBMISSION_DEDUPE_HOURS),
            "outbox_retention_days": env.get(ENV_OUTBOX_RETENTION_DAYS),
            "meeting_target_working_days": env.get(ENV_MEETING_TARGET_WORKING_DAYS),
            "meeting_length_minutes": env.get(ENV_MEETING_LENGTH_MINUTES),
            "email_sender": env.get(ENV_EMAIL_SENDER),
            "coordinators_email": env.get(ENV_COORDINATORS_EMAIL),
            "ses_configuration_set": env.get(ENV_SES_CONFIGURATION_SET),
            "schedule_group": env.get(ENV_SCHEDULE_GROUP),
            "scheduler_role_arn": env.get(ENV_SCHEDULER_ROLE_ARN),
            "reminders_dlq_arn": env.get(ENV_REMINDERS_DLQ_ARN),
            "event_bus_arn": env.get(ENV_EVENT_BUS_ARN),
            "review_lead_working_days": env.get(ENV_REVIEW_LEAD_WORKING_DAYS),
            "decision_working_days": env.get(ENV_DECISION_WORKING_DAYS),
            "feedback_working_days": env.get(ENV_FEEDBACK_WORKING_DAYS),
            "review_escalation_working_days": env.get(ENV_REVIEW_ESCALATION_WORKING_DAYS),
            "retention_closed_years": env.get(ENV_RETENTION_CLOSED_YEARS),
            "retention_withdrawn_days": env.get(ENV_RETENTION_WITHDRAWN_DAYS),
            "retention_until_age": env.get(ENV_RETENTION_UNTIL_AGE),
            "link_key_secret_arn": env.get(ENV_LINK_KEY_SECRET_ARN),
            "public_url": env.get(ENV_PUBLIC_URL),
            "connection_link_days": env.get(ENV_CONNECTION_LINK_DAYS),
            "partner_answer_working_days": env.get(ENV_PARTNER_ANSWER_WORKING_DAYS),
            "agreement_working_days": env.get(ENV_AGREEMENT_WORKING_DAYS),
            "agreement_link_days": env.get(ENV_AGREEMENT_LINK_DAYS),
            "plan_link_days": env.get(ENV_PLAN_LINK_DAYS),
            "evaluation_link_days": env.get(ENV_EVALUATION_LINK_DAYS),
            "referrer_domains": env.get(ENV_REFERRER_DOMAINS),
            "locality_domains": env.get(ENV_LOCALITY_DOMAINS),
            "referrer_daily_cap": env.get(ENV_REFERRER_DAILY_CAP),
            "source_daily_cap": env.get(ENV_SOURCE_DAILY_CAP),
            "staff_auth_url": env.get(ENV_STAFF_AUTH_URL),
            "staff_issuer": env.get(ENV_STAFF_ISSUER),
            "staff_client_id": env.get(ENV_STAFF_CLIENT_ID),
            "origin_secret": env.get(ENV_ORIGIN_SECRET),
            "package_approval_pence": env.get(ENV_PACKAGE_APPROVAL_PENCE),
            "package_approval_total_pence": env.get(ENV_PACKAGE_APPROVAL_TOTAL_PENCE),
            "package_eligibility": env.get(ENV_PACKAGE_ELIGIBILITY),
            "preparation_checklist": env.get(ENV_PREPARATION_CHECKLIST),
        }
        return cls.model_validate({k: v for k, v in values.items() if v not in (None, "")})


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings.from_environ()
