"""The local outbox shows an invitation's times as England reads them and lets a newcomer download its .ics."""

from __future__ import annotations

import sys
import threading
import time
from datetime import UTC, datetime
from types import SimpleNamespace

import boto3
from icalendar import Calendar
from moto import mock_aws
from moto.ses.models import ses_backends

from infra.local.outbox import SentLog, attachment, outbox_page, sent_emails
from shared.domain.emails import Email, calendar, mime


def test_an_invitation_is_readable_and_downloadable() -> None:
    invitation = calendar(
        uid="M1@familynet",
        sequence=2,
        starts_at=datetime(2027, 7, 6, 9, 0, tzinfo=UTC),  # 10:00 in England (summer time)
        ends_at=datetime(2027, 7, 6, 11, 0, tzinfo=UTC),
        summary="Family Network meeting FN-7KQ2MX4P",
        location="Family hub",
        organizer="Family Network <noreply@familynet.example.org>",
        attendees=["sam@council.example.org"],
        cancelled=False,
        stamp=datetime(2027, 7, 1, tzinfo=UTC),
    )
    email = Email("invitation", "sam@council.example.org", "Invitation", "Text", "<p>Html</p>", (invitation,))
    message = mime(email, "Family Network <noreply@familynet.example.org>")
    with mock_aws():
        ses = boto3.client("sesv2", region_name="eu-west-2")
        ses.create_email_identity(EmailIdentity="familynet.example.org")
        ses.send_email(
            FromEmailAddress="noreply@familynet.example.org",
            Destination={"ToAddresses": ["sam@council.example.org"]},
            Content={"Raw": {"Data": message.as_bytes()}},
        )
        [sent] = [m for m in sent_emails() if m["subject"] == "Invitation"]
        [described] = sent["attachments"]
        assert described["calendar"] == {
            "method": "REQUEST",
            "uid": "M1@familynet",
            "sequence": 2,
            "summary": "Family Network meeting FN-7KQ2MX4P",
            "starts": "Tuesday 06 July 2027, 10:00 (Europe/London)",
            "ends": "Tuesday 06 July 2027, 12:00 (Europe/London)",
            "location": "Family hub",
            "status": "CONFIRMED",
        }
        assert "10:00 (Europe/London)" in outbox_page([sent])
        message_id, index = described["download"].split("/")[-3], int(described["download"].split("/")[-1])
        found = attachment(message_id, index)
        assert found is not None
        data, content_type, filename = found
        assert (content_type, filename) == ("text/calendar", "invitation.ics")
        assert Calendar.from_ical(data).walk("VEVENT")[0]["UID"] == "M1@familynet"
        assert attachment(message_id, 5) is None and attachment("no-such-message", 0) is None


def test_paging_never_skips_an_email_while_the_log_is_trimmed() -> None:
    """The load bench reads `?after=` pages while moto's request threads append and the log trims its oldest: a page
    read during a trim once skipped the emails the trim shifted under it (a referral seen without its emails)."""
    limit, emails = 200, 20000
    log = SentLog(limit)
    cursor = 0
    gaps: list[tuple[int, int]] = []

    def send() -> None:
        for number in range(emails):
            while log.total - cursor > limit // 2:  # never so far ahead that a trim drops an unread email
                time.sleep(0)
            log.append(SimpleNamespace(id=str(number), subject="s", body="b", destinations=[]))

    switching = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # threads switch as often as they can: the race shows within the run
    try:
        with mock_aws():
            ses_backends["123456789012"]["eu-west-2"].sent_messages = log  # mock_aws's account
            sender = threading.Thread(target=send)
            sender.start()
            deadline = time.monotonic() + 120
            while (sender.is_alive() or cursor < emails) and time.monotonic() < deadline:
                for email in sent_emails(after=cursor):
                    if email["sequence"] != cursor + 1:
                        gaps.append((cursor, email["sequence"]))
                    cursor = email["sequence"]
            sender.join()
    finally:
        sys.setswitchinterval(switching)
    assert cursor == emails
    assert gaps == []
