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

from typing import Any, Final

import numpy as np
import pandas as pd

from crmcore import _time
from crmcore._types import BoolArray, IntArray
from crmcore._validation import check_columns
from crmcore.domain import encode_id
from crmcore.marketing._hashing import stable_uniform
from crmcore.marketing._journey import Journey
from crmcore.marketing._journey_clock import next_times_of_day, quiet_shifts_coded
from crmcore.marketing._journey_engine import FrequencyCap
from crmcore.marketing._journey_frames import (
    OUTCOMES,
    REASONS,
    T_ENTERED,
    T_EXITED,
    T_GOAL,
    T_SKIPPED,
    T_STEP,
    AuditRows,
    TickResult,
    actions_frame,
    audit_frame,
    categorical,
    utc,
)
from crmcore.marketing._journey_inputs import (
    NEVER,
    ConsentIndex,
    EventLog,
    Matchers,
    event_rows,
    ns_column,
    profile_ids,
    profile_rows,
    read_enrolments,
    universe,
    zones_of,
)
from crmcore.marketing._journey_steps import (
    Action,
    Branch,
    Entry,
    Exit,
    Send,
    Wait,
    clock_seconds,
)
from crmcore.marketing._journey_values import STATUSES, ns_of
from crmcore.marketing._windows import GroupedTimes

__all__ = ["tick"]

