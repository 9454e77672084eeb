"""cohort_retention and segment_summary: hand-computed examples."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from crmcore.errors import ValidationError
from crmcore.segmentation import CohortRetention, cohort_retention, segment_summary


@pytest.fixture
def tx() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "customer_id": ["a", "b", "a", "c", "b", "a", "d", "a", "c"],
            "date": pd.to_datetime(
                [
                    "2024-01-05",
                    "2024-01-20",
                    "2024-01-28",  # a again in its first month
                    "2024-02-11",
                    "2024-03-01",
                    "2024-03-15",
                    "2024-03-31",
                    "2024-04-02",  # after as_of: ignored
                    "2024-03-02",
                ]
            ),
            "amount": [10.0, 20.0, 6.0, 7.0, 4.0, 8.0, 3.0, 500.0, 0.0],
        }
    )


def test_monthly_golden(tx):
    res = cohort_retention(tx, period="M", as_of="2024-03-31")
    assert isinstance(res, CohortRetention)
    assert [str(p) for p in res.counts.index] == ["2024-01", "2024-02", "2024-03"]
    assert res.counts.columns.tolist() == [0, 1, 2]
    # Jan cohort {a, b}: month 0 both; Feb nobody; Mar a (03-15) and b (03-01) -> 2
    # Feb cohort {c}: Feb yes; Mar yes (03-02); month 2 = April is after as_of -> NA
    # Mar cohort {d}: month 0 yes; months 1, 2 unobserved
    expected_counts = [[2, 0, 2], [1, 1, None], [1, None, None]]
    got = res.counts.astype(object).where(res.counts.notna(), None).to_numpy().tolist()
    assert got == expected_counts
    assert str(res.counts.dtypes.iloc[0]) == "Int64"
    np.testing.assert_allclose(
        res.shares.to_numpy(),
        [[1.0, 0.0, 1.0], [1.0, 1.0, np.nan], [1.0, np.nan, np.nan]],
        rtol=1e-12,
        equal_nan=True,
    )
    assert res.cohort_sizes.tolist() == [2, 1, 1]
    # revenue Jan cohort: month 0 = 10 + 20 + 6 = 36; month 1 = 0; month 2 = 4 + 8 = 12
    # Feb cohort: month 0 = 7, month 1 = 0 (a zero-value order); Mar cohort: 3
    assert res.revenue is not None
    assert res.revenue_retention is not None
    np.testing.assert_allclose(
        res.revenue.to_numpy(),
        [[36.0, 0.0, 12.0], [7.0, 0.0, np.nan], [3.0, np.nan, np.nan]],
        rtol=1e-12,
        equal_nan=True,
    )
    # retention = revenue / month-0 revenue: 12 / 36 = 1/3
    np.testing.assert_allclose(
        res.revenue_retention.to_numpy(),
        [[1.0, 0.0, 1 / 3], [1.0, 0.0, np.nan], [1.0, np.nan, np.nan]],
        rtol=1e-12,
        equal_nan=True,
    )


def test_quarterly_and_no_value(tx):
    res = cohort_retention(tx, period="Q", as_of="2024-03-31", value_col=None)
    # everything is in 2024Q1: one cohort of four customers, one column
    assert res.counts.shape == (1, 1)
    assert int(res.counts.iloc[0, 0]) == 4
    assert res.revenue is None
    assert res.revenue_retention is None


def test_weekly_periods_end_on_sunday():
    tx = pd.DataFrame(
        {
            "customer_id": ["a", "a", "b"],
            # 2024-01-07 is a Sunday: a's second purchase on Monday 01-08 is one week later
            "date": pd.to_datetime(["2024-01-07", "2024-01-08", "2024-01-08"]),
        }
    )
    res = cohort_retention(tx, period="W", as_of="2024-01-09", value_col=None)
    assert res.counts.shape == (2, 2)
    np.testing.assert_allclose(res.shares.to_numpy(), [[1.0, 1.0], [1.0, np.nan]], equal_nan=True)


def test_bad_period(tx):
    with pytest.raises(ValidationError) as info:
        cohort_retention(tx, period="fortnight", as_of="2024-03-31")
    assert info.value.field == "period"


def test_segment_summary_golden():
    frame = pd.DataFrame(
        {
            "seg": pd.Categorical(["x", "y", "x", "x"], categories=["y", "x", "empty"]),
            "spend": [10.0, 50.0, 20.0, 20.0],
            "orders": [1, 5, 2, 0],
        }
    )
    out = segment_summary(frame, "seg", ["spend", "orders"])
    assert out.index.tolist() == ["y", "x", "empty"]
    np.testing.assert_array_equal(out["size"], [1, 3, 0])
    np.testing.assert_allclose(out["share"], [0.25, 0.75, 0.0], rtol=1e-12)
    # spend: y 50, x 10 + 20 + 20 = 50, total 100
    np.testing.assert_allclose(out["spend_total"], [50.0, 50.0, 0.0], rtol=1e-12)
    np.testing.assert_allclose(out["spend_mean"], [50.0, 50 / 3, np.nan], equal_nan=True)
    np.testing.assert_allclose(out["spend_share"], [0.5, 0.5, 0.0], rtol=1e-12)
    # orders: y 5, x 3, total 8
    np.testing.assert_allclose(out["orders_share"], [5 / 8, 3 / 8, 0.0], rtol=1e-12)


def test_segment_summary_validation():
    frame = pd.DataFrame({"seg": ["a", None], "v": [1.0, 2.0]})
    with pytest.raises(ValidationError) as info:
        segment_summary(frame, "seg", "v")
    assert info.value.row == 1
    with pytest.raises(ValidationError, match="missing column"):
        segment_summary(frame, "segment", "v")
    with pytest.raises(ValidationError, match="finite"):
        segment_summary(pd.DataFrame({"seg": ["a"], "v": [np.inf]}), "seg", "v")
    with pytest.raises(ValidationError, match="empty"):
        segment_summary(pd.DataFrame({"seg": [], "v": []}), "seg", "v")


def test_periods_follow_the_dates_own_time_zone():
    # 2024-01-31 23:30 UTC is 2024-02-01 00:30 in Oslo: a February customer there
    stamps = pd.to_datetime(["2024-01-31 23:30", "2024-01-15 12:00"]).tz_localize("UTC")
    tx = pd.DataFrame({"customer_id": ["a", "b"], "date": stamps.tz_convert("Europe/Oslo")})
    res = cohort_retention(
        tx, period="M", as_of=pd.Timestamp("2024-02-29", tz="Europe/Oslo"), value_col=None
    )
    assert [str(p) for p in res.cohort_sizes.index] == ["2024-01", "2024-02"]
    assert res.cohort_sizes.tolist() == [1, 1]
