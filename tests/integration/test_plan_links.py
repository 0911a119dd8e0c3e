"""The plan's page behind a signed link, one per person it is for, and its PDF (issue 21, items 2 and 3): sent when the
plan is agreed (the email: the reference and dates only), opened without login and recorded as a read, renewed at a
review, closed by a coordinator; a tampered, foreign, expired or closed link shows nothing."""

from __future__ import annotations

import base64
import io
import json
import re
from datetime import timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pypdf import PdfReader

from infra.constants import CONNECTIONS
from infra.local.outbox import sent_emails
from shared.domain import clock
from shared.domain.referrals import today
from tests.integration.conftest import Cloud, invoke, link_event
from tests.integration.test_agreement import agreement_token, deliver, emails_since, made
from tests.integration.test_console import a_session, console_event
from tests.integration.test_coordination import get_one, staff
from tests.integration.test_outcome import agree
from tests.integration.test_participants import add, person

LINK = re.compile(r"https?://\S+/plans/(\S+)")
PLAN = {
    "network_actions": [
        {"who": "Gran (Maureen)", "what": "School pick-ups", "how_often": "Mondays", "checked_by": "Uncle Dev"},
    ],
    "support_package": [{"category": "equipment", "description": "Sofa bed", "estimated_cost_pence": 8500}],
}
PLAN_TEXT = ("Gran (Maureen)", "School pick-ups", "Sofa bed")
FAMILY_EMAIL = "jo.bloggs@example.org"


def open_plan(cloud: Cloud, token: str, document: bool = False) -> dict[str, Any]:
    return invoke(CONNECTIONS, cloud, link_event(token, "plans", suffix="/document" if document else ""))  # type: ignore[no-any-return]


def plan_emails(emails: list[dict[str, Any]], reference: str) -> dict[str, dict[str, Any]]:
    found = [m for m in emails if m["subject"] == f"The family's plan: {reference}"]
    return {m["to"][0]: m for m in found}


def token_of(message: dict[str, Any]) -> str:
    match = LINK.search(message["text"])
    assert match, message["text"]
    return match.group(1)


@pytest.fixture
def shared(cloud: Cloud, submit: Any, referral_body: dict[str, Any]) -> tuple[str, dict[str, str]]:
    """A plan agreed, sent to the lead practitioner, the family's contact and one participant (an excluded one, and
    one without consent, get nothing): the reference and each address's token."""
    referral_body["family"] = {**referral_body["family"], "contact_email": FAMILY_EMAIL}
    capture = cloud.capture_events()
    reference = made(cloud, submit, referral_body, {**PLAN, "first_review_due_on": _review_on()})
    assert add(cloud, reference, person("Aunt Bea", "bea@example.org"))["statusCode"] < 300
    excluded = person("Mr X", "x@example.org", attendance="excluded", attendance_reason="Risk to the family")
    assert add(cloud, reference, excluded)["statusCode"] < 300
    assert add(cloud, reference, person("Cousin Al", "al@example.org", consent_to_contact=False))["statusCode"] < 300
    deliver(cloud, capture)
    before = len(sent_emails())
    assert agree(cloud, reference)["statusCode"] == 200
    capture = cloud.capture_events()
    events = deliver(cloud, capture)
    [shared_event] = [e for e in events if e["detail-type"] == "PlanShared"]
    assert len(shared_event["detail"]["data"]["link_ids"]) == 3
    sent = emails_since(before)
    emails = plan_emails(sent, reference)
    assert set(emails) == {FAMILY_EMAIL, "bea@example.org"}
    # the lead practitioner's link comes in their feedback on the meeting (one email, not two)
    [emails["sam.okafor@council.example.org"]] = [m for m in sent if m["subject"].startswith("Feedback on the")]
    return reference, {address: token_of(message) for address, message in emails.items()}


def structure_types(node: Any) -> set[str]:
    """Every structure type (/S) in a PDF's structure tree."""
    node = node.get_object() if hasattr(node, "get_object") else node
    if isinstance(node, list):
        return set().union(*(structure_types(kid) for kid in node)) if node else set()
    if not hasattr(node, "get"):
        return set()  # a marked-content id
    found = {str(node["/S"])} if "/S" in node else set()
    return found | structure_types(node.get("/K", []))


def _review_on() -> str:
    from tests.integration.test_outcome import YESTERDAY

    return (YESTERDAY.date() + timedelta(days=60)).isoformat()


