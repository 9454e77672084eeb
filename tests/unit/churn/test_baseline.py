"""PAliveBaseline follows the scikit-learn estimator contract and saves to JSON."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import cross_val_score
from sklearn.utils import get_tags

from crmcore.churn import PAliveBaseline, churn_labels, simulate_churn_transactions
from crmcore.errors import NotFittedError, ValidationError

AS_OF = pd.Timestamp("2024-06-30")


@pytest.fixture(scope="module")
def data():
    log = simulate_churn_transactions(2000, start="2023-01-01", random_state=2)
    y = churn_labels(log, as_of=AS_OF, horizon="90D")
    X = PAliveBaseline().summarize(log[log["date"] <= AS_OF], as_of=AS_OF)
    return X.loc[y.index], y


def test_hyper_parameters_are_stored_unchanged_and_clone_works():
    base = PAliveBaseline(target="no_purchase", horizon="90D", freq="W", penalizer=0.1)
    assert base.get_params() == {
        "target": "no_purchase",
        "horizon": "90D",
        "freq": "W",
        "penalizer": 0.1,
    }
    copy = clone(base)
    assert copy.get_params() == base.get_params()
    assert clone(PAliveBaseline(target="gone")).target == "gone"  # __init__ never validates
    with pytest.raises(TypeError):
        PAliveBaseline("dead")  # keyword-only


def test_fit_uses_the_summary_and_needs_no_labels(data):
    X, y = data
    base = PAliveBaseline().fit(X)
    assert not get_tags(base).target_tags.required
    assert get_tags(base).estimator_type == "classifier"
    assert set(base.model_.params_) == {"r", "alpha", "a", "b"}
    np.testing.assert_array_equal(base.classes_, [0, 1])
    p = base.predict_proba(X)
    assert p.shape == (len(X), 2)
    np.testing.assert_allclose(p.sum(axis=1), 1.0, rtol=1e-12)
    alive = base.model_.probability_alive(X).to_numpy()
    np.testing.assert_allclose(p[:, 1], 1.0 - alive, rtol=1e-12)
    np.testing.assert_array_equal(base.predict(X), (p[:, 1] >= 0.5).astype(int))
    s = base.churn_probability(X)
    assert s.name == "churn_probability"
    assert s.index.equals(X.index)
    # y is checked (one 0/1 label per row) but, by design, not used to fit
    with_y = PAliveBaseline().fit(X, y).predict_proba(X)
    np.testing.assert_array_equal(with_y, p)
    with pytest.raises(ValidationError, match="one entry per row"):
        PAliveBaseline().fit(X, y.iloc[:-1])


def test_score_is_roc_auc_like_the_classifier(data):
    X, y = data
    base = PAliveBaseline(target="no_purchase", horizon="90D").fit(X)
    p = base.predict_proba(X)[:, 1]
    np.testing.assert_allclose(base.score(X, y), roc_auc_score(y, p), rtol=1e-12)
    np.testing.assert_allclose(base.score(X, y.astype(bool)), base.score(X, y), rtol=1e-12)
    # a Series is aligned on the summary's index
    shuffled = y.sample(frac=1.0, random_state=0)
    np.testing.assert_allclose(base.score(X, shuffled), base.score(X, y), rtol=1e-12)
    scores = cross_val_score(PAliveBaseline(), X, y, cv=3)
    assert scores.shape == (3,)
    assert (scores > 0.6).all()
    with pytest.raises(ValidationError, match="single class"):
        base.score(X, np.zeros(len(X)))


def test_no_purchase_probability_follows_the_formula(data):
    X, _ = data
    base = PAliveBaseline(target="no_purchase", horizon="70D").fit(X)
    r, alpha = base.model_.params_["r"], base.model_.params_["alpha"]
    x, T = X["frequency"].to_numpy(), X["T"].to_numpy()
    alive = base.model_.probability_alive(X).to_numpy()
    expected = 1 - alive * (1 - ((alpha + T) / (alpha + T + 70)) ** (r + x))
    np.testing.assert_allclose(base.predict_proba(X)[:, 1], expected, rtol=1e-10)
    weekly = PAliveBaseline(target="no_purchase", horizon="70D", freq="W")
    assert weekly._check_params() == pytest.approx(10.0, rel=1e-12)


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"target": "gone"}, "target"),
        ({"target": "no_purchase"}, "horizon"),
        ({"target": "no_purchase", "horizon": 90}, "horizon"),
        ({"penalizer": -1.0}, "penalizer"),
        ({"freq": "M"}, "freq"),
    ],
)
def test_bad_hyper_parameters_are_refused_in_fit(data, params, field):
    X, _ = data
    with pytest.raises(ValidationError) as info:
        PAliveBaseline(**params).fit(X)
    assert info.value.field == field


def test_not_fitted(data):
    X, _ = data
    with pytest.raises(NotFittedError):
        PAliveBaseline().predict_proba(X)
    with pytest.raises(NotFittedError):
        PAliveBaseline().to_dict()


def test_json_round_trip_predicts_identically(data, tmp_path):
    X, _ = data
    base = PAliveBaseline(target="no_purchase", horizon="90D", penalizer=0.01).fit(X)
    path = tmp_path / "baseline.json"
    base.save(path)
    assert path.read_text(encoding="utf-8").startswith("{")
    again = PAliveBaseline.load(path)
    assert again.get_params() == base.get_params()
    np.testing.assert_allclose(again.predict_proba(X), base.predict_proba(X), rtol=1e-12)
    state = json.loads(path.read_text(encoding="utf-8"))
    with pytest.raises(ValidationError, match="not a saved PAliveBaseline"):
        PAliveBaseline.from_dict({**state, "model": "ChurnClassifier"})
    with pytest.raises(ValidationError, match="schema version"):
        PAliveBaseline.from_dict({**state, "schema_version": 99})
    with pytest.raises(ValidationError, match="unknown parameter"):
        PAliveBaseline.from_dict({**state, "params": {**state["params"], "speed": 1}})


def test_former_score_of_a_log_still_works(data):
    log = simulate_churn_transactions(500, start="2023-01-01", random_state=5)
    past = log[log["date"] <= AS_OF]
    base = PAliveBaseline(target="no_purchase")
    with pytest.warns(DeprecationWarning, match="PAliveBaseline.score\\(\\)"):
        old = base.score(past, as_of=AS_OF, horizon=pd.Timedelta("90D"))
    X = base.summarize(past, as_of=AS_OF)
    new = PAliveBaseline(target="no_purchase", horizon="90D").fit(X).churn_probability(X)
    np.testing.assert_allclose(old.to_numpy(), new.to_numpy(), rtol=1e-12)
    assert old.name == "churn_score"
    with pytest.raises(ValidationError, match="needs the labels"):
        base.score(X)
