"""Facilitators and meetings through the scheduling handler: booking, moving, cancelling, never double-booking."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

from shared.domain.events import parse_detail
from tests.integration.conftest import Cloud
from tests.integration.test_coordination import act, get_one, staff
from tests.integration.test_intake import relay_outbox

MONDAY = (datetime.now(UTC) + timedelta(days=14)).replace(hour=10, minute=0, second=0, microsecond=0)
WEEKLY = [{"day": "monday", "start": "09:00", "end": "17:00"}, {"day": "wednesday", "start": "13:00", "end": "19:00"}]


def availability(cloud: Cloud, facilitator: str, locality: str = "North") -> dict[str, Any]:
    path = f"/facilitators/{facilitator}/availability"
    return staff(
        cloud,
        "PUT /facilitators/{facilitator_id}/availability",
        path,
        body={"locality": locality, "weekly": WEEKLY},
    )


def meeting(starts: datetime, hours: float = 2, facilitator: str = "fac-1") -> dict[str, Any]:
    return {
        "starts_at": starts.isoformat(),
        "ends_at": (starts + timedelta(hours=hours)).isoformat(),
        "venue": {"type": "family_hub", "details": "North Family Hub, room 2"},
        "facilitator_id": facilitator,
    }


def book(cloud: Cloud, reference: str, body: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
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
    reference = accepted_referral(submit, referral_body)
    relay_outbox(cloud)
    capture = cloud.capture_events()

    response = book(cloud, reference, meeting(MONDAY))

    assert response["statusCode"] == 200, response["json"]
    assert response["json"]["status"] == "meeting_scheduled"
    view = get_one(cloud, reference)["json"]
    assert view["meeting"]["status"] == "scheduled" and view["meeting"]["sequence"] == 0
    assert view["allowed_actions"] == ["withdraw", "move_meeting", "cancel_meeting", "record_outcome"]
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


def test_a_facilitator_is_never_double_booked(cloud: Cloud, submit: Any, referral_body: dict[str, Any]) -> None:
    availability(cloud, "fac-1")
    first, second, third = (accepted_referral(submit, referral_body, n) for n in range(3))
    assert book(cloud, first, meeting(MONDAY))["statusCode"] == 200
    overlapping = book(cloud, second, meeting(MONDAY + timedelta(hours=1, minutes=59)))
    assert overlapping["statusCode"] == 409
    assert "already booked" in overlapping["json"]["message"]
    assert get_one(cloud, second)["json"]["status"] == "accepted"  # nothing of the refused booking was written
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
    assert statuses == ["accepted", "meeting_scheduled"]


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

    assert cancelled["json"]["status"] == "accepted"
    assert cancelled["json"]["meeting"]["status"] == "cancelled"
    assert cancel(cloud, reference, {"reason": "Again"})["statusCode"] == 409
    assert book(cloud, other, meeting(MONDAY))["statusCode"] == 200
    again = book(cloud, reference, meeting(MONDAY + timedelta(days=7)))["json"]["meeting"]
    assert again["meeting_id"] != first["meeting_id"] and again["sequence"] == 0
    relay_outbox(cloud)
    types = [e["detail-type"] for e in capture.received()]
    assert "MeetingCancelled" in types and "unwell" not in str(capture)
    assert [a["action"] for a in get_one(cloud, reference)["json"]["audit"]][-3:] == [
        "meeting.scheduled",
        "meeting.cancelled",
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
