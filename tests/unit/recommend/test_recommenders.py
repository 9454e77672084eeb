"""The recommenders: hand-computed scores, the recommend() contract, cold starts, bad input."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from crmcore.errors import DataWarning, NotFittedError, ValidationError
from crmcore.recommend import (
    BoughtTogetherRecommender,
    ImplicitALSRecommender,
    ItemSimilarityRecommender,
    PopularityRecommender,
    interactions,
)
from crmcore.segmentation import Rule

AS_OF = "2024-01-31"
# a, b: tea + honey; c: tea + lemon; d: tea (one order each, before AS_OF)
N_TEA, N_HONEY, N_LEMON = 4, 2, 1


def _sim(model, a, b):
    s = model.similarity_
    pos = model.products_.get_loc
    return float(s[pos(a), pos(b)])


@pytest.mark.parametrize(
    ("params", "tea_honey", "honey_tea", "tea_lemon"),
    [
        # plain cosine: C / sqrt(n_i n_j)
        ({}, 2 / np.sqrt(N_TEA * N_HONEY), 2 / np.sqrt(N_TEA * N_HONEY), 1 / np.sqrt(N_TEA)),
        # damping 0: C / n_i = P(j | i)
        ({"popularity_damping": 0.0}, 2 / N_TEA, 2 / N_HONEY, 1 / N_TEA),
        # damping 1: C / n_j = P(i | j)
        ({"popularity_damping": 1.0}, 2 / N_HONEY, 2 / N_TEA, 1 / N_LEMON),
        ({"similarity": "jaccard"}, 2 / (4 + 2 - 2), 2 / (4 + 2 - 2), 1 / (4 + 1 - 1)),
        # lift over the 4 customers: C N / (n_i n_j)
        ({"similarity": "lift"}, 2 * 4 / (4 * 2), 1.0, 1 * 4 / (4 * 1)),
        # shrinkage λ = 2 multiplies by C / (C + λ)
        ({"shrinkage": 2.0}, 2 / np.sqrt(8) * 2 / 4, 2 / np.sqrt(8) * 2 / 4, 0.5 * 1 / 3),
    ],
)
def test_similarities_by_hand(lines, params, tea_honey, honey_tea, tea_lemon):
    model = ItemSimilarityRecommender(**{"shrinkage": 0.0, **params}).fit(lines, as_of=AS_OF)
    np.testing.assert_allclose(_sim(model, "tea", "honey"), tea_honey, rtol=1e-6)
    np.testing.assert_allclose(_sim(model, "honey", "tea"), honey_tea, rtol=1e-6)
    np.testing.assert_allclose(_sim(model, "tea", "lemon"), tea_lemon, rtol=1e-6)
    assert _sim(model, "honey", "lemon") == 0.0  # never bought together: not stored
    assert model.similarity_.diagonal().sum() == 0


def test_item_similarity_recommends_with_reasons(lines):
    model = ItemSimilarityRecommender(shrinkage=0).fit(lines, as_of=AS_OF)
    d = model.recommend(["d"], k=2)
    assert d["customer_id"].tolist() == ["d", "d"]
    assert d["rank"].tolist() == [1, 2]
    assert d["product_id"].tolist() == ["honey", "lemon"]
    np.testing.assert_allclose(d["score"], [2 / np.sqrt(8), 0.5], rtol=1e-6)
    assert d["reason"].tolist() == ["similar to tea", "similar to tea"]
    # c bought tea and lemon: honey is similar to tea (lemon never came with honey)
    c = model.recommend(["c"], k=1)
    assert c["product_id"].tolist() == ["honey"]
    assert c["reason"].tolist() == ["similar to tea"]


def test_score_sums_over_the_basket(lines):
    # c's score for honey sums its similarities from tea (0.7071) and lemon (0)
    model = ItemSimilarityRecommender(shrinkage=0).fit(lines, as_of=AS_OF)
    row = model.recommend(["c"], k=1)
    np.testing.assert_allclose(row["score"], [2 / np.sqrt(8)], rtol=1e-6)


def test_similar_items(lines):
    model = ItemSimilarityRecommender(shrinkage=0).fit(lines, as_of=AS_OF)
    table = model.similar_items(["tea", "lemon"], k=5)
    assert table["source"].tolist() == ["tea", "tea", "lemon"]
    assert table["product_id"].tolist() == ["honey", "lemon", "tea"]
    assert table["co_customers"].tolist() == [2, 1, 1]
    with pytest.raises(ValidationError, match="unknown product 'caviar'"):
        model.similar_items("caviar")


def test_bought_together_rules_by_hand(lines):
    model = BoughtTogetherRecommender(min_orders=1, min_support=0).fit(
        lines, as_of=AS_OF, order_col="order_id"
    )
    rules = model.rules_.set_index(["antecedent", "consequent"])
    # 4 orders: {tea, honey} x2, {tea, lemon}, {tea}
    np.testing.assert_allclose(rules.loc[("honey", "tea"), "support"], 2 / 4, rtol=1e-12)
    np.testing.assert_allclose(rules.loc[("honey", "tea"), "confidence"], 2 / 2, rtol=1e-12)
    np.testing.assert_allclose(rules.loc[("tea", "honey"), "confidence"], 2 / 4, rtol=1e-12)
    np.testing.assert_allclose(rules.loc[("tea", "honey"), "lift"], (2 / 4) / (2 / 4), rtol=1e-12)
    np.testing.assert_allclose(rules.loc[("tea", "lemon"), "lift"], (1 / 4) / (1 / 4), rtol=1e-12)
    assert rules.loc[("tea", "lemon"), "orders"] == 1
    # min_orders=2 drops the pair seen once, min_confidence drops weak rules
    strict = BoughtTogetherRecommender(min_orders=2, min_confidence=0.6).fit(
        lines, as_of=AS_OF, order_col="order_id"
    )
    assert set(zip(strict.rules_["antecedent"], strict.rules_["consequent"], strict=True)) == {
        ("honey", "tea")
    }
    table = model.bought_together("tea", k=1)
    assert table[["antecedent", "rank", "consequent"]].to_numpy().tolist() == [["tea", 1, "honey"]]


def test_bought_together_starts_from_the_last_order(lines):
    # a's last order (in February) is cake alone; with history, tea and honey count
    model = BoughtTogetherRecommender(min_orders=1).fit(lines, as_of="2024-03-01")
    last = model.recommend(["a"], k=1, exclude_purchased=False)
    assert last["reason"].tolist() == ["popular"]  # cake came with nothing
    hist = BoughtTogetherRecommender(min_orders=1, basis="history").fit(lines, as_of="2024-03-01")
    row = hist.recommend(["d"], k=1)
    assert row["reason"].tolist() == ["bought together with tea"]


def test_popularity_overall_and_by_segment(lines):
    segments = pd.Series({"a": "x", "b": "x", "c": "y", "d": "y"})
    model = PopularityRecommender().fit(lines, as_of=AS_OF, segments=segments)
    np.testing.assert_array_equal(model.popularity_.buyers, [2, 1, 4])  # honey, lemon, tea
    recs = model.recommend(["d", "newcomer"], k=2, segments=pd.Series({"newcomer": "x"}))
    # d (segment y) has tea: y's next is lemon; the newcomer is ranked as segment x
    assert recs["product_id"].tolist() == ["lemon", "honey", "tea", "honey"]
    assert recs["reason"].tolist() == [
        "popular in segment y",
        "popular",
        "popular in segment x",
        "popular in segment x",
    ]
    np.testing.assert_allclose(recs["score"].iloc[0], 1 / 2, rtol=1e-12)  # 1 of 2 in y


def test_popularity_lookback(lines):
    model = PopularityRecommender(lookback="2D").fit(lines, as_of="2024-01-05")
    # only the purchases of 4 and 5 January count: tea (c, d), lemon (c)
    np.testing.assert_array_equal(model.popularity_.buyers, [0, 1, 2])
    with pytest.raises(ValidationError, match="no order line falls in the lookback"):
        PopularityRecommender(lookback="1h").fit(lines, as_of="2024-01-20")
    with pytest.raises(ValidationError, match="a bare number has no unit"):
        PopularityRecommender(lookback=3).fit(lines, as_of=AS_OF)


def test_cold_start_falls_back_on_popularity(lines):
    model = ItemSimilarityRecommender().fit(lines, as_of=AS_OF)
    recs = model.recommend(["stranger"], k=3)
    assert recs["product_id"].tolist() == ["tea", "honey", "lemon"]
    assert set(recs["reason"]) == {"popular"}
    np.testing.assert_allclose(recs["score"], [4 / 4, 2 / 4, 1 / 4], rtol=1e-12)


def test_exclude_purchased_and_fewer_than_k(lines):
    model = ItemSimilarityRecommender().fit(lines, as_of=AS_OF)
    with pytest.warns(DataWarning, match="1 customer\\(s\\) get fewer than k=2"):
        recs = model.recommend(["a"], k=2)
    assert recs["product_id"].tolist() == ["lemon"]
    both = model.recommend(["a"], k=2, exclude_purchased=False)
    assert len(both) == 2
    assert set(both["product_id"]) <= {"tea", "honey", "lemon"}


def test_filter_on_the_catalogue(sim):
    model = ItemSimilarityRecommender().fit(sim.lines, as_of="2024-06-30", order_col="order_id")
    rule = Rule.parse("category in ['c0', 'c1'] and active == true")
    recs = model.recommend([0, 1, 2, 10_000], k=5, filter=rule, products=sim.products)
    allowed = set(rule.select(sim.products)["product_id"])
    assert set(recs["product_id"]) <= allowed
    assert recs.groupby("customer_id").size().eq(5).all()
    with pytest.raises(ValidationError, match="filter needs products="):
        model.recommend([0], k=5, filter=rule)
    with pytest.raises(ValidationError, match="colour"):
        model.recommend([0], k=5, filter=Rule.parse("colour == 'red'"), products=sim.products)
    with pytest.raises(ValidationError, match="the filter leaves"):
        model.recommend([0], k=70, filter=rule, products=sim.products)
    with pytest.raises(ValidationError, match=r"must be a crmcore\.segmentation\.Rule"):
        model.recommend([0], k=5, filter="category == 'c0'", products=sim.products)


@pytest.mark.parametrize("k", [0, -1, 2.5, True, "3"])
def test_bad_k(lines, k):
    model = PopularityRecommender().fit(lines, as_of=AS_OF)
    with pytest.raises(ValidationError, match="k must be a whole number >= 1"):
        model.recommend(["a"], k=k)


def test_k_larger_than_the_catalogue(lines):
    model = PopularityRecommender().fit(lines, as_of=AS_OF)
    with pytest.raises(ValidationError, match=r"k=4 is larger than the catalogue \(3 products\)"):
        model.recommend(["a"], k=4)


def test_repeated_customers_are_refused(lines):
    model = PopularityRecommender().fit(lines, as_of=AS_OF)
    with pytest.raises(ValidationError, match="lists 'a' twice"):
        model.recommend(["a", "a"], k=1)
    empty = model.recommend([], k=1)
    assert list(empty.columns) == ["customer_id", "rank", "product_id", "score", "reason"]
    assert empty.empty


def test_interactions_input_and_its_cut_off(lines):
    x = interactions(lines, as_of=AS_OF)
    model = PopularityRecommender().fit(x)
    assert model.as_of_ == x.as_of
    PopularityRecommender().fit(x, as_of=AS_OF)  # the same cut-off is fine
    with pytest.raises(ValidationError, match="these interactions were cut at"):
        PopularityRecommender().fit(x, as_of="2024-02-28")
    with pytest.raises(ValidationError, match="data must be a DataFrame of order lines"):
        PopularityRecommender().fit([1, 2, 3], as_of=AS_OF)


def test_als_separates_two_groups():
    # customers 0-19 buy among p0-p4, customers 20-39 among p5-p9: taste is the group
    rng = np.random.default_rng(0)
    rows = []
    for c in range(40):
        group = range(5) if c < 20 else range(5, 10)
        day = pd.Timestamp("2024-01-01") + pd.Timedelta(days=c)
        rows.extend((c, f"p{p}", day) for p in rng.choice(list(group), size=3, replace=False))
    frame = pd.DataFrame(rows, columns=["customer_id", "product_id", "date"])
    model = ImplicitALSRecommender(factors=4, regularization=10, iterations=20, random_state=0)
    recs = model.fit(frame, as_of="2024-03-01").recommend(list(range(40)), k=2)
    group_of = recs["product_id"].str[1:].astype(int) >= 5
    assert (group_of == (recs["customer_id"] >= 20)).all()
    assert set(recs["reason"]) == {"latent factors"}


def test_als_cg_agrees_with_the_exact_solver(sim):
    x = interactions(sim.lines, as_of="2024-06-30", order_col="order_id")
    exact = ImplicitALSRecommender(factors=6, solver="exact", iterations=8, random_state=1).fit(x)
    cg = ImplicitALSRecommender(factors=6, solver="cg", cg_steps=6, iterations=8, random_state=1)
    cg.fit(x)
    s_exact = exact.customer_factors_ @ exact.product_factors_.T
    s_cg = cg.customer_factors_ @ cg.product_factors_.T
    # CG with as many steps as factors solves each system (up to float32 rounding)
    np.testing.assert_allclose(s_cg, s_exact, rtol=0, atol=2e-3 * np.abs(s_exact).max())


@pytest.mark.parametrize(
    ("cls", "bad"),
    [
        (ItemSimilarityRecommender, {"similarity": "pearson"}),
        (ItemSimilarityRecommender, {"n_neighbors": 0}),
        (ItemSimilarityRecommender, {"popularity_damping": 1.5}),
        (ItemSimilarityRecommender, {"shrinkage": -1}),
        (BoughtTogetherRecommender, {"rank_by": "support"}),
        (BoughtTogetherRecommender, {"min_confidence": 2}),
        (ImplicitALSRecommender, {"factors": 0}),
        (ImplicitALSRecommender, {"solver": "svd"}),
        (ImplicitALSRecommender, {"regularization": 0}),
    ],
)
def test_bad_hyper_parameters_fail_in_fit(lines, cls, bad):
    model = cls(**bad)  # stored unchanged, checked in fit
    assert model.get_params()[next(iter(bad))] == next(iter(bad.values()))
    with pytest.raises(ValidationError, match=next(iter(bad))):
        model.fit(lines, as_of=AS_OF)


def test_queries_before_fit(lines):
    for cls in (PopularityRecommender, ItemSimilarityRecommender, BoughtTogetherRecommender):
        with pytest.raises(NotFittedError, match="not fitted yet"):
            cls().recommend(["a"], k=1)
        with pytest.raises(NotFittedError):
            cls().to_dict()
