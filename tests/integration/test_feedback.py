"""The feedback function against moto: each event's emails, exactly once, retried when SES is busy."""

from __future__ import annotations

import json
from typing import Any

import pytest
from aws_lambda_powertools.utilities.batch.exceptions import BatchProcessingError
from botocore.exceptions import ClientError, ReadTimeoutError

from infra.constants import FEEDBACK
from infra.local.outbox import sent_emails
from shared.adapters import aws
from shared.domain import clock
from shared.service import feedback
from tests.integration.conftest import Cloud, invoke
from tests.integration.test_intake import relay_outbox
from tests.integration.test_proposals import sqs_batch


def received_events(cloud: Cloud, submit: Any, body: dict[str, Any]) -> tuple[str, list[dict[str, Any]]]:
    capture = cloud.capture_events()
    reference = submit(body)["json"]["reference"]
    relay_outbox(cloud)
    return reference, [e for e in capture.received() if e["detail-type"] == "ReferralReceived"]


def email_items(cloud: Cloud) -> list[dict[str, Any]]:
    return [item for item in cloud.items() if item["kind"] == "email"]


def test_a_received_referral_acknowledges_the_referrer_and_tells_the_coordinators(
    cloud: Cloud, submit: Any, referral_body: dict[str, Any]
) -> None:
    reference, [event] = received_events(cloud, submit, referral_body)

    assert invoke(FEEDBACK, cloud, sqs_batch([event])) == {"batchItemFailures": []}

    sent = {message["to"][0]: message for message in sent_emails()}
    ack = sent["sam.okafor@council.example.org"]
    assert ack["subject"] == f"Referral {reference} received"
    assert reference in ack["text"] and reference in ack["html"]
    # fixed text only: nothing a sender typed (the family's contact name included) goes back out
    assert "Jo Bloggs" not in ack["text"] and "Jo Bloggs" not in ack["html"]
    assert "will be offered a Family Network meeting" in ack["text"]  # a Locality Team address: accepted
    notice = sent["coordinators@familynet.example.org"]
    assert notice["subject"] == f"New referral {reference}"
    for message in sent.values():
        whole = json.dumps(message)
        for private in ("Alfie", "surgery", "school runs", "SW1A"):
            assert private not in whole
        assert "Jo" not in message["subject"] and "Sam" not in message["subject"]
    assert sorted(item["status"] for item in email_items(cloud)) == ["sent", "sent"]


def test_an_event_s_emails_read_the_items_they_need_not_the_whole_case(
    cloud: Cloud, submit: Any, referral_body: dict[str, Any]
) -> None:
    _, [event] = received_events(cloud, submit, referral_body)
    invoke(FEEDBACK, cloud, sqs_batch([event]))
    invoke(FEEDBACK, cloud, sqs_batch([event]))  # again, with its emails, audit and outbox in the partition
    # by key (one BatchGetItem): a Query of the partition would read, and bill, every email and entry the case has
    assert {"dynamodb:BatchGetItem"} <= cloud.permissions.actions
    assert "dynamodb:Query" not in cloud.permissions.actions
    assert len(sent_emails()) == 2


def test_a_duplicate_event_or_redelivered_batch_sends_nothing_twice(
    cloud: Cloud, submit: Any, referral_body: dict[str, Any]
) -> None:
    _, [event] = received_events(cloud, submit, referral_body)
    invoke(FEEDBACK, cloud, sqs_batch([event]))
    invoke(FEEDBACK, cloud, sqs_batch([event, event]))
    assert len(sent_emails()) == 2
    assert len(email_items(cloud)) == 2


