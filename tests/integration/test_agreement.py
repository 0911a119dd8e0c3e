"""The plan made at the meeting, agreed by the lead practitioner (issue 21, item 1): through the signed link in their
email, or recorded by a coordinator; only an agreed plan asks its partners and sends the referrer's feedback; changes
asked send it back to the coordinator; tampered, foreign, answered, replaced and expired links show nothing."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from infra.constants import CONNECTIONS, FEEDBACK
from infra.local.outbox import sent_emails
from shared.domain import clock
from tests.integration.conftest import Cloud, invoke, link_event
from tests.integration.test_connections import plan_naming
from tests.integration.test_coordination import get_one, staff
from tests.integration.test_intake import relay_outbox
from tests.integration.test_meetings import availability, book, clock_at, meeting
from tests.integration.test_outcome import YESTERDAY, agree, held, outcome
from tests.integration.test_partners import CHURCH, HUB, add
from tests.integration.test_proposals import sqs_batch

LINK = re.compile(r"https?://\S+/agreements/(\S+)")
REFERRER = "sam.okafor@council.example.org"
PLAN_TEXT = ("Gran (Maureen)", "School pick-ups", "Sofa bed")  # what only the link's page may show


def open_page(cloud: Cloud, token: str) -> dict[str, Any]:
    return invoke(CONNECTIONS, cloud, link_event(token, "agreements"))  # type: ignore[no-any-return]


def answer(cloud: Cloud, token: str, form: dict[str, str]) -> dict[str, Any]:
    return invoke(CONNECTIONS, cloud, link_event(token, "agreements", "POST", form))  # type: ignore[no-any-return]


def deliver(cloud: Cloud, capture: Any) -> list[dict[str, Any]]:
    """Relay the outbox, give every event to the feedback function; the events."""
    relay_outbox(cloud)
    events: list[dict[str, Any]] = capture.received()
    if events:
        assert invoke(FEEDBACK, cloud, sqs_batch(events)) == {"batchItemFailures": []}
    return events


def emails_since(count: int) -> list[dict[str, Any]]:
    return sent_emails()[: len(sent_emails()) - count]


def agreement_token(emails: list[dict[str, Any]]) -> str:
    [message] = [m for m in emails if m["subject"].startswith("Please agree the plan")]
    match = LINK.search(message["text"])
    assert match, message["text"]
    return match.group(1)


def made(cloud: Cloud, submit: Any, referral_body: dict[str, Any], plan: dict[str, Any]) -> str:
    """A referral from a lead practitioner whose meeting was held yesterday and made `plan`."""
    availability(cloud, "fac-1")
    with clock_at(YESTERDAY - timedelta(days=2)):
        reference = str(submit(referral_body)["json"]["reference"])
        assert book(cloud, reference, meeting(YESTERDAY))["statusCode"] == 200
    assert outcome(cloud, reference, held(plan))["statusCode"] == 200
    return reference


@pytest.fixture
def partners(cloud: Cloud) -> dict[str, str]:
    return {key: add(cloud, body)["json"]["partner_id"] for key, body in (("hub", HUB), ("church", CHURCH))}


@pytest.fixture
def asked(cloud: Cloud, submit: Any, referral_body: dict[str, Any], partners: dict[str, str]) -> tuple[str, str]:
    """A plan naming two partners, waiting for agreement, its email sent: the reference and the link's token."""
    capture = cloud.capture_events()
    reference = made(cloud, submit, referral_body, plan_naming(partners, share_with=("hub",)))
    before = len(sent_emails())
    events = deliver(cloud, capture)
    assert {e["detail-type"] for e in events} >= {"MeetingHeld", "PlanAgreementRequested"}
    emails = emails_since(before)
    # the agreement email (the reference and dates only): no feedback, no partner asked, until the plan is agreed
    assert not [m for m in emails if m["subject"].startswith(("Feedback", "Family Network connection"))]
    [request] = [m for m in emails if m["subject"] == f"Please agree the plan for {reference}"]
    assert request["to"] == [REFERRER]
    for text in (*PLAN_TEXT, "Jo Bloggs", "Alfie"):
        assert text not in request["text"] and text not in request["html"]
    return reference, agreement_token(emails)


