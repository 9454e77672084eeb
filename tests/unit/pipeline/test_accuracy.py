"""Pipeline snapshots from the stage log, forecast accuracy and the pipeline waterfall."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from crmcore.errors import ValidationError
from crmcore.pipeline import (
    MOVEMENTS,
    forecast_accuracy,
    pipeline_changes,
    pipeline_snapshot,
)


def utc(values):
    return pd.to_datetime(values, format="ISO8601").tz_localize("UTC")


OPPS = pd.DataFrame(
    {
        "id": ["o1", "o2", "o3", "o4", "o5"],
        "owner": ["ann", "ann", "bob", "bob", "bob"],
        "created_at": utc(["2026-01-05", "2026-01-10", "2026-02-01", "2026-03-20", "2026-04-15"]),
        "amount": [100.0, 200.0, 300.0, 40.0, 70.0],
        "close_date": pd.to_datetime(
            ["2026-05-15", "2026-06-30", "2026-07-20", "2026-04-30", "2026-06-01"]
        ),
    }
)
LOG = pd.DataFrame(
    {
        "entity_id": ["o1", "o2", "o3", "o1", "o2", "o4", "o3", "o5", "o4"],
        "to_stage": [
            "negotiation",
            "proposal",
            "negotiation",
            "negotiation",
            "negotiation",
            "negotiation",
            "closed_won",
            "closed_won",
            "closed_lost",
        ],
        "at": utc(
            [
                "2026-02-01",
                "2026-02-02",
                "2026-03-01",
                "2026-04-05",
                "2026-04-06",
                "2026-03-25",
                "2026-05-01",
                "2026-05-20",
                "2026-06-10",
            ]
        ),
        # value a change set (missing: unchanged)
        "amount": [120.0, np.nan, np.nan, 150.0, np.nan, np.nan, 280.0, np.nan, np.nan],
        "close_date": pd.to_datetime(
            [None, None, "2026-05-30", None, "2026-07-15", None, None, None, None]
        ),
    }
)


def test_snapshot_reads_the_log_as_it_stood():
    snap = pipeline_snapshot(LOG, OPPS, as_of="2026-03-31")
    assert snap.index.tolist() == ["o1", "o2", "o3", "o4"]  # o5 did not exist yet
    assert snap["stage"].tolist() == ["negotiation", "proposal", "negotiation", "negotiation"]
    assert snap["forecast_category"].tolist() == ["commit", "best_case", "commit", "commit"]
    # o1's amount set to 120 on 1 Feb (150 only in April); o3's close moved to 30 May in March
    assert snap["amount"].tolist() == [120.0, 200.0, 300.0, 40.0]
    assert snap.loc["o3", "close_date"] == pd.Timestamp("2026-05-30")
    assert snap.loc["o2", "close_date"] == pd.Timestamp("2026-06-30")
    assert snap.loc["o4", "last_change_at"] == pd.Timestamp("2026-03-25", tz="UTC")
    first = pipeline_snapshot(LOG, OPPS, as_of="2026-01-31")
    assert first["stage"].tolist() == ["prospecting", "prospecting"]  # no move yet: initial
    assert first["last_change_at"].isna().all()


def test_snapshot_reads_a_store_shaped_log():
    # what store.events.stage_history() and JSON payload columns give: string
    # columns, microsecond instants, ISO date text, extra columns
    stored = pd.DataFrame(
        {
            "entity_id": pd.array(LOG["entity_id"], dtype="string"),
            "from_stage": pd.array(["prospecting"] * len(LOG), dtype="string"),
            "to_stage": pd.array(LOG["to_stage"], dtype="string"),
            "at": LOG["at"].astype("datetime64[us, UTC]"),
            "actor": pd.array([None] * len(LOG), dtype="string"),
            "amount": LOG["amount"],
            "close_date": pd.array(
                [None if pd.isna(d) else d.date().isoformat() for d in LOG["close_date"]],
                dtype="string",
            ),
        }
    )
    for as_of in ("2026-01-31", "2026-03-31", "2026-06-30"):
        pd.testing.assert_frame_equal(
            pipeline_snapshot(stored, OPPS, as_of=as_of),
            pipeline_snapshot(LOG, OPPS, as_of=as_of),
            check_index_type=False,
        )


def test_snapshot_ignores_everything_after_as_of():
    base = pipeline_snapshot(LOG, OPPS, as_of="2026-03-31")
    later = pd.concat(
        [
            LOG,
            pd.DataFrame(
                {
                    "entity_id": ["o1", "o2"],
                    "to_stage": ["closed_lost", "closed_won"],
                    "at": utc(["2026-04-01", "2026-03-31 23:59:59.999999999"]),
                    "amount": [1.0, 2.0],
                }
            ),
        ],
        ignore_index=True,
    )
    changed = pipeline_snapshot(later, OPPS, as_of="2026-03-31")
    assert changed.loc["o1"].equals(base.loc["o1"])
    assert changed.loc["o2", "stage"] == "closed_won"  # exactly at as_of: history


def test_forecast_accuracy_by_owner_and_quarter():
    acc = forecast_accuracy(LOG, OPPS, as_of=["2026-03-31", "2026-06-30"], by="owner")
    d = acc.detail.droplevel("as_of")
    # As of 31 March, Q2: ann commit o1 120 (close 15 May); best case adds o2 200 (30 Jun);
    # bob commit o3 300 (close moved to 30 May) + o4 40. Won in Q2: ann none, bob o3 280, o5 70.
    q2 = d.xs(pd.Period("2026Q2"), level="period")
    assert q2.loc["ann", ["closed", "commit", "best_case", "actual"]].tolist() == [0, 120, 320, 0]
    assert q2.loc["bob", ["closed", "commit", "best_case", "actual"]].tolist() == [
        0,
        340,
        340,
        350,
    ]
    # As of 30 June, Q3: ann o1 (150, close still 15 May: not in Q3), o2 commit 200 (15 Jul)
    q3 = d.xs(pd.Period("2026Q3"), level="period")
    assert q3.loc["ann", ["commit", "actual"]].tolist() == [200.0, 0.0]
    assert q3.loc["bob", ["commit", "actual"]].tolist() == [0.0, 0.0]
    s = acc.summary
    assert s.loc["ann", "periods"] == 2
    assert np.isnan(s.loc["ann", "commit_bias"])  # nothing won: bias undefined
    assert s.loc["bob", "commit_bias"] == pytest.approx((340 - 350) / 350, rel=1e-12)
    assert s.loc["bob", "commit_mape"] == pytest.approx(10 / 350, rel=1e-12)  # Q3 (A = 0) left out
    # within 10 %: bob Q2 hit (|340-350| <= 35), Q3 hit (0 forecast, 0 won)
    assert s.loc["bob", "commit_hit_rate"] == 1.0
    assert s.loc["ann", "commit_hit_rate"] == 0.0
    total = forecast_accuracy(LOG, OPPS, as_of=["2026-03-31"])
    assert total.detail["commit"].tolist() == [460.0]
    assert total.summary.index.tolist() == ["total"]


def test_forecast_made_mid_period_counts_deals_already_won():
    acc = forecast_accuracy(LOG, OPPS, as_of=["2026-05-10"], by="owner")
    d = acc.detail.droplevel(["period", "as_of"])
    assert d.loc["bob", "closed"] == 280.0  # o3 won on 1 May
    # plus o4, still in negotiation: its close date (30 April) has passed but lies in Q2
    assert d.loc["bob", "commit"] == 280.0 + 40.0


def test_waterfall_reconciles_and_classifies():
    ch = pipeline_changes(LOG, OPPS, start="2026-03-31", end="2026-06-30", closing_in="2026Q2")
    amount, count = ch["amount"], ch["count"]
    assert ch.index.tolist() == list(MOVEMENTS)
    # start: o1 120, o2 200, o3 300 (close 30 May), o4 40 -> 660
    assert amount["start"] == 660.0
    assert count["start"] == 4
    assert amount["new"] == 70.0  # o5 created and won in the window (close 1 June)
    assert amount["slipped"] == -200.0  # o2 moved to 15 July
    assert amount["amount_increased"] == 30.0  # o1 120 -> 150
    assert amount["amount_decreased"] == -20.0  # o3 300 -> 280 at its win
    assert amount["won"] == -(280.0 + 70.0)
    assert amount["lost"] == -40.0
    assert amount["end"] == 150.0  # o1 still open, closing 15 May
    body = amount.drop(["start", "end"]).sum()
    assert amount["start"] + body == pytest.approx(amount["end"], rel=1e-12)


def test_waterfall_without_a_period_and_by_owner():
    ch = pipeline_changes(LOG, OPPS, start="2026-03-31", end="2026-06-30", by="owner")
    assert ch.loc[("ann", "slipped"), "count"] == 1  # o2's close moved later, still open
    assert ch.loc[("ann", "slipped"), "amount"] == 0.0
    for owner in ("ann", "bob"):
        rows = ch.loc[owner, "amount"]
        assert rows["start"] + rows.drop(["start", "end"]).sum() == pytest.approx(
            rows["end"], rel=1e-12
        )


def test_bad_input_is_refused():
    with pytest.raises(ValidationError, match="not in opportunities"):
        pipeline_snapshot(LOG, OPPS.iloc[1:], as_of="2026-03-31")
    with pytest.raises(ValidationError, match="appears twice"):
        pipeline_snapshot(LOG, pd.concat([OPPS, OPPS.iloc[:1]]), as_of="2026-03-31")
    with pytest.raises(ValidationError, match="before start"):
        pipeline_changes(LOG, OPPS, start="2026-06-30", end="2026-03-31")
    with pytest.raises(ValidationError, match="closing_in must be a pandas Period"):
        pipeline_changes(LOG, OPPS, start="2026-03-31", end="2026-06-30", closing_in="soon")
    with pytest.raises(ValidationError, match="at least one"):
        forecast_accuracy(LOG, OPPS, as_of=[])
    with pytest.raises(ValidationError, match="timezone-aware"):
        pipeline_snapshot(LOG, OPPS, as_of=pd.Timestamp("2026-03-31 12:00"))


@pytest.mark.parametrize("dtype", [object, "str"])
def test_text_columns_in_arrow_or_as_python_objects_read_alike(dtype):
    log = LOG.astype({"entity_id": dtype, "to_stage": dtype})
    opps = OPPS.astype({"id": dtype})
    got = pipeline_snapshot(log, opps, as_of="2026-03-31")
    pd.testing.assert_frame_equal(
        got, pipeline_snapshot(LOG, OPPS, as_of="2026-03-31"), check_index_type=False
    )
    unknown = log.copy()
    unknown.loc[3, "entity_id"] = "o9"
    with pytest.raises(ValidationError, match=r"'o9'.*not in opportunities"):
        pipeline_snapshot(unknown, opps, as_of="2026-03-31")
    missing = log.copy()
    missing.loc[3, "entity_id"] = None
    with pytest.raises(ValidationError, match="not in opportunities"):
        pipeline_snapshot(missing, opps, as_of="2026-03-31")
    bad = log.copy()
    bad.loc[2, "to_stage"] = "won"
    with pytest.raises(ValidationError, match=r"to_stage 'won' \(row 2\) is not a stage"):
        pipeline_snapshot(bad, opps, as_of="2026-03-31")
