"""Journey benchmarks: a scheduler tick over 1M enrolments and 10M events; one ``step``.

Seeded; prints a table. Targets from issue 18: a tick over 1M enrolments with
10M events under 10 s; a single ``step`` under 20 µs.

The tick runs the seminar journey of the user guide (download -> invitation ->
reply wait of 7 days -> follow-up or call task; a goal; quiet hours in four
zones; a 10 % control group; a frequency cap over 2M past sends). The
enrolments are spread over the steps as a running journey's would be; the
10M events have 12 types (categorical column), integer customer ids among
2M customers, and the last 30 days' instants. ``step`` is timed on its two
common calls: an enrolment whose wait is not due (most calls of a scheduler),
and an enrolment whose wait ends, whose follow-up is checked for consent and
quiet hours and sent.

``run_tick`` (the tick on a store, in one unit of work) is timed on the
same journey at 1/10 of the sizes (100k enrolments, 1M events; text customer
ids, as stores keep them), on the in-memory store and on a SQLite file: the
enrolments read, the moved ones updated one by one (version-checked), the new
ones added, every action and audit event appended to the event history.

    python benchmarks/journeys.py            # full sizes
    python benchmarks/journeys.py --quick    # 1/20 of the sizes
"""

from __future__ import annotations

import argparse
import datetime as dt
import resource
import tempfile
import time
import timeit
from pathlib import Path

import numpy as np
import pandas as pd

from crmcore.domain import Consent
from crmcore.marketing.journeys import (
    Action,
    Entry,
    Exit,
    FrequencyCap,
    Goal,
    Journey,
    Send,
    Wait,
    enrolment_values,
    enter,
    run_tick,
    step,
    tick,
)
from crmcore.storage import InMemoryStore, SqlStore

SEED = 20261203
NOW = pd.Timestamp("2024-06-30 12:00", tz="UTC")
DAY = 86_400 * 10**9
TYPES = [
    "download",
    "seminar_reply",
    "seminar_registration",
    "open",
    "click",
    "web_visit",
    "form_submit",
    "cart_add",
    "app_usage",
    "deliver",
    "send",
    "bounce",
]
ZONES = ["Europe/Berlin", "America/New_York", "Asia/Kolkata", "UTC"]

JOURNEY = Journey(
    id="seminar",
    steps=[
        Entry("download", event="download", next="invite"),
        Send("invite", channel="email", message_id="seminar-invitation", next="reply"),
        Wait("reply", event="seminar_reply", timeout="7D", next="call", on_timeout="follow_up"),
        Send("follow_up", channel="email", message_id="seminar-reminder", next="end"),
        Action(
            "call",
            kind="create_task",
            params={"subject": "Call about the seminar", "due_in": "2D"},
            next="end",
        ),
        Goal("registered", event="seminar_registration", within="30D"),
        Exit("end"),
    ],
    quiet_hours=("21:00", "08:00"),
    control_fraction=0.1,
)


def rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def build(n_enrol: int, n_events: int, rng: np.random.Generator) -> dict[str, object]:
    now = NOW.value
    n_cust = 2 * n_enrol
    cust = np.arange(n_enrol, dtype=np.int64)
    enrolled = now - rng.integers(0, 20 * DAY, n_enrol)
    # spread over the steps: waiting for a reply (most), ended, held out
    state = rng.choice(3, n_enrol, p=[0.75, 0.2, 0.05])
    step = np.where(state == 0, "reply", np.where(state == 1, "end", "download"))
    status = np.where(state == 0, "active", np.where(state == 1, "completed", "held_out"))
    due = np.where(state == 0, enrolled + 7 * DAY, np.iinfo(np.int64).min)
    enrolments = pd.DataFrame(
        {
            "enrolment_id": pd.Series([f"seminar:{c}:0" for c in cust.tolist()], dtype=object),
            "journey_id": "seminar",
            "customer_id": cust,
            "seq": np.zeros(n_enrol, dtype=np.int64),
            "enrolled_at": pd.to_datetime(enrolled, utc=True),
            "step": step.astype(object),
            "step_at": pd.to_datetime(enrolled, utc=True),
            "due_at": pd.to_datetime(due, utc=True),
            "status": status.astype(object),
            "control": state == 2,
        }
    )
    weights = np.array([0.01, 0.02, 0.005, 0.2, 0.08, 0.3, 0.02, 0.05, 0.1, 0.1, 0.1, 0.015])
    events = pd.DataFrame(
        {
            "customer_id": rng.integers(0, n_cust, n_events),
            "type": pd.Categorical.from_codes(
                rng.choice(len(TYPES), n_events, p=weights / weights.sum()), TYPES
            ),
            "date": pd.to_datetime(now - rng.integers(0, 30 * DAY, n_events), utc=True),
        }
    )
    consents = pd.DataFrame(
        {
            "customer_id": np.arange(n_cust, dtype=np.int64),
            "channel": pd.Categorical(["email"] * n_cust),
            "granted": rng.random(n_cust) < 0.9,
            "date": pd.to_datetime(np.full(n_cust, now - 60 * DAY), utc=True),
        }
    )
    sends = pd.DataFrame(
        {
            "customer_id": rng.integers(0, n_cust, n_cust),
            "date": pd.to_datetime(now - rng.integers(0, 7 * DAY, n_cust), utc=True),
        }
    )
    profiles = pd.DataFrame(
        {
            "tz": pd.Categorical.from_codes(rng.integers(0, len(ZONES), n_cust), ZONES),
            "owner": pd.Categorical.from_codes(
                rng.integers(0, 50, n_cust), [f"u{i}" for i in range(50)]
            ),
        },
        index=pd.Index(np.arange(n_cust, dtype=np.int64), name="customer_id"),
    )
    return {
        "enrolments": enrolments,
        "events": events,
        "consents": consents,
        "sends": sends,
        "profiles": profiles,
    }


