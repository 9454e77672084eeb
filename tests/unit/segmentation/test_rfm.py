"""rfm_scores, rfm_segments, DEFAULT_SEGMENTS and segment_grid."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from crmcore.errors import ValidationError
from crmcore.segmentation import (
    DEFAULT_SEGMENTS,
    customer_features,
    rfm_scores,
    rfm_segments,
    segment_grid,
)


def test_golden_btyd_layout():
    summary = pd.DataFrame(
        {
            "frequency": [0, 2, 5, 1, 2],
            "recency": [0.0, 30.0, 80.0, 10.0, 50.0],
            "T": [90.0, 90.0, 90.0, 60.0, 70.0],
            "monetary_value": [0.0, 25.0, 40.0, 10.0, 25.0],
        },
        index=["a", "b", "c", "d", "e"],
    )
    s = rfm_scores(summary, bins=5)
    # days since last purchase = T - recency: a 90, b 60, c 10, d 50, e 20
    # ascending recency-ness (longest ago first): a, b, d, e, c -> ranks 0..4 -> r 1..5
    np.testing.assert_array_equal(s["r_score"], [1, 2, 5, 3, 4])
    # frequency 0, 2, 5, 1, 2: b and e tie at 2, broken by label (b before e):
    # order a(0), d(1), b(2), e(2), c(5) -> f 1, 2, 3, 4, 5
    np.testing.assert_array_equal(s["f_score"], [1, 3, 5, 2, 4])
    # monetary 0, 25, 40, 10, 25: same tie -> a, d, b, e, c
    np.testing.assert_array_equal(s["m_score"], [1, 3, 5, 2, 4])
    np.testing.assert_array_equal(s["rfm_score"], [111, 233, 555, 322, 444])
    assert s.index.tolist() == list("abcde")


def test_features_layout_and_explicit_columns():
    tx = pd.DataFrame(
        {
            "customer_id": ["x", "y", "y", "z"],
            "date": pd.to_datetime(["2024-01-01", "2024-01-05", "2024-01-20", "2024-01-30"]),
            "amount": [50.0, 10.0, 10.0, 5.0],
        }
    )
    f = customer_features(tx, as_of="2024-01-31")
    s = rfm_scores(f, bins=3)
    # since last: x 30, y 11, z 1 -> r 1, 2, 3; n: x 1, y 2, z 1 -> x < z (label) < y
    # -> f x 1, z 2, y 3; total spend: x 50, y 20, z 5 -> m x 3, y 2, z 1
    np.testing.assert_array_equal(s["r_score"], [1, 2, 3])
    np.testing.assert_array_equal(s["f_score"], [1, 3, 2])
    np.testing.assert_array_equal(s["m_score"], [3, 2, 1])
    explicit = rfm_scores(
        f,
        bins=3,
        layout="features",
        recency_col="days_since_last_purchase",
        frequency_col="n_purchases",
        monetary_col="avg_order_value",
    )
    # aov: x 50, y 10, z 5 -> m 3, 2, 1
    np.testing.assert_array_equal(explicit["m_score"], [3, 2, 1])
    rf = rfm_scores(f, bins=3, monetary_col=None)
    assert list(rf.columns) == ["r_score", "f_score", "rfm_score"]
    np.testing.assert_array_equal(rf["rfm_score"], [11, 23, 32])


def test_bins_are_balanced_with_many_ties():
    n = 1003
    frame = pd.DataFrame(
        {"frequency": np.r_[np.zeros(800), np.arange(203)], "recency": 0.0, "T": 10.0},
        index=[f"c{i:05d}" for i in range(n)],
    )
    s = rfm_scores(frame, monetary_col=None)
    counts = np.bincount(s["f_score"], minlength=6)[1:]
    assert counts.max() - counts.min() <= 1
    counts_r = np.bincount(s["r_score"], minlength=6)[1:]
    assert counts_r.max() - counts_r.min() <= 1


def test_scores_do_not_depend_on_row_order():
    rng = np.random.default_rng(1)
    frame = pd.DataFrame(
        {
            "frequency": rng.integers(0, 4, 200),
            "recency": rng.integers(0, 5, 200).astype(float),
            "T": 10.0,
            "monetary_value": rng.integers(0, 3, 200).astype(float),
        },
        index=rng.permutation(200),
    )
    a = rfm_scores(frame)
    b = rfm_scores(frame.sample(frac=1.0, random_state=7))
    pd.testing.assert_frame_equal(a.sort_index(), b.sort_index())


@pytest.mark.parametrize(
    ("frame", "kwargs", "field"),
    [
        (pd.DataFrame({"frequency": [1], "recency": [1.0]}), {}, "layout"),
        (pd.DataFrame({"frequency": [1], "recency": [1.0], "T": [2.0]}), {}, "monetary_value"),
        (
            pd.DataFrame({"frequency": [-1], "recency": [1.0], "T": [2.0]}),
            {"monetary_col": None},
            "frequency",
        ),
        (
            pd.DataFrame({"frequency": [1], "recency": [3.0], "T": [2.0]}),
            {"monetary_col": None},
            "T - recency (time since last purchase)",
        ),
        (
            pd.DataFrame({"frequency": [1], "recency": [np.nan], "T": [2.0]}),
            {"monetary_col": None},
            "recency",
        ),
        (
            pd.DataFrame({"frequency": [1], "recency": [1.0], "T": [2.0]}),
            {"monetary_col": None, "bins": 10},
            "bins",
        ),
        (
            pd.DataFrame({"frequency": [1], "recency": [1.0], "T": [2.0]}),
            {"monetary_col": None, "layout": "rfm"},
            "layout",
        ),
        (
            pd.DataFrame({"n": [1], "days": [1.0]}),
            {
                "recency_col": "days",
                "frequency_col": "n",
                "monetary_col": "spend",
                "layout": "features",
                "age_col": None,
            },
            "spend",
        ),
    ],
)
def test_bad_input(frame, kwargs, field):
    with pytest.raises(ValidationError) as info:
        rfm_scores(frame, **kwargs)
    assert info.value.field == field


def test_missing_monetary_hint():
    frame = pd.DataFrame({"frequency": [1], "recency": [1.0], "T": [2.0]})
    with pytest.raises(ValidationError, match="monetary_col=None"):
        rfm_scores(frame)


def test_default_segments_cover_grid_exactly_once():
    cells = [c for cells in DEFAULT_SEGMENTS.values() for c in cells]
    assert len(cells) == 25
    assert sorted(cells) == [(r, f) for r in range(1, 6) for f in range(1, 6)]
    assert list(DEFAULT_SEGMENTS) == [
        "champions",
        "loyal",
        "potential_loyalists",
        "new",
        "promising",
        "need_attention",
        "about_to_sleep",
        "at_risk",
        "cant_lose",
        "hibernating",
    ]
    grid = segment_grid()
    assert grid.loc[5, 1] == "new"
    assert grid.loc[5, 5] == "champions"
    assert grid.loc[1, 5] == "cant_lose"
    assert grid.loc[3, 3] == "need_attention"
    with pytest.raises(TypeError):
        DEFAULT_SEGMENTS["x"] = ()  # type: ignore[index]


def test_rfm_segments_golden():
    scores = pd.DataFrame(
        {"r_score": [5, 5, 4, 4, 3, 3, 2, 1, 1], "f_score": [5, 1, 1, 3, 3, 1, 4, 5, 2]},
        index=list("abcdefghi"),
    )
    seg = rfm_segments(scores)
    assert seg.tolist() == [
        "champions",
        "new",
        "promising",
        "potential_loyalists",
        "need_attention",
        "about_to_sleep",
        "at_risk",
        "cant_lose",
        "hibernating",
    ]
    assert seg.index.tolist() == list("abcdefghi")
    assert list(seg.cat.categories) == list(DEFAULT_SEGMENTS)


def test_custom_mapping_and_validation():
    small = {"low": [(1, 1), (1, 2)], "high": [(2, 1), (2, 2)]}
    scores = pd.DataFrame({"r_score": [1, 2], "f_score": [2, 1]})
    assert rfm_segments(scores, small).tolist() == ["low", "high"]
    with pytest.raises(ValidationError, match="unassigned"):
        rfm_segments(scores, {"low": [(1, 1), (1, 2)], "high": [(2, 1)]})
    with pytest.raises(ValidationError, match="both 'low' and 'high'"):
        rfm_segments(scores, {"low": [(1, 1), (1, 2), (2, 2)], "high": [(2, 1), (2, 2)]})
    with pytest.raises(ValidationError, match="pair"):
        rfm_segments(scores, {"low": [(1, 1, 1)]})
    with pytest.raises(ValidationError, match="pair"):
        rfm_segments(scores, {"low": [(0, 1)]})
    with pytest.raises(ValidationError, match="non-empty"):
        rfm_segments(scores, {})
    with pytest.raises(ValidationError) as info:
        rfm_segments(pd.DataFrame({"r_score": [1, 3], "f_score": [1, 1]}), small)
    assert info.value.field == "r_score"
    assert info.value.row == 1


def test_scores_then_segments_end_to_end():
    rng = np.random.default_rng(0)
    n = 500
    summary = pd.DataFrame(
        {
            "frequency": rng.poisson(2, n),
            "recency": rng.uniform(0, 50, n),
            "T": 60.0,
            "monetary_value": rng.gamma(2, 20, n),
        }
    )
    seg = rfm_segments(rfm_scores(summary))
    assert seg.notna().all()
    # champions are exactly r = 5 and f in {4, 5}: 1/5 * 2/5 of customers when bins balance
    assert (seg == "champions").sum() == pytest.approx(n * 0.2 * 0.4, abs=25)


def test_reads_crmcore_clv_rfm_summary():
    clv = pytest.importorskip("crmcore.clv")
    tx = pd.DataFrame(
        {
            "customer_id": ["a", "a", "b", "c", "c", "c"],
            "date": pd.to_datetime(
                [
                    "2024-01-01",
                    "2024-01-20",
                    "2024-01-05",
                    "2024-01-02",
                    "2024-01-10",
                    "2024-01-30",
                ]
            ),
            "amount": [10.0, 20.0, 5.0, 1.0, 2.0, 3.0],
        }
    )
    summary = clv.rfm_summary(tx, value_col="amount", as_of=pd.Timestamp("2024-01-31"))
    s = rfm_scores(summary, bins=3)
    # days since last purchase = T - recency: a 11, b 26, c 1 -> r: b 1, a 2, c 3
    assert s.loc[["a", "b", "c"], "r_score"].tolist() == [2, 1, 3]
    # repeat purchases: a 1, b 0, c 2 -> f: b 1, a 2, c 3
    assert s.loc[["a", "b", "c"], "f_score"].tolist() == [2, 1, 3]
