"""API Gateway HTTP API (payload 2.0) request bodies and JSON responses."""

from __future__ import annotations

import base64
import binascii
import json
import re
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qsl

from aws_lambda_powertools.event_handler import Response

MAX_BODY_BYTES = 64 * 1024
# URL-encoding takes 3 bytes for each byte of UTF-8: a Polish or Arabic answer near its length limit grows to
# 6 to 9 bytes a character. A form may be four times larger on the wire than the same referral as JSON.
MAX_FORM_BYTES = 4 * MAX_BODY_BYTES
JSON = "application/json"
FORM = "application/x-www-form-urlencoded"

_SECURITY_HEADERS = {
    "Cache-Control": "no-store",
    "X-Content-Type-Options": "nosniff",
    "Strict-Transport-Security": "max-age=63072000; includeSubDomains",
}
# Pages: our own files only (no inline script or style, no third party), never framed, forms post only to us.
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; font-src 'self'; "
    "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'; manifest-src 'self'"
)
_PAGE_HEADERS = {
    **_SECURITY_HEADERS,
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=(), payment=(), usb=()",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
}
HTML = "text/html"
# Bounds on what a body may be, checked while parsing so that no input can exhaust the parser: Python's json raises
# RecursionError (not a decoding error) near 1,000 levels, and int() refuses literals of over 4,300 digits.
MAX_DEPTH = 32
MAX_DIGITS = 20
_WHOLE_NUMBER = re.compile(r"[0-9]{1,9}")


