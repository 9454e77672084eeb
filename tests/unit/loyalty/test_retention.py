"""Retention, churn and repurchase rates on a small hand-checked log (the time rule)."""

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
        ("d", "2025-12-31"),  # before January
        ("a", "2026-02-05"),
        ("a", "2026-02-20"),
        ("c", "2026-02-28 10:00"),
        ("e", "2026-02-10"),  # new customer: not in the cohort
        ("b", "2026-03-01"),  # exactly at midnight, 1 March
    ]
    return pd.DataFrame(
        {
            "customer_id": [r[0] for r in rows],
            "date": pd.to_datetime([r[1] for r in rows], format="ISO8601"),
        }
    )


def test_date_only_as_of_with_a_month_window_compares_whole_months(log):
    # as_of "2026-02-28" is the end of 28 February; "1M" counted back from just
    # after it: current window = February, preceding = January. Cohort (January
    # buyers): a, b, c; February: a, c (b's purchase on 1 March is after as_of).
    ret = retention_rate(log, as_of="2026-02-28", window="1M")
    churn = churn_rate(log, as_of="2026-02-28", window="1M")
    assert (ret.numerator, ret.denominator) == (2, 3)
    assert ret.rate == pytest.approx(2 / 3, rel=1e-12)
    assert churn.numerator == 1
    assert ret.rate + churn.rate == pytest.approx(1.0, rel=1e-12)
    assert ret.ci_low < ret.rate < ret.ci_high
    assert ret.start == "2025-12-31T23:59:59.999999999"  # (start, end]
    assert ret.end == "2026-02-28T23:59:59.999999999"
    assert isinstance(ret.numerator, int)
    assert isinstance(ret.denominator, int)
    # the same windows from a calendar Period and from a DateOffset
    assert retention_rate(log, as_of=pd.Period("2026-02", "M"), window=MONTH) == ret


def test_a_purchase_exactly_at_as_of_is_history(log):
    # as_of = 1 March 00:00 (an instant): current window (1 Feb 00:00, 1 Mar 00:00]
    # holds b's purchase at exactly as_of, so b is retained too (it used to be
    # dropped by a half-open [start, end) window).
    ret = retention_rate(log, as_of=pd.Timestamp("2026-03-01"), window=MONTH)
    assert (ret.numerator, ret.denominator) == (3, 3)
    assert ret.end == "2026-03-01T00:00:00"
    assert ret.start == "2026-01-01T00:00:00"
    # one nanosecond earlier, b's purchase is in the future
    before = pd.Timestamp("2026-03-01") - pd.Timedelta(1, "ns")
    assert retention_rate(log, as_of=before, window=MONTH).numerator == 2


def test_window_start_is_exclusive():
    # (as_of - 7D, as_of]: a purchase exactly 7 days before as_of is not in it.
    log = pd.DataFrame(
        {
            "customer_id": ["a", "a", "b", "b"],
            "date": pd.to_datetime(
                ["2026-01-01 12:00", "2026-01-08 12:00", "2026-01-05", "2026-01-06"],
                format="ISO8601",
            ),
        }
    )
    r = repurchase_rate(log, as_of=pd.Timestamp("2026-01-08 12:00"), window="7D")
    assert (r.numerator, r.denominator) == (1, 2)  # b twice; a once (01-01 12:00 excluded)
    assert r.start == "2026-01-01T12:00:00"


def test_repurchase_rate(log):
    r = repurchase_rate(log, as_of="2026-02-28", window="1M")
    # February buyers: a (twice), c, e -> 1 of 3.
    assert (r.numerator, r.denominator) == (1, 3)


def test_fixed_window(log):
    r = repurchase_rate(log, as_of=pd.Timestamp("2026-03-01"), window="59D")
    # (2026-01-01, 2026-03-01]: a x3, b x2 (01-10 and 03-01), c x2, e -> a, b, c repeat.
    assert (r.numerator, r.denominator) == (3, 4)


