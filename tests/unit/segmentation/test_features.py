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
    # an instant (midnight), not a date: durations run to 2024-01-31 00:00 exactly
    f = customer_features(tx, as_of=pd.Timestamp("2024-01-31"), windows=("7D", "30D", "365D"))
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


def test_date_only_as_of_ends_its_day(tx):
    late = pd.DataFrame(
        {"customer_id": ["d"], "date": [pd.Timestamp("2024-01-31 18:00")], "amount": [7.0]}
    )
    log = pd.concat([tx, late], ignore_index=True)
    at_midnight = customer_features(log, as_of=pd.Timestamp("2024-01-31"), windows=["7D"])
    assert "d" not in at_midnight.index  # 18:00 is after the instant 00:00
    for as_of in ("2024-01-31", dt.date(2024, 1, 31), pd.Period("2024-01-31", "D")):
        f = customer_features(log, as_of=as_of, windows=["7D", "30D"])
        assert f.index.tolist() == ["a", "b", "c", "d"]
        # durations run to the end of the day (2024-02-01 00:00): d bought 6 hours before
        np.testing.assert_allclose(f["days_since_last_purchase"], [7.0, 1.0, 366.0, 0.25], rtol=0)
        np.testing.assert_allclose(f["tenure_days"], [91.0, 22.0, 366.0, 0.25], rtol=0)
        # 30D is (2024-01-01 23:59:59.999999999, end of 01-31]: a's 01-01 purchase is out
        np.testing.assert_array_equal(f["purchases_30d"], [1, 2, 0, 1])
        np.testing.assert_array_equal(f["purchases_7d"], [1, 1, 0, 1])
    # the end of a month, as a Period
    f = customer_features(log, as_of=pd.Period("2024-01", "M"), windows=["7D"])
    assert f.loc["d", "n_purchases"] == 1


def test_window_is_open_at_as_of_minus_w_and_closed_at_as_of():
    as_of = pd.Timestamp("2024-03-01 12:00")
    log = pd.DataFrame(
        {
            "customer_id": ["a", "a", "a"],
            # exactly as_of - 10D (out), one nanosecond later (in), exactly as_of (in)
            "date": [
                as_of - pd.Timedelta("10D"),
                as_of - pd.Timedelta("10D") + pd.Timedelta(1, "ns"),
                as_of,
            ],
            "amount": [1.0, 2.0, 4.0],
        }
    )
    f = customer_features(log, as_of=as_of, windows=["10D"])
    assert f.loc["a", "purchases_10d"] == 2
    assert f.loc["a", "spend_10d"] == 6.0


def test_counts_are_ints(tx):
    f = customer_features(tx, as_of="2024-01-31", windows=["7D"])
    for col in ("n_purchases", "purchases_7d"):
        assert f[col].dtype == np.int64


def test_string_dates_are_read_with_date_format(tx):
    text = tx.assign(date=tx["date"].dt.strftime("%d.%m.%Y"))
    a = customer_features(text, as_of="2024-01-31", date_format="%d.%m.%Y")
    b = customer_features(tx, as_of="2024-01-31")
    pd.testing.assert_frame_equal(a, b)
    iso = customer_features(tx.assign(date=tx["date"].astype(str)), as_of="2024-01-31")
    pd.testing.assert_frame_equal(iso, b)


def test_date_column_of_any_unit(tx):
    base = customer_features(tx, as_of="2024-01-31")
    for unit in ("s", "ms", "us", "ns"):
        f = customer_features(
            tx.assign(date=tx["date"].astype(f"datetime64[{unit}]")), as_of="2024-01-31"
        )
        pd.testing.assert_frame_equal(f, base)


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
    # a date-only as_of ends the day in the dates' zone: 2024-03-02 ends at 24:00 Oslo
    f = customer_features(tx, as_of="2024-03-02")
    np.testing.assert_allclose(f["days_since_last_purchase"], [0.5], rtol=1e-12)
    assert f.loc[1, "n_purchases"] == 2
    # an aware as_of in another zone is the same instant
    f = customer_features(tx, as_of=as_of.tz_convert("America/New_York"))
    np.testing.assert_allclose(f["days_since_last_purchase"], [0.5], rtol=1e-12)
    with pytest.raises(ValidationError, match="naive but the dates are timezone-aware") as info:
        customer_features(tx, as_of=pd.Timestamp("2024-03-03 00:00"))
    assert "tz_localize" in str(info.value) or "with a zone" in str(info.value)
    with pytest.raises(ValidationError, match="dates are naive"):
        customer_features(
            tx.assign(date=tx["date"].dt.tz_localize(None)),
            as_of=as_of,
        )


@pytest.mark.parametrize(
    ("change", "as_of", "field", "match"),
    [
        (lambda t: t.drop(columns="amount"), "2024-01-31", "amount", "missing"),
        (
            lambda t: t.assign(date=t["date"].astype(str).where(t.index != 3, "soon")),
            "2024-01-31",
            "date",
            "date_format",
        ),
        (
            lambda t: t.assign(date=t["customer_id"].map({"a": 1, "b": 2, "c": 3})),
            "2024-01-31",
            "date",
            "numbers",
        ),
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
    "windows",
    [("0D",), ("-3D",), ("soon",), ("30D", "720h"), (30,), (30.0,), (True,), ("1M",), (None,)],
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
