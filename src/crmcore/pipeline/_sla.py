"""Service-level agreements: targets by priority, pauses, deadlines and status.

The resolution clock runs only while a ticket is in a *running* stage: not a
stage that pauses the SLA (``waiting_on_customer``) and not a closed stage
(``resolved``, ``closed``). The stage history is cut into consecutive
intervals, one per stay in a stage, so two paused stages in a row are two
adjacent intervals and never count twice, and reopening a resolved ticket
simply starts a new running interval. The first-response clock is never
paused: it runs from creation to the first move into a response stage.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Hashable, Iterable, Mapping
from typing import Any

import attrs
import numpy as np
import numpy.typing as npt
import pandas as pd

from crmcore._time import (
    NAT,
    cutoff_us,
    from_instant_us,
    instant_us,
    read_instants,
    require_aware,
    timestamps,
)
from crmcore._validation import check_columns
from crmcore.errors import ValidationError
from crmcore.pipeline._advance import StageChanged
from crmcore.pipeline._calendar import BusinessCalendar
from crmcore.pipeline._defaults import TICKET_WORKFLOW
from crmcore.pipeline._tables import I64, instants, stage_codes
from crmcore.pipeline._workflow import Workflow

__all__ = ["SLAPolicy", "SLAStatus", "SLATargetStatus", "sla_report", "sla_status"]

_US = dt.timedelta(microseconds=1)
DEFAULT_RESPONSE_STAGES = ("in_progress", "waiting_on_customer", "resolved", "closed")


Targets = Mapping[Hashable, dt.timedelta] | dt.timedelta


def _fr_targets(value: Any) -> Targets:
    return _targets(value, "first_response")


def _res_targets(value: Any) -> Targets:
    return _targets(value, "resolution")


def _targets(value: Any, name: str) -> Targets:
    items = value.items() if isinstance(value, Mapping) else [(None, value)]
    for key, v in items:
        if not isinstance(v, dt.timedelta) or v <= dt.timedelta(0):
            where = "" if key is None else f" for priority {key!r}"
            raise ValidationError(
                f"{name}{where} must be a positive timedelta; got {v!r}", field=name, value=v
            )
    return dict(value) if isinstance(value, Mapping) else value


@attrs.frozen(slots=True)
class SLAPolicy:
    """First-response and resolution targets, by priority, on a business calendar.

    Parameters
    ----------
    first_response : timedelta or mapping priority -> timedelta
        Working time allowed until the first response.
    resolution : timedelta or mapping priority -> timedelta
        Working time allowed until resolution (paused stages excluded).
    calendar : BusinessCalendar, optional
        The working time the targets are measured in (default: 24/7 UTC).
    workflow : Workflow, default TICKET_WORKFLOW
        Which stages pause the clock (``pauses_sla``) and which resolve the
        ticket (``is_closed``).
    response_stages : iterable of str, optional
        Entering any of these stages counts as the first response. Default:
        ``in_progress``, ``waiting_on_customer``, ``resolved``, ``closed``.

    Examples
    --------
    >>> import datetime as dt
    >>> policy = SLAPolicy(
    ...     first_response={"high": dt.timedelta(hours=1), "normal": dt.timedelta(hours=4)},
    ...     resolution={"high": dt.timedelta(hours=8), "normal": dt.timedelta(hours=24)},
    ... )
    >>> policy.target("resolution", "high")
    datetime.timedelta(seconds=28800)
    """

    first_response: Targets = attrs.field(converter=_fr_targets)
    resolution: Targets = attrs.field(converter=_res_targets)
    calendar: BusinessCalendar = attrs.field(factory=BusinessCalendar.always)
    workflow: Workflow = attrs.field(default=TICKET_WORKFLOW)
    response_stages: frozenset[str] = attrs.field(
        default=DEFAULT_RESPONSE_STAGES, converter=frozenset
    )

    def __attrs_post_init__(self) -> None:
        if not isinstance(self.calendar, BusinessCalendar):
            raise ValidationError("calendar must be a BusinessCalendar", field="calendar")
        for s in sorted(self.response_stages):
            if s not in self.workflow:
                raise ValidationError(
                    f"response stage {s!r} is not in workflow {self.workflow.name!r}",
                    field="response_stages",
                    value=s,
                )

    def target(self, kind: str, priority: Hashable) -> dt.timedelta:
        """Return the target for ``kind`` (``"first_response"`` or ``"resolution"``) and priority.

        Parameters
        ----------
        kind : {"first_response", "resolution"}
            Which clock.
        priority : hashable
            A ticket priority (ignored when the target is one timedelta for
            every priority).

        Returns
        -------
        timedelta
            The working time allowed for that clock and priority.

        Raises
        ------
        ValidationError
            If ``kind`` is not one of the two clocks, or the policy has no
            target for that priority (``field="priority"``).

        Examples
        --------
        >>> import datetime as dt
        >>> policy = SLAPolicy(
        ...     first_response=dt.timedelta(hours=2),
        ...     resolution={"high": dt.timedelta(hours=8), "low": dt.timedelta(days=5)},
        ... )
        >>> policy.target("first_response", "low")
        datetime.timedelta(seconds=7200)
        >>> policy.target("resolution", "low")
        datetime.timedelta(days=5)
        """
        if kind not in ("first_response", "resolution"):
            raise ValidationError(
                f"kind must be 'first_response' or 'resolution'; got {kind!r}",
                field="kind",
                value=kind,
            )
        table = self.first_response if kind == "first_response" else self.resolution
        if isinstance(table, dt.timedelta):
            return table
        try:
            return table[priority]
        except (KeyError, TypeError):
            raise ValidationError(
                f"SLA policy has no {kind} target for priority {priority!r}; priorities: "
                f"{', '.join(map(repr, table))}",
                field="priority",
                value=priority,
            ) from None


@attrs.frozen(slots=True)
class SLATargetStatus:
    """Where one ticket stands against one SLA target.

    Attributes
    ----------
    target : timedelta
        Allowed working time.
    elapsed : timedelta
        Working time consumed (paused time excluded).
    paused : timedelta
        Working time spent in pausing stages (never negative).
    remaining : timedelta
        Working time left (zero once exceeded).
    exceeded : timedelta
        Working time over the target (zero while within).
    deadline : datetime
        When the target is (or was) hit: the instant the clock crossed the
        target, or, if it has not, when it would if it ran on from ``as_of``
        (or from the moment it stopped, once met).
    achieved_at : datetime or None
        First response / resolution instant, ``None`` while ongoing.
    state : str
        ``"ongoing"``, ``"met"`` or ``"breached"``.
    """

    target: dt.timedelta
    elapsed: dt.timedelta
    paused: dt.timedelta
    remaining: dt.timedelta
    exceeded: dt.timedelta
    deadline: dt.datetime
    achieved_at: dt.datetime | None
    state: str


@attrs.frozen(slots=True)
class SLAStatus:
    """A ticket's status against its first-response and resolution targets."""

    ticket_id: Hashable
    first_response: SLATargetStatus
    resolution: SLATargetStatus


