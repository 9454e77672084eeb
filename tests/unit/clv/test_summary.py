from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from crmcore.clv import calibration_holdout_split, rfm_summary
from crmcore.errors import ValidationError


@pytest.fixture
def log() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "customer_id": ["a", "b", "a", "a", "c", "a", "b"],
            "date": pd.to_datetime(
                [
                    "2024-01-03 18:00",
                    "2024-01-02 00:00",
                    "2024-01-01 09:00",
                    "2024-01-03 08:00",
                    "2024-01-20 00:00",
                    "2024-02-10 00:00",
                    "2024-01-02 23:59",
                ]
            ),
            "amount": [5.0, 7.0, 10.0, 15.0, 3.0, 40.0, 1.0],
        }
    )


def test_daily_semantics(log: pd.DataFrame) -> None:
    s = rfm_summary(log, value_col="amount", observation_end="2024-02-29")
    assert s.index.name == "customer_id"
    # a: periods 01-01 (10), 01-03 (5 + 15, one period), 02-10 (40)
    assert s.loc["a"].tolist() == [2, 40.0, 59.0, 30.0]
    # b: two purchases on one day collapse; no repeat period
    assert s.loc["b"].tolist() == [0, 0.0, 58.0, 0.0]
    assert s.loc["c"].tolist() == [0, 0.0, 40.0, 0.0]
    assert s["frequency"].dtype == np.int64


def test_unsorted_input_and_reordering_give_the_same_summary(log: pd.DataFrame) -> None:
    a = rfm_summary(log, value_col="amount")
    b = rfm_summary(log.iloc[::-1], value_col="amount")
    pd.testing.assert_frame_equal(a.sort_index(), b.sort_index())


def test_observation_end_excludes_later_transactions(log: pd.DataFrame) -> None:
    s = rfm_summary(log, value_col="amount", observation_end="2024-01-15")
    assert "c" not in s.index
    assert s.loc["a"].tolist() == [1, 2.0, 14.0, 20.0]
    # default end: last transaction date
    d = rfm_summary(log)
    assert d.loc["a", "T"] == 40.0


def test_weekly_and_monthly(log: pd.DataFrame) -> None:
    w = rfm_summary(log, freq="W", observation_end="2024-02-29")
    # 2024-01-01 is a Monday; weeks Mon..Sun. a: weeks 0, 0, 5 -> periods {0, 5}
    assert w.loc["a"].tolist() == [1, 5.0, 8.0]
    m = rfm_summary(log, freq="M", observation_end="2024-03-01")
    assert m.loc["a"].tolist() == [1, 1.0, 2.0]
    assert m.loc["c"].tolist() == [0, 0.0, 2.0]


def test_frequency_multiples_group_consecutive_periods(log: pd.DataFrame) -> None:
    two = rfm_summary(log, freq="2D", observation_end="2024-02-29")
    one = rfm_summary(log, freq="D", observation_end="2024-02-29")
    # 2-day blocks from the epoch: 2024-01-01 (day 19723) and 01-03 (19725)
    # fall in different blocks; T is counted in blocks.
    assert two.loc["a", "frequency"] == one.loc["a", "frequency"]
    assert two.loc["a", "T"] == pytest.approx(np.floor(19782 / 2) - np.floor(19723 / 2))
    assert rfm_summary(log, freq="3W").loc["a", "frequency"] == 1


def test_integer_ids_are_sorted_and_string_dates_parse() -> None:
    log = pd.DataFrame(
        {"id": [30, 10, 30, 20], "day": ["20240105", "20240101", "20240110", "20240103"]}
    )
    s = rfm_summary(log, customer_col="id", date_col="day", date_format="%Y%m%d")
    assert s.index.tolist() == [10, 20, 30]
    assert s.loc[30].tolist() == [1, 5.0, 5.0]


def test_timezone_aware_dates_use_local_wall_time() -> None:
    utc = pd.to_datetime(["2024-03-01 23:30", "2024-03-02 00:30"]).tz_localize("UTC")
    log = pd.DataFrame({"customer_id": [1, 1], "date": utc})
    # In UTC the purchases fall on two days ...
    assert rfm_summary(log).loc[1, "frequency"] == 1
    # ... in New York (UTC-5) on one.
    log["date"] = log["date"].dt.tz_convert("America/New_York")
    s = rfm_summary(log, observation_end=pd.Timestamp("2024-03-05", tz="America/New_York"))
    assert s.loc[1].tolist() == [0, 0.0, 4.0]
    with pytest.raises(ValidationError, match="timezone-aware") as info:
        rfm_summary(log, observation_end="2024-03-05")
    assert info.value.field == "observation_end"


