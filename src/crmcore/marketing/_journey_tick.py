"""A scheduler tick: the journey engine over many enrolments at once, on arrays.

Same meaning as :func:`~crmcore.marketing.journeys.step` (tests hold the
two equal), organised for millions of enrolments: the events that matter to
the journey (entry, waited-for, branch and goal types) are picked out of the
frame and sorted once by (customer, matcher, time); every later question
("the first reply after t", "a click in the last 7 days", "the consent in
force at t", "sends within the cap window") is a vectorised binary search.
Enrolments move in rounds: each round takes every enrolment one step, with
the work done per *step* (a handful) rather than per enrolment; a round
ends the enrolments that wait. Python runs per enrolment only to build the
ids of what was emitted.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Iterable, Sequence
from typing import Any, Final

import attrs
import numpy as np
import pandas as pd

from crmcore import _time
from crmcore._types import BoolArray, IntArray
from crmcore._validation import check_columns
from crmcore.domain import encode_id
from crmcore.errors import ValidationError
from crmcore.marketing._hashing import stable_uniform
from crmcore.marketing._journey import Journey
from crmcore.marketing._journey_clock import next_times_of_day, quiet_shifts_coded
from crmcore.marketing._journey_engine import FrequencyCap
from crmcore.marketing._journey_steps import (
    Action,
    Branch,
    Entry,
    Exit,
    Goal,
    Send,
    Wait,
    clock_seconds,
)
from crmcore.marketing._journey_values import (
    AUDIT_TYPES,
    STATUSES,
    AuditEvent,
    Enrolment,
    JourneyAction,
    audit_from_dict,
    ns_of,
)
from crmcore.marketing._windows import GroupedTimes

__all__ = [
    "ACTION_COLUMNS",
    "AUDIT_COLUMNS",
    "ENROLMENT_COLUMNS",
    "TickResult",
    "enrolments_frame",
    "tick",
]

ENROLMENT_COLUMNS: Final = (
    "enrolment_id",
    "journey_id",
    "customer_id",
    "seq",
    "enrolled_at",
    "step",
    "step_at",
    "due_at",
    "status",
    "control",
)
"""Columns of an enrolments frame (times: datetime64, UTC; ``due_at`` NaT when none)."""

ACTION_COLUMNS: Final = (
    "action_id",
    "kind",
    "journey_id",
    "enrolment_id",
    "customer_id",
    "step",
    "at",
    "channel",
    "message_id",
    "params",
)
"""Columns of a tick's actions frame (``params``: a dict, or None for sends)."""

AUDIT_COLUMNS: Final = (
    "event_id",
    "type",
    "journey_id",
    "enrolment_id",
    "customer_id",
    "step",
    "at",
    "outcome",
    "next_step",
    "due_at",
    "reason",
    "channel",
    "message_id",
    "goal",
    "seq",
    "control",
)
"""Columns of a tick's audit frame (one row per audit event, in emission order)."""

_NAT: Final = _time.NAT
_NEVER: Final = np.iinfo(np.int64).max
# kinds of steps, as codes
_ENTRY, _WAIT, _WAIT_EVENT, _BRANCH, _SEND, _ACTION, _EXIT, _GOAL = range(8)
_ACTIVE = STATUSES.index("active")
# audit rows: (type code, outcome text or None)
_T_ENTERED, _T_STEP, _T_SKIPPED, _T_GOAL, _T_EXITED = range(5)
_TYPE_NAMES = (
    "marketing.journey_entered",
    "marketing.journey_step_completed",
    "marketing.journey_message_skipped",
    "marketing.journey_goal_reached",
    "marketing.journey_exited",
)
_SHORT = tuple(t.rsplit(".", 1)[-1] for t in _TYPE_NAMES)
_OUTCOMES = ("entered", "waited", "event", "timeout", "yes", "no", "sent", "skipped", "done")
_REASONS = ("no_consent", "opted_out", "frequency_cap", "exit", "control")


@attrs.frozen
class TickResult:
    """What :func:`tick` returns.

    Attributes
    ----------
    enrolments : DataFrame
        Every enrolment, updated, with the new ones appended
        (:data:`ENROLMENT_COLUMNS`).
    actions : DataFrame
        What the application is to do (:data:`ACTION_COLUMNS`), none of
        ``already_emitted``.
    audit : DataFrame
        The audit events (:data:`AUDIT_COLUMNS`), in emission order per
        enrolment.
    """

    enrolments: pd.DataFrame
    actions: pd.DataFrame
    audit: pd.DataFrame

    def action_values(self) -> tuple[JourneyAction, ...]:
        """Return the actions as :class:`JourneyAction` values.

        Returns
        -------
        tuple of JourneyAction
        """
        records: list[dict[Any, Any]] = self.actions.to_dict("records")
        return tuple(
            JourneyAction(
                id=r["action_id"],
                kind=r["kind"],
                journey_id=r["journey_id"],
                enrolment_id=r["enrolment_id"],
                customer_id=r["customer_id"],
                step=r["step"],
                at=r["at"].to_pydatetime(),
                channel=None if r["channel"] is None else str(r["channel"]),
                message_id=None if r["message_id"] is None else str(r["message_id"]),
                params=r["params"] or {},
            )
            for r in records
        )

    def audit_events(self) -> tuple[AuditEvent, ...]:
        """Return the audit rows as audit event values (in order).

        Returns
        -------
        tuple of AuditEvent
        """
        return audit_values(self.audit)

    def enrolment_values(self) -> tuple[Enrolment, ...]:
        """Return the enrolments as :class:`Enrolment` values.

        Returns
        -------
        tuple of Enrolment
        """
        return enrolment_values(self.enrolments)