_NAT: Final = _time.NAT
# kinds of steps, as codes
_ENTRY, _WAIT, _WAIT_EVENT, _BRANCH, _SEND, _ACTION, _EXIT, _GOAL = range(8)
_ACTIVE: Final = STATUSES.index("active")


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
    matchers = Matchers(journey)
    enr = read_enrolments(enrolments, journey, names)
    ev_cust, ev_k, ev_t = event_rows(events, matchers, customer_col, date_col, now_ns)

    # one code per customer: the enrolled first, then those only in events / profiles
    seg_only = journey.entry.event is None
    extra_ids: list[Any] = [ev_cust]
    if seg_only and profiles is not None:
        extra_ids.append(profile_ids(profiles, customer_col))
    customers = universe(enr["customer_id"], extra_ids)
    n_cust = len(customers)
    enr_code = np.asarray(customers.get_indexer(pd.Index(enr["customer_id"])), dtype=np.int64)
    ev_code = np.asarray(customers.get_indexer(pd.Index(ev_cust)), dtype=np.int64)
    log = EventLog(ev_code, ev_k, ev_t, n_cust, len(matchers.pairs))
    prof, prof_row = profile_rows(profiles, customers, customer_col)
    zone_names, zone_of = zones_of(prof, prof_row, journey)
    audit = AuditRows()

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
        audit.add(rows, T_ENTERED, step_col, new["at"])
        ctrl = np.flatnonzero(new["control"])
        audit.add(rows[ctrl], T_EXITED, step_col[ctrl], new["at"][ctrl], reason=4)
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
    goal_at = np.full(code.size, NEVER, dtype=np.int64)
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
        when = np.full(work.size, NEVER, dtype=np.int64)
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
            hit = first != NEVER
            when[rows[hit]] = first[hit]
            nxt[rows[hit]] = names.index(str(s.next))
            outcome[rows[hit]] = OUTCOMES.index("event")
            late = rows[~hit & (d[rows] <= now_ns)]
            when[late] = d[late]
            nxt[late] = names.index(str(s.on_timeout))
            outcome[late] = OUTCOMES.index("timeout")
        moved = (when != NEVER) & (when < goal_at[work])
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
            audit.add(rows, T_EXITED, s_code[exits], when[exits], reason=3)
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
                outcome[rows] = OUTCOMES.index("entered")
            elif isinstance(s, Wait) and s.event is None:
                nxt[rows] = names.index(str(s.next))
                outcome[rows] = OUTCOMES.index("waited")
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
                outcome[rows] = np.where(holds, OUTCOMES.index("yes"), OUTCOMES.index("no"))
            elif isinstance(s, Send):
                reason = guard.check(str(s.channel), code[work[rows]], when[rows], now_ns)
                sent = reason < 0
                skipped = rows[~sent]
                audit.add(
                    work[skipped],
                    T_SKIPPED,
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
                outcome[rows] = np.where(sent, OUTCOMES.index("sent"), OUTCOMES.index("skipped"))
            elif isinstance(s, Action):
                emitted.append({"rows": work[rows], "step": si, "at": when[rows], "action": s})
                nxt[rows] = names.index(str(s.next))
                outcome[rows] = OUTCOMES.index("done")
        next_due = np.full(work.size, _NAT, dtype=np.int64)
        for ni in np.unique(nxt):
            rows = np.flatnonzero(nxt == ni)
            next_due[rows] = _due(
                steps[ni], when[rows], zone_names, zone_of[code[work[rows]]], journey
            )
        audit.add(work, T_STEP, s_code, when, outcome=outcome, next_step=nxt, due=next_due)
        cur[work], t_at[work], due[work] = nxt, when, next_due

    # ---- goals reached
    won = np.flatnonzero((status == _ACTIVE) & (goal_at <= now_ns))
    if won.size:
        audit.add(won, T_GOAL, cur[won], goal_at[won], goal=goal_of[won])
        status[won] = STATUSES.index("converted")
        t_at[won] = goal_at[won]
        due[won] = _NAT

    cust_ids = customers[code].to_numpy()
    frame = pd.DataFrame(
        {
            "enrolment_id": pd.Series(eids, dtype=object),
            "journey_id": categorical(np.zeros(code.size, np.int64), [journey.id]),
            "customer_id": cust_ids,
            "seq": seq,
            "enrolled_at": utc(enrolled),
            "step": categorical(cur, names),
            "step_at": utc(t_at),
            "due_at": utc(due),
            "status": categorical(status, STATUSES),
            "control": control,
        }
    )

    def owners(field: str, rows: IntArray) -> Any:
        return _owners(prof, prof_row[code[rows]], field)

    actions = actions_frame(
        journey,
        emitted=emitted,
        eids=eids,
        cust_ids=cust_ids,
        names=names,
        owners=owners,
    )
    if len(already_emitted) and len(actions):
        actions = actions[~actions["action_id"].isin(list(already_emitted))].reset_index(drop=True)
    return TickResult(
        frame,
        actions,
        audit_frame(
            journey, audit, eids=eids, cust_ids=cust_ids, seq=seq, control=control, names=names
        ),
    )


def _owners(prof: pd.DataFrame | None, rows: IntArray, field: str) -> Any:
    """Read the owners of profile rows ``rows`` from column ``field`` (None: unknown)."""
    out = np.full(rows.size, None, dtype=object)
    if prof is not None and field in prof.columns:
        have = np.flatnonzero(rows >= 0)
        values = prof[field].iloc[rows[have]].to_numpy(dtype=object)
        known = pd.notna(values)
        out[have[known]] = values[known]
    return out


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


def _ids(journey_id: str, customers: Any, seq: IntArray) -> Any:
    if not len(seq):
        return np.zeros(0, dtype=object)
    text = [
        f"{journey_id}:{encode_id(c)}:{n}" for c, n in zip(customers, seq.tolist(), strict=True)
    ]
    return np.asarray(text, dtype=object)


def _entries(
    journey: Journey,
    *,
    enr: dict[str, Any],
    enr_code: IntArray,
    customers: pd.Index,
    log: EventLog,
    matchers: Matchers,
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
        at = np.where(lo < now_ns, now_ns, NEVER)
    ok = at != NEVER
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
    log: EventLog,
    matchers: Matchers,
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
        self.consents = ConsentIndex(consents, customers, customer_col)
        self.cap = cap
        self.hist: GroupedTimes | None = None
        self.mine_codes: list[IntArray] = []
        self.mine_times: list[IntArray] = []
        if cap is not None and sends is not None and len(sends):
            check_columns(sends, [customer_col, date_col], name="sends")
            codes = np.asarray(customers.get_indexer(pd.Index(sends[customer_col])), np.int64)
            ns = ns_column(sends, date_col, "send")
            keep = (codes >= 0) & (ns != _NAT)
            self.hist = GroupedTimes(codes[keep], ns[keep], self.n)

    def check(self, channel: str, codes: IntArray, when: IntArray, now_ns: int) -> IntArray:
        """Return a reason code per send (-1: it goes out); remember the ones that go out."""
        reason = np.full(codes.size, -1, dtype=np.int64)
        at_send = self.consents.state(codes, channel, when)
        at_now = self.consents.state(codes, channel, np.full(codes.size, now_ns, np.int64))
        reason[at_send < 0] = REASONS.index("no_consent")
        reason[(reason < 0) & ((at_send == 0) | (at_now != 1))] = REASONS.index("opted_out")
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
            reason[ok[count >= self.cap.limit]] = REASONS.index("frequency_cap")
        sent = reason < 0
        self.mine_codes.append(codes[sent])
        self.mine_times.append(when[sent])
        return reason
