"""Journey analytics: the per-step funnel, time in step, and goal conversion against control."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Final

import attrs
import numpy as np
import pandas as pd

from crmcore import _stats, _time
from crmcore._validation import check_columns
from crmcore.errors import ValidationError
from crmcore.marketing._journey import Journey
from crmcore.marketing._journey_frames import AUDIT_COLUMNS
from crmcore.marketing._journey_steps import Goal
from crmcore.marketing._journey_values import AuditEvent
from crmcore.marketing._windows import GroupedTimes

__all__ = ["FUNNEL_COLUMNS", "JourneyConversion", "journey_conversion", "journey_funnel"]

_COUNTED_OUTCOMES: Final = ("sent", "skipped", "yes", "no", "event", "timeout")

FUNNEL_COLUMNS: Final = (
    "enrolments",
    "visits",
    "completed",
    *_COUNTED_OUTCOMES,
    "converted",
    "exited",
    "waiting",
    "time_in_step_median",
    "time_in_step_mean",
)
"""Columns of :func:`journey_funnel`."""


def _audit_frame(audit: pd.DataFrame | Iterable[AuditEvent]) -> pd.DataFrame:
    if isinstance(audit, pd.DataFrame):
        check_columns(
            audit, ["type", "enrolment_id", "step", "at", "outcome", "next_step"], name="audit"
        )
        return audit
    rows = []
    for ev in audit:
        d = ev.to_dict()
        rows.append({c: d.get(c) for c in AUDIT_COLUMNS})
    frame = pd.DataFrame(rows, columns=list(AUDIT_COLUMNS))
    frame["at"] = pd.to_datetime(frame["at"], utc=True, format="ISO8601")
    return frame


def journey_funnel(journey: Journey, audit: pd.DataFrame | Iterable[AuditEvent]) -> pd.DataFrame:
    """Count, per step, who reached it, what happened there and how long they stayed.

    Parameters
    ----------
    journey : Journey
    audit : DataFrame or iterable of AuditEvent
        The journey's audit events in emission order (a :func:`tick`'s
        ``audit`` frames concatenated, or the values).

    Returns
    -------
    DataFrame
        One row per step (goals excepted), in definition order
        (:data:`FUNNEL_COLUMNS`): ``enrolments`` (distinct enrolments that
        reached the step), ``visits`` (a loop visits a step more than once),
        ``completed``, the outcomes (``sent``, ``skipped``, ``yes``, ``no``,
        ``event``, ``timeout``), ``converted`` (reached a goal while at the
        step), ``exited`` (ended there), ``waiting`` (still there), and the
        median and mean time from reaching the step to leaving it (NaT when
        nobody left it yet). Control enrolments are not counted: they are
        held out at the entry.
    """
    frame = _audit_frame(audit)
    frame = frame.assign(at=pd.to_datetime(frame["at"], utc=True).dt.as_unit("ns"))
    names = [n for n in journey.step_names if not isinstance(journey[n], Goal)]
    entered = frame["type"] == "marketing.journey_entered"
    held = set(frame.loc[entered & frame["control"].astype(bool), "enrolment_id"])
    f = frame[~frame["enrolment_id"].isin(held)].reset_index(drop=True)
    moves = f[f["type"].isin(["marketing.journey_entered", "marketing.journey_step_completed"])]
    # the step each move arrives at: the entry for an entry, next_step for a step
    arrive_step = np.where(
        moves["type"] == "marketing.journey_entered", moves["step"], moves["next_step"]
    )
    arrivals = pd.DataFrame({"enrolment_id": moves["enrolment_id"], "step": arrive_step})
    out = pd.DataFrame(0, index=pd.Index(names, name="step"), columns=list(FUNNEL_COLUMNS[:-2]))
    out["enrolments"] = arrivals.groupby("step")["enrolment_id"].nunique()
    out["visits"] = arrivals.groupby("step").size()
    done = f[f["type"] == "marketing.journey_step_completed"]
    out["completed"] = done.groupby("step").size()
    for outcome in _COUNTED_OUTCOMES:
        out[outcome] = done[done["outcome"] == outcome].groupby("step").size()
    out["converted"] = f[f["type"] == "marketing.journey_goal_reached"].groupby("step").size()
    exits = f[(f["type"] == "marketing.journey_exited")]
    out["exited"] = exits.groupby("step").size()
    out = out.fillna(0).astype(np.int64)
    out["waiting"] = out["visits"] - out["completed"] - out["converted"] - out["exited"]
    # time in step: from the move that arrived at a step to the one that left it
    ordered = moves.assign(arrived_at=moves["at"])
    prev_at = ordered.groupby("enrolment_id")["arrived_at"].shift(1)
    is_step = ordered["type"] == "marketing.journey_step_completed"
    stay = (ordered["at"] - prev_at)[is_step]
    by_step = pd.DataFrame({"step": ordered["step"][is_step], "stay": stay})
    grouped = by_step.groupby("step")["stay"]
    out["time_in_step_median"] = grouped.median().reindex(out.index)
    out["time_in_step_mean"] = grouped.mean().reindex(out.index)
    return out[list(FUNNEL_COLUMNS)]


@attrs.frozen
class JourneyConversion:
    """Goal conversion of treated enrolments against the control group.

    Attributes
    ----------
    table : DataFrame
        Rows ``treatment`` and ``control``: ``enrolments`` (those whose
        conversion window has ended by ``as_of``), ``conversions``, ``rate``
        with its Wilson interval ``ci_low`` / ``ci_high``.
    uplift : float
        Treatment rate minus control rate (NaN without control enrolments).
    ci_low, ci_high : float
        Newcombe's hybrid score interval of the uplift.
    confidence : float
    pending : int
        Enrolments whose window is still open at ``as_of`` (not counted).
    goal : str
        The goal measured.
    """

    table: pd.DataFrame
    uplift: float
    ci_low: float
    ci_high: float
    confidence: float
    pending: int
    goal: str


def journey_conversion(
    journey: Journey,
    enrolments: pd.DataFrame,
    events: pd.DataFrame,
    *,
    as_of: Any,
    goal: str | None = None,
    confidence: float = 0.95,
    customer_col: str = "customer_id",
    date_col: str = "date",
    tz: Any = "UTC",
) -> JourneyConversion:
    """Measure goal conversion in the goal's window, treatment against the control group.

    An enrolment converts when a goal event (type, and message id if the
    goal names one) happens in ``(enrolled_at, enrolled_at + within]``;
    only enrolments whose window has closed by ``as_of`` count, so both
    groups are measured over the same length of time, and nothing after
    ``as_of`` is seen.

    Parameters
    ----------
    journey : Journey
    enrolments : DataFrame
        The enrolments frame (:data:`ENROLMENT_COLUMNS`), control ones too.
    events : DataFrame
        ``customer_col``, ``type``, ``date_col`` (aware), optional
        ``message_id``.
    as_of : date-like
        The cut-off (a date means the end of that day in ``tz``).
    goal : str, optional
        The goal's name; default the journey's only goal.
    confidence : float, default 0.95
    customer_col, date_col : str
    tz : str, default "UTC"
        Zone in which a date-only ``as_of`` ends.

    Returns
    -------
    JourneyConversion
        Rates with Wilson (1927) intervals, and the uplift with Newcombe's
        (1998, method 10) interval.

    Raises
    ------
    ValidationError
        No goal (or several and none named), missing columns, naive dates.
    """
    level = _stats.check_confidence(confidence)
    goals = {g.name: g for g in journey.goals}
    if goal is None and len(goals) != 1:
        raise ValidationError(
            f"journey {journey.id!r} has {len(goals)} goals; name one with goal= "
            f"({', '.join(goals) or 'add a Goal step'})",
            field="goal",
        )
    chosen = goals[next(iter(goals))] if goal is None else goals.get(goal)
    if chosen is None:
        raise ValidationError(
            f"journey {journey.id!r} has no goal {goal!r}; goals: {', '.join(goals)}",
            field="goal",
            value=goal,
        )
    cutoff = _time.resolve_as_of(as_of, tz=tz).ns
    check_columns(enrolments, ["customer_id", "enrolled_at", "control"], name="enrolments")
    check_columns(events, [customer_col, "type", date_col], name="events")
    start = _time.read_dates(enrolments["enrolled_at"], name="enrolled_at").ns
    end = start + int(chosen.within.value)
    mature = end <= cutoff
    hit = events["type"].astype(str).to_numpy() == chosen.event
    if chosen.message_id is not None and "message_id" in events:
        hit &= events["message_id"].astype(object).to_numpy() == chosen.message_id
    ev = events[hit]
    dates = _time.read_dates(ev[date_col], name=date_col, row_name="event")
    if len(ev) and dates.tz is None:
        raise ValidationError(
            f"events[{date_col!r}] must be timezone-aware (journeys run on instants)",
            field=date_col,
        )
    customers = pd.Index(pd.unique(pd.Index(enrolments["customer_id"])))
    codes = np.asarray(customers.get_indexer(pd.Index(ev[customer_col])), dtype=np.int64)
    keep = (codes >= 0) & (dates.ns <= cutoff)
    log = GroupedTimes(codes[keep], dates.ns[keep], len(customers))
    who = np.asarray(customers.get_indexer(pd.Index(enrolments["customer_id"])), dtype=np.int64)
    converted = log.count(who, start, np.minimum(end, cutoff)) > 0
    control = enrolments["control"].to_numpy(dtype=bool)
    n = np.array([(mature & ~control).sum(), (mature & control).sum()], dtype=np.int64)
    k = np.array(
        [(mature & ~control & converted).sum(), (mature & control & converted).sum()],
        dtype=np.int64,
    )
    z = _stats.z_value(level)
    low, high = _stats.wilson_interval(k.astype(float), n.astype(float), z)
    with np.errstate(invalid="ignore", divide="ignore"):
        rate = k / n
    table = pd.DataFrame(
        {"enrolments": n, "conversions": k, "rate": rate, "ci_low": low, "ci_high": high},
        index=pd.Index(["treatment", "control"], name="group"),
    )
    kf, nf = k.astype(np.float64), n.astype(np.float64)
    d_low, d_high = _stats.newcombe_interval(kf[:1], nf[:1], kf[1:], nf[1:], z)
    return JourneyConversion(
        table=table,
        uplift=float(rate[0] - rate[1]),
        ci_low=float(d_low[0]),
        ci_high=float(d_high[0]),
        confidence=level,
        pending=int((~mature).sum()),
        goal=chosen.name,
    )
