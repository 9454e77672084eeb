from __future__ import annotations

import datetime as dt
import warnings

import numpy as np
import pandas as pd
import pytest

from crmcore.churn import churn_labels, subscription_churn_labels
from crmcore.errors import DataWarning, ValidationError


def _tx():
    return pd.DataFrame(
        {
            "customer_id": ["a", "a", "b", "c", "c", "d", "e"],
            "date": pd.to_datetime(
                [
                    "2024-01-05",
                    "2024-03-01",  # a buys again inside the window
                    "2024-01-20",  # b silent afterwards
                    "2022-06-01",  # c dormant before the look-back ...
                    "2024-04-01",  # ... and back after the window
                    "2024-05-15",  # d first buys after as_of: not active
                    "2024-01-31",  # e buys exactly at as_of, again exactly at as_of + 60D
                ]
            ),
        }
    )


def _tx_with_e_return():
    tx = _tx()
    extra = pd.DataFrame({"customer_id": ["e"], "date": pd.to_datetime(["2024-03-31"])})
    return pd.concat([tx, extra], ignore_index=True)


def test_labels_with_lookback():
    y = churn_labels(_tx_with_e_return(), as_of="2024-01-31", horizon="60D", lookback="365D")
    assert y.name == "churn"
    assert y.dtype == np.int8
    assert y.index.name == "customer_id"
    # a: bought in window -> 0; b: silent -> 1; e: bought at as_of+60D (window is closed
    # on the right) -> 0; c is not active (last purchase 2022), d not yet a customer.
    assert y.to_dict() == {"a": 0, "b": 1, "e": 0}


def test_without_lookback_every_past_buyer_is_active():
    y = churn_labels(_tx_with_e_return(), as_of="2024-01-31", horizon="60D")
    assert y.to_dict() == {"a": 0, "b": 1, "c": 1, "e": 0}


def test_window_is_open_on_the_left():
    # a purchase exactly at as_of counts for activity, not for the label window
    tx = pd.DataFrame(
        {"customer_id": ["x", "y"], "date": pd.to_datetime(["2024-01-31", "2024-06-30"])}
    )
    y = churn_labels(tx, as_of="2024-01-31", horizon="30D")
    assert y.to_dict() == {"x": 1}


def test_labels_do_not_depend_on_row_order_and_ignore_data_after_window():
    tx = _tx_with_e_return()
    shuffled = tx.sample(frac=1.0, random_state=3)
    a = churn_labels(tx, as_of="2024-01-31", horizon="60D", lookback="365D")
    b = churn_labels(shuffled, as_of="2024-01-31", horizon="60D", lookback="365D")
    pd.testing.assert_series_equal(a, b)


def test_short_log_warns_and_empty_future_raises():
    tx = _tx()
    with pytest.warns(DataWarning, match="ends at .*observed_until"):
        churn_labels(tx, as_of="2024-04-01", horizon="90D")
    with pytest.raises(ValidationError, match="unobserved"):
        churn_labels(tx, as_of="2024-06-01", horizon="90D")


def test_observed_until_says_the_log_covers_the_window():
    # The log's last purchase is 2024-05-15, but the extract runs to 2024-12-31: the
    # window after 2024-04-01 is observed, so no warning (the former false warning)...
    tx = _tx()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        y = churn_labels(tx, as_of="2024-04-01", horizon="90D", observed_until="2024-12-31")
        # ... and a cut-off after the last purchase is fine too: everyone churned
        late = churn_labels(tx, as_of="2024-06-01", horizon="90D", observed_until="2024-12-31")
    assert y.to_dict() == {"a": 1, "b": 1, "c": 1, "e": 1}
    assert set(late) == {1}
    # a window that runs past the end of observation is refused, warning or not
    with pytest.raises(ValidationError, match="ends after observed_until") as info:
        churn_labels(tx, as_of="2024-12-01", horizon="90D", observed_until="2024-12-31")
    assert info.value.field == "observed_until"
    # the window's end may be the last instant observed (a date-only end is its day's end)
    churn_labels(tx, as_of="2024-10-02", horizon="90D", observed_until="2024-12-31")


