"""Churn labels from transaction logs and subscription tables.

Labels follow the library's one time rule (docs page "Time, cut-offs and
units"): the features side of a model sees history, everything at or before
``as_of``; the label looks only at the window ``(as_of, as_of + horizon]``; a
date-only ``as_of`` means the end of that day. Every date goes through
:mod:`crmcore._time`.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from crmcore._codes import sorted_codes
from crmcore._dask import is_dask
from crmcore._time import NAT, Cutoff, Dates, add_duration, read_dates, timestamps, to_duration
from crmcore._validation import check_columns
from crmcore.errors import DataWarning, ValidationError

__all__ = [
    "LabelWindow",
    "check_coverage",
    "churn_labels",
    "label_window",
    "labels_at",
    "subscription_churn_labels",
]

_NEVER: int = np.iinfo(np.int64).max


@dataclass(frozen=True, slots=True)
class LabelWindow:
    """A resolved cut-off with its label window and look-back, in nanoseconds.

    Attributes
    ----------
    cutoff : Cutoff
        ``as_of`` on the scale of the data.
    end : int
        ``as_of + horizon``: the label window is ``(cutoff.ns, end]``.
    start : int
        ``as_of - lookback`` (the activity window is ``(start, cutoff.ns]``),
        or :data:`~crmcore._time.NAT` for all history.
    """

    cutoff: Cutoff
    end: int
    start: int

    def describe(self, tz: Any) -> str:
        """``(as_of, as_of + horizon]`` with readable timestamps."""
        return f"({self.cutoff}, {_stamp(self.end, tz)}]"


def label_window(dates: Dates, *, as_of: Any, horizon: Any, lookback: Any = None) -> LabelWindow:
    """Resolve ``as_of``, ``horizon`` and ``lookback`` against a date column.

    Raises
    ------
    ValidationError
        A bad cut-off (or one whose zone does not match the data), a horizon
        or look-back that is not a positive fixed duration, or a window that
        leaves the supported date range.
    """
    cut = dates.cutoff(as_of)
    window = to_duration(horizon, name="horizon")
    end = int(add_duration(cut.ns, dates.tz, window))
    if lookback is None:
        return LabelWindow(cut, end, NAT)
    back = to_duration(lookback, name="lookback")
    return LabelWindow(cut, end, int(add_duration(cut.ns, dates.tz, back, sign=-1)))


def _stamp(ns: int, tz: Any) -> str:
    return str(timestamps(np.array([ns], dtype=np.int64), tz)[0].isoformat())


def churn_labels(
    transactions: pd.DataFrame,
    *,
    as_of: Any,
    horizon: Any,
    lookback: Any = None,
    observed_until: Any = None,
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

    A purchase at exactly ``as_of`` is history (it makes the customer
    active); a date-only ``as_of`` such as ``"2024-03-31"`` means the end of
    that day, so a purchase at 18:00 on 31 March is history too. With an
    instant (``pd.Timestamp("2024-03-31 12:00")``) the same purchase is in the
    label window. Purchases after ``as_of + horizon`` are never read.

    **Coverage.** A label of 1 claims that the customer made no purchase in
    the whole window, so the log must cover it:

    * with ``observed_until`` (the end of the period the log records, e.g.
      the date of the extract), ``as_of + horizon`` must not be later, or the
      call is refused;
    * without it, the log is known to cover only up to its last purchase: a
      window ending later gives a :class:`~crmcore.errors.DataWarning` (pass
      ``observed_until`` when you know the log covers it), and a log with no
      purchase after ``as_of`` at all is refused.

    Parameters
    ----------
    transactions : pandas.DataFrame or dask.dataframe.DataFrame
        One row per purchase, with a customer column and a date column
        (``datetime64`` of any unit, naive or timezone-aware, ISO strings or
        date objects). A Dask log (dates parsed to ``datetime64``) gives a
        lazy Dask Series, labelled per partition after a shuffle on the
        customer column (sorted within each partition); without
        ``observed_until`` the log's last date is computed first.
    as_of : date-like
        The cut-off: a date or date-only string (the end of that day), a
        ``pandas.Period`` (its end), a datetime or ``Timestamp`` (that
        instant). With aware dates an instant must be aware; with naive dates
        it must be naive. Timezone-aware data are compared as instants.
    horizon : str or timedelta
        Length of the label window, a fixed duration such as ``"90D"``.
    lookback : str or timedelta, optional
        Length of the activity window before ``as_of``. ``None`` (default):
        all history, i.e. every customer with a purchase on or before
        ``as_of`` is active.
    observed_until : date-like, optional
        The end of the period the log records completely (a date means the
        end of that day). Default: the last purchase in the log.
    customer_col, date_col : str
        Column names.

    Returns
    -------
    pandas.Series
        ``int8`` labels named ``"churn"``, indexed by customer (sorted).

    Raises
    ------
    ValidationError
        On missing columns, customers or dates, a non-positive ``horizon``
        or ``lookback``, naive and aware values mixed, a label window that
        ends after ``observed_until``, or (without ``observed_until``) a log
        with no purchase after ``as_of``.

    Warns
    -----
    DataWarning
        Without ``observed_until``, when the log's last purchase is before
        ``as_of + horizon``: customers who bought after the log's end would
        be labelled as churned wrongly.

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
    if is_dask(transactions):
        from crmcore.churn._dask import labels_on_dask  # noqa: PLC0415 (imports this module)

        return labels_on_dask(  # type: ignore[no-any-return]
            transactions,
            as_of=as_of,
            horizon=horizon,
            lookback=lookback,
            observed_until=observed_until,
            customer_col=customer_col,
            date_col=date_col,
        )
    check_columns(transactions, [customer_col, date_col], name="transactions")
    dates = read_dates(transactions[date_col], name=date_col)
    win = label_window(dates, as_of=as_of, horizon=horizon, lookback=lookback)
    check_coverage(dates, win, observed_until)
    return labels_at(transactions[customer_col], dates.ns, win, customer_col=customer_col)


def check_coverage(dates: Dates, win: LabelWindow, observed_until: Any) -> None:
    """Refuse (or warn about) a label window the log does not cover."""
    window = win.describe(dates.tz)
    if observed_until is not None:
        until = dates.cutoff(observed_until, name="observed_until")
        if win.end > until.ns:
            raise ValidationError(
                f"the label window {window} ends after observed_until ({until}): purchases "
                "after the end of observation cannot be seen; choose an earlier as_of or a "
                "shorter horizon",
                field="observed_until",
                value=observed_until,
            )
        return
    last = int(dates.ns.max()) if dates.ns.size else NAT
    if last <= win.cutoff.ns:
        raise ValidationError(
            f"transactions has no purchase after as_of; the label window {window} is "
            "unobserved (if the log does cover it, say so with observed_until=)",
            field="as_of",
            value=str(win.cutoff),
        )
    if last < win.end:
        warnings.warn(
            f"the transaction log ends at {_stamp(last, dates.tz)}, before the end of the "
            f"label window {window}; purchases after the log's end cannot be seen, so some "
            "customers may be labelled as churned wrongly (pass observed_until= if the log "
            "covers the window)",
            DataWarning,
            stacklevel=3,
        )


def labels_at(
    customers: pd.Series,
    times: np.ndarray[Any, np.dtype[np.int64]],
    win: LabelWindow,
    *,
    customer_col: str,
) -> pd.Series:
    """Label the customers active at ``win.cutoff`` (dates already read onto one scale)."""
    if customers.isna().any():
        pos = int(np.flatnonzero(customers.isna().to_numpy())[0])
        raise ValidationError(
            f"{customer_col} must not be missing; got a missing value for row "
            f"{customers.index[pos]!r}",
            field=customer_col,
            row=customers.index[pos],
        )
    t0 = win.cutoff.ns
    codes, uniques = sorted_codes(customers, copy=False)  # only read
    active = np.zeros(uniques.size, dtype=bool)
    active[codes[(times > win.start) & (times <= t0)]] = True
    bought = np.zeros(uniques.size, dtype=bool)
    bought[codes[(times > t0) & (times <= win.end)]] = True
    labels = (~bought[active]).astype(np.int8)
    return pd.Series(labels, index=pd.Index(uniques[active], name=customer_col), name="churn")


def subscription_churn_labels(
    subscriptions: pd.DataFrame,
    *,
    as_of: Any,
    horizon: Any,
    observed_until: Any = None,
    customer_col: str = "customer_id",
    start_col: str = "start",
    end_col: str = "end",
) -> pd.Series:
    """Label each subscriber 1 if it has no active subscription ``horizon`` later.

    Contractual churn is observed: a subscription has a start and (once
    cancelled) an end; a missing end means still running. A subscription
    covers the instants ``start <= t < end``. A customer is *active* at
    ``as_of`` when one of its subscriptions covers ``as_of``. It is labelled
    1 when none of its subscriptions covers ``as_of + horizon`` (it cancelled
    in ``(as_of, as_of + horizon]`` and did not come back), 0 otherwise.
    Customers not active at ``as_of`` are excluded. A date-only ``as_of``
    means the end of that day; nothing after ``as_of + horizon`` is read.

    Parameters
    ----------
    subscriptions : pandas.DataFrame
        One row per subscription with customer, start and end columns.
    as_of : date-like
        The cut-off, read as in :func:`churn_labels`.
    horizon : str or timedelta
        Label window length, a fixed duration such as ``"30D"``.
    observed_until : date-like, optional
        The end of the period the table records (the date of the extract).
        When given, ``as_of + horizon`` must not be later: a subscription
        cancelled after it would still look open.
    customer_col, start_col, end_col : str
        Column names.

    Returns
    -------
    pandas.Series
        ``int8`` labels named ``"churn"``, indexed by customer (sorted).

    Raises
    ------
    ValidationError
        On missing columns, a missing customer or start, an end before its
        start, naive and aware dates mixed, or a window that ends after
        ``observed_until``.

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
    spans = subscription_spans(subscriptions, start_col, end_col)
    win = label_window(spans.start, as_of=as_of, horizon=horizon)
    if observed_until is not None:
        check_coverage(spans.start, win, observed_until)
    customers = subscriptions[customer_col]
    codes, uniques = pd.factorize(customers, sort=True)
    if (codes < 0).any():
        pos = int(np.flatnonzero(codes < 0)[0])
        raise ValidationError(
            f"{customer_col} must not be missing; got a missing value for row "
            f"{subscriptions.index[pos]!r}",
            field=customer_col,
            row=subscriptions.index[pos],
        )
    t0, t1 = win.cutoff.ns, win.end
    start, end = spans.start.ns, spans.open_end()
    active = np.zeros(uniques.size, dtype=bool)
    active[codes[(start <= t0) & (end > t0)]] = True
    later = np.zeros(uniques.size, dtype=bool)
    later[codes[(start <= t1) & (end > t1)]] = True
    labels = (~later[active]).astype(np.int8)
    return pd.Series(labels, index=pd.Index(uniques[active], name=customer_col), name="churn")


