"""Storage throughput: bulk load and columnar export of orders, indexed query latency.

SqlStore on a SQLite file (WAL) in a temporary directory:

- ``add_many`` of 100k and 1M orders fed from a generator (bounded memory),
  timed two ways: the whole call, and the storage share (the time spent
  building the domain entities inside the generator is measured and
  subtracted);
- ``add_frame`` of the same orders as one DataFrame (validated column by
  column, no entity built), and the floor: ``sqlite3.executemany`` of the
  same encoded rows into the same table and indexes (issue 24: ``add_many``
  within 1.5x of it);
- ``to_frame`` of the same orders (every column, and ``customer_id, placed_at,
  amount`` as the numeric core takes them);
- ``query`` latency on 100k customers: an indexed equality (``email``), an
  indexed range with a limit (``created_at``), an unindexed JSON filter
  (``custom.segment``), and ``get`` by id.

Targets (issue 3): 1M orders in and out in under 15 s each on the 2-core CI
machine.  Seeded; ``--quick`` runs 10k / 20k.  Run under ``nice``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import resource
import sqlite3
import statistics
import tempfile
import time
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import numpy as np
import pandas as pd

from crmcore.domain import Customer, EmailAddress, Money, Order
from crmcore.storage import SqlStore

START = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)


class Clock:
    """Accumulates the time spent building entities inside a generator."""

    def __init__(self) -> None:
        self.wall = 0.0
        self.cpu = 0.0


def orders(n: int, seed: int, clock: Clock, n_customers: int = 50_000) -> Iterator[Order]:
    rng = np.random.default_rng(seed)
    customer = rng.integers(0, n_customers, n)
    seconds = rng.integers(0, 3 * 365 * 86_400, n)
    cents = rng.gamma(2.0, 2_500.0, n).astype(np.int64) + 1
    currency = rng.choice(["EUR", "USD"], n, p=[0.8, 0.2])
    for start in range(0, n, 1_000):  # build in chunks of 1,000: memory stays bounded
        wall, cpu = time.perf_counter(), time.process_time()
        chunk = [
            Order(
                id=f"o{i:07d}",
                customer_id=f"c{customer[i]:06d}",
                placed_at=START + dt.timedelta(seconds=int(seconds[i])),
                amount=Money(amount=Decimal(int(cents[i])).scaleb(-2), currency=str(currency[i])),
            )
            for i in range(start, min(n, start + 1_000))
        ]
        clock.wall += time.perf_counter() - wall
        clock.cpu += time.process_time() - cpu
        yield from chunk


def order_frame(n: int, seed: int, n_customers: int = 50_000) -> pd.DataFrame:
    """The same orders as :func:`orders` (same draws), as the frame ``add_frame`` takes."""
    rng = np.random.default_rng(seed)
    customer = rng.integers(0, n_customers, n)
    seconds = rng.integers(0, 3 * 365 * 86_400, n)
    cents = pd.Series(rng.gamma(2.0, 2_500.0, n).astype(np.int64) + 1)
    currency = rng.choice(["EUR", "USD"], n, p=[0.8, 0.2])
    return pd.DataFrame(
        {
            "id": pd.Series(np.arange(n)).map("o{:07d}".format).astype("str"),
            "customer_id": pd.Series(customer).map("c{:06d}".format).astype("str"),
            "placed_at": pd.Timestamp(START) + pd.to_timedelta(seconds, unit="s"),
            "amount": ((cents // 100).astype(str) + "." + (cents % 100).astype(str).str.zfill(2)),
            "amount_currency": pd.Series(currency).astype("str"),
        }
    )


def raw_executemany(path: Path, store: SqlStore, n: int, seed: int) -> tuple[float, float]:
    """The floor: ``sqlite3.executemany`` of the encoded rows into the same table and indexes.

    Same page cache as ``add_many``, batches of 10,000, one transaction; the
    rows are encoded beforehand (not timed).
    """
    codec = store.orders._codec
    insert = store.orders._raw_insert
    rows = [codec.encode(o) for o in orders(n, seed, Clock())]
    con = sqlite3.connect(path)
    con.execute("PRAGMA cache_size = -65536")
    wall, cpu = time.perf_counter(), time.process_time()
    with con:
        for start in range(0, n, 10_000):
            con.executemany(insert, rows[start : start + 10_000])
    out = time.perf_counter() - wall, time.process_time() - cpu
    con.close()
    return out


def customers(n: int, seed: int) -> Iterator[Customer]:
    rng = np.random.default_rng(seed)
    seconds = rng.integers(0, 5 * 365 * 86_400, n)
    segment = rng.choice(["a", "b", "c", "d"], n)
    for i in range(n):
        yield Customer(
            id=f"c{i:06d}",
            name=f"Customer {i}",
            created_at=START + dt.timedelta(seconds=int(seconds[i])),
            email=EmailAddress(value=f"user{i}@example.com"),
            custom={"segment": str(segment[i])},
        )


def timed(fn, *args, **kwargs):
    """Return (result, wall seconds, CPU seconds of this process)."""
    wall, cpu = time.perf_counter(), time.process_time()
    out = fn(*args, **kwargs)
    return out, time.perf_counter() - wall, time.process_time() - cpu


def latency_ms(fn, repeats: int) -> float:
    samples = []
    for k in range(repeats):
        t0 = time.perf_counter()
        fn(k)
        samples.append(time.perf_counter() - t0)
    return 1000 * statistics.median(samples)


Row = tuple[str, float, float | None, str]


def bench_orders(directory: Path, n: int, seed: int) -> list[Row]:
    store = SqlStore(f"sqlite:///{directory / f'orders_{n}.db'}")
    store.create_schema()
    clock = Clock()
    count, wall, cpu = timed(store.orders.add_many, orders(n, seed, clock), batch_size=10_000)
    assert count == n
    frame, f_wall, f_cpu = timed(store.orders.to_frame)
    assert len(frame) == n
    del frame
    narrow, n_wall, n_cpu = timed(store.orders.to_frame, ["customer_id", "placed_at", "amount"])
    assert narrow["amount"].dtype == np.float64
    store.close()
    framed = SqlStore(f"sqlite:///{directory / f'frame_{n}.db'}")
    framed.create_schema()
    table = order_frame(n, seed)
    count, fr_wall, fr_cpu = timed(framed.orders.add_frame, table, batch_size=10_000)
    assert count == n
    del table
    framed.close()
    floor_path = directory / f"floor_{n}.db"
    floor = SqlStore(f"sqlite:///{floor_path}")
    floor.create_schema()
    raw_wall, raw_cpu = raw_executemany(floor_path, floor, n, seed)
    floor.close()
    label = f"{n // 1000:,}k orders"
    storage_wall, storage_cpu = wall - clock.wall, cpu - clock.cpu
    return [
        (f"add_frame {label} (the same orders as a frame)", fr_wall, fr_cpu,
         f"{n / fr_wall:,.0f} rows/s; {cpu / fr_cpu:.1f}x less CPU than add_many"),
        ("  floor: sqlite3.executemany of the encoded rows", raw_wall, raw_cpu,
         (f"{n / raw_wall:,.0f} rows/s; add_many storage share "
          f"{storage_cpu / raw_cpu:.2f}x, add_frame {fr_cpu / raw_cpu:.2f}x its CPU")),
        (f"add_many {label}: whole call", wall, cpu, f"{n / wall:,.0f} rows/s"),
        ("  building the entities (domain)", clock.wall, clock.cpu, "inside the generator"),
        ("  storage share", storage_wall, storage_cpu, f"{n / storage_wall:,.0f} rows/s"),
        (f"to_frame {label}: all 9 columns", f_wall, f_cpu, f"{n / f_wall:,.0f} rows/s"),
        (f"to_frame {label}: 3 columns", n_wall, n_cpu, "customer_id, placed_at, amount"),
    ]  # fmt: skip


def bench_queries(directory: Path, n: int, seed: int) -> list[Row]:
    store = SqlStore(f"sqlite:///{directory / 'customers.db'}")
    store.create_schema()
    _, load, load_cpu = timed(store.customers.add_many, customers(n, seed))
    repo = store.customers
    rows: list[Row] = [(f"add_many {n // 1000}k customers", load, load_cpu, "")]
    probes = [
        ("get by id", lambda k: repo.get(f"c{(k * 7919) % n:06d}")),
        (
            "query email == (indexed)",
            lambda k: repo.query({"email": f"user{(k * 7919) % n}@example.com"}),
        ),
        (
            "query created_at >=, order, limit 50 (indexed)",
            lambda k: repo.query(
                {"created_at__ge": START + dt.timedelta(days=k % 1000)},
                order_by="created_at",
                limit=50,
            ),
        ),
        (
            "count custom.segment == (JSON, full scan)",
            lambda k: repo.count({"custom.segment": "abcd"[k % 4]}),
        ),
    ]
    for name, probe in probes:
        repeats = 5 if "scan" in name else 200
        rows.append((name, latency_ms(probe, repeats) / 1000, None, "median latency"))
    store.close()
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="10k/20k rows instead of 100k/1M")
    parser.add_argument("--seed", type=int, default=20261123)
    args = parser.parse_args()
    sizes = (10_000, 20_000) if args.quick else (100_000, 1_000_000)
    n_customers = 10_000 if args.quick else 100_000
    rows: list[Row] = []
    with tempfile.TemporaryDirectory() as tmp:
        for n in sizes:
            rows += bench_orders(Path(tmp), n, args.seed)
        rows += bench_queries(Path(tmp), n_customers, args.seed)
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    width = max(len(r[0]) for r in rows)
    print(f"{'measurement':<{width}}  {'wall':>10}  {'CPU':>8}  note")
    print(f"{'-' * width}  {'-' * 10}  {'-' * 8}  {'-' * 30}")
    for name, seconds, cpu, note in rows:
        shown = f"{seconds * 1000:.3f} ms" if seconds < 0.1 else f"{seconds:.2f} s"
        cpu_shown = "" if cpu is None else f"{cpu:.2f} s"
        print(f"{name:<{width}}  {shown:>10}  {cpu_shown:>8}  {note}")
    print(f"\npeak resident memory: {peak_mb:,.0f} MB")


if __name__ == "__main__":
    main()
