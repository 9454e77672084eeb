"""Predictive intervals: process plus parameter uncertainty (issue 15, item 5).

How intervals on whole numbers are formed and measured is stated in
``crmcore.clv._predictive``: ``[ci_low, ci_high]`` are the mixture's
``(1 -+ c)/2`` quantiles, their probability ``ci_probability >= c``; coverage
is measured by the fractional (randomised PIT) rule, whose expectation under
a correct model is exactly ``c``, and the plain share of outcomes inside the
interval must match the mean ``ci_probability``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from crmcore.clv import (
    BetaGeoBetaBinomModel,
    BetaGeoModel,
    GammaGammaModel,
    ModifiedBetaGeoModel,
    ParetoNBDModel,
    calibration_holdout_split,
    draw_parameters,
    predict_interval,
    simulate_bgbb,
    simulate_bgnbd,
    simulate_gamma_gamma,
    simulate_transactions,
)
from crmcore.clv._predictive import count_interval, fractional_coverage, purchase_distribution
from crmcore.errors import ValidationError
from tests.unit.clv._per_draw import _twin

BG = {"r": 0.5, "alpha": 10.0, "a": 0.8, "b": 2.5}


@pytest.fixture(scope="module")
def bg() -> tuple[BetaGeoModel, pd.DataFrame]:
    data = simulate_bgnbd(3000, **BG, T=52.0, random_state=4)[["frequency", "recency", "T"]]
    return BetaGeoModel().fit(data), data


def test_count_interval_and_fractional_coverage_on_a_known_distribution() -> None:
    dist = np.array([[0.5, 0.3, 0.15, 0.05], [0.02, 0.03, 0.9, 0.05]])
    low, high, prob = count_interval(dist, np.array([0.05, 0.95]))
    assert low.tolist() == [0, 1]  # F(0) = 0.5 >= 0.05; F(0) = 0.02, F(1) = 0.05
    assert high.tolist() == [2, 2]  # F(2) = 0.95 in both
    np.testing.assert_allclose(prob, [0.95, 0.93], rtol=1e-14)
    low, high, _ = count_interval(dist, np.array([0.06, 0.94]))
    assert low.tolist() == [0, 2]
    # fractional rule: y = 0 occupies [0, 0.5] of the first row, of which
    # [0.05, 0.5] lies in the 90 % band: 0.9 of it is covered
    share = fractional_coverage(dist, np.array([0, 3]), 0.9)
    np.testing.assert_allclose(share, [0.9, 0.0], rtol=1e-12)
    # its expectation under the distribution itself is the nominal level
    for row in dist:
        expected = sum(
            p * fractional_coverage(row[None, :], np.array([y]), 0.8)[0] for y, p in enumerate(row)
        )
        assert expected == pytest.approx(0.8, rel=1e-12)


def test_predictive_purchases_are_the_mixture_of_the_per_draw_distributions(bg) -> None:
    model, data = bg
    rows = data.iloc[:40]
    band = predict_interval(
        model,
        "expected_purchases",
        rows,
        t=26.0,
        kind="predictive",
        n_draws=30,
        confidence=0.9,
        random_state=5,
    )
    assert list(band.columns) == ["estimate", "ci_low", "ci_high", "ci_probability"]
    assert band["ci_low"].dtype == np.int64
    assert band["ci_high"].dtype == np.int64
    pd.testing.assert_series_equal(
        band["estimate"], model.expected_purchases(26.0, rows), check_names=False
    )
    # the reference: the public conditional distribution of each draw's twin, averaged
    draws = draw_parameters(model, 30, random_state=np.random.default_rng(5))
    mix = np.zeros((len(rows), 40))
    for theta in draws:
        twin = _twin(model, theta)
        mix += np.column_stack(
            [twin.conditional_probability_of_purchases(n, 26.0, rows) for n in range(40)]
        )
    mix /= len(draws)
    cdf = np.cumsum(mix, axis=1)
    np.testing.assert_array_equal(band["ci_low"], np.argmax(cdf >= 0.05 - 1e-12, axis=1))
    np.testing.assert_array_equal(band["ci_high"], np.argmax(cdf >= 0.95 - 1e-12, axis=1))
    assert (band["ci_probability"] >= 0.9 - 1e-12).all()
    # an interval for the outcome is far wider than one for the expectation (a
    # whole-number interval need not contain the expectation: [0, 0] for 0.06)
    param = predict_interval(
        model, "expected_purchases", rows, t=26.0, n_draws=30, confidence=0.9, random_state=5
    )
    width = band["ci_high"] - band["ci_low"]
    assert width.mean() > 5 * (param["ci_high"] - param["ci_low"]).mean()


@pytest.mark.parametrize("cls", [BetaGeoModel, ModifiedBetaGeoModel, ParetoNBDModel])
def test_simulated_futures_follow_the_conditional_distribution(cls) -> None:
    # sample_future (behind the CLV interval) and pmf (behind the purchase
    # interval) describe the same process: 100k futures of three customers.
    theta = np.array([0.5, 10.0, 0.8, 2.5])
    kernels = cls.kernels
    hist = np.array([[0, 0.0, 40.0], [3, 30.0, 38.0], [12, 20.0, 40.0]])
    rng = np.random.default_rng(1)
    m = 100_000
    for x, tx, T in hist:
        owner, when = kernels.sample_future(
            theta, np.full(m, x), np.full(m, tx), np.full(m, T), span=26.0, rng=rng
        )
        assert ((when > 0) & (when <= 26.0)).all()
        counts = np.bincount(np.bincount(owner, minlength=m), minlength=10)[:10] / m
        pmf = kernels.pmf(
            theta, np.array([x]), np.array([tx]), np.array([T]), np.array([26.0]), n_max=9
        )[0]
        np.testing.assert_allclose(counts, pmf, atol=4 * np.sqrt(0.25 / m))


def test_bgbb_simulated_futures_follow_its_distribution() -> None:
    theta = np.array([1.2, 0.75, 0.66, 2.8])
    kernels = BetaGeoBetaBinomModel.kernels
    rng = np.random.default_rng(2)
    m = 100_000
    owner, when = kernels.sample_future(
        theta, np.full(m, 2.0), np.full(m, 4.0), np.full(m, 6.0), span=5, rng=rng
    )
    assert set(np.unique(when)) <= {1.0, 2.0, 3.0, 4.0, 5.0}
    counts = np.bincount(np.bincount(owner, minlength=m), minlength=6)[:6] / m
    pmf = kernels.pmf(theta, *(np.array([v]) for v in (2.0, 4.0, 6.0, 5.0)), n_max=5)[0]
    np.testing.assert_allclose(counts, pmf, atol=4 * np.sqrt(0.25 / m))


def test_gamma_gamma_posterior_predictive_has_the_expected_spend_as_its_mean() -> None:
    theta = np.array([6.0, 4.0, 15.0])
    kernels = GammaGammaModel.spend_kernels
    x, m = np.array([0.0, 1.0, 5.0]), np.array([0.0, 40.0, 12.0])
    owner = np.repeat(np.arange(3), 200_000)
    rng = np.random.default_rng(3)
    # one customer's rate per row: many rows per customer give the mixture
    values = kernels.sample(theta, x[owner], m[owner], np.arange(owner.size), rng)
    means = np.bincount(owner, weights=values) / 200_000
    np.testing.assert_allclose(means, kernels.expected(theta, x, m), rtol=0.02)


def test_predictive_clv_interval(bg) -> None:
    model, data = bg
    rows = data.iloc[:300].copy()
    rows["monetary_value"] = simulate_gamma_gamma(
        np.maximum(rows["frequency"], 1), p=6.0, q=4.0, gamma=15.0, random_state=1
    )
    gg = GammaGammaModel().fit(rows)
    kw = {
        "horizon": 6,
        "time_unit": 4.0,
        "discount_rate": 0.01,
        "margin": 0.3,
        "n_draws": 200,
        "confidence": 0.9,
    }
    band = predict_interval(
        model, "clv", rows, spend_model=gg, kind="predictive", random_state=0, **kw
    )
    param = predict_interval(model, "clv", rows, spend_model=gg, random_state=0, **kw)
    pd.testing.assert_series_equal(band["estimate"], param["estimate"])
    assert (band["ci_low"] >= 0).all()
    assert (band["ci_low"] <= band["estimate"]).all()
    assert (band["ci_high"] >= param["ci_high"]).mean() > 0.95
    # reproducible; given spend per customer is held fixed: value = spend x discounted count
    again = predict_interval(
        model, "clv", rows, spend_model=gg, kind="predictive", random_state=0, **kw
    )
    pd.testing.assert_frame_equal(band, again)
    fixed = predict_interval(
        model,
        "clv",
        rows[["frequency", "recency", "T"]],
        spend_model=10.0,
        kind="predictive",
        random_state=0,
        **kw,
    )
    assert (fixed["ci_low"] == 0).mean() > 0.5  # most customers may well buy nothing
    assert fixed["ci_high"].iloc[rows["frequency"].argmax()] > 0
    doubled = predict_interval(
        model,
        "clv",
        rows[["frequency", "recency", "T"]],
        spend_model=20.0,
        kind="predictive",
        random_state=0,
        **kw,
    )
    # the same simulated purchases, each worth twice as much
    np.testing.assert_allclose(doubled[["ci_low", "ci_high"]], 2 * fixed[["ci_low", "ci_high"]])


def test_predictive_arguments() -> None:
    model = BetaGeoModel().fit(simulate_bgnbd(500, **BG, T=40.0, random_state=1))
    data = np.array([[1, 20.0, 40.0]])
    with pytest.raises(ValidationError, match="kind must be") as info:
        predict_interval(model, "expected_purchases", data, t=5.0, kind="posterior")
    assert info.value.field == "kind"
    with pytest.raises(ValidationError, match="P\\(alive\\) is itself a probability"):
        predict_interval(model, "probability_alive", data, kind="predictive")


def _coverage(model, split: pd.DataFrame, seed: int, draws: int) -> tuple[float, float, float]:
    """Fractional coverage, share inside, mean ci_probability of 90 % predictive intervals."""
    t = float(split["duration_holdout"].iloc[0])
    band = predict_interval(
        model,
        "expected_purchases",
        split,
        t=t,
        kind="predictive",
        confidence=0.9,
        n_draws=draws,
        random_state=seed,
    )
    observed = split["frequency_holdout"].to_numpy()
    inside = float(np.mean((band["ci_low"] <= observed) & (observed <= band["ci_high"])))
    # the same draws (same seed), the mixture itself for the fractional rule
    theta = draw_parameters(model, draws, random_state=np.random.default_rng(seed))
    cols = [split[c].to_numpy(float) for c in ("frequency_cal", "recency_cal", "T_cal")]
    dist = purchase_distribution(model.kernels, theta, cols, np.full(len(split), t), upper=0.9999)
    low, high, _ = count_interval(dist, np.array([0.05, 0.95]))
    np.testing.assert_array_equal(low, band["ci_low"])
    np.testing.assert_array_equal(high, band["ci_high"])
    share = float(fractional_coverage(dist, observed, 0.9).mean())
    return share, inside, float(band["ci_probability"].mean())


@pytest.mark.slow
@pytest.mark.parametrize(
    ("cls", "modified"), [(BetaGeoModel, False), (ModifiedBetaGeoModel, True)]
)
def test_predictive_intervals_cover_holdout_purchases_at_the_nominal_rate(cls, modified) -> None:
    # Coverage study: a log simulated from the model (4,000 customers, first
    # purchases over 12 weeks, calibration to 2024-06-30, holdout 26 weeks),
    # summarised per hour in days, fitted; 90 % predictive intervals of the
    # holdout purchase periods, three seeded replications. Measured (these
    # seeds): BG/NBD fractional 0.899, inside 0.964 vs mean ci_probability 0.964.
    shares, inside, probability = [], [], []
    for seed in range(3):
        log = simulate_transactions(
            4000,
            **BG,
            start="2024-01-01",
            periods=364,
            acquisition_periods=84,
            modified=modified,
            random_state=100 + seed,
        )
        split = calibration_holdout_split(
            log, as_of="2024-06-30", holdout_end="2024-12-29", freq="h", unit="D"
        )
        share, ins, prob = _coverage(cls().fit(split), split, seed, draws=100)
        shares.append(share)
        inside.append(ins)
        probability.append(prob)
    assert 0.88 <= np.mean(shares) <= 0.92, shares
    # whole-number intervals cover more than nominal, exactly as much as they say
    assert np.mean(inside) == pytest.approx(np.mean(probability), abs=0.01)


def _pareto_population(n: int, seed: int) -> pd.DataFrame:
    """Pareto/NBD customers in continuous time: calibration (0, T], holdout (T, T + 26]."""
    rng = np.random.default_rng(seed)
    lam = rng.gamma(0.55, 1 / 10.58, n)
    mu = rng.gamma(0.61, 1 / 11.67, n)
    death = rng.exponential(size=n) / mu
    T = rng.uniform(26.0, 39.0, n)
    alive_cal = np.minimum(death, T)
    x = rng.poisson(lam * alive_cal)
    tx = np.where(x > 0, alive_cal * rng.beta(np.maximum(x, 1), 1.0), 0.0)
    future = rng.poisson(lam * np.clip(death - T, 0.0, 26.0))
    return pd.DataFrame(
        {
            "frequency_cal": x,
            "recency_cal": tx,
            "T_cal": T,
            "frequency_holdout": future,
            "duration_holdout": 26.0,
        }
    )


@pytest.mark.slow
def test_pareto_predictive_intervals_cover_at_the_nominal_rate() -> None:
    shares, inside, probability = [], [], []
    for seed in range(3):
        split = _pareto_population(4000, seed)
        share, ins, prob = _coverage(ParetoNBDModel().fit(split), split, seed, draws=100)
        shares.append(share)
        inside.append(ins)
        probability.append(prob)
    assert 0.88 <= np.mean(shares) <= 0.92, shares
    assert np.mean(inside) == pytest.approx(np.mean(probability), abs=0.01)


def test_bgbb_predictive_purchases(bg) -> None:
    sim = simulate_bgbb(
        3000, alpha=1.2, beta=0.75, gamma=0.66, delta=2.8, n_periods=6, random_state=2
    )
    data = sim[["frequency", "recency", "n_periods"]]
    model = BetaGeoBetaBinomModel().fit(data)
    band = predict_interval(
        model,
        "expected_purchases",
        data.iloc[:50],
        t=5,
        kind="predictive",
        n_draws=50,
        random_state=1,
    )
    assert (band["ci_high"] <= 5).all()
    assert (band["ci_low"] >= 0).all()
