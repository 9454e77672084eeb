from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.metrics import roc_auc_score

from crmcore.churn import ChurnClassifier
from crmcore.errors import NotFittedError, ValidationError


def _data(n=2000, seed=0, rate=0.5):
    rng = np.random.default_rng(seed)
    recency = rng.exponential(30, n)
    tickets = rng.poisson(1.0, n)
    region = rng.choice(["north", "south", "east"], n)
    logit = -1.5 + recency / 30 + 0.8 * tickets + (region == "south") * 1.0
    logit += np.log(rate / 0.5)
    y = (rng.uniform(size=n) < 1 / (1 + np.exp(-logit))).astype(int)
    gap = np.where(rng.uniform(size=n) < 0.2, np.nan, rng.gamma(2, 10, n))
    X = pd.DataFrame(
        {
            "recency": recency,
            "tickets": tickets,
            "region": region,
            "interpurchase": gap,
            "noise": rng.normal(size=n),
            "first_purchase": pd.Timestamp("2024-01-01") + pd.to_timedelta(recency, unit="D"),
        },
        index=pd.Index([f"c{i}" for i in range(n)], name="customer_id"),
    )
    return X, pd.Series(y, index=X.index, name="churn")


@pytest.fixture(scope="module")
def data():
    return _data()


@pytest.fixture(scope="module")
def fitted(data):
    X, y = data
    return ChurnClassifier(n_threads=1, random_state=1, max_iter=50).fit(X, y)


def test_fit_predict_and_importances(data, fitted):
    X, y = data
    p = fitted.predict_proba(X)
    assert p.shape == (len(X), 2)
    np.testing.assert_allclose(p.sum(axis=1), 1.0, rtol=1e-12)
    assert ((p >= 0) & (p <= 1)).all()
    assert roc_auc_score(y, p[:, 1]) > 0.75
    # datetime columns are skipped; strings are used as categories
    assert list(fitted.feature_names_in_) == [
        "recency",
        "tickets",
        "interpurchase",
        "noise",
        "region",
    ]
    imp = fitted.feature_importances_
    assert imp.index.tolist() == list(fitted.feature_names_in_)
    assert imp["recency"] > imp["noise"]
    assert imp["tickets"] > imp["noise"]
    assert abs(imp["noise"]) < 0.02
    assert set(fitted.validation_scores_) == {"roc_auc", "brier", "n"}
    assert fitted.validation_scores_["n"] == 400
    assert type(fitted.validation_scores_["n"]) is int
    np.testing.assert_array_equal(fitted.predict(X), (p[:, 1] >= 0.5).astype(int))
    s = fitted.churn_probability(X)
    assert s.index.equals(X.index)


def test_calibrated_probabilities_match_rates_under_imbalance():
    X, y = _data(n=5000, seed=2, rate=0.08)
    clf = ChurnClassifier(n_threads=1, random_state=0, max_iter=40).fit(X, y)
    Xt, yt = _data(n=5000, seed=3, rate=0.08)
    p = clf.predict_proba(Xt)[:, 1]
    # balanced class weights would push the mean towards 0.5; calibration restores it
    np.testing.assert_allclose(p.mean(), yt.mean(), atol=0.02)
    raw = ChurnClassifier(n_threads=1, calibration=None, random_state=0, max_iter=40).fit(X, y)
    assert raw.predict_proba(Xt)[:, 1].mean() > yt.mean() + 0.1


def test_split_calibration_gives_calibrated_probabilities():
    X, y = _data(n=5000, seed=2, rate=0.08)
    clf = ChurnClassifier(n_threads=1, calibration_cv="split", random_state=0, max_iter=40)
    clf.fit(X, y)
    Xt, yt = _data(n=5000, seed=3, rate=0.08)
    p = clf.predict_proba(Xt)[:, 1]
    np.testing.assert_allclose(p.mean(), yt.mean(), atol=0.02)


def test_logistic_option_handles_missing_values_and_categories(data):
    X, y = data
    clf = ChurnClassifier(
        n_threads=1, model="logistic", calibration="sigmoid", random_state=0
    ).fit(X, y)
    p = clf.predict_proba(X)[:, 1]
    assert roc_auc_score(y, p) > 0.75
    assert clf.feature_importances_["recency"] > clf.feature_importances_["noise"]


