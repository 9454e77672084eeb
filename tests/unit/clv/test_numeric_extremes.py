"""Numeric extremes of the CLV models (issue 23, class 7): finite answers or a named error.

The BG/NBD conditional expectation (FHL 2005 eq. 10) used to overflow to NaN
as ``a, b`` grow together (the no-heterogeneity ridge a fit may end on), and
its hypergeometric series was silently truncated for ``a`` in the tens with
``z`` near 1. Fits stopped at their starting values and called that
converged.
"""

from __future__ import annotations

import math

import mpmath as mp
import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crmcore.clv import (
    BetaGeoModel,
    GammaGammaModel,
    ModifiedBetaGeoModel,
    ParetoNBDModel,
    customer_lifetime_value,
    rfm_summary,
    simulate_bgnbd,
)
from crmcore.clv._bgfamily import bg_expected_if_alive, bg_survival_if_alive
from crmcore.clv._hyp import ASYMPTOTIC_MIN_A, bg_expected_concentrated, bg_h
from crmcore.errors import ValidationError

SUMMARY = pd.DataFrame(
    {"frequency": [0.0, 1.0, 5.0, 50.0], "recency": [0.0, 10.0, 30.0, 50.0], "T": [52.0] * 4}
)


def _mixture_reference(R: float, c: float, a: float, bp: float) -> float:
    """E[(1 - (1 + cp)^-R) / p], p ~ Beta(a, b'), by mpmath quadrature around the mean."""
    mp.mp.dps = 30
    R_, c_, a_, bp_ = mp.mpf(R), mp.mpf(c), mp.mpf(a), mp.mpf(bp)
    log_b = mp.log(mp.beta(a_, bp_))

    def f(p: mp.mpf) -> mp.mpf:
        return (
            (1 - (1 + c_ * p) ** (-R_))
            / p
            * mp.exp((a_ - 1) * mp.log(p) + (bp_ - 1) * mp.log(1 - p) - log_b)
        )

    mu = a_ / (a_ + bp_)
    sd = mp.sqrt(mu * (1 - mu) / (a_ + bp_ + 1))
    cuts = {mp.mpf(0), mp.mpf(1)}
    cuts |= {min(mp.mpf(1), max(mp.mpf(0), mu + k * sd)) for k in (-40, -10, -3, 0, 3, 10, 40)}
    return float(mp.quad(f, sorted(cuts)))


def _eq10_reference(r: float, a: float, b: float, x: int, z: float) -> float:
    """FHL 2005 eq. 10 without P(alive), by mpmath's 2F1 at 60 digits."""
    mp.mp.dps = 60
    r_, a_, b_, z_ = mp.mpf(r), mp.mpf(a), mp.mpf(b), mp.mpf(z)
    C = a_ + b_ + x - 1
    return float(C / (a_ - 1) * (1 - (1 - z_) ** (r_ + x) * mp.hyp2f1(r_ + x, b_ + x, C, z_)))


@pytest.mark.parametrize(
    ("R", "c", "a", "bp", "rtol"),
    [
        (0.5, 1.0, 60.0, 6000.0, 1e-8),  # the switch: the expansion's worst place
        (100.5, 1e4, 80.0, 8100.0, 1e-10),
        (5.5, 10.0, 100.0, 300.0, 1e-11),
        (3.5, 1e7, 1e4, 0.7, 1e-11),  # p near 1
        (5.5, 10.0, 1e6, 3e6, 1e-11),
        (5.5, 10.0, 1e11, 3e11, 1e-11),
    ],
)
def test_concentrated_expectation_against_mpmath(R, c, a, bp, rtol):
    got = bg_expected_concentrated(np.array([R]), np.array([c]), a, np.array([bp]))[0]
    assert got == pytest.approx(_mixture_reference(R, c, a, bp), rel=rtol)


