"""The comparison kinds: name, text, email, phone, date, postcode, exact, numeric.

Each is a :class:`~crmcore.identity._kind_base.Kind` declaring its
normalisation, agreement levels, blocking keys and validity rule.
"""

from __future__ import annotations

import re
from collections.abc import Hashable, Mapping, Sequence
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from crmcore import _time
from crmcore._types import BoolArray, FloatArray, IntArray
from crmcore.domain import EmailAddress, PhoneNumber
from crmcore.errors import ValidationError
from crmcore.identity._dates import ISO_SHAPE, first_invalid, read_days
from crmcore.identity._deps import rapidfuzz
from crmcore.identity._fields import Column, Field
from crmcore.identity._kind_base import (
    DEFAULT_CUTS,
    E164,
    FIRST_CODE,
    NO_CODE,
    SEPARATORS,
    BlockKey,
    Kind,
    absent,
    as_text,
    cpdist,
)
from crmcore.identity._normalise import (
    canonical_email,
    jamo,
    name_tokens,
    normalise_postcode,
)

__all__ = ["KINDS", "BlockKey", "Kind"]


class _Similar(Kind):
    """Free text and names: Jaro–Winkler, and token-set ratio for several words."""

    name = "text"
    key_variants: ClassVar[tuple[str, ...]] = ("prefix", "value")

    def cuts(self, spec: Field) -> tuple[float, ...]:
        """Similarity cut points between levels."""
        return spec.levels if spec.levels is not None else DEFAULT_CUTS

    def n_levels(self, spec: Field) -> int:
        return len(self.cuts(spec)) + 1

    def levels(self, spec: Field) -> tuple[str, ...]:
        cuts = self.cuts(spec)
        return ("disagree", *(f">={c:g}" for c in cuts[:-1]), "exact")

    def finish(self, col: Column, spec: Field) -> Column:
        col.sim = np.array([jamo(v) for v in col.values], dtype=object)
        col.extra["words"] = np.array([v.count(" ") + 1 for v in col.values], dtype=np.int64)
        return col

    def score_values(
        self, a: Column, ua: IntArray, b: Column, ub: IntArray, *, spec: Field, n_jobs: int
    ) -> tuple[FloatArray, IntArray]:
        rf = rapidfuzz()
        assert a.sim is not None
        assert b.sim is not None
        left, right = a.sim[ua], b.sim[ub]
        sim = cpdist(rf.distance.JaroWinkler.normalized_similarity, left, right, n_jobs)
        cuts = self.cuts(spec)
        # several words on both sides: words in another order or one extra word
        several = np.flatnonzero(
            (a.extra["words"][ua] >= 2) & (b.extra["words"][ub] >= 2) & (sim < cuts[-1])
        )
        if several.size:
            tset = cpdist(rf.fuzz.token_set_ratio, left[several], right[several], n_jobs) / 100
            sim[several] = np.maximum(sim[several], tset)
        equal = np.array([x == y for x, y in zip(left, right, strict=True)], dtype=bool)
        sim = np.where(equal, 1.0, np.minimum(sim, 1.0))
        level = np.searchsorted(np.asarray(cuts), sim, side="right").astype(np.int64)
        # only identical values are "exact" (JW rounds to 1.0 for long near-equal strings)
        level = np.where(equal, len(cuts), np.minimum(level, len(cuts) - 1))
        return sim, level

    def key_values(self, col: Column, variant: str) -> np.ndarray[Any, Any]:
        if variant == "prefix":
            return np.array([v[:4] for v in col.values], dtype=object)
        return col.values

    def validity(
        self, frame: pd.DataFrame, column: str, spec: Field
    ) -> tuple[BoolArray, BoolArray]:
        present = frame[column].notna().to_numpy()
        col = self.prepare(frame, column, spec, frame.index)
        return present, present & (col.codes >= 0)


class TextKind(_Similar):
    """Free text: cleaned (NFKC, case folding, accents, punctuation), JW / token set."""

    name = "text"


