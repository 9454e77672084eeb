"""Unit tests for the BG/BB model."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone

from crmcore.clv import BetaGeoBetaBinomModel, simulate_bgbb
from crmcore.clv._bgbb import _rows, bgbb_expected_new, bgbb_loglik_grad
from crmcore.errors import NotFittedError, ValidationError


@pytest.fixture(scope="module")
def sim() -> pd.DataFrame:
    return simulate_bgbb(
        40_000, alpha=1.2, beta=0.75, gamma=0.66, delta=2.8, n_periods=8, random_state=3
    )


@pytest.fixture(scope="module")
def fitted(sim: pd.DataFrame) -> BetaGeoBetaBinomModel:
    return BetaGeoBetaBinomModel().fit(sim)


def test_gradient_matches_central_differences() -> None:
    x = np.array([0.0, 1, 3, 6, 2])
    tx = np.array([0.0, 1, 5, 6, 6])
    n = np.array([6.0, 6, 6, 6, 9])
    d = _rows(x, tx, n, np.array([5.0, 2, 1, 3, 1]))
    th = np.array([1.3, 0.7, 0.5, 2.2])
    _, grad = bgbb_loglik_grad(th, d)
    num = np.empty(4)
    for j in range(4):
        h = 1e-6 * th[j]
        up, down = th.copy(), th.copy()
        up[j] += h
        down[j] -= h
        num[j] = (bgbb_loglik_grad(up, d)[0] - bgbb_loglik_grad(down, d)[0]) / (2 * h)
    np.testing.assert_allclose(grad, num, rtol=1e-6)


def test_recovers_simulation_parameters(fitted: BetaGeoBetaBinomModel) -> None:
    truth = {"alpha": 1.2, "beta": 0.75, "gamma": 0.66, "delta": 2.8}
    for k, v in truth.items():
        assert abs(fitted.params_[k] - v) < 3.5 * fitted.standard_errors_[k], k


def test_aggregated_with_weights_equals_expanded(sim: pd.DataFrame) -> None:
    cols = sim[["frequency", "recency", "n_periods"]].iloc[:3000]
    agg = cols.value_counts().reset_index(name="count")
    a = BetaGeoBetaBinomModel().fit(agg[["frequency", "recency", "n_periods"]], agg["count"])
    b = BetaGeoBetaBinomModel().fit(cols)
    assert a.log_likelihood_ == pytest.approx(b.log_likelihood_, rel=1e-10)
    for k in a.params_:
        assert a.params_[k] == pytest.approx(b.params_[k], rel=1e-6)


def test_predictions(fitted: BetaGeoBetaBinomModel, sim: pd.DataFrame) -> None:
    rows = sim.iloc[:100]
    alive = fitted.probability_alive(rows)
    assert ((alive >= 0) & (alive <= 1)).all()
    e1 = np.asarray(fitted.expected_purchases(1, rows))
    e5 = np.asarray(fitted.expected_purchases(5, rows))
    assert (e5 >= e1).all()
    # Alive customers buy with the posterior mean probability; E[X(n, n+1)] <= P(alive).
    assert (e1 <= np.asarray(alive) + 1e-12).all()
    new = fitted.expected_purchases_new_customer(np.array([0, 1, 5]))
    assert new[0] == 0.0
    assert np.all(np.diff(new) > 0)


def test_expected_new_is_continuous_at_gamma_one() -> None:
    m = np.array([1.0, 5.0, 20.0])
    at = bgbb_expected_new(np.array([1.2, 0.75, 1.0, 2.8]), m)
    near = bgbb_expected_new(np.array([1.2, 0.75, 1.0 + 1e-5, 2.8]), m)
    np.testing.assert_allclose(at, near, rtol=1e-4)
    # First opportunity: alive with probability delta/(gamma+delta), buys with alpha/(alpha+beta).
    one = bgbb_expected_new(np.array([1.2, 0.75, 0.66, 2.8]), np.array([1.0]))
    assert one[0] == pytest.approx(1.2 / 1.95 * 2.8 / 3.46, rel=1e-12)


def test_simulator_matches_model_means(fitted: BetaGeoBetaBinomModel, sim: pd.DataFrame) -> None:
    # Mean frequency of the simulated cohort vs the model's E[X(8)] at the truth.
    truth = np.array([1.2, 0.75, 0.66, 2.8])
    expected = bgbb_expected_new(truth, np.array([8.0]))[0]
    se = sim["frequency"].std() / np.sqrt(len(sim))
    assert abs(sim["frequency"].mean() - expected) < 4 * se
    assert (sim["frequency"] <= sim["recency"]).all()


def test_validation_and_conventions() -> None:
    model = BetaGeoBetaBinomModel()
    with pytest.raises(NotFittedError):
        model.probability_alive(np.array([[0, 0, 6]]))
    with pytest.raises(ValidationError, match="recency"):
        model.fit(np.array([[1, 7, 6]]))
    with pytest.raises(ValidationError, match="frequency"):
        model.fit(np.array([[3, 2, 6]]))
    with pytest.raises(ValidationError, match="recency"):
        model.fit(np.array([[1, 1.5, 6]]))
    assert clone(BetaGeoBetaBinomModel(max_iter=5)).get_params()["max_iter"] == 5
