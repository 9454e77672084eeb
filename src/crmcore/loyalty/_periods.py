"""Calendar periods (day, ISO week, month) in UTC, as integer indices.

A period index counts periods since the Unix epoch: day ``0`` is
1970-01-01, week ``0`` is the ISO week (Monday to Sunday) holding
1970-01-01, month ``0`` is January 1970. Scalar and vectorised forms agree
exactly; the vectorised forms work on int64 nanoseconds since the epoch.
"""

from __future__ import annotations

import datetime as _dt
from typing import Literal

import numpy as np

from crmcore._types import IntArray

__all__ = ["PeriodUnit", "period_index", "period_indices", "period_start", "period_starts_ns"]

PeriodUnit = Literal["day", "week", "month"]
PERIOD_UNITS: tuple[str, ...] = ("day", "week", "month")

_EPOCH = _dt.datetime(1970, 1, 1, tzinfo=_dt.UTC)
_NS_PER_DAY = 86_400 * 10**9
# 1970-01-01 was a Thursday: shift by 3 days so that weeks start on Monday.
_WEEK_SHIFT = 3


def period_index(at: _dt.datetime, unit: PeriodUnit) -> int:
    """Index of the UTC period holding the aware datetime ``at``."""
    utc = at.astimezone(_dt.UTC)
    if unit == "month":
        return (utc.year - 1970) * 12 + utc.month - 1
    days = (utc - _EPOCH) // _dt.timedelta(days=1)
    if unit == "week":
        return (days + _WEEK_SHIFT) // 7
    return days


def period_start(index: int, unit: PeriodUnit) -> _dt.datetime:
    """UTC start (inclusive) of the period with this index."""
    if unit == "month":
        year, month0 = divmod(index, 12)
        return _dt.datetime(1970 + year, month0 + 1, 1, tzinfo=_dt.UTC)
    if unit == "week":
        return _EPOCH + _dt.timedelta(days=7 * index - _WEEK_SHIFT)
    return _EPOCH + _dt.timedelta(days=index)


def period_indices(ns: IntArray, unit: PeriodUnit) -> IntArray:
    """Vectorised :func:`period_index` on int64 nanoseconds since the epoch (UTC)."""
    if unit == "month":
        months = ns.view("datetime64[ns]").astype("datetime64[M]")
        return np.asarray(months.astype(np.int64), dtype=np.int64)
    days = np.floor_divide(ns, _NS_PER_DAY)
    if unit == "week":
        return np.asarray(np.floor_divide(days + _WEEK_SHIFT, 7), dtype=np.int64)
    return days


def period_starts_ns(index: IntArray, unit: PeriodUnit) -> IntArray:
    """Vectorised :func:`period_start`, as int64 nanoseconds since the epoch."""
    if unit == "month":
        starts = index.astype("datetime64[M]").astype("datetime64[ns]")
        return np.asarray(starts.astype(np.int64), dtype=np.int64)
    if unit == "week":
        return (7 * index - _WEEK_SHIFT) * _NS_PER_DAY
    return index * _NS_PER_DAY