def test_each_recipient_gets_their_own_link_by_an_email_of_the_reference_and_dates_only(
    cloud: Cloud, shared: tuple[str, dict[str, str]]
) -> None:
    reference, tokens = shared
    assert len(set(tokens.values())) == 3
    messages = plan_emails(sent_emails(), reference)
    for message in messages.values():
        text = json.dumps(message)
        assert not any(words in text for words in (*PLAN_TEXT, "Jo Bloggs", "Aunt Bea", "Risk"))
        assert "works until" in message["text"] and "next review is due on" in message["text"]
    emailed = [i for i in cloud.items() if i.get("kind") == "email" and i.get("to") == FAMILY_EMAIL]
    [kept] = [i for i in emailed if i.get("template") == "plan_shared"]
    assert "/plans/" not in kept["text"] and "[the link to the plan: not kept]" in kept["text"]
    events = [
        i for i in cloud.items() if i.get("kind") == "outbox_event" and "PlanShared" in json.dumps(i, default=str)
    ]
    assert events and not any(
        words in json.dumps(events, default=str) for words in (*PLAN_TEXT, FAMILY_EMAIL)
    )  # ids and dates only


def test_a_link_opens_the_plan_and_its_pdf_without_login_and_each_opening_is_a_read(
    cloud: Cloud, shared: tuple[str, dict[str, str]]
) -> None:
    reference, tokens = shared
    page = open_plan(cloud, tokens[FAMILY_EMAIL])
    assert page["statusCode"] == 200, page["body"]
    for text in (*PLAN_TEXT, "Uncle Dev", "Who to contact", "coordinators@familynet.example.org", reference):
        assert text in page["body"], text
    assert "£" not in page["body"] and "85.00" not in page["body"]  # no costs
    assert page["headers"]["Cache-Control"] == "no-store"

    document = open_plan(cloud, tokens["bea@example.org"], document=True)
    assert document["statusCode"] == 200 and document["headers"]["Content-Type"] == "application/pdf"
    pdf = PdfReader(io.BytesIO(base64.b64decode(document["body"])))
    text = " ".join(p.extract_text() for p in pdf.pages)
    assert all(words in text for words in PLAN_TEXT) and reference in text
    root: Any = pdf.trailer["/Root"]
    assert root["/Lang"] == "en-GB" and root["/MarkInfo"]["/Marked"]
    assert {"/H1", "/H2", "/P"} <= structure_types(root["/StructTreeRoot"])
    assert pdf.metadata is not None and pdf.metadata.title == f"The family's plan: {reference}"

    reads = [a for a in get_one(cloud, reference)["json"]["accesses"] if "/plans/" in a["route"]]
    assert [(a["route"], a["actor"].split(":")[0]) for a in reads] == [
        ("GET /plans/{token}", "family"),
        ("GET /plans/{token}/document", "participant"),
    ]


