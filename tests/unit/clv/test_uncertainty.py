"""Unit tests for parametric-bootstrap intervals and interval coverage."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from crmcore.clv import (
    BetaGeoBetaBinomModel,
    BetaGeoModel,
    GammaGammaModel,
    ParetoNBDModel,
    ShiftedBetaGeoModel,
    customer_lifetime_value,
    draw_parameters,
    predict_interval,
    simulate_bgbb,
    simulate_bgnbd,
    simulate_gamma_gamma,
    simulate_pareto_nbd,
    simulate_sbg,
)
from crmcore.errors import ValidationError
from tests.unit.clv._per_draw import per_draw


@pytest.fixture(scope="module")
def bg() -> tuple[BetaGeoModel, pd.DataFrame]:
    data = simulate_bgnbd(5000, r=0.5, alpha=10.0, a=0.8, b=2.5, T=52.0, random_state=1)
    return BetaGeoModel().fit(data), data


@pytest.fixture(scope="module")
def pnbd() -> tuple[ParetoNBDModel, pd.DataFrame]:
    data = simulate_pareto_nbd(5000, r=0.6, alpha=8.0, s=0.8, beta=10.0, T=52.0, random_state=2)
    return ParetoNBDModel().fit(data), data


def test_interval_frame_is_tidy_and_brackets_the_estimate(
    pnbd: tuple[ParetoNBDModel, pd.DataFrame],
) -> None:
    model, data = pnbd
    rows = data.iloc[:300]
    band = predict_interval(model, "expected_purchases", rows, t=26.0, n_draws=200, random_state=0)
    assert list(band.columns) == ["estimate", "ci_low", "ci_high"]
    assert band.index.equals(rows.index)
    np.testing.assert_allclose(band["estimate"], model.expected_purchases(26.0, rows), rtol=1e-12)
    assert (band["ci_low"] <= band["ci_high"]).all()
    # The point estimate lies inside its 95% band for (nearly) everyone.
    inside = (band["ci_low"] <= band["estimate"] * (1 + 1e-9)) & (
        band["estimate"] <= band["ci_high"] * (1 + 1e-9)
    )
    assert inside.mean() > 0.97


def test_seeded_and_chunk_invariant(bg: tuple[BetaGeoModel, pd.DataFrame]) -> None:
    model, data = bg
    rows = data.iloc[:500]
    a = predict_interval(model, "probability_alive", rows, n_draws=100, random_state=5)
    b = predict_interval(model, "probability_alive", rows, n_draws=100, random_state=5)
    c = predict_interval(
        model, "probability_alive", rows, n_draws=100, random_state=5, max_cells=1000
    )
    pd.testing.assert_frame_equal(a, b)
    pd.testing.assert_frame_equal(a, c)
    d = predict_interval(model, "probability_alive", rows, n_draws=100, random_state=6)
    assert not a["ci_low"].equals(d["ci_low"])


def test_duplicate_customers_get_identical_bands(bg: tuple[BetaGeoModel, pd.DataFrame]) -> None:
    model, data = bg
    rows = pd.concat([data.iloc[:50], data.iloc[:50]])
    band = predict_interval(model, "expected_purchases", rows, t=10.0, n_draws=50, random_state=1)
    np.testing.assert_array_equal(band.iloc[:50].to_numpy(), band.iloc[50:].to_numpy())


def test_clv_band(bg: tuple[BetaGeoModel, pd.DataFrame]) -> None:
    model, data = bg
    spend = simulate_gamma_gamma(data["frequency"], p=6.0, q=4.0, gamma=15.0, random_state=2)
    full = data.assign(monetary_value=spend)
    gg = GammaGammaModel().fit(full[["frequency", "monetary_value"]])
    rows = full.iloc[:200]
    band = predict_interval(
        model,
        "clv",
        rows,
        spend_model=gg,
        horizon=12,
        time_unit=4.0,
        discount_rate=0.01,
        n_draws=100,
        random_state=0,
    )
    point = customer_lifetime_value(model, gg, rows, horizon=12, time_unit=4.0, discount_rate=0.01)
    np.testing.assert_allclose(band["estimate"], point, rtol=1e-10)
    assert (band["ci_high"] >= band["ci_low"]).all()


def test_bgbb_bands() -> None:
    data = simulate_bgbb(
        3000, alpha=1.2, beta=0.75, gamma=0.66, delta=2.8, n_periods=6, random_state=0
    )
    model = BetaGeoBetaBinomModel().fit(data)
    band = predict_interval(model, "expected_purchases", data.iloc[:20], t=5, random_state=1)
    assert (band["ci_low"] <= band["ci_high"]).all()
    with pytest.raises(ValidationError, match="clv"):
        predict_interval(model, "clv", data.iloc[:20])
    # opportunities are whole numbers (BetaGeoBetaBinomModel.expected_purchases
    # refuses 2.5 too); a fractional t used to be evaluated silently
    with pytest.raises(ValidationError, match="t must be a whole number"):
        predict_interval(model, "expected_purchases", data.iloc[:20], t=2.5, random_state=1)


def test_argument_errors(bg: tuple[BetaGeoModel, pd.DataFrame]) -> None:
    model, data = bg
    with pytest.raises(ValidationError, match="quantity"):
        predict_interval(model, "spend", data)  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match="needs t"):
        predict_interval(model, "expected_purchases", data)
    with pytest.raises(ValidationError, match="spend_model"):
        predict_interval(model, "clv", data, horizon=3, time_unit=1.0)
    with pytest.raises(ValidationError, match="confidence") as info:
        predict_interval(model, "probability_alive", data, confidence=1.0)
    assert info.value.field == "confidence"
    with pytest.raises(ValidationError, match="transaction model"):
        predict_interval(ShiftedBetaGeoModel().fit([100, 50, 30]), "probability_alive", data)


def test_draws_follow_the_fitted_covariance(bg: tuple[BetaGeoModel, pd.DataFrame]) -> None:
    model, _ = bg
    draws = draw_parameters(model, 20_000, random_state=0)
    cov = np.cov(np.log(draws), rowvar=False)
    target = model.covariance_log_.to_numpy()
    np.testing.assert_allclose(np.diag(cov), np.diag(target), rtol=0.05)
    sd, sd_t = np.sqrt(np.diag(cov)), np.sqrt(np.diag(target))
    np.testing.assert_allclose(cov / np.outer(sd, sd), target / np.outer(sd_t, sd_t), atol=0.03)
    means = np.log(draws).mean(axis=0)
    np.testing.assert_allclose(
        means, np.log(list(model.params_.values())), atol=4 * sd_t.max() / 100
    )


def test_parameter_intervals_cover_the_truth_about_95_percent() -> None:
    # 300 seeded replications of an sBG cohort (2,000 customers, 8 periods);
    # 600 nominal 95% intervals (summary(), log-scale Wald). Observed ~0.95;
    # the bounds are a 99.9% binomial band around 0.95.
    truth = {"alpha": 0.7, "beta": 1.2}
    hits = []
    for seed in range(300):
        survivors = simulate_sbg(2000, **truth, n_periods=8, random_state=seed)
        table = ShiftedBetaGeoModel().fit(survivors).summary()
        for name, value in truth.items():
            hits.append(table.loc[name, "ci_low"] <= value <= table.loc[name, "ci_high"])
    rate = float(np.mean(hits))
    assert 0.92 <= rate <= 0.975, rate


def test_bgbb_parameter_intervals_cover_the_truth() -> None:
    # 100 replications x 4 parameters of a 3,000-customer BG/BB cohort; observed 0.955.
    truth = {"alpha": 1.2, "beta": 0.75, "gamma": 0.66, "delta": 2.8}
    hits = []
    for seed in range(100):
        data = simulate_bgbb(3000, **truth, n_periods=6, random_state=seed)
        table = BetaGeoBetaBinomModel().fit(data).summary()
        hits += [table.loc[k, "ci_low"] <= v <= table.loc[k, "ci_high"] for k, v in truth.items()]
    rate = float(np.mean(hits))
    assert 0.91 <= rate <= 0.985, rate


@pytest.mark.parametrize("quantity", ["probability_alive", "expected_purchases"])
def test_pareto_fast_path_equals_per_draw_evaluation(
    pnbd: tuple[ParetoNBDModel, pd.DataFrame], quantity: str
) -> None:
    # The all-draws-at-once Pareto/NBD path gives the quantiles of the plain
    # per-draw predictions.
    model, data = pnbd
    rows = data.iloc[:400]
    band = predict_interval(
        model, quantity, rows, t=20.0, n_draws=60, random_state=3, max_cells=5000
    )  # type: ignore[arg-type]
    draws = draw_parameters(model, 60, random_state=3)
    values = []
    for th in draws:
        twin = ParetoNBDModel.from_dict(
            {**model.to_dict(), "params": dict(zip(model.params_, th, strict=True))}
        )
        if quantity == "probability_alive":
            values.append(np.asarray(twin.probability_alive(rows)))
        else:
            values.append(np.asarray(twin.expected_purchases(20.0, rows)))
    lo, hi = np.quantile(np.array(values), [0.025, 0.975], axis=0)
    np.testing.assert_allclose(band["ci_low"], lo, rtol=1e-9, atol=1e-300)
    np.testing.assert_allclose(band["ci_high"], hi, rtol=1e-9, atol=1e-300)


@pytest.mark.parametrize("kind", ["bg", "mbg", "pnbd"])
@pytest.mark.parametrize("quantity", ["probability_alive", "expected_purchases", "clv"])
def test_broadcast_bands_equal_per_draw_quantiles(kind: str, quantity: str) -> None:
    # The all-draws-at-once kernels give the quantiles of the plain per-draw
    # predictions (the model's own pure functions, one draw at a time).
    from crmcore.clv import ModifiedBetaGeoModel

    data = simulate_bgnbd(
        3000, r=0.5, alpha=10.0, a=0.8, b=2.5, T=52.0, modified=kind == "mbg", random_state=4
    )
    model = {"bg": BetaGeoModel, "mbg": ModifiedBetaGeoModel, "pnbd": ParetoNBDModel}[kind]()
    model.fit(data)
    spend = simulate_gamma_gamma(data["frequency"], p=6.0, q=4.0, gamma=15.0, random_state=2)
    # One-time buyers get distinct (irrelevant) monetary values, so several
    # rows share one (x, t_x, T) key: the grouped path must map them back.
    other = np.random.default_rng(1).uniform(1.0, 50.0, len(data))
    full = data.assign(monetary_value=np.where(data["frequency"] > 0, spend, other))
    gg = GammaGammaModel().fit(full[["frequency", "monetary_value"]])
    rows = full.iloc[:300]
    band = predict_interval(
        model,
        quantity,  # type: ignore[arg-type]
        rows,
        t=13.0,
        spend_model=gg,
        horizon=6,
        time_unit=4.0,
        discount_rate=0.02,
        margin=0.3,
        n_draws=40,
        random_state=9,
        max_cells=40 * 70,
    )
    rng = np.random.default_rng(9)
    draws = draw_parameters(model, 40, random_state=rng)
    spend_draws = draw_parameters(gg, 40, random_state=rng)
    values = per_draw(model, quantity, rows, draws, gg, spend_draws)
    lo, hi = np.quantile(values, [0.025, 0.975], axis=0)
    np.testing.assert_allclose(band["ci_low"], lo, rtol=1e-9, atol=1e-300)
    np.testing.assert_allclose(band["ci_high"], hi, rtol=1e-9, atol=1e-300)


def test_bg_bands_with_b_below_one_stay_finite() -> None:
    # b < 1 makes b + x - 1 negative at x = 0, where BG/NBD has no dropout term.
    data = simulate_bgnbd(4000, r=0.5, alpha=10.0, a=0.3, b=0.6, T=52.0, random_state=3)
    model = BetaGeoModel().fit(data)
    band = predict_interval(model, "probability_alive", data.iloc[:200], random_state=0)
    assert np.isfinite(band.to_numpy()).all()
    assert (band.loc[data.iloc[:200]["frequency"] == 0, "ci_low"] == 1.0).all()


def test_old_names_still_work_with_a_warning(bg: tuple[BetaGeoModel, pd.DataFrame]) -> None:
    model, data = bg
    rows = data.iloc[:50]
    want = predict_interval(
        model, "probability_alive", rows, n_draws=50, confidence=0.8, random_state=1
    )
    with pytest.warns(DeprecationWarning, match="'level=' is deprecated.*'confidence='"):
        got = predict_interval(
            model, "probability_alive", rows, n_draws=50, level=0.8, random_state=1
        )
    pd.testing.assert_frame_equal(pd.DataFrame(got), pd.DataFrame(want))
    with pytest.warns(DeprecationWarning, match="'lower' is deprecated.*'ci_low'"):
        np.testing.assert_array_equal(got["lower"], want["ci_low"])
    with pytest.warns(DeprecationWarning, match="'upper' is deprecated.*'ci_high'"):
        np.testing.assert_array_equal(got[["upper"]]["ci_high"], want["ci_high"])
    # the model's shortcut passes the old name on too
    with pytest.warns(DeprecationWarning, match="'level=' is deprecated"):
        model.predict_interval("probability_alive", rows, n_draws=50, level=0.8, random_state=1)


def test_clv_bands_with_given_spend_hold_the_spend_fixed(bg) -> None:
    model, data = bg
    rows = data.iloc[:200][["frequency", "recency", "T"]]
    spend = pd.Series(np.linspace(5.0, 50.0, len(rows)), index=rows.index)
    kw = {"horizon": 4, "time_unit": 4.0, "discount_rate": 0.01, "n_draws": 60}
    band = predict_interval(model, "clv", rows, spend_model=spend, random_state=2, **kw)
    purchases = predict_interval(model, "clv", rows, spend_model=1.0, random_state=2, **kw)
    for col in ("estimate", "ci_low", "ci_high"):
        np.testing.assert_allclose(band[col], purchases[col] * spend, rtol=1e-12)
