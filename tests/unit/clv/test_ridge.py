"""BG/NBD-family and Pareto/NBD fits whose maximum lies at infinity along a ridge.

When the data show no heterogeneity in the dropout probability, the likelihood
rises towards its limit as ``a, b -> inf`` with ``a / (a + b)`` fixed (the beta
mixing distribution tends to a point mass). Regression tests for a review
finding: the fit used to raise ConvergenceError or converge depending on the
order of the customers, and reported a log-likelihood off by up to 3 units
(``lnΓ`` cancellation at ``a, b ~ 1e12``).
"""

from __future__ import annotations

import itertools
import warnings

import numpy as np
import pandas as pd
import pytest
from scipy import integrate, special

from crmcore.clv import (
    BetaGeoModel,
    ModifiedBetaGeoModel,
    ParetoNBDModel,
    rfm_summary,
    simulate_transactions,
)
from crmcore.errors import ConvergenceWarning


def _col(text: str) -> list[float]:
    return [float(v) for v in text.split()]


# 40 customers drawn from simulate_bgnbd(40, r=0.5, alpha=6, a=0.8, b=2.5,
# T=30, random_state=14), recency rounded to 0.1: the old code raised
# ConvergenceError for some row orders and converged for others.
ORDER_DATA = pd.DataFrame(
    {
        "frequency": _col(
            "2 5 3 3 3 3 4 1 0 2 0 0 5 10 7 7 0 0 2 1 0 0 0 2 1 0 0 0 0 7 2 1 0 0 1 3 0 0 2 0"
        ),
        "recency": _col(
            "5.4 26.4 27.1 19.6 17.9 16.2 27.1 3.4 0 11.5 0 0 9.0 21.6 29.3 25.3 0 0 22.2 2.0 "
            "0 0 0 8.7 21.7 0 0 0 0 3.7 22.0 18.3 0 0 6.5 28.2 0 0 7.7 0"
        ),
        "T": [30.0] * 40,
    }
)

# random_state=20, recency rounded to whole days: the old code stopped at
# a ~ 4e12 and reported LL = -117.24, about 2.9 above the supremum.
LIMIT_DATA = pd.DataFrame(
    {
        "frequency": _col(
            "1 0 0 1 0 0 3 0 0 0 0 3 0 0 1 2 2 0 1 0 0 1 0 0 0 2 0 3 0 0 0 0 1 0 1 1 0 1 1 0"
        ),
        "recency": _col(
            "1 0 0 12 0 0 20 0 0 0 0 22 0 0 23 23 26 0 26 0 "
            "0 8 0 0 0 27 0 3 0 0 0 0 11 0 3 28 0 17 9 0"
        ),
        "T": [30.0] * 40,
    }
)


def _fit(cls: type, data: pd.DataFrame) -> tuple[ModifiedBetaGeoModel, list[str]]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model = cls().fit(data)
    return model, [str(w.message) for w in caught if issubclass(w.category, ConvergenceWarning)]


def test_ridge_fit_does_not_depend_on_row_order() -> None:
    n = len(ORDER_DATA)
    orders = [
        np.arange(n),
        np.arange(n)[::-1],
        np.random.default_rng(0).permutation(n),
        np.random.default_rng(1).permutation(n),
    ]
    fits = [_fit(ModifiedBetaGeoModel, ORDER_DATA.iloc[o]) for o in orders]
    first, first_warned = fits[0]
    assert first.converged_ is True
    assert first.params_["a"] > 1e6
    assert first.params_["b"] > 1e6
    assert len(first_warned) == 1
    assert "a and b diverge together" in first_warned[0]
    assert all(np.isnan(v) for v in first.standard_errors_.values())
    for model, warned in fits[1:]:
        # The optimiser sees the same (canonically ordered) input: same bits.
        assert model.params_ == first.params_
        assert model.log_likelihood_ == first.log_likelihood_
        assert model.converged_ is True
        assert warned == first_warned


def _limit_loglik(r: float, alpha: float, p: float, data: pd.DataFrame, s: int) -> float:
    """MBG/NBD (s=1) or BG/NBD (s=0) log-likelihood with a point-mass dropout p.

    The a, b -> inf limit of Batislam et al. (2007) / Fader et al. (2005)
    eq. 6: Beta(a, b) ratios become powers of p and 1 - p.
    """
    x, tx, T = (data[c].to_numpy(dtype=float) for c in ("frequency", "recency", "T"))
    rx = r + x
    head = special.gammaln(rx) - special.gammaln(r) + r * np.log(alpha)
    alive = (x + s) * np.log1p(-p) - rx * np.log(alpha + T)
    gone = np.log(p) + (x + s - 1) * np.log1p(-p) - rx * np.log(alpha + tx)
    if s == 0:
        gone = np.where(x > 0, gone, -np.inf)
    return float(np.sum(head + np.logaddexp(alive, gone)))


@pytest.mark.parametrize(("cls", "s"), [(ModifiedBetaGeoModel, 1), (BetaGeoModel, 0)])
def test_ridge_loglik_equals_its_limit(cls: type, s: int) -> None:
    model, warned = _fit(cls, LIMIT_DATA)
    pr = model.params_
    assert model.converged_ is True
    assert pr["a"] > 1e6
    assert pr["b"] > 1e6
    assert len(warned) == 1
    assert "p = a / (a + b)" in warned[0]
    p = pr["a"] / (pr["a"] + pr["b"])
    expected = _limit_loglik(pr["r"], pr["alpha"], p, LIMIT_DATA, s)
    assert model.log_likelihood_ == pytest.approx(expected, rel=1e-10)


