"""Benchmark crmcore.pipeline at the sizes of the issue.

Workloads (seeded):

1. ``advance``: 100k opportunities x 5 stage changes (target: under 10 µs per
   transition), side by side with the bare ``attrs.evolve`` the domain offers
   (the floor a naive implementation would pay for the copy alone);
2. SLA status for 100k tickets (~4 stage changes each) with ``sla_report``
   (target: under 2 s), side by side with per-ticket ``sla_status`` on 2k
   tickets, extrapolated;
3. ``stage_funnel``, ``stage_velocity`` over a 1M-event log and ``forecast``
   over 1M opportunities (target: each under 2 s);
4. ``BusinessCalendar.diff`` over 1M (start, end) pairs in a DST zone with
   holidays (target: under 2 s), side by side with the scalar ``diff`` on 10k
   pairs, extrapolated.

Usage: ``python benchmarks/pipeline.py [--quick]`` (quick: a tenth of the
sizes). Run it under ``nice`` on a shared machine.
"""

from __future__ import annotations

import argparse
import datetime as dt
import time
from collections.abc import Callable
from typing import Any

import attrs
import numpy as np
import pandas as pd

from crmcore.domain import Money, Opportunity, Ticket
from crmcore.pipeline import (
    OPPORTUNITY_WORKFLOW,
    BusinessCalendar,
    SLAPolicy,
    StageChanged,
    advance,
    forecast,
    sla_report,
    sla_status,
    stage_funnel,
    stage_velocity,
)

UTC = dt.UTC
T0 = dt.datetime(2026, 1, 5, 9, tzinfo=UTC)
H = dt.timedelta(hours=1)
ROWS: list[tuple[str, str, float, str, str]] = []


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    t0 = time.perf_counter()
    out = fn()
    return time.perf_counter() - t0, out


def row(workload: str, size: str, seconds: float, unit: str, target: str) -> None:
    ROWS.append((workload, size, seconds, unit, target))


def bench_advance(n: int) -> None:
    amount = Money(amount="1000.00", currency="EUR")
    opps = [
        Opportunity(
            id=f"O{i}",
            account_id="A",
            name="deal",
            amount=amount,
            expected_close_date=dt.date(2026, 6, 30),
            probability=10,
            created_at=T0,
        )
        for i in range(n)
    ]
    path = ["qualification", "proposal", "negotiation", "proposal", "closed_won"]
    wf = OPPORTUNITY_WORKFLOW

    def run() -> int:
        moves = 0
        for opp in opps:
            o, at = opp, T0
            for stage in path:
                at = at + H
                o, _ = advance(o, stage, at=at, workflow=wf)
                moves += 1
        return moves

    secs, moves = timed(run)
    row(
        "advance (5 moves each)",
        f"{n:,} opps",
        secs,
        f"{secs / moves * 1e6:.2f} µs/move",
        "< 10 µs",
    )

    def evolve_only() -> int:
        moves = 0
        for opp in opps:
            o = opp
            for stage in path:
                o = attrs.evolve(o, stage=stage, probability=50.0)
                moves += 1
        return moves

    secs, moves = timed(evolve_only)
    row(
        "  baseline: attrs.evolve only",
        f"{n:,} opps",
        secs,
        f"{secs / moves * 1e6:.2f} µs/move",
        "",
    )


