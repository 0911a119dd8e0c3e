"""A meeting's participants through the scheduling and feedback handlers (issue 20, item 6): each participant who can
be emailed receives the invitation and its changes, with a calendar file naming them alone; an excluded one gets
nothing; the others are on the coordinator's list to contact; an interpreter asked for is a task until one is added."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

from icalendar import Calendar

from infra.constants import FEEDBACK
from shared.adapters.dynamodb import ReferralReader
from shared.config import get_settings
from shared.domain.actors import Actor
from shared.domain.meetings import MeetingRequest
from shared.domain.workflow import IllegalTransition
from shared.service import meetings
from tests.integration.conftest import Cloud, invoke
from tests.integration.test_coordination import MANAGER, act, staff
from tests.integration.test_feedback import raw_messages
from tests.integration.test_intake import relay_outbox
from tests.integration.test_meetings import MONDAY, WEEKLY, accepted_referral, book, cancel, meeting, prepared
from tests.integration.test_proposals import sqs_batch

FACILITATOR = "fac.one@council.example.org"
REFERRER = "sam.okafor@council.example.org"
REASON = "Marker-7f3a: a safety concern the coordinator recorded"


def person(name: str, email: str | None, **overrides: Any) -> dict[str, Any]:
    body = {
        "name": name,
        "role": "network_member",
        "contact_preference": "email",
        "consent_to_contact": True,
        **({"email": email} if email else {}),
    }
    return {**body, **overrides}


def add(cloud: Cloud, reference: str, body: dict[str, Any]) -> dict[str, Any]:
    path = f"/referrals/{reference}/participants"
    return staff(cloud, "POST /referrals/{reference}/participants", path, body=body)


def change(cloud: Cloud, reference: str, participant: dict[str, Any], body: dict[str, Any]) -> dict[str, Any]:
    path = f"/referrals/{reference}/participants/{participant['participant_id']}"
    return staff(
        cloud,
        "PUT /referrals/{reference}/participants/{participant_id}",
        path,
        body=body,
        headers={"if-match": f'"{participant["version"]}"'},
    )


def listed(cloud: Cloud, reference: str) -> dict[str, Any]:
    answer = staff(cloud, "GET /referrals/{reference}/participants", f"/referrals/{reference}/participants")
    assert answer["statusCode"] == 200, answer["body"]
    return dict(answer["json"])


def with_facilitator(cloud: Cloud) -> None:
    staff(
        cloud,
        "PUT /facilitators/{facilitator_id}/availability",
        "/facilitators/fac-1/availability",
        body={"locality": "North", "email": FACILITATOR, "weekly": WEEKLY},
    )


def calendars_to(address: str) -> list[Any]:
    """Each message to `address`, in sent order, with its .ics as icalendar reads it."""
    found = []
    for message in raw_messages():
        if str(message["To"]) == address:
            [part] = [p for p in message.iter_attachments() if p.get_content_type() == "text/calendar"]
            found.append(Calendar.from_ical(part.get_content()))
    return found


def test_three_participants_with_emails_each_receive_the_invitation_and_its_changes_an_excluded_one_nothing(
    cloud: Cloud, submit: Any, referral_body: dict[str, Any]
) -> None:
    with_facilitator(cloud)
    reference = prepared(cloud, accepted_referral(submit, referral_body))  # ready to book (PreparationStarted)
    emailed = ["gran.bloggs@example.org", "uncle.ray@example.org", "ms.hart@school.example.org"]
    added = [
        add(cloud, reference, person("Gran Bloggs", emailed[0], role="family_member")),
        add(cloud, reference, person("Uncle Ray", emailed[1])),
        add(cloud, reference, person("Ms Hart", emailed[2], role="professional")),
        add(
            cloud,
            reference,
            person("Lee Bloggs", "lee.bloggs@example.org", attendance="excluded", attendance_reason=REASON),
        ),
        add(cloud, reference, person("Aunt Pat", None, contact_preference="phone", phone="01632 960 001")),
    ]
    assert [a["statusCode"] for a in added] == [201] * 5, [a["json"] for a in added]
    ids = [a["json"]["participant_id"] for a in added]
    people = listed(cloud, reference)
    assert [p["emailed"] for p in people["items"]] == [True, True, True, False, False]
    assert [(c["name"], c["why"]) for c in people["to_contact"]] == [
        ("Aunt Pat", "Prefers a phone call: call with the invitation")
    ]
    relay_outbox(cloud)
    capture = cloud.capture_events()

    # When the meeting is booked, then moved; then a participant is added to it, one excluded, and it is cancelled
    assert book(cloud, reference, meeting(MONDAY))["statusCode"] == 200
    assert book(cloud, reference, meeting(MONDAY + timedelta(days=1)))["statusCode"] == 200
    late = add(cloud, reference, person("Cousin Mo", "cousin.mo@example.org"))
    assert late["statusCode"] == 201
    uncle = listed(cloud, reference)["items"][1]
    excluded = change(
        cloud,
        reference,
        uncle,
        {**person("Uncle Ray", emailed[1]), "attendance": "excluded", "attendance_reason": REASON},
    )
    assert excluded["statusCode"] == 200 and excluded["json"]["emailed"] is False
    assert cancel(cloud, reference, {"reason": "Unwell"})["statusCode"] == 200
    relay_outbox(cloud)
    events = capture.received()
    assert [e["detail-type"] for e in events] == [
        "MeetingScheduled",
        "MeetingRescheduled",
        "ParticipantInvited",
        "MeetingCancelled",
    ]
    assert [e["detail"]["data"]["participant_ids"] for e in events] == [
        ids[:3],
        ids[:3],
        [late["json"]["participant_id"]],
        [ids[0], ids[2], late["json"]["participant_id"]],
    ]
    for event in events:  # one event a batch: a slow machine could run a batch past the send margin
        assert invoke(FEEDBACK, cloud, sqs_batch([event])) == {"batchItemFailures": []}

    # Then each of the three got the invitation and the move, each .ics naming them alone; the one added later got
    # the invitation as the meeting then stood; those excluded got nothing; the one to phone, nothing
    uid = f"{events[0]['detail']['data']['meeting_id']}@familynet"
    expected = {
        emailed[0]: [("REQUEST", 0), ("REQUEST", 1), ("CANCEL", 2)],
        emailed[1]: [],  # excluded before these emails went out: an excluded participant is sent nothing at all
        emailed[2]: [("REQUEST", 0), ("REQUEST", 1), ("CANCEL", 2)],
        "cousin.mo@example.org": [("REQUEST", 1), ("CANCEL", 2)],
        "lee.bloggs@example.org": [],
    }
    for address, wanted in expected.items():
        documents = calendars_to(address)
        assert [(str(d["METHOD"]), d.walk("VEVENT")[0].decoded("SEQUENCE")) for d in documents] == wanted, address
        for document in documents:
            [vevent] = document.walk("VEVENT")
            assert str(vevent["UID"]) == uid
            assert str(vevent["ATTENDEE"]) == f"mailto:{address}"  # one ATTENDEE: them alone
            assert document.get_missing_tzids() == set() and str(vevent["ORGANIZER"]).startswith("mailto:")
    invited_late = calendars_to("cousin.mo@example.org")[0].walk("VEVENT")[0]
    moved_to = datetime.fromisoformat(events[1]["detail"]["data"]["starts_at"].replace("Z", "+00:00"))
    assert invited_late.decoded("DTSTART") == moved_to  # the meeting as it stood when they were added
    for professional in (REFERRER, FACILITATOR):  # the professionals' copies name the professionals only
        for document in calendars_to(professional):
            attendees = sorted(str(a) for a in document.walk("VEVENT")[0].get("ATTENDEE"))
            assert attendees == sorted([f"mailto:{FACILITATOR}", f"mailto:{REFERRER}"])
    assert len(calendars_to(REFERRER)) == 3  # the late invitation went to the participant only

    # And nothing personal about a participant is in an event, an audit entry or an email's subject
    audit = [i for i in cloud.items() if i["kind"] == "audit" and str(i["action"]).startswith("participant.")]
    assert len(audit) == 7
    scanned = json.dumps(events) + json.dumps(audit, default=str) + "".join(str(m["Subject"]) for m in raw_messages())
    for private in ("Bloggs", "Ray", "Hart", "Pat", "Mo", "example.org", "01632", "Marker-7f3a"):
        assert private not in scanned, private
    assert all("Marker-7f3a" not in m.as_string() for m in raw_messages())


def test_an_interpreter_the_referral_asked_for_is_a_task_until_an_interpreter_takes_part(
    cloud: Cloud, submit: Any, referral_body: dict[str, Any]
) -> None:
    referral_body["meeting_preferences"] = {"interpreter_language": "Polish"}
    reference = accepted_referral(submit, referral_body)
    assert listed(cloud, reference)["tasks"] == [
        {"task": "interpreter", "text": "Arrange an interpreter (Polish) and add them as a participant"}
    ]
    interpreter = add(cloud, reference, person("Ana Nowak", "ana@interpreters.example.org", role="interpreter"))
    assert interpreter["statusCode"] == 201
    assert listed(cloud, reference)["tasks"] == []
    declined = change(
        cloud,
        reference,
        interpreter["json"],
        {
            **person("Ana Nowak", None, contact_preference="post", address="1 High Street"),
            "role": "interpreter",
            "attendance": "declined",
        },
    )
    assert declined["statusCode"] == 200
    assert [t["task"] for t in listed(cloud, reference)["tasks"]] == ["interpreter"]  # one who declined does not


def test_a_participant_is_refused_what_it_lacks_and_a_stale_or_closed_change(
    cloud: Cloud, submit: Any, referral_body: dict[str, Any]
) -> None:
    reference = accepted_referral(submit, referral_body)
    no_email = add(cloud, reference, person("Gran Bloggs", None))
    assert no_email["statusCode"] == 422
    assert no_email["json"]["errors"] == [
        {"field": "email", "message": "Enter their email address, or choose another way to contact them"}
    ]
    no_reason = add(cloud, reference, person("Lee Bloggs", "lee@example.org", attendance="excluded"))
    assert no_reason["json"]["errors"] == [
        {"field": "attendance_reason", "message": "Enter why they are excluded from the meeting"}
    ]
    first = add(cloud, reference, person("Gran Bloggs", "gran@example.org"))["json"]
    assert change(cloud, reference, first, person("Gran Bloggs", "gran.b@example.org"))["statusCode"] == 200
    stale = change(cloud, reference, first, person("Gran Bloggs", "other@example.org"))  # version 1, now 2
    assert stale["statusCode"] == 409
    missing = change(cloud, reference, {"participant_id": "pt-0000000000", "version": 1}, person("X", "x@example.org"))
    assert missing["statusCode"] == 404
    assert act(cloud, reference, "withdraw", {"reason": "The family moved away"})["statusCode"] == 200
    closed = add(cloud, reference, person("Late Comer", "late@example.org"))
    assert closed["statusCode"] == 409 and closed["json"]["current_status"] == "withdrawn"
    assert [p["email"] for p in listed(cloud, reference)["items"]] == ["gran.b@example.org"]


def test_a_meeting_change_made_from_a_read_before_a_participant_was_added_is_refused(
    cloud: Cloud, submit: Any, referral_body: dict[str, Any]
) -> None:
    """The roster: a booking names whom it is emailed to, so a participant added between its read and its write
    makes it stale (409), never a booking that leaves the new participant uninvited."""
    with_facilitator(cloud)
    reference = prepared(cloud, accepted_referral(submit, referral_body))  # ready to book
    real = ReferralReader(get_settings().table_name)
    read_before = real.partition(reference)
    assert add(cloud, reference, person("Gran Bloggs", "gran@example.org"))["statusCode"] == 201

    class ReadBefore(ReferralReader):
        def partition(self, ref: str) -> list[dict[str, Any]]:
            return read_before if ref == reference else super().partition(ref)

    cloud.use_environment_of("scheduling")
    settings = get_settings()
    try:
        meetings.book_or_move(
            reference,
            MeetingRequest.model_validate(meeting(MONDAY)),
            actor=Actor("c0ffee00-0000-4000-8000-000000000001"),
            expected_version=None,
            reader=ReadBefore(settings.table_name),
            settings=settings,
            correlation_id="test",
        )
    except IllegalTransition as refused:
        assert refused.stale
    else:
        raise AssertionError("a booking from a read before the participant was added must be refused")
    assert book(cloud, reference, meeting(MONDAY))["statusCode"] == 200  # read again: it books, and invites her


def test_export_and_erasure_cover_the_participants(cloud: Cloud, submit: Any, referral_body: dict[str, Any]) -> None:
    reference = accepted_referral(submit, referral_body)
    add(cloud, reference, person("Gran Bloggs", "gran@example.org", attendance="excluded", attendance_reason=REASON))
    path = f"/referrals/{reference}/export"
    exported = staff(cloud, "GET /referrals/{reference}/export", path, claims=MANAGER)["json"]
    assert [(p["name"], p["attendance_reason"]) for p in exported["participants"]] == [("Gran Bloggs", REASON)]
    assert act(cloud, reference, "withdraw", {"reason": "The family withdrew consent"})["statusCode"] == 200
    erased = staff(
        cloud,
        "POST /referrals/{reference}/erase",
        f"/referrals/{reference}/erase",
        body={"ground": "consent_withdrawn"},
        claims=MANAGER,
    )
    assert erased["statusCode"] == 200, erased["body"]
    [participant] = [i for i in cloud.items() if i["kind"] == "participant"]
    assert participant["participant_id"].startswith("pt-") and participant["erased"] is True
    kept = json.dumps(participant, default=str)
    assert "Gran" not in kept and "gran@" not in kept and "Marker-7f3a" not in kept
    assert listed(cloud, reference)["items"] == []
