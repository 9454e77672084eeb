"""The time rule of docs/time.rst, held for churn by random logs and cut-offs.

* Features read history only: changing, adding or removing events after
  ``as_of`` changes no input of a churn model (the classifier's
  ``customer_features``, the baseline's RFM summary).
* Labels read ``(as_of, as_of + horizon]`` only: events after the window
  change nothing, and an active customer's label is decided by its events in
  the window alone.
* The same instants written in another zone give the same labels.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from crmcore.churn import PAliveBaseline, churn_labels, subscription_churn_labels
from crmcore.segmentation import customer_features
from crmcore.testing.strategies import changed_after, cut_offs, purchase_logs

HORIZONS = st.sampled_from([pd.Timedelta("1D"), pd.Timedelta("30D"), pd.Timedelta("36h")])
LOOKBACKS = st.sampled_from([None, pd.Timedelta("10D"), pd.Timedelta("60D")])
ZONES = st.sampled_from(["Europe/Paris", "Asia/Seoul", "America/Los_Angeles", "Asia/Kathmandu"])
FAR = pd.Timedelta("400D")  # observed_until: every window is covered

fast = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def scenarios(draw: st.DrawFn) -> tuple[pd.DataFrame, object, pd.Timestamp, pd.Timedelta, object]:
    as_of, instant = draw(cut_offs())
    horizon = draw(HORIZONS)
    lookback = draw(LOOKBACKS)
    log = draw(purchase_logs(instant, horizon, lookback))
    return log, as_of, instant, horizon, lookback


def _labels(log: pd.DataFrame, as_of: object, instant: pd.Timestamp, horizon, lookback):
    return churn_labels(
        log, as_of=as_of, horizon=horizon, lookback=lookback, observed_until=instant + FAR
    )


@fast
@given(scenarios(), st.data())
def test_labels_never_read_past_the_window(scenario, data):
    log, as_of, instant, horizon, lookback = scenario
    changed = data.draw(changed_after(log, instant + horizon))
    pd.testing.assert_series_equal(
        _labels(changed, as_of, instant, horizon, lookback),
        _labels(log, as_of, instant, horizon, lookback),
    )


@fast
@given(scenarios(), st.data())
def test_a_label_is_decided_by_the_window_alone(scenario, data):
    log, as_of, instant, horizon, lookback = scenario
    y = _labels(log, as_of, instant, horizon, lookback)
    # by definition: active = an event in (as_of - lookback, as_of]; churned = no
    # event in (as_of, as_of + horizon]
    start = pd.Timestamp.min if lookback is None else instant - lookback
    expected = {}
    for customer, dates in log.groupby("customer_id")["date"]:
        if ((dates > start) & (dates <= instant)).any():
            expected[customer] = int(not ((dates > instant) & (dates <= instant + horizon)).any())
    assert y.to_dict() == expected
    # rewrite the history (at or before as_of) at random: every customer active in
    # both logs keeps its label, which only its window events decide
    history = log["date"] <= instant
    moved = data.draw(st.lists(st.integers(0, 60 * 24 * 60), min_size=len(log), max_size=len(log)))
    rewritten = log.assign(
        date=log["date"].where(~history, instant - pd.to_timedelta(moved, unit="min"))
    )
    y2 = _labels(rewritten, as_of, instant, horizon, lookback)
    both = y.index.intersection(y2.index)
    pd.testing.assert_series_equal(y2.loc[both], y.loc[both])


@fast
@given(scenarios(), st.data())
def test_model_inputs_never_read_after_as_of(scenario, data):
    log, as_of, instant, _, _ = scenario
    changed = data.draw(changed_after(log, instant))
    # the classifier's features, at the cut-off as written and as backtest() hands it over
    for cut in (as_of, instant):
        pd.testing.assert_frame_equal(
            customer_features(changed, as_of=cut, windows=["1D", "30D"]),
            customer_features(log, as_of=cut, windows=["1D", "30D"]),
        )
    base = PAliveBaseline()
    pd.testing.assert_frame_equal(
        base.summarize(changed, as_of=as_of).sort_index(),
        base.summarize(log, as_of=as_of).sort_index(),
    )


@fast
@given(scenarios(), ZONES)
def test_same_instants_in_another_zone_give_the_same_labels(scenario, zone):
    log, _, instant, horizon, lookback = scenario
    utc = log.assign(date=log["date"].dt.tz_localize("UTC"))
    moved = utc.assign(date=utc["date"].dt.tz_convert(zone))
    as_of = instant.tz_localize("UTC").tz_convert(zone)  # the same instant, written in zone
    kw = {"horizon": horizon, "lookback": lookback, "observed_until": as_of + FAR}
    y = churn_labels(utc, as_of=as_of, **kw)
    pd.testing.assert_series_equal(churn_labels(moved, as_of=as_of, **kw), y)
    # and the same as the naive log read as UTC wall clock
    pd.testing.assert_series_equal(y, _labels(log, instant, instant, horizon, lookback))


# ---------------------------------------------------------------- subscriptions


@st.composite
def subscription_tables(draw: st.DrawFn, instant: pd.Timestamp, horizon: pd.Timedelta):
    """Subscriptions whose starts and ends crowd as_of and as_of + horizon."""
    one = pd.Timedelta(1, "ns")
    edges = [instant + k * one for k in (-1, 0, 1)]
    edges += [instant + horizon + k * one for k in (-1, 0, 1)]
    when = st.one_of(
        st.sampled_from(edges),
        st.integers(-60 * 24, 60 * 24).map(lambda m: instant + pd.Timedelta(minutes=m * 60)),
    )
    rows = draw(
        st.lists(
            st.tuples(st.sampled_from("abcde"), when, st.one_of(st.none(), when)),
            min_size=1,
            max_size=15,
        )
    )
    start = [s for _, s, _ in rows]
    end = [None if e is None else max(s, e) for _, s, e in rows]
    return pd.DataFrame(
        {
            "customer_id": [c for c, _, _ in rows],
            "start": pd.DatetimeIndex(start).as_unit("ns"),
            "end": pd.DatetimeIndex(end).as_unit("ns"),
        }
    )


@fast
@given(st.data())
def test_subscription_labels_never_read_past_the_window_and_ignore_zones(data):
    as_of, instant = data.draw(cut_offs())
    horizon = data.draw(HORIZONS)
    subs = data.draw(subscription_tables(instant, horizon))
    y = subscription_churn_labels(subs, as_of=as_of, horizon=horizon)
    t1 = instant + horizon
    # after the window: starts move anywhere later, ends later or open
    later = st.integers(1, 10**6).map(lambda m: t1 + pd.Timedelta(minutes=m))
    start = subs["start"].where(subs["start"] <= t1, [data.draw(later) for _ in range(len(subs))])
    end_after = subs["end"].isna() | (subs["end"] > t1)
    new_end = [
        data.draw(st.one_of(st.none(), later)) if after else e
        for after, e in zip(end_after, subs["end"], strict=True)
    ]
    changed = subs.assign(start=start, end=pd.DatetimeIndex(new_end).as_unit("ns"))
    changed["end"] = changed["end"].where(
        changed["end"].isna() | (changed["end"] >= changed["start"]), changed["start"]
    )
    pd.testing.assert_series_equal(
        subscription_churn_labels(changed, as_of=as_of, horizon=horizon), y
    )
    # by definition: active when a subscription covers as_of (start <= t < end)
    never = pd.Timestamp.max
    ends = subs["end"].fillna(never)
    cover0 = (subs["start"] <= instant) & (ends > instant)
    cover1 = (subs["start"] <= t1) & (ends > t1)
    expected = {
        c: int(not cover1[subs["customer_id"] == c].any())
        for c in sorted(subs.loc[cover0, "customer_id"].unique())
    }
    assert y.to_dict() == expected
    # the same instants in another zone
    zone = data.draw(ZONES)
    aware = subs.assign(
        start=subs["start"].dt.tz_localize("UTC").dt.tz_convert(zone),
        end=subs["end"].dt.tz_localize("UTC").dt.tz_convert(zone),
    )
    at = instant.tz_localize("UTC")
    np.testing.assert_array_equal(
        subscription_churn_labels(aware, as_of=at, horizon=horizon).to_numpy(), y.to_numpy()
    )
