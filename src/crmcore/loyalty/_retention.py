"""Retention, churn and repurchase rates from a transaction log.

All three rates look at half-open windows ``[start, end)`` ending at an
explicit ``as_of``; transactions at or after ``as_of`` are ignored, so the
same log gives the same answer whenever it is run.
"""

from __future__ import annotations

import datetime as _dt
from typing import Any

import numpy as np
import pandas as pd

from crmcore._validation import check_columns, first_bad
from crmcore.errors import ValidationError
from crmcore.loyalty._results import RateResult
from crmcore.loyalty._scores import check_confidence, wilson_interval, z_value

__all__ = ["churn_rate", "repurchase_rate", "retention_rate"]

Period = pd.DateOffset | pd.Timedelta | _dt.timedelta | str


def _period(period: Period) -> pd.DateOffset | pd.Timedelta:
    if isinstance(period, pd.DateOffset):
        return period
    try:
        if not isinstance(period, str | _dt.timedelta | np.timedelta64):
            # pandas reads a bare number as nanoseconds: 30 would be a 30 ns period.
            raise TypeError("a bare number has no unit")
        delta = pd.Timedelta(period)
    except (ValueError, TypeError) as exc:
        raise ValidationError(
            "period must be a pandas DateOffset (e.g. pd.DateOffset(months=1)), a "
            f"timedelta or a Timedelta string such as '30D'; got {period!r}",
            field="period",
            value=period,
        ) from exc
    if delta <= pd.Timedelta(0):
        raise ValidationError(
            f"period must be positive; got {period!r}", field="period", value=period
        )
    return delta


def _prepare(
    transactions: pd.DataFrame,
    customer_col: str,
    date_col: str,
    as_of: object,
) -> tuple[pd.Series, pd.Series, pd.Timestamp]:
    check_columns(transactions, [customer_col, date_col], name="transactions")
    dates = transactions[date_col]
    if not pd.api.types.is_datetime64_any_dtype(dates):
        raise ValidationError(
            f"{date_col} must be a datetime64 column; got dtype {dates.dtype}", field=date_col
        )
    missing = np.asarray(dates.isna())
    if missing.any():
        first_bad(
            missing,
            name=date_col,
            problem="must not be missing",
            values=dates.to_numpy(dtype=object),
            index=dates.index,
        )
    customers = transactions[customer_col]
    no_customer = np.asarray(customers.isna())
    if no_customer.any():
        first_bad(
            no_customer,
            name=customer_col,
            problem="must not be missing",
            values=customers.to_numpy(dtype=object),
            index=customers.index,
        )
    if not isinstance(as_of, _dt.datetime | _dt.date | str | np.datetime64):
        raise ValidationError(
            f"as_of must be a datetime or timestamp; got {type(as_of).__name__}",
            field="as_of",
            value=as_of,
        )
    ts = pd.Timestamp(as_of)
    col_aware = isinstance(dates.dtype, pd.DatetimeTZDtype)
    if col_aware != (ts.tz is not None):
        raise ValidationError(
            f"as_of and {date_col} must both be timezone-aware or both naive; got as_of="
            f"{ts.isoformat()} and a {'tz-aware' if col_aware else 'naive'} column",
            field="as_of",
            value=as_of,
        )
    return customers, dates, ts


def _rate(
    num: int, den: int, confidence: float, window: tuple[pd.Timestamp, pd.Timestamp], what: str
) -> RateResult:
    start, end = window
    if den == 0:
        raise ValidationError(
            f"no {what} in [{start.isoformat()}, {end.isoformat()}); the rate is undefined",
            field="transactions",
        )
    lo, hi = wilson_interval(
        np.array([num], dtype=np.float64), np.array([den], dtype=np.float64), z_value(confidence)
    )
    return RateResult(
        rate=num / den,
        numerator=num,
        denominator=den,
        ci_low=float(lo[0]),
        ci_high=float(hi[0]),
        confidence=confidence,
        start=start.isoformat(),
        end=end.isoformat(),
    )


def _window_mask(dates: pd.Series, start: pd.Timestamp, end: pd.Timestamp) -> np.ndarray[Any, Any]:
    return np.asarray((dates >= start) & (dates < end), dtype=bool)


def _retained(
    transactions: pd.DataFrame,
    as_of: object,
    period: Period,
    customer_col: str,
    date_col: str,
) -> tuple[int, int, pd.Timestamp, pd.Timestamp]:
    customers, dates, end = _prepare(transactions, customer_col, date_col, as_of)
    step = _period(period)
    mid = end - step
    start = mid - step
    prev = pd.unique(customers[_window_mask(dates, start, mid)])
    curr = pd.unique(customers[_window_mask(dates, mid, end)])
    kept = int(np.count_nonzero(pd.Series(prev).isin(pd.Series(curr))))
    return kept, len(prev), start, end


