"""Validation of survey answers (the interval arithmetic lives in ``crmcore._stats``)."""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from typing import Any

import numpy as np
import pandas as pd

from crmcore._stats import check_confidence, wilson_interval, z_value
from crmcore._types import ArrayLike, IntArray
from crmcore._validation import as_float_array, first_bad
from crmcore.errors import ValidationError

__all__ = ["as_scores", "check_confidence", "wilson_interval", "z_value"]


def check_int_param(value: object, *, name: str, low: int, high: int | None = None) -> int:
    """Validate an integer parameter (booleans refused)."""
    if isinstance(value, bool) or not isinstance(value, int | np.integer):
        raise ValidationError(f"{name} must be an integer; got {value!r}", field=name, value=value)
    ivalue = int(value)
    if ivalue < low or (high is not None and ivalue > high):
        upper = "" if high is None else f" and <= {high}"
        raise ValidationError(
            f"{name} must be >= {low}{upper}; got {ivalue}", field=name, value=value
        )
    return ivalue


def as_scores(
    values: ArrayLike,
    *,
    name: str,
    low: int,
    high: int,
    index: Sequence[Hashable] | pd.Index | None = None,
    allow_empty: bool = False,
) -> IntArray:
    """Check that every answer is a whole number in ``[low, high]``; return int64.

    The check runs on the data as given (before any cast), so ``7.5``,
    ``nan``, ``"9"``, ``True`` or ``11`` are reported with their position
    instead of being silently truncated or coerced.
    """
    if index is None and isinstance(values, pd.Series):
        index = values.index
    arr: np.ndarray[Any, Any]
    shown: np.ndarray[Any, Any] | None = None  # values as given, for messages
    if isinstance(values, pd.Series):
        if isinstance(values.dtype, pd.api.extensions.ExtensionDtype) or values.dtype == object:
            shown = values.to_numpy(dtype=object)
            arr = as_float_array(values, name=name, index=index, ndim=1)
        else:
            arr = values.to_numpy()
    elif isinstance(values, np.ndarray):
        arr = values
    else:
        # Lists and other sequences: look at each element as given, so that a
        # stray "9" or True is named rather than coerced by NumPy.
        arr = np.asarray(values, dtype=object)
    if arr.ndim != 1:
        raise ValidationError(
            f"{name} must be 1-dimensional; got an array of shape {arr.shape}", field=name
        )
    if arr.dtype.kind == "O":
        shown = arr
        arr = as_float_array(arr, name=name, index=index, ndim=1)
    if shown is None:
        shown = arr
    kind = arr.dtype.kind
    if kind not in "iuf":
        raise ValidationError(
            f"{name} must hold whole numbers from {low} to {high}; "
            f"got an array of dtype {arr.dtype}",
            field=name,
        )
    if not allow_empty and arr.size == 0:
        raise ValidationError(f"{name} is empty; at least one response is required", field=name)
    if kind == "f":
        bad = ~np.isfinite(arr)
        if bad.any():
            first_bad(bad, name=name, problem="must be finite", values=arr, index=index)
        first_bad(
            arr != np.floor(arr),
            name=name,
            problem="must be a whole number",
            values=shown,
            index=index,
        )
    out_of_range = (arr < low) | (arr > high)
    if out_of_range.any():
        first_bad(
            out_of_range,
            name=name,
            problem=f"must lie in [{low}, {high}]",
            values=shown,
            index=index,
        )
    return arr.astype(np.int64, copy=False)