def audit_values(frame: pd.DataFrame) -> tuple[AuditEvent, ...]:
    """Turn an audit frame into audit event values (in row order)."""
    out = []
    for rec in frame.to_dict("records"):
        cls = AUDIT_TYPES[rec["type"]]
        names = {f.name for f in attrs.fields(cls)}
        data: dict[str, Any] = {"type": rec["type"]}
        for key in names:
            value = rec.get(key)
            if isinstance(value, pd.Timestamp):
                value = value.to_pydatetime()
            elif value is pd.NaT or (isinstance(value, float) and np.isnan(value)):
                value = None
            data[key] = value
        if "seq" in data:
            data["seq"] = int(data["seq"])
        if "control" in data:
            data["control"] = bool(data["control"])
        out.append(audit_from_dict(data))
    return tuple(out)


def enrolment_values(frame: pd.DataFrame) -> tuple[Enrolment, ...]:
    """Turn an enrolments frame into :class:`Enrolment` values."""
    out = []
    for rec in frame.to_dict("records"):
        due = rec["due_at"]
        out.append(
            Enrolment(
                journey_id=rec["journey_id"],
                customer_id=rec["customer_id"],
                seq=int(rec["seq"]),
                enrolled_at=rec["enrolled_at"].to_pydatetime(),
                step=rec["step"],
                step_at=rec["step_at"].to_pydatetime(),
                due_at=None if pd.isna(due) else due.to_pydatetime(),
                status=rec["status"],
                control=bool(rec["control"]),
            )
        )
    return tuple(out)


def _utc(ns: IntArray) -> pd.DatetimeIndex:
    return pd.DatetimeIndex(np.asarray(ns, dtype=np.int64).view("datetime64[ns]")).tz_localize(
        "UTC"
    )


def enrolments_frame(enrolments: Iterable[Enrolment]) -> pd.DataFrame:
    """Build an enrolments frame (:data:`ENROLMENT_COLUMNS`) from :class:`Enrolment` values.

    Parameters
    ----------
    enrolments : iterable of Enrolment

    Returns
    -------
    DataFrame
    """
    items = list(enrolments)

    def col(get: Any) -> IntArray:
        return np.array([get(e) for e in items], dtype=np.int64)

    return pd.DataFrame(
        {
            "enrolment_id": pd.Series([e.id for e in items], dtype=object),
            "journey_id": pd.Series([e.journey_id for e in items], dtype=object),
            "customer_id": pd.Series([e.customer_id for e in items], dtype=object),
            "seq": col(lambda e: e.seq),
            "enrolled_at": _utc(col(lambda e: ns_of(e.enrolled_at))),
            "step": pd.Series([e.step for e in items], dtype=object),
            "step_at": _utc(col(lambda e: ns_of(e.step_at))),
            "due_at": _utc(col(lambda e: _NAT if e.due_at is None else ns_of(e.due_at))),
            "status": pd.Series([e.status for e in items], dtype=object),
            "control": np.array([e.control for e in items], dtype=bool),
        }
    )


# ---------------------------------------------------------------- reading inputs


def _codes(series: pd.Series, allowed: Sequence[str], *, normalise: bool = False) -> IntArray:
    """Position of each value among ``allowed`` (-1: not there); categoricals by category."""

    def clean(values: pd.Index) -> pd.Index:
        text = values.astype(str)
        return text.str.strip().str.lower() if normalise else text

    table = pd.Index(list(allowed))
    if isinstance(series.dtype, pd.CategoricalDtype):
        by_cat = np.append(table.get_indexer(clean(pd.Index(series.cat.categories))), -1)
        codes = series.cat.codes.to_numpy().astype(np.int64)
        return np.asarray(by_cat[np.where(codes >= 0, codes, by_cat.size - 1)], dtype=np.int64)
    return np.asarray(table.get_indexer(clean(pd.Index(series))), dtype=np.int64)


def _categorical(codes: IntArray, categories: Sequence[Any]) -> Any:
    build: Any = pd.Categorical.from_codes
    return build(np.asarray(codes, dtype=np.int64), categories=pd.Index(list(categories)))


def _ns_column(
    frame: pd.DataFrame, col: str, row_name: str, *, allow_missing: bool = False
) -> IntArray:
    dates = _time.read_dates(frame[col], name=col, row_name=row_name, allow_missing=allow_missing)
    if dates.tz is None and len(frame):
        raise ValidationError(
            f"{row_name}s[{col!r}] must be timezone-aware: journeys run on instants "
            f"(localise it, e.g. frame[{col!r}].dt.tz_localize('UTC'))",
            field=col,
        )
    ns = np.asarray(dates.ns, dtype=np.int64)
    # instants at microsecond resolution, as the single-step engine's datetimes
    return ns - np.where(ns == _NAT, 0, ns % 1000)


class _Matchers:
    """The (event type, message id) pairs the journey listens for, and their events."""

    def __init__(self, journey: Journey) -> None:
        pairs: list[tuple[str, str | None]] = []
        for s in journey.steps:
            if isinstance(s, Entry) and s.event is not None:
                pairs.append((s.event, None))
            elif isinstance(s, Wait | Branch | Goal) and s.event is not None:
                pairs.append((s.event, s.message_id))
        self.pairs = list(dict.fromkeys(pairs))
        self.types = sorted({t for t, _ in self.pairs})

    def index(self, typ: str | None, msg: str | None) -> int:
        return self.pairs.index((str(typ), msg))


