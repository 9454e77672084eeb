"""Repurchase timing: the renewal model's formulas, EM against direct maximisation, behaviour."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import integrate, special, stats

from crmcore.errors import ValidationError
from crmcore.recommend import RepurchaseModel, simulate_baskets
from crmcore.recommend._renewal import Fitted, PairStats, em, posterior, predict

AS_OF = "2024-06-30"


def _one(n=0, s1=0.0, s2=0.0, log_open=-np.inf):
    return PairStats(
        np.zeros(1, dtype=np.int64),
        np.array([float(n)]),
        np.array([s1]),
        np.array([s2]),
        np.array([log_open]),
    )


def _fitted(m, sigma, tau, regular=1 - 1e-12):
    one = np.ones(1)
    return Fitted(m * one, sigma * one, tau * one, regular * one, np.zeros(1, int), one > 0)


def test_conditional_mean_and_probability_match_numerical_integrals():
    m, sigma, c, h = np.log(30.0), 0.4, 41.0, 10.0
    dist = stats.lognorm(s=sigma, scale=np.exp(m))
    expected, typical, regular, prob = predict(
        _one(log_open=np.log(c)), _fitted(m, sigma, 1e-9), horizon_days=h, k=16
    )
    tail = integrate.quad(lambda t: t * dist.pdf(t), c, np.inf, epsabs=1e-12)[0] / dist.sf(c)
    np.testing.assert_allclose(expected, [tail], rtol=1e-6)
    np.testing.assert_allclose(typical, [dist.mean()], rtol=1e-6)
    np.testing.assert_allclose(regular, [1.0], rtol=1e-9)
    np.testing.assert_allclose(prob, [(dist.sf(c) - dist.sf(c + h)) / dist.sf(c)], rtol=1e-6)


def test_posterior_without_censoring_is_the_conjugate_normal():
    m, sigma, tau = 3.0, 0.3, 0.5
    y = np.log([20.0, 25.0, 22.0])
    w, mu, reg = posterior(
        _one(3, y.sum(), (y**2).sum()),
        m=np.array([m]),
        sigma=np.array([sigma]),
        tau=np.array([tau]),
        regular=np.array([0.5]),
        k=16,
    )
    precision = 1 / tau**2 + 3 / sigma**2
    np.testing.assert_allclose(
        (w * mu).sum(), (m / tau**2 + y.sum() / sigma**2) / precision, rtol=1e-10
    )
    np.testing.assert_allclose((w * (mu - (w * mu).sum()) ** 2).sum(), 1 / precision, rtol=1e-8)
    assert reg[0] == 1.0  # a repeat purchase proves the pair regular


def _marginal_loglik(theta, pairs):
    """Minus the log marginal likelihood, the random mean integrated by adaptive quadrature."""
    m, log_s, log_t, logit_pi = theta
    s, t, pi = np.exp(log_s), np.exp(log_t), 1 / (1 + np.exp(-logit_pi))
    total = 0.0
    for y, c in pairs:
        n, sy, syy = len(y), float(y.sum()), float((y**2).sum())
        log_c = np.log(c) if c > 0 else None

        def integrand(mu, n=n, sy=sy, syy=syy, log_c=log_c):
            # prior N(m, t) on mu times the n log-normal intervals' normal densities
            log_f = -0.5 * ((mu - m) / t) ** 2 - np.log(t * np.sqrt(2 * np.pi))
            log_f += -0.5 * (syy - 2 * mu * sy + n * mu**2) / s**2 - n * np.log(
                s * np.sqrt(2 * np.pi)
            )
            value = np.exp(log_f)
            if log_c is not None:
                value *= special.ndtr((mu - log_c) / s)  # P(open interval longer than c)
            return value

        regular = integrate.quad(integrand, m - 12 * t, m + 12 * t, epsabs=0, epsrel=1e-10)[0]
        total += np.log(pi * regular + (1 - pi) * (len(y) == 0))
    return -total


def _renewal_pairs(rng, n_pairs, *, m, sigma, tau, regular, horizon=240.0):
    """Pairs drawn from the model itself: (log intervals, open interval at as_of)."""
    pairs = []
    for _ in range(n_pairs):
        mu = rng.normal(m, tau)
        t = [rng.uniform(0, 200)]
        if rng.random() < regular:
            while True:
                nxt = t[-1] + np.exp(rng.normal(mu, sigma))
                if nxt > horizon:
                    break
                t.append(nxt)
        days = np.floor(t)
        y = np.log(np.diff(days)[np.diff(days) > 0])
        pairs.append((y, float(np.floor(horizon) - days[-1])))
    return pairs


def _stats(pairs):
    return PairStats(
        np.zeros(len(pairs), dtype=np.int64),
        np.array([len(y) for y, _ in pairs], dtype=float),
        np.array([y.sum() for y, _ in pairs]),
        np.array([(y**2).sum() for y, _ in pairs]),
        np.array([np.log(c) if c > 0 else -np.inf for _, c in pairs]),
    )


def test_em_recovers_the_parameters_of_data_from_the_model():
    rng = np.random.default_rng(3)
    pairs = _renewal_pairs(rng, 3000, m=np.log(20), sigma=0.25, tau=0.3, regular=0.6)
    fit = em(_stats(pairs), 1, k=16, max_iter=500, tol=1e-8)
    assert fit.converged[0]
    np.testing.assert_allclose(fit.m[0], np.log(20), atol=0.02)
    np.testing.assert_allclose(fit.sigma[0], 0.25, rtol=0.08)
    np.testing.assert_allclose(fit.tau[0], 0.3, rtol=0.1)
    np.testing.assert_allclose(fit.regular[0], 0.6, atol=0.04)


def test_em_reaches_a_maximum_of_the_marginal_likelihood():
    # EM's estimate against the marginal likelihood integrated by adaptive quadrature:
    # every step of 0.05 along each (log / logit) parameter lowers it.
    rng = np.random.default_rng(5)
    pairs = _renewal_pairs(rng, 40, m=np.log(20), sigma=0.25, tau=0.3, regular=0.7)
    fit = em(_stats(pairs), 1, k=24, max_iter=20_000, tol=1e-10)
    assert fit.converged[0]
    theta = np.array(
        [
            fit.m[0],
            np.log(fit.sigma[0]),
            np.log(fit.tau[0]),
            np.log(fit.regular[0] / (1 - fit.regular[0])),
        ]
    )
    at_em = _marginal_loglik(theta, pairs)
    for i in range(theta.size):
        for step in (-0.05, 0.05):
            moved = theta.copy()
            moved[i] += step
            assert _marginal_loglik(moved, pairs) > at_em, (i, step)


@pytest.fixture(scope="module")
def shop():
    return simulate_baskets(3000, 60, consumable_share=0.25, random_state=11)


@pytest.fixture(scope="module")
def model(shop):
    consumables = shop.products.loc[shop.products["consumable"], "product_id"]
    return RepurchaseModel().fit(
        shop.lines, as_of=AS_OF, order_col="order_id", products=consumables
    )


def test_recovers_the_simulated_cycles(shop, model):
    # simulate_baskets also puts consumables in ordinary baskets: a customer who
    # bought one twice by chance looks like a slow regular, so m is a little long
    truth = np.log(shop.products.set_index("product_id")["cycle_days"])
    error = model.params_["m"] - truth[model.params_.index]
    assert len(error) >= 10
    assert error.abs().median() < 0.15
    np.testing.assert_allclose(model.params_["sigma"].median(), 0.25, rtol=0.15)
    assert model.params_["converged"].all()


def test_predictions_behave(shop, model):
    table = model.next_purchases(shop.lines, as_of=AS_OF, horizon="14D")
    assert (table["expected_interval_days"] > table["days_since"]).all()
    assert table["probability"].between(0, 1).all()
    assert table["regular_probability"].between(0, 1).all()
    repeat = table["purchases"] >= 2
    assert (table.loc[repeat, "regular_probability"] == 1).all()
    gap = (table["next_purchase"] - table["last_purchase"]).dt.days
    np.testing.assert_array_equal(gap, np.round(table["expected_interval_days"]).astype(int))
    # among one-off buyers, those who bought long ago are less likely regulars
    single = table.loc[~repeat]
    rho = stats.spearmanr(single["days_since"], single["regular_probability"])[0]
    assert rho < -0.5
    # adopters rebuy: P(within 14 days) is calibrated within a few points overall
    later = shop.lines.loc[
        (shop.lines["date"] > pd.Timestamp("2024-06-30 23:59:59.999999"))
        & (shop.lines["date"] <= pd.Timestamp("2024-07-14 23:59:59.999999")),
        ["customer_id", "product_id"],
    ].drop_duplicates()
    bought = table.merge(later.assign(hit=1), how="left", on=["customer_id", "product_id"])
    observed = bought["hit"].fillna(0).mean()
    np.testing.assert_allclose(table["probability"].mean(), observed, rtol=0.15)


def test_due_for_repurchase(shop, model):
    due = model.due_for_repurchase(shop.lines, as_of=AS_OF, horizon="7D", min_probability=0.6)
    assert (due["probability"] >= 0.6).all()
    assert due["probability"].is_monotonic_decreasing
    assert len(due) > 0
    with pytest.raises(ValidationError, match="min_probability must lie in"):
        model.due_for_repurchase(shop.lines, as_of=AS_OF, horizon="7D", min_probability=2)
    with pytest.raises(ValidationError, match="horizon is required"):
        model.due_for_repurchase(shop.lines, as_of=AS_OF, horizon=None)
    with pytest.raises(ValidationError, match="calendar length"):
        model.next_purchases(shop.lines, as_of=AS_OF, horizon="1M")


def test_no_leak_after_as_of(shop):
    before = shop.lines.loc[shop.lines["date"] <= pd.Timestamp("2024-06-30 23:59:59.999999")]
    a = RepurchaseModel().fit(before, as_of=AS_OF, order_col="order_id")
    b = RepurchaseModel().fit(shop.lines, as_of=AS_OF, order_col="order_id")
    pd.testing.assert_frame_equal(a.params_, b.params_)
    pd.testing.assert_frame_equal(
        a.next_purchases(before, as_of=AS_OF, horizon="7D"),
        b.next_purchases(shop.lines, as_of=AS_OF, horizon="7D"),
    )


def test_days_are_taken_on_the_data_wall_clock(shop):
    naive = shop.lines
    aware = naive.assign(
        date=naive["date"].dt.tz_localize(
            "Europe/Paris", nonexistent="shift_forward", ambiguous=True
        )
    )
    a = RepurchaseModel().fit(naive, as_of=AS_OF, order_col="order_id")
    b = RepurchaseModel().fit(aware, as_of=AS_OF, order_col="order_id")
    pd.testing.assert_frame_equal(a.params_, b.params_)


def test_bad_input(shop):
    with pytest.raises(ValidationError, match="unknown product 'soap'"):
        RepurchaseModel().fit(shop.lines, as_of=AS_OF, products=["soap"])
    with pytest.raises(ValidationError, match="no product has 100000 customers"):
        RepurchaseModel(min_customers=100_000).fit(shop.lines, as_of=AS_OF)
    with pytest.raises(ValidationError, match="min_customers must be a whole number >= 2"):
        RepurchaseModel(min_customers=1).fit(shop.lines, as_of=AS_OF)
    skipped = RepurchaseModel(min_customers=200).fit(shop.lines, as_of=AS_OF).skipped_
    assert (skipped["repeat_customers"] < 200).all()
    assert skipped["reason"].str.contains("fewer than min_customers=200").all()
