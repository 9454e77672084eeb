"""One estimator contract for every recommender: scikit-learn rules and JSON persistence."""

from __future__ import annotations

import inspect
import json

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone

from crmcore.errors import NotFittedError, ValidationError
from crmcore.recommend import (
    BoughtTogetherRecommender,
    ImplicitALSRecommender,
    ItemSimilarityRecommender,
    PopularityRecommender,
    RepurchaseModel,
)

AS_OF = "2024-06-30"
RECOMMENDERS = [
    PopularityRecommender(lookback="90D"),
    ItemSimilarityRecommender(similarity="jaccard", n_neighbors=7),
    BoughtTogetherRecommender(min_confidence=0.02, basis="history"),
    BoughtTogetherRecommender(rank_by="lift"),
    ImplicitALSRecommender(factors=5, iterations=3, random_state=4),
]
IDS = [type(m).__name__ + str(i) for i, m in enumerate(RECOMMENDERS)]


def _strict(text: str):
    def refuse(name):
        raise AssertionError(f"non-standard JSON constant {name}")

    return json.loads(text, parse_constant=refuse)


@pytest.mark.parametrize("model", RECOMMENDERS, ids=IDS)
def test_scikit_learn_rules(model, sim):
    params = model.get_params()
    assert set(params) == set(inspect.signature(type(model)).parameters)
    twin = clone(model)
    assert twin.get_params() == params
    assert twin.set_params(**params) is twin
    assert not [a for a in vars(twin) if a.endswith("_")]  # nothing fitted in __init__
    fitted = twin.fit(sim.lines, as_of=AS_OF, order_col="order_id")
    assert fitted is twin
    for attr in ("customers_", "products_", "as_of_", "history_", "popularity_"):
        assert hasattr(twin, attr)
    assert twin.get_params() == params  # fit does not change hyper-parameters
    assert not hasattr(model, "history_")  # cloning left the original alone


@pytest.mark.parametrize("model", RECOMMENDERS, ids=IDS)
def test_json_round_trip_gives_the_same_recommendations(model, sim, tmp_path):
    segments = sim.customers.set_index("customer_id")["segment"]
    fitted = clone(model).fit(sim.lines, as_of=AS_OF, order_col="order_id", segments=segments)
    path = tmp_path / "model.json"
    fitted.save(path)
    state = _strict(path.read_text(encoding="utf-8"))
    assert state["model"] == type(model).__name__
    assert state["schema_version"] == 1
    again = type(model).load(path)
    assert again.get_params() == fitted.get_params()
    who = [0, 5, 17, 99, 100_000]  # 100_000 is a cold start
    pd.testing.assert_frame_equal(again.recommend(who, k=6), fitted.recommend(who, k=6))
    assert again.as_of_ == fitted.as_of_


def test_generator_random_state_is_saved_as_none(sim):
    model = ImplicitALSRecommender(factors=3, iterations=1, random_state=np.random.default_rng(1))
    model.fit(sim.lines, as_of=AS_OF)
    assert model.to_dict()["params"]["random_state"] is None


def test_corrupt_files_are_refused_by_name(sim, tmp_path):
    model = ItemSimilarityRecommender().fit(sim.lines, as_of=AS_OF)
    state = model.to_dict()
    with pytest.raises(ValidationError, match="not a saved ItemSimilarityRecommender"):
        ItemSimilarityRecommender.from_dict({**state, "model": "PopularityRecommender"})
    with pytest.raises(ValidationError, match="schema version 99"):
        ItemSimilarityRecommender.from_dict({**state, "schema_version": 99})
    with pytest.raises(ValidationError, match="unknown parameter"):
        ItemSimilarityRecommender.from_dict({**state, "params": {**state["params"], "x": 1}})
    broken = json.loads(json.dumps(state))
    broken["fitted"]["similarity_"]["data"]["base64"] = "AAAA"
    with pytest.raises(ValidationError, match=r"similarity_\.data holds 3 bytes"):
        ItemSimilarityRecommender.from_dict(broken)
    broken = json.loads(json.dumps(state))
    broken["fitted"]["products_"] = broken["fitted"]["products_"][:-1]
    with pytest.raises(ValidationError, match="does not match"):
        ItemSimilarityRecommender.from_dict(broken)
    path = tmp_path / "bad.json"
    path.write_text("{not json", encoding="utf-8")
    with pytest.raises(ValidationError, match="is not JSON written by"):
        ItemSimilarityRecommender.load(path)


