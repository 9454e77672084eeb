"""Per-customer behavioural features from a transaction log."""

from __future__ import annotations

import datetime as _dt
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from crmcore.errors import ValidationError
from crmcore.segmentation._transactions import NS_PER_DAY, encode_transactions, to_timestamps

__all__ = ["customer_features"]


def _windows(windows: Sequence[str | pd.Timedelta]) -> list[tuple[str, int]]:
    if isinstance(windows, str):
        windows = (windows,)
    out: list[tuple[str, int]] = []
    for w in windows:
        if not isinstance(w, str | _dt.timedelta | np.timedelta64):
            # pandas reads a bare number as nanoseconds: 30 would be a 30 ns window.
            raise ValidationError(
                f"window {w!r} is not a duration; give a string such as '30D' or a "
                "timedelta (bare numbers have no unit)",
                field="windows",
                value=w,
            )
        try:
            delta: Any = pd.Timedelta(w)
        except (ValueError, TypeError) as exc:
            raise ValidationError(
                f"window {w!r} is not a duration such as '30D'", field="windows", value=w
            ) from exc
        if pd.isna(delta) or delta <= pd.Timedelta(0):
            raise ValidationError(
                f"window {w!r} must be a positive duration", field="windows", value=w
            )
        ns = int(delta.value)
        if ns % 10**9 != 0:
            # The column label is the window in whole days or seconds; a
            # "1500ms" window would otherwise be labelled purchases_1s.
            raise ValidationError(
                f"window {w!r} is not a whole number of seconds ({delta}); give whole "
                "seconds, such as '2s' or '90min'",
                field="windows",
                value=w,
            )
        label = f"{ns // NS_PER_DAY}d" if ns % NS_PER_DAY == 0 else f"{ns // 10**9}s"
        if any(label == seen for seen, _ in out):
            raise ValidationError(f"window {w!r} is given twice", field="windows", value=w)
        out.append((label, ns))
    return out


