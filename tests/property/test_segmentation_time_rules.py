"""The time rule holds for segmentation, for random logs and cut-offs.

- **No leak.** ``customer_features``, ``rfm_scores`` built on them and
  ``cohort_retention`` give the same answer when events after ``as_of`` are
  added, removed or changed (dates, amounts, customers), for an instant
  ``as_of`` and for a date-only one (which ends its day in the data's zone),
  on naive and on timezone-aware logs.
- **Zones.** Windows and durations are instants: the same purchases written
  in another zone give the same ``customer_features``. Cohorts are calendar
  periods and follow the zone by design: they equal the cohorts of the
  naive wall-clock log of that zone. A date-only ``as_of`` is the last
  instant of that day in the data's zone.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from crmcore.segmentation import cohort_retention, customer_features, rfm_scores

PROPS = settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])

NS_PER_DAY = 86_400 * 10**9
BASE = pd.Timestamp("2024-03-01").value  # nanoseconds, 2024-03-01 00:00 UTC
# fixed offsets, DST zones (north and south) and a 45-minute offset
ZONES = ["UTC", "Europe/Paris", "America/New_York", "Australia/Sydney", "Asia/Kathmandu"]
WINDOWS = ("1D", "7D", "30D", "90D")


def _stamps(ns: list[int], zone: str | None) -> pd.Series:
    utc = pd.Series(pd.to_datetime(np.asarray(ns, dtype=np.int64), unit="ns", utc=True))
    return utc.dt.tz_convert(zone) if zone is not None else utc.dt.tz_localize(None)


@st.composite
def cases(draw: Any, *, zones: list[str | None]) -> dict[str, Any]:
    """A log, a cut-off and two different sets of events after it."""
    zone = draw(st.sampled_from(zones))
    date_only = draw(st.booleans())
    cut_ns = BASE + draw(st.integers(-20 * NS_PER_DAY, 20 * NS_PER_DAY))
    if date_only:
        # the day of cut_ns on the data's wall clock, as_of = that date
        wall = _stamps([cut_ns], zone).dt.tz_localize(None).iloc[0]
        day = wall.normalize()
        as_of: Any = day.date().isoformat()
        end = day + pd.Timedelta(days=1)
        end = end.tz_localize(zone) if zone is not None else end
        last_ns = int(end.value) - 1  # the last nanosecond of that day
    else:
        as_of = _stamps([cut_ns], zone).iloc[0]
        last_ns = cut_ns
    n = draw(st.integers(1, 25))
    past = draw(
        st.lists(
            st.one_of(st.just(0), st.integers(0, 300 * NS_PER_DAY), st.integers(0, 10**9)),
            min_size=n,
            max_size=n,
        )
    )
    ids = st.sampled_from(["a", "b", "c", "d", "e"])
    later = st.one_of(st.just(1), st.integers(1, 10**9), st.integers(1, 400 * NS_PER_DAY))

    def events(k: int) -> pd.DataFrame:
        ns = [last_ns + d for d in draw(st.lists(later, min_size=k, max_size=k))]
        return pd.DataFrame(
            {
                "customer_id": draw(st.lists(ids | st.just("f"), min_size=k, max_size=k)),
                "date": _stamps(ns, zone),
                "amount": np.asarray(
                    draw(st.lists(st.integers(-5, 90), min_size=k, max_size=k)), dtype=float
                ),
            }
        )

    log = pd.DataFrame(
        {
            "customer_id": draw(st.lists(ids, min_size=n, max_size=n)),
            # at or before the cut-off; 0 is exactly at it
            "date": _stamps([last_ns - d for d in past], zone),
            "amount": np.asarray(
                draw(st.lists(st.integers(-5, 90), min_size=n, max_size=n)), dtype=float
            ),
        }
    )
    future_a = events(draw(st.integers(1, 10)))
    future_b = events(draw(st.integers(1, 10)))
    seed = draw(st.integers(0, 2**16))
    return {
        "zone": zone,
        "as_of": as_of,
        "last_ns": last_ns,
        "log": log,
        "with_a": _shuffle(pd.concat([log, future_a], ignore_index=True), seed),
        "with_b": _shuffle(pd.concat([log, future_b], ignore_index=True), seed + 1),
    }


def same_table(a: pd.DataFrame | None, b: pd.DataFrame | None) -> None:
    """Equal labels and cells (NaN / NA equal to NaN / NA); a cohort table may be wide."""
    assert a is not None
    assert b is not None
    assert a.index.equals(b.index)
    assert a.columns.equals(b.columns)
    assert list(a.dtypes) == list(b.dtypes)
    np.testing.assert_array_equal(
        a.to_numpy(dtype=float, na_value=np.nan), b.to_numpy(dtype=float, na_value=np.nan)
    )


def _shuffle(frame: pd.DataFrame, seed: int) -> pd.DataFrame:
    """Interleave the future rows with the past ones (and renumber the index)."""
    order = np.random.default_rng(seed).permutation(len(frame))
    return frame.iloc[order].reset_index(drop=True)


ALL_ZONES: list[str | None] = [None, *ZONES]


@PROPS
@given(cases(zones=ALL_ZONES))
def test_features_and_rfm_scores_do_not_see_after_as_of(case):
    as_of = case["as_of"]
    alone = customer_features(case["log"], as_of=as_of, windows=WINDOWS)
    for key in ("with_a", "with_b"):  # added, then changed (another set), or removed
        other = customer_features(case[key], as_of=as_of, windows=WINDOWS)
        pd.testing.assert_frame_equal(other, alone)
        pd.testing.assert_frame_equal(rfm_scores(other), rfm_scores(alone))
    # every purchase counted is at or before the cut-off, the one at it included
    assert int(alone["n_purchases"].sum()) == len(case["log"])
    assert (alone["days_since_last_purchase"] >= 0).all()


@PROPS
@given(cases(zones=ALL_ZONES), st.sampled_from(["D", "W", "M", "Q"]))
def test_cohorts_do_not_see_after_as_of(case, freq):
    as_of = case["as_of"]
    alone = cohort_retention(case["log"], freq=freq, as_of=as_of)
    for key in ("with_a", "with_b"):
        other = cohort_retention(case[key], freq=freq, as_of=as_of)
        same_table(other.counts, alone.counts)
        same_table(other.shares, alone.shares)
        same_table(other.revenue, alone.revenue)
        pd.testing.assert_series_equal(other.cohort_sizes, alone.cohort_sizes)


def _in_zone(frame: pd.DataFrame, zone: str) -> pd.DataFrame:
    return frame.assign(date=frame["date"].dt.tz_convert(zone))


@PROPS
@given(cases(zones=["UTC"]), st.sampled_from(ZONES))
def test_the_same_instants_in_another_zone_give_the_same_features(case, zone):
    log = case["with_a"]
    as_of = pd.Timestamp(case["last_ns"], tz="UTC")  # an instant: the same in every zone
    here = customer_features(log, as_of=as_of, windows=WINDOWS)
    there = customer_features(_in_zone(log, zone), as_of=as_of.tz_convert(zone), windows=WINDOWS)
    for col in ("first_purchase", "last_purchase"):
        assert str(there[col].dt.tz) == zone
        pd.testing.assert_series_equal(there[col].dt.tz_convert("UTC"), here[col])
    numbers = [c for c in here.columns if c not in ("first_purchase", "last_purchase")]
    pd.testing.assert_frame_equal(there[numbers], here[numbers])


@PROPS
@given(cases(zones=["UTC"]), st.sampled_from(ZONES), st.sampled_from(["D", "W", "M"]))
def test_cohorts_follow_the_wall_clock_of_the_data_zone(case, zone, freq):
    log = _in_zone(case["with_a"], zone)
    as_of = pd.Timestamp(case["last_ns"], tz="UTC").tz_convert(zone)
    aware = cohort_retention(log, freq=freq, as_of=as_of)
    wall = cohort_retention(
        log.assign(date=log["date"].dt.tz_localize(None)),
        freq=freq,
        as_of=as_of.tz_localize(None),
    )
    same_table(aware.counts, wall.counts)
    same_table(aware.shares, wall.shares)
    same_table(aware.revenue, wall.revenue)


@PROPS
@given(cases(zones=ALL_ZONES))
def test_a_date_only_as_of_is_the_last_instant_of_its_day(case):
    assume(isinstance(case["as_of"], str))
    log, zone = case["with_a"], case["zone"]
    end = pd.Timestamp(case["last_ns"], tz="UTC")
    end = end.tz_convert(zone) if zone is not None else end.tz_localize(None)
    by_date = customer_features(log, as_of=case["as_of"], windows=WINDOWS)
    by_instant = customer_features(log, as_of=end, windows=WINDOWS)
    counts = [c for c in by_date.columns if c == "n_purchases" or c.startswith("purchases_")]
    pd.testing.assert_frame_equal(by_date[counts], by_instant[counts])
    # durations run to the end of the day: one nanosecond after the last instant
    for col in ("tenure_days", "days_since_last_purchase"):
        np.testing.assert_allclose(
            by_date[col], by_instant[col] + 1 / NS_PER_DAY, rtol=1e-12, atol=1e-12
        )