def test_aware_dates_are_instants_and_calendar_windows_follow_their_zone(log):
    paris = log.assign(date=log["date"].dt.tz_localize("Europe/Paris"))
    # a purchase at 23:30 on 28 February in Paris (22:30 UTC) is a February one
    late = pd.DataFrame(
        {"customer_id": ["e"], "date": pd.DatetimeIndex(["2026-02-28 23:30"], tz="Europe/Paris")}
    )
    both = pd.concat([paris, late], ignore_index=True)
    assert repurchase_rate(both, as_of="2026-02-28", window="1M").numerator == 2  # a and e
    # the same instants written in UTC, with a fixed window, give the same rates
    utc = both.assign(date=both["date"].dt.tz_convert("UTC"))
    as_of = pd.Timestamp("2026-03-01 00:30", tz="Europe/Paris")
    for rate in (retention_rate, churn_rate, repurchase_rate):
        here = rate(both, as_of=as_of, window="30D")
        there = rate(utc, as_of=as_of, window="30D")
        assert (here.numerator, here.denominator) == (there.numerator, there.denominator)
        assert pd.Timestamp(here.start) == pd.Timestamp(there.start)  # same instant
        assert here.end == "2026-03-01T00:30:00+01:00"  # written in the data's zone
    with pytest.raises(ValidationError, match="naive") as info:
        retention_rate(paris, as_of=dt.datetime(2026, 3, 1), window=MONTH)  # noqa: DTZ001
    assert info.value.field == "as_of"
    with pytest.raises(ValidationError, match="timezone-aware"):
        retention_rate(log, as_of=dt.datetime(2026, 3, 1, tzinfo=dt.UTC), window=MONTH)


def test_string_and_date_columns_are_read(log):
    as_text = log.assign(date=log["date"].dt.strftime("%Y-%m-%d %H:%M"))
    assert retention_rate(as_text, as_of="2026-02-28", window="1M") == retention_rate(
        log, as_of="2026-02-28", window="1M"
    )


def test_period_is_the_deprecated_name_of_window(log):
    with pytest.warns(DeprecationWarning, match="'window=' instead"):
        old = retention_rate(log, as_of="2026-02-28", period="1M")
    assert old == retention_rate(log, as_of="2026-02-28", window="1M")
    for rate in (churn_rate, repurchase_rate):
        with pytest.warns(DeprecationWarning, match="period="):
            rate(log, as_of="2026-02-28", period="30D")
    with pytest.raises(TypeError, match="both"):
        retention_rate(log, as_of="2026-02-28", period="1M", window="1M")


def test_validation(log):
    with pytest.raises(ValidationError, match="no customers"):
        retention_rate(log, as_of="2020-01-01", window=MONTH)
    with pytest.raises(ValidationError, match="positive") as info:
        retention_rate(log, as_of="2026-03-01", window="-3D")
    assert info.value.field == "window"
    with pytest.raises(ValidationError, match="window"):
        retention_rate(log, as_of="2026-03-01", window="monthly")
    for unitless in (30, 30.0):  # pandas would read these as nanoseconds
        with pytest.raises(ValidationError, match="no unit"):
            repurchase_rate(log, as_of="2026-03-01", window=unitless)
    with pytest.raises(ValidationError, match="as_of"):
        retention_rate(log, as_of=3, window=MONTH)
    with pytest.raises(ValidationError, match="2262"):
        retention_rate(log, as_of="9999-12-31", window=MONTH)
    bad = log.copy()
    bad.loc[4, "customer_id"] = None
    with pytest.raises(ValidationError) as info:
        retention_rate(bad, as_of="2026-03-01", window=MONTH)
    assert info.value.row == 4
    text = log.assign(date=log["date"].astype(str))
    text.loc[2, "date"] = "soon"
    with pytest.raises(ValidationError, match="soon") as info:
        retention_rate(text, as_of="2026-03-01", window=MONTH)
    assert (info.value.field, info.value.row) == ("date", 2)
