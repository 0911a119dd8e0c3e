"""Golden files: every email template renders exactly as reviewed (UPDATE_GOLDEN=1 rewrites them after a review)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from shared.emails import SUBJECTS, mime, render

GOLDEN = Path(__file__).resolve().parents[1] / "golden" / "emails"
CONTEXT = {
    "reference": "FN-7KQ2MX4P",
    "contact_name": "Jo Bloggs",
    "received_at": "2026-11-24T10:15:00Z",
}
CASES = {
    "acknowledgement-lead": ("acknowledgement", {**CONTEXT, "route": "lead_practitioner"}),
    "acknowledgement-request": ("acknowledgement", {**CONTEXT, "route": "professional_request"}),
    "new_referral-lead": ("new_referral", {**CONTEXT, "route": "lead_practitioner"}),
    "new_referral-request": ("new_referral", {**CONTEXT, "route": "professional_request"}),
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


def test_subjects_carry_the_reference_and_never_a_name() -> None:
    for template in SUBJECTS:
        email = render(template, "x@example.org", {**CONTEXT, "route": "lead_practitioner"})
        assert "FN-7KQ2MX4P" in email.subject and "Jo" not in email.subject


def test_every_email_is_multipart_text_and_html() -> None:
    email = render("acknowledgement", "referrer@example.org", {**CONTEXT, "route": "lead_practitioner"})
    message = mime(email, "Family Network <noreply@familynet.example.org>")
    assert message.get_content_type() == "multipart/alternative"
    assert [part.get_content_type() for part in message.iter_parts()] == ["text/plain", "text/html"]
    assert message["Message-ID"].endswith("@familynet.example.org>")


def test_html_parts_escape_what_they_are_given() -> None:
    email = render(
        "acknowledgement", "x@example.org", {**CONTEXT, "route": "lead_practitioner", "contact_name": "<b>Jo</b>"}
    )
    assert "&lt;b&gt;Jo&lt;/b&gt;" in email.html and "<b>Jo</b>" in email.text
