"""docs/openapi.json is generated from the request models and describes exactly the deployed routes."""

from __future__ import annotations

import json
from typing import Any

import pytest

from generators.api_catalogue import DOCUMENT, render, text


def test_the_committed_document_matches_the_models() -> None:
    assert DOCUMENT.read_text() == text(), "docs/openapi.json is stale: run `make schemas`"


def test_it_is_a_valid_openapi_3_1_document() -> None:
    jsonschema = pytest.importorskip("jsonschema")
    document = render()
    assert document["openapi"] == "3.1.0"
    for name, schema in document["components"]["schemas"].items():
        jsonschema.Draft202012Validator.check_schema(schema)  # each request body schema is itself valid
        assert name
    refs = {m for m in json.dumps(document).split('"') if m.startswith("#/components/schemas/")}
    assert {ref.rsplit("/", 1)[1] for ref in refs} <= set(document["components"]["schemas"])


@pytest.mark.infra
def test_its_operations_are_exactly_the_http_apis_routes(template_body: dict[str, Any]) -> None:
    routes = {
        resource["Properties"]["RouteKey"]
        for resource in template_body["Resources"].values()
        if resource["Type"] == "AWS::ApiGatewayV2::Route"
    }
    documented = {f"{method.upper()} {path}" for path, item in render()["paths"].items() for method in item}
    assert documented == routes - {"$default"}
    assert "$default" in routes  # the rest: 405 with Allow, or 404 (not an operation of the document)


@pytest.mark.infra
def test_staff_operations_are_exactly_the_jwt_routes(template_body: dict[str, Any]) -> None:
    jwt = {
        r["Properties"]["RouteKey"]
        for r in template_body["Resources"].values()
        if r["Type"] == "AWS::ApiGatewayV2::Route" and r["Properties"].get("AuthorizationType") == "JWT"
    }
    secured = {
        f"{method.upper()} {path}"
        for path, item in render()["paths"].items()
        for method, operation in item.items()
        if operation.get("security")
    }
    assert secured == jwt