class NameKind(_Similar):
    """Person names: words cleaned, titles dropped, nicknames mapped, Hangul split."""

    name = "name"
    key_variants: ClassVar[tuple[str, ...]] = ("prefix", "initials", "value")

    def normalise(self, text: str, spec: Field) -> Any:
        # sorted words: "Smith, Ann" and "Ann Smith" are one name
        return " ".join(sorted(name_tokens(text, spec.nicknames)))

    def key_values(self, col: Column, variant: str) -> np.ndarray[Any, Any]:
        if variant == "prefix":
            return np.array([" ".join(w[:3] for w in v.split()) for v in col.values], dtype=object)
        if variant == "initials":
            # first letter of each word; of a Hangul word, its first jamo (initial consonant)
            return np.array(
                ["".join(jamo(w)[0] for w in v.split()) for v in col.values], dtype=object
            )
        return col.values

    def validity(
        self, frame: pd.DataFrame, column: str, spec: Field
    ) -> tuple[BoolArray, BoolArray]:
        present = frame[column].notna().to_numpy()
        col = self.prepare(frame, column, spec, frame.index)
        letters = np.array([any(ch.isalpha() for ch in v) for v in col.values], dtype=bool)
        return present, present & np.append(letters, False)[col.codes]


class EmailKind(Kind):
    """E-mail addresses in canonical form (:func:`canonical_email`)."""

    name = "email"
    level_names = ("disagree", "similar local part", "one edit or same local part", "exact")
    key_variants = ("value", "local", "domain")

    def normalise(self, text: str, spec: Field) -> Any:
        return canonical_email(text)

    def finish(self, col: Column, spec: Field) -> Column:
        col.extra["local"] = np.array([v.rpartition("@")[0] for v in col.values], dtype=object)
        return col

    def score_values(
        self, a: Column, ua: IntArray, b: Column, ub: IntArray, *, spec: Field, n_jobs: int
    ) -> tuple[FloatArray, IntArray]:
        rf = rapidfuzz()
        left, right = a.values[ua], b.values[ub]
        sim = cpdist(rf.distance.Levenshtein.normalized_similarity, left, right, n_jobs)
        edits = cpdist(rf.distance.OSA.distance, left, right, n_jobs)
        la, lb = a.extra["local"][ua], b.extra["local"][ub]
        same_local = np.array([x == y for x, y in zip(la, lb, strict=True)], dtype=bool)
        jw_local = cpdist(rf.distance.JaroWinkler.normalized_similarity, la, lb, n_jobs)
        equal = np.array([x == y for x, y in zip(left, right, strict=True)], dtype=bool)
        level = np.where(
            equal, 3, np.where((edits <= 1) | same_local, 2, np.where(jw_local >= 0.9, 1, 0))
        )
        return sim, level.astype(np.int64)

    def key_values(self, col: Column, variant: str) -> np.ndarray[Any, Any]:
        if variant == "local":
            return col.extra["local"]
        if variant == "domain":
            return np.array([v.rpartition("@")[2] for v in col.values], dtype=object)
        return col.values

    def validity(
        self, frame: pd.DataFrame, column: str, spec: Field
    ) -> tuple[BoolArray, BoolArray]:
        raw = frame[column]
        present = raw.notna().to_numpy() & (raw.astype(str).str.strip() != "").to_numpy()
        codes, uniq = pd.factorize(raw.where(present), use_na_sentinel=True)
        ok = np.zeros(len(uniq) + 1, dtype=bool)
        for i, v in enumerate(np.asarray(uniq, dtype=object)):
            try:
                EmailAddress.parse(as_text(v))
            except ValidationError:
                continue
            ok[i] = True
        return present, present & ok[np.asarray(codes, dtype=np.int64)]


def _bad_phone(column: str, record: Any, value: Any) -> ValidationError:
    return ValidationError(
        f"{column} of record {record!r} is not a phone number: {value!r}; give "
        "international numbers ('+44 20 7946 0958'), Field('phone', country=...) or "
        "country_col=... for national ones, or Field('phone', invalid='missing')",
        field=column,
        row=record,
        value=value,
    )