@dataclass(frozen=True, slots=True)
class SubscriptionSpans:
    """Start and end of each subscription on one scale (end :data:`NAT` while open)."""

    start: Dates
    end: Dates

    def open_end(self) -> np.ndarray[Any, np.dtype[np.int64]]:
        """Return the ends, with running subscriptions ending never."""
        return np.where(self.end.ns == NAT, _NEVER, self.end.ns)


def subscription_spans(
    subscriptions: pd.DataFrame, start_col: str, end_col: str
) -> SubscriptionSpans:
    """Read and check the start and end columns of a subscription table.

    Raises
    ------
    ValidationError
        A missing start, an end before its start, or one column naive and the
        other timezone-aware.
    """
    start = read_dates(subscriptions[start_col], name=start_col)
    end = read_dates(subscriptions[end_col], name=end_col, allow_missing=True)
    if (end.ns != NAT).any() and start.aware != end.aware:
        naive, aware = (start_col, end_col) if end.aware else (end_col, start_col)
        raise ValidationError(
            f"{naive} holds naive dates but {aware} is timezone-aware; crmcore never gives "
            f"naive dates a zone silently: localise it first, e.g. "
            f"frame[{naive!r}].dt.tz_localize('UTC')",
            field=naive,
        )
    bad = (end.ns != NAT) & (end.ns < start.ns)
    if bad.any():
        pos = int(np.flatnonzero(bad)[0])
        row = subscriptions.index[pos]
        raise ValidationError(
            f"{end_col} must not be before {start_col}; got {subscriptions[end_col].iloc[pos]!r}"
            f" before {subscriptions[start_col].iloc[pos]!r} for row {row!r}",
            field=end_col,
            row=row,
        )
    return SubscriptionSpans(start, Dates(end.ns, start.tz))