# random_state=9, recency rounded to 0.1: purchase rates show no heterogeneity
# (r, alpha -> inf with r / alpha fixed); the old code stopped at r ~ 5e6 with
# ABNORMAL line searches (cancellation in r ln(alpha) - (r + x) ln(alpha + T)).
RATE_DATA = pd.DataFrame(
    {
        "frequency": _col(
            "4 0 4 3 0 0 0 0 0 3 1 0 1 0 0 1 4 2 0 0 0 2 5 4 0 1 1 1 0 1 1 1 1 0 3 2 6 0 4 2"
        ),
        "recency": _col(
            "19.7 0 21.1 10.4 0 0 0 0 0 7.6 4.2 0 6.1 0 0 7.2 29.5 2.4 0 0 0 27.5 22.6 28.4 "
            "0 2.5 2.4 24 0 3.6 26 4.9 16.1 0 27.2 11.6 29.8 0 24.1 12"
        ),
        "T": [30.0] * 40,
    }
)


def test_homogeneous_purchase_rate_is_the_limit() -> None:
    model, warned = _fit(ModifiedBetaGeoModel, RATE_DATA)
    pr = model.params_
    assert model.converged_ is True
    assert pr["r"] > 1e6
    assert len(warned) == 1
    assert "r and alpha diverge together" in warned[0]
    # The limit: Poisson purchases at one rate lam = r / alpha for everyone
    # (MBG/NBD likelihood with the gamma mixing replaced by a point mass).
    lam, a, b = pr["r"] / pr["alpha"], pr["a"], pr["b"]
    x, tx, T = (RATE_DATA[c].to_numpy(dtype=float) for c in ("frequency", "recency", "T"))
    beta = special.betaln(a, b + x + 1) - special.betaln(a, b)
    gone = np.log(a / (b + x)) - lam * tx
    expected = np.sum(x * np.log(lam) + beta + np.logaddexp(-lam * T, gone))
    assert model.log_likelihood_ == pytest.approx(expected, rel=1e-9)


# Pareto/NBD: 150 customers of simulate_transactions (BG/NBD purchases,
# random_state=2) summarised 400 days after their last purchase. The dropout
# rates show no heterogeneity: the likelihood rises towards its limit as
# s, beta -> inf with s / beta fixed (the gamma mixing of mu tends to a point
# mass). The fit used to end with a "Hessian not positive definite" warning
# at s ~ 1e9 (and a log-likelihood 1e-3 off: s ln(beta) ~ 2e10 per row rounded);
# it is now recognised as that limit.
@pytest.fixture(scope="module")
def silent_log_summary() -> pd.DataFrame:
    tx = simulate_transactions(
        150, r=0.8, alpha=30.0, a=0.6, b=3.0, start="2024-01-01", periods=540,
        p=6.0, q=4.0, gamma=15.0, random_state=2,
    )  # fmt: skip
    as_of = tx["date"].max() + pd.Timedelta(days=400)
    return rfm_summary(tx, as_of=as_of)[["frequency", "recency", "T"]]


def _pareto_point_mass_loglik(r: float, alpha: float, mu: float, data: pd.DataFrame) -> float:
    """Pareto/NBD log-likelihood with every lifetime exponential at one rate ``mu``.

    Fader & Hardie (2005) eq. 3 integrated over lambda ~ Gamma(r, alpha) only:
    ``A [ (alpha+T)^-(r+x) e^(-mu T) + mu int_tx^T e^(-mu u) (alpha+u)^-(r+x) du ]``
    with ``A = Gamma(r+x)/Gamma(r) alpha^r``; the integral by adaptive quadrature.
    """
    total = 0.0
    for x, tx, T in data[["frequency", "recency", "T"]].itertuples(index=False):
        head = special.gammaln(r + x) - special.gammaln(r) + r * np.log(alpha)
        alive = (alpha + T) ** -(r + x) * np.exp(-mu * T)
        # (alpha + u)^-(r+x) falls by up to 1e20 over the window: 40 panels
        dead = sum(
            integrate.quad(
                lambda u, x=x: np.exp(-mu * u) * (alpha + u) ** -(r + x),
                lo, hi, epsabs=0.0, epsrel=1e-13, limit=200,
            )[0]
            for lo, hi in itertools.pairwise(np.linspace(tx, T, 41))
        )  # fmt: skip
        total += head + np.log(alive + mu * dead)
    return total


def test_pareto_homogeneous_dropout_rate_is_the_limit(silent_log_summary: pd.DataFrame) -> None:
    model, warned = _fit(ParetoNBDModel, silent_log_summary)
    pr = model.params_
    assert model.converged_ is True
    assert pr["s"] > 1e6
    assert pr["beta"] > 1e6
    assert pr["r"] < 1e3  # purchase rates do vary: not on that ridge
    assert len(warned) == 1
    assert "s and beta diverge together" in warned[0]
    assert "r and alpha" not in warned[0]
    assert all(np.isnan(v) for v in model.standard_errors_.values())
    mu = pr["s"] / pr["beta"]
    assert f"{mu:.4g}" in warned[0]
    expected = _pareto_point_mass_loglik(pr["r"], pr["alpha"], mu, silent_log_summary)
    assert model.log_likelihood_ == pytest.approx(expected, rel=1e-10)
