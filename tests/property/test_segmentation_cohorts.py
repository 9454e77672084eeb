"""Property tests for cohort_retention and segment_summary against pandas references."""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from crmcore.segmentation import cohort_retention, segment_summary

PROPS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
AS_OF = pd.Timestamp("2024-06-30")


@st.composite
def logs(draw):
    n = draw(st.integers(1, 40))
    ids = draw(st.lists(st.integers(0, 6), min_size=n, max_size=n))
    days = draw(st.lists(st.integers(-200, 20), min_size=n, max_size=n))
    days[0] = min(days[0], 0)
    amounts = draw(st.lists(st.integers(1, 50), min_size=n, max_size=n))
    return pd.DataFrame(
        {
            "customer_id": ids,
            "date": AS_OF + pd.to_timedelta(days, unit="D"),
            "amount": np.asarray(amounts, dtype=float),
        }
    )


def check_against_groupby(tx: pd.DataFrame, freq: str, as_of: pd.Timestamp) -> None:
    res = cohort_retention(tx, freq=freq, as_of=as_of)
    seen = tx[tx["date"] <= as_of].copy()
    seen["p"] = seen["date"].dt.to_period(freq)
    first = seen.groupby("customer_id")["p"].min().rename("cohort")
    seen = seen.join(first, on="customer_id")
    seen["k"] = (seen["p"] - seen["cohort"]).map(lambda off: off.n)
    active = seen.drop_duplicates(["customer_id", "k"]).groupby(["cohort", "k"]).size()
    sizes = first.value_counts().sort_index()
    assert res.cohort_sizes.tolist() == sizes.tolist()
    assert [str(c) for c in res.cohort_sizes.index] == [str(c) for c in sizes.index]
    last = as_of.to_period(freq)
    for (cohort, k), count in active.items():
        assert int(res.counts.loc[cohort, k]) == count
    assert int(res.counts.sum().sum()) == int(active.sum())
    observed = res.counts.notna().to_numpy()
    for i, cohort in enumerate(res.counts.index):
        n_obs = (last - cohort).n + 1
        assert observed[i, :n_obs].all()
        assert not observed[i, n_obs:].any()
    shares = res.shares.to_numpy()
    assert np.all((shares[observed] >= 0) & (shares[observed] <= 1))
    np.testing.assert_allclose(shares[:, 0], 1.0, rtol=1e-12)
    # revenue adds up to the total spent on or before as_of
    assert res.revenue is not None
    np.testing.assert_allclose(np.nansum(res.revenue.to_numpy()), seen["amount"].sum(), rtol=1e-9)


@PROPS
@given(logs(), st.sampled_from(["D", "W", "M", "Q"]))
def test_cohort_counts_match_groupby_reference(tx, freq):
    check_against_groupby(tx, freq, AS_OF)


@PROPS
@given(
    st.lists(st.sampled_from(["a", "b", "c"]), min_size=1, max_size=30).flatmap(
        lambda labels: st.tuples(
            st.just(labels),
            st.lists(st.integers(0, 100), min_size=len(labels), max_size=len(labels)),
        )
    )
)
def test_segment_summary_matches_groupby(data):
    labels, values = data
    frame = pd.DataFrame({"seg": labels, "v": np.asarray(values, dtype=float)})
    out = segment_summary(frame, by="seg", value_cols="v")
    ref = frame.groupby("seg")["v"].agg(["size", "sum", "mean"])
    assert out.index.tolist() == ref.index.tolist()
    np.testing.assert_array_equal(out["size"], ref["size"])
    np.testing.assert_allclose(out["v_total"], ref["sum"], rtol=1e-12)
    np.testing.assert_allclose(out["v_mean"], ref["mean"], rtol=1e-12)
    np.testing.assert_allclose(out["share"].sum(), 1.0, rtol=1e-12)
