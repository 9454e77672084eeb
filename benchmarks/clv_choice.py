"""CLV model choice: compare_models timings at scale, and which criterion finds the truth.

Usage::

    python benchmarks/clv_choice.py            # timings at 100k and 1M, selection study
    python benchmarks/clv_choice.py --quick    # timings at 100k, 3 seeds per study cell
    python benchmarks/clv_choice.py --no-study # timings only

Timings. A seeded MBG/NBD transaction log (r=0.75, alpha=100 days, a=0.8,
b=2.5; first purchases over 2024, observed to 2025-06-30) is split at
2024-12-31 with ``freq="D"`` (181-day holdout). Rows: the split; each
model's fit alone; ``compare_models`` on the split (three fits, three
holdout evaluations, the by-frequency table); the same with the log (adds
the 181-point tracking curve and the log's check against the split). Single
runs (the fits dominate and are deterministic).

Selection study. Logs simulated from MBG/NBD and from BG/NBD (r=0.5,
alpha=20 days, a=0.8, b=2.5; first purchases over 2023, calibration to
2024-06-30, holdout to 2024-12-31) at several sizes, ten seeds each: how
often each criterion picks each model.
"""

from __future__ import annotations

import argparse
import time
import warnings
from collections import Counter

SEED = 20261203
CRITERIA = ("bic", "aic", "holdout_mae", "holdout_rmse", "tracking")


def timings(n: int) -> list[tuple[str, float]]:
    from crmcore.clv import (
        BetaGeoModel,
        ModifiedBetaGeoModel,
        ParetoNBDModel,
        calibration_holdout_split,
        compare_models,
        simulate_transactions,
    )

    log = simulate_transactions(
        n,
        r=0.75,
        alpha=100.0,
        a=0.8,
        b=2.5,
        start="2024-01-01",
        periods=547,
        acquisition_periods=366,
        modified=True,
        random_state=SEED + n,
    )
    rows: list[tuple[str, float]] = [("transactions in the log", float(len(log)))]
    t0 = time.perf_counter()
    split = calibration_holdout_split(log, as_of="2024-12-31", holdout_end="2025-06-30")
    rows.append(("calibration_holdout_split", time.perf_counter() - t0))
    for name, model in (
        ("BG/NBD fit", BetaGeoModel()),
        ("MBG/NBD fit", ModifiedBetaGeoModel()),
        ("Pareto/NBD fit", ParetoNBDModel()),
    ):
        t0 = time.perf_counter()
        model.fit(split)
        rows.append((name, time.perf_counter() - t0))
    t0 = time.perf_counter()
    compare_models(split)
    rows.append(("compare_models (3 models, no log)", time.perf_counter() - t0))
    t0 = time.perf_counter()
    cmp = compare_models(split, transactions=log, as_of="2024-12-31", holdout_end="2025-06-30")
    rows.append(("compare_models (3 models, with tracking)", time.perf_counter() - t0))
    rows.append(("BIC winner is MBG/NBD (1 = yes)", float(cmp.best("bic") == "MBG/NBD")))
    return rows


def study(n: int, seeds: int, modified: bool) -> Counter[tuple[str, str]]:
    from crmcore.clv import calibration_holdout_split, compare_models, simulate_transactions
    from crmcore.errors import ConvergenceWarning

    wins: Counter[tuple[str, str]] = Counter()
    for seed in range(seeds):
        log = simulate_transactions(
            n,
            r=0.5,
            alpha=20.0,
            a=0.8,
            b=2.5,
            start="2023-01-01",
            periods=730,
            acquisition_periods=365,
            modified=modified,
            random_state=seed,
        )
        split = calibration_holdout_split(log, as_of="2024-06-30", holdout_end="2024-12-31")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            cmp = compare_models(
                split, transactions=log, as_of="2024-06-30", holdout_end="2024-12-31"
            )
        for criterion in CRITERIA:
            wins[(criterion, cmp.best(criterion))] += 1  # type: ignore[arg-type]
    return wins


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="100k only, 3 seeds per cell")
    parser.add_argument("--no-study", action="store_true", help="timings only")
    args = parser.parse_args()
    sizes = [100_000] if args.quick else [100_000, 1_000_000]
    print("| customers | step | seconds |")
    print("|---:|---|---:|")
    for n in sizes:
        for step, value in timings(n):
            shown = f"{value:,.0f}" if step.startswith(("transactions", "BIC")) else f"{value:.2f}"
            print(f"| {n:,} | {step} | {shown} |", flush=True)
    if args.no_study:
        return
    seeds = 3 if args.quick else 10
    print()
    print("| truth | customers | criterion | BG/NBD | MBG/NBD | Pareto/NBD |")
    print("|---|---:|---|---:|---:|---:|")
    for modified in (True, False):
        truth = "MBG/NBD" if modified else "BG/NBD"
        for n in (1_000, 2_000, 5_000):
            wins = study(n, seeds, modified)
            for criterion in CRITERIA:
                counts = [wins[(criterion, m)] for m in ("BG/NBD", "MBG/NBD", "Pareto/NBD")]
                cells = " | ".join(f"{c}/{seeds}" for c in counts)
                print(f"| {truth} | {n:,} | {criterion} | {cells} |", flush=True)


if __name__ == "__main__":
    main()
