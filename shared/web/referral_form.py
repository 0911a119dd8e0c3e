"""The referral web form, rendered on the server: the page works the same with JavaScript off.

The form posts to `POST /referrals` with dotted field names (`family.children.0.first_name`), GOV.UK date inputs
(`consent.given_on.day` / `.month` / `.year`), a hidden one-time `submission_token` (the request's idempotency key:
a double submit answers the same reference) and the pressed button's `action` (send, or add/remove a row, which
re-renders the form without sending it). Validation is the API's: the same model, the same messages.
"""

from __future__ import annotations

import copy
import re
import secrets
from dataclasses import dataclass
from datetime import date
from typing import Any

from shared.config import get_settings
from shared.domain.referrals import MAX_CHILDREN, domains_in_words
from shared.web.templates import WEB, environment, render

TOKEN_FIELD = "submission_token"  # noqa: S105 - a field name, not a secret
ACTION_FIELD = "action"
SEND = "send"
MAX_NETWORK_MEMBERS = 30
FORM_TITLE = "Refer a family for a Family Network meeting"
DATE_FIELDS = re.compile(r"^(consent\.given_on|family\.children\.\d+\.date_of_birth)$")
CHOICE_LISTS = ("meeting_preferences.days", "meeting_preferences.times_of_day")
_TOKEN = re.compile(r"[A-Za-z0-9_-]{16,64}")
_KNOWN_FIELD = re.compile(
    r"^(body|Idempotency-Key|route|reason|what_matters|"
    r"referrer\.(name|role|organisation|email|phone|locality_team)|"
    r"family(\.(contact_name|postcode|contact_phone|contact_email|children(\.\d+(\.(first_name|date_of_birth))?)?))?|"
    r"consent(\.(given|given_on|obtained_by))?|"
    r"network_members(\.\d+(\.(name|relationship))?)?|"
    r"meeting_preferences(\.(days|times_of_day)(\.\d+)?|\.(venue_type|interpreter_language|access_needs))?|"
    r"referrer)$"
)
_ACTION = re.compile(r"^(send|add-child|add-member|remove-child-\d{1,2}|remove-member-\d{1,2})$")
# The API's messages, worded for the form's controls where they differ.
_FORM_MESSAGES = {
    "route": "Select who is making this referral",
    "consent.given": "Confirm that the family agreed to this referral",
    "meeting_preferences.venue_type": "Select where the family would like to meet",
}


@dataclass(frozen=True)
class FormPost:
    values: dict[str, Any]  # what was sent, nested by the dotted names, controls removed: re-rendered as sent
    token: str | None
    action: str


def new_token() -> str:
    return secrets.token_urlsafe(18)


def read_form(body: dict[str, Any]) -> FormPost:
    """Split the form's controls (token, pressed button) from its answers."""
    values = copy.deepcopy(body)
    token = values.pop(TOKEN_FIELD, None)
    action = values.pop(ACTION_FIELD, SEND)
    if not isinstance(action, str) or not _ACTION.match(action):
        action = SEND
    usable = isinstance(token, str) and _TOKEN.fullmatch(token) is not None
    return FormPost(values=values, token=token if usable else None, action=action)


def apply_action(values: dict[str, Any], action: str) -> dict[str, Any]:
    """Add or remove a child or a network member row: the no-JavaScript way to 'add another'."""
    values = copy.deepcopy(values)
    family = values.setdefault("family", {}) if isinstance(values.get("family", {}), dict) else {}
    children = _rows(family, "children")
    members = _rows(values, "network_members")
    if action == "add-child" and len(children) < MAX_CHILDREN:
        family["children"] = [*(children or [{}]), {}]
    elif action == "add-member" and len(members) < MAX_NETWORK_MEMBERS:
        values["network_members"] = [*(members or [{}]), {}]
    elif action.startswith("remove-child-"):
        index = int(action.rsplit("-", 1)[1])
        family["children"] = [row for i, row in enumerate(children) if i != index]
    elif action.startswith("remove-member-"):
        index = int(action.rsplit("-", 1)[1])
        values["network_members"] = [row for i, row in enumerate(members) if i != index]
    return values


def _rows(node: dict[str, Any], key: str) -> list[Any]:
    rows = node.get(key)
    return list(rows) if isinstance(rows, list) else []


def model_body(values: dict[str, Any]) -> dict[str, Any]:
    """The answers as the API's JSON: dates joined, a child row always present (so its fields get messages)."""
    body: dict[str, Any] = _prune(_join_dates(copy.deepcopy(values)))
    for group in ("referrer", "consent"):  # a blank section: name each of its fields, not the section
        body.setdefault(group, {})
    family = body.setdefault("family", {})
    if isinstance(family, dict) and not family.get("children"):
        family["children"] = [{}]
    return body


def _prune(node: Any) -> Any:
    """Rows and groups left entirely blank are not answers: an empty date is missing, an empty row is no row."""
    if isinstance(node, dict):
        pruned = {key: _prune(value) for key, value in node.items()}
        return {key: value for key, value in pruned.items() if value not in ({}, [])}
    if isinstance(node, list):
        return [item for item in (_prune(value) for value in node) if item not in ({}, [])]
    return node


def _join_dates(node: Any) -> Any:
    if isinstance(node, list):
        return [_join_dates(item) for item in node]
    if not isinstance(node, dict):
        return node
    if node and set(node) <= {"day", "month", "year"}:
        return _date_text(node)
    return {key: _join_dates(value) for key, value in node.items()}


