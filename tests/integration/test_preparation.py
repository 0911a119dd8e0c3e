"""Preparing for the meeting through the scheduling API, against moto wired from the synthesized template: the
checklist a booking waits for, the family declining, and the child's voice kept out of every event, log and email."""

from __future__ import annotations

import json
import logging
import uuid
from typing import Any

import pytest

from infra.constants import FEEDBACK, REMINDERS, SCHEDULING
from infra.local.outbox import sent_emails
from shared.domain.referrals import today
from tests.integration.conftest import Cloud, invoke
from tests.integration.test_coordination import MANAGER, act, get_one, staff
from tests.integration.test_intake import relay_outbox
from tests.integration.test_meetings import MONDAY, availability, book, cancel, meeting
from tests.integration.test_proposals import sqs_batch

TODAY = today().isoformat()


def contact(cloud: Cloud, reference: str, note: str = "Met Jo at home; Nan will come.", **kwargs: Any) -> Any:
    body = {"method": "visit", "contacted_on": TODAY, "note": note}
    path = f"/referrals/{reference}/preparation/contacts"
    return staff(cloud, "POST /referrals/{reference}/preparation/contacts", path, body=body, **kwargs)


def decide(cloud: Cloud, reference: str, go_ahead: bool, note: str | None = None) -> Any:
    body = {"go_ahead": go_ahead, "decided_on": TODAY, **({"note": note} if note else {})}
    path = f"/referrals/{reference}/preparation/decision"
    return staff(cloud, "PUT /referrals/{reference}/preparation/decision", path, body=body)


def tick(cloud: Cloud, reference: str, *done: str) -> Any:
    path = f"/referrals/{reference}/preparation/checklist"
    return staff(cloud, "PUT /referrals/{reference}/preparation/checklist", path, body={"done": list(done)})


def voice(cloud: Cloud, reference: str, child: int, body: dict[str, Any]) -> Any:
    path = f"/referrals/{reference}/children/{child}/voice"
    return staff(cloud, "PUT /referrals/{reference}/children/{child}/voice", path, body=body)


def test_a_meeting_is_booked_only_once_the_preparation_checklist_is_met(
    cloud: Cloud, submit: Any, referral_body: dict[str, Any]
) -> None:
    availability(cloud, "fac-1")
    reference = str(submit(referral_body)["json"]["reference"])
    relay_outbox(cloud)
    capture = cloud.capture_events()

    # accepted, nothing prepared: not bookable at all (409, saying what can be done)
    early = book(cloud, reference, meeting(MONDAY), prepare=False)
    assert early["statusCode"] == 409
    assert early["json"]["allowed_actions"][:2] == ["withdraw", "record_contact"]
    # the first contact starts preparation, once
    first = contact(cloud, reference)
    assert first["statusCode"] == 200 and first["json"]["status"] == "preparing"
    assert contact(cloud, reference, headers={"if-match": f'"{first["json"]["version"]}"'})["statusCode"] == 200
    relay_outbox(cloud)
    assert [e["detail-type"] for e in capture.received()] == ["PreparationStarted"]
    # a waiting referral in preparation still gets its proposals when a facilitator's hours change
    availability(cloud, "fac-1", weekly=[{"day": "tuesday", "start": "09:00", "end": "17:00"}])
    proposals = get_one(cloud, reference)["json"]["proposals"]
    assert proposals["facilitator_id"] == "fac-1" and proposals["slots"]
    assert all("T" in s["starts_at"] for s in proposals["slots"])
    availability(cloud, "fac-1")

    # preparing, checklist not met: 422 naming each item not yet done
    refused = book(cloud, reference, meeting(MONDAY), prepare=False)
    assert refused["statusCode"] == 422
    assert [e["field"] for e in refused["json"]["errors"]] == [
        "preparation.checklist.family_agreed",
        "preparation.checklist.network_identified",
        "preparation.checklist.child_views_sought",
    ]
    assert "The family agreed to go ahead" in refused["json"]["message"]
    assert decide(cloud, reference, True)["statusCode"] == 200
    assert tick(cloud, reference, "network_identified")["statusCode"] == 200
    still = book(cloud, reference, meeting(MONDAY), prepare=False)
    assert [e["field"] for e in still["json"]["errors"]] == ["preparation.checklist.child_views_sought"]
    unknown = tick(cloud, reference, "venue_agreed")  # not on this deployment's checklist
    assert unknown["statusCode"] == 422 and "not on this service's checklist" in unknown["json"]["errors"][0]["message"]

    assert tick(cloud, reference, "network_identified", "child_views_sought")["statusCode"] == 200
    view = get_one(cloud, reference)["json"]
    assert view["preparation"]["missing"] == [] and len(view["preparation"]["contacts"]) == 2
    booked = book(cloud, reference, meeting(MONDAY), prepare=False)
    assert booked["statusCode"] == 200 and booked["json"]["status"] == "meeting_scheduled"
    # cancelled, it is preparing again with its preparation standing: booked again at once
    assert cancel(cloud, reference, {"reason": "The family asked to move it"})["json"]["status"] == "preparing"
    assert book(cloud, reference, meeting(MONDAY), prepare=False)["statusCode"] == 200


