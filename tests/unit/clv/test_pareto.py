"""Unit tests for the Pareto/NBD model: likelihood vs mpmath, gradient, queries."""

from __future__ import annotations

import json
from pathlib import Path

import mpmath as mp
import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone

from crmcore.clv import (
    GammaGammaModel,
    ParetoNBDModel,
    customer_lifetime_value,
    simulate_pareto_nbd,
)
from crmcore.clv._pareto_core import (
    log_g,
    log_g_value,
    pnbd_loglik_grad,
    pnbd_loglik_rows,
    prepare_pnbd,
)
from crmcore.errors import ConvergenceWarning, NotFittedError, ValidationError


def _mp_loglik(th: tuple[float, ...], x: float, tx: float, T: float) -> float:
    """FH 2005 eq. 3 integrated over λ, μ: the dropout integral by 40-digit quadrature."""
    mp.mp.dps = 40
    r, a, s, b = (mp.mpf(v) for v in th)
    x_, tx_, T_ = mp.mpf(x), mp.mpf(tx), mp.mpf(T)
    integral = (
        mp.quad(lambda u: (a + u) ** (-(r + x_)) * (b + u) ** (-(s + 1)), [tx_, T_])
        if tx < T
        else mp.mpf(0)
    )
    e1 = (a + T_) ** (-(r + x_)) * (b + T_) ** (-s)
    const = mp.gamma(r + x_) * a**r * b**s / mp.gamma(r)
    return float(mp.log(const * (e1 + s * integral)))


EXTREME = [
    # (r, alpha, s, beta): typical, alpha == beta, s == 1, beta << alpha (z -> 1),
    # alpha << beta with x = 0 and r < 1 (q < 1 near z = 1), huge scales.
    (0.55, 10.58, 0.61, 11.67),
    (0.8, 5.0, 0.7, 5.0),
    (0.55, 10.58, 1.0, 1e-4),
    (0.05, 100.0, 1.0, 100.0),
    (0.3, 0.01, 0.4, 50.0),
    (2.0, 1e3, 0.1, 0.01),
]
ROWS = np.array(
    [
        [0, 0.0, 38.86],
        [2, 30.43, 38.86],
        [5, 10.0, 38.86],
        [300, 38.0, 38.86],
        [500, 38.859, 38.86],
        [1, 38.86, 38.86],  # t_x == T
    ]
)


@pytest.mark.parametrize("theta", EXTREME)
def test_loglik_agrees_with_mpmath_at_extreme_inputs(theta: tuple[float, ...]) -> None:
    got = pnbd_loglik_rows(np.array(theta), ROWS[:, 0], ROWS[:, 1], ROWS[:, 2])
    ref = [_mp_loglik(theta, *row) for row in ROWS]
    assert np.all(np.isfinite(got))
    # atol: an error in log L is the relative error of L (one row's log L is -5.6e-5).
    np.testing.assert_allclose(got, ref, rtol=1e-9, atol=1e-10)


@pytest.mark.parametrize("theta", EXTREME)
def test_analytic_gradient_matches_central_differences(theta: tuple[float, ...]) -> None:
    th = np.array(theta)
    d = prepare_pnbd(ROWS[:, 0], ROWS[:, 1], ROWS[:, 2], np.array([3.0, 1, 2, 1, 1, 4]))
    _, grad = pnbd_loglik_grad(th, d)
    num = np.empty(4)
    for j in range(4):
        h = 1e-6 * th[j]
        up, down = th.copy(), th.copy()
        up[j] += h
        down[j] -= h
        num[j] = (pnbd_loglik_grad(up, d)[0] - pnbd_loglik_grad(down, d)[0]) / (2 * h)
    np.testing.assert_allclose(grad, num, rtol=2e-5, atol=1e-6 * np.abs(num).max())


