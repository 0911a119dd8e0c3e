"""No route answers 500 to anything: arbitrary path parameters, query strings, headers and body bytes, turned into
an API Gateway event by the local gateway's own translation (infra/local/gateway.api_event) and given to the
function that serves the route, as a coordinator where the route needs one."""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import quote, urlencode

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Request

from infra.local.gateway import Route, api_event
from shared.web.routes import ROUTES
from tests.integration.conftest import Cloud, invoke
from tests.integration.test_coordination import COORDINATOR

header_text = st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), max_size=80)
any_text = st.text(max_size=80)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=12,
)
bodies = st.one_of(
    st.binary(max_size=300),
    json_values.map(lambda value: json.dumps(value).encode()),
    st.dictionaries(st.text(max_size=30), st.text(max_size=30), max_size=4).map(lambda form: urlencode(form).encode()),
)


@st.composite
def requests(draw: st.DrawFn) -> tuple[str, dict[str, Any]]:
    route = draw(st.sampled_from(ROUTES))
    names = re.findall(r"\{(\w+)\}", route.path)
    parameters = {name: draw(any_text.filter(bool)) for name in names}
    path = route.path
    for name, value in parameters.items():
        path = path.replace("{" + name + "}", quote(value, safe=""))
    headers = {
        "Content-Type": draw(
            st.sampled_from(["application/json", "application/x-www-form-urlencoded", "text/plain", "", "a/b; c=d"])
        ),
        "Accept": draw(st.sampled_from(["application/json", "text/html", "*/*", ""])),
    }
    if draw(st.booleans()):
        headers["If-Match"] = draw(header_text)
    if draw(st.booleans()):
        headers["Idempotency-Key"] = draw(header_text)
    query = draw(st.dictionaries(st.sampled_from(["status", "limit", "cursor", "offer", "locality", "x"]), any_text))
    built = EnvironBuilder(
        method=route.method,
        path=path,
        query_string=urlencode(query),
        headers=list(headers.items()),
        data=draw(bodies),
    )
    authorizer = {"jwt": {"claims": COORDINATOR, "scopes": None}} if route.staff else None
    gateway_route = Route(route_key=route.key, function=route.function, authorizer=None, scopes=[], pattern=None)
    return route.function, api_event(gateway_route, parameters, Request(built.get_environ()), authorizer)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(request=requests())
def test_no_route_answers_500_to_anything(cloud: Cloud, request: tuple[str, dict[str, Any]]) -> None:
    function, event = request
    response = invoke(function, cloud, event)
    assert response["statusCode"] < 500, (event["routeKey"], response["statusCode"], response["body"][:300])
    assert response["headers"]["X-Content-Type-Options"] == "nosniff"
