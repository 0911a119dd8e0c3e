"""Writes docs/openapi.json: the OpenAPI 3.1 document of every route, generated from the request models.

`python -m shared.api_catalogue` (make schemas) rewrites it; tests check that it matches `render()` and that its
operations are exactly the HTTP API's routes in the synthesized template. The local runtime serves it at
`/_local/openapi.json`.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from shared.domain.meetings import Availability, CancelRequest, MeetingRequest
from shared.domain.plans import Outcome
from shared.domain.referrals import ReferralStatus, ReferralSubmission
from shared.service.connections import ConnectionAnswer
from shared.service.decisions import DecisionBody
from shared.service.erasure import ErasureRequest
from shared.service.partners import PartnerRequest
from shared.service.reviews import ReviewMove, ReviewRequest

DOCUMENT = Path(__file__).resolve().parent.parent / "docs" / "openapi.json"
TITLE = "familynet"
VERSION = "1.0.0"
STAFF = "coordinators"
REFERENCE = {
    "name": "reference",
    "in": "path",
    "required": True,
    "schema": {"type": "string", "pattern": "^FN-[A-HJ-NP-Z2-9]{8}$"},
}
FACILITATOR = {
    "name": "facilitator_id",
    "in": "path",
    "required": True,
    "schema": {"type": "string", "pattern": "^[a-z0-9][a-z0-9-]{0,39}$"},
}
REVIEW_NUMBER = {
    "name": "number",
    "in": "path",
    "required": True,
    "schema": {"type": "integer", "minimum": 1, "maximum": 999},
}
IF_MATCH = {
    "name": "If-Match",
    "in": "header",
    "required": False,
    "description": "The referral's ETag as read: the change applies only if nothing changed since (else 409).",
    "schema": {"type": "string"},
}


@dataclass(frozen=True)
class Operation:
    route_key: str
    summary: str
    staff: bool = True
    body: type[BaseModel] | None = None
    responses: dict[str, str] = field(default_factory=dict)
    parameters: tuple[dict[str, Any], ...] = ()
    media_types: tuple[str, ...] = ("application/json",)


PARTNER_ID = {
    "name": "partner_id",
    "in": "path",
    "required": True,
    "schema": {"type": "string", "pattern": "^p-[a-z0-9]{1,30}$"},
}
TOKEN = {
    "name": "token",
    "in": "path",
    "required": True,
    "description": "The signed, expiring link from the partner's connection email",
    "schema": {"type": "string", "maxLength": 1024},
}
_CHANGE = {
    "200": "The change, with the referral's new status and version (ETag)",
    "404": "No referral with this reference",
    "409": "Illegal or stale: the current status and the allowed actions",
    "422": "Problems to fix, one per field",
}
OPERATIONS = (
    Operation(
        "GET /",
        "The referral web form (HTML, with a one-time submission token)",
        staff=False,
        responses={"200": "The form"},
    ),
    Operation(
        "GET /assets/{file}",
        "The form's CSS and JavaScript",
        staff=False,
        responses={"200": "The file", "404": "No such file"},
        parameters=({"name": "file", "in": "path", "required": True, "schema": {"type": "string"}},),
    ),
    Operation("GET /privacy", "The privacy notice (HTML)", staff=False, responses={"200": "The page"}),
    Operation("GET /accessibility", "The accessibility statement (HTML)", staff=False, responses={"200": "The page"}),
    Operation(
        "POST /referrals",
        "Submit a referral (JSON, or form-encoded from the web form)",
        staff=False,
        body=ReferralSubmission,
        responses={
            "201": "The reference and status (HTML confirmation for a browser's form post)",
            "400": "Malformed",
            "413": "Over 64 KB (256 KB as a form)",
            "415": "Another media type",
            "422": "Problems to fix, one per field",
            "503": "Busy: retry after Retry-After",
        },
        parameters=(
            {
                "name": "Idempotency-Key",
                "in": "header",
                "required": False,
                "description": "A repeat with the same key answers the first reference",
                "schema": {"type": "string", "maxLength": 255},
            },
        ),
    ),
    Operation(
        "GET /referrals",
        "The coordinators' queue: referrals in a status, newest first, a page at a time",
        responses={"200": "Items and next_cursor", "400": "Unknown status, bad limit or cursor"},
        parameters=(
            {
                "name": "status",
                "in": "query",
                "required": False,
                "schema": {"type": "string", "enum": [s.value for s in ReferralStatus], "default": "received"},
            },
            {
                "name": "limit",
                "in": "query",
                "required": False,
                "schema": {"type": "integer", "minimum": 1, "maximum": 100, "default": 25},
            },
            {"name": "cursor", "in": "query", "required": False, "schema": {"type": "string"}},
        ),
    ),
    Operation(
        "GET /referrals/{reference}",
        "One referral with its meeting, proposals, plan, reviews, emails, audit trail and allowed actions",
        responses={"200": "The referral (ETag: its version)", "404": "No referral with this reference"},
        parameters=(REFERENCE,),
    ),
    Operation(
        "POST /referrals/{reference}/accept",
        "Accept a request from another professional",
        body=DecisionBody,
        responses=_CHANGE,
        parameters=(REFERENCE, IF_MATCH),
    ),
    Operation(
        "POST /referrals/{reference}/decline",
        "Decline a request, with a reason",
        body=DecisionBody,
        responses=_CHANGE,
        parameters=(REFERENCE, IF_MATCH),
    ),
    Operation(
        "POST /referrals/{reference}/withdraw",
        "Withdraw an open referral, with a reason",
        body=DecisionBody,
        responses=_CHANGE,
        parameters=(REFERENCE, IF_MATCH),
    ),
    Operation(
        "GET /facilitators",
        "Facilitators, their localities and weekly availability",
        responses={"200": "The facilitators"},
    ),
    Operation(
        "PUT /facilitators/{facilitator_id}/availability",
        "Set a facilitator's locality and weekly hours",
        body=Availability,
        responses={"200": "The facilitator", "422": "Problems to fix, one per field"},
        parameters=(FACILITATOR,),
    ),
    Operation(
        "PUT /referrals/{reference}/meeting",
        "Book the meeting, or move it (any slot, not only a proposal)",
        body=MeetingRequest,
        responses={**_CHANGE, "409": "Illegal or stale, or the facilitator is already booked then"},
        parameters=(REFERENCE, IF_MATCH),
    ),
    Operation(
        "DELETE /referrals/{reference}/meeting",
        "Cancel the meeting, with a reason",
        body=CancelRequest,
        responses=_CHANGE,
        parameters=(REFERENCE, IF_MATCH),
    ),
    Operation(
        "POST /referrals/{reference}/meeting/outcome",
        "Record the meeting held (with the plan and the first review) or not held (with a reason)",
        body=Outcome,
        responses=_CHANGE,
        parameters=(REFERENCE, IF_MATCH),
    ),
    Operation(
        "GET /referrals/{reference}/export",
        "Subject access: everything held about the referral (JSON; a readable page with Accept: text/html); "
        "the export is recorded as a read",
        responses={"200": "The export", "404": "No referral with this reference"},
        parameters=(REFERENCE,),
    ),
    Operation(
        "GET /partners",
        "The Early Help network's directory: active partners by offer and/or locality (one index Query)",
        responses={"200": "Partners, by name", "400": "offer is not one of the vocabulary"},
        parameters=(
            {"name": "offer", "in": "query", "required": False, "schema": {"type": "string"}},
            {"name": "locality", "in": "query", "required": False, "schema": {"type": "string"}},
        ),
    ),
    Operation(
        "POST /partners",
        "Add a partner to the directory (audited)",
        body=PartnerRequest,
        responses={"201": "The partner, with its id and version (ETag)", "422": "Problems to fix, field by field"},
    ),
    Operation(
        "PUT /partners/{partner_id}",
        "Change a partner; `active: false` takes it out of the directory (it is never deleted)",
        body=PartnerRequest,
        responses={
            "200": "The partner as changed",
            "404": "No partner with this id",
            "409": "Stale: the partner changed since it was read",
            "422": "Problems to fix, field by field",
        },
        parameters=(
            PARTNER_ID,
            IF_MATCH,
        ),
    ),
    Operation(
        "GET /connections/{token}",
        "A partner's link (no login): the page to answer a connection; changes nothing",
        staff=False,
        responses={
            "200": "The page with the question (HTML)",
            "404": "The link is not valid (altered or incomplete)",
            "409": "Already answered",
            "410": "Expired, or the request is no longer open (the plan changed, the referral was withdrawn)",
        },
        parameters=(TOKEN,),
    ),
    Operation(
        "POST /connections/{token}",
        "A partner's answer: made contact with the family, or declines (recorded once, audited)",
        staff=False,
        body=ConnectionAnswer,
        media_types=("application/x-www-form-urlencoded", "application/json"),
        responses={
            "200": "Recorded (HTML)",
            "404": "The link is not valid (altered or incomplete)",
            "409": "Already answered: nothing changed",
            "410": "Expired, or the request is no longer open: nothing changed",
            "422": "The answer is missing or the note too long: the page again, with the problem",
        },
        parameters=(TOKEN,),
    ),
    Operation(
        "POST /referrals/{reference}/connections/{partner_id}",
        "Record a partner's answer given another way (a phone call): as through its link, audited as yours",
        body=ConnectionAnswer,
        responses={
            "200": "The connection as recorded",
            "404": "No such referral, or no connection with that partner",
            "409": "The connection is not waiting for an answer (answered, ended, or the referral withdrawn)",
            "422": "The answer is missing or the note too long",
        },
        parameters=(REFERENCE, PARTNER_ID),
    ),
    Operation(
        "POST /referrals/{reference}/connections/{partner_id}/resend",
        "Ask a waiting partner again (after its address was corrected): a new email and link; the old link closes",
        responses={
            "200": "The connection, in its new round",
            "404": "No such referral, or no connection with that partner",
            "409": "The connection is not waiting for an answer, or changed meanwhile",
            "422": "The partner is no longer active in the directory",
        },
        parameters=(REFERENCE, PARTNER_ID),
    ),
    Operation(
        "POST /referrals/{reference}/erase",
        "Erase the referral's personal data where the rules allow it (never accepted, or withdrawn with no plan in "
        "force); ids, states, dates and the audit trail stay",
        body=ErasureRequest,
        responses={
            "200": "Erased: how many items",
            "404": "No referral with this reference",
            "409": "Erasure does not apply to this referral, and why",
            "422": "The ground is missing or not one of the list",
        },
        parameters=(REFERENCE,),
    ),
    Operation(
        "POST /referrals/{reference}/reviews",
        "Record the open review: continue, adjust the support package, or close the plan; opens the next review",
        body=ReviewRequest,
        responses={**_CHANGE, "422": "Problems to fix, field by field (dates, a package for adjust)"},
        parameters=(REFERENCE, IF_MATCH),
    ),
    Operation(
        "PUT /referrals/{reference}/reviews/{number}",
        "Move an open review to another date, with a reason (its reminder moves with it)",
        body=ReviewMove,
        responses={
            **_CHANGE,
            "404": "No referral with this reference, or no such review",
            "409": "Illegal or stale, or the review is no longer open",
        },
        parameters=(REFERENCE, REVIEW_NUMBER, IF_MATCH),
    ),
)


def _operation(op: Operation, schemas: dict[str, Any]) -> dict[str, Any]:
    responses: dict[str, Any] = {code: {"description": text} for code, text in op.responses.items()}
    if op.staff:
        responses.setdefault("401", {"description": "No valid token"})
        responses.setdefault("403", {"description": "The token's user is not in the coordinators group"})
    document: dict[str, Any] = {
        "operationId": op.route_key.lower().replace(" /", "_").replace("/", "_").replace("{", "").replace("}", ""),
        "summary": op.summary,
        "tags": [STAFF if op.staff else "public"],
        "responses": responses,
    }
    if op.parameters:
        document["parameters"] = list(op.parameters)
    if op.body is not None:
        name = op.body.__name__
        schema = op.body.model_json_schema(ref_template="#/components/schemas/{model}")
        schemas.update(schema.pop("$defs", {}))
        schemas[name] = schema
        document["requestBody"] = {
            "required": op.route_key.startswith(("POST /referrals", "POST /connections", "PUT "))
            and op.body is not DecisionBody,
            "content": {kind: {"schema": {"$ref": f"#/components/schemas/{name}"}} for kind in op.media_types},
        }
    if op.staff:
        document["security"] = [{STAFF: []}]
    return document


def render() -> dict[str, Any]:
    schemas: dict[str, Any] = {}
    paths: dict[str, dict[str, Any]] = {}
    for op in OPERATIONS:
        method, path = op.route_key.split(" ", 1)
        paths.setdefault(path, {})[method.lower()] = _operation(op, schemas)
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
