"""Segmenter: sklearn conventions, label order, auto k, profiles, persistence."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone

from crmcore.errors import NotFittedError, ValidationError
from crmcore.segmentation import Segmenter


def blobs(n_per: int = 200, seed: int = 0) -> pd.DataFrame:
    """Three well separated groups: low, middle and high spenders."""
    rng = np.random.default_rng(seed)
    spend = np.r_[
        rng.lognormal(np.log(10), 0.1, n_per),
        rng.lognormal(np.log(1000), 0.1, n_per),
        rng.lognormal(np.log(100), 0.1, n_per),
    ]
    orders = np.r_[
        rng.lognormal(np.log(2), 0.1, n_per),
        rng.lognormal(np.log(40), 0.1, n_per),
        rng.lognormal(np.log(8), 0.1, n_per),
    ]
    return pd.DataFrame({"spend": spend, "orders": orders, "region": "x"})


def test_auto_k_finds_three_groups_and_orders_labels_by_value():
    X = blobs()
    seg = Segmenter(random_state=0, k_range=(2, 6)).fit(X)
    assert seg.n_clusters_ == 3
    assert set(seg.silhouette_scores_) == {2, 3, 4, 5, 6}
    assert max(seg.silhouette_scores_, key=seg.silhouette_scores_.get) == 3
    prof = seg.profiles_
    assert prof.index.name == "cluster"
    assert prof.index.tolist() == [0, 1, 2]
    # label 0 = highest mean spend (the ~1000 group), then ~100, then ~10
    np.testing.assert_allclose(prof["spend"], [1000, 100, 10], rtol=0.1)
    np.testing.assert_array_equal(prof["size"], [200, 200, 200])
    np.testing.assert_allclose(prof["share"], [1 / 3] * 3, rtol=1e-12)
    total = X["spend"].sum()
    np.testing.assert_allclose(prof["value_share"].sum(), 1.0, rtol=1e-12)
    expected = [X["spend"].iloc[200:400].sum() / total, X["spend"].iloc[400:].sum() / total]
    np.testing.assert_allclose(prof["value_share"].iloc[:2], expected, rtol=1e-12)
    assert seg.labels_[:200].tolist() == [2] * 200
    assert seg.labels_[200:400].tolist() == [0] * 200
    assert seg.feature_names_in_.tolist() == ["spend", "orders"]  # numeric columns only
    assert seg.algorithm_ == "kmeans"
    np.testing.assert_array_equal(seg.predict(X), seg.labels_)
    np.testing.assert_array_equal(seg.fit_predict(X), seg.labels_)


def test_label_order_is_stable_across_seeds_and_row_order():
    X = blobs(seed=1)
    a = Segmenter(n_clusters=3, random_state=1).fit(X)
    b = Segmenter(n_clusters=3, random_state=99).fit(X)
    np.testing.assert_array_equal(a.labels_, b.labels_)
    perm = np.random.default_rng(0).permutation(len(X))
    c = Segmenter(n_clusters=3, random_state=5).fit(X.iloc[perm])
    np.testing.assert_array_equal(c.labels_, a.labels_[perm])


def test_same_seed_same_result():
    X = blobs(seed=2)
    a = Segmenter(random_state=3).fit(X)
    b = Segmenter(random_state=3).fit(X)
    np.testing.assert_array_equal(a.cluster_centers_, b.cluster_centers_)
    assert a.silhouette_scores_ == b.silhouette_scores_


def test_minibatch_above_threshold_and_value_col():
    X = blobs(seed=3)
    seg = Segmenter(
        n_clusters=3,
        features=["orders", "spend"],
        value_col="spend",
        minibatch_threshold=100,
        random_state=0,
    ).fit(X)
    assert seg.algorithm_ == "minibatch"
    np.testing.assert_allclose(seg.profiles_["spend"], [1000, 100, 10], rtol=0.15)
    assert list(seg.profiles_.columns) == [
        "size",
        "share",
        "orders",
        "spend",
        "value_mean",
        "value_share",
    ]


def test_sklearn_conventions(tmp_path):
    seg = Segmenter(n_clusters=4, log_transform=False, random_state=7)
    assert seg.get_params()["n_clusters"] == 4
    twin = clone(seg)
    assert twin.get_params() == seg.get_params()
    seg.set_params(n_clusters=3)
    assert seg.n_clusters == 3
    with pytest.raises(NotFittedError):
        seg.predict(blobs())
    # __init__ stores without validating; fit validates
    bad = Segmenter(n_clusters="many")
    with pytest.raises(ValidationError):
        bad.fit(blobs())


def test_json_round_trip(tmp_path):
    X = blobs(seed=4)
    seg = Segmenter(random_state=0, k_range=(2, 4)).fit(X)
    path = tmp_path / "segmenter.json"
    seg.save(path)
    again = Segmenter.load(path)
    np.testing.assert_array_equal(again.predict(X), seg.labels_)
    pd.testing.assert_frame_equal(again.profiles_, seg.profiles_, check_dtype=False)
    assert again.get_params() == seg.get_params()
    assert again.silhouette_scores_ == seg.silhouette_scores_


@pytest.mark.parametrize(
    ("X", "kwargs", "field"),
    [
        (pd.DataFrame({"a": [1.0, -1.0, 2.0]}), {"n_clusters": 2}, "a"),
        (pd.DataFrame({"a": [1.0, np.nan, 2.0]}), {"n_clusters": 2}, "a"),
        (pd.DataFrame({"a": [1.0, 1.0, 1.0]}), {"n_clusters": 2}, "n_clusters"),
        (pd.DataFrame({"a": ["x", "y"]}), {}, "features"),
        (pd.DataFrame({"a": [1.0, 2.0]}), {"features": ["b"]}, "b"),
        (pd.DataFrame({"a": [1.0, 2.0]}), {"k_range": (1, 3)}, "k_range[0]"),
        (pd.DataFrame({"a": [1.0, 2.0]}), {"n_clusters": 0}, "n_clusters"),
        (pd.DataFrame({"a": [1.0, 2.0]}), {"n_clusters": 1, "sample_size": 2}, "sample_size"),
    ],
)
def test_bad_input(X, kwargs, field):
    with pytest.raises(ValidationError) as info:
        Segmenter(**kwargs).fit(X)
    assert info.value.field == field


def test_negative_values_allowed_without_log():
    X = pd.DataFrame({"a": np.r_[np.full(20, -5.0), np.full(20, 5.0)] + np.arange(40) * 0.01})
    seg = Segmenter(n_clusters=2, log_transform=False, random_state=0).fit(X)
    np.testing.assert_allclose(seg.profiles_["a"], [5.1, -4.9], atol=0.2)


def test_accepts_a_2d_array():
    X = blobs(seed=5)[["spend", "orders"]].to_numpy()
    seg = Segmenter(n_clusters=3, random_state=0).fit(X)
    assert seg.feature_names_in_.tolist() == ["x0", "x1"]
    np.testing.assert_array_equal(seg.predict(X), seg.labels_)
    with pytest.raises(ValidationError, match="2-D"):
        seg.predict(X[:, 0])


_FITTED_ATTRS = (
    "center_",
    "scale_",
    "cluster_centers_",
    "labels_",
    "inertia_",
    "n_clusters_",
    "algorithm_",
    "silhouette_scores_",
    "feature_names_in_",
    "n_features_in_",
    "value_col_",
    "profiles_",
)


def test_failed_fit_leaves_an_unfitted_estimator_unfitted():
    seg = Segmenter(n_clusters=2)
    with pytest.raises(ValidationError) as info:
        seg.fit(pd.DataFrame({"a": [1.0, 1.0, 1.0]}))  # one distinct row < 2 clusters
    assert info.value.field == "n_clusters"
    assert [a for a in _FITTED_ATTRS if hasattr(seg, a)] == []
    with pytest.raises(NotFittedError):
        seg.predict(pd.DataFrame({"a": [1.0]}))


def test_failed_refit_keeps_the_previous_fit_whole():
    X = blobs(seed=3)
    seg = Segmenter(n_clusters=3, features=["spend", "orders"], random_state=0).fit(X)
    before = {a: getattr(seg, a) for a in _FITTED_ATTRS}
    labels = seg.predict(X)
    same = pd.DataFrame({"spend": [5.0] * 4, "orders": [1.0] * 4})
    with pytest.raises(ValidationError, match="distinct rows"):
        seg.fit(same)
    for name, value in before.items():
        assert getattr(seg, name) is value, name
    np.testing.assert_array_equal(seg.predict(X), labels)
