from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import average_precision_score, roc_auc_score

from crmcore.churn import (
    calibration_table,
    gains_table,
    lift_curve,
    plot_lift_curve,
    score_metrics,
)
from crmcore.errors import ValidationError


@pytest.fixture
def scored():
    rng = np.random.default_rng(7)
    score = rng.uniform(size=1000)
    y = (rng.uniform(size=1000) < score * 0.5).astype(int)
    return y, score


def test_gains_table_shape_and_sums(scored):
    y, s = scored
    g = gains_table(y, s)
    assert list(g.index) == list(range(1, 11))
    assert (g["n"] == 100).all()
    assert g["positives"].sum() == y.sum()
    np.testing.assert_allclose(g["cumulative_capture"].iloc[-1], 1.0, rtol=1e-12)
    np.testing.assert_allclose((g["lift"] * g["n"]).sum() / g["n"].sum(), 1.0, rtol=1e-12)
    # best scores first, and on this data the first decile is the richest
    assert (g["min_score"].iloc[:-1].to_numpy() >= g["max_score"].iloc[1:].to_numpy()).all()
    assert g["rate"].iloc[0] > g["rate"].iloc[-1]


def test_gains_ties_share_a_bin_and_order_does_not_matter():
    y = np.array([1, 0, 1, 0, 0, 1, 0, 0])
    s = np.array([0.5, 0.5, 0.5, 0.5, 0.5, 0.9, 0.1, 0.1])
    g = gains_table(y, s, bins=4)
    assert g["n"].sum() == 8
    # the five 0.5 scores are never split between bins
    assert 5 in set(g["n"])
    perm = np.random.default_rng(1).permutation(8)
    pd.testing.assert_frame_equal(g, gains_table(y[perm], s[perm], bins=4))


def test_gains_all_tied_is_one_bin():
    g = gains_table([1, 0, 0, 1], [0.3, 0.3, 0.3, 0.3], bins=10)
    assert len(g) == 1
    assert g["n"].iloc[0] == 4
    np.testing.assert_allclose(g["lift"].iloc[0], 1.0, rtol=1e-12)


@pytest.mark.parametrize(
    ("y", "s", "bins", "field"),
    [
        ([0, 0], [0.1, 0.2], 10, "y_true"),
        ([0, 2], [0.1, 0.2], 10, "y_true"),
        ([0, 1], [0.1, float("nan")], 10, "y_score"),
        ([0, 1], [0.1], 10, "y_score"),
        ([0, 1], [0.1, 0.2], 0, "bins"),
        ([0, 1], [0.1, 0.2], 2.5, "bins"),
        ([], [], 10, "y_true"),
    ],
)
def test_gains_bad_input(y, s, bins, field):
    with pytest.raises(ValidationError) as info:
        gains_table(y, s, bins=bins)
    assert info.value.field == field


def test_lift_curve_ends_at_one_and_is_monotone(scored):
    y, s = scored
    c = lift_curve(y, s)
    assert list(c.columns) == ["threshold", "fraction", "capture", "lift"]
    assert c["fraction"].iloc[0] == 0
    assert c["capture"].iloc[0] == 0
    np.testing.assert_allclose(c[["fraction", "capture", "lift"]].iloc[-1], [1, 1, 1], rtol=1e-12)
    assert (np.diff(c["capture"]) >= 0).all()
    assert (np.diff(c["fraction"]) > 0).all()
    assert not c.isna().any().any()


def test_plot_lift_curve(scored):
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    y, s = scored
    ax = plot_lift_curve(lift_curve(y, s), label="model")
    assert ax.get_xlabel() == "share of customers targeted"
    assert len(ax.lines) == 2
    plt.close(ax.figure)


def test_calibration_table(scored):
    y, s = scored
    c = calibration_table(y, s * 0.5, bins=5)
    assert c["n"].sum() == len(y)
    assert list(c.columns) == ["bin_low", "bin_high", "n", "mean_predicted", "observed_rate"]
    assert (c["mean_predicted"] >= c["bin_low"]).all()
    assert (c["mean_predicted"] <= c["bin_high"]).all()
    # scores of 0.5*s are the true churn probabilities here: rates track predictions
    np.testing.assert_allclose(c["observed_rate"], c["mean_predicted"], atol=0.08)
    with pytest.raises(ValidationError) as info:
        calibration_table([0, 1], [0.2, 1.2])
    assert info.value.field == "y_prob"


def test_calibration_bin_edges_former_names_still_read():
    c = calibration_table([0, 0, 1, 1], [0.1, 0.2, 0.7, 0.9], bins=2)
    with pytest.warns(
        DeprecationWarning, match="calibration_table\\(\\) column: 'lower'.*'bin_low'"
    ):
        np.testing.assert_array_equal(c["lower"], [0.0, 0.5])
    with pytest.warns(DeprecationWarning, match="'upper'.*'bin_high'"):
        np.testing.assert_array_equal(c[["upper"]]["bin_high"], [0.5, 1.0])


def test_boolean_labels_are_accepted_everywhere(scored):
    # booleans are the natural churn label; every metric reads them through one check
    y, s = scored
    flags = y.astype(bool)
    pd.testing.assert_frame_equal(gains_table(flags, s), gains_table(y, s))
    pd.testing.assert_frame_equal(lift_curve(flags, s), lift_curve(y, s))
    pd.testing.assert_frame_equal(calibration_table(flags, s), calibration_table(y, s))
    assert score_metrics(pd.Series(flags), s) == score_metrics(y, s)
    assert score_metrics(list(flags), s) == score_metrics(y, s)
    with pytest.raises(ValidationError, match="must be 0 or 1 \\(1 = churned\\)"):
        gains_table([0, 2], [0.1, 0.2])


def test_score_metrics_counts_are_ints(scored):
    y, s = scored
    m = score_metrics(y, s)
    assert m["n"] == len(y)
    assert type(m["n"]) is int
    assert all(type(m[k]) is float for k in m if k != "n")


def test_score_metrics_agree_with_sklearn(scored):
    y, s = scored
    m = score_metrics(y, s)
    np.testing.assert_allclose(m["roc_auc"], roc_auc_score(y, s), rtol=1e-12)
    np.testing.assert_allclose(m["pr_auc"], average_precision_score(y, s), rtol=1e-12)
    np.testing.assert_allclose(m["brier"], np.mean((s - y) ** 2), rtol=1e-12)
    g = gains_table(y, s)
    np.testing.assert_allclose(m["capture_top"], g["cumulative_capture"].iloc[0], rtol=1e-12)
    np.testing.assert_allclose(m["lift_top"], g["lift"].iloc[0], rtol=1e-12)


def test_score_metrics_ties_split_proportionally_and_brier_needs_probabilities():
    m = score_metrics([1, 0, 1, 0], [2.0, 2.0, 2.0, 2.0], top=0.5)
    np.testing.assert_allclose(m["capture_top"], 0.5, rtol=1e-12)
    np.testing.assert_allclose(m["lift_top"], 1.0, rtol=1e-12)
    assert np.isnan(m["brier"])
    with pytest.raises(ValidationError, match="single class"):
        score_metrics([1, 1], [0.2, 0.3])
