"""Public log-likelihood and models built from given parameters (issue 15, item 1)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from crmcore.clv import (
    BaseModel,
    BetaGeoBetaBinomModel,
    BetaGeoModel,
    GammaGammaModel,
    ModifiedBetaGeoModel,
    ParetoNBDModel,
    ShiftedBetaGeoModel,
    customer_lifetime_value,
    predict_interval,
    simulate_bgbb,
    simulate_bgnbd,
    simulate_gamma_gamma,
)
from crmcore.errors import NotFittedError, ValidationError

DATA = Path(__file__).resolve().parents[2] / "data"
REGULAR = [1000, 631, 468, 382, 326, 289, 262, 241]


def _continuous() -> pd.DataFrame:
    data = simulate_bgnbd(1500, r=0.5, alpha=8.0, a=0.8, b=2.5, T=40.0, random_state=7)
    data["T"] = data["T"] - np.random.default_rng(0).uniform(0, 10, len(data))
    data["recency"] = np.minimum(data["recency"], data["T"])
    m = simulate_gamma_gamma(data["frequency"], p=6.0, q=4.0, gamma=15.0, random_state=8)
    return data[["frequency", "recency", "T"]].assign(monetary_value=m)


def _bgbb() -> pd.DataFrame:
    sim = simulate_bgbb(
        2000, alpha=1.2, beta=0.75, gamma=0.66, delta=2.8, n_periods=6, random_state=3
    )
    return sim[["frequency", "recency", "n_periods"]]


CASES = {
    BetaGeoModel: _continuous,
    ModifiedBetaGeoModel: _continuous,
    ParetoNBDModel: _continuous,
    BetaGeoBetaBinomModel: _bgbb,
    GammaGammaModel: _continuous,
}


@pytest.mark.parametrize("cls", list(CASES))
def test_log_likelihood_of_the_fitted_data_is_the_fitted_log_likelihood(cls) -> None:
    data = CASES[cls]()
    model = cls().fit(data)
    total = model.log_likelihood(data)
    assert isinstance(total, float)
    assert total == pytest.approx(model.log_likelihood_, rel=1e-10)
    rows = model.log_likelihood(data, per_customer=True)
    assert isinstance(rows, pd.Series)
    assert rows.index.equals(data.index)
    assert rows.name == "log_likelihood"
    assert float(rows.sum()) == pytest.approx(total, rel=1e-10)
    # arrays in, arrays out; weights weight the total
    cols = ["frequency", "monetary_value"] if cls is GammaGammaModel else list(data.columns[:3])
    arr = model.log_likelihood(data[cols].to_numpy(), per_customer=True)
    np.testing.assert_allclose(arr, rows.to_numpy(), rtol=1e-13)
    w = np.arange(len(data)) % 3
    assert model.log_likelihood(data, weights=w) == pytest.approx(float(w @ rows), rel=1e-10)


def test_log_likelihood_matches_the_published_cdnow_value() -> None:
    # FHL 2005: LL = -9582.4 at r = 0.243, alpha = 4.414, a = 0.793, b = 2.426.
    raw = pd.read_csv(DATA / "clv" / "cdnow_customers_summary_with_transactions.csv")
    cdnow = pd.DataFrame({"frequency": raw["x"], "recency": raw["t_x"], "T": raw["T"]})
    model = BetaGeoModel.from_params(r=0.243, alpha=4.414, a=0.793, b=2.426)
    assert model.log_likelihood(cdnow) == pytest.approx(-9582.4, abs=0.1)
    # Pareto/NBD, Fader & Hardie (2005) note: LL = -9595.0 at the published estimates
    pnbd = ParetoNBDModel.from_params(r=0.55, alpha=10.58, s=0.61, beta=11.67)
    assert pnbd.log_likelihood(cdnow) == pytest.approx(-9595.0, abs=0.1)


def test_penalised_fit_reports_the_unpenalised_likelihood() -> None:
    data = _continuous()
    model = BetaGeoModel(penalizer=0.05).fit(data)
    assert model.log_likelihood(data) == pytest.approx(model.log_likelihood_, rel=1e-10)
    assert model.log_likelihood_ < BetaGeoModel().fit(data).log_likelihood_


def test_sbg_log_likelihood_per_period() -> None:
    model = ShiftedBetaGeoModel().fit(REGULAR)
    assert model.log_likelihood(REGULAR) == pytest.approx(model.log_likelihood_, rel=1e-10)
    table = model.log_likelihood(REGULAR, per_customer=True)
    assert list(table.columns) == ["period", "churned", "n_customers", "log_likelihood"]
    assert table["n_customers"].sum() == 1000
    assert float(table["n_customers"] @ table["log_likelihood"]) == pytest.approx(
        model.log_likelihood_, rel=1e-10
    )
    # churn in period 1: P(T = 1) = alpha / (alpha + beta) (FH 2007 eq. 3)
    a, b = model.params_["alpha"], model.params_["beta"]
    assert table["log_likelihood"].iloc[0] == pytest.approx(math.log(a / (a + b)), rel=1e-12)


def test_log_likelihood_refuses_bad_input() -> None:
    model = BetaGeoModel.from_params(r=0.5, alpha=8.0, a=0.8, b=2.5)
    with pytest.raises(ValidationError, match="per_customer"):
        model.log_likelihood([[1, 2.0, 3.0]], per_customer="yes")  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match="recency"):
        model.log_likelihood([[1, 4.0, 3.0]])
    with pytest.raises(NotFittedError):
        BetaGeoModel().log_likelihood([[1, 2.0, 3.0]])


PARAMS = {
    BetaGeoModel: {"r": 0.5, "alpha": 8.0, "a": 0.8, "b": 2.5},
    ModifiedBetaGeoModel: {"r": 0.5, "alpha": 8.0, "a": 0.8, "b": 2.5},
    ParetoNBDModel: {"r": 0.5, "alpha": 8.0, "s": 0.7, "beta": 10.0},
    BetaGeoBetaBinomModel: {"alpha": 1.2, "beta": 0.75, "gamma": 0.66, "delta": 2.8},
    GammaGammaModel: {"p": 6.0, "q": 4.0, "gamma": 15.0},
    ShiftedBetaGeoModel: {"alpha": 0.7, "beta": 1.2},
}


@pytest.mark.parametrize("cls", list(PARAMS))
def test_from_params_gives_a_model_usable_for_every_query(cls, tmp_path) -> None:
    params = PARAMS[cls]
    model = cls.from_params(**params)
    assert isinstance(model, cls)
    assert model.params_ == params
    assert model.n_customers_ == 0
    assert model.n_iter_ == 0
    assert math.isnan(model.log_likelihood_)
    assert all(math.isnan(v) for v in model.standard_errors_.values())
    # equal to a fitted model moved to the same parameters
    twin = cls.from_dict(json.loads(json.dumps(model.to_dict())))
    assert twin.params_ == params
    assert math.isnan(twin.log_likelihood_)
    model.save(tmp_path / "m.json")
    assert cls.load(tmp_path / "m.json").params_ == params
    assert list(model.summary().index) == list(params)


def test_from_params_queries_equal_a_fitted_twin() -> None:
    data = _continuous()
    fitted = BetaGeoModel().fit(data)
    given = BetaGeoModel.from_params(**fitted.params_)
    for query in (
        lambda m: m.probability_alive(data),
        lambda m: m.expected_purchases(10.0, data),
        lambda m: m.log_likelihood(data, per_customer=True),
    ):
        pd.testing.assert_series_equal(query(given), query(fitted))
    gg = GammaGammaModel.from_params(p=6.0, q=4.0, gamma=15.0)
    clv = customer_lifetime_value(given, gg, data, horizon=3, time_unit=4.0, discount_rate=0.0)
    assert np.isfinite(clv).all()
    with pytest.raises(ValidationError, match="covariance"):
        predict_interval(given, "probability_alive", data)


def test_from_params_refuses_missing_unknown_and_bad_values() -> None:
    with pytest.raises(ValidationError, match="missing b") as info:
        BetaGeoModel.from_params(r=0.5, alpha=8.0, a=0.8)
    assert info.value.field == "b"
    with pytest.raises(ValidationError, match="unknown s"):
        BetaGeoModel.from_params(r=0.5, alpha=8.0, a=0.8, b=1.0, s=2.0)
    with pytest.raises(ValidationError, match="alpha"):
        BetaGeoModel.from_params(r=0.5, alpha=-8.0, a=0.8, b=1.0)
    with pytest.raises(ValidationError, match="alpha"):
        BetaGeoModel.from_params(r=0.5, alpha=float("nan"), a=0.8, b=1.0)
    model = ShiftedBetaGeoModel.from_params(alpha=0.7, beta=1.2, cohort_size=500)
    assert model.project(2)["survivors"].iloc[0] == 500


def test_base_model_is_abstract() -> None:
    with pytest.raises(TypeError):
        BaseModel()  # type: ignore[abstract]
