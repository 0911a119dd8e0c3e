"""The family's view of the meeting (issue 21, item 5): once a meeting is held, the family's contact and each family
member who took part with an email and consent are emailed their own signed link (the reference and dates only);
each evaluation is recorded once; the answers stay in the referral's partition (never in an event, a log or an
email) and their closed answers are counted in the managers' figures; export and erasure cover them; a tampered,
expired or foreign link shows nothing."""

from __future__ import annotations

import json
import logging
import re
import uuid
from datetime import timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from infra.constants import CONNECTIONS, REPORTS
from infra.local.outbox import sent_emails
from shared.adapters.dynamodb import ReferralReader
from shared.domain import clock
from shared.domain.clock import LONDON
from shared.service import reports
from tests.integration.conftest import Cloud, invoke, link_event
from tests.integration.test_agreement import deliver, emails_since
from tests.integration.test_coordination import MANAGER, act, get_one, staff
from tests.integration.test_erasure import erase
from tests.integration.test_meetings import availability, book, clock_at, meeting, prepared
from tests.integration.test_outcome import BOOKED, YESTERDAY, held, outcome
from tests.integration.test_participants import REASON, add, person
from tests.integration.test_proposals import sqs_batch

LINK = re.compile(r"https?://\S+/evaluations/(\S+)")
FAMILY = "jo.family@example.org"
GRAN = "gran.bloggs@example.org"
ANSWERS = {"family_led": "yes", "felt_heard": "partly", "recommend": "yes"}
PRIVATE = ("Jo Bloggs", "Alfie", "Gran Bloggs", "Sam Okafor")  # names no evaluation email or page may carry


def open_page(cloud: Cloud, token: str) -> dict[str, Any]:
    return invoke(CONNECTIONS, cloud, link_event(token, "evaluations"))  # type: ignore[no-any-return]


def send(cloud: Cloud, token: str, form: dict[str, str]) -> dict[str, Any]:
    return invoke(CONNECTIONS, cloud, link_event(token, "evaluations", "POST", form))  # type: ignore[no-any-return]


def token_to(emails: list[dict[str, Any]], address: str) -> str:
    [message] = [m for m in emails if m["to"] == [address] and m["subject"].startswith("How did your")]
    match = LINK.search(message["text"])
    assert match, message["text"]
    return match.group(1)


@pytest.fixture
def asked(cloud: Cloud, submit: Any, referral_body: dict[str, Any]) -> tuple[str, dict[str, str], list[Any]]:
    """A meeting held yesterday with the family's contact (an email in the referral) and five participants; the
    emails its MeetingHeld sent: the reference, each family respondent's token by address, and the events."""
    family = {**referral_body["family"], "contact_email": FAMILY}
    availability(cloud, "fac-1")
    with clock_at(BOOKED):
        reference = str(submit({**referral_body, "family": family})["json"]["reference"])
        prepared(cloud, reference)
        people = [
            person("Gran Bloggs", GRAN, role="family_member"),  # asked
            person("Jo again", FAMILY.upper(), role="family_member"),  # the contact's address: asked once
            person(
                "Lee Bloggs", "lee@example.org", role="family_member", attendance="excluded", attendance_reason=REASON
            ),
            person("Kim Bloggs", "kim@example.org", role="family_member", consent_to_contact=False),
            person("Uncle Ray", "ray@example.org"),  # the network, not the family: not asked
        ]
        assert [add(cloud, reference, p)["statusCode"] for p in people] == [201] * 5
        assert book(cloud, reference, meeting(YESTERDAY), prepare=False)["statusCode"] == 200
    capture = cloud.capture_events()
    assert outcome(cloud, reference, held(None))["statusCode"] == 200
    before = len(sent_emails())
    events = deliver(cloud, capture)
    emails = emails_since(before)
    evaluation_emails = [m for m in emails if m["subject"] == f"How did your Family Network meeting go? {reference}"]
    assert sorted(m["to"][0] for m in evaluation_emails) == sorted([FAMILY, GRAN])
    held_on = f"{YESTERDAY.astimezone(LONDON).day} {YESTERDAY.astimezone(LONDON):%B %Y}"
    for message in evaluation_emails:  # the reference and dates only
        assert reference in message["text"] and held_on in message["text"]
        for name in PRIVATE:
            assert name not in message["text"] + message["html"] + message["subject"]
    return reference, {address: token_to(emails, address) for address in (FAMILY, GRAN)}, events


