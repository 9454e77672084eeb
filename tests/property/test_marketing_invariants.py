"""Marketing invariants: credit sums to value, no leak from after as_of, Wilson coverage.

- every attribution model gives each conversion credits that sum to its value,
  none negative, whatever the touches;
- changing, adding or removing events, orders, touches or conversions after
  ``as_of`` changes no answer (campaign KPIs, attribution, engagement
  features, send-time profiles, audiences);
- control-group assignment does not depend on the other customers or their
  order;
- the Wilson intervals of the campaign rates cover the true rate about as
  often as they claim.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crmcore._stats import wilson_interval, z_value
from crmcore.marketing import (
    MODELS,
    attribute,
    campaign_kpis,
    engagement_features,
    select_audience,
    send_time_profile,
    simulate_engagement,
)
from crmcore.marketing._hashing import stable_uniform

D0 = pd.Timestamp("2024-03-01", tz="UTC")
AS_OF = pd.Timestamp("2024-04-01", tz="UTC")
CHANNELS = ["email", "sms", "push", "search", "social"]


@st.composite
def journeys(draw):
    customers = st.sampled_from(["a", "b", "c", "d"])
    minutes = st.integers(0, 60 * 24 * 45)  # 45 days from D0: some after as_of

    def frame(n, last_col, last_values):
        return pd.DataFrame(
            {
                "customer_id": pd.Series(
                    draw(st.lists(customers, min_size=n, max_size=n)), dtype=object
                ),
                "date": pd.DatetimeIndex(
                    [
                        D0 + pd.Timedelta(minutes=m)
                        for m in draw(st.lists(minutes, min_size=n, max_size=n))
                    ],
                    tz="UTC",
                ),
                last_col: pd.Series(draw(st.lists(last_values, min_size=n, max_size=n))),
            }
        )

    touches = frame(draw(st.integers(0, 40)), "channel", st.sampled_from(CHANNELS))
    conversions = frame(draw(st.integers(1, 12)), "amount", st.floats(0, 1e4, allow_nan=False))
    conversions["amount"] = conversions["amount"].astype(float)
    touches["channel"] = touches["channel"].astype(object)
    return touches, conversions


@given(journeys(), st.sampled_from(MODELS), st.sampled_from(["1D", "7D", "30D"]))
@settings(max_examples=60)
def test_credit_sums_exactly_to_each_conversion_value(data, model, lookback):
    touches, conversions = data
    result = attribute(touches, conversions, model=model, as_of=AS_OF, lookback=lookback)
    kept = conversions[conversions["date"] <= AS_OF]
    sums = result.credits.groupby("conversion")["credit"].sum().reindex(kept.index)
    np.testing.assert_allclose(sums.to_numpy(), kept["amount"].to_numpy(), rtol=1e-12, atol=1e-9)
    assert (result.credits["credit"] >= 0).all()
    assert result.n_conversions == len(kept)


@given(journeys(), st.sampled_from(MODELS), st.integers(0, 2**32 - 1))
@settings(max_examples=40)
def test_attribution_does_not_see_after_as_of(data, model, seed):
    touches, conversions = data
    before = attribute(touches, conversions, model=model, as_of=AS_OF)
    rng = np.random.default_rng(seed)
    t_after = touches["date"] > AS_OF
    c_after = conversions["date"] > AS_OF
    touches2 = touches.copy()
    touches2.loc[t_after, "channel"] = rng.choice(CHANNELS, t_after.sum())
    conversions2 = conversions.copy()
    conversions2.loc[c_after, "amount"] = rng.random(c_after.sum()) * 100
    extra = pd.DataFrame(
        {
            "customer_id": ["a", "zz"],
            "date": [AS_OF + pd.Timedelta("1s")] * 2,
            "channel": ["sms"] * 2,
        }
    )
    after = attribute(
        pd.concat([touches2, extra], ignore_index=True), conversions2, model=model, as_of=AS_OF
    )
    pd.testing.assert_frame_equal(before.credits, after.credits)


SIM = simulate_engagement(400, n_campaigns=4, random_state=21)
CUT = pd.Timestamp("2024-08-15 12:00", tz="UTC")


def _scramble(frame, seed):
    """Change everything after CUT: drop some rows, move others, add new ones."""
    rng = np.random.default_rng(seed)
    late = frame["date"] > CUT
    out = frame.loc[~late | (rng.random(len(frame)) < 0.5)].copy()
    moved = out["date"] > CUT
    out.loc[moved, "date"] = out.loc[moved, "date"] + pd.to_timedelta(
        rng.integers(1, 86400, moved.sum()), unit="s"
    )
    extra = frame.loc[late].head(20).copy()
    extra["date"] = CUT + pd.Timedelta("1s")
    out = pd.concat([out, extra], ignore_index=True)
    if "event_id" in out.columns:
        out["event_id"] = np.arange(len(out))
    if "amount" in out.columns:
        out.loc[out["date"] > CUT, "amount"] = rng.random((out["date"] > CUT).sum()) * 500
    return out


@given(st.integers(0, 2**32 - 1))
@settings(max_examples=8)
def test_kpis_features_and_send_times_do_not_see_after_as_of(seed):
    events2 = _scramble(SIM.events, seed)
    orders2 = _scramble(SIM.orders, seed + 1)
    kw = {"as_of": CUT, "conversion_window": "7D", "campaigns": SIM.campaigns}
    pd.testing.assert_frame_equal(
        campaign_kpis(SIM.events, SIM.orders, SIM.members, **kw),
        campaign_kpis(events2, orders2, SIM.members, **kw),
    )
    pd.testing.assert_frame_equal(
        engagement_features(SIM.events, as_of=CUT), engagement_features(events2, as_of=CUT)
    )
    a = send_time_profile(SIM.events, as_of=CUT)
    b = send_time_profile(events2, as_of=CUT)
    assert a.prior_strength == b.prior_strength
    assert (a.counts != b.counts).nnz == 0


@given(st.integers(0, 2**32 - 1))
@settings(max_examples=10)
def test_audiences_do_not_see_consents_after_as_of(seed):
    rng = np.random.default_rng(seed)
    consents = SIM.consents.copy()
    late = consents["date"] > CUT
    consents.loc[late, "granted"] = rng.random(late.sum()) < 0.5
    kw = {"channel": "email", "as_of": CUT, "random_state": 3, "control_fraction": 0.2}
    a = select_audience(SIM.customers, consents=SIM.consents, **kw)
    b = select_audience(SIM.customers, consents=consents, **kw)
    pd.testing.assert_frame_equal(a.members, b.members)


@given(
    st.lists(st.text(min_size=1, max_size=12), min_size=1, max_size=40, unique=True),
    st.randoms(use_true_random=False),
    st.text(max_size=8),
)
def test_control_assignment_depends_on_nothing_but_salt_and_id(ids, rnd, salt):
    u = dict(zip(ids, stable_uniform(np.array(ids, dtype=object), salt), strict=True))
    shuffled = list(ids)
    rnd.shuffle(shuffled)
    subset = shuffled[: max(1, len(shuffled) // 2)]
    for i, v in zip(subset, stable_uniform(np.array(subset, dtype=object), salt), strict=True):
        assert v == u[i]


@pytest.mark.parametrize("n", [20, 100, 1000])
@pytest.mark.parametrize("p", [0.02, 0.1, 0.5])
def test_wilson_intervals_cover_the_rate(n, p):
    # 4,000 binomial samples per cell; Monte-Carlo SE of the coverage ~0.0035
    rng = np.random.default_rng(n * 1000 + int(p * 100))
    k = rng.binomial(n, p, 4000).astype(float)
    low, high = wilson_interval(k, np.full(k.size, float(n)), z_value(0.95))
    coverage = np.mean((low <= p) & (p <= high))
    assert 0.92 <= coverage <= 0.985
