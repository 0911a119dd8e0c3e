"""Request bodies: JSON or form-encoded, size and media type limits."""

from __future__ import annotations

import base64

import pytest

from shared.web.http import HttpError, form_to_object, parse_body


def event(body, content_type="application/json", b64=False):
    if b64:
        body = base64.b64encode(body.encode()).decode()
    return {"headers": {"Content-Type": content_type}, "body": body, "isBase64Encoded": b64}


def test_form_fields_nest_by_dotted_names_and_index_lists_in_order():
    text = (
        "route=lead_practitioner&family.children.1.first_name=Bea&family.children.0.first_name=Alfie"
        "&meeting_preferences.days[]=monday&meeting_preferences.days[]=friday&what_matters="
    )
    assert form_to_object(text) == {
        "route": "lead_practitioner",
        "family": {"children": [{"first_name": "Alfie"}, {"first_name": "Bea"}]},
        "meeting_preferences": {"days": ["monday", "friday"]},
    }


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("route=a&route=b", "The form field 'route' was sent twice"),
        ("family=x&family.postcode=y", "The form field 'family.postcode' clashes with another field"),
        ("family[children]=1", "The form field name 'family[children]' is not one this service uses"),
    ],
)
def test_ambiguous_forms_are_refused(text, message):
    with pytest.raises(HttpError) as caught:
        form_to_object(text)
    assert (caught.value.status, caught.value.message) == (400, message)


def test_content_type_parameters_are_ignored():
    assert parse_body(event('{"a": 1}', "application/json; charset=utf-8")) == {"a": 1}


def test_exactly_64_kb_is_accepted_and_one_byte_more_is_not():
    padding = 64 * 1024 - len('{"a": ""}')
    assert parse_body(event('{"a": "' + "x" * padding + '"}')) == {"a": "x" * padding}
    with pytest.raises(HttpError) as caught:
        parse_body(event('{"a": "' + "x" * (padding + 1) + '"}', b64=True))
    assert caught.value.status == 413


def test_invalid_utf8_is_a_400():
    raw = base64.b64encode(b'{"a": "\xff"}').decode()
    with pytest.raises(HttpError) as caught:
        parse_body({"headers": {"content-type": "application/json"}, "body": raw, "isBase64Encoded": True})
    assert (caught.value.status, caught.value.message) == (400, "The request body is not valid UTF-8")
