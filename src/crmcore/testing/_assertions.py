"""Assertions for analytics code built on crmcore: no leak, frame schemas, models."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

import numpy as np
import pandas as pd
from pandas.api import types as t

from crmcore._time import resolve_as_of
from crmcore.errors import ValidationError

__all__ = ["assert_frame_schema", "assert_no_leak", "assert_recovers_parameters"]

#: The perturbations :func:`assert_no_leak` applies to the rows after ``as_of``.
LEAK_CHECKS = (
    "drop every row after as_of",
    "move every row after as_of later by 30 days",
    "change the values of every row after as_of",
    "duplicate every row after as_of",
    "add a row one nanosecond after as_of for every entity",
)


def assert_no_leak(
    fn: Callable[[pd.DataFrame], Any],
    log: pd.DataFrame,
    as_of: Any,
    *,
    date_col: str = "date",
    by: str | None = "customer_id",
    check_dtype: bool = True,
    rtol: float = 0.0,
) -> None:
    """Assert that ``fn(log)`` reads nothing dated after ``as_of``.

    ``fn`` is called on ``log`` and on five versions of it that differ only
    after ``as_of`` (see :data:`LEAK_CHECKS`): rows after ``as_of`` dropped,
    moved later, re-valued, duplicated, and a new row one nanosecond after
    ``as_of`` for each entity (the edge where ``<`` and ``<=`` differ). A
    feature computed from history at ``as_of`` gives the same answer every
    time; the first answer that differs fails the assertion, naming the
    change that exposed the leak. This is the check crmcore's own test suite
    makes of every function taking ``as_of`` (see :doc:`/time`).

    Parameters
    ----------
    fn : callable
        ``fn(log) -> result``; the result may be a DataFrame, Series, array,
        mapping, number or anything comparable with ``==``. Bind ``as_of``
        and other arguments yourself (``lambda log: features(log, as_of)``).
    log : DataFrame
        An event log with a datetime column ``date_col``.
    as_of : date, datetime, str or Timestamp
        The cut-off, read by crmcore's time rule (a date means the end of
        that day, in the log's zone for aware logs).
    date_col : str, default "date"
        The column of event times.
    by : str or None, default "customer_id"
        The entity column, for the added rows (``None`` adds one row copied
        from the last row).
    check_dtype : bool, default True
        Compare frame and series dtypes too.
    rtol : float, default 0
        Relative tolerance for floating-point results (0 means exactly equal).

    Raises
    ------
    AssertionError
        When a change after ``as_of`` changes the result.
    ValidationError
        When ``log`` has no rows at all, or no ``date_col``.

    Examples
    --------
    >>> import pandas as pd
    >>> from crmcore.testing import assert_no_leak
    >>> log = pd.DataFrame(
    ...     {
    ...         "customer_id": ["a", "a", "b"],
    ...         "date": pd.to_datetime(["2026-01-02", "2026-02-01", "2026-01-20"]),
    ...         "amount": [10.0, 20.0, 5.0],
    ...     }
    ... )
    >>> def spend(log):  # a correct feature: history at or before 15 January
    ...     return (
    ...         log[log["date"] <= pd.Timestamp("2026-01-15 23:59:59.999999999")]
    ...         .groupby("customer_id")["amount"]
    ...         .sum()
    ...     )
    >>> assert_no_leak(spend, log, "2026-01-15")
    """
    if date_col not in log.columns:
        raise ValidationError(
            f"log has no column {date_col!r} (columns: {list(log.columns)}); pass date_col=",
            field="date_col",
            value=date_col,
        )
    if len(log) == 0:
        raise ValidationError("log is empty: nothing to check", field="log")
    dates = pd.to_datetime(log[date_col])
    cutoff = resolve_as_of(as_of, tz=dates.dt.tz).timestamp
    expected = fn(log.copy())
    after = dates > cutoff
    for name, changed in _variants(log, dates, after, cutoff, date_col=date_col, by=by):
        got = fn(changed)
        problem = _difference(expected, got, check_dtype=check_dtype, rtol=rtol)
        if problem is not None:
            raise AssertionError(
                f"the result changed when the log changed only after as_of={cutoff} "
                f"({name}): the function reads the future.\n{problem}"
            )


def _variants(
    log: pd.DataFrame,
    dates: pd.Series,
    after: pd.Series,
    cutoff: Any,
    *,
    date_col: str,
    by: str | None,
) -> Iterable[tuple[str, pd.DataFrame]]:
    yield LEAK_CHECKS[0], log[~after.to_numpy()].copy()
    moved = log.copy()
    moved.loc[after.to_numpy(), date_col] = dates[after] + pd.Timedelta(days=30)
    yield LEAK_CHECKS[1], moved
    revalued = log.copy()
    for column in revalued.columns:
        if column in (date_col, by):
            continue
        values = revalued[column]
        if pd.api.types.is_bool_dtype(values):
            revalued.loc[after.to_numpy(), column] = ~values[after]
        elif pd.api.types.is_numeric_dtype(values):
            revalued.loc[after.to_numpy(), column] = values[after] * 3 + 7
    yield LEAK_CHECKS[2], revalued
    yield LEAK_CHECKS[3], pd.concat([log, log[after.to_numpy()]], ignore_index=True)
    edge = cutoff + pd.Timedelta(1, "ns")
    if by is not None and by in log.columns:
        extra = log.drop_duplicates(by, keep="last").copy()
    else:
        extra = log.tail(1).copy()
    extra[date_col] = pd.Series(edge, index=extra.index).astype(log[date_col].dtype)
    yield LEAK_CHECKS[4], pd.concat([log, extra], ignore_index=True)


def _difference(expected: Any, got: Any, *, check_dtype: bool, rtol: float) -> str | None:
    """Describe how ``got`` differs from ``expected``, or ``None`` if they agree."""
    try:
        if isinstance(expected, pd.DataFrame):
            pd.testing.assert_frame_equal(
                got, expected, check_dtype=check_dtype, rtol=rtol or 1e-300, check_exact=rtol == 0
            )
        elif isinstance(expected, pd.Series):
            pd.testing.assert_series_equal(
                got, expected, check_dtype=check_dtype, rtol=rtol or 1e-300, check_exact=rtol == 0
            )
        elif isinstance(expected, pd.Index):
            pd.testing.assert_index_equal(got, expected)
        elif isinstance(expected, np.ndarray):
            if rtol:
                np.testing.assert_allclose(got, expected, rtol=rtol)
            else:
                np.testing.assert_array_equal(got, expected)
        elif isinstance(expected, float) and rtol:
            np.testing.assert_allclose(got, expected, rtol=rtol)
        elif not _equal(expected, got):
            return f"expected {expected!r}, got {got!r}"
    except AssertionError as exc:
        return str(exc)
    return None


def _equal(a: Any, b: Any) -> bool:
    result = a == b
    if isinstance(result, np.ndarray | np.bool_):
        return bool(np.all(result))
    return bool(result)


# -- frame schemas

_KINDS: dict[str, Callable[[Any], bool]] = {}


def _kinds() -> dict[str, Callable[[Any], bool]]:
    if not _KINDS:
        _KINDS.update(
            {
                "integer": lambda s: t.is_integer_dtype(s) and not t.is_bool_dtype(s),
                "float": t.is_float_dtype,
                "number": lambda s: t.is_numeric_dtype(s) and not t.is_bool_dtype(s),
                "bool": t.is_bool_dtype,
                "string": lambda s: t.is_string_dtype(s) or t.is_object_dtype(s),
                "category": lambda s: isinstance(s.dtype, pd.CategoricalDtype),
                "datetime": t.is_datetime64_any_dtype,
                "datetime_naive": t.is_datetime64_dtype,
                "datetime_aware": lambda s: (
                    t.is_datetime64_any_dtype(s) and getattr(s.dtype, "tz", None) is not None
                ),
                "timedelta": t.is_timedelta64_dtype,
                "any": lambda s: True,
            }
        )
    return _KINDS


def assert_frame_schema(
    frame: pd.DataFrame,
    schema: Mapping[str, str],
    *,
    index: str | None = None,
    exact: bool = True,
    nullable: bool | Iterable[str] = True,
) -> None:
    """Assert that ``frame`` has the columns and kinds of ``schema``.

    Every problem is listed at once: missing columns, unexpected columns
    (with ``exact=True``), columns of the wrong kind, nulls where none are
    allowed, and the index name.

    Parameters
    ----------
    frame : DataFrame
    schema : mapping of str to str
        Column name to the kind of its values: ``"integer"``, ``"float"``,
        ``"number"`` (integer or float), ``"bool"``, ``"string"``,
        ``"category"``, ``"datetime"``, ``"datetime_naive"``,
        ``"datetime_aware"``, ``"timedelta"``, ``"any"``; or an exact dtype
        name (``"int64"``, ``"datetime64[ns, UTC]"``...).
    index : str, optional
        The expected name of the index.
    exact : bool, default True
        Refuse columns not in ``schema``.
    nullable : bool or iterable of str, default True
        ``False``: no column may hold nulls; an iterable: only those columns may.

    Raises
    ------
    AssertionError
        Listing every difference.
    ValidationError
        For a kind that is not one of the above.

    Examples
    --------
    >>> import pandas as pd
    >>> from crmcore.testing import assert_frame_schema
    >>> frame = pd.DataFrame({"frequency": [1, 0], "monetary": [9.5, 0.0]})
    >>> assert_frame_schema(frame, {"frequency": "integer", "monetary": "float"})
    """
    kinds = _kinds()
    problems: list[str] = []
    for column, kind in schema.items():
        if kind not in kinds and not _is_dtype_name(kind):
            raise ValidationError(
                f"schema[{column!r}] = {kind!r} is not a kind ({', '.join(kinds)}) "
                "nor a dtype name",
                field="schema",
                value=kind,
            )
        if column not in frame.columns:
            problems.append(f"missing column {column!r} ({kind})")
            continue
        values = frame[column]
        ok = kinds[kind](values) if kind in kinds else str(values.dtype) == kind
        if not ok:
            problems.append(f"column {column!r} is {values.dtype}, expected {kind}")
    if exact:
        extra = [c for c in frame.columns if c not in schema]
        if extra:
            problems.append(f"unexpected columns {extra}")
    allowed = (
        set(frame.columns) if nullable is True else set() if nullable is False else set(nullable)
    )
    for column in schema:
        if column in frame.columns and column not in allowed:
            n_null = int(frame[column].isna().sum())
            if n_null:
                problems.append(f"column {column!r} has {n_null} null value(s)")
    if index is not None and frame.index.name != index:
        problems.append(f"index is named {frame.index.name!r}, expected {index!r}")
    if problems:
        raise AssertionError("frame does not match its schema:\n- " + "\n- ".join(problems))


def _is_dtype_name(name: str) -> bool:
    try:
        pd.api.types.pandas_dtype(name)
    except TypeError:
        return False
    return True


# -- models


def assert_recovers_parameters(
    model: Any,
    data: Any,
    params: Mapping[str, float],
    *,
    confidence: float = 0.99,
    **fit_kwargs: Any,
) -> Any:
    """Fit ``model`` to ``data`` and assert every true parameter lies in its interval.

    For data simulated from known parameters (``crmcore.clv.simulate_*``),
    a correct fit puts each parameter inside the model's ``confidence``
    interval (from the observed information, as in ``model.summary``) except
    with probability ``1 - confidence`` per parameter.

    Parameters
    ----------
    model : crmcore.clv model
        An unfitted model (``BetaGeoModel()``, ``ParetoNBDModel()``...).
    data : DataFrame
        What ``model.fit`` takes (an RFM summary, a BG/BB table...).
    params : mapping of str to float
        The parameters the data were simulated with, by name.
    confidence : float, default 0.99
        Confidence of the intervals checked.
    **fit_kwargs
        Passed to ``model.fit``.

    Returns
    -------
    model
        The fitted model.

    Raises
    ------
    AssertionError
        Naming each parameter outside its interval, with the interval.
    ValidationError
        When ``params`` names a parameter the model does not have.
    """
    fitted = model.fit(data, **fit_kwargs)
    summary = fitted.summary(confidence=confidence)
    unknown = sorted(set(params) - set(summary.index))
    if unknown:
        raise ValidationError(
            f"{type(model).__name__} has no parameter(s) {unknown}; its parameters are "
            f"{list(summary.index)}",
            field="params",
            value=unknown,
        )
    misses = [
        f"{name} = {true:g} outside [{summary.loc[name, 'ci_low']:g}, "
        f"{summary.loc[name, 'ci_high']:g}] (estimate {summary.loc[name, 'coef']:g})"
        for name, true in params.items()
        if not summary.loc[name, "ci_low"] <= true <= summary.loc[name, "ci_high"]
    ]
    if misses:
        raise AssertionError(
            f"{type(model).__name__} did not recover its parameters at "
            f"confidence={confidence}:\n- " + "\n- ".join(misses)
        )
    return fitted
