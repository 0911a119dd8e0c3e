"""Who took part in a meeting, as the referrer's feedback says it: by role and number, never by name."""

from __future__ import annotations

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
