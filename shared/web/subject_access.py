"""The subject access export as a page a person can read (every value escaped)."""

from __future__ import annotations

from typing import Any

from shared.views.subject_access import SECTIONS
from shared.web.templates import render


def _rows(value: Any, prefix: str = "") -> list[dict[str, Any]]:
    """A nested document as label/value rows a person can read."""
    if isinstance(value, dict):
        return [row for key, inner in value.items() for row in _rows(inner, f"{prefix}{key.replace('_', ' ')} / ")]
    if isinstance(value, list):
        if not value:
            return [{"label": prefix.rstrip(" /"), "value": "none", "block": False}]
        return [row for n, inner in enumerate(value, 1) for row in _rows(inner, f"{prefix}{n} / ")]
    text = "" if value is None else str(value)
    return [{"label": prefix.rstrip(" /"), "value": text, "block": "\n" in text}]


def sections(document: dict[str, Any]) -> list[dict[str, Any]]:
    """The export's sections, each a title and its label/value rows (the API's page and the console's)."""
    found = [{"title": title, "rows": _rows(document[key]) if document.get(key) else []} for key, title, _ in SECTIONS]
    if document.get("other"):
        found.append({"title": "Other records", "rows": _rows(document["other"])})
    return found


def to_html(document: dict[str, Any]) -> str:
    return render("staff/subject_access.html", export=document, sections=sections(document))