def _event_rows(
    events: pd.DataFrame, matchers: _Matchers, customer_col: str, date_col: str, now_ns: int
) -> tuple[Any, IntArray, IntArray]:
    """Find every (event, matcher) match at or before now: customer ids, matcher, time."""
    check_columns(events, [customer_col, "type", date_col], name="events")
    types = events["type"]
    if isinstance(types.dtype, pd.CategoricalDtype):
        cats = pd.Index(types.cat.categories.astype(str))
        wanted = np.isin(cats.to_numpy(), matchers.types)
        codes = types.cat.codes.to_numpy()
        keep = np.flatnonzero((codes >= 0) & wanted[np.maximum(codes, 0)])
    else:
        keep = np.flatnonzero(types.astype(str).isin(matchers.types).to_numpy())
    sub = events.iloc[keep]
    ns = _ns_column(sub, date_col, "event")
    ok = (ns != _NAT) & (ns <= now_ns)
    sub, ns = sub.iloc[np.flatnonzero(ok)], ns[ok]
    typ = sub["type"].astype(str).to_numpy()
    msg = (
        sub["message_id"].astype(object).to_numpy()
        if "message_id" in sub
        else np.full(len(sub), None, dtype=object)
    )
    cust_parts, k_parts, t_parts = [], [], []
    cust = sub[customer_col].to_numpy()
    for k, (t, m) in enumerate(matchers.pairs):
        hit = typ == t
        if m is not None:
            hit &= msg == m
        rows = np.flatnonzero(hit)
        cust_parts.append(cust[rows])
        k_parts.append(np.full(rows.size, k, dtype=np.int64))
        t_parts.append(ns[rows])
    if not cust_parts:
        return np.zeros(0, dtype=object), np.zeros(0, np.int64), np.zeros(0, np.int64)
    return (
        np.concatenate(cust_parts),
        np.concatenate(k_parts),
        np.concatenate(t_parts),
    )


class _Log:
    """Events by (customer, matcher), for first-after and any-within queries."""

    def __init__(self, codes: IntArray, k: IntArray, t: IntArray, n_cust: int, n_k: int):
        self.width = max(n_k, 1)
        self.log = GroupedTimes(codes * self.width + k, t, n_cust * self.width)

    def first_after(self, codes: IntArray, k: int, lo: IntArray, hi: IntArray) -> IntArray:
        """First time in ``(lo, hi]`` (``_NEVER`` if none)."""
        g = codes * self.width + k
        pos = self.log.position(g, lo)
        end = self.log.starts[g + 1]
        out = np.full(codes.size, _NEVER, dtype=np.int64)
        inside = pos < end
        times = self.log.times[pos[inside]]
        found = times <= hi[inside]
        idx = np.flatnonzero(inside)[found]
        out[idx] = times[found]
        return out

    def any_within(self, codes: IntArray, k: int, lo: IntArray, hi: IntArray) -> BoolArray:
        """Tell whether each query has an event in ``(lo, hi]``."""
        found: BoolArray = self.log.count(codes * self.width + k, lo, hi) > 0
        return found


class _Consents:
    """The consent log by (customer, channel): the consent in force at an instant."""

    def __init__(self, consents: pd.DataFrame, customers: pd.Index, customer_col: str) -> None:
        check_columns(consents, [customer_col, "channel", "granted", "date"], name="consents")
        ns = _ns_column(consents, "date", "consent")
        granted = consents["granted"].to_numpy()
        if granted.dtype != bool:
            ok = pd.Series(granted).isin([True, False]).to_numpy(dtype=bool)
            if not ok.all():
                bad = int(np.flatnonzero(~ok)[0])
                raise ValidationError(
                    f"consents: granted must be True or False; got {granted[bad]!r} in row "
                    f"{consents.index[bad]!r}",
                    field="granted",
                    row=consents.index[bad],
                )
            granted = granted.astype(bool)
        self.channels = ("email", "sms", "push")
        ch = _codes(consents["channel"], self.channels, normalise=True)
        codes = customers.get_indexer(pd.Index(consents[customer_col]))
        keep = (ch >= 0) & (codes >= 0)
        self.granted = granted[keep]
        self.log = GroupedTimes(codes[keep] * 3 + ch[keep], ns[keep], len(customers) * 3)

    def state(self, codes: IntArray, channel: str, at: IntArray) -> IntArray:
        """1 granted, 0 withdrawn, -1 unknown."""
        g = codes * 3 + self.channels.index(channel)
        last = self.log.last_at_or_before(g, at)
        out = np.full(codes.size, -1, dtype=np.int64)
        found = last >= 0
        out[found] = self.granted[last[found]].astype(np.int64)
        return out


class _Audit:
    """Audit rows collected as arrays, chunk by chunk."""

    def __init__(self) -> None:
        self.chunks: list[dict[str, Any]] = []

    def add(self, rows: IntArray, kind: int, step: IntArray, at: IntArray, **extra: Any) -> None:
        if rows.size:
            self.chunks.append({"row": rows, "kind": kind, "step": step, "at": at, "extra": extra})


def _profile_rows(profiles: pd.DataFrame | None, customers: pd.Index, customer_col: str) -> Any:
    if profiles is None:
        return None, np.full(len(customers), -1, dtype=np.int64)
    if customer_col in profiles.columns:
        index = pd.Index(profiles[customer_col])
    else:
        index = profiles.index
    if not index.is_unique:
        dup = index[index.duplicated()][0]
        raise ValidationError(
            f"customer {dup!r} appears more than once in profiles; give one row per customer",
            field=customer_col,
            row=dup,
        )
    return profiles, np.asarray(index.get_indexer(customers), dtype=np.int64)


