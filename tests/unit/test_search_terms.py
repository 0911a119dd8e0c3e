"""What a referral is found by: the family's postcode and the contact's surname, however they are typed."""

from __future__ import annotations

from shared.domain.search import fingerprint, term_of_query, terms_of


def test_a_postcode_and_a_surname_are_found_however_they_are_typed() -> None:
    submission = {"family": {"postcode": "SW1A 1AA", "contact_name": "Zoë O'Brien-Smith"}}
    postcode, surname = terms_of(submission)
    assert postcode == term_of_query(" sw1a1aa ") == term_of_query("SW1A 1AA")
    assert surname == term_of_query("o'brien-smith") == term_of_query("O\u2019BRIEN-SMITH") == "surname:obriensmith"
    assert term_of_query("Zoe O'Brien-Smith") == surname  # a whole name: its last word


def test_an_erased_referral_has_no_terms_and_the_table_keeps_only_a_fingerprint() -> None:
    assert terms_of("erased") == [] and terms_of({"family": "erased"}) == []
    assert "SW1A" not in fingerprint("postcode:SW1A1AA") and len(fingerprint("postcode:SW1A1AA")) == 64
