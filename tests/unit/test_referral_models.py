"""Referral submissions: what is accepted, what is refused, and the messages people see."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from shared.domain.referrals import REFERENCE_PATTERN, ReferralSubmission, new_reference, today
from shared.domain.validation import field_errors
from tests.conftest import minimal_referral


def errors_for(body: dict[str, Any]) -> dict[str, str]:
    with pytest.raises(ValidationError) as caught:
        ReferralSubmission.model_validate(body)
    return {e["field"]: e["message"] for e in field_errors(ReferralSubmission, caught.value)}


def test_minimal_body_is_accepted_and_postcode_normalised():
    submission = ReferralSubmission.model_validate(minimal_referral())
    assert submission.family.postcode == "SW1A 1AA"
    assert submission.referrer.email == "sam.okafor@council.example.org"


def test_missing_required_fields_are_each_named_with_a_message():
    errors = errors_for({"route": "lead_practitioner"})
    assert errors == {
        "referrer": "Enter the referrer's details",
        "family": "Enter the family's details",
        "consent": "Enter the family's consent",
        "reason": "Enter why the family would benefit from a Family Network meeting",
    }


def test_bad_email_gets_the_format_message():
    body = minimal_referral()
    body["referrer"]["email"] = "sam.okafor.council"
    assert errors_for(body) == {"referrer.email": "Enter an email address in the correct format, like name@example.org"}


@pytest.mark.parametrize("postcode", ["ZZ1", "12345", "SW1A 1A", "", "SW1A1AAA"])
def test_non_uk_postcodes_are_refused(postcode):
    body = minimal_referral()
    body["family"]["postcode"] = postcode
    assert errors_for(body)["family.postcode"] == "Enter a real UK postcode, like SW1A 1AA"


@pytest.mark.parametrize("postcode", ["M1 1AE", "b33 8th", "CR2 6XH", "DN55 1PT", "W1A 0AX", "EC1A 1BB", "GIR 0AA"])
def test_real_postcodes_are_accepted(postcode):
    body = minimal_referral()
    body["family"]["postcode"] = postcode
    assert ReferralSubmission.model_validate(body).family.postcode == postcode.upper().replace("  ", " ")


def test_a_child_born_tomorrow_is_refused():
    body = minimal_referral()
    body["family"]["children"][0]["date_of_birth"] = (today() + timedelta(days=1)).isoformat()
    assert errors_for(body) == {
        "family.children.0.date_of_birth": "The child's date of birth must be today or in the past"
    }


def test_consent_in_the_future_or_not_given_is_refused():
    body = minimal_referral()
    body["consent"] = {"given": False, "given_on": "2999-01-01", "obtained_by": "Sam"}
    assert errors_for(body) == {
        "consent.given": "The family must agree to the referral before it is made",
        "consent.given_on": "The date the family agreed must be today or in the past",
    }


def test_at_least_one_child_is_required():
    body = minimal_referral()
    body["family"]["children"] = []
    assert errors_for(body) == {"family.children": "Add at least one child"}


def test_unknown_fields_are_refused_rather_than_silently_dropped():
    body = minimal_referral(favourite_colour="blue")
    assert errors_for(body) == {"favourite_colour": "This field is not part of a referral: remove it"}


def test_text_lengths_are_bounded():
    body = minimal_referral(reason="x" * 5001)
    assert errors_for(body) == {
        "reason": "Why the family would benefit from a Family Network meeting must be 5000 characters or fewer"
    }


def test_invalid_dates_say_what_a_real_date_looks_like():
    body = minimal_referral()
    body["family"]["children"][0]["date_of_birth"] = "31/02/2019"
    assert errors_for(body) == {
        "family.children.0.date_of_birth": "The child's date of birth must be a real date, like 2026-03-27"
    }


def test_route_must_be_one_of_the_two_routes():
    message = errors_for(minimal_referral(route="self_referral"))["route"]
    assert message.startswith("Choose who is making the referral")
    assert "lead_practitioner" in message and "professional_request" in message


def test_references_use_the_unambiguous_alphabet():
    references = {new_reference() for _ in range(2000)}
    assert len(references) == 2000
    assert all(REFERENCE_PATTERN.match(ref) for ref in references)
    assert not any(set(ref[3:]) & set("01OI") for ref in references)


@given(
    st.recursive(
        st.none() | st.booleans() | st.integers() | st.text(max_size=20),
        lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=10), children, max_size=4),
        max_leaves=20,
    )
)
def test_any_json_value_is_either_valid_or_explained_field_by_field(value):
    try:
        ReferralSubmission.model_validate(value)
    except ValidationError as exc:
        errors = field_errors(ReferralSubmission, exc)
        assert errors and all(e["field"] and e["message"] for e in errors)
