"""Churn labels on a Dask DataFrame (DESIGN §8).

The label window is resolved once on the client; the log is shuffled on the
customer column and :func:`~crmcore.churn._labels.labels_at` labels each
partition exactly as in memory. Without ``observed_until`` the coverage check
needs the log's last date: one small reduction on the cluster.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from crmcore._dask import check_dask_columns, check_dask_dates, per_customer
from crmcore._time import Dates, read_dates
from crmcore.churn._labels import check_coverage, label_window, labels_at

__all__ = ["labels_on_dask"]


def labels_on_dask(
    transactions: Any,
    *,
    as_of: Any,
    horizon: Any,
    lookback: Any,
    observed_until: Any,
    customer_col: str,
    date_col: str,
) -> Any:
    """Lazy :func:`~crmcore.churn.churn_labels` of a Dask log."""
    check_dask_columns(transactions, [customer_col, date_col])
    dates = check_dask_dates(transactions, date_col, what="churn_labels")
    win = label_window(dates, as_of=as_of, horizon=horizon, lookback=lookback)
    if observed_until is None:
        dtype = transactions._meta[date_col].dtype
        last = transactions[date_col].max().compute()
        seen = read_dates(pd.Series([last]).astype(dtype), name=date_col, allow_missing=True)
        check_coverage(Dates(seen.ns, dates.tz), win, None)
    else:
        check_coverage(dates, win, observed_until)
    index = pd.Index(transactions._meta[customer_col].iloc[:0], name=customer_col)
    meta = pd.Series(np.zeros(0, dtype=np.int8), index=index, name="churn")

    def run(part: pd.DataFrame) -> pd.Series:
        if len(part) == 0:
            return meta
        times = read_dates(part[date_col], name=date_col).ns
        return labels_at(part[customer_col], times, win, customer_col=customer_col)

    return per_customer(transactions, customer_col, run, meta)
