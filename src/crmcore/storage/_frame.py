"""Columnar export: chunks of raw column values -> one pandas DataFrame.

Both stores feed :class:`FrameBuilder` with tuples in the same "frame
representation" (what a SQL ``SELECT`` of :func:`frame_columns` returns), so
their frames are identical:

========================  ==============================  ===========================
kind                      fed as                          column dtype
========================  ==============================  ===========================
STR, ID, ENUM (text)      str                             pandas' default string dtype
INT                       int                             int64 (``Int64`` with nulls)
FLOAT, DECIMAL, MONEY     float                           float64 (NaN for nulls)
BOOL                      bool or 0/1                     bool (``boolean`` with nulls)
DATETIME                  int (µs since the Unix epoch)   ``datetime64[us, UTC]``
DATE                      ``"YYYY-MM-DD"``                ``datetime64[us]`` (naive)
UUID                      str                             string
========================  ==============================  ===========================

Values are converted one column chunk at a time with NumPy, never one
entity at a time.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import pandas as pd

from crmcore._time import timestamps
from crmcore.errors import ValidationError
from crmcore.storage._fields import SCALAR_KINDS, FieldSpec, Kind

__all__ = ["FrameBuilder", "FrameColumn", "frame_columns"]

FrameColumn = tuple[str, str, Kind, FieldSpec]  # (frame name, db column, kind, field)


def frame_columns(
    fields: Sequence[FieldSpec], columns: Sequence[str] | None, aggregate: str
) -> list[FrameColumn]:
    """Choose the exported columns (default: every scalar, Money and wrapped field)."""
    available: dict[str, FrameColumn] = {}
    for f in fields:
        if f.kind is Kind.MONEY:
            available[f.name] = (f.name, f.name, Kind.DECIMAL, f)
            available[f"{f.name}_currency"] = (f"{f.name}_currency", f.columns[1], Kind.STR, f)
        elif f.kind in SCALAR_KINDS or f.kind is Kind.WRAPPED:
            available[f.name] = (f.name, f.name, f.compare_kind, f)
    if columns is None:
        return list(available.values())
    if isinstance(columns, str):
        columns = [columns]
    out = []
    for name in columns:
        if name not in available:
            raise ValidationError(
                f"{aggregate}: cannot export column {name!r}; available: {', '.join(available)}",
                field=name,
            )
        out.append(available[name])
    if len({c[0] for c in out}) != len(out):
        raise ValidationError(f"{aggregate}: columns must not repeat", field="columns")
    return out


class FrameBuilder:
    """Accumulate row chunks column-wise and build the DataFrame at the end."""

    def __init__(self, columns: Sequence[FrameColumn]) -> None:
        self.columns = list(columns)
        self._parts: list[list[Any]] = [[] for _ in self.columns]

    def add_rows(self, rows: Sequence[Sequence[Any]]) -> None:
        """Add one chunk of rows (tuples in :attr:`columns` order)."""
        if not rows:
            return
        for part, (_, _, kind, _), values in zip(
            self._parts, self.columns, zip(*rows, strict=True), strict=True
        ):
            part.append(_convert(values, kind))

    def add_chunks(self, chunks: Iterable[Sequence[Sequence[Any]]]) -> None:
        """Add every chunk of an iterator."""
        for chunk in chunks:
            self.add_rows(chunk)

    def build(self) -> pd.DataFrame:
        """Concatenate the chunks into the final frame."""
        data: dict[str, Any] = {}
        for part, (name, _, kind, _) in zip(self._parts, self.columns, strict=True):
            data[name] = _finish(part, kind)
        return pd.DataFrame(data)


def _has_none(values: Sequence[Any]) -> bool:
    return any(v is None for v in values)


def _convert(values: Sequence[Any], kind: Kind) -> Any:
    """Turn one column chunk into a NumPy array (object arrays for text)."""
    if kind in (Kind.FLOAT, Kind.DECIMAL):
        return np.array(values, dtype=np.float64)  # None -> NaN
    if kind is Kind.DATETIME:
        if _has_none(values):
            out = np.array([np.iinfo(np.int64).min if v is None else v for v in values], np.int64)
        else:
            out = np.array(values, dtype=np.int64)
        return out.view("datetime64[us]")  # int64 min is NaT
    if kind is Kind.DATE:
        text = np.array(["NaT" if v is None else v for v in values], dtype="U10")
        return text.astype("datetime64[D]").astype("datetime64[us]")
    if kind in (Kind.INT, Kind.BOOL):
        if _has_none(values):
            return list(values)
        return np.array(values, dtype=np.int64 if kind is Kind.INT else np.bool_)
    return np.array(values, dtype=object)


def _finish(parts: list[Any], kind: Kind) -> Any:
    if kind in (Kind.INT, Kind.BOOL):
        if any(isinstance(p, list) for p in parts):
            flat: list[Any] = []
            for p in parts:
                flat.extend(p.tolist() if isinstance(p, np.ndarray) else p)
            return pd.array(flat, dtype="Int64" if kind is Kind.INT else "boolean")
        if not parts:
            return np.empty(0, dtype=np.int64 if kind is Kind.INT else np.bool_)
        return np.concatenate(parts)
    if kind is Kind.DATETIME:
        arr = np.concatenate(parts) if parts else np.empty(0, dtype="datetime64[us]")
        return timestamps(arr.view(np.int64), "UTC", unit="us")
    if kind is Kind.DATE:
        return np.concatenate(parts) if parts else np.empty(0, dtype="datetime64[us]")
    if kind in (Kind.FLOAT, Kind.DECIMAL):
        return np.concatenate(parts) if parts else np.empty(0, dtype=np.float64)
    arr = np.concatenate(parts) if parts else np.empty(0, dtype=object)
    return pd.array(arr, dtype=pd.StringDtype(na_value=np.nan))
