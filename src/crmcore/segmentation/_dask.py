"""Customer features and cohort retention on a Dask DataFrame (DESIGN §8).

Both follow the recipe of :mod:`crmcore._dask`: the log is shuffled on the
customer column and the pandas implementation runs on each partition, so
every number is computed exactly as in memory. Features stay a lazy
per-customer frame; cohorts reduce each partition to a small long table of
(cohort, periods since acquisition) counts and revenue, summed on the
cluster, so only that table is collected.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pandas as pd

from crmcore._dask import check_dask_columns, check_dask_dates, history_rows, per_customer
from crmcore._dask import probe_frame as _probe
from crmcore._time import parse_freq, period_codes, period_labels, wall_ns
from crmcore.errors import ValidationError
from crmcore.segmentation._transactions import encode_transactions

__all__ = ["cohorts_on_dask", "features_on_dask", "retention_from_long", "retention_on_dask"]


def features_on_dask(
    transactions: Any,
    features: Callable[..., pd.DataFrame],
    *,
    as_of: Any,
    windows: Sequence[Any],
    customer_col: str,
    date_col: str,
    value_col: str | None,
) -> Any:
    """Lazy :func:`~crmcore.segmentation.customer_features` of a Dask log."""
    required = [customer_col, date_col] + ([value_col] if value_col is not None else [])
    check_dask_columns(transactions, required)
    dates = check_dask_dates(transactions, date_col, what="customer_features")
    cutoff = dates.cutoff(as_of)
    kwargs: dict[str, Any] = {
        "as_of": as_of,
        "windows": windows,
        "customer_col": customer_col,
        "date_col": date_col,
        "value_col": value_col,
    }
    # also checks the windows and as_of now, on the client, not inside a task
    meta = features(_probe(transactions, date_col, cutoff.ns, dates.tz), **kwargs).iloc[:0]

    def run(part: pd.DataFrame) -> pd.DataFrame:
        history = history_rows(part, date_col, cutoff.ns)
        if len(history) == 0:
            return meta
        return features(history, **kwargs)

    return per_customer(transactions, customer_col, run, meta)


_LONG = {"cohort": np.int64, "offset": np.int64, "active": np.int64, "revenue": np.float64}


def cohorts_on_dask(
    transactions: Any,
    *,
    freq: str,
    as_of: Any,
    customer_col: str,
    date_col: str,
    value_col: str | None,
) -> tuple[pd.DataFrame, Any, int]:
    """Cohort × periods-since counts and revenue of a Dask log, summed on the cluster.

    Returns
    -------
    long : DataFrame
        Collected: one row per observed (cohort, offset) with ``active``
        customers and ``revenue``, period codes as in :func:`crmcore._time.period_codes`.
    unit : Freq
        The parsed period.
    asof_period : int
        The period code of ``as_of``.
    """
    unit = parse_freq(freq, name="freq", allowed="DWMQY")
    required = [customer_col, date_col] + ([value_col] if value_col is not None else [])
    check_dask_columns(transactions, required)
    dates = check_dask_dates(transactions, date_col, what="cohort_retention")
    cutoff = dates.cutoff(as_of)
    asof_p = int(period_codes(wall_ns(np.array([cutoff.ns], dtype=np.int64), dates.tz), unit)[0])
    meta = pd.DataFrame({k: np.zeros(0, dtype=v) for k, v in _LONG.items()})

    def run(part: pd.DataFrame) -> pd.DataFrame:
        history = history_rows(part, date_col, cutoff.ns)
        if len(history) == 0:
            return meta
        enc = encode_transactions(
            history,
            as_of=as_of,
            customer_col=customer_col,
            date_col=date_col,
            value_col=value_col,
        )
        p = period_codes(wall_ns(enc.times, enc.tz), unit)
        first_p = np.full(len(enc.customers), np.iinfo(np.int64).max, dtype=np.int64)
        np.minimum.at(first_p, enc.codes, p)
        rows = pd.DataFrame(
            {
                "cohort": first_p[enc.codes],
                "offset": p - first_p[enc.codes],
                "customer": enc.codes,
                "revenue": np.zeros(p.size) if enc.amounts is None else enc.amounts,
            }
        )
        keys = ["cohort", "offset"]
        active = rows.drop_duplicates(["customer", "offset"]).groupby(keys).size()
        revenue = rows.groupby(keys)["revenue"].sum()
        out = pd.DataFrame({"active": active, "revenue": revenue}).reset_index()
        return out.astype(_LONG)

    per_part = per_customer(transactions, customer_col, run, meta)
    long = per_part.groupby(["cohort", "offset"]).sum().compute().reset_index()
    return long.astype(_LONG), unit, asof_p


def retention_from_long(long: pd.DataFrame, unit: Any, asof_p: int) -> dict[str, Any]:
    """Build the :class:`CohortRetention` fields from the collected long table.

    The same tables as the in-memory path builds from its dense counts:
    cells after ``as_of``'s period are unobserved (``<NA>`` / NaN).
    """
    cohorts = np.unique(long["cohort"].to_numpy())
    width = asof_p - int(cohorts[0]) + 1
    row = np.searchsorted(cohorts, long["cohort"].to_numpy())
    col = long["offset"].to_numpy()
    counts = np.zeros((cohorts.size, width), dtype=np.int64)
    rev = np.zeros((cohorts.size, width))
    counts[row, col] = long["active"].to_numpy()
    rev[row, col] = long["revenue"].to_numpy()
    sizes = counts[:, 0].copy()
    observed = np.arange(width)[None, :] <= (asof_p - cohorts)[:, None]
    index = period_labels(cohorts, unit).rename("cohort")
    columns = pd.RangeIndex(width, name="periods_since")
    counts_df = pd.DataFrame(counts, index=index, columns=columns).astype("Int64")
    rev = np.where(observed, rev, np.nan)
    base = rev[:, :1]
    with np.errstate(invalid="ignore", divide="ignore"):
        ret = np.where(base != 0, rev / np.where(base != 0, base, 1.0), np.nan)
    return {
        "counts": counts_df.mask(~observed),
        "shares": pd.DataFrame(
            np.where(observed, counts / sizes[:, None], np.nan), index=index, columns=columns
        ),
        "cohort_sizes": pd.Series(sizes, index=index, name="cohort_size"),
        "revenue": pd.DataFrame(rev, index=index, columns=columns),
        "revenue_retention": pd.DataFrame(ret, index=index, columns=columns),
        "freq": str(unit),
    }


def retention_on_dask(
    transactions: Any,
    *,
    freq: str,
    as_of: Any,
    customer_col: str,
    date_col: str,
    value_col: str | None,
) -> dict[str, Any]:
    """Compute the :func:`~crmcore.segmentation.cohort_retention` fields of a Dask log."""
    long, unit, asof_p = cohorts_on_dask(
        transactions,
        freq=freq,
        as_of=as_of,
        customer_col=customer_col,
        date_col=date_col,
        value_col=value_col,
    )
    if long.empty:
        raise ValidationError(
            f"no transaction is dated at or before as_of={as_of}", field=date_col, value=as_of
        )
    fields = retention_from_long(long, unit, asof_p)
    if value_col is None:
        fields["revenue"] = fields["revenue_retention"] = None
    return fields