def test_log_g_is_continuous_across_alpha_equals_beta() -> None:
    x = np.array([0.0, 3.0, 40.0])
    t = np.array([0.0, 5.0, 30.0])
    below = log_g(np.array([0.5, 10.0 - 1e-9, 0.7, 10.0]), x, t)
    above = log_g(np.array([0.5, 10.0 + 1e-9, 0.7, 10.0]), x, t)
    # The branches meet: the step in log G is the derivative times the step.
    np.testing.assert_allclose(above[0] - below[0], below[1][1] * 2e-9, rtol=1e-4, atol=1e-14)
    np.testing.assert_allclose(below[1], above[1], rtol=1e-6, atol=1e-9)


@pytest.fixture(scope="module")
def sim() -> pd.DataFrame:
    return simulate_pareto_nbd(20_000, r=0.6, alpha=8.0, s=0.8, beta=10.0, T=52.0, random_state=11)


@pytest.fixture(scope="module")
def fitted(sim: pd.DataFrame) -> ParetoNBDModel:
    return ParetoNBDModel().fit(sim)


def test_recovers_simulation_parameters(fitted: ParetoNBDModel) -> None:
    truth = {"r": 0.6, "alpha": 8.0, "s": 0.8, "beta": 10.0}
    for k, v in truth.items():
        assert abs(fitted.params_[k] - v) < 3.5 * fitted.standard_errors_[k], k


def test_queries_are_consistent(fitted: ParetoNBDModel, sim: pd.DataFrame) -> None:
    rows = sim.iloc[:200]
    alive = fitted.probability_alive(rows)
    assert isinstance(alive, pd.Series)
    assert ((alive >= 0) & (alive <= 1)).all()
    # Nobody without repeat purchases has a higher P(alive) than at x = 0, t_x = T.
    e10 = np.asarray(fitted.expected_purchases(10.0, rows))
    e20 = np.asarray(fitted.expected_purchases(20.0, rows))
    assert (e20 >= e10).all()
    new = fitted.expected_purchases_new_customer(np.array([0.0, 10.0, 52.0]))
    assert new[0] == 0.0
    assert np.all(np.diff(new) > 0)


def test_new_customer_expectation_and_pmf_agree_with_mpmath(fitted: ParetoNBDModel) -> None:
    mp.mp.dps = 30
    r, a, s, b = (mp.mpf(fitted.params_[k]) for k in ("r", "alpha", "s", "beta"))
    t = mp.mpf(30)
    ref_mean = r * b / (a * (s - 1)) * (1 - (b / (b + t)) ** (s - 1))
    assert fitted.expected_purchases_new_customer(30.0) == pytest.approx(
        float(ref_mean), rel=1e-12
    )

    def nb(n: int, tau: mp.mpf) -> mp.mpf:
        return (
            mp.gamma(r + n)
            / (mp.gamma(r) * mp.factorial(n))
            * (a / (a + tau)) ** r
            * (tau / (a + tau)) ** n
        )

    for n in (0, 1, 4, 15):
        ref = nb(n, t) * (b / (b + t)) ** s + mp.quad(
            lambda u, n=n: s * b**s * (b + u) ** (-(s + 1)) * nb(n, u), [0, t]
        )
        assert fitted.probability_of_purchases(n, 30.0) == pytest.approx(float(ref), rel=1e-9)
    total = np.sum(fitted.probability_of_purchases(np.arange(400), 30.0))
    assert total == pytest.approx(1.0, abs=1e-10)


def test_s_equal_one_expectations_are_the_log_limit() -> None:
    model = ParetoNBDModel.from_dict(_state({"r": 0.5, "alpha": 4.0, "s": 1.0, "beta": 6.0}))
    got = model.expected_purchases_new_customer(12.0)
    assert got == pytest.approx(0.5 * 6.0 / 4.0 * np.log1p(12.0 / 6.0), rel=1e-12)


def test_probability_alive_for_hundreds_of_purchases_is_finite() -> None:
    model = ParetoNBDModel.from_dict(_state({"r": 0.55, "alpha": 10.58, "s": 0.61, "beta": 11.67}))
    data = np.array([[800, 51.9, 52.0], [800, 20.0, 52.0], [0, 0.0, 52.0]])
    alive = np.asarray(model.probability_alive(data))
    assert np.all(np.isfinite(alive))
    assert alive[0] > 0.99
    assert alive[1] < 1e-100


