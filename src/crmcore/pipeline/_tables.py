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
    "instants",
    "read_us",
    "stage_attr",
    "stage_codes",
    "summary",
    "unit_us",
]

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]


def stage_codes(values: pd.Series, wf: Workflow, name: str) -> I64:
    codes = pd.Index(list(wf.stage_names)).get_indexer(pd.Index(values)).astype(np.int64)
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
