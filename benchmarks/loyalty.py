"""Loyalty benchmarks: NPS by group, NPS interval coverage, batch ledger balances.

Seeded; prints tables. Sizes from issue 8: NPS by 1,000 groups over 10M
responses (target < 2 s) and ledger balances for 10M entries (target < 10 s).

    python benchmarks/loyalty.py           # full sizes
    python benchmarks/loyalty.py --quick   # small smoke run
"""

from __future__ import annotations

import argparse
import datetime as dt
import time

import numpy as np
import pandas as pd

from crmcore._time import Freq, period_codes, period_starts
from crmcore.domain import Money
from crmcore.loyalty import (
    EarnRule,
    LedgerEntry,
    PointsLedger,
    Program,
    Tier,
    ledger_balances,
    nps_by,
)

SEED = 20261123


def timed(fn, *args, repeat=1, **kwargs):
    best = float("inf")
    out = None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn(*args, **kwargs)
        best = min(best, time.perf_counter() - t0)
    return best, out


# ------------------------------------------------------------------ NPS by group


def pandas_nps_by(frame):
    """Reference: the usual pandas idiom (counts per group, then the score)."""
    cat = pd.cut(frame["score"], [-1, 6, 8, 10], labels=["d", "p", "P"])
    counts = frame.groupby(["g", cat], observed=False).size().unstack(fill_value=0)  # noqa: PD010
    n = counts.sum(axis=1)
    return 100 * (counts["P"] - counts["d"]) / n


def bench_nps(n, groups):
    rng = np.random.default_rng(SEED)
    frame = pd.DataFrame(
        {
            "g": rng.integers(0, groups, size=n),
            "score": rng.integers(0, 11, size=n),
        }
    )
    t_ours, table = timed(nps_by, frame, "g", "score", min_n=30, repeat=3)
    frame_cat = frame.assign(g=pd.Categorical(frame["g"]))
    t_cat, _ = timed(nps_by, frame_cat, "g", "score", min_n=30, repeat=3)
    codes = np.char.add("store-", np.arange(groups).astype(str)).astype(object)
    frame_str = frame.assign(g=codes[frame["g"].to_numpy()])
    t_str, _ = timed(nps_by, frame_str, "g", "score", min_n=30, repeat=3)
    t_pd, ref = timed(pandas_nps_by, frame, repeat=3)
    assert np.allclose(table["nps"].to_numpy(), ref.to_numpy(), rtol=1e-12, atol=1e-9)
    print(f"\n## NPS by {groups:,} groups over {n:,} responses (best of 3)\n")
    print("| implementation | seconds | vs pandas |")
    print("|---|---:|---:|")
    print(
        f"| crmcore nps_by (int64 groups; + SE, CI, flags) | {t_ours:.3f} | {t_ours / t_pd:.2f} |"
    )
    print(f"| crmcore nps_by (categorical groups) | {t_cat:.3f} | {t_cat / t_pd:.2f} |")
    print(f"| crmcore nps_by (string groups) | {t_str:.3f} | {t_str / t_pd:.2f} |")
    print(f"| pandas groupby + unstack (score only) | {t_pd:.3f} | 1.00 |")


# ------------------------------------------------------------------ coverage


def bench_coverage(reps):
    rng = np.random.default_rng(SEED)
    dists = {
        "P.5/Pa.3/D.2": (0.5, 0.3, 0.2),
        "P.2/Pa.3/D.5": (0.2, 0.3, 0.5),
        "P.8/Pa.15/D.05": (0.8, 0.15, 0.05),
        "P.33/Pa.34/D.33": (0.33, 0.34, 0.33),
    }
    print(f"\n## NPS 95 % interval coverage ({reps:,} simulated samples per cell)\n")
    print(
        "| n | true distribution | true NPS | adjusted Wald (reported CI) "
        "| Wald (score ± margin) |"
    )
    print("|---:|---|---:|---:|---:|")
    for n in (30, 100, 1000):
        for label, probs in dists.items():
            cat = rng.choice(3, size=(reps, n), p=probs)
            answers = np.array([10, 8, 3])[cat].ravel()
            frame = pd.DataFrame({"rep": np.repeat(np.arange(reps), n), "score": answers})
            table = nps_by(frame, "rep", "score", min_n=1)
            truth = 100 * (probs[0] - probs[2])
            adj = ((table["ci_low"] <= truth) & (truth <= table["ci_high"])).mean()
            lo = table["nps"] - table["margin_of_error"]
            hi = table["nps"] + table["margin_of_error"]
            wald = ((lo <= truth) & (truth <= hi)).mean()
            print(f"| {n} | {label} | {truth:.0f} | {adj:.3f} | {wald:.3f} |")