class PhoneKind(Kind):
    """Telephone numbers in E.164 form, read by :class:`crmcore.domain.PhoneNumber`."""

    name = "phone"
    level_names = ("disagree", "one edit or same last 8 digits", "exact")
    key_variants = ("suffix", "value")

    def _read(
        self, frame: pd.DataFrame, column: str, spec: Field
    ) -> tuple[IntArray, np.ndarray[Any, Any], BoolArray, BoolArray]:
        """Codes, distinct E.164 numbers, present and invalid masks per record."""
        raw = frame[column].astype(object)
        present = raw.notna().to_numpy() & (raw.astype(str).str.strip() != "").to_numpy()
        # drop the separators PhoneNumber ignores anyway, so that one number written
        # several ways is read once (and E.164 text takes the fast path below)
        text = (
            raw.where(present)
            .map(as_text, na_action="ignore")
            .astype("str")
            .str.replace(SEPARATORS, "", regex=True)
        )
        if spec.country_col is not None:
            country = frame[spec.country_col].astype(object)
            keyed = text + "\x00" + country.fillna("").map(as_text)
        else:
            keyed = text
        first, uniques = pd.factorize(keyed.where(present), use_na_sentinel=True)
        numbers = np.empty(len(uniques), dtype=object)
        bad = np.zeros(len(uniques) + 1, dtype=bool)
        # already E.164 ("+" and 7 to 15 digits, no leading 0): PhoneNumber keeps it as is
        clean = pd.Series(uniques, dtype=object).str.fullmatch(E164).fillna(value=False).to_numpy()
        for i, key in enumerate(np.asarray(uniques, dtype=object)):
            number, _, cc = str(key).partition("\x00")
            if clean[i]:
                numbers[i] = number
                continue
            try:
                numbers[i] = PhoneNumber(number=number, country=cc or spec.country).number
            except ValidationError:
                numbers[i], bad[i] = None, True
        codes2, values = pd.factorize(pd.Series(numbers, dtype=object), use_na_sentinel=True)
        lookup = np.append(np.asarray(codes2, dtype=np.int64), -1)
        first = np.asarray(first, dtype=np.int64)
        return lookup[first], np.asarray(values, dtype=object), present, bad[first] & present

    def prepare(
        self, frame: pd.DataFrame, column: str, spec: Field, ids: Sequence[Hashable] | pd.Index
    ) -> Column:
        codes, values, _present, invalid = self._read(frame, column, spec)
        if spec.invalid == "raise" and invalid.any():
            pos = int(np.flatnonzero(invalid)[0])
            raise _bad_phone(column, ids[pos], frame[column].iloc[pos])
        return Column(codes, values)

    def one(self, value: Any, spec: Field, row: Mapping[str, Any], column: str) -> Column:
        if absent(value):
            return Column(NO_CODE.copy(), np.empty(0, dtype=object))
        text = re.sub(SEPARATORS, "", as_text(value))
        number: str | None = text
        if not re.fullmatch(E164, text):
            cc = row.get(spec.country_col) if spec.country_col is not None else None
            cc = None if absent(cc) else as_text(cc)
            try:
                number = PhoneNumber(number=text, country=cc or spec.country).number
            except ValidationError:
                if spec.invalid == "raise":
                    raise _bad_phone(column, row.get("__id__", "<new>"), value) from None
                number = None
        if number is None:
            return Column(NO_CODE.copy(), np.empty(0, dtype=object))
        return Column(FIRST_CODE.copy(), np.array([number], dtype=object))

    def score_values(
        self, a: Column, ua: IntArray, b: Column, ub: IntArray, *, spec: Field, n_jobs: int
    ) -> tuple[FloatArray, IntArray]:
        rf = rapidfuzz()
        left, right = a.values[ua], b.values[ub]
        sim = cpdist(rf.distance.Levenshtein.normalized_similarity, left, right, n_jobs)
        edits = cpdist(rf.distance.OSA.distance, left, right, n_jobs)
        tail = np.array([x[-8:] == y[-8:] for x, y in zip(left, right, strict=True)], dtype=bool)
        equal = np.array([x == y for x, y in zip(left, right, strict=True)], dtype=bool)
        level = np.where(equal, 2, np.where((edits <= 1) | tail, 1, 0))
        return sim, level.astype(np.int64)

    def key_values(self, col: Column, variant: str) -> np.ndarray[Any, Any]:
        if variant == "suffix":
            return np.array([v[-7:] for v in col.values], dtype=object)
        return col.values

    def validity(
        self, frame: pd.DataFrame, column: str, spec: Field
    ) -> tuple[BoolArray, BoolArray]:
        _codes, _values, present, invalid = self._read(frame, column, spec)
        return present, present & ~invalid


def _day_column(codes: IntArray, values: IntArray) -> Column:
    year, month, day = _time.ymd(values)
    extra = {"y": year - 1970, "m": month, "d": day}  # "y" counted from 1970, as blocking keys
    return Column(codes, values, None, extra)


