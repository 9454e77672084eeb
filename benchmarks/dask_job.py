"""Benchmark the CLV job on a local Dask cluster against the same job in memory (issue 24).

Workload (seeded): a transaction log of N rows (BG/NBD purchases, Gamma-Gamma
spend; about five purchases per customer over two years) written as F
Parquet files. The Dask job, on a ``LocalCluster`` of W worker processes
(one thread each, ``--memory`` per worker):

1. ``rfm_summary`` of the log (read by the workers, shuffled on the customer),
   persisted on the workers;
2. ``BetaGeoModel().fit`` and ``GammaGammaModel().fit`` of the Dask summary:
   the distinct rows are counted on the cluster, and only they are collected
   (their number is printed);
3. ``score_customers`` (P(alive), expected purchases, spend, CLV) written as
   partitioned Parquet by the workers.

The same job then runs in memory (pandas reads every file, same functions),
and the results are compared: fitted parameters and every customer's scores.
Wall seconds and CPU seconds (``time.process_time`` of the client and of each
worker process) are printed; the machine may be shared, so read CPU beside
wall.

Usage: ``python benchmarks/dask_job.py [--transactions N] [--files F]
[--workers W] [--memory 3GiB] [--quick]`` (quick: 500k transactions).
Needs the ``dask`` extra (with ``distributed``).
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from crmcore.clv import (
    BetaGeoModel,
    GammaGammaModel,
    rfm_summary,
    score_customers,
    simulate_transactions,
)

AS_OF = "2024-12-31"  # the end of that day
PER_CUSTOMER = 4.96  # mean rows per customer of the simulation below (measured)
SCORE = {"t": 90.0, "horizon": 12, "time_unit": 365.25 / 12, "discount_rate": 0.01}


def write_log(
    folder: Path, n_rows: int, n_files: int, *, interleave: bool = False
) -> tuple[int, int]:
    """Simulate about ``n_rows`` transactions into ``n_files`` Parquet files.

    Each file holds its own customers: a range of ids (as an extract by id
    range writes them; the summary then needs no shuffle) or, with
    ``interleave``, ids spread over the whole range (a shuffle is needed).
    """
    per_file = max(1, round(n_rows / PER_CUSTOMER / n_files))
    rows = customers = 0
    for i in range(n_files):
        part = simulate_transactions(
            per_file,
            r=0.6,
            alpha=30.0,
            a=0.8,
            b=2.5,
            start=pd.Timestamp("2023-01-01", tz="UTC"),
            periods=730,
            p=6.0,
            q=4.0,
            gamma=15.0,
            random_state=1000 + i,
        )
        if interleave:
            part["customer_id"] = part["customer_id"] * n_files + i
        else:
            part["customer_id"] += customers
        # an order log records days: recency and T are whole days, as in practice
        part["date"] = part["date"].dt.floor("D")
        part.to_parquet(folder / f"part.{i:04d}.parquet", index=False)
        rows += len(part)
        customers += per_file
    return rows, customers


def _read_part(path: str, index: str | None = None) -> pd.DataFrame:
    import pyarrow.parquet as pq

    frame = pq.read_table(path).to_pandas()
    return frame if index is None else frame.set_index(index)


def dask_job(folder: Path, out: Path, client: Any) -> dict[str, Any]:
    import dask.dataframe as dd
    from distributed import wait

    from crmcore._dask import parquet_divisions

    paths = [f.as_posix() for f in sorted(folder.glob("*.parquet"))]
    meta = _read_part(paths[0]).iloc[:0]
    # one partition per file, read on the workers, as `crmcore clv score` does: indexed by
    # the customer with known divisions when the files' statistics show disjoint id ranges
    divisions = parquet_divisions(paths, "customer_id")
    index = None if divisions is None else "customer_id"
    log = dd.from_map(
        _read_part,
        paths,
        index=index,
        divisions=divisions,
        meta=meta if index is None else meta.set_index(index),
    )
    times: dict[str, Any] = {"shuffle": divisions is None}

    def cpu() -> tuple[float, float]:
        workers = client.run(time.process_time)
        return time.process_time(), float(sum(workers.values()))

    marks = [(time.perf_counter(), *cpu())]

    def mark() -> None:
        marks.append((time.perf_counter(), *cpu()))

    summary = rfm_summary(log, value_col="amount", as_of=AS_OF).persist()
    wait(summary)
    mark()
    collected: dict[str, int] = {}
    bg = BetaGeoModel().fit(summary)
    mark()
    gg = GammaGammaModel().fit(summary)
    mark()
    scores = score_customers(bg, summary, spend_model=gg, **SCORE)
    scores.reset_index().to_parquet(out.as_posix(), write_index=False)
    mark()
    steps = ("summary", "fit_bg", "fit_gg", "score_write")
    collected["bg"] = int(
        summary[["frequency", "recency", "T"]].drop_duplicates().shape[0].compute()
    )
    repeat = summary[summary["frequency"] > 0]
    collected["gg_rows"] = int(
        repeat[["frequency", "monetary_value"]].drop_duplicates().shape[0].compute()
    )
    collected["gg_freq"] = int(repeat["frequency"].nunique().compute())
    for key, (t0, c0, w0), (t1, c1, w1) in zip(steps, marks[:-1], marks[1:], strict=True):
        times[key] = (t1 - t0, c1 - c0, w1 - w0)
    (t0, c0, w0), (t1, c1, w1) = marks[0], marks[-1]
    times.update(
        total=(t1 - t0, c1 - c0, w1 - w0),
        client_cpu=c1 - c0,
        worker_cpu=w1 - w0,
        n_customers=bg.n_customers_,
        collected=collected,
        bg=bg,
        gg=gg,
    )
    return times


def memory_job(folder: Path) -> dict[str, Any]:
    c0 = time.process_time()
    t0 = time.perf_counter()
    log = pd.concat([_read_part(f.as_posix()) for f in sorted(folder.glob("*.parquet"))])
    t1 = time.perf_counter()
    summary = rfm_summary(log, value_col="amount", as_of=AS_OF)
    t2 = time.perf_counter()
    bg = BetaGeoModel().fit(summary)
    gg = GammaGammaModel().fit(summary)
    t3 = time.perf_counter()
    scores = score_customers(bg, summary, spend_model=gg, **SCORE)
    t4 = time.perf_counter()
    return {
        "read": t1 - t0,
        "summary": t2 - t1,
        "fit": t3 - t2,
        "score": t4 - t3,
        "total": t4 - t0,
        "cpu": time.process_time() - c0,
        "bg": bg,
        "gg": gg,
        "scores": scores,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--transactions", type=int, default=5_000_000)
    parser.add_argument("--files", type=int, default=20)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--memory", default="3GiB")
    parser.add_argument("--quick", action="store_true", help="500k transactions")
    parser.add_argument(
        "--interleave",
        action="store_true",
        help="spread each customer's id over all files' range (the summary shuffles)",
    )
    parser.add_argument(
        "--no-memory",
        action="store_true",
        help="skip the in-memory job and the comparison (for logs that do not fit in memory)",
    )
    parser.add_argument("--tmp", default=None, help="folder for the log (default: system tmp)")
    parser.add_argument(
        "--log",
        default=None,
        help="folder of the log's Parquet files: written there if it has none, else reused "
        "(to run several versions side by side on one log)",
    )
    args = parser.parse_args()
    n = 500_000 if args.quick else args.transactions
    from distributed import Client, LocalCluster

    with tempfile.TemporaryDirectory(prefix="crmcore-dask-bench-", dir=args.tmp) as tmp:
        folder = Path(args.log) if args.log else Path(tmp) / "log"
        folder.mkdir(parents=True, exist_ok=True)
        if any(folder.glob("*.parquet")):
            print(f"log: reusing the Parquet files in {folder}")
        else:
            t0 = time.perf_counter()
            rows, customers = write_log(folder, n, args.files, interleave=args.interleave)
            print(
                f"log: {rows:,} transactions, {customers:,} customers in {args.files} Parquet "
                f"files (written in {time.perf_counter() - t0:.1f} s; not part of the job)"
            )
        with (
            LocalCluster(
                n_workers=args.workers,
                threads_per_worker=1,
                memory_limit=args.memory,
                dashboard_address=None,
            ) as cluster,
            Client(cluster) as client,
        ):
            d = dask_job(folder, Path(tmp) / "scores", client)
        m = None if args.no_memory else memory_job(folder)
        if m is not None:
            got = pd.read_parquet(Path(tmp) / "scores").set_index("customer_id").sort_index()
            want = m["scores"].sort_index()
            score_rel = float(
                np.max(
                    np.abs(got.to_numpy() - want.to_numpy())
                    / np.maximum(np.abs(want.to_numpy()), 1e-300)
                )
            )
    print(
        f"\nDask: LocalCluster of {args.workers} worker processes x 1 thread, {args.memory} each"
    )
    print(f"{'step':<48}{'wall s':>9}{'client CPU s':>14}{'workers CPU s':>15}")
    how = "read, shuffle, per partition" if d["shuffle"] else "read, per partition, no shuffle"
    for label, key in [
        (f"summary ({how})", "summary"),
        ("BG/NBD fit (distinct rows collected)", "fit_bg"),
        ("Gamma-Gamma fit", "fit_gg"),
        ("scores -> partitioned Parquet", "score_write"),
        ("total", "total"),
    ]:
        wall, client_cpu, worker_cpu = d[key]
        print(f"{label:<48}{wall:>9.1f}{client_cpu:>14.1f}{worker_cpu:>15.1f}")
    print(
        f"CPU s: client {d['client_cpu']:.1f}, workers {d['worker_cpu']:.1f} "
        f"(sum over worker processes)"
    )
    print(
        f"compressed summary: BG/NBD {d['collected']['bg']:,} distinct rows (collected); "
        f"Gamma-Gamma {d['collected']['gg_rows']:,} distinct rows (collected before the "
        f"cluster fit), {d['collected']['gg_freq']:,} distinct frequencies (all the cluster "
        f"fit collects, with six sums per Newton step); of {d['n_customers']:,} customers"
    )
    if m is None:
        print(f"\n(in-memory job skipped; load average {os.getloadavg()[0]:.1f})")
        return
    bg_rel = max(abs(d["bg"].params_[k] / v - 1) for k, v in m["bg"].params_.items())
    gg_rel = max(abs(d["gg"].params_[k] / v - 1) for k, v in m["gg"].params_.items())
    print("\nIn memory (one process, pandas reads every file)")
    for key in ("read", "summary", "fit", "score", "total"):
        print(f"{key:<48}{m[key]:>9.1f}")
    print(f"CPU s: {m['cpu']:.1f}")
    print(
        f"\nDask vs in memory: BG/NBD params max rel diff {bg_rel:.1e}, Gamma-Gamma {gg_rel:.1e}, "
        f"scores max rel diff {score_rel:.1e}"
    )
    print(
        f"(machine: {os.cpu_count()} cores, shared with other jobs; load average "
        f"{os.getloadavg()[0]:.1f} at the end)"
    )


if __name__ == "__main__":
    main()