def test_clv_works_with_pareto_model(fitted: ParetoNBDModel, sim: pd.DataFrame) -> None:
    data = sim.iloc[:50].assign(monetary_value=np.where(sim.frequency.iloc[:50] > 0, 20.0, 0.0))
    gg = GammaGammaModel.from_dict(
        {
            "model": "GammaGammaModel",
            "schema_version": 1,
            "hyper_parameters": {},
            "params": {"p": 6.0, "q": 4.0, "gamma": 15.0},
            "log_likelihood": 0.0,
            "converged": True,
            "n_iter": 0,
            "n_customers": 1.0,
            "covariance_log": [[0.01, 0, 0], [0, 0.01, 0], [0, 0, 0.01]],
        }
    )
    clv = customer_lifetime_value(fitted, gg, data, horizon=12, time_unit=4.0, discount_rate=0.01)
    undiscounted = customer_lifetime_value(
        fitted, gg, data, horizon=12, time_unit=4.0, discount_rate=0.0
    )
    spend = np.asarray(gg.expected_spend(data[["frequency", "monetary_value"]]))
    np.testing.assert_allclose(
        np.asarray(undiscounted),
        spend * np.asarray(fitted.expected_purchases(48.0, data)),
        rtol=1e-10,
    )
    assert (np.asarray(clv) <= np.asarray(undiscounted) + 1e-12).all()


def _state(params: dict[str, float]) -> dict[str, object]:
    return {
        "model": "ParetoNBDModel",
        "schema_version": 1,
        "hyper_parameters": {},
        "params": params,
        "log_likelihood": 0.0,
        "converged": True,
        "n_iter": 0,
        "n_customers": 1.0,
        "covariance_log": [[None] * 4] * 4,
    }


def test_estimator_conventions(fitted: ParetoNBDModel, tmp_path: Path) -> None:
    with pytest.raises(NotFittedError):
        ParetoNBDModel().probability_alive(np.array([[0, 0.0, 1.0]]))
    twin = clone(ParetoNBDModel(penalizer=0.1))
    assert twin.get_params()["penalizer"] == 0.1
    path = tmp_path / "pnbd.json"
    fitted.save(path)
    back = ParetoNBDModel.load(path)
    assert back.params_ == fitted.params_
    assert json.loads(path.read_text())["model"] == "ParetoNBDModel"


def test_weights_equal_expanded_rows(sim: pd.DataFrame) -> None:
    rows = sim[["frequency", "recency", "T"]].iloc[:300]
    doubled = pd.concat([rows, rows])
    a = ParetoNBDModel().fit(rows, weights=np.full(300, 2.0))
    b = ParetoNBDModel().fit(doubled)
    assert a.log_likelihood_ == pytest.approx(b.log_likelihood_, rel=1e-9)
    for k in a.params_:
        assert a.params_[k] == pytest.approx(b.params_[k], rel=1e-5)


def test_bad_input_is_rejected() -> None:
    with pytest.raises(ValidationError, match="recency"):
        ParetoNBDModel().fit(np.array([[1, 5.0, 4.0]]))
    model = ParetoNBDModel.from_dict(_state({"r": 0.5, "alpha": 4.0, "s": 0.8, "beta": 6.0}))
    with pytest.raises(ValidationError, match="discount_rate"):
        model.expected_residual_lifetime(np.array([[0, 0.0, 4.0]]), 0.0)
    with pytest.raises(ValidationError, match="frequency"):
        model.probability_alive(np.array([[1.5, 1.0, 4.0]]))


@pytest.mark.parametrize("theta", EXTREME)
def test_value_only_log_g_equals_the_gradient_path(theta: tuple[float, ...]) -> None:
    x = np.array([0.0, 1, 7, 300, 0, 2])
    t = np.array([0.0, 0.5, 10.0, 38.0, 100.0, 1e-6])
    np.testing.assert_allclose(
        log_g_value(np.array(theta), x, t), log_g(np.array(theta), x, t)[0], rtol=1e-13
    )