# ---------------------------------------------------------------- vectorised core


def _group_cumsum(values: I64, group: I64) -> I64:
    """Cumulative sum restarting at each new group (``group`` sorted)."""
    c = np.cumsum(values)
    if values.size == 0:
        return c
    start = np.ones(values.size, dtype=bool)
    start[1:] = group[1:] != group[:-1]
    offset = (c - values)[start]
    return c - np.repeat(offset, np.diff(np.append(np.flatnonzero(start), values.size)))


def _work(cal: BusinessCalendar, start: I64, end: I64) -> I64:
    """Working microseconds between instants (epoch µs), through the calendar's public API."""
    return np.asarray(
        cal.diff(start.view("datetime64[us]"), end.view("datetime64[us]")).view(np.int64),
        dtype=np.int64,
    )


def _after_work(cal: BusinessCalendar, start: I64, work: I64) -> I64:
    """Return when ``work`` working microseconds after ``start`` are done (epoch µs)."""
    return np.asarray(
        cal.add(start.view("datetime64[us]"), work.view("timedelta64[us]")).view(np.int64),
        dtype=np.int64,
    )


@functools.lru_cache(maxsize=64)
def _flags(
    wf: Workflow, response_stages: frozenset[str]
) -> tuple[npt.NDArray[np.bool_], npt.NDArray[np.bool_], npt.NDArray[np.bool_]]:
    """Per-stage pause / closed / response flags (cached per workflow; read-only)."""
    names = wf.stage_names
    out = (
        np.array([wf.stage(s).pauses_sla for s in names], dtype=bool),
        np.array([wf.stage(s).is_closed for s in names], dtype=bool),
        np.array([s in response_stages for s in names], dtype=bool),
    )
    for a in out:
        a.flags.writeable = False
    return out


