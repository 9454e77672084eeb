"""Retention, churn and repurchase rates from a transaction log.

All three follow the one time rule (docs page "Time, cut-offs and units"):
history is everything at or before ``as_of``, the current window of length
``w`` is ``(as_of - w, as_of]`` and the preceding one ``(as_of - 2w,
as_of - w]``. A transaction exactly at ``as_of`` counts; anything after it
is ignored, so the same log gives the same answer whenever it is run.
Calendar windows (``"1M"``) are counted back from the *end* of ``as_of`` on
the data's own wall clock: with ``as_of="2026-02-28"``, ``window="1M"`` is
February.
"""

from __future__ import annotations

import datetime as _dt
from typing import Any

import numpy as np
import pandas as pd

from crmcore._deprecation import renamed_arguments
from crmcore._time import Dates, add_duration, read_dates, timestamps, to_duration
from crmcore._validation import check_columns, first_bad
from crmcore.errors import ValidationError
from crmcore.loyalty._results import RateResult
from crmcore.loyalty._scores import check_confidence, wilson_interval, z_value

__all__ = ["churn_rate", "repurchase_rate", "retention_rate"]

Window = pd.DateOffset | pd.Timedelta | _dt.timedelta | str


def _prepare(
    transactions: pd.DataFrame, customer_col: str, date_col: str, as_of: object
) -> tuple[pd.Series, Dates, int]:
    """Return the customers, the dates and the resolved cut-off (ns on the dates' scale)."""
    check_columns(transactions, [customer_col, date_col], name="transactions")
    dates = read_dates(transactions[date_col], name=date_col)
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
    return customers, dates, dates.cutoff(as_of).ns


def _bounds(dates: Dates, end: int, window: Window, count: int) -> list[int]:
    """``end`` and the ``count`` window bounds before it: ``[end - count*w, ..., end - w, end]``.

    Calendar lengths move the wall clock back from just after ``end`` (the
    end of the ``as_of`` day), so month windows are whole months.
    """
    step = to_duration(window, name="window", calendar=True)
    after = end + 1
    out = [int(add_duration(after, dates.tz, step, sign=-k)) - 1 for k in range(count, 0, -1)]
    return [*out, end]


def _iso(ns: list[int], dates: Dates) -> list[str]:
    return [t.isoformat() for t in timestamps(np.array(ns, dtype=np.int64), dates.tz)]


def _rate(num: int, den: int, confidence: float, bounds: list[int], dates: Dates) -> RateResult:
    """Build the result over ``bounds``; an empty denominator names its window (the first)."""
    iso = _iso(bounds, dates)
    if den == 0:
        raise ValidationError(
            f"no customers bought in ({iso[0]}, {iso[1]}]: the rate is undefined; pick an "
            "as_of or window that holds transactions",
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
        start=iso[0],
        end=iso[-1],
    )


def _within(dates: Dates, start: int, end: int) -> np.ndarray[Any, np.dtype[np.bool_]]:
    """Rows in the window ``(start, end]``."""
    return (dates.ns > start) & (dates.ns <= end)


def _retained(
    transactions: pd.DataFrame,
    as_of: object,
    window: Window,
    customer_col: str,
    date_col: str,
) -> tuple[int, int, list[int], Dates]:
    customers, dates, end = _prepare(transactions, customer_col, date_col, as_of)
    bounds = _bounds(dates, end, window, 2)
    start, mid, end = bounds
    prev = pd.unique(customers[_within(dates, start, mid)])
    curr = pd.unique(customers[_within(dates, mid, end)])
    kept = int(np.count_nonzero(pd.Series(prev).isin(pd.Series(curr))))
    return kept, len(prev), bounds, dates


