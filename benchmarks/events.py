"""Event history on SQLite: append throughput, one customer's timeline, pipeline as of a date.

SqlStore on a SQLite file (WAL) in a temporary directory.  Workloads (seeded):

1. ``events.append_many`` of 1M stage changes (200k opportunities), fed from a
   generator; the time spent building the domain events is measured apart.
   ``events.append_frame`` of the same stage changes as a frame (built
   beforehand) into another empty store.  Side by side: the floor, plain
   ``sqlite3`` ``executemany`` of the very same encoded rows into an
   identical empty table, with the indexes maintained row by row and with
   the entity and kind indexes built after loading (as ``append_frame``
   does for a load as large as the log), in the same run.
   Target: under 10 s.
2. ``customer_timeline`` among 10M events: the events (ticket stage changes,
   loyalty ledger entries, consent changes of 100k customers, about 100 per
   customer) are generated inside SQLite by one ``INSERT ... SELECT`` (the
   rows a store writes, without paying Python's encoding 10M times); 20
   customers get their records through the store API; the timeline of each
   is timed (median, max).  Target: under 50 ms.
3. ``events.stages_as_of`` over the 1M stage changes of workload 1: each
   opportunity's stage at a date.  Side by side: the same answer in pandas
   from ``stage_history()`` (read the whole log, sort, keep the last row per
   entity).  Target: under 2 s.
4. ``events.engagement`` over 1M engagement events (50k customers, 20
   campaigns): the whole engagement frame with ``user_agent``, and one
   campaign's.  Side by side: the obvious way, ``events.query`` and
   ``marketing.engagement_frame`` of the decoded events; peak Python memory
   (tracemalloc, in a separate pass) of both.  Target: under 10 s for 1M.

Usage: ``python benchmarks/events.py [--quick] [--timeline-events N]
[--only append|timeline|engagement]`` (quick: a tenth of every size).  Run it
under ``nice`` on a shared machine.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import random
import sqlite3
import statistics
import tempfile
import time
import tracemalloc
from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path

import numpy as np
import pandas as pd

from crmcore.domain import (
    Customer,
    EngagementEvent,
    LoyaltyAccount,
    Money,
    Order,
    StageChanged,
    Ticket,
)
from crmcore.marketing import engagement_frame
from crmcore.pipeline import OPPORTUNITY_WORKFLOW
from crmcore.storage import SqlStore, customer_timeline
from crmcore.storage._eventcodec import encode_event

T0 = dt.datetime(2025, 1, 6, 9, tzinfo=dt.UTC)
ROWS: list[tuple[str, str, float, float, str, str]] = []


def row(workload: str, size: str, seconds: float, cpu: float, target: str, note: str = "") -> None:
    ROWS.append((workload, size, seconds, cpu, target, note))


class Timer:
    """Wall-clock and CPU seconds of a block (CPU: this process, SQLite included)."""

    def __enter__(self) -> Timer:
        self.wall, self.cpu = time.perf_counter(), time.process_time()
        return self

    def __exit__(self, *exc: object) -> None:
        self.wall = time.perf_counter() - self.wall
        self.cpu = time.process_time() - self.cpu


class Clock:
    """Time spent building events inside a generator."""

    def __init__(self) -> None:
        self.seconds = 0.0
        self.cpu = 0.0


def stage_changes(n: int, n_entities: int, seed: int, clock: Clock) -> Iterator[StageChanged]:
    """Walks through the opportunity workflow, ``n`` moves over ``n_entities`` deals."""
    rng = np.random.default_rng(seed)
    names = [s.name for s in OPPORTUNITY_WORKFLOW.stages]
    open_stages = names[:4]
    entity = rng.integers(0, n_entities, n)
    step = rng.integers(60, 5 * 86_400, n)
    target = rng.integers(0, len(names), n)
    stage = {}
    when = {}
    for start in range(0, n, 10_000):
        t, c = time.perf_counter(), time.process_time()
        chunk = []
        for i in range(start, min(start + 10_000, n)):
            e = int(entity[i])
            frm = stage.get(e, "prospecting")
            to = names[int(target[i])]
            if to == frm or frm not in open_stages:
                to = (
                    open_stages[(open_stages.index(frm) + 1) % 4]
                    if frm in open_stages
                    else "prospecting"
                )
            at = when.get(e, T0) + dt.timedelta(seconds=int(step[i]))
            stage[e], when[e] = to, at
            reason = "price" if to == "closed_lost" else None
            chunk.append(StageChanged(f"O{e:06d}", frm, to, at, "rep", reason, "opportunity"))
        clock.seconds += time.perf_counter() - t
        clock.cpu += time.process_time() - c
        yield from chunk


def stage_frame(n: int, n_entities: int, seed: int) -> pd.DataFrame:
    """The stage changes of :func:`stage_changes` as the frame ``append_frame`` takes."""
    columns: dict[str, list[object]] = {
        name: []
        for name in ("entity_id", "from_stage", "to_stage", "at", "actor", "reason", "workflow")
    }
    for e in stage_changes(n, n_entities, seed, Clock()):
        for name, values in columns.items():
            values.append(getattr(e, name))
    frame = pd.DataFrame(columns)
    frame["at"] = pd.to_datetime(frame["at"], utc=True)
    return frame


def bench_append(path: Path, n: int) -> SqlStore:
    store = SqlStore(f"sqlite:///{path}")
    store.create_schema()
    clock = Clock()
    with Timer() as timer:
        appended = store.events.append_many(stage_changes(n, n // 5, 1, clock), batch_size=20_000)
    assert appended == n
    total = timer.wall - clock.seconds
    row(
        "events.append_many (stage changes)",
        f"{n:,}",
        total,
        timer.cpu - clock.cpu,
        "< 10 s",
        f"{total / n * 1e6:.1f} us/event; building the events took {clock.seconds:.1f} s more",
    )
    # append_frame: the same stage changes as a frame (built beforehand, not timed)
    frame = stage_frame(n, n // 5, 1)
    by_frame = SqlStore(f"sqlite:///{path.with_name('frame.db')}")
    by_frame.create_schema()
    with Timer() as framed:
        assert by_frame.events.append_frame(frame, type=StageChanged, batch_size=20_000) == n
    by_frame.close()
    del frame
    row(
        "events.append_frame (stage changes)",
        f"{n:,}",
        framed.wall,
        framed.cpu,
        "< 10 s",
        f"{framed.wall / n * 1e6:.1f} us/event; append_many "
        f"{(timer.cpu - clock.cpu) / framed.cpu:.1f}x its CPU",
    )
    # the floor: the same encoded rows through plain sqlite3, into an identical table
    floor_path = path.with_name("floor.db")
    rows = []
    for i, e in enumerate(stage_changes(n, n // 5, 1, Clock()), start=1):
        r = encode_event(e)
        rows.append((i, r.id, r.type, r.entity_type, r.entity_id, r.at_us, r.at_tz, r.actor,
                     r.payload, None))  # fmt: skip
    floor = raw_floor(floor_path, rows, defer=False)
    row(
        "  floor: sqlite3 executemany of the encoded rows",
        f"{n:,}",
        floor.wall,
        floor.cpu,
        "",
        f"append_many = {(timer.cpu - clock.cpu) / floor.cpu:.1f}x the floor's CPU, "
        f"append_frame {framed.cpu / floor.cpu:.1f}x",
    )
    deferred = raw_floor(path.with_name("floor2.db"), rows, defer=True)
    row(
        "  floor, entity and kind indexes built after loading",
        f"{n:,}",
        deferred.wall,
        deferred.cpu,
        "",
        f"what append_frame does on SQLite; append_frame {framed.cpu / deferred.cpu:.1f}x its CPU",
    )
    return store


def raw_floor(floor_path: Path, rows: list[tuple[object, ...]], *, defer: bool) -> Timer:
    """Plain sqlite3 ``executemany`` of encoded rows into a new store's empty event table."""
    floor = SqlStore(f"sqlite:///{floor_path}")
    floor.create_schema()
    floor.close()
    con = sqlite3.connect(floor_path, isolation_level=None)
    con.execute("PRAGMA journal_mode = WAL")
    con.execute("PRAGMA synchronous = NORMAL")
    con.execute("PRAGMA cache_size = -65536")
    indexes = ("ix_crm_events_entity", "ix_crm_events_kind")
    with Timer() as timer:
        con.execute("BEGIN IMMEDIATE")
        ddl = [
            con.execute("SELECT sql FROM sqlite_master WHERE name = ?", (name,)).fetchone()[0]
            for name in indexes
        ]
        if defer:
            for name in indexes:
                con.execute(f"DROP INDEX {name}")
        for start in range(0, len(rows), 20_000):
            con.executemany(
                "INSERT INTO crm_events (position, id, type, entity_type, entity_id, at, at_tz, "
                "actor, payload, related_ids) VALUES (?,?,?,?,?,?,?,?,?,?)",
                rows[start : start + 20_000],
            )
        if defer:
            for sql in ddl:
                con.execute(sql)
        con.execute("COMMIT")
    con.close()
    return timer


