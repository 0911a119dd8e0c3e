"""Connecting a family with the community partners its plan names (issue 10): one connection email per newly named
partner, exactly once, with the family's name only where the family agreed; the partner's answer through its
signed link, recorded once and audited; tampered, reused, expired and replaced links change nothing."""

from __future__ import annotations

import dataclasses
import json
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from infra.constants import CONNECTIONS, FEEDBACK
from infra.local.outbox import sent_emails
from shared.domain import clock
from tests.integration.conftest import Cloud, invoke, link_event
from tests.integration.test_coordination import COORDINATOR, act, get_one
from tests.integration.test_intake import relay_outbox
from tests.integration.test_meetings import availability, book, clock_at, meeting
from tests.integration.test_outcome import agree, outcome
from tests.integration.test_partners import CHURCH, HUB, MEDIATION, add
from tests.integration.test_proposals import sqs_batch
from tests.integration.test_reviews import dated, london_today, record

LINK = re.compile(r"https?://\S+/connections/(\S+)")


@pytest.fixture
def partners(cloud: Cloud) -> dict[str, str]:
    return {key: add(cloud, body)["json"]["partner_id"] for key, body in (("hub", HUB), ("church", CHURCH))}


def plan_naming(partners: dict[str, str], *, share_with: tuple[str, ...] = ()) -> dict[str, Any]:
    return {
        "network_actions": [
            {"who": "Gran (Maureen)", "what": "School pick-ups", "how_often": "Tuesdays"},
            {"who": "Northside Family Hub", "what": "Stay and play sessions", "partner_id": partners["hub"]},
        ],
        "support_package": [
            {
                "category": "item",
                "description": "Sofa bed",
                "estimated_cost_pence": 25000,
                "partner_id": partners["church"],
            }
        ],
        "first_review_due_on": (london_today() + timedelta(days=60)).isoformat(),
        "partner_consent": [
            {"partner_id": partner_id, "share_contact_name": key in share_with} for key, partner_id in partners.items()
        ],
    }


