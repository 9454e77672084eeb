"""Properties of the survey metrics: bounds, order invariance, grouped = single."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crmcore.loyalty import csat, nps, nps_by
from crmcore.testing.strategies import nps_answers


@settings(max_examples=60, deadline=None)
@given(nps_answers(), st.floats(0.5, 0.999))
def test_nps_bounds(scores, confidence):
    r = nps(scores, confidence=confidence)
    assert -100 <= r.ci_low <= r.ci_high <= 100
    assert -100 <= r.score <= 100
    assert r.promoters + r.passives + r.detractors == r.n == len(scores)
    assert r.standard_error >= 0
    assert r.ci_low < r.ci_high  # the adjusted interval never collapses


@settings(max_examples=40, deadline=None)
@given(nps_answers(min_size=2), st.randoms(use_true_random=False))
def test_nps_order_invariant(scores, rnd):
    shuffled = list(scores)
    rnd.shuffle(shuffled)
    assert nps(shuffled) == nps(scores)


@settings(max_examples=30, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 4), st.integers(0, 10)), min_size=1, max_size=150))
def test_nps_by_equals_nps_of_each_group(rows):
    frame = pd.DataFrame(rows, columns=["g", "score"])
    table = nps_by(frame, "g", "score", min_n=5)
    assert table["n"].sum() == len(frame)
    for _, row in table.iterrows():
        ref = nps(frame.loc[frame["g"] == row["g"], "score"])
        assert row["nps"] == pytest.approx(ref.score, abs=1e-9)
        assert row["ci_low"] == pytest.approx(ref.ci_low, abs=1e-9)
        assert bool(row["below_min_n"]) == (ref.n < 5)


@settings(max_examples=40, deadline=None)
@given(st.lists(st.integers(1, 5), min_size=1, max_size=100))
def test_csat_bounds(scores):
    r = csat(scores)
    assert 0 <= r.ci_low <= r.score <= r.ci_high <= 100
    assert 1 <= r.mean <= 5
    assert np.isfinite(r.standard_error)
