"""The one clock: instants, date columns, cut-offs, durations and calendar periods.

Every subpackage, the report and the command read time through this module,
so that one rule holds everywhere (the user-facing statement is the docs page
"Time, cut-offs and units"):

* **History** is everything at or before ``as_of``; a **future window** of
  length ``h`` is ``(as_of, as_of + h]``; a **lookback window** of length
  ``w`` is ``(as_of - w, as_of]``.
* A **date-only** ``as_of`` (a ``datetime.date``, ``"2024-03-31"``, a
  ``pandas.Period``, ``numpy.datetime64`` with a unit of a day or coarser)
  means the *end* of that day (of that period), so a purchase at 18:00 on the
  ``as_of`` date is history.
* **Time zones.** Timezone-aware data are compared as instants (UTC
  nanoseconds). Naive data are wall-clock times in one unnamed zone and are
  compared with a naive ``as_of`` as such; they are never given a zone
  silently: mixing naive and aware values is refused, with the fix named.
  Calendar periods (days, weeks, months, cohorts) are taken on the wall
  clock of the data's own zone.
* **Durations** are fixed lengths (``"90D"``, ``timedelta``); calendar lengths
  (months, quarters, years) are named as such (``"3M"``,
  ``pd.DateOffset(months=3)``) where a function accepts them, never
  approximated by a number of days. A bare number has no unit and is refused.
* **Range.** Instants are int64 nanoseconds, so dates must lie between
  1677-09-22 and 2262-04-11; ``9999-12-31`` and other far dates are refused
  with a message saying so (leave an open end missing instead).

Internally a column of dates is :class:`Dates`: int64 nanoseconds since the
epoch (UTC instants for aware data, wall-clock readings for naive data) plus
its zone. Cut-offs become :class:`Cutoff` on the same scale, so comparisons
are integer comparisons.

NumPy, pandas (and the array checks of ``crmcore._validation``) load on
first use, so the domain can use :func:`require_aware` and
:func:`instant_us` without loading them.
"""

from __future__ import annotations

import datetime as _dt
import functools
import importlib
import re
import warnings
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from crmcore.errors import ValidationError

if TYPE_CHECKING:
    from collections.abc import Hashable, Iterable, Sequence
    from types import ModuleType

    import numpy as np
    import pandas as pd

    from crmcore import _validation
    from crmcore._types import IntArray
else:

    class _Lazy:
        """A module imported on first attribute access (keeps ``import crmcore.domain`` light)."""

        def __init__(self, name: str) -> None:
            self._name = name
            self._module: ModuleType | None = None

        def __getattr__(self, attr: str) -> Any:
            if self._module is None:
                self._module = importlib.import_module(self._name)
            return getattr(self._module, attr)

    np = _Lazy("numpy")
    pd = _Lazy("pandas")
    _validation = _Lazy("crmcore._validation")

__all__ = [
    "NAT",
    "NS_PER_DAY",
    "NS_PER_HOUR",
    "NS_PER_SECOND",
    "Cutoff",
    "Dates",
    "Duration",
    "Freq",
    "add_duration",
    "cutoff_us",
    "datetime_index",
    "from_instant_us",
    "instant_key",
    "instant_us",
    "is_date_only",
    "localize_wall",
    "parse_freq",
    "period_code_at",
    "period_codes",
    "period_labels",
    "period_start_at",
    "period_start_us",
    "period_starts",
    "read_dates",
    "read_instants",
    "require_aware",
    "require_existing",
    "resolve_as_of",
    "timestamps",
    "to_duration",
    "to_instant",
    "to_zone",
    "wall_day",
    "wall_ns",
    "ymd",
]

NS_PER_SECOND: Final = 10**9
NS_PER_HOUR: Final = 3_600 * NS_PER_SECOND
NS_PER_DAY: Final = 86_400 * NS_PER_SECOND
NAT: Final = -(2**63)  # np.iinfo(np.int64).min, without importing NumPy
"""The int64 value of ``NaT``: a missing instant in an int64 array."""

_RANGE_HINT = (
    "dates must lie between 1677-09-22 and 2262-04-11 (the range of nanosecond "
    "timestamps); a far date such as 9999-12-31 usually stands for 'no end': leave "
    "it missing instead"
)
# 1970-01-01 was a Thursday: shifting by three days makes weeks run Monday..Sunday.
_WEEK_SHIFT: Final = 3
EPOCH_UTC: Final = _dt.datetime(1970, 1, 1, tzinfo=_dt.UTC)
MICROSECOND: Final = _dt.timedelta(microseconds=1)
"""The epoch and one microsecond: per-row storage codecs inline :func:`instant_us` and
:func:`from_instant_us` with these (a call per value costs more than the arithmetic)."""

Duration = Any
"""What :func:`to_duration` returns: a ``pandas.Timedelta`` or ``pandas.DateOffset``."""


# ---------------------------------------------------------------- Python datetimes


def instant_us(value: _dt.datetime, *, name: str = "datetime") -> int:
    """Microseconds since the epoch of an aware ``datetime``, ``fold`` respected.

    Two datetimes in the same zone compare by wall clock in Python, ignoring
    ``fold`` (so at a DST fall-back 02:45 fold=0 sorts after 02:15 fold=1
    though it happened 30 minutes earlier). Comparing these integers compares
    the instants. Needs no pandas; any year Python supports.

    Raises
    ------
    ValidationError
        ``value`` is not an aware datetime.
    """
    if value.__class__ is not _dt.datetime or value.utcoffset() is None:
        require_aware(value, field=name)  # the full check (subclasses too); raises if not aware
    # Subtracting across zones converts both through utcoffset(), which reads fold.
    return (value - EPOCH_UTC) // MICROSECOND