def test_a_plan_agreed_through_the_lead_practitioner_s_link_asks_its_partners_and_only_then_sends_the_feedback(
    cloud: Cloud, asked: tuple[str, str]
) -> None:
    reference, token = asked
    # Opening the link shows the plan, changes nothing, and is recorded in the read audit
    page = open_page(cloud, token)
    assert page["statusCode"] == 200 and all(text in page["body"] for text in PLAN_TEXT)
    assert page["headers"]["Cache-Control"] == "no-store"
    assert "Northside Family Hub" in page["body"]  # the partner, by the directory's name
    view = get_one(cloud, reference)["json"]
    assert view["status"] == "awaiting_agreement" and view["connections"] == []
    assert [a["route"] for a in view["accesses"]][:1] == ["GET /agreements/{token}"]
    assert view["accesses"][0]["actor"].startswith("lead_practitioner:A")

    # Agreeing through it: the plan comes into force, its partners are asked, the referrer gets the feedback
    capture = cloud.capture_events()
    before = len(sent_emails())
    done = answer(cloud, token, {"decision": "agree", "reasons": ""})
    assert done["statusCode"] == 200 and "You have agreed the plan" in done["body"]
    events = deliver(cloud, capture)
    kinds = sorted(e["detail-type"] for e in events)
    assert kinds == ["ConnectionRequested", "ConnectionRequested", "PlanAgreed", "PlanShared"]
    [agreed] = [e for e in events if e["detail-type"] == "PlanAgreed"]
    assert agreed["detail"]["data"]["recorded_via"] == "link" and agreed["detail"]["data"]["support_package_items"] == 1
    emails = emails_since(before)
    # the referrer's feedback, carrying their link to the plan's page, and each partner's request
    assert sorted(m["to"][0] for m in emails) == sorted([REFERRER, str(HUB["email"]), str(CHURCH["email"])])
    [feedback] = [m for m in emails if m["to"] == [REFERRER]]
    assert feedback["subject"] == f"Feedback on the meeting for {reference}"
    assert "A plan was agreed" in feedback["text"] and "you agreed it on" in feedback["text"]
    assert "a support package of 1 item" in feedback["text"] and "/plans/" in feedback["text"]

    view = get_one(cloud, reference)["json"]
    assert view["status"] == "plan_active" and view["plan"]["plan_status"] == "active"
    assert [r["review_number"] for r in view["reviews"]] == [1]
    assert {c["status"] for c in view["connections"]} == {"requested"}
    [entry] = [a for a in view["audit"] if a["action"] == "plan.agreed"]
    assert entry["actor"].startswith("lead_practitioner:") and entry["changes"]["agreement"]["via"] == "link"

    # The link is spent: it answers that it was answered, and shows nothing of the plan
    again = answer(cloud, token, {"decision": "change", "reasons": "Too late"})
    assert again["statusCode"] == 409 and not any(text in again["body"] for text in PLAN_TEXT)
    assert open_page(cloud, token)["statusCode"] == 409


def test_changes_asked_send_the_plan_back_to_the_coordinator_who_revises_it_and_asks_again(
    cloud: Cloud, asked: tuple[str, str], partners: dict[str, str]
) -> None:
    reference, token = asked
    missing = answer(cloud, token, {"decision": "change", "reasons": "  "})  # changes need reasons
    assert (
        missing["statusCode"] == 422
        and 'href="#reasons"' in missing["body"]
        and "There is a problem" in missing["body"]
    )
    unanswered = answer(cloud, token, {})
    assert unanswered["statusCode"] == 422 and 'href="#decision"' in unanswered["body"]

    capture = cloud.capture_events()
    before = len(sent_emails())
    reasons = "Gran cannot do Tuesdays any more: please find another day"
    asked_changes = answer(cloud, token, {"decision": "change", "reasons": reasons})
    assert asked_changes["statusCode"] == 200 and "with the coordinators" in asked_changes["body"]
    events = deliver(cloud, capture)
    assert [e["detail-type"] for e in events] == ["PlanChangesRequested"]
    assert reasons not in str(events)
    [notice] = emails_since(before)
    assert notice["to"] == ["coordinators@familynet.example.org"] and reasons not in notice["text"]
    view = get_one(cloud, reference)["json"]
    assert view["status"] == "awaiting_agreement" and view["connections"] == [] and view["reviews"] == []
    assert view["agreements"][0]["status"] == "changes_requested" and view["agreements"][0]["reasons"] == reasons

    # the coordinator's work list shows it
    listed = staff(cloud, "GET /referrals", "/referrals", query={"status": "awaiting_agreement"})["json"]["items"]
    assert [item["reference"] for item in listed] == [reference]
    from tests.integration.test_console import a_session, console_event

    session, _ = a_session(cloud)
    home = invoke(
        "console", cloud, console_event("GET", "/staff", "/staff", session=session, query={"list": "changes"})
    )
    assert home["statusCode"] == 200 and reference in home["body"]

    # the coordinator revises the plan and asks again: a new link; the old one answers "no longer open"
    revised = plan_naming(partners, share_with=("hub",))
    revised["network_actions"][0] = {"who": "Gran (Maureen)", "what": "School pick-ups", "how_often": "Thursdays"}
    before = len(sent_emails())
    again = staff(cloud, "PUT /referrals/{reference}/plan", f"/referrals/{reference}/plan", body=revised)
    assert again["statusCode"] == 200, again["json"]
    assert again["json"] == {**again["json"], "status": "awaiting_agreement", "round": 2}
    deliver(cloud, capture)
    token_two = agreement_token(emails_since(before))
    assert open_page(cloud, token)["statusCode"] == 409  # round one was answered
    page = open_page(cloud, token_two)
    assert page["statusCode"] == 200 and "Thursdays" in page["body"]
    assert answer(cloud, token_two, {"decision": "agree"})["statusCode"] == 200
    assert get_one(cloud, reference)["json"]["status"] == "plan_active"