def make_tickets(n: int, seed: int = 1) -> tuple[pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(seed)
    created = T0 + pd.to_timedelta(rng.integers(0, 90 * 24 * 3600, n), unit="s")
    tickets = pd.DataFrame(
        {
            "id": [f"T{i}" for i in range(n)],
            "created_at": pd.DatetimeIndex(created),
            "priority": rng.choice(["low", "normal", "high", "urgent"], n),
        }
    )
    path = ["assigned", "in_progress", "waiting_on_customer", "in_progress", "resolved"]
    prev = ["new", *path[:-1]]
    k = len(path)
    gaps = rng.integers(600, 2 * 86400, (n, k)).cumsum(axis=1)
    at = np.repeat(created.tz_convert(None).to_numpy(), k) + gaps.ravel().astype("timedelta64[s]")
    events = pd.DataFrame(
        {
            "entity_id": np.repeat(tickets["id"].to_numpy(), k),
            "from_stage": np.tile(prev, n),
            "to_stage": np.tile(path, n),
            "at": pd.DatetimeIndex(at).tz_localize("UTC"),
        }
    )
    return tickets, events


def bench_sla(n: int) -> None:
    cal = BusinessCalendar(
        {d: [("08:00", "18:00")] for d in range(5)},
        holidays=[dt.date(2026, 4, 6), dt.date(2026, 5, 1)],
        tz="Europe/Berlin",
    )
    targets = {"low": 24 * H, "normal": 8 * H, "high": 4 * H, "urgent": H}
    policy = SLAPolicy(targets, {k: v * 5 for k, v in targets.items()}, cal)
    tickets, events = make_tickets(n)
    as_of = T0 + dt.timedelta(days=100)
    secs, rep = timed(lambda: sla_report(tickets, events, policy, as_of=as_of))
    assert len(rep) == n
    row("sla_report", f"{n:,} tickets", secs, f"{secs / n * 1e6:.2f} µs/ticket", "< 2 s")

    m = min(n, 2000)
    objs = [
        Ticket(
            id=r.id,
            customer_id="C",
            subject="s",
            channel="email",
            created_at=r.created_at.to_pydatetime(),
            priority=r.priority,
        )
        for r in tickets.iloc[:m].itertuples()
    ]
    sub = events.iloc[: m * 5]

    evs = [
        StageChanged(e, f, t, a.to_pydatetime())
        for e, f, t, a in zip(
            sub["entity_id"], sub["from_stage"], sub["to_stage"], sub["at"], strict=True
        )
    ]
    per = {i: evs[i * 5 : i * 5 + 5] for i in range(m)}
    secs, _ = timed(
        lambda: [sla_status(t, per[i], policy, as_of=as_of) for i, t in enumerate(objs)]
    )
    row(
        "  baseline: sla_status per ticket",
        f"{m:,} tickets",
        secs,
        f"{secs / m * 1e6:.0f} µs/ticket ({secs / m * n:.1f} s at {n:,})",
        "",
    )


def bench_log(n_events: int) -> None:
    rng = np.random.default_rng(2)
    n_opps = n_events // 5
    wf = OPPORTUNITY_WORKFLOW
    open_ = ["prospecting", "qualification", "proposal", "negotiation"]
    # Five moves each: up to four forward/backward moves among open stages, then maybe close.
    cur = np.zeros(n_opps, dtype=np.int64)
    frm, to = [], []
    for step in range(5):
        nxt = (cur + rng.integers(1, 4, n_opps)) % 4
        if step == 4:
            close = rng.random(n_opps)
            nxt = np.where(close < 0.3, 4, np.where(close < 0.6, 5, nxt))
        frm.append(cur)
        to.append(nxt)
        cur = nxt
    names = np.array([*open_, "closed_won", "closed_lost"], dtype=object)
    frm_a = np.stack(frm, axis=1).ravel()
    to_a = np.stack(to, axis=1).ravel()
    gaps = rng.integers(3600, 20 * 86400, (n_opps, 5)).cumsum(axis=1).ravel()
    start = np.repeat(rng.integers(0, 365 * 86400, n_opps), 5)
    at = np.datetime64("2025-01-01", "s") + (start + gaps).astype("timedelta64[s]")
    log = pd.DataFrame(
        {
            "entity_id": np.repeat(np.arange(n_opps), 5),
            "from_stage": names[frm_a],
            "to_stage": names[to_a],
            "at": pd.DatetimeIndex(at).tz_localize("UTC"),
        }
    )
    secs, _ = timed(lambda: stage_funnel(log, workflow=wf))
    row("stage_funnel", f"{n_events:,} events", secs, "s", "< 2 s")
    secs, _ = timed(lambda: stage_velocity(log, workflow=wf))
    row("stage_velocity", f"{n_events:,} events", secs, "s", "< 2 s")
    cal = BusinessCalendar()
    secs, _ = timed(lambda: stage_velocity(log, workflow=wf, calendar=cal, unit="h"))
    row("stage_velocity (working hours)", f"{n_events:,} events", secs, "s", "< 2 s")
    opps = pd.DataFrame(
        {
            "stage": names[rng.integers(0, 6, n_events)],
            "amount": rng.gamma(2.0, 5000.0, n_events),
            "close_date": pd.DatetimeIndex(
                np.datetime64("2026-01-01", "D")
                + rng.integers(0, 730, n_events).astype("timedelta64[D]")
            ).tz_localize("UTC"),
        }
    )
    secs, _ = timed(lambda: forecast(opps, freq="M"))
    row("forecast (monthly)", f"{n_events:,} opps", secs, "s", "< 2 s")


def bench_calendar(n: int) -> None:
    cal = BusinessCalendar(
        {d: [("08:00", "12:00"), ("13:00", "17:30")] for d in range(5)},
        holidays=[dt.date(2026, 12, 25), dt.date(2027, 1, 1)],
        tz="America/New_York",
    )
    rng = np.random.default_rng(3)
    base = np.datetime64("2025-01-01T00:00:00", "us").astype(np.int64)
    s = base + rng.integers(0, 3 * 365 * 86_400 * 10**6, n)
    e = s + rng.integers(0, 60 * 86_400 * 10**6, n)
    start, end = s.view("datetime64[us]"), e.view("datetime64[us]")
    secs, _ = timed(lambda: cal.diff(start, end))  # includes building the grid
    row("calendar.diff (vectorised)", f"{n:,} pairs", secs, "s", "< 2 s")
    secs, d = timed(lambda: cal.diff(start, end))
    row("  same, grid cached", f"{n:,} pairs", secs, "s", "")
    secs, _ = timed(lambda: cal.add(start, d))
    row("calendar.add (vectorised)", f"{n:,} pairs", secs, "s", "")
    m = 10_000
    sp = [pd.Timestamp(x, tz="UTC").to_pydatetime() for x in start[:m]]
    ep = [pd.Timestamp(x, tz="UTC").to_pydatetime() for x in end[:m]]
    secs, _ = timed(lambda: [cal.diff(a, b) for a, b in zip(sp, ep, strict=True)])
    row(
        "  baseline: scalar diff in a loop",
        f"{m:,} pairs",
        secs,
        f"{secs / m * n:.1f} s at {n:,}",
        "",
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="a tenth of the sizes")
    args = parser.parse_args()
    k = 10 if args.quick else 1
    bench_advance(100_000 // k)
    bench_sla(100_000 // k)
    bench_log(1_000_000 // k)
    bench_calendar(1_000_000 // k)
    print(f"{'workload':<36} {'size':>16} {'seconds':>9}  {'rate':<34} target")
    for workload, size, secs, unit, target in ROWS:
        print(f"{workload:<36} {size:>16} {secs:>9.3f}  {unit:<34} {target}")


if __name__ == "__main__":
    main()
