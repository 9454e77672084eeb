"""Fits and predictions do not depend on the time unit of the summary (issue 15, defect a).

Rescaling ``recency`` and ``T`` by ``c`` (weeks -> days: ``c = 7``) must give
the same model: rate-scale parameters multiply by ``c``, shape parameters
stay, and every prediction at horizon ``t * c`` equals the one at ``t``;
with and without a penalizer. The models that count opportunities or periods
(BG/BB, sBG) and the spend model have no time unit to change.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from crmcore.clv import (
    BetaGeoModel,
    GammaGammaModel,
    ModifiedBetaGeoModel,
    ParetoNBDModel,
    customer_lifetime_value,
    simulate_bgnbd,
    simulate_gamma_gamma,
)

DATA = Path(__file__).resolve().parents[1] / "data" / "clv"
MODELS = [BetaGeoModel, ModifiedBetaGeoModel, ParetoNBDModel]
# Parameters in time units (scale with c) per model; the others are shapes.
RATES = {"alpha", "beta"}


@pytest.fixture(scope="module")
def weekly() -> pd.DataFrame:
    data = simulate_bgnbd(1500, r=0.6, alpha=6.0, a=0.7, b=2.2, T=39.0, random_state=11)
    data["T"] = data["T"] - np.random.default_rng(3).uniform(0, 12, len(data))
    data["recency"] = np.minimum(data["recency"], data["T"])
    data.loc[data["frequency"] == 0, "recency"] = 0.0
    m = simulate_gamma_gamma(data["frequency"], p=6.0, q=4.0, gamma=15.0, random_state=2)
    return data[["frequency", "recency", "T"]].assign(monetary_value=m)


def _rescaled(data: pd.DataFrame, c: float) -> pd.DataFrame:
    return data.assign(recency=data["recency"] * c, T=data["T"] * c)


@pytest.mark.parametrize("cls", MODELS)
@settings(max_examples=6, deadline=None)
@given(
    c=st.sampled_from([1 / 24, 1 / 7, 7.0, 24.0 * 7, 365.25 / 12]) | st.floats(0.01, 100.0),
    penalizer=st.sampled_from([0.0, 0.001, 0.05]),
)
@example(c=7.0, penalizer=0.001)  # the case: weeks vs days
def test_fit_and_predictions_are_invariant_to_the_time_unit(
    weekly: pd.DataFrame, cls: type, c: float, penalizer: float
) -> None:
    base = cls(penalizer=penalizer).fit(weekly)
    data = _rescaled(weekly, c)
    other = cls(penalizer=penalizer).fit(data)
    for name, value in base.params_.items():
        want = value * c if name in RATES else value
        assert other.params_[name] == pytest.approx(want, rel=1e-5), name
    rtol = 1e-5
    np.testing.assert_allclose(
        other.probability_alive(data), base.probability_alive(weekly), rtol=rtol
    )
    np.testing.assert_allclose(
        other.expected_purchases(13.0 * c, data),
        base.expected_purchases(13.0, weekly),
        rtol=rtol,
    )
    np.testing.assert_allclose(
        other.expected_purchases_new_customer(np.array([1.0, 20.0]) * c),
        base.expected_purchases_new_customer(np.array([1.0, 20.0])),
        rtol=rtol,
    )
    np.testing.assert_allclose(
        other.probability_of_purchases(np.arange(4), 10.0 * c),
        base.probability_of_purchases(np.arange(4), 10.0),
        rtol=rtol,
        atol=1e-12,
    )
    gg = GammaGammaModel().fit(weekly[weekly["frequency"] > 0])
    np.testing.assert_allclose(
        customer_lifetime_value(other, gg, data, horizon=6, time_unit=4.0 * c, discount_rate=0.01),
        customer_lifetime_value(base, gg, weekly, horizon=6, time_unit=4.0, discount_rate=0.01),
        rtol=rtol,
    )
    assert other.log_likelihood_ - base.log_likelihood_ == pytest.approx(
        -weekly["frequency"].sum() * np.log(c), rel=1e-6
    )


@pytest.mark.parametrize("cls", MODELS)
def test_cdnow_weekly_and_daily_agree_with_a_penalizer(cls: type) -> None:
    # The numbers: Pareto/NBD with penalizer=0.001 summed 2132.5 expected
    # purchases on the weekly CDNOW summary (t = 39) and 2446.9 on the same data
    # in days (t = 273), because alpha and beta were penalised in the data's
    # units. Now every model penalises them in units of the longest T.
    raw = pd.read_csv(DATA / "cdnow_customers_summary_with_transactions.csv")
    weeks = pd.DataFrame({"frequency": raw["x"], "recency": raw["t_x"], "T": raw["T"]})
    days = _rescaled(weeks, 7.0)
    in_weeks = cls(penalizer=0.001).fit(weeks).expected_purchases(39.0, weeks).sum()
    in_days = cls(penalizer=0.001).fit(days).expected_purchases(273.0, days).sum()
    assert in_days == pytest.approx(in_weeks, rel=1e-7)
    if cls is BetaGeoModel:
        assert in_weeks == pytest.approx(1769.82, abs=0.01)  # unchanged (the figure)
