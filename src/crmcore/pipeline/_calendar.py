"""Business calendars: working hours, holidays and time zones, vectorised.

Working time is computed on a grid of working intervals expressed as UTC
instants (integer microseconds since the epoch). Each weekday's wall-clock
hours are laid out day by day in the calendar's time zone and converted to
UTC one interval at a time, so a shift that spans a daylight-saving change
lasts its true elapsed length (a 22:00–06:00 shift is 7 h on the spring-forward
night and 9 h on the fall-back night). The cumulative working time at each
interval start makes ``W(t)`` (working time from the grid origin to ``t``) a
piecewise-linear, non-decreasing function evaluated with
:func:`numpy.searchsorted`; ``diff(s, e) = W(e) - W(s)`` and ``add`` inverts
``W``. The grid covers the dates an operation needs and is rebuilt (wider)
when a later call reaches beyond it.
"""

from __future__ import annotations

import bisect
import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, overload
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import attrs
import numpy as np
import numpy.typing as npt
import pandas as pd

from crmcore._time import (
    from_instant_us,
    instant_us,
    read_instants,
    require_aware,
    timestamps,
)
from crmcore._types import BoolArray
from crmcore.errors import ValidationError

__all__ = ["BusinessCalendar"]

I64 = npt.NDArray[np.int64]
_US = dt.timedelta(microseconds=1)
_DAY_US = 86_400_000_000
_EPOCH_DATE = dt.date(1970, 1, 1)
_DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_MAX_SPAN_DAYS = 366 * 400
_SMALL = 16  # below this many instants, bisect in Python beats NumPy's call overhead


def _parse_clock(value: object, *, what: str) -> int:
    """Seconds after midnight for ``"HH:MM"``, ``"HH:MM:SS"`` or a :class:`datetime.time`."""
    if isinstance(value, dt.time):
        if value.tzinfo is not None:
            raise ValidationError(f"{what} must be a wall-clock time without tzinfo", value=value)
        return value.hour * 3600 + value.minute * 60 + value.second
    if isinstance(value, str):
        parts = value.split(":")
        if 2 <= len(parts) <= 3 and all(p.isdigit() for p in parts):
            h, m = int(parts[0]), int(parts[1])
            s = int(parts[2]) if len(parts) == 3 else 0
            if (h < 24 and m < 60 and s < 60) or (h == 24 and m == 0 and s == 0):
                return h * 3600 + m * 60 + s
    raise ValidationError(
        f"{what} must be a time or an 'HH:MM' string (00:00 to 24:00); got {value!r}",
        field="working_hours",
        value=value,
    )


def _parse_day(key: object) -> int:
    if isinstance(key, int) and not isinstance(key, bool) and 0 <= key <= 6:
        return key
    if isinstance(key, str) and key[:3].lower() in _DAYS:
        return _DAYS.index(key[:3].lower())
    raise ValidationError(
        f"working_hours keys must be weekdays (0 = Monday .. 6 = Sunday, or 'mon'..'sun'); "
        f"got {key!r}",
        field="working_hours",
        value=key,
    )


def _normalise_hours(hours: Mapping[Any, Any] | None) -> tuple[tuple[tuple[int, int], ...], ...]:
    if hours is None:
        nine_five = ((9 * 3600, 17 * 3600),)
        return (nine_five,) * 5 + ((), ())
    if not isinstance(hours, Mapping):
        raise ValidationError(
            "working_hours must be a mapping weekday -> list of (start, end)",
            field="working_hours",
            value=hours,
        )
    week: list[list[tuple[int, int]]] = [[] for _ in range(7)]
    for key, spans in hours.items():
        day = _parse_day(key)
        if spans is None:  # explicitly a day off
            continue
        if isinstance(spans, str) or not isinstance(spans, Iterable):
            raise ValidationError(
                f"working hours for {_DAYS[day]} must be a list of (start, end) pairs; "
                f"got {spans!r}",
                field="working_hours",
                value=spans,
            )
        single = (
            isinstance(spans, tuple) and len(spans) == 2 and not isinstance(spans[0], tuple | list)
        )
        pairs = [spans] if single else list(spans)
        for span in pairs:
            if not isinstance(span, Sequence) or isinstance(span, str) or len(span) != 2:
                raise ValidationError(
                    f"working hours for {_DAYS[day]} must be (start, end) pairs; got {span!r}",
                    field="working_hours",
                    value=span,
                )
            start = _parse_clock(span[0], what=f"{_DAYS[day]} start")
            end = _parse_clock(span[1], what=f"{_DAYS[day]} end")
            if start == 86_400:
                raise ValidationError(
                    f"{_DAYS[day]} start must be before 24:00", field="working_hours", value=span
                )
            if end == start:
                raise ValidationError(
                    f"{_DAYS[day]} span {span!r} is empty; for a full day use ('00:00', '24:00')",
                    field="working_hours",
                    value=span,
                )
            if end < start:  # overnight: ends the next day
                end += 86_400
            week[day].append((start, end))
    if not any(week):
        raise ValidationError(
            "working_hours has no working time on any weekday", field="working_hours"
        )
    return tuple(tuple(sorted(d)) for d in week)


