"""Writes docs/openapi.json: the OpenAPI 3.1 document of every route of the route table (shared/web/routes.py),
with the request models' JSON Schemas.

`python -m generators.api_catalogue` (make schemas) rewrites it; a test checks that it matches `render()`. The local
runtime serves it at `/_local/openapi.json`.
"""

from __future__ import annotations

import importlib
import json
import sys
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from shared.web.routes import ROUTES, Route

DOCUMENT = Path(__file__).resolve().parent.parent / "docs" / "openapi.json"
TITLE = "familynet"
VERSION = "1.0.0"
STAFF = "coordinators"


def model(name: str) -> type[BaseModel]:
    """A request model named "module:Model" in the route table."""
    module, attribute = name.split(":")
    found: type[BaseModel] = getattr(importlib.import_module(module), attribute)
    return found


def _operation(op: Route, schemas: dict[str, Any]) -> dict[str, Any]:
    responses: dict[str, Any] = {code: {"description": text} for code, text in op.responses.items()}
    if op.staff:
        responses.setdefault("401", {"description": "No valid token"})
        responses.setdefault("403", {"description": "The token's user is not in the coordinators group"})
    document: dict[str, Any] = {
        "operationId": op.key.lower().replace(" /", "_").replace("/", "_").replace("{", "").replace("}", ""),
        "summary": op.summary,
        "tags": [STAFF if op.staff else "public"],
        "responses": responses,
    }
    if op.parameters:
        document["parameters"] = list(op.parameters)
    if op.body is not None:
        body = model(op.body)
        name = body.__name__
        schema = body.model_json_schema(ref_template="#/components/schemas/{model}")
        schemas.update(schema.pop("$defs", {}))
        schemas[name] = schema
        document["requestBody"] = {
            "required": op.key.startswith(("POST /referrals", "POST /connections", "PUT "))
            and not op.body.endswith(":DecisionBody"),
            "content": {kind: {"schema": {"$ref": f"#/components/schemas/{name}"}} for kind in op.media_types},
        }
    if op.staff:
        document["security"] = [{STAFF: []}]
    return document


def render() -> dict[str, Any]:
    schemas: dict[str, Any] = {}
    paths: dict[str, dict[str, Any]] = {}
    for op in ROUTES:
        paths.setdefault(op.path, {})[op.method.lower()] = _operation(op, schemas)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": TITLE,
            "version": VERSION,
            "description": "The council's Family Network service: referrals, the coordinators' routes, and the "
            "partners' connection links.",
        },
        "paths": paths,
        "components": {
            "schemas": dict(sorted(schemas.items())),
            "securitySchemes": {
                STAFF: {
                    "type": "openIdConnect",
                    "openIdConnectUrl": "https://cognito-idp.{region}.amazonaws.com/{userPoolId}/.well-known/openid-configuration",
                    "description": "A Cognito ID token whose cognito:groups holds coordinators",
                }
            },
        },
    }


def text() -> str:
    return json.dumps(render(), indent=2, sort_keys=True) + "\n"


def main() -> None:
    DOCUMENT.parent.mkdir(exist_ok=True)
    DOCUMENT.write_text(text())
    sys.stdout.write(f"wrote {DOCUMENT.relative_to(Path.cwd()) if DOCUMENT.is_relative_to(Path.cwd()) else DOCUMENT}\n")


if __name__ == "__main__":
    main()
