"""Benchmark crmcore.churn at the sizes of the issue.

Workloads (seeded, simulated with ``simulate_churn_transactions``):

1. the churn pipeline for 1M customers / ~10M transactions (target: under
   60 s): slice the log at the cutoff, ``customer_features`` at
   ``cutoff - horizon`` and at the cutoff, ``churn_labels`` for training,
   ``ChurnClassifier.fit`` and scoring every active customer; side by side,
   the label-free ``PAliveBaseline`` (``rfm_summary`` + BG/NBD fit +
   scores) on the same log, and the out-of-time ROC AUC of both;
2. the fitted classifier written to JSON and read back (``to_dict`` /
   ``from_dict``), and the read-back model scoring the same customers from
   its arrays (NumPy only);
3. ``kaplan_meier`` on 1M censored durations (and with ``by=`` 10 groups);
4. ``gains_table`` and ``score_metrics`` on 1M scores.

Peak memory is the process's maximum resident set size (``ru_maxrss``),
reported after the setup (the simulated log) and after each workload.

Usage: ``python benchmarks/churn.py [--quick]`` (quick: 100k customers).
Run it under ``nice`` on a shared machine.
"""

from __future__ import annotations

import argparse
import json
import resource
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from crmcore.churn import (
    ChurnClassifier,
    PAliveBaseline,
    churn_labels,
    gains_table,
    kaplan_meier,
    score_metrics,
    simulate_churn_transactions,
)
from crmcore.segmentation import customer_features

CUTOFF = pd.Timestamp("2024-09-30")
HORIZON = pd.Timedelta("90D")
LOOKBACK = "365D"


def peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    t0 = time.perf_counter()
    out = fn()
    return time.perf_counter() - t0, out