def test_high_cardinality_categories_are_pooled(data):
    X, y = data
    X = X.assign(city=[f"city{i % 700}" for i in range(len(X))])
    clf = ChurnClassifier(n_threads=1, max_iter=10, n_repeats=1, random_state=0).fit(X, y)
    assert "city" in clf.feature_names_in_
    unseen = X.iloc[:5].assign(city="atlantis")
    assert clf.predict_proba(unseen).shape == (5, 2)


@pytest.mark.slow
def test_same_seed_same_model(data):
    X, y = data
    a = (
        ChurnClassifier(n_threads=1, random_state=5, max_iter=20, n_repeats=2)
        .fit(X, y)
        .predict_proba(X)
    )
    b = (
        ChurnClassifier(n_threads=1, random_state=5, max_iter=20, n_repeats=2)
        .fit(X, y)
        .predict_proba(X)
    )
    np.testing.assert_array_equal(a, b)


def test_labels_series_are_aligned_on_the_index(data):
    X, y = data
    subset = y.iloc[::2].sample(frac=1.0, random_state=0)
    clf = ChurnClassifier(
        n_threads=1, random_state=0, max_iter=20, n_repeats=2, features=["recency", "tickets"]
    )
    clf.fit(X, subset)
    ref = ChurnClassifier(
        n_threads=1, random_state=0, max_iter=20, n_repeats=2, features=["recency", "tickets"]
    )
    ref.fit(X.loc[subset.index], subset.to_numpy())
    np.testing.assert_allclose(clf.predict_proba(X), ref.predict_proba(X), rtol=1e-12)
    stranger = pd.concat([subset, pd.Series([1], index=["nobody"])])
    with pytest.raises(ValidationError, match="without features"):
        clf.fit(X, stranger)


def test_sklearn_conventions(fitted):
    params = fitted.get_params()
    assert params["random_state"] == 1
    fresh = clone(fitted)
    assert not hasattr(fresh, "model_")
    fresh.set_params(model="logistic")
    assert fresh.model == "logistic"
    with pytest.raises(NotFittedError):
        fresh.predict_proba(pd.DataFrame({"recency": [1.0]}))
    json.dumps(fitted.validation_scores_)


def test_no_validation_split_means_no_importances(data):
    X, y = data
    clf = ChurnClassifier(n_threads=1, validation_fraction=0, random_state=0, max_iter=20).fit(
        X, y
    )
    assert not hasattr(clf, "feature_importances_")
    assert clf.validation_scores_ == {}


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"model": "forest"}, "model"),
        ({"calibration": "beta"}, "calibration"),
        ({"class_weight": {0: 1}}, "class_weight"),
        ({"calibration_cv": 1}, "calibration_cv"),
        ({"calibration_cv": "folds"}, "calibration_cv"),
        ({"validation_fraction": 0.95}, "validation_fraction"),
        ({"learning_rate": 0}, "learning_rate"),
        ({"C": -1}, "C"),
        ({"features": "recency"}, "features"),
        ({"features": ["recency", "nope"]}, "nope"),
        ({"features": ["first_purchase"]}, "first_purchase"),
    ],
)
def test_bad_parameters_are_refused_in_fit(data, params, field):
    X, y = data
    clf = ChurnClassifier(**params)  # __init__ never validates
    with pytest.raises(ValidationError) as info:
        clf.fit(X, y)
    assert info.value.field == field


def test_bad_data_is_refused(data):
    X, y = data
    with pytest.raises(ValidationError, match="single class"):
        ChurnClassifier(n_threads=1).fit(X, pd.Series(0, index=X.index))
    with pytest.raises(ValidationError, match="0 or 1"):
        ChurnClassifier(n_threads=1).fit(X, y.replace({1: 2}))
    with pytest.raises(ValidationError, match="one entry per row"):
        ChurnClassifier(n_threads=1).fit(X, y.to_numpy()[:-1])
    bad = X.copy()
    bad.iloc[3, 0] = np.inf
    with pytest.raises(ValidationError) as info:
        ChurnClassifier(n_threads=1).fit(bad, y)
    assert info.value.field == "recency"
    assert info.value.row == "c3"
    with pytest.raises(ValidationError, match="DataFrame"):
        ChurnClassifier(n_threads=1).fit(X.to_numpy(), y)
    rare = y.copy()
    rare[:] = 0
    rare.iloc[:5] = 1
    with pytest.raises(ValidationError, match="rarer class"):
        ChurnClassifier(n_threads=1).fit(X, rare)


