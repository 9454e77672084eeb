from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from crmcore.clv import rfm_summary, simulate_bgnbd, simulate_gamma_gamma, simulate_transactions
from crmcore.errors import ValidationError

PARAMS = {"r": 0.5, "alpha": 8.0, "a": 0.8, "b": 2.5}


def test_simulate_bgnbd_is_seeded_and_consistent() -> None:
    a = simulate_bgnbd(1000, **PARAMS, T=30.0, random_state=1)
    b = simulate_bgnbd(1000, **PARAMS, T=30.0, random_state=1)
    pd.testing.assert_frame_equal(a, b)
    assert not a.equals(simulate_bgnbd(1000, **PARAMS, T=30.0, random_state=2))
    assert (a["recency"] <= a["T"]).all()
    assert (a.loc[a["frequency"] == 0, "recency"] == 0).all()
    assert (a.loc[a["frequency"] > 0, "recency"] > 0).all()
    T = np.linspace(1, 50, 1000)
    c = simulate_bgnbd(1000, **PARAMS, T=T, random_state=3)
    np.testing.assert_array_equal(c["T"], T)
    with pytest.raises(ValidationError):
        simulate_bgnbd(10, **PARAMS, T=np.ones(3))
    with pytest.raises(ValidationError):
        simulate_bgnbd(10, r=-1.0, alpha=1.0, a=1.0, b=1.0, T=1.0)


def test_mbgnbd_simulation_has_more_zeros() -> None:
    bg = simulate_bgnbd(20000, **PARAMS, T=30.0, random_state=1)
    mbg = simulate_bgnbd(20000, **PARAMS, T=30.0, modified=True, random_state=1)
    assert (mbg["frequency"] == 0).mean() > (bg["frequency"] == 0).mean()


def test_simulate_gamma_gamma_moments() -> None:
    freq = np.full(200_000, 4)
    m = simulate_gamma_gamma(freq, p=6.0, q=4.0, gamma=15.0, random_state=0)
    # E[mean spend] = p * gamma / (q - 1) = 30
    assert m.mean() == pytest.approx(30.0, rel=0.02)
    assert simulate_gamma_gamma([0, 0], p=6.0, q=4.0, gamma=15.0, random_state=0).tolist() == [
        0,
        0,
    ]
    with pytest.raises(ValidationError, match="whole number"):
        simulate_gamma_gamma([1.5], p=6.0, q=4.0, gamma=15.0)


def test_simulate_transactions_log_matches_model_summary() -> None:
    log = simulate_transactions(
        20000,
        **PARAMS,
        start=pd.Timestamp("2024-01-01", tz="Europe/Berlin"),
        periods=200.0,
        acquisition_periods=100.0,
        unit="D",
        p=6.0,
        q=4.0,
        gamma=15.0,
        random_state=4,
    )
    assert list(log.columns) == ["customer_id", "date", "amount"]
    assert str(log["date"].dt.tz) == "Europe/Berlin"
    assert log["date"].is_monotonic_increasing
    assert log["customer_id"].nunique() == 20000
    assert (log["amount"] > 0).all()
    with pytest.warns(DeprecationWarning, match="'value' is deprecated.*'amount'"):
        np.testing.assert_array_equal(log["value"], log["amount"])
    again = simulate_transactions(
        20000,
        **PARAMS,
        start=pd.Timestamp("2024-01-01", tz="Europe/Berlin"),
        periods=200.0,
        acquisition_periods=100.0,
        p=6.0,
        q=4.0,
        gamma=15.0,
        random_state=4,
    )
    pd.testing.assert_frame_equal(log, again)
    end = pd.Timestamp("2024-01-01", tz="Europe/Berlin") + pd.Timedelta(days=200)
    assert log["date"].max() < end
    summary = rfm_summary(log, as_of=end)
    # First purchases spread uniformly over 100 days: mean T about 150 days.
    assert summary["T"].mean() == pytest.approx(150.0, abs=2.0)
    # Repeat purchases per customer (before same-day collapsing) agree with
    # the continuous-time model for the same observation lengths.
    repeats = log.groupby("customer_id").size().reindex(summary.index) - 1
    direct = simulate_bgnbd(20000, **PARAMS, T=summary["T"].to_numpy() + 0.5, random_state=5)
    se = np.sqrt(repeats.var() / len(repeats) + direct["frequency"].var() / len(direct))
    assert abs(repeats.mean() - direct["frequency"].mean()) < 4 * se


def test_simulate_transactions_arguments() -> None:
    with pytest.raises(ValidationError, match="all of p, q, gamma"):
        simulate_transactions(10, **PARAMS, start="2024-01-01", periods=10.0, p=1.0)
    with pytest.raises(ValidationError, match="unit"):
        simulate_transactions(10, **PARAMS, start="2024-01-01", periods=10.0, unit="M")
    log = simulate_transactions(
        50, **PARAMS, start="2024-01-01", periods=10.0, unit="W", random_state=1
    )
    assert list(log.columns) == ["customer_id", "date"]  # no spend model, no amount
    assert log["date"].dt.tz is None
    assert log["date"].max() < pd.Timestamp("2024-01-01") + pd.Timedelta(weeks=10)


@pytest.mark.parametrize(
    "start", [None, "NaT", pd.NaT, np.datetime64("NaT"), float("nan"), 5, True, "not a date"]
)
def test_simulate_transactions_refuses_bad_start(start: object) -> None:
    # None used to become NaT and crash with AttributeError; 5 was 5 ns after 1970.
    with pytest.raises(ValidationError) as info:
        simulate_transactions(10, **PARAMS, start=start, periods=10.0)
    assert info.value.field == "start"


def test_simulate_transactions_refuses_bad_arguments_before_drawing() -> None:
    for kwargs, field in [
        ({"p": 1.0, "q": 2.0, "gamma": -1.0}, "gamma"),
        ({"modified": "yes"}, "modified"),
        ({"unit": ["D"]}, "unit"),
        ({"periods": 1e6, "start": "2200-01-01"}, "periods"),
    ]:
        args = {"start": "2024-01-01", "periods": 10.0, **kwargs}
        with pytest.raises(ValidationError) as info:
            simulate_transactions(10, **PARAMS, **args)
        assert info.value.field == field
    with pytest.raises(ValidationError) as info:
        simulate_bgnbd(10, **PARAMS, T=5.0, modified=1)
    assert info.value.field == "modified"


def test_simulate_transactions_accepts_every_date_like_start() -> None:
    want = simulate_transactions(30, **PARAMS, start="2024-01-01", periods=30.0, random_state=3)
    for start in (
        pd.Period("2024-01-01", "D"),
        np.datetime64("2024-01-01"),
        pd.Timestamp("2024-01-01").to_pydatetime().date(),
        pd.Timestamp("2024-01-01").as_unit("s"),
    ):
        got = simulate_transactions(30, **PARAMS, start=start, periods=30.0, random_state=3)
        pd.testing.assert_frame_equal(got, want)
