"""Acquisition-cohort retention tables and per-segment summaries."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import attrs
import numpy as np
import pandas as pd

from crmcore._dask import is_dask
from crmcore._deprecation import renamed_arguments, warn_renamed
from crmcore._time import parse_freq, period_codes, period_labels, wall_ns
from crmcore._validation import as_float_array, check_columns, check_non_empty
from crmcore.errors import ValidationError
from crmcore.segmentation._dask import retention_on_dask
from crmcore.segmentation._transactions import encode_transactions

__all__ = ["CohortRetention", "cohort_retention", "segment_summary"]


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
        (integers, nullable ``Int64``).
    shares : DataFrame
        ``counts`` divided by the cohort size (column 0 is 1.0).
    cohort_sizes : Series
        Customers acquired in each cohort (int64).
    revenue : DataFrame or None
        Sum of the cohort's amounts in the period (``None`` without
        ``value_col``).
    revenue_retention : DataFrame or None
        ``revenue`` divided by the cohort's revenue in its first period
        (NaN when that first-period revenue is zero).
    freq : str
        The period code used (``"M"``, ``"2W"``...).
    """

    counts: pd.DataFrame
    shares: pd.DataFrame
    cohort_sizes: pd.Series
    revenue: pd.DataFrame | None
    revenue_retention: pd.DataFrame | None
    freq: str

    @property
    def period(self) -> str:
        """Deprecated alias of :attr:`freq`."""
        warn_renamed("CohortRetention", "period", "freq", stacklevel=2)
        return self.freq


def _distinct(keys: np.ndarray[Any, Any], size: int) -> np.ndarray[Any, Any]:
    """Sorted distinct values of non-negative int keys below ``size``.

    A presence mask when it is small (one byte per possible key), else a sort;
    both are many times faster than :func:`numpy.unique` on such keys.
    """
    if size <= max(4 * keys.size, 1 << 20):
        seen = np.zeros(size, dtype=bool)
        seen[keys] = True
        return np.flatnonzero(seen)
    ordered = np.sort(keys)
    new = np.empty(ordered.size, dtype=bool)
    new[:1] = True
    np.not_equal(ordered[1:], ordered[:-1], out=new[1:])
    return ordered[new]


@renamed_arguments(period="freq")
def cohort_retention(
    transactions: pd.DataFrame,
    *,
    freq: str = "M",
    as_of: Any,
    customer_col: str = "customer_id",
    date_col: str = "date",
    value_col: str | None = "amount",
    date_format: str | None = None,
) -> CohortRetention:
    """Acquisition cohort × periods-since-acquisition retention tables.

    A customer's cohort is the period of its first purchase at or before
    ``as_of``; it is *active* ``k`` periods later when it bought at least
    once in that period. Periods are calendar periods on the wall clock of
    the dates' own time zone (:doc:`/time`): a purchase at 23:30 on
    31 January in Paris is a January purchase. ``as_of``'s period counts as
    observed, even if only partly elapsed; later periods are not.

    Parameters
    ----------
    transactions : DataFrame or dask.dataframe.DataFrame
        One row per purchase (see :func:`customer_features`). A Dask log
        (dates parsed to ``datetime64``) is shuffled on the customer column
        and counted per partition on the cluster; only the small cohort ×
        period table is collected, and the result is the same.
    freq : {"D", "W", "M", "Q", "Y"}, default "M"
        Calendar period, optionally with a multiple (``"2W"``: consecutive
        two-week blocks counted from 1970-01-01). Weeks run Monday to
        Sunday. pandas spellings (``"ME"``, ``"W-SUN"``) are read as the
        same units. Formerly ``period`` (deprecated).
    as_of : date, datetime, Timestamp, Period or str (ISO 8601)
        Transactions after it are ignored; later periods are unobserved. A
        date means the end of that day.
    customer_col, date_col, value_col : str
        Column names; ``value_col=None`` skips the revenue tables.
    date_format : str, optional
        ``strptime`` format of string (or integer) dates.

    Returns
    -------
    CohortRetention
        ``counts``, ``shares``, ``cohort_sizes``, ``revenue`` and
        ``revenue_retention``.

    Raises
    ------
    ValidationError
        As :func:`customer_features`, or for an unknown ``freq``.

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
    >>> table = cohort_retention(tx, freq="M", as_of="2024-03-31")
    >>> table.shares
    periods_since    0    1    2
    cohort
    2024-01        1.0  0.5  0.5
    2024-02        1.0  0.0  NaN
    """
    if is_dask(transactions):
        fields = retention_on_dask(
            transactions,
            freq=freq,
            as_of=as_of,
            customer_col=customer_col,
            date_col=date_col,
            value_col=value_col,
        )
        return CohortRetention(**fields)
    unit = parse_freq(freq, name="freq", allowed="DWMQY")
    enc = encode_transactions(
        transactions,
        as_of=as_of,
        customer_col=customer_col,
        date_col=date_col,
        value_col=value_col,
        date_format=date_format,
    )
    codes = enc.codes
    n_cust = len(enc.customers)
    p = period_codes(wall_ns(enc.times, enc.tz), unit)
    asof_p = int(period_codes(wall_ns(np.array([enc.as_of], dtype=np.int64), enc.tz), unit)[0])
    first_p = np.full(n_cust, np.iinfo(np.int64).max, dtype=np.int64)
    np.minimum.at(first_p, codes, p)
    cohorts, cust_cohort = np.unique(first_p, return_inverse=True)
    n_coh = cohorts.size
    width = asof_p - int(cohorts[0]) + 1
    offset = p - first_p[codes]
    active = _distinct(codes * width + offset, n_cust * width)
    act_cust, act_off = np.divmod(active, width)
    counts = np.bincount(cust_cohort[act_cust] * width + act_off, minlength=n_coh * width)
    counts = counts.reshape(n_coh, width)
    sizes = counts[:, 0].copy()
    observed = np.arange(width)[None, :] <= (asof_p - cohorts)[:, None]
    index = period_labels(cohorts, unit).rename("cohort")
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
        freq=str(unit),
    )


