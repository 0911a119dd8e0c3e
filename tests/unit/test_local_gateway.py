"""The local gateway's reading of HTTP API routes, and its translation to and from payload 2.0."""

from __future__ import annotations

import base64
import json
from typing import Any

from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Request

from infra.local.gateway import api_event, lambda_response, routes_of
from infra.local.template import Template


def http_api(*routes: tuple[str, str | None]) -> Template:
    """A template with one function, one integration and the given (route key, authorization type) routes."""
    resources: dict[str, Any] = {
        "Fn": {"Type": "AWS::Lambda::Function", "Properties": {"Runtime": "python3.14", "Handler": "x.handler"}},
        "Integration": {
            "Type": "AWS::ApiGatewayV2::Integration",
            "Properties": {"IntegrationUri": {"Fn::GetAtt": ["Fn", "Arn"]}},
        },
        "Auth": {
            "Type": "AWS::ApiGatewayV2::Authorizer",
            "Properties": {
                "AuthorizerType": "JWT",
                "JwtConfiguration": {"Issuer": "https://issuer.test", "Audience": ["app"]},
            },
        },
    }
    for index, (key, authorization) in enumerate(routes):
        properties: dict[str, Any] = {
            "RouteKey": key,
            "Target": {"Fn::Join": ["", ["integrations/", {"Ref": "Integration"}]]},
        }
        if authorization:
            properties.update({"AuthorizationType": authorization, "AuthorizerId": {"Ref": "Auth"}})
        resources[f"Route{index}"] = {"Type": "AWS::ApiGatewayV2::Route", "Properties": properties}
    return Template({"Resources": resources})


def request(method: str, path: str, **kwargs: Any) -> Request:
    return Request(EnvironBuilder(method=method, path=path, **kwargs).get_environ())


def matching(template: Template, method: str, path: str) -> tuple[str, dict[str, str]] | None:
    for route in routes_of(template):
        found = route.match(method, path)
        if found is not None:
            return route.route_key, found
    return None


def test_the_most_specific_route_wins() -> None:
    template = http_api(("ANY /{proxy+}", None), ("GET /referrals/{reference}", None), ("GET /referrals/mine", None))
    assert matching(template, "GET", "/referrals/mine") == ("GET /referrals/mine", {})
    assert matching(template, "GET", "/referrals/FN-1") == ("GET /referrals/{reference}", {"reference": "FN-1"})
    assert matching(template, "DELETE", "/a/b") == ("ANY /{proxy+}", {"proxy": "a/b"})


def test_a_method_or_path_with_no_route_matches_nothing() -> None:
    template = http_api(("POST /referrals", None))
    assert matching(template, "GET", "/referrals") is None
    assert matching(template, "POST", "/referrals/x") is None


def test_jwt_routes_carry_their_authorizers_issuer_and_audience() -> None:
    [route] = routes_of(http_api(("GET /staff", "JWT")))
    assert route.authorizer is not None
    assert (route.authorizer.issuer, route.authorizer.audience) == ("https://issuer.test", ["app"])


def test_a_request_becomes_a_payload_2_event() -> None:
    [route] = routes_of(http_api(("POST /referrals/{reference}", None)))
    incoming = request(
        "POST",
        "/referrals/FN-1",
        query_string="a=1&a=2&b=x",
        data="route=lead",
        content_type="application/x-www-form-urlencoded",
        headers={"Cookie": "c1=v1; c2=v2", "X-Thing": "y"},
    )
    event = api_event(route, {"reference": "FN-1"}, incoming, None)
    assert event["version"] == "2.0"
    assert event["routeKey"] == "POST /referrals/{reference}"
    assert event["rawQueryString"] == "a=1&a=2&b=x"
    assert event["queryStringParameters"] == {"a": "1,2", "b": "x"}
    assert event["pathParameters"] == {"reference": "FN-1"}
    assert event["cookies"] == ["c1=v1", "c2=v2"]
    assert event["headers"]["x-thing"] == "y"
    assert "cookie" not in event["headers"]
    # HTTP APIs base64-encode form posts (only text/*, JSON, JavaScript and XML bodies pass as text).
    assert (base64.b64decode(event["body"]), event["isBase64Encoded"]) == (b"route=lead", True)
    assert event["requestContext"]["http"]["method"] == "POST"


def test_json_bodies_arrive_as_text() -> None:
    [route] = routes_of(http_api(("POST /referrals", None)))
    event = api_event(route, {}, request("POST", "/referrals", data='{"a": 1}', content_type="application/json"), None)
    assert (event["body"], event["isBase64Encoded"]) == ('{"a": 1}', False)


def test_binary_bodies_arrive_base64_encoded() -> None:
    [route] = routes_of(http_api(("POST /upload", None)))
    event = api_event(route, {}, request("POST", "/upload", data=b"\x00\xff", content_type="image/png"), None)
    assert event["isBase64Encoded"] is True
    assert base64.b64decode(event["body"]) == b"\x00\xff"


def test_a_function_response_becomes_http() -> None:
    response = lambda_response(
        {
            "statusCode": 303,
            "headers": {"Location": "/done"},
            "cookies": ["a=1; Secure", "b=2; Secure"],
            "body": base64.b64encode(b"<p>ok</p>").decode(),
            "isBase64Encoded": True,
        }
    )
    assert response.status_code == 303
    assert response.headers["Location"] == "/done"
    assert response.headers.getlist("Set-Cookie") == ["a=1; Secure", "b=2; Secure"]
    assert response.get_data() == b"<p>ok</p>"


def test_a_plain_return_value_is_json_with_status_200() -> None:
    response = lambda_response({"reference": "FN-1"})
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/json"
    assert json.loads(response.get_data()) == {"reference": "FN-1"}


def test_a_text_body_that_is_not_utf8_arrives_as_bytes_never_replaced() -> None:
    [route] = routes_of(http_api(("POST /referrals", None)))
    data = b'{"reason": "caf\xe9"}'
    event = api_event(route, {}, request("POST", "/referrals", data=data, content_type="application/json"), None)
    assert event["isBase64Encoded"] is True
    assert base64.b64decode(event["body"]) == data
