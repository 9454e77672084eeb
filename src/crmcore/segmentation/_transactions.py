"""Validation and integer encoding of a transaction log (shared by features and cohorts)."""

from __future__ import annotations

import datetime as _dt
from typing import Any

import attrs
import numpy as np
import pandas as pd

from crmcore._types import FloatArray, IntArray
from crmcore._validation import as_float_array, check_columns, first_bad
from crmcore.errors import ValidationError

__all__ = ["NS_PER_DAY", "Encoded", "encode_transactions", "to_timestamps"]

NS_PER_DAY = 86_400 * 10**9


@attrs.frozen
class Encoded:
    """Transactions on or before ``as_of``, as integer arrays.

    ``codes`` index ``customers``; ``times`` are int64 nanoseconds (UTC for a
    timezone-aware column); ``as_of`` is on the same scale.
    """

    codes: IntArray
    customers: pd.Index
    times: IntArray
    amounts: FloatArray | None
    as_of: int
    tz: Any


def _as_of_ns(as_of: Any, tz: Any) -> int:
    if as_of is None or isinstance(as_of, bool):
        raise ValidationError(
            "as_of is required (a date or datetime); crmcore never reads the clock",
            field="as_of",
            value=as_of,
        )
    if isinstance(as_of, str | _dt.date | np.datetime64):
        stamp = pd.Timestamp(as_of)
    else:
        raise ValidationError(
            f"as_of must be a date, datetime or ISO string; got {type(as_of).__name__}",
            field="as_of",
            value=as_of,
        )
    if pd.isna(stamp):
        raise ValidationError("as_of must not be NaT", field="as_of", value=as_of)
    if (stamp.tzinfo is None) != (tz is None):
        have = "naive" if stamp.tzinfo is None else "timezone-aware"
        want = "naive" if tz is None else f"timezone-aware (column time zone {tz})"
        raise ValidationError(
            f"as_of is {have} but the transaction dates are {want}; make them agree",
            field="as_of",
            value=as_of,
        )
    if stamp.tzinfo is not None:
        stamp = stamp.tz_convert("UTC").tz_localize(None)
    return int(stamp.as_unit("ns").value)


def to_timestamps(ns: IntArray, tz: Any) -> pd.DatetimeIndex:
    """Turn int64 nanoseconds back into timestamps in the column's time zone."""
    idx = pd.DatetimeIndex(ns.astype("datetime64[ns]"))
    if tz is not None:
        idx = idx.tz_localize("UTC").tz_convert(tz)
    return idx


def encode_transactions(
    transactions: pd.DataFrame,
    *,
    as_of: Any,
    customer_col: str,
    date_col: str,
    value_col: str | None,
) -> Encoded:
    """Validate a transaction log and encode it as integer arrays.

    Rows dated after ``as_of`` are dropped; customers are coded in sorted id
    order (first-appearance order when ids are not mutually comparable).

    Raises
    ------
    ValidationError
        Missing columns, non-datetime dates, missing dates or ids, non-finite
        amounts, or no transaction on or before ``as_of``.
    """
    required = [customer_col, date_col] + ([value_col] if value_col is not None else [])
    check_columns(transactions, required, name="transactions")
    dates = transactions[date_col]
    dtype = dates.dtype
    if isinstance(dtype, pd.DatetimeTZDtype):
        tz = dtype.tz
    elif pd.api.types.is_datetime64_dtype(dtype):
        tz = None
    else:
        raise ValidationError(
            f"transactions[{date_col!r}] must have a datetime64 dtype; got {dtype} "
            "(convert it with pandas.to_datetime first)",
            field=date_col,
        )
    as_of_ns = _as_of_ns(as_of, tz)
    times = dates.to_numpy(dtype="datetime64[ns]").view(np.int64)
    nat = np.iinfo(np.int64).min
    first_bad(
        times == nat,
        name=date_col,
        problem="must not be missing",
        values=dates.to_numpy(),
        index=transactions.index,
    )
    ids = transactions[customer_col]
    id_na = ids.isna().to_numpy(dtype=bool)
    first_bad(
        id_na,
        name=customer_col,
        problem="must not be missing",
        values=ids.to_numpy(),
        index=transactions.index,
    )
    amounts = None
    if value_col is not None:
        amounts = as_float_array(transactions[value_col], name=value_col)
    keep = times <= as_of_ns
    if not keep.all():
        times = times[keep]
        ids = ids[keep]
        if amounts is not None:
            amounts = amounts[keep]
    if times.size == 0:
        raise ValidationError(
            f"no transaction is dated on or before as_of={as_of!s}",
            field=date_col,
            value=as_of,
        )
    try:
        codes, uniques = pd.factorize(ids, sort=True)
    except TypeError:
        codes, uniques = pd.factorize(ids, sort=False)
    customers = pd.Index(uniques, name=customer_col)
    return Encoded(
        codes=np.asarray(codes, dtype=np.int64),
        customers=customers,
        times=np.ascontiguousarray(times),
        amounts=amounts,
        as_of=as_of_ns,
        tz=tz,
    )
