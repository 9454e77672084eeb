"""Gamma-Gamma spend with q <= 1: no finite population mean, never a negative spend."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from crmcore.clv import (
    BetaGeoModel,
    GammaGammaModel,
    customer_lifetime_value,
    predict_interval,
    simulate_bgnbd,
)
from crmcore.errors import DataWarning, ValidationError


def _gg(p: float, q: float, gamma: float, sd_log_q: float | None = None) -> GammaGammaModel:
    cov: list[list[float | None]]
    if sd_log_q is None:
        cov = [[None] * 3 for _ in range(3)]
    else:
        cov = [[0.0] * 3 for _ in range(3)]
        cov[1][1] = sd_log_q**2
    return GammaGammaModel.from_dict(
        {
            "model": "GammaGammaModel",
            "schema_version": 1,
            "hyper_parameters": {},
            "params": {"p": p, "q": q, "gamma": gamma},
            "log_likelihood": 0.0,
            "converged": True,
            "n_iter": 1,
            "n_customers": 100.0,
            "covariance_log": cov,
        }
    )


@pytest.fixture(scope="module")
def bg() -> tuple[BetaGeoModel, pd.DataFrame]:
    data = simulate_bgnbd(2000, r=0.5, alpha=10.0, a=0.8, b=2.5, T=52.0, random_state=4)
    data = data.assign(monetary_value=np.where(data["frequency"] > 0, 20.0, 0.0))
    return BetaGeoModel().fit(data[["frequency", "recency", "T"]]), data


def test_expected_spend_refuses_frequency_zero_when_q_at_most_one() -> None:
    model = _gg(4.0, 0.9, 15.0)
    frame = pd.DataFrame({"frequency": [2, 0], "monetary_value": [5.0, 0.0]}, index=["a", "b"])
    with pytest.raises(ValidationError, match=r"no finite mean \(q = 0\.9") as info:
        model.expected_spend(frame)
    assert (info.value.field, info.value.row, info.value.value) == ("q", "b", 0.9)
    # Repeat buyers only: p x + q - 1 > 0, the conditional mean is fine and positive.
    spend = model.expected_spend(frame.iloc[:1])
    assert float(spend.iloc[0]) == pytest.approx(4.0 * (15.0 + 10.0) / (8.0 + 0.9 - 1.0))


def test_expected_spend_refuses_repeat_buyer_with_px_plus_q_at_most_one() -> None:
    model = _gg(0.3, 0.5, 15.0)
    frame = pd.DataFrame({"frequency": [2, 1], "monetary_value": [5.0, 4.0]}, index=["a", "b"])
    with pytest.raises(ValidationError, match=r"p\*frequency \+ q - 1 must be > 0") as info:
        model.expected_spend(frame)
    assert (info.value.field, info.value.row) == ("q", "b")


def test_clv_refuses_frequency_zero_when_q_at_most_one(
    bg: tuple[BetaGeoModel, pd.DataFrame],
) -> None:
    model, data = bg
    with pytest.raises(ValidationError, match="no finite mean"):
        customer_lifetime_value(
            model, _gg(4.0, 0.9, 15.0), data, horizon=6, time_unit=4.0, discount_rate=0.01
        )


def test_clv_band_refuses_frequency_zero_when_q_at_most_one(
    bg: tuple[BetaGeoModel, pd.DataFrame],
) -> None:
    # The old code returned a negative estimate and lower bound here.
    model, data = bg
    rows = data.iloc[:50]
    assert (rows["frequency"] == 0).any()
    gg = _gg(4.0, 0.9, 15.0, sd_log_q=0.01)
    with pytest.raises(ValidationError, match="no finite mean") as info:
        predict_interval(model, "clv", rows, spend_model=gg, horizon=6, time_unit=4.0, n_draws=50)
    assert info.value.field == "q"
    # Repeat buyers only: a positive band.
    repeat = rows[rows["frequency"] > 0]
    band = predict_interval(
        model, "clv", repeat, spend_model=gg, horizon=6, time_unit=4.0, n_draws=50, random_state=0
    )
    assert (band.to_numpy() > 0).all()


def test_clv_band_drops_the_few_draws_with_q_at_most_one(
    bg: tuple[BetaGeoModel, pd.DataFrame],
) -> None:
    # q = 1.05 with sd(log q) = 0.021: ~1% of draws have q <= 1 (below the
    # 2.5% upper tail): dropped with a warning, every bound positive.
    model, data = bg
    rows = data.iloc[:50]
    gg = _gg(4.0, 1.05, 15.0, sd_log_q=0.021)
    with pytest.warns(DataWarning, match=r"dropped \d+ of 1000 parameter draws \(\d\.\d%\)"):
        band = predict_interval(
            model,
            "clv",
            rows,
            spend_model=gg,
            horizon=6,
            time_unit=4.0,
            n_draws=1000,
            random_state=0,
        )
    assert (band.to_numpy() > 0).all()
    assert np.isfinite(band.to_numpy()).all()


def test_clv_band_refuses_when_many_draws_have_q_at_most_one(
    bg: tuple[BetaGeoModel, pd.DataFrame],
) -> None:
    # sd(log q) = 0.05 puts ~16% of the draws at q <= 1: the upper bound is unbounded.
    model, data = bg
    gg = _gg(4.0, 1.05, 15.0, sd_log_q=0.05)
    with pytest.raises(ValidationError, match=r"parameter draws \(1\d\.\d%\) have q <= 1") as info:
        predict_interval(
            model,
            "clv",
            data.iloc[:50],
            spend_model=gg,
            horizon=6,
            time_unit=4.0,
            n_draws=400,
            random_state=0,
        )
    assert info.value.field == "q"
