"""Golden files: every email template renders exactly as reviewed (UPDATE_GOLDEN=1 rewrites them after a review)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from shared.domain.emails import mime
from shared.web.emails import SUBJECTS, render

GOLDEN = Path(__file__).resolve().parents[1] / "golden" / "emails"
CONTEXT = {
    "reference": "FN-7KQ2MX4P",
    "route": "lead_practitioner",
    "contact_name": "Jo Bloggs",
    "received_at": "2026-11-24T10:15:00Z",
    "coordinators_email": "coordinators@familynet.example.org",
    "accepted": True,
}
MEETING = {
    "when": "Tuesday 8 December 2026 at 10:00",
    "venue": "At a Family Hub, North Hub",
    "moved": False,
    "previously": "",
}
FEEDBACK = {  # the referrer's feedback as shared/service/feedback.py fills it for a meeting held without a plan
    "held_on": "8 December 2026",
    "took_part": "2 family members, 3 members of the family's network, 1 professional and the facilitator",
    "plan_agreed": False,
    "agreed_on": "",
    "recorded_by_coordinator": False,
    "actions": 0,
    "package_items": 0,
    "review_due_on": "",
    "link": "",
    "expires_on": "",
}
CASES: dict[str, tuple[str, dict[str, Any]]] = {
    "acknowledgement-lead": ("acknowledgement", CONTEXT),
    "acknowledgement-request": ("acknowledgement", {**CONTEXT, "route": "professional_request", "accepted": False}),
    "acknowledgement-lead-unverified": ("acknowledgement", {**CONTEXT, "accepted": False}),
    "new_referral-lead": ("new_referral", CONTEXT),
    "new_referral-request": ("new_referral", {**CONTEXT, "route": "professional_request", "accepted": False}),
    "new_referral-lead-unverified": ("new_referral", {**CONTEXT, "accepted": False}),
    "accepted": ("accepted", CONTEXT),
    "declined": ("declined", {**CONTEXT, "reason": "The family already has a plan with Early Help."}),
    "withdrawn": ("withdrawn", CONTEXT),
    "family_declined": ("family_declined", CONTEXT),
    "invitation": ("invitation", {**CONTEXT, **MEETING}),
    "invitation-moved": (
        "invitation",
        {**CONTEXT, **MEETING, "moved": True, "previously": "Monday 7 December 2026 at 14:00"},
    ),
    "cancellation": ("cancellation", {**CONTEXT, **MEETING}),
    "feedback-plan": (
        "feedback",
        {
            **CONTEXT,
            **FEEDBACK,
            "plan_agreed": True,
            "agreed_on": "10 December 2026",
            "actions": 3,
            "package_items": 2,
            "review_due_on": "8 March 2027",
            "link": "http://127.0.0.1:8000/plans/eyJsIjoiTDEifQ.c2ln",
            "expires_on": "10 March 2027",
        },
    ),
    "feedback-plan-recorded-no-link": (
        "feedback",
        {
            **CONTEXT,
            **FEEDBACK,
            "took_part": "1 family member and the facilitator",
            "plan_agreed": True,
            "agreed_on": "10 December 2026",
            "recorded_by_coordinator": True,
            "actions": 1,
            "package_items": 1,
            "review_due_on": "8 March 2027",
        },
    ),
    "feedback-no-plan": ("feedback", {**CONTEXT, **FEEDBACK}),
    "meeting_not_held": ("meeting_not_held", {**CONTEXT, "when": "Tuesday 8 December 2026 at 10:00"}),
    "review_due": ("review_due", {**CONTEXT, "review_number": 1, "due_on": "8 March 2027"}),
    "review_overdue": (
        "review_overdue",
        {**CONTEXT, "review_number": 1, "due_on": "8 March 2027", "working_days_overdue": 1, "escalation": 1},
    ),
    "review_overdue-again": (
        "review_overdue",
        {**CONTEXT, "review_number": 2, "due_on": "8 March 2027", "working_days_overdue": 6, "escalation": 2},
    ),
    "deadline_breached": (
        "deadline_breached",
        {
            **CONTEXT,
            "what": "holding the Family Network meeting after the referral was accepted",
            "target_working_days": 20,
            "started_on": "24 November 2026",
            "due_on": "23 December 2026",
        },
    ),
    "bounce_notice": (
        "bounce_notice",
        {
            **CONTEXT,
            "failed_subject": "Referral FN-7KQ2MX4P received",
            "recipient_kind": "referrer",
            "address": "sam@council.example.org",
            "complaint": False,
            "bounce_type": "Permanent",
        },
    ),
    "bounce_notice-partner": (
        "bounce_notice",
        {
            **CONTEXT,
            "failed_subject": "Family Network connection: FN-7KQ2MX4P",
            "recipient_kind": "partner",
            "address": "hello@foodbank.example.org",
            "complaint": False,
            "bounce_type": "Permanent",
        },
    ),
    "connection": (
        "connection",
        {
            **CONTEXT,
            "partner_name": "North Food Bank",
            "link": "http://127.0.0.1:8000/connections/eyJjIjoiQzEifQ.c2ln",
            "expires_on": "5 January 2027",
        },
    ),
    "connection_answered": (
        "connection_answered",
        {**CONTEXT, "partner_name": "North Food Bank", "answer": "contacted", "has_note": True},
    ),
    "connection_answered-declined": (
        "connection_answered",
        {**CONTEXT, "partner_name": "North Food Bank", "answer": "declined", "has_note": False},
    ),
    "package_decided-approved": ("package_decided", {**CONTEXT, "item_number": 2, "decision": "approved"}),
    "package_decided-declined": ("package_decided", {**CONTEXT, "item_number": 3, "decision": "declined"}),
    "agreement_request": (
        "agreement_request",
        {
            **CONTEXT,
            "answerer": "lead_practitioner",
            "round": 1,
            "held_on": "8 December 2026",
            "due_on": "22 December 2026",
            "link": "http://127.0.0.1:8000/agreements/eyJhIjoiQTEifQ.c2ln",
            "expires_on": "5 January 2027",
        },
    ),
    "agreement_request-revised": (
        "agreement_request",
        {
            **CONTEXT,
            "answerer": "referrer",
            "round": 2,
            "held_on": "8 December 2026",
            "due_on": "22 December 2026",
            "link": "http://127.0.0.1:8000/agreements/eyJhIjoiQTIifQ.c2ln",
            "expires_on": "12 January 2027",
        },
    ),
    "plan_changes_requested": (
        "plan_changes_requested",
        {**CONTEXT, "answerer": "lead_practitioner", "via": "link", "on": "10 December 2026"},
    ),
    "plan_shared": (
        "plan_shared",
        {
            **CONTEXT,
            "because": "agreed",
            "next_review_due_on": "8 March 2027",
            "link": "http://127.0.0.1:8000/plans/eyJsIjoiTDEifQ.c2ln",
            "expires_on": "10 March 2027",
        },
    ),
    "plan_shared-reviewed": (
        "plan_shared",
        {
            **CONTEXT,
            "because": "reviewed",
            "reviewed_on": "8 March 2027",
            "next_review_due_on": "",
            "link": "http://127.0.0.1:8000/plans/eyJsIjoiTDIifQ.c2ln",
            "expires_on": "6 June 2027",
        },
    ),
    "evaluation_request": (
        "evaluation_request",
        {
            **CONTEXT,
            "held_on": "8 December 2026",
            "link": "http://127.0.0.1:8000/evaluations/eyJ3IjoiZmFtaWx5In0.c2ln",
            "expires_on": "5 January 2027",
        },
    ),
    "plan_shared-closed": (
        "plan_shared",
        {
            **CONTEXT,
            "because": "closed",
            "reviewed_on": "8 June 2027",
            "next_review_due_on": "",
            "link": "http://127.0.0.1:8000/plans/eyJsIjoiTDMifQ.c2ln",
            "expires_on": "6 August 2027",
        },
    ),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_each_template_renders_as_its_golden_file(case: str) -> None:
    template, context = CASES[case]
    email = render(template, "someone@example.org", context)
    rendered = {"txt": f"Subject: {email.subject}\n\n{email.text}", "html": email.html}
    for suffix, text in rendered.items():
        path = GOLDEN / f"{case}.{suffix}"
        if os.environ.get("UPDATE_GOLDEN") == "1":
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
        assert path.read_text() == text, f"{path.name} changed: review it, then UPDATE_GOLDEN=1"


def test_every_template_has_a_golden_case_and_subjects_carry_the_reference_and_never_a_name() -> None:
    assert {template for template, _ in CASES.values()} == set(SUBJECTS)
    for template, context in CASES.values():
        email = render(template, "x@example.org", context)
        assert "FN-7KQ2MX4P" in email.subject and "Jo" not in email.subject


def test_every_email_is_multipart_text_and_html() -> None:
    email = render("acknowledgement", "referrer@example.org", {**CONTEXT, "route": "lead_practitioner"})
    message = mime(email, "Family Network <noreply@familynet.example.org>")
    assert message.get_content_type() == "multipart/alternative"
    assert [part.get_content_type() for part in message.iter_parts()] == ["text/plain", "text/html"]
    assert message["Message-ID"].endswith("@familynet.example.org>")


def test_the_plan_s_emails_carry_the_reference_and_dates_never_the_family_s_name() -> None:
    cases = ("agreement_request", "agreement_request-revised", "plan_changes_requested", "connection")
    feedback = ("feedback-plan", "feedback-plan-recorded-no-link", "feedback-no-plan", "meeting_not_held")
    for case in (
        *cases,
        "connection_answered",
        "plan_shared",
        "plan_shared-reviewed",
        "plan_shared-closed",
        "evaluation_request",
        *feedback,
    ):
        template, context = CASES[case]
        email = render(template, "x@example.org", context)
        assert "Jo" not in email.text and "Jo" not in email.html and "FN-7KQ2MX4P" in email.text


def test_the_acknowledgement_carries_the_reference_and_fixed_text_only() -> None:
    # anyone can type any name into the public form: none of it goes back out in the acknowledgement
    email = render("acknowledgement", "x@example.org", {**CONTEXT, "contact_name": "Jo Bloggs <b>"})
    assert "Jo" not in email.text and "Jo" not in email.html and "FN-7KQ2MX4P" in email.text


def test_html_parts_escape_what_they_are_given() -> None:
    email = render("accepted", "x@example.org", {**CONTEXT, "contact_name": "<b>Jo</b>"})
    assert "&lt;b&gt;Jo&lt;/b&gt;" in email.html and "<b>Jo</b>" in email.text


def test_every_email_says_when_it_was_sent_and_the_local_outbox_shows_that_time() -> None:
    from datetime import UTC, datetime
    from email.utils import parsedate_to_datetime
    from types import SimpleNamespace

    from infra.local.outbox import _describe

    message = mime(render("acknowledgement", "x@example.org", CONTEXT), "Family Network <noreply@example.org>")
    sent = parsedate_to_datetime(str(message["Date"]))  # RFC 5322's required origination date
    assert abs((sent - datetime.now(UTC)).total_seconds()) < 5
    shown = _describe(SimpleNamespace(id="m1", raw_data=message.as_string()))
    assert shown["sent_at"] == sent.astimezone(UTC).isoformat()
