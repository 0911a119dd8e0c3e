"""Facilitators and meetings through the scheduling handler: booking, moving, cancelling, never double-booking."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from infra.constants import SCHEDULING
from shared.domain import clock
from shared.domain.clock import LONDON
from shared.domain.events import parse_detail
from tests.integration.conftest import Cloud
from tests.integration.test_coordination import act, get_one, staff
from tests.integration.test_intake import relay_outbox
from tests.preparation import prepare_for_meeting

DAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
WEEKLY = [{"day": day, "start": "09:00", "end": "17:00"} for day in DAYS]  # every day, 09:00 to 17:00


def london(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=LONDON)


def next_weekday(name: str, days_ahead: int) -> date:
    """The first `name` at least `days_ahead` days from today (England's today)."""
    first = datetime.now(LONDON).date() + timedelta(days=days_ahead)
    return first + timedelta(days=(DAYS.index(name) - first.weekday()) % 7)


MONDAY = london(next_weekday("monday", 14), 10)  # a Monday two weeks or more ahead, 10:00 in England


@contextmanager
def clock_at(moment: datetime) -> Iterator[None]:
    """The system clock at `moment` (as the local runtime moves it), then back to real time: a referral received and
    its meeting booked days ago, so that the meeting can be held by now."""
    clock.set_offset((moment - datetime.now(UTC)).total_seconds())
    try:
        yield
    finally:
        clock.set_offset(0)


def availability(
    cloud: Cloud, facilitator: str, locality: str = "North", weekly: list[dict[str, str]] | None = None
) -> dict[str, Any]:
    path = f"/facilitators/{facilitator}/availability"
    return staff(
        cloud,
        "PUT /facilitators/{facilitator_id}/availability",
        path,
        body={"locality": locality, "weekly": WEEKLY if weekly is None else weekly},
    )


def meeting(
    starts: datetime, hours: float = 2, facilitator: str = "fac-1", exception_reason: str | None = None
) -> dict[str, Any]:
    return {
        "starts_at": starts.isoformat(),
        "ends_at": (starts + timedelta(hours=hours)).isoformat(),
        "venue": {"type": "family_hub", "details": "North Family Hub, room 2"},
        "facilitator_id": facilitator,
        **({"exception_reason": exception_reason} if exception_reason else {}),
    }


def prepared(cloud: Cloud, reference: str) -> str:
    """The referral's preparation checklist met, through the service with the scheduling function's settings."""
    cloud.use_environment_of(SCHEDULING)
    prepare_for_meeting(reference)
    return reference


def book(cloud: Cloud, reference: str, body: dict[str, Any], *, prepare: bool = True, **kwargs: Any) -> dict[str, Any]:
    """PUT the meeting; first (unless `prepare=False`) the referral's preparation checklist is met through the
    service, as a coordinator would meet it (tests/preparation.py): a booking still waits for it."""
    if prepare:
        prepared(cloud, reference)
    return staff(cloud, "PUT /referrals/{reference}/meeting", f"/referrals/{reference}/meeting", body=body, **kwargs)


def cancel(cloud: Cloud, reference: str, body: dict[str, Any]) -> dict[str, Any]:
    return staff(cloud, "DELETE /referrals/{reference}/meeting", f"/referrals/{reference}/meeting", body=body)


def accepted_referral(submit: Any, referral_body: dict[str, Any], n: int = 0) -> str:
    return str(submit({**referral_body, "reason": f"Referral {n}"})["json"]["reference"])


def test_facilitators_and_their_availability(cloud: Cloud) -> None:
    assert availability(cloud, "fac-1")["statusCode"] == 200
    availability(cloud, "fac-2", "South")
    listed = staff(cloud, "GET /facilitators", "/facilitators")["json"]["items"]
    assert [(f["facilitator_id"], f["locality"]) for f in listed] == [("fac-1", "North"), ("fac-2", "South")]
    assert listed[0]["weekly"][0] == {"day": "monday", "start": "09:00:00", "end": "17:00:00"}
    assert len(listed[0]["weekly"]) == 7
    bad = staff(
        cloud,
        "PUT /facilitators/{facilitator_id}/availability",
        "/facilitators/fac-1/availability",
        body={"locality": "North", "weekly": [{"day": "monday", "start": "17:00", "end": "09:00"}]},
    )
    assert bad["statusCode"] == 422


def test_booking_a_meeting_schedules_it_and_announces_it(
    cloud: Cloud, submit: Any, referral_body: dict[str, Any]
) -> None:
    availability(cloud, "fac-1")
    reference = prepared(cloud, accepted_referral(submit, referral_body))
    relay_outbox(cloud)
    capture = cloud.capture_events()

    response = book(cloud, reference, meeting(MONDAY))

    assert response["statusCode"] == 200, response["json"]
    assert response["json"]["status"] == "meeting_scheduled"
    view = get_one(cloud, reference)["json"]
    assert view["meeting"]["status"] == "scheduled" and view["meeting"]["sequence"] == 0
    assert view["allowed_actions"] == [
        "withdraw",
        "move_meeting",
        "cancel_meeting",
        "record_outcome",
        "record_contact",
        "record_child_voice",
    ]
    relay_outbox(cloud)
    [event] = capture.received()
    detail = parse_detail(event["detail-type"], event["detail"])
    assert event["detail-type"] == "MeetingScheduled" and detail.data.sequence == 0  # type: ignore[attr-defined]
    assert "Family Hub" not in str(event)  # the venue's details stay in the table


def test_a_meeting_needs_an_accepted_referral_a_known_facilitator_and_sensible_times(
    cloud: Cloud, submit: Any, referral_body: dict[str, Any]
) -> None:
    availability(cloud, "fac-1")
    waiting = submit({**referral_body, "route": "professional_request"})["json"]["reference"]
    refused = book(cloud, waiting, meeting(MONDAY))
    assert refused["statusCode"] == 409 and refused["json"]["allowed_actions"] == ["accept", "decline", "withdraw"]
    reference = accepted_referral(submit, referral_body)
    assert book(cloud, reference, meeting(MONDAY, facilitator="nobody"))["statusCode"] == 422
    assert book(cloud, reference, meeting(MONDAY, hours=-1))["statusCode"] == 422
    assert book(cloud, reference, meeting(MONDAY, hours=5))["statusCode"] == 422
    naive = {**meeting(MONDAY), "starts_at": "2026-12-07T10:00:00"}
    assert book(cloud, reference, naive)["statusCode"] == 422


def test_a_meeting_in_the_past_is_refused_naming_the_time(
    cloud: Cloud, submit: Any, referral_body: dict[str, Any]
) -> None:
    availability(cloud, "fac-1")
    reference = accepted_referral(submit, referral_body)
    four_days_ago = london(datetime.now(LONDON).date() - timedelta(days=4), 10)

    refused = book(cloud, reference, meeting(four_days_ago, exception_reason="The family asked"))

    assert refused["statusCode"] == 422
    assert refused["json"]["errors"] == [{"field": "starts_at", "message": refused["json"]["message"]}]
    assert "must start in the future" in refused["json"]["message"]
    assert get_one(cloud, reference)["json"]["status"] == "preparing"  # nothing of the booking written
    minute_ago = datetime.now(UTC) - timedelta(minutes=1)
    assert book(cloud, reference, meeting(minute_ago))["statusCode"] == 422


def test_the_system_clock_decides_what_is_past(cloud: Cloud, submit: Any, referral_body: dict[str, Any]) -> None:
    availability(cloud, "fac-1")
    reference = accepted_referral(submit, referral_body)
    with clock_at(MONDAY + timedelta(hours=1)):  # the local runtime's clock, moved past the Monday's 10:00
        refused = book(cloud, reference, meeting(MONDAY))
    assert refused["statusCode"] == 422 and refused["json"]["errors"][0]["field"] == "starts_at"
    assert book(cloud, reference, meeting(MONDAY))["statusCode"] == 200  # by the real clock, still to come


def test_a_meeting_before_the_referral_was_received_is_refused(
    cloud: Cloud, submit: Any, referral_body: dict[str, Any]
) -> None:
    availability(cloud, "fac-1")
    with clock_at(MONDAY + timedelta(days=7)):  # received a week after that Monday...
        reference = prepared(cloud, accepted_referral(submit, referral_body))  # and prepared then
    refused = book(cloud, reference, meeting(MONDAY))  # ...so the Monday, still to come, is before it

    assert refused["statusCode"] == 422
    assert refused["json"]["errors"][0]["field"] == "starts_at"
    assert "after the referral was received" in refused["json"]["message"]


def test_out_of_hours_is_refused_unless_the_coordinator_confirms_an_exception_with_a_reason(
    cloud: Cloud, submit: Any, referral_body: dict[str, Any]
) -> None:
    weekdays = [{"day": day, "start": "09:00", "end": "17:00"} for day in DAYS[:5]]
    availability(cloud, "fac-1", weekly=weekdays)
    reference = accepted_referral(submit, referral_body)
    relay_outbox(cloud)
    capture = cloud.capture_events()
    saturday_evening = london(next_weekday("saturday", 14), 20)

    refused = book(cloud, reference, meeting(saturday_evening))
    late_friday = book(cloud, reference, meeting(london(next_weekday("friday", 14), 16)))  # ends 18:00

    for answer in (refused, late_friday):
        assert answer["statusCode"] == 422
        assert [e["field"] for e in answer["json"]["errors"]] == ["starts_at", "exception_reason"]
        assert "outside the facilitator's availability (Monday 09:00 to 17:00" in answer["json"]["message"]
    assert book(cloud, reference, meeting(saturday_evening, exception_reason=" "))["statusCode"] == 422

    reason = "The grandparents work weekdays; the facilitator agreed"
    booked = book(cloud, reference, meeting(saturday_evening, exception_reason=reason))

    assert booked["statusCode"] == 200, booked["json"]
    view = get_one(cloud, reference)["json"]
    assert view["audit"][-1]["action"] == "meeting.scheduled"
    assert view["audit"][-1]["changes"]["availability_exception"] == reason
    relay_outbox(cloud)
    assert "grandparents" not in str(capture.received())  # the reason stays in the case, never in an event
    within = book(cloud, reference, meeting(london(next_weekday("monday", 14), 10), exception_reason=reason))
    assert within["statusCode"] == 200
    assert "availability_exception" not in get_one(cloud, reference)["json"]["audit"][-1]["changes"]  # none needed


def test_a_facilitator_is_never_double_booked(cloud: Cloud, submit: Any, referral_body: dict[str, Any]) -> None:
    availability(cloud, "fac-1")
    first, second, third = (accepted_referral(submit, referral_body, n) for n in range(3))
    assert book(cloud, first, meeting(MONDAY))["statusCode"] == 200
    overlapping = book(cloud, second, meeting(MONDAY + timedelta(hours=1, minutes=59)))
    assert overlapping["statusCode"] == 409
    assert "already booked" in overlapping["json"]["message"]
    assert get_one(cloud, second)["json"]["status"] == "preparing"  # nothing of the refused booking was written
    assert book(cloud, second, meeting(MONDAY + timedelta(hours=2)))["statusCode"] == 200  # back to back is fine
    assert book(cloud, third, meeting(MONDAY, facilitator="fac-2"))["statusCode"] == 422  # unknown facilitator
    availability(cloud, "fac-2")
    assert book(cloud, third, meeting(MONDAY, facilitator="fac-2"))["statusCode"] == 200  # another facilitator


def test_two_coordinators_booking_one_slot_at_once_get_one_success_and_one_409(
    cloud: Cloud, submit: Any, referral_body: dict[str, Any]
) -> None:
    availability(cloud, "fac-1")
    references = [accepted_referral(submit, referral_body, n) for n in range(2)]
    with ThreadPoolExecutor(max_workers=2) as pool:
        responses = list(pool.map(lambda ref: book(cloud, ref, meeting(MONDAY)), references))
    assert sorted(r["statusCode"] for r in responses) == [200, 409]
    statuses = sorted(get_one(cloud, ref)["json"]["status"] for ref in references)
    assert statuses == ["meeting_scheduled", "preparing"]


def test_moving_a_meeting_frees_its_old_time_and_raises_its_sequence(
    cloud: Cloud, submit: Any, referral_body: dict[str, Any]
) -> None:
    availability(cloud, "fac-1")
    reference, other = (accepted_referral(submit, referral_body, n) for n in range(2))
    book(cloud, reference, meeting(MONDAY))
    relay_outbox(cloud)
    capture = cloud.capture_events()
    later = MONDAY + timedelta(days=2, hours=4)

    moved = book(cloud, reference, meeting(later, hours=1))

    assert moved["statusCode"] == 200
    assert moved["json"]["meeting"]["sequence"] == 1
    assert book(cloud, other, meeting(MONDAY))["statusCode"] == 200  # the old time is free again
    relay_outbox(cloud)
    events = {e["detail-type"]: e for e in capture.received()}
    rescheduled = events["MeetingRescheduled"]["detail"]["data"]
    assert rescheduled["sequence"] == 1
    assert rescheduled["previous_starts_at"].startswith(MONDAY.strftime("%Y-%m-%dT%H:%M"))


def test_cancelling_frees_the_facilitator_and_lets_the_referral_be_booked_again(
    cloud: Cloud, submit: Any, referral_body: dict[str, Any]
) -> None:
    availability(cloud, "fac-1")
    reference, other = (accepted_referral(submit, referral_body, n) for n in range(2))
    first = book(cloud, reference, meeting(MONDAY))["json"]["meeting"]
    assert cancel(cloud, reference, {})["statusCode"] == 422  # a reason is needed
    relay_outbox(cloud)
    capture = cloud.capture_events()

    cancelled = cancel(cloud, reference, {"reason": "The family is unwell."})

    assert cancelled["json"]["status"] == "preparing"  # its preparation stands: it can be booked again
    assert cancelled["json"]["meeting"]["status"] == "cancelled"
    assert cancel(cloud, reference, {"reason": "Again"})["statusCode"] == 409
    assert book(cloud, other, meeting(MONDAY))["statusCode"] == 200
    again = book(cloud, reference, meeting(MONDAY + timedelta(days=7)))["json"]["meeting"]
    assert again["meeting_id"] != first["meeting_id"] and again["sequence"] == 0
    relay_outbox(cloud)
    types = [e["detail-type"] for e in capture.received()]
    assert "MeetingCancelled" in types and "unwell" not in str(capture)
    assert [a["action"] for a in get_one(cloud, reference)["json"]["audit"]][-4:] == [
        "meeting.scheduled",
        "meeting.cancelled",
        "meeting.proposed",  # waiting again: the times it could have now
        "meeting.scheduled",
    ]
    assert act(cloud, reference, "accept")["statusCode"] == 409


def test_withdrawing_a_referral_cancels_its_meeting_and_frees_the_facilitator(
    cloud: Cloud, submit: Any, referral_body: dict[str, Any]
) -> None:
    availability(cloud, "fac-1")
    reference, other = (accepted_referral(submit, referral_body, n) for n in range(2))
    book(cloud, reference, meeting(MONDAY))
    relay_outbox(cloud)
    capture = cloud.capture_events()

    withdrawn = act(cloud, reference, "withdraw", {"reason": "The family moved away."})

    assert withdrawn["json"]["status"] == "withdrawn"
    view = get_one(cloud, reference)["json"]
    assert view["meeting"]["status"] == "cancelled" and view["meeting"]["sequence"] == 1
    relay_outbox(cloud)
    assert sorted(e["detail-type"] for e in capture.received()) == ["MeetingCancelled", "ReferralWithdrawn"]
    assert book(cloud, other, meeting(MONDAY))["statusCode"] == 200  # the facilitator's time is free
