"""Shared helpers for Dask DataFrame input (DESIGN §8: "Beyond one machine").

Dask is optional and never imported here: a Dask collection is recognised by
its type's module and only its own methods are called, so ``import crmcore``
stays light and works without the ``dask`` extra. Every per-customer step
follows one recipe: shuffle the log on the customer column (all of a
customer's rows land in one partition), run the pandas implementation on each
partition, and keep the result lazy. A cut-off is resolved once, on the
client, so every partition cuts at the same instant.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from crmcore._time import Dates, read_dates, timestamps
from crmcore.errors import ValidationError

__all__ = [
    "check_dask_columns",
    "check_dask_dates",
    "history_rows",
    "is_dask",
    "parquet_divisions",
    "per_customer",
    "probe_frame",
]


def is_dask(obj: object) -> bool:
    """Return whether ``obj`` is a Dask DataFrame or Series (without importing Dask)."""
    return type(obj).__module__.split(".")[0] == "dask" and hasattr(obj, "map_partitions")


def check_dask_columns(frame: Any, required: list[str], *, name: str = "transactions") -> None:
    """Refuse a Dask frame that lacks a required column, listing those present."""
    missing = [c for c in required if c not in frame.columns]
    if missing:
        present = ", ".join(map(str, frame.columns)) or "none"
        raise ValidationError(
            f"{name} is missing column(s) {', '.join(map(repr, missing))}; "
            f"columns present: {present}",
            field=missing[0],
        )


def check_dask_dates(frame: Any, date_col: str, *, what: str) -> Dates:
    """Require a datetime64 date column and return its (empty) :class:`Dates`.

    Strings cannot be checked lazily without reading every partition twice,
    so Dask input must carry parsed dates; the message names the one-line fix.
    """
    dtype = frame._meta[date_col].dtype
    if not (isinstance(dtype, pd.DatetimeTZDtype) or pd.api.types.is_datetime64_dtype(dtype)):
        raise ValidationError(
            f"{what} on a Dask DataFrame needs {date_col!r} as datetime64 (got {dtype}); "
            f"parse it first: ddf[{date_col!r}] = dd.to_datetime(ddf[{date_col!r}])",
            field=date_col,
        )
    return read_dates(frame._meta[date_col], name=date_col)


def history_rows(part: pd.DataFrame, date_col: str, cutoff_ns: int) -> pd.DataFrame:
    """Keep the rows of one partition dated at or before the cut-off."""
    ns = read_dates(part[date_col], name=date_col).ns
    return part[ns <= cutoff_ns]


def probe_frame(frame: Any, date_col: str, at_ns: int, tz: Any) -> pd.DataFrame:
    """One synthetic row shaped like ``frame``, dated ``at_ns``.

    Running the pandas implementation on it gives the exact output schema
    (the ``meta`` Dask needs) without reading any partition.
    """
    probe: pd.DataFrame = frame._meta_nonempty.iloc[:1].copy()
    dtype = frame._meta[date_col].dtype
    stamp = timestamps(np.array([at_ns], dtype=np.int64), tz)
    probe[date_col] = pd.Series(stamp, index=probe.index).astype(dtype)
    return probe


def per_customer(
    frame: Any, customer_col: str, run: Callable[[pd.DataFrame], Any], meta: Any
) -> Any:
    """Shuffle ``frame`` on the customer column and apply ``run`` to each partition."""
    return frame.shuffle(on=customer_col).map_partitions(run, meta=meta)


def parquet_divisions(paths: list[str], column: str) -> tuple[Any, ...] | None:
    """Divisions of ``column`` over Parquet files, from their statistics (no data read).

    When every file records the minimum and maximum of ``column`` and the
    files, in the order given, hold increasing ranges that do not overlap,
    a frame read one partition per file and indexed by ``column`` has these
    known divisions: each customer's rows are then in one partition, and
    per-customer steps need no shuffle (:func:`crmcore.clv._dask.by_customer`).
    None otherwise.
    """
    import pyarrow.parquet as pq  # type: ignore[import-untyped]  # noqa: PLC0415 -- dask extra

    ranges: list[tuple[Any, Any]] = []
    for path in paths:
        meta = pq.ParquetFile(path).metadata
        at = meta.schema.to_arrow_schema().get_field_index(column)
        if at < 0 or meta.num_row_groups == 0:
            return None
        lows, highs = [], []
        for g in range(meta.num_row_groups):
            stats = meta.row_group(g).column(at).statistics
            if stats is None or not stats.has_min_max or stats.null_count:
                return None
            lows.append(stats.min)
            highs.append(stats.max)
        ranges.append((min(lows), max(highs)))
    try:
        ordered = all(hi < lo for (_, hi), (lo, _) in itertools.pairwise(ranges))
    except TypeError:  # ranges that do not compare
        return None
    if not ordered:
        return None
    return (*(lo for lo, _ in ranges), ranges[-1][1])