def instant_key(value: Any) -> Any:
    """Return the equality key of a moment: its instant for an aware datetime.

    Python compares two datetimes of one zone by wall clock and ignores
    ``fold``, so 02:15 before and after a fall-back would be "equal". Records
    holding moments use this as their ``attrs`` equality key
    (``attrs.field(eq=instant_key)``); anything else is its own key.
    """
    if isinstance(value, _dt.datetime) and value.utcoffset() is not None:
        return instant_us(value)
    return value


def require_aware(value: Any, *, field: str) -> _dt.datetime:
    """Return ``value`` if it is a timezone-aware datetime, else raise.

    Examples
    --------
    >>> import datetime as dt
    >>> require_aware(dt.datetime(2024, 1, 1), field="created_at")
    Traceback (most recent call last):
    ...
    crmcore.errors.ValidationError: created_at must be timezone-aware ...
    """
    if not isinstance(value, _dt.datetime):
        raise ValidationError(
            f"{field} must be a datetime; got {type(value).__name__}", field=field, value=value
        )
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValidationError(
            f"{field} must be timezone-aware (e.g. datetime(..., tzinfo=timezone.utc)); "
            f"got naive {value.isoformat()}",
            field=field,
            value=value,
        )
    return value


def require_existing(value: _dt.datetime, *, field: str) -> _dt.datetime:
    """Return an aware ``value`` unless its wall time does not exist in its zone.

    A wall time skipped when the clocks go forward (02:30 on 31 March 2024
    in Paris) names no moment: Python gives it an offset anyway, but the
    instant it stands for reads back as another wall time (03:30), so no
    store could return what it was given. Such values are refused at the
    domain edge (entity and event fields, every store's encoder) rather
    than silently moved. Fixed offsets (UTC included) have no gaps and cost
    one type check.

    Raises
    ------
    ValidationError
        The wall time falls in a daylight-saving gap of its zone; the message
        names the time the same instant reads as, to use instead.

    Examples
    --------
    >>> import datetime as dt
    >>> from zoneinfo import ZoneInfo
    >>> gap = dt.datetime(2024, 3, 31, 2, 30, tzinfo=ZoneInfo("Europe/Paris"))
    >>> require_existing(gap, field="at")
    Traceback (most recent call last):
    ...
    crmcore.errors.ValidationError: at: 2024-03-31 02:30:00 does not exist in Europe/Paris ...
    """
    tz = value.tzinfo
    if type(tz) is _dt.timezone or tz is None:
        return value
    back = value.astimezone(_dt.UTC).astimezone(tz)
    if back.replace(tzinfo=None, fold=0) == value.replace(tzinfo=None, fold=0):
        return value
    zone = getattr(tz, "key", None) or str(tz)
    raise ValidationError(
        f"{field}: {value.replace(tzinfo=None, fold=0)} does not exist in {zone} (the clocks "
        f"skipped it at a daylight-saving change); give a time outside the gap, such as "
        f"{back.isoformat()} (the instant Python would read it as)",
        field=field,
        value=value,
    )


def from_instant_us(us: int, tz: _dt.tzinfo) -> _dt.datetime:
    """Return the aware ``datetime`` in ``tz`` of epoch microseconds (undoes :func:`instant_us`).

    The result carries the right ``fold`` in a repeated hour, so
    ``instant_us(from_instant_us(x, tz)) == x`` for every zone.
    """
    utc = EPOCH_UTC + _dt.timedelta(microseconds=us)
    return utc if tz is _dt.UTC else utc.astimezone(tz)


