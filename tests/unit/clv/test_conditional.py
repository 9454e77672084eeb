"""Conditional purchase distributions, future P(alive) and the tracking curve (issue 15, item 2).

The high-precision references are in tests/golden/test_clv_conditional.py;
here: identities (sums, means), simulation (the predicted distribution of
holdout purchases matches what a simulated population does), the tracking
curve's bookkeeping against the summaries, and argument checks.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest

from crmcore.clv import (
    BetaGeoBetaBinomModel,
    BetaGeoModel,
    ModifiedBetaGeoModel,
    ParetoNBDModel,
    calibration_holdout_split,
    expected_cumulative_transactions,
    plot_cumulative_transactions,
    simulate_bgbb,
    simulate_bgnbd,
    simulate_transactions,
)
from crmcore.errors import ValidationError

BG = {"r": 0.5, "alpha": 10.0, "a": 0.8, "b": 2.5}
PNBD = {"r": 0.55, "alpha": 10.58, "s": 0.61, "beta": 11.67}


@pytest.fixture(scope="module")
def history() -> pd.DataFrame:
    data = simulate_bgnbd(300, **BG, T=40.0, random_state=5)
    data["T"] -= np.random.default_rng(1).uniform(0, 20, len(data))
    data["recency"] = np.minimum(data["recency"], data["T"])
    return data[["frequency", "recency", "T"]]


@pytest.mark.parametrize(
    "model",
    [
        BetaGeoModel.from_params(**BG),
        ModifiedBetaGeoModel.from_params(**BG),
        ParetoNBDModel.from_params(**PNBD),
    ],
)
def test_the_distribution_sums_to_one_with_the_expected_mean(model: Any, history) -> None:
    history = history.iloc[:100]
    n = np.arange(0, 60)
    probs = np.array([model.conditional_probability_of_purchases(k, 13.0, history) for k in n])
    assert probs.min() >= 0
    np.testing.assert_allclose(probs.sum(axis=0), 1.0, rtol=1e-10)
    np.testing.assert_allclose(
        n @ probs, model.expected_purchases(13.0, history), rtol=1e-9, atol=1e-12
    )
    # n and t per customer
    ns = history["frequency"].to_numpy() % 3
    ts = np.linspace(1.0, 30.0, len(history))
    per = model.conditional_probability_of_purchases(ns, ts, history)
    for i in (0, 7, 93):
        one = model.conditional_probability_of_purchases(ns[i], ts[i], history.iloc[[i]])
        assert per.iloc[i] == pytest.approx(float(one.iloc[0]), rel=1e-12)
    # at t = 0 nothing happens
    assert (model.conditional_probability_of_purchases(0, 0.0, history) == 1.0).all()


@pytest.mark.parametrize(
    "model",
    [
        BetaGeoModel.from_params(**BG),
        ModifiedBetaGeoModel.from_params(**BG),
        ParetoNBDModel.from_params(**PNBD),
    ],
)
def test_future_probability_alive_falls_with_t_and_starts_at_p_alive(model: Any, history) -> None:
    now = model.probability_alive(history)
    pd.testing.assert_series_equal(model.probability_alive(history, t=0), now)
    previous = now.to_numpy()
    for t in (1.0, 10.0, 100.0, 1e4, 1e8):
        later = model.probability_alive(history, t=t).to_numpy()
        assert (later <= previous + 1e-15).all()
        previous = later
    assert previous.max() < 0.05  # everyone is eventually gone
    per = model.probability_alive(history, t=np.full(len(history), 10.0))
    pd.testing.assert_series_equal(per, model.probability_alive(history, t=10.0))


def _bg_population(n: int, seed: int, T: float, t: float) -> tuple[pd.DataFrame, np.ndarray]:
    """BG/NBD customers: history over (0, T] and purchases in (T, T+t], in continuous time."""
    rng = np.random.default_rng(seed)
    lam = rng.gamma(BG["r"], 1.0 / BG["alpha"], n)
    p = rng.beta(BG["a"], BG["b"], n)
    K = rng.geometric(p)  # the repeat purchase after which the customer drops out
    N = rng.poisson(lam * (T + t))
    times = [np.sort(rng.uniform(0.0, T + t, k))[: min(k, kk)] for k, kk in zip(N, K, strict=True)]
    x = np.array([np.sum(tt <= T) for tt in times])
    tx = np.array([tt[tt <= T].max() if np.any(tt <= T) else 0.0 for tt in times])
    future = np.array([np.sum(tt > T) for tt in times])
    return pd.DataFrame({"frequency": x, "recency": tx, "T": np.full(n, T)}), future


def test_predicted_distribution_matches_a_simulated_population() -> None:
    # Law of total probability: over a population simulated from the model,
    # the mean predicted P(Y(t) = n | history) is the share with n purchases.
    data, future = _bg_population(20_000, seed=3, T=30.0, t=20.0)
    model = BetaGeoModel.from_params(**BG)
    for n in range(5):
        predicted = float(model.conditional_probability_of_purchases(n, 20.0, data).mean())
        observed = float(np.mean(future == n))
        se = np.sqrt(predicted * (1 - predicted) / len(data))
        assert abs(observed - predicted) < 4 * se, (n, observed, predicted)
    # and among the customers with 2 purchases in the history only
    two = (data["frequency"] == 2).to_numpy()
    predicted = model.conditional_probability_of_purchases(0, 20.0, data[two]).mean()
    assert abs(np.mean(future[two] == 0) - predicted) < 4 * np.sqrt(0.25 / two.sum())


def test_bgbb_distribution_and_new_customer_pmf() -> None:
    model = BetaGeoBetaBinomModel.from_params(alpha=1.2, beta=0.75, gamma=0.66, delta=2.8)
    sim = simulate_bgbb(
        2000, alpha=1.2, beta=0.75, gamma=0.66, delta=2.8, n_periods=6, random_state=1
    )
    data = sim[["frequency", "recency", "n_periods"]]
    probs = np.array([model.conditional_probability_of_purchases(k, 5, data) for k in range(6)])
    np.testing.assert_allclose(probs.sum(axis=0), 1.0, rtol=1e-12)
    np.testing.assert_allclose(np.arange(6) @ probs, model.expected_purchases(5, data), rtol=1e-10)
    new = model.probability_of_purchases(np.arange(7), 6)
    # the simulated frequencies follow P(X(6) = x)
    counts = np.bincount(data["frequency"], minlength=7)
    assert np.abs(counts / 2000 - new).max() < 4 * np.sqrt(0.25 / 2000)
    later = model.probability_alive(data, n=3).to_numpy()
    assert (later <= model.probability_alive(data).to_numpy()).all()
    with pytest.raises(ValidationError, match="n"):
        model.probability_alive(data, n=1.5)
    with pytest.raises(ValidationError, match="x"):
        model.probability_of_purchases(0.5, 6)


def test_argument_checks(history) -> None:
    model = BetaGeoModel.from_params(**BG)
    with pytest.raises(ValidationError, match="n"):
        model.conditional_probability_of_purchases(1.5, 10.0, history)
    with pytest.raises(ValidationError, match="n"):
        model.conditional_probability_of_purchases(-1, 10.0, history)
    with pytest.raises(ValidationError, match="t"):
        model.conditional_probability_of_purchases(1, -10.0, history)
    with pytest.raises(ValidationError, match="one per customer"):
        model.probability_alive(history, t=[1.0, 2.0])


# ------------------------------------------------------------------ tracking
@pytest.fixture(scope="module")
def log() -> pd.DataFrame:
    return simulate_transactions(
        3000,
        **BG,
        start="2024-01-01",
        periods=364,
        acquisition_periods=84,
        random_state=0,
    )


@pytest.mark.parametrize(("freq", "unit"), [("D", None), ("W", None), ("h", "D")])
def test_tracking_curve_agrees_with_the_summaries(log, freq, unit) -> None:
    split = calibration_holdout_split(
        log, as_of="2024-06-30", holdout_end="2024-12-29", freq=freq, unit=unit
    )
    model = BetaGeoModel().fit(split)
    curve = expected_cumulative_transactions(
        model, log, as_of="2024-06-30", end="2024-12-29", freq=freq, unit=unit
    )
    cut = curve.attrs["as_of"]
    # actual: the calibration's repeat purchase periods at as_of, plus the holdout's at the end
    assert curve.loc[cut, "actual"] == split["frequency_cal"].sum()
    assert (
        curve["actual"].iloc[-1] == split["frequency_cal"].sum() + split["frequency_holdout"].sum()
    )
    assert curve["actual"].dtype == np.int64
    # expected at as_of: every customer's new-customer expectation at its T
    want = model.expected_purchases_new_customer(split["T_cal"].to_numpy()).sum()
    assert curve.loc[cut, "expected"] == pytest.approx(want, rel=1e-12)
    np.testing.assert_allclose(curve["expected_incremental"].cumsum(), curve["expected"])
    assert (curve["actual_incremental"].cumsum() == curve["actual"]).all()
    if freq == "h":
        # the hourly grain is the simulated process: the forecast tracks the holdout
        # (coarser grains merge the heavy buyers' purchases, see test_recovery)
        assert curve["expected"].iloc[-1] == pytest.approx(curve["actual"].iloc[-1], rel=0.03)


def test_tracking_curve_extends_past_the_data_and_refuses_bad_input(log) -> None:
    model = BetaGeoModel.from_params(**BG)
    curve = expected_cumulative_transactions(
        model, log, as_of="2024-06-30", end="2025-03-31", freq="W", unit="D"
    )
    assert curve.index[-1] == pd.Period("2025-03-31", "W")
    after = curve.loc[pd.Period("2025-01-06", "W") :]
    assert (after["actual_incremental"] == 0).all()
    assert (np.diff(after["expected"]) > 0).all()
    with pytest.raises(ValidationError, match="end"):
        expected_cumulative_transactions(model, log, as_of="2024-06-30", end="2024-05-01")
    with pytest.raises(ValidationError, match="transaction model"):
        expected_cumulative_transactions(object(), log)
    bgbb = BetaGeoBetaBinomModel.from_params(alpha=1.2, beta=0.75, gamma=0.66, delta=2.8)
    with pytest.raises(ValidationError, match="opportunities"):
        expected_cumulative_transactions(bgbb, log, freq="h", unit="D")
    weekly = expected_cumulative_transactions(bgbb, log, freq="W")  # one opportunity a week
    assert np.isfinite(weekly["expected"]).all()


class _RecordingAxes:
    """A stand-in for matplotlib's Axes that records what is drawn."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, tuple, dict]] = []

    def __getattr__(self, name: str) -> Any:
        def record(*args: Any, **kwargs: Any) -> None:
            self.calls.append((name, args, kwargs))

        return record