def pipeline(
    tx: pd.DataFrame, clf: ChurnClassifier
) -> tuple[dict[str, float], pd.Series, pd.DataFrame]:
    steps: dict[str, float] = {}
    t_train = CUTOFF - HORIZON
    dt, past = timed(lambda: tx[tx["date"] <= CUTOFF])
    steps["slice the log at the cutoff"] = dt
    dt, past_train = timed(lambda: past[past["date"] <= t_train])
    steps["slice at cutoff - horizon"] = dt
    dt, X_train = timed(lambda: customer_features(past_train, as_of=t_train))
    steps["customer_features (train, 4 windows)"] = dt
    dt, y_train = timed(
        lambda: churn_labels(tx, as_of=t_train, horizon=HORIZON, lookback=LOOKBACK)
    )
    steps["churn_labels (train)"] = dt
    dt, _ = timed(lambda: clf.fit(X_train, y_train))
    steps["ChurnClassifier.fit (+ calibration, importance)"] = dt
    dt, X_now = timed(lambda: customer_features(past, as_of=CUTOFF))
    steps["customer_features (score)"] = dt
    active = churn_labels(tx, as_of=CUTOFF, horizon=HORIZON, lookback=LOOKBACK)  # evaluation only
    dt, p = timed(lambda: clf.churn_probability(X_now.loc[active.index]))
    steps["churn_probability (score active customers)"] = dt
    steps["n_train"] = len(y_train)
    steps["n_scored"] = len(active)
    return steps, p, X_now.loc[active.index]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="100k customers")
    args = parser.parse_args()
    n = 100_000 if args.quick else 1_000_000

    t0 = time.perf_counter()
    tx = simulate_churn_transactions(
        n, start="2023-01-01", periods=730, alpha=10.0, spend_signal=1.0, random_state=0
    )
    sim_s = time.perf_counter() - t0
    print(
        f"setup: {n:,} customers, {len(tx):,} transactions simulated in {sim_s:.1f} s; "
        f"log {tx.memory_usage(deep=True).sum() / 2**20:.0f} MiB; peak RSS {peak_mib():.0f} MiB"
    )

    rows: list[tuple[str, str, float]] = []
    clf = ChurnClassifier(random_state=0, n_threads=1)
    steps, p, X_scored = pipeline(tx, clf)
    n_train, n_scored = int(steps.pop("n_train")), int(steps.pop("n_scored"))
    for name, secs in steps.items():
        rows.append((name, "", secs))
    total = sum(steps.values())
    rows.append(
        (
            "**churn pipeline total**",
            f"train {n_train:,} / score {n_scored:,} cust",
            total,
        )
    )
    mem_pipeline = peak_mib()

    dt, text = timed(lambda: json.dumps(clf.to_dict(), allow_nan=False))
    rows.append(("ChurnClassifier.to_dict + json.dumps", f"{len(text) / 2**20:.1f} MiB", dt))
    dt, loaded = timed(lambda: ChurnClassifier.from_dict(json.loads(text)))
    rows.append(("json.loads + ChurnClassifier.from_dict", "", dt))
    dt, p_loaded = timed(lambda: loaded.churn_probability(X_scored))
    rows.append(("loaded model: churn_probability (NumPy trees)", f"{len(X_scored):,} cust", dt))
    max_diff = float(np.max(np.abs(p_loaded.to_numpy() - p.to_numpy())))

    past = tx[tx["date"] <= CUTOFF]
    base = PAliveBaseline(target="no_purchase", horizon=HORIZON)

    def baseline() -> pd.Series:
        X = base.summarize(past, as_of=CUTOFF)
        return base.fit(X).churn_probability(X)

    dt, s_base = timed(baseline)
    rows.append(("PAliveBaseline(no_purchase): summarize + BG/NBD fit + score", "", dt))
    y = churn_labels(tx, as_of=CUTOFF, horizon=HORIZON, lookback=LOOKBACK)
    auc_clf = score_metrics(y.to_numpy(), p.loc[y.index].to_numpy())
    auc_base = score_metrics(y.to_numpy(), s_base.loc[y.index].to_numpy())

    rng = np.random.default_rng(1)
    m = 1_000_000 if not args.quick else 100_000
    durations = rng.exponential(365, m).round()
    observed = rng.uniform(size=m) < 0.7
    groups = rng.integers(0, 10, m)
    dt, _ = timed(lambda: kaplan_meier(durations, observed))
    rows.append(("kaplan_meier", f"{m:,} durations", dt))
    dt, _ = timed(lambda: kaplan_meier(durations, observed, by=groups))
    rows.append(("kaplan_meier by=10 groups", f"{m:,} durations", dt))
    y_bin = (rng.uniform(size=m) < 0.2).astype(np.int64)
    score = rng.uniform(size=m) + 0.3 * y_bin
    dt, _ = timed(lambda: gains_table(y_bin, score))
    rows.append(("gains_table (deciles)", f"{m:,} scores", dt))
    dt, _ = timed(lambda: score_metrics(y_bin, score))
    rows.append(("score_metrics (ROC/PR AUC, Brier, top decile)", f"{m:,} scores", dt))

    print()
    print("| step | size | seconds |")
    print("|---|---|---:|")
    for name, size, secs in rows:
        print(f"| {name} | {size} | {secs:.2f} |")
    print()
    print(f"peak RSS after the pipeline: {mem_pipeline:.0f} MiB; at the end: {peak_mib():.0f} MiB")
    print(
        "out-of-time quality at the cutoff "
        f"(n={len(y):,}, churn rate {y.mean():.3f}): "
        f"classifier ROC AUC {auc_clf['roc_auc']:.3f} Brier {auc_clf['brier']:.3f}; "
        f"BG/NBD no-purchase ROC AUC {auc_base['roc_auc']:.3f} Brier {auc_base['brier']:.3f}"
    )
    print(
        "classifier held-out scores:", {k: round(v, 3) for k, v in clf.validation_scores_.items()}
    )
    print(f"loaded model against the fitted one: max |difference| of P(churn) {max_diff:.1e}")


if __name__ == "__main__":
    main()
