"""Normalisers for matching: one plain-Python function per value, applied to distinct values.

Every function here takes one string and returns its canonical form for
comparison; callers apply them once per *distinct* value of a column, so a
column of a million values with many repeats costs far less than a million
calls. Nothing here validates: a value that is not a plausible e-mail address
is still canonicalised (validity is :func:`crmcore.identity.data_quality`'s
business).
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Mapping

__all__ = [
    "HANGUL_TWO_SYLLABLE_SURNAMES",
    "HONORIFICS",
    "NICKNAMES",
    "canonical_email",
    "clean_text",
    "is_hangul",
    "jamo",
    "name_tokens",
    "normalise_postcode",
]

HONORIFICS: frozenset[str] = frozenset(
    {
        "mr", "mrs", "ms", "miss", "mx", "dr", "prof", "sir", "madam", "herr", "frau",
        "mme", "mlle", "sr", "sra", "srta", "jr", "snr", "jnr",
    }
)  # fmt: skip
"""Titles dropped from names before comparison (after case folding and accents)."""

#: Common English short forms of given names -> the form they are compared as.
#: Deliberately small: a nickname maps only where the short form is rarely a
#: name of its own. Pass ``Field("name", nicknames=...)`` to use another table.
NICKNAMES: Mapping[str, str] = {
    "bob": "robert", "bobby": "robert", "rob": "robert", "robbie": "robert",
    "bill": "william", "billy": "william", "will": "william", "willy": "william",
    "jim": "james", "jimmy": "james", "jamie": "james",
    "mike": "michael", "mick": "michael", "mikey": "michael",
    "liz": "elizabeth", "lizzie": "elizabeth", "beth": "elizabeth", "betty": "elizabeth",
    "kate": "katherine", "katie": "katherine", "kathy": "katherine", "kath": "katherine",
    "tom": "thomas", "tommy": "thomas",
    "dick": "richard", "rick": "richard", "ricky": "richard", "rich": "richard",
    "joe": "joseph", "joey": "joseph",
    "dave": "david", "davy": "david",
    "dan": "daniel", "danny": "daniel",
    "chris": "christopher", "kit": "christopher",
    "matt": "matthew",
    "tony": "anthony",
    "alex": "alexander", "sandy": "alexander",
    "sam": "samuel", "sammy": "samuel",
    "ben": "benjamin", "benny": "benjamin",
    "nick": "nicholas", "nicky": "nicholas",
    "andy": "andrew", "drew": "andrew",
    "steve": "stephen", "stevie": "stephen",
    "jen": "jennifer", "jenny": "jennifer",
    "sue": "susan", "susie": "susan",
    "patty": "patricia", "trish": "patricia",
    "peggy": "margaret", "maggie": "margaret", "meg": "margaret",
    "ted": "edward", "ed": "edward", "eddie": "edward", "ned": "edward",
    "charlie": "charles", "chuck": "charles",
    "harry": "henry", "hank": "henry",
    "jack": "john", "johnny": "john",
    "greg": "gregory",
    "jeff": "jeffrey",
    "larry": "lawrence",
    "ron": "ronald", "ronnie": "ronald",
    "ken": "kenneth", "kenny": "kenneth",
    "tim": "timothy", "timmy": "timothy",
    "fred": "frederick", "freddie": "frederick",
    "vicky": "victoria", "tori": "victoria",
    "abby": "abigail",
    "becky": "rebecca",
    "debbie": "deborah",
    "mandy": "amanda",
    "cindy": "cynthia",
}  # fmt: skip

#: Korean surnames of two syllables: a name written as one Hangul word that
#: starts with one of these is split after two syllables, any other after one.
HANGUL_TWO_SYLLABLE_SURNAMES: frozenset[str] = frozenset(
    {"남궁", "황보", "제갈", "선우", "독고", "사공", "서문", "동방"}
)

_APOSTROPHES = re.compile(r"['\u2019\u2018`\u00b4]")
_NON_WORD = re.compile(r"[\W_]+")
_HANGUL = re.compile(r"^[\uac00-\ud7a3]+$")
_ANY_HANGUL = re.compile(r"[\uac00-\ud7a3]")
_POSTCODE_DROP = re.compile(r"[\s\-.]+")
_GMAIL = frozenset({"gmail.com", "googlemail.com"})


@functools.cache
def _accent_table() -> dict[int, str]:
    """Latin letters with diacritics -> base letters (built once, on first use).

    Covers Latin-1 Supplement, Latin Extended-A/B and Latin Extended
    Additional (Vietnamese); letters without a decomposition get their usual
    transliteration. Hangul and other scripts are left alone.
    """
    table: dict[int, str] = {}
    for cp in (*range(0xC0, 0x250), *range(0x1E00, 0x1F00)):
        ch = chr(cp)
        base = "".join(
            c for c in unicodedata.normalize("NFKD", ch) if not unicodedata.combining(c)
        )
        if base and base != ch:
            table[cp] = base
    extra = {"ø": "o", "đ": "d", "ł": "l", "æ": "ae", "œ": "oe", "ß": "ss", "þ": "th",
             "ð": "d", "ı": "i", "ħ": "h", "ŧ": "t"}  # fmt: skip
    table.update({ord(k): v for k, v in extra.items()})
    return table


def clean_text(text: str) -> str:
    """NFKC, case folding, accents removed, punctuation to spaces, spaces collapsed.

    Examples
    --------
    >>> clean_text("  Zoë  O'Brien-Smith ")
    'zoe obrien smith'
    >>> clean_text("ＡＢＣ　Straße")  # full-width letters, ideographic space, sharp s
    'abc strasse'
    """
    folded = unicodedata.normalize("NFKC", text).casefold().translate(_accent_table())
    folded = _APOSTROPHES.sub("", folded)
    return " ".join(_NON_WORD.sub(" ", folded).split())


def is_hangul(token: str) -> bool:
    """Whether ``token`` is made only of precomposed Hangul syllables."""
    return _HANGUL.match(token) is not None


def _split_hangul(token: str) -> tuple[str, ...]:
    if not 2 <= len(token) <= 5:
        return (token,)
    cut = 2 if token[:2] in HANGUL_TWO_SYLLABLE_SURNAMES and len(token) > 2 else 1
    return (token[:cut], token[cut:])


def name_tokens(text: str, nicknames: Mapping[str, str] | None = None) -> tuple[str, ...]:
    """Return the words of a person's name, cleaned, in the order written.

    :func:`clean_text`, then titles (:data:`HONORIFICS`) dropped and
    nicknames mapped (:data:`NICKNAMES` unless another table is given). A
    name written as one Hangul word (Korean order, family name first, no
    space) is split into family name and given name, so that ``김민준`` and
    ``민준 김`` have the same words.

    Examples
    --------
    >>> name_tokens("Dr. Bob  Smith")
    ('robert', 'smith')
    >>> name_tokens("김민준"), name_tokens("민준 김")
    (('김', '민준'), ('민준', '김'))
    >>> name_tokens("남궁민수")
    ('남궁', '민수')
    """
    table = NICKNAMES if nicknames is None else nicknames
    words = [w for w in clean_text(text).split() if w not in HONORIFICS]
    if len(words) == 1 and is_hangul(words[0]):
        return _split_hangul(words[0])
    return tuple(table.get(w, w) for w in words)


def jamo(text: str) -> str:
    """Hangul syllables decomposed into their letters (jamo); other text unchanged.

    String similarity on jamo sees ``김`` and ``긴`` as one letter apart
    instead of two different characters.

    Examples
    --------
    >>> len(jamo("김")), jamo("kim") == "kim"
    (3, True)
    """
    if _ANY_HANGUL.search(text) is None:
        return text
    return unicodedata.normalize("NFD", text)


def canonical_email(text: str) -> str:
    """Return the form under which two e-mail addresses reach the same mailbox.

    Surrounding spaces and ``mailto:`` removed, everything lower-cased (mail
    providers treat the part before ``@`` case-insensitively, although the
    standard allows otherwise), a sub-address tag (``+tag`` before ``@``,
    RFC 5233) removed for every domain, and for ``gmail.com`` /
    ``googlemail.com`` the dots before ``@`` removed and the domain written
    ``gmail.com``, as Gmail delivers them to one mailbox.

    Examples
    --------
    >>> canonical_email(" Ann.Lee+shop@GoogleMail.com ")
    'annlee@gmail.com'
    >>> canonical_email("ann.lee+news@example.org")
    'ann.lee@example.org'
    """
    value = unicodedata.normalize("NFKC", text).strip().casefold()
    value = value.removeprefix("mailto:")
    local, at, domain = value.rpartition("@")
    if not at:
        return value
    local = local.split("+", 1)[0] or local
    if domain in _GMAIL:
        local, domain = local.replace(".", ""), "gmail.com"
    return f"{local}@{domain}"


def normalise_postcode(text: str) -> str:
    """Upper case, full-width forms folded, spaces, ``-`` and ``.`` removed.

    Examples
    --------
    >>> normalise_postcode("sw1a 1aa"), normalise_postcode("123-4567")
    ('SW1A1AA', '1234567')
    """
    return _POSTCODE_DROP.sub("", unicodedata.normalize("NFKC", text)).upper()
