"""Per-customer behavioural features from a transaction log."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from crmcore._dask import is_dask
from crmcore._time import NAT, NS_PER_DAY, NS_PER_SECOND, timestamps, to_duration
from crmcore.errors import ValidationError
from crmcore.segmentation._dask import features_on_dask
from crmcore.segmentation._transactions import encode_transactions

__all__ = ["customer_features"]


def _windows(windows: Sequence[Any]) -> list[tuple[str, int]]:
    """Read the look-back windows: (column label, length in nanoseconds)."""
    if isinstance(windows, str):
        windows = (windows,)
    out: list[tuple[str, int]] = []
    for w in windows:
        ns = int(to_duration(w, name="windows").value)
        if ns % NS_PER_SECOND != 0:
            # The column label is the window in whole days or seconds; a
            # "1500ms" window would otherwise be labelled purchases_1s.
            raise ValidationError(
                f"window {w!r} is not a whole number of seconds ({pd.Timedelta(ns)}); give "
                "whole seconds, such as '2s' or '90min'",
                field="windows",
                value=w,
            )
        label = f"{ns // NS_PER_DAY}d" if ns % NS_PER_DAY == 0 else f"{ns // NS_PER_SECOND}s"
        if any(label == seen for seen, _ in out):
            raise ValidationError(f"window {w!r} is given twice", field="windows", value=w)
        out.append((label, ns))
    return out


def customer_features(
    transactions: pd.DataFrame,
    *,
    as_of: Any,
    windows: Sequence[Any] = ("30D", "90D", "180D", "365D"),
    customer_col: str = "customer_id",
    date_col: str = "date",
    value_col: str | None = "amount",
    date_format: str | None = None,
) -> pd.DataFrame:
    """Compute per-customer behavioural features as of a given moment.

    Time follows the library's one rule (:doc:`/time`): history is every
    transaction at or before ``as_of``; a look-back window of length ``w``
    is ``(as_of - w, as_of]``; a date-only ``as_of`` means the end of that
    day. Timezone-aware dates are compared as instants, so the same
    purchases written in another zone give the same features.

    Every statistic is computed on int64 nanoseconds with integer customer
    codes and :func:`numpy.bincount` / ufunc reductions, in time linear in
    the number of transactions (10 million rows take a few seconds, naive or
    timezone-aware alike).

    Parameters
    ----------
    transactions : DataFrame or dask.dataframe.DataFrame
        One row per purchase, with a customer id, a date (``datetime64`` of
        any unit, naive or timezone-aware, or strings read with
        ``date_format``) and, unless ``value_col`` is ``None``, an amount.
        Negative amounts (refunds) are accepted and summed as they are.
        A Dask log (dates parsed to ``datetime64``) gives a lazy Dask
        DataFrame: the log is shuffled on the customer column and each
        partition computed as here, so each customer's row is the same (the
        index is sorted within each partition, not across them).
    as_of : date, datetime, Timestamp, Period or str (ISO 8601)
        The cut-off. Transactions dated after it are ignored; one at exactly
        ``as_of`` counts. A date (``"2024-01-31"``, ``datetime.date``)
        means the end of that day, in the dates' own zone for aware data,
        so a purchase at 18:00 that day counts. A datetime must be
        timezone-aware exactly when the dates are.
    windows : sequence of str or Timedelta, default ("30D", "90D", "180D", "365D")
        Look-back windows, fixed durations; a transaction at time ``t`` is
        in window ``w`` when ``as_of - w < t <= as_of``. Each must be
        positive and a whole number of seconds (``"1500ms"`` is refused),
        because it names its columns in whole days or seconds.
    customer_col, date_col, value_col : str
        Column names; ``value_col=None`` skips the spend features.
    date_format : str, optional
        ``strptime`` format of string (or integer) dates, e.g. ``"%d.%m.%Y"``.

    Returns
    -------
    DataFrame
        Indexed by customer id (sorted), one row per customer with at least
        one transaction at or before ``as_of``, with columns:

        ``n_purchases``
            Number of transactions (rows) up to ``as_of`` (int).
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
            Count (int) and sum of amounts per window, ``<w>`` being the
            window in days (``purchases_30d``) or seconds
            (``purchases_3600s``).

        All durations are float days. With a date-only ``as_of`` they run
        to the end of that day (the midnight after it): a purchase at 00:00
        on the ``as_of`` date is 1.0 day old. These columns can be joined
        with demographic columns on the index and tested with :class:`Rule`.

    Raises
    ------
    ValidationError
        Missing columns, dates that cannot be read (the first bad row is
        named), missing ids or dates, non-finite amounts, a missing or
        mismatched ``as_of`` (naive against aware dates, or the reverse), a
        bad window, or no transaction at or before ``as_of``.

    Examples
    --------
    >>> import pandas as pd
    >>> tx = pd.DataFrame(
    ...     {
    ...         "customer_id": ["a", "a", "b", "a"],
    ...         "date": pd.to_datetime(
    ...             ["2024-01-01", "2024-01-21", "2024-01-31 18:00", "2024-03-01"],
    ...             format="ISO8601",
    ...         ),
    ...         "amount": [10.0, 30.0, 5.0, 99.0],
    ...     }
    ... )
    >>> f = customer_features(tx, as_of="2024-01-31", windows=["7D"])
    >>> f[["n_purchases", "total_spend", "days_since_last_purchase", "purchases_7d"]]
                 n_purchases  total_spend  days_since_last_purchase  purchases_7d
    customer_id
    a                      2         40.0                     11.00             0
    b                      1          5.0                      0.25             1
    """
    if is_dask(transactions):
        return features_on_dask(  # type: ignore[no-any-return]
            transactions,
            customer_features,
            as_of=as_of,
            windows=windows,
            customer_col=customer_col,
            date_col=date_col,
            value_col=value_col,
        )
    wins = _windows(windows)
    enc = encode_transactions(
        transactions,
        as_of=as_of,
        customer_col=customer_col,
        date_col=date_col,
        value_col=value_col,
        date_format=date_format,
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
    cols["first_purchase"] = timestamps(first, enc.tz)
    cols["last_purchase"] = timestamps(last, enc.tz)
    # In float: int64 differences wrap around beyond 292 years (1677..2262 is 585).
    end = float(enc.measured_to)
    first_f, last_f = first.astype(np.float64), last.astype(np.float64)
    cols["tenure_days"] = (end - first_f) / NS_PER_DAY
    cols["days_since_last_purchase"] = (end - last_f) / NS_PER_DAY
    with np.errstate(invalid="ignore", divide="ignore"):
        gaps = (last_f - first_f) / NS_PER_DAY / (counts - 1)
    cols["mean_interpurchase_days"] = np.where(counts > 1, gaps, np.nan)
    if wins:
        # Windows are nested: bucket each transaction by how many windows it falls
        # outside of (t <= as_of - w), count per (customer, bucket) in one
        # bincount, then a cumulative sum over buckets gives every window at once.
        lengths = np.array(sorted(ns for _, ns in wins), dtype=np.int64)
        width = lengths.size + 1
        # the smallest integers that hold a bucket: on 10M rows, 10 MB beside the 80 MB key
        bucket = np.zeros(times.size, dtype=np.min_scalar_type(width))
        for w in lengths.tolist():
            # a bound before the supported range: no transaction lies outside
            bucket += times <= max(enc.as_of - w, NAT)
        key = codes * width
        key += bucket
        del bucket
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