def test_concentrated_expectation_against_the_hypergeometric_form():
    # Where mpmath's 2F1 converges, both forms of eq. 10 agree (a = 100, 150).
    for r, a, b, x, T, alpha, t in [
        (0.5, 100.0, 300.0, 3, 52.0, 10.0, 10.0),
        (0.5, 150.0, 30.0, 50, 0.0, 10.0, 1000.0),
    ]:
        got = bg_expected_if_alive(
            np.array([r, alpha, a, b]), np.array([float(x)]), np.array([T]), np.array([t]), s=0
        )[0]
        want = _eq10_reference(r, a, b, x, t / (alpha + T + t))
        assert got == pytest.approx(want, rel=1e-12)


def test_the_limit_a_b_to_infinity_is_one_dropout_probability_for_everyone():
    # a, b -> inf with mu = a / (a + b) fixed: p is a point mass and eq. 10 tends
    # to (1 - (1 + c mu)^-R) / mu (the NBD r c as mu -> 0); at a = 3e11 the
    # beta's spread changes it by about 1 / a.
    r, alpha, a, b, x, T, t = 0.5, 10.0, 3e11, 7e11, 5.0, 52.0, 30.0
    got = bg_expected_if_alive(
        np.array([r, alpha, a, b]), np.array([x]), np.array([T]), np.array([t]), s=0
    )[0]
    mu, R, c = a / (a + b + x), r + x, t / (alpha + T)
    assert got == pytest.approx(-math.expm1(-R * math.log1p(c * mu)) / mu, rel=1e-10)


def test_continuous_at_the_switch():
    theta_below = np.array([0.5, 10.0, np.nextafter(ASYMPTOTIC_MIN_A, 0.0), 150.0])
    theta_at = np.array([0.5, 10.0, ASYMPTOTIC_MIN_A, 150.0])
    x, T = np.array([0.0, 1.0, 5.0, 50.0]), np.full(4, 52.0)
    for t in (0.1, 10.0, 300.0):
        tt = np.full(4, t)
        np.testing.assert_allclose(
            bg_expected_if_alive(theta_below, x, T, tt, s=0),
            bg_expected_if_alive(theta_at, x, T, tt, s=0),
            rtol=1e-8,
        )


def test_series_that_converges_slowly_is_not_truncated():
    # a = 20, C = 79 >= 40, z near 1: the terms fall like k^17 z^k; the first
    # 2,000 of them used to be returned as the sum (8% low).
    r, a, b, x, z = 0.5, 20.0, 60.0, 0, 0.9999
    got = (a + b + x - 1) * bg_h(
        np.array([a + b - 1 - r]), a - 1, np.array([a + b + x - 1.0]), np.array([z])
    )[0]
    assert got == pytest.approx(_eq10_reference(r, a, b, x, z), rel=1e-9)


@pytest.mark.parametrize("model_cls", [BetaGeoModel, ModifiedBetaGeoModel])
@pytest.mark.parametrize("scale", [1e3, 1e6, 1e11, 1e15])
def test_the_ridge_predicts_finite_values(model_cls, scale):
    model = model_cls.from_params(r=0.5, alpha=10.0, a=0.3 * scale, b=0.7 * scale)
    for t in (1.0, 10.0, 1e6):
        values = model.expected_purchases(t, SUMMARY).to_numpy()
        assert np.isfinite(values).all()
        assert (values >= 0).all()
    assert np.isfinite(model.expected_purchases_new_customer(10.0))


@settings(max_examples=25, deadline=None)
@given(
    log_ab=st.tuples(st.floats(-2, 13), st.floats(-2, 13)),
    log_t=st.floats(-6, 25),
    mbg=st.booleans(),
)
def test_expected_purchases_finite_or_a_named_error(log_ab, log_t, mbg):
    cls = ModifiedBetaGeoModel if mbg else BetaGeoModel
    model = cls.from_params(r=0.5, alpha=10.0, a=10 ** log_ab[0], b=10 ** log_ab[1])
    t = 10**log_t
    if t > 1e15 * (10.0 + 52.0) and model.params_["a"] < ASYMPTOTIC_MIN_A:
        with pytest.raises(ValidationError, match="horizon t"):
            model.expected_purchases(t, SUMMARY)
        return
    values = model.expected_purchases(t, SUMMARY).to_numpy()
    assert np.isfinite(values).all()
    assert (values >= 0).all()


