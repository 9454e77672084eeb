"""Helpers shared by the DataFrame analytics: stage codes, instants, summaries."""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from crmcore._time import Dates, read_instants
from crmcore.errors import ValidationError
from crmcore.pipeline._workflow import Workflow

__all__ = [
    "F64",
    "I64",
    "arrow_index_in",
    "instants",
    "read_us",
    "stage_attr",
    "stage_codes",
    "summary",
    "unit_us",
]

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]


def _arrow_text(values: Any) -> Any:
    """Return the Arrow array behind a pyarrow-backed text column or index, else ``None``."""
    dtype = values.dtype
    if not (isinstance(dtype, pd.StringDtype) and dtype.storage == "pyarrow"):
        return None
    import pyarrow as pa  # type: ignore[import-untyped]  # noqa: PLC0415 -- the column is in it

    return pa.array(values.array).cast(pa.large_string())


def arrow_index_in(values: pd.Series, keys: Any) -> I64 | None:
    """Position of each value among ``keys`` (-1: absent or missing), for Arrow text.

    pandas' default text columns are Arrow arrays; ``Index.get_indexer``
    first makes a Python ``str`` of every value (most of its cost at
    millions of rows), where ``pyarrow.compute.index_in`` hashes the
    buffers. ``None`` when ``values`` is not Arrow text (the caller falls
    back to ``get_indexer``); ``keys`` (unique) may be any text sequence.
    """
    wanted = _arrow_text(values)
    if wanted is None:
        return None
    import pyarrow as pa  # noqa: PLC0415 -- present: values are stored in it
    import pyarrow.compute as pc  # type: ignore[import-untyped]  # noqa: PLC0415

    known = _arrow_text(keys)
    if known is None:
        if not isinstance(keys, pd.Index | pd.Series) or keys.dtype != object:
            return None
        raw = keys.to_numpy()
        if not all(isinstance(k, str) for k in raw):
            return None
        known = pa.array(raw, type=pa.large_string())
    found = pc.index_in(wanted, value_set=known)  # null: not found, or a missing value
    return np.asarray(found.fill_null(-1).to_numpy(zero_copy_only=False), dtype=np.int64)


def stage_codes(values: pd.Series, wf: Workflow, name: str) -> I64:
    names = pd.Index(list(wf.stage_names), dtype=object)
    arrow = arrow_index_in(values, names)
    if arrow is not None:
        codes = arrow
    elif isinstance(values.dtype, pd.CategoricalDtype):
        # a categorical column: look up each category once, then gather (-1: missing)
        lookup = np.append(names.get_indexer(values.cat.categories), -1).astype(np.int64)
        codes = lookup[np.asarray(values.cat.codes, dtype=np.int64)]
    else:
        codes = names.get_indexer(pd.Index(values)).astype(np.int64)
    if (codes < 0).any():
        pos = int(np.flatnonzero(codes < 0)[0])
        raise ValidationError(
            f"{name} {values.iloc[pos]!r} (row {values.index[pos]!r}) is not a stage of "
            f"workflow {wf.name!r}; stages: {', '.join(wf.stage_names)}",
            field=name,
            row=values.index[pos],
            value=values.iloc[pos],
        )
    return codes


def stage_attr(wf: Workflow, attr: str) -> npt.NDArray[Any]:
    return np.array([getattr(wf.stage(s), attr) for s in wf.stage_names])


def instants(dates: Dates) -> I64:
    """Epoch microseconds (UTC) of aware dates, the unit of the calendar and SLA kernels."""
    return np.asarray(dates.ns // 1000, dtype=np.int64)


def read_us(col: pd.Series, name: str) -> I64:
    """Epoch microseconds (UTC) of an aware column of moments, none missing."""
    return instants(read_instants(col, name=name))


UNITS = {"D": 86_400e6, "h": 3_600e6, "W": 7 * 86_400e6}


def unit_us(unit: str) -> float:
    if unit not in UNITS:
        raise ValidationError(f"unit must be one of D, h, W; got {unit!r}", field="unit")
    return UNITS[unit]


def summary(values: F64, group: pd.Series | None, name: str) -> pd.DataFrame:
    frame = pd.DataFrame({name: values})
    stats: list[Any] = ["count", "mean", "median", "min", "max"]
    if group is None:
        out = frame[name].agg(stats).to_frame("total").T
    else:
        frame["_g"] = group.to_numpy()
        out = frame.groupby("_g", sort=True, observed=True)[name].agg(stats)
        out.index.name = group.name
    out["count"] = out["count"].astype(np.int64)
    return out
