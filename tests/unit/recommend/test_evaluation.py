"""Ranking metrics by hand, the time-split evaluation, and top-k lists against brute force."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from crmcore.errors import ValidationError
from crmcore.recommend import (
    METRICS,
    ItemSimilarityRecommender,
    PopularityRecommender,
    evaluate_recommenders,
    ranking_metrics,
    simulate_baskets,
)

AS_OF = "2024-06-30"


def test_ranking_metrics_by_hand():
    # a gets [x, y, z] and bought {y, w}: one hit at rank 2; b gets [w, x, v], bought {w}
    recs = pd.DataFrame(
        {
            "customer_id": ["a"] * 3 + ["b"] * 3,
            "rank": [1, 2, 3] * 2,
            "product_id": ["x", "y", "z", "w", "x", "v"],
        }
    )
    bought = pd.DataFrame({"customer_id": ["a", "a", "b"], "product_id": ["y", "w", "w"]})
    got = ranking_metrics(recs, bought, k=3, n_products=10)
    l3 = np.log2(3.0)
    expected = {
        "hit_rate": 1.0,
        "precision": (1 / 3 + 1 / 3) / 2,
        "recall": (1 / 2 + 1) / 2,
        # a: DCG 1/log2(3), IDCG 1 + 1/log2(3) (two relevant, k = 3); b: 1/1
        "ndcg": ((1 / l3) / (1 + 1 / l3) + 1.0) / 2,
        # a: P@2 = 1/2 over min(3, 2) = 2 relevant; b: P@1 = 1 over 1
        "map": (0.5 / 2 + 1.0) / 2,
        "coverage": 5 / 10,  # x, y, z, w, v shown
    }
    for name, value in expected.items():
        np.testing.assert_allclose(got[name], value, rtol=1e-12, err_msg=name)
    assert got["customers"] == 2
    # k = 1 keeps rank 1 only: a misses, b hits
    one = ranking_metrics(recs, bought, k=1, n_products=10)
    np.testing.assert_allclose(
        one[["hit_rate", "precision", "recall", "ndcg", "map"]], [0.5, 0.5, 0.5, 0.5, 0.5]
    )
    # a customer who bought something but got no list scores zero
    more = pd.concat([bought, pd.DataFrame({"customer_id": ["c"], "product_id": ["x"]})])
    np.testing.assert_allclose(
        ranking_metrics(recs, more, k=3)["recall"], (1 / 2 + 1 + 0) / 3, rtol=1e-12
    )
    with pytest.raises(ValidationError, match="relevant is empty"):
        ranking_metrics(recs, bought.iloc[:0], k=3)


@pytest.fixture(scope="module")
def shop():
    return simulate_baskets(800, 60, random_state=3)


def test_time_split_table_and_no_leak_beyond_the_window(shop):
    models = {"item cosine": ItemSimilarityRecommender(n_neighbors=20)}
    table = evaluate_recommenders(
        shop.lines, models, as_of=AS_OF, horizon="60D", k=5, order_col="order_id"
    )
    assert list(table.index) == ["popularity (baseline)", "item cosine"]
    assert set(METRICS) <= set(table.columns)
    np.testing.assert_allclose(table.loc["popularity (baseline)", "vs_baseline_ndcg"], 1.0)
    assert ((table[list(METRICS)] >= 0) & (table[list(METRICS)] <= 1)).all().all()
    # lines after as_of + horizon change nothing; lines inside the window change only the test
    later = shop.lines.loc[shop.lines["date"] > pd.Timestamp(AS_OF) + pd.Timedelta("61D")]
    assert len(later)
    cut = shop.lines.drop(later.index)
    again = evaluate_recommenders(
        cut, models, as_of=AS_OF, horizon="60D", k=5, order_col="order_id"
    )
    pd.testing.assert_frame_equal(table, again)
    assert not hasattr(models["item cosine"], "history_")  # the given model is not fitted


def test_a_window_with_nothing_new_says_so(shop):
    with pytest.raises(ValidationError, match="no customer to evaluate"):
        evaluate_recommenders(
            shop.lines, {"p": PopularityRecommender()}, as_of="2030-01-01", horizon="30D"
        )


def test_item_similarity_top_k_equals_brute_force(shop):
    model = ItemSimilarityRecommender(n_neighbors=15).fit(
        shop.lines, as_of=AS_OF, order_col="order_id"
    )
    who = np.arange(len(model.customers_))[::7]
    k = 6
    recs = model.recommend(model.customers_[who], k=k)
    bought = model.history_[who].toarray() > 0
    sim = model.similarity_.toarray()
    scores = bought.astype(float) @ sim
    names = model.products_
    for i, cid in enumerate(model.customers_[who]):
        mine = recs.loc[recs["customer_id"] == cid]
        assert mine["rank"].tolist() == list(range(1, k + 1))
        assert not bought[i, names.get_indexer(mine["product_id"])].any()
        candidates = np.flatnonzero((scores[i] > 0) & ~bought[i])
        # best first, ties by the lower product code
        order = candidates[np.lexsort((candidates, -scores[i, candidates]))][:k]
        similar = mine.loc[mine["reason"].str.startswith("similar to")]
        assert names.get_indexer(similar["product_id"]).tolist() == order.tolist()
        # similarities are stored as float32
        np.testing.assert_allclose(similar["score"], scores[i, order], rtol=1e-6)
        # the anchor is the bought product that contributed most (ties: lower code)
        for item, reason in zip(
            names.get_indexer(similar["product_id"]), similar["reason"], strict=True
        ):
            contrib = np.where(bought[i], sim[:, item], -np.inf)
            assert reason == f"similar to {names[int(np.argmax(contrib))]}"
        # the rest of the list is filled from popularity
        assert len(similar) == min(k, order.size)
        assert set(mine["reason"].iloc[len(similar) :]) <= {"popular"}


def test_a_baseline_that_hits_nothing_leaves_the_ratio_missing():
    # popularity before as_of: x (a, b), y (b), z (c); a has x, so both the baseline and
    # x's neighbour give a y at k=1, and a buys z in the window: nDCG 0 for both, 0/0
    at = pd.Timestamp("2024-03-01", tz="UTC")
    lines = pd.DataFrame(
        {
            "customer_id": ["a", "b", "b", "c", "a"],
            "product_id": ["x", "x", "y", "z", "z"],
            "date": [at, at, at, at, at + pd.Timedelta("2D 1h")],
        }
    )
    table = evaluate_recommenders(
        lines,
        {"item": ItemSimilarityRecommender()},
        as_of=at + pd.Timedelta("1D"),
        horizon="5D",
        k=1,
    )
    assert (table["ndcg"] == 0.0).all()
    assert table["vs_baseline_ndcg"].isna().all()  # no inf, no RuntimeWarning