def test_a_horizon_beyond_double_precision_is_refused_by_name():
    model = BetaGeoModel.from_params(r=0.5, alpha=10.0, a=0.8, b=2.5)
    with pytest.raises(ValidationError, match=r"horizon t = 1e\+20 .* at most 1e\+15"):
        model.expected_purchases(1e20, SUMMARY)
    assert np.isfinite(model.expected_purchases(1e12, SUMMARY)).all()


@pytest.mark.parametrize("model_cls", [BetaGeoModel, ModifiedBetaGeoModel, ParetoNBDModel])
def test_a_fit_on_no_observation_time_is_refused(model_cls):
    flat = pd.DataFrame({"frequency": [0.0] * 3, "recency": [0.0] * 3, "T": [0.0] * 3})
    with pytest.raises(ValidationError, match="every customer has T = 0") as err:
        model_cls().fit(flat)
    assert err.value.field == "T"


@pytest.mark.parametrize("tol", [1e-2, 1.0, 1e308])
def test_a_tolerance_that_accepts_the_start_is_refused(tol):
    data = simulate_bgnbd(200, r=0.5, alpha=10.0, a=0.8, b=2.5, T=52.0, random_state=1)
    with pytest.raises(ValidationError, match=r"tol must lie in \(0, 0.001\]"):
        BetaGeoModel(tol=tol).fit(data)


def _survival_reference(R: float, c: float, a: float, bp: float) -> float:
    """E[(1 + cp)^-R], p ~ Beta(a, b'), by mpmath quadrature around the mean."""
    mp.mp.dps = 30
    R_, c_, a_, bp_ = mp.mpf(R), mp.mpf(c), mp.mpf(a), mp.mpf(bp)
    log_b = mp.log(mp.beta(a_, bp_))

    def f(p: mp.mpf) -> mp.mpf:
        return (1 + c_ * p) ** (-R_) * mp.exp(
            (a_ - 1) * mp.log(p) + (bp_ - 1) * mp.log(1 - p) - log_b
        )

    mu = a_ / (a_ + bp_)
    sd = mp.sqrt(mu * (1 - mu) / (a_ + bp_ + 1))
    cuts = {mp.mpf(0), mp.mpf(1)}
    cuts |= {min(mp.mpf(1), max(mp.mpf(0), mu + k * sd)) for k in (-40, -10, -3, 0, 3, 10, 40)}
    return float(mp.quad(f, sorted(cuts)))


@pytest.mark.parametrize(
    ("a", "b", "x", "t"),
    [
        (60.0, 30.0, 5.0, 100.0),
        (100.0, 300.0, 0.0, 1e4),
        (1e4, 1e6, 50.0, 1.0),
        (3e11, 1e12, 5.0, 100.0),
    ],
)
def test_survival_of_a_concentrated_dropout_probability(a, b, x, t):
    # The tanh-sinh nodes cannot resolve a narrow beta: P(alive at T + t) was
    # 0 (or 1) on the ridge. Absolute tolerance: a probability.
    r, alpha, T = 0.5, 10.0, 52.0
    got = bg_survival_if_alive(
        np.array([r, alpha, a, b]), np.array([x]), np.array([T]), np.array([t]), s=0
    )[0]
    want = _survival_reference(r + x, t / (alpha + T), a, b + x)
    assert got == pytest.approx(want, rel=1e-8, abs=1e-12)


def _survival_closed_form(R: float, u: float, p: float, q: float) -> float:
    """E[(1 - uV)^-R] (1 - u)^R = (1 - u)^R 2F1(R, p; p + q; u), V ~ Beta(p, q), at 50 digits."""
    mp.mp.dps = 50
    u_ = mp.mpf(u)
    return float((1 - u_) ** R * mp.hyp2f1(mp.mpf(R), mp.mpf(p), mp.mpf(p) + mp.mpf(q), u_))


