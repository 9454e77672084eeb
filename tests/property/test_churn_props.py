"""Invariants of the Kaplan–Meier table and of the gains table."""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from crmcore.churn import gains_table, kaplan_meier, lift_curve, score_metrics

survival_data = st.integers(min_value=1, max_value=40).flatmap(
    lambda n: st.tuples(
        st.lists(st.integers(0, 12), min_size=n, max_size=n),
        st.lists(st.booleans(), min_size=n, max_size=n),
        st.lists(st.integers(1, 4), min_size=n, max_size=n),
    )
)

scored_data = st.integers(min_value=2, max_value=60).flatmap(
    lambda n: st.tuples(
        st.lists(st.integers(0, 1), min_size=n, max_size=n).filter(lambda y: 0 < sum(y) < n),
        st.lists(st.integers(0, 5).map(lambda k: k / 5), min_size=n, max_size=n),
        st.integers(1, 12),
    )
)


@settings(max_examples=60, deadline=None)
@given(survival_data)
def test_km_is_a_bounded_nonincreasing_curve_inside_its_band(data):
    d, o, _ = data
    km = kaplan_meier(d, o)
    s = km["survival"].to_numpy()
    assert ((s >= 0) & (s <= 1)).all()
    assert (np.diff(s) <= 1e-15).all()
    assert (km["ci_low"].to_numpy() <= s + 1e-12).all()
    assert (km["ci_high"].to_numpy() >= s - 1e-12).all()
    assert ((km["ci_low"] >= 0) & (km["ci_high"] <= 1)).all()
    assert (km["events"] <= km["at_risk"]).all()
    assert km["events"].sum() == sum(o)


@settings(max_examples=60, deadline=None)
@given(survival_data, st.randoms(use_true_random=False))
def test_km_reordering_changes_nothing_and_weights_equal_expansion(data, rnd):
    d, o, w = data
    base = kaplan_meier(d, o, weights=w)
    perm = list(range(len(d)))
    rnd.shuffle(perm)
    shuffled = kaplan_meier(
        [d[i] for i in perm], [o[i] for i in perm], weights=[w[i] for i in perm]
    )
    pd.testing.assert_frame_equal(base, shuffled, rtol=1e-12)
    expanded = kaplan_meier(np.repeat(d, w), np.repeat(o, w))
    pd.testing.assert_frame_equal(base, expanded, rtol=1e-10)


@settings(max_examples=60, deadline=None)
@given(scored_data, st.randoms(use_true_random=False))
def test_gains_invariants(data, rnd):
    y, s, bins = data
    g = gains_table(y, s, bins=bins)
    assert len(g) <= bins
    assert g["n"].sum() == len(y)
    assert g["positives"].sum() == sum(y)
    np.testing.assert_allclose(g["cumulative_capture"].iloc[-1], 1.0, rtol=1e-12)
    assert (np.diff(g["cumulative_capture"]) >= -1e-15).all()
    perm = list(range(len(y)))
    rnd.shuffle(perm)
    g2 = gains_table([y[i] for i in perm], [s[i] for i in perm], bins=bins)
    pd.testing.assert_frame_equal(g, g2)
    c = lift_curve(y, s)
    assert (np.diff(c["capture"]) >= 0).all()
    m = score_metrics(y, s)
    assert 0 <= m["capture_top"] <= 1
    assert 0 <= m["roc_auc"] <= 1