def test_predict_needs_the_fit_columns(fitted, data):
    X, _ = data
    with pytest.raises(ValidationError, match="missing column"):
        fitted.predict_proba(X.drop(columns="tickets"))


def test_score_is_roc_auc_with_labels_aligned_like_fit(data, fitted):
    X, y = data
    p = fitted.predict_proba(X)[:, 1]
    np.testing.assert_allclose(fitted.score(X, y), roc_auc_score(y, p), rtol=1e-12)
    np.testing.assert_allclose(fitted.score(X, y.to_numpy()), fitted.score(X, y), rtol=1e-12)
    np.testing.assert_allclose(fitted.score(X, y.astype(bool)), fitted.score(X, y), rtol=1e-12)
    # a Series is aligned on the index, as in fit
    shuffled = y.sample(frac=1.0, random_state=1)
    np.testing.assert_allclose(fitted.score(X, shuffled), fitted.score(X, y), rtol=1e-12)
    w = np.linspace(0.5, 2.0, len(y))
    np.testing.assert_allclose(
        fitted.score(X, y, sample_weight=w), roc_auc_score(y, p, sample_weight=w), rtol=1e-12
    )


def test_boolean_labels_fit_like_zero_one(data):
    X, y = data
    kw = {"n_threads": 1, "random_state": 0, "max_iter": 20, "n_repeats": 1}
    a = ChurnClassifier(**kw).fit(X, y).predict_proba(X)
    b = ChurnClassifier(**kw).fit(X, y.astype(bool)).predict_proba(X)
    np.testing.assert_array_equal(a, b)


# ---------------------------------------------------------------- persistence

# Every kind of model and calibration; predictions of the loaded model equal the
# fitted one's to rtol=1e-9, atol=1e-12 (boosting is bit-identical; the logistic
# regression sums its terms in another order than scikit-learn: last bits differ).
_KINDS = [
    {"model": "hist_gradient_boosting", "calibration": "isotonic"},
    {"model": "hist_gradient_boosting", "calibration": "isotonic", "calibration_cv": "split"},
    {"model": "hist_gradient_boosting", "calibration": "sigmoid"},
    {"model": "hist_gradient_boosting", "calibration": None},
    {"model": "logistic", "calibration": "isotonic"},
    {"model": "logistic", "calibration": "sigmoid"},
    {"model": "logistic", "calibration": None},
]


def _scoring_frame(n=3000, seed=9):
    X, _ = _data(n=n, seed=seed)
    X = X.assign(city=[f"city{i % 300}" for i in range(n)])
    X.loc[X.index[:40], "region"] = np.nan  # missing category
    X.loc[X.index[40:60], "region"] = "west"  # unseen category
    X.loc[X.index[60:80], "city"] = "atlantis"
    X.loc[X.index[80:120], "interpurchase"] = np.nan
    return X


@pytest.mark.parametrize("kind", _KINDS, ids=lambda k: "-".join(str(v) for v in k.values()))
def test_json_round_trip_predicts_identically(data, kind, tmp_path):
    X, y = data
    X = X.assign(city=[f"city{i % 280}" for i in range(len(X))])  # > 250: pooled for boosting
    clf = ChurnClassifier(n_threads=1, random_state=3, max_iter=40, n_repeats=1, **kind)
    clf.fit(X, y)
    path = tmp_path / "churn.json"
    clf.save(path)
    text = path.read_text(encoding="utf-8")
    assert "pickle" not in text
    again = ChurnClassifier.load(path)
    assert again.get_params() == clf.get_params()
    Xt = _scoring_frame()
    np.testing.assert_allclose(
        again.predict_proba(Xt), clf.predict_proba(Xt), rtol=1e-9, atol=1e-12
    )
    if kind["model"] == "hist_gradient_boosting":
        np.testing.assert_array_equal(again.predict_proba(Xt), clf.predict_proba(Xt))
    pd.testing.assert_series_equal(again.feature_importances_, clf.feature_importances_)
    assert again.validation_scores_ == clf.validation_scores_
    np.testing.assert_allclose(again.score(X, y), clf.score(X, y), rtol=1e-9)
    # the loaded model saves again to the same document
    assert again.to_dict() == json.loads(text)


