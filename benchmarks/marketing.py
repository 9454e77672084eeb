"""Marketing benchmarks: campaign KPIs, attribution, send time, features, audiences.

Seeded; prints a table. Targets from issue 17 (peak memory under 4 GiB each):

- ``campaign_kpis`` on 10M events / 1M members: under 5 s;
- heuristic attribution of 1M conversions over 10M touches: under 10 s;
- Markov and Shapley attribution over 1M paths: under 30 s;
- send-time profiles from 10M events: under 10 s.

Each workload runs in a fresh child process (``--task NAME``), so its peak
resident memory is its own: the column "data" is the child's RSS after
building the inputs, "peak" its maximum RSS after the call. Inputs are built
vectorised (no simulator loop), integer customer ids, categorical ``type`` and
``channel`` columns, ``datetime64[ns, UTC]`` dates.

    python benchmarks/marketing.py            # full sizes
    python benchmarks/marketing.py --quick    # 1/20 of the sizes
    python benchmarks/marketing.py --task kpis --scale 1.0   # one workload
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time

import numpy as np
import pandas as pd

from crmcore.marketing import (
    attribute,
    campaign_kpis,
    engagement_features,
    select_audience,
    send_time_profile,
)
from crmcore.marketing._frame import CHANNELS, TYPES

SEED = 20261124
T0 = pd.Timestamp("2024-01-01", tz="UTC").value
DAY = 86_400 * 10**9
AS_OF = "2024-12-31"


def rss_mib():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def timed(fn, *args, **kwargs):
    t0 = time.perf_counter()
    out = fn(*args, **kwargs)
    return time.perf_counter() - t0, out


# ------------------------------------------------------------------ data


def campaign_data(n_members, n_events, n_campaigns=10, rng=None):
    """Members of ``n_campaigns`` campaigns, their message events, web visits, orders."""
    n_cust = n_members // 2  # each customer in about two campaigns
    camp = rng.integers(0, n_campaigns, int(n_members * 1.1))
    cust = rng.integers(0, n_cust, camp.size)
    key = np.unique(camp.astype(np.int64) * n_cust + cust, return_counts=True)[0][:n_members]
    camp, cust = key // n_cust, key % n_cust
    m = key.size
    control = rng.random(m) < 0.1
    start = T0 + np.arange(n_campaigns) * 30 * DAY
    treated = np.flatnonzero(~control)
    owners, kinds, times = [], [], []
    send = start[camp[treated]] + rng.integers(0, 3600, treated.size) * 10**9
    for k, (name, share) in enumerate(
        (("send", 1.0), ("deliver", 0.97), ("open", 0.55), ("click", 0.08))
    ):
        sel = rng.random(treated.size) < share
        owners.append(treated[sel])
        kinds.append(np.full(sel.sum(), TYPES.index(name), np.int8))
        delay = k * 30 * 10**9 + (k >= 2) * rng.integers(0, 3 * DAY, sel.sum())
        times.append(send[sel] + delay)
    message = np.concatenate(owners)
    rest = max(n_events - message.size, 0)
    member = np.concatenate([message, rng.integers(0, m, rest)])
    kind = np.concatenate([*kinds, np.full(rest, TYPES.index("web_visit"), np.int8)])
    when = np.concatenate([*times, T0 + rng.integers(0, 330 * DAY, rest)])
    is_msg = np.arange(member.size) < message.size
    channel = np.where(is_msg, CHANNELS.index("email"), CHANNELS.index("web")).astype(np.int8)
    campaign = pd.array(camp[member], dtype="Int64")
    campaign[~is_msg] = pd.NA
    events = pd.DataFrame(
        {
            "event_id": np.arange(member.size),
            "customer_id": cust[member],
            "campaign_id": campaign,
            "channel": pd.Categorical.from_codes(channel, categories=pd.Index(CHANNELS)),
            "type": pd.Categorical.from_codes(kind, categories=pd.Index(TYPES)),
            "date": pd.to_datetime(when, utc=True),
        }
    )
    n_orders = max(n_members * 2, 1)
    orders = pd.DataFrame(
        {
            "customer_id": rng.integers(0, n_cust, n_orders),
            "date": pd.to_datetime(np.sort(T0 + rng.integers(0, 330 * DAY, n_orders)), utc=True),
            "amount": rng.gamma(2.0, 30.0, n_orders),
        }
    )
    members = pd.DataFrame(
        {
            "campaign_id": camp,
            "customer_id": cust,
            "control": control,
            "variant": pd.Categorical(
                np.where(control, None, np.where(rng.random(m) < 0.5, "A", "B"))
            ),
        }
    )
    campaigns = pd.DataFrame({"campaign_id": np.arange(n_campaigns), "cost": 5_000.0})
    return events, orders, members, campaigns


def journey_data(n_conv, n_touch, n_cust, channels=8, rng=None):
    """Touches and conversions over a year, time-sorted as an export would be."""
    labels = pd.Index([f"ch{i}" for i in range(channels)])
    weights = np.linspace(2.0, 0.5, channels)
    touches = pd.DataFrame(
        {
            "customer_id": rng.integers(0, n_cust, n_touch),
            "date": pd.to_datetime(np.sort(T0 + rng.integers(0, 330 * DAY, n_touch)), utc=True),
            "channel": pd.Categorical.from_codes(
                rng.choice(channels, n_touch, p=weights / weights.sum()), categories=labels
            ),
        }
    )
    conversions = pd.DataFrame(
        {
            "customer_id": rng.integers(0, n_cust, n_conv),
            "date": pd.to_datetime(np.sort(T0 + rng.integers(0, 330 * DAY, n_conv)), utc=True),
            "amount": rng.gamma(2.0, 30.0, n_conv),
        }
    )
    return touches, conversions


def engagement_data(n_events, n_cust, rng):
    kinds = np.array([TYPES.index(t) for t in ("deliver", "open", "click", "app_usage")])
    kind = rng.choice(kinds, n_events, p=[0.4, 0.35, 0.05, 0.2]).astype(np.int8)
    channel = np.where(
        kind == TYPES.index("app_usage"), CHANNELS.index("app"), CHANNELS.index("email")
    ).astype(np.int8)
    return pd.DataFrame(
        {
            "customer_id": rng.integers(0, n_cust, n_events),
            "channel": pd.Categorical.from_codes(channel, categories=pd.Index(CHANNELS)),
            "type": pd.Categorical.from_codes(kind, categories=pd.Index(TYPES)),
            "date": pd.to_datetime(np.sort(T0 + rng.integers(0, 330 * DAY, n_events)), utc=True),
        }
    )


# ------------------------------------------------------------------ tasks


def task_kpis(scale):
    rng = np.random.default_rng(SEED)
    n_members, n_events = int(1_000_000 * scale), int(10_000_000 * scale)
    events, orders, members, campaigns = campaign_data(n_members, n_events, rng=rng)
    data = rss_mib()
    seconds, table = timed(
        campaign_kpis,
        events,
        orders,
        members,
        as_of=AS_OF,
        conversion_window="7D",
        campaigns=campaigns,
    )
    by_seconds, _ = timed(
        campaign_kpis,
        events,
        orders,
        members,
        as_of=AS_OF,
        conversion_window="7D",
        campaigns=campaigns,
        by="variant",
    )
    return [
        {
            "workload": "campaign_kpis",
            "size": f"{len(events):,} events / {len(members):,} members",
            "seconds": seconds,
            "target": 5.0,
            "data": data,
            "peak": rss_mib(),
            "note": f"{len(table)} campaigns",
        },
        {
            "workload": "campaign_kpis by='variant'",
            "size": "same",
            "seconds": by_seconds,
            "target": None,
            "data": data,
            "peak": rss_mib(),
            "note": "",
        },
    ]


def task_heuristic(scale):
    rng = np.random.default_rng(SEED + 1)
    touches, conversions = journey_data(
        int(1_000_000 * scale), int(10_000_000 * scale), int(1_000_000 * scale), rng=rng
    )
    data = rss_mib()
    rows = []
    for model in ("first_touch", "last_touch", "linear", "time_decay", "position"):
        seconds, result = timed(
            attribute, touches, conversions, model=model, as_of=AS_OF, lookback="30D"
        )
        rows.append(
            {
                "workload": f"attribute {model}",
                "size": f"{len(conversions):,} conversions / {len(touches):,} touches",
                "seconds": seconds,
                "target": 10.0,
                "data": data,
                "peak": rss_mib(),
                "note": f"{result.n_direct:,} direct",
            }
        )
    return rows


def task_datadriven(scale):
    rng = np.random.default_rng(SEED + 2)
    # about 1M paths: 600k conversions plus the non-converting paths of 400k more customers
    touches, conversions = journey_data(
        int(600_000 * scale), int(4_000_000 * scale), int(1_000_000 * scale), rng=rng
    )
    data = rss_mib()
    rows = []
    for model in ("markov", "shapley"):
        seconds, result = timed(
            attribute, touches, conversions, model=model, as_of=AS_OF, lookback="30D"
        )
        rows.append(
            {
                "workload": f"attribute {model}",
                "size": f"{result.n_paths:,} paths / {len(touches):,} touches",
                "seconds": seconds,
                "target": 30.0,
                "data": data,
                "peak": rss_mib(),
                "note": "8 channels",
            }
        )
    touches16, conversions16 = journey_data(
        int(600_000 * scale),
        int(4_000_000 * scale),
        int(1_000_000 * scale),
        channels=16,
        rng=rng,
    )
    seconds, result = timed(
        attribute, touches16, conversions16, model="shapley", as_of=AS_OF, lookback="30D"
    )
    rows.append(
        {
            "workload": "attribute shapley, 16 channels",
            "size": f"{result.n_paths:,} paths",
            "seconds": seconds,
            "target": 30.0,
            "data": data,
            "peak": rss_mib(),
            "note": "exact, 65,536 coalitions",
        }
    )
    return rows


def task_sendtime(scale):
    rng = np.random.default_rng(SEED + 3)
    events = engagement_data(int(10_000_000 * scale), int(1_000_000 * scale), rng)
    data = rss_mib()
    seconds, profile = timed(send_time_profile, events, as_of=AS_OF)
    best, _ = timed(profile.best_hour)
    features, _ = timed(engagement_features, events, as_of=AS_OF)
    return [
        {
            "workload": "send_time_profile (fit alpha)",
            "size": f"{len(events):,} events",
            "seconds": seconds,
            "target": 10.0,
            "data": data,
            "peak": rss_mib(),
            "note": f"alpha = {profile.prior_strength:.2f}, {len(profile.customers):,} customers",
        },
        {
            "workload": "best_hour (all customers)",
            "size": f"{len(profile.customers):,}",
            "seconds": best,
            "target": None,
            "data": data,
            "peak": rss_mib(),
            "note": "",
        },
        {
            "workload": "engagement_features (30D, 90D)",
            "size": f"{len(events):,} events",
            "seconds": features,
            "target": None,
            "data": data,
            "peak": rss_mib(),
            "note": "",
        },
    ]


def task_audience(scale):
    rng = np.random.default_rng(SEED + 4)
    n = int(1_000_000 * scale)
    customers = pd.DataFrame(
        {
            "customer_id": np.arange(n),
            "age": rng.integers(18, 90, n),
            "spend": rng.gamma(2.0, 100.0, n),
        }
    )
    asked = rng.random(n) < 0.8
    consents = pd.DataFrame(
        {
            "customer_id": np.arange(n)[asked],
            "channel": "email",
            "granted": rng.random(asked.sum()) < 0.85,
            "date": pd.to_datetime(T0 + rng.integers(0, 300 * DAY, asked.sum()), utc=True),
        }
    )
    data = rss_mib()
    seconds, audience = timed(
        select_audience,
        customers,
        "age >= 30 and spend > 50",
        channel="email",
        as_of=AS_OF,
        control_fraction=0.1,
        random_state="bench",
        variants=["A", "B"],
        consents=consents,
    )
    return [
        {
            "workload": "select_audience",
            "size": f"{n:,} customers",
            "seconds": seconds,
            "target": None,
            "data": data,
            "peak": rss_mib(),
            "note": f"{len(audience.members):,} members",
        }
    ]


def task_churn(scale):
    from crmcore.churn import ChurnClassifier, churn_labels, score_metrics
    from crmcore.marketing import simulate_engagement
    from crmcore.segmentation import customer_features

    sim = simulate_engagement(max(int(20_000 * scale), 2_000), random_state=3)

    def data(as_of):
        cut = pd.Timestamp(as_of, tz="UTC")
        base = customer_features(sim.orders, as_of=cut)
        eng = engagement_features(sim.events, as_of=cut, customers=base.index)
        return base, base.join(eng), churn_labels(sim.orders, as_of=cut, horizon="90D")

    b_tr, be_tr, y_tr = data("2024-06-30 23:59:59")
    b_te, be_te, y_te = data("2024-09-30 23:59:59")
    rows = []
    for name, (train, test) in {
        "purchases": (b_tr, b_te),
        "purchases + engagement": (be_tr, be_te),
    }.items():
        model = ChurnClassifier(n_threads=1, random_state=0)
        seconds, _ = timed(model.fit, train, y_tr)
        p = model.churn_probability(test)
        m = score_metrics(y_te.reindex(p.index), p)
        rows.append(
            {
                "workload": f"churn backtest: {name}",
                "size": f"{len(train):,} train / {len(test):,} test customers",
                "seconds": seconds,
                "target": None,
                "data": 0,
                "peak": rss_mib(),
                "note": f"ROC AUC {m['roc_auc']:.3f}, Brier {m['brier']:.3f}, "
                f"PR AUC {m['pr_auc']:.3f}",
            }
        )
    return rows


TASKS = {
    "kpis": task_kpis,
    "heuristic": task_heuristic,
    "datadriven": task_datadriven,
    "sendtime": task_sendtime,
    "audience": task_audience,
    "churn": task_churn,
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="1/20 of the full sizes")
    parser.add_argument("--scale", type=float, default=None)
    parser.add_argument("--task", choices=sorted(TASKS), default=None)
    args = parser.parse_args()
    scale = args.scale if args.scale is not None else (0.05 if args.quick else 1.0)
    if args.task:
        print(json.dumps(TASKS[args.task](scale)))
        return
    rows = []
    for name in TASKS:
        t0 = time.perf_counter()
        run = subprocess.run(
            [sys.executable, __file__, "--task", name, "--scale", str(scale)],
            capture_output=True,
            text=True,
            check=False,
        )
        if run.returncode:
            print(run.stderr, file=sys.stderr)
            raise SystemExit(f"task {name} failed")
        rows += json.loads(run.stdout.strip().splitlines()[-1])
        print(
            f"# {name}: {time.perf_counter() - t0:.0f} s including data generation",
            file=sys.stderr,
        )
    print(f"\n## crmcore.marketing (scale {scale:g})\n")
    print("| workload | size | seconds | target | data MiB | peak MiB | note |")
    print("|---|---|---:|---|---:|---:|---|")
    for r in rows:
        target = f"< {r['target']:g} s" if r["target"] else ""
        print(
            f"| {r['workload']} | {r['size']} | {r['seconds']:.2f} | {target} | "
            f"{r['data']:.0f} | {r['peak']:.0f} | {r['note']} |"
        )


if __name__ == "__main__":
    main()