@pytest.mark.parametrize("a", [0.05, 0.3, 2.0, 5.0, 10.0, 20.0, 30.0, 45.0, 59.0])
@pytest.mark.parametrize(("b", "x", "t"), [(0.3, 0.0, 1.0), (30.0, 5.0, 100.0), (1e4, 0.0, 1e4)])
def test_survival_below_the_ridge_against_the_closed_form(a, b, x, t):
    # For a < 60 the survival is a beta mean by quadrature. Its nodes were
    # fixed on (0, 1), and a narrow beta fell between them: 8e-2 off at
    # a = 45, b = 1e4; now centred per row. Reference: Pfaff's form,
    # (1 - u)^(r+x) 2F1(r+x, b+x; a+b+x; u), u = t / (alpha + T + t), by mpmath.
    r, alpha, T = 0.5, 10.0, 52.0
    got = bg_survival_if_alive(
        np.array([r, alpha, a, b]), np.array([x]), np.array([T]), np.array([t]), s=0
    )[0]
    want = _survival_closed_form(r + x, t / (alpha + T + t), b + x, a)
    assert got == pytest.approx(want, rel=1e-10, abs=1e-12)


def test_probability_alive_later_on_the_ridge_tends_to_its_limit():
    model = BetaGeoModel.from_params(r=0.5, alpha=10.0, a=3e11, b=1e12)
    later = model.probability_alive(SUMMARY, t=10.0).to_numpy()
    now = model.probability_alive(SUMMARY).to_numpy()
    mu = 3e11 / (3e11 + 1e12 + SUMMARY["frequency"].to_numpy())
    limit = (1 + 10.0 * mu / (10.0 + 52.0)) ** -(0.5 + SUMMARY["frequency"].to_numpy())
    np.testing.assert_allclose(later, now * limit, rtol=1e-9)


@pytest.fixture(scope="module")
def value_models():
    data = simulate_bgnbd(300, r=0.5, alpha=10.0, a=0.8, b=2.5, T=52.0, random_state=3)
    rng = np.random.default_rng(3)
    data["monetary_value"] = np.where(data["frequency"] > 0, rng.gamma(3.0, 10.0, len(data)), 0.0)
    return BetaGeoModel().fit(data), GammaGammaModel().fit(data), data


def test_huge_horizons_drop_only_negligible_periods(value_models):
    # At 1 % per period the factors beyond ~8,600 periods sum below 1e-18 of the
    # first one's: horizon=10**7 (which ran for minutes) is the 10**4 value.
    bg, gg, data = value_models
    kw = {"time_unit": 4.0, "discount_rate": 0.01}
    far = customer_lifetime_value(bg, gg, data, horizon=10**7, **kw)
    near = customer_lifetime_value(bg, gg, data, horizon=10**4, **kw)
    np.testing.assert_allclose(far, near, rtol=1e-14)


def test_without_discounting_the_value_is_the_expected_purchases_by_the_end(value_models):
    bg, gg, data = value_models
    value = customer_lifetime_value(bg, gg, data, horizon=10**6, time_unit=4.0, discount_rate=0.0)
    spend = gg.expected_spend(data)
    np.testing.assert_allclose(value, spend * bg.expected_purchases(4e6, data), rtol=1e-12)
    with pytest.raises(ValidationError, match="10,000,000 periods to evaluate") as err:
        customer_lifetime_value(bg, gg, data, horizon=10**7, time_unit=4.0, discount_rate=0.0)
    assert err.value.field == "horizon"


@pytest.mark.parametrize("include_first", [False, True])
def test_amounts_summing_beyond_the_float_range_are_refused_not_inf(include_first):
    # two finite amounts of 1e308 sum to inf: the summary names the customer
    # instead of giving an inf (or inf - inf = NaN) monetary value
    log = pd.DataFrame(
        {
            "customer_id": ["a", "a", "a", "b", "b"],
            "date": pd.to_datetime(
                ["2024-01-01", "2024-02-01", "2024-03-01", "2024-01-05", "2024-02-05"]
            ),
            "amount": [1e308, 1e308, 1e308, 10.0, 20.0],
        }
    )
    with pytest.raises(ValidationError, match="customer 'a'") as info:
        rfm_summary(
            log, value_col="amount", as_of="2024-06-30", include_first_transaction=include_first
        )
    assert info.value.field == "value_col"
    fine = log.assign(amount=[1e300, 1e300, 1e300, 10.0, 20.0])
    summary = rfm_summary(fine, value_col="amount", as_of="2024-06-30")
    assert np.isfinite(summary["monetary_value"]).all()
