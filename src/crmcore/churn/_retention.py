"""Retention curves of subscriptions: Kaplan–Meier over start/end dates."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from crmcore._time import NAT, to_duration
from crmcore._validation import check_columns
from crmcore.churn._labels import subscription_spans
from crmcore.churn._survival import kaplan_meier, with_old_band_names
from crmcore.errors import ValidationError

__all__ = ["retention_curve"]


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
    that start after ``as_of`` are left out. A date-only ``as_of`` means the
    end of that day; timezone-aware dates are compared as instants. The
    curve is the Kaplan–Meier estimate over those tenures (see
    :func:`kaplan_meier`).

    Parameters
    ----------
    subscriptions : pandas.DataFrame
        One row per subscription, with start and end dates (end missing
        while the subscription runs).
    as_of : date-like
        The observation cut-off: a date (the end of that day) or an instant
        (naive for naive dates, aware for aware dates).
    start_col, end_col : str
        Column names.
    by : str, optional
        A column to group by (plan, channel, signup cohort): one curve each.
    unit : str or timedelta, default "1D"
        Time unit of the tenures in the result (``"1D"``, ``"7D"``,
        ``"30D"``); a fixed length, never a calendar month.
    confidence : float, default 0.95
        Level of the pointwise band (columns ``ci_low`` and ``ci_high``).

    Returns
    -------
    pandas.DataFrame
        The :func:`kaplan_meier` table indexed by ``time`` (tenure in
        ``unit``), or by ``(by, time)``.

    Raises
    ------
    ValidationError
        On missing columns, dates or an end before its start, naive and
        aware dates mixed, or when no subscription started on or before
        ``as_of``.

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
    spans = subscription_spans(subscriptions, start_col, end_col)
    cut = spans.start.cutoff(as_of)
    step = to_duration(unit, name="unit")
    t0 = cut.ns
    start, end = spans.start.ns, spans.end.ns
    started = start <= t0
    if not started.any():
        raise ValidationError(
            f"no subscription started on or before as_of ({cut})", field="as_of", value=str(cut)
        )
    ended = (end != NAT) & (end <= t0)
    stop = np.where(ended, end, t0)
    tenure = (stop - start)[started].astype(np.float64) / float(step.value)
    groups = None if by is None else subscriptions[by].iloc[np.flatnonzero(started)]
    if groups is not None:
        groups = groups.reset_index(drop=True)
    curve = kaplan_meier(tenure, ended[started], confidence=confidence, by=groups)
    return with_old_band_names(curve, where="retention_curve()")
