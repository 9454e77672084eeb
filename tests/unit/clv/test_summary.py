from __future__ import annotations

import datetime as dt

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
    s = rfm_summary(log, value_col="amount", as_of="2024-02-29")
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


def test_as_of_excludes_later_transactions(log: pd.DataFrame) -> None:
    s = rfm_summary(log, value_col="amount", as_of="2024-01-15")
    assert "c" not in s.index
    assert s.loc["a"].tolist() == [1, 2.0, 14.0, 20.0]
    # default end: last transaction date
    d = rfm_summary(log)
    assert d.loc["a", "T"] == 40.0


def test_weekly_and_monthly(log: pd.DataFrame) -> None:
    w = rfm_summary(log, freq="W", as_of="2024-02-29")
    # 2024-01-01 is a Monday; weeks Mon..Sun. a: weeks 0, 0, 5 -> periods {0, 5}
    assert w.loc["a"].tolist() == [1, 5.0, 8.0]
    m = rfm_summary(log, freq="M", as_of="2024-03-01")
    assert m.loc["a"].tolist() == [1, 1.0, 2.0]
    assert m.loc["c"].tolist() == [0, 0.0, 2.0]


def test_frequency_multiples_group_consecutive_periods(log: pd.DataFrame) -> None:
    two = rfm_summary(log, freq="2D", as_of="2024-02-29")
    one = rfm_summary(log, freq="D", as_of="2024-02-29")
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
    s = rfm_summary(log, as_of=pd.Timestamp("2024-03-05", tz="America/New_York"))
    assert s.loc[1].tolist() == [0, 0.0, 4.0]
    # A date-only as_of ends that day on the data's own wall clock.
    assert rfm_summary(log, as_of="2024-03-05").loc[1].tolist() == [0, 0.0, 4.0]
    with pytest.raises(ValidationError, match="naive but the dates are timezone-aware") as info:
        rfm_summary(log, as_of=pd.Timestamp("2024-03-05 12:00"))
    assert info.value.field == "as_of"


def test_naive_log_refuses_aware_end(log: pd.DataFrame) -> None:
    with pytest.raises(ValidationError, match="timezone-aware but the dates are naive") as info:
        rfm_summary(log, as_of=pd.Timestamp("2024-03-01", tz="UTC"))
    assert info.value.field == "as_of"
    assert "tz_localize" in str(info.value)  # the fix is named


def test_naive_and_aware_dates_mixed_are_refused() -> None:
    dates = [
        pd.Timestamp("2024-01-01 10:00"),
        pd.Timestamp("2024-01-02 10:00", tz="Europe/Paris"),
    ]
    log = pd.DataFrame({"customer_id": [1, 1], "date": pd.Series(dates, dtype=object)})
    with pytest.raises(ValidationError, match="mixes naive and timezone-aware") as info:
        rfm_summary(log)
    assert info.value.field == "date"


def test_bad_input_names_column_and_customer(log: pd.DataFrame) -> None:
    bad = log.copy()
    bad["date"] = bad["date"].astype(str)
    bad.loc[4, "date"] = "not a date"
    with pytest.raises(ValidationError, match="not a date crmcore can read") as info:
        rfm_summary(bad)
    assert (info.value.field, info.value.row) == ("date", "c")
    missing_date = log.copy()
    missing_date.loc[1, "date"] = pd.NaT
    with pytest.raises(ValidationError, match="must not be missing") as info:
        rfm_summary(missing_date)
    assert (info.value.field, info.value.row) == ("date", "b")
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
    with pytest.raises(ValidationError, match="holds numbers"):
        rfm_summary(log.assign(date=np.arange(7)))
    missing_id = log.copy()
    missing_id.loc[2, "customer_id"] = None
    with pytest.raises(ValidationError, match="missing") as info:
        rfm_summary(missing_id)
    assert info.value.field == "customer_id"
    with pytest.raises(ValidationError, match="no transaction at or before as_of") as info:
        rfm_summary(log, as_of="2023-01-01")
    assert info.value.field == "as_of"
    with pytest.raises(ValidationError, match="1677-09-22 and 2262-04-11") as info:
        rfm_summary(log, as_of="9999-12-31")
    assert info.value.field == "as_of"


