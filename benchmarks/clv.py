"""CLV benchmark: crmcore.clv next to lifetimes 0.11.3 on the same seeded data.

Usage::

    python benchmarks/clv.py            # 10k, 100k and 1M customers
    python benchmarks/clv.py --quick    # 10k only
    python benchmarks/clv.py --sizes 100000

For each size a transaction log (~2.4 transactions per customer, one year,
daily dates) is simulated from the BG/NBD + Gamma-Gamma model with a fixed
seed and written to a temporary parquet file. Two child processes then read
the same file and time the same steps: crmcore in this interpreter, and
lifetimes 0.11.3 in its own virtual environment, which this script creates on
first use (``~/.cache/crmcore-bench/lifetimes-0.11.3``; ``--lifetimes-python``
to use another interpreter). Cheap steps are timed as the best of three runs,
the fits and the CLV once, on both sides alike. Each child reports its step times and its peak
resident memory (``resource.getrusage``). The parent checks that both sides
computed the same thing (identical summaries, log-likelihoods of both optima,
CLV values) and prints the ratio table.

lifetimes is only ever imported inside its own child process; it is never a
dependency of crmcore.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SEED = 20261123
PARAMS = {"r": 0.75, "alpha": 100.0, "a": 0.8, "b": 2.5}
SPEND = {"p": 6.0, "q": 4.0, "gamma": 15.0}
START = "2024-01-01"
PERIODS = 365
END = "2024-12-31"
CAL_END = "2024-08-31"  # calibration/holdout split: calibration to the end of this day
HORIZON_T = 30.0  # expected purchases in the next 30 days
CLV_MONTHS = 12  # lifetimes: 12 "months" of 30 days; crmcore: time_unit=30.0 days, explicitly
DISCOUNT = 0.01
# Best of 3 for the cheap steps (both sides alike); the fits and the CLV run once.
REPEAT = {"rfm_summary": 3, "split": 3, "expected_purchases": 3, "probability_alive": 3}
VENV = Path.home() / ".cache" / "crmcore-bench" / "lifetimes-0.11.3"
STEPS = [
    ("rfm_summary", "rfm_summary (daily, with value)"),
    ("split", "calibration_holdout_split (daily, with value)"),
    ("fit_bgnbd", "BG/NBD fit"),
    ("fit_mbgnbd", "MBG/NBD fit"),
    ("fit_gamma_gamma", "Gamma-Gamma fit"),
    ("expected_purchases", "expected purchases (next 30 d)"),
    ("probability_alive", "P(alive)"),
    ("clv_12", "12-period CLV"),
]


# --------------------------------------------------------------------- children
def _peak_rss_mb() -> float:
    # VmHWM, not getrusage's ru_maxrss: the latter survives execve and would
    # report the parent's high-water mark.
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024.0
    raise RuntimeError("no VmHWM in /proc/self/status")


def _current_rss_mb() -> float:
    with open("/proc/self/statm") as fh:
        pages = int(fh.read().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


def child_crmcore(data: Path, out: Path) -> dict:
    import numpy as np
    import pandas as pd

    from crmcore.clv import (
        BetaGeoModel,
        GammaGammaModel,
        ModifiedBetaGeoModel,
        calibration_holdout_split,
        customer_lifetime_value,
        rfm_summary,
    )

    log = pd.read_parquet(data)
    base = _current_rss_mb()
    times: dict[str, float] = {}
    cpu: dict[str, float] = {}  # process CPU seconds: on a shared machine, less noisy than wall

    def timed(name, fn):
        best, best_cpu, result = float("inf"), float("inf"), None
        for _ in range(REPEAT.get(name, 1)):
            t0, c0 = time.perf_counter(), time.process_time()
            result = fn()
            best = min(best, time.perf_counter() - t0)
            best_cpu = min(best_cpu, time.process_time() - c0)
        times[name] = best
        cpu[name] = best_cpu
        return result

    s = timed(
        "rfm_summary",
        lambda: rfm_summary(log, value_col="amount", as_of=END, freq="D"),
    )
    split = timed(
        "split",
        lambda: calibration_holdout_split(
            log, as_of=CAL_END, holdout_end=END, value_col="amount", freq="D"
        ),
    )
    split.index = split.index.astype("int64")
    split.drop(columns=["monetary_value_holdout"]).to_parquet(out.with_suffix(".split.parquet"))
    bg = timed("fit_bgnbd", lambda: BetaGeoModel().fit(s))
    mbg = timed("fit_mbgnbd", lambda: ModifiedBetaGeoModel().fit(s))
    gg = timed("fit_gamma_gamma", lambda: GammaGammaModel().fit(s))
    e = timed("expected_purchases", lambda: bg.expected_purchases(HORIZON_T, s))
    p = timed("probability_alive", lambda: bg.probability_alive(s))
    clv = timed(
        "clv_12",
        lambda: customer_lifetime_value(
            bg, gg, s, horizon=CLV_MONTHS, time_unit=30.0, discount_rate=DISCOUNT
        ),
    )
    pd.DataFrame(
        {
            "frequency": s["frequency"].astype(float),
            "recency": s["recency"],
            "T": s["T"],
            "monetary_value": s["monetary_value"],
            "expected": np.asarray(e),
            "alive": np.asarray(p),
            "clv": np.asarray(clv),
        },
        index=s.index.astype("int64"),
    ).to_parquet(out)
    return {
        "times": times,
        "cpu": cpu,
        "params": {"bgnbd": bg.params_, "mbgnbd": mbg.params_, "gamma_gamma": gg.params_},
        "ll": {"bgnbd": bg.log_likelihood_, "mbgnbd": mbg.log_likelihood_},
        "n_iter": {"bgnbd": bg.n_iter_, "mbgnbd": mbg.n_iter_, "gamma_gamma": gg.n_iter_},
        "rss_base_mb": base,
        "rss_peak_mb": _peak_rss_mb(),
    }


def child_lifetimes(data: Path, out: Path) -> dict:
    import warnings

    import numpy as np
    import pandas as pd

    # lifetimes' fitters emit RuntimeWarnings from autograd; keep the child's output clean.
    warnings.simplefilter("ignore")
    from lifetimes import BetaGeoFitter, GammaGammaFitter, ModifiedBetaGeoFitter
    from lifetimes.utils import calibration_and_holdout_data, summary_data_from_transaction_data

    log = pd.read_parquet(data)
    base = _current_rss_mb()
    times: dict[str, float] = {}
    cpu: dict[str, float] = {}  # process CPU seconds: on a shared machine, less noisy than wall

    def timed(name, fn):
        best, best_cpu, result = float("inf"), float("inf"), None
        for _ in range(REPEAT.get(name, 1)):
            t0, c0 = time.perf_counter(), time.process_time()
            result = fn()
            best = min(best, time.perf_counter() - t0)
            best_cpu = min(best_cpu, time.process_time() - c0)
        times[name] = best
        cpu[name] = best_cpu
        return result

    s = timed(
        "rfm_summary",
        lambda: summary_data_from_transaction_data(
            log,
            "customer_id",
            "date",
            monetary_value_col="amount",
            observation_period_end=pd.Timestamp(END),
            freq="D",
        ),
    )
    # lifetimes cuts the calibration at an instant; the last nanosecond of CAL_END
    # is the end of that day, as crmcore reads a date-only cut-off.
    cal_end = pd.Timestamp(CAL_END) + pd.Timedelta(1, "D") - pd.Timedelta(1, "ns")
    split = timed(
        "split",
        lambda: calibration_and_holdout_data(
            log,
            "customer_id",
            "date",
            calibration_period_end=cal_end,
            observation_period_end=pd.Timestamp(END),
            freq="D",
            monetary_value_col="amount",
        ),
    )
    split.index = split.index.astype("int64")
    # monetary_value_holdout differs by definition (lifetimes averages transactions,
    # crmcore purchase periods); the other columns must agree.
    split.drop(columns=["monetary_value_holdout"]).astype(float).to_parquet(
        out.with_suffix(".split.parquet")
    )
    f, r, T, m = s["frequency"], s["recency"], s["T"], s["monetary_value"]
    bg = timed("fit_bgnbd", lambda: BetaGeoFitter().fit(f, r, T))
    mbg = timed("fit_mbgnbd", lambda: ModifiedBetaGeoFitter().fit(f, r, T))
    rep = f > 0
    gg = timed("fit_gamma_gamma", lambda: GammaGammaFitter().fit(f[rep], m[rep]))
    e = timed(
        "expected_purchases",
        lambda: bg.conditional_expected_number_of_purchases_up_to_time(HORIZON_T, f, r, T),
    )
    p = timed("probability_alive", lambda: bg.conditional_probability_alive(f, r, T))
    clv = timed(
        "clv_12",
        lambda: gg.customer_lifetime_value(
            bg, f, r, T, m, time=CLV_MONTHS, discount_rate=DISCOUNT, freq="D"
        ),
    )
    pd.DataFrame(
        {
            "frequency": f.to_numpy(dtype=float),
            "recency": r.to_numpy(dtype=float),
            "T": T.to_numpy(dtype=float),
            "monetary_value": m.to_numpy(dtype=float),
            "expected": np.asarray(e, dtype=float),
            "alive": np.asarray(p, dtype=float),
            "clv": np.asarray(clv, dtype=float),
        },
        index=s.index.astype("int64"),
    ).to_parquet(out)
    gg_params = {k: float(v) for k, v in gg.params_.items()}
    return {
        "times": times,
        "cpu": cpu,
        "params": {
            "bgnbd": {k: float(v) for k, v in bg.params_.items()},
            "mbgnbd": {k: float(v) for k, v in mbg.params_.items()},
            "gamma_gamma": {"p": gg_params["p"], "q": gg_params["q"], "gamma": gg_params["v"]},
        },
        "rss_base_mb": base,
        "rss_peak_mb": _peak_rss_mb(),
    }


# --------------------------------------------------------------------- parent
def ensure_lifetimes(python: str | None) -> str:
    if python:
        return python
    exe = VENV / "bin" / "python"
    if exe.exists():
        return str(exe)
    VENV.parent.mkdir(parents=True, exist_ok=True)
    print(f"creating {VENV} for lifetimes 0.11.3 (one-off) ...", flush=True)
    subprocess.run(["python3.11", "-m", "venv", str(VENV)], check=True)
    subprocess.run(
        [
            str(exe),
            "-m",
            "pip",
            "install",
            "-q",
            "lifetimes==0.11.3",
            "autograd",
            "dill",
            "numpy",
            "scipy",
            "pandas",
            "pyarrow",
        ],
        check=True,
    )
    return str(exe)


def run_child(python: str, side: str, data: Path, out: Path, src: Path | None = None) -> dict:
    cmd = [python, __file__, "--child", side, "--data", str(data), "--out", str(out)]
    env = dict(os.environ)
    if side == "lifetimes":
        env.pop("PYTHONPATH", None)
    elif src is not None:  # another crmcore source tree (the baseline of a before/after)
        env["PYTHONPATH"] = str(src)
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"{side} child failed:\n{proc.stderr[-4000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def make_log(n: int, path: Path) -> int:
    from crmcore.clv import simulate_transactions

    log = simulate_transactions(
        n,
        **PARAMS,
        **SPEND,
        start=START,
        periods=PERIODS,
        random_state=SEED + n,
    )
    log["customer_id"] = log["customer_id"].astype("int64")
    log.to_parquet(path)
    return len(log)


def compare(n: int, ours: dict, theirs: dict, ours_path: Path, theirs_path: Path) -> dict:
    import numpy as np
    import pandas as pd

    from crmcore.clv import BetaGeoModel, ModifiedBetaGeoModel

    a = pd.read_parquet(ours_path)
    b = pd.read_parquet(theirs_path).reindex(a.index)
    checks: dict[str, float] = {}
    cols = ["frequency", "recency", "T", "monetary_value"]
    checks["summary_max_abs_diff"] = float(
        np.nanmax(np.abs(a[cols].to_numpy() - b[cols].to_numpy()))
    )
    checks["summary_same_customers"] = float(len(a) == len(pd.read_parquet(theirs_path)))
    sa = pd.read_parquet(ours_path.with_suffix(".split.parquet"))
    sb = pd.read_parquet(theirs_path.with_suffix(".split.parquet")).reindex(sa.index)
    split_cols = [
        "frequency_cal",
        "recency_cal",
        "T_cal",
        "monetary_value_cal",
        "frequency_holdout",
        "duration_holdout",
    ]
    checks["split_max_abs_diff"] = float(
        np.nanmax(np.abs(sa[split_cols].to_numpy(float) - sb[split_cols].to_numpy(float)))
    )
    checks["split_same_customers"] = float(
        len(sa) == len(pd.read_parquet(theirs_path.with_suffix(".split.parquet")))
    )
    summary = a[["frequency", "recency", "T"]]
    for key, cls in (("bgnbd", BetaGeoModel), ("mbgnbd", ModifiedBetaGeoModel)):
        model = cls.from_dict(
            {
                "model": cls.__name__,
                "schema_version": 1,
                "hyper_parameters": {},
                "params": theirs["params"][key],
                "log_likelihood": 0.0,
                "converged": True,
                "n_iter": 0,
                "n_customers": float(len(a)),
                "covariance_log": [[None] * 4 for _ in range(4)],
            }
        )
        theta = np.array([theirs["params"][key][p] for p in ("r", "alpha", "a", "b")])
        cols_ = {c: summary[c].to_numpy(dtype=float) for c in summary.columns}
        ll_theirs, _ = model._loglik_grad(theta, model._prepare(cols_, np.ones(len(a))))
        ll_ours = ours["ll"][key]
        checks[f"{key}_ll_ours"] = ll_ours
        checks[f"{key}_ll_lifetimes"] = float(ll_theirs)
        checks[f"{key}_ll_rel_diff"] = abs(ll_ours - ll_theirs) / abs(ll_ours)
    for col in ("expected", "alive", "clv"):
        rel = np.abs(a[col] - b[col]) / np.maximum(np.abs(b[col]), 1e-12)
        checks[f"{col}_max_rel_diff"] = float(rel.max())
    return checks


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="10k customers only")
    ap.add_argument("--sizes", type=int, nargs="+", default=None)
    ap.add_argument("--lifetimes-python", default=None)
    ap.add_argument(
        "--baseline-src",
        type=Path,
        default=None,
        help="also time the crmcore in this src directory (before/after in the same run)",
    )
    ap.add_argument("--child", choices=["crmcore", "lifetimes"], help=argparse.SUPPRESS)
    ap.add_argument("--data", type=Path, help=argparse.SUPPRESS)
    ap.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        fn = child_crmcore if args.child == "crmcore" else child_lifetimes
        print(json.dumps(fn(args.data, args.out)))
        return
    sizes = args.sizes or ([10_000] if args.quick else [10_000, 100_000, 1_000_000])
    lt_python = ensure_lifetimes(args.lifetimes_python)
    rows = []
    baselines: list[tuple[int, dict, dict]] = []
    with tempfile.TemporaryDirectory(prefix="crmcore-clv-bench-") as tmp:
        for n in sizes:
            data = Path(tmp) / f"log_{n}.parquet"
            n_tx = make_log(n, data)
            ours_out, theirs_out = Path(tmp) / f"ours_{n}.parquet", Path(tmp) / f"lt_{n}.parquet"
            ours = run_child(sys.executable, "crmcore", data, ours_out)
            theirs = run_child(lt_python, "lifetimes", data, theirs_out)
            checks = compare(n, ours, theirs, ours_out, theirs_out)
            rows.append((n, n_tx, ours, theirs, checks))
            if args.baseline_src is not None:
                base_out = Path(tmp) / f"base_{n}.parquet"
                base = run_child(sys.executable, "crmcore", data, base_out, args.baseline_src)
                baselines.append((n, base, ours))
            print(f"done: {n:,} customers, {n_tx:,} transactions", flush=True)
    report(rows)
    if baselines:
        report_baseline(baselines)


def report(rows: list) -> None:
    print()
    print(
        "| customers | step | crmcore s | lifetimes s | speed-up "
        "| crmcore CPU s | lifetimes CPU s | CPU speed-up |"
    )
    print("|---:|---|---:|---:|---:|---:|---:|---:|")
    for n, _, ours, theirs, _ in rows:
        for key, label in STEPS:
            a, b = ours["times"][key], theirs["times"][key]
            ac, bc = ours["cpu"][key], theirs["cpu"][key]
            print(
                f"| {n:,} | {label} | {a:.3f} | {b:.3f} | {b / a:.1f}× "
                f"| {ac:.3f} | {bc:.3f} | {bc / max(ac, 1e-9):.1f}× |"
            )
        a, b = ours["rss_peak_mb"], theirs["rss_peak_mb"]
        print(f"| {n:,} | peak RSS, MB (process total) | {a:.0f} | {b:.0f} | {b / a:.2f}× | | | |")
        a -= ours["rss_base_mb"]
        b -= theirs["rss_base_mb"]
        print(
            f"| {n:,} | peak RSS above loaded data, MB | {a:.0f} | {b:.0f} | {b / a:.2f}× | | | |"
        )
    print()
    print("| customers | transactions | check | value |")
    print("|---:|---:|---|---:|")
    for n, n_tx, _, _, checks in rows:
        for key, value in checks.items():
            print(f"| {n:,} | {n_tx:,} | {key} | {value:.6g} |")


def report_baseline(rows: list) -> None:
    print()
    print(
        "| customers | step | before s | after s | before CPU s | after CPU s | CPU after/before |"
    )
    print("|---:|---|---:|---:|---:|---:|---:|")
    for n, base, ours in rows:
        for key, label in STEPS:
            a, b = base["times"][key], ours["times"][key]
            ac, bc = base["cpu"][key], ours["cpu"][key]
            print(
                f"| {n:,} | {label} | {a:.3f} | {b:.3f} | {ac:.3f} | {bc:.3f} "
                f"| {bc / max(ac, 1e-9):.2f} |"
            )


if __name__ == "__main__":
    main()
