"""``crmcore report`` end to end on a large synthetic log: time per step, CPU, peak memory.

Writes a seeded transaction log (BG/NBD purchases, Gamma-Gamma spend; about
ten transactions per customer, text customer ids as the command reads them)
as Parquet, then runs ``python -m crmcore report`` on it in a child process
and reports the wall time and CPU seconds of each step (from ``--verbose``
progress lines; the child adds the process's CPU time to each), the
child's CPU seconds and its peak resident memory.

With ``--reference DIR`` (a ``src`` tree of an earlier version, e.g.
``git archive <commit> src | tar -x -C /tmp/before``), the same command runs
on both trees side by side (before, after, alternately ``--rounds`` times),
the best of each is shown, and the written ``customers.csv`` and
``summary.json`` are compared byte for byte: the same numbers out.

    python benchmarks/report.py               # 1M customers, ~10M transactions
    python benchmarks/report.py --quick       # 20k customers
    python benchmarks/report.py --customers 200000 --reference /tmp/before/src
"""

from __future__ import annotations

import argparse
import filecmp
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import pandas as pd

from crmcore.clv import simulate_transactions

# about ten purchases per customer over two years, few early drop-outs
PARAMS = {"r": 1.2, "alpha": 40.0, "a": 0.4, "b": 4.0}
SPEND = {"p": 6.0, "q": 4.0, "gamma": 15.0}
COMPARED = ("customers.csv", "summary.json")  # report.html embeds SVG ids that vary by run


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


# The child: ``python -m crmcore report ...`` whose progress lines also carry the
# process's CPU seconds at the start of each step (the command itself is unchanged).
_CHILD = """
import sys, time
from crmcore.cli import _console, main
shown = _console.Console.step
def step(self, name):
    sys.stderr.write(f"cpu {time.process_time():.3f} {name}\\n")
    shown(self, name)
_console.Console.step = step
sys.exit(main(sys.argv[1:]))
"""


def run_report(source: Path, out: Path, model: str, src: str | None) -> dict[str, Any]:
    """Run the command in a child; its steps (wall and CPU durations), wall, CPU, peak RSS."""
    env = dict(os.environ)
    if src is not None:
        env["PYTHONPATH"] = src
    cmd = [sys.executable, "-c", _CHILD, "report", "--transactions", str(source)]
    cmd += ["--model", model, "--out", str(out), "-v"]
    with tempfile.TemporaryFile(mode="w+") as err:
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=err, env=env)
        _, status, usage = os.wait4(proc.pid, 0)  # this child's own usage, not all children's
        wall = time.perf_counter() - t0
        proc.returncode = os.waitstatus_to_exitcode(status)
        err.seek(0)
        log = err.read()
    if proc.returncode != 0:
        print(log)
        raise SystemExit(proc.returncode)
    starts = [(float(at), name) for at, name in re.findall(r"\[\s*([\d.]+)s\] (.*)\.\.\.", log)]
    ends = [at for at, _ in starts[1:]] + [wall]
    steps = {_step_name(name): end - at for (at, name), end in zip(starts, ends, strict=True)}
    marks = [(float(at), name) for at, name in re.findall(r"^cpu ([\d.]+) (.*)$", log, re.M)]
    cpu_total = usage.ru_utime + usage.ru_stime
    cpu_ends = [at for at, _ in marks[1:]] + [cpu_total]
    cpu_steps = {
        _step_name(name): end - at for (at, name), end in zip(marks, cpu_ends, strict=True)
    }
    return {
        "steps": steps,
        "cpu_steps": cpu_steps,
        "wall": wall,
        "cpu": usage.ru_utime + usage.ru_stime,
        "peak_gib": usage.ru_maxrss / 2**20,
    }


def _step_name(name: str) -> str:
    # "CLV with 90% intervals (50 bootstrap draws)": the same row for every draw count
    return re.sub(r" \(\d+ bootstrap draws\)", "", name)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--quick", action="store_true", help="20k customers")
    parser.add_argument("--format", choices=["parquet", "csv"], default="parquet")
    parser.add_argument("--model", default="bgnbd")
    parser.add_argument("--reference", help="src directory of the version to compare with")
    parser.add_argument("--rounds", type=int, default=1, help="alternating runs per tree")
    args = parser.parse_args()
    n = 20_000 if args.quick else args.customers
    trees: list[tuple[str, str | None]] = [("after", None)]
    if args.reference is not None:
        trees.insert(0, ("before", str(Path(args.reference).resolve())))
    with tempfile.TemporaryDirectory(prefix="crmcore-bench-") as tmp:
        source = Path(tmp) / f"transactions.{args.format}"
        t0 = time.perf_counter()
        n_tx = make_log(n, source, args.format)
        made = time.perf_counter() - t0
        best: dict[str, dict[str, Any]] = {}
        for _ in range(args.rounds):
            for label, src in trees:
                run = run_report(source, Path(tmp) / label, args.model, src)
                if label not in best or run["wall"] < best[label]["wall"]:
                    best[label] = run
        out = Path(tmp)
        same = {
            name: filecmp.cmp(out / "before" / name, out / "after" / name, shallow=False)
            for name in COMPARED
            if "before" in best
        }
        sizes = {p.name: p.stat().st_size for p in (Path(tmp) / "after").iterdir()}
    labels = [label for label, _ in trees]
    print(
        f"crmcore report: {n:,} customers, {n_tx:,} transactions ({args.format}, "
        f"model {args.model}); log generated in {made:.1f} s; best of {args.rounds}"
    )
    print()
    heads = [f"{label} {kind} s" for kind in ("wall", "CPU") for label in labels]
    print("| step | " + " | ".join(heads) + " |")
    print("|---|" + "---:|" * len(heads))
    steps = list(best[labels[-1]]["steps"])
    for label in labels[:-1]:  # a step only the other tree has (renamed or moved): shown too
        steps += [step for step in best[label]["steps"] if step not in steps]
    for step in steps:
        cells = [
            f"{best[label][key].get(step, float('nan')):.1f}"
            for key in ("steps", "cpu_steps")
            for label in labels
        ]
        print(f"| {step} | " + " | ".join(cells) + " |")
    for key, what, fmt in [
        ("wall", "wall time, whole command (s)", "{:.1f}"),
        ("cpu", "CPU time, whole command (s)", "{:.1f}"),
        ("peak_gib", "peak resident memory (GiB)", "{:.2f}"),
    ]:
        cells = [fmt.format(best[label][key]) for label in labels]
        print(f"| **{what}** | " + " | ".join(cells) + " |" + " |" * len(labels))
    print()
    for name, size in sorted(sizes.items()):
        print(f"{name}: {size / 2**20:.1f} MiB", end="")
        print(f"; identical before and after: {same[name]}" if name in same else "")


if __name__ == "__main__":
    main()
