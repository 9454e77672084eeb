"""Recommendations benchmark: quality on a time split, and speed and memory at scale.

python benchmarks/recommend.py [--quick] [--customers N] [--products P] [--nba-customers M]
    [--skip-quality] [--skip-scale] [--skip-nba] [--scale-models NAME ...]

1. Quality: ``evaluate_recommenders`` on a seeded simulated shop (20,000
   customers, 500 products), every recommender against the popularity
   baseline at k = 10 on a 90-day window.
2. Scale: on ``--customers`` × ``--products`` (simulated, about ten order
   lines per customer: the ratio of the issue's 1M customers and 10M
   lines), the time to build each model and to compute the top-10 for
   every customer (``recommend`` on all of them at once), and the
   process's peak memory (VmHWM) after each step.
3. Next-best-action: ``--nba-customers`` customers × 50 offers on two
   channels, with eligibility rules, consent, ``max_actions=2``, a budget and
   capacities that bind; the ``auto`` method (Lagrangian with its certified
   gap) and the greedy allocation.

Everything is seeded; the tables are printed as Markdown.
"""

from __future__ import annotations

import argparse
import resource
import time

import numpy as np
import pandas as pd

from crmcore.recommend import (
    BoughtTogetherRecommender,
    Constraints,
    ImplicitALSRecommender,
    ItemSimilarityRecommender,
    Offer,
    PopularityRecommender,
    evaluate_recommenders,
    interactions,
    next_best_action,
    simulate_baskets,
)

AS_OF = "2024-06-30"


def peak_gib() -> float:
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 2**20
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20


def models() -> dict[str, object]:
    return {
        "popularity by segment": PopularityRecommender(),
        "item cosine (d=0.5)": ItemSimilarityRecommender(),
        "item jaccard": ItemSimilarityRecommender(similarity="jaccard"),
        "bought together (history)": BoughtTogetherRecommender(basis="history"),
        "implicit ALS (32 factors)": ImplicitALSRecommender(random_state=0),
    }


def quality(customers: int, products: int) -> None:
    shop = simulate_baskets(customers, products, random_state=1)
    segments = shop.customers.set_index("customer_id")["segment"]
    print(
        f"\n## Quality ({customers:,} customers, {products} products, {len(shop.lines):,} lines, "
        f"seed 1; as_of {AS_OF}, 90-day window, k = 10)\n"
    )
    t = time.perf_counter()
    table = evaluate_recommenders(
        shop.lines,
        models(),
        as_of=AS_OF,
        horizon="90D",
        k=10,
        order_col="order_id",
        segments=segments,
    )
    secs = time.perf_counter() - t
    cols = ["hit_rate", "precision", "recall", "ndcg", "map", "coverage", "vs_baseline_ndcg"]
    print("| model | " + " | ".join(cols) + " |")
    print("|---|" + "---:|" * len(cols))
    for name, row in table.iterrows():
        print(f"| {name} | " + " | ".join(f"{row[c]:.4f}" for c in cols) + " |")
    print(f"\n{int(table['customers'].iloc[0]):,} customers evaluated; {secs:.1f} s in all")


def scale(customers: int, products: int, only: list[str] | None = None) -> None:
    t = time.perf_counter()
    # about ten lines per customer, the ratio (10M lines for 1M customers)
    shop = simulate_baskets(
        customers,
        products,
        orders_per_customer=1.5,
        basket_size=1.5,
        consumables_per_customer=0.3,
        random_state=2,
    )
    gen = time.perf_counter() - t
    lines = shop.lines
    segments = shop.customers.set_index("customer_id")["segment"]
    t = time.perf_counter()
    data = interactions(lines, as_of=AS_OF, order_col="order_id")
    t_inter = time.perf_counter() - t
    who = data.customers
    print(
        f"\n## Scale ({customers:,} customers × {products:,} products, {len(lines):,} lines; "
        f"{len(who):,} customers with history at {AS_OF})\n"
    )
    print(f"simulated in {gen:.1f} s; interactions built in {t_inter:.1f} s\n")
    print("| model | fit s (CPU s) | top-10 for every customer s (CPU s) | peak GiB so far |")
    print("|---|---:|---:|---:|")
    for name, model in models().items():
        if name == "item jaccard" or (only and not any(o in name for o in only)):
            continue
        t, c = time.perf_counter(), time.process_time()
        model.fit(data, segments=segments)  # type: ignore[attr-defined]
        t_fit, c_fit = time.perf_counter() - t, time.process_time() - c
        t, c = time.perf_counter(), time.process_time()
        recs = model.recommend(who, k=10)  # type: ignore[attr-defined]
        t_rec, c_rec = time.perf_counter() - t, time.process_time() - c
        assert len(recs) == 10 * len(who)
        print(
            f"| {name} | {t_fit:.1f} ({c_fit:.1f}) | {t_rec:.1f} ({c_rec:.1f}) | "
            f"{peak_gib():.2f} |"
        )
        del recs


