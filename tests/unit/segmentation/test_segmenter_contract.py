"""Segmenter: the scikit-learn estimator contract and checked JSON persistence."""

from __future__ import annotations

import copy
import json
import math
import warnings

import numpy as np
import pandas as pd
import pytest
from scipy import sparse
from sklearn.base import clone
from sklearn.utils.estimator_checks import check_estimator

from crmcore.errors import NotFittedError, ValidationError
from crmcore.segmentation import Segmenter


def customers(seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    spend = np.r_[rng.lognormal(np.log(10), 0.2, 60), rng.lognormal(np.log(500), 0.2, 40)]
    orders = np.r_[rng.poisson(1, 60), rng.poisson(9, 40)].astype(float)
    return pd.DataFrame({"spend": spend, "orders": orders, "tier": "x"})


# scikit-learn's own checks, run by scikit-learn. The three left out test the *wording*
# (or exception type) of crmcore's shared input checks, not whether bad input is
# refused: complex numbers, a dict inside an object array and NaN/inf are refused with a
# ValidationError that names the column and the row (see the test below), where
# scikit-learn expects its own phrases ("Complex data not supported", a TypeError,
# "NaN"/"inf" spelt that way).
WORDING_ONLY = {"check_complex_data", "check_dtype_object", "check_estimators_nan_inf"}


def test_scikit_learn_estimator_checks():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the checks fit on data made to provoke warnings
        results = check_estimator(
            Segmenter(n_clusters=2, log_transform=False, random_state=0), on_fail=None
        )
    failed = {r["check_name"] for r in results if r["status"] == "failed"}
    assert failed <= WORDING_ONLY, failed
    assert sum(r["status"] == "passed" for r in results) >= 40


@pytest.mark.parametrize(
    "bad",
    [
        np.array([[1.0 + 1j], [2.0]]),
        np.array([[{"a": 1}], [2.0]], dtype=object),
        np.array([[np.nan], [2.0]]),
        np.array([[np.inf], [2.0]]),
    ],
)
def test_bad_values_are_refused_naming_column_and_row(bad):
    with pytest.raises(ValidationError) as info:
        Segmenter(n_clusters=1, log_transform=False).fit(bad)
    assert info.value.field == "x0"


def test_init_stores_hyper_parameters_unchanged_and_validates_nothing():
    features = ["spend", "orders"]
    k_range = (2, 5)
    rng = np.random.default_rng(0)
    seg = Segmenter(features=features, k_range=k_range, random_state=rng, n_clusters="many")
    assert seg.features is features
    assert seg.k_range is k_range
    assert seg.random_state is rng
    assert seg.n_clusters == "many"  # refused by fit, not by __init__
    with pytest.raises(ValidationError) as info:
        seg.fit(customers())
    assert info.value.field == "n_clusters"


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"log_transform": "yes"}, "log_transform"),
        ({"features": "spend"}, "features"),
        ({"features": []}, "features"),
        ({"features": ["spend", 3]}, "features"),
        ({"value_col": 3}, "value_col"),
        ({"k_range": 5}, "k_range"),
        ({"k_range": (2, 3, 4)}, "k_range"),
        ({"max_iter": 0}, "max_iter"),
        ({"batch_size": 1.5}, "batch_size"),
        ({"minibatch_threshold": -1}, "minibatch_threshold"),
    ],
)
def test_fit_validates_hyper_parameters(kwargs, field):
    with pytest.raises(ValidationError) as info:
        Segmenter(**kwargs).fit(customers())
    assert info.value.field == field


def test_fit_returns_self_and_fitted_attributes_end_in_underscore():
    seg = Segmenter(n_clusters=2, random_state=0)
    before = set(vars(seg))
    assert seg.fit(customers(), y=np.zeros(100)) is seg  # y is ignored
    added = set(vars(seg)) - before
    assert added
    assert all(name.endswith("_") and not name.startswith("_") for name in added), added
    assert isinstance(seg.n_iter_, int)
    assert seg.n_iter_ >= 1


