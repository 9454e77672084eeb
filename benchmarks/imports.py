"""Import times of crmcore's light modules and of ``crmcore --help`` / ``--version``.

Each figure is the median of several runs, each in a fresh interpreter (an
import is cached after the first time, so timing it twice in one process
measures nothing). For an import: the time of the ``import`` statement inside
the child, the modules it loaded and which heavy libraries among them; for a
command: the wall time of the whole process, interpreter start included.

    python benchmarks/imports.py                      # 5 runs each
    python benchmarks/imports.py --runs 9
    python benchmarks/imports.py --reference /work/main/src   # side by side with another tree

With ``--reference`` every row is also measured with that ``src`` directory
first on ``PYTHONPATH`` (for example the tree before a change), interleaved
run by run with this one, and the ratio is printed.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

HEAVY = ("sklearn", "scipy", "pandas", "numpy", "sqlalchemy")
SRC = Path(__file__).resolve().parents[1] / "src"

# (what, goal in seconds or None)
IMPORTS: list[tuple[str, float | None]] = [
    ("crmcore", 0.3),
    ("crmcore.errors", 0.3),
    ("crmcore.domain", 0.3),
    ("crmcore.storage", None),
    ("crmcore.cli", None),
]
COMMANDS: list[tuple[str, list[str], float | None]] = [
    ("python -c pass (interpreter only)", ["-c", "pass"], None),
    ("crmcore --help", ["-m", "crmcore", "--help"], 1.0),
    ("crmcore --version", ["-m", "crmcore", "--version"], 1.0),
]

_CHILD = """
import sys, time
t0 = time.perf_counter()
import {module}
t1 = time.perf_counter()
heavy = sorted(m for m in {heavy!r} if m in sys.modules)
print(t1 - t0, len(sys.modules), ",".join(heavy))
"""


def _env(src: Path) -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(src), "PYTHONDONTWRITEBYTECODE": "1"}


def _import_once(module: str, src: Path) -> tuple[float, int, str]:
    code = _CHILD.format(module=module, heavy=HEAVY)
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, env=_env(src)
    ).stdout.split()
    return float(out[0]), int(out[1]), out[2] if len(out) > 2 else ""


def _command_once(argv: list[str], src: Path) -> float:
    """Wall time of one run; NaN when the command fails (``--version`` before it existed)."""
    start = time.perf_counter()
    run = subprocess.run(
        [sys.executable, *argv], capture_output=True, check=False, env=_env(src), timeout=120
    )
    return time.perf_counter() - start if run.returncode == 0 else float("nan")


def _verdict(seconds: float, goal: float | None) -> str:
    if goal is None:
        return ""
    return f"< {goal:g} s: {'yes' if seconds < goal else 'NO'}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="fresh interpreters per row")
    parser.add_argument("--reference", type=Path, help="another src directory, side by side")
    args = parser.parse_args()
    trees = [SRC] if args.reference is None else [SRC, args.reference.resolve()]
    load = os.getloadavg()[0]
    print(f"python {sys.version.split()[0]}, {args.runs} runs each, load average {load:.1f}")
    head = "| what | median s | goal | modules | heavy libraries loaded |"
    rule = "|---|---:|---|---:|---|"
    if args.reference is not None:
        head += " reference s | reference heavy | ratio |"
        rule += "---:|---|---:|"
    print(head)
    print(rule)
    for module, goal in IMPORTS:
        runs: dict[Path, list[tuple[float, int, str]]] = {tree: [] for tree in trees}
        for _ in range(args.runs):
            for tree in trees:  # interleaved: both sides see the same load
                runs[tree].append(_import_once(module, tree))
        cells = []
        for tree in trees:
            seconds = statistics.median(r[0] for r in runs[tree])
            n_modules = int(statistics.median(r[1] for r in runs[tree]))
            heavy = runs[tree][-1][2] or "none"
            cells.append((seconds, n_modules, heavy))
        ours = cells[0]
        row = (
            f"| `import {module}` | {ours[0]:.3f} | {_verdict(ours[0], goal)} | "
            f"{ours[1]} | {ours[2]} |"
        )
        if len(cells) > 1:
            ref = cells[1]
            row += f" {ref[0]:.3f} | {ref[2]} | {ours[0] / ref[0]:.2f} |"
        print(row, flush=True)
    for name, argv, goal in COMMANDS:
        times: dict[Path, list[float]] = {tree: [] for tree in trees}
        for _ in range(args.runs):
            for tree in trees:
                times[tree].append(_command_once(argv, tree))
        ours_s = statistics.median(times[SRC])
        row = f"| `{name}` (process wall time) | {ours_s:.3f} | {_verdict(ours_s, goal)} | | |"
        if len(trees) > 1:
            ref_s = statistics.median(times[trees[1]])
            if ref_s == ref_s:  # not NaN
                row += f" {ref_s:.3f} | | {ours_s / ref_s:.2f} |"
            else:
                row += " fails | | |"
        print(row, flush=True)


if __name__ == "__main__":
    main()
