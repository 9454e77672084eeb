"""Acquisition-cohort retention tables and per-segment summaries."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import attrs
import numpy as np
import pandas as pd

from crmcore._validation import as_float_array, check_columns, check_non_empty
from crmcore.errors import ValidationError
from crmcore.segmentation._transactions import encode_transactions, to_timestamps

__all__ = ["PERIODS", "CohortRetention", "cohort_retention", "segment_summary"]

PERIODS = ("D", "W", "M", "Q", "Y")
"""Period codes accepted by :func:`cohort_retention` (pandas period aliases)."""


@attrs.frozen
class CohortRetention:
    """Result of :func:`cohort_retention`.

    Every table has one row per acquisition cohort (a ``PeriodIndex`` named
    ``cohort``) and one column per number of periods since acquisition
    (``periods_since`` = 0, 1, 2, ...). Cells that lie after ``as_of``'s
    period cannot be observed yet and hold ``<NA>`` / NaN; observed cells
    always hold a number.

    Attributes
    ----------
    counts : DataFrame
        Customers of the cohort active (at least one purchase) in the period
        (nullable ``Int64``).
    shares : DataFrame
        ``counts`` divided by the cohort size (column 0 is 1.0).
    cohort_sizes : Series
        Customers acquired in each cohort.
    revenue : DataFrame or None
        Sum of the cohort's amounts in the period (``None`` without
        ``value_col``).
    revenue_retention : DataFrame or None
        ``revenue`` divided by the cohort's revenue in its first period
        (NaN when that first-period revenue is zero).
    period : str
        The period code used.
    """

    counts: pd.DataFrame
    shares: pd.DataFrame
    cohort_sizes: pd.Series
    revenue: pd.DataFrame | None
    revenue_retention: pd.DataFrame | None
    period: str


def _period_ordinals(ns: np.ndarray[Any, Any], tz: Any, period: str) -> np.ndarray[Any, Any]:
    stamps = to_timestamps(ns, tz)
    if tz is not None:
        stamps = stamps.tz_localize(None)
    return np.asarray(stamps.to_period(period).asi8, dtype=np.int64)


def cohort_retention(
    transactions: pd.DataFrame,
    *,
    period: str = "M",
    as_of: Any,
    customer_col: str = "customer_id",
    date_col: str = "date",
    value_col: str | None = "amount",
) -> CohortRetention:
    """Acquisition cohort × periods-since-acquisition retention tables.

    A customer's cohort is the period of its first purchase on or before
    ``as_of``; it is *active* ``k`` periods later when it bought at least
    once in that period. Periods are calendar periods of the dates' own
    (wall-clock) time zone; ``as_of``'s period counts as observed, even if
    only partly elapsed.

    Parameters
    ----------
    transactions : DataFrame
        One row per purchase (see :func:`customer_features`).
    period : {"D", "W", "M", "Q", "Y"}, default "M"
        Calendar period (weeks end on Sunday).
    as_of : date, datetime, Timestamp or str (ISO 8601)
        Transactions after it are ignored; later periods are unobserved.
    customer_col, date_col, value_col : str
        Column names; ``value_col=None`` skips the revenue tables.

    Returns
    -------
    CohortRetention
        ``counts``, ``shares``, ``cohort_sizes``, ``revenue`` and
        ``revenue_retention``.

    Raises
    ------
    ValidationError
        As :func:`customer_features`, or for an unknown ``period``.

    Examples
    --------
    >>> import pandas as pd
    >>> tx = pd.DataFrame(
    ...     {
    ...         "customer_id": ["a", "b", "a", "c", "b"],
    ...         "date": pd.to_datetime(
    ...             ["2024-01-05", "2024-01-20", "2024-02-10", "2024-02-11", "2024-03-01"]
    ...         ),
    ...         "amount": [10.0, 20.0, 5.0, 7.0, 4.0],
    ...     }
    ... )
    >>> table = cohort_retention(tx, period="M", as_of="2024-03-31")
    >>> table.shares
    periods_since    0    1    2
    cohort
    2024-01        1.0  0.5  0.5
    2024-02        1.0  0.0  NaN
    """
    if period not in PERIODS:
        raise ValidationError(
            f"period must be one of {', '.join(PERIODS)}; got {period!r}",
            field="period",
            value=period,
        )
    enc = encode_transactions(
        transactions,
        as_of=as_of,
        customer_col=customer_col,
        date_col=date_col,
        value_col=value_col,
    )
    codes = enc.codes
    n_cust = len(enc.customers)
    p = _period_ordinals(enc.times, enc.tz, period)
    asof_p = int(_period_ordinals(np.array([enc.as_of]), enc.tz, period)[0])
    first_p = np.full(n_cust, np.iinfo(np.int64).max, dtype=np.int64)
    np.minimum.at(first_p, codes, p)
    cohorts, cust_cohort = np.unique(first_p, return_inverse=True)
    n_coh = cohorts.size
    width = asof_p - int(cohorts[0]) + 1
    offset = p - first_p[codes]
    active = np.unique(codes * width + offset)
    act_cust, act_off = np.divmod(active, width)
    counts = np.bincount(cust_cohort[act_cust] * width + act_off, minlength=n_coh * width)
    counts = counts.reshape(n_coh, width)
    sizes = counts[:, 0].copy()
    observed = np.arange(width)[None, :] <= (asof_p - cohorts)[:, None]
    from_ordinals: Any = pd.PeriodIndex.from_ordinals  # type: ignore[attr-defined]
    index = from_ordinals(cohorts, freq=period).rename("cohort")
    columns = pd.RangeIndex(width, name="periods_since")
    counts_df = pd.DataFrame(counts, index=index, columns=columns).astype("Int64")
    counts_df = counts_df.mask(~observed)
    shares = pd.DataFrame(
        np.where(observed, counts / sizes[:, None], np.nan), index=index, columns=columns
    )
    revenue_df = retention_df = None
    if enc.amounts is not None:
        rev = np.bincount(
            cust_cohort[codes] * width + offset, weights=enc.amounts, minlength=n_coh * width
        ).reshape(n_coh, width)
        rev = np.where(observed, rev, np.nan)
        base = rev[:, :1]
        with np.errstate(invalid="ignore", divide="ignore"):
            ret = np.where(base != 0, rev / np.where(base != 0, base, 1.0), np.nan)
        revenue_df = pd.DataFrame(rev, index=index, columns=columns)
        retention_df = pd.DataFrame(ret, index=index, columns=columns)
    return CohortRetention(
        counts=counts_df,
        shares=shares,
        cohort_sizes=pd.Series(sizes, index=index, name="cohort_size"),
        revenue=revenue_df,
        revenue_retention=retention_df,
        period=period,
    )


def segment_summary(
    frame: pd.DataFrame,
    segment_col: str,
    value_cols: str | Sequence[str] = (),
) -> pd.DataFrame:
    """Size, share and value per segment.

    Parameters
    ----------
    frame : DataFrame
        One row per customer.
    segment_col : str
        Column holding the segment label (for example the output of
        :func:`rfm_segments` or ``Segmenter.labels_``). Missing labels are
        refused. For a categorical column every category gets a row, even
        when empty, in category order; otherwise segments are sorted.
    value_cols : str or sequence of str, default ()
        Numeric columns to total per segment.

    Returns
    -------
    DataFrame
        Indexed by segment: ``size``, ``share`` (of customers), and for each
        value column ``v``: ``v_total``, ``v_mean`` (NaN for an empty
        segment) and ``v_share`` (of the grand total; NaN if that is zero).

    Raises
    ------
    ValidationError
        Missing columns, missing segment labels, an empty frame, or
        non-finite values.

    Examples
    --------
    >>> import pandas as pd
    >>> frame = pd.DataFrame({"seg": ["x", "y", "x", "x"], "spend": [10.0, 50.0, 20.0, 20.0]})
    >>> segment_summary(frame, "seg", "spend")
         size  share  spend_total  spend_mean  spend_share
    seg
    x       3   0.75         50.0   16.666667          0.5
    y       1   0.25         50.0   50.000000          0.5
    """
    cols = [value_cols] if isinstance(value_cols, str) else list(value_cols)
    check_columns(frame, [segment_col, *cols], name="frame")
    check_non_empty(frame, name="frame")
    labels = frame[segment_col]
    na = labels.isna().to_numpy(dtype=bool)
    if na.any():
        pos = int(np.flatnonzero(na)[0])
        raise ValidationError(
            f"{segment_col} must not be missing; got a missing label for row {frame.index[pos]!r}",
            field=segment_col,
            row=frame.index[pos],
        )
    if isinstance(labels.dtype, pd.CategoricalDtype):
        codes = labels.cat.codes.to_numpy().astype(np.int64)
        names = pd.Index(labels.cat.categories, name=segment_col)
    else:
        try:
            raw, uniq = pd.factorize(labels, sort=True)
        except TypeError:
            raw, uniq = pd.factorize(labels, sort=False)
        codes = np.asarray(raw, dtype=np.int64)
        names = pd.Index(uniq, name=segment_col)
    k = len(names)
    size = np.bincount(codes, minlength=k)
    out: dict[str, Any] = {"size": size, "share": size / size.sum()}
    for col in cols:
        v = as_float_array(frame[col], name=col, index=frame.index)
        total = np.bincount(codes, weights=v, minlength=k)
        grand = total.sum()
        with np.errstate(invalid="ignore", divide="ignore"):
            out[f"{col}_total"] = total
            out[f"{col}_mean"] = np.where(size > 0, total / np.maximum(size, 1), np.nan)
            out[f"{col}_share"] = total / grand if grand != 0 else np.full(k, np.nan)
    return pd.DataFrame(out, index=names)
