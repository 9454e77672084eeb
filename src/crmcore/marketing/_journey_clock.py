"""Wall-clock rules of journeys: quiet hours in the customer's zone, waits until a time of day.

Each rule exists twice, with one meaning: a scalar form for the single-step
engine (``zoneinfo``, a few microseconds) and an array form for a tick
(``crmcore._time.wall_ns`` / ``localize_wall``, one pass per zone). A wall
time that does not exist (a DST gap) moves forward to the first instant
after the gap; an ambiguous one (fall-back) is its first occurrence.
"""

from __future__ import annotations

import datetime as _dt
import functools
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd

from crmcore._time import NS_PER_DAY, NS_PER_SECOND, localize_wall, wall_ns
from crmcore._types import IntArray
from crmcore.errors import ValidationError
from crmcore.marketing._journey_values import to_datetime
from crmcore.pipeline import BusinessCalendar

__all__ = [
    "next_time_of_day",
    "next_times_of_day",
    "quiet_shift",
    "quiet_shifts",
    "quiet_shifts_coded",
    "zone",
]

_EPOCH_DATE = _dt.date(1970, 1, 1)
_MAX_DAYS = 800  # more than two years without a working day is a broken calendar
_NS_PER_US = 1000


@functools.lru_cache(maxsize=512)
def zone(name: str) -> ZoneInfo:
    """Return the ``ZoneInfo`` of a zone name (cached).

    Raises
    ------
    ValidationError
        Not a time zone name.
    """
    try:
        return ZoneInfo(name)
    except (ValueError, KeyError, TypeError) as exc:
        raise ValidationError(
            f"tz is not a time zone name: {name!r} (e.g. 'Europe/Berlin')", field="tz", value=name
        ) from exc


