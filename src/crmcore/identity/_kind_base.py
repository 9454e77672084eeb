"""The comparison-kind protocol: how a field is normalised, compared, blocked on, validated.

Each kind is one object declaring what it does (no switch over kind names
elsewhere): ``prepare`` turns a column into a :class:`Column` of distinct
normalised values and per-record codes; ``compare`` gives, for candidate
pairs of records, a similarity in [0, 1] and an agreement level (``-1`` when
either value is missing, ``0`` for disagreement, up to ``n_levels - 1`` for
exact agreement); ``block_key`` gives per-record blocking keys; ``validity``
tells which present values are valid (for data quality).

Comparisons are vectorised over pairs: equal codes are exact agreements
without calling a scorer, and a scorer runs once per *distinct pair of
values* through RapidFuzz's ``process.cpdist`` (C++, releases the GIL).
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from crmcore._types import BoolArray, FloatArray, IntArray
from crmcore.identity._deps import rapidfuzz
from crmcore.identity._fields import Column, Field, codes_of
from crmcore.identity._normalise import (
    clean_text,
)

__all__ = [
    "DEFAULT_CUTS",
    "E164",
    "FIRST_CODE",
    "NO_CODE",
    "SEPARATORS",
    "BlockKey",
    "Compared",
    "Kind",
    "absent",
    "as_text",
    "cpdist",
    "distinct_pairs",
]

Compared = tuple[np.ndarray[Any, np.dtype[np.float32]], np.ndarray[Any, np.dtype[np.int8]]]
DEFAULT_CUTS = (0.7, 0.85, 0.92, 0.98)
E164 = r"^\+[1-9]\d{6,14}$"
SEPARATORS = "[ \t\\-.()/\u00a0]"


NO_CODE = np.array([-1], dtype=np.int64)
FIRST_CODE = np.array([0], dtype=np.int64)


def absent(value: Any) -> bool:
    """Whether a single value is missing (None, NaN, NA, NaT, blank text)."""
    if value is None:
        return True
    if isinstance(value, str):
        return not value.strip()
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def as_text(value: Any) -> str:
    return value if isinstance(value, str) else str(value)


def distinct_pairs(
    ca: IntArray, cb: IntArray, nb: int, same: bool
) -> tuple[IntArray, IntArray, IntArray]:
    """Distinct (value, value) pairs among code pairs, and each pair's position among them."""
    if same:  # every scorer used is symmetric: (x, y) and (y, x) are one pair
        ca, cb = np.minimum(ca, cb), np.maximum(ca, cb)
    inverse, uniq = pd.factorize(ca * np.int64(nb) + cb)
    uniq = np.asarray(uniq, dtype=np.int64)
    return uniq // nb, uniq % nb, np.asarray(inverse, dtype=np.int64)


def cpdist(scorer: Any, left: Any, right: Any, n_jobs: int) -> FloatArray:
    rf = rapidfuzz()
    if len(left) == 0:
        return np.zeros(0, dtype=np.float64)
    out = rf.process.cpdist(
        list(left), list(right), scorer=scorer, dtype=np.float32, workers=n_jobs
    )
    return np.asarray(out, dtype=np.float64)


@dataclass(frozen=True, slots=True)
class BlockKey:
    """A blocking key of every record: integer codes into the distinct keys."""

    codes: IntArray
    keys: pd.Index