def _compute(  # noqa: PLR0917 - private vectorised kernel, called twice
    policy: SLAPolicy,
    created: I64,
    fr_target: I64,
    res_target: I64,
    ev_ticket: I64,
    ev_at: I64,
    ev_stage: I64,
    initial_stage: I64,
    as_of: int,
    fr_given: I64 | None = None,
) -> dict[str, I64]:
    """SLA figures for ``n`` tickets; events sorted by (ticket, at), all at <= as_of."""
    wf = policy.workflow
    cal = policy.calendar
    n = created.size
    paused_flag, closed_flag, resp_flag = _flags(wf, policy.response_stages)

    # Intervals: one initial stay per ticket, then one per event.
    it = np.concatenate([np.arange(n, dtype=np.int64), ev_ticket])
    ist = np.concatenate([created, np.maximum(ev_at, created[ev_ticket])])
    istage = np.concatenate([initial_stage, ev_stage])
    first = np.concatenate([np.ones(n, dtype=bool), np.zeros(ev_ticket.size, dtype=bool)])
    order = np.lexsort((~first, ist, it))  # ticket, then time; the initial stay first
    it, ist, istage = it[order], ist[order], istage[order]
    iend = np.empty_like(ist)
    iend[:-1] = ist[1:]
    last = np.ones(it.size, dtype=bool)
    last[:-1] = it[1:] != it[:-1]
    iend[last] = as_of
    iend = np.maximum(iend, ist)
    work = _work(cal, ist, iend)
    paused_i = paused_flag[istage]
    closed_i = closed_flag[istage]
    running_i = ~paused_i & ~closed_i

    paused = np.bincount(it, weights=np.where(paused_i, work, 0), minlength=n).astype(np.int64)
    elapsed = np.bincount(it, weights=np.where(running_i, work, 0), minlength=n).astype(np.int64)
    # Resolution: the ticket is resolved if its current stage is closed; it was
    # resolved when the trailing run of closed stays began.
    last_idx = np.flatnonzero(last)
    resolved = closed_i[last_idx]
    open_pos = np.where(~closed_i, np.arange(it.size), -1)
    last_open = np.maximum.accumulate(open_pos)  # last non-closed stay up to each row
    # Start of the trailing closed run = the stay right after the last open stay.
    lo = last_open[last_idx]
    first_row = np.flatnonzero(np.concatenate([[True], it[1:] != it[:-1]]))
    run_start = np.where(lo >= first_row, lo + 1, first_row)
    resolved_at = np.where(resolved, ist[np.minimum(run_start, it.size - 1)], -1)

    # Deadline: where the running-time cumsum crosses the target, else projected.
    run_work = np.where(running_i, work, 0)
    cum = _group_cumsum(run_work, it)
    cross = running_i & (cum >= res_target[it]) & (run_work > 0)
    deadline = np.empty(n, dtype=np.int64)
    tix, pos = np.unique(it[cross], return_index=True)
    rows = np.flatnonzero(cross)[pos]
    crossed = np.zeros(n, dtype=bool)
    crossed[tix] = True
    if rows.size:
        deadline[tix] = _after_work(cal, ist[rows], res_target[tix] - (cum[rows] - run_work[rows]))
    rest = ~crossed
    if rest.any():
        anchor = np.where(resolved, resolved_at, np.maximum(created, as_of))[rest]
        deadline[rest] = _after_work(cal, anchor, res_target[rest] - elapsed[rest])

    # First response: first event entering a response stage.
    resp_ev = resp_flag[ev_stage]
    responded_at = np.full(n, -1, dtype=np.int64)
    rt, rpos = np.unique(ev_ticket[resp_ev], return_index=True)
    responded_at[rt] = np.maximum(ev_at[resp_ev][rpos], created[rt])
    if fr_given is not None:  # a recorded first response (e.g. an e-mail reply) counts too
        given = (fr_given >= 0) & (fr_given <= as_of)
        earlier = given & ((responded_at < 0) | (fr_given < responded_at))
        responded_at[earlier] = np.maximum(fr_given[earlier], created[earlier])
    fr_end = np.maximum(np.where(responded_at >= 0, responded_at, as_of), created)
    fr_elapsed = _work(cal, created, fr_end)
    fr_deadline = _after_work(cal, created, fr_target)
    return {
        "fr_elapsed": fr_elapsed,
        "fr_deadline": fr_deadline,
        "fr_achieved": responded_at,
        "res_elapsed": elapsed,
        "res_paused": paused,
        "res_deadline": deadline,
        "res_achieved": resolved_at,
    }