def tick(
    journey: Journey,
    enrolments: pd.DataFrame | None,
    events: pd.DataFrame,
    now: Any,
    *,
    profiles: pd.DataFrame | None = None,
    consents: pd.DataFrame,
    sends: pd.DataFrame | None = None,
    frequency_cap: FrequencyCap | None = None,
    already_emitted: Any = frozenset(),
    customer_col: str = "customer_id",
    date_col: str = "date",
) -> TickResult:
    """Run the journey for every enrolment at ``now``: entries, steps, guards, goals.

    Parameters
    ----------
    journey : Journey
    enrolments : DataFrame or None
        The journey's enrolments so far (:data:`ENROLMENT_COLUMNS`; ended
        ones too: the re-entry policy reads them); None for none.
    events : DataFrame
        Behaviour: ``customer_col``, ``type``, ``date_col`` (aware), optional
        ``message_id``; only the types the journey listens for are read
        (a categorical ``type`` is read fastest), and nothing after ``now``.
    now : datetime or Timestamp
        The tick's instant (timezone-aware).
    profiles : DataFrame, optional
        One row per customer (index or ``customer_col``): the fields of the
        rules, ``tz`` (quiet hours; default the journey's), owners of tasks.
    consents : DataFrame
        The consent log: ``customer_col``, ``channel``, ``granted``, ``date``
        (aware), as :func:`crmcore.marketing.consent_log` builds it.
    sends : DataFrame, optional
        Recent sends of *every* journey: ``customer_col`` and ``date_col``
        (for the frequency cap).
    frequency_cap : FrequencyCap, optional
    already_emitted : container of str
        Action ids already handed over: not emitted again.
    customer_col, date_col : str
        Column names.

    Returns
    -------
    TickResult
        Enrolments, actions and audit events.

    Raises
    ------
    ValidationError
        Missing columns, naive dates, a repeated profile row, or enrolments
        of another journey or at unknown steps.

    Notes
    -----
    Each customer has at most one active enrolment, and enters at most once
    per tick (the first qualifying trigger). The results equal those of
    :func:`enter` and :func:`step` run per customer.
    """
    now_ns = ns_of(_time.to_instant(now, name="now").to_pydatetime(), name="now")
    names = journey.step_names
    steps = [journey[n] for n in names]
    kind = np.array([_kind(s) for s in steps], dtype=np.int64)
    matchers = _Matchers(journey)
    enr = _read_enrolments(enrolments, journey, names)
    ev_cust, ev_k, ev_t = _event_rows(events, matchers, customer_col, date_col, now_ns)

    # one code per customer: the enrolled first, then those only in events / profiles
    seg_only = journey.entry.event is None
    extra_ids: list[Any] = [ev_cust]
    if seg_only and profiles is not None:
        extra_ids.append(_profile_ids(profiles, customer_col))
    customers = _universe(enr["customer_id"], extra_ids)
    n_cust = len(customers)
    enr_code = np.asarray(customers.get_indexer(pd.Index(enr["customer_id"])), dtype=np.int64)
    ev_code = np.asarray(customers.get_indexer(pd.Index(ev_cust)), dtype=np.int64)
    log = _Log(ev_code, ev_k, ev_t, n_cust, len(matchers.pairs))
    prof, prof_row = _profile_rows(profiles, customers, customer_col)
    zone_names, zone_of = _zones(prof, prof_row, journey)
    audit = _Audit()

    # ---- entries
    new = _entries(
        journey,
        enr=enr,
        enr_code=enr_code,
        customers=customers,
        log=log,
        matchers=matchers,
        prof=prof,
        prof_row=prof_row,
        now_ns=now_ns,
    )
    base = len(enr["seq"])
    if new["code"].size:
        rows = base + np.arange(new["code"].size)
        entry = names.index(journey.entry.name)
        step_col = np.full(rows.size, entry, dtype=np.int64)
        audit.add(rows, _T_ENTERED, step_col, new["at"])
        ctrl = np.flatnonzero(new["control"])
        audit.add(rows[ctrl], _T_EXITED, step_col[ctrl], new["at"][ctrl], reason=4)
    code = np.concatenate([enr_code, new["code"]])
    seq = np.concatenate([enr["seq"], new["seq"]])
    enrolled = np.concatenate([enr["enrolled"], new["at"]])
    cur = np.concatenate([enr["step"], np.full(new["code"].size, names.index(journey.entry.name))])
    t_at = np.concatenate([enr["step_at"], new["at"]])
    due = np.concatenate([enr["due"], np.full(new["code"].size, _NAT, dtype=np.int64)])
    status = np.concatenate(
        [enr["status"], np.where(new["control"], STATUSES.index("held_out"), _ACTIVE)]
    )
    control = np.concatenate([enr["control"], new["control"]])
    eids = np.concatenate(
        [
            enr["enrolment_id"],
            _ids(journey.id, customers[new["code"]].to_numpy(), new["seq"]),
        ]
    )

    # ---- goals: the first goal event after enrolment, by now
    active = np.flatnonzero(status == _ACTIVE)
    goal_at = np.full(code.size, _NEVER, dtype=np.int64)
    goal_of = np.full(code.size, -1, dtype=np.int64)
    for gi, g in enumerate(journey.goals):
        k = matchers.index(g.event, g.message_id)
        found = log.first_after(
            code[active], k, enrolled[active], np.full(active.size, now_ns, np.int64)
        )
        better = found < goal_at[active]
        goal_at[active[better]] = found[better]
        goal_of[active[better]] = gi

    # ---- rounds
    guard = _Guards(
        consents=consents,
        sends=sends,
        cap=frequency_cap,
        customers=customers,
        customer_col=customer_col,
        date_col=date_col,
    )
    emitted: list[dict[str, Any]] = []
    work = active
    while work.size:
        s_code, t, d = cur[work], t_at[work], due[work]
        k_of = kind[s_code]
        when = np.full(work.size, _NEVER, dtype=np.int64)
        nxt = np.full(work.size, -1, dtype=np.int64)
        outcome = np.full(work.size, -1, dtype=np.int64)
        at_once = (k_of == _ENTRY) | (k_of == _BRANCH) | (k_of == _ACTION) | (k_of == _EXIT)
        when[at_once] = t[at_once]
        timed = ((k_of == _WAIT) | (k_of == _SEND)) & (d <= now_ns)
        when[timed] = d[timed]
        for si in np.unique(s_code[k_of == _WAIT_EVENT]):
            s = steps[si]
            assert isinstance(s, Wait)
            rows = np.flatnonzero(s_code == si)
            first = log.first_after(
                code[work[rows]],
                matchers.index(s.event, s.message_id),
                t[rows],
                np.minimum(d[rows], now_ns),
            )
            hit = first != _NEVER
            when[rows[hit]] = first[hit]
            nxt[rows[hit]] = names.index(str(s.next))
            outcome[rows[hit]] = _OUTCOMES.index("event")
            late = rows[~hit & (d[rows] <= now_ns)]
            when[late] = d[late]
            nxt[late] = names.index(str(s.on_timeout))
            outcome[late] = _OUTCOMES.index("timeout")
        moved = (when != _NEVER) & (when < goal_at[work])
        m = np.flatnonzero(moved)
        work, s_code, when, nxt, outcome, k_of = (
            work[m],
            s_code[m],
            when[m],
            nxt[m],
            outcome[m],
            k_of[m],
        )
        if not work.size:
            break
        exits = k_of == _EXIT
        if exits.any():
            rows = work[exits]
            audit.add(rows, _T_EXITED, s_code[exits], when[exits], reason=3)
            status[rows] = STATUSES.index("completed")
            t_at[rows] = when[exits]
            due[rows] = _NAT
        go = ~exits
        work, s_code, when, nxt, outcome, k_of = (
            work[go],
            s_code[go],
            when[go],
            nxt[go],
            outcome[go],
            k_of[go],
        )
        for si in np.unique(s_code):
            s = steps[si]
            rows = np.flatnonzero(s_code == si)
            if isinstance(s, Entry):
                nxt[rows] = names.index(str(s.next))
                outcome[rows] = _OUTCOMES.index("entered")
            elif isinstance(s, Wait) and s.event is None:
                nxt[rows] = names.index(str(s.next))
                outcome[rows] = _OUTCOMES.index("waited")
            elif isinstance(s, Branch):
                holds = _branch(
                    s,
                    code[work[rows]],
                    when[rows],
                    log=log,
                    matchers=matchers,
                    prof=prof,
                    prof_row=prof_row,
                )
                nxt[rows] = np.where(holds, names.index(str(s.yes)), names.index(str(s.no)))
                outcome[rows] = np.where(holds, _OUTCOMES.index("yes"), _OUTCOMES.index("no"))
            elif isinstance(s, Send):
                reason = guard.check(str(s.channel), code[work[rows]], when[rows], now_ns)
                sent = reason < 0
                skipped = rows[~sent]
                audit.add(
                    work[skipped],
                    _T_SKIPPED,
                    s_code[skipped],
                    when[skipped],
                    reason=reason[~sent],
                    channel=str(s.channel),
                    message_id=str(s.message_id),
                )
                emitted.append(
                    {"rows": work[rows[sent]], "step": si, "at": when[rows[sent]], "send": s}
                )
                nxt[rows] = names.index(str(s.next))
                outcome[rows] = np.where(sent, _OUTCOMES.index("sent"), _OUTCOMES.index("skipped"))
            elif isinstance(s, Action):
                emitted.append({"rows": work[rows], "step": si, "at": when[rows], "action": s})
                nxt[rows] = names.index(str(s.next))
                outcome[rows] = _OUTCOMES.index("done")
        next_due = np.full(work.size, _NAT, dtype=np.int64)
        for ni in np.unique(nxt):
            rows = np.flatnonzero(nxt == ni)
            next_due[rows] = _due(
                steps[ni], when[rows], zone_names, zone_of[code[work[rows]]], journey
            )
        audit.add(work, _T_STEP, s_code, when, outcome=outcome, next_step=nxt, due=next_due)
        cur[work], t_at[work], due[work] = nxt, when, next_due

    # ---- goals reached
    won = np.flatnonzero((status == _ACTIVE) & (goal_at <= now_ns))
    if won.size:
        audit.add(won, _T_GOAL, cur[won], goal_at[won], goal=goal_of[won])
        status[won] = STATUSES.index("converted")
        t_at[won] = goal_at[won]
        due[won] = _NAT

    cust_ids = customers[code].to_numpy()
    frame = pd.DataFrame(
        {
            "enrolment_id": pd.Series(eids, dtype=object),
            "journey_id": _categorical(np.zeros(code.size, np.int64), [journey.id]),
            "customer_id": cust_ids,
            "seq": seq,
            "enrolled_at": _utc(enrolled),
            "step": _categorical(cur, names),
            "step_at": _utc(t_at),
            "due_at": _utc(due),
            "status": _categorical(status, STATUSES),
            "control": control,
        }
    )
    actions = _actions_frame(
        journey,
        emitted=emitted,
        eids=eids,
        cust_ids=cust_ids,
        names=names,
        prof=prof,
        prof_row=prof_row,
        code=code,
    )
    if len(already_emitted) and len(actions):
        actions = actions[~actions["action_id"].isin(list(already_emitted))].reset_index(drop=True)
    return TickResult(
        frame,
        actions,
        _audit_frame(
            journey, audit, eids=eids, cust_ids=cust_ids, seq=seq, control=control, names=names
        ),
    )


