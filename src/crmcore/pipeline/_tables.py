"""Helpers shared by the DataFrame analytics: stage codes, instants, summaries."""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from crmcore.errors import ValidationError
from crmcore.pipeline._workflow import Workflow

__all__ = ["F64", "I64", "instants", "stage_attr", "stage_codes", "summary", "unit_us"]

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


def instants(col: pd.Series, name: str) -> npt.NDArray[np.int64]:
    if not isinstance(col.dtype, pd.DatetimeTZDtype):
        raise ValidationError(
            f"{name} must hold timezone-aware datetimes; got dtype {col.dtype}", field=name
        )
    arr = np.asarray(col.dt.tz_convert(None).to_numpy(), dtype="datetime64[us]")
    return arr.view(np.int64)


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
