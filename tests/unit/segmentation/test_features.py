"""customer_features: a hand-computed golden example and input validation."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from crmcore.errors import ValidationError
from crmcore.segmentation import customer_features


@pytest.fixture
def tx() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "customer_id": ["b", "a", "a", "a", "c", "b", "a"],
            "date": pd.to_datetime(
                [
                    "2024-01-10",
                    "2023-11-02",
                    "2024-01-01",
                    "2024-01-25",
                    "2023-01-31",
                    "2024-01-31",
                    "2024-02-15",  # after as_of: ignored
                ]
            ),
            "amount": [20.0, 5.0, 10.0, 30.0, 100.0, 40.0, 999.0],
        }
    )


def test_golden_hand_computed(tx):
    f = customer_features(tx, as_of="2024-01-31", windows=("7D", "30D", "365D"))
    assert f.index.tolist() == ["a", "b", "c"]
    assert f.index.name == "customer_id"
    # a: 2023-11-02 (5), 2024-01-01 (10), 2024-01-25 (30); 2024-02-15 is after as_of
    #    n = 3, total = 45, aov = 15
    #    tenure = 2024-01-31 - 2023-11-02 = 28 + 31 + 30 = 90 days
    #    since last = 31 - 25 = 6 days; gaps = (2024-01-25 - 2023-11-02) / 2 = 84 / 2 = 42
    #    7D window (01-24, 01-31]: 01-25 -> 1 purchase, 30; 30D (01-01, 01-31]: 01-25 only
    #    (01-01 is exactly 30 days back, excluded) -> 1, 30; 365D: all 3 -> 45
    # b: 2024-01-10 (20), 2024-01-31 (40): n = 2, total 60, aov 30, tenure 21, since 0,
    #    gap 21; 7D: 01-31 -> 1, 40; 30D: both -> 2, 60
    # c: 2023-01-31 (100): tenure 365, since 365, single purchase -> gap NaN;
    #    365D window (2023-01-31, 2024-01-31] excludes 2023-01-31 exactly -> 0
    np.testing.assert_array_equal(f["n_purchases"], [3, 2, 1])
    np.testing.assert_allclose(f["total_spend"], [45.0, 60.0, 100.0], rtol=1e-12)
    np.testing.assert_allclose(f["avg_order_value"], [15.0, 30.0, 100.0], rtol=1e-12)
    np.testing.assert_allclose(f["tenure_days"], [90.0, 21.0, 365.0], rtol=1e-12)
    np.testing.assert_allclose(f["days_since_last_purchase"], [6.0, 0.0, 365.0], atol=1e-12)
    np.testing.assert_allclose(
        f["mean_interpurchase_days"], [42.0, 21.0, np.nan], rtol=1e-12, equal_nan=True
    )
    np.testing.assert_array_equal(f["purchases_7d"], [1, 1, 0])
    np.testing.assert_allclose(f["spend_7d"], [30.0, 40.0, 0.0], atol=1e-12)
    np.testing.assert_array_equal(f["purchases_30d"], [1, 2, 0])
    np.testing.assert_allclose(f["spend_30d"], [30.0, 60.0, 0.0], atol=1e-12)
    np.testing.assert_array_equal(f["purchases_365d"], [3, 2, 0])
    assert f.loc["a", "first_purchase"] == pd.Timestamp("2023-11-02")
    assert f.loc["a", "last_purchase"] == pd.Timestamp("2024-01-25")


def test_default_windows_and_no_value_column(tx):
    f = customer_features(tx, as_of=dt.date(2024, 1, 31), value_col=None)
    assert [c for c in f.columns if c.startswith("purchases_")] == [
        "purchases_30d",
        "purchases_90d",
        "purchases_180d",
        "purchases_365d",
    ]
    assert not any("spend" in c for c in f.columns)


def test_row_order_does_not_matter(tx):
    a = customer_features(tx, as_of="2024-01-31")
    b = customer_features(tx.sample(frac=1.0, random_state=3), as_of="2024-01-31")
    pd.testing.assert_frame_equal(a, b)


def test_timezone_aware_dates():
    tx = pd.DataFrame(
        {
            "customer_id": [1, 1],
            "date": pd.to_datetime(["2024-03-01 00:30", "2024-03-02 12:00"]).tz_localize(
                "Europe/Oslo"
            ),
            "amount": [1.0, 2.0],
        }
    )
    as_of = pd.Timestamp("2024-03-03 00:00", tz="Europe/Oslo")
    f = customer_features(tx, as_of=as_of)
    np.testing.assert_allclose(f["days_since_last_purchase"], [0.5], rtol=1e-12)
    assert f["last_purchase"].dt.tz is not None
    with pytest.raises(ValidationError, match="timezone-aware"):
        customer_features(tx, as_of="2024-03-03")
    with pytest.raises(ValidationError, match="naive"):
        customer_features(
            tx.assign(date=tx["date"].dt.tz_localize(None)),
            as_of=as_of,
        )


@pytest.mark.parametrize(
    ("change", "as_of", "field", "match"),
    [
        (lambda t: t.drop(columns="amount"), "2024-01-31", "amount", "missing"),
        (lambda t: t.assign(date=t["date"].astype(str)), "2024-01-31", "date", "datetime64"),
        (lambda t: t.assign(amount=[1, np.nan, 1, 1, 1, 1, 1]), "2024-01-31", "amount", "finite"),
        (
            lambda t: t.assign(customer_id=["a", None, "b", "b", "b", "b", "b"]),
            "2024-01-31",
            "customer_id",
            "missing",
        ),
        (
            lambda t: t.assign(date=t["date"].where(t.index != 2)),
            "2024-01-31",
            "date",
            "missing",
        ),
        (lambda t: t, None, "as_of", "clock"),
        (lambda t: t, 20240131, "as_of", "date"),
        (lambda t: t, "2020-01-01", "date", "no transaction"),
    ],
)
def test_bad_input(tx, change, as_of, field, match):
    with pytest.raises(ValidationError, match=match) as info:
        customer_features(change(tx), as_of=as_of)
    assert info.value.field == field


def test_missing_date_names_row(tx):
    bad = tx.assign(date=tx["date"].where(tx.index != 2))
    with pytest.raises(ValidationError) as info:
        customer_features(bad, as_of="2024-01-31")
    assert info.value.row == 2


@pytest.mark.parametrize(
    "windows", [("0D",), ("-3D",), ("soon",), ("30D", "720h"), (30,), (30.0,), (True,)]
)
def test_bad_windows(tx, windows):
    with pytest.raises(ValidationError) as info:
        customer_features(tx, as_of="2024-01-31", windows=windows)
    assert info.value.field == "windows"


def test_sub_day_window_label(tx):
    f = customer_features(tx, as_of="2024-01-31", windows=["12h"])
    assert "purchases_43200s" in f.columns


@pytest.mark.parametrize(
    "window", ["1500ms", "1.5s", "500ms", pd.Timedelta(milliseconds=1), np.timedelta64(10, "us")]
)
def test_windows_that_are_not_whole_seconds_are_refused(tx, window):
    # "1500ms" used to be labelled purchases_1s: a column name that lies.
    with pytest.raises(ValidationError, match="whole number of seconds") as info:
        customer_features(tx, as_of="2024-01-31", windows=["30D", window])
    assert info.value.field == "windows"
    assert info.value.value is window


def test_whole_second_windows_given_in_smaller_units_are_labelled_exactly(tx):
    f = customer_features(tx, as_of="2024-01-31", windows=["2000ms", "90min"])
    assert {"purchases_2s", "purchases_5400s"} <= set(f.columns)