class DateKind(Kind):
    """Dates as whole days; day and month swapped or one part off is a partial match."""

    name = "date"
    level_names = ("disagree", "two of year/month/day or day-month swapped", "exact")
    key_variants = ("value", "year", "month_day")

    def _formats(self, spec: Field) -> tuple[str, ...] | None:
        fmt = spec.date_format
        return (fmt,) if isinstance(fmt, str) else fmt

    def prepare(
        self, frame: pd.DataFrame, column: str, spec: Field, ids: Sequence[Hashable] | pd.Index
    ) -> Column:
        formats = self._formats(spec)
        col = read_days(frame[column], column=column, formats=formats)
        if spec.invalid == "raise":
            err = first_invalid(col, frame[column], column=column, ids=ids, formats=formats)
            if err is not None:
                raise err
        usable = ~(col.missing | col.invalid)
        codes, values = pd.factorize(np.where(usable, col.days, np.iinfo(np.int64).min))
        codes = np.asarray(codes, dtype=np.int64)
        codes[~usable] = -1
        return _day_column(codes, np.asarray(values, dtype=np.int64))

    def one(self, value: Any, spec: Field, row: Mapping[str, Any], column: str) -> Column:
        if absent(value):
            return _day_column(NO_CODE.copy(), np.empty(0, dtype=np.int64))
        formats = self._formats(spec)
        if formats is not None and isinstance(value, str):  # several formats: the batch reader
            frame = pd.DataFrame({column: pd.Series([value], dtype=object)})
            return self.prepare(frame, column, spec, [row.get("__id__", "<new>")])
        # a date, datetime or ISO text: one instant through the one clock
        text = value.strip() if isinstance(value, str) else None
        try:
            if text is not None and not ISO_SHAPE.match(text):
                raise ValidationError(f"{column} is not ISO 8601 text", field=column)
            stamp = _time.to_instant(text if text is not None else value, name=column)
        except ValidationError:
            if spec.invalid == "missing":
                return _day_column(NO_CODE.copy(), np.empty(0, dtype=np.int64))
            record = row.get("__id__", "<new>")
            raise ValidationError(
                f"{column} of record {record!r} is not a date: {value!r}; give ISO 8601 "
                "text ('1990-03-04'), a date, or Field('date', date_format=...)",
                field=column,
                row=record,
                value=value,
            ) from None
        return _day_column(FIRST_CODE.copy(), np.array([_time.wall_day(stamp)]))

    def score_values(
        self, a: Column, ua: IntArray, b: Column, ub: IntArray, *, spec: Field, n_jobs: int
    ) -> tuple[FloatArray, IntArray]:
        ya, ma, da = (a.extra[k][ua] for k in "ymd")
        yb, mb, db = (b.extra[k][ub] for k in "ymd")
        agree = (ya == yb).astype(np.int64) + (ma == mb) + (da == db)
        swapped = (ya == yb) & (ma == db) & (da == mb)
        sim = np.where(swapped, 2, agree) / 3.0
        level = np.where(a.values[ua] == b.values[ub], 2, np.where((agree >= 2) | swapped, 1, 0))
        return sim.astype(np.float64), level.astype(np.int64)

    def key_values(self, col: Column, variant: str) -> np.ndarray[Any, Any]:
        if variant == "year":
            return col.extra["y"]
        if variant == "month_day":
            return np.asarray(col.extra["m"] * 100 + col.extra["d"])
        return col.values

    def validity(
        self, frame: pd.DataFrame, column: str, spec: Field
    ) -> tuple[BoolArray, BoolArray]:
        col = read_days(frame[column], column=column, formats=self._formats(spec))
        present = ~col.missing
        valid = present & ~col.invalid
        lo, hi = spec.valid_range or (None, None)
        for bound, keep in ((lo, np.greater_equal), (hi, np.less_equal)):
            if bound is not None:
                limit = read_days(
                    pd.Series([bound], dtype=object),
                    column="valid_range",
                    formats=self._formats(spec),
                )
                if limit.invalid[0] or limit.missing[0]:
                    raise ValidationError(
                        f"valid_range of {column} must hold dates; got {bound!r}",
                        field="valid_range",
                        value=bound,
                    )
                valid &= keep(col.days, limit.days[0])
        return present, valid