def bench_as_of(store: SqlStore, n: int) -> None:
    as_of = T0 + dt.timedelta(days=120)
    with Timer() as ours:
        stages = store.events.stages_as_of(as_of, workflow="opportunity")
    row(
        "events.stages_as_of",
        f"{n:,} events, {len(stages):,} deals",
        ours.wall,
        ours.cpu,
        "< 2 s",
    )
    with Timer() as theirs:
        log = store.events.stage_history(workflow="opportunity", until=as_of)
        last = log.sort_values("at", kind="stable").drop_duplicates("entity_id", keep="last")
    same = dict(zip(last["entity_id"], last["to_stage"], strict=True)) == dict(
        zip(stages.index, stages["stage"], strict=True)
    )
    row(
        "  pandas: stage_history + sort + last per deal",
        f"{len(log):,} events",
        theirs.wall,
        theirs.cpu,
        "",
        f"same answer: {same}; stages_as_of {theirs.wall / ours.wall:.1f}x faster",
    )


_GENERATE = """
WITH RECURSIVE n(k) AS (SELECT 0 UNION ALL SELECT k + 1 FROM n WHERE k < @total - 1)
INSERT INTO crm_events (position, id, type, entity_type, entity_id, at, at_tz, actor, payload)
SELECT
  k + @first,
  printf('gen%012d', k),
  CASE WHEN k % 5 < 3 THEN 'pipeline.stage_changed'
       WHEN k % 5 = 3 THEN 'loyalty.entry_posted' ELSE 'consent.changed' END,
  CASE WHEN k % 5 < 3 THEN 'ticket' WHEN k % 5 = 3 THEN 'loyalty_account' ELSE 'customer' END,
  CASE WHEN k % 5 < 3 THEN printf('T%07d', (k / 5) % @tickets)
       WHEN k % 5 = 3 THEN printf('M%06d', (k / 5) % @customers)
       ELSE printf('C%06d', (k / 5) % @customers) END,
  @t0 + k * 1000000,
  'Z',
  'gen',
  CASE WHEN k % 5 < 3 THEN printf(
         '{"entity_id":"T%07d","from_stage":"new","to_stage":"assigned","reason":null,'
         || '"workflow":"ticket"}', (k / 5) % @tickets)
       WHEN k % 5 = 3 THEN printf(
         '{"account_id":"M%06d","sequence":%d,"event_id":"e%d","kind":"earn","points":10,'
         || '"order_id":null,"spend_minor":1000,"expires_at":null}',
         (k / 5) % @customers, k, k)
       ELSE printf(
         '{"entity_id":"C%06d","channel":"email","granted":true,"source":null,'
         || '"entity_type":"customer"}', (k / 5) % @customers) END
FROM n
"""


