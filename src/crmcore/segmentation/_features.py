"""Per-customer behavioural features from a transaction log."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import attrs
import numpy as np
import pandas as pd

from crmcore._codes import sorted_codes
from crmcore._dask import is_dask
from crmcore._time import NAT, NS_PER_DAY, NS_PER_SECOND, Dates, timestamps, to_duration
from crmcore.errors import ValidationError
from crmcore.segmentation._dask import features_on_dask
from crmcore.segmentation._transactions import Encoded, check_log, encode_transactions

__all__ = ["FeatureLog", "customer_features"]


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
    cols = _per_customer(enc, wins)
    return _table(cols, enc.customers, enc.tz)


def _in_time_order(times: np.ndarray[Any, np.dtype[np.int64]]) -> bool:
    return bool(times.size < 2 or np.all(times[1:] >= times[:-1]))


def _per_customer(
    enc: Encoded, wins: list[tuple[str, int]], *, ordered: bool | None = None
) -> dict[str, Any]:
    """Return the feature columns of customers ``0..n-1`` from their rows up to ``enc.as_of``.

    ``enc`` may hold later rows (those are skipped). Every sum adds the same
    rows in the same order into the same bins, whichever path is taken, so
    the numbers do not depend on it: in a log in time order (``ordered``;
    checked when ``None``) the rows of the history and of each window bucket
    are ranges, read as views; otherwise the rows are masked and bucketed by
    a key.
    """
    codes, times, amounts = enc.codes, enc.times, enc.amounts
    n = len(enc.customers)
    if ordered is None:
        ordered = _in_time_order(times)
    if ordered:
        hi = int(np.searchsorted(times, enc.as_of, side="right"))
        codes, times = codes[:hi], times[:hi]
        amounts = None if amounts is None else amounts[:hi]
    else:
        keep = times <= enc.as_of
        if not keep.all():
            codes, times = codes[keep], times[keep]
            amounts = None if amounts is None else amounts[keep]
            del keep
    counts = np.bincount(codes, minlength=n)
    first = np.full(n, np.iinfo(np.int64).max, dtype=np.int64)
    last = np.full(n, np.iinfo(np.int64).min, dtype=np.int64)
    np.minimum.at(first, codes, times)
    np.maximum.at(last, codes, times)
    cols: dict[str, Any] = {"n_purchases": counts}
    if amounts is not None:
        total = np.bincount(codes, weights=amounts, minlength=n)
        cols["total_spend"] = total
        with np.errstate(invalid="ignore", divide="ignore"):  # customers of no row: dropped
            cols["avg_order_value"] = total / counts
    cols["first_purchase"] = first
    cols["last_purchase"] = last
    # In float: int64 differences wrap around beyond 292 years (1677..2262 is 585).
    end = float(enc.measured_to)
    first_f, last_f = first.astype(np.float64), last.astype(np.float64)
    cols["tenure_days"] = (end - first_f) / NS_PER_DAY
    cols["days_since_last_purchase"] = (end - last_f) / NS_PER_DAY
    with np.errstate(invalid="ignore", divide="ignore"):
        gaps = (last_f - first_f) / NS_PER_DAY / (counts - 1)
    cols["mean_interpurchase_days"] = np.where(counts > 1, gaps, np.nan)
    if not wins:
        return cols
    # Windows are nested: bucket each transaction by how many windows it falls
    # outside of (t <= as_of - w); the count and spend of a window are the
    # running sums over buckets, the newest first.
    lengths = sorted(ns for _, ns in wins)
    # a bound before the supported range: no transaction lies outside
    bounds = [max(enc.as_of - w, NAT) for w in lengths]
    if ordered:
        # bucket j holds the rows between the bounds of windows j and j - 1: a range
        edges = np.searchsorted(times, bounds, side="right").tolist()
        per_count: list[Any] = []
        per_spend: list[Any] = []
        for j in range(len(lengths)):
            rows = slice(edges[j], edges[j - 1] if j else codes.size)
            count = np.bincount(codes[rows], minlength=n)
            per_count.append(count if j == 0 else per_count[-1] + count)
            if amounts is not None:
                spend = np.bincount(codes[rows], weights=amounts[rows], minlength=n)
                spend = spend.astype(np.float64, copy=False)  # an empty bucket counts in int
                per_spend.append(spend if j == 0 else per_spend[-1] + spend)
    else:
        # count per (customer, bucket) in one bincount, then a cumulative sum over buckets
        width = len(lengths) + 1
        # the smallest integers that hold a bucket: on 10M rows, 10 MB beside the 80 MB key
        bucket = np.zeros(times.size, dtype=np.min_scalar_type(width))
        for bound in bounds:
            bucket += times <= bound
        key = codes * width
        key += bucket
        del bucket
        counted = np.bincount(key, minlength=n * width).reshape(n, width).cumsum(axis=1)
        per_count = [counted[:, j] for j in range(len(lengths))]
        if amounts is not None:
            summed = np.bincount(key, weights=amounts, minlength=n * width)
            summed = summed.reshape(n, width).cumsum(axis=1)
            per_spend = [summed[:, j] for j in range(len(lengths))]
    for label, ns in wins:
        j = lengths.index(ns)
        cols[f"purchases_{label}"] = per_count[j]
        if amounts is not None:
            cols[f"spend_{label}"] = per_spend[j]
    return cols


def _table(cols: dict[str, Any], customers: pd.Index, tz: Any) -> pd.DataFrame:
    """Return the features frame of the customers with a row in the history."""
    present = cols["n_purchases"] > 0
    if not present.all():
        cols = {name: values[present] for name, values in cols.items()}
        customers = customers[present]
    cols["first_purchase"] = timestamps(cols["first_purchase"], tz)
    cols["last_purchase"] = timestamps(cols["last_purchase"], tz)
    return pd.DataFrame(cols, index=customers)


@attrs.frozen
class FeatureLog:
    """A transaction log checked and encoded once, for features at several cut-offs.

    ``FeatureLog.of(transactions).features(as_of)`` equals
    ``customer_features(transactions, as_of=as_of)`` exactly (same index,
    columns, dtypes and bits): the ids are coded once over the whole log
    (sorted, so a cut-off's customers keep their order), each cut-off
    reads the rows at or before it (views of a log in time order) and adds
    them in the same order into the same bins. Ids that do not sort (coded
    by first appearance, which depends on the cut) are passed to
    :func:`customer_features` at each cut-off instead.

    The report's churn step takes features at three cut-offs of one log.
    """

    transactions: pd.DataFrame
    customer_col: str
    date_col: str
    value_col: str | None
    ordered: bool = attrs.field(kw_only=True)
    codes: np.ndarray[Any, np.dtype[np.int64]] | None = attrs.field(default=None, kw_only=True)
    customers: pd.Index | None = attrs.field(default=None, kw_only=True)
    dates: Dates | None = attrs.field(default=None, kw_only=True)
    amounts: np.ndarray[Any, np.dtype[np.float64]] | None = attrs.field(default=None, kw_only=True)

    @classmethod
    def of(
        cls,
        transactions: pd.DataFrame,
        *,
        customer_col: str = "customer_id",
        date_col: str = "date",
        value_col: str | None = "amount",
    ) -> FeatureLog:
        """Check and encode ``transactions`` (refused as :func:`customer_features` would)."""
        # only read here: the log's own arrays where they already are what is needed
        dates, ids, amounts = check_log(
            transactions,
            customer_col=customer_col,
            date_col=date_col,
            value_col=value_col,
            copy=False,
        )
        try:
            codes, uniques = sorted_codes(ids, copy=False)
        except TypeError:  # ids that do not sort: each cut-off codes its own
            return cls(transactions, customer_col, date_col, value_col, ordered=False)
        return cls(
            transactions,
            customer_col,
            date_col,
            value_col,
            codes=codes,
            customers=pd.Index(uniques, name=customer_col),
            dates=dates,
            amounts=amounts,
            ordered=_in_time_order(dates.ns),
        )

    def features(
        self, as_of: Any, windows: Sequence[Any] = ("30D", "90D", "180D", "365D")
    ) -> pd.DataFrame:
        """Return ``customer_features(transactions, as_of=as_of, windows=windows)``."""
        if self.codes is None or self.customers is None or self.dates is None:
            return customer_features(
                self.transactions,
                as_of=as_of,
                windows=windows,
                customer_col=self.customer_col,
                date_col=self.date_col,
                value_col=self.value_col,
            )
        wins = _windows(windows)
        cutoff = self.dates.cutoff(as_of)
        times = self.dates.ns
        if not (times <= cutoff.ns).any():
            raise ValidationError(
                f"no transaction is dated at or before as_of={cutoff}",
                field=self.date_col,
                value=as_of,
            )
        enc = Encoded(self.codes, self.customers, times, self.amounts, cutoff, self.dates.tz)
        cols = _per_customer(enc, wins, ordered=self.ordered)
        return _table(cols, self.customers, self.dates.tz)