def test_calibration_holdout_split(log: pd.DataFrame) -> None:
    split = calibration_holdout_split(
        log, as_of="2024-01-10", holdout_end="2024-02-29", value_col="amount"
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
    assert "c" not in split.index  # first purchase after as_of
    assert split.loc["a"].tolist() == [1, 2.0, 9.0, 20.0, 1, 50.0, 40.0]
    assert split.loc["b"].tolist() == [0, 0.0, 8.0, 0.0, 0, 50.0, 0.0]
    cal = rfm_summary(log, value_col="amount", as_of="2024-01-10")
    np.testing.assert_array_equal(split["T_cal"], cal.loc[split.index, "T"])
    assert split["frequency_holdout"].dtype == np.int64
    with pytest.raises(ValidationError, match="later day than as_of") as info:
        calibration_holdout_split(log, as_of="2024-03-01", holdout_end="2024-02-01")
    assert info.value.field == "holdout_end"
    with pytest.raises(ValidationError, match="later day than as_of"):
        calibration_holdout_split(
            log, as_of="2024-01-10 08:00", holdout_end=pd.Timestamp("2024-01-10 20:00")
        )


def test_sparse_integer_ids_are_sorted_too() -> None:
    ids = [10**15, 5, 10**12, 5]
    log = pd.DataFrame(
        {"customer_id": ids, "date": pd.to_datetime(["2024-01-01", "2024-01-02"] * 2)}
    )
    assert rfm_summary(log).index.tolist() == [5, 10**12, 10**15]


def test_a_date_only_as_of_ends_its_day() -> None:
    log = pd.DataFrame(
        {
            "customer_id": [1, 1, 1],
            "date": pd.to_datetime(["2024-01-01 09:00", "2024-01-10 18:00", "2024-01-11 08:00"]),
            "amount": [1.0, 2.0, 4.0],
        }
    )
    split = calibration_holdout_split(
        log, as_of="2024-01-10", holdout_end="2024-01-20", value_col="amount"
    )
    assert split.loc[1, "frequency_cal"] == 1  # the 18:00 purchase is in calibration
    assert split.loc[1, "frequency_holdout"] == 1
    assert split.loc[1, "monetary_value_holdout"] == 4.0


SAME_DAY = pd.DataFrame(
    {
        "customer_id": [1, 1, 1, 2],
        "date": pd.to_datetime(
            ["2024-01-01 09:00", "2024-01-10 09:00", "2024-01-10 18:00", "2024-01-10 18:00"]
        ),
        "amount": [1.0, 2.0, 4.0, 8.0],
    }
)


@pytest.mark.parametrize(
    ("as_of", "history"),
    [
        # date-only, in every spelling: the end of 10 January
        ("2024-01-10", 3),
        (dt.date(2024, 1, 10), 3),
        (pd.Period("2024-01-10", "D"), 3),
        (np.datetime64("2024-01-10"), 3),
        # instants: the 18:00 purchases are history only at or after 18:00
        (pd.Timestamp("2024-01-10 12:00"), 2),
        (dt.datetime(2024, 1, 10, 12, 0), 2),  # noqa: DTZ001 - naive data, naive as_of
        ("2024-01-10T12:00", 2),
        (pd.Timestamp("2024-01-10 18:00"), 3),
        (pd.Timestamp("2024-01-10 00:00"), 1),
    ],
)
def test_history_is_every_purchase_at_or_before_the_instant_as_of(
    as_of: object, history: int
) -> None:
    s = rfm_summary(SAME_DAY, value_col="amount", as_of=as_of)
    # T and recency stay whole days: first purchase, last purchase, as_of's day
    if history == 1:
        assert s.loc[1].tolist() == [0, 0.0, 9.0, 0.0]
        assert 2 not in s.index
    else:
        # 09:00 and 18:00 on 10 January are one repeat period; its value is their sum
        value = 2.0 if history == 2 else 6.0
        assert s.loc[1].tolist() == [1, 9.0, 9.0, value]
        assert (2 in s.index) == (history == 3)


def test_an_intraday_as_of_sends_later_purchases_that_day_to_the_holdout() -> None:
    split = calibration_holdout_split(
        SAME_DAY,
        as_of=pd.Timestamp("2024-01-10 12:00"),
        holdout_end="2024-01-20",
        value_col="amount",
    )
    assert split.index.tolist() == [1]  # customer 2's first purchase is after as_of
    assert split.loc[1].tolist() == [1, 9.0, 9.0, 2.0, 1, 10.0, 4.0]
    whole_day = calibration_holdout_split(SAME_DAY, as_of="2024-01-10", holdout_end="2024-01-20")
    assert whole_day.loc[1, "frequency_holdout"] == 0
    assert whole_day.loc[2, "T_cal"] == 0.0


def test_weekly_periods_never_count_purchases_after_as_of() -> None:
    # 2024-01-03 is a Wednesday; the purchase on Friday of that week is in the future.
    log = pd.DataFrame(
        {
            "customer_id": [1, 1, 1],
            "date": pd.to_datetime(["2023-12-20", "2024-01-03", "2024-01-05"]),
        }
    )
    s = rfm_summary(log, as_of="2024-01-03", freq="W")
    assert s.loc[1].tolist() == [1, 2.0, 2.0]
    s = rfm_summary(log, as_of=pd.Period("2024-01-03", "D"), freq="W")
    assert s.loc[1].tolist() == [1, 2.0, 2.0]


def test_hourly_periods() -> None:
    s = rfm_summary(SAME_DAY, as_of=pd.Timestamp("2024-01-10 20:30"), freq="h")
    assert s.loc[1].tolist() == [2, 225.0, 227.0]
    assert s.loc[2].tolist() == [0, 0.0, 2.0]


def test_dates_of_any_resolution_give_the_same_summary(log: pd.DataFrame) -> None:
    want = rfm_summary(log, value_col="amount", as_of="2024-02-29")
    for unit in ("s", "ms", "us", "ns"):
        got = rfm_summary(
            log.assign(date=log["date"].astype(f"datetime64[{unit}]")),
            value_col="amount",
            as_of="2024-02-29",
        )
        pd.testing.assert_frame_equal(got, want)
    text = log.assign(date=log["date"].dt.strftime("%d.%m.%Y %H:%M"))
    got = rfm_summary(text, value_col="amount", as_of="2024-02-29", date_format="%d.%m.%Y %H:%M")
    pd.testing.assert_frame_equal(got, want)


def test_customer_order_depends_on_the_history_only() -> None:
    log = pd.DataFrame(
        {
            "customer_id": ["late", "early", "late"],
            "date": pd.to_datetime(["2024-02-01", "2024-01-02", "2024-01-05"]),
        }
    )
    # "late" appears first in the frame, but its first row is after as_of.
    s = rfm_summary(log, as_of="2024-01-31")
    assert s.index.tolist() == ["early", "late"]


def test_old_argument_names_still_work_with_a_warning(log: pd.DataFrame) -> None:
    want = rfm_summary(log, as_of="2024-01-15")
    with pytest.warns(DeprecationWarning, match="'observation_end=' is deprecated.*'as_of='"):
        got = rfm_summary(log, observation_end="2024-01-15")
    pd.testing.assert_frame_equal(got, want)
    want = calibration_holdout_split(log, as_of="2024-01-10", holdout_end="2024-02-29")
    with pytest.warns(DeprecationWarning, match="is deprecated") as record:
        got = calibration_holdout_split(
            log, calibration_end="2024-01-10", observation_end="2024-02-29"
        )
    pd.testing.assert_frame_equal(got, want)
    messages = sorted(str(w.message) for w in record)
    assert "'calibration_end=' is deprecated" in messages[0]
    assert "'as_of='" in messages[0]
    assert "'observation_end=' is deprecated" in messages[1]
    assert "'holdout_end='" in messages[1]
    with pytest.raises(TypeError, match="both"):
        rfm_summary(log, observation_end="2024-01-15", as_of="2024-01-15")


def test_unit_measures_the_grain_in_another_time_unit(log: pd.DataFrame) -> None:
    # freq is the grain (what merges), unit the scale of recency and T.
    hours = rfm_summary(log, value_col="amount", freq="h", as_of="2024-02-29")
    in_days = rfm_summary(log, value_col="amount", freq="h", unit="D", as_of="2024-02-29")
    pd.testing.assert_series_equal(in_days["frequency"], hours["frequency"])
    pd.testing.assert_series_equal(in_days["monetary_value"], hours["monetary_value"])
    np.testing.assert_allclose(in_days[["recency", "T"]] * 24, hours[["recency", "T"]], rtol=1e-15)
    # a: first purchase 01-01 09:00, last 02-10 00:00 -> 39 days 15 hours
    assert in_days.loc["a", "recency"] == pytest.approx(39 + 15 / 24, rel=1e-15)
    days = rfm_summary(log, freq="D", as_of="2024-02-29")
    in_weeks = rfm_summary(log, freq="D", unit="W", as_of="2024-02-29")
    np.testing.assert_allclose(in_weeks[["recency", "T"]] * 7, days[["recency", "T"]], rtol=1e-15)
    two_weeks = rfm_summary(log, freq="2W", unit="W", as_of="2024-02-29")
    assert (
        two_weeks.loc["a", "T"]
        == 2 * rfm_summary(log, freq="2W", as_of="2024-02-29").loc["a", "T"]
    )
    split = calibration_holdout_split(
        log, as_of="2024-01-15", holdout_end="2024-02-29", freq="h", unit="D"
    )
    assert split["duration_holdout"].iloc[0] == pytest.approx(45.0, rel=1e-15)


def test_unit_needs_a_fixed_length_grain(log: pd.DataFrame) -> None:
    with pytest.raises(ValidationError, match="fixed-length") as info:
        rfm_summary(log, freq="M", unit="D")
    assert info.value.field == "unit"
    with pytest.raises(ValidationError, match="unit must be one of 'h', 'D', 'W'"):
        rfm_summary(log, freq="D", unit="M")


def test_include_first_transaction_counts_every_purchase_period(log: pd.DataFrame) -> None:
    # lifetimes' semantics: frequency = purchase periods (the first too),
    # monetary_value = mean value of all purchase periods; recency and T unchanged.
    repeat = rfm_summary(log, value_col="amount", as_of="2024-02-29")
    every = rfm_summary(
        log, value_col="amount", as_of="2024-02-29", include_first_transaction=True
    )
    pd.testing.assert_series_equal(every["frequency"], repeat["frequency"] + 1)
    pd.testing.assert_frame_equal(every[["recency", "T"]], repeat[["recency", "T"]])
    # a: periods 01-01 (10), 01-03 (5 + 15), 02-10 (40): mean 70 / 3
    assert every.loc["a", "monetary_value"] == pytest.approx(70.0 / 3, rel=1e-15)
    # b: one period (7 + 1 on 01-02): 8; c: one purchase of 3
    assert every.loc["b"].tolist() == [1, 0.0, 58.0, 8.0]
    assert every.loc["c", "monetary_value"] == 3.0
    assert every.attrs["include_first_transaction"] is True
    assert "include_first_transaction" not in repeat.attrs


def test_models_refuse_a_summary_that_counts_the_first_purchase(log: pd.DataFrame) -> None:
    from crmcore.clv import BetaGeoModel, GammaGammaModel

    every = rfm_summary(
        log, value_col="amount", as_of="2024-02-29", include_first_transaction=True
    )
    with pytest.raises(ValidationError, match="include_first_transaction=False"):
        BetaGeoModel().fit(every)
    with pytest.raises(ValidationError, match="include_first_transaction=False"):
        GammaGammaModel().fit(every[every["frequency"] > 1])
    with pytest.raises(ValidationError, match="True or False"):
        rfm_summary(log, include_first_transaction="yes")  # type: ignore[arg-type]


def _reference_summary(log: pd.DataFrame, as_of: pd.Timestamp, freq: str) -> pd.DataFrame:
    """The summary's definition, spelt out with pandas group-bys (slow, obvious)."""
    log = log[log["date"] <= as_of]
    periods = (
        log.assign(p=log["date"].dt.floor(freq)).groupby(["customer_id", "p"])["amount"].sum()
    )
    periods = periods.reset_index()
    g = periods.groupby("customer_id")
    first, last, n = g["p"].min(), g["p"].max(), g["p"].size()
    step = pd.Timedelta(1, freq)
    first_value = (
        periods[periods["p"] == periods["customer_id"].map(first)]
        .groupby("customer_id")["amount"]
        .sum()
    )
    total = g["amount"].sum()
    freq_ = n - 1
    return pd.DataFrame(
        {
            "frequency": freq_.astype(np.int64),
            "recency": (last - first) / step,
            "T": (as_of.floor(freq) - first) / step,
            "monetary_value": ((total - first_value) / freq_.where(freq_ > 0)).fillna(0.0),
        }
    )


@pytest.mark.parametrize(
    ("n_customers", "years"),
    [(300, 2), (40_000, 15)],  # the packed key fits in 32 bits; it needs 64 bits
)
def test_summary_equals_its_definition(n_customers: int, years: int) -> None:
    rng = np.random.default_rng(11)
    n = 2 * n_customers + 500
    hours = rng.integers(0, years * 8760, n)
    hours[:n_customers] = 0  # every customer's span reaches the log's start...
    hours[n_customers : 2 * n_customers] = years * 8760 - 1  # ...and its end
    # repeats within an hour, so purchases collapse into periods
    hours[-500:] = hours[:500] + rng.integers(0, 2, 500)
    log = pd.DataFrame(
        {
            "customer_id": np.concatenate(
                [np.arange(n_customers)] * 2 + [rng.integers(0, n_customers, n - 2 * n_customers)]
            ),
            "date": pd.Timestamp("2000-01-01") + pd.to_timedelta(hours * 3600 + 59, unit="s"),
            "amount": rng.integers(1, 100, n).astype(float),
        }
    )
    log.iloc[-500:, 0] = log["customer_id"].to_numpy()[:500]
    as_of = pd.Timestamp("2000-01-01") + pd.Timedelta(years * 8760, "h")
    got = rfm_summary(log, value_col="amount", as_of=as_of, freq="h")
    want = _reference_summary(log, as_of, "h")
    pd.testing.assert_frame_equal(got, want, check_names=False, rtol=1e-12)