def bench_timeline(path: Path, total: int) -> None:
    customers = max(total // 100, 100)
    tickets = customers * 10  # C_k owns T_{k + customers * j}, j < 10, and M_k
    store = SqlStore(f"sqlite:///{path}")
    store.create_schema()
    t = time.perf_counter()
    with store.engine.connect() as conn:
        conn.execution_options(crmcore_write=True)
        with conn.begin():
            conn.exec_driver_sql("PRAGMA cache_size = -262144")
            sql = _GENERATE
            for name, value in {
                "@total": total,
                "@first": 1,
                "@tickets": tickets,
                "@customers": customers,
                "@t0": int(T0.timestamp()) * 1_000_000,
            }.items():
                sql = sql.replace(name, str(int(value)))  # integers only: no binding needed
            conn.exec_driver_sql(sql)
            conn.exec_driver_sql(f"UPDATE crm_event_head SET position = {total}")
    generated = time.perf_counter() - t
    rng = random.Random(7)
    chosen = rng.sample(range(customers), 20)
    for k in chosen:
        with store.unit_of_work() as uow:
            uow.customers.add(Customer(id=f"C{k:06d}", name=f"customer {k}", created_at=T0))
            uow.loyalty_accounts.add(
                LoyaltyAccount(
                    id=f"M{k:06d}", customer_id=f"C{k:06d}", program_id="stars", opened_at=T0
                )
            )
            for j in range(10):
                uow.tickets.add(
                    Ticket(
                        id=f"T{k + customers * j:07d}", customer_id=f"C{k:06d}", subject="help",
                        channel="email", created_at=T0 + dt.timedelta(days=j),
                    )
                )  # fmt: skip
            for j in range(10):
                uow.orders.add(
                    Order(
                        id=f"O{k:06d}-{j}", customer_id=f"C{k:06d}",
                        placed_at=T0 + dt.timedelta(days=3 * j),
                        amount=Money(amount=Decimal(20 + j), currency="EUR"),
                    )
                )  # fmt: skip
            uow.commit()
    customer_timeline(store, f"C{chosen[0]:06d}")  # warm the page cache once
    times, cpus, sizes = [], [], []
    for k in chosen:
        with Timer() as one:
            frame = customer_timeline(store, f"C{k:06d}")
        times.append(one.wall)
        cpus.append(one.cpu)
        sizes.append(len(frame))
    row(
        "customer_timeline (median of 20 customers)",
        f"{total:,} events, ~{int(statistics.median(sizes))} rows each",
        statistics.median(times),
        statistics.median(cpus),
        "< 50 ms",
        f"max {max(times) * 1000:.0f} ms; generating the events in SQL took {generated:.0f} s",
    )
    store.close()


_KINDS = ("send", "deliver", "open", "click")


def engagement_events(n: int, seed: int) -> Iterator[EngagementEvent]:
    """``n`` e-mail events of 50k customers in 20 campaigns, a quarter of them opens."""
    rng = random.Random(seed)
    customers = max(n // 20, 1)
    for i in range(n):
        kind = _KINDS[i % 4]
        yield EngagementEvent(
            id=f"e{i:09d}",
            kind=kind,
            channel="email",
            at=T0 + dt.timedelta(seconds=i * 7),
            customer_id=f"C{rng.randrange(customers):07d}",
            campaign_id=f"K{i % 20:03d}",
            message_id=f"K{i % 20:03d}-m1",
            variant="AB"[i % 2],
            properties={"user_agent": "Mozilla/5.0"} if kind == "open" else {},
        )


def peak_mib(work: Callable[[], object]) -> float:
    tracemalloc.start()
    try:
        work()
        return tracemalloc.get_traced_memory()[1] / 2**20
    finally:
        tracemalloc.stop()


def bench_engagement(path: Path, n: int) -> None:
    store = SqlStore(f"sqlite:///{path}")
    store.create_schema()
    store.events.append_many(engagement_events(n, 3), batch_size=20_000)

    def view() -> object:
        return store.events.engagement(properties=["user_agent"])

    def obvious() -> object:
        stored = store.events.query(type=EngagementEvent)
        return engagement_frame([s.event for s in stored], properties=["user_agent"])

    with Timer() as timer:
        frame = view()
    assert len(frame) == n  # type: ignore[arg-type]
    with Timer() as slow:
        obvious()
    row(
        "events.engagement (whole frame)",
        f"{n:,}",
        timer.wall,
        timer.cpu,
        "< 10 s",
        f"query + engagement_frame: {slow.wall:.1f} s ({slow.wall / timer.wall:.1f}x)",
    )
    with Timer() as one:
        part = store.events.engagement(campaign="K007", properties=["user_agent"])
    row("events.engagement (one campaign of 20)", f"{len(part):,} of {n:,}", one.wall, one.cpu, "")
    mine, theirs = peak_mib(view), peak_mib(obvious)
    row(
        "  peak Python memory (tracemalloc)",
        f"{n:,}",
        float("nan"),
        float("nan"),
        "",
        f"engagement {mine:.0f} MiB; query + engagement_frame {theirs:.0f} MiB "
        f"({theirs / mine:.1f}x)",
    )
    store.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a tenth of every size")
    parser.add_argument("--timeline-events", type=int, default=None)
    parser.add_argument("--only", choices=["append", "timeline", "engagement"], default=None)
    args = parser.parse_args()
    scale = 10 if args.quick else 1
    n = 1_000_000 // scale
    timeline_events = args.timeline_events or 10_000_000 // scale
    start_load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    with tempfile.TemporaryDirectory() as tmp:
        if args.only in (None, "append"):
            store = bench_append(Path(tmp) / "append.db", n)
            bench_as_of(store, n)
            store.close()
        if args.only in (None, "timeline"):
            bench_timeline(Path(tmp) / "timeline.db", timeline_events)
        if args.only in (None, "engagement"):
            bench_engagement(Path(tmp) / "engagement.db", n)
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    width = max(len(r[0]) for r in ROWS)
    print(f"\nload average at the start: {start_load:.1f}, at the end: {load:.1f} (2 cores)\n")
    print(f"{'workload':<{width}}  {'size':>32}  {'wall s':>8}  {'CPU s':>8}  {'target':>8}  note")
    for workload, size, seconds, cpu, target, note in ROWS:
        print(
            f"{workload:<{width}}  {size:>32}  {seconds:>8.3f}  {cpu:>8.3f}  {target:>8}  {note}"
        )


if __name__ == "__main__":
    main()
