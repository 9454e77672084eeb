"""Opportunities as they stood at past dates, rebuilt from their stage-change log.

The log (the frame :func:`~crmcore.pipeline.events_frame` makes) is sorted
once by (opportunity, instant). An opportunity's state at ``t`` is the
target stage of its last event at or before ``t`` (the workflow's initial
stage if it had none yet); it exists from its ``created_at``. Optional
``amount`` and close-date columns in the log hold the value an event set
(missing: unchanged); the value in force at ``t`` is the last one set at or
before ``t``, else the opportunity's own (current) value. A snapshot reads no
event after ``t``, so adding, changing or removing later events changes
nothing.

Cost: the sort once, then per snapshot one comparison and one ``bincount``
over the log and a few gathers, so many snapshots of millions of events take
tens of milliseconds each.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import attrs
import numpy as np
import numpy.typing as npt
import pandas as pd

from crmcore._time import NAT, Dates, read_dates, read_instants
from crmcore._validation import as_float_array, check_columns
from crmcore.errors import ValidationError
from crmcore.pipeline._tables import I64, arrow_index_in, stage_attr, stage_codes
from crmcore.pipeline._workflow import Workflow

__all__ = ["History", "Snapshot"]

F64 = npt.NDArray[np.float64]
B = npt.NDArray[np.bool_]


@attrs.frozen(slots=True, eq=False)
class Snapshot:
    """The opportunities at one instant (arrays by opportunity position)."""

    exists: B
    stage: I64
    amount: F64
    close: I64  # close date, ns on the close dates' scale (NAT: unknown)
    last_at: I64  # instant of the last event at or before t (NAT: none)


@attrs.frozen(slots=True, eq=False)
class History:
    """An opportunity table and its stage-change log, indexed for snapshots."""

    workflow: Workflow
    ids: pd.Index
    created: I64  # ns on the events' scale
    amount: F64  # current
    close: I64  # current close date, ns on its own scale (UTC instants or naive wall clock)
    close_tz: Any  # zone of the close dates (None: naive)
    tz: Any  # zone of the event instants
    ent: I64  # sorted log: opportunity position
    at: I64  # sorted log: instant (ns)
    to_stage: I64
    amount_from: I64  # row of the last amount set at or before each row (-1: none)
    close_from: I64
    amount_log: F64
    close_log: I64
    block: I64  # first row of each opportunity's events

    @classmethod
    def build(
        cls,
        events: pd.DataFrame,
        opportunities: pd.DataFrame,
        *,
        workflow: Workflow,
        id_col: str,
        created_col: str,
        value_col: str,
        date_col: str,
    ) -> History:
        """Index ``opportunities`` and their log ``events``.

        Raises
        ------
        ValidationError
            Missing columns, duplicate or unknown opportunity ids, bad
            stages, amounts or dates.
        """
        check_columns(
            opportunities, [id_col, created_col, value_col, date_col], name="opportunities"
        )
        check_columns(events, ["entity_id", "to_stage", "at"], name="events")
        ids = pd.Index(opportunities[id_col].to_numpy())
        if ids.has_duplicates:
            dup = ids[ids.duplicated()][0]
            raise ValidationError(
                f"opportunity {dup!r} appears twice in {id_col}; give one row per opportunity",
                field=id_col,
                value=dup,
            )
        at_dates = read_instants(events["at"], name="at")
        created = read_instants(opportunities[created_col], name=created_col).ns
        amount = _amounts(opportunities[value_col], value_col, missing=False)
        close_dates = read_dates(opportunities[date_col], name=date_col, row_name="opportunity")
        ent = _positions(ids, events["entity_id"])
        if (ent < 0).any():
            pos = int(np.flatnonzero(ent < 0)[0])
            bad = events["entity_id"].iloc[pos]
            raise ValidationError(
                f"events name opportunity {bad!r} (row {events.index[pos]!r}), which is not in "
                f"opportunities[{id_col!r}]: give every opportunity of the log",
                field="entity_id",
                row=events.index[pos],
                value=bad,
            )
        at = at_dates.ns
        # Sort by (opportunity, instant), ties in log order. The log is usually in time
        # order already; otherwise a stable sort by instant first. The stable sort by
        # opportunity is one plain sort of unique keys ``opportunity * m + row``.
        m = at.size
        by_time = (
            np.argsort(at, kind="stable")
            if m > 1 and not (at[1:] >= at[:-1]).all()
            else np.arange(m, dtype=np.int64)
        )
        if len(ids) * m < 2**62:
            key = ent[by_time].astype(np.int64) * m + np.arange(m, dtype=np.int64)
            key.sort()
            order = by_time[key % m] if m else by_time
        else:  # pragma: no cover - more than 2**62 opportunity-rows
            order = by_time[np.argsort(ent[by_time], kind="stable")]
        ent = np.ascontiguousarray(ent[order], dtype=np.int64)
        at = np.ascontiguousarray(at[order])
        to_stage = stage_codes(events["to_stage"], workflow, "to_stage")[order]
        block = np.searchsorted(ent, np.arange(len(ids), dtype=np.int64), side="left")
        first_row = block[ent]
        amount_log, amount_from = _carried(
            events, value_col, order, first_row, lambda c: _amounts(c, value_col, missing=True)
        )
        close_log, close_from = _carried(
            events, date_col, order, first_row, lambda c: _close_ns(c, date_col, close_dates)
        )
        return cls(
            workflow,
            ids,
            created,
            amount,
            close_dates.ns,
            close_dates.tz,
            at_dates.tz,
            ent,
            at,
            to_stage,
            amount_from,
            close_from,
            amount_log,
            close_log,
            np.asarray(block, dtype=np.int64),
        )

    def snapshot(self, t: int) -> Snapshot:
        """Return the opportunities as they stood at instant ``t`` (ns); nothing later is read."""
        n = len(self.ids)
        keep = self.at <= t
        count = np.bincount(self.ent[keep], minlength=n)
        has = count > 0
        last = np.where(has, self.block + count - 1, 0)
        initial = self.workflow.stage_names.index(self.workflow.initial)
        stage = np.where(has, self.to_stage[last] if self.at.size else initial, initial)
        amount = self.amount.copy()
        close = self.close.copy()
        if self.amount_log.size:
            src = np.where(has, self.amount_from[last], -1)
            amount = np.where(src >= 0, self.amount_log[np.maximum(src, 0)], amount)
        if self.close_log.size:
            src = np.where(has, self.close_from[last], -1)
            close = np.where(src >= 0, self.close_log[np.maximum(src, 0)], close)
        last_at = np.where(has, self.at[last] if self.at.size else NAT, NAT)
        return Snapshot(self.created <= t, stage.astype(np.int64), amount, close, last_at)

    def flags(self, name: str) -> B:
        """Return a stage flag (``is_won``, ``is_closed``) per stage code."""
        return stage_attr(self.workflow, name).astype(bool)

    def categories(self) -> npt.NDArray[Any]:
        """Return the forecast category of each stage code."""
        return stage_attr(self.workflow, "forecast_category")


def _amounts(col: pd.Series, name: str, *, missing: bool) -> F64:
    if missing and col.dtype.kind in "fiu":
        # a numeric history column: missing means unchanged; infinities are refused
        out = col.to_numpy(dtype=np.float64, na_value=np.nan)
        if np.isinf(out).any():
            pos = int(np.flatnonzero(np.isinf(out))[0])
            raise ValidationError(
                f"{name} must be finite; got {out[pos]} in row {col.index[pos]!r}",
                field=name,
                row=col.index[pos],
                value=out[pos],
            )
        return out
    values = col
    if values.dtype == object:
        values = values.map(lambda v: getattr(v, "amount", v))
    if missing:
        out = np.full(len(values), np.nan)
        known = values.notna().to_numpy()
        if known.any():
            out[known] = as_float_array(values[known], name=name, row_name="event")
        return out
    return as_float_array(values, name=name, row_name="opportunity")


def _close_ns(col: pd.Series, name: str, like: Dates) -> I64:
    dates = read_dates(col, name=name, allow_missing=True, row_name="event")
    if dates.aware != like.aware:
        raise ValidationError(
            f"events[{name!r}] and opportunities[{name!r}] must both be naive (dates) or both "
            "timezone-aware",
            field=name,
        )
    return dates.ns


def _carried(
    events: pd.DataFrame, col: str, order: I64, first_row: I64, read: Any
) -> tuple[Any, I64]:
    """Return the values set in a history column and, per sorted row, the last row set so far.

    ``first_row`` is, per sorted row, the first row of its opportunity: a value
    set for an earlier opportunity does not carry into the next one.
    """
    if col not in events.columns:
        return np.zeros(0), np.zeros(0, dtype=np.int64)
    values = read(events[col])[order]
    known = ~np.isnan(values) if values.dtype.kind == "f" else values != NAT
    idx = np.where(known, np.arange(values.size, dtype=np.int64), -1)
    carried = np.maximum.accumulate(idx) if idx.size else idx
    carried[carried < first_row] = -1
    return values, np.asarray(carried, dtype=np.int64)


def _positions(ids: pd.Index, entity: pd.Series) -> I64:
    """Return the position in ``ids`` of each event's opportunity (-1: unknown)."""
    found = arrow_index_in(entity, ids)
    if found is not None:  # text ids in Arrow: hashed without a Python str per event
        return found
    values = entity.to_numpy()
    raw = ids.to_numpy()
    if len(ids) and raw.dtype.kind in "iu" and values.dtype.kind in "iu":
        lo, hi = int(raw.min()), int(raw.max())
        if hi - lo < 4 * len(ids) + 1024:
            # dense integer ids: one table lookup per event instead of hashing each key
            table = np.full(hi - lo + 1, -1, dtype=np.int64)
            table[raw - lo] = np.arange(len(ids), dtype=np.int64)
            shifted = values.astype(np.int64) - lo
            inside = (shifted >= 0) & (shifted <= hi - lo)
            return np.where(inside, table[np.where(inside, shifted, 0)], -1)
    return np.asarray(ids.get_indexer(pd.Index(values)), dtype=np.int64)


def by_keys(opportunities: pd.DataFrame, by: str | Sequence[str] | None) -> list[str]:
    """Return the grouping columns named by ``by`` (checked)."""
    if by is None:
        return []
    keys = [by] if isinstance(by, str) else list(by)
    check_columns(opportunities, keys, name="opportunities")
    return keys
