"""Churn labels from transaction logs and subscription tables.

Labels are always defined relative to an explicit ``as_of``: the features
side of a model may look only at data up to ``as_of``, the label only at the
window ``(as_of, as_of + horizon]``.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pandas as pd

from crmcore._validation import check_columns
from crmcore.churn._dates import as_period, as_timestamp, date_values, ts_ns
from crmcore.errors import DataWarning, ValidationError

__all__ = ["active_labels", "churn_labels", "subscription_churn_labels"]

_NAT = np.iinfo(np.int64).min


def churn_labels(
    transactions: pd.DataFrame,
    *,
    as_of: Any,
    horizon: Any,
    lookback: Any = None,
    customer_col: str = "customer_id",
    date_col: str = "date",
) -> pd.Series:
    """Label each active customer 1 if it buys nothing in the next ``horizon``.

    Non-contractual churn is never observed directly; it is defined by a
    silence. A customer is *active* at ``as_of`` when it bought at least
    once in the look-back window ``(as_of - lookback, as_of]``; it is
    labelled as churned (1) when it then makes no purchase in
    ``(as_of, as_of + horizon]``, and 0 otherwise. Customers that are not
    active at ``as_of`` (no purchase in the look-back window, or first
    purchase after ``as_of``) are **excluded**: they have no row, since they
    cannot churn from a relationship they are not in.

    Parameters
    ----------
    transactions : pandas.DataFrame
        One row per purchase, with a customer column and a date column
        (``datetime64``, naive or timezone-aware).
    as_of : date, datetime, str or Timestamp
        The cutoff. Must be naive when the dates are naive and aware when
        they are aware.
    horizon : str or timedelta
        Length of the label window, a fixed duration such as ``"90D"``.
    lookback : str or timedelta, optional
        Length of the activity window before ``as_of``. ``None`` (default):
        all history, i.e. every customer with a purchase on or before
        ``as_of`` is active.
    customer_col, date_col : str
        Column names.

    Returns
    -------
    pandas.Series
        ``int8`` labels named ``"churn"``, indexed by customer (sorted).

    Raises
    ------
    ValidationError
        On missing columns or dates, a non-positive ``horizon`` or
        ``lookback``, a timezone mismatch, or a log with no transaction after
        ``as_of`` (the label window would be entirely unobserved).

    Warns
    -----
    DataWarning
        When the log ends before ``as_of + horizon``: customers who would
        have bought after the last recorded date are labelled as churned.

    Examples
    --------
    >>> import pandas as pd
    >>> from crmcore.churn import churn_labels
    >>> tx = pd.DataFrame(
    ...     {
    ...         "customer_id": ["a", "a", "b", "c", "c"],
    ...         "date": pd.to_datetime(
    ...             ["2024-01-05", "2024-03-01", "2024-01-20", "2023-01-01", "2024-04-01"]
    ...         ),
    ...     }
    ... )
    >>> churn_labels(tx, as_of="2024-01-31", horizon="60D", lookback="365D")
    customer_id
    a    0
    b    1
    Name: churn, dtype: int8
    """
    check_columns(transactions, [customer_col, date_col], name="transactions")
    cutoff = as_timestamp(as_of, name="as_of")
    window = as_period(horizon, name="horizon")
    back = None if lookback is None else as_period(lookback, name="lookback")
    dates = date_values(transactions, date_col, like=cutoff)
    t0 = ts_ns(cutoff)
    t1 = t0 + window.value
    if dates.size == 0 or dates.max() <= t0:
        raise ValidationError(
            "transactions has no purchase after as_of; the label window "
            f"({cutoff}, {cutoff + window}] is unobserved",
            field="as_of",
            value=cutoff,
        )
    if dates.max() < t1:
        warnings.warn(
            f"the transaction log ends at {pd.Timestamp(dates.max())} before as_of + horizon "
            f"({cutoff + window}); purchases after the log's end cannot be seen, so some "
            "customers may be labelled as churned wrongly",
            DataWarning,
            stacklevel=2,
        )
    return active_labels(
        transactions, dates, customer_col=customer_col, t0=t0, horizon_ns=window.value, back=back
    )


def subscription_churn_labels(
    subscriptions: pd.DataFrame,
    *,
    as_of: Any,
    horizon: Any,
    customer_col: str = "customer_id",
    start_col: str = "start",
    end_col: str = "end",
) -> pd.Series:
    """Label each subscriber 1 if it has no active subscription ``horizon`` later.

    Contractual churn is observed: a subscription has a start and (once
    cancelled) an end date; a missing end means still running. A customer is
    *active* at ``as_of`` when one of its subscriptions covers it
    (``start <= as_of < end``). It is labelled 1 when none of its
    subscriptions covers ``as_of + horizon`` (it cancelled in
    ``(as_of, as_of + horizon]`` and did not come back), 0 otherwise.
    Customers not active at ``as_of`` are excluded.

    Parameters
    ----------
    subscriptions : pandas.DataFrame
        One row per subscription with customer, start and end columns.
    as_of : date, datetime, str or Timestamp
        The cutoff (naive or aware, matching the data).
    horizon : str or timedelta
        Label window length, e.g. ``"30D"``.
    customer_col, start_col, end_col : str
        Column names.

    Returns
    -------
    pandas.Series
        ``int8`` labels named ``"churn"``, indexed by customer (sorted).

    Raises
    ------
    ValidationError
        On missing columns, a missing start date, an end before its start,
        or a timezone mismatch.

    Examples
    --------
    >>> import pandas as pd
    >>> from crmcore.churn import subscription_churn_labels
    >>> subs = pd.DataFrame(
    ...     {
    ...         "customer_id": ["a", "b", "c"],
    ...         "start": pd.to_datetime(["2024-01-01", "2024-01-01", "2024-03-01"]),
    ...         "end": pd.to_datetime(["2024-02-15", None, None]),
    ...     }
    ... )
    >>> subscription_churn_labels(subs, as_of="2024-02-01", horizon="30D")
    customer_id
    a    1
    b    0
    Name: churn, dtype: int8
    """
    check_columns(subscriptions, [customer_col, start_col, end_col], name="subscriptions")
    cutoff = as_timestamp(as_of, name="as_of")
    window = as_period(horizon, name="horizon")
    start, end = subscription_bounds(subscriptions, start_col, end_col, like=cutoff)
    t0 = ts_ns(cutoff)
    t1 = t0 + window.value
    codes, uniques = pd.factorize(subscriptions[customer_col], sort=True)
    if (codes < 0).any():
        raise ValidationError(f"{customer_col} must not be missing", field=customer_col)
    open_end = np.where(end == _NAT, np.iinfo(np.int64).max, end)
    active = np.zeros(uniques.size, dtype=bool)
    active[codes[(start <= t0) & (open_end > t0)]] = True
    later = np.zeros(uniques.size, dtype=bool)
    later[codes[(start <= t1) & (open_end > t1)]] = True
    labels = (~later[active]).astype(np.int8)
    return pd.Series(labels, index=pd.Index(uniques[active], name=customer_col), name="churn")


def subscription_bounds(
    subscriptions: pd.DataFrame, start_col: str, end_col: str, *, like: pd.Timestamp
) -> tuple[np.ndarray[Any, np.dtype[np.int64]], np.ndarray[Any, np.dtype[np.int64]]]:
    """Return the validated start and end (``iNaT`` when open) as int64 nanoseconds."""
    start = date_values(subscriptions, start_col, like=like)
    end = date_values(subscriptions, end_col, like=like, allow_missing=True)
    bad = (end != _NAT) & (end < start)
    if bad.any():
        pos = int(np.flatnonzero(bad)[0])
        row = subscriptions.index[pos]
        raise ValidationError(
            f"{end_col} must not be before {start_col}; got {subscriptions[end_col].iloc[pos]!r}"
            f" before {subscriptions[start_col].iloc[pos]!r} for row {row!r}",
            field=end_col,
            row=row,
        )
    return start, end


def active_labels(
    transactions: pd.DataFrame,
    dates: np.ndarray[Any, np.dtype[np.int64]],
    *,
    customer_col: str,
    t0: int,
    horizon_ns: int,
    back: pd.Timedelta | None,
) -> pd.Series:
    """Label the customers active at ``t0`` (nanoseconds); inputs already validated."""
    customers = transactions[customer_col]
    if customers.isna().any():
        pos = int(np.flatnonzero(customers.isna().to_numpy())[0])
        raise ValidationError(
            f"{customer_col} must not be missing; got a missing value for row "
            f"{transactions.index[pos]!r}",
            field=customer_col,
            row=transactions.index[pos],
        )
    t1 = t0 + horizon_ns
    lo = np.iinfo(np.int64).min if back is None else t0 - back.value
    codes, uniques = pd.factorize(customers, sort=True)
    active = np.zeros(uniques.size, dtype=bool)
    in_back = (dates > lo) & (dates <= t0)
    active[codes[in_back]] = True
    bought = np.zeros(uniques.size, dtype=bool)
    in_window = (dates > t0) & (dates <= t1)
    bought[codes[in_window]] = True
    labels = (~bought[active]).astype(np.int8)
    index = pd.Index(uniques[active], name=customer_col)
    return pd.Series(labels, index=index, name="churn")
