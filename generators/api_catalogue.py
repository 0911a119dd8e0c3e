"""Writes docs/openapi.json: the OpenAPI 3.1 document of every route of the route table (shared/web/routes.py),
with the request models' JSON Schemas.

`python -m generators.api_catalogue` (make schemas) rewrites it; a test checks that it matches `render()`. The local
runtime serves it at `/_local/openapi.json`.
"""

from __future__ import annotations

import importlib
import json
import re
import sys
import typing
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from shared.config import Settings
from shared.domain.referrals import EMAIL_HOST, EMAIL_LOCAL
from shared.service import partners
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


PROBLEM = "shared.web.answers:Problem"
JSON = "application/json"
HTML = "text/html"
REDIRECTS = ("302", "303")
# What any route may answer besides its own statuses (each added only where it can happen).
THROTTLED = "Too many requests: the API's throttle (per route), or a daily cap: retry later"
BUSY = "Busy, or a part of the service is unavailable: retry after Retry-After"
_ETAG = {"ETag": {"description": "The version, for If-Match", "schema": {"type": "string", "pattern": '^"[0-9]+"$'}}}
_RETRY_AFTER = {"Retry-After": {"description": "Seconds to wait", "schema": {"type": "string", "pattern": "^[0-9]+$"}}}
_LOCATION = {"Location": {"description": "Where to go next", "required": True, "schema": {"type": "string"}}}


def _ref(name: str, schemas: dict[str, Any]) -> dict[str, Any]:
    """A model's schema, added to the components once; its $ref."""
    found = model(name)
    if found.__name__ not in schemas:
        schema = found.model_json_schema(ref_template="#/components/schemas/{model}")
        schemas.update(schema.pop("$defs", {}))
        schemas[found.__name__] = schema
    return {"$ref": f"#/components/schemas/{found.__name__}"}


def statuses(op: Route) -> dict[str, str]:
    """Every status the route can answer, with what it means: the route's own, then those of its shape."""
    found = dict(op.responses)
    names = {parameter["name"] for parameter in op.parameters}
    if op.staff:
        found.setdefault("401", "No valid access token")
        found.setdefault("403", "The token's user is not a coordinator, or it lacks the staff scope")
    if op.body is not None or (op.pages and op.method == "POST"):
        found.setdefault("400", "Malformed: not UTF-8, not JSON within bounds, or not a form this service reads")
        found.setdefault("413", "The body is too large")
        found.setdefault("422", "Problems to fix, one per field")
    if "If-Match" in names:
        found.setdefault("400", "Malformed: If-Match is not an ETag of this service")
        found.setdefault("409", "Stale: it changed since it was read")
    if "{" in op.path:
        found.setdefault("404", "Nothing here with this id")
    if op.method != "GET" or op.staff or op.function == "connections":
        found.setdefault("503", BUSY)
    found.setdefault("429", THROTTLED)
    return dict(sorted(found.items()))


def _response(op: Route, status: str, description: str, schemas: dict[str, Any]) -> dict[str, Any]:
    response: dict[str, Any] = {"description": description}
    if status in REDIRECTS:
        response["headers"] = _LOCATION
        return response
    content: dict[str, Any] = {}
    answer = op.answers.get(status)
    if answer is not None and ":" not in answer:  # a file (a download): its media type
        response["content"] = {answer: {"schema": {"type": "string"}}}
        return response
    if answer is not None:
        content[JSON] = {"schema": _ref(answer, schemas)}
    elif int(status) >= 400 and (not op.pages or op.body is not None or op.staff or status in ("413", "429")):
        content[JSON] = {"schema": _ref(PROBLEM, schemas)}
    if op.pages:
        if op.key == "GET /assets/{file}" and status == "200":
            for kind in ("text/css", "text/javascript", "image/svg+xml", "image/png", "image/x-icon"):
                content[kind] = {"schema": {"type": "string"}}
        else:
            content[HTML] = {"schema": {"type": "string"}}
    if content:
        response["content"] = content
    headers: dict[str, Any] = {}
    if status.startswith("2") and "If-Match" in {p["name"] for p in op.parameters}:
        headers.update(_ETAG)
    if status in ("429", "503"):
        headers.update(_RETRY_AFTER)
    if headers:
        response["headers"] = headers
    return response


def _vocabulary(parameter: dict[str, Any]) -> dict[str, Any]:
    """A parameter whose values are a vocabulary of the service layer (not imported by the route table, which every
    function loads at cold start): its enum."""
    if parameter["name"] == "offer":
        return {**parameter, "schema": {**parameter["schema"], "enum": list(typing.get_args(partners.Offer))}}
    return parameter


def referrer_email(schemas: dict[str, Any]) -> None:
    """The referrer's address as the service checks it: at one of the allowed domains (the settings' defaults;
    a deployment that changes them (`familynet:referrer_domains`) changes what it accepts)."""
    domains = "|".join(re.escape(domain) for domain in Settings().referrer_domains)
    email = schemas["Referrer"]["properties"]["email"]
    email["pattern"] = rf"^{EMAIL_LOCAL}@{EMAIL_HOST}*({domains})$"
    email["description"] = "A work address at " + ", ".join(Settings().referrer_domains) + " (or a subdomain)"


def _operation(op: Route, schemas: dict[str, Any]) -> dict[str, Any]:
    document: dict[str, Any] = {
        "operationId": op.key.lower().replace(" /", "_").replace("/", "_").replace("{", "").replace("}", ""),
        "summary": op.summary,
        "tags": [STAFF if op.staff else "public"],
        "responses": {status: _response(op, status, text, schemas) for status, text in statuses(op).items()},
    }
    if op.parameters:
        document["parameters"] = [_vocabulary(parameter) for parameter in op.parameters]
    if op.body is not None:
        schema = _ref(op.body, schemas)
        document["requestBody"] = {
            "required": not op.body.endswith(":AcceptBody"),
            "content": {kind: {"schema": schema} for kind in op.media_types},
        }
    if op.staff:
        document["security"] = [{STAFF: []}]
    return document


def render() -> dict[str, Any]:
    schemas: dict[str, Any] = {}
    paths: dict[str, dict[str, Any]] = {}
    for op in ROUTES:
        paths.setdefault(op.path, {})[op.method.lower()] = _operation(op, schemas)
    referrer_email(schemas)
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
                    "type": "http",
                    "scheme": "bearer",
                    "bearerFormat": "JWT",
                    "description": "A Cognito access token of the staff user pool (authorization code with PKCE), "
                    "with the scope familynet-api/staff, for a user in the coordinators group",
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
