"""docs/data-protection.md is generated from the models: every personal field has a purpose, and it cannot drift."""

from __future__ import annotations

from generators.data_protection import DOCUMENT, PURPOSES, field_paths, render


def test_every_field_of_every_model_that_takes_personal_data_has_a_purpose_and_no_purpose_is_stale() -> None:
    paths = set(field_paths())
    assert sorted(paths - set(PURPOSES)) == [], "add a purpose to generators/data_protection.py for these fields"
    assert sorted(set(PURPOSES) - paths) == [], "these fields are gone: remove their purposes"


def test_the_document_matches_the_models_run_make_schemas_when_this_fails() -> None:
    assert DOCUMENT.read_text() == render()


def test_the_document_names_the_lawful_basis_retention_rights_and_region() -> None:
    text = render()
    for needed in (
        "Art. 6(1)(e)",
        "Art. 9(2)(g)",
        "Sch. 1 para. 18",
        "eu-west-2",
        "6 years",
        "90 days",
        "youngest child is **25**",
    ):
        assert needed in text
    assert "`family.children.date_of_birth`" in text and "`venue.details`" in text
