"""Retention, churn and repurchase rates on a small hand-checked log."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from crmcore.errors import ValidationError
from crmcore.loyalty import churn_rate, repurchase_rate, retention_rate

MONTH = pd.DateOffset(months=1)


@pytest.fixture
def log():
    rows = [
        ("a", "2026-01-03"),
        ("b", "2026-01-10"),
        ("c", "2026-01-31 23:59"),
        ("d", "2025-12-31"),  # before the cohort window
        ("a", "2026-02-05"),
        ("a", "2026-02-20"),
        ("c", "2026-02-28 10:00"),
        ("e", "2026-02-10"),  # new customer: not in the cohort
        ("b", "2026-03-01"),  # at as_of: excluded (half-open window)
    ]
    return pd.DataFrame(
        {
            "customer_id": [r[0] for r in rows],
            "date": pd.to_datetime([r[1] for r in rows], format="ISO8601"),
        }
    )


def test_retention_and_churn_are_complementary(log):
    as_of = pd.Timestamp("2026-03-01")
    ret = retention_rate(log, as_of=as_of, period=MONTH)
    churn = churn_rate(log, as_of=as_of, period=MONTH)
    assert (ret.numerator, ret.denominator) == (2, 3)  # a and c retained, b churned
    assert ret.rate == pytest.approx(2 / 3, rel=1e-12)
    assert churn.numerator == 1
    assert ret.rate + churn.rate == pytest.approx(1.0, rel=1e-12)
    assert ret.ci_low < ret.rate < ret.ci_high
    assert ret.start == "2026-01-01T00:00:00"
    assert ret.end == "2026-03-01T00:00:00"


def test_repurchase_rate(log):
    r = repurchase_rate(log, as_of=pd.Timestamp("2026-03-01"), period=MONTH)
    # February buyers: a (twice), c, e -> 1 of 3.
    assert (r.numerator, r.denominator) == (1, 3)


def test_period_as_duration_string(log):
    r = repurchase_rate(log, as_of=pd.Timestamp("2026-03-01"), period="59D")
    # 2026-01-01 .. 2026-03-01: a x3, b, c x2, e -> a and c repeat.
    assert (r.numerator, r.denominator) == (2, 4)


def test_aware_timestamps(log):
    aware = log.assign(date=log["date"].dt.tz_localize("UTC"))
    as_of = dt.datetime(2026, 3, 1, tzinfo=dt.UTC)
    assert retention_rate(aware, as_of=as_of, period=MONTH).numerator == 2
    with pytest.raises(ValidationError, match="both be timezone-aware"):
        retention_rate(log, as_of=as_of, period=MONTH)


def test_validation(log):
    with pytest.raises(ValidationError, match="no customers"):
        retention_rate(log, as_of=pd.Timestamp("2020-01-01"), period=MONTH)
    with pytest.raises(ValidationError, match="period"):
        retention_rate(log, as_of=pd.Timestamp("2026-03-01"), period="-3D")
    with pytest.raises(ValidationError, match="period"):
        retention_rate(log, as_of=pd.Timestamp("2026-03-01"), period="monthly")
    for unitless in (30, 30.0):  # pandas would read these as nanoseconds
        with pytest.raises(ValidationError, match="period"):
            repurchase_rate(log, as_of=pd.Timestamp("2026-03-01"), period=unitless)
    with pytest.raises(ValidationError, match="as_of"):
        retention_rate(log, as_of=3, period=MONTH)
    bad = log.copy()
    bad.loc[4, "customer_id"] = None
    with pytest.raises(ValidationError) as info:
        retention_rate(bad, as_of=pd.Timestamp("2026-03-01"), period=MONTH)
    assert info.value.row == 4
