"""Retention curves of subscriptions: Kaplan–Meier over start/end dates."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from crmcore._validation import check_columns
from crmcore.churn._dates import as_period, as_timestamp, ts_ns
from crmcore.churn._labels import subscription_bounds
from crmcore.churn._survival import kaplan_meier
from crmcore.errors import ValidationError

__all__ = ["retention_curve"]

_NAT = np.iinfo(np.int64).min


def retention_curve(
    subscriptions: pd.DataFrame,
    *,
    as_of: Any,
    start_col: str = "start",
    end_col: str = "end",
    by: str | None = None,
    unit: Any = "1D",
    confidence: float = 0.95,
) -> pd.DataFrame:
    """Share of subscriptions still running after each tenure, censored at ``as_of``.

    Each subscription contributes its tenure: from ``start`` to ``end`` when
    it was cancelled on or before ``as_of`` (an event), and from ``start``
    to ``as_of`` when it is still running or was cancelled later (censored:
    what happens after ``as_of`` is treated as unknown, so a curve computed
    "as of" a past date never peeks at later cancellations). Subscriptions
    that start after ``as_of`` are left out. The curve is the Kaplan–Meier
    estimate over those tenures (see :func:`kaplan_meier`).

    Parameters
    ----------
    subscriptions : pandas.DataFrame
        One row per subscription, with start and end dates (end missing
        while the subscription runs).
    as_of : date, datetime, str or Timestamp
        The observation date (naive or aware, matching the data).
    start_col, end_col : str
        Column names.
    by : str, optional
        A column to group by (plan, channel, signup cohort): one curve each.
    unit : str or timedelta, default "1D"
        Time unit of the tenures in the result (``"1D"``, ``"7D"``,
        ``"30D"``); a fixed length, never a calendar month.
    confidence : float, default 0.95
        Level of the pointwise band.

    Returns
    -------
    pandas.DataFrame
        The :func:`kaplan_meier` table indexed by ``time`` (tenure in
        ``unit``), or by ``(by, time)``.

    Raises
    ------
    ValidationError
        On missing columns, dates or an end before its start, a timezone
        mismatch, or when no subscription started on or before ``as_of``.

    Examples
    --------
    >>> import pandas as pd
    >>> from crmcore.churn import retention_curve
    >>> subs = pd.DataFrame(
    ...     {
    ...         "start": pd.to_datetime(["2024-01-01", "2024-01-01", "2024-01-11", "2024-02-01"]),
    ...         "end": pd.to_datetime(["2024-01-31", None, "2024-03-01", "2024-02-11"]),
    ...     }
    ... )
    >>> retention_curve(subs, as_of="2024-02-20")[["at_risk", "events", "survival"]]
          at_risk  events  survival
    time
    10.0      4.0     1.0      0.75
    30.0      3.0     1.0      0.50
    """
    check_columns(
        subscriptions,
        [start_col, end_col, *([by] if by is not None else [])],
        name="subscriptions",
    )
    cutoff = as_timestamp(as_of, name="as_of")
    step = as_period(unit, name="unit")
    start, end = subscription_bounds(subscriptions, start_col, end_col, like=cutoff)
    t0 = ts_ns(cutoff)
    started = start <= t0
    if not started.any():
        raise ValidationError(
            f"no subscription started on or before as_of ({cutoff})", field="as_of", value=cutoff
        )
    ended = (end != _NAT) & (end <= t0)
    stop = np.where(ended, end, t0)
    tenure = (stop - start)[started].astype(np.float64) / float(step.value)
    groups = None if by is None else subscriptions[by].iloc[np.flatnonzero(started)]
    if groups is not None:
        groups = groups.reset_index(drop=True)
    return kaplan_meier(tenure, ended[started], confidence=confidence, by=groups)