def test_the_family_s_evaluation_is_recorded_once_kept_with_the_referral_and_counted_never_told(
    cloud: Cloud,
    asked: tuple[str, dict[str, str], list[Any]],
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO)
    reference, tokens, _ = asked
    marker = f"MARKER{uuid.uuid4().hex[:12]}"

    # Opening the link shows the questions and the reference, nothing of the case, and is recorded as a read
    page = open_page(cloud, tokens[FAMILY])
    assert page["statusCode"] == 200 and "Did your family lead the meeting" in page["body"]
    assert reference in page["body"] and not any(name in page["body"] for name in PRIVATE)
    assert page["headers"]["Cache-Control"] == "no-store"
    view = get_one(cloud, reference)["json"]
    [read] = [a for a in view["accesses"] if a["route"] == "GET /evaluations/{token}"]
    assert read["actor"] == "family_contact:family" and view["evaluations"] == []

    # Sent with a question unanswered: the page again, with the problem, every answer given kept
    partial = send(cloud, tokens[FAMILY], {"family_led": "yes", "comments": f"Gran was brilliant {marker}"})
    assert partial["statusCode"] == 422
    assert "Choose whether you felt listened to" in partial["body"] and 'href="#felt_heard"' in partial["body"]
    assert 'value="yes" checked' in partial["body"] and f"Gran was brilliant {marker}" in partial["body"]
    assert get_one(cloud, reference)["json"]["evaluations"] == []

    # Sent whole: recorded, with its audit entry and EvaluationReceived (ids and dates: nothing they said)
    capture = cloud.capture_events()
    done = send(cloud, tokens[FAMILY], {**ANSWERS, "comments": f"Gran was brilliant {marker}"})
    assert done["statusCode"] == 200 and "Thank you for telling us" in done["body"]
    events = deliver(cloud, capture)
    [received] = [e for e in events if e["detail-type"] == "EvaluationReceived"]
    data = received["detail"]["data"]
    assert (data["respondent"], data["held_on"]) == ("family_contact", YESTERDAY.astimezone(LONDON).date().isoformat())
    assert not {"family_led", "felt_heard", "recommend", "comments"} & set(data)
    view = get_one(cloud, reference)["json"]
    [evaluation] = view["evaluations"]
    assert evaluation["family_led"] == "Yes" and evaluation["felt_heard"] == "Partly"
    assert evaluation["comments"] == f"Gran was brilliant {marker}"
    [entry] = [a for a in view["audit"] if a["action"] == "evaluation.received"]
    assert entry["actor"] == "family_contact:family" and marker not in json.dumps(entry)

    # A second answer (and the link opened again) is told it was recorded, and changes nothing
    capture = cloud.capture_events()
    again = send(cloud, tokens[FAMILY], {"family_led": "no", "felt_heard": "no", "recommend": "no"})
    assert again["statusCode"] == 409 and "You have already told us about the meeting" in again["body"]
    assert open_page(cloud, tokens[FAMILY])["statusCode"] == 409
    assert deliver(cloud, capture) == []
    assert [e["family_led"] for e in get_one(cloud, reference)["json"]["evaluations"]] == ["Yes"]

    # Gran answers through her own link; both count in the managers' figures (counts, never the words)
    assert (
        send(cloud, tokens[GRAN], {"family_led": "partly", "felt_heard": "yes", "recommend": "not_sure"})["statusCode"]
        == 200
    )
    events += deliver(cloud, capture)
    evaluated = [e for e in events if e["detail-type"] == "EvaluationReceived"]
    assert [e["detail"]["data"]["respondent"] for e in evaluated] == ["family_contact", "family_member"]
    assert invoke(REPORTS, cloud, sqs_batch(evaluated + evaluated)) == {"batchItemFailures": []}  # redelivered
    reader = ReferralReader(cloud.function(REPORTS).environment["TABLE_NAME"])
    figures = reports.report(reports.month_of(clock.now().astimezone(LONDON).date()), reader=reader)
    assert figures.get("evaluations") == 2
    assert figures.by("evaluation_family_led#") == {"yes": 1, "partly": 1}
    assert figures.by("evaluation_recommend#") == {"yes": 1, "not_sure": 1}
    rows = {(section, measure): value for section, measure, value in figures.rows()}
    assert rows[("Families' evaluations", "Felt listened to: partly")] == "1"
    assert rows[("Families' evaluations", "Would recommend it: no")] == "0"

    # What they wrote is in no event, log line, email or figure: only in the referral's partition
    logs = "\n".join(json.dumps(vars(record), default=str) for record in caplog.records) + capsys.readouterr().out
    assert "Evaluation recorded" in logs and marker not in logs
    assert marker not in json.dumps(events) and marker not in json.dumps(sent_emails(), default=str)
    holding = [i for i in cloud.items() if marker in json.dumps(i, default=str)]
    assert [(i["pk"], i["kind"]) for i in holding] == [(f"REFERRAL#{reference}", "evaluation")]


