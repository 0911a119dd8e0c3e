"""What a referral can be found by in the console: the family's postcode and the contact's surname, normalised
(case, spacing and accents do not matter), as search terms. The table keeps only a SHA-256 of each term."""

from __future__ import annotations

import hashlib
import re
import unicodedata
from typing import Any

_POSTCODE = re.compile(r"^[A-Z]{1,2}[0-9][A-Z0-9]?[0-9][A-Z]{2}$")


def postcode_term(value: str) -> str | None:
    compact = re.sub(r"\s+", "", value).upper()
    return f"postcode:{compact}" if _POSTCODE.match(compact) else None


def surname_term(value: str) -> str | None:
    """The last word of a name, without accents, case or punctuation: "Jo O'Brien-Smith" → "obriensmith"."""
    words = value.split()
    if not words:
        return None
    plain = unicodedata.normalize("NFKD", words[-1])
    letters = "".join(ch for ch in plain if ch.isalpha() and not unicodedata.combining(ch)).casefold()
    return f"surname:{letters}" if letters else None


def terms_of(submission: Any) -> list[str]:
    """The terms a submission is found by (none for an erased one)."""
    family = submission.get("family") if isinstance(submission, dict) else None
    family = family if isinstance(family, dict) else {}
    found = [postcode_term(str(family.get("postcode", ""))), surname_term(str(family.get("contact_name", "")))]
    return [term for term in found if term]


def term_of_query(text: str) -> str | None:
    """What a coordinator typed, as the term to look up: a postcode if it is one, else a surname."""
    return postcode_term(text) or surname_term(text)


def fingerprint(term: str) -> str:
    return hashlib.sha256(term.encode("utf-8")).hexdigest()
