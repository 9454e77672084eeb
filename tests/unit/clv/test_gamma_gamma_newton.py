"""The Gamma-Gamma fit by Newton: analytic derivatives, the fallback, canonical rows."""

from __future__ import annotations

from typing import ClassVar

import numpy as np
import pandas as pd
import pytest

from crmcore.clv import GammaGammaModel, simulate_gamma_gamma
from crmcore.clv._gammagamma import gg_loglik_rows, gg_loglik_sums, prepare_gg


class _QuasiNewtonGG(GammaGammaModel):
    """The same model fitted by L-BFGS-B (the path Newton falls back to)."""

    _newton_min_rows: ClassVar[int | None] = None


class _NewtonGG(GammaGammaModel):
    """The same model fitted by Newton on any number of rows (no warm start below 32k)."""

    _newton_min_rows: ClassVar[int | None] = 1


def _spend(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    freq = rng.integers(0, 9, n)
    m = simulate_gamma_gamma(freq, p=6.0, q=4.0, gamma=15.0, random_state=seed + 1)
    return pd.DataFrame({"frequency": freq, "monetary_value": m})


@pytest.fixture(scope="module")
def rows() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    data = _spend(400, 11)
    data = data[data["frequency"] > 0]
    x = data["frequency"].to_numpy(dtype=float)
    m = data["monetary_value"].to_numpy()
    w = np.arange(x.size) % 3 + 1.0
    return x, m, w


@pytest.mark.parametrize("theta", [(6.0, 4.0, 15.0), (0.7, 2.5, 3.0), (40.0, 0.8, 120.0)])
def test_sums_are_the_weighted_rows_and_derivatives_match_differences(
    rows: tuple[np.ndarray, np.ndarray, np.ndarray], theta: tuple[float, float, float]
) -> None:
    x, m, w = rows
    th = np.array(theta)
    d = prepare_gg(x, m, w)
    ll, grad, hess = gg_loglik_sums(th, d)
    assert hess is not None
    # the total is the weighted sum of the per-row densities (eq. 3)
    assert ll == pytest.approx(float(w @ gg_loglik_rows(th, x, m)), rel=1e-12)
    # central differences, step relative to each parameter
    for j in range(3):
        h = 1e-6 * th[j]
        up, down = th.copy(), th.copy()
        up[j] += h
        down[j] -= h
        ll_up, g_up, _ = gg_loglik_sums(up, d)
        ll_down, g_down, _ = gg_loglik_sums(down, d)
        np.testing.assert_allclose(grad[j], (ll_up - ll_down) / (2 * h), rtol=1e-6)
        np.testing.assert_allclose(hess[:, j], (g_up - g_down) / (2 * h), rtol=1e-6, atol=1e-6)
    np.testing.assert_array_equal(hess, hess.T)


def test_sums_of_two_parts_add_up(rows: tuple[np.ndarray, np.ndarray, np.ndarray]) -> None:
    # what a cluster reduction relies on: one partition at a time, then add
    x, m, w = rows
    th = np.array([6.0, 4.0, 15.0])
    whole = gg_loglik_sums(th, prepare_gg(x, m, w))
    cut = x.size // 3
    a = gg_loglik_sums(th, prepare_gg(x[:cut], m[:cut], w[:cut]))
    b = gg_loglik_sums(th, prepare_gg(x[cut:], m[cut:], w[cut:]))
    assert a[0] + b[0] == pytest.approx(whole[0], rel=1e-12)
    np.testing.assert_allclose(a[1] + b[1], whole[1], rtol=1e-10)
    np.testing.assert_allclose(a[2] + b[2], whole[2], rtol=1e-10)  # type: ignore[operator]


@pytest.mark.parametrize(
    ("cls", "n", "seed"),
    [(_NewtonGG, 3000, 5), (GammaGammaModel, 70_000, 6)],  # 70k: Newton by default, warm start
)
def test_newton_fit_equals_the_quasi_newton_fit(cls: type, n: int, seed: int) -> None:
    data = _spend(n, seed)
    newton = cls().fit(data)
    quasi = _QuasiNewtonGG().fit(data)
    assert newton.converged_
    assert newton.n_iter_ < quasi.n_iter_
    for k, v in quasi.params_.items():
        assert newton.params_[k] == pytest.approx(v, rel=1e-6)
    assert newton.log_likelihood_ == pytest.approx(quasi.log_likelihood_, rel=1e-12)
    # analytic Hessian vs central differences of the gradient
    np.testing.assert_allclose(
        newton.covariance_log_.to_numpy(), quasi.covariance_log_.to_numpy(), rtol=1e-4
    )
    # log_likelihood_ is the likelihood in the data's money units
    assert newton.log_likelihood(data) == pytest.approx(newton.log_likelihood_, rel=1e-12)


def test_newton_fit_with_a_penalizer_equals_the_quasi_newton_fit() -> None:
    data = _spend(3000, 8)
    newton = _NewtonGG(penalizer=0.01).fit(data)
    quasi = _QuasiNewtonGG(penalizer=0.01).fit(data)
    for k, v in quasi.params_.items():
        assert newton.params_[k] == pytest.approx(v, rel=1e-6)


def test_equal_weights_and_unequal_weights_give_the_same_canonical_rows() -> None:
    # the value-sort path (one weight for all) and the argsort path agree,
    # repeated rows (same frequency and spend) merged in both
    data = _spend(2000, 9)
    data = pd.concat([data, data.iloc[:300], data.iloc[:5]], ignore_index=True)
    cols = {c: data[c].to_numpy(dtype=float) for c in data.columns}
    model = GammaGammaModel()
    ones = np.ones(len(data))
    fast_cols, fast_w = model._canonical_rows(cols, ones)
    uneven = ones.copy()
    uneven[-1] = 2.0  # forces the argsort path
    slow_cols, slow_w = model._canonical_rows(cols, uneven)
    for c in cols:
        np.testing.assert_array_equal(fast_cols[c], slow_cols[c])
    expected = slow_w.copy()
    np.testing.assert_array_equal(fast_w[: expected.size], fast_w)
    x, m = fast_cols["frequency"], fast_cols["monetary_value"]
    assert (x > 0).all()
    assert np.all((x[1:] > x[:-1]) | ((x[1:] == x[:-1]) & (m[1:] > m[:-1])))
    # every repeat buyer counted once; one row of the last five carries the extra weight
    assert fast_w.sum() == (data["frequency"] > 0).sum()
    assert slow_w.sum() == fast_w.sum() + float(data["frequency"].iloc[-1] > 0)
