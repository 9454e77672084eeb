"""Forecast accuracy and pipeline changes, from snapshots of the stage-change log.

A forecast made at ``as_of`` is the roll-up of the pipeline as it stood then
(:class:`~crmcore.pipeline._history.History`): for the calendar period that
starts after ``as_of`` (or is under way at it),

* ``closed``: deals already won in the period by ``as_of``;
* ``commit``: ``closed`` plus open deals in the *commit* forecast category
  whose close date falls in the period;
* ``best_case``: ``commit`` plus open *best case* deals closing in it;
* ``pipeline``: ``best_case`` plus the other open deals closing in it;

and the *actual* is what was won in the period, read at its end. The
categories come from the stage each deal was in at ``as_of`` (the
workflow's ``forecast_category``).

Accuracy per group (owner...), over the periods forecast (Hyndman &
Koehler 2006, "Another look at measures of forecast accuracy", *Int. J.
Forecasting* 22(4), 679-688, for the definitions and the caveats of
percentage errors):

* **bias** ``= Σ (F - A) / Σ A``: the share by which the forecasts
  overshot (positive) or undershot (negative) what was won, weighted by
  the actuals (periods with nothing won still count in the numerator);
* **MAPE** ``= mean |F - A| / A`` over periods with ``A > 0`` (the
  percentage error is undefined at ``A = 0``; those periods are left out
  and counted in ``periods``);
* **hit rate**: the share of periods with ``|F - A| <= tolerance · A``
  (a period with nothing won is a hit only if nothing was forecast).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import attrs
import numpy as np
import numpy.typing as npt
import pandas as pd

from crmcore._time import (
    NAT,
    parse_freq,
    period_codes,
    period_labels,
    period_starts,
    resolve_as_of,
    timestamps,
    wall_ns,
)
from crmcore._validation import check_scalar
from crmcore.errors import ValidationError
from crmcore.pipeline._defaults import OPPORTUNITY_WORKFLOW
from crmcore.pipeline._history import History, Snapshot, by_keys
from crmcore.pipeline._tables import I64
from crmcore.pipeline._workflow import Workflow

__all__ = [
    "MOVEMENTS",
    "ForecastAccuracy",
    "forecast_accuracy",
    "pipeline_changes",
    "pipeline_snapshot",
]

F64 = npt.NDArray[np.float64]
B = npt.NDArray[np.bool_]

MOVEMENTS: tuple[str, ...] = (
    "start",
    "new",
    "pulled_in",
    "slipped",
    "amount_increased",
    "amount_decreased",
    "won",
    "lost",
    "end",
)
"""Rows of :func:`pipeline_changes`, in order."""


def _history(
    events: pd.DataFrame,
    opportunities: pd.DataFrame,
    workflow: Workflow,
    cols: tuple[str, str, str, str],
) -> History:
    id_col, created_col, value_col, date_col = cols
    return History.build(
        events,
        opportunities,
        workflow=workflow,
        id_col=id_col,
        created_col=created_col,
        value_col=value_col,
        date_col=date_col,
    )


def _close_wall(hist: History, snap: Snapshot) -> I64:
    """Close dates on their own wall clock (NAT kept)."""
    if hist.close_tz is None:
        return snap.close
    known = snap.close != NAT
    out = np.full(snap.close.size, NAT, dtype=np.int64)
    if known.any():
        out[known] = wall_ns(snap.close[known], hist.close_tz)
    return out


def pipeline_snapshot(
    events: pd.DataFrame,
    opportunities: pd.DataFrame,
    *,
    as_of: object,
    workflow: Workflow = OPPORTUNITY_WORKFLOW,
    id_col: str = "id",
    created_col: str = "created_at",
    value_col: str = "amount",
    date_col: str = "close_date",
) -> pd.DataFrame:
    """Rebuild the opportunities as they stood at ``as_of`` from the stage-change log.

    Parameters
    ----------
    events : DataFrame
        The stage-change log, one row per move, in the shape of
        :func:`~crmcore.pipeline.events_frame` and of a store's
        ``store.events.stage_history(workflow="opportunity")``: columns
        ``entity_id`` (opportunity ids, as in ``opportunities``),
        ``to_stage`` (stage names of ``workflow``) and ``at`` (any
        datetime64 unit; aware, or naive like ``as_of``); other columns
        (``from_stage``, ``actor``, ``reason``, ``workflow``...) are
        ignored. Optional ``amount`` (numbers) and ``close_date`` (dates,
        or ISO date strings) columns hold the value a change set, missing
        where it did not change. Row order matters only between moves of
        one opportunity at the same instant: the later row wins (a store
        gives position order).
    opportunities : DataFrame
        One row per opportunity: ``id``, ``created_at``, ``amount`` and
        ``close_date`` (the current values, used where the log has none).
    as_of : datetime or date-like
        The moment (a date: the end of that day in the zone of ``at``).
        Nothing after it is read.
    workflow : Workflow, default OPPORTUNITY_WORKFLOW
        Stages, forecast categories and the initial stage (the stage of a
        deal with no move yet).
    id_col, created_col, value_col, date_col : str
        Column names (``value_col`` and ``date_col`` also name the history
        columns of ``events``).

    Returns
    -------
    DataFrame
        Indexed by opportunity id, the opportunities created at or before
        ``as_of``: ``stage``, ``forecast_category``, ``is_open``,
        ``is_won``, ``amount``, ``close_date`` (in the zone of the input)
        and ``last_change_at`` (the last move at or before ``as_of``, NaT:
        none).

    Raises
    ------
    ValidationError
        Missing columns, duplicate or unknown opportunity ids, unknown
        stages, bad amounts or dates, a naive ``as_of`` for aware events.
    """
    cols = (id_col, created_col, value_col, date_col)
    hist = _history(events, opportunities, workflow, cols)
    t = resolve_as_of(as_of, tz=hist.tz).ns
    snap = hist.snapshot(t)
    keep = snap.exists
    stage = snap.stage[keep]
    names = np.asarray(workflow.stage_names, dtype=object)
    closed = hist.flags("is_closed")
    return pd.DataFrame(
        {
            "stage": names[stage],
            "forecast_category": hist.categories()[stage],
            "is_open": ~closed[stage],
            "is_won": hist.flags("is_won")[stage],
            "amount": snap.amount[keep],
            "close_date": _timestamps(snap.close[keep], hist.close_tz),
            "last_change_at": _timestamps(snap.last_at[keep], hist.tz),
        },
        index=pd.Index(hist.ids[keep], name=id_col),
    )


def _timestamps(ns: I64, tz: Any) -> pd.DatetimeIndex:
    return timestamps(ns, tz)  # NAT reads as NaT


@attrs.frozen(slots=True, eq=False)
class ForecastAccuracy:
    """What :func:`forecast_accuracy` returns.

    Attributes
    ----------
    detail : DataFrame
        One row per group, period and ``as_of``: the forecasts ``closed``,
        ``commit``, ``best_case``, ``pipeline``, the ``actual``, the errors
        ``commit_error`` and ``best_case_error`` (forecast minus actual)
        and the hits ``commit_hit``, ``best_case_hit``.
    summary : DataFrame
        One row per group: ``periods`` (rows of ``detail``), ``actual``,
        and for ``commit`` and ``best_case`` the ``_bias``, ``_mape`` and
        ``_hit_rate`` (see the module notes for the definitions).
    """

    detail: pd.DataFrame
    summary: pd.DataFrame


def _groups(opportunities: pd.DataFrame, keys: list[str]) -> tuple[I64, pd.Index]:
    if not keys:
        return np.zeros(len(opportunities), dtype=np.int64), pd.Index(["total"])
    if len(keys) == 1:
        codes, uniques = pd.factorize(opportunities[keys[0]], sort=True, use_na_sentinel=False)
        return np.asarray(codes, dtype=np.int64), pd.Index(uniques, name=keys[0])
    mi = pd.MultiIndex.from_frame(opportunities[keys])
    codes, uniques = pd.factorize(mi, sort=True, use_na_sentinel=False)
    return np.asarray(codes, dtype=np.int64), pd.MultiIndex.from_tuples(uniques, names=keys)


def forecast_accuracy(
    events: pd.DataFrame,
    opportunities: pd.DataFrame,
    *,
    as_of: Sequence[object] | object,
    freq: str = "Q",
    by: str | Sequence[str] | None = None,
    tolerance: float = 0.1,
    workflow: Workflow = OPPORTUNITY_WORKFLOW,
    id_col: str = "id",
    created_col: str = "created_at",
    value_col: str = "amount",
    date_col: str = "close_date",
) -> ForecastAccuracy:
    """Bias, MAPE and hit rate of committed and best-case forecasts, by period and owner.

    Each cut-off in ``as_of`` forecasts the ``freq`` period holding the
    first instant after it (``as_of="2026-03-31"`` forecasts the second
    quarter; a cut-off in the middle of a quarter, the rest of that
    quarter), from the pipeline as it stood at the cut-off; the actual is
    what was won in that period, read from the log at the period's end.
    The module notes state the roll-up and the measures.

    Parameters
    ----------
    events, opportunities : DataFrame
        The stage-change log and the opportunity table, as for
        :func:`pipeline_snapshot`.
    as_of : date-like or sequence of date-likes
        The cut-offs at which forecasts were made (a date: the end of that
        day in the zone of ``at``).
    freq : str, default "Q"
        The forecast period: ``"M"``, ``"Q"``, ``"Y"``, ``"W"``...
        Periods and won instants are read on the wall clock of ``at``;
        close dates on their own.
    by : str or sequence of str, optional
        Grouping columns of ``opportunities`` (``"owner"``): their current
        values (no owner history is read).
    tolerance : float, default 0.1
        A forecast within ``tolerance`` x actual of the actual is a hit.
    workflow : Workflow, default OPPORTUNITY_WORKFLOW
        Stages, won / closed flags and forecast categories.
    id_col, created_col, value_col, date_col : str
        Column names.

    Returns
    -------
    ForecastAccuracy
        ``detail`` (per group, period and cut-off) and ``summary`` (per
        group).

    Raises
    ------
    ValidationError
        Anything :func:`pipeline_snapshot` refuses, an empty ``as_of``, a
        bad ``freq`` or a negative ``tolerance``.

    Examples
    --------
    >>> import pandas as pd
    >>> opps = pd.DataFrame(
    ...     {
    ...         "id": ["o1", "o2"],
    ...         "owner": ["ann", "ann"],
    ...         "created_at": pd.to_datetime(["2026-01-05", "2026-01-05"]).tz_localize("UTC"),
    ...         "amount": [100.0, 50.0],
    ...         "close_date": pd.to_datetime(["2026-05-10", "2026-06-20"]),
    ...     }
    ... )
    >>> log = pd.DataFrame(
    ...     {
    ...         "entity_id": ["o1", "o2", "o1"],
    ...         "to_stage": ["negotiation", "proposal", "closed_won"],
    ...         "at": pd.to_datetime(["2026-03-01", "2026-03-02", "2026-05-12"]).tz_localize(
    ...             "UTC"
    ...         ),
    ...     }
    ... )
    >>> acc = forecast_accuracy(log, opps, as_of=["2026-03-31"], by="owner")
    >>> acc.detail.droplevel("as_of")[["commit", "best_case", "actual", "commit_hit"]]
                  commit  best_case  actual  commit_hit
    owner period
    ann   2026Q2   100.0      150.0   100.0        True
    >>> acc.summary[["periods", "commit_bias", "best_case_bias", "best_case_mape"]]
           periods  commit_bias  best_case_bias  best_case_mape
    owner
    ann          1          0.0             0.5             0.5
    """
    cuts = [as_of] if isinstance(as_of, str) or not isinstance(as_of, Sequence) else list(as_of)
    if not cuts:
        raise ValidationError("as_of must name at least one cut-off", field="as_of")
    step = parse_freq(freq)
    tol = check_scalar(tolerance, name="tolerance", low=0)
    keys = by_keys(opportunities, by)
    hist = _history(events, opportunities, workflow, (id_col, created_col, value_col, date_col))
    # groups of the opportunities created by the end of the last period read: a deal
    # created later names no group yet
    last_end = max(_period_end(resolve_as_of(c, tz=hist.tz).ns, step, hist.tz) for c in cuts)
    seen = hist.created <= last_end
    group = np.full(len(opportunities), -1, dtype=np.int64)
    group[seen], labels = _groups(opportunities.loc[seen], keys)
    n_groups = len(labels)
    won = hist.flags("is_won")
    closed = hist.flags("is_closed")
    cats = hist.categories()
    commit = cats == "commit"
    best = cats == "best_case"
    rows: list[dict[str, Any]] = []
    out_index: list[tuple[Any, ...]] = []
    snapshots: dict[int, Snapshot] = {}  # a period's end is often the next cut-off

    def snapshot(t: int) -> Snapshot:
        if t not in snapshots:
            snapshots[t] = hist.snapshot(t)
        return snapshots[t]

    for cut_value in cuts:
        cut = resolve_as_of(cut_value, tz=hist.tz)
        t = cut.ns
        code = int(period_codes(wall_ns(np.array([t + 1], dtype=np.int64), hist.tz), step)[0])
        bounds = np.array([code, code + 1], dtype=np.int64)
        p_start, p_next = period_starts(bounds, step, hist.tz).tolist()
        w_start, w_next = period_starts(bounds, step, None).tolist()
        at_cut = snapshot(t)
        at_end = snapshot(p_next - 1)
        close_wall = _close_wall(hist, at_cut)
        in_period = (close_wall != NAT) & (close_wall >= w_start) & (close_wall < w_next)
        open_ = at_cut.exists & ~closed[at_cut.stage]
        done = (
            at_cut.exists & won[at_cut.stage] & (at_cut.last_at >= p_start) & (at_cut.last_at <= t)
        )
        actual = (
            at_end.exists
            & won[at_end.stage]
            & (at_end.last_at >= p_start)
            & (at_end.last_at < p_next)
        )
        a_cut = at_cut.amount

        def total(mask: B, amount: F64) -> F64:
            sums = np.bincount(group[mask], weights=amount[mask], minlength=n_groups)
            return np.asarray(sums, dtype=np.float64)

        f_closed = total(done, a_cut)
        f_commit = f_closed + total(open_ & in_period & commit[at_cut.stage], a_cut)
        f_best = f_commit + total(open_ & in_period & best[at_cut.stage], a_cut)
        f_pipe = f_best + total(
            open_ & in_period & ~commit[at_cut.stage] & ~best[at_cut.stage], a_cut
        )
        f_actual = total(actual, at_end.amount)
        period = period_labels(bounds[:1], step)[0]
        for g in range(n_groups):
            label = labels[g] if isinstance(labels[g], tuple) else (labels[g],)
            out_index.append((*label, period, cut.timestamp))
            rows.append(
                {
                    "closed": f_closed[g],
                    "commit": f_commit[g],
                    "best_case": f_best[g],
                    "pipeline": f_pipe[g],
                    "actual": f_actual[g],
                }
            )
    names = [*(keys or ["group"]), "period", "as_of"]
    columns = ["closed", "commit", "best_case", "pipeline", "actual"]
    index = pd.MultiIndex.from_tuples(out_index, names=names)
    detail = pd.DataFrame(rows, index=index, columns=columns, dtype=np.float64)
    for f in ("commit", "best_case"):
        err = detail[f] - detail["actual"]
        detail[f"{f}_error"] = err
        detail[f"{f}_hit"] = err.abs() <= tol * detail["actual"]
    if not keys:
        detail = detail.droplevel("group")
    return ForecastAccuracy(detail, _summary(detail, keys))


def _period_end(t: int, step: Any, tz: Any) -> int:
    """Return the last instant (ns) of the ``step`` period holding the first one after ``t``."""
    code = int(period_codes(wall_ns(np.array([t + 1], dtype=np.int64), tz), step)[0])
    return int(period_starts(np.array([code + 1], dtype=np.int64), step, tz)[0]) - 1


def _summary(detail: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    level: Any = keys if keys else np.zeros(len(detail), dtype=np.int64)
    g = detail.groupby(level=keys, sort=True) if keys else detail.groupby(level, sort=True)
    actual = g["actual"].sum()
    out = pd.DataFrame({"periods": g.size().astype(np.int64), "actual": actual})
    for f in ("commit", "best_case"):
        err = detail[f] - detail["actual"]
        ape = (err.abs() / detail["actual"]).where(detail["actual"] > 0)
        parts = pd.DataFrame({"err": err, "ape": ape, "hit": detail[f"{f}_hit"].astype(float)})
        pg = parts.groupby(level=keys, sort=True) if keys else parts.groupby(level, sort=True)
        with np.errstate(divide="ignore", invalid="ignore"):
            out[f"{f}_bias"] = pg["err"].sum() / actual.where(actual != 0)
        out[f"{f}_mape"] = pg["ape"].mean()
        out[f"{f}_hit_rate"] = pg["hit"].mean()
    if not keys:
        out.index = pd.Index(["total"])
    return out


def _period_bounds(period: object, name: str = "closing_in") -> tuple[int, int]:
    """Wall-clock ns bounds ``[start, next)`` of a ``pandas.Period`` (or its text)."""
    try:
        p = period if isinstance(period, pd.Period) else pd.Period(str(period))
    except (ValueError, TypeError) as exc:
        raise ValidationError(
            f"{name} must be a pandas Period or its text such as '2026Q2' or '2026-06'; got "
            f"{period!r}",
            field=name,
            value=period,
        ) from exc
    return int(p.start_time.as_unit("ns").value), int((p + 1).start_time.as_unit("ns").value)


def pipeline_changes(
    events: pd.DataFrame,
    opportunities: pd.DataFrame,
    *,
    start: object,
    end: object,
    closing_in: object = None,
    by: str | Sequence[str] | None = None,
    workflow: Workflow = OPPORTUNITY_WORKFLOW,
    id_col: str = "id",
    created_col: str = "created_at",
    value_col: str = "amount",
    date_col: str = "close_date",
) -> pd.DataFrame:
    """How the open pipeline changed between two dates (the "waterfall").

    The pipeline is the open deals (with ``closing_in``: those whose close date
    falls in it) as they stood at ``start`` and at ``end``
    (:func:`pipeline_snapshot`). Each deal's move between the two is
    counted once:

    ========================= =============================================
    ``new``                   not open at ``start`` (not created yet, or
                              closed then), in the pipeline at ``end`` or
                              closed in between with a close date in scope:
                              ``+`` its amount at ``end``
    ``pulled_in`` /           close date moved earlier / later. With
    ``slipped``               ``closing_in``: moved into it (``+`` amount at
                              ``end``) or out of it (``-`` amount at
                              ``start``); moves inside the period, and every
                              move without ``closing_in``, count with amount 0
    ``amount_increased`` /    deals in the pipeline at ``start`` still in it
    ``amount_decreased``      (or closed) at ``end``: ``+`` the change
    ``won`` / ``lost``        closed in between: ``-`` the amount at close
    ========================= =============================================

    so that ``amount`` of ``start`` plus the movements equals ``end``.

    Parameters
    ----------
    events, opportunities : DataFrame
        As for :func:`pipeline_snapshot`.
    start, end : datetime or date-like
        The two moments (a date: the end of that day in the zone of ``at``).
    closing_in : pandas.Period or str, optional
        Restrict the pipeline to deals closing in this period
        (``"2026Q2"``, ``"2026-06"``), on the close dates' wall clock.
    by : str or sequence of str, optional
        Grouping columns of ``opportunities`` (current values).
    workflow : Workflow, default OPPORTUNITY_WORKFLOW
        Stages and won / closed flags.
    id_col, created_col, value_col, date_col : str
        Column names.

    Returns
    -------
    DataFrame
        Indexed by ``movement`` (:data:`MOVEMENTS`; with ``by``, the groups
        then ``movement``): ``count`` (deals) and ``amount`` (the total for
        ``start`` and ``end``, the signed contribution otherwise).

    Raises
    ------
    ValidationError
        Anything :func:`pipeline_snapshot` refuses, ``end`` before
        ``start``, or a bad ``closing_in``.

    Examples
    --------
    >>> import pandas as pd
    >>> opps = pd.DataFrame(
    ...     {
    ...         "id": ["o1", "o2", "o3"],
    ...         "created_at": pd.to_datetime(
    ...             ["2026-01-05", "2026-01-05", "2026-02-10"]
    ...         ).tz_localize("UTC"),
    ...         "amount": [100.0, 50.0, 30.0],
    ...         "close_date": pd.to_datetime(["2026-03-10", "2026-03-20", "2026-03-25"]),
    ...     }
    ... )
    >>> log = pd.DataFrame(
    ...     {
    ...         "entity_id": ["o1"],
    ...         "to_stage": ["closed_won"],
    ...         "at": pd.to_datetime(["2026-02-15"]).tz_localize("UTC"),
    ...     }
    ... )
    >>> pipeline_changes(log, opps, start="2026-01-31", end="2026-02-28")
                      count  amount
    movement
    start                 2   150.0
    new                   1    30.0
    pulled_in             0     0.0
    slipped               0     0.0
    amount_increased      0     0.0
    amount_decreased      0     0.0
    won                   1  -100.0
    lost                  0     0.0
    end                   2    80.0
    """
    keys = by_keys(opportunities, by)
    hist = _history(events, opportunities, workflow, (id_col, created_col, value_col, date_col))
    t0 = resolve_as_of(start, tz=hist.tz, name="start")
    t1 = resolve_as_of(end, tz=hist.tz, name="end")
    if t1.ns < t0.ns:
        raise ValidationError(f"end ({t1}) is before start ({t0})", field="end", value=end)
    s, e = hist.snapshot(t0.ns), hist.snapshot(t1.ns)
    won, closed = hist.flags("is_won"), hist.flags("is_closed")
    cs, ce = _close_wall(hist, s), _close_wall(hist, e)
    if closing_in is None:
        in_s = np.ones(cs.size, dtype=bool)
        in_e = in_s
    else:
        lo, hi = _period_bounds(closing_in)
        in_s = (cs != NAT) & (cs >= lo) & (cs < hi)
        in_e = (ce != NAT) & (ce >= lo) & (ce < hi)
    s_open = s.exists & ~closed[s.stage]
    e_open = e.exists & ~closed[e.stage]
    e_closed = e.exists & closed[e.stage]
    s_in = s_open & in_s
    e_in = e_open & in_e
    closed_between = e_closed & ~(s.exists & closed[s.stage])
    entered = ~s_in & (e_in | (closed_between & in_e))
    tracked = s_in | entered
    later = (cs != NAT) & (ce != NAT) & (ce > cs)
    earlier = (cs != NAT) & (ce != NAT) & (ce < cs)
    a_s, a_e = s.amount, e.amount
    zero = np.zeros(cs.size)
    moved_out = s_in & e_open & ~in_e
    stays = s_in & (e_in | closed_between)
    delta = np.where(stays, a_e - a_s, 0.0)
    movement: dict[str, tuple[B, F64]] = {
        "start": (s_in, a_s),
        "new": (entered & ~s_open, a_e),
        "pulled_in": (
            (entered & s_open & ~later) | (moved_out & earlier) | (s_in & e_in & earlier),
            np.where(entered, a_e, np.where(moved_out, -a_s, zero)),
        ),
        "slipped": (
            (entered & s_open & later) | (moved_out & ~earlier) | (s_in & e_in & later),
            np.where(entered, a_e, np.where(moved_out, -a_s, zero)),
        ),
        "amount_increased": (stays & (delta > 0), delta),
        "amount_decreased": (stays & (delta < 0), delta),
        "won": (tracked & closed_between & won[e.stage], -a_e),
        "lost": (tracked & closed_between & ~won[e.stage], -a_e),
        "end": (e_in, a_e),
    }
    group, labels = _groups(opportunities, keys)
    n_groups = len(labels)
    counts = np.zeros((n_groups, len(MOVEMENTS)), dtype=np.int64)
    amounts = np.zeros((n_groups, len(MOVEMENTS)))
    for j, name in enumerate(MOVEMENTS):
        mask, amount = movement[name]
        counts[:, j] = np.bincount(group[mask], minlength=n_groups)
        amounts[:, j] = np.bincount(group[mask], weights=amount[mask], minlength=n_groups)
    if not keys:
        return pd.DataFrame(
            {"count": counts[0], "amount": amounts[0]},
            index=pd.Index(list(MOVEMENTS), name="movement"),
        )
    tuples = [
        (*(labels[g] if isinstance(labels[g], tuple) else (labels[g],)), m)
        for g in range(n_groups)
        for m in MOVEMENTS
    ]
    return pd.DataFrame(
        {"count": counts.ravel(), "amount": amounts.ravel()},
        index=pd.MultiIndex.from_tuples(tuples, names=[*keys, "movement"]),
    )