def test_a_coordinator_records_the_answer_on_the_lead_practitioner_s_behalf_and_their_link_then_closes(
    cloud: Cloud, asked: tuple[str, str]
) -> None:
    reference, token = asked
    version = get_one(cloud, reference)["json"]["version"]
    assert agree(cloud, reference, {"decision": "change"})["statusCode"] == 422  # changes need reasons
    route, path = "POST /referrals/{reference}/plan/agreement", f"/referrals/{reference}/plan/agreement"
    stale = staff(cloud, route, path, body={"decision": "agree"}, headers={"If-Match": f'"{version - 1}"'})
    assert stale["statusCode"] == 409 and stale["json"]["current_status"] == "awaiting_agreement"
    recorded = staff(cloud, route, path, body={"decision": "agree"}, headers={"If-Match": f'"{version}"'})
    assert recorded["statusCode"] == 200 and recorded["json"]["status"] == "plan_active"
    assert agree(cloud, reference)["statusCode"] == 409  # nothing waits for agreement any more
    page = open_page(cloud, token)
    assert page["statusCode"] == 409 and not any(text in page["body"] for text in PLAN_TEXT)
    [entry] = [a for a in get_one(cloud, reference)["json"]["audit"] if a["action"] == "plan.agreed"]
    assert entry["actor"].startswith("coordinator:") and entry["changes"]["agreement"]["via"] == "coordinator"