def test_links_that_show_nothing_and_export_and_erasure_of_the_family_s_evaluations(
    cloud: Cloud, asked: tuple[str, dict[str, str], list[Any]]
) -> None:
    from tests.integration.test_agreement import open_page as open_agreement
    from tests.integration.test_connections import answer as answer_connection

    reference, tokens, _ = asked
    # expired: the link works for EVALUATION_LINK_DAYS (28 by default) from when it was sent
    with clock_at(clock.now() + timedelta(days=29)):
        late = send(cloud, tokens[FAMILY], ANSWERS)
    assert late["statusCode"] == 410 and "This link has expired" in late["body"] and reference not in late["body"]
    # foreign: an evaluation link opens no other page, and no other link opens an evaluation
    assert open_agreement(cloud, tokens[FAMILY])["statusCode"] == 404
    assert answer_connection(cloud, tokens[FAMILY], {"answer": "contacted"})["statusCode"] == 404
    assert open_page(cloud, _signed(reference, "plan"))["statusCode"] == 404
    assert send(cloud, _signed(reference, "agreement"), ANSWERS)["statusCode"] == 404
    assert [i for i in cloud.items() if i["kind"] == "evaluation"] == []

    # Gran answers; the export holds her answers and her words
    marker = f"MARKER{uuid.uuid4().hex[:12]}"
    assert send(cloud, tokens[GRAN], {**ANSWERS, "comments": marker})["statusCode"] == 200
    path = f"/referrals/{reference}/export"
    exported = staff(cloud, "GET /referrals/{reference}/export", path, claims=MANAGER)["json"]
    [kept] = exported["evaluations"]
    assert (kept["comments"], kept["family_led"], kept["respondent"]) == (marker, "yes", "family_member")

    # The family withdraws (no plan was made): the contact's link is no longer open
    assert act(cloud, reference, "withdraw", {"reason": "The family withdrew consent."})["statusCode"] == 200
    gone = send(cloud, tokens[FAMILY], ANSWERS)
    assert gone["statusCode"] == 410 and reference not in gone["body"]

    # Erased at their request: the answers go, who answered and when stay; the links show nothing
    assert erase(cloud, reference)["statusCode"] == 200
    [evaluation] = [i for i in cloud.items() if i["kind"] == "evaluation"]
    assert evaluation["erased"] is True and evaluation["respondent"] == "family_member"
    assert {evaluation[k] for k in ("family_led", "felt_heard", "recommend", "comments")} == {"[erased]"}
    assert marker not in json.dumps(cloud.items(), default=str)
    page = open_page(cloud, tokens[FAMILY])
    assert page["statusCode"] == 404 and reference not in page["body"]


def _signed(reference: str, purpose: Any) -> str:
    """A token with an evaluation link's very claims, signed with the deployment's key for another purpose."""
    from shared.config import get_settings
    from shared.domain import links
    from shared.service.connections import link_key

    meeting_id = next(i for i in _items_of(reference) if i["sk"] == "MEETING")["meeting_id"]
    settings = get_settings()
    return links.sign(
        {"r": reference, "m": meeting_id, "w": "family"},
        purpose=purpose,
        key=link_key(settings),
        now=clock.now(),
        valid_for=timedelta(days=1),
    )


def _items_of(reference: str) -> list[dict[str, Any]]:
    from shared.config import get_settings

    return ReferralReader(get_settings().table_name).partition(reference)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    change=st.one_of(
        st.tuples(st.integers(min_value=0), st.sampled_from("ABCxyz019-_.")).map(lambda c: ("alter", c)),
        st.text(max_size=200).map(lambda t: ("text", t)),
    )
)
def test_any_other_token_text_shows_nothing_and_records_nothing(
    cloud: Cloud, asked: tuple[str, dict[str, str], list[Any]], change: tuple[str, Any]
) -> None:
    reference, tokens, _ = asked
    token = tokens[FAMILY]
    kind, value = change
    if kind == "alter":
        position, replacement = value
        index = position % len(token)
        other = token[:index] + replacement + token[index + 1 :]
    else:
        other = value
    if other == token:
        return
    for response in (open_page(cloud, other), send(cloud, other, ANSWERS)):
        assert response["statusCode"] in (404, 410), (other, response["statusCode"])
        assert reference not in response["body"] and "Did your family lead" not in response["body"]
    assert [i for i in cloud.items() if i["kind"] == "evaluation"] == []
