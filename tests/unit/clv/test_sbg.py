"""Unit tests for the shifted-beta-geometric model."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from crmcore.clv import ShiftedBetaGeoModel, simulate_sbg
from crmcore.errors import NotFittedError, ValidationError

REGULAR = [1000, 631, 468, 382, 326, 289, 262, 241]


@pytest.fixture(scope="module")
def model() -> ShiftedBetaGeoModel:
    return ShiftedBetaGeoModel().fit(REGULAR)


def test_functions_are_consistent(model: ShiftedBetaGeoModel) -> None:
    t = np.arange(1, 20)
    surv = np.asarray(model.survival(np.arange(0, 20)))
    assert surv[0] == 1.0
    np.testing.assert_allclose(
        np.asarray(model.retention_rate(t)), surv[1:] / surv[:-1], rtol=1e-12
    )
    np.testing.assert_allclose(np.asarray(model.churn_probability(t)), -np.diff(surv), rtol=1e-10)
    # retention rises with tenure (the sorting effect of FH 2007)
    assert np.all(np.diff(np.asarray(model.retention_rate(t))) > 0)


def test_gradient_matches_likelihood_differences(model: ShiftedBetaGeoModel) -> None:
    t = np.array([1.0, 2, 3, 3])
    churned = np.array([True, True, True, False])
    w = np.array([10.0, 5, 3, 20])
    th = np.array([0.8, 1.7])
    _, grad = model._loglik_grad(th, (t, churned, w))
    for j in range(2):
        h = 1e-6
        up, down = th.copy(), th.copy()
        up[j] += h
        down[j] -= h
        num = (
            model._loglik_grad(up, (t, churned, w))[0]
            - model._loglik_grad(down, (t, churned, w))[0]
        ) / (2 * h)
        assert grad[j] == pytest.approx(num, rel=1e-6)


def test_several_cohorts_share_parameters() -> None:
    a = simulate_sbg(20_000, alpha=0.8, beta=2.0, n_periods=6, random_state=1)
    b = simulate_sbg(20_000, alpha=0.8, beta=2.0, n_periods=3, random_state=2)
    model = ShiftedBetaGeoModel().fit([a, b])
    assert abs(model.params_["alpha"] - 0.8) < 4 * model.standard_errors_["alpha"]
    assert abs(model.params_["beta"] - 2.0) < 4 * model.standard_errors_["beta"]
    frame = pd.DataFrame({"a": a, "b": np.r_[b, [np.nan] * 3]})
    again = ShiftedBetaGeoModel().fit(frame)
    assert again.params_ == pytest.approx(model.params_, rel=1e-8)
    assert model.cohort_size_ == 20_000
    assert isinstance(model.cohort_size_, int)


def test_derl_increases_with_renewals_and_falls_with_discounting(
    model: ShiftedBetaGeoModel,
) -> None:
    derl = np.asarray(model.expected_residual_lifetime(0.1, np.array([0, 1, 5, 20])))
    assert np.all(np.diff(derl) > 0)
    assert model.expected_residual_lifetime(0.2) < model.expected_residual_lifetime(0.1)
    # No heterogeneity limit: a huge alpha+beta with mean churn c is a constant
    # retention 1-c, DERL = (1-c) (1+d)/(d+c) (FH 2010, eq. 1 analogue).
    flat = ShiftedBetaGeoModel.from_dict(
        {**model.to_dict(), "params": {"alpha": 2e5, "beta": 8e5}}
    )
    c, d = 0.2, 0.1
    assert flat.expected_residual_lifetime(d) == pytest.approx(
        (1 - c) * (1 + d) / (d + c), rel=1e-4
    )


def test_project_and_persistence(model: ShiftedBetaGeoModel, tmp_path: Path) -> None:
    table = model.project(12)
    assert list(table.columns) == ["survival", "survivors", "retention_rate"]
    assert table.index.name == "period"
    assert np.isnan(table["retention_rate"].iloc[0])
    assert table["survivors"].iloc[0] == pytest.approx(1000.0)
    path = tmp_path / "sbg.json"
    model.save(path)
    back = ShiftedBetaGeoModel.load(path)
    assert back.params_ == model.params_
    assert back.cohort_size_ == model.cohort_size_


def test_bad_input() -> None:
    with pytest.raises(ValidationError, match="increase"):
        ShiftedBetaGeoModel().fit([100, 90, 95])
    with pytest.raises(ValidationError, match="cohort size"):
        ShiftedBetaGeoModel().fit([100])
    with pytest.raises(ValidationError, match="finite"):
        ShiftedBetaGeoModel().fit([100, float("nan")])
    with pytest.raises(ValidationError):
        ShiftedBetaGeoModel().fit([100, -1])
    with pytest.raises(ValidationError, match="whole numbers"):
        ShiftedBetaGeoModel().fit([100, 86.9, 74.3])
    with pytest.raises(NotFittedError):
        ShiftedBetaGeoModel().survival(3)
    model = ShiftedBetaGeoModel().fit(REGULAR)
    with pytest.raises(ValidationError, match="t"):
        model.retention_rate(0)
    with pytest.raises(ValidationError, match="discount_rate"):
        model.expected_residual_lifetime(0.0)


@pytest.mark.parametrize("d", [0.1, 1e-3, 1e-5, 1e-7])
def test_derl_is_not_truncated_for_small_discount_rates(
    model: ShiftedBetaGeoModel, d: float
) -> None:
    # alpha = beta = 1: S(t) = 1/(1+t), so for n = 1 (no renewal yet)
    # DERL = sum_{t>=1} z^(t-1)/(t+1) = (-log(1-z) - z)/z^2, z = 1/(1+d).
    # The direct sum needs ~1/d terms; it used to stop silently after
    # 200 000 of them (35% low at d = 1e-6 for alpha = 0.70, beta = 1.18).
    uniform = ShiftedBetaGeoModel.from_dict(
        {**model.to_dict(), "params": {"alpha": 1.0, "beta": 1.0}}
    )
    z = 1.0 / (1.0 + d)
    exact = (np.log1p(1.0 / d) - z) / z**2
    assert uniform.expected_residual_lifetime(d) == pytest.approx(exact, rel=1e-10)


def test_interior_gap_in_a_cohort_column_is_refused() -> None:
    # Only trailing NaN mark a shorter cohort; a gap used to be dropped,
    # shifting every later count one period earlier.
    gap = pd.DataFrame({"a": [1000.0, np.nan, 468, 382, 326]})
    with pytest.raises(ValidationError, match="row 1"):
        ShiftedBetaGeoModel().fit(gap)
    trailing = pd.DataFrame(
        {"a": REGULAR, "b": [1000.0, 640, 470, np.nan, np.nan, np.nan, np.nan, np.nan]}
    )
    both = ShiftedBetaGeoModel().fit(trailing)
    lists = ShiftedBetaGeoModel().fit([REGULAR, [1000, 640, 470]])
    assert both.params_ == pytest.approx(lists.params_, rel=1e-10)