# ---------------------------------------------------------------- pieces


def _kind(s: Any) -> int:
    if isinstance(s, Entry):
        return _ENTRY
    if isinstance(s, Wait):
        return _WAIT_EVENT if s.event is not None else _WAIT
    if isinstance(s, Branch):
        return _BRANCH
    if isinstance(s, Send):
        return _SEND
    if isinstance(s, Action):
        return _ACTION
    if isinstance(s, Exit):
        return _EXIT
    return _GOAL


def _read_enrolments(
    enrolments: pd.DataFrame | None, journey: Journey, names: Sequence[str]
) -> dict[str, Any]:
    if enrolments is None or len(enrolments) == 0:
        z = np.zeros(0, dtype=np.int64)
        return {
            "enrolment_id": np.zeros(0, dtype=object),
            "customer_id": np.zeros(0, dtype=object),
            "seq": z,
            "enrolled": z,
            "step": z,
            "step_at": z,
            "due": z,
            "status": z,
            "control": np.zeros(0, dtype=bool),
        }
    check_columns(enrolments, ENROLMENT_COLUMNS, name="enrolments")
    other = enrolments["journey_id"] != journey.id
    if other.any():
        raise ValidationError(
            f"enrolments holds rows of journey {enrolments['journey_id'][other].iloc[0]!r}; "
            f"tick runs one journey ({journey.id!r}): pass its enrolments only",
            field="journey_id",
        )
    step = _codes(enrolments["step"], names)
    status = _codes(enrolments["status"], STATUSES)
    for arr, col, allowed in ((step, "step", names), (status, "status", STATUSES)):
        if (arr < 0).any():
            bad = enrolments[col].iloc[int(np.flatnonzero(arr < 0)[0])]
            raise ValidationError(
                f"enrolments: {col} {bad!r} is not one of {', '.join(allowed)}",
                field=col,
                value=bad,
            )
    return {
        "enrolment_id": enrolments["enrolment_id"].to_numpy(dtype=object),
        "customer_id": enrolments["customer_id"].to_numpy(),
        "seq": enrolments["seq"].to_numpy(dtype=np.int64),
        "enrolled": _ns_column(enrolments, "enrolled_at", "enrolment"),
        "step": step.astype(np.int64),
        "step_at": _ns_column(enrolments, "step_at", "enrolment"),
        "due": _ns_column(enrolments, "due_at", "enrolment", allow_missing=True),
        "status": status.astype(np.int64),
        "control": enrolments["control"].to_numpy(dtype=bool),
    }


