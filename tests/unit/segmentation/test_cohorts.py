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
    res = cohort_retention(tx, freq="M", as_of="2024-03-31")
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
    res = cohort_retention(tx, freq="Q", as_of="2024-03-31", value_col=None)
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
    res = cohort_retention(tx, freq="W", as_of="2024-01-09", value_col=None)
    assert res.counts.shape == (2, 2)
    np.testing.assert_allclose(res.shares.to_numpy(), [[1.0, 1.0], [1.0, np.nan]], equal_nan=True)


@pytest.mark.parametrize("freq", ["fortnight", "h", "0M", 3, None])
def test_bad_freq(tx, freq):
    with pytest.raises(ValidationError) as info:
        cohort_retention(tx, freq=freq, as_of="2024-03-31")
    assert info.value.field == "freq"


def test_old_period_name_warns_and_still_works(tx):
    new = cohort_retention(tx, freq="M", as_of="2024-03-31")
    with pytest.warns(DeprecationWarning, match="'freq='"):
        old = cohort_retention(tx, period="M", as_of="2024-03-31")
    pd.testing.assert_frame_equal(old.shares, new.shares)
    assert new.freq == "M"
    with pytest.warns(DeprecationWarning, match="'freq'"):
        assert new.period == "M"
    with pytest.raises(TypeError, match="both"):
        cohort_retention(tx, period="M", freq="M", as_of="2024-03-31")


def test_pandas_spellings_and_multiples(tx):
    me = cohort_retention(tx, freq="ME", as_of="2024-03-31")
    m = cohort_retention(tx, freq="M", as_of="2024-03-31")
    pd.testing.assert_frame_equal(me.shares, m.shares)
    assert me.freq == "M"
    # two-month blocks counted from 1970-01: Jan+Feb 2024 is one block, Mar+Apr the next
    two = cohort_retention(tx, freq="2M", as_of="2024-03-31", value_col=None)
    assert two.freq == "2M"
    assert [str(p) for p in two.cohort_sizes.index] == ["2024-01", "2024-03"]
    assert two.cohort_sizes.tolist() == [3, 1]
    assert two.counts.astype(object).where(two.counts.notna(), None).to_numpy().tolist() == [
        [3, 3],  # a, b and c all bought again in March
        [1, None],
    ]


def test_date_only_as_of_observes_its_whole_day():
    tx = pd.DataFrame(
        {
            "customer_id": ["a", "b"],
            "date": pd.to_datetime(["2024-01-05", "2024-03-31 18:00"], format="ISO8601"),
        }
    )
    res = cohort_retention(tx, freq="M", as_of="2024-03-31", value_col=None)
    assert res.cohort_sizes.tolist() == [1, 1]  # b, at 18:00 on the as_of date, is history
    # an instant at midnight leaves b out, and March is still observed (as_of's period)
    res = cohort_retention(tx, freq="M", as_of=pd.Timestamp("2024-03-31"), value_col=None)
    assert res.cohort_sizes.tolist() == [1]
    assert res.counts.shape == (1, 3)
    assert res.counts.notna().all().all()


def test_counts_are_ints(tx):
    res = cohort_retention(tx, freq="M", as_of="2024-03-31")
    assert res.cohort_sizes.dtype == np.int64
    assert all(str(t) == "Int64" for t in res.counts.dtypes)


def test_segment_summary_golden():
    frame = pd.DataFrame(
        {
            "seg": pd.Categorical(["x", "y", "x", "x"], categories=["y", "x", "empty"]),
            "spend": [10.0, 50.0, 20.0, 20.0],
            "orders": [1, 5, 2, 0],
        }
    )
    out = segment_summary(frame, by="seg", value_cols=["spend", "orders"])
    assert out.index.tolist() == ["y", "x", "empty"]
    assert out["size"].dtype == np.int64
    np.testing.assert_array_equal(out["size"], [1, 3, 0])
    np.testing.assert_allclose(out["share"], [0.25, 0.75, 0.0], rtol=1e-12)
    # spend: y 50, x 10 + 20 + 20 = 50, total 100
    np.testing.assert_allclose(out["spend_total"], [50.0, 50.0, 0.0], rtol=1e-12)
    np.testing.assert_allclose(out["spend_mean"], [50.0, 50 / 3, np.nan], equal_nan=True)
    np.testing.assert_allclose(out["spend_share"], [0.5, 0.5, 0.0], rtol=1e-12)
    # orders: y 5, x 3, total 8
    np.testing.assert_allclose(out["orders_share"], [5 / 8, 3 / 8, 0.0], rtol=1e-12)


def test_segment_summary_old_segment_col_name_warns():
    frame = pd.DataFrame({"seg": ["x", "y", "x"], "spend": [1.0, 2.0, 3.0]})
    new = segment_summary(frame, "seg", "spend")  # positional use is unchanged
    with pytest.warns(DeprecationWarning, match="'by='"):
        old = segment_summary(frame, segment_col="seg", value_cols="spend")
    pd.testing.assert_frame_equal(old, new)


def test_segment_summary_by_several_columns():
    frame = pd.DataFrame(
        {
            "seg": ["x", "y", "x", "x", "y"],
            "region": ["n", "s", "s", "n", "s"],
            "spend": [1.0, 2.0, 4.0, 8.0, 16.0],
        }
    )
    out = segment_summary(frame, by=["seg", "region"], value_cols="spend")
    assert out.index.names == ["seg", "region"]
    # the combinations that occur, sorted: (x, n), (x, s), (y, s)
    assert out.index.tolist() == [("x", "n"), ("x", "s"), ("y", "s")]
    np.testing.assert_array_equal(out["size"], [2, 1, 2])
    np.testing.assert_allclose(out["spend_total"], [9.0, 4.0, 18.0], rtol=1e-12)
    np.testing.assert_allclose(out["spend_share"], [9 / 31, 4 / 31, 18 / 31], rtol=1e-12)
    with pytest.raises(ValidationError, match="at least one") as info:
        segment_summary(frame, by=[])
    assert info.value.field == "by"


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
        tx, freq="M", as_of=pd.Timestamp("2024-02-29", tz="Europe/Oslo"), value_col=None
    )
    assert [str(p) for p in res.cohort_sizes.index] == ["2024-01", "2024-02"]
    assert res.cohort_sizes.tolist() == [1, 1]
    # the same instants in UTC: both are January purchases there
    utc = cohort_retention(
        tx.assign(date=tx["date"].dt.tz_convert("UTC")),
        freq="M",
        as_of="2024-02-29",
        value_col=None,
    )
    assert [str(p) for p in utc.cohort_sizes.index] == ["2024-01"]
    assert utc.cohort_sizes.tolist() == [2]
    # a date-only as_of ends the day in the data's zone: 2024-02-01 ends at 24:00 Oslo
    res = cohort_retention(tx, freq="D", as_of="2024-02-01", value_col=None)
    assert str(res.cohort_sizes.index[-1]) == "2024-02-01"


@pytest.mark.parametrize(("n_keys", "size"), [(1000, 5000), (300, 5_000_000)])
def test_distinct_active_cells_by_mask_and_by_sort(n_keys, size):
    # the first case takes the presence mask, the second (too many possible cells) a sort
    from crmcore.segmentation._cohorts import _distinct

    keys = np.random.default_rng(1).integers(0, size, n_keys)
    np.testing.assert_array_equal(_distinct(keys, size), np.unique(keys))
