"""Input checks shared by every numeric entry point.

Each check inspects the data *before* converting it, so that a NaN never
becomes ``-9223372036854775808`` and ``1.5`` never becomes ``1`` unnoticed, and
raises :class:`~crmcore.errors.ValidationError` naming the field, the first
offending row (by label when an index is given) and the value.

These helpers are private: public functions call them and document the
errors they raise.

pandas is not imported here: a value can only be a pandas object once pandas
has been imported by whoever made it, so the checks look pandas up in
``sys.modules`` (light modules such as the loyalty ledger can use them without
loading pandas).
"""

from __future__ import annotations

import numbers
import sys
from collections.abc import Hashable, Iterable, Sequence
from decimal import Decimal
from typing import TYPE_CHECKING, Any, cast

import numpy as np

from crmcore._types import ArrayLike, BoolArray, FloatArray, IntArray, RandomState
from crmcore.errors import ValidationError

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "as_binary_array",
    "as_count_array",
    "as_float_array",
    "check_columns",
    "check_in_range",
    "check_integer_valued",
    "check_monotone",
    "check_non_empty",
    "check_nonnegative",
    "check_random_state",
    "check_same_length",
    "check_scalar",
    "check_weights",
    "first_bad",
]


def _series(values: object) -> pd.Series | None:
    """``values`` if it is a pandas Series (without importing pandas), else None."""
    pandas = sys.modules.get("pandas")
    if pandas is not None and isinstance(values, pandas.Series):
        return cast("pd.Series", values)
    return None


def _series_or_frame(values: object) -> pd.Series | pd.DataFrame | None:
    """``values`` if it is a pandas Series or DataFrame (without importing pandas)."""
    pandas = sys.modules.get("pandas")
    if pandas is not None and isinstance(values, pandas.Series | pandas.DataFrame):
        return cast("pd.Series | pd.DataFrame", values)
    return None


def _label(index: Sequence[Hashable] | pd.Index | None, pos: int, row_name: str) -> Hashable:
    if index is None:
        return pos
    label: Hashable = index[pos]
    return label


def _where(index: Sequence[Hashable] | pd.Index | None, pos: int, row_name: str) -> str:
    if index is None:
        return f"{row_name} at position {pos}"
    return f"{row_name} {index[pos]!r}"


def first_bad(
    bad: BoolArray,
    *,
    name: str,
    problem: str,
    values: np.ndarray[Any, Any],
    index: Sequence[Hashable] | pd.Index | None = None,
    row_name: str = "row",
) -> None:
    """Raise for the first ``True`` in ``bad``, if any.

    Parameters
    ----------
    bad : ndarray of bool
        Mask of offending elements.
    name : str
        Field name, used in the message and as ``ValidationError.field``.
    problem : str
        What the field must satisfy, e.g. ``"must be >= 0"``.
    values : ndarray
        The values the mask refers to (for the message).
    index : sequence, optional
        Row labels; positions are reported when omitted.
    row_name : str, default "row"
        What a row is called in messages (``"customer"``, ``"order"``).

    Raises
    ------
    ValidationError
        If any element of ``bad`` is true.
    """
    if not bad.any():
        return
    flat = np.flatnonzero(bad.ravel())
    pos = int(flat[0])
    value = values.ravel()[pos]
    if isinstance(value, np.generic):
        value = value.item()
    count = flat.size
    more = f" ({count - 1} more)" if count > 1 else ""
    row = pos if values.ndim == 1 else int(np.unravel_index(pos, values.shape)[0])
    raise ValidationError(
        f"{name} {problem}; got {value!r} for {_where(index, row, row_name)}{more}",
        field=name,
        row=_label(index, row, row_name),
        value=value,
    )