def test_ids_that_json_cannot_keep_are_refused(sim):
    lines = sim.lines.assign(product_id=sim.lines["product_id"].astype(float) + 0.5)
    model = PopularityRecommender().fit(lines, as_of=AS_OF)
    with pytest.raises(ValidationError, match=r"cannot save identifier 0\.5"):
        model.to_dict()


def test_repurchase_model_contract(sim, tmp_path):
    model = RepurchaseModel(min_customers=5)
    assert clone(model).get_params() == model.get_params()
    with pytest.raises(NotFittedError):
        model.next_purchases(sim.lines, as_of=AS_OF)
    model.fit(sim.lines, as_of=AS_OF, order_col="order_id")
    path = tmp_path / "repurchase.json"
    model.save(path)
    _strict(path.read_text(encoding="utf-8"))
    again = RepurchaseModel.load(path)
    pd.testing.assert_frame_equal(again.params_, model.params_)
    pd.testing.assert_frame_equal(again.skipped_, model.skipped_)
    pd.testing.assert_frame_equal(
        again.next_purchases(sim.lines, as_of="2024-09-30", horizon="14D"),
        model.next_purchases(sim.lines, as_of="2024-09-30", horizon="14D"),
    )


@pytest.mark.parametrize("model", RECOMMENDERS, ids=IDS)
def test_nothing_after_as_of_reaches_the_model(model, sim):
    # dropping every line after as_of, or moving those lines around, changes nothing
    dates = sim.lines["date"]
    before = sim.lines.loc[dates <= pd.Timestamp(AS_OF) + pd.Timedelta("1D") - pd.Timedelta("1ns")]
    assert len(before) < len(sim.lines)
    after = sim.lines.drop(before.index)
    shuffled = pd.concat(
        [
            before,
            after.assign(product_id=after["product_id"].sample(frac=1, random_state=0).values),
        ]
    )
    a = clone(model).fit(sim.lines, as_of=AS_OF, order_col="order_id")
    b = clone(model).fit(before, as_of=AS_OF, order_col="order_id")
    c = clone(model).fit(shuffled, as_of=AS_OF, order_col="order_id")
    who = list(a.customers_[:50])
    expected = a.recommend(who, k=5)
    pd.testing.assert_frame_equal(b.recommend(who, k=5), expected)
    pd.testing.assert_frame_equal(c.recommend(who, k=5), expected)


def test_a_saved_cut_off_that_is_not_a_date_is_refused(sim):
    model = PopularityRecommender().fit(sim.lines, as_of=AS_OF)
    state = model.to_dict()
    state["fitted"]["as_of_"] = "yesterday-ish"
    with pytest.raises(ValidationError, match="as_of_"):
        PopularityRecommender.from_dict(state)
    timing = RepurchaseModel(min_customers=5).fit(sim.lines, as_of=AS_OF, order_col="order_id")
    state = timing.to_dict()
    state["fitted"]["as_of_"] = "yesterday-ish"
    with pytest.raises(ValidationError, match="as_of_"):
        RepurchaseModel.from_dict(state)


@pytest.mark.parametrize("model", RECOMMENDERS, ids=IDS)
def test_order_of_lines_and_of_requested_customers_changes_nothing(model, sim):
    a = clone(model).fit(sim.lines, as_of=AS_OF, order_col="order_id")
    shuffled = sim.lines.sample(frac=1.0, random_state=5)
    b = clone(model).fit(shuffled, as_of=AS_OF, order_col="order_id")
    who = list(a.customers_[:40])
    expected = a.recommend(who, k=5).set_index(["customer_id", "rank"]).sort_index()
    got = b.recommend(who[::-1], k=5).set_index(["customer_id", "rank"]).sort_index()
    pd.testing.assert_frame_equal(
        got[["product_id", "reason"]], expected[["product_id", "reason"]]
    )
    np.testing.assert_allclose(got["score"], expected["score"], rtol=1e-5)