def _localize(day: _dt.date, seconds: int, tz: ZoneInfo) -> int:
    """UTC ns of a wall time on a local day (gap: forward; fall-back: first occurrence)."""
    h, rest = divmod(seconds, 3600)
    wall = _dt.datetime.combine(day, _dt.time(h, rest // 60, rest % 60), tzinfo=tz)
    instant = wall.astimezone(_dt.UTC)
    if instant.astimezone(tz).replace(tzinfo=None) != wall.replace(tzinfo=None):
        # in a DST gap: let the array form shift it, so both forms agree
        reading = (day - _EPOCH_DATE).days * NS_PER_DAY + seconds * NS_PER_SECOND
        return int(localize_wall(np.array([reading], dtype=np.int64), tz.key)[0])
    delta = instant - _dt.datetime(1970, 1, 1, tzinfo=_dt.UTC)
    return (delta.days * 86_400 + delta.seconds) * NS_PER_SECOND + delta.microseconds * 1000


def _local(ns: int, tz: ZoneInfo) -> tuple[_dt.date, int]:
    """Local date and nanoseconds into the local day."""
    local = to_datetime(ns).astimezone(tz)
    into = (local.hour * 3600 + local.minute * 60 + local.second) * NS_PER_SECOND
    return local.date(), into + local.microsecond * _NS_PER_US + ns % _NS_PER_US


def quiet_shift(ns: int, tz: str, quiet: tuple[int, int] | None) -> int:
    """Move an instant out of the quiet hours ``(start, end)`` (seconds of the local day).

    The result is ``ns`` itself outside the quiet hours, else the end of the
    quiet period on the local clock of ``tz``.
    """
    if quiet is None:
        return ns
    start, end = quiet
    zi = zone(tz)
    day, into = _local(ns, zi)
    s_ns, e_ns = start * NS_PER_SECOND, end * NS_PER_SECOND
    if start < end:
        if not s_ns <= into < e_ns:
            return ns
        return _localize(day, end, zi)
    if e_ns <= into < s_ns:
        return ns
    if into >= s_ns:
        day = day + _dt.timedelta(days=1)
    return _localize(day, end, zi)


def quiet_shifts(ns: IntArray, tz: Any, quiet: tuple[int, int] | None) -> IntArray:
    """:func:`quiet_shift` over arrays; ``tz`` is one name or one name per instant."""
    ns = np.asarray(ns, dtype=np.int64)
    if quiet is None or ns.size == 0:
        return ns.copy()
    if isinstance(tz, str):
        return quiet_shifts_coded(ns, [tz], np.zeros(ns.size, dtype=np.int64), quiet)
    names, inverse = np.unique(np.asarray(tz).astype(str), return_inverse=True)
    return quiet_shifts_coded(ns, [str(n) for n in names], inverse, quiet)


def quiet_shifts_coded(
    ns: IntArray, names: list[str], codes: IntArray, quiet: tuple[int, int] | None
) -> IntArray:
    """:func:`quiet_shifts` with the zones given as codes into ``names``."""
    ns = np.asarray(ns, dtype=np.int64)
    out = ns.copy()
    if quiet is None or ns.size == 0:
        return out
    start, end = (q * NS_PER_SECOND for q in quiet)
    order = np.argsort(codes, kind="stable")
    bounds = np.searchsorted(codes[order], np.arange(len(names) + 1))
    for k, name in enumerate(names):
        rows = order[bounds[k] : bounds[k + 1]]
        if not rows.size:
            continue
        zone(str(name))  # named error for a bad zone
        wall = wall_ns(ns[rows], str(name))
        into = wall % NS_PER_DAY
        day_start = wall - into
        if start < end:
            quiet_now = (into >= start) & (into < end)
            target = day_start + end
        else:
            quiet_now = (into >= start) | (into < end)
            target = day_start + end + np.where(into >= start, NS_PER_DAY, 0)
        hit = rows[quiet_now]
        if hit.size:
            out[hit] = localize_wall(target[quiet_now], str(name))
    return out


def _working_days(
    calendar: BusinessCalendar | None,
) -> tuple[np.ndarray[Any, Any], frozenset[int]]:
    if calendar is None:
        return np.ones(7, dtype=bool), frozenset()
    works = np.array([bool(spans) for spans in calendar.working_hours], dtype=bool)
    holidays = frozenset((d - _EPOCH_DATE).days for d in calendar.holidays)
    return works, holidays


def _zone_of(calendar: BusinessCalendar | None) -> ZoneInfo:
    return zone("UTC") if calendar is None else zone(calendar.tz.key)


def next_time_of_day(ns: int, seconds: int, calendar: BusinessCalendar | None) -> int:
    """Return the first instant after ``ns`` at ``seconds`` of a working day of ``calendar``.

    A working day is a weekday with working hours that is not a holiday;
    without a calendar every day counts, in UTC.
    """
    works, holidays = _working_days(calendar)
    zi = _zone_of(calendar)
    day, _ = _local(ns, zi)
    for k in range(_MAX_DAYS):
        d = day + _dt.timedelta(days=k)
        number = (d - _EPOCH_DATE).days
        if not works[d.weekday()] or number in holidays:
            continue
        cand = _localize(d, seconds, zi)
        if cand > ns:
            return cand
    raise ValidationError(
        f"the calendar has no working day in {_MAX_DAYS} days after {to_datetime(ns)}",
        field="calendar",
    )


def next_times_of_day(ns: IntArray, seconds: int, calendar: BusinessCalendar | None) -> IntArray:
    """:func:`next_time_of_day` over an array of instants."""
    ns = np.asarray(ns, dtype=np.int64)
    out = np.zeros(ns.size, dtype=np.int64)
    if ns.size == 0:
        return out
    works, holidays = _working_days(calendar)
    name = _zone_of(calendar).key
    wall = wall_ns(ns, name)
    day0 = (wall - wall % NS_PER_DAY) // NS_PER_DAY
    holiday_arr = np.fromiter(holidays, dtype=np.int64, count=len(holidays))
    todo = np.arange(ns.size)
    for k in range(_MAX_DAYS):
        days = day0[todo] + k
        # 1970-01-01 was a Thursday (weekday 3, Monday = 0)
        ok = works[(days + 3) % 7] & ~np.isin(days, holiday_arr)
        cand = localize_wall(days * NS_PER_DAY + seconds * NS_PER_SECOND, name)
        ok &= cand > ns[todo]
        out[todo[ok]] = cand[ok]
        todo = todo[~ok]
        if todo.size == 0:
            return out
    raise ValidationError(
        f"the calendar has no working day in {_MAX_DAYS} days after "
        f"{pd.Timestamp(int(ns[todo[0]]), tz='UTC')}",
        field="calendar",
    )
