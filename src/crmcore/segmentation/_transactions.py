"""Validation and integer encoding of a transaction log (shared by features and cohorts).

Dates and the cut-off are read by :mod:`crmcore._time` (the one clock); this
module only adds what segmentation needs on top: the rows at or before
``as_of``, customers as integer codes, amounts as floats.
"""

from __future__ import annotations

from typing import Any

import attrs
import numpy as np
import pandas as pd

from crmcore._codes import sorted_codes
from crmcore._time import Cutoff, Dates, read_dates
from crmcore._types import FloatArray, IntArray
from crmcore._validation import as_float_array, check_columns, first_bad
from crmcore.errors import ValidationError

__all__ = ["Encoded", "check_log", "encode_transactions"]

_UNSET: Any = object()  # check_log without a cut-off to resolve


@attrs.frozen
class Encoded:
    """Transactions at or before ``as_of``, as integer arrays.

    Read only: where the log's own columns already are these arrays (float64
    amounts, int64 ids that are their own codes, nanosecond dates), they are
    not copied.

    Attributes
    ----------
    codes : ndarray of int64
        Customer code of each transaction (an index into ``customers``).
    customers : Index
        Customer ids, named after the customer column.
    times : ndarray of int64
        Nanoseconds on the :class:`crmcore._time.Dates` scale: UTC instants
        for a timezone-aware column, wall-clock readings for a naive one.
    amounts : ndarray of float64 or None
        The value column, unless it was not asked for.
    cutoff : Cutoff
        ``as_of`` resolved on the same scale as ``times``.
    tz : tzinfo or None
        The date column's zone.
    """

    codes: IntArray
    customers: pd.Index
    times: IntArray
    amounts: FloatArray | None
    cutoff: Cutoff
    tz: Any

    @property
    def as_of(self) -> int:
        """The last instant of history (``times <= as_of``), in nanoseconds."""
        return self.cutoff.ns

    @property
    def measured_to(self) -> int:
        """The instant durations run to, in nanoseconds.

        ``as_of`` itself, or for a date-only ``as_of`` the end of that day
        (the midnight after it), so that a purchase at 00:00 on the ``as_of``
        date is exactly one day old and one at 18:00 a quarter of a day.
        """
        return self.cutoff.ns + 1 if self.cutoff.date_only else self.cutoff.ns


def check_log(
    transactions: pd.DataFrame,
    *,
    customer_col: str,
    date_col: str,
    value_col: str | None,
    date_format: str | None = None,
    as_of: Any = _UNSET,
    copy: bool = True,
) -> tuple[Dates, pd.Series, FloatArray | None]:
    """Check a whole transaction log: its dates read, its ids present, its amounts numbers.

    ``as_of``, when given (even ``None``, which is refused), is resolved
    right after the dates are read, so that a bad cut-off is named before a
    bad id or amount (as :func:`encode_transactions` always did); the
    caller resolves it again. With ``copy=False`` float64 amounts are the
    column's own array (the caller only reads them).

    Returns
    -------
    tuple
        The dates (every row), the id column and the amounts as float64
        (``None`` without ``value_col``).
    """
    required = [customer_col, date_col] + ([value_col] if value_col is not None else [])
    check_columns(transactions, required, name="transactions")
    dates = read_dates(
        transactions[date_col],
        name=date_col,
        date_format=date_format,
        index=transactions.index,
    )
    if as_of is not _UNSET:
        dates.cutoff(as_of)
    ids = transactions[customer_col]
    missing = ids.isna().to_numpy(dtype=bool)
    if missing.any():  # the ids as objects only for the message
        first_bad(
            missing,
            name=customer_col,
            problem="must not be missing",
            values=ids.to_numpy(),
            index=transactions.index,
        )
    amounts = None
    if value_col is not None:
        amounts = as_float_array(transactions[value_col], name=value_col, copy=copy)
    return dates, ids, amounts


def encode_transactions(
    transactions: pd.DataFrame,
    *,
    as_of: Any,
    customer_col: str,
    date_col: str,
    value_col: str | None,
    date_format: str | None = None,
) -> Encoded:
    """Validate a transaction log and encode it as integer arrays.

    Rows dated after ``as_of`` are dropped; customers are coded in sorted id
    order (first-appearance order when ids are not mutually comparable).

    Raises
    ------
    ValidationError
        Missing columns, dates that cannot be read, missing dates or ids,
        non-finite amounts, a missing or mismatched ``as_of``, or no
        transaction at or before ``as_of``.
    """
    dates, ids, amounts = check_log(
        transactions,
        customer_col=customer_col,
        date_col=date_col,
        value_col=value_col,
        date_format=date_format,
        as_of=as_of,
        copy=False,
    )
    cutoff = dates.cutoff(as_of)
    times = dates.ns
    keep = times <= cutoff.ns
    if not keep.all():
        times = times[keep]
        # the ids' values only: masking the Series would also build an index of the rows
        ids = pd.Series(ids.array[keep], name=ids.name, copy=False)
        if amounts is not None:
            amounts = amounts[keep]
    if times.size == 0:
        raise ValidationError(
            f"no transaction is dated at or before as_of={cutoff}",
            field=date_col,
            value=as_of,
        )
    try:
        codes, uniques = sorted_codes(ids, copy=False)
    except TypeError:
        codes, uniques = pd.factorize(ids, sort=False)
    return Encoded(
        codes=np.asarray(codes, dtype=np.int64),
        customers=pd.Index(uniques, name=customer_col),
        times=np.ascontiguousarray(times),
        amounts=amounts,
        cutoff=cutoff,
        tz=dates.tz,
    )
