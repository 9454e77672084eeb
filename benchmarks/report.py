"""``crmcore report`` end to end on a large synthetic log: wall time and peak memory.

Writes a seeded transaction log (BG/NBD purchases, Gamma-Gamma spend; about
ten transactions per customer) as Parquet, then runs ``python -m crmcore
report`` on it in a child process and reports the wall time of each step (from
``--verbose`` progress lines), the total, and the child's peak resident memory.

    python benchmarks/report.py               # 1M customers, ~10M transactions
    python benchmarks/report.py --quick       # 20k customers
    python benchmarks/report.py --customers 200000 --format csv
"""

from __future__ import annotations

import argparse
import re
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

from crmcore.clv import simulate_transactions

# about ten purchases per customer over two years, few early drop-outs
PARAMS = {"r": 1.2, "alpha": 40.0, "a": 0.4, "b": 4.0}
SPEND = {"p": 6.0, "q": 4.0, "gamma": 15.0}


def make_log(n: int, path: Path, fmt: str) -> int:
    tx = simulate_transactions(
        n,
        **PARAMS,
        start="2024-07-01",
        periods=730,
        acquisition_periods=365,
        **SPEND,
        random_state=20261123,
    )
    frame = pd.DataFrame(
        {
            "customer_id": tx["customer_id"].to_numpy(),
            "date": tx["date"].dt.floor("s").dt.tz_localize("UTC"),
            "amount": tx["amount"].round(2).to_numpy(),
        }
    )
    if fmt == "csv":
        frame.to_csv(path, index=False)
    else:
        frame.to_parquet(path, index=False)
    return len(frame)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--quick", action="store_true", help="20k customers")
    parser.add_argument("--format", choices=["parquet", "csv"], default="parquet")
    parser.add_argument("--model", default="bgnbd")
    args = parser.parse_args()
    n = 20_000 if args.quick else args.customers
    with tempfile.TemporaryDirectory(prefix="crmcore-bench-") as tmp:
        source = Path(tmp) / f"transactions.{args.format}"
        t0 = time.perf_counter()
        n_tx = make_log(n, source, args.format)
        made = time.perf_counter() - t0
        out = Path(tmp) / "report"
        t0 = time.perf_counter()
        run = subprocess.run(
            [
                sys.executable,
                "-m",
                "crmcore",
                "report",
                "--transactions",
                str(source),
                "--model",
                args.model,
                "--out",
                str(out),
                "-v",
            ],
            capture_output=True,
            text=True,
            check=False,
        )
        wall = time.perf_counter() - t0
        peak_kib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        if run.returncode != 0:
            print(run.stderr)
            raise SystemExit(run.returncode)
        steps = re.findall(r"\[\s*([\d.]+)s\] (.*)\.\.\.", run.stderr)
        sizes = {p.name: p.stat().st_size for p in out.iterdir()}
    print(
        f"crmcore report: {n:,} customers, {n_tx:,} transactions ({args.format}, "
        f"model {args.model}); log generated in {made:.1f} s"
    )
    print()
    print("| step | starts at (s) |")
    print("|---|---:|")
    for at, name in steps:
        print(f"| {name} | {float(at):.1f} |")
    print()
    print("| measure | value |")
    print("|---|---:|")
    print(f"| wall time, whole command (s) | {wall:.1f} |")
    print(f"| peak resident memory (GiB) | {peak_kib / 2**20:.2f} |")
    for name, size in sorted(sizes.items()):
        print(f"| {name} (MiB) | {size / 2**20:.1f} |")


if __name__ == "__main__":
    main()