def test_degenerate_data_warns_instead_of_overflowing() -> None:
    # Only one-time buyers: the optimum runs off to infinity; the fit must say
    # so through ConvergenceWarning, never through NumPy overflow warnings.
    data = np.array([[0, 0.0, 30.0], [0, 0.0, 20.0], [0, 0.0, 10.0]])
    with pytest.warns(ConvergenceWarning):
        model = ParetoNBDModel(on_failure="warn").fit(data)
    assert np.isfinite(model.log_likelihood_)


@pytest.mark.parametrize(
    "params",
    [
        {"r": 0.55, "alpha": 10.58, "s": 0.61, "beta": 11.67},  # FHL 2005 CDNOW estimates
        {"r": 0.55, "alpha": 10.58, "s": 12.0, "beta": 2.0},  # scipy's U(s, s, w) is NaN
        {"r": 0.55, "alpha": 10.58, "s": 500.0, "beta": 25_000.0},  # ridge: w^(s-1) overflows
    ],
)
def test_dert_is_finite_and_agrees_with_mpmath(params: dict[str, float]) -> None:
    # DERT = P(alive) (r+x)/(alpha+T) E[1/(delta+mu)], mu ~ Gamma(s, rate beta+T), and
    # E[1/(delta+mu)] = int_0^inf e^(-delta tau) ((beta+T)/(beta+T+tau))^s dtau (FHL 2005
    # eq. 2). The last two cases used to return NaN.
    model = ParetoNBDModel.from_dict(_state(params))
    data = np.array([[0, 0.0, 39.0], [2, 30.0, 39.0], [40, 38.5, 39.0]])
    delta = float(np.log(1.15) / 52)
    got = np.asarray(model.expected_residual_lifetime(data, delta))
    alive = np.asarray(model.probability_alive(data))
    r, alpha, s, beta = (params[k] for k in ("r", "alpha", "s", "beta"))
    for i, (x, _tx, T) in enumerate(data):
        b = mp.mpf(beta + T)
        life = mp.quad(lambda tau, b=b: mp.e ** (-delta * tau) * (b / (b + tau)) ** s, [0, mp.inf])
        want = alive[i] * (r + x) / (alpha + T) * float(life)
        assert got[i] == pytest.approx(want, rel=1e-9)


@pytest.mark.slow
def test_pmf_is_right_when_lifetimes_are_short_against_t() -> None:
    # beta << t: almost every death falls in a sliver near 0 that a quadrature
    # rule in tau misses (the pmf used to sum to 0.06 below, and to be 4% low
    # for the second model). Reference: the same decomposition (FH 2005,
    # eq. 18) integrated by mpmath with breakpoints where the dropout density lives.
    mp.mp.dps = 30
    short = ParetoNBDModel.from_dict(_state({"r": 2.0, "alpha": 1.0, "s": 3.0, "beta": 0.01}))
    total = np.asarray(short.probability_of_purchases(np.arange(0, 400), 1000.0)).sum()
    assert total == pytest.approx(1.0, abs=1e-10)
    th = {"r": 0.5, "alpha": 2.0, "s": 0.8, "beta": 0.05}
    model = ParetoNBDModel.from_dict(_state(th))
    t = 1000.0
    r, a, s, b = (mp.mpf(th[k]) for k in ("r", "alpha", "s", "beta"))
    for n in range(4):

        def nb(tau: mp.mpf, n: int = n) -> mp.mpf:
            return (
                mp.gamma(r + n)
                / mp.gamma(r)
                / mp.factorial(n)
                * (a / (a + tau)) ** r
                * (tau / (a + tau)) ** n
            )

        cuts = [0, *(float(c) for c in np.geomspace(5e-4, t, 40)[:-1]), t]
        dead = mp.quad(lambda tau: s * b**s * (b + tau) ** (-(s + 1)) * nb(tau), cuts)
        want = nb(mp.mpf(t)) * (b / (b + t)) ** s + dead
        assert float(model.probability_of_purchases(n, t)) == pytest.approx(float(want), rel=1e-9)