def hold(cloud: Cloud, submit: Any, referral_body: dict[str, Any], plan: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """A referral whose meeting was held yesterday with `plan`, agreed by the lead practitioner (the partners are
    asked then): the outcome's response."""
    availability(cloud, "fac-1")
    past = (datetime.now(UTC) - timedelta(days=1)).replace(hour=10, minute=0, second=0, microsecond=0)
    with clock_at(past - timedelta(days=2)):  # received, and its meeting booked, before the meeting
        reference = submit(referral_body)["json"]["reference"]
        assert book(cloud, reference, meeting(past))["statusCode"] == 200
    held = outcome(cloud, reference, {"held": True, "held_on": past.date().isoformat(), "plan": plan})
    if held["statusCode"] == 200:
        assert agree(cloud, reference)["statusCode"] == 200
    return reference, held


def connection_events(cloud: Cloud, capture: Any) -> list[dict[str, Any]]:
    relay_outbox(cloud)
    return [e for e in capture.received() if e["detail-type"].startswith("Connection")]


def connection_emails() -> dict[str, dict[str, Any]]:
    return {m["to"][0]: m for m in sent_emails() if m["subject"].startswith("Family Network connection")}


def token_in(message: dict[str, Any]) -> str:
    match = LINK.search(message["text"])
    assert match, message["text"]
    return match.group(1)


def open_link(cloud: Cloud, token: str) -> dict[str, Any]:
    return invoke(CONNECTIONS, cloud, link_event(token, "connections"))  # type: ignore[no-any-return]


def answer(cloud: Cloud, token: str, form: dict[str, str]) -> dict[str, Any]:
    return invoke(CONNECTIONS, cloud, link_event(token, "connections", "POST", form))  # type: ignore[no-any-return]


def as_connections_function(cloud: Cloud) -> tuple[Any, Any]:
    """The settings and table reader the connections function has (to call its logic directly)."""
    from shared.adapters.dynamodb import ReferralReader
    from shared.config import get_settings

    cloud.use_environment_of(CONNECTIONS)
    settings = get_settings()
    return settings, ReferralReader(settings.table_name)


def emailed(cloud: Cloud, submit: Any, referral_body: dict[str, Any], partners: dict[str, str]) -> tuple[str, str]:
    """A held meeting whose plan names the hub and the church, the emails sent: the reference and the hub's token."""
    capture = cloud.capture_events()
    reference, _ = hold(cloud, submit, referral_body, plan_naming(partners, share_with=("hub",)))
    invoke(FEEDBACK, cloud, sqs_batch(connection_events(cloud, capture)))
    return reference, token_in(connection_emails()[str(HUB["email"])])


def test_a_plan_naming_two_partners_emails_each_once_with_the_name_only_where_the_family_agreed(
    cloud: Cloud, submit: Any, referral_body: dict[str, Any], partners: dict[str, str]
) -> None:
    capture = cloud.capture_events()
    reference, held = hold(cloud, submit, referral_body, plan_naming(partners, share_with=("hub",)))
    assert held["statusCode"] == 200, held["json"]

    events = connection_events(cloud, capture)
    assert sorted(e["detail"]["data"]["partner_id"] for e in events) == sorted(partners.values())
    for event in events:  # ids, states and dates only
        assert set(event["detail"]["data"]) == {"reference", "partner_id", "connection_id", "requested_on"}
    assert invoke(FEEDBACK, cloud, sqs_batch(events)) == {"batchItemFailures": []}

    sent = connection_emails()
    assert set(sent) == {str(HUB["email"]), str(CHURCH["email"])}
    hub, church = sent[str(HUB["email"])], sent[str(CHURCH["email"])]
    assert hub["subject"] == church["subject"] == f"Family Network connection: {reference}"
    # the emails hold the reference and the link, no name and no plan text (issue 21: the plan travels another way)
    for personal in ("Jo Bloggs", "Stay and play", "Sofa bed", "Maureen"):
        assert personal not in json.dumps(hub) + json.dumps(church), personal
    assert "coordinators@familynet.example.org" in hub["text"]
    assert token_in(hub) != token_in(church)
    # behind each link, what was agreed with that partner, and the name only where the family agreed
    hub_page, church_page = open_link(cloud, token_in(hub))["body"], open_link(cloud, token_in(church))["body"]
    assert "Jo Bloggs" in hub_page and "Stay and play sessions" in hub_page and "Sofa bed" not in hub_page
    assert "Jo Bloggs" not in church_page and "Sofa bed" in church_page and "Stay and play" not in church_page
    assert "Maureen" not in hub_page + church_page  # another action, not theirs

    # Redelivered (the same events again, and a batch with a duplicate): nothing new is sent
    assert invoke(FEEDBACK, cloud, sqs_batch([*events, events[0]])) == {"batchItemFailures": []}
    assert len(connection_emails()) == 2 and len(sent_emails()) == 2

    view = get_one(cloud, reference)["json"]
    assert [(c["partner_id"], c["status"]) for c in view["connections"]] == sorted(
        (p, "requested") for p in partners.values()
    )
    # each opening of a page that shows the family's plan is a read of the case, the partner's
    read_by = sorted(a["actor"] for a in view["accesses"] if a["route"] == "GET /connections/{token}")
    assert read_by == sorted(f"partner:{p}" for p in partners.values())
    [agreed_entry] = [a for a in view["audit"] if a["action"] == "plan.agreed"]  # asked once the plan is agreed
    assert agreed_entry["changes"]["connections_requested"] == sorted(partners.values())
    names = {c["partner_id"]: c["partner_name"] for c in view["connections"]}
    assert names == {partners["hub"]: HUB["name"], partners["church"]: CHURCH["name"]}
    emails = [e for e in view["emails"] if e["recipient_kind"] == "partner"]
    assert sorted(e["to"] for e in emails) == sorted([str(HUB["email"]), str(CHURCH["email"])])
    assert {e["status"] for e in emails} == {"sent"}


def test_a_partners_confirmation_is_recorded_audited_and_told_to_the_coordinators_once(
    cloud: Cloud, submit: Any, referral_body: dict[str, Any], partners: dict[str, str]
) -> None:
    reference, token = emailed(cloud, submit, referral_body, partners)
    capture = cloud.capture_events()

    page = open_link(cloud, token)
    assert page["statusCode"] == 200
    assert "<form" in page["body"] and "Northside Family Hub" in page["body"] and "Jo Bloggs" in page["body"]
    assert get_one(cloud, reference)["json"]["connections"][0]["status"] == "requested"  # a GET changes nothing

    done = answer(cloud, token, {"answer": "contacted", "note": "We rang on Monday."})
    assert done["statusCode"] == 200, done["body"]
    assert "Your answer is recorded" in done["body"]

    view = get_one(cloud, reference)["json"]
    hub = next(c for c in view["connections"] if c["partner_id"] == partners["hub"])
    assert hub["status"] == "contacted" and hub["note"] == "We rang on Monday." and hub["answered_at"]
    church = next(c for c in view["connections"] if c["partner_id"] == partners["church"])
    assert church["status"] == "requested"
    [entry] = [a for a in view["audit"] if a["action"] == "connection.contacted"]
    assert entry["actor"] == f"partner:{partners['hub']}"
    assert entry["changes"]["connection"] == {"partner_id": partners["hub"], "from": "requested", "to": "contacted"}

    [answered] = connection_events(cloud, capture)
    assert answered["detail-type"] == "ConnectionAnswered" and "note" not in answered["detail"]["data"]
    invoke(FEEDBACK, cloud, sqs_batch([answered, answered]))
    [notice] = [m for m in sent_emails() if m["subject"] == f"Partner answered: {reference}"]
    assert notice["to"] == ["coordinators@familynet.example.org"]
    assert "has made contact" in notice["text"] and "We rang on Monday." not in notice["text"]  # on the case page
    assert "left a note" in notice["text"]


def test_reused_tampered_and_expired_links_answer_a_clear_page_and_change_nothing(
    cloud: Cloud, submit: Any, referral_body: dict[str, Any], partners: dict[str, str], monkeypatch: Any
) -> None:
    reference, token = emailed(cloud, submit, referral_body, partners)
    assert answer(cloud, token, {"answer": "declined"})["statusCode"] == 200
    before = [i for i in cloud.items() if i["sk"].startswith(("CONNECTION#", "AUDIT#", "OUTBOX_EVENT#"))]

    reused = answer(cloud, token, {"answer": "contacted"})
    assert reused["statusCode"] == 409 and "already answered" in reused["body"]
    assert open_link(cloud, token)["statusCode"] == 409

    payload, signature = token.split(".")
    forged_payload = payload[:-2] + ("A" if payload[-2] != "A" else "B") + payload[-1]
    for forged in (f"{forged_payload}.{signature}", f"{payload}.{signature[::-1]}", "not-a-token", payload):
        page = answer(cloud, forged, {"answer": "contacted"})
        assert page["statusCode"] == 404 and "This link is not valid" in page["body"], forged

    church_token = token_in(connection_emails()[str(CHURCH["email"])])
    monkeypatch.setattr(clock, "_offset", timedelta(days=29))  # the link worked for 28 days
    expired = answer(cloud, church_token, {"answer": "contacted"})
    assert expired["statusCode"] == 410 and "expired" in expired["body"]
    assert "coordinators@familynet.example.org" in expired["body"]

    after = [i for i in cloud.items() if i["sk"].startswith(("CONNECTION#", "AUDIT#", "OUTBOX_EVENT#"))]
    assert after == before
    statuses = {c["partner_id"]: c["status"] for c in get_one(cloud, reference)["json"]["connections"]}
    assert statuses == {partners["hub"]: "declined", partners["church"]: "requested"}


def test_an_answer_the_partner_must_fix_shows_the_form_again_and_records_nothing(
    cloud: Cloud, submit: Any, referral_body: dict[str, Any], partners: dict[str, str]
) -> None:
    reference, token = emailed(cloud, submit, referral_body, partners)
    for form, field in (
        ({}, "answer"),
        ({"answer": "maybe"}, "answer"),
        ({"answer": "contacted", "note": "x" * 501}, "note"),
    ):
        page = answer(cloud, token, form)
        assert page["statusCode"] == 422 and "There is a problem" in page["body"] and "<form" in page["body"]
        assert f'href="#{field}"' in page["body"] and f'id="{field}-error"' in page["body"]
        assert ("Choose whether you have made contact" if field == "answer" else "500 characters or fewer") in page[
            "body"
        ]
    assert {c["status"] for c in get_one(cloud, reference)["json"]["connections"]} == {"requested"}


def test_a_withdrawn_referral_closes_its_partners_links(
    cloud: Cloud, submit: Any, referral_body: dict[str, Any], partners: dict[str, str]
) -> None:
    reference, token = emailed(cloud, submit, referral_body, partners)
    assert act(cloud, reference, "withdraw", {"reason": "The family moved away."})["statusCode"] == 200
    page = answer(cloud, token, {"answer": "contacted"})
    assert page["statusCode"] == 410 and "no longer open" in page["body"]
    assert {c["status"] for c in get_one(cloud, reference)["json"]["connections"]} == {"requested"}


def test_a_review_that_names_a_new_partner_connects_only_that_one(
    cloud: Cloud, submit: Any, referral_body: dict[str, Any], partners: dict[str, str]
) -> None:
    reference, _ = emailed(cloud, submit, referral_body, partners)
    mediation = add(cloud, MEDIATION)["json"]["partner_id"]
    capture = cloud.capture_events()
    package = [
        {
            "category": "item",
            "description": "Sofa bed",
            "estimated_cost_pence": 25000,
            "partner_id": partners["church"],
        },
        {"category": "service", "description": "Mediation", "estimated_cost_pence": 40000, "partner_id": mediation},
    ]
    missing = record(
        cloud, reference, dated({"outcome": "adjust", "support_package": package, "next_review_due_on": 30})
    )
    assert missing["statusCode"] == 422
    assert (
        missing["json"]["errors"][0]["field"] == "partner_consent"
        and mediation in missing["json"]["errors"][0]["message"]
    )

    body = dated(
        {
            "outcome": "adjust",
            "support_package": package,
            "next_review_due_on": 30,
            "partner_consent": [{"partner_id": mediation, "share_contact_name": True}],
        }
    )
    assert record(cloud, reference, body)["statusCode"] == 200
    [requested] = connection_events(cloud, capture)
    assert requested["detail"]["data"]["partner_id"] == mediation
    assert get_one(cloud, reference)["json"]["audit"][-1]["changes"]["connections_requested"] == [mediation]
    invoke(FEEDBACK, cloud, sqs_batch([requested]))
    sent_to = sorted(m["to"][0] for m in sent_emails() if m["subject"].startswith("Family Network connection"))
    assert sent_to == sorted([str(HUB["email"]), str(CHURCH["email"]), str(MEDIATION["email"])])  # once each
    mediation_email = connection_emails()[str(MEDIATION["email"])]
    assert (
        "Jo Bloggs" not in mediation_email["text"]
        and "Jo Bloggs" in open_link(cloud, token_in(mediation_email))["body"]
    )
    plan = get_one(cloud, reference)["json"]["plan"]
    assert {c["partner_id"]: c["share_contact_name"] for c in plan["partner_consent"]} == {
        partners["hub"]: True,
        partners["church"]: False,
        mediation: True,
    }


@pytest.mark.parametrize(
    "change",
    [
        lambda plan, ids: {**plan, "partner_consent": []},
        lambda plan, ids: {**plan, "partner_consent": [*plan["partner_consent"], plan["partner_consent"][0]]},
        lambda plan, ids: {
            **plan,
            "partner_consent": [*plan["partner_consent"], {"partner_id": "p-0000000000", "share_contact_name": False}],
        },
    ],
    ids=["no-consent", "twice", "unnamed"],
)
def test_a_plan_without_the_familys_answer_for_each_partner_is_refused(
    cloud: Cloud, submit: Any, referral_body: dict[str, Any], partners: dict[str, str], change: Any
) -> None:
    reference, held = hold(cloud, submit, referral_body, change(plan_naming(partners), partners))
    assert held["statusCode"] == 422, held["json"]
    assert get_one(cloud, reference)["json"]["status"] == "meeting_scheduled"
    assert get_one(cloud, reference)["json"]["connections"] == []


def test_a_plan_naming_an_unknown_or_inactive_partner_is_refused(
    cloud: Cloud, submit: Any, referral_body: dict[str, Any], partners: dict[str, str]
) -> None:
    from tests.integration.test_coordination import staff

    inactive = staff(
        cloud, "PUT /partners/{partner_id}", f"/partners/{partners['church']}", body={**CHURCH, "active": False}
    )
    assert inactive["statusCode"] == 200
    reference, held = hold(cloud, submit, referral_body, plan_naming(partners))
    assert held["statusCode"] == 422
    assert held["json"]["errors"] == [
        {
            "field": "partner_id",
            "message": f"{partners['church']} is not an active partner in the directory: choose one from GET /partners",
        }
    ]
    assert get_one(cloud, reference)["json"]["status"] == "meeting_scheduled"


def test_a_partners_bounced_email_is_tracked_and_the_coordinators_are_told_to_fix_the_directory(
    cloud: Cloud, submit: Any, referral_body: dict[str, Any], partners: dict[str, str]
) -> None:
    from tests.integration.test_feedback import ses_event

    reference, _ = emailed(cloud, submit, referral_body, partners)
    [item] = [i for i in cloud.items() if i["kind"] == "email" and i["to"] == HUB["email"]]
    assert item["recipient_kind"] == "partner" and item["status"] == "sent"
    tag = item["sk"].removeprefix("EMAIL#").replace("#", "--")
    bounce = ses_event("Bounce", "Email Bounced", reference, tag, bounce={"bounceType": "Permanent"})

    assert invoke(FEEDBACK, cloud, sqs_batch([bounce, bounce])) == {"batchItemFailures": []}

    [item] = [i for i in cloud.items() if i["kind"] == "email" and i["to"] == HUB["email"]]
    assert item["status"] == "bounced"
    [notice] = [m for m in sent_emails() if m["subject"] == f"Email not delivered: {reference}"]
    assert notice["to"] == ["coordinators@familynet.example.org"]
    assert HUB["email"] in notice["text"] and "the partners' directory" in notice["text"]


def test_the_email_kept_for_subject_access_holds_no_live_link(
    cloud: Cloud, submit: Any, referral_body: dict[str, Any], partners: dict[str, str]
) -> None:
    _, token = emailed(cloud, submit, referral_body, partners)
    kept = [i for i in cloud.items() if i["kind"] == "email" and i["recipient_kind"] == "partner"]
    assert len(kept) == 2
    for item in kept:
        assert "/connections/" not in item["text"] and token not in item["text"]
        assert "[the partner's answer link: not kept]" in item["text"]


def test_partners_a_review_drops_or_a_closed_plan_leaves_stop_waiting_and_their_links_close(
    cloud: Cloud, submit: Any, referral_body: dict[str, Any], partners: dict[str, str]
) -> None:
    capture = cloud.capture_events()
    reference, _ = hold(cloud, submit, referral_body, plan_naming(partners, share_with=("hub",)))
    requested = connection_events(cloud, capture)
    church_event = next(e for e in requested if e["detail"]["data"]["partner_id"] == partners["church"])
    hub_event = next(e for e in requested if e["detail"]["data"]["partner_id"] == partners["hub"])
    invoke(FEEDBACK, cloud, sqs_batch([hub_event]))  # the church's email has not gone out yet
    hub_token = token_in(connection_emails()[str(HUB["email"])])

    dropped = record(cloud, reference, dated({"outcome": "adjust", "support_package": [], "next_review_due_on": 30}))
    assert dropped["statusCode"] == 200, dropped["json"]
    invoke(FEEDBACK, cloud, sqs_batch([church_event]))  # arrives late: the church is no longer in the plan
    assert str(CHURCH["email"]) not in connection_emails()
    view = get_one(cloud, reference)["json"]
    assert {c["partner_id"]: c["status"] for c in view["connections"]} == {
        partners["hub"]: "requested",  # still named by a network action
        partners["church"]: "ended",
    }
    assert view["audit"][-1]["changes"]["connections_ended"] == [partners["church"]]

    closed = record(cloud, reference, dated({"outcome": "close"}))
    assert closed["statusCode"] == 200, closed["json"]
    page = open_link(cloud, hub_token)
    assert page["statusCode"] == 410 and "no longer open" in page["body"]
    assert answer(cloud, hub_token, {"answer": "contacted"})["statusCode"] == 410
    assert {c["status"] for c in get_one(cloud, reference)["json"]["connections"]} == {"ended"}


def test_a_partner_named_again_gets_a_new_link_and_the_old_one_is_closed(
    cloud: Cloud, submit: Any, referral_body: dict[str, Any], partners: dict[str, str]
) -> None:
    reference, _ = emailed(cloud, submit, referral_body, partners)
    old_token = token_in(connection_emails()[str(CHURCH["email"])])
    sofa = {"category": "item", "description": "Sofa bed", "estimated_cost_pence": 25000}
    assert (
        record(cloud, reference, dated({"outcome": "adjust", "support_package": [sofa], "next_review_due_on": 30}))[
            "statusCode"
        ]
        == 200
    )
    capture = cloud.capture_events()
    again = dated(
        {
            "outcome": "adjust",
            "support_package": [{**sofa, "partner_id": partners["church"]}],
            "next_review_due_on": 60,
            "partner_consent": [{"partner_id": partners["church"], "share_contact_name": False}],
        }
    )
    assert record(cloud, reference, again)["statusCode"] == 200
    [requested] = connection_events(cloud, capture)
    invoke(FEEDBACK, cloud, sqs_batch([requested]))
    church_emails = [m for m in sent_emails() if m["to"] == [str(CHURCH["email"])]]
    assert len(church_emails) == 2
    new_token = token_in(church_emails[0])  # newest first
    assert new_token != old_token
    assert answer(cloud, old_token, {"answer": "contacted"})["statusCode"] == 410
    assert answer(cloud, new_token, {"answer": "contacted"})["statusCode"] == 200
    church = next(c for c in get_one(cloud, reference)["json"]["connections"] if c["partner_id"] == partners["church"])
    assert church["round"] == 2 and church["status"] == "contacted"


def test_the_familys_answer_for_a_partner_already_connected_cannot_be_changed_by_a_review(
    cloud: Cloud, submit: Any, referral_body: dict[str, Any], partners: dict[str, str]
) -> None:
    reference, _ = emailed(cloud, submit, referral_body, partners)
    package = [
        {"category": "item", "description": "Sofa bed", "estimated_cost_pence": 25000, "partner_id": partners["church"]}
    ]
    body = dated(
        {
            "outcome": "adjust",
            "support_package": package,
            "next_review_due_on": 30,
            "partner_consent": [{"partner_id": partners["church"], "share_contact_name": True}],
        }
    )
    refused = record(cloud, reference, body)
    assert refused["statusCode"] == 422
    assert refused["json"]["errors"][0]["field"] == "partner_consent"
    plan = get_one(cloud, reference)["json"]["plan"]
    assert {c["partner_id"]: c["share_contact_name"] for c in plan["partner_consent"]}[partners["church"]] is False


def test_an_answer_racing_another_or_a_new_round_changes_nothing(
    cloud: Cloud, submit: Any, referral_body: dict[str, Any], partners: dict[str, str]
) -> None:
    """The answer's own conditions, when something changed between opening the link and answering it."""
    from shared.service import connections

    reference, token = emailed(cloud, submit, referral_body, partners)
    settings, reader = as_connections_function(cloud)
    opened = connections.open_link(token, reader=reader, settings=settings, now=clock.now())
    body = connections.ConnectionAnswer(answer="contacted")
    connections.answer(opened, body, settings=settings, correlation_id="first", now=clock.now())

    with pytest.raises(connections.LinkProblem) as second:  # a double click: opened before the first answer landed
        connections.answer(opened, body, settings=settings, correlation_id="second", now=clock.now())
    assert second.value.reason == "answered"  # 409

    replaced = dataclasses.replace(opened, connection_id="Cfromanotherround")
    with pytest.raises(connections.LinkProblem) as stale:
        connections.answer(replaced, body, settings=settings, correlation_id="stale", now=clock.now())
    assert stale.value.reason == "ended"  # 410
    audit = [a for a in get_one(cloud, reference)["json"]["audit"] if a["action"].startswith("connection.")]
    assert len(audit) == 1


def test_links_signed_with_another_key_or_missing_their_ids_are_not_valid(
    cloud: Cloud, submit: Any, referral_body: dict[str, Any], partners: dict[str, str]
) -> None:
    from shared.domain import links

    reference, _ = emailed(cloud, submit, referral_body, partners)
    now = clock.now()
    foreign = links.sign(
        {"r": reference, "p": partners["hub"], "c": "C0"},
        purpose="connection",
        key=b"x" * 64,
        now=now,
        valid_for=timedelta(days=1),
    )
    assert answer(cloud, foreign, {"answer": "contacted"})["statusCode"] == 404
    from shared.config import get_settings
    from shared.service import connections

    cloud.use_environment_of(CONNECTIONS)
    key = connections.link_key(get_settings())
    for claims in ({"r": reference, "p": partners["hub"]}, {"p": partners["hub"], "c": "C0"}, {}):
        signed = links.sign(claims, purpose="connection", key=key, now=now, valid_for=timedelta(days=1))
        assert answer(cloud, signed, {"answer": "contacted"})["statusCode"] == 404, claims
    # the connection's own ids, signed with the right key for another purpose (a plan's links): not a connection link
    connection_id = next(i for i in cloud.items() if i["sk"] == f"CONNECTION#{partners['hub']}")["connection_id"]
    own = {"r": reference, "p": partners["hub"], "c": connection_id}
    for purpose in ("agreement", "plan"):
        other = links.sign(own, purpose=purpose, key=key, now=now, valid_for=timedelta(days=1))
        assert answer(cloud, other, {"answer": "contacted"})["statusCode"] == 404, purpose
    assert answer(cloud, "abc.\u00e9", {"answer": "contacted"})["statusCode"] == 404
    assert {c["status"] for c in get_one(cloud, reference)["json"]["connections"]} == {"requested"}


def test_a_partner_that_has_not_answered_in_time_is_chased_once_through_the_coordinators(
    cloud: Cloud, submit: Any, referral_body: dict[str, Any], partners: dict[str, str], monkeypatch: Any
) -> None:
    from infra.constants import REMINDERS
    from shared.domain.working_days import add_working_days
    from tests.integration.test_reviews import DAILY, at_day

    reference, hub_token = emailed(cloud, submit, referral_body, partners)
    assert answer(cloud, hub_token, {"answer": "contacted"})["statusCode"] == 200  # the hub answered; the church not
    due = add_working_days(london_today(), 10)
    capture = cloud.capture_events()

    at_day(monkeypatch, due)  # on its day: not yet
    invoke(REMINDERS, cloud, DAILY)
    relay_outbox(cloud)
    assert [e for e in capture.received() if e["detail-type"] == "DeadlineBreached"] == []

    at_day(monkeypatch, due + timedelta(days=1))
    first = invoke(REMINDERS, cloud, DAILY)
    again = invoke(REMINDERS, cloud, DAILY)  # a retried check publishes nothing twice
    relay_outbox(cloud)
    breaches = [e for e in capture.received() if e["detail-type"] == "DeadlineBreached"]
    partner_breaches = [e for e in breaches if e["detail"]["data"]["clock"] == "partner_answer"]
    assert [e["detail"]["data"]["partner_id"] for e in partner_breaches] == [partners["church"]]
    assert partner_breaches[0]["detail"]["data"]["due_on"] == due.isoformat()
    assert (first["breaches"], again["breaches"]) == (1, 0)

    invoke(FEEDBACK, cloud, sqs_batch(partner_breaches))
    [chase] = [m for m in sent_emails() if m["subject"] == f"Deadline missed: {reference}"]
    assert chase["to"] == ["coordinators@familynet.example.org"]
    assert "St Anne's Community Kitchen" in chase["text"] and "target was 10 working days" in chase["text"]
    church = next(c for c in get_one(cloud, reference)["json"]["connections"] if c["partner_id"] == partners["church"])
    assert church["status"] == "requested" and church["chased_on"] == (due + timedelta(days=1)).isoformat()
    # the console lists the partner as not answering until it does (by_deadline's "unanswered" partition)
    from infra.constants import CONSOLE
    from tests.integration.test_console import a_session, console_event

    session, _ = a_session(cloud)

    def unanswered() -> str:
        event = console_event("GET", "/staff", "/staff", session=session, query={"list": "unanswered"})
        return str(invoke(CONSOLE, cloud, event)["body"])

    assert reference in unanswered() and "St Anne&#39;s Community Kitchen" in unanswered()
    church_token = token_in(connection_emails()[str(CHURCH["email"])])
    assert answer(cloud, church_token, {"answer": "declined"})["statusCode"] == 200  # the link still works
    assert reference not in unanswered()
    invoke(FEEDBACK, cloud, sqs_batch([{**partner_breaches[0], "id": "redelivered"}]))
    assert len([m for m in sent_emails() if m["subject"] == f"Deadline missed: {reference}"]) == 1

    # A breach that arrives after the partner answered (the email went out late) chases no one.
    late = {**partner_breaches[0]}
    late["detail"] = {**late["detail"], "metadata": {**late["detail"]["metadata"], "event_id": "late-one"}}
    invoke(FEEDBACK, cloud, sqs_batch([late]))
    assert len([m for m in sent_emails() if m["subject"] == f"Deadline missed: {reference}"]) == 1


def connection_route(cloud: Cloud, reference: str, partner_id: str, body: Any = None, *, resend: bool = False) -> Any:
    from tests.integration.test_coordination import staff

    suffix = "/resend" if resend else ""
    return staff(
        cloud,
        f"POST /referrals/{{reference}}/connections/{{partner_id}}{suffix}",
        f"/referrals/{reference}/connections/{partner_id}{suffix}",
        body=body,
    )


def test_a_coordinator_records_an_answer_given_by_phone_and_the_partners_link_then_says_so(
    cloud: Cloud, submit: Any, referral_body: dict[str, Any], partners: dict[str, str]
) -> None:
    reference, token = emailed(cloud, submit, referral_body, partners)
    recorded = connection_route(cloud, reference, partners["hub"], {"answer": "declined", "note": "Rang: no places."})
    assert recorded["statusCode"] == 200, recorded["json"]
    assert recorded["json"]["status"] == "declined" and recorded["json"]["note"] == "Rang: no places."
    [entry] = [a for a in get_one(cloud, reference)["json"]["audit"] if a["action"] == "connection.declined"]
    assert entry["actor"] == f"coordinator:{COORDINATOR['sub']}"
    assert answer(cloud, token, {"answer": "contacted"})["statusCode"] == 409

    again = connection_route(cloud, reference, partners["hub"], {"answer": "contacted"})
    assert again["statusCode"] == 409 and "declined" in again["json"]["message"]
    assert connection_route(cloud, reference, "p-0000000000", {"answer": "contacted"})["statusCode"] == 404
    assert connection_route(cloud, reference, partners["church"], {"answer": "maybe"})["statusCode"] == 422


def test_a_coordinator_asks_a_partner_again_after_fixing_its_address_and_only_the_new_link_works(
    cloud: Cloud, submit: Any, referral_body: dict[str, Any], partners: dict[str, str]
) -> None:
    from tests.integration.test_coordination import staff

    reference, _ = emailed(cloud, submit, referral_body, partners)
    old_token = token_in(connection_emails()[str(CHURCH["email"])])
    fixed = {**CHURCH, "email": "kitchen-team@stannes.example.org"}
    assert (
        staff(cloud, "PUT /partners/{partner_id}", f"/partners/{partners['church']}", body=fixed)["statusCode"] == 200
    )
    capture = cloud.capture_events()

    resent = connection_route(cloud, reference, partners["church"], resend=True)
    assert resent["statusCode"] == 200, resent["json"]
    assert resent["json"]["round"] == 2 and resent["json"]["status"] == "requested"
    [requested] = connection_events(cloud, capture)
    invoke(FEEDBACK, cloud, sqs_batch([requested, requested]))
    [new_email] = [m for m in sent_emails() if m["to"] == ["kitchen-team@stannes.example.org"]]
    assert "Jo Bloggs" not in open_link(cloud, token_in(new_email))["body"]  # the family's answer (not shared) stands
    assert answer(cloud, old_token, {"answer": "contacted"})["statusCode"] == 410
    assert answer(cloud, token_in(new_email), {"answer": "contacted"})["statusCode"] == 200
    assert "connection.resent" in [a["action"] for a in get_one(cloud, reference)["json"]["audit"]]
    assert connection_route(cloud, reference, partners["church"], resend=True)["statusCode"] == 409  # answered
    inactive = {**HUB, "active": False}
    assert (
        staff(cloud, "PUT /partners/{partner_id}", f"/partners/{partners['hub']}", body=inactive)["statusCode"] == 200
    )
    refused = connection_route(cloud, reference, partners["hub"], resend=True)
    assert refused["statusCode"] == 422 and "no longer active" in refused["json"]["message"]


def test_the_permission_guard_fails_a_call_the_functions_role_does_not_allow(
    cloud: Cloud, submit: Any, referral_body: dict[str, Any], partners: dict[str, str]
) -> None:
    """The guard every integration test relies on, shown to bite: without ConditionCheckItem in its role, the
    scheduling function's plan naming a partner is refused, as IAM would refuse it in AWS (moto would not)."""
    assert cloud.permissions.actions == {"dynamodb:PutItem"}  # the last call recorded: adding the church
    body = cloud.provisioned.template.body
    for resource in body["Resources"].values():
        if resource["Type"] == "AWS::IAM::Policy":
            for statement in resource["Properties"]["PolicyDocument"]["Statement"]:
                if isinstance(statement["Action"], list) and "dynamodb:ConditionCheckItem" in statement["Action"]:
                    statement["Action"].remove("dynamodb:ConditionCheckItem")
    with pytest.raises(AssertionError, match=r"scheduling's role does not allow \['dynamodb:ConditionCheckItem'\]"):
        hold(cloud, submit, referral_body, plan_naming(partners))


def test_asking_a_partner_again_never_overwrites_an_answer_that_landed_meanwhile(
    cloud: Cloud, submit: Any, referral_body: dict[str, Any], partners: dict[str, str]
) -> None:
    from shared.adapters.dynamodb import Cancelled, transact
    from shared.service import connections

    reference, token = emailed(cloud, submit, referral_body, partners)
    settings, reader = as_connections_function(cloud)
    read_before = reader.partition(reference)  # a coordinator's resend reads the connection waiting...
    assert answer(cloud, token, {"answer": "contacted"})["statusCode"] == 200  # ...the partner answers...
    cloud.use_environment_of(CONNECTIONS)
    again = connections.request_connections(  # ...and the resend's write, from what it read, is refused
        reference,
        {partners["hub"]},
        consents={partners["hub"]: True},
        existing=read_before,
        reader=reader,
        settings=settings,
        correlation_id="resend",
        now=clock.now(),
    )
    with pytest.raises(Cancelled):
        transact(again.writes, settings.table_name)
    hub = next(c for c in get_one(cloud, reference)["json"]["connections"] if c["partner_id"] == partners["hub"])
    assert (hub["status"], hub["round"]) == ("contacted", 1)


@pytest.mark.parametrize("token", ['a"b', "<script>", "a b", "abc.\u00e9", "x" * 1100, "%00"])
def test_a_link_with_characters_no_link_has_is_the_invalid_link_page(cloud: Cloud, token: str) -> None:
    for page in (open_link(cloud, token), answer(cloud, token, {"answer": "contacted"})):
        assert page["statusCode"] == 404 and "This link is not valid" in page["body"], token
        assert page["headers"]["Content-Type"].startswith("text/html")
        assert "frame-ancestors 'none'" in page["headers"]["Content-Security-Policy"]
    assert not [i for i in cloud.items() if i["sk"].startswith(("CONNECTION#", "AUDIT#"))]