def bench_tick(scale: float) -> list[tuple[str, str, str, str]]:
    rng = np.random.default_rng(SEED)
    n_enrol, n_events = int(1_000_000 * scale), int(10_000_000 * scale)
    data = build(n_enrol, n_events, rng)
    before = rss_mib()
    t0, c0 = time.perf_counter(), time.process_time()
    res = tick(
        JOURNEY,
        data["enrolments"],
        data["events"],
        NOW,
        profiles=data["profiles"],
        consents=data["consents"],
        sends=data["sends"],
        frequency_cap=FrequencyCap(3, "7D"),
    )
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    counts = res.actions["kind"].value_counts().to_dict()
    what = (
        f"{n_enrol:,} enrolments, {n_events:,} events -> {len(res.enrolments):,} "
        f"enrolments, {counts.get('send', 0):,} sends, {counts.get('create_task', 0):,} tasks"
    )
    target = "< 10 s" if scale == 1.0 else "(quick)"
    return [
        ("tick", what, f"{wall:.2f} s wall / {cpu:.2f} s CPU", target),
        ("tick memory", f"data {before:,.0f} MiB", f"peak {rss_mib():,.0f} MiB", ""),
    ]


def bench_step() -> list[tuple[str, str, str, str]]:
    t = dt.datetime(2024, 5, 6, 10, tzinfo=dt.UTC)
    profile = {"tz": "Europe/Berlin", "owner": "ana"}
    history = [Consent(channel="email", granted=True, at=t - dt.timedelta(days=30))]
    started = enter(JOURNEY, "C-1", t, profile=profile)
    assert started is not None
    waiting = step(JOURNEY, started.enrolment, [], t, profile=profile, consents=history).enrolment
    assert waiting.step == "reply"
    events: list[object] = []
    not_due = t + dt.timedelta(days=2)
    due = t + dt.timedelta(days=8)

    def idle() -> None:
        step(JOURNEY, waiting, events, not_due, profile=profile, consents=history)

    def follow_up() -> None:
        step(JOURNEY, waiting, events, due, profile=profile, consents=history)

    rows = []
    for name, fn in (("step: wait not due", idle), ("step: wait ends, follow-up sent", follow_up)):
        n = 2_000
        best = min(timeit.repeat(fn, number=n, repeat=5, timer=time.process_time)) / n
        rows.append((name, "one enrolment", f"{best * 1e6:.1f} µs CPU", "< 20 µs"))
    return rows


def _as_text(frame: pd.DataFrame) -> pd.DataFrame:
    out = frame.copy()
    if "customer_id" in out:
        out["customer_id"] = pd.Series(
            [f"c{c}" for c in out["customer_id"].tolist()], dtype=object
        )
    else:  # profiles: ids in the index
        out.index = pd.Index([f"c{c}" for c in out.index.tolist()], name="customer_id")
    return out


def bench_store(scale: float) -> list[tuple[str, str, str, str]]:
    rng = np.random.default_rng(SEED + 1)
    n_enrol, n_events = int(1_000_000 * scale), int(10_000_000 * scale)
    data = {k: _as_text(v) for k, v in build(n_enrol, n_events, rng).items()}
    enrolments = data["enrolments"]
    enrolments["enrolment_id"] = [f"seminar:{c}:0" for c in enrolments["customer_id"]]
    stored = enrolment_values(enrolments)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for name, store in (
            ("memory", InMemoryStore()),
            ("SQLite file", SqlStore(f"sqlite:///{Path(tmp) / 'crm.db'}")),
        ):
            store.create_schema()
            store.journey_enrolments.add_many(stored)
            t0, c0 = time.perf_counter(), time.process_time()
            res = run_tick(
                store,
                JOURNEY,
                data["events"],
                NOW,
                profiles=data["profiles"],
                consents=data["consents"],
                sends=data["sends"],
                frequency_cap=FrequencyCap(3, "7D"),
            )
            wall, cpu = time.perf_counter() - t0, time.process_time() - c0
            n_events_stored = store.events.count()
            what = (
                f"{name}: {n_enrol:,} enrolments, {n_events:,} events -> "
                f"{len(res.enrolments):,} read or new, {len(res.actions):,} actions, "
                f"{n_events_stored:,} events stored"
            )
            rows.append(("run_tick", what, f"{wall:.2f} s wall / {cpu:.2f} s CPU", ""))
            if isinstance(store, SqlStore):
                store.close()
    return rows


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--store-only", action="store_true", help="only run_tick")
    args = parser.parse_args()
    if args.store_only:
        rows = bench_store(0.005 if args.quick else 0.1)
    else:
        rows = (
            bench_step()
            + bench_tick(0.05 if args.quick else 1.0)
            + bench_store(0.005 if args.quick else 0.1)
        )
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    header = ("workload", "size", "time", "target")
    widths = [max(w, len(h)) for w, h in zip(widths, header, strict=True)]
    line = " | ".join(h.ljust(w) for h, w in zip(header, widths, strict=True))
    print(line)
    print("-" * len(line))
    for r in rows:
        print(" | ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)))


if __name__ == "__main__":
    main()