def as_float_array(
    values: ArrayLike,
    *,
    name: str,
    index: Sequence[Hashable] | pd.Index | None = None,
    row_name: str = "row",
    ndim: int | None = 1,
    allow_nan: bool = False,
    copy: bool = True,
) -> FloatArray:
    """Validate numeric input and return it as a float64 array.

    Parameters
    ----------
    values : array_like
        Numbers (lists, NumPy arrays, pandas Series). Strings, dates,
        booleans and ``None`` are refused rather than coerced.
    name : str
        Field name for error messages.
    index : sequence, optional
        Row labels for error messages (a Series' own index is used if omitted).
    row_name : str, default "row"
        What a row is called in messages.
    ndim : int or None, default 1
        Required number of dimensions (``None``: any).
    allow_nan : bool, default False
        Whether NaN is an acceptable value (infinities never are).
    copy : bool, default True
        ``False``: float64 input is returned as it is (its own array, or a
        view of it) for a caller that only reads it.

    Returns
    -------
    ndarray of float64
        A new array (never a view of the caller's data), unless ``copy=False``.

    Raises
    ------
    ValidationError
        On non-numeric, non-finite or wrongly shaped input.

    Examples
    --------
    >>> as_float_array([1, 2.5], name="x")
    array([1. , 2.5])
    >>> as_float_array([1, float("nan")], name="x")
    Traceback (most recent call last):
    ...
    crmcore.errors.ValidationError: x must be finite; got nan for row at position 1
    """
    if index is None and (series := _series(values)) is not None:
        index = series.index
    if (labelled := _series_or_frame(values)) is not None:
        dtypes = _dtypes(labelled)
        if any(dt.name == "category" for dt in dtypes):
            raise ValidationError(f"{name} must be numeric, not categorical", field=name)
        # extension dtypes (Int64, Float64...) hold pd.NA: inspect them as objects
        has_na_ext = any(not isinstance(dt, np.dtype) for dt in dtypes)
        values = labelled.to_numpy(dtype=object if has_na_ext else None)
    if isinstance(values, list | tuple):
        # NumPy would coerce [True, 2.0] or [1, "2"] silently: inspect elements first.
        try:
            arr = np.asarray(values, dtype=object)
        except ValueError as err:
            raise ValidationError(f"{name} is ragged: {err}", field=name) from None
    else:
        arr = np.asarray(values)
    if ndim is not None and arr.ndim != ndim:
        raise ValidationError(
            f"{name} must be {ndim}-dimensional; got an array of shape {arr.shape}", field=name
        )
    kind = arr.dtype.kind
    if kind == "O":
        is_num = np.frompyfunc(_is_real_number, 1, 1)(arr).astype(bool)
        first_bad(
            ~is_num,
            name=name,
            problem="must be a number",
            values=arr,
            index=index,
            row_name=row_name,
        )
        arr = arr.astype(np.float64)
    elif kind not in "iuf":
        raise ValidationError(
            f"{name} must be numeric; got an array of dtype {arr.dtype}", field=name
        )
    out = np.array(arr, dtype=np.float64, copy=True if copy else None)
    bad = ~np.isfinite(out)
    if allow_nan:
        bad &= ~np.isnan(out)
    first_bad(
        bad,
        name=name,
        problem="must be finite",
        values=out,
        index=index,
        row_name=row_name,
    )
    return out


def as_binary_array(
    values: ArrayLike,
    *,
    name: str,
    meaning: str = "1 = yes",
    index: Sequence[Hashable] | pd.Index | None = None,
    row_name: str = "row",
) -> FloatArray:
    """Validate 0/1 labels given as booleans or numbers; return them as float64.

    Booleans are the natural form of a yes/no outcome (churned, converted,
    event seen) and are accepted as they are: ``True`` is 1. Numbers must be
    exactly 0 or 1; anything else (2, 0.5, NaN, ``None``, strings) is refused
    rather than coerced.

    Parameters
    ----------
    values : array_like
        One-dimensional labels: a boolean array or Series, a list of bools,
        or 0/1 numbers.
    name : str
        Field name for error messages.
    meaning : str, default "1 = yes"
        What 1 stands for, quoted in messages (``"1 = churned"``).
    index : sequence, optional
        Row labels for error messages (a Series' own index is used if omitted).
    row_name : str, default "row"
        What a row is called in messages.

    Returns
    -------
    ndarray of float64
        A new array of 0.0 and 1.0.

    Raises
    ------
    ValidationError
        On values other than booleans, 0 and 1, or input that is not
        one-dimensional.

    Examples
    --------
    >>> as_binary_array([True, False], name="y")
    array([1., 0.])
    >>> as_binary_array([0, 2], name="y", meaning="1 = churned")
    Traceback (most recent call last):
    ...
    crmcore.errors.ValidationError: y must be 0 or 1 (1 = churned); got 2.0 for row at position 1
    """
    series = _series(values)
    if index is None and series is not None:
        index = series.index
    raw = series.to_numpy() if series is not None else values
    arr = np.asarray(raw, dtype=object) if isinstance(raw, list | tuple) else np.asarray(raw)
    if arr.dtype.kind == "O" and arr.size:
        # a list of bools, or a nullable boolean Series without missing values
        is_bool = np.frompyfunc(lambda v: isinstance(v, bool | np.bool_), 1, 1)(arr)
        if is_bool.astype(bool).all():
            arr = arr.astype(bool)
    if arr.dtype.kind == "b":
        if arr.ndim != 1:
            raise ValidationError(
                f"{name} must be 1-dimensional; got an array of shape {arr.shape}", field=name
            )
        return arr.astype(np.float64)
    out = as_float_array(arr, name=name, index=index, row_name=row_name)
    first_bad(
        (out != 0) & (out != 1),
        name=name,
        problem=f"must be 0 or 1 ({meaning})",
        values=out,
        index=index,
        row_name=row_name,
    )
    return out


