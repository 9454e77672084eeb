"""Date fields: read a column written in one or several formats into whole days.

The parsing itself is :func:`crmcore._time.read_dates` (the one clock). What
this module adds is the choice of format per value when a column mixes
several: each ``strptime`` format is turned into a *shape* (a regular
expression of its digits and separators) and a value goes to the first format
whose shape it has; ``read_dates`` then reads each group with its format.
Values are read once per distinct text, and a group holding an impossible date
(``31.02.1990``) is split in halves until that value is isolated, so one bad
value costs a few extra calls, not a failure of the column.
"""

from __future__ import annotations

import datetime as _dt
import re
from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from crmcore import _time
from crmcore._types import BoolArray, IntArray
from crmcore.errors import ValidationError

__all__ = ["ISO_SHAPE", "DayColumn", "first_invalid", "read_days"]

ISO_SHAPE = re.compile(
    r"^\d{4}-\d{1,2}-\d{1,2}"
    r"(?:[T ]\d{1,2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:Z|[+-]\d{2}:?\d{2})?)?$"
)
_DIRECTIVES = {
    "Y": r"\d{4}",
    "y": r"\d{2}",
    "m": r"\d{1,2}",
    "d": r"\d{1,2}",
    "H": r"\d{1,2}",
    "I": r"\d{1,2}",
    "M": r"\d{1,2}",
    "S": r"\d{1,2}",
    "f": r"\d{1,6}",
    "j": r"\d{1,3}",
    "b": r"[^\W\d_]{3,4}\.?",
    "B": r"[^\W\d_]+",
    "a": r"[^\W\d_]+\.?",
    "A": r"[^\W\d_]+",
    "p": r"(?:[AaPp][Mm])",
    "z": r"(?:Z|[+-]\d{2}:?\d{2})",
    "%": "%",
}


def _shape(fmt: str, column: str) -> re.Pattern[str]:
    """Return the regular expression of the values ``fmt`` can read (digits, words, separators)."""
    out: list[str] = []
    i = 0
    while i < len(fmt):
        ch = fmt[i]
        if ch == "%" and i + 1 < len(fmt):
            code = fmt[i + 1]
            if code not in _DIRECTIVES:
                raise ValidationError(
                    f"date_format {fmt!r} of {column}: directive %{code} is not supported; "
                    f"use %{', %'.join(k for k in _DIRECTIVES if k != '%')}",
                    field=column,
                    value=fmt,
                )
            out.append(_DIRECTIVES[code])
            i += 2
        elif ch.isspace():
            out.append(r"\s+")
            i += 1
        else:
            out.append(re.escape(ch))
            i += 1
    return re.compile("^" + "".join(out) + "$")


@dataclass(frozen=True, slots=True)
class DayColumn:
    """A date column as whole days since 1970-01-01 on its own wall clock.

    ``days`` is meaningful where neither ``missing`` (no value) nor
    ``invalid`` (a value no format reads) is set.
    """

    days: IntArray
    missing: BoolArray
    invalid: BoolArray


def _days_of(dates: _time.Dates) -> IntArray:
    return np.asarray(dates.wall_ns() // _time.NS_PER_DAY, dtype=np.int64)


def _parse_group(values: list[Any], fmt: str | None, column: str) -> dict[int, int]:
    """Read positions -> days, isolating unreadable values by halving."""
    out: dict[int, int] = {}
    stack: list[list[int]] = [list(range(len(values)))]
    while stack:
        part = stack.pop()
        try:
            dates = _time.read_dates(
                pd.Series([values[i] for i in part], dtype=object), name=column, date_format=fmt
            )
        except ValidationError:
            if len(part) > 1:
                half = len(part) // 2
                stack.extend((part[:half], part[half:]))
            continue
        out.update(zip(part, _days_of(dates).tolist(), strict=True))
    return out


def read_days(
    values: pd.Series,
    *,
    column: str,
    formats: Sequence[str] | None,
) -> DayColumn:
    """Read a date column (any layout ``_time.read_dates`` reads, text in several formats).

    Parameters
    ----------
    values : Series
        The column.
    column : str
        Its name, for messages.
    formats : sequence of str, optional
        ``strptime`` formats for text values, in priority order; ``None``
        reads ISO 8601 text only (never a guessed day/month order).

    Returns
    -------
    DayColumn
    """
    n = len(values)
    dtype = values.dtype
    if isinstance(dtype, pd.PeriodDtype | pd.DatetimeTZDtype) or dtype.kind == "M":
        dates = _time.read_dates(values.reset_index(drop=True), name=column, allow_missing=True)
        missing = dates.ns == _time.NAT
        days = np.where(
            missing, 0, _days_of(_time.Dates(np.where(missing, 0, dates.ns), dates.tz))
        )
        return DayColumn(days, missing, np.zeros(n, dtype=bool))
    codes, uniques = pd.factorize(values.reset_index(drop=True), use_na_sentinel=True)
    codes = np.asarray(codes, dtype=np.int64)
    uniq = list(np.asarray(uniques, dtype=object))
    found: dict[int, int] = {}
    blank: set[int] = set()
    texts: dict[int, str] = {}
    objects: list[int] = []
    for pos, value in enumerate(uniq):
        if isinstance(value, str):
            stripped = value.strip()
            if stripped:
                texts[pos] = stripped
            else:
                blank.add(pos)
        elif isinstance(value, _dt.date | np.datetime64 | pd.Timestamp):
            objects.append(pos)
        else:
            texts[pos] = str(value)
    if objects:
        got = _parse_group([uniq[p] for p in objects], None, column)
        found.update({objects[i]: d for i, d in got.items()})
    shapes = [(None, ISO_SHAPE)] if not formats else [(f, _shape(f, column)) for f in formats]
    remaining = dict(texts)
    for fmt, shape in shapes:
        group = [p for p, t in remaining.items() if shape.match(t)]
        if not group:
            continue
        got = _parse_group([remaining[p] for p in group], fmt, column)
        for i, d in got.items():
            found[group[i]] = d
        for p in group:
            if p in found:
                del remaining[p]
    lookup_days = np.zeros(len(uniq) + 1, dtype=np.int64)
    lookup_state = np.full(len(uniq) + 1, 2, dtype=np.int8)  # 0 ok, 1 missing, 2 invalid
    lookup_state[-1] = 1
    for p, d in found.items():
        lookup_days[p], lookup_state[p] = d, 0
    for p in blank:
        lookup_state[p] = 1
    state = lookup_state[codes]
    return DayColumn(lookup_days[codes], state == 1, state == 2)


def first_invalid(
    col: DayColumn,
    values: pd.Series,
    *,
    column: str,
    ids: Sequence[Hashable] | pd.Index,
    formats: Sequence[str] | None,
) -> ValidationError | None:
    """Return the error naming the first unreadable date, or None when all are readable."""
    if not col.invalid.any():
        return None
    pos = int(np.flatnonzero(col.invalid)[0])
    hint = (
        f"no date_format of {list(formats)!r} reads it"
        if formats
        else "give Field('date', date_format=...) for text that is not ISO 8601 "
        "(e.g. '%d.%m.%Y'), or Field('date', invalid='missing') to treat it as missing"
    )
    return ValidationError(
        f"{column} of record {ids[pos]!r} is not a date: {values.iloc[pos]!r}; {hint}",
        field=column,
        row=ids[pos],
        value=values.iloc[pos],
    )