def _date_text(parts: dict[str, Any]) -> str:
    """`YYYY-MM-DD` when day, month and year make a real date; otherwise text the model refuses as not a date."""
    try:
        day, month, year = (int(str(parts.get(key, "")).strip()) for key in ("day", "month", "year"))
        if year < 1000:
            raise ValueError
        return date(year, month, day).isoformat()
    except ValueError:
        return "not-a-real-date"


def is_known_field(field: str) -> bool:
    return _KNOWN_FIELD.match(field) is not None


# --- errors -----------------------------------------------------------------------------------------------------
def field_id(name: str) -> str:
    return name.replace(".", "-")


_ROW_WORDS = {
    "family.children": (("The child's", "Child {n}'s"), ("the child's", "child {n}'s"), ("The child ", "Child {n} ")),
    "network_members": (("the network member's", "person {n}'s"), ("the network member", "person {n}")),
}


def _numbered(field: str, message: str, rows: dict[str, int]) -> str:
    """With several rows, "Enter the child's first name" twice would not say which: name the row."""
    for prefix, words in _ROW_WORDS.items():
        found = re.match(rf"^{re.escape(prefix)}\.(\d+)\.", field)
        if found and rows.get(prefix, 0) > 1:
            n = int(found.group(1)) + 1
            for old, new in words:
                message = message.replace(old, new.format(n=n))
    return message


def form_errors(errors: list[dict[str, str]], values: dict[str, Any] | None = None) -> list[dict[str, str]]:
    """The API's `{"field", "message"}` errors as the form shows them: field, message and the id to link to."""
    family = (values or {}).get("family")
    rows = {
        "family.children": len(_rows(family if isinstance(family, dict) else {}, "children")),
        "network_members": len(_rows(values or {}, "network_members")),
    }
    shown: list[dict[str, str]] = []
    seen: set[str] = set()
    for error in errors:
        field = error["field"]
        if re.match(r"^meeting_preferences\.(days|times_of_day)\.\d+$", field):
            field = field.rsplit(".", 1)[0]
        if field in seen:
            continue
        seen.add(field)
        message = error["message"]
        if message.startswith(("Enter", "Choose")):
            message = _FORM_MESSAGES.get(field, message)
        message = _numbered(field, message.replace(", like 2026-03-27", ""), rows)
        if field == "family.children":
            target = "family-children-0-first_name"
        elif DATE_FIELDS.match(field):
            target = field_id(field) + "-day"
        elif field in ("body", "") or field.split(".", 1)[0] not in _TOP_LEVEL:
            target = "main-content"
        else:
            target = field_id(field)
        shown.append({"field": field, "message": message, "target": target})
    return shown


_TOP_LEVEL = {
    "route",
    "referrer",
    "family",
    "consent",
    "reason",
    "what_matters",
    "network_members",
    "meeting_preferences",
}


# --- pages ------------------------------------------------------------------------------------------------------
def _value_at(values: Any, name: str, default: Any = "") -> Any:
    node = values
    for part in name.split("."):
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            return default
    return node if isinstance(node, str | list) else default


def render_form(values: dict[str, Any], errors: list[dict[str, str]], token: str) -> str:
    messages = {error["field"]: error["message"] for error in errors}
    family = values.get("family") if isinstance(values.get("family"), dict) else {}
    children = max(1, len(_rows(family or {}, "children")))
    members = max(1, len(_rows(values, "network_members")))
    return (
        environment()
        .get_template("pages/form.html")
        .render(
            title=FORM_TITLE,
            errors=errors,
            token=token,
            children=min(children, MAX_CHILDREN),
            members=min(members, MAX_NETWORK_MEMBERS),
            max_children=MAX_CHILDREN,
            max_members=MAX_NETWORK_MEMBERS,
            v=lambda name, default="": _value_at(values, name, default),
            err=lambda name: messages.get(name, ""),
            fid=field_id,
            referrer_domains=domains_in_words(get_settings().allowed_referrer_domains()),
        )
    )


def render_confirmation(reference: str, route: str, status: str) -> str:
    return (
        environment()
        .get_template("pages/confirmation.html")
        .render(title="Referral sent", reference=reference, route=route, status=status, errors=[])
    )


PAGES = {
    "GET /privacy": ("privacy.html", "Privacy notice"),
    "GET /accessibility": ("accessibility.html", "Accessibility statement"),
}


def render_page(route: str) -> str:
    template, title = PAGES[route]
    return render(f"pages/{template}", title=title, errors=[])


def render_problem(title: str, message: str) -> str:
    return render("pages/problem.html", title=title, message=message, errors=[])


# --- static files -----------------------------------------------------------------------------------------------
ASSET_TYPES = {
    ".css": "text/css; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".mjs": "text/javascript; charset=utf-8",
    ".ico": "image/x-icon",
    ".svg": "image/svg+xml",
    ".png": "image/png",
}


def asset(name: str) -> tuple[bytes, str] | None:
    """A built file of web/assets/ by its name (no paths: nothing else can be read)."""
    if not re.fullmatch(r"[a-z0-9][a-z0-9.-]{0,80}", name) or ".." in name:
        return None
    path = WEB / "assets" / name
    kind = ASSET_TYPES.get(path.suffix)
    if kind is None or not path.is_file():
        return None
    return path.read_bytes(), kind


def render_web_page(template: str, **values: Any) -> str:
    """Another page in the form's layout, with its styles and scripts (the partners' connection page)."""
    return render(f"pages/{template}", **{"errors": [], **values})
