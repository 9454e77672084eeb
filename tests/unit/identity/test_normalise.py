"""Normalisers: names (Latin and Hangul), e-mail canonical forms, postcodes."""

from __future__ import annotations

import pytest

from crmcore.identity import NICKNAMES, canonical_email, name_tokens
from crmcore.identity._normalise import clean_text, jamo, normalise_postcode


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("  Zoë  O'Brien-Smith ", "zoe obrien smith"),
        ("ＡＢＣ", "abc"),  # full-width letters fold under NFKC
        ("STRASSE", "strasse"),
        ("Straße", "strasse"),  # case folding turns ß into ss
        ("Łukasz Wiśniewski", "lukasz wisniewski"),
        ("Nguyễn Văn An", "nguyen van an"),
        ("a.b_c", "a b c"),
    ],
)
def test_clean_text(raw, expected):
    assert clean_text(raw) == expected


def test_name_tokens_titles_and_nicknames():
    assert name_tokens("Dr. Bob  Smith") == ("robert", "smith")
    assert name_tokens("Mrs Liz Taylor") == ("elizabeth", "taylor")
    assert name_tokens("Bob Smith", nicknames={}) == ("bob", "smith")
    assert NICKNAMES["bill"] == "william"


def test_hangul_names_split_family_and_given():
    assert name_tokens("김민준") == ("김", "민준")
    assert name_tokens("민준 김") == ("민준", "김")
    assert name_tokens("남궁민수") == ("남궁", "민수")  # a two-syllable surname
    assert name_tokens("김") == ("김",)  # one syllable: nothing to split
    # sorted words are what matching compares: both orders agree
    assert sorted(name_tokens("김민준")) == sorted(name_tokens("민준 김"))


def test_jamo_decomposes_hangul_only():
    assert jamo("김") == "\u1100\u1175\u11b7"
    assert len(jamo("김민준")) == 9  # three letters each: ㄱㅣㅁ ㅁㅣㄴ ㅈㅜㄴ
    assert len(jamo("하나")) == 4  # syllables without a final consonant have two
    assert jamo("kim") == "kim"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (" Ann.Lee+shop@GoogleMail.com ", "annlee@gmail.com"),
        ("a.n.n@gmail.com", "ann@gmail.com"),
        ("ann.lee+news@example.org", "ann.lee@example.org"),  # dots kept off Gmail
        ("mailto:BO@Example.ORG", "bo@example.org"),
        ("+tag@example.org", "+tag@example.org"),  # nothing before the tag: kept
        ("not an address", "not an address"),
    ],
)
def test_canonical_email(raw, expected):
    assert canonical_email(raw) == expected


def test_postcode():
    assert normalise_postcode("sw1a 1aa") == "SW1A1AA"
    assert normalise_postcode("123-4567") == "1234567"
    assert normalise_postcode("１２３４５") == "12345"
