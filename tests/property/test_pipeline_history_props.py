"""Stage-log snapshots (hypothesis): a plain replay, no look-ahead, the waterfall adds up."""

from __future__ import annotations

import hypothesis.strategies as st
import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings

from crmcore.pipeline import (
    OPPORTUNITY_WORKFLOW,
    forecast_accuracy,
    pipeline_changes,
    pipeline_snapshot,
)

STAGES = list(OPPORTUNITY_WORKFLOW.stage_names)
T0 = pd.Timestamp("2026-01-01", tz="UTC")


@st.composite
def books(draw):
    n = draw(st.integers(1, 6))
    opps = pd.DataFrame(
        {
            "id": [f"o{i}" for i in range(n)],
            "owner": draw(st.lists(st.sampled_from(["ann", "bob"]), min_size=n, max_size=n)),
            "created_at": [
                T0 + pd.Timedelta(days=d)
                for d in draw(st.lists(st.integers(0, 200), min_size=n, max_size=n))
            ],
            "amount": draw(st.lists(st.integers(1, 9), min_size=n, max_size=n)),
            "close_date": [
                pd.Timestamp("2026-01-01") + pd.Timedelta(days=d)
                for d in draw(st.lists(st.integers(0, 365), min_size=n, max_size=n))
            ],
        }
    )
    opps["amount"] = opps["amount"].astype(float) * 10
    m = draw(st.integers(0, 20))
    rows = {
        "entity_id": draw(st.lists(st.sampled_from(list(opps["id"])), min_size=m, max_size=m)),
        "to_stage": draw(st.lists(st.sampled_from(STAGES), min_size=m, max_size=m)),
        # whole hours: ties in time happen, within and across opportunities
        "at": [
            T0 + pd.Timedelta(hours=h)
            for h in draw(st.lists(st.integers(0, 24 * 300), min_size=m, max_size=m))
        ],
        "amount": [
            np.nan if v is None else float(v)
            for v in draw(
                st.lists(st.one_of(st.none(), st.integers(1, 9)), min_size=m, max_size=m)
            )
        ],
        "close_date": [
            pd.NaT if v is None else pd.Timestamp("2026-01-01") + pd.Timedelta(days=v)
            for v in draw(
                st.lists(st.one_of(st.none(), st.integers(0, 365)), min_size=m, max_size=m)
            )
        ],
    }
    log = pd.DataFrame(rows)
    log["at"] = pd.to_datetime(log["at"], utc=True)
    log["close_date"] = pd.to_datetime(log["close_date"])
    return opps, log


def reference_snapshot(opps, log, t):
    """Replay each opportunity's events at or before ``t`` in time order (ties: log order)."""
    out = {}
    for _, o in opps.iterrows():
        if o["created_at"] > t:
            continue
        ev = log[(log["entity_id"] == o["id"]) & (log["at"] <= t)]
        ev = ev.iloc[np.argsort(ev["at"].to_numpy(), kind="stable")]
        stage, amount, close = "prospecting", o["amount"], o["close_date"]
        for _, e in ev.iterrows():
            stage = e["to_stage"]
            if not np.isnan(e["amount"]):
                amount = e["amount"]
            if not pd.isna(e["close_date"]):
                close = e["close_date"]
        out[o["id"]] = (stage, amount, close)
    return out


CUTS = st.integers(-24, 24 * 320).map(lambda h: T0 + pd.Timedelta(hours=h))


@pytest.mark.slow
@settings(max_examples=120)
@given(books(), CUTS)
def test_snapshot_equals_a_plain_replay(book, t):
    opps, log = book
    snap = pipeline_snapshot(log, opps, as_of=t)
    want = reference_snapshot(opps, log, t)
    assert list(snap.index) == list(want)
    got = {
        i: (r.stage, r.amount, r.close_date)
        for i, r in zip(snap.index, snap.itertuples(), strict=True)
    }
    assert got == want


@pytest.mark.slow
@settings(max_examples=80)
@given(books(), CUTS, st.data())
def test_no_event_after_as_of_is_read(book, t, data):
    opps, log = book
    before = pipeline_snapshot(log, opps, as_of=t)
    later = log[log["at"] > t]
    scrambled = log.copy()
    if len(later):  # change every later event, and add some
        idx = later.index
        scrambled.loc[idx, "to_stage"] = data.draw(
            st.lists(st.sampled_from(STAGES), min_size=len(idx), max_size=len(idx))
        )
        scrambled.loc[idx, "amount"] = 1234.0
    extra = pd.DataFrame(
        {
            "entity_id": list(opps["id"]),
            "to_stage": "closed_won",
            "at": t + pd.Timedelta(microseconds=1),
            "amount": 99.0,
            "close_date": pd.Timestamp("2030-01-01"),
        }
    )
    scrambled = pd.concat([scrambled, extra], ignore_index=True)
    after = pipeline_snapshot(scrambled, opps, as_of=t)
    pd.testing.assert_frame_equal(before, after)
    acc_before = forecast_accuracy(log, opps, as_of=[t], freq="M", by="owner").detail
    acc_after = forecast_accuracy(scrambled, opps, as_of=[t], freq="M", by="owner").detail
    cols = ["closed", "commit", "best_case", "pipeline"]  # the forecast, not the actual
    pd.testing.assert_frame_equal(acc_before[cols], acc_after[cols])


@pytest.mark.slow
@settings(max_examples=120)
@given(books(), CUTS, CUTS, st.sampled_from([None, "2026Q1", "2026Q2", "2026-07"]))
def test_waterfall_adds_up(book, a, b, period):
    opps, log = book
    start, end = min(a, b), max(a, b)
    for by in (None, "owner"):
        ch = pipeline_changes(log, opps, start=start, end=end, closing_in=period, by=by)
        groups = [ch] if by is None else [ch.loc[g] for g in ch.index.get_level_values(0).unique()]
        for rows in groups:
            amount = rows["amount"]
            assert amount["start"] + amount.drop(["start", "end"]).sum() == pytest.approx(
                amount["end"], rel=1e-9, abs=1e-9
            )
            assert (rows["count"] >= 0).all()
    total = pipeline_changes(log, opps, start=start, end=end, closing_in=period)
    snap = pipeline_snapshot(log, opps, as_of=end)
    open_end = snap[snap["is_open"]]
    if period is not None:
        p = pd.Period(period)
        open_end = open_end[
            (open_end["close_date"] >= p.start_time) & (open_end["close_date"] <= p.end_time)
        ]
    assert total.loc["end", "amount"] == pytest.approx(open_end["amount"].sum(), rel=1e-12)
    assert total.loc["end", "count"] == len(open_end)
