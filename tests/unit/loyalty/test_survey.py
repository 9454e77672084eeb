"""NPS, CSAT, CES and their comparisons: hand-computed values and input checks."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from crmcore.errors import ValidationError
from crmcore.loyalty import ces, compare_csat, compare_nps, csat, nps, nps_by

# ----------------------------------------------------------------- NPS


def test_nps_hand_computed():
    # 5 promoters, 2 passives, 3 detractors out of 10.
    r = nps([10, 9, 9, 8, 7, 6, 3, 10, 10, 2])
    assert (r.n, r.promoters, r.passives, r.detractors) == (10, 5, 2, 3)
    assert r.score == pytest.approx(20.0, abs=1e-12)
    assert (r.promoter_share, r.passive_share, r.detractor_share) == pytest.approx(
        (0.5, 0.2, 0.3), abs=1e-12
    )
    # Rocks (2016), eq. 1: Var = [pP + pD - (pP - pD)^2] / n = (0.8 - 0.04) / 10.
    se = math.sqrt(0.076)
    assert r.standard_error == pytest.approx(100 * se, rel=1e-12)
    z = stats.norm.ppf(0.975)
    assert r.margin_of_error == pytest.approx(100 * z * se, rel=1e-12)
    # Adjusted Wald: pP = 5.75/13, pD = 3.75/13.
    pp, pd_ = 5.75 / 13, 3.75 / 13
    adj = pp - pd_
    se_adj = math.sqrt((pp + pd_ - adj**2) / 13)
    assert r.ci_low == pytest.approx(100 * (adj - z * se_adj), rel=1e-12)
    assert r.ci_high == pytest.approx(100 * (adj + z * se_adj), rel=1e-12)
    assert r.method == "adjusted-wald"


def test_nps_all_promoters_has_a_non_degenerate_interval():
    r = nps([10] * 12)
    assert r.score == 100.0
    assert r.standard_error == 0.0  # the Wald interval would collapse...
    assert r.ci_high == 100.0
    assert r.ci_low < 80.0  # ...the adjusted one does not


def test_nps_confidence_widens_interval():
    scores = [10, 9, 3, 7, 8, 10, 2, 9]
    narrow, wide = nps(scores, confidence=0.8), nps(scores, confidence=0.99)
    assert wide.ci_low < narrow.ci_low < narrow.ci_high < wide.ci_high


def test_nps_accepts_series_and_numpy_and_float_whole_numbers():
    a = nps(pd.Series([10, 0, 7]))
    b = nps(np.array([10.0, 0.0, 7.0]))
    c = nps(pd.Series([10, 0, 7], dtype="Int64"))
    assert a == b == c


def test_nps_to_dict_is_json_serialisable():
    d = nps([9, 9, 3]).to_dict()
    assert json.loads(json.dumps(d))["promoters"] == 2


@pytest.mark.parametrize(
    ("scores", "value", "row"),
    [
        ([10, 9, 11], 11, 2),
        ([10, -1], -1, 1),
        ([10, 7.5, 8], 7.5, 1),
        ([10, float("nan")], None, 1),
        ([9, "10"], "10", 1),
        ([9, True], True, 1),
        ([9, None], None, 1),
    ],
)
def test_nps_rejects_bad_scores_naming_first_bad_value(scores, value, row):
    with pytest.raises(ValidationError) as info:
        nps(scores)
    assert info.value.field == "scores"
    assert info.value.row == row
    if value is not None:
        assert info.value.value == value


def test_nps_bad_value_position_in_large_array_is_not_truncated():
    arr = np.full(1000, 9.0)
    arr[500] = 8.9
    arr[700] = 12
    with pytest.raises(ValidationError, match=r"8\.9.*position 500") as info:
        nps(arr)
    assert info.value.row == 500


def test_nps_series_reports_label():
    with pytest.raises(ValidationError) as info:
        nps(pd.Series([9, 42], index=["r1", "r2"]))
    assert info.value.row == "r2"


@pytest.mark.parametrize("bad", [[], np.array([True, False]), np.zeros((2, 2))])
def test_nps_rejects_empty_bool_and_2d(bad):
    with pytest.raises(ValidationError):
        nps(bad)


@pytest.mark.parametrize("conf", [0, 1, 1.5, -0.1, float("nan"), "0.9"])
def test_confidence_is_checked(conf):
    with pytest.raises(ValidationError, match="confidence"):
        nps([9], confidence=conf)


def test_nps_interval_coverage_by_simulation():
    """Adjusted-Wald coverage near 95 % for n = 30, 100, 1000 (seeded).

    800 replicates per (n, distribution) gives a Monte-Carlo SE of about 0.8
    points; the band [0.92, 0.98] is wide enough to be stable and narrow
    enough to catch a wrong variance (the benchmark reports the full study).
    """
    rng = np.random.default_rng(20261123)
    reps = 800
    for n in (30, 100, 1000):
        for probs in ([0.5, 0.3, 0.2], [0.2, 0.3, 0.5], [0.7, 0.2, 0.1]):
            # probs = (promoter, passive, detractor); answers 10 / 8 / 3
            cat = rng.choice(3, size=(reps, n), p=probs)
            answers = np.array([10, 8, 3])[cat].ravel()
            frame = pd.DataFrame({"rep": np.repeat(np.arange(reps), n), "score": answers})
            table = nps_by(frame, "rep", "score", min_n=1)
            truth = 100 * (probs[0] - probs[2])
            covered = (table["ci_low"] <= truth) & (truth <= table["ci_high"])
            assert 0.92 <= covered.mean() <= 0.98, (n, probs, covered.mean())


# ----------------------------------------------------------------- CSAT / CES


def test_csat_hand_computed():
    r = csat([5, 4, 4, 3, 2, 5, 5, 1])
    assert (r.n, r.satisfied) == (8, 5)
    assert r.score == pytest.approx(62.5, abs=1e-12)
    assert r.mean == pytest.approx(29 / 8, abs=1e-12)
    # Wilson (1927) by hand.
    z = stats.norm.ppf(0.975)
    p, n = 5 / 8, 8
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z / (1 + z * z / n) * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    assert r.ci_low == pytest.approx(100 * (centre - half), rel=1e-12)
    assert r.ci_high == pytest.approx(100 * (centre + half), rel=1e-12)
    assert r.standard_error == pytest.approx(100 * math.sqrt(p * (1 - p) / n), rel=1e-12)


def test_csat_threshold_and_scale():
    r = csat([1, 2, 3, 7, 7], scale=7, satisfied_at=7)
    assert r.satisfied == 2
    with pytest.raises(ValidationError, match="satisfied_at"):
        csat([1, 2], scale=5, satisfied_at=6)
    with pytest.raises(ValidationError, match=r"must lie in \[1, 5\]"):
        csat([1, 6])
    with pytest.raises(ValidationError, match=r"must lie in \[1, 5\]"):
        csat([0, 5])


def test_ces_hand_computed():
    r = ces([5, 6, 7, 4, 6])
    x = np.array([5, 6, 7, 4, 6], dtype=float)
    se = x.std(ddof=1) / math.sqrt(5)
    t = stats.t.ppf(0.975, 4)
    assert r.score == pytest.approx(5.6, abs=1e-12)
    assert r.standard_error == pytest.approx(se, rel=1e-12)
    assert r.ci_low == pytest.approx(5.6 - t * se, rel=1e-12)
    assert r.ci_high == 7.0  # clipped to the scale
    assert r.margin_of_error == pytest.approx(t * se, rel=1e-12)


def test_ces_needs_two_answers_and_scale():
    with pytest.raises(ValidationError, match="at least 2"):
        ces([5])
    with pytest.raises(ValidationError, match=r"\[1, 7\]"):
        ces([5, 8])
    with pytest.raises(ValidationError, match="scale"):
        ces([1, 1], scale=1)


def test_result_shapes_share_fields():
    common = {"score", "n", "standard_error", "margin_of_error", "ci_low", "ci_high"}
    for r in (nps([9, 3]), csat([5, 3]), ces([5, 3])):
        assert common <= set(r.to_dict())
        assert r.ci_low <= r.ci_high


# ----------------------------------------------------------------- comparisons


def test_compare_nps_consistent_interval_and_test():
    a = [10] * 60 + [5] * 40
    b = [10] * 40 + [5] * 60
    r = compare_nps(a, b)
    assert r.difference == pytest.approx(40.0, abs=1e-12)
    assert (r.score_a, r.score_b, r.n_a, r.n_b) == (20.0, -20.0, 100, 100)
    # Hand-computed adjusted Wald: pP_a = 60.75/103, pD_a = 40.75/103 ...
    pa, da = 60.75 / 103, 40.75 / 103
    pb, db = 40.75 / 103, 60.75 / 103
    va = (pa + da - (pa - da) ** 2) / 103
    vb = (pb + db - (pb - db) ** 2) / 103
    se = math.sqrt(va + vb)
    diff = (pa - da) - (pb - db)
    assert r.standard_error == pytest.approx(100 * se, rel=1e-12)
    assert r.p_value == pytest.approx(2 * stats.norm.sf(diff / se), rel=1e-9)
    assert r.ci_low > 0  # excludes 0 ...
    assert r.p_value < 0.05  # ... exactly when the test rejects


def test_compare_nps_identical_samples():
    r = compare_nps([9, 3, 7, 10], [9, 3, 7, 10])
    assert r.difference == 0.0
    assert r.p_value == pytest.approx(1.0, abs=1e-12)
    assert r.ci_low < 0 < r.ci_high


def test_compare_nps_names_the_bad_sample():
    with pytest.raises(ValidationError) as info:
        compare_nps([9, 9], [9, 12])
    assert info.value.field == "b"


def test_compare_csat_hand_computed():
    r = compare_csat([5, 5, 4, 4, 2], [1, 2, 3, 4, 5])
    assert r.difference == pytest.approx(40.0, abs=1e-12)
    # pooled z-test
    pooled = 6 / 10
    se0 = math.sqrt(pooled * (1 - pooled) * (2 / 5))
    assert r.p_value == pytest.approx(2 * stats.norm.sf(0.4 / se0), rel=1e-9)
    # Agresti-Caffo: (4+1)/7 and (2+1)/7.
    ta, tb = 5 / 7, 3 / 7
    se = math.sqrt(ta * (1 - ta) / 7 + tb * (1 - tb) / 7)
    z = stats.norm.ppf(0.975)
    assert r.ci_low == pytest.approx(100 * (ta - tb - z * se), rel=1e-12)
    assert r.ci_high == pytest.approx(100 * (ta - tb + z * se), rel=1e-12)


def test_compare_csat_no_variation():
    r = compare_csat([5, 5], [4, 4, 4])
    assert r.p_value == 1.0
    assert r.difference == 0.0
