"""Service operations: ticket KPIs by category and channel, complaint trends with a test.

Tickets carry a category (and sub-category) and a channel as frame columns;
handle time comes from a work-log frame (one row per stretch of work on a
ticket). Everything is read as of ``as_of``: tickets created, moves made,
work done and surveys answered at or before it.

Complaint trends compare each period's rate with the previous period's by
the conditional exact test for two Poisson rates: given ``n = x1 + x2``
complaints in the two periods with exposures ``t1`` and ``t2`` (days
observed, or e.g. orders), ``x2`` is binomial ``(n, p)`` with
``p = λ2 t2 / (λ1 t1 + λ2 t2)``, and equal rates mean ``p0 = t2 / (t1 + t2)``
(Przyborowski & Wilenski 1940, *Biometrika* 31, 313-323; the "C-test" of
Krishnamoorthy & Thomson 2004, *J. Statist. Plann. Inference* 119, 23-35).
The p-value is the exact two-sided binomial test; the interval of the rate
ratio ``λ2 / λ1`` maps the Clopper-Pearson (1934, *Biometrika* 26, 404-413)
interval ``[pl, pu]`` of ``p`` through ``p / (1 - p) · t1 / t2``, so it has
at least the stated coverage.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from crmcore._stats import check_confidence
from crmcore._time import (
    NS_PER_DAY,
    parse_freq,
    period_codes,
    period_labels,
    period_starts,
    read_dates,
    read_instants,
    resolve_as_of,
    wall_ns,
)
from crmcore._validation import as_float_array, check_columns, check_scalar
from crmcore.errors import ValidationError
from crmcore.pipeline._defaults import TICKET_WORKFLOW
from crmcore.pipeline._tables import I64, stage_attr, stage_codes
from crmcore.pipeline._workflow import Workflow

__all__ = ["complaint_trends", "ticket_kpis"]


def _keys(frame: pd.DataFrame, by: str | Sequence[str] | None, name: str) -> list[str]:
    keys = [] if by is None else ([by] if isinstance(by, str) else list(by))
    check_columns(frame, keys, name=name)
    twice = [k for i, k in enumerate(keys) if k in keys[:i]]
    if twice:
        raise ValidationError(
            f"by names column {twice[0]!r} twice; name each grouping column once",
            field="by",
            value=by,
        )
    return keys


def _ticket_flags(
    ids: pd.Index, events: pd.DataFrame, cut: int, workflow: Workflow
) -> tuple[I64, np.ndarray, np.ndarray, np.ndarray]:
    """Per ticket at ``cut``: stage code (-1: no move), ever resolved, reopened, paused."""
    check_columns(events, ["entity_id", "from_stage", "to_stage", "at"], name="events")
    at = read_instants(events["at"], name="at").ns
    keep = at <= cut
    ev = events.loc[keep] if not keep.all() else events
    at = at[keep]
    pos = ids.get_indexer(pd.Index(ev["entity_id"].to_numpy()))
    known = pos >= 0
    f = stage_codes(ev["from_stage"], workflow, "from_stage")[known]
    t = stage_codes(ev["to_stage"], workflow, "to_stage")[known]
    pos, at = pos[known], at[known]
    closed = stage_attr(workflow, "is_closed").astype(bool)
    pauses = stage_attr(workflow, "pauses_sla").astype(bool)
    n = len(ids)
    order = np.lexsort((at, pos))
    stage = np.full(n, -1, dtype=np.int64)
    stage[pos[order]] = t[order]  # the last write per ticket is its latest move
    resolved = np.bincount(pos[closed[t]], minlength=n) > 0
    reopened = np.bincount(pos[closed[f] & ~closed[t]], minlength=n) > 0
    paused = np.bincount(pos[pauses[t]], minlength=n) > 0
    return stage, resolved, reopened, paused


def _handle_minutes(
    ids: pd.Index, worklogs: pd.DataFrame, cut: int, cols: tuple[str, str, str]
) -> np.ndarray:
    """Minutes worked on each ticket up to ``cut`` (NaN: no work logged)."""
    ticket_col, start_col, end_col = cols
    check_columns(worklogs, [ticket_col, start_col, end_col], name="worklogs")
    start = read_instants(worklogs[start_col], name=start_col, row_name="work log").ns
    end = read_instants(worklogs[end_col], name=end_col, row_name="work log").ns
    if (end < start).any():
        row = worklogs.index[int(np.flatnonzero(end < start)[0])]
        raise ValidationError(
            f"{end_col} is before {start_col} in work log row {row!r}", field=end_col, row=row
        )
    worked = np.clip(np.minimum(end, cut) - start, 0, None)  # work after as_of not yet done
    pos = ids.get_indexer(pd.Index(worklogs[ticket_col].to_numpy()))
    use = (pos >= 0) & (start <= cut)
    total = np.bincount(pos[use], weights=worked[use] / 60e9, minlength=len(ids))
    logged = np.bincount(pos[use], minlength=len(ids)) > 0
    return np.where(logged, total, np.nan)


def _csat(
    ids: pd.Index, surveys: pd.DataFrame, cut: int, satisfied_at: int, scale: int
) -> tuple[np.ndarray, np.ndarray]:
    """Satisfied and answered counts per ticket, surveys answered up to ``cut``."""
    check_columns(surveys, ["ticket_id", "score", "answered_at"], name="surveys")
    answered = read_instants(surveys["answered_at"], name="answered_at", row_name="survey").ns
    score = as_float_array(surveys["score"], name="score", row_name="survey")
    bad = (score < 1) | (score > scale) | (score != np.round(score))
    if bad.any():
        first = int(np.flatnonzero(bad)[0])
        raise ValidationError(
            f"score must be a whole number from 1 to {scale}; got {score[first]} in survey row "
            f"{surveys.index[first]!r}",
            field="score",
            row=surveys.index[first],
            value=score[first],
        )
    pos = ids.get_indexer(pd.Index(surveys["ticket_id"].to_numpy()))
    use = (pos >= 0) & (answered <= cut)
    n = np.bincount(pos[use], minlength=len(ids))
    sat = np.bincount(pos[use & (score >= satisfied_at)], minlength=len(ids))
    return sat.astype(np.float64), n.astype(np.float64)


def ticket_kpis(
    tickets: pd.DataFrame,
    events: pd.DataFrame,
    *,
    as_of: object,
    by: str | Sequence[str] | None = ("category", "channel"),
    worklogs: pd.DataFrame | None = None,
    surveys: pd.DataFrame | None = None,
    satisfied_at: int = 4,
    scale: int = 5,
    workflow: Workflow = TICKET_WORKFLOW,
    id_col: str = "id",
    created_col: str = "created_at",
    worklog_cols: tuple[str, str, str] = ("ticket_id", "started_at", "ended_at"),
) -> pd.DataFrame:
    """Volume, handling time, first-contact resolution, reopen rate, backlog and CSAT by group.

    Parameters
    ----------
    tickets : DataFrame
        One row per ticket: ``id``, ``created_at`` and the ``by`` columns
        (``category``, ``sub_category``, ``channel``...).
    events : DataFrame
        The tickets' stage-change log: ``entity_id``, ``from_stage``,
        ``to_stage``, ``at`` (:func:`~crmcore.pipeline.events_frame`).
    as_of : datetime or date-like
        The moment (a date: the end of that day in the zone of
        ``created_at``). Tickets created later are not counted; later
        moves, work and answers are not read.
    by : str or sequence of str, default ("category", "channel")
        Grouping columns of ``tickets``; ``None`` for one ``total`` row.
    worklogs : DataFrame, optional
        Work on tickets: ``ticket_id``, ``started_at``, ``ended_at``
        (``worklog_cols``); work running at ``as_of`` counts up to it.
    surveys : DataFrame, optional
        CSAT answers: ``ticket_id``, ``score`` (1 to ``scale``),
        ``answered_at``.
    satisfied_at : int, default 4
        Lowest answer counted as satisfied (top-2-box on a 5-point scale,
        as :func:`crmcore.loyalty.csat`).
    scale : int, default 5
        Top of the CSAT scale.
    workflow : Workflow, default TICKET_WORKFLOW
        Closed (resolved) and pausing stages.
    id_col, created_col : str
        Column names in ``tickets``.
    worklog_cols : tuple of str
        Ticket, start and end columns of ``worklogs``.

    Returns
    -------
    DataFrame
        One row per group: ``tickets`` (created by ``as_of``), ``resolved``
        (in a closed stage at ``as_of``), ``avg_handle_minutes`` (mean work
        per ticket with work logged), ``first_contact_resolution`` (share of
        resolved tickets never paused nor reopened, as in
        :func:`service_kpis`), ``reopen_rate`` (share of tickets ever
        resolved that were reopened), ``backlog`` (open tickets),
        ``backlog_age_hours`` (their mean age, elapsed) and, with surveys,
        ``csat`` (percent satisfied) and ``csat_responses``.

    Raises
    ------
    ValidationError
        Missing columns, naive or unreadable times, unknown stages, work
        ending before it starts, scores outside the scale.

    Examples
    --------
    >>> import pandas as pd
    >>> t = pd.Timestamp("2026-03-02 09:00", tz="UTC")
    >>> tickets = pd.DataFrame(
    ...     {
    ...         "id": ["T1", "T2", "T3"],
    ...         "category": ["billing", "billing", "delivery"],
    ...         "channel": ["chat", "chat", "email"],
    ...         "created_at": [t, t, t],
    ...     }
    ... )
    >>> events = pd.DataFrame(
    ...     {
    ...         "entity_id": ["T1", "T2", "T2"],
    ...         "from_stage": ["new", "new", "resolved"],
    ...         "to_stage": ["resolved", "resolved", "in_progress"],
    ...         "at": [t + pd.Timedelta(hours=h) for h in (1, 2, 5)],
    ...     }
    ... )
    >>> k = ticket_kpis(tickets, events, as_of="2026-03-02")
    >>> k[["tickets", "resolved", "reopen_rate", "backlog"]]
                      tickets  resolved  reopen_rate  backlog
    category channel
    billing  chat           2         1          0.5        1
    delivery email          1         0          NaN        1
    >>> k["first_contact_resolution"].tolist()  # T1 resolved, never reopened
    [1.0, nan]
    """
    keys = _keys(tickets, by, "tickets")
    check_columns(tickets, [id_col, created_col], name="tickets")
    sat_at = int(check_scalar(satisfied_at, name="satisfied_at", low=1, integer=True))
    top = int(check_scalar(scale, name="scale", low=2, integer=True))
    if sat_at > top:
        raise ValidationError(
            f"satisfied_at={sat_at} is above scale={top}", field="satisfied_at", value=sat_at
        )
    created_dates = read_instants(tickets[created_col], name=created_col, row_name="ticket")
    cut = resolve_as_of(as_of, tz=created_dates.tz).ns
    existed = created_dates.ns <= cut
    ids = pd.Index(tickets[id_col].to_numpy())
    if ids.has_duplicates:
        dup = ids[ids.duplicated()][0]
        raise ValidationError(f"ticket {dup!r} appears twice in {id_col}", field=id_col, value=dup)
    stage, resolved_ever, reopened, paused = _ticket_flags(ids, events, cut, workflow)
    closed = stage_attr(workflow, "is_closed").astype(bool)
    is_closed = (stage >= 0) & closed[np.maximum(stage, 0)]
    cols: dict[str, Any] = {
        "tickets": np.ones(len(ids)),
        "resolved": is_closed.astype(float),
        "fcr": (is_closed & ~reopened & ~paused).astype(float),
        "ever": resolved_ever.astype(float),
        "reopened": (resolved_ever & reopened).astype(float),
        "backlog": (~is_closed).astype(float),
        "age": np.where(~is_closed, (cut - created_dates.ns) / 3.6e12, np.nan),
    }
    if worklogs is not None:
        cols["handle"] = _handle_minutes(ids, worklogs, cut, worklog_cols)
    if surveys is not None:
        cols["sat"], cols["answers"] = _csat(ids, surveys, cut, sat_at, top)
    parts = pd.DataFrame(cols, index=tickets.index).loc[existed]
    if keys:
        group: Any = [tickets.loc[existed, k].to_numpy() for k in keys]
        g = parts.groupby(group, sort=True, dropna=False)
    else:
        # one category observed or not: no ticket yet still gives the one total row
        total: Any = pd.Categorical(np.zeros(len(parts), dtype=np.int64), categories=[0])
        g = parts.groupby(total, observed=False)
    sums = g.sum(min_count=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        out = pd.DataFrame(
            {
                "tickets": sums["tickets"].astype(np.int64),
                "resolved": sums["resolved"].astype(np.int64),
                "avg_handle_minutes": g["handle"].mean() if "handle" in parts else np.nan,
                "first_contact_resolution": sums["fcr"] / sums["resolved"],
                "reopen_rate": sums["reopened"] / sums["ever"],
                "backlog": sums["backlog"].astype(np.int64),
                "backlog_age_hours": g["age"].mean(),
            }
        )
        if surveys is not None:
            out["csat"] = 100.0 * sums["sat"] / sums["answers"]
            out["csat_responses"] = sums["answers"].astype(np.int64)
    if keys:
        out.index.names = keys
    else:
        out.index = pd.Index(["total"])
    return out


def complaint_trends(
    tickets: pd.DataFrame,
    *,
    as_of: object,
    freq: str = "M",
    by: str | Sequence[str] | None = "category",
    exposure: pd.Series | None = None,
    confidence: float = 0.95,
    date_col: str = "created_at",
) -> pd.DataFrame:
    """Complaints per period and group, each period tested against the one before.

    The test and the interval are stated in the module notes: the
    conditional exact test for two Poisson rates and the Clopper-Pearson
    interval mapped to the rate ratio.

    Parameters
    ----------
    tickets : DataFrame
        The complaints (filter the tickets first, e.g. with a segment rule
        on their category or type), with ``date_col`` and the ``by`` columns.
    as_of : datetime or date-like
        The cut-off: complaints at or before it count; the period holding it
        is observed up to it only.
    freq : str, default "M"
        Period: ``"W"``, ``"M"``, ``"Q"``... on the wall clock of
        ``date_col``.
    by : str or sequence of str, default "category"
        Grouping columns; ``None`` for all complaints together.
    exposure : Series, optional
        The exposure of each period, indexed by period (a ``PeriodIndex``
        of ``freq``, or anything ``pandas.Period`` reads), positive: orders,
        active customers... Default: the days observed in each period (a
        31-day month has more exposure than February; the period holding
        ``as_of`` only up to it).
    confidence : float, default 0.95
        Level of the rate-ratio interval; a change is flagged when the
        p-value is below ``1 - confidence``.
    date_col : str, default "created_at"
        When each complaint was raised.

    Returns
    -------
    DataFrame
        Indexed by the groups and ``period`` (every period from the first
        complaint's to ``as_of``'s, empty ones included): ``count``,
        ``exposure``, ``rate`` (count / exposure), ``share`` (of the
        period's complaints), ``previous``, ``rate_ratio`` (this period's
        rate over the previous one's), ``ci_low``, ``ci_high``,
        ``p_value`` and ``changed``; the test columns are missing for the
        first period and where both periods have no complaint.

    Raises
    ------
    ValidationError
        Missing columns, bad dates, a bad ``freq`` or ``confidence``, or
        an exposure missing or not positive for a period.

    Examples
    --------
    >>> import pandas as pd
    >>> days = pd.to_datetime(["2026-01-10"] * 10 + ["2026-02-10"] * 30)
    >>> complaints = pd.DataFrame({"created_at": days, "category": "delivery"})
    >>> t = complaint_trends(complaints, as_of="2026-02-28")
    >>> t[["count", "exposure", "rate_ratio", "changed"]].round(3)
                      count  exposure  rate_ratio  changed
    category period
    delivery 2026-01     10      31.0         NaN     <NA>
             2026-02     30      28.0       3.321     True
    """
    keys = _keys(tickets, by, "tickets")
    conf = check_confidence(confidence)
    step = parse_freq(freq)
    check_columns(tickets, [date_col], name="tickets")
    dates = read_dates(tickets[date_col], name=date_col, row_name="ticket")
    cut = resolve_as_of(as_of, tz=dates.tz)
    keep = dates.ns <= cut.ns
    wall = dates.wall_ns()[keep]
    cut_wall = int(wall_ns(np.array([cut.ns], dtype=np.int64), dates.tz)[0])
    last = int(period_codes(np.array([cut_wall], dtype=np.int64), step)[0])
    codes = period_codes(wall, step) if wall.size else np.zeros(0, dtype=np.int64)
    first = int(codes.min()) if codes.size else last
    periods = np.arange(first, last + 1, dtype=np.int64)
    labels = period_labels(periods, step)
    starts = period_starts(np.append(periods, last + 1), step, None)
    if exposure is None:
        ends = starts[1:].copy()
        ends[-1] = min(int(ends[-1]), cut_wall + 1)
        expo = (ends - starts[:-1]) / NS_PER_DAY
    else:
        expo = _exposure(exposure, labels)
    sub = tickets.loc[keep]
    if keys:
        mi = pd.MultiIndex.from_frame(sub[keys]) if len(keys) > 1 else pd.Index(sub[keys[0]])
        gcode, groups = pd.factorize(mi, sort=True, use_na_sentinel=False)
    else:
        gcode, groups = np.zeros(len(sub), dtype=np.int64), pd.Index(["all"])
    n_groups, n_periods = len(groups), periods.size
    counts = np.bincount(
        np.asarray(gcode, dtype=np.int64) * n_periods + (codes - first),
        minlength=n_groups * n_periods,
    ).reshape(n_groups, n_periods)
    per_period = counts.sum(axis=0)
    rows = []
    z = 1.0 - conf
    for g in range(n_groups):
        for j in range(n_periods):
            x2 = int(counts[g, j])
            row: dict[str, Any] = {
                "count": x2,
                "exposure": float(expo[j]),
                "rate": x2 / expo[j],
                "share": x2 / per_period[j] if per_period[j] else np.nan,
                "previous": int(counts[g, j - 1]) if j else pd.NA,
            }
            row.update(_rate_test(int(counts[g, j - 1]), x2, expo[j - 1], expo[j], z) if j else {})
            rows.append(row)
    out = pd.DataFrame(rows)
    if not rows:  # no complaint at or before as_of: no group to report
        out = pd.DataFrame(
            {"count": np.zeros(0, np.int64), **{c: np.zeros(0) for c in ("exposure", "rate")}}
        ).assign(share=np.zeros(0), previous=np.zeros(0))
    for c in ("rate_ratio", "ci_low", "ci_high", "p_value"):
        if c not in out.columns:
            out[c] = np.nan
    out["previous"] = out["previous"].astype("Int64")
    out["changed"] = pd.array(
        [pd.NA if np.isnan(p) else bool(p < z) for p in out["p_value"]], dtype="boolean"
    )
    group_labels = [groups[g] for g in range(n_groups) for _ in range(n_periods)]
    period_col = list(labels) * n_groups
    if keys and len(keys) > 1:
        tuples = [(*gl, p) for gl, p in zip(group_labels, period_col, strict=True)]
        out.index = pd.MultiIndex.from_tuples(tuples, names=[*keys, "period"])
    elif keys:
        out.index = pd.MultiIndex.from_arrays(
            [group_labels, labels.take(np.tile(np.arange(n_periods), n_groups))],
            names=[keys[0], "period"],
        )
    else:
        out.index = pd.PeriodIndex(period_col, name="period")
    return out


def _exposure(exposure: pd.Series, labels: pd.PeriodIndex) -> np.ndarray:
    if not isinstance(exposure, pd.Series):
        raise ValidationError("exposure must be a Series indexed by period", field="exposure")
    try:
        index = pd.PeriodIndex([pd.Period(p, freq=labels.freqstr) for p in exposure.index])
    except (ValueError, TypeError) as exc:
        raise ValidationError(
            f"exposure index must name periods: {exc}", field="exposure"
        ) from exc
    values = pd.Series(
        as_float_array(exposure, name="exposure", row_name="period"), index=index
    ).reindex(labels)
    bad = ~(values.to_numpy() > 0)
    if bad.any():
        period = labels[int(np.flatnonzero(bad)[0])]
        raise ValidationError(
            f"exposure must be positive for every period from the first complaint to as_of; "
            f"period {period} has {values.iloc[int(np.flatnonzero(bad)[0])]!r}",
            field="exposure",
            value=str(period),
        )
    return values.to_numpy(dtype=np.float64)


def _rate_test(x1: int, x2: int, t1: float, t2: float, alpha: float) -> dict[str, float]:
    """Test equal Poisson rates (conditional exact test); the ratio ``λ2 / λ1`` with its CI."""
    n = x1 + x2
    if n == 0:
        return {"rate_ratio": np.nan, "ci_low": np.nan, "ci_high": np.nan, "p_value": np.nan}
    p0 = t2 / (t1 + t2)
    p_value = float(stats.binomtest(x2, n, p0).pvalue)
    # Clopper-Pearson bounds for p (x2 of n), mapped to the ratio p / (1 - p) * t1 / t2
    lo = 0.0 if x2 == 0 else float(stats.beta.ppf(alpha / 2, x2, n - x2 + 1))
    hi = 1.0 if x2 == n else float(stats.beta.ppf(1 - alpha / 2, x2 + 1, n - x2))
    scale = t1 / t2

    def ratio(p: float) -> float:
        return np.inf if p >= 1.0 else p / (1.0 - p) * scale

    return {
        "rate_ratio": (x2 / t2) / (x1 / t1) if x1 else np.inf,
        "ci_low": ratio(lo),
        "ci_high": ratio(hi),
        "p_value": p_value,
    }
