"""The referrer's feedback on the meeting (issue 21, item 4): sent once, when the plan is agreed (or when the meeting
made no plan, or did not take place, saying so), never before; it says when the meeting was, who took part by role
and number, whether a plan was agreed, the next review and what the referrer is asked to do, and carries the
referrer's own link to the plan's page: never a name, nor the plan's text."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from infra.constants import FEEDBACK
from infra.local.outbox import sent_emails
from tests.integration.conftest import Cloud, invoke
from tests.integration.test_agreement import REFERRER, deliver, emails_since
from tests.integration.test_meetings import availability, book, clock_at, meeting
from tests.integration.test_outcome import BOOKED, YESTERDAY, agree, held, outcome
from tests.integration.test_participants import add, person
from tests.integration.test_plan_links import PLAN, PLAN_TEXT, open_plan, token_of
from tests.integration.test_proposals import sqs_batch

PEOPLE = ("Aunt Bea", "Uncle Dev", "Mr X", "Dr Patel")  # the participants' names: in no email of the referrer's
PRIVATE = (*PEOPLE, *PLAN_TEXT, "Jo Bloggs", "Alfie", "surgery", "Risk to the family")


def _day(value: Any) -> str:
    return f"{value.day} {value:%B %Y}"


def _with_participants(cloud: Cloud, submit: Any, referral_body: dict[str, Any]) -> str:
    """A lead practitioner's referral, its meeting (yesterday, facilitator fac-1) booked with four participants: a
    family member, a network member, a professional, and one excluded."""
    availability(cloud, "fac-1")
    with clock_at(BOOKED):
        reference = str(submit(referral_body)["json"]["reference"])
        assert book(cloud, reference, meeting(YESTERDAY))["statusCode"] == 200
    for body in (
        person("Aunt Bea", "bea@example.org", role="family_member"),
        person("Uncle Dev", None, contact_preference="phone", phone="07700 900123"),
        person("Dr Patel", "patel@surgery.example.org", role="professional", attendance="confirmed"),
        person("Mr X", "x@example.org", attendance="excluded", attendance_reason="Risk to the family"),
    ):
        assert add(cloud, reference, body)["statusCode"] < 300, body
    return reference


def _feedback_to_referrer(emails: list[dict[str, Any]], reference: str) -> list[dict[str, Any]]:
    return [m for m in emails if m["to"] == [REFERRER] and m["subject"] == f"Feedback on the meeting for {reference}"]


def _announced(cloud: Cloud, reference: str) -> list[dict[str, Any]]:
    """FeedbackSent, as the outbox holds it for the managers' figures."""
    return [
        json.loads(i["detail"])["data"]
        for i in cloud.items()
        if i.get("kind") == "outbox_event" and i.get("detail_type") == "FeedbackSent" and reference in i["pk"]
    ]


def test_the_feedback_waits_for_the_agreement_then_says_what_the_referrer_needs_once_and_carries_their_link(
    cloud: Cloud, submit: Any, referral_body: dict[str, Any]
) -> None:
    reference = _with_participants(cloud, submit, referral_body)
    review_on = YESTERDAY.date() + timedelta(days=60)
    capture = cloud.capture_events()
    # When the meeting is held and makes a plan: the plan waits for agreement, and so does the feedback
    assert outcome(cloud, reference, held({**PLAN, "first_review_due_on": review_on.isoformat()}))["statusCode"] == 200
    before = len(sent_emails())
    deliver(cloud, capture)
    assert _feedback_to_referrer(emails_since(before), reference) == []
    assert _announced(cloud, reference) == []

    # When the coordinator records the lead practitioner's agreement
    capture = cloud.capture_events()
    assert agree(cloud, reference)["statusCode"] == 200
    before = len(sent_emails())
    events = deliver(cloud, capture)
    emails = emails_since(before)

    # Then the referrer gets one email: the feedback, carrying their link (no separate plan email to them)
    [feedback] = [m for m in emails if m["to"] == [REFERRER]]
    assert feedback["subject"] == f"Feedback on the meeting for {reference}"
    text = feedback["text"]
    assert f"took place on {_day(YESTERDAY)}" in text
    # who took part by role and number: the excluded participant is not counted; the booked facilitator is
    assert "Who took part, by role: 1 family member, 1 member of the family's network, 1 professional and the " in text
    assert "facilitator." in text
    assert "A plan was agreed" in text and "the coordinator recorded your agreement to it" in text
    assert "1 action for the family's network and a support package of 1 item" in text
    assert f"The first review of the plan is due on {_day(review_on)}" in text
    assert "What we ask of you" in text and "coordinators@" in text
    for words in PRIVATE:
        assert words not in json.dumps(feedback), words
    # its link opens the plan's page (where the plan's text is), in the read audit as the lead practitioner's
    page = open_plan(cloud, token_of(feedback))
    assert page["statusCode"] == 200 and all(words in page["body"] for words in PLAN_TEXT)
    # the copy kept for subject access has no link
    [kept] = [i for i in cloud.items() if i.get("kind") == "email" and i.get("template") == "feedback"]
    assert "/plans/" not in kept["text"] and "[the link to the plan: not kept]" in kept["text"]
    # the others the plan is for get their plan email; the referrer's link id is in PlanShared all the same
    assert {m["to"][0] for m in emails if m["subject"] == f"The family's plan: {reference}"} == {
        "bea@example.org",
        "patel@surgery.example.org",
    }
    [announced] = _announced(cloud, reference)
    assert announced["held_on"] == YESTERDAY.date().isoformat()

    # A duplicate PlanAgreed (and every other event again, as a redelivery would bring them) sends nothing more
    before = len(sent_emails())
    assert invoke(FEEDBACK, cloud, sqs_batch([*events, *events])) == {"batchItemFailures": []}
    assert emails_since(before) == []
    assert len(_announced(cloud, reference)) == 1