def test_a_throttled_send_is_tried_again_within_the_invocation(
    cloud: Cloud, submit: Any, referral_body: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    _, [event] = received_events(cloud, submit, referral_body)
    client = aws.sesv2()
    real_send = client.send_email
    calls = {"n": 0}

    def throttled_once(**kwargs: Any) -> Any:  # SES answering "slow down" to the first call, as it does at 1/s
        calls["n"] += 1
        if calls["n"] == 1:
            raise ClientError({"Error": {"Code": "TooManyRequestsException", "Message": "slow down"}}, "SendEmail")
        return real_send(**kwargs)

    monkeypatch.setattr(client, "send_email", throttled_once)
    assert invoke(FEEDBACK, cloud, sqs_batch([event])) == {"batchItemFailures": []}
    assert len(sent_emails()) == 2 and calls["n"] == 3
    assert sorted(item["status"] for item in email_items(cloud)) == ["sent", "sent"]


def test_ses_busy_for_longer_than_the_invocation_leaves_the_event_for_a_retry_that_sends_once(
    cloud: Cloud, submit: Any, referral_body: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    _, [event] = received_events(cloud, submit, referral_body)
    client = aws.sesv2()
    real_send = client.send_email

    def throttled(**_: Any) -> Any:
        raise ClientError({"Error": {"Code": "TooManyRequestsException", "Message": "slow down"}}, "SendEmail")

    monkeypatch.setattr(client, "send_email", throttled)
    monkeypatch.setattr(feedback, "SEND_MARGIN_SECONDS", 29.0)  # the invocation's time runs out after a try or two
    # The whole batch failed: the function errors, so Lambda leaves every message on the queue for a retry.
    with pytest.raises(BatchProcessingError):
        invoke(FEEDBACK, cloud, sqs_batch([event]))
    assert sent_emails() == []
    assert [item["status"] for item in email_items(cloud)] == ["not_sent"]  # SES took nothing: free to send
    monkeypatch.setattr(client, "send_email", real_send)
    assert invoke(FEEDBACK, cloud, sqs_batch([event])) == {"batchItemFailures": []}
    assert len(sent_emails()) == 2
    assert sorted(item["status"] for item in email_items(cloud)) == ["sent", "sent"]


def test_a_throttled_write_after_the_send_sends_no_second_email(
    cloud: Cloud, submit: Any, referral_body: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given DynamoDB refusing the first four writes that record SES's answer (each after the SDK's own retries)
    _, [event] = received_events(cloud, submit, referral_body)
    client = aws.dynamodb()
    real_write = client.transact_write_items
    refused = {"n": 0}

    def throttled_records(**kwargs: Any) -> Any:
        [only] = kwargs["TransactItems"]
        if "Update" in only and only["Update"]["Key"]["sk"]["S"].startswith("EMAIL#") and refused["n"] < 4:
            refused["n"] += 1
            error = {"Error": {"Code": "ProvisionedThroughputExceededException", "Message": "Rate exceeded"}}
            raise ClientError(error, "TransactWriteItems")  # type: ignore[arg-type]
        return real_write(**kwargs)

    monkeypatch.setattr(client, "transact_write_items", throttled_records)
    # When the event is handled, then delivered again (a relay retry, an SQS redelivery)
    assert invoke(FEEDBACK, cloud, sqs_batch([event])) == {"batchItemFailures": []}
    assert invoke(FEEDBACK, cloud, sqs_batch([event])) == {"batchItemFailures": []}
    # Then each email went once, and its record holds SES's message id
    assert refused["n"] == 4
    assert len(sent_emails()) == 2
    items = email_items(cloud)
    assert sorted(item["status"] for item in items) == ["sent", "sent"]
    assert all(item["ses_message_id"] for item in items)


def test_a_claim_is_sent_again_only_once_the_invocation_that_held_it_has_surely_ended(
    cloud: Cloud, submit: Any, referral_body: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given an invocation whose sends went unanswered (SES may or may not have taken them)
    _, [event] = received_events(cloud, submit, referral_body)
    client = aws.sesv2()
    real_send = client.send_email

    def unanswered(**_: Any) -> Any:
        raise ReadTimeoutError(endpoint_url="https://email.eu-west-2.amazonaws.com")

    monkeypatch.setattr(client, "send_email", unanswered)
    with pytest.raises(BatchProcessingError):
        invoke(FEEDBACK, cloud, sqs_batch([event]))
    monkeypatch.setattr(client, "send_email", real_send)
    assert [item["status"] for item in email_items(cloud)] == ["sending"]
    # When the event comes again while that invocation might still be running: nothing is sent
    monkeypatch.setattr(feedback, "CLAIM_WAIT_SECONDS", 0.0)
    with pytest.raises(BatchProcessingError):
        invoke(FEEDBACK, cloud, sqs_batch([event]))
    assert sent_emails() == []
    # When it comes again after the function's timeout: sent (once each)
    clock.set_offset(feedback.CLAIM_STALE_AFTER.total_seconds() + 1)
    try:
        assert invoke(FEEDBACK, cloud, sqs_batch([event])) == {"batchItemFailures": []}
        assert invoke(FEEDBACK, cloud, sqs_batch([event])) == {"batchItemFailures": []}
    finally:
        clock.set_offset(0)
    assert len(sent_emails()) == 2
    assert sorted(item["status"] for item in email_items(cloud)) == ["sent", "sent"]


def test_a_permanent_refusal_is_marked_failed_and_not_retried(
    cloud: Cloud, submit: Any, referral_body: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    _, [event] = received_events(cloud, submit, referral_body)
    function = cloud.function(FEEDBACK)
    monkeypatch.setitem(function.environment, "EMAIL_SENDER", "noreply@unverified.example.com")
    result = invoke(FEEDBACK, cloud, sqs_batch([event]))
    assert result == {"batchItemFailures": []}
    assert sent_emails() == []
    assert sorted(item["status"] for item in email_items(cloud)) == ["failed", "failed"]


def raw_messages() -> list[Any]:
    """Every MIME message moto's SES received, parsed, in sent order."""
    import email
    import email.policy

    from moto.ses.models import ses_backends

    found = []
    for account in list(ses_backends.keys()):
        for backend in ses_backends[account].values():
            for message in backend.sent_messages:
                found.append(email.message_from_string(message.raw_data, policy=email.policy.default))
    return found


def calendar_of(message: Any) -> dict[str, str]:
    [part] = [p for p in message.iter_attachments() if p.get_content_type() == "text/calendar"]
    lines = part.get_content().replace("\r\n ", "").splitlines()
    return {line.split(":", 1)[0].split(";", 1)[0]: line.split(":", 1)[1] for line in lines if ":" in line}


def test_decisions_meetings_and_the_meeting_held_each_send_their_emails(
    cloud: Cloud, submit: Any, referral_body: dict[str, Any]
) -> None:
    from datetime import UTC, datetime, timedelta

    from icalendar import Calendar

    from tests.integration.test_coordination import act
    from tests.integration.test_meetings import WEEKLY, book, cancel, clock_at, meeting
    from tests.integration.test_outcome import outcome

    staff_availability = {"locality": "North", "email": "fac.one@council.example.org", "weekly": WEEKLY}
    from tests.integration.test_coordination import staff

    staff(
        cloud,
        "PUT /facilitators/{facilitator_id}/availability",
        "/facilitators/fac-1/availability",
        body=staff_availability,
    )
    capture = cloud.capture_events()
    past = (datetime.now(UTC) - timedelta(days=1)).replace(hour=10, minute=0, second=0, microsecond=0)
    with clock_at(past - timedelta(days=3)):  # all of it before the meeting held yesterday
        reference = submit({**referral_body, "route": "professional_request"})["json"]["reference"]
        act(cloud, reference, "accept")
        start = past + timedelta(days=5)
        assert book(cloud, reference, meeting(start))["statusCode"] == 200
        assert book(cloud, reference, meeting(start + timedelta(days=1)))["statusCode"] == 200
        assert cancel(cloud, reference, {"reason": "Unwell"})["statusCode"] == 200
        assert book(cloud, reference, meeting(past))["statusCode"] == 200
    review = (past.date() + timedelta(days=60)).isoformat()
    outcome(
        cloud, reference, {"held": True, "held_on": past.date().isoformat(), "plan": {"first_review_due_on": review}}
    )
    relay_outbox(cloud)
    events = capture.received()

    # as SQS does: what an invocation leaves for later (short of time on a busy machine) comes again, until none is
    left = sqs_batch(events)
    for _ in range(5):
        failed = {f["itemIdentifier"] for f in invoke(FEEDBACK, cloud, left)["batchItemFailures"]}
        left = {**left, "Records": [r for r in left["Records"] if r["messageId"] in failed]}
        if not failed:
            break
    assert left["Records"] == []

    subjects = [(str(m["To"]), str(m["Subject"])) for m in raw_messages()]
    referrer, facilitator = "sam.okafor@council.example.org", "fac.one@council.example.org"
    assert (referrer, f"Referral {reference} received") in subjects
    assert (referrer, f"Referral {reference} accepted") in subjects
    # a professional's request: its referrer is asked to agree the plan; the feedback follows the agreement
    assert (referrer, f"Please agree the plan for {reference}") in subjects
    assert (referrer, f"Feedback on the meeting for {reference}") not in subjects
    invitations = [m for m in raw_messages() if str(m["To"]) == facilitator]
    calendars = [calendar_of(m) for m in invitations]
    assert [(c["METHOD"], c["SEQUENCE"], c["STATUS"]) for c in calendars] == [
        ("REQUEST", "0", "CONFIRMED"),
        ("REQUEST", "1", "CONFIRMED"),
        ("CANCEL", "2", "CANCELLED"),
        ("REQUEST", "0", "CONFIRMED"),  # a new meeting after the cancellation: a new UID
    ]
    assert len({c["UID"] for c in calendars[:3]}) == 1 and calendars[3]["UID"] != calendars[0]["UID"]
    # every .ics, to either recipient, as icalendar reads it: RFC 5545's VTIMEZONE, RFC 5546's ORGANIZER and ATTENDEEs
    attached = [
        Calendar.from_ical(part.get_content())
        for m in raw_messages()
        for part in m.iter_attachments()
        if part.get_content_type() == "text/calendar"
    ]
    assert len(attached) == 8  # four changes, each to the referrer and the facilitator
    for document in attached:
        [event] = document.walk("VEVENT")
        assert document.get_missing_tzids() == set() and document.get_used_tzids() == {"Europe/London"}
        assert [z["TZID"] for z in document.walk("VTIMEZONE")] == ["Europe/London"]
        assert str(event["ORGANIZER"]).startswith("mailto:")
        assert sorted(event.get("ATTENDEE")) == [f"mailto:{facilitator}", f"mailto:{referrer}"]
        assert document["METHOD"] == ("CANCEL" if event["STATUS"] == "CANCELLED" else "REQUEST")
    whole = "".join(m.as_string() for m in raw_messages())
    for private in ("Alfie", "surgery", "school runs", "Unwell"):
        assert private not in whole
    assert all("Jo" not in subject for _, subject in subjects)


def ses_event(event_type: str, detail_type: str, reference: str, tag: str, **extra: Any) -> dict[str, Any]:
    """An SES configuration-set event as EventBridge delivers it (source aws.ses)."""
    import uuid

    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "source": "aws.ses",
        "detail-type": detail_type,
        "detail": {
            "eventType": event_type,
            "mail": {"messageId": "m-1", "tags": {"reference": [reference], "email": [tag]}},
            **extra,
        },
    }


def test_a_bounce_updates_the_email_and_tells_the_coordinators_once(
    cloud: Cloud, submit: Any, referral_body: dict[str, Any]
) -> None:
    reference, [event] = received_events(cloud, submit, referral_body)
    invoke(FEEDBACK, cloud, sqs_batch([event]))
    [ack] = [i for i in email_items(cloud) if i["template"] == "acknowledgement"]
    tag = ack["sk"].removeprefix("EMAIL#").replace("#", "--")
    bounce = ses_event("Bounce", "Email Bounced", reference, tag, bounce={"bounceType": "Permanent"})

    assert invoke(FEEDBACK, cloud, sqs_batch([bounce, bounce])) == {"batchItemFailures": []}
    late_delivery = ses_event("Delivery", "Email Delivered", reference, tag)
    invoke(FEEDBACK, cloud, sqs_batch([late_delivery]))

    [ack] = [i for i in email_items(cloud) if i["template"] == "acknowledgement"]
    assert ack["status"] == "bounced"  # a later (out of order) delivery event does not undo a bounce
    notices = [m for m in sent_emails() if m["subject"] == f"Email not delivered: {reference}"]
    assert len(notices) == 1
    assert notices[0]["to"] == ["coordinators@familynet.example.org"]
    assert "sam.okafor@council.example.org" in notices[0]["text"] and "Permanent" in notices[0]["text"]


def test_a_delivery_is_recorded(cloud: Cloud, submit: Any, referral_body: dict[str, Any]) -> None:
    reference, [event] = received_events(cloud, submit, referral_body)
    invoke(FEEDBACK, cloud, sqs_batch([event]))
    for item in email_items(cloud):
        tag = item["sk"].removeprefix("EMAIL#").replace("#", "--")
        invoke(FEEDBACK, cloud, sqs_batch([ses_event("Delivery", "Email Delivered", reference, tag)]))
    assert sorted(i["status"] for i in email_items(cloud)) == ["delivered", "delivered"]
    unknown = ses_event("Delivery", "Email Delivered", reference, "nothing--like--this")
    assert invoke(FEEDBACK, cloud, sqs_batch([unknown])) == {"batchItemFailures": []}


def test_the_coordinators_see_each_email_and_its_status(
    cloud: Cloud, submit: Any, referral_body: dict[str, Any]
) -> None:
    from tests.integration.test_coordination import get_one

    reference, [event] = received_events(cloud, submit, referral_body)
    invoke(FEEDBACK, cloud, sqs_batch([event]))
    listed = get_one(cloud, reference)["json"]["emails"]
    assert sorted((e["template"], e["recipient_kind"], e["status"]) for e in listed) == [
        ("acknowledgement", "referrer", "sent"),
        ("new_referral", "coordinators", "sent"),
    ]


def test_each_meeting_email_describes_its_own_event_when_changes_follow_each_other_at_once(
    cloud: Cloud, submit: Any, referral_body: dict[str, Any]
) -> None:
    """Issue 20, item 3: two quick moves, then a cancellation and a new booking at once, all made before the feedback
    function sends anything: each email and .ics describes the change its event names (its times, venue, UID and
    SEQUENCE), not the meeting as it stands when the email is sent."""
    from datetime import datetime, timedelta

    from icalendar import Calendar

    from shared.domain.clock import LONDON
    from tests.integration.test_coordination import staff
    from tests.integration.test_meetings import MONDAY, WEEKLY, accepted_referral, book, cancel, meeting

    facilitator = "fac.one@council.example.org"
    staff(
        cloud,
        "PUT /facilitators/{facilitator_id}/availability",
        "/facilitators/fac-1/availability",
        body={"locality": "North", "email": facilitator, "weekly": WEEKLY},
    )
    reference = accepted_referral(submit, referral_body)
    relay_outbox(cloud)
    capture = cloud.capture_events()

    def at(start: Any, room: str) -> dict[str, Any]:
        return {**meeting(start), "venue": {"type": "family_hub", "details": f"North Family Hub, {room}"}}

    changes = [
        (MONDAY, "room 1"),  # booked
        (MONDAY + timedelta(days=1, hours=3), "room 2"),  # moved
        (MONDAY + timedelta(days=2), "room 3"),  # moved again at once
    ]
    for start, room in changes:
        assert book(cloud, reference, at(start, room))["statusCode"] == 200
    assert cancel(cloud, reference, {"reason": "The family asked for another week"})["statusCode"] == 200
    rebooked = MONDAY + timedelta(days=7)
    assert book(cloud, reference, at(rebooked, "room 4"))["statusCode"] == 200
    relay_outbox(cloud)
    events = [e for e in capture.received() if e["detail-type"].startswith("Meeting")]
    assert [e["detail-type"] for e in events] == [
        "MeetingScheduled",
        "MeetingRescheduled",
        "MeetingRescheduled",
        "MeetingCancelled",
        "MeetingScheduled",
    ]

    for event in events:  # one event a batch: a slow machine could run a batch past the send margin
        assert invoke(FEEDBACK, cloud, sqs_batch([event])) == {"batchItemFailures": []}

    sent = [m for m in raw_messages() if str(m["To"]) == facilitator]
    assert len(sent) == len(events)
    rooms = ["room 1", "room 2", "room 3", "room 3", "room 4"]  # a cancellation names the meeting it cancels
    for event, message, room in zip(events, sent, rooms, strict=True):
        data = event["detail"]["data"]
        starts = datetime.fromisoformat(data["starts_at"].replace("Z", "+00:00"))
        local = starts.astimezone(LONDON)
        text = message.get_body(preferencelist=("plain",)).get_content()
        assert f"{local:%A} {local.day} {local:%B %Y} at {local:%H:%M}" in text, event["detail-type"]
        assert f"North Family Hub, {room}" in text or event["detail-type"] == "MeetingCancelled"
        [part] = [p for p in message.iter_attachments() if p.get_content_type() == "text/calendar"]
        [vevent] = Calendar.from_ical(part.get_content()).walk("VEVENT")
        assert vevent.decoded("DTSTART") == starts
        assert vevent.decoded("DTEND") == datetime.fromisoformat(data["ends_at"].replace("Z", "+00:00"))
        assert (str(vevent["UID"]), vevent.decoded("SEQUENCE")) == (f"{data['meeting_id']}@familynet", data["sequence"])
        assert f"North Family Hub, {room}" in str(vevent["LOCATION"])
    cancelled, booked_again = sent[3], sent[4]
    assert "is cancelled" in cancelled.get_body(preferencelist=("plain",)).get_content()
    assert events[3]["detail"]["data"]["meeting_id"] == events[0]["detail"]["data"]["meeting_id"]
    assert events[4]["detail"]["data"]["meeting_id"] != events[0]["detail"]["data"]["meeting_id"]  # a new UID
    moved = sent[2].get_body(preferencelist=("plain",)).get_content()
    first_move = changes[1][0].astimezone(LONDON)
    assert f"It was on {first_move:%A} {first_move.day} {first_move:%B %Y} at {first_move:%H:%M}" in moved
    assert "room 4" not in cancelled.as_string() and "room 4" in booked_again.as_string()