def _profile_ids(profiles: pd.DataFrame, customer_col: str) -> Any:
    if customer_col in profiles.columns:
        return profiles[customer_col].to_numpy()
    return profiles.index.to_numpy()


def _universe(enrolled: Any, others: list[Any]) -> pd.Index:
    parts = [pd.Index(enrolled)] + [pd.Index(o) for o in others if len(o)]
    joined = parts[0] if len(parts) == 1 else parts[0].append(parts[1:])
    out: pd.Index = pd.Index(pd.unique(joined))
    return out


def _ids(journey_id: str, customers: Any, seq: IntArray) -> Any:
    if not len(seq):
        return np.zeros(0, dtype=object)
    text = [
        f"{journey_id}:{encode_id(c)}:{n}" for c, n in zip(customers, seq.tolist(), strict=True)
    ]
    return np.asarray(text, dtype=object)


def _zones(
    prof: pd.DataFrame | None, prof_row: IntArray, journey: Journey
) -> tuple[list[str], IntArray]:
    """Zone names (the journey's first) and each customer's zone code among them."""
    out = np.zeros(prof_row.size, dtype=np.int64)
    if prof is None or "tz" not in prof.columns:
        return [journey.tz], out
    col = prof["tz"]
    if isinstance(col.dtype, pd.CategoricalDtype):
        codes = col.cat.codes.to_numpy().astype(np.int64)
        names = [str(c) for c in col.cat.categories]
    else:
        codes, uniques = pd.factorize(col)
        codes = np.asarray(codes, dtype=np.int64)
        names = [str(u) for u in uniques]
    have = np.flatnonzero(prof_row >= 0)
    mine = codes[prof_row[have]]
    known = mine >= 0
    out[have[known]] = mine[known] + 1
    return [journey.tz, *names], out


