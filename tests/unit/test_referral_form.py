"""The form's own logic: GOV.UK date inputs, blank rows, add/remove rows, and where each error links to."""

from __future__ import annotations

from typing import Any

import pytest

from shared.domain.referrals import MAX_CHILDREN
from shared.web.referral_form import apply_action, asset, form_errors, model_body, read_form


@pytest.mark.parametrize(
    ("parts", "expected"),
    [
        ({"day": "7", "month": "3", "year": "2026"}, "2026-03-07"),
        ({"day": " 07 ", "month": "03", "year": "2026"}, "2026-03-07"),
        ({"day": "31", "month": "2", "year": "2026"}, "not-a-real-date"),
        ({"day": "1", "year": "2026"}, "not-a-real-date"),
        ({"day": "1", "month": "1", "year": "26"}, "not-a-real-date"),
        ({"day": "one", "month": "1", "year": "2026"}, "not-a-real-date"),
    ],
)
def test_date_inputs_become_iso_dates_or_are_refused(parts: dict[str, str], expected: str) -> None:
    body = model_body({"consent": {"given_on": parts}})
    assert body["consent"]["given_on"] == expected


def test_blank_groups_and_rows_are_not_answers_but_each_section_is_asked_for() -> None:
    body = model_body(
        {
            "family": {"children": [{"date_of_birth": {}}, {}]},
            "network_members": [{}, {"name": "Nan"}],
            "meeting_preferences": {"days": []},
        }
    )
    assert body["family"] == {"children": [{}]}  # one row stays, so its fields get their messages
    assert body["network_members"] == [{"name": "Nan"}]
    assert "meeting_preferences" not in body
    assert body["referrer"] == {} and body["consent"] == {}


def test_the_controls_are_taken_out_of_the_answers() -> None:
    token = "Ab3_-" * 5
    form = read_form({"submission_token": token, "action": "add-child", "route": "lead_practitioner"})
    assert (form.token, form.action, form.values) == (token, "add-child", {"route": "lead_practitioner"})
    assert read_form({"submission_token": "short"}).token is None
    assert read_form({"submission_token": "x" * 300}).token is None
    assert read_form({"action": "drop-tables"}).action == "send"
    assert read_form({"submission_token": ""}).token is None


def test_rows_are_added_up_to_the_limit_and_removed_by_index() -> None:
    values = {"family": {"children": [{"first_name": "A"}, {"first_name": "B"}]}}
    assert apply_action(values, "add-child")["family"]["children"][-1] == {}
    assert apply_action(values, "remove-child-0")["family"]["children"] == [{"first_name": "B"}]
    full: dict[str, Any] = {"family": {"children": [{}] * MAX_CHILDREN}}
    assert len(apply_action(full, "add-child")["family"]["children"]) == MAX_CHILDREN
    assert apply_action({}, "add-member")["network_members"] == [{}, {}]
    assert values["family"]["children"] == [{"first_name": "A"}, {"first_name": "B"}]  # not changed in place


def test_each_error_links_to_the_control_a_person_can_fix() -> None:
    shown = form_errors(
        [
            {
                "field": "family.children.0.date_of_birth",
                "message": "The child's date must be a real date, like 2026-03-27",
            },
            {"field": "family.children", "message": "Add at least one child"},
            {"field": "meeting_preferences.days.2", "message": "Choose the days that suit the family: 'monday'"},
            {"field": "meeting_preferences.days.3", "message": "Choose the days that suit the family: 'monday'"},
            {"field": "route", "message": "Enter who is making the referral"},
            {"field": "surprise", "message": "This field is not part of a referral: remove it"},
        ]
    )
    assert [(e["target"], e["message"]) for e in shown] == [
        ("family-children-0-date_of_birth-day", "The child's date must be a real date"),
        ("family-children-0-first_name", "Add at least one child"),
        ("meeting_preferences-days", "Choose the days that suit the family: 'monday'"),
        ("route", "Select who is making this referral"),
        ("main-content", "This field is not part of a referral: remove it"),
    ]


@pytest.mark.parametrize("name", ["../templates/form.html", "..", ".hidden", "app.css/..", "form.html", "x" * 90])
def test_only_built_assets_can_be_read(name: str) -> None:
    assert asset(name) is None
