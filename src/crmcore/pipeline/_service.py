"""Service analytics: response and resolution times, SLA attainment, backlog."""

from __future__ import annotations

import numpy as np
import pandas as pd

from crmcore._time import cutoff_us, read_instants
from crmcore._validation import check_columns
from crmcore.errors import ValidationError
from crmcore.pipeline._sla import SLAPolicy, sla_report
from crmcore.pipeline._tables import instants

__all__ = ["service_kpis"]


def service_kpis(
    tickets: pd.DataFrame,
    events: pd.DataFrame,
    policy: SLAPolicy,
    *,
    as_of: object,
    by: str | None = None,
    id_col: str = "id",
    created_col: str = "created_at",
    priority_col: str = "priority",
) -> pd.DataFrame:
    """Service KPIs per group of tickets at ``as_of``.

    Times are *working* hours on the policy's calendar (resolution time
    excludes paused stages, as in :func:`sla_status`); backlog age is
    elapsed wall-clock hours.

    Parameters
    ----------
    tickets : DataFrame
        ``id``, ``created_at``, ``priority`` (+ the ``by`` column).
    events : DataFrame
        Stage history: ``entity_id``, ``from_stage``, ``to_stage``, ``at``.
    policy : SLAPolicy
        Targets, calendar, workflow and response stages.
    as_of : datetime or date-like
        The moment the KPIs are taken: a timezone-aware instant, or a date
        (the end of that day in the zone of ``created_col``). Later events
        are ignored and tickets created after it are not counted.
    by : str, optional
        A ticket column to group by (``priority``, ``channel``, team...).
    id_col, created_col, priority_col : str
        Column names in ``tickets`` (defaults ``"id"``, ``"created_at"``,
        ``"priority"``).

    Returns
    -------
    DataFrame
        Columns: ``tickets``; ``first_response_hours`` and
        ``resolution_hours`` (mean, over tickets responded to / resolved);
        ``first_response_attainment`` and ``resolution_attainment`` (share
        met among those met or breached); ``first_contact_resolution`` (share
        of resolved tickets never paused nor reopened); ``backlog`` (open
        tickets) and ``backlog_age_hours`` (their mean age).
    """
    check_columns(events, ["entity_id", "from_stage", "to_stage", "at"], name="events")
    if by is not None:
        check_columns(tickets, [by], name="tickets")
    rep = sla_report(
        tickets,
        events,
        policy,
        as_of=as_of,
        id_col=id_col,
        created_col=created_col,
        priority_col=priority_col,
    )
    created_dates = read_instants(tickets[created_col], name=created_col, row_name="ticket")
    created = instants(created_dates)
    cut = cutoff_us(as_of, tz=created_dates.tz)
    wf = policy.workflow
    names = list(wf.stage_names)
    pauses = np.array([wf.stage(s).pauses_sla for s in names])
    closed = np.array([wf.stage(s).is_closed for s in names])
    ev = events.loc[instants(read_instants(events["at"], name="at")) <= cut]
    f = pd.Index(names).get_indexer(pd.Index(ev["from_stage"]))
    t = pd.Index(names).get_indexer(pd.Index(ev["to_stage"]))
    if (f < 0).any() or (t < 0).any():
        raise ValidationError(f"events name stages outside workflow {wf.name!r}", field="to_stage")
    flag = pauses[t] | (closed[f] & ~closed[t])  # paused, or reopened
    pos = rep.index.get_indexer(pd.Index(ev["entity_id"]))
    touched = np.zeros(len(rep), dtype=bool)
    np.logical_or.at(touched, pos[pos >= 0], flag[pos >= 0])

    fr_done = rep["first_response_achieved_at"].notna().to_numpy()
    resolved = rep["resolution_achieved_at"].notna().to_numpy()
    fr_state = rep["first_response_state"].to_numpy()
    res_state = rep["resolution_state"].to_numpy()
    age = (cut - created) / 3_600_000_000.0

    def nan_where(x: np.ndarray, keep: np.ndarray) -> np.ndarray:
        return np.where(keep, x, np.nan)

    def share(state: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return (state == "met").astype(float), (state != "ongoing").astype(float)

    fr_met, fr_decided = share(fr_state)
    res_met, res_decided = share(res_state)
    parts = pd.DataFrame(
        {
            "tickets": 1.0,
            "fr_hours": nan_where(rep["first_response_elapsed"].to_numpy(), fr_done),
            "res_hours": nan_where(rep["resolution_elapsed"].to_numpy(), resolved),
            "fr_met": fr_met,
            "fr_decided": fr_decided,
            "res_met": res_met,
            "res_decided": res_decided,
            "fcr": (resolved & ~touched).astype(float),
            "resolved": resolved.astype(float),
            "backlog": (~resolved).astype(float),
            "age": nan_where(age, ~resolved),
        },
        index=rep.index,
    )
    key = tickets[by].to_numpy() if by is not None else np.full(len(rep), "total", dtype=object)
    existed = created <= cut  # tickets created after as_of did not exist yet
    if not existed.all():
        parts, key = parts.loc[existed], key[existed]
    g = parts.groupby(key, sort=True)
    sums = g.sum(min_count=1)
    means = g[["fr_hours", "res_hours", "age"]].mean()
    with np.errstate(invalid="ignore", divide="ignore"):
        out = pd.DataFrame(
            {
                "tickets": sums["tickets"].astype(np.int64),
                "first_response_hours": means["fr_hours"],
                "resolution_hours": means["res_hours"],
                "first_response_attainment": sums["fr_met"] / sums["fr_decided"],
                "resolution_attainment": sums["res_met"] / sums["res_decided"],
                "first_contact_resolution": sums["fcr"] / sums["resolved"],
                "backlog": sums["backlog"].fillna(0).astype(np.int64),
                "backlog_age_hours": means["age"],
            }
        )
    out.index.name = by
    return out
