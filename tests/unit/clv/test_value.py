from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from crmcore.clv import (
    BetaGeoModel,
    GammaGammaModel,
    ModifiedBetaGeoModel,
    customer_lifetime_value,
    retention_clv,
    simple_clv,
    simulate_bgnbd,
    simulate_gamma_gamma,
)
from crmcore.errors import NotFittedError, ValidationError


@pytest.fixture(scope="module")
def setup() -> tuple[BetaGeoModel, GammaGammaModel, pd.DataFrame]:
    data = simulate_bgnbd(4000, r=0.6, alpha=9.0, a=0.9, b=3.0, T=52.0, random_state=2)
    data["monetary_value"] = simulate_gamma_gamma(
        data["frequency"], p=6.0, q=4.0, gamma=15.0, random_state=3
    )
    data.index = [f"c{i}" for i in range(len(data))]
    return BetaGeoModel().fit(data), GammaGammaModel().fit(data), data


def test_clv_equals_explicit_period_loop(setup) -> None:
    bg, gg, data = setup
    horizon, unit, d, margin = 6, 4.345, 0.02, 0.3
    clv = customer_lifetime_value(
        bg, gg, data, horizon=horizon, time_unit=unit, discount_rate=d, margin=margin
    )
    assert isinstance(clv, pd.Series)
    assert clv.index.equals(data.index)
    spend = gg.expected_spend(data).to_numpy()
    expected = np.zeros(len(data))
    prev = np.zeros(len(data))
    for i in range(1, horizon + 1):
        cur = bg.expected_purchases(i * unit, data).to_numpy()
        expected += margin * spend * (cur - prev) / (1 + d) ** i
        prev = cur
    np.testing.assert_allclose(clv.to_numpy(), expected, rtol=1e-10)


def test_clv_without_discounting_telescopes(setup) -> None:
    bg, gg, data = setup
    mbg = ModifiedBetaGeoModel().fit(data)
    for model in (bg, mbg):
        clv = customer_lifetime_value(
            model, gg, data, horizon=12, time_unit=2.0, discount_rate=0.0
        ).to_numpy()
        direct = (
            model.expected_purchases(24.0, data).to_numpy() * gg.expected_spend(data).to_numpy()
        )
        np.testing.assert_allclose(clv, direct, rtol=1e-10)


def test_clv_array_input_and_arguments(setup) -> None:
    bg, gg, data = setup
    arr = data[["frequency", "recency", "T", "monetary_value"]].to_numpy()
    a = customer_lifetime_value(bg, gg, arr, horizon=3, time_unit=1.0, discount_rate=0.1)
    b = customer_lifetime_value(bg, gg, data, horizon=3, time_unit=1.0, discount_rate=0.1)
    assert isinstance(a, np.ndarray)
    np.testing.assert_allclose(a, b.to_numpy(), rtol=1e-15)
    for kwargs, field in [
        ({"horizon": 0}, "horizon"),
        ({"horizon": 1.5}, "horizon"),
        ({"time_unit": 0.0}, "time_unit"),
        ({"discount_rate": -0.1}, "discount_rate"),
        ({"margin": -1.0}, "margin"),
    ]:
        args = {"horizon": 3, "time_unit": 1.0, "discount_rate": 0.1, **kwargs}
        with pytest.raises(ValidationError) as info:
            customer_lifetime_value(bg, gg, data, **args)
        assert info.value.field == field
    with pytest.raises(ValidationError, match="spend_model"):
        customer_lifetime_value(bg, bg, data, horizon=3, time_unit=1.0, discount_rate=0.1)
    with pytest.raises(NotFittedError):
        customer_lifetime_value(
            BetaGeoModel(), gg, data, horizon=3, time_unit=1.0, discount_rate=0.1
        )


def test_simple_clv() -> None:
    assert simple_clv(1000.0, 0.2, 5) == pytest.approx(1000.0)
    assert simple_clv(1000.0, 0.2, 5, acquisition_cost=250.0) == pytest.approx(750.0)
    np.testing.assert_allclose(simple_clv([100.0, 200.0], 0.5, [1, 2]), [50.0, 200.0], rtol=0)
    with pytest.raises(ValidationError):
        simple_clv(100.0, 1.5, 2)
    with pytest.raises(ValidationError):
        simple_clv(-100.0, 0.5, 2)


def test_retention_clv_matches_the_geometric_series() -> None:
    m, r, d = 120.0, 0.75, 0.08
    series = sum(m * r**t / (1 + d) ** t for t in range(1, 2000))
    assert retention_clv(m, r, d) == pytest.approx(series, rel=1e-12)
    np.testing.assert_allclose(
        retention_clv(np.array([1.0, 2.0]), 0.5, 0.0), [1.0, 2.0], rtol=1e-15
    )
    with pytest.raises(ValidationError):
        retention_clv(10.0, 1.0, 0.1)