def retention_rate(
    transactions: pd.DataFrame,
    *,
    as_of: object,
    period: Period,
    customer_col: str = "customer_id",
    date_col: str = "date",
    confidence: float = 0.95,
) -> RateResult:
    """Share of last period's active customers who bought again this period.

    Definition: with ``end = as_of``, ``mid = end - period`` and
    ``start = mid - period``, the *cohort* is every customer with at least
    one transaction in ``[start, mid)``; the rate is the share of the cohort
    with at least one transaction in ``[mid, end)``. New customers of the
    current period do not enter the rate. The interval is Wilson's.

    Parameters
    ----------
    transactions : DataFrame
        One row per transaction, with a customer and a ``datetime64`` column.
    as_of : datetime or Timestamp
        End (exclusive) of the current period. Must match the time-zone
        awareness of the date column.
    period : DateOffset, Timedelta, timedelta or str
        Length of a period: ``pd.DateOffset(months=1)`` for calendar months,
        or a duration such as ``"30D"``.
    customer_col, date_col : str
        Column names.
    confidence : float, default 0.95
        Confidence level of the interval.

    Returns
    -------
    RateResult
        ``numerator`` = retained customers, ``denominator`` = cohort size;
        ``start``/``end`` span both periods.

    Raises
    ------
    ValidationError
        On missing columns or values, a naive/aware mismatch, a non-positive
        period, or an empty cohort.

    Examples
    --------
    >>> import pandas as pd
    >>> tx = pd.DataFrame(
    ...     {
    ...         "customer_id": ["a", "b", "c", "a", "d"],
    ...         "date": pd.to_datetime(
    ...             ["2026-01-03", "2026-01-10", "2026-01-20", "2026-02-05", "2026-02-06"]
    ...         ),
    ...     }
    ... )
    >>> r = retention_rate(tx, as_of=pd.Timestamp("2026-03-01"), period=pd.DateOffset(months=1))
    >>> r.numerator, r.denominator, round(r.rate, 3)
    (1, 3, 0.333)
    """
    conf = check_confidence(confidence)
    kept, cohort, start, end = _retained(transactions, as_of, period, customer_col, date_col)
    return _rate(kept, cohort, conf, (start, end), "customers were active in the previous period")


def churn_rate(
    transactions: pd.DataFrame,
    *,
    as_of: object,
    period: Period,
    customer_col: str = "customer_id",
    date_col: str = "date",
    confidence: float = 0.95,
) -> RateResult:
    """Share of last period's active customers with no transaction this period.

    Exactly ``1 - retention_rate`` on the same cohort (see
    :func:`retention_rate` for the windows): ``numerator`` is the number of
    cohort customers with no transaction in ``[as_of - period, as_of)``.

    Parameters
    ----------
    transactions : DataFrame
        One row per transaction.
    as_of : datetime or Timestamp
        End (exclusive) of the current period.
    period : DateOffset, Timedelta, timedelta or str
        Length of a period.
    customer_col, date_col : str
        Column names.
    confidence : float, default 0.95
        Confidence level of the interval.

    Returns
    -------
    RateResult
        ``numerator`` = churned customers, ``denominator`` = cohort size.

    Examples
    --------
    >>> import pandas as pd
    >>> tx = pd.DataFrame(
    ...     {
    ...         "customer_id": ["a", "b", "a"],
    ...         "date": pd.to_datetime(["2026-01-03", "2026-01-10", "2026-02-05"]),
    ...     }
    ... )
    >>> churn_rate(tx, as_of=pd.Timestamp("2026-03-01"), period=pd.DateOffset(months=1)).rate
    0.5
    """
    conf = check_confidence(confidence)
    kept, cohort, start, end = _retained(transactions, as_of, period, customer_col, date_col)
    return _rate(
        cohort - kept, cohort, conf, (start, end), "customers were active in the previous period"
    )


def repurchase_rate(
    transactions: pd.DataFrame,
    *,
    as_of: object,
    period: Period,
    customer_col: str = "customer_id",
    date_col: str = "date",
    confidence: float = 0.95,
) -> RateResult:
    """Share of the period's buyers who bought at least twice in the period.

    Definition: among customers with at least one transaction in
    ``[as_of - period, as_of)``, the share with two or more transactions in
    that window (each row of the log counts as one transaction).

    Parameters
    ----------
    transactions : DataFrame
        One row per transaction.
    as_of : datetime or Timestamp
        End (exclusive) of the window.
    period : DateOffset, Timedelta, timedelta or str
        Length of the window.
    customer_col, date_col : str
        Column names.
    confidence : float, default 0.95
        Confidence level of the interval.

    Returns
    -------
    RateResult
        ``numerator`` = repeat buyers, ``denominator`` = buyers.

    Examples
    --------
    >>> import pandas as pd
    >>> tx = pd.DataFrame(
    ...     {
    ...         "customer_id": ["a", "a", "b", "c"],
    ...         "date": pd.to_datetime(["2026-01-03", "2026-01-10", "2026-01-12", "2025-06-01"]),
    ...     }
    ... )
    >>> r = repurchase_rate(tx, as_of=pd.Timestamp("2026-02-01"), period="31D")
    >>> r.numerator, r.denominator
    (1, 2)
    """
    conf = check_confidence(confidence)
    customers, dates, end = _prepare(transactions, customer_col, date_col, as_of)
    start = end - _period(period)
    in_window = customers[_window_mask(dates, start, end)]
    codes, uniques = pd.factorize(in_window)
    counts = np.bincount(np.asarray(codes, dtype=np.int64), minlength=len(uniques))
    return _rate(
        int(np.count_nonzero(counts >= 2)),
        len(uniques),
        conf,
        (start, end),
        "customers bought",
    )