def nba(customers: int, n_offers: int = 50) -> None:
    rng = np.random.default_rng(3)
    ids = pd.Index(np.arange(customers), name="customer_id")
    frame = pd.DataFrame(
        {
            "customer_id": ids,
            "clv": rng.gamma(2.0, 60.0, customers),
            "churn_risk": rng.uniform(0, 1, customers),
            "recency": rng.integers(0, 400, customers),
        }
    )
    offers = []
    for j in range(n_offers):
        rule = None if j % 3 == 0 else ("recency > 90" if j % 3 == 1 else "clv > 100")
        offers.append(
            Offer(
                f"o{j:02d}",
                channel="email" if j % 2 else "sms",
                rule=rule,
                cost=float(rng.uniform(0.1, 5.0)),
                value="clv" if j % 5 == 0 else float(rng.uniform(5, 60)),
            )
        )
    base = rng.uniform(0.005, 0.08, n_offers)
    response = pd.DataFrame(
        np.clip(
            base[None, :] * (0.5 + frame["churn_risk"].to_numpy()[:, None])
            + rng.normal(0, 0.005, (customers, n_offers)),
            0,
            1,
        ),
        index=ids,
        columns=[o.id for o in offers],
    )
    consent = pd.DataFrame(
        {"email": rng.random(customers) < 0.8, "sms": rng.random(customers) < 0.5}, index=ids
    )
    constraints = Constraints(
        max_actions=2,
        budget=0.5 * customers,
        capacity={o.id: customers // 40 for o in offers[:10]},
    )
    print(f"\n## Next-best-action ({customers:,} customers × {n_offers} offers, seed 3)\n")
    print("| method | s (CPU s) | actions | expected value | cost | gap to bound | peak GiB |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for method in ("auto", "greedy"):
        t, c = time.perf_counter(), time.process_time()
        result = next_best_action(
            frame,
            offers,
            response_model=response,
            consent=consent,
            constraints=constraints,
            method=method,
        )
        secs, cpu = time.perf_counter() - t, time.process_time() - c
        s = result.summary
        gap = f"{float(s['gap']):.5f}" if method != "greedy" else "–"
        print(
            f"| {result.method} | {secs:.1f} ({cpu:.1f}) | {int(s['actions']):,} | "
            f"{float(s['expected_value']):,.0f} | {float(s['cost']):,.0f} | {gap} | "
            f"{peak_gib():.2f} |"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes")
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--products", type=int, default=2_000)
    parser.add_argument("--nba-customers", type=int, default=200_000)
    parser.add_argument("--skip-quality", action="store_true")
    parser.add_argument("--skip-scale", action="store_true")
    parser.add_argument("--skip-nba", action="store_true")
    parser.add_argument(
        "--scale-models",
        nargs="+",
        metavar="NAME",
        help="only the scale models whose name contains one of these (e.g. 'cosine')",
    )
    args = parser.parse_args()
    if args.quick:
        args.customers, args.products, args.nba_customers = 20_000, 1_000, 20_000
    if not args.skip_quality:
        quality(5_000 if args.quick else 20_000, 200 if args.quick else 500)
    if not args.skip_scale:
        scale(args.customers, args.products, args.scale_models)
    if not args.skip_nba:
        nba(args.nba_customers)


if __name__ == "__main__":
    main()
