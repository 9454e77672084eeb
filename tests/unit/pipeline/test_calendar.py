"""BusinessCalendar: worked examples (weekend, holiday, overnight, DST) and array API."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
import pytest

from crmcore.errors import ValidationError
from crmcore.pipeline import BusinessCalendar

UTC = dt.UTC
H = dt.timedelta(hours=1)
WEEKDAYS_9_17 = {d: [("09:00", "17:00")] for d in range(5)}


def utc(*args):
    return dt.datetime(*args, tzinfo=UTC)


def test_default_is_weekdays_nine_to_five_utc():
    cal = BusinessCalendar()
    assert cal.weekly_hours == 40
    assert cal.tz == ZoneInfo("UTC")


def test_weekend_is_skipped():
    cal = BusinessCalendar(WEEKDAYS_9_17)
    # Fri 2026-11-20 15:00 + 4 h: 2 h on Friday (15-17), 2 h on Monday (9-11).
    start = utc(2026, 11, 20, 15)
    assert cal.add(start, 4 * H) == utc(2026, 11, 23, 11)
    assert cal.diff(start, utc(2026, 11, 23, 11)) == 4 * H
    # Saturday to Sunday: no working time at all.
    assert cal.diff(utc(2026, 11, 21, 10), utc(2026, 11, 22, 10)) == dt.timedelta(0)


def test_holiday_removes_the_day():
    cal = BusinessCalendar(WEEKDAYS_9_17, holidays=[dt.date(2026, 12, 25)], tz="Europe/London")
    # Thu 24 Dec 16:00 GMT + 2 h: 1 h Thursday, Friday 25 is a holiday, 1 h Monday 28.
    assert cal.add(utc(2026, 12, 24, 16), 2 * H) == utc(2026, 12, 28, 10)
    assert not cal.is_within(utc(2026, 12, 25, 12))


def test_overnight_shift():
    cal = BusinessCalendar({d: [("22:00", "06:00")] for d in range(5)})
    # Fri 23:00 is inside Friday's 22:00-06:00 shift: 7 h to Sat 06:00. No shifts start
    # on Sat/Sun, so the next one is Mon 22:00; 10 h - 7 h = 3 h -> Tue 01:00.
    start = utc(2026, 11, 20, 23)
    assert cal.is_within(start)
    assert cal.add(start, 10 * H) == utc(2026, 11, 24, 1)
    assert cal.next_start(utc(2026, 11, 21, 12)) == utc(2026, 11, 23, 22)


def test_dst_spring_forward_office_hours():
    cal = BusinessCalendar(WEEKDAYS_9_17, tz="America/New_York")
    # Fri 6 Mar 2026 16:00 EST (21:00 UTC) + 2 h: 1 h Friday; clocks go forward on
    # Sunday 8 Mar, so Monday 09:00 EDT is 13:00 UTC; +1 h -> 14:00 UTC.
    start = utc(2026, 3, 6, 21)
    assert cal.add(start, 2 * H) == utc(2026, 3, 9, 14)
    assert cal.diff(start, utc(2026, 3, 9, 14)) == 2 * H


def test_dst_overnight_shift_lasts_its_true_length():
    cal = BusinessCalendar({d: [("22:00", "06:00")] for d in range(7)}, tz="Europe/Berlin")
    # 28->29 Mar 2026 (spring forward 02:00->03:00): 22:00 CET = 21:00 UTC to
    # 06:00 CEST = 04:00 UTC is 7 h. 24->25 Oct (fall back): 20:00 UTC to 05:00 UTC, 9 h.
    assert cal.diff(utc(2026, 3, 28, 20), utc(2026, 3, 29, 12)) == 7 * H
    assert cal.diff(utc(2026, 10, 24, 19), utc(2026, 10, 25, 12)) == 9 * H


def test_results_keep_the_input_time_zone():
    cal = BusinessCalendar(WEEKDAYS_9_17, tz="America/New_York")
    ny = ZoneInfo("America/New_York")
    start = dt.datetime(2026, 11, 20, 16, tzinfo=ny)
    out = cal.add(start, 3 * H)
    assert out == dt.datetime(2026, 11, 23, 11, tzinfo=ny)
    assert out.tzinfo == ny


def test_add_zero_is_identity_and_diff_is_signed():
    cal = BusinessCalendar()
    sat = utc(2026, 11, 21, 12)
    assert cal.add(sat, dt.timedelta(0)) == sat
    assert cal.diff(utc(2026, 11, 23, 11), utc(2026, 11, 23, 10)) == -H


def test_add_lands_on_shift_end_not_next_start():
    cal = BusinessCalendar()
    assert cal.add(utc(2026, 11, 23, 9), 8 * H) == utc(2026, 11, 23, 17)


def test_long_durations_extend_the_grid():
    cal = BusinessCalendar()
    start = utc(2026, 1, 5, 9)
    # 52 weeks of 40 h: Monday 09:00 + 2080 h -> 52 weeks later, Friday 17:00.
    assert cal.add(start, 2080 * H) == utc(2027, 1, 1, 17)


def test_arrays_match_scalars():
    cal = BusinessCalendar(WEEKDAYS_9_17, holidays=[dt.date(2026, 12, 25)], tz="Europe/Paris")
    rng = np.random.default_rng(3)
    base = np.datetime64("2026-01-01T00:00", "us")
    s = base + rng.integers(0, 365 * 86400, 200).astype("timedelta64[s]")
    e = s + rng.integers(0, 20 * 86400, 200).astype("timedelta64[s]")
    d = cal.diff(s, e)
    assert d.dtype == np.dtype("timedelta64[us]")
    for i in range(0, 200, 37):
        si = pd.Timestamp(s[i], tz="UTC").to_pydatetime()
        ei = pd.Timestamp(e[i], tz="UTC").to_pydatetime()
        assert cal.diff(si, ei) == d[i].astype(dt.timedelta)
    back = cal.add(s, d)
    np.testing.assert_array_equal(cal.diff(s, back), d)
    within = cal.is_within(s)
    assert within.dtype == bool
    nxt = cal.next_start(s)
    assert (nxt >= s).all()
    assert cal.is_within(nxt).all()
    np.testing.assert_array_equal(nxt[within], s[within])


def test_series_in_series_out():
    cal = BusinessCalendar()
    idx = pd.Index(["a", "b"])
    s = pd.Series(
        pd.to_datetime(["2026-11-20 15:00", "2026-11-23 09:00"]).tz_localize("UTC"), index=idx
    )
    out = cal.add(s, np.array([4, 1], dtype="timedelta64[h]"))
    assert list(out.index) == ["a", "b"]
    assert out["a"] == pd.Timestamp("2026-11-23 11:00", tz="UTC")
    d = cal.diff(s, out)
    assert d["b"] == pd.Timedelta(hours=1)


@pytest.mark.parametrize(
    ("hours", "needle"),
    [
        ({0: [("09:00", "09:00")]}, "empty"),
        ({0: [("9am", "17:00")]}, "HH:MM"),
        ({"funday": [("09:00", "17:00")]}, "weekdays"),
        ({0: []}, "no working time"),
        ({0: [("25:00", "26:00")]}, "HH:MM"),
    ],
)
def test_bad_working_hours(hours, needle):
    with pytest.raises(ValidationError, match=needle):
        BusinessCalendar(hours)


def test_bad_inputs():
    cal = BusinessCalendar()
    with pytest.raises(ValidationError, match="tz"):
        BusinessCalendar(tz="Mars/Olympus")
    with pytest.raises(ValidationError, match="timezone-aware"):
        cal.diff(dt.datetime(2026, 1, 1), utc(2026, 1, 2))  # noqa: DTZ001
    with pytest.raises(ValidationError, match=">= 0"):
        cal.add(utc(2026, 1, 1), -H)
    with pytest.raises(ValidationError, match="NaT"):
        cal.diff(
            np.array(["NaT"], dtype="datetime64[us]"),
            np.array(["2026-01-01"], dtype="datetime64[us]"),
        )
    with pytest.raises(ValidationError, match="holidays"):
        BusinessCalendar(holidays=[utc(2026, 1, 1)])
    naive = pd.Series(pd.to_datetime(["2026-01-01"]))
    with pytest.raises(ValidationError, match="timezone-aware"):
        cal.diff(naive, naive)


def test_full_day_and_always():
    cal = BusinessCalendar.always("Europe/Berlin")
    # 24/7 in local time: the spring-forward day has 23 real hours.
    assert cal.diff(utc(2026, 3, 28, 23), utc(2026, 3, 29, 22)) == 23 * H
    assert "24:00" in repr(cal)


def test_working_hours_shorthands():
    cal = BusinessCalendar(
        {"monday": ("09:00", "12:00"), "tue": None, 2: [], 3: [(dt.time(8), dt.time(9))]}
    )
    assert cal.weekly_hours == 4
    with pytest.raises(ValidationError, match="list of"):
        BusinessCalendar({0: "09:00-17:00"})
