"""The basket simulator: seeded, a long tail, complements that co-occur, repurchase cycles."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from crmcore.errors import ValidationError
from crmcore.recommend import simulate_baskets


@pytest.fixture(scope="module")
def shop():
    return simulate_baskets(1500, 100, consumable_share=0.2, random_state=21)


def test_seeded(shop):
    again = simulate_baskets(1500, 100, consumable_share=0.2, random_state=21)
    pd.testing.assert_frame_equal(again.lines, shop.lines)
    other = simulate_baskets(1500, 100, consumable_share=0.2, random_state=22)
    assert not other.lines.equals(shop.lines)


def test_lines_are_well_formed(shop):
    lines = shop.lines
    assert {"order_id", "customer_id", "product_id", "date", "quantity"} <= set(lines.columns)
    assert (lines["quantity"] >= 1).all()
    assert set(lines["product_id"]) <= set(shop.products["product_id"])
    assert set(lines["customer_id"]) <= set(shop.customers["customer_id"])
    # an order is one customer at one instant
    per_order = lines.groupby("order_id").agg(c=("customer_id", "nunique"), d=("date", "nunique"))
    assert (per_order[["c", "d"]] == 1).all().all()


def test_popularity_has_a_long_tail(shop):
    buyers = shop.lines.groupby("product_id")["customer_id"].nunique().sort_values(ascending=False)
    top = buyers.iloc[: len(buyers) // 10].sum() / buyers.sum()
    assert top > 0.25  # a uniform catalogue would give the top tenth about 0.10


def test_complements_are_bought_together_more_than_by_chance(shop):
    lines = shop.lines
    orders = lines.groupby("order_id")["product_id"].agg(set)
    n = len(orders)
    lifts = []
    for a, b in shop.complements[["product_id", "complement_id"]].itertuples(index=False):
        has_a = orders.map(lambda s, a=a: a in s)
        has_b = orders.map(lambda s, b=b: b in s)
        if has_a.sum() >= 20 and has_b.sum() >= 20:
            lifts.append((has_a & has_b).sum() * n / (has_a.sum() * has_b.sum()))
    assert len(lifts) >= 3
    assert np.median(lifts) > 2


def test_consumables_come_back_on_their_cycle(shop):
    cyc = shop.cycles.iloc[:200]
    lines = shop.lines.merge(cyc[["customer_id", "product_id", "mu"]])
    days = lines["date"].dt.floor("D")
    lines = lines.assign(day=days).drop_duplicates(["customer_id", "product_id", "day"])
    lines = lines.sort_values(["customer_id", "product_id", "day"])
    gap = lines.groupby(["customer_id", "product_id"])["day"].diff().dt.days.dropna()
    gap = gap[gap > 0]
    mu = lines.loc[gap.index, "mu"]
    # log intervals centre on each pair's mu (sigma 0.25 by default)
    assert abs(float(np.median(np.log(gap) - mu))) < 0.1


def test_bad_sizes():
    with pytest.raises(ValidationError, match="n_products"):
        simulate_baskets(10, 1)
