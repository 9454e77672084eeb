"""Touches -> conversion paths (and the paths that did not convert).

A touch belongs to the customer's first conversion at or after it, if that
conversion comes within ``lookback`` (the touch lies in
``(conversion - lookback, conversion]``). So each touch credits at most one
conversion, and a customer's paths restart after every conversion.

A *non-converting path* is made of a customer's touches that belong to no
conversion, between two conversions (or after the last one), limited to
``lookback`` before the latest of them: the mirror image of a converting
path, ending at its last touch instead of a conversion. The data-driven
models need them; older unassigned touches are not used.

Everything is computed on integer codes with one sort of the touches by
(customer, time); no Python loop runs per path.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from crmcore import _time
from crmcore._types import BoolArray, FloatArray, IntArray
from crmcore._validation import as_float_array, check_columns
from crmcore.errors import ValidationError
from crmcore.marketing._frame import row_ids
from crmcore.marketing._windows import GroupedTimes, group_time_order

__all__ = ["Paths", "build_paths", "joint_codes", "label_codes", "run_starts"]


def run_starts(keys: IntArray) -> BoolArray:
    """Flag where a run of equal consecutive keys starts."""
    out = np.ones(keys.size, dtype=bool)
    out[1:] = keys[1:] != keys[:-1]
    return out


def label_codes(values: pd.Series) -> tuple[IntArray, pd.Index]:
    """Integer codes and sorted labels of a column (categoricals: their own codes)."""
    if isinstance(values.dtype, pd.CategoricalDtype):
        return values.cat.codes.to_numpy().astype(np.int64), pd.Index(values.cat.categories)
    try:
        codes, labels = pd.factorize(values, sort=True)
    except TypeError:  # labels that do not sort together
        codes, labels = pd.factorize(values)
    return np.asarray(codes, dtype=np.int64), pd.Index(labels)


def joint_codes(a: pd.Series, b: pd.Series) -> tuple[IntArray, IntArray, int]:
    """Integer codes of the ids of two columns, in one numbering.

    Small non-negative integer ids (ERP keys, row numbers) are their own
    codes: no hashing of millions of ids.
    """
    va, vb = a.to_numpy(), b.to_numpy()
    if va.dtype.kind in "iu" and vb.dtype.kind in "iu":
        lo = min(int(va.min()) if va.size else 0, int(vb.min()) if vb.size else 0)
        hi = max(int(va.max()) if va.size else 0, int(vb.max()) if vb.size else 0)
        if lo >= 0 and hi < max(4 * (va.size + vb.size), 1 << 20):
            return va.astype(np.int64), vb.astype(np.int64), hi + 1
    codes, _ = pd.factorize(pd.concat([a, b], ignore_index=True))
    codes = np.asarray(codes, dtype=np.int64)
    n = int(codes.max()) + 1 if codes.size else 0
    return codes[: va.size], codes[va.size :], n


@dataclass(frozen=True, slots=True)
class Paths:
    """Conversions with their touches (sorted by conversion, then time)."""

    conversions: pd.Index  # labels of the kept conversion rows
    conv_customer: pd.Index  # customer id of each conversion
    value: FloatArray  # per conversion
    conv_time: IntArray  # per conversion
    channels: pd.Index  # channel labels (codes index this)
    touch_conv: IntArray  # per assigned touch: conversion position
    touch_channel: IntArray
    touch_time: IntArray
    rank: IntArray  # position in its path, 0-based
    length: IntArray  # length of its path
    null_path: IntArray  # per non-converting touch: path id (0..n_null-1), in order
    null_channel: IntArray
    n_null: int
    tz: Any


def build_paths(
    touches: pd.DataFrame,
    conversions: pd.DataFrame,
    *,
    as_of: Any,
    lookback: Any,
    customer_col: str,
    date_col: str,
    value_col: str,
    channel_col: str,
) -> Paths:
    """Validate the inputs and build every path (see the module docstring)."""
    look_ns = int(_time.to_duration(lookback, name="lookback").value)
    check_columns(touches, [customer_col, date_col, channel_col], name="touches")
    check_columns(conversions, [customer_col, date_col, value_col], name="conversions")
    t_dates = _time.read_dates(touches[date_col], name=date_col, row_name="touch")
    c_dates = _time.read_dates(conversions[date_col], name=date_col, row_name="conversion")
    if t_dates.aware != c_dates.aware:
        raise ValidationError(
            "touches and conversions must both be naive or both timezone-aware; localise "
            "the naive one (e.g. frame['date'].dt.tz_localize('UTC'))",
            field=date_col,
        )
    cutoff = t_dates.cutoff(as_of)
    t_keep = t_dates.ns <= cutoff.ns
    c_keep = c_dates.ns <= cutoff.ns
    tframe = touches.loc[t_keep] if not t_keep.all() else touches
    cframe = conversions.loc[c_keep] if not c_keep.all() else conversions
    t_ns, c_ns = t_dates.ns[t_keep], c_dates.ns[c_keep]
    row_ids(tframe[customer_col], name=customer_col, frame_index=tframe.index)
    row_ids(cframe[customer_col], name=customer_col, frame_index=cframe.index)
    row_ids(tframe[channel_col], name=channel_col, frame_index=tframe.index)
    value = as_float_array(
        cframe[value_col], name=value_col, index=cframe.index, row_name="conversion"
    )
    if not cframe.index.is_unique:
        raise ValidationError(
            "conversions must have a unique index (it labels each conversion's credit); "
            "use conversions.reset_index(drop=True)",
            field="conversions",
        )
    ch_codes, channels = label_codes(tframe[channel_col])
    t_cust, c_cust, n_cust = joint_codes(tframe[customer_col], cframe[customer_col])

    conv_log = GroupedTimes(c_cust, c_ns, n_cust)
    t_order = group_time_order(t_cust, t_ns)
    tc, tt, tch = t_cust[t_order], t_ns[t_order], ch_codes[t_order]
    # sorted position of the first conversion at or after each touch
    nxt = conv_log.position(tc, tt, inclusive=False)
    in_group = nxt < conv_log.starts[tc + 1]
    if c_ns.size:
        nxt_safe = np.minimum(nxt, c_ns.size - 1)
        assigned = in_group & (conv_log.times[nxt_safe] - tt < look_ns)
        conv_pos = np.where(assigned, conv_log.order[nxt_safe], -1)
    else:
        assigned = np.zeros(tt.size, dtype=bool)
        conv_pos = np.full(tt.size, -1, dtype=np.int64)

    a = np.flatnonzero(assigned)
    touch_conv = conv_pos[a]
    starts = run_starts(touch_conv)
    run_id = np.cumsum(starts) - 1
    first_of_run = np.flatnonzero(starts)
    lengths_per_run = np.diff(np.append(first_of_run, touch_conv.size))
    rank = np.arange(touch_conv.size) - first_of_run[run_id]
    length = lengths_per_run[run_id]

    # non-converting paths: unassigned touches grouped by (customer, next conversion)
    u = np.flatnonzero(~assigned)
    seg = tc[u] * (conv_log.times.size + 1) + np.minimum(nxt[u], conv_log.times.size)
    seg_start = run_starts(seg)
    seg_id = np.cumsum(seg_start) - 1
    # touches are in time order within a segment: its last touch is its latest
    seg_last = tt[u][np.flatnonzero(np.append(seg_start[1:], True))] if u.size else tt[u]
    recent = tt[u] > seg_last[seg_id] - look_ns if u.size else np.zeros(0, bool)
    kept = u[recent]
    null_seg = seg_id[recent]
    null_path = (np.cumsum(run_starts(null_seg)) - 1) if kept.size else np.zeros(0, np.int64)
    n_null = int(null_path[-1]) + 1 if kept.size else 0
    return Paths(
        conversions=cframe.index,
        conv_customer=pd.Index(cframe[customer_col]),
        value=value,
        conv_time=c_ns,
        channels=pd.Index(channels),
        touch_conv=touch_conv.astype(np.int64),
        touch_channel=tch[a],
        touch_time=tt[a],
        rank=rank.astype(np.int64),
        length=length.astype(np.int64),
        null_path=np.asarray(null_path, dtype=np.int64),
        null_channel=tch[kept],
        n_null=n_null,
        tz=t_dates.tz,
    )
