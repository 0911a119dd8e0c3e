"""The console's meeting form: what a coordinator types, read into the API's MeetingRequest in England's time."""

from __future__ import annotations

from datetime import UTC, datetime

from shared.web import meeting_form

FORM = {
    "facilitator_id": "fac-one",
    "day": "14",
    "month": "7",
    "year": "2027",
    "time": "10:30",
    "length": "120",
    "venue_type": "family_hub",
    "venue_details": "North Hub",
}


def test_a_summer_time_is_read_in_england_and_lasts_as_chosen() -> None:
    request, checked = meeting_form.read(FORM)
    assert checked.errors == [] and request is not None
    assert request.starts_at.astimezone(UTC) == datetime(2027, 7, 14, 9, 30, tzinfo=UTC)  # BST: UTC+1
    assert (request.ends_at - request.starts_at).total_seconds() == 2 * 3600
    assert request.venue.type == "family_hub" and request.venue.details == "North Hub"


def test_each_problem_is_named_against_the_field_to_fix_and_every_answer_is_kept() -> None:
    request, checked = meeting_form.read({**FORM, "day": "31", "month": "2", "venue_type": "", "length": "7"})
    assert request is None
    assert {(e["href"], e["text"]) for e in checked.errors} == {
        ("#day", "The date of the meeting must be a real date"),
        ("#length", "Choose how long the meeting lasts"),
        ("#venue_type", "Choose where the meeting is"),
    }
    assert checked.values["day"] == "31" and checked.values["venue_details"] == "North Hub"


def test_times_and_numbers_are_read_strictly() -> None:
    for time in ("25:00", "10:3", "\uff11\uff10:30", "ten"):
        _, checked = meeting_form.read({**FORM, "time": time})
        assert [e["href"] for e in checked.errors] == ["#time"], time
    _, checked = meeting_form.read({**FORM, "day": "\u00b2"})
    assert [e["href"] for e in checked.errors] == ["#day"]


def test_a_moved_meeting_opens_with_its_own_time_and_venue() -> None:
    meeting = {
        "starts_at": "2027-01-12T14:00:00Z",
        "ends_at": "2027-01-12T15:30:00Z",
        "facilitator_id": "fac-two",
        "venue": {"type": "online", "details": "Teams"},
    }
    values = meeting_form.prefilled(meeting, None, "fac-one", 120)
    assert (values["day"], values["month"], values["year"], values["time"]) == ("12", "1", "2027", "14:00")
    assert (values["length"], values["facilitator_id"], values["venue_type"]) == ("90", "fac-two", "online")


def test_a_year_outside_this_century_is_refused_before_any_date_arithmetic() -> None:
    for year in ("9999", "0001", "1999"):
        request, checked = meeting_form.read({**FORM, "year": year, "month": "12", "day": "31", "time": "23:30"})
        assert request is None and [e["href"] for e in checked.errors] == ["#day"], year


def test_an_exception_s_reason_is_read_and_a_refused_time_is_named_against_the_time_with_a_box_for_it() -> None:
    from shared.domain.meetings import MeetingTimeRefused

    request, checked = meeting_form.read({**FORM, "exception_reason": "  The network can only come then  "})
    assert request is not None and request.exception_reason == "The network can only come then"
    assert checked.exception_needed  # the box stays open with what was typed

    _, fresh = meeting_form.read(FORM)
    assert not fresh.exception_needed
    fresh.refused_time(
        MeetingTimeRefused(
            "outside_availability",
            "Outside",
            [{"field": "starts_at", "message": "Outside"}, {"field": "exception_reason", "message": "Give it"}],
        )
    )
    assert fresh.exception_needed
    assert [(e["href"], e["text"]) for e in fresh.errors] == [("#time", "Outside"), ("#exception_reason", "Give it")]

    _, past = meeting_form.read(FORM)
    past.refused_time(MeetingTimeRefused("past", "Gone", [{"field": "starts_at", "message": "Gone"}]))
    assert not past.exception_needed and [e["href"] for e in past.errors] == ["#day"]

    _, long = meeting_form.read({**FORM, "exception_reason": "x" * 2001})
    assert [e["href"] for e in long.errors] == ["#exception_reason"]