def _state(elapsed: I64, target: I64, achieved: I64) -> npt.NDArray[np.object_]:
    return np.where(
        elapsed > target, "breached", np.where(achieved >= 0, "met", "ongoing")
    ).astype(object)


def _target_us(policy: SLAPolicy, kind: str, priorities: pd.Series) -> I64:
    table = policy.first_response if kind == "first_response" else policy.resolution
    if isinstance(table, dt.timedelta):
        return np.full(len(priorities), table // _US, dtype=np.int64)
    keys = list(table)
    values = np.array([table[k] // _US for k in keys], dtype=np.int64)
    idx = pd.Index(keys).get_indexer(pd.Index(priorities))
    if (idx < 0).any():
        pos = int(np.flatnonzero(idx < 0)[0])
        policy.target(kind, priorities.iloc[pos])  # raises, naming the priority
    return values[idx]


def sla_report(
    tickets: pd.DataFrame,
    events: pd.DataFrame,
    policy: SLAPolicy,
    *,
    as_of: object,
    id_col: str = "id",
    created_col: str = "created_at",
    priority_col: str = "priority",
    first_response_col: str = "first_response_at",
) -> pd.DataFrame:
    """SLA status of many tickets at once (vectorised :func:`sla_status`).

    Parameters
    ----------
    tickets : DataFrame
        One row per ticket with ``id``, ``created_at`` (tz-aware) and
        ``priority`` columns (names configurable), optionally
        ``first_response_at`` (a recorded first response; NaT where none).
    events : DataFrame
        Stage history with ``entity_id``, ``from_stage``, ``to_stage``, ``at``
        columns (see :func:`events_frame`); events after ``as_of`` are ignored.
    policy : SLAPolicy
        Targets, calendar, workflow and response stages.
    as_of : datetime or date-like
        The moment the status is taken: a timezone-aware instant, or a date
        (the end of that day in the zone of ``created_col``). Events and
        recorded first responses after it are ignored; a ticket created
        after it has nothing elapsed.
    id_col, created_col, priority_col, first_response_col : str
        Column names in ``tickets`` (defaults ``"id"``, ``"created_at"``,
        ``"priority"``, ``"first_response_at"``; the last is optional).

    Returns
    -------
    DataFrame
        Indexed by ticket id, with for each target ``first_response_*`` and
        ``resolution_*`` columns: ``deadline``, ``elapsed`` (hours), ``remaining``
        and ``exceeded`` (hours), ``achieved_at`` and ``state``; plus
        ``resolution_paused`` (hours).

    Raises
    ------
    ValidationError
        On missing columns, naive datetimes, unknown stages or priorities, or
        events for tickets not in ``tickets``.
    """
    check_columns(tickets, [id_col, created_col, priority_col], name="tickets")
    check_columns(events, ["entity_id", "to_stage", "at"], name="events")
    wf = policy.workflow
    ids = pd.Index(tickets[id_col])
    if ids.has_duplicates:
        dup = ids[ids.duplicated()][0]
        raise ValidationError(f"ticket id {dup!r} appears twice", field=id_col, value=dup)
    created_dates = read_instants(tickets[created_col], name=created_col, row_name="ticket")
    created = instants(created_dates)
    as_of_us = cutoff_us(as_of, tz=created_dates.tz)
    ev_at = instants(read_instants(events["at"], name="at"))
    keep = ev_at <= as_of_us
    ev = events.loc[keep]
    ev_at = ev_at[keep]
    ev_ticket = ids.get_indexer(pd.Index(ev["entity_id"])).astype(np.int64)
    if (ev_ticket < 0).any():
        pos = int(np.flatnonzero(ev_ticket < 0)[0])
        raise ValidationError(
            f"event for unknown ticket {ev['entity_id'].iloc[pos]!r}",
            field="entity_id",
            row=ev.index[pos],
            value=ev["entity_id"].iloc[pos],
        )
    ev_stage = stage_codes(ev["to_stage"], wf, "to_stage")
    order = np.lexsort((ev_at, ev_ticket))
    ev_ticket, ev_at, ev_stage = ev_ticket[order], ev_at[order], ev_stage[order]
    init = np.full(len(ids), wf.stage_names.index(wf.initial), dtype=np.int64)
    if "from_stage" in ev.columns and ev_ticket.size:
        from_codes = stage_codes(ev["from_stage"], wf, "from_stage")[order]
        firsts = np.flatnonzero(np.concatenate([[True], ev_ticket[1:] != ev_ticket[:-1]]))
        init[ev_ticket[firsts]] = from_codes[firsts]
    pri = tickets[priority_col]
    fr_t = _target_us(policy, "first_response", pri)
    res_t = _target_us(policy, "resolution", pri)
    fr_given = None
    if first_response_col in tickets.columns:
        given = read_instants(
            tickets[first_response_col], name=first_response_col, allow_missing=True
        ).ns
        fr_given = np.where(given == NAT, -1, given // 1000)
    r = _compute(
        policy, created, fr_t, res_t, ev_ticket, ev_at, ev_stage, init, as_of_us, fr_given
    )
    hour = 3_600_000_000.0

    def ts(us: I64) -> pd.Series:
        return pd.Series(timestamps(np.where(us >= 0, us * 1000, NAT), "UTC"), index=ids)

    cols: dict[str, Any] = {}
    for kind, el, tgt, dl, ach in (
        ("first_response", r["fr_elapsed"], fr_t, r["fr_deadline"], r["fr_achieved"]),
        ("resolution", r["res_elapsed"], res_t, r["res_deadline"], r["res_achieved"]),
    ):
        cols[f"{kind}_deadline"] = ts(dl)
        cols[f"{kind}_elapsed"] = el / hour
        cols[f"{kind}_remaining"] = np.maximum(tgt - el, 0) / hour
        cols[f"{kind}_exceeded"] = np.maximum(el - tgt, 0) / hour
        cols[f"{kind}_achieved_at"] = ts(ach)
        cols[f"{kind}_state"] = _state(el, tgt, ach)
    cols["resolution_paused"] = r["res_paused"] / hour
    return pd.DataFrame(cols, index=ids)


def sla_status(
    ticket: Any,
    events: Iterable[object],
    policy: SLAPolicy,
    *,
    as_of: object,
) -> SLAStatus:
    """Return a ticket's status against its SLA targets at ``as_of``.

    Parameters
    ----------
    ticket : Ticket
        Needs ``id``, ``created_at`` and ``priority``; a ``first_response_at``
        set on the ticket counts as a response if earlier than the first move
        into a response stage.
    events : iterable of StageChanged
        The ticket's stage history (events for other entities, other event
        types and events after ``as_of`` are ignored).
    policy : SLAPolicy
        Targets, calendar, workflow and response stages.
    as_of : datetime or date-like
        When the status is taken: a timezone-aware instant, or a date (the
        end of that day in the zone of ``ticket.created_at``). Moves are
        ordered, and compared with it, as instants.

    Returns
    -------
    SLAStatus
        The ticket id and one :class:`SLATargetStatus` per clock
        (``first_response``, ``resolution``): deadline, elapsed and
        remaining working time, pauses and state.

    Examples
    --------
    >>> import datetime as dt
    >>> import attrs
    >>> @attrs.frozen
    ... class T:
    ...     id: str
    ...     created_at: dt.datetime
    ...     priority: str = "normal"
    >>> utc = dt.timezone.utc
    >>> t = T("t1", dt.datetime(2026, 1, 5, 9, tzinfo=utc))
    >>> at = dt.datetime(2026, 1, 5, 10, tzinfo=utc)
    >>> ev = [StageChanged("t1", "new", "in_progress", at)]
    >>> policy = SLAPolicy(dt.timedelta(hours=2), dt.timedelta(hours=8))
    >>> st = sla_status(t, ev, policy, as_of=dt.datetime(2026, 1, 5, 12, tzinfo=utc))
    >>> st.first_response.state, st.resolution.state, st.resolution.remaining
    ('met', 'ongoing', datetime.timedelta(seconds=18000))
    """
    created_at = require_aware(getattr(ticket, "created_at", None), field="created_at")
    as_of_us = cutoff_us(as_of, tz=created_at.tzinfo)
    given = getattr(ticket, "first_response_at", None)
    if given is not None:
        require_aware(given, field="first_response_at")
    wf = policy.workflow
    names = wf.stage_names
    # sorted by instant: two moves in a DST fold keep their real order
    timed = sorted(
        (instant_us(e.at, name="at"), i, e)
        for i, e in enumerate(events)
        if isinstance(e, StageChanged) and e.entity_id == ticket.id
    )
    evs = [e for at_us, _, e in timed if at_us <= as_of_us]
    for e in evs:
        if e.to_stage not in wf:
            raise ValidationError(
                f"event moves {ticket.id!r} to {e.to_stage!r}, not a stage of workflow "
                f"{wf.name!r}",
                field="to_stage",
                value=e.to_stage,
            )
    first_stage = evs[0].from_stage if evs else wf.initial
    init = np.array([names.index(wf.stage(first_stage).name)], dtype=np.int64)
    fr = policy.target("first_response", ticket.priority) // _US
    res = policy.target("resolution", ticket.priority) // _US
    r = _compute(
        policy,
        np.array([instant_us(created_at)], dtype=np.int64),
        np.array([fr], dtype=np.int64),
        np.array([res], dtype=np.int64),
        np.zeros(len(evs), dtype=np.int64),
        np.array([at_us for at_us, _, _ in timed[: len(evs)]], dtype=np.int64),
        np.array([names.index(e.to_stage) for e in evs], dtype=np.int64),
        init,
        as_of_us,
        np.array([instant_us(given) if given is not None else -1], dtype=np.int64),
    )
    tz = as_of.tzinfo if isinstance(as_of, dt.datetime) else created_at.tzinfo
    assert tz is not None

    def when(us: int) -> dt.datetime:
        return from_instant_us(us, tz)

    def target(kind: str, tgt: int, paused: int) -> SLATargetStatus:
        el = int(r[f"{kind}_elapsed"][0])
        ach = int(r[f"{kind}_achieved"][0])
        state = "breached" if el > tgt else ("met" if ach >= 0 else "ongoing")
        return SLATargetStatus(
            target=dt.timedelta(microseconds=tgt),
            elapsed=dt.timedelta(microseconds=el),
            paused=dt.timedelta(microseconds=paused),
            remaining=dt.timedelta(microseconds=max(tgt - el, 0)),
            exceeded=dt.timedelta(microseconds=max(el - tgt, 0)),
            deadline=when(int(r[f"{kind}_deadline"][0])),
            achieved_at=when(ach) if ach >= 0 else None,
            state=state,
        )

    return SLAStatus(
        ticket.id,
        target("fr", fr, 0),
        target("res", res, int(r["res_paused"][0])),
    )
