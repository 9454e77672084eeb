"""``crmcore demo`` step by step: CPU and wall seconds of each step and of each table written.

Runs what ``crmcore demo --customers N`` runs, in this process, timing
each step with ``time.process_time`` (CPU seconds of the process) beside
``time.perf_counter`` (wall): generating the company (``make_company``),
writing it into a SQLite file (``write_company``, one row per table),
the report's inputs (the frames just written, as ``crmcore demo``; ``read_store``
on a tree before it), the analysis (``analyse``) and
writing the report files. Peak resident memory and the load average are
printed at the end (the machine is shared: compare CPU seconds).

    python benchmarks/demo.py                   # 100k customers
    python benchmarks/demo.py --customers 20000
    python benchmarks/demo.py --profile out.prof  # and a cProfile of the whole run
    python benchmarks/demo.py --floor           # and SQLite's own floor for the same rows

Same output, before and after a change (run the first with the other tree's
``src`` on ``PYTHONPATH``)::

    python benchmarks/demo.py --customers 3000 --write-only before.sqlite
    python benchmarks/demo.py --customers 3000 --write-only after.sqlite
    python benchmarks/demo.py --same-tables before.sqlite after.sqlite

``--write-only PATH`` generates the company and writes it into a new SQLite
file, nothing else; ``--same-tables A B`` compares every table of the two
files row for row (in the order written) and exits non-zero at the first
difference.

``--floor`` then copies every table the demo wrote, row for row, into a
new SQLite file with the same schema (tables, indexes, foreign keys on,
WAL, ``synchronous = NORMAL``, the bulk page cache) with plain
``sqlite3`` ``executemany``, one transaction per table, in the order
``write_company`` writes them: the CPU seconds SQLite itself needs for
these rows, below which no Python bulk path can go; then again with the
secondary indexes built after the rows.
"""

from __future__ import annotations

import argparse
import cProfile
import os
import resource
import sqlite3
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from crmcore.datasets import make_company, write_company
from crmcore.report import analyse, read_store
from crmcore.report._output import write_files
from crmcore.storage import SqlStore

report_data: Callable[..., Any] | None
try:
    from crmcore.datasets._report import report_data
except ImportError:  # the tree before 2026-12-04
    report_data = None


class Clock:
    """CPU and wall seconds since the last call."""

    def __init__(self) -> None:
        self.cpu = time.process_time()
        self.wall = time.perf_counter()

    def lap(self) -> tuple[float, float]:
        cpu, wall = time.process_time(), time.perf_counter()
        out = (cpu - self.cpu, wall - self.wall)
        self.cpu, self.wall = cpu, wall
        return out


def floor(
    source: Path, target: Path, *, indexes_after: bool = False
) -> list[tuple[str, int | None, float, float]]:
    """Copy every table of ``source`` into a new file of the same schema; time each insert.

    ``indexes_after``: the secondary indexes are created after the rows
    (their build timed as one more step), as a loader that drops and
    rebuilds them would.
    """
    src = sqlite3.connect(source)
    schema = src.execute(
        "SELECT type, name, sql FROM sqlite_master WHERE sql IS NOT NULL ORDER BY rowid"
    ).fetchall()
    later = [sql for kind, _, sql in schema if kind == "index"] if indexes_after else []
    schema = [row for row in schema if row[2] not in later]
    target.unlink(missing_ok=True)
    dst = sqlite3.connect(target, isolation_level=None)
    for pragma in (
        "foreign_keys = ON",
        "journal_mode = WAL",
        "synchronous = NORMAL",
        "cache_size = -65536",
    ):
        dst.execute(f"PRAGMA {pragma}")
    for _, _, sql in schema:
        dst.execute(sql)
    tables = [name for kind, name, _ in schema if kind == "table"]
    # the order write_company writes them in (parents before the rows referring to them)
    order = [
        "customers", "orders", "products", "order_lines", "accounts", "contacts", "leads",
        "opportunities", "tickets", "survey_responses", "loyalty_accounts", "campaigns",
        "campaign_members",
    ]  # fmt: skip
    named = [t for name in order for t in tables if t in (name, f"crm_{name}")]
    tables = named + [t for t in tables if t not in named]
    out: list[tuple[str, int | None, float, float]] = []
    total = [0, 0.0, 0.0]
    for table in tables:
        rows = src.execute(f'SELECT * FROM "{table}"').fetchall()  # names from sqlite_master
        if not rows:
            continue
        marks = ", ".join("?" * len(rows[0]))
        cpu, wall = time.process_time(), time.perf_counter()
        dst.execute("BEGIN")
        dst.executemany(f'INSERT INTO "{table}" VALUES ({marks})', rows)
        dst.execute("COMMIT")
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
        out.append((f"  floor {table}", len(rows), cpu, wall))
        total[0] += len(rows)
        total[1] += cpu
        total[2] += wall
    if later:
        cpu, wall = time.process_time(), time.perf_counter()
        for sql in later:
            dst.execute(sql)
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
        out.append(("  floor: build the indexes", len(later), cpu, wall))
        total[1] += cpu
        total[2] += wall
    label = "floor, indexes after" if indexes_after else "floor: sqlite3 executemany"
    out.append((f"{label}, all", int(total[0]), total[1], total[2]))
    src.close()
    dst.close()
    return out