def test_clone_gives_an_unfitted_twin_with_equal_parameters():
    seg = Segmenter(n_clusters=3, features=["spend", "orders"], random_state=4)
    seg.fit(customers())
    twin = clone(seg)
    assert twin is not seg
    assert twin.get_params() == seg.get_params()
    assert not hasattr(twin, "cluster_centers_")
    with pytest.raises(NotFittedError):
        twin.predict(customers())
    # the twin fits to the same result (same seed, same data)
    np.testing.assert_array_equal(twin.fit(customers()).labels_, seg.labels_)
    twin.set_params(n_clusters=2)
    assert seg.n_clusters == 3


def test_array_likes_sparse_and_shapes():
    X = customers()[["spend", "orders"]]
    seg = Segmenter(n_clusters=2, random_state=0).fit(X.to_numpy().tolist())
    assert seg.feature_names_in_.tolist() == ["x0", "x1"]
    # after a fit on named columns, an array holds the features in fitted order
    named = Segmenter(n_clusters=2, random_state=0).fit(X)
    np.testing.assert_array_equal(named.predict(X.to_numpy()), named.labels_)
    with pytest.raises(ValidationError, match="X has 3 features, but Segmenter is expecting 2"):
        named.predict(np.ones((4, 3)))
    with pytest.raises(ValidationError, match="Reshape your data"):
        named.predict(np.ones(4))
    with pytest.raises(ValidationError, match="sparse"):
        Segmenter(n_clusters=2).fit(sparse.csr_matrix(X.to_numpy()))
    with pytest.raises(ValidationError, match="empty"):
        Segmenter(n_clusters=2).fit(X.iloc[:0])
    np.testing.assert_allclose(named.fit_transform(X), named.transform(X), rtol=1e-12)


# ---------------------------------------------------------------- persistence


@pytest.fixture(scope="module")
def fitted() -> Segmenter:
    return Segmenter(random_state=0, k_range=(2, 4), value_col="spend").fit(customers())


def test_round_trip_through_strict_json(fitted, tmp_path):
    data = fitted.to_dict()
    text = json.dumps(data, allow_nan=False)  # strict JSON: no NaN tokens
    again = Segmenter.from_dict(json.loads(text))
    X = customers(seed=1)
    np.testing.assert_array_equal(again.predict(X), fitted.predict(X))
    np.testing.assert_allclose(again.transform(X), fitted.transform(X), rtol=1e-12)
    pd.testing.assert_frame_equal(again.profiles_, fitted.profiles_)
    assert again.get_params() == fitted.get_params()
    for name in ("n_clusters_", "n_iter_", "algorithm_", "value_col_", "silhouette_scores_"):
        assert getattr(again, name) == getattr(fitted, name), name
    assert again.inertia_ == fitted.inertia_
    path = tmp_path / "seg.json"
    fitted.save(path)
    np.testing.assert_array_equal(Segmenter.load(path).predict(X), fitted.predict(X))


def test_round_trip_keeps_missing_value_shares():
    # a value column that sums to zero: every value_share is NaN (written as null)
    X = customers().assign(zero=0.0)
    seg = Segmenter(n_clusters=2, features=["spend", "orders"], value_col="zero").fit(X)
    assert seg.profiles_["value_share"].isna().all()
    again = Segmenter.from_dict(json.loads(json.dumps(seg.to_dict(), allow_nan=False)))
    pd.testing.assert_frame_equal(again.profiles_, seg.profiles_)


def test_a_file_without_n_iter_from_crmcore_0_1_still_loads(fitted):
    data = copy.deepcopy(fitted.to_dict())
    del data["fitted"]["n_iter_"]
    again = Segmenter.from_dict(data)
    assert not hasattr(again, "n_iter_")
    np.testing.assert_array_equal(again.predict(customers()), fitted.predict(customers()))


def _broken(fitted: Segmenter, edit) -> dict:
    data = copy.deepcopy(fitted.to_dict())
    edit(data)
    return data


