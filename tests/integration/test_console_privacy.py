"""A referral's partner connections and the managers' privacy actions on the console (issue 19, items 5 and 6), on
moto through the console function: a coordinator records a partner's answer by phone and asks one again; only a
manager exports (a page and a JSON download, each in the read audit) and erases, on a ground."""

from __future__ import annotations

import json
from typing import Any

from infra.constants import CONSOLE
from tests.integration.conftest import Cloud, invoke
from tests.integration.test_connections import hold, plan_naming
from tests.integration.test_console import a_session, console_event, referral_item
from tests.integration.test_partners import CHURCH, HUB, add

MANAGERS = ("managers",)


def call(cloud: Cloud, method: str, path: str, route: str, session: str, **kwargs: Any) -> dict[str, Any]:
    event = console_event(method, path, route, session=session, **kwargs)
    return invoke(CONSOLE, cloud, event)  # type: ignore[no-any-return]


def test_a_coordinator_records_a_partners_answer_by_phone_and_asks_another_again(
    cloud: Cloud, submit: Any, referral_body: dict[str, Any]
) -> None:
    partners = {key: add(cloud, body)["json"]["partner_id"] for key, body in (("hub", HUB), ("church", CHURCH))}
    reference, _ = hold(cloud, submit, referral_body, plan_naming(partners))
    session, token = a_session(cloud)
    hub, church = partners["hub"], partners["church"]
    route = "/staff/referrals/{reference}/connections/{partner_id}"
    case = call(
        cloud,
        "GET",
        f"/staff/referrals/{reference}",
        "/staff/referrals/{reference}",
        session,
        parameters={"reference": reference},
    )
    assert f"/staff/referrals/{reference}/connections/{hub}" in case["body"]

    params = {"reference": reference, "partner_id": hub}
    path = f"/staff/referrals/{reference}/connections/{hub}"
    opened = call(cloud, "GET", path, route, session, parameters=params)
    assert opened["statusCode"] == 200 and "Record answer" in opened["body"]
    unanswered = call(cloud, "POST", path, route, session, parameters=params, form={"csrf_token": token})
    assert unanswered["statusCode"] == 422 and 'href="#answer"' in unanswered["body"]

    recorded = call(
        cloud,
        "POST",
        path,
        route,
        session,
        parameters=params,
        form={"csrf_token": token, "answer": "declined", "note": "Rang: no places until spring."},
    )
    assert recorded["statusCode"] == 303
    assert recorded["headers"]["Location"] == f"/staff/referrals/{reference}?done=partner-answered#plan"
    [connection] = [i for i in cloud.items() if i["pk"] == f"REFERRAL#{reference}" and i["sk"] == f"CONNECTION#{hub}"]
    assert connection["status"] == "declined"
    [entry] = [
        i for i in cloud.items() if i["pk"] == f"REFERRAL#{reference}" and i.get("action") == "connection.declined"
    ]
    assert entry["actor"] == "coordinator:sub-alex"
    again = call(
        cloud, "POST", path, route, session, parameters=params, form={"csrf_token": token, "answer": "contacted"}
    )
    assert again["statusCode"] == 409 and "Not changed" in again["body"]

    resent = call(
        cloud,
        "POST",
        f"/staff/referrals/{reference}/connections/{church}/resend",
        route + "/resend",
        session,
        parameters={"reference": reference, "partner_id": church},
        form={"csrf_token": token},
    )
    assert resent["statusCode"] == 303
    [connection] = [
        i for i in cloud.items() if i["pk"] == f"REFERRAL#{reference}" and i["sk"] == f"CONNECTION#{church}"
    ]
    assert connection["round"] == 2 and connection["status"] == "requested"