# ------------------------------------------------------------------ ledger balances


PROGRAM = Program(
    earn_rules=[EarnRule(name="base", per_unit=1)],
    tiers=[
        Tier(name="member", points=0),
        Tier(name="silver", points=1_000, window=6),
        Tier(name="gold", spend=Money(amount="2500", currency="EUR"), window=6),
    ],
    expiry=6,
    review_every=3,
)


def _grouped_cumsum(values, acct):
    cs = np.cumsum(values)
    start = np.concatenate([[True], acct[1:] != acct[:-1]])
    first = np.maximum.accumulate(np.where(start, np.arange(len(acct)), 0))
    base = np.where(first > 0, cs[first - 1], 0)
    return cs - base


def make_entries(n, seed=SEED, *, mean_gap_days=45.0, first_day="2023-06-01"):
    """A valid multi-account ledger table, generated vectorised.

    Every redemption follows a purchase at the same instant and takes at most
    what it earned (so it never exceeds the balance); 10 % of accounts end with
    a refund of their first purchase.
    """
    rng = np.random.default_rng(seed)
    n_acct = max(n // 10, 1)
    acct = np.sort(rng.integers(0, n_acct, size=n))
    start = np.concatenate([[True], acct[1:] != acct[:-1]])
    first = np.maximum.accumulate(np.where(start, np.arange(n), 0))
    seq = np.arange(n) - first
    gaps = (rng.exponential(mean_gap_days * 86_400, size=n)).astype(np.int64) * 10**9
    t0 = pd.Timestamp(first_day, tz="UTC").value
    at = t0 + _grouped_cumsum(gaps, acct)
    cand = (seq > 0) & (rng.random(n) < 0.35)
    redeem = cand & ~np.concatenate([[False], cand[:-1]])
    last = np.concatenate([acct[1:] != acct[:-1], [True]])
    claw = last & (seq > 0) & (rng.random(n) < 0.1)
    redeem &= ~claw
    earn = ~(redeem | claw)
    spend = rng.integers(100, 40_000, size=n)
    points = np.where(earn, spend // 100, 0)
    prev = np.maximum(np.arange(n) - 1, 0)
    frac = rng.uniform(0.1, 1.0, size=n)
    points = np.where(redeem, -np.maximum((points[prev] * frac).astype(np.int64), 1), points)
    at = np.where(redeem, at[prev], at)
    redeem &= points[prev] > 0
    points = np.where(claw, -points[first], points)
    kind = np.where(earn, 0, np.where(redeem, 1, 2))
    # rows that were redeem candidates with a zero-point purchase before: earn 0
    kind = np.where((kind == 1) & ~redeem, 0, kind)
    points = np.where(kind == 0, np.maximum(points, 0), points)
    exp_ns = period_starts(period_codes(at, Freq("M")) + 7, Freq("M"), "UTC")
    expires = np.where(kind == 0, exp_ns, np.iinfo(np.int64).min)
    return pd.DataFrame(
        {
            "account_id": acct,
            "sequence": seq,
            "event_id": np.arange(n),
            "kind": pd.Categorical.from_codes(kind, categories=["earn", "redeem", "clawback"]),
            "at": pd.DatetimeIndex(at.view("datetime64[ns]")).tz_localize("UTC"),
            "points": points,
            "order_id": np.where(kind == 2, first, -1),
            "spend_minor": np.where(kind == 0, spend, 0),
            "expires_at": pd.DatetimeIndex(expires.view("datetime64[ns]")).tz_localize("UTC"),
        }
    )


def replay_sample(frame, accounts, as_of):
    """Per-account PointsLedger replay of the same entries (reference)."""
    out = {}
    sub = frame[frame["account_id"].isin(accounts)]
    for acct, rows in sub.groupby("account_id", sort=False):
        entries = [
            LedgerEntry(
                sequence=int(r.sequence),
                event_id=str(r.event_id),
                kind=str(r.kind),
                at=r.at.to_pydatetime(),
                points=int(r.points),
                order_id=None if r.order_id < 0 else str(r.order_id),
                spend_minor=int(r.spend_minor),
                expires_at=None if pd.isna(r.expires_at) else r.expires_at.to_pydatetime(),
            )
            for r in rows.itertuples()
        ]
        out[acct] = PointsLedger(PROGRAM, account_id=acct, entries=entries).summary(as_of)
    return out


def bench_ledger(n):
    t_gen, frame = timed(make_entries, n)
    as_of = dt.datetime(2024, 8, 15, tzinfo=dt.UTC)
    t_sorted, out = timed(ledger_balances, frame, as_of=as_of, program=PROGRAM, repeat=2)
    t_plain, _ = timed(ledger_balances, frame, as_of=as_of, repeat=2)
    shuffled = frame.sample(frac=1.0, random_state=1)
    t_shuf, out2 = timed(ledger_balances, shuffled, as_of=as_of, program=PROGRAM)
    assert out.equals(out2.loc[out.index])
    del shuffled
    accounts = out.index[:2000]
    n_sample = int(frame["account_id"].isin(accounts).sum())
    t_rep, ref = timed(replay_sample, frame, accounts, as_of)
    for acct, s in ref.items():
        row = out.loc[acct]
        nxt = None if pd.isna(row["next_expiry"]) else row["next_expiry"].to_pydatetime()
        got = (int(row["balance"]), int(row["debt"]), int(row["expired"]))
        assert got == (s.balance, s.debt, s.expired), acct
        assert (nxt, int(row["expiring_points"])) == (s.next_expiry, s.expiring_points), acct
        assert row["tier"] == s.tier, acct
    tiers = out["tier"].value_counts().to_dict()
    expired = int((out["expired"] > 0).sum())
    del frame
    # worst case for tiers: every row is recent enough to count after the review
    _, recent = timed(make_entries, n, mean_gap_days=20.0, first_day="2024-01-01")
    t_worst, _ = timed(ledger_balances, recent, as_of=as_of, program=PROGRAM, repeat=2)
    del recent
    per_entry_batch = t_sorted / n
    per_entry_replay = t_rep / n_sample
    print(
        f"\n## ledger_balances over {n:,} entries, {out.shape[0]:,} accounts "
        f"(about 10 entries per account, 45 days apart on average, from 2023-06-01; "
        f"as_of 2024-08-15; generated in {t_gen:.1f} s)\n"
    )
    print("| implementation | seconds | per entry (µs) |")
    print("|---|---:|---:|")
    print(
        f"| ledger_balances, sorted input, with tiers (best of 2) | {t_sorted:.2f} "
        f"| {1e6 * per_entry_batch:.3f} |"
    )
    print(
        f"| ledger_balances, sorted input, no programme (no tiers; best of 2) | {t_plain:.2f} "
        f"| {1e6 * t_plain / n:.3f} |"
    )
    print(
        f"| ledger_balances, shuffled input, with tiers | {t_shuf:.2f} | {1e6 * t_shuf / n:.3f} |"
    )
    print(
        f"| ledger_balances, with tiers, worst case: all history inside the tier window "
        f"(20 days apart from 2024-01-01; best of 2) | {t_worst:.2f} | {1e6 * t_worst / n:.3f} |"
    )
    print(
        f"| PointsLedger replay, {len(ref):,} accounts / {n_sample:,} entries "
        f"(agree: yes) | {t_rep:.2f} | {1e6 * per_entry_replay:.1f} |"
    )
    print(f"\nbatch is {per_entry_replay / per_entry_batch:.0f}x faster per entry than the replay")
    print(f"tiers at as_of: {tiers}; accounts with expired points: {expired:,}")


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="small sizes (smoke run)")
    args = parser.parse_args()
    if args.quick:
        bench_nps(200_000, 1_000)
        bench_coverage(500)
        bench_ledger(200_000)
    else:
        bench_nps(10_000_000, 1_000)
        bench_coverage(10_000)
        bench_ledger(10_000_000)


if __name__ == "__main__":
    main()