def test_the_family_declining_closes_the_referral_and_tells_the_referrer_once(
    cloud: Cloud, submit: Any, referral_body: dict[str, Any]
) -> None:
    reference = str(submit(referral_body)["json"]["reference"])
    relay_outbox(cloud)
    capture = cloud.capture_events()

    closed = decide(cloud, reference, False, note="Jo feels the family can manage alone for now")

    assert closed["statusCode"] == 200 and closed["json"]["status"] == "family_declined"
    relay_outbox(cloud)
    [event] = capture.received()
    assert event["detail-type"] == "FamilyDeclined"
    assert event["detail"]["data"] == {
        "reference": reference,
        "previous_status": "accepted",
        "status": "family_declined",
        "decided_on": TODAY,
        "declined_at": event["detail"]["data"]["declined_at"],
    }
    # the referrer is told once, however often the event comes
    assert invoke(FEEDBACK, cloud, sqs_batch([event, event])) == {"batchItemFailures": []}
    invoke(FEEDBACK, cloud, sqs_batch([event]))
    [email] = [m for m in sent_emails() if m["subject"] == f"Referral {reference} closed"]
    assert email["to"] == ["sam.okafor@council.example.org"]
    assert "decided not to go ahead" in email["text"] and "manage alone" not in json.dumps(email)
    # closed: nothing more is prepared, booked or withdrawn, and its records are kept for the retention period
    refused = contact(cloud, reference)
    assert refused["statusCode"] == 409 and refused["json"]["allowed_actions"] == []
    assert act(cloud, reference, "withdraw", {"reason": "x"})["statusCode"] == 409
    assert invoke(REMINDERS, cloud, sqs_batch([event])) == {"batchItemFailures": []}
    referral = next(i for i in cloud.items() if i["pk"] == f"REFERRAL#{reference}" and i["sk"] == "REFERRAL")
    assert referral["expires_at"] > 0


def test_the_child_s_voice_never_reaches_an_event_a_log_line_or_an_email(
    cloud: Cloud,
    submit: Any,
    referral_body: dict[str, Any],
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO)  # as the functions log (botocore's DEBUG echoes every request)
    marker = f"MARKER{uuid.uuid4().hex[:12]}"  # seeded into every free text of the preparation
    availability(cloud, "fac-1")
    referral_body["family"]["children"].append({"first_name": "Bea", "date_of_birth": "2021-02-01"})
    reference = str(submit(referral_body)["json"]["reference"])
    relay_outbox(cloud)
    capture = cloud.capture_events()

    wishes = {
        "wishes_and_feelings": f"Alfie wants Nan there and is scared of shouting {marker}",
        "participation": "advocate",
        "advocate_allocated": True,
        "advocate_name": f"Pat Advocate {marker}",
    }
    recorded = voice(cloud, reference, 1, wishes)
    assert recorded["statusCode"] == 200 and recorded["json"] == {
        "reference": reference,
        "status": "preparing",
        "version": recorded["json"]["version"],
        "child": 1,
    }
    assert (
        voice(cloud, reference, 2, {"participation": "written_or_drawn", "advocate_allocated": False})["statusCode"]
        == 200
    )
    assert voice(cloud, reference, 3, {"participation": "attends", "advocate_allocated": False})["statusCode"] == 404
    named_without = voice(
        cloud, reference, 2, {"participation": "attends", "advocate_allocated": False, "advocate_name": "Pat"}
    )
    assert named_without["statusCode"] == 422
    assert contact(cloud, reference, note=f"Called Jo {marker}")["statusCode"] == 200
    assert decide(cloud, reference, True, note=f"Jo agreed {marker}")["statusCode"] == 200
    assert tick(cloud, reference, "network_identified", "child_views_sought")["statusCode"] == 200
    assert book(cloud, reference, meeting(MONDAY), prepare=False)["statusCode"] == 200
    relay_outbox(cloud)
    events = capture.received()
    assert invoke(FEEDBACK, cloud, sqs_batch(events)) == {"batchItemFailures": []}  # the invitations

    # stored, shown to coordinators and in the subject access export...
    view = get_one(cloud, reference)["json"]
    assert marker in view["child_voices"][0]["wishes_and_feelings"]
    export = staff(cloud, "GET /referrals/{reference}/export", f"/referrals/{reference}/export", claims=MANAGER)["json"]
    assert marker in json.dumps(export["children"]) and marker in json.dumps(export["preparation"])
    # ...and nowhere else: no event (outbox items or bus), no audit entry, no log line, no email
    assert [e["detail-type"] for e in events] == ["PreparationStarted", "MeetingScheduled"]
    assert marker not in json.dumps(events)
    outbox = [i for i in cloud.items() if i["kind"] in ("outbox_event", "audit")]
    assert outbox and marker not in json.dumps(outbox, default=str)
    logs = "\n".join(json.dumps(vars(record), default=str) for record in caplog.records) + capsys.readouterr().out
    assert "Child's voice recorded" in logs and marker not in logs
    emails = sent_emails()
    assert any(m["subject"].startswith("Family Network meeting") for m in emails)
    assert marker not in json.dumps(emails, default=str)
    assert all(marker not in json.dumps(i, default=str) for i in cloud.items() if i["kind"] == "email")


def test_a_deployment_s_own_checklist_is_the_one_a_booking_waits_for(
    cloud: Cloud, submit: Any, referral_body: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    # `-c familynet:preparation_checklist=family_agreed,venue_agreed`, as the synth puts it in the environment
    monkeypatch.setitem(cloud.function(SCHEDULING).environment, "PREPARATION_CHECKLIST", "family_agreed,venue_agreed")
    availability(cloud, "fac-1")
    reference = str(submit(referral_body)["json"]["reference"])
    assert decide(cloud, reference, True)["json"]["status"] == "preparing"

    refused = book(cloud, reference, meeting(MONDAY), prepare=False)

    assert [e["field"] for e in refused["json"]["errors"]] == ["preparation.checklist.venue_agreed"]
    assert tick(cloud, reference, "network_identified")["statusCode"] == 422  # not on this deployment's list
    assert tick(cloud, reference, "venue_agreed")["statusCode"] == 200
    assert book(cloud, reference, meeting(MONDAY), prepare=False)["statusCode"] == 200
