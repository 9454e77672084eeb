"""Bootstrap bands stay within their memory bound when every customer has its own T."""

from __future__ import annotations

import tracemalloc

import numpy as np
import pandas as pd
import pytest

from crmcore.clv import (
    BetaGeoModel,
    GammaGammaModel,
    ParetoNBDModel,
    draw_parameters,
    predict_interval,
    simulate_gamma_gamma,
    simulate_pareto_nbd,
)
from tests.unit.clv._per_draw import per_draw


@pytest.fixture(scope="module")
def pnbd() -> ParetoNBDModel:
    data = simulate_pareto_nbd(2000, r=0.6, alpha=8.0, s=0.8, beta=10.0, T=52.0, random_state=2)
    return ParetoNBDModel().fit(data)


def _continuous(n: int, seed: int) -> pd.DataFrame:
    T = np.random.default_rng(seed).uniform(20.0, 60.0, n)
    return simulate_pareto_nbd(n, r=0.6, alpha=8.0, s=0.8, beta=10.0, T=T, random_state=seed)


@pytest.mark.slow
def test_pareto_band_memory_does_not_grow_with_draws_times_customers(
    pnbd: ParetoNBDModel,
) -> None:
    # 40k customers with distinct T: ~80k distinct (x, t) pairs. Holding log G
    # for every draw at every pair at once (the old kernel) peaked at ~315 MB
    # here; per chunk of max_cells // n_draws rows it peaks at ~82 MB.
    data = _continuous(40_000, 5)
    tracemalloc.start()
    try:
        band = predict_interval(
            pnbd, "probability_alive", data, n_draws=200, random_state=0, max_cells=1_000_000
        )
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert np.isfinite(band.to_numpy()).all()
    assert peak < 150e6, peak


@pytest.mark.parametrize("max_cells", [30 * 64, 10**6])
@pytest.mark.parametrize("kind", ["bg", "pnbd"])
@pytest.mark.parametrize("quantity", ["probability_alive", "expected_purchases", "clv"])
def test_chunked_bands_equal_per_draw_quantiles_with_continuous_t(
    pnbd: ParetoNBDModel, kind: str, quantity: str, max_cells: int
) -> None:
    # Continuous T: every chunk has its own (x, t) pairs. Small max_cells: the
    # pair tables are built per chunk; large: once for all rows. Both give the
    # quantiles of the plain per-draw predictions to 1e-12.
    data = _continuous(500, 7)
    model = pnbd if kind == "pnbd" else BetaGeoModel().fit(_continuous(2000, 3))
    spend = simulate_gamma_gamma(
        np.maximum(data["frequency"], 1), p=6.0, q=4.0, gamma=15.0, random_state=2
    )
    full = data.assign(monetary_value=spend)
    gg = GammaGammaModel().fit(full.loc[full["frequency"] > 0, ["frequency", "monetary_value"]])
    band = predict_interval(
        model,
        quantity,  # type: ignore[arg-type]
        full,
        t=13.0,
        spend_model=gg,
        horizon=6,
        time_unit=4.0,
        discount_rate=0.02,
        margin=0.3,
        n_draws=30,
        random_state=9,
        max_cells=max_cells,
    )
    rng = np.random.default_rng(9)
    draws = draw_parameters(model, 30, random_state=rng)
    spend_draws = draw_parameters(gg, 30, random_state=rng)
    values = per_draw(model, quantity, full, draws, gg, spend_draws)
    lo, hi = np.quantile(values, [0.025, 0.975], axis=0)
    np.testing.assert_allclose(band["ci_low"], lo, rtol=1e-12, atol=1e-300)
    np.testing.assert_allclose(band["ci_high"], hi, rtol=1e-12, atol=1e-300)