def _set(path: str, value):
    def edit(data):
        *keys, last = path.split(".")
        target = data
        for key in keys:
            target = target[key]
        target[last] = value

    return edit


def _drop(path: str):
    def edit(data):
        *keys, last = path.split(".")
        target = data
        for key in keys:
            target = target[key]
        del target[last]

    return edit


CORRUPTIONS = [
    ("nan centre", _set("fitted.center_", [math.nan, 1.0]), "fitted.center_"),
    ("zero scale", _set("fitted.scale_", [0.0, 1.0]), "fitted.scale_"),
    ("negative scale", _set("fitted.scale_", [-1.0, 1.0]), "fitted.scale_"),
    ("infinite scale", _set("fitted.scale_", [math.inf, 1.0]), "fitted.scale_"),
    ("short centre", _set("fitted.center_", [1.0]), "fitted.center_"),
    ("centres of 3 features", _set("fitted.cluster_centers_", [[0.0, 0.0, 0.0]] * 2), None),
    ("nan in centres", _set("fitted.cluster_centers_", [[math.nan, 0.0], [0.0, 0.0]]), None),
    ("text centre", _set("fitted.center_", ["a", 1.0]), "fitted.center_"),
    ("missing scale", _drop("fitted.scale_"), "fitted.scale_"),
    ("missing fitted", _drop("fitted"), "fitted"),
    ("missing params", _drop("params"), "params"),
    ("unknown param", _set("params.colour", "red"), "params"),
    ("invalid param", _set("params.sample_size", 1), "sample_size"),
    ("other model", _set("model", "KMeans"), "model"),
    ("bad algorithm", _set("fitted.algorithm_", "dbscan"), "fitted.algorithm_"),
    ("zero clusters", _set("fitted.n_clusters_", 0), "fitted.n_clusters_"),
    ("silhouette above 1", _set("fitted.silhouette_scores_", {"2": 1.5}), None),
    ("negative inertia", _set("fitted.inertia_", -1.0), "fitted.inertia_"),
    ("no features", _set("fitted.feature_names_in_", []), "fitted.feature_names_in_"),
    ("repeated feature", _set("fitted.feature_names_in_", ["spend", "spend"]), None),
    ("profile columns", _set("fitted.profiles_.columns", ["size"]), "fitted.profiles_.columns"),
    ("profile rows", _set("fitted.profiles_.data", []), "fitted.profiles_.data"),
    ("value column", _set("fitted.value_col_", None), "fitted.value_col_"),
]


@pytest.mark.parametrize(("what", "edit", "field"), CORRUPTIONS, ids=[c[0] for c in CORRUPTIONS])
def test_corrupt_state_is_refused_naming_the_field(fitted, what, edit, field):
    with pytest.raises(ValidationError) as info:
        Segmenter.from_dict(_broken(fitted, edit))
    if field is not None:
        assert info.value.field == field, what
    else:
        assert str(info.value.field).startswith("fitted."), what


def test_cluster_count_must_agree_with_the_parameter():
    seg = Segmenter(n_clusters=2, random_state=0).fit(customers())
    data = _broken(seg, _set("params.n_clusters", 3))
    with pytest.raises(ValidationError, match=r"params\.n_clusters") as info:
        Segmenter.from_dict(data)
    assert info.value.field == "fitted.n_clusters_"


def test_features_must_agree_with_the_parameter():
    seg = Segmenter(n_clusters=2, features=["spend", "orders"], random_state=0).fit(customers())
    data = _broken(seg, _set("params.features", ["orders", "spend"]))
    with pytest.raises(ValidationError) as info:
        Segmenter.from_dict(data)
    assert info.value.field == "fitted.feature_names_in_"


def test_load_refuses_what_is_not_json(tmp_path):
    path = tmp_path / "seg.json"
    path.write_text("not json at all", encoding="utf-8")
    with pytest.raises(ValidationError, match="not JSON"):
        Segmenter.load(path)
    path.write_text("[1, 2]", encoding="utf-8")
    with pytest.raises(ValidationError, match="not a serialised Segmenter"):
        Segmenter.load(path)
