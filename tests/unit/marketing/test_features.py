"""Engagement features: windows, recency, streaks, bands; joins and models downstream."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from crmcore.errors import ValidationError
from crmcore.marketing import BANDS, engagement_features, simulate_engagement
from crmcore.pipeline import LeadScorer
from crmcore.segmentation import customer_features

AS_OF = pd.Timestamp("2024-05-31 23:59:59", tz="UTC")


def frame(rows):
    return pd.DataFrame(
        [{"customer_id": c, "type": t, "date": pd.Timestamp(d, tz="UTC")} for c, t, d in rows]
    )


EVENTS = frame(
    [
        ("a", "send", "2024-05-01 08:00"),
        ("a", "deliver", "2024-05-01 08:01"),
        ("a", "open", "2024-05-01 08:01:05"),  # 4 s after delivery: machine
        ("a", "open", "2024-05-10 19:00"),
        ("a", "click", "2024-05-10 19:01"),
        ("a", "deliver", "2024-05-20 08:00"),
        ("a", "deliver", "2024-05-27 08:00"),
        ("a", "cart_abandon", "2024-05-29 10:00"),
        ("b", "send", "2024-05-20 08:00"),  # no delivery receipts: sends count
        ("b", "send", "2024-05-27 08:00"),
        ("b", "unsubscribe", "2024-05-27 12:00"),
        ("c", "app_usage", "2024-01-03 10:00"),
        ("c", "app_usage", "2024-06-03 10:00"),  # after as_of
    ]
)


def test_counts_recency_streak_and_band_by_hand():
    f = engagement_features(EVENTS, as_of=AS_OF, windows=["7D", "30D"])
    assert list(f.index) == ["a", "b", "c"]
    assert f.index.name == "customer_id"
    a, b, c = f.loc["a"], f.loc["b"], f.loc["c"]
    # the send of 05-01 08:00 is 30 days and 16 hours old: outside the 30-day window
    assert (a["opens_30d"], a["opens_7d"], a["clicks_30d"], a["sends_30d"]) == (1, 0, 1, 0)
    assert a["cart_abandons_7d"] == 1
    assert a["non_open_streak"] == 2
    assert a["days_since_last_open"] == pytest.approx(
        (AS_OF - pd.Timestamp("2024-05-10 19:00", tz="UTC")) / pd.Timedelta("1D"), rel=1e-12
    )
    assert a["engagement_band"] == "lapsing"  # clicked 21 days ago; an abandoned cart is no act
    assert b["non_open_streak"] == 2
    assert bool(b["unsubscribed"])
    assert np.isnan(b["days_since_last_open"])
    assert b["engagement_band"] == "never_engaged"
    assert c["app_sessions_30d"] == 0
    assert c["engagement_band"] == "dormant"
    assert list(f["engagement_band"].cat.categories) == list(BANDS)
    assert f["engagement_band"].cat.ordered


def test_joins_customer_features_on_the_same_index():
    sim = simulate_engagement(800, n_campaigns=4, random_state=4)
    base = customer_features(sim.orders, as_of=AS_OF)
    eng = engagement_features(sim.events, as_of=AS_OF, customers=base.index)
    assert eng.index.equals(base.index)
    joined = base.join(eng)
    assert len(joined) == len(base)
    assert joined["opens_90d"].dtype == np.int64
    assert joined["engagement_band"].notna().all()


def test_customers_without_events_get_zeros_and_never_engaged():
    f = engagement_features(EVENTS, as_of=AS_OF, customers=["zz", "a"])
    assert list(f.index) == ["zz", "a"]
    assert f.loc["zz", "opens_90d"] == 0
    assert f.loc["zz", "non_open_streak"] == 0
    assert f.loc["zz", "engagement_band"] == "never_engaged"
    assert not f.loc["zz", "unsubscribed"]
    assert np.isnan(f.loc["zz", "days_since_first_event"])


def test_the_band_feeds_the_lead_scorer():
    f = engagement_features(EVENTS, as_of=AS_OF)
    leads = pd.DataFrame(
        {"band": f["engagement_band"].astype(str).tolist() * 4, "won": [1, 0, 0] * 4}
    )
    scorer = LeadScorer(features=("band",), stage_col=None).fit(leads)
    p = scorer.predict_proba(pd.DataFrame({"band": ["active", "never_engaged"]}))[:, 1]
    assert p[0] > p[1]


@pytest.mark.parametrize(
    ("kw", "match"),
    [
        ({"windows": []}, "at least one"),
        ({"windows": ["30D", "720h"]}, "given twice"),
        ({"windows": ["1500ms"]}, "whole number of seconds"),
        ({"windows": [30]}, "windows"),
        ({"as_of": None}, "as_of is required"),
    ],
)
def test_bad_arguments(kw, match):
    args = {"as_of": AS_OF, **kw}
    with pytest.raises(ValidationError, match=match):
        engagement_features(EVENTS, **args)
