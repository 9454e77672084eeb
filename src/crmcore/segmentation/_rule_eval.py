"""Vectorised evaluation of a rule syntax tree against a DataFrame.

Missing values follow the convention of :mod:`crmcore.storage` filters, so
that a rule selects the same rows in memory as its store filter does in a
store: a comparison with a missing value is false, except ``!=``, which is
exactly ``not ==`` (and so true for a missing value); ``not``, ``and`` and
``or`` are ordinary boolean operations.

Datetime columns are read by :func:`crmcore._time.read_dates` into int64
nanoseconds and compared with the span each date literal covers
(:mod:`crmcore.segmentation._rule_dates`), so aware and naive columns cost the
same and a date literal means the same thing in a frame and in a store.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from crmcore._time import read_dates
from crmcore._types import BoolArray
from crmcore.errors import ValidationError
from crmcore.segmentation._rule_ast import (
    And,
    Between,
    Compare,
    In,
    IsNull,
    LiteralValue,
    Node,
    Not,
    Or,
    render_value,
)
from crmcore.segmentation._rule_dates import Span, literal_span

__all__ = ["evaluate"]

_CMP: dict[str, Callable[[Any, Any], Any]] = {
    "eq": np.equal,
    "ne": np.not_equal,
    "lt": np.less,
    "le": np.less_equal,
    "gt": np.greater,
    "ge": np.greater_equal,
}
_SERIES_CMP: dict[str, Callable[[pd.Series, Any], pd.Series]] = {
    "eq": pd.Series.eq,
    "ne": pd.Series.ne,
    "lt": pd.Series.lt,
    "le": pd.Series.le,
    "gt": pd.Series.gt,
    "ge": pd.Series.ge,
}
_KIND_WORD = {
    "number": "a number",
    "bool": "true or false",
    "datetime": "a date literal date'YYYY-MM-DD'",
    "string": "a 'string'",
}


_OBJECT_NUMBER = frozenset({"integer", "floating", "mixed-integer-float", "decimal"})
_OBJECT_DATES = frozenset({"date", "datetime", "datetime64"})


def _typed(name: str, series: pd.Series) -> tuple[pd.Series, bool]:
    """Give an object column of numbers or booleans a proper dtype; flag dates."""
    dtype = series.dtype
    if isinstance(dtype, pd.DatetimeTZDtype) or (
        isinstance(dtype, np.dtype) and dtype.kind == "M"
    ):
        return series, True
    if not (isinstance(dtype, np.dtype) and dtype.kind == "O"):
        return series, False
    inferred = pd.api.types.infer_dtype(series, skipna=True)
    if inferred in _OBJECT_NUMBER:
        values = series.to_numpy(dtype=np.float64, na_value=np.nan)
        return pd.Series(values, index=series.index, name=name), False
    if inferred == "boolean":
        return series.astype("boolean"), False
    return series, inferred in _OBJECT_DATES


class _Column:
    """A frame column prepared once for all the predicates that use it.

    Object columns holding numbers (including ``Decimal``), booleans or
    dates are treated as numeric, boolean or datetime columns. A datetime
    column keeps its int64 nanoseconds in ``values`` and its zone in ``tz``.
    """

    def __init__(self, name: str, series: pd.Series) -> None:
        series, is_dates = _typed(name, series)
        self.name = name
        self.tz: Any = None
        self.dtype = series.dtype
        self.series = series
        self.categories: _Column | None = None
        self.codes: np.ndarray[Any, Any] | None = None
        dtype = series.dtype
        isna = series.isna().to_numpy(dtype=bool)
        self.known: BoolArray | None = ~isna if isna.any() else None
        self.values: np.ndarray[Any, Any] | None = None
        if is_dates:
            self.kind = "datetime"
            dates = read_dates(series, name=name, allow_missing=True)
            self.values = dates.ns
            self.tz = dates.tz
        elif isinstance(dtype, pd.CategoricalDtype):
            self.kind = "category"
            self.categories = _Column(name, pd.Series(dtype.categories))
            self.codes = series.cat.codes.to_numpy()
        elif pd.api.types.is_bool_dtype(dtype):
            self.kind = "bool"
            self.values = series.to_numpy(dtype=bool, na_value=False)
        elif pd.api.types.is_numeric_dtype(dtype):
            self.kind = "number"
            if dtype.kind in "iu" and isinstance(dtype, np.dtype):
                self.values = series.to_numpy()
            else:
                self.values = series.to_numpy(dtype=np.float64, na_value=np.nan)
        elif pd.api.types.is_string_dtype(dtype) or (
            isinstance(dtype, np.dtype) and dtype.kind == "O"
        ):
            self.kind = "string"
        else:
            raise ValidationError(
                f"field {name!r} has dtype {dtype}, which rules cannot test; "
                "supported: numbers, booleans, strings, categoricals and datetimes",
                field=name,
            )

    # -- literal checks --------------------------------------------------
    def literal_kind(self, value: LiteralValue) -> str:
        if isinstance(value, bool):
            return "bool"
        if isinstance(value, int | float):
            return "number"
        if isinstance(value, str):
            return "string"
        return "datetime"

    def coerce(self, value: LiteralValue, position: int) -> Any:
        kind = self.literal_kind(value)
        if kind != self.kind:
            raise ValidationError(
                f"field {self.name!r} (dtype {self.dtype}) cannot be compared with "
                f"{render_value(value)} (at position {position}); use {_KIND_WORD[self.kind]}",
                field=self.name,
                value=value,
            )
        return value

    def span(self, value: LiteralValue, position: int) -> Span:
        """Return the span ``[lo, hi)`` a date literal covers on this datetime column."""
        self.coerce(value, position)
        assert isinstance(value, _dt.date)
        return literal_span(value, tz=self.tz, field=self.name, position=position)

    # -- predicates ------------------------------------------------------
    def truth(self, raw: Any) -> BoolArray:
        """Turn a raw comparison result into a mask; missing values never match."""
        if isinstance(raw, pd.Series):
            raw = raw.to_numpy(dtype=bool, na_value=False)
        res = np.asarray(raw, dtype=bool)
        return res if self.known is None else res & self.known

    def compare(self, op: str, value: Any) -> Any:
        if self.values is not None:
            return _CMP[op](self.values, value)
        try:
            return _SERIES_CMP[op](self.series, value)
        except TypeError as exc:
            raise ValidationError(
                f"field {self.name!r} holds values that cannot be compared with {value!r}: {exc}",
                field=self.name,
                value=value,
            ) from exc

    def isin(self, values: list[Any]) -> Any:
        if self.values is not None:
            return np.isin(self.values, np.asarray(values))
        return self.series.isin(values)


def _on_categories(col: _Column, pred: Callable[[_Column], BoolArray]) -> BoolArray:
    assert col.categories is not None
    assert col.codes is not None
    codes = col.codes
    if len(col.categories.series) == 0:
        return np.zeros(codes.shape, dtype=bool)
    on_categories = pred(col.categories)
    missing = codes < 0
    return on_categories[np.where(missing, 0, codes)] & ~missing


def _datetime_leaf(col: _Column, node: Compare | Between | In) -> BoolArray:
    """Evaluate a predicate on int64 nanoseconds against the spans of date literals."""
    t = col.values
    assert t is not None

    def within(span: Span) -> Any:
        return (t >= span[0]) & (t < span[1])

    if isinstance(node, Compare):
        lo, hi = span = col.span(node.value, node.position)
        op = node.op
        if op == "eq":
            return col.truth(within(span))
        if op in ("lt", "le"):
            return col.truth(t < (lo if op == "lt" else hi))
        return col.truth(t >= (hi if op == "gt" else lo))
    if isinstance(node, Between):
        lo = col.span(node.low, node.position)[0]
        hi = col.span(node.high, node.position)[1]
        return col.truth((t >= lo) & (t < hi))
    out = np.zeros(t.shape, dtype=bool)
    for value in node.values:
        out |= within(col.span(value, node.position))
    return col.truth(out)


def _leaf(col: _Column, node: Compare | Between | In) -> BoolArray:
    if isinstance(node, Compare) and node.op == "ne":
        # ``!=`` is exactly ``not ==``: true where the value is missing
        return ~_leaf(col, Compare(node.field, "eq", node.value, position=node.position))
    if col.kind == "category":
        return _on_categories(col, lambda c: _leaf(c, node))
    if col.kind == "datetime":
        return _datetime_leaf(col, node)
    if isinstance(node, Compare):
        return col.truth(col.compare(node.op, col.coerce(node.value, node.position)))
    if isinstance(node, Between):
        low = col.coerce(node.low, node.position)
        high = col.coerce(node.high, node.position)
        return col.truth(col.compare("ge", low)) & col.truth(col.compare("le", high))
    values = [col.coerce(v, node.position) for v in node.values]
    return col.truth(col.isin(values))


class _Evaluator:
    def __init__(self, frame: pd.DataFrame) -> None:
        self.frame = frame
        self.n = len(frame)
        self.columns: dict[str, _Column] = {}
        columns: list[Any] = list(frame.columns)
        self.names = {c for c in columns if isinstance(c, str)}

    def column(self, name: str) -> _Column:
        col = self.columns.get(name)
        if col is not None:
            return col
        if name not in self.names:
            known = ", ".join(repr(c) for c in self.frame.columns) or "none"
            raise ValidationError(
                f"unknown field {name!r}; the frame's columns are: {known}", field=name
            )
        series: Any = self.frame[name]
        if isinstance(series, pd.DataFrame):
            raise ValidationError(f"field {name!r} names more than one column", field=name)
        col = _Column(name, series)
        self.columns[name] = col
        return col

    def run(self, node: Node) -> BoolArray:
        if isinstance(node, And | Or):
            parts = [self.run(op) for op in node.operands]
            out = parts[0].copy()
            for part in parts[1:]:
                if isinstance(node, And):
                    out &= part
                else:
                    out |= part
            return out
        if isinstance(node, Not):
            return ~self.run(node.operand)
        col = self.column(node.field)
        if isinstance(node, IsNull):
            return np.zeros(self.n, dtype=bool) if col.known is None else ~col.known
        return _leaf(col, node)


def evaluate(node: Node, frame: pd.DataFrame) -> BoolArray:
    """Rows of ``frame`` for which ``node`` holds."""
    return np.asarray(_Evaluator(frame).run(node), dtype=bool)