def test_naive_log_refuses_aware_end(log: pd.DataFrame) -> None:
    with pytest.raises(ValidationError, match="naive"):
        rfm_summary(log, observation_end=pd.Timestamp("2024-03-01", tz="UTC"))


def test_bad_input_names_column_and_customer(log: pd.DataFrame) -> None:
    bad = log.copy()
    bad["date"] = bad["date"].astype(str)
    bad.loc[4, "date"] = "not a date"
    with pytest.raises(ValidationError, match="valid date") as info:
        rfm_summary(bad)
    assert (info.value.field, info.value.row) == ("date", "c")
    nan_value = log.copy()
    nan_value.loc[6, "amount"] = np.nan
    with pytest.raises(ValidationError, match="finite") as info:
        rfm_summary(nan_value, value_col="amount")
    assert (info.value.field, info.value.row) == ("amount", "b")
    with pytest.raises(ValidationError, match="missing column") as info:
        rfm_summary(log, value_col="price")
    assert info.value.field == "price"
    with pytest.raises(ValidationError, match="empty"):
        rfm_summary(log.iloc[:0])
    with pytest.raises(ValidationError, match="freq"):
        rfm_summary(log, freq="Q")
    with pytest.raises(ValidationError, match="must hold dates"):
        rfm_summary(log.assign(date=np.arange(7)))
    missing_id = log.copy()
    missing_id.loc[2, "customer_id"] = None
    with pytest.raises(ValidationError, match="missing") as info:
        rfm_summary(missing_id)
    assert info.value.field == "customer_id"
    with pytest.raises(ValidationError, match="no transaction"):
        rfm_summary(log, observation_end="2023-01-01")


def test_calibration_holdout_split(log: pd.DataFrame) -> None:
    split = calibration_holdout_split(
        log, calibration_end="2024-01-10", observation_end="2024-02-29", value_col="amount"
    )
    assert list(split.columns) == [
        "frequency_cal",
        "recency_cal",
        "T_cal",
        "monetary_value_cal",
        "frequency_holdout",
        "duration_holdout",
        "monetary_value_holdout",
    ]
    assert "c" not in split.index  # first purchase after calibration_end
    assert split.loc["a"].tolist() == [1, 2.0, 9.0, 20.0, 1, 50.0, 40.0]
    assert split.loc["b"].tolist() == [0, 0.0, 8.0, 0.0, 0, 50.0, 0.0]
    cal = rfm_summary(log, value_col="amount", observation_end="2024-01-10")
    np.testing.assert_array_equal(split["T_cal"], cal.loc[split.index, "T"])
    with pytest.raises(ValidationError, match="before observation_end") as info:
        calibration_holdout_split(log, calibration_end="2024-03-01", observation_end="2024-02-01")
    assert info.value.field == "calibration_end"


def test_sparse_integer_ids_are_sorted_too() -> None:
    ids = [10**15, 5, 10**12, 5]
    log = pd.DataFrame(
        {"customer_id": ids, "date": pd.to_datetime(["2024-01-01", "2024-01-02"] * 2)}
    )
    assert rfm_summary(log).index.tolist() == [5, 10**12, 10**15]


def test_calibration_end_is_a_whole_period() -> None:
    log = pd.DataFrame(
        {
            "customer_id": [1, 1, 1],
            "date": pd.to_datetime(["2024-01-01 09:00", "2024-01-10 18:00", "2024-01-11 08:00"]),
            "value": [1.0, 2.0, 4.0],
        }
    )
    split = calibration_holdout_split(
        log, calibration_end="2024-01-10", observation_end="2024-01-20", value_col="value"
    )
    assert split.loc[1, "frequency_cal"] == 1  # the 18:00 purchase is in calibration
    assert split.loc[1, "frequency_holdout"] == 1
    assert split.loc[1, "monetary_value_holdout"] == 4.0