def _fits_ns(us: IntArray) -> bool:
    """Whether every epoch-microsecond value is an instant of the nanosecond range."""
    return us.size == 0 or (int(us.min()) > NAT // 1000 and int(us.max()) <= (2**63 - 1) // 1000)


def datetime_index(
    values: Iterable[_dt.datetime | None],
    *,
    name: str,
    tz: Any = "UTC",
    unit: Literal["ns", "us"] = "ns",
) -> pd.DatetimeIndex:
    """Aware datetimes (``None``: ``NaT``) as a ``DatetimeIndex`` in ``tz``, by instant.

    The frame-building side of :func:`instant_us`: each value is converted by
    its instant (``fold`` respected, so the two sides of a DST fall-back keep
    their order), then shown in ``tz``. ``unit="us"`` keeps any year Python
    has; ``unit="ns"`` (the library's scale) refuses dates outside 1677..2262.

    Raises
    ------
    ValidationError
        A naive value, or (``unit="ns"``) one outside the nanosecond range.
    """
    us = np.array([NAT if v is None else instant_us(v, name=name) for v in values], dtype=np.int64)
    if unit == "ns":
        present = us != NAT
        if not _fits_ns(us[present]):
            raise ValidationError(f"{name}: {_RANGE_HINT}", field=name)
        us = np.where(present, us * 1000, NAT)
    return pd.DatetimeIndex(us.view(f"datetime64[{unit}]")).tz_localize("UTC").tz_convert(tz)


# ---------------------------------------------------------------- scalars

_DATE_ONLY = re.compile(r"^\s*(\d{4})(?:-(\d{1,2})(?:-(\d{1,2}))?)?\s*$")


def is_date_only(value: object) -> bool:
    """Whether ``value`` names a calendar day (or a coarser period), not an instant.

    ``datetime.date`` (not ``datetime``), ISO strings ``"YYYY-MM-DD"``,
    ``"YYYY-MM"`` and ``"YYYY"``, ``pandas.Period`` and ``numpy.datetime64``
    with a unit of a day or coarser are date-only; a ``Timestamp`` or
    ``datetime`` is an instant even at midnight.
    """
    if isinstance(value, pd.Period):
        return True
    if isinstance(value, _dt.datetime):
        return False
    if isinstance(value, _dt.date):
        return True
    if isinstance(value, np.datetime64):
        return np.datetime_data(value.dtype)[0] in ("D", "W", "M", "Y")
    if isinstance(value, str):
        return _DATE_ONLY.match(value) is not None
    return False


def _period_of(value: object) -> pd.Period:
    """Return the calendar period a date-only value names."""
    if isinstance(value, pd.Period):
        return value
    if isinstance(value, _dt.date):
        return pd.Period(value, freq="D")
    if isinstance(value, np.datetime64):
        unit = np.datetime_data(value.dtype)[0]
        return pd.Period(value.astype("datetime64[D]"), freq={"W": "D"}.get(unit, unit))
    m = _DATE_ONLY.match(str(value))
    assert m is not None
    freq = "D" if m.group(3) else ("M" if m.group(2) else "Y")
    return pd.Period(str(value).strip(), freq=freq)


_CLOCK_WORDS: Final = frozenset({"now", "today", "tomorrow", "yesterday"})


def to_instant(value: object, *, name: str) -> pd.Timestamp:
    """Read one instant: a ``Timestamp``, ``datetime``, ``date``, string or ``datetime64``.

    A date (or date-only string) becomes midnight of that day; use
    :func:`resolve_as_of` for cut-offs, where a date means the end of the day.

    Raises
    ------
    ValidationError
        ``None``, a bool or number (no unit), ``NaT``, an unparseable string,
        or a date outside the supported range.
    """
    if value is None:
        raise ValidationError(
            f"{name} is required (a date or datetime); crmcore never reads the clock",
            field=name,
            value=value,
        )
    if isinstance(value, pd.Period):
        value = value.start_time
    if not isinstance(value, _dt.date | str | np.datetime64):
        raise ValidationError(
            f"{name} must be a date, datetime, pandas Timestamp or ISO string such as "
            f"'2024-03-31'; got {type(value).__name__} {value!r}",
            field=name,
            value=value,
        )
    if isinstance(value, str) and value.strip().lower() in _CLOCK_WORDS:
        raise ValidationError(
            f"{name}={value!r}: crmcore never reads the clock; give the date, e.g. '2024-03-31'",
            field=name,
            value=value,
        )
    try:
        # strings: ISO 8601 only; pandas would read '01.02.2026' as 2 January
        stamp = (
            pd.Timestamp(pd.to_datetime(value.strip(), format="ISO8601"))
            if isinstance(value, str)
            else pd.Timestamp(value)
        )
    except (OverflowError, pd.errors.OutOfBoundsDatetime) as exc:
        raise ValidationError(f"{name}={value!r}: {_RANGE_HINT}", field=name, value=value) from exc
    except (ValueError, TypeError) as exc:
        raise ValidationError(
            f"{name} is not a date or datetime: {value!r} (use ISO 8601, e.g. "
            "'2024-03-31' or '2024-03-31T18:00:00+02:00')",
            field=name,
            value=value,
        ) from exc
    if pd.isna(stamp):
        raise ValidationError(f"{name} must not be missing (NaT)", field=name, value=value)
    try:
        return stamp.as_unit("ns")
    except (OverflowError, pd.errors.OutOfBoundsDatetime) as exc:
        raise ValidationError(f"{name}={value!r}: {_RANGE_HINT}", field=name, value=value) from exc


# ---------------------------------------------------------------- cut-offs


@dataclass(frozen=True, slots=True)
class Cutoff:
    """A resolved ``as_of``: an instant on the scale of the data it cuts.

    Attributes
    ----------
    ns : int
        Nanoseconds since the epoch: UTC for aware data, wall clock for naive
        data. History is ``t <= ns``.
    timestamp : pandas.Timestamp
        The same instant (aware in the data's zone, or naive).
    date_only : bool
        Whether the user gave a date (then ``ns`` is the last nanosecond of
        that day).
    """

    ns: int
    timestamp: pd.Timestamp
    date_only: bool

    def __str__(self) -> str:
        return self.timestamp.isoformat()


def _zone_name(tz: Any) -> str:
    return str(tz) if tz is not None else "naive"


def resolve_as_of(value: object, *, tz: Any, name: str = "as_of") -> Cutoff:
    """Resolve a cut-off against data whose zone is ``tz`` (``None``: naive data).

    Parameters
    ----------
    value : date-like
        A date (end of that day), period (end of that period), datetime,
        ``Timestamp``, ISO string or ``numpy.datetime64``.
    tz : tzinfo or None
        The zone of the data being cut; ``None`` for naive (wall-clock) data.
    name : str
        Argument name, for messages.

    Returns
    -------
    Cutoff

    Raises
    ------
    ValidationError
        Anything :func:`to_instant` refuses, and an aware cut-off for naive
        data or a naive (non date-only) cut-off for aware data.
    """
    if isinstance(value, bool):
        raise ValidationError(f"{name} must be a date or datetime; got {value!r}", field=name)
    if value is not None and is_date_only(value):
        try:
            period = _period_of(value)
            end = (period + 1).start_time.as_unit("ns")
        except (ValueError, TypeError, OverflowError, pd.errors.OutOfBoundsDatetime) as exc:
            raise ValidationError(
                f"{name}={value!r} is not a valid date ({_RANGE_HINT})", field=name, value=value
            ) from exc
        if tz is not None:
            # the day ends when the next one starts on the data's wall clock
            end = end.tz_localize(tz, ambiguous=True, nonexistent="shift_forward")
        stamp = end - pd.Timedelta(1, "ns")
        return Cutoff(_stamp_ns(stamp), stamp, date_only=True)
    stamp = to_instant(value, name=name)
    aware = stamp.tzinfo is not None
    if tz is None and aware:
        raise ValidationError(
            f"{name}={stamp.isoformat()} is timezone-aware but the dates are naive "
            "(wall-clock times in no stated zone): give a naive or date-only "
            f"{name}, or localise the dates first, e.g. "
            "frame['date'].dt.tz_localize('Europe/Paris')",
            field=name,
            value=value,
        )
    if tz is not None and not aware:
        raise ValidationError(
            f"{name}={stamp.isoformat()} is naive but the dates are timezone-aware "
            f"({_zone_name(tz)}): give {name} with a zone, e.g. "
            f"pd.Timestamp('{stamp.isoformat()}', tz='{_zone_name(tz)}'), or a date-only "
            f"{name} (the end of that day in {_zone_name(tz)})",
            field=name,
            value=value,
        )
    if tz is not None:
        stamp = stamp.tz_convert(tz)
    return Cutoff(_stamp_ns(stamp), stamp, date_only=False)


def _stamp_ns(stamp: pd.Timestamp) -> int:
    if stamp.tzinfo is not None:
        stamp = stamp.tz_convert("UTC").tz_localize(None)
    return int(stamp.as_unit("ns").value)


def cutoff_us(value: object, *, tz: Any, name: str = "as_of") -> int:
    """Resolve a cut-off for timezone-aware data to epoch microseconds (history: ``t <= cut``).

    An aware ``datetime`` is its instant (no pandas needed, ``fold``
    respected); anything else goes through :func:`resolve_as_of` against data
    in zone ``tz``, so a date means the end of that day in ``tz`` (its last
    microsecond) and a naive datetime is refused with the fix named.
    """
    if isinstance(value, _dt.datetime) and value.utcoffset() is not None:
        return instant_us(value, name=name)
    return resolve_as_of(value, tz=tz, name=name).ns // 1000


# ---------------------------------------------------------------- columns


@dataclass(frozen=True, slots=True)
class Dates:
    """A column of dates on the one scale.

    Attributes
    ----------
    ns : ndarray of int64
        Nanoseconds since the epoch: UTC instants when ``tz`` is set, wall
        clock readings for naive data. Missing values are :data:`NAT`.
    tz : tzinfo or None
        The column's zone, or ``None`` for naive data.
    """

    ns: IntArray
    tz: Any

    @property
    def aware(self) -> bool:
        """Whether the dates carry a zone."""
        return self.tz is not None

    def wall_ns(self) -> IntArray:
        """Wall-clock nanoseconds in the column's zone (for calendar periods)."""
        return wall_ns(self.ns, self.tz)

    def cutoff(self, value: object, *, name: str = "as_of") -> Cutoff:
        """Resolve a cut-off against these dates (:func:`resolve_as_of`)."""
        return resolve_as_of(value, tz=self.tz, name=name)

    def to_index(self) -> pd.DatetimeIndex:
        """Return the dates as a ``DatetimeIndex`` in their own zone."""
        return timestamps(self.ns, self.tz)

    def in_zone(self, tz: Any) -> Dates:
        """Return the dates in zone ``tz``: the explicit way to give naive dates a zone.

        Naive dates are read as wall-clock times in ``tz`` (a time skipped
        by a spring-forward moves forward; a fall-back's repeated hour is
        read as its first, summer-time, occurrence). Aware dates keep their
        instants and are shown in ``tz`` (calendar periods then follow its
        wall clock). Missing values stay missing.
        """
        if self.tz is None:
            ns = self.ns.copy()
            present = ns != NAT
            ns[present] = localize_wall(ns[present], tz)
            return Dates(ns, tz)
        return Dates(self.ns, tz)


_NUMERIC_KINDS = "iufcb"


def read_dates(
    values: Any,
    *,
    name: str,
    date_format: str | None = None,
    allow_missing: bool = False,
    index: Sequence[Hashable] | pd.Index | None = None,
    row_name: str = "row",
) -> Dates:
    """Read a column of dates into :class:`Dates`.

    Accepted: ``datetime64`` of any unit, naive or aware; ``Period`` columns
    (their start); ``datetime.date`` / ``datetime`` objects; strings (ISO 8601,
    or ``date_format``); integers such as ``19970101`` with ``date_format``.
    Aware values in several zones become UTC instants; naive and aware values
    mixed are refused.

    Parameters
    ----------
    values : Series or array-like
        The column.
    name : str
        Column name, for messages.
    date_format : str, optional
        ``strptime`` format for strings or integers.
    allow_missing : bool, default False
        Keep missing values as :data:`NAT` instead of refusing them.
    index : sequence, optional
        Row labels for messages (default: the Series index).
    row_name : str, default "row"
        What a row is called in messages ("customer", "order").

    Raises
    ------
    ValidationError
        Not dates, unparseable strings (naming the first and suggesting
        ``date_format``), missing values, or dates outside the supported range.
    """
    col = values if isinstance(values, pd.Series) else pd.Series(values)
    if index is None:
        index = col.index
    dtype = col.dtype
    if isinstance(dtype, pd.PeriodDtype):
        col = col.dt.start_time
    elif isinstance(dtype, pd.DatetimeTZDtype) or dtype.kind == "M":
        pass
    elif dtype.kind in _NUMERIC_KINDS and date_format is None:
        raise ValidationError(
            f"{name} holds numbers ({dtype}), not dates: give date_format for numbers such "
            "as 19970101 (date_format='%Y%m%d'), or convert with pandas.to_datetime",
            field=name,
        )
    else:
        col = _parse_dates(col, name=name, date_format=date_format, index=index, row_name=row_name)
    tz = getattr(col.dtype, "tz", None)
    raw = col.array
    ticks = np.asarray(raw.asi8 if hasattr(raw, "asi8") else col.to_numpy().view(np.int64))
    missing = ticks == NAT
    if missing.any() and not allow_missing:
        _validation.first_bad(
            missing,
            name=name,
            problem="must not be missing",
            values=col.to_numpy(dtype=object),
            index=index,
            row_name=row_name,
        )
    unit = str(col.dtype).removeprefix("datetime64[").split(",")[0].rstrip("]")
    if unit != "ns":
        ticks = _ticks_to_ns(ticks, unit, missing, col, name=name, index=index, row_name=row_name)
    return Dates(np.ascontiguousarray(ticks, dtype=np.int64), tz)


def read_instants(
    values: Any,
    *,
    name: str,
    allow_missing: bool = False,
    row_name: str = "row",
) -> Dates:
    """Read a column of moments that must be timezone-aware (:func:`read_dates` otherwise).

    For the moments of domain records (ledger entries, stage changes,
    tickets), which are always instants.

    Raises
    ------
    ValidationError
        Anything :func:`read_dates` refuses, and naive dates (naming the fix).
    """
    dates = read_dates(values, name=name, allow_missing=allow_missing, row_name=row_name)
    if not dates.aware:
        raise ValidationError(
            f"{name} must hold timezone-aware datetimes (these are instants); got naive "
            f"values: localise them first, e.g. frame['{name}'].dt.tz_localize('UTC')",
            field=name,
        )
    return dates


def _ticks_to_ns(
    ticks: IntArray,
    unit: str,
    missing: np.ndarray[Any, np.dtype[np.bool_]],
    col: pd.Series,
    *,
    name: str,
    index: Any,
    row_name: str,
) -> IntArray:
    per = {"s": NS_PER_SECOND, "ms": 10**6, "us": 10**3}[unit]
    lo, hi = (NAT + 1) // per, np.iinfo(np.int64).max // per
    out_of_range = ~missing & ((ticks < lo) | (ticks > hi))
    if out_of_range.any():
        _validation.first_bad(
            out_of_range,
            name=name,
            problem=f"is out of range: {_RANGE_HINT}",
            values=col.to_numpy(dtype=object),
            index=index,
            row_name=row_name,
        )
    out = ticks * per
    out[missing] = NAT
    return out


def _parse_dates(
    col: pd.Series, *, name: str, date_format: str | None, index: Any, row_name: str
) -> pd.Series:
    raw = col.astype(str).where(col.notna()) if col.dtype.kind in _NUMERIC_KINDS else col
    # Without a format: ISO 8601 first (fast, mixed precisions), then pandas' inference.
    parsed: pd.Series | None = None
    for fmt in [date_format] if date_format else ["ISO8601", None]:
        try:
            with warnings.catch_warnings():
                # "could not infer format": element-wise parsing is what is asked for here
                warnings.simplefilter("ignore", UserWarning)
                candidate = pd.to_datetime(raw, format=fmt, errors="coerce")
            if not (
                isinstance(candidate.dtype, pd.DatetimeTZDtype) or candidate.dtype.kind == "M"
            ):
                raise TypeError("values in several zones")
        except (ValueError, TypeError, OverflowError):
            candidate = _parse_mixed_zones(raw, name=name, date_format=fmt)
        n_bad = int((candidate.isna() & col.notna()).sum())
        if n_bad:  # pandas coerces values in a second zone to NaT: read them as instants
            candidate = _parse_mixed_zones(raw, name=name, date_format=fmt)
            n_bad = int((candidate.isna() & col.notna()).sum())
        if parsed is None or n_bad < int((parsed.isna() & col.notna()).sum()):
            parsed = candidate
        if n_bad == 0:
            break
    assert parsed is not None
    bad = np.asarray(parsed.isna() & col.notna())
    if bad.any():
        hint = (
            f"does not match date_format={date_format!r}"
            if date_format
            else "is not a date crmcore can read: use ISO 8601 ('2024-03-31') or give "
            "date_format, e.g. '%d.%m.%Y' for 31.03.2024"
        )
        values = col.to_numpy(dtype=object)
        pos = int(np.flatnonzero(bad)[0])
        if _out_of_range(values[pos]):
            hint = f"is out of range: {_RANGE_HINT}"
        _validation.first_bad(
            bad, name=name, problem=hint, values=values, index=index, row_name=row_name
        )
    return parsed


def _out_of_range(value: Any) -> bool:
    try:
        pd.Timestamp(value)
    except (pd.errors.OutOfBoundsDatetime, OverflowError):
        return True
    except (ValueError, TypeError):
        return False
    return False


def _parse_mixed_zones(raw: pd.Series, *, name: str, date_format: str | None) -> pd.Series:
    """Parse values whose zones differ: all aware become UTC; naive + aware is refused."""
    kinds = set()
    for v in raw.dropna().to_numpy(dtype=object):
        if isinstance(v, _dt.datetime):
            kinds.add(v.utcoffset() is not None)
        elif isinstance(v, str):
            try:
                kinds.add(pd.Timestamp(v).tzinfo is not None)
            except (ValueError, TypeError, OverflowError):
                continue
        if len(kinds) > 1:
            raise ValidationError(
                f"{name} mixes naive and timezone-aware dates; crmcore never gives naive "
                "dates a zone silently: make them all aware (or all naive) first",
                field=name,
            )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        try:
            return pd.to_datetime(raw, format=date_format, errors="coerce", utc=kinds == {True})
        except (ValueError, TypeError, OverflowError) as exc:
            raise ValidationError(f"{name} could not be read as dates: {exc}", field=name) from exc


def wall_ns(ns: IntArray, tz: Any) -> IntArray:
    """Wall-clock nanoseconds in ``tz`` of UTC instants (identity for naive data)."""
    if tz is None:
        return ns
    idx = pd.DatetimeIndex(ns.view("datetime64[ns]")).tz_localize("UTC").tz_convert(tz)
    return np.asarray(idx.tz_localize(None).asi8, dtype=np.int64)


def wall_day(stamp: pd.Timestamp) -> int:
    """Return the calendar day of a ``Timestamp`` on its own wall clock (days since 1970-01-01)."""
    wall = stamp.tz_localize(None) if stamp.tzinfo is not None else stamp
    return int(wall.as_unit("ns").value // NS_PER_DAY)


def ymd(days: IntArray) -> tuple[IntArray, IntArray, IntArray]:
    """Calendar year, month (1..12) and day of the month (1..31) of days since 1970-01-01."""
    d = np.asarray(days, dtype=np.int64).astype("datetime64[D]")
    months = d.astype("datetime64[M]")
    year = months.astype("datetime64[Y]").astype(np.int64) + 1970
    month = months.astype(np.int64) % 12 + 1
    day = (d - months.astype("datetime64[D]")).astype(np.int64) + 1
    return year, month, day


def timestamps(ns: IntArray, tz: Any, *, unit: Literal["ns", "us"] = "ns") -> pd.DatetimeIndex:
    """Int64 epoch ticks back to a ``DatetimeIndex`` (aware in ``tz`` when given).

    ``ns`` counts nanoseconds, or microseconds with ``unit="us"`` (the storage
    scale, which keeps that unit); ``NAT`` is ``NaT``.
    """
    idx = pd.DatetimeIndex(np.asarray(ns, dtype=np.int64).view(f"datetime64[{unit}]"))
    if tz is not None:
        idx = idx.tz_localize("UTC").tz_convert(tz)
    return idx


def localize_wall(wall: IntArray, tz: Any) -> IntArray:
    """UTC nanoseconds of wall-clock readings in ``tz`` (identity for ``tz=None``).

    A reading skipped by a spring-forward moves forward; one in a fall-back's
    repeated hour is its first (summer-time) occurrence. Undoes :func:`wall_ns`.
    """
    if tz is None:
        return wall
    idx = pd.DatetimeIndex(wall.view("datetime64[ns]")).tz_localize(
        tz, ambiguous=np.ones(wall.size, dtype=bool), nonexistent="shift_forward"
    )
    return np.asarray(idx.tz_convert("UTC").tz_localize(None).asi8, dtype=np.int64)


# ---------------------------------------------------------------- durations

_CALENDAR = re.compile(r"^\s*(\d*)\s*(MS|ME|M|QS|QE|Q|YS|YE|Y|A)\s*$")
_MONTHS_PER = {"M": 1, "Q": 3, "Y": 12, "A": 12}


def to_duration(value: object, *, name: str, calendar: bool = False) -> Duration:
    """Read a positive duration: ``"90D"``, ``"12h"``, ``timedelta``, ``Timedelta``.

    With ``calendar=True`` calendar lengths are accepted too, as
    ``pandas.DateOffset``: ``"1M"``, ``"3M"``, ``"1Q"``, ``"1Y"`` or a
    ``DateOffset`` itself.

    Raises
    ------
    ValidationError
        A bare number (no unit), a calendar length where only fixed lengths
        are accepted, a zero or negative length, or anything unreadable.
    """
    if isinstance(value, pd.DateOffset):
        if not calendar:
            raise ValidationError(
                f"{name} must be a fixed-length duration such as '90D'; got the calendar "
                f"length {value!r} (months and years vary in length: give days)",
                field=name,
                value=value,
            )
        probe = pd.Timestamp("2000-01-01")
        if not probe + value > probe:
            raise ValidationError(f"{name} must be positive; got {value!r}", field=name)
        return value
    if isinstance(value, str) and (m := _CALENDAR.match(value)):
        if not calendar:
            raise ValidationError(
                f"{name} must be a fixed-length duration such as '90D'; {value!r} is a "
                "calendar length (months and years vary in length: give days)",
                field=name,
                value=value,
            )
        count = int(m.group(1) or 1)
        if count < 1:
            raise ValidationError(f"{name} must be positive; got {value!r}", field=name)
        return pd.DateOffset(months=count * _MONTHS_PER[m.group(2)[0]])
    if isinstance(value, bool) or not isinstance(value, str | _dt.timedelta | np.timedelta64):
        raise ValidationError(
            f"{name} must be a duration such as '90D' or datetime.timedelta(days=90); got "
            f"{value!r}"
            + (" (a bare number has no unit)" if isinstance(value, int | float) else ""),
            field=name,
            value=value,
        )
    try:
        delta = pd.Timedelta(value)
    except (ValueError, TypeError, OverflowError) as exc:
        raise ValidationError(
            f"{name} is not a duration: {value!r} (write e.g. '90D', '12h' or '2W')",
            field=name,
            value=value,
        ) from exc
    if not delta > pd.Timedelta(0):  # also refuses NaT
        raise ValidationError(f"{name} must be positive; got {value!r}", field=name, value=value)
    return delta


def add_duration(ns: IntArray | int, tz: Any, duration: Duration, *, sign: int = 1) -> Any:
    """``ns ± duration`` on the one scale; calendar lengths move the wall clock.

    Works on an int or an int64 array of nanoseconds (UTC for aware data).

    Raises
    ------
    ValidationError
        The result leaves the supported date range.
    """
    scalar = np.ndim(ns) == 0
    arr = np.atleast_1d(np.asarray(ns, dtype=np.int64))
    try:
        if isinstance(duration, pd.Timedelta):
            step = sign * int(duration.value)
            # bounds in Python ints: NumPy would wrap around silently
            if int(arr.min()) + step <= NAT or int(arr.max()) + step >= 2**63:
                raise OverflowError
            out = arr + np.int64(step)
        else:
            wall = wall_ns(arr, tz)
            moved = pd.DatetimeIndex(wall.view("datetime64[ns]")) + sign * duration
            out = localize_wall(np.asarray(moved.asi8, dtype=np.int64), tz)
    except (OverflowError, pd.errors.OutOfBoundsDatetime) as exc:
        raise ValidationError(f"{duration!r} from these dates: {_RANGE_HINT}") from exc
    return int(out[0]) if scalar else out


# ---------------------------------------------------------------- calendar periods

FreqUnit = Literal["h", "D", "W", "M", "Q", "Y"]
_FREQ = re.compile(r"^\s*(\d*)\s*(h|H|D|W|W-SUN|M|ME|MS|Q|QE|QS|Q-DEC|Y|YE|YS|Y-DEC|A)\s*$")
_PANDAS_ALIAS: Final = {"h": "h", "D": "D", "W": "W-SUN", "M": "M", "Q": "Q-DEC", "Y": "Y-DEC"}
_UNIT_NAME: Final = {
    "h": "hour",
    "D": "day",
    "W": "week",
    "M": "month",
    "Q": "quarter",
    "Y": "year",
}


@dataclass(frozen=True, slots=True)
class Freq:
    """A calendar period unit with a multiple (``"D"``, ``"2W"``, ``"M"``...).

    Weeks run Monday to Sunday; multiples group consecutive periods counted
    from the epoch (1970-01-01).
    """

    unit: FreqUnit
    mult: int = 1

    @property
    def alias(self) -> str:
        """The pandas period alias of one unit (for ``PeriodIndex`` labels)."""
        return _PANDAS_ALIAS[self.unit]

    @property
    def name(self) -> str:
        """A readable name: ``"day"``, ``"2 weeks"``."""
        base = _UNIT_NAME[self.unit]
        return base if self.mult == 1 else f"{self.mult} {base}s"

    def __str__(self) -> str:
        return f"{self.mult if self.mult > 1 else ''}{self.unit}"


def parse_freq(value: object, *, name: str = "freq", allowed: str = "hDWMQY") -> Freq:
    """Read a period code: ``"h"``, ``"D"``, ``"W"``, ``"M"``, ``"Q"``, ``"Y"``, with a multiple.

    pandas spellings (``"ME"``, ``"MS"``, ``"W-SUN"``, ``"A"``, ``"H"``) are
    read as the same units.

    Raises
    ------
    ValidationError
        An unknown code, a unit outside ``allowed``, or a multiple below 1.
    """
    units = ", ".join(repr(u) for u in allowed)
    m = _FREQ.match(value) if isinstance(value, str) else None
    if m is None:
        raise ValidationError(
            f"{name} must be one of {units}, optionally with a multiple such as '2W'; "
            f"got {value!r}",
            field=name,
            value=value,
        )
    code = m.group(2)
    unit = "h" if code in ("h", "H") else ("Y" if code == "A" else code[0])
    if unit not in allowed:
        raise ValidationError(
            f"{name} must be one of {units}; got {value!r}", field=name, value=value
        )
    mult = int(m.group(1)) if m.group(1) else 1
    if mult < 1:
        raise ValidationError(f"{name} multiple must be >= 1; got {value!r}", field=name)
    return Freq(unit, mult)  # type: ignore[arg-type]


def _months_since_epoch(wall: IntArray) -> IntArray:
    """Calendar months since January 1970 of wall-clock nanoseconds.

    NumPy's month conversion is slow per element; when the data span fewer
    days than they have rows (a log of millions of rows spans a few thousand
    days), it runs once per day of the span and the rows look their day up.
    """
    if wall.size:
        days = np.floor_divide(wall, NS_PER_DAY)
        lo = int(days.min())
        span = int(days.max()) - lo + 1
        if span <= wall.size:
            first = (lo + np.arange(span, dtype=np.int64)) * NS_PER_DAY
            table = first.view("datetime64[ns]").astype("datetime64[M]").astype(np.int64)
            return np.asarray(table[days - lo], dtype=np.int64)
    return np.asarray(wall.view("datetime64[ns]").astype("datetime64[M]"), dtype=np.int64)


def period_codes(wall: IntArray, freq: Freq) -> IntArray:
    """Integer period codes (counted from the epoch) of wall-clock nanoseconds.

    Floor division throughout, so dates before 1970 get the right (negative)
    periods. Missing values (:data:`NAT`) must be removed first.
    """
    unit = freq.unit
    if unit in ("M", "Q", "Y"):
        months = _months_since_epoch(wall)
        base = months // _MONTHS_PER[unit] if unit != "M" else months
    elif unit == "h":
        base = wall // NS_PER_HOUR
    else:
        base = wall // NS_PER_DAY
        if unit == "W":
            base = (base + _WEEK_SHIFT) // 7
    if freq.mult > 1:
        base = base // freq.mult
    return np.asarray(base, dtype=np.int64)


def period_starts(codes: IntArray, freq: Freq, tz: Any = None) -> IntArray:
    """Nanoseconds at which the periods with these codes start (UTC for aware ``tz``)."""
    first = np.asarray(codes, dtype=np.int64) * freq.mult
    unit = freq.unit
    us_per_day = NS_PER_DAY // 1000
    # computed in µs (no wrap-around), then checked against the nanosecond range
    if unit in ("M", "Q", "Y"):
        months = first * _MONTHS_PER[unit]
        wall = months.astype("datetime64[M]").astype("datetime64[us]").view(np.int64)
    elif unit == "h":
        wall = first * (NS_PER_HOUR // 1000)
    elif unit == "W":
        wall = (first * 7 - _WEEK_SHIFT) * us_per_day
    else:
        wall = first * us_per_day
    wall = np.asarray(wall, dtype=np.int64)
    if not _fits_ns(wall):
        raise ValidationError(
            f"a period of freq={freq.unit!r} starts outside the supported range: {_RANGE_HINT}"
        )
    return localize_wall(wall * 1000, tz)


def period_labels(codes: IntArray, freq: Freq) -> pd.PeriodIndex:
    """``PeriodIndex`` labels of period codes (a block of ``mult`` periods by its first)."""
    starts = period_starts(codes, freq)
    return pd.DatetimeIndex(starts.view("datetime64[ns]")).to_period(freq.alias)


_EPOCH_WALL: Final = _dt.datetime(1970, 1, 1)  # noqa: DTZ001 - the epoch on a wall clock


def to_zone(value: Any, *, name: str = "tz") -> _dt.tzinfo:
    """Read a time zone: an IANA name (``"Europe/Paris"``), a ``tzinfo``, or ``None`` (UTC).

    Raises
    ------
    ValidationError
        An unknown zone name, or anything else.
    """
    if value is None:
        return _dt.UTC
    if isinstance(value, _dt.tzinfo):
        return value
    if isinstance(value, str):
        text = value.strip()
        if text.upper() in ("UTC", "Z"):
            return _dt.UTC
        try:
            return ZoneInfo(text)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValidationError(
                f"{name} must be a time zone such as 'UTC' or 'Europe/Paris'; got {value!r}",
                field=name,
                value=value,
            ) from exc
    raise ValidationError(
        f"{name} must be a time zone name or a tzinfo; got {value!r}", field=name, value=value
    )


def _wall_code(wall: _dt.datetime, freq: Freq) -> int:
    """Period code of a naive wall-clock reading (the scalar form of :func:`period_codes`)."""
    unit = freq.unit
    if unit in ("M", "Q", "Y"):
        months = (wall.year - 1970) * 12 + wall.month - 1
        base = months // _MONTHS_PER[unit]
    elif unit == "h":
        base = (wall - _EPOCH_WALL) // _dt.timedelta(hours=1)
    else:
        base = (wall - _EPOCH_WALL) // _dt.timedelta(days=1)
        if unit == "W":
            base = (base + _WEEK_SHIFT) // 7
    return base // freq.mult


@functools.lru_cache(maxsize=4096)
def period_start_us(code: int, freq: Freq, tz: Any) -> int:
    """When period ``code`` of ``tz``'s calendar starts, in epoch microseconds.

    The scalar form of :func:`period_starts` (same codes, same instants: a
    start in a DST gap moves forward, one in a repeated hour is its first
    occurrence). Cached: a programme asks for the same few boundaries often.
    """
    return int(period_starts(np.array([code], dtype=np.int64), freq, tz)[0]) // 1000


def period_start_at(code: int, freq: Freq, tz: Any) -> _dt.datetime:
    """When period ``code`` starts, as an aware ``datetime`` in ``tz``.

    See :func:`period_start_us`.
    """
    return from_instant_us(period_start_us(code, freq, tz), to_zone(tz))


def period_code_at(
    value: _dt.datetime, freq: Freq, tz: Any, *, name: str = "at", us: int | None = None
) -> int:
    """Code of the period of ``tz``'s calendar holding the aware instant ``value``.

    The scalar form of ``period_codes(wall_ns(...))``, pure Python; where a
    period boundary falls inside a DST fold or gap, the period is the one
    whose start instant (:func:`period_start_us`) is the last at or before
    ``value``, so ``period_start_us(code) <= value < period_start_us(code + 1)``
    always holds. ``us`` is ``instant_us(value)`` when the caller has it.

    Raises
    ------
    ValidationError
        ``value`` is not an aware datetime, or ``tz`` is not a zone.
    """
    if us is None:
        us = instant_us(value, name=name)
    code = _wall_code(value.astimezone(to_zone(tz)).replace(tzinfo=None), freq)
    while period_start_us(code, freq, tz) > us:
        code -= 1
    while period_start_us(code + 1, freq, tz) <= us:
        code += 1
    return code