def customer_features(
    transactions: pd.DataFrame,
    *,
    as_of: Any,
    windows: Sequence[str | pd.Timedelta] = ("30D", "90D", "180D", "365D"),
    customer_col: str = "customer_id",
    date_col: str = "date",
    value_col: str | None = "amount",
) -> pd.DataFrame:
    """Compute per-customer behavioural features as of a given moment.

    Every statistic is computed with integer customer codes and
    :func:`numpy.bincount` / ufunc reductions, in time linear in the number
    of transactions (10 million rows take a few seconds).

    Parameters
    ----------
    transactions : DataFrame
        One row per purchase, with a customer id, a datetime64 date (naive
        or timezone-aware) and, unless ``value_col`` is ``None``, an amount.
        Negative amounts (refunds) are accepted and summed as they are.
    as_of : date, datetime, Timestamp or str (ISO 8601)
        The moment the features describe. Transactions dated after it are
        ignored (those at exactly ``as_of`` count). Must be timezone-aware
        exactly when the dates are.
    windows : sequence of str or Timedelta, default ("30D", "90D", "180D", "365D")
        Look-back windows; a transaction at time ``t`` is in window ``w``
        when ``as_of - w < t <= as_of``.  Each must be positive and a whole
        number of seconds (``"1500ms"`` is refused), because it names its
        columns in whole days or seconds.
    customer_col, date_col, value_col : str
        Column names; ``value_col=None`` skips the spend features.

    Returns
    -------
    DataFrame
        Indexed by customer id (sorted), one row per customer with at least
        one transaction on or before ``as_of``, with columns:

        ``n_purchases``
            Number of transactions (rows) up to ``as_of``.
        ``total_spend``, ``avg_order_value``
            Sum and mean of the amounts.
        ``first_purchase``, ``last_purchase``
            Timestamps (in the dates' time zone).
        ``tenure_days``
            Days from the first purchase to ``as_of``.
        ``days_since_last_purchase``
            Days from the last purchase to ``as_of``.
        ``mean_interpurchase_days``
            ``(last - first) / (n_purchases - 1)`` in days; NaN (undefined)
            for customers with a single purchase.
        ``purchases_<w>``, ``spend_<w>``
            Count and sum of amounts per window, ``<w>`` being the window
            in days (``purchases_30d``) or seconds (``purchases_3600s``).

        All durations are float days. These columns can be joined with
        demographic columns on the index and tested with :class:`Rule`.

    Raises
    ------
    ValidationError
        Missing columns, dates that are not datetime64, missing ids or dates,
        non-finite amounts, a missing or mismatched ``as_of``, a bad window,
        or no transaction on or before ``as_of``.

    Examples
    --------
    >>> import pandas as pd
    >>> tx = pd.DataFrame(
    ...     {
    ...         "customer_id": ["a", "a", "b", "a"],
    ...         "date": pd.to_datetime(["2024-01-01", "2024-01-21", "2024-01-25", "2024-03-01"]),
    ...         "amount": [10.0, 30.0, 5.0, 99.0],
    ...     }
    ... )
    >>> f = customer_features(tx, as_of="2024-01-31", windows=["7D"])
    >>> f[["n_purchases", "total_spend", "days_since_last_purchase", "purchases_7d"]]
                 n_purchases  total_spend  days_since_last_purchase  purchases_7d
    customer_id
    a                      2         40.0                      10.0             0
    b                      1          5.0                       6.0             1
    """
    wins = _windows(windows)
    enc = encode_transactions(
        transactions,
        as_of=as_of,
        customer_col=customer_col,
        date_col=date_col,
        value_col=value_col,
    )
    codes, times = enc.codes, enc.times
    n = len(enc.customers)
    counts = np.bincount(codes, minlength=n)
    first = np.full(n, np.iinfo(np.int64).max, dtype=np.int64)
    last = np.full(n, np.iinfo(np.int64).min, dtype=np.int64)
    np.minimum.at(first, codes, times)
    np.maximum.at(last, codes, times)
    cols: dict[str, Any] = {"n_purchases": counts}
    if enc.amounts is not None:
        total = np.bincount(codes, weights=enc.amounts, minlength=n)
        cols["total_spend"] = total
        cols["avg_order_value"] = total / counts
    cols["first_purchase"] = to_timestamps(first, enc.tz)
    cols["last_purchase"] = to_timestamps(last, enc.tz)
    cols["tenure_days"] = (enc.as_of - first) / NS_PER_DAY
    cols["days_since_last_purchase"] = (enc.as_of - last) / NS_PER_DAY
    with np.errstate(invalid="ignore", divide="ignore"):
        gaps = (last - first) / NS_PER_DAY / (counts - 1)
    cols["mean_interpurchase_days"] = np.where(counts > 1, gaps, np.nan)
    if wins:
        # Windows are nested: bucket each transaction by how many windows it falls
        # outside of (age >= w), count per (customer, bucket) in one bincount,
        # then a cumulative sum over buckets gives every window at once.
        lengths = np.array(sorted(ns for _, ns in wins), dtype=np.int64)
        width = lengths.size + 1
        age = enc.as_of - times
        bucket = np.zeros(times.size, dtype=np.int64)
        for w in lengths:
            bucket += age >= w
        key = codes * width + bucket
        per_count = np.bincount(key, minlength=n * width).reshape(n, width).cumsum(axis=1)
        per_spend = None
        if enc.amounts is not None:
            per_spend = np.bincount(key, weights=enc.amounts, minlength=n * width)
            per_spend = per_spend.reshape(n, width).cumsum(axis=1)
        for label, ns in wins:
            j = int(np.searchsorted(lengths, ns))
            cols[f"purchases_{label}"] = per_count[:, j]
            if per_spend is not None:
                cols[f"spend_{label}"] = per_spend[:, j]
    return pd.DataFrame(cols, index=enc.customers)
