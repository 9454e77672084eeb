"""Kaplan–Meier against the published 6-MP leukaemia example.

Data: remission times (weeks) of 42 children with acute leukaemia, 21 on
6-mercaptopurine (6-MP) and 21 on placebo, Freireich et al. (1963), Blood 21,
699–716, as tabulated in Klein & Moeschberger (2003), *Survival Analysis:
Techniques for Censored and Truncated Data*, 2nd ed., Section 1.2, and in
Kleinbaum & Klein (2012), *Survival Analysis: A Self-Learning Text*, 3rd ed.,
Chapter 2 ("remission data"). Stored in tests/data/churn/freireich_6mp.csv.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from crmcore.churn import kaplan_meier

DATA = Path(__file__).parents[1] / "data" / "churn" / "freireich_6mp.csv"


@pytest.fixture(scope="module")
def remission():
    return pd.read_csv(DATA)


@pytest.fixture(scope="module")
def km_6mp(remission):
    g = remission[remission["group"] == "6-MP"]
    return kaplan_meier(g["weeks"], g["relapse"])


def test_6mp_product_limit_matches_kleinbaum_klein(km_6mp):
    # Kleinbaum & Klein (2012), Chapter 2, KM table for group 1 (6-MP):
    # t(f), n_f, m_f and S(t(f)) printed to 4 decimals.
    expected = pd.DataFrame(
        {
            "at_risk": [21, 17, 15, 12, 11, 7, 6],
            "events": [3, 1, 1, 1, 1, 1, 1],
            "survival": [0.8571, 0.8067, 0.7529, 0.6902, 0.6275, 0.5378, 0.4482],
        },
        index=[6.0, 7.0, 10.0, 13.0, 16.0, 22.0, 23.0],
    )
    np.testing.assert_array_equal(km_6mp.index.to_numpy(), expected.index.to_numpy())
    np.testing.assert_array_equal(km_6mp["at_risk"], expected["at_risk"])
    np.testing.assert_array_equal(km_6mp["events"], expected["events"])
    np.testing.assert_allclose(km_6mp["survival"], expected["survival"], atol=5e-5, rtol=0)


def test_6mp_greenwood_standard_errors_match_klein_moeschberger(km_6mp):
    # Klein & Moeschberger (2003), Table 4.1A: product-limit estimate for the
    # 6-MP group with Greenwood standard errors printed to 3 decimals.
    # The band is S**exp(±z·σ) with σ = se(S) / (S·|log S|); invert it.
    z = stats.norm.ppf(0.975)
    s = km_6mp["survival"].to_numpy()
    sigma = np.log(np.log(km_6mp["ci_low"].to_numpy()) / np.log(s)) / z
    se = sigma * s * np.abs(np.log(s))
    expected_se = [0.076, 0.087, 0.096, 0.107, 0.114, 0.128, 0.135]
    np.testing.assert_allclose(se, expected_se, atol=5e-4, rtol=0)
    sigma_up = -np.log(np.log(km_6mp["ci_high"].to_numpy()) / np.log(s)) / z
    np.testing.assert_allclose(sigma_up, sigma, rtol=1e-12)


def test_6mp_log_log_band(km_6mp):
    # The log(-log) band of Kalbfleisch & Prentice (1980), evaluated by hand
    # from the published S and Greenwood sums at t = 6 (S = 18/21,
    # sum d/(n(n-d)) = 3/(21*18)): exp(-exp(log(-log S) ± 1.96·σ)).
    s = 18 / 21
    sigma = np.sqrt(3 / (21 * 18)) / -np.log(s)
    z = stats.norm.ppf(0.975)
    lo = s ** np.exp(z * sigma)
    hi = s ** np.exp(-z * sigma)
    np.testing.assert_allclose(km_6mp.iloc[0][["ci_low", "ci_high"]], [lo, hi], rtol=1e-12)
    # Printed to 3 decimals these are 0.620 and 0.952.
    np.testing.assert_allclose([lo, hi], [0.620, 0.952], atol=5e-4, rtol=0)
    assert (km_6mp["ci_low"] < km_6mp["survival"]).all()
    assert (km_6mp["ci_high"] > km_6mp["survival"]).all()


def test_placebo_uncensored_curve_is_the_empirical_survivor(remission):
    # No censoring in the placebo arm: S(t) = (# remission > t) / 21, and
    # Greenwood reduces to the binomial se sqrt(S(1-S)/n); at t = 10 weeks
    # Cox & Oakes (1984, Table 1.1 example) give S = 8/21 = 0.381, se 0.106.
    g = remission[remission["group"] == "placebo"]
    km = kaplan_meier(g["weeks"], g["relapse"])
    weeks = g["weeks"].to_numpy()
    expected = [(weeks > t).sum() / 21 for t in km.index]
    np.testing.assert_allclose(km["survival"], expected, rtol=1e-12)
    s8 = km.loc[8.0, "survival"]
    np.testing.assert_allclose(s8, 0.381, atol=5e-4, rtol=0)
    z = stats.norm.ppf(0.975)
    sigma = np.log(np.log(km.loc[8.0, "ci_low"]) / np.log(s8)) / z
    se = sigma * s8 * abs(np.log(s8))
    np.testing.assert_allclose(se, 0.106, atol=5e-4, rtol=0)
    np.testing.assert_allclose(se, np.sqrt(s8 * (1 - s8) / 21), rtol=1e-10)


def test_grouped_form_equals_separate_fits(remission, km_6mp):
    both = kaplan_meier(remission["weeks"], remission["relapse"], by=remission["group"])
    assert both.index.names == ["group", "time"]
    pd.testing.assert_frame_equal(
        both.loc["6-MP"], km_6mp, check_names=False, check_index_type=False
    )
    assert both.loc["placebo"]["survival"].iloc[-1] == 0.0
