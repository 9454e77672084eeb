"""The time rules of issue 13 (docs page "Time, cut-offs and units") for crmcore.clv.

What holds, precisely, for random logs and cut-offs:

* **No leak.** :func:`rfm_summary` at ``as_of``, and the calibration columns
  of :func:`calibration_holdout_split`, depend only on the rows at or before
  ``as_of`` (an instant; a date-only ``as_of`` is the end of its day):
  adding, removing or changing later rows (dates, amounts, customers,
  positions in the frame) changes nothing, not even the order of the
  customers.
* **The holdout is its window.** The holdout columns depend only on the rows
  in ``(as_of, holdout_end]`` (for the customers of the calibration): rows
  after ``holdout_end`` change nothing, and the columns equal a direct count
  of those rows' periods.
* **Zones.** History and holdout membership are decided on instants, so
  the same instants written in any zone (half-hour and daylight-saving zones
  included) select the same customers and the same holdout buyers. Periods
  are taken on the data's own wall clock, so the summaries themselves are
  the same when the periods do not depend on the zone: hourly periods of
  zones that differ by whole hours at all times (fixed offsets). Calendar
  days, weeks and months, and hours in a half-hour or daylight-saving zone,
  depend on the zone by design. Conversely the same *wall clock* in any zone
  (a naive log and the same log localised) gives the same summaries for every
  ``freq``, as long as no row or cut-off falls in a daylight-saving change.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
import pandas as pd
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from crmcore.clv import calibration_holdout_split, rfm_summary
from crmcore.testing.strategies import TIMEZONES
from tests.strategies import LOG_START, log_rows

START = pd.Timestamp(LOG_START)
DAY = 1440  # minutes
ALIAS = {"h": "h", "D": "D", "W": "W-SUN", "M": "M"}
SAFE_CLOCK = (360, 1320)  # 06:00-22:00: no daylight-saving change in any zone used here
FIXED_WHOLE_HOURS = tuple(dt.timezone(dt.timedelta(hours=h)) for h in (-11, -5, 0, 3, 9, 14))
CAL_COLUMNS = ["frequency_cal", "recency_cal", "T_cal", "monetary_value_cal"]
HOLDOUT_COLUMNS = ["frequency_holdout", "duration_holdout", "monetary_value_holdout"]
RULES = settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])

Row = tuple[str, int, float]


def frame(rows: list[Row], tz: Any = None) -> pd.DataFrame:
    """A log from rows (naive wall clock; localised to ``tz`` when given)."""
    minutes = np.array([m for _, m, _ in rows], dtype=np.int64)
    dates = pd.DatetimeIndex(START + pd.to_timedelta(minutes, unit="m"))
    if tz is not None:
        dates = dates.tz_localize(tz)
    return pd.DataFrame(
        {
            "customer_id": pd.Series([c for c, _, _ in rows], dtype=object),
            "date": dates,
            "amount": np.array([a for _, _, a in rows], dtype=np.float64),
        }
    )


@st.composite
def cutoffs(
    draw: st.DrawFn, lo: int, hi: int, *, clock: tuple[int, int] = (0, DAY - 1)
) -> tuple[Any, int]:
    """An ``as_of`` in ``[lo, hi]`` minutes and the last minute it keeps as history.

    Date-only in one of its spellings (the end of that day) or a naive instant.
    """
    if draw(st.booleans()):
        day = draw(st.integers(lo // DAY, hi // DAY))
        date = (START + pd.Timedelta(days=day)).date()
        value = draw(st.sampled_from([date.isoformat(), date, pd.Period(date, "D")]))
        return value, day * DAY + DAY - 1
    minute = draw(
        st.integers(lo, hi).filter(lambda m: clock[0] <= m % DAY <= clock[1]), label="minute"
    )
    return START + pd.Timedelta(minutes=minute), minute


@st.composite
def interleaved(draw: st.DrawFn, kept: list[Row], extra: list[Row]) -> list[Row]:
    """``kept`` in its own order with ``extra`` rows inserted at drawn positions."""
    out = list(kept)
    for row in extra:
        out.insert(draw(st.integers(0, len(out))), row)
    return out


def localise(value: Any, tz: Any) -> Any:
    """The same wall clock in ``tz`` (date-only values stay as they are)."""
    return value.tz_localize(tz) if isinstance(value, pd.Timestamp) else value


def summary(log: pd.DataFrame, as_of: Any, freq: str) -> pd.DataFrame:
    return rfm_summary(log, value_col="amount", as_of=as_of, freq=freq)


def split(log: pd.DataFrame, as_of: Any, holdout_end: Any, freq: str) -> pd.DataFrame:
    return calibration_holdout_split(
        log, as_of=as_of, holdout_end=holdout_end, value_col="amount", freq=freq
    )


def period(minute: int, freq: str) -> pd.Period:
    return (START + pd.Timedelta(minutes=minute)).to_period(ALIAS[freq])


def same(a: pd.DataFrame, b: pd.DataFrame) -> None:
    pd.testing.assert_frame_equal(a, b, check_exact=True)


# ---------------------------------------------------------------- no leak


@RULES
@given(data=st.data(), freq=st.sampled_from(["h", "D", "W", "M", "2D"]))
def test_rfm_summary_ignores_every_row_after_as_of(data: st.DataObject, freq: str) -> None:
    rows = data.draw(log_rows(min_size=1), label="rows")
    as_of, last = data.draw(cutoffs(min(m for _, m, _ in rows), 130 * DAY), label="as_of")

    history = [r for r in rows if r[1] <= last]
    want = summary(frame(history), as_of, freq)  # every later row removed
    assert list(want.index) == list(dict.fromkeys(c for c, _, _ in history))
    # the drawn log, whose later rows sit anywhere in the frame
    same(summary(frame(rows), as_of, freq), want)
    # other later rows: new customers, other dates and amounts, other positions
    other = data.draw(log_rows(first_minute=last + 1, last_minute=last + 60 * DAY, max_size=10))
    same(summary(frame(data.draw(interleaved(history, other))), as_of, freq), want)


@RULES
@given(data=st.data(), freq=st.sampled_from(["h", "D", "W", "M"]))
def test_split_calibration_is_the_history_and_the_holdout_its_window(
    data: st.DataObject, freq: str
) -> None:
    rows = data.draw(log_rows(min_size=1), label="rows")
    first = min(m for _, m, _ in rows)
    as_of, last = data.draw(cutoffs(first, max(first, 110 * DAY)), label="as_of")
    end, end_last = data.draw(cutoffs(last + 1, last + 60 * DAY), label="holdout_end")
    assume(period(end_last, freq) > period(last, freq))  # a holdout of whole periods
    history = [r for r in rows if r[1] <= last]
    window = [r for r in rows if last < r[1] <= end_last]
    result = split(frame(rows), as_of, end, freq)

    # The calibration columns are the summary of the history ...
    cal = summary(frame(history), as_of, freq)
    cal.columns = CAL_COLUMNS
    same(result[CAL_COLUMNS], cal)
    # ... whatever the window holds.
    other_window = data.draw(log_rows(first_minute=last + 1, last_minute=end_last, max_size=10))
    same(split(frame(history + other_window), as_of, end, freq)[CAL_COLUMNS], cal)

    # Rows after holdout_end change nothing: removed, or others in their place.
    in_range = [r for r in rows if r[1] <= end_last]
    same(split(frame(in_range), as_of, end, freq), result)
    after = data.draw(log_rows(first_minute=end_last + 1, last_minute=end_last + 30 * DAY))
    same(split(frame(data.draw(interleaved(in_range, after))), as_of, end, freq), result)

    # The holdout columns count the window's periods directly.
    hold = frame(window)
    hold = hold[hold["customer_id"].isin(result.index)]
    per_period = hold.groupby(["customer_id", hold["date"].dt.to_period(ALIAS[freq])])[
        "amount"
    ].sum()
    by_customer = per_period.groupby(level="customer_id")
    count = by_customer.size().reindex(result.index, fill_value=0)
    mean = by_customer.mean().reindex(result.index, fill_value=0.0)
    np.testing.assert_array_equal(result["frequency_holdout"], count)
    np.testing.assert_allclose(result["monetary_value_holdout"], mean, rtol=1e-12)
    length = (period(end_last, freq) - period(last, freq)).n
    assert (result["duration_holdout"] == length).all()


# ---------------------------------------------------------------- zones


@RULES
@given(data=st.data(), zone=st.sampled_from(FIXED_WHOLE_HOURS))
def test_hourly_summaries_of_the_same_instants_do_not_depend_on_the_zone(
    data: st.DataObject, zone: dt.tzinfo
) -> None:
    rows = data.draw(log_rows(min_size=1), label="rows")
    lo = min(m for _, m, _ in rows)
    as_of = START.tz_localize("UTC") + pd.Timedelta(minutes=data.draw(st.integers(lo, 120 * DAY)))
    end = as_of + pd.Timedelta(minutes=data.draw(st.integers(60, 40 * DAY)))
    utc = frame(rows, tz="UTC")
    moved = utc.assign(date=utc["date"].dt.tz_convert(zone))
    # the cut-offs may be written in either zone: they are instants
    cut = data.draw(st.sampled_from([as_of, as_of.tz_convert(zone)]))
    same(summary(moved, cut, "h"), summary(utc, as_of, "h"))
    same(split(moved, cut, end.tz_convert(zone), "h"), split(utc, as_of, end, "h"))


@RULES
@given(
    data=st.data(),
    zone=st.sampled_from(TIMEZONES),
    freq=st.sampled_from(["h", "D", "W", "M"]),
)
def test_history_and_holdout_membership_are_instants_in_every_zone(
    data: st.DataObject, zone: dt.tzinfo, freq: str
) -> None:
    rows = data.draw(log_rows(min_size=1), label="rows")
    lo = min(m for _, m, _ in rows)
    as_of = START.tz_localize("UTC") + pd.Timedelta(minutes=data.draw(st.integers(lo, 120 * DAY)))
    end = as_of + pd.Timedelta(days=data.draw(st.integers(32, 60)))  # a later month everywhere
    utc = frame(rows, tz="UTC")
    moved = utc.assign(date=utc["date"].dt.tz_convert(zone))
    a, b = summary(utc, as_of, freq), summary(moved, as_of, freq)
    assert a.index.equals(b.index)
    s, t = split(utc, as_of, end, freq), split(moved, as_of.tz_convert(zone), end, freq)
    assert s.index.equals(t.index)
    np.testing.assert_array_equal(s["frequency_holdout"] > 0, t["frequency_holdout"] > 0)


@RULES
@given(
    data=st.data(),
    zone=st.sampled_from(TIMEZONES),
    freq=st.sampled_from(["h", "D", "W", "M", "2W"]),
)
def test_the_same_wall_clock_in_any_zone_gives_the_same_summaries(
    data: st.DataObject, zone: dt.tzinfo, freq: str
) -> None:
    rows = data.draw(log_rows(min_size=1, day_window=SAFE_CLOCK), label="rows")
    lo = min(m for _, m, _ in rows)
    as_of, last = data.draw(cutoffs(lo, 120 * DAY, clock=SAFE_CLOCK), label="as_of")
    end, end_last = data.draw(cutoffs(last + 1, last + 60 * DAY, clock=SAFE_CLOCK))
    naive, aware = frame(rows), frame(rows, tz=zone)
    same(summary(aware, localise(as_of, zone), freq), summary(naive, as_of, freq))
    if freq != "2W":
        assume(period(end_last, freq) > period(last, freq))
        same(
            split(aware, localise(as_of, zone), localise(end, zone), freq),
            split(naive, as_of, end, freq),
        )


@settings(max_examples=25, deadline=None)
@given(
    hours=st.lists(st.integers(0, 300 * 24), min_size=1, max_size=40),
    who=st.data(),
    as_of_day=st.integers(20, 150),
    window_days=st.integers(1, 120),
    later_hours=st.lists(st.integers(1, 2000), min_size=1, max_size=5),
)
def test_tracking_curve_reads_nothing_after_end(hours, who, as_of_day, window_days, later_hours):
    # expected_cumulative_transactions: history at or before as_of, actuals in (as_of, end]
    from crmcore.clv import BetaGeoModel, expected_cumulative_transactions

    model = BetaGeoModel.from_params(r=0.24, alpha=4.4, a=0.79, b=2.4)
    start = pd.Timestamp("2024-01-01")
    ids = who.draw(st.lists(st.sampled_from("abcde"), min_size=len(hours), max_size=len(hours)))
    log = pd.DataFrame({"customer_id": ids, "date": start + pd.to_timedelta(hours, unit="h")})
    as_of = start + pd.Timedelta(days=as_of_day)
    end = as_of + pd.Timedelta(days=window_days)
    assume((log["date"] <= as_of).any())
    kwargs = {"as_of": as_of, "end": end, "freq": "W"}
    want = expected_cumulative_transactions(model, log, **kwargs)
    after = pd.DataFrame(
        {
            "customer_id": who.draw(
                st.lists(
                    st.sampled_from("afz"), min_size=len(later_hours), max_size=len(later_hours)
                )
            ),
            "date": end + pd.to_timedelta(later_hours, unit="h"),
        }
    )
    more = pd.concat([log, after], ignore_index=True)
    pd.testing.assert_frame_equal(expected_cumulative_transactions(model, more, **kwargs), want)
    past = log[log["date"] <= end]
    pd.testing.assert_frame_equal(expected_cumulative_transactions(model, past, **kwargs), want)