@renamed_arguments(period="window")
def retention_rate(
    transactions: pd.DataFrame,
    *,
    as_of: object,
    window: Window,
    customer_col: str = "customer_id",
    date_col: str = "date",
    confidence: float = 0.95,
) -> RateResult:
    """Share of the previous window's active customers who bought again in the current one.

    Definition: the *cohort* is every customer with at least one
    transaction in the preceding window ``(as_of - 2 window, as_of -
    window]``; the rate is the share of the cohort with at least one
    transaction in the current window ``(as_of - window, as_of]``. New
    customers of the current window do not enter the rate. The interval is
    Wilson's.

    Parameters
    ----------
    transactions : DataFrame
        One row per transaction: a customer and a date column (``datetime64``
        of any unit, naive or aware, ``datetime.date`` values or ISO strings).
    as_of : date-like
        The cut-off: a date (the end of that day), a period, a datetime or
        a Timestamp (aware exactly when the dates are).
    window : str, timedelta, Timedelta or DateOffset
        Length of a window: a fixed duration (``"30D"``) or a calendar
        length (``"1M"``, ``"1Q"``, ``pd.DateOffset(months=1)``).
    customer_col, date_col : str
        Column names.
    confidence : float, default 0.95
        Confidence level of the (Wilson) interval.

    Returns
    -------
    RateResult
        ``numerator`` = retained customers, ``denominator`` = cohort size;
        ``(start, end]`` spans both windows (``end`` is ``as_of``).

    Raises
    ------
    ValidationError
        On missing columns or values, unreadable dates, a naive/aware
        mismatch, a non-positive or unitless window, or an empty cohort.

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
    >>> r = retention_rate(tx, as_of="2026-02-28", window="1M")
    >>> r.numerator, r.denominator, round(r.rate, 3)
    (1, 3, 0.333)
    >>> r.start, r.end
    ('2025-12-31T23:59:59.999999999', '2026-02-28T23:59:59.999999999')
    """
    conf = check_confidence(confidence)
    kept, cohort, bounds, dates = _retained(transactions, as_of, window, customer_col, date_col)
    return _rate(kept, cohort, conf, bounds, dates)


@renamed_arguments(period="window")
def churn_rate(
    transactions: pd.DataFrame,
    *,
    as_of: object,
    window: Window,
    customer_col: str = "customer_id",
    date_col: str = "date",
    confidence: float = 0.95,
) -> RateResult:
    """Share of the previous window's active customers with no transaction in the current one.

    Exactly ``1 - retention_rate`` on the same cohort (see
    :func:`retention_rate` for the windows): ``numerator`` is the number of
    cohort customers with no transaction in ``(as_of - window, as_of]``.

    Parameters
    ----------
    transactions : DataFrame
        One row per transaction: a customer and a date column (``datetime64``
        of any unit, naive or aware, ``datetime.date`` values or ISO strings).
    as_of : date-like
        The cut-off: a date (the end of that day), a period, a datetime or
        a Timestamp (aware exactly when the dates are).
    window : str, timedelta, Timedelta or DateOffset
        Length of a window: a fixed duration (``"30D"``) or a calendar
        length (``"1M"``, ``"1Q"``, ``pd.DateOffset(months=1)``).
    customer_col, date_col : str
        Column names.
    confidence : float, default 0.95
        Confidence level of the (Wilson) interval.

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
    >>> churn_rate(tx, as_of="2026-02", window="1M").rate
    0.5
    """
    conf = check_confidence(confidence)
    kept, cohort, bounds, dates = _retained(transactions, as_of, window, customer_col, date_col)
    return _rate(cohort - kept, cohort, conf, bounds, dates)


@renamed_arguments(period="window")
def repurchase_rate(
    transactions: pd.DataFrame,
    *,
    as_of: object,
    window: Window,
    customer_col: str = "customer_id",
    date_col: str = "date",
    confidence: float = 0.95,
) -> RateResult:
    """Share of the window's buyers who bought at least twice in the window.

    Definition: among customers with at least one transaction in
    ``(as_of - window, as_of]``, the share with two or more transactions in
    that window (each row of the log counts as one transaction).

    Parameters
    ----------
    transactions : DataFrame
        One row per transaction: a customer and a date column (``datetime64``
        of any unit, naive or aware, ``datetime.date`` values or ISO strings).
    as_of : date-like
        The cut-off: a date (the end of that day), a period, a datetime or
        a Timestamp (aware exactly when the dates are).
    window : str, timedelta, Timedelta or DateOffset
        Length of a window: a fixed duration (``"30D"``) or a calendar
        length (``"1M"``, ``"1Q"``, ``pd.DateOffset(months=1)``).
    customer_col, date_col : str
        Column names.
    confidence : float, default 0.95
        Confidence level of the (Wilson) interval.

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
    >>> r = repurchase_rate(tx, as_of="2026-01-31", window="31D")
    >>> r.numerator, r.denominator
    (1, 2)
    """
    conf = check_confidence(confidence)
    customers, dates, end = _prepare(transactions, customer_col, date_col, as_of)
    bounds = _bounds(dates, end, window, 1)
    in_window = customers[_within(dates, *bounds)]
    codes, uniques = pd.factorize(in_window)
    counts = np.bincount(np.asarray(codes, dtype=np.int64), minlength=len(uniques))
    return _rate(int(np.count_nonzero(counts >= 2)), len(uniques), conf, bounds, dates)
