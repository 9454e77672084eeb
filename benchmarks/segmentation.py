"""Benchmark crmcore.segmentation at the sizes of the issue.

Workloads (seeded):

1. ``customer_features`` + ``rfm_scores`` + ``rfm_segments`` for 1M customers /
   10M transactions (target: under 10 s), side by side with a plain pandas
   ``groupby().agg`` baseline computing the same core features;
2. the same ``customer_features`` on the same instants written in a time zone
   (``Europe/Paris``): timezone-aware dates must cost what naive ones cost
   (the ratio column);
3. monthly ``cohort_retention`` on the naive and the timezone-aware log;
4. a 5-clause ``Rule`` mask over 1M rows (target: under 0.2 s), side by side
   with ``DataFrame.query`` on the same (fixed, trusted) expression, and a
   date-literal rule on the naive and the timezone-aware ``last_purchase``;
5. ``Segmenter`` fit on 1M x 6 features with ``n_clusters="auto"`` (target:
   under 30 s).

Usage: ``python benchmarks/segmentation.py [--quick]`` (quick: 100k customers
/ 1M transactions). Run it under ``nice`` on a shared machine.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from crmcore.segmentation import (
    Rule,
    Segmenter,
    cohort_retention,
    customer_features,
    rfm_scores,
    rfm_segments,
)

RULE = (
    "age between 30 and 39 and purchases_180d >= 3 and region in ['north', 'east'] "
    "and days_since_last_purchase < 90 and total_spend > 100"
)
QUERY = (
    "age >= 30 and age <= 39 and purchases_180d >= 3 and region in ['north', 'east'] "
    "and days_since_last_purchase < 90 and total_spend > 100"
)
FEATURES = [
    "n_purchases",
    "total_spend",
    "avg_order_value",
    "days_since_last_purchase",
    "tenure_days",
    "purchases_365d",
]
AS_OF = pd.Timestamp("2024-12-31")
ZONE = "Europe/Paris"
DATE_RULE = "last_purchase >= date'2024-10-01' and n_purchases >= 2"


def timed(fn: Callable[[], Any], repeat: int = 1) -> tuple[float, Any]:
    best = float("inf")
    out = None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return best, out


def make_transactions(n_customers: int, n_tx: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    # heavy-tailed activity: a few customers buy a lot
    weights = rng.gamma(2.0, 1.0, n_customers)
    ids = rng.choice(n_customers, size=n_tx, p=weights / weights.sum())
    start = np.datetime64("2022-01-01", "s").astype(np.int64)
    span = 3 * 365 * 86_400
    secs = start + rng.integers(0, span, n_tx)
    return pd.DataFrame(
        {
            "customer_id": ids.astype(np.int64),
            "date": pd.to_datetime(secs, unit="s"),
            "amount": np.round(rng.gamma(2.0, 30.0, n_tx), 2),
        }
    )


def pandas_baseline(tx: pd.DataFrame) -> pd.DataFrame:
    seen = tx[tx["date"] <= AS_OF]
    g = seen.groupby("customer_id")
    out = g.agg(
        n_purchases=("amount", "size"),
        total_spend=("amount", "sum"),
        first=("date", "min"),
        last=("date", "max"),
    )
    for days in (30, 90, 180, 365):
        recent = seen[seen["date"] > AS_OF - pd.Timedelta(days=days)]
        out[f"purchases_{days}d"] = recent.groupby("customer_id").size()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="100k customers / 1M transactions")
    args = parser.parse_args()
    n_cust, n_tx = (100_000, 1_000_000) if args.quick else (1_000_000, 10_000_000)
    rows: list[tuple[str, str, float, str, str]] = []

    tx = make_transactions(n_cust, n_tx)
    t_feat, feats = timed(lambda: customer_features(tx, as_of=AS_OF))
    t_rfm, scores = timed(lambda: rfm_scores(feats))
    t_seg, _ = timed(lambda: rfm_segments(scores))
    t_base, _ = timed(lambda: pandas_baseline(tx))
    size = f"{len(feats):,} cust / {n_tx:,} tx"
    total = t_feat + t_rfm + t_seg
    rows.append(("customer_features", size, t_feat, "", ""))
    rows.append(("rfm_scores", size, t_rfm, "", ""))
    rows.append(("rfm_segments", size, t_seg, "", ""))
    rows.append(("features+RFM+segments", size, total, "< 10 s", ""))
    rows.append(
        ("pandas groupby baseline (subset)", size, t_base, "", f"{t_base / t_feat:.1f}x ours")
    )

    # the same instants, written in a zone: the cut-off is the same instant too
    tx_tz = tx.assign(date=tx["date"].dt.tz_localize("UTC").dt.tz_convert(ZONE))
    as_of_tz = AS_OF.tz_localize("UTC").tz_convert(ZONE)
    t_feat_tz, feats_tz = timed(lambda: customer_features(tx_tz, as_of=as_of_tz))
    assert np.array_equal(feats_tz["n_purchases"], feats["n_purchases"])
    rows.append(
        (
            f"customer_features, aware ({ZONE})",
            size,
            t_feat_tz,
            "",
            f"{t_feat_tz / t_feat:.2f}x naive",
        )
    )
    t_coh, _ = timed(lambda: cohort_retention(tx, freq="M", as_of=AS_OF))
    t_coh_tz, _ = timed(lambda: cohort_retention(tx_tz, freq="M", as_of=as_of_tz))
    rows.append(("cohort_retention M, naive", size, t_coh, "", ""))
    rows.append(
        (
            f"cohort_retention M, aware ({ZONE})",
            size,
            t_coh_tz,
            "",
            f"{t_coh_tz / t_coh:.2f}x naive",
        )
    )

    rng = np.random.default_rng(1)
    frame = feats.assign(
        age=rng.integers(18, 80, len(feats)).astype(float),
        region=pd.Categorical(rng.choice(["north", "south", "east", "west"], len(feats))),
    )
    rule = Rule.parse(RULE)
    t_mask, mask = timed(lambda: rule.mask(frame), repeat=3)
    t_query, q = timed(lambda: frame.query(QUERY), repeat=3)
    assert int(mask.sum()) == len(q)
    rows.append(("Rule.mask, 5 clauses", f"{len(frame):,} rows", t_mask, "< 0.2 s", ""))
    rows.append(
        (
            "DataFrame.query baseline",
            f"{len(frame):,} rows",
            t_query,
            "",
            f"{t_query / t_mask:.1f}x ours",
        )
    )

    date_rule = Rule.parse(DATE_RULE)
    t_date, m_naive = timed(lambda: date_rule.mask(feats), repeat=3)
    t_date_tz, m_aware = timed(lambda: date_rule.mask(feats_tz), repeat=3)
    rows.append(("Rule.mask, date literal, naive", f"{len(feats):,} rows", t_date, "", ""))
    rows.append(
        (
            f"Rule.mask, date literal, aware ({ZONE})",
            f"{len(feats):,} rows",
            t_date_tz,
            "",
            f"{t_date_tz / t_date:.2f}x naive",
        )
    )
    del m_naive, m_aware

    X = feats[FEATURES]
    seg = Segmenter(features=FEATURES, value_col="total_spend", random_state=0)
    t_fit, _ = timed(lambda: seg.fit(X))
    rows.append(
        (
            f"Segmenter.fit auto k={seg.n_clusters_} ({seg.algorithm_})",
            f"{len(X):,} x {len(FEATURES)}",
            t_fit,
            "< 30 s",
            "",
        )
    )

    print(f"{'step':46} {'size':30} {'seconds':>8}  {'target':8} note")
    for step, sz, sec, target, note in rows:
        print(f"{step:46} {sz:30} {sec:8.3f}  {target:8} {note}")


if __name__ == "__main__":
    main()
