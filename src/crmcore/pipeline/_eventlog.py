"""Analytics over stage-change logs: funnel, time in stage, lead outcomes.

Every function taking ``as_of`` reads the log as it stood then: events at or
before ``as_of`` only (a date means the end of that day in the log's zone).
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd

from crmcore._time import datetime_index, read_instants
from crmcore._validation import check_columns
from crmcore.pipeline._advance import StageChanged
from crmcore.pipeline._calendar import BusinessCalendar
from crmcore.pipeline._defaults import LEAD_WORKFLOW, OPPORTUNITY_WORKFLOW
from crmcore.pipeline._tables import I64, instants, stage_attr, stage_codes, summary, unit_us
from crmcore.pipeline._workflow import Workflow

__all__ = ["events_frame", "lead_outcomes", "stage_funnel", "stage_velocity"]

_EVENT_COLUMNS = ["entity_id", "from_stage", "to_stage", "at", "actor", "reason", "workflow"]


def events_frame(events: Iterable[object]) -> pd.DataFrame:
    """Stage-change events as a DataFrame, the input of the log analytics.

    Events of other types (such as ``LeadConverted``) are skipped.

    Parameters
    ----------
    events : iterable of StageChanged
        Domain events, as returned by :func:`advance` or read from the event
        log; timestamps must be timezone-aware.

    Returns
    -------
    DataFrame
        Columns ``entity_id``, ``from_stage``, ``to_stage``, ``at`` (UTC),
        ``actor``, ``reason``, ``workflow``; one row per stage-change event,
        in the order given (an empty frame with these columns for none).

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
    changes = [e for e in events if isinstance(e, StageChanged)]
    rows = [
        (e.entity_id, e.from_stage, e.to_stage, None, e.actor, e.reason, e.workflow)
        for e in changes
    ]
    frame = pd.DataFrame(rows, columns=_EVENT_COLUMNS)
    frame["at"] = datetime_index([e.at for e in changes], name="at")  # a DST fold keeps its order
    return frame


def _history(events: pd.DataFrame, as_of: object) -> tuple[pd.DataFrame, I64, int | None]:
    """Return the log's rows at or before ``as_of``, their instants (epoch µs), the cut-off."""
    check_columns(events, ["entity_id", "from_stage", "to_stage", "at"], name="events")
    dates = read_instants(events["at"], name="at")
    at = instants(dates)
    if as_of is None:
        return events, at, None
    cut = dates.cutoff(as_of).ns // 1000
    keep = at <= cut
    if keep.all():
        return events, at, cut
    return events.loc[keep], at[keep], cut


def _sorted_log(events: pd.DataFrame, as_of: object) -> tuple[pd.DataFrame, I64, I64, int | None]:
    ev, at, cut = _history(events, as_of)
    ent = pd.factorize(ev["entity_id"])[0].astype(np.int64)
    order = np.lexsort((at, ent))
    return ev.iloc[order], ent[order], at[order], cut


