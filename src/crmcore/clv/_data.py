"""Reading and checking customer-by-sufficient-statistic (RFM summary) input.

Every model and query accepts either a DataFrame with the summary columns
(``frequency``, ``recency``, ``T``, ``monetary_value``; the ``_cal`` suffix of
:func:`~crmcore.clv.calibration_holdout_split` is accepted too) or a 2-D array
whose columns are in that order. Values are checked before they are converted.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from crmcore._types import ArrayLike, FloatArray
from crmcore._validation import (
    as_float_array,
    check_integer_valued,
    check_non_empty,
    check_nonnegative,
    first_bad,
)
from crmcore.errors import ValidationError

__all__ = ["Summary", "per_customer_values", "read_summary"]

Index = pd.Index | None


class Summary:
    """Validated summary columns as float64 arrays plus the customer index."""

    __slots__ = ("columns", "index", "n")

    def __init__(self, columns: dict[str, FloatArray], index: Index) -> None:
        self.columns = columns
        self.index = index
        self.n = len(next(iter(columns.values())))

    def __getitem__(self, name: str) -> FloatArray:
        return self.columns[name]


def _column(frame: pd.DataFrame, name: str) -> pd.Series:
    for candidate in (name, f"{name}_cal"):
        if candidate in frame.columns:
            return frame[candidate]
    present = ", ".join(map(str, frame.columns)) or "none"
    raise ValidationError(
        f"data is missing column {name!r}; columns present: {present}", field=name
    )


def read_summary(
    data: pd.DataFrame | ArrayLike,
    names: Sequence[str],
    *,
    row_name: str = "customer",
) -> Summary:
    """Check summary input and return its columns.

    Parameters
    ----------
    data : DataFrame or array_like
        Summary frame (index = customer id) or a 2-D array with the columns
        in the order of ``names``.
    names : sequence of str
        Required columns, a subset of ``frequency``, ``recency``, ``T``,
        ``monetary_value``.
    row_name : str, default "customer"
        What a row is called in error messages.

    Returns
    -------
    Summary
        Validated float64 columns and the index (``None`` for arrays).

    Raises
    ------
    ValidationError
        For missing columns, empty input, non-finite, negative or non-integer
        frequencies, ``recency > T``, or a positive recency with frequency 0;
        the message names the column and the first offending customer.
    """
    index: Index
    raw: dict[str, ArrayLike]
    if isinstance(data, pd.DataFrame):
        check_non_empty(data, name="data")
        if data.attrs.get("include_first_transaction"):
            raise ValidationError(
                "this summary counts the first purchase (rfm_summary(..., "
                "include_first_transaction=True)); the models read repeat purchases: "
                "summarise with include_first_transaction=False (or, having converted it "
                "yourself, clear its attrs)",
                field="frequency",
            )
        index = data.index
        raw = {name: _column(data, name) for name in names}
    else:
        arr = np.asarray(data)
        if arr.ndim != 2 or arr.shape[1] != len(names):
            raise ValidationError(
                f"data must be a DataFrame or a 2-D array with {len(names)} columns "
                f"({', '.join(names)}); got shape {arr.shape}",
                field="data",
            )
        check_non_empty(arr, name="data")
        index = None
        raw = {name: arr[:, j] for j, name in enumerate(names)}
    cols: dict[str, FloatArray] = {}
    for name, values in raw.items():
        cols[name] = as_float_array(values, name=name, index=index, row_name=row_name)
    _check_semantics(cols, index, row_name)
    return Summary(cols, index)


def _check_semantics(cols: dict[str, FloatArray], index: Index, row_name: str) -> None:
    if "frequency" in cols:
        check_nonnegative(cols["frequency"], name="frequency", index=index, row_name=row_name)
        check_integer_valued(cols["frequency"], name="frequency", index=index, row_name=row_name)
    for name in ("recency", "T"):
        if name in cols:
            check_nonnegative(cols[name], name=name, index=index, row_name=row_name)
    if "recency" in cols and "T" in cols:
        rec, T = cols["recency"], cols["T"]
        first_bad(
            rec > T,
            name="recency",
            problem="must not exceed T",
            values=rec,
            index=index,
            row_name=row_name,
        )
    if "recency" in cols and "frequency" in cols:
        first_bad(
            (cols["frequency"] == 0) & (cols["recency"] > 0),
            name="recency",
            problem="must be 0 when frequency is 0",
            values=cols["recency"],
            index=index,
            row_name=row_name,
        )


def wrap(values: FloatArray, index: Index, name: str) -> pd.Series | FloatArray:
    """Return a Series on ``index`` (DataFrame input) or the bare array."""
    if index is None:
        return values
    return pd.Series(values, index=index, name=name)


def per_customer_values(values: ArrayLike, index: Index, n: int, *, name: str) -> FloatArray:
    """Read one finite number >= 0 per customer: a Series aligned by label, or in row order.

    A Series is aligned on ``index`` (the summary's customers; extra labels
    are ignored, a missing one is refused); an array or list must have one
    value per row, in row order. A Series needs a labelled summary.

    Raises
    ------
    ValidationError
        For a missing customer, duplicate labels, a wrong length, or a value
        that is not a finite number >= 0 (naming the customer).
    """
    if isinstance(values, pd.Series):
        if index is None:
            raise ValidationError(
                f"{name} is a Series: it is aligned by customer, so data must be a "
                "DataFrame indexed by customer (or give an array in row order)",
                field=name,
            )
        if not values.index.is_unique:
            dup = values.index[values.index.duplicated()][0]
            raise ValidationError(
                f"{name} has customer {dup!r} more than once", field=name, row=dup
            )
        missing = ~index.isin(values.index)
        if missing.any():
            label = index[np.flatnonzero(missing)[0]]
            raise ValidationError(
                f"{name} has no value for customer {label!r} "
                f"({int(missing.sum())} customer(s) of data missing)",
                field=name,
                row=label,
            )
        values = values.reindex(index)
    arr = as_float_array(values, name=name, index=index, row_name="customer")
    if arr.shape[0] != n:
        raise ValidationError(
            f"{name} must have one value per customer ({n}); got {arr.shape[0]}", field=name
        )
    check_nonnegative(arr, name=name, index=index, row_name="customer")
    return arr