def _dtypes(values: pd.Series | pd.DataFrame) -> list[Any]:
    if values.ndim == 2:
        return list(cast("pd.DataFrame", values).dtypes)
    return [values.dtype]


def _is_real_number(x: object) -> bool:
    # pd.NA is neither a numbers.Real nor a Decimal: refused below without naming it
    if isinstance(x, bool | np.bool_) or x is None:
        return False
    return isinstance(x, numbers.Real) or _is_decimal(x)


def _is_decimal(x: object) -> bool:
    return isinstance(x, Decimal) and x.is_finite()


def check_nonnegative(
    arr: FloatArray,
    *,
    name: str,
    index: Sequence[Hashable] | pd.Index | None = None,
    row_name: str = "row",
    strict: bool = False,
) -> None:
    """Refuse negative (``strict``: non-positive) values.

    Raises
    ------
    ValidationError
        Naming the first offending row.
    """
    bad = arr <= 0 if strict else arr < 0
    first_bad(
        bad,
        name=name,
        problem="must be > 0" if strict else "must be >= 0",
        values=arr,
        index=index,
        row_name=row_name,
    )


def check_integer_valued(
    arr: FloatArray,
    *,
    name: str,
    index: Sequence[Hashable] | pd.Index | None = None,
    row_name: str = "row",
) -> None:
    """Refuse values with a fractional part (the array must already be finite).

    Raises
    ------
    ValidationError
        Naming the first offending row.
    """
    first_bad(
        arr != np.floor(arr),
        name=name,
        problem="must be a whole number",
        values=arr,
        index=index,
        row_name=row_name,
    )


def as_count_array(
    values: ArrayLike,
    *,
    name: str,
    index: Sequence[Hashable] | pd.Index | None = None,
    row_name: str = "row",
) -> IntArray:
    """Validate whole, non-negative numbers and return them as int64.

    Examples
    --------
    >>> as_count_array([0, 3.0], name="frequency")
    array([0, 3])
    >>> as_count_array([1.5], name="frequency")
    Traceback (most recent call last):
    ...
    crmcore.errors.ValidationError: frequency must be a whole number; got 1.5 for row at position 0
    """
    arr = as_float_array(values, name=name, index=index, row_name=row_name)
    if index is None and (series := _series(values)) is not None:
        index = series.index
    check_nonnegative(arr, name=name, index=index, row_name=row_name)
    check_integer_valued(arr, name=name, index=index, row_name=row_name)
    if arr.size and arr.max() > np.iinfo(np.int64).max:
        raise ValidationError(f"{name} has values too large for int64", field=name)
    return arr.astype(np.int64)


def check_in_range(
    arr: FloatArray,
    *,
    name: str,
    low: float | None = None,
    high: float | None = None,
    index: Sequence[Hashable] | pd.Index | None = None,
    row_name: str = "row",
) -> None:
    """Refuse values outside ``[low, high]`` (bounds inclusive; ``None``: open).

    Raises
    ------
    ValidationError
        Naming the first offending row and the allowed range.
    """
    bad = np.zeros(arr.shape, dtype=bool)
    if low is not None:
        bad |= arr < low
    if high is not None:
        bad |= arr > high
    lo = "-inf" if low is None else f"{low:g}"
    hi = "inf" if high is None else f"{high:g}"
    first_bad(
        bad,
        name=name,
        problem=f"must lie in [{lo}, {hi}]",
        values=arr,
        index=index,
        row_name=row_name,
    )


def check_same_length(**arrays: Any) -> int:
    """Check that all arguments have the same length and return it.

    Examples
    --------
    >>> check_same_length(frequency=[1, 2], recency=[3, 4])
    2
    >>> check_same_length(frequency=[1, 2], recency=[3])
    Traceback (most recent call last):
    ...
    crmcore.errors.ValidationError: frequency and recency must have the same length; got 2 and 1
    """
    lengths = {name: len(a) for name, a in arrays.items()}
    names = list(lengths)
    for other in names[1:]:
        if lengths[other] != lengths[names[0]]:
            raise ValidationError(
                f"{names[0]} and {other} must have the same length; "
                f"got {lengths[names[0]]} and {lengths[other]}",
                field=other,
            )
    return lengths[names[0]] if names else 0


def check_columns(frame: pd.DataFrame, required: Iterable[str], *, name: str = "data") -> None:
    """Check that ``frame`` is a DataFrame holding every required column.

    Raises
    ------
    ValidationError
        Naming the first missing column and listing the columns present.
    """
    pandas = sys.modules.get("pandas")
    if pandas is None or not isinstance(frame, pandas.DataFrame):
        raise ValidationError(
            f"{name} must be a pandas DataFrame; got {type(frame).__name__}", field=name
        )
    missing = [c for c in required if c not in frame.columns]
    if missing:
        present = ", ".join(map(str, frame.columns)) or "none"
        raise ValidationError(
            f"{name} is missing column(s) {', '.join(map(repr, missing))}; "
            f"columns present: {present}",
            field=missing[0],
        )


