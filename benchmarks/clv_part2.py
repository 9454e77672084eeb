"""CLV part two benchmark: Pareto/NBD fit next to lifetimes 0.11.3; bootstrap bands.

Usage::

    python benchmarks/clv_part2.py            # 100k (both) and 1M (crmcore only)
    python benchmarks/clv_part2.py --quick    # 10k, both

For each size a customer summary is simulated from the Pareto/NBD model with
a fixed seed (daily units: one year of staggered first purchases, recency and
T rounded up to whole days, as ``rfm_summary(freq="D")`` would give) and
written to a temporary parquet file. crmcore fits it in this process;
lifetimes 0.11.3 fits the same file in its own virtual environment (the one
``benchmarks/clv.py`` creates, reused through its ``ensure_lifetimes``), only
at sizes up to 100k (its gradient-free fit takes about five minutes at 1M).
Both optima are scored with the same exact log-likelihood (crmcore's, checked
against mpmath in the tests), so "same or better optimum" is a like-for-like
comparison. Finally ``predict_interval`` (500 parameter draws, expected
purchases in the next 30 days, 95% band) is timed on every customer, as a
parameter band and as a predictive interval (``kind="predictive"``, whole
numbers, issue 15).

``--coverage`` (also part of the full run) is the seeded coverage study of
the predictive intervals: BG/NBD transaction logs simulated with
``simulate_transactions`` (4,000 customers, first purchases over 12 weeks,
calibration to 2024-06-30, holdout of 26 weeks), summarised per hour in days,
fitted, and 90% predictive intervals of each customer's holdout purchases
(500 draws) and of the holdout spend (CLV without discounting, Gamma-Gamma
spend). Coverage of counts is measured by the fractional (randomised PIT)
rule, whose expectation is the nominal level; the share inside the interval
is compared with the intervals' own mean probability.

``--queries`` (also part of the full run) times the per-customer queries of
issue 15 (``log_likelihood``, ``conditional_probability_of_purchases``,
``probability_alive(t=)``) for Pareto/NBD and BG/NBD on the same summaries.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SEED = 20261123
PARAMS = {"r": 0.75, "alpha": 100.0, "s": 0.6, "beta": 200.0}


def _clv_bench() -> object:
    spec = importlib.util.spec_from_file_location("_clv_bench", Path(__file__).with_name("clv.py"))
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def make_summary(n: int, path: Path) -> None:
    import numpy as np

    from crmcore.clv import simulate_pareto_nbd

    rng = np.random.default_rng(SEED + n)
    T = rng.integers(1, 366, size=n).astype(float)
    df = simulate_pareto_nbd(n, **PARAMS, T=T, random_state=rng)
    df["recency"] = np.minimum(np.ceil(df["recency"]), df["T"])
    df[["frequency", "recency", "T"]].to_parquet(path)


def child_lifetimes(data: Path) -> dict:
    import warnings

    import pandas as pd
    from lifetimes import ParetoNBDFitter

    warnings.simplefilter("ignore")
    s = pd.read_parquet(data)
    t0 = time.perf_counter()
    m = ParetoNBDFitter().fit(s["frequency"], s["recency"], s["T"])
    elapsed = time.perf_counter() - t0
    p = m.params_
    return {"seconds": elapsed, "params": [float(p[k]) for k in ("r", "alpha", "s", "beta")]}


def score(data: Path, params: list[float]) -> float:
    import pandas as pd

    from crmcore.clv import ParetoNBDModel

    s = pd.read_parquet(data)
    model = ParetoNBDModel.from_params(
        **dict(zip(("r", "alpha", "s", "beta"), params, strict=True))
    )
    return float(model.log_likelihood(s))


def run(n: int, with_lifetimes: bool, lifetimes_python: str | None) -> dict:
    import pandas as pd

    from crmcore.clv import ParetoNBDModel, predict_interval

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"pnbd_{n}.parquet"
        make_summary(n, path)
        s = pd.read_parquet(path)
        t0 = time.perf_counter()
        model = ParetoNBDModel().fit(s)
        fit_s = time.perf_counter() - t0
        ours = [model.params_[k] for k in ("r", "alpha", "s", "beta")]
        row: dict = {
            "n": n,
            "crmcore_fit_s": fit_s,
            "crmcore_ll": score(path, ours),
            "crmcore_params": ours,
            "n_iter": model.n_iter_,
        }
        t0 = time.perf_counter()
        band = predict_interval(model, "expected_purchases", s, t=30.0, random_state=0)
        row["bootstrap_s"] = time.perf_counter() - t0
        row["band_rows"] = len(band)
        t0 = time.perf_counter()
        predict_interval(model, "expected_purchases", s, t=30.0, kind="predictive", random_state=0)
        row["predictive_s"] = time.perf_counter() - t0
        if with_lifetimes:
            python = _clv_bench().ensure_lifetimes(lifetimes_python)  # type: ignore[attr-defined]
            cmd = [python, __file__, "--child", "--data", str(path)]
            proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
            if proc.returncode != 0:
                raise RuntimeError(proc.stderr[-4000:])
            theirs = json.loads(proc.stdout.strip().splitlines()[-1])
            row["lifetimes_fit_s"] = theirs["seconds"]
            row["lifetimes_params"] = theirs["params"]
            row["lifetimes_ll"] = score(path, theirs["params"])
        return row


def report(rows: list[dict]) -> None:
    out = sys.stdout
    out.write(
        "| customers | crmcore fit | lifetimes fit | speed-up | LL crmcore "
        "| LL(crmcore) - LL(lifetimes) | bootstrap band (500 draws) "
        "| predictive interval (500 draws) |\n"
        "|---|---|---|---|---|---|---|---|\n"
    )
    for r in rows:
        lt = r.get("lifetimes_fit_s")
        out.write(
            f"| {r['n']:,} | {r['crmcore_fit_s']:.2f} s ({r['n_iter']} it) | "
            + (f"{lt:.1f} s | {lt / r['crmcore_fit_s']:.0f}x | " if lt else "— | — | ")
            + f"{r['crmcore_ll']:.3f} | "
            + (f"{r['crmcore_ll'] - r['lifetimes_ll']:+.2e} | " if lt else "— | ")
            + f"{r['bootstrap_s']:.1f} s | {r['predictive_s']:.1f} s |\n"
        )
    for r in rows:
        out.write(f"n={r['n']:,}: crmcore params {[f'{v:.4g}' for v in r['crmcore_params']]}")
        if "lifetimes_params" in r:
            out.write(f"; lifetimes {[f'{v:.4g}' for v in r['lifetimes_params']]}")
        out.write("\n")


def coverage(replications: int) -> None:
    """Coverage of 90 % predictive intervals on simulated BG/NBD data (see the module notes)."""
    import numpy as np

    from crmcore.clv import (
        BetaGeoModel,
        GammaGammaModel,
        calibration_holdout_split,
        draw_parameters,
        predict_interval,
        simulate_transactions,
    )
    from crmcore.clv._predictive import fractional_coverage, purchase_distribution

    rows = []
    for seed in range(replications):
        log = simulate_transactions(
            4000,
            r=0.5,
            alpha=10.0,
            a=0.8,
            b=2.5,
            p=6.0,
            q=4.0,
            gamma=15.0,
            start="2024-01-01",
            periods=364,
            acquisition_periods=84,
            random_state=100 + seed,
        )
        split = calibration_holdout_split(
            log,
            as_of="2024-06-30",
            holdout_end="2024-12-29",
            freq="h",
            unit="D",
            value_col="amount",
        )
        model = BetaGeoModel().fit(split)
        spend = GammaGammaModel().fit(split[split["frequency_cal"] > 0])
        t = float(split["duration_holdout"].iloc[0])
        t0 = time.perf_counter()
        band = predict_interval(
            model,
            "expected_purchases",
            split,
            t=t,
            kind="predictive",
            confidence=0.9,
            random_state=seed,
        )
        seconds = time.perf_counter() - t0
        y = split["frequency_holdout"].to_numpy()
        draws = draw_parameters(model, 500, random_state=np.random.default_rng(seed))
        cols = [split[c].to_numpy(float) for c in ("frequency_cal", "recency_cal", "T_cal")]
        dist = purchase_distribution(model.kernels, draws, cols, np.full(len(y), t), upper=0.9999)
        value = predict_interval(
            model,
            "clv",
            split,
            spend_model=spend,
            kind="predictive",
            horizon=26,
            time_unit=7.0,
            discount_rate=0.0,
            confidence=0.9,
            random_state=seed,
        )
        spent = (split["monetary_value_holdout"] * split["frequency_holdout"]).to_numpy()
        rows.append(
            (
                float(fractional_coverage(dist, y, 0.9).mean()),
                float(np.mean((band["ci_low"] <= y) & (y <= band["ci_high"]))),
                float(band["ci_probability"].mean()),
                float(np.mean(spent > value["ci_high"])),
                float(np.mean(spent < value["ci_low"])),
                seconds,
            )
        )
    out = sys.stdout
    out.write(
        "\n| replication | purchases: fractional coverage | inside | mean ci_probability "
        "| spend above CLV interval | below | predictive purchases (4,000 cust.) |\n"
        "|---|---|---|---|---|---|---|\n"
    )
    for i, r in enumerate(rows):
        out.write(
            f"| {i} | {r[0]:.4f} | {r[1]:.4f} | {r[2]:.4f} | {r[3]:.4f} | {r[4]:.4f} "
            f"| {r[5]:.2f} s |\n"
        )
    mean = np.mean(rows, axis=0)
    out.write(
        f"| mean | {mean[0]:.4f} | {mean[1]:.4f} | {mean[2]:.4f} | {mean[3]:.4f} "
        f"| {mean[4]:.4f} | {mean[5]:.2f} s |\n"
    )


def queries(sizes: list[int]) -> None:
    """Time the per-customer queries of issue 15 (items 1-2) on the Pareto/NBD summaries."""
    import pandas as pd

    from crmcore.clv import BetaGeoModel, ParetoNBDModel

    out = sys.stdout
    out.write("\n| customers | model | query | seconds |\n|---:|---|---|---:|\n")
    for n in sizes:
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / f"pnbd_{n}.parquet"
            make_summary(n, path)
            s = pd.read_parquet(path)
        for name, model in (
            ("Pareto/NBD", ParetoNBDModel().fit(s)),
            ("BG/NBD", BetaGeoModel().fit(s)),
        ):
            calls = [
                ("log_likelihood(data)", "log_likelihood", (s,), {}),
                (
                    "log_likelihood(data, per_customer=True)",
                    "log_likelihood",
                    (s,),
                    {"per_customer": True},
                ),
                (
                    "conditional_probability_of_purchases(2, 30, data)",
                    "conditional_probability_of_purchases",
                    (2, 30.0, s),
                    {},
                ),
                ("probability_alive(data, t=30)", "probability_alive", (s,), {"t": 30.0}),
            ]
            for label, method, args, kwargs in calls:
                t0 = time.perf_counter()
                getattr(model, method)(*args, **kwargs)
                out.write(f"| {n:,} | {name} | `{label}` | {time.perf_counter() - t0:.2f} |\n")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--child", action="store_true")
    ap.add_argument("--data")
    ap.add_argument("--lifetimes-python")
    ap.add_argument("--coverage", action="store_true", help="the coverage study only")
    ap.add_argument("--queries", action="store_true", help="the query timings only")
    args = ap.parse_args()
    if args.child:
        sys.stdout.write(json.dumps(child_lifetimes(Path(args.data))) + "\n")
        return
    if args.coverage:
        coverage(3)
        return
    if args.queries:
        queries([100_000, 1_000_000])
        return
    plan = [(10_000, True)] if args.quick else [(100_000, True), (1_000_000, False)]
    rows = [run(n, lt, args.lifetimes_python) for n, lt in plan]
    report(rows)
    queries([n for n, _ in plan])
    coverage(1 if args.quick else 3)


if __name__ == "__main__":
    main()