class HttpError(Exception):
    """A request that gets a 4xx answer, with a message a person can act on."""

    def __init__(self, status: int, message: str, errors: list[dict[str, str]] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.errors = errors


def json_response(status: int, body: Any, headers: dict[str, str] | None = None) -> dict[str, Any]:
    return {
        "statusCode": status,
        "headers": {"Content-Type": JSON, **_SECURITY_HEADERS, **(headers or {})},
        "body": json.dumps(body, default=_json_default),
    }


def _json_default(value: Any) -> Any:
    """DynamoDB hands numbers back as Decimal."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def html_response(status: int, page: str, headers: dict[str, str] | None = None) -> dict[str, Any]:
    """A page; `no-store` because a form shown again holds what the referrer typed about a family."""
    return {
        "statusCode": status,
        "headers": {"Content-Type": "text/html; charset=utf-8", **_PAGE_HEADERS, **(headers or {})},
        "body": page,
    }


def as_response(answer: dict[str, Any]) -> Response[Any]:
    """An answer built here, for a route of a Powertools resolver (which base64-encodes a body of bytes again)."""
    body = base64.b64decode(answer["body"]) if answer.get("isBase64Encoded") else answer["body"]
    return Response(
        status_code=answer["statusCode"], body=body, headers=answer["headers"], cookies=answer.get("cookies")
    )


def file_response(content: bytes, content_type: str, max_age: int) -> dict[str, Any]:
    text = content_type.startswith(("text/", "image/svg"))
    return {
        "statusCode": 200,
        "headers": {
            "Content-Type": content_type,
            **_PAGE_HEADERS,
            "Cache-Control": f"public, max-age={max_age}",
        },
        "body": content.decode("utf-8") if text else base64.b64encode(content).decode("ascii"),
        "isBase64Encoded": not text,
    }


def wants_html(event: dict[str, Any]) -> bool:
    """A browser posting the web form (it accepts HTML); API clients posting a form still get JSON."""
    return media_type(event) == FORM and HTML in (header(event, "accept") or "")


def header(event: dict[str, Any], name: str) -> str | None:
    """HTTP API lower-cases header names; be lenient with callers that do not."""
    headers = event.get("headers") or {}
    wanted = name.lower()
    return next((value for key, value in headers.items() if key.lower() == wanted), None)


def media_type(event: dict[str, Any]) -> str:
    return (header(event, "content-type") or "").split(";", 1)[0].strip().lower()


def raw_body(event: dict[str, Any], limit: int = MAX_BODY_BYTES) -> bytes:
    body = event.get("body") or ""
    # base64 grows a body by a third: refuse a hopelessly large one before decoding it
    if len(body) > limit * 4 // 3 + 4:
        raise HttpError(413, f"The request body is larger than {limit // 1024} KB")
    if event.get("isBase64Encoded"):
        try:
            data = base64.b64decode(body, validate=True)
        except (binascii.Error, ValueError):
            raise HttpError(400, "The request body is not valid base64") from None
    else:
        data = body.encode("utf-8")
    if len(data) > limit:
        raise HttpError(413, f"The request body is larger than {limit // 1024} KB")
    return data


def body_text(event: dict[str, Any], limit: int = MAX_BODY_BYTES) -> str:
    """The body as text: 413 over `limit`, 400 when it is not valid base64 or not valid UTF-8 (never replaced)."""
    try:
        return raw_body(event, limit).decode("utf-8")
    except UnicodeDecodeError:
        raise HttpError(400, "The request body is not valid UTF-8") from None


def parse_body(event: dict[str, Any]) -> dict[str, Any]:
    """The body as a JSON-like object, from JSON or from a form (dotted names: `family.children.0.first_name`)."""
    kind = media_type(event)
    if kind not in (JSON, FORM):
        raise HttpError(415, f"Send the referral as {JSON} or {FORM}")
    text = body_text(event, MAX_FORM_BYTES if kind == FORM else MAX_BODY_BYTES)
    if kind == FORM:
        return form_to_object(text)
    parsed = loads(text)
    if not isinstance(parsed, dict):
        raise HttpError(400, "The request body must be a JSON object")
    return parsed


def loads(text: str) -> Any:
    """JSON within this service's bounds: 400 for text that is not JSON, nested deeper than MAX_DEPTH, or with a
    number of more than MAX_DIGITS digits."""
    try:
        parsed = json.loads(text, parse_int=_bounded_int, parse_constant=_no_constant)
    except json.JSONDecodeError as exc:
        raise HttpError(400, f"The request body is not valid JSON (line {exc.lineno}, column {exc.colno})") from None
    except RecursionError:
        raise HttpError(400, f"The request body is nested more than {MAX_DEPTH} levels deep") from None
    except ValueError as exc:  # from the hooks below
        raise HttpError(400, str(exc)) from None
    if _depth(parsed) > MAX_DEPTH:
        raise HttpError(400, f"The request body is nested more than {MAX_DEPTH} levels deep")
    return parsed


def _bounded_int(digits: str) -> int:
    if len(digits.lstrip("-")) > MAX_DIGITS:
        raise ValueError(f"A number in the request body has more than {MAX_DIGITS} digits")
    return int(digits)


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a number this service reads: send a number or null")


def _depth(value: Any) -> int:
    """How deeply lists and objects nest (iteratively: the value may be deep)."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        node, level = stack.pop()
        if isinstance(node, dict | list):
            deepest = max(deepest, level)
            if level <= MAX_DEPTH:
                stack.extend((child, level + 1) for child in (node.values() if isinstance(node, dict) else node))
    return deepest


def whole_number(text: str | None) -> int | None:
    """A whole number of 1 to 9 ASCII digits (`str.isdigit` also accepts "²", which int() refuses); else None."""
    return int(text) if text is not None and _WHOLE_NUMBER.fullmatch(text) else None


_NAME = re.compile(r"^[a-z_]{1,40}(\.([a-z_]{1,40}|[0-9]{1,2})){0,7}(\[\])?$")


def form_to_object(text: str) -> dict[str, Any]:
    """Nest form fields by their dotted names; numeric parts index lists, a `[]` suffix always makes a list."""
    root: dict[str, Any] = {}
    try:
        pairs = parse_qsl(text, keep_blank_values=True, strict_parsing=bool(text), max_num_fields=500)
    except ValueError:
        raise HttpError(400, "The form data is malformed") from None
    for name, value in pairs:
        if not _NAME.match(name):
            raise HttpError(400, f"The form field name {name[:60]!r} is not one this service uses")
        many = name.endswith("[]")
        parts = name.removesuffix("[]").split(".")
        _assign(root, parts, value, many)
    nested: dict[str, Any] = _lists(root)
    return nested


def _assign(node: dict[str, Any], parts: list[str], value: str, many: bool) -> None:
    for part in parts[:-1]:
        child = node.setdefault(part, {})
        if not isinstance(child, dict):
            raise HttpError(400, f"The form field {'.'.join(parts)!r} clashes with another field")
        node = child
    last = parts[-1]
    if many:
        existing = node.setdefault(last, [])
        if not isinstance(existing, list):
            raise HttpError(400, f"The form field {'.'.join(parts)!r} clashes with another field")
        if value != "":
            existing.append(value)
    elif last in node:
        raise HttpError(400, f"The form field {'.'.join(parts)!r} was sent twice")
    elif value != "":  # an empty input means "not answered", exactly as if it were absent
        node[last] = value


def _lists(node: Any) -> Any:
    """Turn dicts keyed 0, 1, ... into lists, in index order (gaps left by removed rows close up)."""
    if not isinstance(node, dict):
        return node
    converted = {key: _lists(value) for key, value in node.items()}
    if converted and all(key.isdigit() for key in converted):
        return [converted[key] for key in sorted(converted, key=int)]
    return converted
