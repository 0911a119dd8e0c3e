"""Facilitators and partners on the console (issue 19, items 4 and 5), on moto through the console function (its IAM
guard refuses any call its role does not allow: the directory is read with Queries of its index, never a Scan)."""

from __future__ import annotations

import re
import urllib.parse
from typing import Any

from infra.constants import CONSOLE
from tests.integration.conftest import Cloud, invoke
from tests.integration.test_console import a_session, console_event

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday")


def get(cloud: Cloud, session: str, path: str, route: str, **kwargs: Any) -> dict[str, Any]:
    return invoke(CONSOLE, cloud, console_event("GET", path, route, session=session, **kwargs))  # type: ignore[no-any-return]


def post(cloud: Cloud, session: str, path: str, route: str, form: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
    """A form post; a list value is sent as its field repeated (ticked checkboxes)."""
    event = console_event("POST", path, route, session=session, form={}, **kwargs)
    event["body"] = urllib.parse.urlencode(form, doseq=True)
    return invoke(CONSOLE, cloud, event)  # type: ignore[no-any-return]


def facilitator_form(token: str, **overrides: str) -> dict[str, str]:
    return {
        "csrf_token": token,
        "name": "Robin Ellis",
        "email": "robin.ellis@council.example.gov.uk",
        "localities": "North, Central",
        **{f"hours_{day}": "09:00-17:00" for day in WEEKDAYS},
        **overrides,
    }


def test_a_facilitator_added_on_screen_gives_a_waiting_referral_its_proposal(
    cloud: Cloud, submit: Any, referral_body: dict[str, Any]
) -> None:
    reference = str(submit(referral_body)["json"]["reference"])  # a lead practitioner's: accepted, no facilitator
    session, token = a_session(cloud)

    added = post(cloud, session, "/staff/facilitators/new", "/staff/facilitators/new", facilitator_form(token))

    assert added["statusCode"] == 303 and added["headers"]["Location"] == "/staff/facilitators?done=added"
    [facilitator] = [i for i in cloud.items() if i.get("kind") == "facilitator"]
    assert re.fullmatch(r"f-[0-9a-f]{8}", facilitator["facilitator_id"])  # never made from the name
    assert facilitator["name"] == "Robin Ellis" and facilitator["localities"] == ["North", "Central"]
    assert facilitator["locality"] == "North" and len(facilitator["weekly"]) == 5
    [proposal] = [i for i in cloud.items() if i["pk"] == f"REFERRAL#{reference}" and i.get("kind") == "proposals"]
    assert proposal["facilitator_id"] == facilitator["facilitator_id"] and proposal["slots"]
    listed = get(cloud, session, "/staff/facilitators", "/staff/facilitators", query={"done": "added"})
    assert listed["statusCode"] == 200
    assert "Robin Ellis" in listed["body"] and "Monday 09:00-17:00" in listed["body"]


def test_a_facilitator_form_with_problems_shows_them_and_keeps_the_answers(cloud: Cloud) -> None:
    session, token = a_session(cloud)
    form = facilitator_form(token, name="", email="not an email", hours_monday="9 till 5")

    refused = post(cloud, session, "/staff/facilitators/new", "/staff/facilitators/new", form)

    assert refused["statusCode"] == 422
    body = refused["body"]
    assert "govuk-error-summary" in body
    assert 'href="#name"' in body and 'href="#email"' in body and 'href="#hours_monday"' in body
    assert 'value="9 till 5"' in body and 'value="North, Central"' in body
    assert not [i for i in cloud.items() if i.get("kind") == "facilitator"]


def test_a_facilitator_is_changed_with_the_version_read_and_a_stale_change_is_refused(cloud: Cloud) -> None:
    session, token = a_session(cloud)
    post(cloud, session, "/staff/facilitators/new", "/staff/facilitators/new", facilitator_form(token))
    [item] = [i for i in cloud.items() if i.get("kind") == "facilitator"]
    fid = item["facilitator_id"]
    path, route, params = f"/staff/facilitators/{fid}", "/staff/facilitators/{facilitator_id}", {"facilitator_id": fid}
    opened = get(cloud, session, path, route, parameters=params)
    assert opened["statusCode"] == 200 and 'value="09:00-17:00"' in opened["body"]

    changed = post(
        cloud,
        session,
        path,
        route,
        facilitator_form(token, version="1", hours_saturday="10:00-12:00"),
        parameters=params,
    )
    stale = post(cloud, session, path, route, facilitator_form(token, version="1"), parameters=params)

    assert changed["statusCode"] == 303
    [item] = [i for i in cloud.items() if i.get("kind") == "facilitator"]
    assert item["version"] == 2 and {"day": "saturday", "start": "10:00:00", "end": "12:00:00"} in item["weekly"]
    assert stale["statusCode"] == 409 and "Someone changed this facilitator" in stale["body"]
    unknown = get(cloud, session, "/staff/facilitators/f-00000000", route, parameters={"facilitator_id": "f-00000000"})
    assert unknown["statusCode"] == 404


def partner_form(token: str, **overrides: Any) -> dict[str, Any]:
    return {
        "csrf_token": token,
        "name": "Northside Food Bank",
        "kind": "charity",
        "offers[]": ["items", "practical_support"],
        "localities": "North",
        "email": "hello@northside.example.org",
        **overrides,
    }


def partners_page(cloud: Cloud, session: str, **query: str) -> str:
    answer = get(cloud, session, "/staff/partners", "/staff/partners", query=query)
    assert answer["statusCode"] == 200
    return str(answer["body"])


def test_a_partner_is_added_found_by_filter_changed_and_deactivated(cloud: Cloud) -> None:
    session, token = a_session(cloud)
    added = post(cloud, session, "/staff/partners/new", "/staff/partners/new", partner_form(token))
    other = partner_form(token, name="Central Counselling", **{"offers[]": "counselling"}, localities="Central")
    post(cloud, session, "/staff/partners/new", "/staff/partners/new", other)

    assert added["statusCode"] == 303 and added["headers"]["Location"] == "/staff/partners?done=partner-added"
    by_offer = partners_page(cloud, session, offer="items")
    assert "Northside Food Bank" in by_offer and "Central Counselling" not in by_offer
    by_locality = partners_page(cloud, session, locality="central")
    assert "Central Counselling" in by_locality and "Northside Food Bank" not in by_locality
    assert "No active partner matches" in partners_page(cloud, session, offer="counselling", locality="North")

    [partner] = [i for i in cloud.items() if i.get("kind") == "partner" and i["name"] == "Northside Food Bank"]
    pid = partner["partner_id"]
    path, route, params = f"/staff/partners/{pid}", "/staff/partners/{partner_id}", {"partner_id": pid}
    assert 'value="items" checked' in get(cloud, session, path, route, parameters=params)["body"]
    changed = post(
        cloud, session, path, route, partner_form(token, version="1", localities="North, Central"), parameters=params
    )
    assert changed["statusCode"] == 303
    assert "Northside Food Bank" in partners_page(cloud, session, locality="Central")

    deactivated = post(
        cloud,
        session,
        f"{path}/deactivate",
        route + "/deactivate",
        {"csrf_token": token, "version": "2"},
        parameters=params,
    )
    assert deactivated["statusCode"] == 303
    assert deactivated["headers"]["Location"] == "/staff/partners?done=partner-deactivated"
    assert "Northside Food Bank" not in partners_page(cloud, session)
    [partner] = [i for i in cloud.items() if i.get("kind") == "partner" and i["partner_id"] == pid]
    assert partner["active"] is False and partner["version"] == 3  # kept, never deleted
    audit = [i["action"] for i in cloud.items() if i["pk"] == f"PARTNER#{pid}" and i.get("kind") == "audit"]
    assert sorted(audit) == ["partner.added", "partner.changed", "partner.deactivated"]


def test_a_partner_form_with_problems_shows_them_and_keeps_the_answers(cloud: Cloud) -> None:
    session, token = a_session(cloud)
    form = partner_form(token, kind="", email="nope", **{"offers[]": []})

    refused = post(cloud, session, "/staff/partners/new", "/staff/partners/new", form)

    assert refused["statusCode"] == 422
    assert all(f'href="#{name}"' in refused["body"] for name in ("kind", "offers", "email"))
    assert 'value="Northside Food Bank"' in refused["body"]
    assert not [i for i in cloud.items() if i.get("kind") == "partner"]


def test_the_apis_availability_route_keeps_what_the_console_named_and_the_console_sees_its_change(cloud: Cloud) -> None:
    from tests.integration.test_meetings import availability

    session, token = a_session(cloud)
    post(cloud, session, "/staff/facilitators/new", "/staff/facilitators/new", facilitator_form(token))
    [item] = [i for i in cloud.items() if i.get("kind") == "facilitator"]
    fid = item["facilitator_id"]

    changed = availability(cloud, fid, locality="Central")

    assert changed["statusCode"] == 200 and changed["json"]["name"] == "Robin Ellis"
    [item] = [i for i in cloud.items() if i.get("kind") == "facilitator"]
    assert item["name"] == "Robin Ellis" and item["localities"] == ["Central", "North"] and item["version"] == 2
    stale = post(
        cloud,
        session,
        f"/staff/facilitators/{fid}",
        "/staff/facilitators/{facilitator_id}",
        facilitator_form(token, version="1"),
        parameters={"facilitator_id": fid},
    )
    assert stale["statusCode"] == 409  # the console's form was read before the API's change