def test_date_only_as_of_ends_its_day_and_an_instant_cuts_there():
    tx = pd.DataFrame(
        {
            "customer_id": ["a", "a", "b"],
            "date": pd.to_datetime(["2024-03-01 00:00", "2024-03-31 18:00", "2024-04-15 00:00"]),
        }
    )
    # date-only: 18:00 on the cut-off day is history, so "a" has no later purchase
    day = churn_labels(tx, as_of="2024-03-31", horizon="30D", observed_until="2024-06-30")
    assert day.to_dict() == {"a": 1}
    for as_of in (dt.date(2024, 3, 31), pd.Period("2024-03-31", "D"), pd.Period("2024-03", "M")):
        pd.testing.assert_series_equal(
            churn_labels(tx, as_of=as_of, horizon="30D", observed_until="2024-06-30"), day
        )
    # an instant at 12:00: the 18:00 purchase is in the window (as_of, as_of + 30D]
    noon = churn_labels(
        tx, as_of=pd.Timestamp("2024-03-31 12:00"), horizon="30D", observed_until="2024-06-30"
    )
    assert noon.to_dict() == {"a": 0}
    # and at 18:00 exactly it is history again (the window is open on the left)
    six = churn_labels(
        tx, as_of=pd.Timestamp("2024-03-31 18:00"), horizon="30D", observed_until="2024-06-30"
    )
    assert six.to_dict() == {"a": 1}


def test_window_ends_are_inclusive_and_lookback_is_open_on_the_left():
    as_of = pd.Timestamp("2024-03-31 12:00")
    tx = pd.DataFrame(
        {
            "customer_id": ["in", "in", "edge", "out", "out"],
            "date": [
                as_of - pd.Timedelta("10D"),
                as_of + pd.Timedelta("30D"),  # exactly as_of + horizon: in the window
                as_of - pd.Timedelta("60D"),  # exactly as_of - lookback: outside
                as_of,  # exactly as_of: history, active
                as_of + pd.Timedelta("30D") + pd.Timedelta("1ns"),  # after the window
            ],
        }
    )
    y = churn_labels(tx, as_of=as_of, horizon="30D", lookback="60D", observed_until="2024-12-31")
    assert y.to_dict() == {"in": 0, "out": 1}


def test_string_and_microsecond_dates_read_like_nanoseconds():
    tx = _tx_with_e_return()
    ref = churn_labels(tx, as_of="2024-01-31", horizon="60D", lookback="365D")
    as_us = tx.assign(date=tx["date"].astype("datetime64[us]"))
    as_text = tx.assign(date=tx["date"].dt.strftime("%Y-%m-%d"))
    pd.testing.assert_series_equal(
        churn_labels(as_us, as_of="2024-01-31", horizon="60D", lookback="365D"), ref
    )
    pd.testing.assert_series_equal(
        churn_labels(as_text, as_of="2024-01-31", horizon="60D", lookback="365D"), ref
    )


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"horizon": "0D"}, "horizon"),
        ({"horizon": "-5D"}, "horizon"),
        ({"horizon": 90}, "horizon"),
        ({"horizon": "3M"}, "horizon"),
        ({"horizon": "60D", "lookback": "0D"}, "lookback"),
        ({"horizon": "60D", "as_of": None}, "as_of"),
        ({"horizon": "60D", "as_of": "not a date"}, "as_of"),
    ],
)
def test_bad_parameters(kwargs, field):
    kwargs = {"as_of": "2024-01-31", **kwargs}
    with pytest.raises(ValidationError) as info:
        churn_labels(_tx(), **kwargs)
    assert info.value.field == field


def test_bad_data():
    tx = _tx()
    tx.loc[2, "date"] = pd.NaT
    with pytest.raises(ValidationError) as info:
        churn_labels(tx, as_of="2024-01-31", horizon="60D")
    assert info.value.field == "date"
    assert info.value.row == 2
    tx = _tx()
    tx["date"] = [1, 2, 3, 4, 5, 6, 7]
    with pytest.raises(ValidationError, match="dates"):
        churn_labels(tx, as_of="2024-01-31", horizon="60D")
    with pytest.raises(ValidationError, match="missing column"):
        churn_labels(_tx().rename(columns={"date": "when"}), as_of="2024-01-31", horizon="60D")


