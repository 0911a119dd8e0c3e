"""No input ever gets a 500: arbitrary bodies, media types and headers get a 2xx or a 4xx with a message."""

from __future__ import annotations

import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import minimal_referral
from tests.integration.conftest import api_event, invoke

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=30),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=5),
    max_leaves=25,
)


def mutated_referral(draw_path, value):
    body = minimal_referral()
    node = body
    for key in draw_path[:-1]:
        node = node.setdefault(key, {}) if isinstance(node, dict) else node
    if isinstance(node, dict):
        node[draw_path[-1]] = value
    return body


bodies = st.one_of(
    json_values.map(json.dumps),
    st.text(max_size=200),
    st.builds(
        mutated_referral,
        st.lists(
            st.sampled_from(["route", "referrer", "family", "children", "consent", "email", "postcode", "0"]),
            min_size=1,
            max_size=3,
        ),
        json_values,
    ).map(json.dumps),
)
media_types = st.sampled_from(
    ["application/json", "application/x-www-form-urlencoded", "text/plain", "", "application/json; charset=latin-1"]
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=bodies, media_type=media_types, key=st.none() | st.text(max_size=300), b64=st.booleans())
def test_any_request_gets_a_clear_answer_never_a_500(cloud, body, media_type, key, b64):
    headers = {"Idempotency-Key": key} if key is not None else {}
    response = invoke("intake", cloud, api_event(body, content_type=media_type, headers=headers, base64=b64))
    assert response["statusCode"] in {201, 400, 413, 415, 422}
    answer = json.loads(response["body"])
    assert answer.get("reference") or answer["message"]
    for error in answer.get("errors", []):
        assert error["field"] and error["message"]