def _tz(value: object) -> ZoneInfo:
    if isinstance(value, ZoneInfo):
        return value
    if isinstance(value, str):
        try:
            return ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            pass
    if value is dt.UTC:
        return ZoneInfo("UTC")
    raise ValidationError(
        f"tz must be an IANA time zone name or a zoneinfo.ZoneInfo; got {value!r}",
        field="tz",
        value=value,
    )


def _holidays(values: Iterable[Any]) -> frozenset[dt.date]:
    if isinstance(values, dt.date | str):
        raise ValidationError(
            f"holidays must be an iterable of dates; got {values!r}", field="holidays"
        )
    out = set()
    for v in values:
        if isinstance(v, dt.datetime) or not isinstance(v, dt.date):
            raise ValidationError(
                f"holidays must be dates (datetime.date); got {v!r}", field="holidays", value=v
            )
        out.add(v)
    return frozenset(out)


@attrs.frozen(slots=True)
class _Grid:
    day0: int  # first covered local date, days since 1970-01-01
    day1: int  # last covered local date (inclusive)
    starts: I64
    ends: I64
    cum: I64  # working microseconds before each interval start
    # The same as Python lists, for the scalar fast path (bisect beats NumPy on one value).
    starts_l: list[int] = attrs.field(init=False)
    ends_l: list[int] = attrs.field(init=False)
    cum_l: list[int] = attrs.field(init=False)
    cum_end_l: list[int] = attrs.field(init=False)

    def __attrs_post_init__(self) -> None:
        set_ = object.__setattr__
        set_(self, "starts_l", self.starts.tolist())
        set_(self, "ends_l", self.ends.tolist())
        set_(self, "cum_l", self.cum.tolist())
        set_(self, "cum_end_l", (self.cum + (self.ends - self.starts)).tolist())

    @property
    def total(self) -> int:
        return self.cum_end_l[-1] if self.cum_end_l else 0

    def w(self, t: int) -> int:
        """Working microseconds from the grid origin to ``t`` (scalar)."""
        k = bisect.bisect_right(self.starts_l, t) - 1
        if k < 0:
            return 0
        s = self.starts_l[k]
        return self.cum_l[k] + min(max(t - s, 0), self.ends_l[k] - s)

    def w_inverse(self, target: int) -> int:
        """Return the instant at which ``W`` reaches ``target`` (> 0; scalar)."""
        k = min(bisect.bisect_left(self.cum_end_l, target), len(self.starts_l) - 1)
        return self.starts_l[k] + (target - self.cum_l[k])


