"""Turns pydantic validation errors into `{"field", "message"}` pairs a person can act on."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ValidationError
from pydantic.fields import FieldInfo


def _field_info(model: type[BaseModel], loc: tuple[int | str, ...]) -> FieldInfo | None:
    """Walk the model along an error location to the field it names (list indexes are skipped)."""
    current: Any = model
    info: FieldInfo | None = None
    for part in loc:
        if isinstance(part, int):
            continue
        if not (isinstance(current, type) and issubclass(current, BaseModel)) or part not in current.model_fields:
            return None
        info = current.model_fields[part]
        current = _inner_model(info.annotation)
    return info


def _inner_model(annotation: Any) -> Any:
    for arg in (annotation, *getattr(annotation, "__args__", ())):
        if isinstance(arg, type) and issubclass(arg, BaseModel):
            return arg
        for inner in getattr(arg, "__args__", ()):
            if isinstance(inner, type) and issubclass(inner, BaseModel):
                return inner
    return annotation


def _is_list(info: FieldInfo | None) -> bool:
    annotation = info.annotation if info else None
    return any(getattr(arg, "__origin__", arg) is list for arg in (annotation, *getattr(annotation, "__args__", ())))


def _message(error: Any, title: str, info: FieldInfo | None) -> str:
    kind = error["type"]
    ctx = error.get("ctx") or {}
    capital = title[:1].upper() + title[1:]
    if kind == "missing" and _is_list(info):
        return f"Add {title}"
    if kind == "missing" or (kind == "string_too_short" and ctx.get("min_length") == 1):
        return f"Enter {title}"
    if kind == "string_too_short":
        return f"{capital} must be at least {ctx['min_length']} characters"
    if kind == "string_too_long":
        return f"{capital} must be {ctx['max_length']} characters or fewer"
    if kind == "too_short":
        return f"Add {title}"
    if kind == "too_long":
        return f"{capital} can have at most {ctx['max_length']} entries"
    if kind == "extra_forbidden":
        return "This field is not part of a referral: remove it"
    if kind in {"literal_error", "enum"}:
        return f"Choose {title}: {ctx.get('expected', '')}".rstrip(": ")
    if kind.startswith(("date_", "datetime_")):
        return f"{capital} must be a real date, like 2026-03-27"
    if kind in {"bool_parsing", "bool_type"}:
        return f"{capital} must be yes (true) or no (false)"
    if kind in {"model_type", "model_attributes_type", "dict_type"}:
        return f"{capital} must be a group of fields (a JSON object)"
    if kind == "list_type":
        return f"{capital} must be a list"
    if kind in {"string_type", "int_type", "int_parsing"}:
        return f"{capital} has the wrong type of value"
    if kind in {"value_error", "assertion_error"} or kind.startswith("fn_"):
        return str(ctx.get("reason") or error["msg"]).removeprefix("Value error, ")
    return str(error["msg"])


def field_errors(model: type[BaseModel], exc: ValidationError) -> list[dict[str, str]]:
    """One entry per problem, in the order of the form, with a dotted field path like `family.children.0.first_name`."""
    errors: list[dict[str, str]] = []
    seen: set[str] = set()
    for error in exc.errors(include_url=False):
        loc = tuple(error["loc"])
        field = ".".join(str(part) for part in loc) or "body"
        if field in seen:  # a union can report one field several times: one clear message is enough
            continue
        seen.add(field)
        info = _field_info(model, loc)
        title = (info.title if info and info.title else str(loc[-1]).replace("_", " ")) if loc else "a referral"
        errors.append({"field": field, "message": _message(error, title, info)})
    return errors
