"""The staff JSON API's requests and answers: bodies parsed into request models, `If-Match` read as the version a
change is conditional on, and answers as Powertools responses with the security headers."""

from __future__ import annotations

from typing import Any, TypeVar

from aws_lambda_powertools.event_handler import Response
from pydantic import BaseModel, ValidationError

from shared.domain.validation import field_errors
from shared.web.http import HttpError, body_text, json_response, loads, whole_number

ModelT = TypeVar("ModelT", bound=BaseModel)


def answer(status: int, body: Any, headers: dict[str, str] | None = None) -> Response[str]:
    response = json_response(status, body, headers)
    return Response(status_code=status, body=response["body"], headers=response["headers"])


def etag(version: int) -> dict[str, str]:
    return {"ETag": f'"{version}"'}


def expected_version(headers: dict[str, str]) -> int | None:
    """`If-Match: "<version>"` (the ETag of the referral as read) makes a change conditional on it."""
    value = headers.get("if-match")
    if value is None:
        return None
    version = whole_number(value.strip().removeprefix("W/").strip('"'))
    if version is None:
        raise HttpError(400, 'If-Match must be the ETag of the referral as you read it, like "3"')
    return version


def body_as(event: dict[str, Any], model: type[ModelT]) -> ModelT:
    """A request's JSON body as the request model (an empty body is `{}`): 413 over 64 KB, 400 when it is not UTF-8
    or not JSON within bounds, 422 with each field."""
    raw = body_text(event)
    try:
        return model.model_validate(loads(raw) if raw.strip() else {})
    except ValidationError as exc:
        raise HttpError(422, "The request has problems to fix", field_errors(model, exc)) from None
