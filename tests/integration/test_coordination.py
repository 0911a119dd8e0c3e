"""The coordinators' routes through the scheduling handler, against moto wired from the synthesized template."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from infra.constants import SCHEDULING
from shared.domain.events import parse_detail
from tests.integration.conftest import Cloud, invoke
from tests.integration.test_intake import relay_outbox

COORDINATOR = {"sub": "c0ffee00-0000-4000-8000-000000000001", "cognito:groups": "[coordinators]"}
MANAGER = {"sub": "m0ffee00-0000-4000-8000-000000000009", "cognito:groups": "[managers]"}  # export and erasure


def staff(
    cloud: Cloud,
    route_key: str,
    path: str,
    *,
    body: Any = None,
    query: dict[str, str] | None = None,
    claims: dict[str, Any] | None = COORDINATOR,
    headers: dict[str, str] | None = None,
) -> dict[str, Any]:
    method = route_key.split(" ", 1)[0]
    context: dict[str, Any] = {
        "http": {"method": method, "path": path, "protocol": "HTTP/1.1", "sourceIp": "127.0.0.1", "userAgent": "t"},
        "requestId": "req-staff",
        "routeKey": route_key,
        "stage": "$default",
        "timeEpoch": 0,
    }
    if claims is not None:
        context["authorizer"] = {"jwt": {"claims": claims, "scopes": None}}
    event = {
        "version": "2.0",
        "routeKey": route_key,
        "rawPath": path,
        "rawQueryString": "&".join(f"{k}={v}" for k, v in (query or {}).items()),
        "headers": {"content-type": "application/json", **(headers or {})},
        "queryStringParameters": query,
        "requestContext": context,
        "body": json.dumps(body) if body is not None else None,
        "isBase64Encoded": False,
    }
    response: dict[str, Any] = invoke(SCHEDULING, cloud, event)
    is_json = "json" in str((response.get("headers") or {}).get("Content-Type", "application/json"))
    response["json"] = json.loads(response["body"]) if response.get("body") and is_json else None
    return response


def get_one(cloud: Cloud, reference: str, **kwargs: Any) -> dict[str, Any]:
    return staff(cloud, "GET /referrals/{reference}", f"/referrals/{reference}", **kwargs)


def act(cloud: Cloud, reference: str, action: str, body: Any = None, **kwargs: Any) -> dict[str, Any]:
    return staff(
        cloud, f"POST /referrals/{{reference}}/{action}", f"/referrals/{reference}/{action}", body=body, **kwargs
    )


def request_from_school(submit: Any, referral_body: dict[str, Any], n: int = 0) -> str:
    body = {**referral_body, "route": "professional_request", "reason": f"Request number {n}."}
    return str(submit(body)["json"]["reference"])


def test_the_queue_lists_a_state_newest_first_page_by_page(
    cloud: Cloud, submit: Any, referral_body: dict[str, Any]
) -> None:
    references = [request_from_school(submit, referral_body, n) for n in range(5)]
    submit(referral_body)  # a lead practitioner's referral: accepted at once, not in the received queue

    first = staff(cloud, "GET /referrals", "/referrals", query={"status": "received", "limit": "2"})
    assert first["statusCode"] == 200
    seen = [item["reference"] for item in first["json"]["items"]]
    cursor = first["json"]["next_cursor"]
    while cursor:
        page = staff(
            cloud, "GET /referrals", "/referrals", query={"status": "received", "limit": "2", "cursor": cursor}
        )
        seen += [item["reference"] for item in page["json"]["items"]]
        cursor = page["json"]["next_cursor"]
    assert sorted(seen) == sorted(references)
    received_at = [item["received_at"] for item in first["json"]["items"]]
    assert received_at == sorted(received_at, reverse=True)
    item = first["json"]["items"][0]
    assert set(item) == {
        "reference",
        "route",
        "status",
        "received_at",
        "updated_at",
        "organisation",
        "children",
        "version",
    }
    accepted = staff(cloud, "GET /referrals", "/referrals", query={"status": "accepted"})
    assert len(accepted["json"]["items"]) == 1


def test_one_referral_comes_whole_with_what_may_be_done_next(
    cloud: Cloud, submit: Any, referral_body: dict[str, Any]
) -> None:
    reference = request_from_school(submit, referral_body)
    response = get_one(cloud, reference)
    assert response["statusCode"] == 200
    assert response["headers"]["ETag"] == '"1"'
    view = response["json"]
    assert view["status"] == "received"
    assert view["allowed_actions"] == ["accept", "decline", "withdraw"]
    assert view["submission"]["family"]["postcode"] == "SW1A 1AA"
    assert [entry["action"] for entry in view["audit"]] == ["referral.received"]
    assert (view["meeting"], view["plan"], view["proposals"], view["reviews"], view["emails"]) == (
        None,
        None,
        None,
        [],
        [],
    )


def test_accepting_a_request_is_audited_and_announced(cloud: Cloud, submit: Any, referral_body: dict[str, Any]) -> None:
    reference = request_from_school(submit, referral_body)
    relay_outbox(cloud)
    capture = cloud.capture_events()

    response = act(cloud, reference, "accept")

    assert response["statusCode"] == 200
    assert response["json"] == {"reference": reference, "status": "accepted", "version": 2}
    assert response["headers"]["ETag"] == '"2"'
    view = get_one(cloud, reference)["json"]
    assert view["status"] == "accepted"
    last = view["audit"][-1]
    assert last["actor"] == f"coordinator:{COORDINATOR['sub']}"
    assert last["changes"]["status"] == {"from": "received", "to": "accepted"}
    relay_outbox(cloud)
    [event] = capture.received()
    detail = parse_detail(event["detail-type"], event["detail"])
    assert event["detail-type"] == "ReferralAccepted"
    assert detail.data.reference == reference and detail.data.automatic is False  # type: ignore[attr-defined]


def test_a_decline_needs_a_reason_which_stays_out_of_the_event(
    cloud: Cloud, submit: Any, referral_body: dict[str, Any]
) -> None:
    reference = request_from_school(submit, referral_body)
    relay_outbox(cloud)
    capture = cloud.capture_events()
    assert act(cloud, reference, "decline", {})["statusCode"] == 422
    assert act(cloud, reference, "decline", {"reason": "   "})["statusCode"] == 422

    response = act(cloud, reference, "decline", {"reason": "The family already has a plan with Early Help."})

    assert response["json"]["status"] == "declined"
    view = get_one(cloud, reference)["json"]
    assert view["decision"]["reason"] == "The family already has a plan with Early Help."
    assert view["allowed_actions"] == []
    relay_outbox(cloud)
    [event] = capture.received()
    assert event["detail-type"] == "ReferralDeclined"
    assert "Early Help" not in json.dumps(event)


def test_an_illegal_decision_answers_409_with_the_state_and_what_is_allowed(
    cloud: Cloud, submit: Any, referral_body: dict[str, Any]
) -> None:
    reference = submit(referral_body)["json"]["reference"]  # accepted at intake
    response = act(cloud, reference, "decline", {"reason": "Too late"})
    assert response["statusCode"] == 409
    assert response["json"]["current_status"] == "accepted"
    assert response["json"]["allowed_actions"] == [
        "withdraw",
        "record_contact",
        "record_family_decision",
        "update_checklist",
        "record_child_voice",
    ]
    assert "cannot be declined" in response["json"]["message"]
    withdrawn = act(cloud, reference, "withdraw", {"reason": "The family moved away."})
    assert withdrawn["json"]["status"] == "withdrawn"
    again = act(cloud, reference, "withdraw", {"reason": "Twice"})
    assert again["statusCode"] == 409 and again["json"]["allowed_actions"] == []


def test_a_change_based_on_a_stale_read_is_refused(cloud: Cloud, submit: Any, referral_body: dict[str, Any]) -> None:
    reference = request_from_school(submit, referral_body)
    etag = get_one(cloud, reference)["headers"]["ETag"]
    assert act(cloud, reference, "accept", headers={"if-match": etag})["statusCode"] == 200
    stale = act(cloud, reference, "withdraw", {"reason": "Family asked"}, headers={"if-match": etag})
    assert stale["statusCode"] == 409
    assert "changed since you read it" in stale["json"]["message"]
    assert get_one(cloud, reference)["json"]["status"] == "accepted"
    assert act(cloud, reference, "accept", headers={"if-match": "soon"})["statusCode"] == 400


def test_two_coordinators_deciding_at_once_apply_exactly_one_decision(
    cloud: Cloud, submit: Any, referral_body: dict[str, Any]
) -> None:
    reference = request_from_school(submit, referral_body)
    decisions = [("accept", None), ("decline", {"reason": "Not eligible"})]
    with ThreadPoolExecutor(max_workers=2) as pool:
        responses = list(pool.map(lambda d: act(cloud, reference, d[0], d[1]), decisions))
    assert sorted(r["statusCode"] for r in responses) == [200, 409]
    view = get_one(cloud, reference)["json"]
    assert view["version"] == 2
    assert len([entry for entry in view["audit"] if entry["actor"].startswith("coordinator:")]) == 1


def test_only_coordinators_get_in(cloud: Cloud, submit: Any, referral_body: dict[str, Any]) -> None:
    reference = request_from_school(submit, referral_body)
    assert get_one(cloud, reference, claims=None)["statusCode"] == 401
    outsider = {"sub": "someone", "cognito:groups": "[facilitators]"}
    assert get_one(cloud, reference, claims=outsider)["statusCode"] == 403
    assert act(cloud, reference, "accept", claims={"sub": "x"})["statusCode"] == 403
    assert get_one(cloud, reference)["json"]["status"] == "received"


@pytest.mark.parametrize(
    ("route_key", "path", "query", "status"),
    [
        ("GET /referrals/{reference}", "/referrals/FN-ZZZZZZZZ", None, 404),
        ("GET /referrals/{reference}", "/referrals/not-a-reference", None, 404),
        ("GET /referrals", "/referrals", {"status": "lost"}, 400),
        ("GET /referrals", "/referrals", {"limit": "0"}, 400),
        ("GET /referrals", "/referrals", {"limit": "many"}, 400),
        ("GET /referrals", "/referrals", {"cursor": "bm90IGEgY3Vyc29y"}, 400),
        ("POST /referrals/{reference}/accept", "/referrals/FN-ZZZZZZZZ/accept", None, 404),
    ],
)
def test_bad_requests_get_a_clear_4xx(cloud: Cloud, route_key: str, path: str, query: Any, status: int) -> None:
    response = staff(cloud, route_key, path, query=query)
    assert response["statusCode"] == status
    assert response["json"]["message"]


def test_a_decision_body_with_unknown_fields_is_refused(
    cloud: Cloud, submit: Any, referral_body: dict[str, Any]
) -> None:
    reference = request_from_school(submit, referral_body)
    response = act(cloud, reference, "accept", {"status": "closed"})
    assert response["statusCode"] == 422
    assert response["json"]["errors"][0]["field"] == "status"
    assert act(cloud, reference, "accept", {"reason": "Looks fine"})["statusCode"] == 422