def test_plot_draws_actual_expected_and_the_cut(log) -> None:
    curve = expected_cumulative_transactions(
        BetaGeoModel.from_params(**BG), log, as_of="2024-06-30", freq="W", unit="D"
    )
    ax = _RecordingAxes()
    assert plot_cumulative_transactions(curve, ax=ax) is ax
    lines = [c for c in ax.calls if c[0] == "plot"]
    assert [c[2]["label"] for c in lines] == ["actual", "expected"]
    np.testing.assert_array_equal(lines[0][1][1], curve["actual"])
    np.testing.assert_array_equal(lines[1][1][1], curve["expected"])
    (cut,) = [c for c in ax.calls if c[0] == "axvline"]
    assert cut[1][0] == pd.Timestamp("2024-06-24")
    ax = _RecordingAxes()
    plot_cumulative_transactions(curve, ax=ax, incremental=True)
    np.testing.assert_array_equal(
        next(c for c in ax.calls if c[0] == "plot")[1][1], curve["actual_incremental"]
    )


def test_plot_with_matplotlib(log) -> None:
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    curve = expected_cumulative_transactions(BetaGeoModel.from_params(**BG), log, freq="W")
    ax = plot_cumulative_transactions(curve)
    assert len(ax.get_lines()) == 3
    plt.close("all")
