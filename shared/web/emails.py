"""Emails rendered from their templates: every one multipart (plain text and HTML) from `email_templates/`, the
subject carrying the reference and never a name."""

from __future__ import annotations

from typing import Any

from shared.domain.emails import Attachment, Email
from shared.web.templates import render as render_template

# Subjects: the reference only (an email subject is shown on lock screens and in shared inboxes).
SUBJECTS = {
    "acknowledgement": "Referral {reference} received",
    "new_referral": "New referral {reference}",
    "accepted": "Referral {reference} accepted",
    "declined": "Referral {reference} not accepted",
    "withdrawn": "Referral {reference} withdrawn",
    "family_declined": "Referral {reference} closed",
    "invitation": "Family Network meeting for {reference}",
    "cancellation": "Cancelled: Family Network meeting for {reference}",
    "feedback": "Feedback on the meeting for {reference}",
    "meeting_not_held": "Meeting not held: {reference}",
    "review_due": "Review due: {reference}",
    "review_overdue": "Review overdue: {reference}",
    "bounce_notice": "Email not delivered: {reference}",
    "deadline_breached": "Deadline missed: {reference}",
    "connection": "Family Network connection: {reference}",
    "connection_answered": "Partner answered: {reference}",
    "package_decided": "Support package decision: {reference}",
    "agreement_request": "Please agree the plan for {reference}",
    "plan_changes_requested": "Changes asked to the plan for {reference}",
    "plan_shared": "The family's plan: {reference}",
    "evaluation_request": "How did your Family Network meeting go? {reference}",
}


def render(
    template: str,
    to: str,
    context: dict[str, Any],
    attachments: tuple[Attachment, ...] = (),
    recipient_kind: str = "referrer",
) -> Email:
    subject = SUBJECTS[template].format(reference=context["reference"])
    values = {**context, "subject": subject}
    return Email(
        template=template,
        to=to,
        subject=subject,
        text=render_template(f"emails/{template}.txt", **values),
        html=render_template(f"emails/{template}.html", **values),
        attachments=attachments,
        recipient_kind=recipient_kind,
    )