def test_saving_needs_a_fit_and_refuses_what_json_cannot_hold(data, fitted, tmp_path):
    X, y = data
    with pytest.raises(NotFittedError):
        ChurnClassifier().save(tmp_path / "x.json")
    # an object column of codes is a category column; an infinite code has no JSON form
    codes = {"north": 1.0, "south": 2.0, "east": np.inf}
    odd = X.assign(region=X["region"].map(codes).astype(object))
    clf = ChurnClassifier(n_threads=1, max_iter=10, n_repeats=1, random_state=0).fit(odd, y)
    with pytest.raises(ValidationError, match="category inf") as info:
        clf.save(tmp_path / "odd.json")
    assert info.value.field == "region"
    assert not (tmp_path / "odd.json").exists()
    state = fitted.to_dict()
    with pytest.raises(ValidationError, match="not a saved ChurnClassifier"):
        ChurnClassifier.from_dict({**state, "model": "Segmenter"})
    with pytest.raises(ValidationError, match="schema version"):
        ChurnClassifier.from_dict({**state, "schema_version": 0})
    broken = json.loads(json.dumps(state))
    broken["fitted"]["model_"]["model"]["trees"][0]["left"] = [10**6]
    with pytest.raises(ValidationError, match="tree"):
        ChurnClassifier.from_dict(broken)


def test_trees_that_do_not_replay_refuse_to_save(data, monkeypatch):
    # If a scikit-learn release changed the layout of its fitted trees, what crmcore
    # reads would no longer give scikit-learn's predictions: saving must refuse.
    from crmcore.churn import _portable

    X, y = data
    clf = ChurnClassifier(n_threads=1, max_iter=10, n_repeats=1, random_state=0).fit(X, y)
    real = _portable._Tree.predict
    monkeypatch.setattr(_portable._Tree, "predict", lambda self, Z: real(self, Z) * 1.0001)
    with pytest.raises(ValidationError, match="model='logistic'") as info:
        clf.to_dict()
    assert info.value.field == "model"
    monkeypatch.setattr(_portable._Tree, "predict", real)
    booster = clf.model_.calibrated_classifiers_[0].estimator.steps[-1][1]
    monkeypatch.setattr(booster, "_predictors", None)
    with pytest.raises(ValidationError, match="attributes are not the ones crmcore knows"):
        clf.to_dict()


@pytest.mark.parametrize("n", [1, 2, 7, 8, 1001])
@pytest.mark.parametrize("missing", [0.0, 0.3])
def test_logistic_imputer_medians_are_scikit_learns(n, missing):
    # the logistic pipeline's median imputer partitions instead of sorting a masked
    # array: the medians (and so the model) must be scikit-learn's, to the bit
    from sklearn.impute import SimpleImputer

    from crmcore.churn._classifier import _MedianImputer

    rng = np.random.default_rng(n)
    X = np.round(rng.exponential(3.0, size=(n, 4)), 1)  # ties, as in day counts
    X[:, 1] = -X[:, 1]
    X[:, 3] *= 1e300  # (low + high) / 2, not low / 2 + high / 2
    X[rng.uniform(size=X.shape) < missing] = np.nan
    X[0] = 2.5  # no column without an observed value
    ours = _MedianImputer(strategy="median", add_indicator=True).fit(X)
    theirs = SimpleImputer(strategy="median", add_indicator=True).fit(X)
    assert ours.statistics_.tobytes() == theirs.statistics_.tobytes()
    indicated = getattr(theirs, "indicator_", None)
    assert (getattr(ours, "indicator_", None) is None) == (indicated is None)
    if indicated is not None:
        np.testing.assert_array_equal(ours.indicator_.features_, indicated.features_)
    probe = X.copy()
    probe[-1, 2] = np.nan
    np.testing.assert_array_equal(ours.transform(probe), theirs.transform(probe))