class Kind:
    """Base class: one comparison kind (subclasses set the class attributes)."""

    name: ClassVar[str]
    level_names: ClassVar[tuple[str, ...]] = ("disagree", "agree")
    key_variants: ClassVar[tuple[str, ...]] = ("value",)

    def n_levels(self, spec: Field) -> int:
        """Return the number of agreement levels (0 = disagree ... n - 1 = exact)."""
        return len(self.level_names)

    def levels(self, spec: Field) -> tuple[str, ...]:
        """Names of the agreement levels, lowest first."""
        return self.level_names

    # ------------------------------------------------------------ preparing

    def prepare(
        self, frame: pd.DataFrame, column: str, spec: Field, ids: Sequence[Hashable] | pd.Index
    ) -> Column:
        """Normalise ``frame[column]`` into a :class:`Column`."""
        raw = frame[column].to_numpy(dtype=object)
        codes, values = codes_of(raw, lambda v: self.normalise(as_text(v), spec))
        return self.finish(Column(codes, values), spec)

    def normalise(self, text: str, spec: Field) -> Any:
        """Return the canonical form of one value (``""`` or None: missing)."""
        return clean_text(text)

    def finish(self, col: Column, spec: Field) -> Column:
        """Add the per-value arrays ``compare`` needs (default: nothing)."""
        return col

    def one(self, value: Any, spec: Field, row: Mapping[str, Any], column: str) -> Column:
        """Return the :class:`Column` of one record's value (the save-time check's query).

        The same normalisation as :meth:`prepare`, without pandas' per-call
        overhead.
        """
        norm = None if absent(value) else self.normalise(as_text(value), spec)
        if norm is None or norm == "":
            return self.finish(Column(NO_CODE.copy(), np.empty(0, dtype=object)), spec)
        return self.finish(Column(FIRST_CODE.copy(), np.array([norm], dtype=object)), spec)

    # ------------------------------------------------------------ comparing

    def compare(
        self, a: Column, ia: IntArray, b: Column, ib: IntArray, *, spec: Field, n_jobs: int = 1
    ) -> Compared:
        """Similarity and agreement level for the pairs ``(a[ia], b[ib])``."""
        ca, cb = a.codes[ia], b.codes[ib]
        present = (ca >= 0) & (cb >= 0)
        sim = np.zeros(ca.size, dtype=np.float32)
        level = np.full(ca.size, -1, dtype=np.int8)
        same = a is b
        exact = present & (ca == cb) if same else np.zeros(ca.size, dtype=bool)
        sim[exact] = 1.0
        level[exact] = self.n_levels(spec) - 1
        rest = np.flatnonzero(present & ~exact)
        if rest.size and not same:  # a query against an index: few pairs, no repeats to share
            s, lv = self.score_values(a, ca[rest], b, cb[rest], spec=spec, n_jobs=n_jobs)
            sim[rest], level[rest] = s, lv
        elif rest.size:
            ua, ub, inverse = distinct_pairs(ca[rest], cb[rest], len(b.values), same)
            s, lv = self.score_values(a, ua, b, ub, spec=spec, n_jobs=n_jobs)
            sim[rest] = s[inverse]
            level[rest] = lv[inverse]
        return sim, level

    def score_values(
        self, a: Column, ua: IntArray, b: Column, ub: IntArray, *, spec: Field, n_jobs: int
    ) -> tuple[FloatArray, IntArray]:
        """Similarity and level of distinct value pairs ``(a.values[ua], b.values[ub])``."""
        equal = np.array(
            [x == y for x, y in zip(a.values[ua], b.values[ub], strict=True)], dtype=bool
        )
        return equal.astype(np.float64), equal.astype(np.int64) * (self.n_levels(spec) - 1)

    # ------------------------------------------------------------ blocking

    def key_values(self, col: Column, variant: str) -> np.ndarray[Any, Any]:
        """Per distinct value, its blocking key for ``variant`` (None: no key)."""
        return col.values

    def block_key(self, col: Column, variant: str) -> BlockKey:
        """Per record, an integer code of its blocking key (``-1``: no key)."""
        keys = self.key_values(col, variant)
        has = np.array([k is not None and k != "" for k in keys], dtype=bool)
        codes, distinct = pd.factorize(pd.Series(keys, dtype=object).where(has))
        per_record = np.append(np.asarray(codes, dtype=np.int64), -1)[col.codes]
        # an object Index: its hash table looks one key up in about a microsecond
        return BlockKey(per_record, pd.Index(np.asarray(distinct, dtype=object), dtype=object))

    def query_key(self, col: Column, variant: str, known: pd.Index) -> int:
        """Return the code, among ``known`` keys, of a one-record column's key (``-1``: none)."""
        if col.codes[0] < 0:
            return -1
        key = self.key_values(col, variant)[0]
        if key is None or key == "":
            return -1
        try:
            found = known.get_loc(key)
        except KeyError:
            return -1
        return found if isinstance(found, int) else -1  # distinct keys: always an int

    # ------------------------------------------------------------ validity

    def validity(
        self, frame: pd.DataFrame, column: str, spec: Field
    ) -> tuple[BoolArray, BoolArray]:
        """Per record: whether a value is present, and whether it is valid."""
        col = self.prepare(frame, column, spec, frame.index)
        present = frame[column].notna().to_numpy() & (col.codes >= 0)
        return present, present