def test_a_meeting_not_held_then_one_held_without_a_plan_each_tell_the_referrer_once_saying_so(
    cloud: Cloud, submit: Any, referral_body: dict[str, Any]
) -> None:
    reference = _with_participants(cloud, submit, referral_body)
    deliver(cloud, cloud.capture_events())  # the acknowledgement and invitations, out of the way
    # When the booked meeting is recorded as not held: the referrer is told, once, with no reason and no FeedbackSent
    capture = cloud.capture_events()
    not_held = outcome(cloud, reference, {"held": False, "reason": "The family did not come."})
    assert not_held["json"]["status"] == "preparing"
    before = len(sent_emails())
    events = deliver(cloud, capture)
    kinds = [e["detail-type"] for e in events]
    assert kinds.count("MeetingNotHeld") == 1 and "MeetingHeld" not in kinds
    [notice] = [m for m in emails_since(before) if m["to"] == [REFERRER]]
    assert notice["subject"] == f"Meeting not held: {reference}"
    assert f"booked for {YESTERDAY:%A} {_day(YESTERDAY)} at" in notice["text"]
    assert "did not take place, so no plan was made" in notice["text"] and "another meeting" in notice["text"]
    for words in (*PRIVATE, "did not come"):
        assert words not in json.dumps(notice), words
    assert _announced(cloud, reference) == []  # the meeting-to-feedback figure is about meetings held
    assert invoke(FEEDBACK, cloud, sqs_batch(events)) == {"batchItemFailures": []}
    assert [m for m in emails_since(before) if m["to"] == [REFERRER]] == [notice]

    # When another meeting is booked and held without a plan: its feedback says so, once
    with clock_at(BOOKED):
        assert book(cloud, reference, meeting(YESTERDAY + timedelta(hours=3)))["statusCode"] == 200
    capture = cloud.capture_events()
    assert outcome(cloud, reference, held(None))["json"]["status"] == "meeting_held"
    before = len(sent_emails())
    events = deliver(cloud, capture)

    [feedback] = _feedback_to_referrer(emails_since(before), reference)
    text = feedback["text"]
    assert f"took place on {_day(YESTERDAY)}" in text
    assert "1 family member, 1 member of the family's network, 1 professional and the facilitator" in text
    assert "No plan was made at the meeting" in text and "A plan was agreed" not in text
    assert "/plans/" not in text and "review of the plan is due" not in text
    for words in PRIVATE:
        assert words not in json.dumps(feedback), words
    assert len(_announced(cloud, reference)) == 1

    # the same events again send nothing; a meeting without a plan has nothing to agree, so no second feedback
    before = len(sent_emails())
    assert invoke(FEEDBACK, cloud, sqs_batch(events)) == {"batchItemFailures": []}
    assert emails_since(before) == []
    assert agree(cloud, reference)["statusCode"] == 409
    assert len(_announced(cloud, reference)) == 1
