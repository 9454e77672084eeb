"""A seeded generator of customer records with duplicates, and the truth.

Everything is vectorised over records: names, e-mails and phone numbers are
assembled with NumPy string operations, and typing errors are made on a
records × characters matrix of code points (substitute, delete, insert or
swap one character), so a million records take seconds, not minutes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd

from crmcore import _time
from crmcore._types import BoolArray, IntArray
from crmcore._validation import check_random_state, check_scalar
from crmcore.errors import ValidationError
from crmcore.identity import _vocabulary as voc
from crmcore.identity._normalise import NICKNAMES, clean_text

__all__ = ["NOISE_LEVELS", "DuplicateSet", "make_duplicates"]

#: Per noise level, the chance that a duplicate gets each corruption
#: (independently). Format variants (case, spacing, phone layout) are not
#: errors and are drawn for every record.
NOISE_LEVELS: dict[str, dict[str, float]] = {
    "low": {
        "name_typo": 0.15, "name_swap": 0.05, "nickname": 0.05,
        "email_missing": 0.05, "email_changed": 0.05, "email_typo": 0.05,
        "phone_missing": 0.05, "phone_changed": 0.05, "phone_typo": 0.05,
        "date_missing": 0.05, "date_error": 0.03, "postcode_missing": 0.05,
        "postcode_changed": 0.03,
    },
    "medium": {
        "name_typo": 0.3, "name_swap": 0.1, "nickname": 0.1,
        "email_missing": 0.15, "email_changed": 0.15, "email_typo": 0.1,
        "phone_missing": 0.15, "phone_changed": 0.1, "phone_typo": 0.1,
        "date_missing": 0.1, "date_error": 0.07, "postcode_missing": 0.1,
        "postcode_changed": 0.07,
    },
    "high": {
        "name_typo": 0.5, "name_swap": 0.2, "nickname": 0.2,
        "email_missing": 0.25, "email_changed": 0.3, "email_typo": 0.15,
        "phone_missing": 0.25, "phone_changed": 0.25, "phone_typo": 0.15,
        "date_missing": 0.2, "date_error": 0.15, "postcode_missing": 0.2,
        "postcode_changed": 0.15,
    },
}  # fmt: skip

_SHORT_FORMS: dict[str, list[str]] = {}
for _short, _full in NICKNAMES.items():
    _SHORT_FORMS.setdefault(_full, []).append(_short)
_START = np.datetime64("2015-01-01T00:00:00", "s")
_END = np.datetime64("2024-12-31T00:00:00", "s")


@dataclass(frozen=True, slots=True)
class DuplicateSet:
    """Generated records and the truth.

    Attributes
    ----------
    records : DataFrame
        One row per record: ``id``, ``name``, ``email``, ``phone`` (written
        in national or international form), ``birth_date`` (ISO text),
        ``postcode``, ``city``, ``country``, ``gender``, ``created_at``,
        ``updated_at`` (UTC), ``source`` and ``email_opt_in`` (True, False or
        missing).
    truth : Series
        The entity each record describes, indexed by record id.
    """

    records: pd.DataFrame
    truth: pd.Series

    def true_pairs(self) -> pd.DataFrame:
        """Every pair of records of the same entity (``id_l`` < ``id_r``)."""
        frame = pd.DataFrame({"id": self.truth.index, "entity": self.truth.to_numpy()})
        merged = frame.merge(frame, on="entity", suffixes=("_l", "_r"))
        merged = merged[merged["id_l"] < merged["id_r"]]
        return merged[["id_l", "id_r"]].reset_index(drop=True)


def _seconds_utc(seconds: IntArray) -> pd.DatetimeIndex:
    """Whole seconds since the epoch as UTC instants (pandas' default microsecond unit)."""
    return _time.timestamps(seconds * _time.NS_PER_SECOND, "UTC").as_unit("us")


def _pick(
    rng: np.random.Generator, options: Any, size: int, p: Any = None
) -> np.ndarray[Any, Any]:
    arr = np.asarray(options, dtype=object)
    weights = None if p is None else np.asarray(p, dtype=np.float64) / np.sum(p)
    return arr[rng.choice(arr.size, size=size, p=weights)]


def _cat(*parts: Any) -> np.ndarray[Any, Any]:
    out = np.asarray(parts[0], dtype=object)
    for part in parts[1:]:
        out = out + np.asarray(part, dtype=object)
    return out


def _per_value(values: np.ndarray[Any, Any], fn: Any) -> np.ndarray[Any, Any]:
    """``fn`` of each value, computed once per distinct value."""
    codes, uniques = pd.factorize(np.asarray(values, dtype=object))
    mapped = np.array([fn(u) for u in uniques], dtype=object)
    return mapped[codes]


def _zfill(values: IntArray, width: int) -> np.ndarray[Any, Any]:
    return np.char.zfill(np.asarray(values).astype(str), width).astype(object)


def _typos(
    values: np.ndarray[Any, Any], rows: IntArray, rng: np.random.Generator, *, digits: bool
) -> None:
    """Make one typing error in each of ``values[rows]`` (in place)."""
    rows = rows[[isinstance(values[r], str) and len(values[r]) > 0 for r in rows]]
    if rows.size == 0:
        return
    sub = np.array([str(v) for v in values[rows]])
    lengths = np.char.str_len(sub)
    width = int(lengths.max()) + 1
    codes = sub.astype(f"<U{width}").view(np.uint32).reshape(rows.size, width).copy()
    n = rows.size
    op = rng.integers(0, 2 if digits else 4, n)  # substitute, swap, delete, insert
    op[(op == 1) & (lengths < 2)] = 0
    pos = np.minimum((rng.random(n) * lengths).astype(np.int64), lengths - 1)
    pos = np.where(op == 1, np.minimum(pos, lengths - 2), pos)
    at = np.arange(n)
    old = codes[at, pos]
    hangul = (old >= 0xAC00) & (old <= 0xD7A3)
    tail = (old - 0xAC00) % 28
    new_hangul = old - tail + (tail + rng.integers(1, 28, n)) % 28
    if digits:
        new_plain = 48 + (old - 48 + rng.integers(1, 10, n)) % 10
    else:
        new_plain = 97 + rng.integers(0, 26, n)
    new = np.where(hangul, new_hangul, new_plain).astype(np.uint32)
    sub_rows = op == 0
    codes[at[sub_rows], pos[sub_rows]] = new[sub_rows]
    swap = np.flatnonzero(op == 1)
    a, b = codes[swap, pos[swap]].copy(), codes[swap, pos[swap] + 1].copy()
    codes[swap, pos[swap]], codes[swap, pos[swap] + 1] = b, a
    col = np.arange(width)
    for kind in (2, 3):
        r = np.flatnonzero(op == kind)
        if r.size:
            p = pos[r][:, None]
            src = col + (col >= p) if kind == 2 else col - (col > p)
            shifted = np.take_along_axis(codes[r], np.clip(src, 0, width - 1), axis=1)
            if kind == 2:
                shifted[:, -1] = 0
            else:
                shifted[np.arange(r.size), pos[r]] = new[r]
            codes[r] = shifted
    out = codes.view(f"<U{width}").ravel()
    values[rows] = out.astype(object)


def _entities(n: int, hangul_share: float, rng: np.random.Generator) -> dict[str, Any]:
    hangul = rng.random(n) < hangul_share
    female = rng.random(n) < 0.5
    given = np.where(female, _pick(rng, voc.FEMALE, n), _pick(rng, voc.MALE, n))
    family = _pick(rng, voc.SURNAMES, n)
    h_idx = rng.choice(
        len(voc.HANGUL_SURNAMES), size=n,
        p=np.asarray(voc.HANGUL_SURNAME_WEIGHTS) / np.sum(voc.HANGUL_SURNAME_WEIGHTS),
    )  # fmt: skip
    h_given = _cat(
        _pick(rng, voc.HANGUL_GIVEN_SYLLABLES, n), _pick(rng, voc.HANGUL_GIVEN_SYLLABLES, n)
    )
    given = np.where(hangul, h_given, given)
    family = np.where(hangul, np.asarray(voc.HANGUL_SURNAMES, dtype=object)[h_idx], family)
    # ASCII spellings for e-mail addresses, computed once per distinct name
    latin_family = _per_value(family, lambda f: clean_text(f).replace(" ", ""))
    latin_family[hangul] = np.asarray(voc.HANGUL_SURNAME_LATIN, dtype=object)[h_idx[hangul]]
    latin_given = _per_value(given, clean_text)
    latin_given[hangul] = _pick(
        rng, ("minjun", "seoyeon", "jiho", "hana", "doyun", "yuna"), int(hangul.sum())
    )
    country = np.where(hangul, "KR", _pick(rng, ("GB", "DE", "FR", "US"), n)).astype(object)
    born = rng.integers(
        np.datetime64("1940-01-01").astype(np.int64),
        np.datetime64("2005-12-31").astype(np.int64),
        n,
    )
    created = rng.integers(
        _START.astype(np.int64), (_END - np.timedelta64(200, "D")).astype(np.int64), n
    )
    return {
        "hangul": hangul, "female": female, "given": given, "family": family,
        "latin_given": latin_given, "latin_family": latin_family, "country": country,
        "born": born, "created": created, "postcode_code": rng.integers(0, 3000, n),
        "nsn": _numbers(country, rng), "domain": _domains(country, rng),
        "sep": np.where(rng.random(n) < 0.5, ".", "").astype(object),
    }  # fmt: skip


def _households(ent: dict[str, Any], share: float, rng: np.random.Generator) -> None:
    """Let a share of people live with another: same family name, postcode, phone."""
    n = ent["given"].size
    member = np.flatnonzero(rng.random(n) < share)
    head = rng.integers(0, n, member.size)
    same_script = ent["hangul"][member] == ent["hangul"][head]
    member, head = member[same_script & (member != head)], head[same_script & (member != head)]
    for key in ("family", "latin_family", "country", "postcode_code", "nsn", "domain", "sep"):
        ent[key][member] = ent[key][head]


def _numbers(country: np.ndarray[Any, Any], rng: np.random.Generator) -> np.ndarray[Any, Any]:
    out = np.empty(country.size, dtype=object)
    for code, (_cc, _trunk, lead, k) in voc.PHONE_PLANS.items():
        m = country == code
        digits = rng.integers(0, 10, (int(m.sum()), k))
        if code == "US":
            digits[:, 0] = rng.integers(2, 10, int(m.sum()))
        # the digit matrix read as text: one string of k digits per row
        text = np.ascontiguousarray(digits + 48, dtype=np.uint32).view(f"<U{k}").ravel()
        out[m] = _cat(lead, text.astype(object))
    return out


def _domains(country: np.ndarray[Any, Any], rng: np.random.Generator) -> np.ndarray[Any, Any]:
    kr = country == "KR"
    out = _pick(rng, voc.DOMAINS[:10], country.size)
    out[kr] = _pick(rng, ("naver.com", "daum.net", "gmail.com"), int(kr.sum()))
    return out


def _postcodes(country: np.ndarray[Any, Any], code: IntArray) -> np.ndarray[Any, Any]:
    out = _zfill(10000 + (code * 29) % 89999, 5)
    gb = country == "GB"
    areas = np.array(["SW1A", "NW3", "E14", "M1", "LS6", "BS8", "G12", "CF10"], dtype=object)
    letters = np.array(list("ABDEFGHJLNPQRSTUWXYZ"), dtype=object)
    c = code[gb]
    out[gb] = _cat(
        areas[c % 8], " ", (c // 8 % 10).astype(str), letters[c // 80 % 20], letters[c % 20]
    )
    return out


def _chance(rng: np.random.Generator, dup: BoolArray, p: float) -> BoolArray:
    out: BoolArray = dup & (rng.random(dup.size) < p)
    return out


def make_duplicates(
    n_entities: int = 1000,
    *,
    noise: Literal["low", "medium", "high"] = "medium",
    duplicate_share: float = 0.3,
    max_duplicates: int = 3,
    hangul_share: float = 0.2,
    household_share: float = 0.1,
    random_state: Any = None,
) -> DuplicateSet:
    """Generate customer records with duplicates, and which records are one person.

    Each of ``n_entities`` people gets one record; a share of them get 1 to
    ``max_duplicates`` more records, each a copy with independent errors drawn
    at the ``noise`` level (:data:`NOISE_LEVELS`): typing errors in the name
    (a character substituted, dropped, added, or two swapped; in Hangul, the
    final consonant of a syllable changed), given and family names swapped,
    a nickname for the given name, e-mail / phone / birth date / postcode
    missing, changed or mistyped, day and month of the birth date swapped.
    Every record also varies in form (letter case, accents dropped, e-mail
    sub-address tags, phone written nationally or internationally).

    Parameters
    ----------
    n_entities : int, default 1000
        Number of people.
    noise : {"low", "medium", "high"}, default "medium"
        Error rates (see :data:`NOISE_LEVELS`).
    duplicate_share : float, default 0.3
        Share of people with at least one duplicate record.
    max_duplicates : int, default 3
        Most duplicates of one person.
    hangul_share : float, default 0.2
        Share of people with Korean names written in Hangul (phone numbers in
        Korea); the others have Latin-script names from Europe and the US.
    household_share : float, default 0.1
        Share of people who share a family name, postcode, phone number and
        e-mail domain with another person (a household): distinct people
        that look alike, so that precision is put to the test.
    random_state : int, Generator or None
        Seed; the same seed gives the same records.

    Returns
    -------
    DuplicateSet
        ``records`` (shuffled) and ``truth`` (entity per record id).

    Examples
    --------
    >>> data = make_duplicates(200, noise="low", random_state=1)
    >>> len(data.records) > 200, data.truth.nunique()
    (True, 200)
    """
    check_scalar(n_entities, name="n_entities", low=1, integer=True)
    check_scalar(duplicate_share, name="duplicate_share", low=0, high=1)
    check_scalar(max_duplicates, name="max_duplicates", low=1, integer=True)
    check_scalar(hangul_share, name="hangul_share", low=0, high=1)
    check_scalar(household_share, name="household_share", low=0, high=1)
    if noise not in NOISE_LEVELS:
        raise ValidationError(
            f"noise must be one of {', '.join(NOISE_LEVELS)}; got {noise!r}",
            field="noise",
            value=noise,
        )
    rate = NOISE_LEVELS[noise]
    rng = check_random_state(random_state)
    n = int(n_entities)
    ent = _entities(n, hangul_share, rng)
    _households(ent, household_share, rng)
    extra = np.where(
        rng.random(n) < duplicate_share,
        np.minimum(rng.geometric(0.6, n), int(max_duplicates)),
        0,
    )
    owner = np.repeat(np.arange(n), 1 + extra)
    dup = np.r_[False, owner[1:] == owner[:-1]]
    r = owner.size
    e = {k: v[owner] for k, v in ent.items()}

    given = e["given"].copy()
    nick = _chance(rng, dup, rate["nickname"])
    for i in np.flatnonzero(nick):
        forms = _SHORT_FORMS.get(e["latin_given"][i])
        if forms:
            given[i] = forms[int(rng.integers(len(forms)))].capitalize()
    swap = _chance(rng, dup, rate["name_swap"])
    latin = ~e["hangul"]
    name = np.where(
        latin,
        np.where(
            swap,
            _cat(e["family"], np.where(rng.random(r) < 0.5, ", ", " "), given),
            _cat(given, " ", e["family"]),
        ),
        np.where(swap, _cat(given, " ", e["family"]), _cat(e["family"], given)),
    )  # fmt: skip
    style = rng.random(r)
    name = np.where(latin & (style < 0.1), np.array([s.upper() for s in name], dtype=object), name)
    plain = latin & (style >= 0.1) & (style < 0.25)
    name[plain] = [" ".join(w.capitalize() for w in clean_text(s).split()) for s in name[plain]]
    _typos(name, np.flatnonzero(_chance(rng, dup, rate["name_typo"])), rng, digits=False)

    local = _cat(e["latin_given"], e["sep"], e["latin_family"], owner.astype(str))
    email = _cat(local, "@", e["domain"])
    changed = _chance(rng, dup, rate["email_changed"])
    email[changed] = _cat(
        e["latin_family"][changed],
        "_",
        rng.integers(100, 10_000, int(changed.sum())).astype(str),
        "@",
        _pick(rng, voc.DOMAINS, int(changed.sum())),
    )
    _typos(email, np.flatnonzero(_chance(rng, dup, rate["email_typo"])), rng, digits=False)
    shout = rng.random(r) < 0.1
    email[shout] = [s.upper() for s in email[shout]]
    email[_chance(rng, dup, rate["email_missing"])] = None

    nsn = e["nsn"].copy()
    changed = _chance(rng, dup, rate["phone_changed"])
    nsn[changed] = _numbers(e["country"][changed], rng)
    # a typing error after the first digit: the number stays a valid one of its country
    tail = np.array([s[1:] for s in nsn], dtype=object)
    _typos(tail, np.flatnonzero(_chance(rng, dup, rate["phone_typo"])), rng, digits=True)
    nsn = _cat([s[0] for s in nsn], tail)
    cc = _per_value(e["country"], lambda c: voc.PHONE_PLANS[c][0])
    trunk = _per_value(e["country"], lambda c: voc.PHONE_PLANS[c][1])
    layout = rng.integers(0, 4, r)
    phone = np.select(
        [layout == 0, layout == 1, layout == 2],
        [
            _cat("+", cc, nsn),
            _cat("+", cc, " ", [s[:4] for s in nsn], " ", [s[4:] for s in nsn]),
            _cat(trunk, nsn),
        ],
        _cat("00", cc, " ", nsn),
    ).astype(object)  # fmt: skip
    phone[_chance(rng, dup, rate["phone_missing"])] = None

    born = e["born"].copy()
    err = _chance(rng, dup, rate["date_error"])
    y, m, d = _time.ymd(born)  # days since 1970-01-01
    can_swap = err & (d <= 12) & (d != m)
    m2, d2 = np.where(can_swap, d, m), np.where(can_swap, m, d)
    y2 = np.where(err & ~can_swap, y + rng.choice([-1, 1], r), y)
    d2 = np.where(err & (m2 == 2) & (d2 == 29), 28, d2)  # no 29 February of a common year
    birth = _cat(_zfill(y2, 4), "-", _zfill(m2, 2), "-", _zfill(d2, 2))
    birth[_chance(rng, dup, rate["date_missing"])] = None

    code = e["postcode_code"].copy()
    moved = _chance(rng, dup, rate["postcode_changed"])
    code[moved] = rng.integers(0, 3000, int(moved.sum()))
    postcode = _postcodes(e["country"], code)
    lower = rng.random(r) < 0.2
    postcode[lower] = [s.lower().replace(" ", "") for s in postcode[lower]]
    postcode[_chance(rng, dup, rate["postcode_missing"])] = None

    city = np.empty(r, dtype=object)
    for code_name, names in voc.CITIES.items():
        here = e["country"] == code_name
        city[here] = np.asarray(names, dtype=object)[e["postcode_code"][here] % 5]
    created = e["created"] + np.where(dup, rng.integers(0, 200 * 86_400, r), 0)
    updated = created + rng.integers(0, 400 * 86_400, r)
    opt = rng.random(r)
    opt_in = pd.array(opt < 0.5, dtype="boolean")
    opt_in[opt >= 0.8] = pd.NA

    order = rng.permutation(r)
    ids = np.array([f"R{k:07d}" for k in range(r)], dtype=object)
    records = pd.DataFrame(
        {
            "id": ids,
            "name": name[order], "email": email[order], "phone": phone[order],
            "birth_date": birth[order], "postcode": postcode[order], "city": city[order],
            "country": e["country"][order],
            "gender": np.where(e["female"], "female", "male")[order].astype(object),
            "created_at": _seconds_utc(created[order]),
            "updated_at": _seconds_utc(updated[order]),
            "source": _pick(rng, ("web", "store", "call_centre", "partner"), r)[order],
            "email_opt_in": opt_in[order],
        }
    )  # fmt: skip
    entity = np.array([f"E{k:07d}" for k in owner[order]], dtype=object)
    truth = pd.Series(entity, index=pd.Index(ids, name="id"), name="entity")
    return DuplicateSet(records, truth)