@attrs.frozen(slots=True, repr=False)
class BusinessCalendar:
    """Working hours per weekday, holidays and a time zone.

    Parameters
    ----------
    working_hours : mapping, optional
        Weekday (``0`` = Monday … ``6`` = Sunday, or ``"mon"`` … ``"sun"``) to
        a list of ``(start, end)`` wall-clock pairs (``"HH:MM"`` strings or
        :class:`datetime.time`). An ``end`` at or before ``start`` is an
        overnight shift ending the next day; ``"24:00"`` is midnight at the
        end of the day; a single pair may be given without the list, and
        ``None`` or ``[]`` marks a day off. Default: Monday to Friday,
        09:00–17:00.
    holidays : iterable of date, optional
        Local dates without work. A holiday removes the shifts that *start* on
        that date (an overnight shift begun the evening before still ends).
    tz : str or ZoneInfo, default "UTC"
        The time zone the hours are given in.

    Notes
    -----
    Instants are handled with microsecond resolution. Scalar methods take
    and return timezone-aware :class:`datetime.datetime` (results in the
    input's time zone). Array methods take NumPy ``datetime64`` arrays
    (read as UTC) or timezone-aware pandas Series / DatetimeIndex; they
    return ``datetime64[us]`` (UTC) / ``timedelta64[us]`` NumPy arrays, or a
    Series with the input's index when given a Series. Wall times that do
    not exist (spring-forward gap) are read with the offset before the
    change; ambiguous ones (fall-back) as their first occurrence.

    Examples
    --------
    >>> import datetime as dt
    >>> cal = BusinessCalendar(
    ...     {d: [("09:00", "17:00")] for d in range(5)},
    ...     holidays=[dt.date(2026, 12, 25)],
    ...     tz="Europe/London",
    ... )
    >>> fri = dt.datetime(2026, 12, 24, 16, tzinfo=dt.timezone.utc)  # Thu 16:00
    >>> cal.add(fri, dt.timedelta(hours=2))  # 1 h Thu, Fri is a holiday, 1 h Mon
    datetime.datetime(2026, 12, 28, 10, 0, tzinfo=datetime.timezone.utc)
    >>> cal.diff(fri, dt.datetime(2026, 12, 28, 10, tzinfo=dt.timezone.utc))
    datetime.timedelta(seconds=7200)
    """

    working_hours: tuple[tuple[tuple[int, int], ...], ...] = attrs.field(
        default=None, converter=_normalise_hours
    )
    holidays: frozenset[dt.date] = attrs.field(default=(), converter=_holidays)
    tz: ZoneInfo = attrs.field(default=ZoneInfo("UTC"), converter=_tz)
    _grid: list[_Grid] = attrs.field(init=False, factory=list, eq=False)
    _holiday_days: frozenset[int] = attrs.field(init=False, eq=False)

    def __attrs_post_init__(self) -> None:
        object.__setattr__(
            self, "_holiday_days", frozenset((d - _EPOCH_DATE).days for d in self.holidays)
        )

    @classmethod
    def always(cls, tz: str | ZoneInfo = "UTC") -> BusinessCalendar:
        """Build a 24/7 calendar: every instant is working time.

        Parameters
        ----------
        tz : str or ZoneInfo, default "UTC"
            The calendar's time zone (it matters only for ``holidays``, of
            which this calendar has none, and for display).

        Returns
        -------
        BusinessCalendar
            A calendar whose every day runs from 00:00 to 24:00.

        Examples
        --------
        >>> import datetime as dt
        >>> t = dt.datetime(2026, 3, 7, tzinfo=dt.timezone.utc)  # a Saturday
        >>> BusinessCalendar.always().diff(t, t + dt.timedelta(days=2))
        datetime.timedelta(days=2)
        """
        return cls({d: [("00:00", "24:00")] for d in range(7)}, tz=tz)

    def __repr__(self) -> str:
        def fmt(s: int) -> str:
            return f"{s // 3600 % 24:02d}:{s % 3600 // 60:02d}" if s != 86400 else "24:00"

        days = {
            _DAYS[i]: [f"{fmt(a)}-{fmt(b)}" for a, b in spans]
            for i, spans in enumerate(self.working_hours)
            if spans
        }
        return f"BusinessCalendar({days}, holidays={len(self.holidays)} dates, tz={self.tz.key!r})"

    @property
    def weekly_hours(self) -> float:
        """Nominal working hours in a week (ignoring holidays and DST)."""
        return sum(b - a for spans in self.working_hours for a, b in spans) / 3600

    # ------------------------------------------------------------ grid
    def _build(self, day0: int, day1: int) -> _Grid:
        if day1 - day0 > _MAX_SPAN_DAYS:
            raise ValidationError(
                "instants span more than 400 years; the calendar cannot cover them",
                field="t",
            )
        starts: list[int] = []
        ends: list[int] = []
        tz = self.tz
        hol = self._holiday_days
        for day in range(day0, day1 + 1):
            if day in hol:
                continue
            spans = self.working_hours[(day + 3) % 7]  # 1970-01-01 was a Thursday
            if not spans:
                continue
            midnight = dt.datetime.combine(
                _EPOCH_DATE + dt.timedelta(days=day), dt.time(0)
            )  # naive wall clock
            for a, b in spans:
                s = (midnight + dt.timedelta(seconds=a)).replace(tzinfo=tz)
                e = (midnight + dt.timedelta(seconds=b)).replace(tzinfo=tz)
                su, eu = instant_us(s), instant_us(e)
                if eu > su:
                    starts.append(su)
                    ends.append(eu)
        st = np.asarray(starts, dtype=np.int64)
        en = np.asarray(ends, dtype=np.int64)
        order = np.argsort(st, kind="stable")
        st, en = st[order], en[order]
        if st.size:
            # Merge overlapping or touching intervals (overnight shifts meeting day shifts).
            run_end = np.maximum.accumulate(en)
            new = np.ones(st.size, dtype=bool)
            new[1:] = st[1:] > run_end[:-1]
            idx = np.flatnonzero(new)
            st = st[idx]
            en = np.maximum.reduceat(run_end, idx)
        lens = en - st
        cum = np.zeros(st.size, dtype=np.int64)
        if st.size > 1:
            np.cumsum(lens[:-1], out=cum[1:])
        return _Grid(day0, day1, st, en, cum)

    def _grid_for(self, lo_us: int, hi_us: int, *, extra_us: int = 0) -> _Grid:
        """Return a grid covering ``[lo_us, hi_us]`` and ``extra_us`` working time after."""
        day0 = lo_us // _DAY_US - 2
        day1 = hi_us // _DAY_US + 2
        g = self._grid[0] if self._grid else None
        if g is None or g.day0 > day0 or g.day1 < day1:
            if g is not None:
                day0, day1 = min(day0, g.day0), max(day1, g.day1)
            g = self._build(day0, day1)
            self._grid[:] = [g]
        if extra_us > 0:
            week = max(int(self.weekly_hours * 3600e6), 1)
            while self._after(g, hi_us) < extra_us:
                need = extra_us - self._after(g, hi_us)
                grow = int(need // week + 2) * 7 + 14
                g = self._build(g.day0, g.day1 + grow * 2)
                self._grid[:] = [g]
        return g

    @staticmethod
    def _after(g: _Grid, t: int) -> int:
        return g.total - g.w(t)

    @staticmethod
    def _w(g: _Grid, t: I64) -> I64:
        """Working microseconds from the grid origin to each instant ``t``."""
        if g.starts.size == 0:
            return np.zeros(t.shape, dtype=np.int64)
        k = np.searchsorted(g.starts, t, side="right") - 1
        kk = np.maximum(k, 0)
        within = np.clip(t - g.starts[kk], 0, g.ends[kk] - g.starts[kk])
        return np.where(k < 0, 0, g.cum[kk] + within)

    # ------------------------------------------------------------ conversion
    @staticmethod
    def _instants(value: Any, name: str) -> tuple[I64, Any]:
        """Instants as int64 µs (UTC) and a token describing how to shape results."""
        if isinstance(value, dt.datetime):
            require_aware(value, field=name)
            return np.asarray([instant_us(value)], dtype=np.int64), value.tzinfo
        if isinstance(value, pd.Series | pd.DatetimeIndex):
            column = value if isinstance(value, pd.Series) else pd.Series(value)
            ns = read_instants(column, name=name).ns  # refuses naive and NaT, naming the row
            token: Any = value.index if isinstance(value, pd.Series) else "array"
            return np.asarray(ns // 1000, dtype=np.int64), token
        arr0 = np.asarray(value)
        if arr0.dtype.kind == "M":
            arr = arr0.astype("datetime64[us]")
        elif arr0.dtype.kind == "O":
            flat = [instant_us(require_aware(v, field=name)) for v in arr0.ravel()]
            return np.asarray(flat, dtype=np.int64).reshape(arr0.shape), "array"
        else:
            raise ValidationError(
                f"{name} must be an aware datetime or an array of datetime64; "
                f"got dtype {arr0.dtype}",
                field=name,
            )
        token = "array"  # noqa: S105 - a shape token, not a secret
        if np.isnat(arr).any():
            pos = int(np.flatnonzero(np.isnat(arr).ravel())[0])
            raise ValidationError(
                f"{name} must not contain missing instants (NaT); first at position {pos}",
                field=name,
                row=pos,
            )
        return arr.view(np.int64), token

    @staticmethod
    def _durations(value: Any, name: str) -> tuple[I64, bool]:
        if isinstance(value, dt.timedelta):
            d = np.asarray([value // _US], dtype=np.int64)
            scalar = True
        else:
            if isinstance(value, pd.Series | pd.TimedeltaIndex):
                value = value.to_numpy()
            arr = np.asarray(value)
            if arr.dtype.kind != "m":
                raise ValidationError(
                    f"{name} must be a timedelta or an array of timedelta64; got dtype "
                    f"{arr.dtype}",
                    field=name,
                )
            if np.isnat(arr).any():
                raise ValidationError(f"{name} must not contain NaT", field=name)
            d = arr.astype("timedelta64[us]").view(np.int64)
            scalar = False
        if (d < 0).any():
            pos = int(np.flatnonzero(d < 0)[0])
            raise ValidationError(
                f"{name} must be >= 0; got a negative duration at position {pos}",
                field=name,
                row=pos,
            )
        return d, scalar

    @staticmethod
    def _instant_out(us: I64, token: Any) -> Any:
        if isinstance(token, dt.tzinfo):
            return from_instant_us(int(us[0]), token)
        if isinstance(token, pd.Index):
            return pd.Series(timestamps(us, "UTC", unit="us"), index=token)
        return us.view("datetime64[us]")

    @staticmethod
    def _delta_out(us: I64, token: Any) -> Any:
        if isinstance(token, dt.tzinfo):
            return dt.timedelta(microseconds=int(us[0]))
        out = us.view("timedelta64[us]")
        if isinstance(token, pd.Index):
            return pd.Series(out, index=token)
        return out

    # ------------------------------------------------------------ public API
    @overload
    def diff(self, start: dt.datetime, end: dt.datetime) -> dt.timedelta: ...
    @overload
    def diff(self, start: Any, end: Any) -> Any: ...

    def diff(self, start: Any, end: Any) -> Any:
        """Working time between ``start`` and ``end`` (negative if ``end`` is earlier).

        Parameters
        ----------
        start, end : datetime or array of instants
            Scalars or equally long arrays (see the class notes).

        Returns
        -------
        timedelta, ndarray of timedelta64[us], or Series
            The working time elapsed from ``start`` to ``end``: a scalar for
            scalar input, otherwise one value per pair.

        Raises
        ------
        ValidationError
            A naive datetime, arrays of different lengths, or missing values.
        """
        if isinstance(start, dt.datetime) and isinstance(end, dt.datetime):
            su = instant_us(require_aware(start, field="start"))
            eu = instant_us(require_aware(end, field="end"))
            g = self._grid_for(min(su, eu), max(su, eu))
            return dt.timedelta(microseconds=g.w(eu) - g.w(su))
        s, token = self._instants(start, "start")
        e, _ = self._instants(end, "end")
        if s.shape != e.shape:
            raise ValidationError(
                f"start and end must have the same length; got {s.size} and {e.size}",
                field="end",
            )
        return self._delta_out(self._diff_us(s, e), token)

    def add(self, start: Any, duration: Any) -> Any:
        """Return the instant ``duration`` of working time after ``start``.

        ``add(t, 0)`` is ``t`` itself; otherwise the result lies within (or at
        the end of) a working interval, so ``diff(start, add(start, d)) == d``.

        Parameters
        ----------
        start : datetime or array of instants
            Where to start counting (see the class notes for array input).
        duration : timedelta or array of timedelta64
            Non-negative working time; broadcast against ``start``.

        Returns
        -------
        datetime, ndarray of datetime64[us] (UTC), or Series
            The instant at which ``duration`` of working time has passed, in
            ``start``'s time zone for a scalar.

        Raises
        ------
        ValidationError
            A naive datetime, a negative duration, or missing values.
        """
        if isinstance(start, dt.datetime) and isinstance(duration, dt.timedelta):
            su = instant_us(require_aware(start, field="start"))
            du = duration // _US
            if du < 0:
                raise ValidationError(
                    f"duration must be >= 0; got {duration!r}", field="duration", value=duration
                )
            if du == 0:
                return start
            g = self._grid_for(su, su, extra_us=du + 1)
            return from_instant_us(g.w_inverse(g.w(su) + du), start.tzinfo)  # type: ignore[arg-type]
        s, token = self._instants(start, "start")
        d, _ = self._durations(duration, "duration")
        s, d = (np.ascontiguousarray(a) for a in np.broadcast_arrays(s, d))
        return self._instant_out(self._add_us(s, d), token)

    def is_within(self, t: Any) -> Any:
        """Whether ``t`` falls inside working hours (interval start inclusive, end exclusive).

        Parameters
        ----------
        t : datetime or array of instants
            A timezone-aware datetime, or an array / Series / DatetimeIndex
            of instants (see the class notes).

        Returns
        -------
        bool, ndarray of bool, or Series of bool
            True where ``t`` lies inside a working interval (and not on a
            holiday); a Series keeps the input's index.

        Raises
        ------
        ValidationError
            A naive datetime or missing values.

        Examples
        --------
        >>> import datetime as dt
        >>> cal = BusinessCalendar(tz="UTC")  # Monday-Friday 09:00-17:00
        >>> cal.is_within(dt.datetime(2026, 3, 2, 9, tzinfo=dt.timezone.utc))  # Mon 09:00
        True
        >>> cal.is_within(dt.datetime(2026, 3, 2, 17, tzinfo=dt.timezone.utc))  # Mon 17:00
        False
        """
        u, token = self._instants(t, "t")
        if u.size == 0:
            return np.zeros(0, dtype=bool)
        g = self._grid_for(int(u.min()), int(u.max()), extra_us=1)
        k = np.searchsorted(g.starts, u, side="right") - 1
        kk = np.maximum(k, 0)
        res: BoolArray = (k >= 0) & (u < g.ends[kk])
        if isinstance(token, dt.tzinfo):
            return bool(res[0])
        if isinstance(token, pd.Index):
            return pd.Series(res, index=token)
        return res

    def next_start(self, t: Any) -> Any:
        """``t`` itself if it is within working hours, else the start of the next shift.

        Parameters
        ----------
        t : datetime or array of instants
            A timezone-aware datetime, or an array / Series / DatetimeIndex
            of instants (see the class notes).

        Returns
        -------
        datetime, ndarray of datetime64[us] (UTC), or Series
            For each instant, itself when it is working time, otherwise the
            start of the next working interval; a scalar keeps ``t``'s time
            zone.

        Raises
        ------
        ValidationError
            A naive datetime or missing values.

        Examples
        --------
        >>> import datetime as dt
        >>> cal = BusinessCalendar(tz="UTC")  # Monday-Friday 09:00-17:00
        >>> cal.next_start(dt.datetime(2026, 3, 6, 18, tzinfo=dt.timezone.utc))  # Fri 18:00
        datetime.datetime(2026, 3, 9, 9, 0, tzinfo=datetime.timezone.utc)
        """
        u, token = self._instants(t, "t")
        if u.size == 0:
            return self._instant_out(u, token)
        g = self._grid_for(int(u.min()), int(u.max()), extra_us=1)
        k = np.searchsorted(g.starts, u, side="right") - 1
        kk = np.maximum(k, 0)
        inside = (k >= 0) & (u < g.ends[kk])
        nxt = np.minimum(k + 1, g.starts.size - 1)
        out = np.where(inside, u, g.starts[nxt])
        return self._instant_out(out.astype(np.int64), token)

    # ------------------------------------------------------------ internal (SLA, analytics)
    def _diff_us(self, s: I64, e: I64) -> I64:
        if s.size == 0:
            return np.zeros(0, dtype=np.int64)
        g = self._grid_for(int(min(s.min(), e.min())), int(max(s.max(), e.max())))
        if s.size <= _SMALL:
            w = g.w
            pairs = zip(s.tolist(), e.tolist(), strict=True)
            return np.array([w(b) - w(a) for a, b in pairs], dtype=np.int64)
        return self._w(g, e) - self._w(g, s)

    def _add_us(self, s: I64, d: I64) -> I64:
        if s.size == 0:
            return np.zeros(0, dtype=np.int64)
        g = self._grid_for(int(s.min()), int(s.max()), extra_us=int(d.max()) + 1)
        if s.size <= _SMALL:
            w, inv = g.w, g.w_inverse
            pairs = zip(s.tolist(), d.tolist(), strict=True)
            return np.array([a if x == 0 else inv(w(a) + x) for a, x in pairs], dtype=np.int64)
        target = self._w(g, s) + d
        cum_end = g.cum + (g.ends - g.starts)
        k = np.minimum(np.searchsorted(cum_end, target, side="left"), g.starts.size - 1)
        return np.where(d == 0, s, g.starts[k] + (target - g.cum[k])).astype(np.int64)
