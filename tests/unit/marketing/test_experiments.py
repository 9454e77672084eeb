"""ab_test against SciPy's tests; sample_size against Cohen's tables and by simulation."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from crmcore.errors import ValidationError
from crmcore.marketing import ab_test, sample_size


def binary(groups):
    rows = []
    for name, (conv, n) in groups.items():
        rows += [(name, 1)] * conv + [(name, 0)] * (n - conv)
    return pd.DataFrame(rows, columns=["variant", "converted"])


def test_proportions_match_chi_square_and_newcombe():
    data = binary({"A": (56, 70), "B": (48, 80), "C": (30, 80)})
    table = ab_test(data, control="B")
    assert list(table.index) == ["A", "C"]
    a = table.loc["A"]
    assert (a["n"], a["control_n"]) == (70, 80)
    assert a["difference"] == pytest.approx(56 / 70 - 48 / 80, rel=1e-12)
    # Newcombe (1998) Table II, example (a): 56/70 - 48/80 -> 0.0524 .. 0.3339
    assert (a["ci_low"], a["ci_high"]) == pytest.approx((0.0524, 0.3339), abs=5e-5)
    chi2 = stats.chi2_contingency([[56, 14], [48, 32]], correction=False)
    assert a["p_value"] == pytest.approx(chi2.pvalue, rel=1e-9)
    assert a["relative_lift"] == pytest.approx((56 / 70) / (48 / 80) - 1, rel=1e-12)


def test_means_match_welch():
    rng = np.random.default_rng(1)
    a, b = rng.gamma(2, 20, 300), rng.gamma(2, 23, 250)
    data = pd.DataFrame({"variant": ["ctl"] * 300 + ["new"] * 250, "revenue": [*a, *b]})
    row = ab_test(data, value_col="revenue", control="ctl", metric="mean").loc["new"]
    ref = stats.ttest_ind(b, a, equal_var=False)
    ci = ref.confidence_interval(0.95)
    assert row["p_value"] == pytest.approx(ref.pvalue, rel=1e-9)
    assert (row["ci_low"], row["ci_high"]) == pytest.approx((ci.low, ci.high), rel=1e-9)
    assert row["test"].startswith("Welch")


def test_control_none_takes_the_rows_without_a_group():
    members = pd.DataFrame(
        {"variant": ["A", "A", None, None, "B"], "converted": [True, False, False, False, True]}
    )
    table = ab_test(members)
    assert table["control_n"].tolist() == [2, 2]
    assert table["value"].tolist() == [0.5, 1.0]


def test_variant_col_names_the_arm_column_and_group_col_is_its_deprecated_name():
    data = binary({"A": (56, 70), "B": (48, 80)}).rename(columns={"variant": "arm"})
    table = ab_test(data, variant_col="arm", control="B")
    assert table.index.name == "arm"
    assert table.loc["A", "difference"] == pytest.approx(56 / 70 - 48 / 80, rel=1e-12)
    with pytest.warns(DeprecationWarning, match="'group_col=' is deprecated.*'variant_col='"):
        old = ab_test(data, group_col="arm", control="B")
    pd.testing.assert_frame_equal(old, table)


@pytest.mark.parametrize(
    ("data", "kw", "match"),
    [
        (binary({"A": (1, 5)}), {"control": "Z"}, "no row has the control group"),
        (binary({"A": (1, 5)}), {"control": None}, "every row has one"),
        (binary({"A": (1, 5)}).assign(converted=2), {"control": "A"}, "must be 0 or 1"),
        (binary({"A": (1, 5)}), {"control": "A", "metric": "median"}, "metric"),
        (binary({"A": (1, 5)}).assign(converted=np.nan), {"control": "A"}, "finite"),
    ],
)
def test_bad_input(data, kw, match):
    with pytest.raises(ValidationError, match=match):
        ab_test(data, **kw)


# Cohen (1988), Statistical Power Analysis for the Behavioral Sciences, 2nd ed.,
# Table 6.4.1 (h, alpha two-sided 0.05, power 0.80): n per group, rounded.
COHEN_H = {0.10: 1570, 0.20: 392, 0.30: 174, 0.40: 98, 0.50: 63, 0.60: 44, 0.70: 32, 0.80: 25}


@pytest.mark.parametrize(("h", "n"), COHEN_H.items())
def test_arcsine_sample_size_matches_cohen_table_6_4_1(h, n):
    p1 = 0.5
    p2 = (
        np.sin(np.arcsin(np.sqrt(p1)) + h / 2) ** 2
    )  # so that 2 asin sqrt(p2) - 2 asin sqrt(p1) = h
    result = sample_size(p1, p2 - p1, method="arcsine")
    assert round(result.n_exact) == n
    assert result.n_control == int(np.ceil(result.n_exact))


@pytest.mark.parametrize(("d", "n"), [(0.5, 64), (0.8, 26)])
def test_mean_sample_size_matches_cohen_table_2_4_1(d, n):
    # Cohen (1988) Table 2.4.1, alpha two-sided 0.05, power 0.80
    assert sample_size(100.0, d * 15.0, metric="mean", sd=15.0).n_control == n


def test_sample_size_takes_confidence_and_alpha_is_its_deprecated_complement():
    # Fleiss eq. 4.14 at the 1 % level (z = 2.5758) needs more units than at 5 %
    strict = sample_size(0.10, 0.02, confidence=0.99)
    assert strict.n_control > sample_size(0.10, 0.02).n_control == 3841
    with pytest.warns(DeprecationWarning, match="'alpha=' is deprecated.*'confidence=1 - alpha'"):
        old = sample_size(0.10, 0.02, alpha=0.01)
    assert old == strict
    with pytest.raises(ValidationError, match="confidence"):
        sample_size(0.10, 0.02, confidence=95)


def test_pooled_sample_size_reaches_the_power_by_simulation():
    base, mde = 0.10, 0.03
    n = sample_size(base, mde).n_control
    rng = np.random.default_rng(7)
    reps = 4000
    a = rng.binomial(n, base, reps)
    b = rng.binomial(n, base + mde, reps)
    pooled = (a + b) / (2 * n)
    z = (b - a) / n / np.sqrt(pooled * (1 - pooled) * 2 / n)
    power = np.mean(np.abs(z) > stats.norm.isf(0.025))
    assert power == pytest.approx(0.80, abs=0.025)  # Monte-Carlo SE 0.0063


def test_sample_size_options():
    equal = sample_size(0.2, 0.1, relative=True)
    assert equal.n_control == sample_size(0.2, 0.02).n_control
    unequal = sample_size(0.2, 0.02, ratio=3.0)
    assert unequal.n_variant == pytest.approx(3 * unequal.n_control, abs=3)
    assert unequal.n_control < equal.n_control < unequal.n_variant
    assert sample_size(0.2, 0.02, alternative="one-sided").n_control < equal.n_control
    assert sample_size(0.2, -0.02).n_control > 0


@pytest.mark.parametrize(
    ("args", "kw", "match"),
    [
        ((0.1, 0.0), {}, "mde must not be zero"),
        ((0.95, 0.1), {}, "must lie in"),
        ((1.5, 0.1), {}, "baseline"),
        ((0.1, 0.01), {"power": 1.0}, "power"),
        ((10.0, 1.0), {"metric": "mean"}, "sd is required"),
        ((0.1, 0.01), {"method": "exact"}, "method"),
    ],
)
def test_sample_size_refuses(args, kw, match):
    with pytest.raises(ValidationError, match=match):
        sample_size(*args, **kw)
