"""Uplift estimators on data with a known uplift; Qini curves; the estimator contract."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.ensemble import HistGradientBoostingRegressor

from crmcore.errors import NotFittedError, ValidationError
from crmcore.marketing import TwoModelUplift, XLearnerUplift, qini_curve, uplift_at_k


def synthetic(n=20_000, seed=0, treated_share=0.5):
    rng = np.random.default_rng(seed)
    x = rng.random((n, 3))
    tau = 0.15 * x[:, 0]  # the true uplift depends on the first feature only
    base = 0.05 + 0.1 * x[:, 1]
    t = rng.random(n) < treated_share
    y = rng.random(n) < base + t * tau
    return pd.DataFrame(x, columns=["x0", "x1", "x2"]), t, y, tau


@pytest.mark.parametrize("model", [TwoModelUplift(), XLearnerUplift()])
def test_recovers_the_true_uplift(model):
    X, t, y, tau = synthetic()
    fitted = clone(model).fit(X[:10_000], y[:10_000], treatment=t[:10_000])
    pred = fitted.predict(X[10_000:])
    assert np.corrcoef(pred, tau[10_000:])[0, 1] > 0.8
    assert abs(pred.mean() - tau.mean()) < 0.02
    top = uplift_at_k(pred, t[10_000:], y[10_000:], k=0.2)
    bottom = uplift_at_k(-pred, t[10_000:], y[10_000:], k=0.2)
    assert top > bottom + 0.08  # true uplift: 0.135 in the top fifth, 0.015 in the bottom


def test_x_learner_with_a_small_control_group_and_a_flexible_model():
    X, t, y, tau = synthetic(n=30_000, seed=3, treated_share=0.9)
    model = XLearnerUplift(
        effect_estimator=HistGradientBoostingRegressor(max_depth=2, max_iter=50),
        random_state=0,
    ).fit(X, y, treatment=t)
    assert model.propensity_ == pytest.approx(0.9, abs=0.01)
    assert np.corrcoef(model.predict(X), tau)[0, 1] > 0.5


def test_qini_curve_of_the_true_uplift_beats_random():
    _X, t, y, tau = synthetic(seed=5)
    curve = qini_curve(tau, t, y, points=10)
    assert list(curve.columns) == ["n", "fraction", "qini", "random"]
    assert curve["n"].iloc[0] == 0
    assert curve["n"].iloc[-1] == len(t)
    assert curve["qini"].iloc[-1] == pytest.approx(curve["random"].iloc[-1], rel=1e-12)
    inner = curve.iloc[1:-1]
    assert (inner["qini"] > inner["random"]).all()
    every = qini_curve(tau, t, y, points=None)
    assert len(every) == len(t) + 1


def test_qini_value_by_hand():
    # sorted by score: t1 y1, c0 y1, t1 y0, c0 y0
    curve = qini_curve([4, 3, 2, 1], [1, 0, 1, 0], [1, 1, 0, 0], points=None)
    # after 3: 1 treated conversion - 1 control conversion x (2 treated / 1 control) = -1
    assert curve["qini"].tolist() == pytest.approx([0.0, 1.0, 0.0, -1.0, 0.0], abs=1e-12)


def test_estimator_contract():
    model = TwoModelUplift(random_state=3)
    assert clone(model).get_params()["random_state"] == 3
    with pytest.raises(NotFittedError):
        model.predict(np.zeros((2, 3)))
    X, t, y, _ = synthetic(n=500)
    assert model.fit(X, y, treatment=t) is model
    assert model.n_features_in_ == 3
    with pytest.raises(ValidationError, match="never pickles"):
        model.to_dict()
    with pytest.raises(ValidationError, match="both treated"):
        model.fit(X, y, treatment=np.ones(len(y), dtype=bool))
    with pytest.raises(ValidationError, match="0/1 or bool"):
        model.fit(X, y, treatment=np.full(len(y), 2))
    with pytest.raises(ValidationError, match="propensity"):
        XLearnerUplift(propensity=1.5).fit(X, y, treatment=t)


def test_revenue_outcomes_use_a_regressor():
    rng = np.random.default_rng(2)
    X = pd.DataFrame({"x": rng.random(4000)})
    t = rng.random(4000) < 0.5
    revenue = rng.gamma(2, 10, 4000) + t * 20 * X["x"].to_numpy()
    pred = TwoModelUplift().fit(X, revenue, treatment=t).predict(X)
    assert np.corrcoef(pred, X["x"])[0, 1] > 0.95


def test_uplift_at_k_without_both_groups_is_nan():
    assert np.isnan(uplift_at_k([3, 2, 1, 0], [1, 1, 0, 0], [1, 0, 1, 0], k=0.5))
    with pytest.raises(ValidationError, match="k must lie"):
        uplift_at_k([1, 2], [1, 0], [1, 0], k=0)