def test_replaced_expired_and_withdrawn_links_show_nothing(
    cloud: Cloud, asked: tuple[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    reference, token = asked
    # asked again (as it is): the first link is replaced
    capture = cloud.capture_events()
    again = staff(
        cloud, "PUT /referrals/{reference}/plan", f"/referrals/{reference}/plan", body=_stored_plan(cloud, reference)
    )
    assert again["statusCode"] == 200, again["json"]
    replaced = open_page(cloud, token)
    assert replaced["statusCode"] == 410 and not any(text in replaced["body"] for text in PLAN_TEXT)
    before = len(sent_emails())
    deliver(cloud, capture)
    token_two = agreement_token(emails_since(before))
    # expired after 28 days
    monkeypatch.setattr(clock, "_offset", timedelta(days=29))
    expired = open_page(cloud, token_two)
    assert expired["statusCode"] == 410 and "expired" in expired["body"]
    assert not any(text in expired["body"] for text in PLAN_TEXT)
    monkeypatch.setattr(clock, "_offset", timedelta(0))
    # withdrawn: closed
    from tests.integration.test_coordination import act

    assert act(cloud, reference, "withdraw", {"reason": "The family moved away."})["statusCode"] == 200
    withdrawn = answer(cloud, token_two, {"decision": "agree"})
    assert withdrawn["statusCode"] == 410 and not any(text in withdrawn["body"] for text in PLAN_TEXT)


def _stored_plan(cloud: Cloud, reference: str) -> dict[str, Any]:
    plan = get_one(cloud, reference)["json"]["plan"]
    keys = ("network_actions", "first_review_due_on", "partner_consent")
    item_keys = ("category", "description", "estimated_cost_pence", "partner_id")  # as a form gives them
    package = [{k: item[k] for k in item_keys if item.get(k) is not None} for item in plan["support_package"]]
    return {**{key: plan[key] for key in keys}, "support_package": package}


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    change=st.one_of(
        st.tuples(st.integers(min_value=0), st.sampled_from("ABCxyz019-_.")).map(lambda c: ("alter", c)),
        st.text(max_size=200).map(lambda t: ("text", t)),
    )
)
def test_any_other_token_text_shows_nothing_and_changes_nothing(
    cloud: Cloud, asked: tuple[str, str], change: tuple[str, Any]
) -> None:
    reference, token = asked
    kind, value = change
    if kind == "alter":
        position, replacement = value
        index = position % len(token)
        other = token[:index] + replacement + token[index + 1 :]
    else:
        other = value
    if other == token:
        return
    for response in (open_page(cloud, other), answer(cloud, other, {"decision": "agree"})):
        assert response["statusCode"] in (404, 410), (other, response["statusCode"])
        assert not any(text in response["body"] for text in PLAN_TEXT)
    assert get_one(cloud, reference)["json"]["status"] == "awaiting_agreement"


def test_a_partner_s_connection_link_is_not_an_agreement_link_nor_the_other_way(
    cloud: Cloud, asked: tuple[str, str]
) -> None:
    from tests.integration.test_connections import answer as answer_connection

    reference, token = asked
    assert answer_connection(cloud, token, {"answer": "contacted"})["statusCode"] == 404
    assert agree(cloud, reference)["statusCode"] == 200
    connection_token = _connection_token(cloud, reference)
    page = open_page(cloud, connection_token)
    assert page["statusCode"] == 404 and not any(text in page["body"] for text in PLAN_TEXT)


def _connection_token(cloud: Cloud, reference: str) -> str:
    from shared.config import get_settings
    from shared.service.connections import link_for

    cloud.use_environment_of(FEEDBACK)
    item = next(i for i in cloud.items() if i["pk"] == f"REFERRAL#{reference}" and i["sk"].startswith("CONNECTION#"))
    link = link_for(reference, item["partner_id"], item["connection_id"], settings=get_settings(), now=clock.now())
    return link.rsplit("/", 1)[1]


def test_on_the_console_a_coordinator_sees_changes_asked_sends_the_plan_again_and_records_the_agreement(
    cloud: Cloud, asked: tuple[str, str]
) -> None:
    from tests.integration.test_console import a_session, console_event

    reference, token = asked
    answer(cloud, token, {"decision": "change", "reasons": "Please add who takes Alfie to football"})
    session, csrf = a_session(cloud)
    params = {"reference": reference}

    def call(method: str, path: str, route: str, **kwargs: Any) -> dict[str, Any]:
        event = console_event(method, path, route, session=session, parameters=params, **kwargs)
        return invoke("console", cloud, event)  # type: ignore[no-any-return]

    case_path, case_route = f"/staff/referrals/{reference}", "/staff/referrals/{reference}"
    case = call("GET", case_path, case_route)
    assert case["statusCode"] == 200 and "Plan awaiting agreement" in case["body"]
    assert "Please add who takes Alfie to football" in case["body"] and "Record their answer" in case["body"]
    version = str(get_one(cloud, reference)["json"]["version"])

    # sent again as it is: a new round, a new link
    again_path = f"/staff/referrals/{reference}/plan/agreement/again"
    sent = call(
        "POST",
        again_path,
        "/staff/referrals/{reference}/plan/agreement/again",
        form={"csrf_token": csrf, "version": version},
    )
    assert sent["statusCode"] == 303 and sent["headers"]["Location"].endswith("done=agreement-asked#plan")
    stale = call(
        "POST",
        again_path,
        "/staff/referrals/{reference}/plan/agreement/again",
        form={"csrf_token": csrf, "version": version},
    )
    assert stale["statusCode"] == 409 and "changed this referral since you opened it" in stale["body"]

    # their answer, given by phone
    form_path, form_route = (
        f"/staff/referrals/{reference}/plan/agreement",
        "/staff/referrals/{reference}/plan/agreement",
    )
    assert call("GET", form_path, form_route)["statusCode"] == 200
    version = str(get_one(cloud, reference)["json"]["version"])
    missing = call("POST", form_path, form_route, form={"csrf_token": csrf, "version": version, "decision": "change"})
    assert missing["statusCode"] == 422 and 'href="#reasons"' in missing["body"]
    recorded = call(
        "POST", form_path, form_route, form={"csrf_token": csrf, "version": version, "decision": "agree", "reasons": ""}
    )
    assert recorded["statusCode"] == 303 and recorded["headers"]["Location"].endswith("done=plan-agreed#plan")
    view = get_one(cloud, reference)["json"]
    assert view["status"] == "plan_active"
    assert [a["status"] for a in view["agreements"]] == ["changes_requested", "agreed"]
    assert view["agreements"][1]["recorded_via"] == "coordinator"