def test_a_tampered_foreign_expired_or_closed_link_shows_nothing(
    cloud: Cloud, shared: tuple[str, dict[str, str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    reference, tokens = shared
    token = tokens[FAMILY_EMAIL]
    tampered = token[:-3] + ("AAA" if not token.endswith("AAA") else "BBB")
    payload = token.partition(".")[0]
    agreement = agreement_token(sent_emails())  # the same machinery, another purpose
    for bad, status in ((tampered, 404), (agreement, 404), (f"{payload}.", 404), ("nonsense", 404)):
        refused = open_plan(cloud, bad)
        assert refused["statusCode"] == status, bad
        assert not any(words in refused["body"] for words in PLAN_TEXT)
        assert open_plan(cloud, bad, document=True)["headers"]["Content-Type"].startswith("text/html")

    # closed by a coordinator from the case page: that link only
    session, csrf = a_session(cloud)
    view = get_one(cloud, reference)["json"]
    [family_link] = [link for link in view["plan_links"] if link["recipient"] == "family"]
    path = f"/staff/referrals/{reference}/plan/links/{family_link['link_id']}/revoke"
    route = "/staff/referrals/{reference}/plan/links/{link_id}/revoke"
    event = console_event(
        "POST",
        path,
        route,
        session=session,
        form={"csrf_token": csrf, "version": str(view["version"])},
        parameters={"reference": reference, "link_id": family_link["link_id"]},
    )
    from infra.constants import CONSOLE

    revoked = invoke(CONSOLE, cloud, event)
    assert revoked["statusCode"] == 303, revoked.get("body")
    case = invoke(
        CONSOLE,
        cloud,
        console_event(
            "GET",
            f"/staff/referrals/{reference}",
            "/staff/referrals/{reference}",
            session=session,
            parameters={"reference": reference},
        ),
    )
    assert f'id="link-{family_link["link_id"]}-state">Closed<' in case["body"] and 'id="plan-document"' in case["body"]
    # the coordinator downloads the same PDF (a read of the case)
    document_route = "/staff/referrals/{reference}/plan/document"
    download = invoke(
        CONSOLE,
        cloud,
        console_event(
            "GET",
            f"/staff/referrals/{reference}/plan/document",
            document_route,
            session=session,
            parameters={"reference": reference},
        ),
    )
    assert download["statusCode"] == 200 and download["headers"]["Content-Type"] == "application/pdf"
    staff_pdf = PdfReader(io.BytesIO(base64.b64decode(download["body"])))
    assert "School pick-ups" in " ".join(p.extract_text() for p in staff_pdf.pages)
    assert get_one(cloud, reference)["json"]["accesses"][-2]["route"] == "GET " + document_route
    closed = open_plan(cloud, token)
    assert closed["statusCode"] == 410 and "closed this link" in closed["body"]
    assert not any(words in closed["body"] for words in PLAN_TEXT)
    assert open_plan(cloud, tokens["bea@example.org"])["statusCode"] == 200
    [entry] = [a for a in get_one(cloud, reference)["json"]["audit"] if a["action"] == "plan.link_revoked"]
    assert entry["actor"].startswith("coordinator:")

    # expired after the configured 90 days
    monkeypatch.setattr(clock, "_offset", timedelta(days=91))
    expired = open_plan(cloud, tokens["bea@example.org"])
    assert expired["statusCode"] == 410 and "expired" in expired["body"]
    assert not any(words in expired["body"] for words in PLAN_TEXT)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    change=st.one_of(
        st.tuples(st.integers(min_value=0), st.sampled_from("ABCxyz019-_.")).map(lambda c: ("alter", c)),
        st.text(max_size=200).map(lambda t: ("text", t)),
    )
)
def test_any_other_token_text_shows_nothing(
    cloud: Cloud, shared: tuple[str, dict[str, str]], change: tuple[str, Any]
) -> None:
    _, tokens = shared
    token = tokens[FAMILY_EMAIL]
    kind, value = change
    if kind == "alter":
        position, replacement = value
        index = position % len(token)
        candidate = token[:index] + replacement + token[index + 1 :]
    else:
        candidate = value
    if candidate == token:
        return
    answer = open_plan(cloud, candidate)
    assert answer["statusCode"] in (404, 410)
    assert not any(words in answer["body"] for words in PLAN_TEXT)


def _review(cloud: Cloud, reference: str, body: dict[str, Any]) -> None:
    answer = staff(cloud, "POST /referrals/{reference}/reviews", f"/referrals/{reference}/reviews", body=body)
    assert answer["statusCode"] == 200, answer["body"]


def test_a_review_renews_every_open_link_and_sends_it_again_and_the_closing_review_tells_each_one(
    cloud: Cloud, shared: tuple[str, dict[str, str]]
) -> None:
    reference, tokens = shared
    before_links = {link["link_id"]: link for link in get_one(cloud, reference)["json"]["plan_links"]}
    before = len(sent_emails())
    capture = cloud.capture_events()
    later = (clock.now().date() + timedelta(days=40)).isoformat()
    _review(cloud, reference, {"outcome": "continue", "next_review_due_on": later})
    events = deliver(cloud, capture)
    [again] = [e for e in events if e["detail-type"] == "PlanShared"]
    assert again["detail"]["data"]["because"] == "reviewed"
    assert set(again["detail"]["data"]["link_ids"]) == set(before_links)  # the same links, renewed
    after = {link["link_id"]: link for link in get_one(cloud, reference)["json"]["plan_links"]}
    assert all(after[i]["valid_until"] >= before_links[i]["valid_until"] and "renewed_at" in after[i] for i in after)
    emails = plan_emails(emails_since(before), reference)
    today_text = f"{today().day} {today():%B %Y}"
    assert len(emails) == 3 and all(f"was reviewed on {today_text}" in m["text"] for m in emails.values())
    assert not any(words in json.dumps(emails) for words in PLAN_TEXT)
    page = open_plan(cloud, tokens[FAMILY_EMAIL])  # the page as the review left it
    assert f"It was last reviewed on {today_text}" in page["body"] and "School pick-ups" in page["body"]

    # The review that closes the plan tells each of them, and leaves their links to run their course, unrenewed.
    before, capture = len(sent_emails()), cloud.capture_events()
    _review(cloud, reference, {"outcome": "close"})
    [closing] = [e for e in deliver(cloud, capture) if e["detail-type"] == "PlanShared"]
    assert closing["detail"]["data"]["because"] == "closed" and set(closing["detail"]["data"]["link_ids"]) == set(after)
    closed_links = {link["link_id"]: link for link in get_one(cloud, reference)["json"]["plan_links"]}
    assert all(closed_links[i]["valid_until"] == after[i]["valid_until"] for i in after)
    emails = plan_emails(emails_since(before), reference)
    assert len(emails) == 3 and all(f"closed at its review on {today_text}" in m["text"] for m in emails.values())
    page = open_plan(cloud, tokens["bea@example.org"])
    assert page["statusCode"] == 200 and f"The plan closed at its review on {today_text}" in page["body"]
    assert "next reviewed on" not in page["body"] and "Sofa bed" in page["body"]
    document = open_plan(cloud, tokens[FAMILY_EMAIL], document=True)
    pdf = PdfReader(io.BytesIO(base64.b64decode(document["body"])))
    assert f"closed at its review on {today_text}" in " ".join(p.extract_text() for p in pdf.pages)