def test_long_horizon_is_evaluated_in_blocks(setup, monkeypatch) -> None:
    from crmcore.clv import _kernels

    bg, gg, data = setup
    whole = customer_lifetime_value(bg, gg, data, horizon=40, time_unit=1.0, discount_rate=0.01)
    monkeypatch.setattr(_kernels, "_GRID_CELLS", 100)  # forces many small blocks
    blocks = customer_lifetime_value(bg, gg, data, horizon=40, time_unit=1.0, discount_rate=0.01)
    np.testing.assert_allclose(blocks.to_numpy(), whole.to_numpy(), rtol=1e-13)


@pytest.mark.parametrize("margin", [["a"], [True, 2.0], "10", [1.0, float("nan")]])
def test_retention_clv_checks_margin_before_converting(margin) -> None:
    with pytest.raises(ValidationError, match="margin"):
        retention_clv(margin, 0.8, 0.1)


def test_bgbb_clv_is_the_discounted_period_loop_in_opportunities() -> None:
    # The kernels give BG/BB a CLV too: periods of whole opportunities.
    from crmcore.clv import BetaGeoBetaBinomModel, simulate_bgbb

    sim = simulate_bgbb(
        3000, alpha=1.2, beta=0.75, gamma=0.66, delta=2.8, n_periods=6, random_state=3
    )
    data = sim[["frequency", "recency", "n_periods"]].copy()
    model = BetaGeoBetaBinomModel().fit(data)
    data["monetary_value"] = simulate_gamma_gamma(
        data["frequency"], p=6.0, q=4.0, gamma=15.0, random_state=4
    )
    gg = GammaGammaModel().fit(data[["frequency", "monetary_value"]])
    clv = customer_lifetime_value(model, gg, data, horizon=5, time_unit=2, discount_rate=0.1)
    spend = gg.expected_spend(data).to_numpy()
    want = np.zeros(len(data))
    prev = np.zeros(len(data))
    for i in range(1, 6):
        cur = model.expected_purchases(2 * i, data).to_numpy()
        want += spend * (cur - prev) / 1.1**i
        prev = cur
    np.testing.assert_allclose(clv.to_numpy(), want, rtol=1e-10)
    with pytest.raises(ValidationError, match="time_unit"):
        customer_lifetime_value(model, gg, data, horizon=5, time_unit=1.5, discount_rate=0.1)


def test_clv_takes_the_spend_per_customer(setup) -> None:
    bg, gg, data = setup
    kw = {"horizon": 6, "time_unit": 4.0, "discount_rate": 0.02, "margin": 0.3}
    by_model = customer_lifetime_value(bg, gg, data, **kw)
    spend = gg.expected_spend(data)
    # a Series is aligned by customer: order and extra customers do not matter
    shuffled = pd.concat([spend.iloc[::-1], pd.Series([5.0], index=["someone else"])])
    pd.testing.assert_series_equal(customer_lifetime_value(bg, shuffled, data, **kw), by_model)
    # arrays in row order; the summary then needs no monetary_value
    rfm = data[["frequency", "recency", "T"]]
    np.testing.assert_allclose(
        customer_lifetime_value(bg, spend.to_numpy(), rfm, **kw), by_model, rtol=1e-15
    )
    one = customer_lifetime_value(bg, 10.0, rfm, **kw)
    np.testing.assert_allclose(one / by_model, 10.0 / spend, rtol=1e-12)


def test_clv_refuses_spend_that_does_not_fit(setup) -> None:
    bg, gg, data = setup
    kw = {"horizon": 6, "time_unit": 4.0, "discount_rate": 0.02}
    spend = gg.expected_spend(data)
    with pytest.raises(ValidationError, match="no value for customer 'c3'") as info:
        customer_lifetime_value(bg, spend.drop("c3"), data, **kw)
    assert info.value.row == "c3"
    with pytest.raises(ValidationError, match="one value per customer"):
        customer_lifetime_value(bg, spend.to_numpy()[:-1], data, **kw)
    with pytest.raises(ValidationError, match="spend_model"):
        customer_lifetime_value(bg, -spend, data, **kw)
    with pytest.raises(ValidationError, match="more than once"):
        customer_lifetime_value(bg, pd.concat([spend, spend.iloc[:1]]), data, **kw)
    with pytest.raises(ValidationError, match="DataFrame indexed by customer"):
        customer_lifetime_value(bg, spend, data[["frequency", "recency", "T"]].to_numpy(), **kw)
    with pytest.raises(ValidationError, match="spend model"):
        customer_lifetime_value(bg, bg, data, **kw)
