"""Who took part in a meeting, as the referrer's feedback says it: by role and number, never by name (counted at the
outcome; for a meeting held before that, from the participants as they stand)."""

from __future__ import annotations

from typing import Any, cast

from shared.domain.participants import took_part, took_part_words


def person(role: str, attendance: str = "confirmed") -> dict[str, str]:
    return {"role": role, "attendance": attendance, "name": "Aunt Bea"}


def test_those_who_took_part_are_counted_by_role_never_one_excluded_or_who_declined() -> None:
    people = [
        person("family_member"),
        person("family_member", "invited"),
        person("network_member", "attends_separately"),
        person("network_member", "excluded"),
        person("network_member", "declined"),
        person("professional"),
        person("interpreter"),
    ]

    counts = took_part(people, facilitated=True)

    assert counts == {
        "family_member": 2,
        "network_member": 1,
        "professional": 1,
        "interpreter": 1,
        "facilitator": 1,
    }
    words = took_part_words(counts)
    assert words == (
        "2 family members, 1 member of the family's network, 1 professional, 1 interpreter and the facilitator"
    )
    assert "Bea" not in words


def test_a_facilitator_recorded_as_a_participant_too_is_counted_once() -> None:
    assert took_part([person("facilitator")], facilitated=True) == {"facilitator": 1}
    assert took_part_words({"facilitator": 2, "advocate": 3}) == "3 advocates and 2 facilitators"
    assert took_part_words({"family_member": 1}) == "1 family member"
    assert took_part_words({}) == ""


def test_feedback_on_a_meeting_held_before_roles_were_counted_counts_them_from_the_participants_now() -> None:
    from datetime import UTC, date, datetime

    from shared.config import Settings
    from shared.domain.events import Event, EventData, MeetingHeld, new_event
    from shared.service.feedback import emails_for
    from shared.web.emails import render

    held = MeetingHeld(
        reference="FN-7KQ2MX4P", meeting_id="M1", held_on=date(2026, 12, 8), plan_agreed=False, support_package_items=0
    )
    envelope = new_event(held, correlation_id="c", occurred_at=datetime(2026, 12, 9, tzinfo=UTC))
    referral = {
        "reference": "FN-7KQ2MX4P",
        "route": "lead_practitioner",
        "received_at": "2026-11-24T10:15:00Z",
        "submission": {"referrer": {"email": "sam@council.example.org"}, "family": {"contact_name": "Jo Bloggs"}},
    }
    items: dict[str, dict[str, Any]] = {
        "referral": referral,
        "meeting": {"meeting_id": "M1", "status": "held", "facilitator_id": "fac-1"},  # no took_part: held long ago
        "plan": {},
        "by_key": {"PARTICIPANT#pt-1": person("family_member"), "PARTICIPANT#pt-2": person("advocate", "excluded")},
    }

    [email] = emails_for(cast(Event[EventData], envelope), items, None, Settings(), render=render)

    assert email.to == "sam@council.example.org" and email.subject == "Feedback on the meeting for FN-7KQ2MX4P"
    assert "Who took part, by role: 1 family member and the facilitator." in email.text
    assert "No plan was made at the meeting" in email.text
    assert "Bea" not in email.text + email.html and "Jo Bloggs" not in email.text + email.html