def test_a_coordinator_sees_no_privacy_buttons_and_is_refused_export_and_erasure(
    cloud: Cloud, submit: Any, referral_body: dict[str, Any]
) -> None:
    reference = str(submit({**referral_body, "route": "professional_request"})["json"]["reference"])
    session, token = a_session(cloud)
    params = {"reference": reference}

    case = call(
        cloud, "GET", f"/staff/referrals/{reference}", "/staff/referrals/{reference}", session, parameters=params
    )
    refused = [
        call(
            cloud,
            "GET",
            f"/staff/referrals/{reference}/export",
            "/staff/referrals/{reference}/export",
            session,
            parameters=params,
        ),
        call(
            cloud,
            "GET",
            f"/staff/referrals/{reference}/export/download",
            "/staff/referrals/{reference}/export/download",
            session,
            parameters=params,
        ),
        call(
            cloud,
            "GET",
            f"/staff/referrals/{reference}/erase",
            "/staff/referrals/{reference}/erase",
            session,
            parameters=params,
        ),
        call(
            cloud,
            "POST",
            f"/staff/referrals/{reference}/erase",
            "/staff/referrals/{reference}/erase",
            session,
            parameters=params,
            form={"csrf_token": token, "ground": "consent_withdrawn"},
        ),
    ]

    assert case["statusCode"] == 200 and "/export" not in case["body"] and "/erase" not in case["body"]
    assert [answer["statusCode"] for answer in refused] == [403, 403, 403, 403]
    assert all("Only managers can export or erase" in answer["body"] for answer in refused)
    assert referral_item(cloud, reference)["submission"] != "[erased]"
    routes = [i["route"] for i in cloud.items() if i["pk"] == f"REFERRAL#{reference}" and i.get("kind") == "access"]
    assert routes == ["GET /staff/referrals/{reference}"]  # the refused exports read nothing


def test_a_manager_exports_a_referral_as_a_page_and_a_download_each_read_audited_then_erases_it(
    cloud: Cloud, submit: Any, referral_body: dict[str, Any]
) -> None:
    reference = str(submit({**referral_body, "route": "professional_request"})["json"]["reference"])
    session, token = a_session(cloud, groups=MANAGERS)
    params = {"reference": reference}
    case = call(
        cloud, "GET", f"/staff/referrals/{reference}", "/staff/referrals/{reference}", session, parameters=params
    )
    assert (
        f"/staff/referrals/{reference}/export" in case["body"] and f"/staff/referrals/{reference}/erase" in case["body"]
    )

    shown = call(
        cloud,
        "GET",
        f"/staff/referrals/{reference}/export",
        "/staff/referrals/{reference}/export",
        session,
        parameters=params,
    )
    download = call(
        cloud,
        "GET",
        f"/staff/referrals/{reference}/export/download",
        "/staff/referrals/{reference}/export/download",
        session,
        parameters=params,
    )

    assert shown["statusCode"] == 200 and "Everything held about" in shown["body"]
    assert referral_body["family"]["contact_name"] in shown["body"]
    assert download["statusCode"] == 200 and download["headers"]["Content-Type"] == "application/json"
    assert download["headers"]["Content-Disposition"] == f'attachment; filename="{reference}-subject-access.json"'
    document = json.loads(download["body"])
    assert document["reference"] == reference and document["referral"]["submission"]["family"]
    routes = [i["route"] for i in cloud.items() if i["pk"] == f"REFERRAL#{reference}" and i.get("kind") == "access"]
    assert sorted(routes) == sorted(
        [
            "GET /staff/referrals/{reference}",
            "GET /staff/referrals/{reference}/export",
            "GET /staff/referrals/{reference}/export/download",
        ]
    )

    erase_route = "/staff/referrals/{reference}/erase"
    path = f"/staff/referrals/{reference}/erase"
    no_ground = call(cloud, "POST", path, erase_route, session, parameters=params, form={"csrf_token": token})
    assert no_ground["statusCode"] == 422 and 'href="#ground"' in no_ground["body"]
    erased = call(
        cloud,
        "POST",
        path,
        erase_route,
        session,
        parameters=params,
        form={"csrf_token": token, "ground": "consent_withdrawn"},
    )
    assert erased["statusCode"] == 303 and erased["headers"]["Location"] == f"/staff/referrals/{reference}?done=erased"
    assert referral_item(cloud, reference)["submission"] == "[erased]"
    after = call(
        cloud,
        "GET",
        f"/staff/referrals/{reference}",
        "/staff/referrals/{reference}",
        session,
        parameters=params,
        query={"done": "erased"},
    )
    assert after["statusCode"] == 200 and "Personal data erased" in after["body"]
    assert referral_body["family"]["contact_name"] not in after["body"]


def test_erasure_that_does_not_apply_is_refused_in_words_on_the_case_page(
    cloud: Cloud, submit: Any, referral_body: dict[str, Any]
) -> None:
    reference = str(submit(referral_body)["json"]["reference"])  # a lead practitioner's: accepted, worked on
    session, token = a_session(cloud, groups=MANAGERS)

    refused = call(
        cloud,
        "POST",
        f"/staff/referrals/{reference}/erase",
        "/staff/referrals/{reference}/erase",
        session,
        parameters={"reference": reference},
        form={"csrf_token": token, "ground": "objection"},
    )

    assert refused["statusCode"] == 409 and "erasure does not apply" in refused["body"]
    assert referral_item(cloud, reference)["submission"] != "[erased]"
