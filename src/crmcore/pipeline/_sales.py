"""Sales analytics over opportunity tables and stage-change logs (vectorised)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from crmcore._validation import as_float_array, check_columns, check_in_range
from crmcore.errors import ValidationError
from crmcore.pipeline._advance import StageChanged
from crmcore.pipeline._calendar import BusinessCalendar
from crmcore.pipeline._defaults import LEAD_WORKFLOW, OPPORTUNITY_WORKFLOW
from crmcore.pipeline._workflow import FORECAST_CATEGORIES, Workflow

__all__ = [
    "events_frame",
    "forecast",
    "lead_outcomes",
    "sales_cycle_length",
    "stage_funnel",
    "stage_velocity",
    "weighted_pipeline",
    "win_rate",
]

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]
_EVENT_COLUMNS = ["entity_id", "from_stage", "to_stage", "at", "actor", "reason", "workflow"]


def events_frame(events: Iterable[object]) -> pd.DataFrame:
    """Stage-change events as a DataFrame, the input of the log analytics.

    Events of other types (such as ``LeadConverted``) are skipped.

    Returns
    -------
    DataFrame
        Columns ``entity_id``, ``from_stage``, ``to_stage``, ``at`` (UTC),
        ``actor``, ``reason``, ``workflow``; one row per event.

    Examples
    --------
    >>> import datetime as dt
    >>> at = dt.datetime(2026, 1, 5, tzinfo=dt.timezone.utc)
    >>> events_frame([StageChanged("o1", "prospecting", "proposal", at)])[
    ...     ["entity_id", "to_stage"]
    ... ]
      entity_id  to_stage
    0        o1  proposal
    """
    rows = [
        (e.entity_id, e.from_stage, e.to_stage, e.at, e.actor, e.reason, e.workflow)
        for e in events
        if isinstance(e, StageChanged)
    ]
    frame = pd.DataFrame(rows, columns=_EVENT_COLUMNS)
    frame["at"] = pd.to_datetime(frame["at"], utc=True)
    return frame


def _stage_codes(values: pd.Series, wf: Workflow, name: str) -> I64:
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


def _stage_attr(wf: Workflow, attr: str) -> npt.NDArray[Any]:
    return np.array([getattr(wf.stage(s), attr) for s in wf.stage_names])


def _keys(frame: pd.DataFrame, by: str | Sequence[str] | None) -> list[str]:
    if by is None:
        return []
    keys = [by] if isinstance(by, str) else list(by)
    check_columns(frame, keys, name="opportunities")
    return keys


def _grouped(frame: pd.DataFrame, keys: list[str], values: dict[str, Any]) -> pd.DataFrame:
    """Sum ``values`` columns by ``keys`` (or overall, index ``"total"``)."""
    data = pd.DataFrame(values, index=frame.index)
    if not keys:
        return data.sum().to_frame("total").T
    for k in keys:
        data[k] = frame[k].to_numpy()
    return data.groupby(keys, sort=True, observed=True, dropna=False).sum()


def _amounts(frame: pd.DataFrame, col: str) -> F64:
    check_columns(frame, [col], name="opportunities")
    values = frame[col]
    if values.dtype == object:
        values = values.map(lambda v: getattr(v, "amount", v))
    return as_float_array(values, name=col, index=frame.index, row_name="opportunity")


def weighted_pipeline(
    opportunities: pd.DataFrame,
    *,
    by: str | Sequence[str] | None = None,
    workflow: Workflow = OPPORTUNITY_WORKFLOW,
    stage_col: str = "stage",
    amount_col: str = "amount",
    probability_col: str | None = "probability",
) -> pd.DataFrame:
    """Open pipeline: count, amount and probability-weighted amount.

    ``weighted_amount = Σ amount × probability / 100`` over open
    opportunities. Probabilities come from ``probability_col`` (percent,
    0–100) or, if it is ``None`` or absent, from the stage defaults.

    Parameters
    ----------
    opportunities : DataFrame
        One row per opportunity.
    by : str or list of str, optional
        Grouping columns (owner, stage, region...). Default: one ``total`` row.

    Returns
    -------
    DataFrame
        Columns ``count``, ``amount``, ``weighted_amount``.

    Examples
    --------
    >>> import pandas as pd
    >>> opps = pd.DataFrame(
    ...     {
    ...         "stage": ["proposal", "negotiation", "closed_won"],
    ...         "amount": [100.0, 50.0, 70.0],
    ...         "probability": [50, 80, 100],
    ...     }
    ... )
    >>> weighted_pipeline(opps)
           count  amount  weighted_amount
    total      2   150.0             90.0
    """
    check_columns(opportunities, [stage_col], name="opportunities")
    keys = _keys(opportunities, by)
    codes = _stage_codes(opportunities[stage_col], workflow, stage_col)
    amount = _amounts(opportunities, amount_col)
    if probability_col is not None and probability_col in opportunities.columns:
        prob = as_float_array(
            opportunities[probability_col], name=probability_col, row_name="opportunity"
        )
        check_in_range(prob, name=probability_col, low=0, high=100, index=opportunities.index)
    else:
        prob = _stage_attr(workflow, "probability").astype(np.float64)[codes]
    is_open = ~_stage_attr(workflow, "is_closed").astype(bool)[codes]
    w = is_open.astype(np.float64)
    out = _grouped(
        opportunities,
        keys,
        {"count": w, "amount": amount * w, "weighted_amount": amount * prob / 100.0 * w},
    )
    out["count"] = out["count"].astype(np.int64)
    return out


def forecast(
    opportunities: pd.DataFrame,
    *,
    by: str = "M",
    categories: Sequence[str] = ("pipeline", "best_case", "commit", "closed"),
    cumulative: bool = False,
    workflow: Workflow = OPPORTUNITY_WORKFLOW,
    date_col: str = "close_date",
    stage_col: str = "stage",
    amount_col: str = "amount",
    category_col: str | None = "forecast_category",
) -> pd.DataFrame:
    """Amounts by close period and forecast category.

    Parameters
    ----------
    opportunities : DataFrame
        Needs a stage, an amount and a (tz-aware or date) close date.
    by : str, default "M"
        A pandas period frequency (``"M"`` month, ``"Q"`` quarter, ``"W"``...).
    categories : sequence of str
        Categories to report, as columns, in this order.
    cumulative : bool, default False
        If true, each category also includes every more certain one
        (``best_case`` includes ``commit`` and ``closed``, as in the usual
        forecast roll-up); categories are ordered ``pipeline`` < ``best_case``
        < ``commit`` < ``closed``.
    category_col : str or None
        Column overriding the stage's forecast category when present.

    Returns
    -------
    DataFrame
        Indexed by period, one column per category.
    """
    for c in categories:
        if c not in FORECAST_CATEGORIES:
            raise ValidationError(
                f"unknown forecast category {c!r}; known: {', '.join(FORECAST_CATEGORIES)}",
                field="categories",
                value=c,
            )
    check_columns(opportunities, [stage_col, date_col], name="opportunities")
    codes = _stage_codes(opportunities[stage_col], workflow, stage_col)
    amount = _amounts(opportunities, amount_col)
    cats = pd.Index(FORECAST_CATEGORIES)
    if category_col is not None and category_col in opportunities.columns:
        col = opportunities[category_col]
        cat = cats.get_indexer(pd.Index(col.astype(object)))
        if (cat < 0).any():
            pos = int(np.flatnonzero(cat < 0)[0])
            raise ValidationError(
                f"{category_col} {col.iloc[pos]!r} is not a forecast category",
                field=category_col,
                row=opportunities.index[pos],
                value=col.iloc[pos],
            )
    else:
        stage_cat = cats.get_indexer(pd.Index(_stage_attr(workflow, "forecast_category")))
        cat = stage_cat[codes]
    dates = opportunities[date_col]
    if isinstance(dates.dtype, pd.DatetimeTZDtype):
        dates = dates.dt.tz_convert(None)
    dates = pd.to_datetime(dates)
    if dates.isna().any():
        pos = int(np.flatnonzero(dates.isna().to_numpy())[0])
        raise ValidationError(
            f"{date_col} is missing for row {opportunities.index[pos]!r}",
            field=date_col,
            row=opportunities.index[pos],
        )
    period = pd.PeriodIndex(dates.dt.to_period(by))
    ordinals, inverse = np.unique(period.asi8, return_inverse=True)
    k = len(FORECAST_CATEGORIES)
    sums = np.bincount(
        inverse.ravel() * k + cat, weights=amount, minlength=ordinals.size * k
    ).reshape(ordinals.size, k)
    index = pd.PeriodIndex.from_ordinals(ordinals, freq=period.freq)  # type: ignore[attr-defined]
    table = pd.DataFrame(sums, index=index, columns=list(FORECAST_CATEGORIES))
    table = table[list(categories)].copy()
    if cumulative:
        rank = ["closed", "commit", "best_case", "pipeline"]
        ordered = [c for c in rank if c in table.columns]
        table[ordered] = table[ordered].cumsum(axis=1)
    table.columns.name = None
    table.index.name = "period"
    return table


def win_rate(
    opportunities: pd.DataFrame,
    *,
    by: str | Sequence[str] | None = None,
    workflow: Workflow = OPPORTUNITY_WORKFLOW,
    stage_col: str = "stage",
    amount_col: str | None = "amount",
) -> pd.DataFrame:
    """Won / (won + lost), by count and (if amounts are given) by amount.

    Returns
    -------
    DataFrame
        Columns ``won``, ``lost``, ``win_rate`` (NaN where nothing closed)
        and, with amounts, ``won_amount``, ``lost_amount``, ``amount_win_rate``.

    Examples
    --------
    >>> import pandas as pd
    >>> opps = pd.DataFrame({"stage": ["closed_won", "closed_lost", "closed_lost", "proposal"]})
    >>> win_rate(opps, amount_col=None)
           won  lost  win_rate
    total    1     2  0.333333
    """
    check_columns(opportunities, [stage_col], name="opportunities")
    keys = _keys(opportunities, by)
    codes = _stage_codes(opportunities[stage_col], workflow, stage_col)
    won = _stage_attr(workflow, "is_won").astype(bool)[codes].astype(np.float64)
    closed = _stage_attr(workflow, "is_closed").astype(bool)[codes]
    lost = (closed & (won == 0)).astype(np.float64)
    cols: dict[str, Any] = {"won": won, "lost": lost}
    if amount_col is not None and amount_col in opportunities.columns:
        amount = _amounts(opportunities, amount_col)
        cols["won_amount"] = amount * won
        cols["lost_amount"] = amount * lost
    out = _grouped(opportunities, keys, cols)
    out["won"] = out["won"].astype(np.int64)
    out["lost"] = out["lost"].astype(np.int64)
    with np.errstate(invalid="ignore", divide="ignore"):
        out.insert(2, "win_rate", out["won"] / (out["won"] + out["lost"]))
        if "won_amount" in out.columns:
            out["amount_win_rate"] = out["won_amount"] / (out["won_amount"] + out["lost_amount"])
    return out


def _instants(col: pd.Series, name: str) -> npt.NDArray[np.int64]:
    if not isinstance(col.dtype, pd.DatetimeTZDtype):
        raise ValidationError(
            f"{name} must hold timezone-aware datetimes; got dtype {col.dtype}", field=name
        )
    arr = np.asarray(col.dt.tz_convert(None).to_numpy(), dtype="datetime64[us]")
    return arr.view(np.int64)


_UNITS = {"D": 86_400e6, "h": 3_600e6, "W": 7 * 86_400e6}


def _unit(unit: str) -> float:
    if unit not in _UNITS:
        raise ValidationError(f"unit must be one of D, h, W; got {unit!r}", field="unit")
    return _UNITS[unit]


def _summary(values: F64, group: pd.Series | None, name: str) -> pd.DataFrame:
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


def sales_cycle_length(
    opportunities: pd.DataFrame,
    *,
    by: str | None = None,
    won_only: bool = True,
    unit: str = "D",
    workflow: Workflow = OPPORTUNITY_WORKFLOW,
    stage_col: str = "stage",
    created_col: str = "created_at",
    closed_col: str = "closed_at",
) -> pd.DataFrame:
    """Creation-to-close time of closed opportunities.

    Parameters
    ----------
    won_only : bool, default True
        Only won deals (the usual definition); otherwise every closed one.
    unit : {"D", "h", "W"}
        Days, hours or weeks.

    Returns
    -------
    DataFrame
        ``count``, ``mean``, ``median``, ``min``, ``max`` of the cycle length.
    """
    check_columns(opportunities, [stage_col, created_col, closed_col], name="opportunities")
    keys = _keys(opportunities, by)
    codes = _stage_codes(opportunities[stage_col], workflow, stage_col)
    flag = _stage_attr(workflow, "is_won" if won_only else "is_closed").astype(bool)[codes]
    sub = opportunities.loc[flag]
    created = _instants(sub[created_col], created_col)
    closed = np.asarray(sub[closed_col].isna())
    if closed.any():
        pos = int(np.flatnonzero(closed)[0])
        raise ValidationError(
            f"{closed_col} is missing for closed opportunity {sub.index[pos]!r}",
            field=closed_col,
            row=sub.index[pos],
        )
    length = (_instants(sub[closed_col], closed_col) - created) / _unit(unit)
    if (length < 0).any():
        pos = int(np.flatnonzero(length < 0)[0])
        raise ValidationError(
            f"{closed_col} is before {created_col} for opportunity {sub.index[pos]!r}",
            field=closed_col,
            row=sub.index[pos],
        )
    return _summary(length, sub[keys[0]] if keys else None, "cycle_length")


def _sorted_log(events: pd.DataFrame, wf: Workflow) -> tuple[pd.DataFrame, I64, I64]:
    check_columns(events, ["entity_id", "from_stage", "to_stage", "at"], name="events")
    at = _instants(events["at"], "at")
    ent = pd.factorize(events["entity_id"])[0].astype(np.int64)
    order = np.lexsort((at, ent))
    ev = events.iloc[order]
    return ev, ent[order], at[order]


def stage_funnel(
    events: pd.DataFrame,
    *,
    workflow: Workflow = OPPORTUNITY_WORKFLOW,
) -> pd.DataFrame:
    """Reached-at-least-stage funnel from a stage-change log.

    An entity *reached* an open stage if it was ever in it or in a later one
    (higher ``sequence``); won entities count for every open stage; lost ones
    up to the furthest open stage they reached. Entities appear in the log
    once they have moved at least once (their first ``from_stage`` counts).

    Parameters
    ----------
    events : DataFrame
        ``entity_id``, ``from_stage``, ``to_stage``, ``at`` columns.

    Returns
    -------
    DataFrame
        One row per open stage (by sequence) and per won stage: ``reached``,
        ``conversion`` (from the previous row) and ``cumulative_conversion``
        (from the first row).

    Examples
    --------
    >>> import pandas as pd
    >>> t = pd.Timestamp("2026-01-05", tz="UTC")
    >>> log = pd.DataFrame(
    ...     {
    ...         "entity_id": ["a", "a", "b", "c"],
    ...         "from_stage": ["prospecting", "proposal", "prospecting", "prospecting"],
    ...         "to_stage": ["proposal", "closed_won", "closed_lost", "qualification"],
    ...         "at": [t, t, t, t],
    ...     }
    ... )
    >>> stage_funnel(log)["reached"].tolist()
    [3, 2, 1, 1, 1]
    """
    check_columns(events, ["entity_id", "from_stage", "to_stage", "at"], name="events")
    wf = workflow
    fcode = _stage_codes(events["from_stage"], wf, "from_stage")
    tcode = _stage_codes(events["to_stage"], wf, "to_stage")
    seq = _stage_attr(wf, "sequence").astype(np.float64)
    closed = _stage_attr(wf, "is_closed").astype(bool)
    won = _stage_attr(wf, "is_won").astype(bool)
    open_seq = np.where(closed, -np.inf, seq)
    level = np.maximum(open_seq[fcode], open_seq[tcode])
    level = np.where(won[tcode], np.inf, level)
    ent = pd.factorize(events["entity_id"])[0]
    n = int(ent.max()) + 1 if ent.size else 0
    ent_level = np.full(n, -np.inf)
    np.maximum.at(ent_level, ent, level)
    open_stages = wf.open_stages()
    names = [s.name for s in open_stages] + [s.name for s in wf.stages if s.is_won]
    sorted_level = np.sort(ent_level)
    reached = [
        int(n - np.searchsorted(sorted_level, s.sequence, side="left")) for s in open_stages
    ]
    won_stages = [s for s in wf.stages if s.is_won]
    reached += [
        int(np.unique(ent[tcode == wf.stage_names.index(s.name)]).size) for s in won_stages
    ]
    r = np.asarray(reached, dtype=np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        conv = np.concatenate([[1.0 if n else np.nan], r[1:] / r[:-1]])
        cum = r / r[0] if r.size and r[0] > 0 else np.full(r.size, np.nan)
    out = pd.DataFrame(
        {"reached": np.asarray(reached, dtype=np.int64), "conversion": conv},
        index=pd.Index(names, name="stage"),
    )
    out["cumulative_conversion"] = cum
    return out


def lead_outcomes(
    events: pd.DataFrame,
    *,
    workflow: Workflow = LEAD_WORKFLOW,
) -> pd.DataFrame:
    """Furthest open stage and outcome of each entity, from a stage-change log.

    The training table of :class:`LeadScorer`: join it with the lead fields.

    Returns
    -------
    DataFrame
        Indexed by ``entity_id``: ``stage`` (the furthest open stage reached,
        by ``sequence``) and ``won`` (1 won, 0 lost, ``<NA>`` still open).

    Examples
    --------
    >>> import pandas as pd
    >>> t = pd.Timestamp("2026-01-05", tz="UTC")
    >>> log = pd.DataFrame(
    ...     {
    ...         "entity_id": ["a", "a", "b"],
    ...         "from_stage": ["new", "qualified", "new"],
    ...         "to_stage": ["qualified", "converted", "contacted"],
    ...         "at": [t, t, t],
    ...     }
    ... )
    >>> lead_outcomes(log)
               stage   won
    entity_id
    a          qualified     1
    b          contacted  <NA>
    """
    check_columns(events, ["entity_id", "from_stage", "to_stage", "at"], name="events")
    wf = workflow
    fcode = _stage_codes(events["from_stage"], wf, "from_stage")
    tcode = _stage_codes(events["to_stage"], wf, "to_stage")
    seq = _stage_attr(wf, "sequence").astype(np.float64)
    closed = _stage_attr(wf, "is_closed").astype(bool)
    won = _stage_attr(wf, "is_won").astype(bool)
    open_seq = np.where(closed, -np.inf, seq)
    ent, uniques = pd.factorize(events["entity_id"])
    n = len(uniques)
    best = np.full(n, -np.inf)
    np.maximum.at(best, np.concatenate([ent, ent]), open_seq[np.concatenate([fcode, tcode])])
    open_names = {float(st.sequence): st.name for st in wf.open_stages()}
    stage = pd.Series(best).map(open_names)
    # Outcome: the entity's latest event decides (sorted by time).
    at = _instants(events["at"], "at")
    order = np.lexsort((at, ent))
    last = np.full(n, -1, dtype=np.int64)
    last[ent[order]] = tcode[order]
    outcome = pd.array(np.where(won[last], 1, 0), dtype="Int64")
    outcome[~closed[last]] = pd.NA
    out = pd.DataFrame({"stage": stage.to_numpy(), "won": outcome}, index=pd.Index(uniques))
    out.index.name = "entity_id"
    return out


def stage_velocity(
    events: pd.DataFrame,
    *,
    workflow: Workflow = OPPORTUNITY_WORKFLOW,
    as_of: dt.datetime | None = None,
    unit: str = "D",
    calendar: BusinessCalendar | None = None,
) -> pd.DataFrame:
    """Time spent in each stage, from a stage-change log.

    A stay starts when an event enters the stage and ends with the entity's
    next event. Stays still open at the end of the log are counted up to
    ``as_of`` if given, else left out. Final stages are not reported.

    Parameters
    ----------
    events : DataFrame
        ``entity_id``, ``from_stage``, ``to_stage``, ``at`` columns.
    as_of : datetime, optional
        Close open stays at this instant.
    unit : {"D", "h", "W"}
    calendar : BusinessCalendar, optional
        Measure working time instead of elapsed time.

    Returns
    -------
    DataFrame
        Per stage: ``count``, ``mean``, ``median``, ``min``, ``max``.
    """
    wf = workflow
    ev, ent, at = _sorted_log(events, wf)
    tcode = _stage_codes(ev["to_stage"], wf, "to_stage")
    nxt_same = np.zeros(ent.size, dtype=bool)
    nxt_same[:-1] = ent[1:] == ent[:-1]
    end = np.empty_like(at)
    end[:-1] = at[1:]
    if as_of is not None:
        if as_of.tzinfo is None:
            raise ValidationError("as_of must be timezone-aware", field="as_of", value=as_of)
        end[~nxt_same] = int(
            (as_of - dt.datetime(1970, 1, 1, tzinfo=dt.UTC)) // dt.timedelta(microseconds=1)
        )
        keep = end >= at
    else:
        keep = nxt_same
    final = np.isin(tcode, [wf.stage_names.index(s) for s in wf.final])
    keep &= ~final
    s, e, code = at[keep], end[keep], tcode[keep]
    dur = calendar._diff_us(s, e) if calendar is not None else e - s
    values = dur / _unit(unit)
    names = pd.Categorical.from_codes(code, categories=pd.Index(list(wf.stage_names)))
    out = _summary(values, pd.Series(names, name="stage"), "time_in_stage")
    order = [n for n in wf.stage_names if n in out.index]
    return out.loc[order]