def check_non_empty(data: Any, *, name: str) -> None:
    """Refuse empty input (zero rows).

    Raises
    ------
    ValidationError
        If ``len(data) == 0``.
    """
    if len(data) == 0:
        raise ValidationError(f"{name} is empty; at least one row is required", field=name)


def check_monotone(
    values: ArrayLike,
    *,
    name: str,
    strict: bool = False,
    index: Sequence[Hashable] | pd.Index | None = None,
    row_name: str = "row",
) -> None:
    """Refuse values that decrease (``strict``: that do not increase).

    Works for numbers and for ``datetime64`` data.

    Raises
    ------
    ValidationError
        Naming the first row that breaks the order.
    """
    if index is None and (series := _series(values)) is not None:
        index = series.index
    arr = np.asarray(values)
    if arr.size < 2:
        return
    step_bad = arr[1:] <= arr[:-1] if strict else arr[1:] < arr[:-1]
    bad = np.concatenate([[False], step_bad])
    first_bad(
        bad,
        name=name,
        problem="must be increasing" if strict else "must be non-decreasing (sorted)",
        values=arr,
        index=index,
        row_name=row_name,
    )


def check_scalar(
    value: Any,
    *,
    name: str,
    low: float | None = None,
    high: float | None = None,
    low_inclusive: bool = True,
    high_inclusive: bool = True,
    integer: bool = False,
) -> float:
    """Validate a scalar hyper-parameter and return it as a float.

    Examples
    --------
    >>> check_scalar(
    ...     0.95, name="confidence", low=0, high=1, low_inclusive=False, high_inclusive=False
    ... )
    0.95
    >>> check_scalar(1.0, name="confidence", low=0, high=1, high_inclusive=False)
    Traceback (most recent call last):
    ...
    crmcore.errors.ValidationError: confidence must lie in [0, 1); got 1.0
    """
    if not _is_real_number(value):
        raise ValidationError(f"{name} must be a number; got {value!r}", field=name, value=value)
    x = float(value)
    lo = "(-inf" if low is None else ("[" if low_inclusive else "(") + f"{low:g}"
    hi = "inf)" if high is None else f"{high:g}" + ("]" if high_inclusive else ")")
    bad = not np.isfinite(x)
    if low is not None:
        bad |= x < low if low_inclusive else x <= low
    if high is not None:
        bad |= x > high if high_inclusive else x >= high
    if bad:
        raise ValidationError(
            f"{name} must lie in {lo}, {hi}; got {value!r}", field=name, value=value
        )
    if integer and x != int(x):
        raise ValidationError(
            f"{name} must be a whole number; got {value!r}", field=name, value=value
        )
    return x


def check_weights(
    weights: ArrayLike | None,
    n: int,
    *,
    integer: bool = True,
    name: str = "weights",
) -> FloatArray:
    """Validate per-row weights (counts of identical rows by default).

    Parameters
    ----------
    weights : array_like or None
        ``None`` means every row counts once.
    n : int
        Number of rows the weights must match.
    integer : bool, default True
        Require whole numbers (weights that count customers).

    Returns
    -------
    ndarray of float64
        Weights, all finite and ``>= 0``, not all zero.
    """
    if weights is None:
        return np.ones(n, dtype=np.float64)
    w = as_float_array(weights, name=name)
    if w.shape[0] != n:
        raise ValidationError(
            f"{name} must have one entry per row ({n}); got {w.shape[0]}", field=name
        )
    check_nonnegative(w, name=name)
    if integer:
        check_integer_valued(w, name=name)
    if n and not w.any():
        raise ValidationError(f"{name} are all zero; at least one row must count", field=name)
    return w


def check_random_state(random_state: RandomState) -> np.random.Generator:
    """Turn a seed, generator or ``None`` into a :class:`numpy.random.Generator`.

    A generator is returned unchanged, so callers that pass one share its
    stream; an integer seed gives a reproducible new generator.
    """
    if isinstance(random_state, np.random.Generator):
        return random_state
    if random_state is None or isinstance(random_state, np.random.SeedSequence):
        return np.random.default_rng(random_state)
    candidate: object = random_state
    if isinstance(candidate, int | np.integer) and not isinstance(candidate, bool):
        return np.random.default_rng(int(candidate))
    raise ValidationError(
        f"random_state must be None, an int, a SeedSequence or a numpy Generator; "
        f"got {type(random_state).__name__}",
        field="random_state",
        value=random_state,
    )