def run(n: int, seed: int, out: Path) -> list[tuple[str, int | None, float, float]]:
    rows: list[tuple[str, int | None, float, float]] = []
    clock = Clock()
    company = make_company(n, random_state=seed)
    rows.append(("make_company", None, *clock.lap()))
    tables: list[tuple[str, int]] = []

    def progress(table: str, n_rows: int) -> Callable[[int], object] | None:
        cpu, wall = clock.lap()
        if tables:
            name, size = tables[-1]
            rows.append((f"  write {name}", size, cpu, wall))
        tables.append((table, n_rows))
        return None

    write_start = (time.process_time(), time.perf_counter())
    with SqlStore(f"sqlite:///{(out / 'crm.sqlite').as_posix()}") as store:
        store.create_schema()
        counts = write_company(company, store, progress=progress)
        cpu, wall = clock.lap()
        name, size = tables[-1]
        rows.append((f"  write {name}", size, cpu, wall))
        rows.append(
            (
                "write_company",
                sum(counts.values()),
                time.process_time() - write_start[0],
                time.perf_counter() - write_start[1],
            )
        )
        # crmcore demo: the frames just written (a tree before it reads the store back)
        data = read_store(store) if report_data is None else report_data(company, store)
        rows.append(("report inputs", len(data.transactions), *clock.lap()))
    analysis = analyse(data)
    rows.append(("analyse", None, *clock.lap()))
    write_files(analysis, out)
    rows.append(("write report files", None, *clock.lap()))
    return rows


def write_only(n: int, seed: int, path: Path) -> None:
    """Generate the company and write it into a new SQLite file at ``path``."""
    path.unlink(missing_ok=True)
    with SqlStore(f"sqlite:///{path.as_posix()}") as store:
        store.create_schema()
        counts = write_company(make_company(n, random_state=seed), store)
    print(f"{sum(counts.values()):,} records written to {path}")


def same_tables(first: Path, second: Path) -> bool:
    """Compare every table of two SQLite files row for row, in rowid order.

    The stage events' ids are drawn per process (``new_event_id``): the
    events are compared without them.  Prints the first difference.
    """
    a, b = sqlite3.connect(first), sqlite3.connect(second)
    listing = "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name"
    names = [name for (name,) in a.execute(listing)]
    if names != [name for (name,) in b.execute(listing)]:
        print("the files hold different tables")
        return False
    for name in names:
        columns = [row[1] for row in a.execute(f'PRAGMA table_info("{name}")')]
        if name == "crm_events":
            columns.remove("id")
        shown = ", ".join(f'"{c}"' for c in columns)
        query = f'SELECT {shown} FROM "{name}" ORDER BY rowid'
        rows_a, rows_b = a.execute(query).fetchall(), b.execute(query).fetchall()
        if rows_a != rows_b:
            at = next(
                (i for i, (x, y) in enumerate(zip(rows_a, rows_b, strict=False)) if x != y),
                min(len(rows_a), len(rows_b)),
            )
            print(f"{name}: {len(rows_a):,} and {len(rows_b):,} rows, first differs at {at}")
            return False
        print(f"{name}: the same {len(rows_a):,} rows")
    return True


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--profile", help="write a cProfile of the whole run to this file")
    parser.add_argument(
        "--floor", action="store_true", help="then time sqlite3 executemany of the same rows"
    )
    parser.add_argument("--write-only", metavar="PATH", help="only write the company into PATH")
    parser.add_argument(
        "--same-tables", nargs=2, metavar="PATH", help="compare two files' tables row for row"
    )
    args = parser.parse_args()
    if args.same_tables:
        raise SystemExit(0 if same_tables(*map(Path, args.same_tables)) else 1)
    if args.write_only:
        write_only(args.customers, args.seed, Path(args.write_only))
        return
    cpu0, wall0 = time.process_time(), time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        if args.profile:
            profiler = cProfile.Profile()
            rows = profiler.runcall(run, args.customers, args.seed, Path(tmp))
            profiler.dump_stats(args.profile)
        else:
            rows = run(args.customers, args.seed, Path(tmp))
        cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
        if args.floor:
            rows += floor(Path(tmp) / "crm.sqlite", Path(tmp) / "floor.sqlite")
            rows += floor(Path(tmp) / "crm.sqlite", Path(tmp) / "floor.sqlite", indexes_after=True)
    print(f"crmcore demo steps, {args.customers:,} customers (seed {args.seed})")
    print(f"{'step':<34} {'rows':>11} {'CPU s':>8} {'wall s':>8}")
    for name, size, c, w in rows:
        shown = f"{size:,}" if size is not None else ""
        print(f"{name:<34} {shown:>11} {c:8.2f} {w:8.2f}")
    print(f"{'total (the demo)':<34} {'':>11} {cpu:8.2f} {wall:8.2f}")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak RSS {peak:,.0f} MiB; load average {os.getloadavg()}")


if __name__ == "__main__":
    main()