class PostcodeKind(Kind):
    """Postal codes: upper case without spaces; the first three characters are the area."""

    name = "postcode"
    level_names = ("disagree", "same area", "exact")
    key_variants = ("value", "area")

    def normalise(self, text: str, spec: Field) -> Any:
        return normalise_postcode(text)

    def score_values(
        self, a: Column, ua: IntArray, b: Column, ub: IntArray, *, spec: Field, n_jobs: int
    ) -> tuple[FloatArray, IntArray]:
        rf = rapidfuzz()
        left, right = a.values[ua], b.values[ub]
        sim = cpdist(rf.distance.JaroWinkler.normalized_similarity, left, right, n_jobs)
        area = np.array([x[:3] == y[:3] for x, y in zip(left, right, strict=True)], dtype=bool)
        equal = np.array([x == y for x, y in zip(left, right, strict=True)], dtype=bool)
        return sim, np.where(equal, 2, area.astype(np.int64))

    def key_values(self, col: Column, variant: str) -> np.ndarray[Any, Any]:
        if variant == "area":
            return np.array([v[:3] for v in col.values], dtype=object)
        return col.values

    def validity(
        self, frame: pd.DataFrame, column: str, spec: Field
    ) -> tuple[BoolArray, BoolArray]:
        present = frame[column].notna().to_numpy()
        col = self.prepare(frame, column, spec, frame.index)
        ok = np.array([v.isalnum() and 2 <= len(v) <= 10 for v in col.values], dtype=bool)
        return present, present & np.append(ok, False)[col.codes]


class ExactKind(Kind):
    """Any value compared for equality after trimming spaces (case kept)."""

    name = "exact"

    def normalise(self, text: str, spec: Field) -> Any:
        return text.strip()


class NumericKind(Kind):
    """Numbers: equal, within ``tolerance``, or different."""

    name = "numeric"
    level_names = ("disagree", "within tolerance", "exact")

    def prepare(
        self, frame: pd.DataFrame, column: str, spec: Field, ids: Sequence[Hashable] | pd.Index
    ) -> Column:
        raw = frame[column]
        values = np.array(
            pd.to_numeric(raw, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
        )
        bad = raw.notna().to_numpy() & ~np.isfinite(values)
        values[bad] = np.nan
        if bad.any() and spec.invalid == "raise":
            pos = int(np.flatnonzero(bad)[0])
            raise ValidationError(
                f"{column} of record {ids[pos]!r} is not a finite number: {raw.iloc[pos]!r}",
                field=column,
                row=ids[pos],
                value=raw.iloc[pos],
            )
        codes, uniq = pd.factorize(values, use_na_sentinel=True)
        return Column(np.asarray(codes, dtype=np.int64), np.asarray(uniq, dtype=np.float64))

    def one(self, value: Any, spec: Field, row: Mapping[str, Any], column: str) -> Column:
        frame = pd.DataFrame({column: pd.Series([value], dtype=object)})
        return self.prepare(frame, column, spec, [row.get("__id__", "<new>")])

    def score_values(
        self, a: Column, ua: IntArray, b: Column, ub: IntArray, *, spec: Field, n_jobs: int
    ) -> tuple[FloatArray, IntArray]:
        diff = np.abs(a.values[ua] - b.values[ub])
        tol = spec.tolerance
        sim = np.where(diff == 0, 1.0, np.maximum(0.0, 1 - diff / (2 * tol)) if tol else 0.0)
        level = np.where(diff == 0, 2, np.where(diff <= tol, 1, 0))
        return np.asarray(sim, dtype=np.float64), level.astype(np.int64)

    def key_values(self, col: Column, variant: str) -> np.ndarray[Any, Any]:
        return col.values.astype(object)

    def validity(
        self, frame: pd.DataFrame, column: str, spec: Field
    ) -> tuple[BoolArray, BoolArray]:
        raw = frame[column]
        values = pd.to_numeric(raw, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
        present = raw.notna().to_numpy()
        valid = present & np.isfinite(values)
        lo, hi = spec.valid_range or (None, None)
        if lo is not None:
            valid &= values >= float(lo)
        if hi is not None:
            valid &= values <= float(hi)
        return present, valid


KINDS: Mapping[str, Kind] = {
    kind.name: kind
    for kind in (
        NameKind(),
        TextKind(),
        EmailKind(),
        PhoneKind(),
        DateKind(),
        PostcodeKind(),
        ExactKind(),
        NumericKind(),
    )
}
"""Every comparison kind by name."""
