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


# The document says what the models check: for the text and address types, a value the schema allows is one the
# model takes, and one it refuses the model refuses (else a client following the document gets a 422).
@pytest.mark.parametrize("property_path", [("Referrer", "name"), ("Referrer", "email"), ("Family", "contact_name")])
def test_text_and_addresses_are_checked_as_the_schema_states(property_path: tuple[str, str]) -> None:
    from typing import Annotated

    from hypothesis import given, settings
    from hypothesis import strategies as st
    from pydantic import BaseModel, TypeAdapter

    from shared.domain.referrals import Family, Referrer

    jsonschema_rs = pytest.importorskip("jsonschema_rs")
    model, name = property_path
    schema = render()["components"]["schemas"][model]["properties"][name]
    models: dict[str, type[BaseModel]] = {"Referrer": Referrer, "Family": Family}
    field = models[model].model_fields[name]
    adapter: TypeAdapter[Any] = TypeAdapter(Annotated[field.annotation, *field.metadata])  # type: ignore[arg-type]
    allows = jsonschema_rs.validator_for({k: v for k, v in schema.items() if k != "description"}).is_valid
    local = st.from_regex(r"[a-z0-9._%+-]{1,10}", fullmatch=True)
    candidates = st.one_of(
        st.text(max_size=12),
        st.sampled_from([" ", "\x85", "\ufeff", "\xa0", "\x1c", " a ", "a\x85"]),
        st.builds(lambda a, d: f"{a}@{d}", local, st.sampled_from(["leeds.gov.uk", "nhs.net", "x.example", "a..b"])),
    )

    def accepted(value: str) -> bool:
        try:
            adapter.validate_python(value)
        except ValueError:
            return False
        return True

    @settings(max_examples=300, deadline=None)
    @given(candidates)
    def agree(value: str) -> None:
        if name == "email" and allows(value):  # the domain allow-list is the service's, checked with its context
            assert accepted(value), value
        elif name != "email":
            assert allows(value) == accepted(value), value

    agree()