def _entries(
    journey: Journey,
    *,
    enr: dict[str, Any],
    enr_code: IntArray,
    customers: pd.Index,
    log: _Log,
    matchers: _Matchers,
    prof: pd.DataFrame | None,
    prof_row: IntArray,
    now_ns: int,
) -> dict[str, Any]:
    n_cust = len(customers)
    # per customer: the latest enrolment (by seq) and whether one is active
    last_seq = np.full(n_cust, -1, dtype=np.int64)
    last_end = np.full(n_cust, _NAT, dtype=np.int64)
    last_enrolled = np.full(n_cust, _NAT, dtype=np.int64)
    busy = np.zeros(n_cust, dtype=bool)
    if enr_code.size:
        order = np.lexsort((enr["seq"], enr_code))
        c = enr_code[order]
        last = order[np.r_[c[1:] != c[:-1], True]]
        last_seq[enr_code[last]] = enr["seq"][last]
        last_end[enr_code[last]] = enr["step_at"][last]
        last_enrolled[enr_code[last]] = enr["enrolled"][last]
        busy[enr_code[enr["status"] == _ACTIVE]] = True
    cand = np.flatnonzero(~busy)
    had = last_seq[cand] >= 0
    if journey.re_entry == "never":
        cand, had = cand[~had], had[~had]
    lo = np.full(cand.size, _NAT + 1, dtype=np.int64)
    if journey.starts_at is not None:
        lo[:] = ns_of(journey.starts_at) - 1
    lo = np.where(had, np.maximum(lo, last_end[cand]), lo)
    if journey.cooldown is not None:
        cool = last_enrolled[cand] + int(journey.cooldown.value) - 1
        lo = np.where(had, np.maximum(lo, cool), lo)
    entry = journey.entry
    hi = np.full(cand.size, now_ns, dtype=np.int64)
    if entry.event is not None:
        at = log.first_after(cand, matchers.index(entry.event, None), lo, hi)
    else:
        at = np.where(lo < now_ns, now_ns, _NEVER)
    ok = at != _NEVER
    cand, at = cand[ok], at[ok]
    if entry.rule is not None and cand.size:
        rows = prof_row[cand]
        holds = np.zeros(cand.size, dtype=bool)
        present = np.flatnonzero(rows >= 0)
        if present.size:
            assert prof is not None
            holds[present] = entry.rule.mask(prof.iloc[rows[present]])
        cand, at = cand[holds], at[holds]
    seq = last_seq[cand] + 1
    if journey.control_fraction > 0 and cand.size:
        u = stable_uniform(customers[cand].to_numpy(), journey.salt)
        control = u < journey.control_fraction
    else:
        control = np.zeros(cand.size, dtype=bool)
    return {"code": cand, "at": at, "seq": seq, "control": control}


def _branch(
    s: Branch,
    codes: IntArray,
    when: IntArray,
    *,
    log: _Log,
    matchers: _Matchers,
    prof: pd.DataFrame | None,
    prof_row: IntArray,
) -> BoolArray:
    if s.rule is None:
        assert s.within is not None
        k = matchers.index(s.event, s.message_id)
        return log.any_within(codes, k, when - int(s.within.value), when)
    holds = np.zeros(codes.size, dtype=bool)
    rows = prof_row[codes]
    present = np.flatnonzero(rows >= 0)
    if present.size:
        assert prof is not None
        holds[present] = s.rule.mask(prof.iloc[rows[present]])
    return holds


def _due(
    s: Any, when: IntArray, zone_names: list[str], zones: IntArray, journey: Journey
) -> IntArray:
    if isinstance(s, Wait):
        if s.duration is not None:
            return when + np.int64(s.duration.value)
        if s.timeout is not None:
            return when + np.int64(s.timeout.value)
        seconds = s.until_seconds
        assert seconds is not None
        return next_times_of_day(when, seconds, s.calendar)
    if isinstance(s, Send):
        q = journey.quiet_hours
        if q is None:
            return when.copy()
        quiet = (clock_seconds(q[0], name="quiet_hours"), clock_seconds(q[1], name="quiet_hours"))
        return quiet_shifts_coded(when, zone_names, zones, quiet)
    return np.full(when.size, _NAT, dtype=np.int64)


class _Guards:
    """Consent and frequency cap over a tick (history plus the tick's own sends)."""

    def __init__(
        self,
        *,
        consents: pd.DataFrame,
        sends: pd.DataFrame | None,
        cap: FrequencyCap | None,
        customers: pd.Index,
        customer_col: str,
        date_col: str,
    ) -> None:
        self.n = len(customers)
        self.consents = _Consents(consents, customers, customer_col)
        self.cap = cap
        self.hist: GroupedTimes | None = None
        self.mine_codes: list[IntArray] = []
        self.mine_times: list[IntArray] = []
        if cap is not None and sends is not None and len(sends):
            check_columns(sends, [customer_col, date_col], name="sends")
            codes = np.asarray(customers.get_indexer(pd.Index(sends[customer_col])), np.int64)
            ns = _ns_column(sends, date_col, "send")
            keep = (codes >= 0) & (ns != _NAT)
            self.hist = GroupedTimes(codes[keep], ns[keep], self.n)

    def check(self, channel: str, codes: IntArray, when: IntArray, now_ns: int) -> IntArray:
        """Return a reason code per send (-1: it goes out); remember the ones that go out."""
        reason = np.full(codes.size, -1, dtype=np.int64)
        at_send = self.consents.state(codes, channel, when)
        at_now = self.consents.state(codes, channel, np.full(codes.size, now_ns, np.int64))
        reason[at_send < 0] = _REASONS.index("no_consent")
        reason[(reason < 0) & ((at_send == 0) | (at_now != 1))] = _REASONS.index("opted_out")
        if self.cap is not None:
            ok = np.flatnonzero(reason < 0)
            w = self.cap.window_ns
            lo, hi = when[ok] - w, when[ok] + w - 1
            count = np.zeros(ok.size, dtype=np.int64)
            if self.hist is not None:
                count += self.hist.count(codes[ok], lo, hi)
            if self.mine_codes:
                mine = GroupedTimes(
                    np.concatenate(self.mine_codes), np.concatenate(self.mine_times), self.n
                )
                count += mine.count(codes[ok], lo, hi)
            reason[ok[count >= self.cap.limit]] = _REASONS.index("frequency_cap")
        sent = reason < 0
        self.mine_codes.append(codes[sent])
        self.mine_times.append(when[sent])
        return reason