def test_time_zones_instants_and_the_refusal_to_mix():
    tx = _tx_with_e_return()
    tx["date"] = tx["date"].dt.tz_localize("Europe/Berlin")
    # a naive instant against aware data is refused, naming the fix
    with pytest.raises(ValidationError, match="naive but the dates are timezone-aware") as info:
        churn_labels(tx, as_of=pd.Timestamp("2024-01-31 12:00"), horizon="60D")
    assert info.value.field == "as_of"
    # aware data against an aware as_of: compared as instants
    as_of = dt.datetime(2024, 1, 31, tzinfo=dt.UTC)
    y = churn_labels(tx, as_of=as_of, horizon=dt.timedelta(days=60), lookback="365D")
    assert y.to_dict() == {"a": 0, "b": 1, "e": 0}
    # the same instants written in another zone give the same labels
    seoul = tx.assign(date=tx["date"].dt.tz_convert("Asia/Seoul"))
    pd.testing.assert_series_equal(
        churn_labels(seoul, as_of=as_of, horizon="60D", lookback="365D"), y
    )
    # a date-only as_of ends its day in the data's zone
    berlin_day = churn_labels(tx, as_of="2024-01-31", horizon="60D", lookback="365D")
    end_of_day = pd.Timestamp("2024-01-31 23:59:59.999999999", tz="Europe/Berlin")
    pd.testing.assert_series_equal(
        berlin_day, churn_labels(tx, as_of=end_of_day, horizon="60D", lookback="365D")
    )
    # naive data with an aware as_of, and naive and aware values mixed, are refused
    with pytest.raises(ValidationError, match="timezone-aware but the dates are naive"):
        churn_labels(_tx(), as_of=as_of, horizon="60D")
    mixed = pd.DataFrame(
        {
            "customer_id": ["a", "b"],
            "date": [dt.datetime(2024, 1, 1), dt.datetime(2024, 3, 1, tzinfo=dt.UTC)],  # noqa: DTZ001
        }
    )
    with pytest.raises(ValidationError, match="mixes naive and timezone-aware"):
        churn_labels(mixed, as_of="2024-01-31", horizon="60D")


# ---------------------------------------------------------------- subscriptions


def _subs():
    return pd.DataFrame(
        {
            "customer_id": ["a", "b", "c", "c", "d", "e"],
            "start": pd.to_datetime(
                [
                    "2024-01-01",
                    "2024-01-01",
                    "2024-01-01",
                    "2024-02-10",
                    "2024-03-01",
                    "2023-01-01",
                ]
            ),
            "end": pd.to_datetime(["2024-02-15", None, "2024-02-05", None, None, "2023-12-31"]),
        }
    )


def test_subscription_labels():
    y = subscription_churn_labels(_subs(), as_of="2024-02-01", horizon="30D")
    # a cancels in the window -> 1; b keeps running -> 0; c switches plans and is
    # covered at as_of + 30D -> 0; d starts later and e ended before: excluded.
    assert y.to_dict() == {"a": 1, "b": 0, "c": 0}
    assert y.dtype == np.int8


def test_subscription_boundaries_and_coverage():
    subs = _subs()
    # "a" cancels at 18:00 on the as_of day: with a date-only as_of it is gone by then
    subs.loc[0, "end"] = pd.Timestamp("2024-02-01 18:00")
    day = subscription_churn_labels(subs, as_of="2024-02-01", horizon="30D")
    noon = subscription_churn_labels(subs, as_of=pd.Timestamp("2024-02-01 12:00"), horizon="30D")
    assert "a" not in day.index
    assert noon["a"] == 1
    with pytest.raises(ValidationError, match="ends after observed_until"):
        subscription_churn_labels(
            subs, as_of="2024-02-01", horizon="30D", observed_until="2024-02-15"
        )
    ok = subscription_churn_labels(
        subs, as_of="2024-02-01", horizon="30D", observed_until="2024-03-31"
    )
    pd.testing.assert_series_equal(ok, day)


def test_subscription_zones():
    subs = _subs()
    aware = subs.assign(
        start=subs["start"].dt.tz_localize("UTC"), end=subs["end"].dt.tz_localize("UTC")
    )
    as_of = pd.Timestamp("2024-02-01 12:00", tz="UTC")
    y = subscription_churn_labels(aware, as_of=as_of, horizon="30D")
    other = aware.assign(
        start=aware["start"].dt.tz_convert("America/New_York"),
        end=aware["end"].dt.tz_convert("Asia/Tokyo"),
    )
    pd.testing.assert_series_equal(subscription_churn_labels(other, as_of=as_of, horizon="30D"), y)
    with pytest.raises(ValidationError, match="end holds naive dates but start is timezone"):
        subscription_churn_labels(aware.assign(end=subs["end"]), as_of=as_of, horizon="30D")
    # a table whose ends are all still open takes its zone from the starts
    open_ends = aware.assign(end=pd.Series([None] * len(aware), dtype=object))
    assert subscription_churn_labels(open_ends, as_of=as_of, horizon="30D").eq(0).all()


def test_subscription_end_before_start_is_refused():
    subs = _subs()
    subs.loc[0, "end"] = pd.Timestamp("2023-01-01")
    with pytest.raises(ValidationError) as info:
        subscription_churn_labels(subs, as_of="2024-02-01", horizon="30D")
    assert info.value.field == "end"
    assert info.value.row == 0
