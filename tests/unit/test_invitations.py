"""Calendar invitations as RFC 5545 and RFC 5546 ask, read back with icalendar's own parser: a VTIMEZONE for every
TZID used, the ORGANIZER, an ATTENDEE per recipient, METHOD REQUEST or CANCEL, a stable UID and its SEQUENCE."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from icalendar import Calendar

from shared.domain.clock import LONDON
from shared.domain.emails import Attachment, calendar

SENDER = "Family Network <noreply@familynet.example.org>"
RECIPIENTS = ["sam.okafor@council.example.org", "fac.one@council.example.org"]


def invitation(*, starts_at: datetime, sequence: int = 0, cancelled: bool = False) -> Attachment:
    return calendar(
        uid="M1@familynet",
        sequence=sequence,
        starts_at=starts_at,
        ends_at=starts_at + timedelta(hours=2),
        summary="Family Network meeting FN-7KQ2MX4P",
        location="At a Family Hub",
        organizer=SENDER,
        attendees=RECIPIENTS,
        cancelled=cancelled,
        stamp=datetime(2027, 3, 1, 9, tzinfo=UTC),
    )


def parsed(attachment: Attachment) -> Calendar:
    return Calendar.from_ical(attachment.data)


def test_every_tzid_used_has_its_vtimezone_from_the_tz_database() -> None:
    # 26 March 2028, 10:00 in England: the morning summer time starts (01:00 GMT became 02:00 BST)
    document = parsed(invitation(starts_at=datetime(2028, 3, 26, 10, 0, tzinfo=LONDON)))

    [event] = document.walk("VEVENT")
    assert event["DTSTART"].params["TZID"] == "Europe/London"
    assert document.get_used_tzids() == {"Europe/London"}
    assert document.get_missing_tzids() == set()  # RFC 5545 section 3.2.19
    [zone] = document.walk("VTIMEZONE")
    assert zone["TZID"] == "Europe/London"
    changes = {(str(part["TZNAME"]), str(part.decoded("DTSTART"))[:10]) for part in zone.subcomponents}
    assert ("BST", "2028-03-26") in changes  # the tz database's own rule for that year
    assert event.decoded("DTSTART").utcoffset() == timedelta(hours=1)  # read back through the VTIMEZONE: BST


def test_a_request_names_its_organizer_and_an_attendee_per_recipient() -> None:
    document = parsed(invitation(starts_at=datetime(2027, 12, 6, 10, 0, tzinfo=LONDON), sequence=1))

    assert document["METHOD"] == "REQUEST"
    [event] = document.walk("VEVENT")
    assert event["ORGANIZER"] == "mailto:noreply@familynet.example.org"
    assert event["ORGANIZER"].params["CN"] == "Family Network"
    attendees = event.get("ATTENDEE")
    assert sorted(attendees) == sorted(f"mailto:{r}" for r in RECIPIENTS)  # RFC 5546 section 3.2.2
    assert {a.params["ROLE"] for a in attendees} == {"REQ-PARTICIPANT"}
    assert (event["UID"], event["SEQUENCE"], event["STATUS"]) == ("M1@familynet", 1, "CONFIRMED")
    assert event.decoded("DTSTART") == datetime(2027, 12, 6, 10, 0, tzinfo=LONDON)
    assert event.decoded("DTEND") - event.decoded("DTSTART") == timedelta(hours=2)
    assert "DTSTAMP" in event and "SUMMARY" in event


def test_a_cancellation_keeps_the_uid_names_everyone_and_raises_the_sequence() -> None:
    document = parsed(invitation(starts_at=datetime(2027, 12, 6, 10, 0, tzinfo=LONDON), sequence=2, cancelled=True))

    assert document["METHOD"] == "CANCEL"
    [event] = document.walk("VEVENT")
    assert (event["UID"], event["SEQUENCE"], event["STATUS"]) == ("M1@familynet", 2, "CANCELLED")
    assert sorted(event.get("ATTENDEE")) == sorted(f"mailto:{r}" for r in RECIPIENTS)  # RFC 5546 section 3.2.5
    assert event["ORGANIZER"] == "mailto:noreply@familynet.example.org"
    assert document.walk("VTIMEZONE")


def test_the_same_recipient_twice_is_one_attendee() -> None:
    attachment = calendar(
        uid="M2@familynet",
        sequence=0,
        starts_at=datetime(2027, 12, 6, 10, 0, tzinfo=LONDON),
        ends_at=datetime(2027, 12, 6, 12, 0, tzinfo=LONDON),
        summary="Family Network meeting FN-7KQ2MX4P",
        location="",
        organizer="noreply@familynet.example.org",
        attendees=["Sam@Council.example.org", "sam@council.example.org "],
        cancelled=False,
        stamp=datetime(2027, 12, 1, tzinfo=UTC),
    )
    [event] = parsed(attachment).walk("VEVENT")
    assert event["ATTENDEE"] == "mailto:sam@council.example.org"
    assert "CN" not in event["ORGANIZER"].params