def _actions_frame(
    journey: Journey,
    *,
    emitted: list[dict[str, Any]],
    eids: Any,
    cust_ids: Any,
    names: Sequence[str],
    prof: pd.DataFrame | None,
    prof_row: IntArray,
    code: IntArray,
) -> pd.DataFrame:
    parts = []
    for chunk in emitted:
        rows, at = chunk["rows"], chunk["at"]
        if not rows.size:
            continue
        step = names[chunk["step"]]
        ids = [f"{e}:{step}:{a}" for e, a in zip(eids[rows].tolist(), at.tolist(), strict=True)]
        part = pd.DataFrame(
            {
                "action_id": pd.Series(ids, dtype=object),
                "kind": "send",
                "journey_id": journey.id,
                "enrolment_id": pd.Series(eids[rows], dtype=object),
                "customer_id": cust_ids[rows],
                "step": step,
                "at": _utc(at),
                "channel": None,
                "message_id": None,
                "params": None,
            }
        )
        part["channel"] = part["channel"].astype(object)
        part["message_id"] = part["message_id"].astype(object)
        part["params"] = part["params"].astype(object)
        if "send" in chunk:
            part["channel"] = str(chunk["send"].channel)
            part["message_id"] = str(chunk["send"].message_id)
        else:
            part["kind"] = chunk["action"].kind
            part["params"] = _params(chunk["action"], at, prof, prof_row[code[rows]])
        parts.append(part)
    if not parts:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in ACTION_COLUMNS}).astype(
            {"at": "datetime64[ns, UTC]"}
        )
    return pd.concat(parts, ignore_index=True)[list(ACTION_COLUMNS)]


def _params(a: Action, at: IntArray, prof: pd.DataFrame | None, rows: IntArray) -> list[Any]:
    base = dict(a.params)
    if a.kind != "create_task":
        return [dict(base) for _ in range(at.size)]
    owner_field = base.get("owner_field", "owner")
    owners = np.full(at.size, None, dtype=object)
    if prof is not None and owner_field in prof.columns:
        have = rows >= 0
        values = prof[owner_field].to_numpy(dtype=object)[rows[have]]
        owners[np.flatnonzero(have)] = np.where(pd.notna(values), values, None)
    due_in = base.pop("due_in", None)
    due = None if due_in is None else at + np.int64(pd.Timedelta(due_in).value)
    out = []
    for i in range(at.size):
        p = dict(base)
        p["owner"] = owners[i]
        if due is not None:
            p["due_at"] = (
                _dt.datetime(1970, 1, 1, tzinfo=_dt.UTC)
                + _dt.timedelta(microseconds=int(due[i]) // 1000)
            ).isoformat()
        out.append(p)
    return out


def _audit_frame(
    journey: Journey,
    audit: _Audit,
    *,
    eids: Any,
    cust_ids: Any,
    seq: IntArray,
    control: BoolArray,
    names: Sequence[str],
) -> pd.DataFrame:
    if not audit.chunks:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in AUDIT_COLUMNS}).astype(
            {"at": "datetime64[ns, UTC]", "due_at": "datetime64[ns, UTC]"}
        )
    rows = np.concatenate([c["row"] for c in audit.chunks])
    n = rows.size
    kind = np.concatenate([np.full(c["row"].size, c["kind"]) for c in audit.chunks])
    step = np.concatenate([c["step"] for c in audit.chunks])
    at = np.concatenate([c["at"] for c in audit.chunks])

    def extra(key: str, fill: Any, dtype: Any) -> Any:
        return np.concatenate(
            [
                np.broadcast_to(np.asarray(c["extra"].get(key, fill), dtype=dtype), c["row"].shape)
                for c in audit.chunks
            ]
        )

    outcome = extra("outcome", -1, np.int64)
    nxt = extra("next_step", -1, np.int64)
    due = extra("due", _NAT, np.int64)
    reason = extra("reason", -1, np.int64)
    channel = extra("channel", None, object)
    message = extra("message_id", None, object)
    goal = extra("goal", -1, np.int64)
    order = np.argsort(rows, kind="stable")

    def pick(table: Sequence[Any], codes: IntArray) -> Any:
        arr = np.asarray([*table, None], dtype=object)
        return arr[np.where(codes >= 0, codes, len(table))]

    step_names = np.asarray(names, dtype=object)[step]
    short = np.asarray(_SHORT, dtype=object)[kind]
    ids = [
        f"{e}:{s}:{a}:{k}"
        for e, s, a, k in zip(
            eids[rows].tolist(), step_names.tolist(), at.tolist(), short.tolist(), strict=True
        )
    ]
    goal_names = [g.name for g in journey.goals]
    frame = pd.DataFrame(
        {
            "event_id": pd.Series(ids, dtype=object),
            "type": np.asarray(_TYPE_NAMES, dtype=object)[kind],
            "journey_id": np.full(n, journey.id, dtype=object),
            "enrolment_id": eids[rows],
            "customer_id": cust_ids[rows],
            "step": step_names,
            "at": _utc(at),
            "outcome": pick(_OUTCOMES, outcome),
            "next_step": pick(list(names), nxt),
            "due_at": _utc(due),
            "reason": pick(_REASONS, reason),
            "channel": channel,
            "message_id": message,
            "goal": pick(goal_names, goal),
            "seq": seq[rows],
            "control": control[rows],
        }
    )
    return frame.iloc[order].reset_index(drop=True)