def stage_funnel(
    events: pd.DataFrame,
    *,
    workflow: Workflow = OPPORTUNITY_WORKFLOW,
    as_of: object = None,
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
    workflow : Workflow, default OPPORTUNITY_WORKFLOW
        Gives the stages their order (``sequence``) and won / closed flags.
    as_of : datetime or date-like, optional
        The funnel as it stood then: only events at or before ``as_of``.
        Default: the whole log.

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
    if as_of is None:  # the funnel needs no times: do not read them
        check_columns(events, ["entity_id", "from_stage", "to_stage", "at"], name="events")
    else:
        events, _, _ = _history(events, as_of)
    wf = workflow
    fcode = stage_codes(events["from_stage"], wf, "from_stage")
    tcode = stage_codes(events["to_stage"], wf, "to_stage")
    seq = stage_attr(wf, "sequence").astype(np.float64)
    closed = stage_attr(wf, "is_closed").astype(bool)
    won = stage_attr(wf, "is_won").astype(bool)
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
    as_of: object = None,
) -> pd.DataFrame:
    """Furthest open stage and outcome of each entity, from a stage-change log.

    The training table of :class:`LeadScorer`: join it with the lead fields.

    Parameters
    ----------
    events : DataFrame
        A stage-change log with columns ``entity_id``, ``from_stage``,
        ``to_stage`` and ``at`` (as made by :func:`events_frame`).
    workflow : Workflow, default LEAD_WORKFLOW
        The workflow the entities follow; its ``sequence`` orders the open
        stages and ``is_won`` / ``is_closed`` decide the outcome.
    as_of : datetime or date-like, optional
        Outcomes as known then: only events at or before ``as_of`` (a lead
        won later is still open). Default: the whole log.

    Returns
    -------
    DataFrame
        Indexed by ``entity_id``: ``stage`` (the furthest open stage reached,
        by ``sequence``) and ``won`` (1 won, 0 lost, ``<NA>`` still open).

    Raises
    ------
    ValidationError
        If a column is missing or a stage name is not a stage of
        ``workflow`` (first offending row named).

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
    events, at, _ = _history(events, as_of)
    wf = workflow
    fcode = stage_codes(events["from_stage"], wf, "from_stage")
    tcode = stage_codes(events["to_stage"], wf, "to_stage")
    seq = stage_attr(wf, "sequence").astype(np.float64)
    closed = stage_attr(wf, "is_closed").astype(bool)
    won = stage_attr(wf, "is_won").astype(bool)
    open_seq = np.where(closed, -np.inf, seq)
    ent, uniques = pd.factorize(events["entity_id"])
    n = len(uniques)
    best = np.full(n, -np.inf)
    np.maximum.at(best, np.concatenate([ent, ent]), open_seq[np.concatenate([fcode, tcode])])
    open_names = {float(st.sequence): st.name for st in wf.open_stages()}
    stage = pd.Series(best).map(open_names)
    # Outcome: the entity's latest event decides (sorted by time).
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
    as_of: object = None,
    unit: str = "D",
    calendar: BusinessCalendar | None = None,
) -> pd.DataFrame:
    """Time spent in each stage, from a stage-change log.

    A stay starts when an event enters the stage and ends with the entity's
    next event. With ``as_of``, only events at or before it are read and
    stays still open then are counted up to ``as_of``; without it, stays
    still open at the end of the log are left out. Final stages are not
    reported.

    Parameters
    ----------
    events : DataFrame
        ``entity_id``, ``from_stage``, ``to_stage``, ``at`` columns.
    workflow : Workflow, default OPPORTUNITY_WORKFLOW
        The workflow the entities follow (its final stages are skipped).
    as_of : datetime or date-like, optional
        Read the log as it stood then and close open stays at that instant
        (a date means the end of that day in the log's zone).
    unit : {"D", "h", "W"}
        Days, hours or weeks.
    calendar : BusinessCalendar, optional
        Measure working time instead of elapsed time.

    Returns
    -------
    DataFrame
        Per stage: ``count``, ``mean``, ``median``, ``min``, ``max``.
    """
    wf = workflow
    ev, ent, at, cut = _sorted_log(events, as_of)
    tcode = stage_codes(ev["to_stage"], wf, "to_stage")
    nxt_same = np.zeros(ent.size, dtype=bool)
    nxt_same[:-1] = ent[1:] == ent[:-1]
    end = np.empty_like(at)
    end[:-1] = at[1:]
    if cut is not None:
        end[~nxt_same] = cut  # every event left is at or before the cut-off
        keep = np.ones(at.size, dtype=bool)
    else:
        keep = nxt_same
    final = np.isin(tcode, [wf.stage_names.index(s) for s in wf.final])
    keep &= ~final
    s, e, code = at[keep], end[keep], tcode[keep]
    dur = (
        calendar.diff(s.view("datetime64[us]"), e.view("datetime64[us]")).view(np.int64)
        if calendar is not None
        else e - s
    )
    values = dur / unit_us(unit)
    names = pd.Categorical.from_codes(code, categories=pd.Index(list(wf.stage_names)))
    out = summary(values, pd.Series(names, name="stage"), "time_in_stage")
    order = [n for n in wf.stage_names if n in out.index]
    return out.loc[order]
