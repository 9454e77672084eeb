from __future__ import annotations

import datetime as dt

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
    with pytest.warns(DataWarning, match="ends at"):
        churn_labels(tx, as_of="2024-04-01", horizon="90D")
    with pytest.raises(ValidationError, match="unobserved"):
        churn_labels(tx, as_of="2024-06-01", horizon="90D")


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


def test_aware_dates_need_aware_as_of():
    tx = _tx_with_e_return()
    tx["date"] = tx["date"].dt.tz_localize("Europe/Berlin")
    with pytest.raises(ValidationError, match="timezone-aware"):
        churn_labels(tx, as_of="2024-01-31", horizon="60D")
    as_of = dt.datetime(2024, 1, 31, tzinfo=dt.UTC)
    y = churn_labels(tx, as_of=as_of, horizon=dt.timedelta(days=60), lookback="365D")
    assert y.to_dict() == {"a": 0, "b": 1, "e": 0}


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


def test_subscription_end_before_start_is_refused():
    subs = _subs()
    subs.loc[0, "end"] = pd.Timestamp("2023-01-01")
    with pytest.raises(ValidationError) as info:
        subscription_churn_labels(subs, as_of="2024-02-01", horizon="30D")
    assert info.value.field == "end"
    assert info.value.row == 0
