"""Date-column and period checks shared by the churn functions."""

from __future__ import annotations

import datetime as _dt
from typing import Any

import numpy as np
import pandas as pd

from crmcore.errors import ValidationError

__all__ = ["as_period", "as_timestamp", "date_values"]


def as_timestamp(value: Any, *, name: str) -> pd.Timestamp:
    """Turn a date, datetime, string or Timestamp into a Timestamp."""
    if value is None:
        raise ValidationError(f"{name} is required (no clock is read)", field=name)
    if isinstance(value, pd.Timestamp | _dt.datetime | _dt.date | np.datetime64 | str):
        try:
            ts = pd.Timestamp(value)
        except (ValueError, TypeError) as exc:
            raise ValidationError(
                f"{name} must be a date or datetime; got {value!r}", field=name, value=value
            ) from exc
        if pd.isna(ts):
            raise ValidationError(f"{name} must not be missing", field=name, value=value)
        return ts
    raise ValidationError(
        f"{name} must be a date or datetime; got {type(value).__name__}",
        field=name,
        value=value,
    )


def as_period(value: Any, *, name: str) -> pd.Timedelta:
    """Turn ``"90D"``, a ``timedelta`` or a Timedelta into a positive Timedelta.

    Calendar units of varying length (months, years) are refused: use days.
    """
    if isinstance(value, bool) or not isinstance(value, pd.Timedelta | _dt.timedelta | str):
        raise ValidationError(
            f"{name} must be a duration such as '90D' or datetime.timedelta(days=90); "
            f"got {value!r}",
            field=name,
            value=value,
        )
    try:
        delta = pd.Timedelta(value)
    except (ValueError, TypeError) as exc:
        raise ValidationError(
            f"{name} must be a fixed-length duration such as '90D' (months and years vary in "
            f"length: give days); got {value!r}",
            field=name,
            value=value,
        ) from exc
    if not delta > pd.Timedelta(0):  # also refuses NaT
        raise ValidationError(f"{name} must be positive; got {value!r}", field=name, value=value)
    return delta


def date_values(
    frame: pd.DataFrame, column: str, *, like: pd.Timestamp, allow_missing: bool = False
) -> np.ndarray[Any, np.dtype[np.int64]]:
    """Return a datetime column as int64 nanoseconds, checked against ``like``.

    The column must hold datetimes (``datetime64`` or date objects); naive
    and timezone-aware data are both accepted, but ``like`` (``as_of``) must
    match. Missing values become ``iNaT`` only when ``allow_missing``.
    """
    col = frame[column]
    if not isinstance(col.dtype, pd.DatetimeTZDtype) and col.dtype.kind != "M":
        if col.dtype.kind != "O":
            raise ValidationError(
                f"{column} must hold dates or datetimes; got dtype {col.dtype}", field=column
            )
        try:
            col = pd.to_datetime(col)
        except (ValueError, TypeError) as exc:
            raise ValidationError(
                f"{column} must hold dates or datetimes: {exc}", field=column
            ) from exc
    aware = isinstance(col.dtype, pd.DatetimeTZDtype)
    if aware != (like.tzinfo is not None):
        kind = "timezone-aware" if aware else "naive"
        raise ValidationError(
            f"{column} holds {kind} datetimes, so as_of must be {kind} too; got {like!r}",
            field="as_of",
            value=like,
        )
    missing = col.isna().to_numpy()
    if missing.any() and not allow_missing:
        pos = int(np.flatnonzero(missing)[0])
        raise ValidationError(
            f"{column} must not be missing; got a missing value for row {frame.index[pos]!r}",
            field=column,
            row=frame.index[pos],
        )
    if aware:
        col = col.dt.tz_convert("UTC").dt.tz_localize(None)
    values = col.to_numpy(dtype="datetime64[ns]").view(np.int64)
    return np.asarray(values, dtype=np.int64)


def ts_ns(ts: pd.Timestamp) -> int:
    """Nanoseconds since the epoch (UTC for aware timestamps)."""
    if ts.tzinfo is not None:
        ts = ts.tz_convert("UTC").tz_localize(None)
    return int(ts.as_unit("ns").value)