def _group_codes(frame: pd.DataFrame, name: Any) -> tuple[np.ndarray[Any, Any], pd.Index]:
    """Integer codes of one grouping column and its level names (categories kept)."""
    labels = frame[name]
    na = labels.isna().to_numpy(dtype=bool)
    if na.any():
        pos = int(np.flatnonzero(na)[0])
        raise ValidationError(
            f"{name} must not be missing; got a missing label for row {frame.index[pos]!r}",
            field=str(name),
            row=frame.index[pos],
        )
    if isinstance(labels.dtype, pd.CategoricalDtype):
        return labels.cat.codes.to_numpy().astype(np.int64), pd.Index(
            labels.cat.categories, name=name
        )
    try:
        raw, uniq = pd.factorize(labels, sort=True)
    except TypeError:
        raw, uniq = pd.factorize(labels, sort=False)
    return np.asarray(raw, dtype=np.int64), pd.Index(uniq, name=name)


@renamed_arguments(segment_col="by")
def segment_summary(
    frame: pd.DataFrame,
    by: str | Sequence[str],
    value_cols: str | Sequence[str] = (),
) -> pd.DataFrame:
    """Size, share and value per segment.

    Parameters
    ----------
    frame : DataFrame
        One row per customer.
    by : str or sequence of str
        Column(s) holding the segment label (for example the output of
        :func:`rfm_segments` or ``Segmenter.labels_``). Missing labels are
        refused. With one column, a categorical column gets a row for every
        category, even when empty, in category order; otherwise segments are
        sorted. With several columns the index is a ``MultiIndex`` of the
        combinations that occur, sorted the same way column by column.
        Formerly ``segment_col`` (deprecated).
    value_cols : str or sequence of str, default ()
        Numeric columns to total per segment.

    Returns
    -------
    DataFrame
        Indexed by segment: ``size`` (int), ``share`` (of customers), and for
        each value column ``v``: ``v_total``, ``v_mean`` (NaN for an empty
        segment) and ``v_share`` (of the grand total; NaN if that is zero).

    Raises
    ------
    ValidationError
        Missing columns, missing segment labels, an empty frame, no ``by``
        column, or non-finite values.

    Examples
    --------
    >>> import pandas as pd
    >>> frame = pd.DataFrame({"seg": ["x", "y", "x", "x"], "spend": [10.0, 50.0, 20.0, 20.0]})
    >>> segment_summary(frame, by="seg", value_cols="spend")
         size  share  spend_total  spend_mean  spend_share
    seg
    x       3   0.75         50.0   16.666667          0.5
    y       1   0.25         50.0   50.000000          0.5
    """
    keys = [by] if isinstance(by, str) else list(by)
    if not keys:
        raise ValidationError("by must name at least one column", field="by", value=by)
    cols = [value_cols] if isinstance(value_cols, str) else list(value_cols)
    check_columns(frame, [*keys, *cols], name="frame")
    check_non_empty(frame, name="frame")
    parts = [_group_codes(frame, key) for key in keys]
    if len(parts) == 1:
        codes, names = parts[0]
    else:
        shape = tuple(len(level) for _, level in parts)
        flat = np.ravel_multi_index(tuple(c for c, _ in parts), shape)
        seen, codes = np.unique(flat, return_inverse=True)
        level_codes = np.unravel_index(seen, shape)
        names = pd.MultiIndex.from_arrays(
            [level.take(lc) for (_, level), lc in zip(parts, level_codes, strict=True)],
            names=keys,
        )
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
