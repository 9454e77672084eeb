"""Sales and service analytics against straightforward reference computations."""

from __future__ import annotations

import datetime as dt
import itertools
from decimal import Decimal

import numpy as np
import pandas as pd
import pytest

from crmcore.domain import Money
from crmcore.errors import ValidationError
from crmcore.pipeline import (
    OPPORTUNITY_WORKFLOW,
    BusinessCalendar,
    SLAPolicy,
    events_frame,
    forecast,
    sales_cycle_length,
    service_kpis,
    stage_funnel,
    stage_velocity,
    weighted_pipeline,
    win_rate,
)

UTC = dt.UTC
H = dt.timedelta(hours=1)


def ts(s):
    return pd.Timestamp(s, tz="UTC")


@pytest.fixture
def opps():
    return pd.DataFrame(
        {
            "owner": ["ann", "ann", "bob", "bob", "bob", "ann"],
            "stage": [
                "proposal",
                "negotiation",
                "prospecting",
                "closed_won",
                "closed_lost",
                "closed_won",
            ],
            "amount": [100.0, 200.0, 50.0, 300.0, 80.0, 20.0],
            "probability": [50, 90, 10, 100, 0, 100],
            "close_date": pd.to_datetime(
                [
                    "2026-01-15",
                    "2026-01-20",
                    "2026-02-03",
                    "2026-01-05",
                    "2026-02-10",
                    "2026-02-11",
                ]
            ).tz_localize("UTC"),
            "created_at": pd.to_datetime(
                [
                    "2025-12-01",
                    "2025-12-01",
                    "2026-01-01",
                    "2025-12-01",
                    "2026-01-01",
                    "2026-01-01",
                ]
            ).tz_localize("UTC"),
            "closed_at": pd.to_datetime(
                [None, None, None, "2025-12-11", "2026-01-05", "2026-01-21"]
            ).tz_localize("UTC"),
        }
    )


def test_weighted_pipeline(opps):
    out = weighted_pipeline(opps, by="owner")
    # ann: open 100 @ 50 % + 200 @ 90 % = 50 + 180; bob: 50 @ 10 % = 5.
    assert out.loc["ann", "weighted_amount"] == pytest.approx(230.0, rel=1e-12)
    assert out.loc["ann", "amount"] == pytest.approx(300.0, rel=1e-12)
    assert out.loc["bob", "weighted_amount"] == pytest.approx(5.0, rel=1e-12)
    assert out.loc["bob", "count"] == 1
    # Without a probability column, stage defaults: 100*0.5 + 200*0.8 + 50*0.1 = 215.
    total = weighted_pipeline(opps.drop(columns="probability"))
    assert total.loc["total", "weighted_amount"] == pytest.approx(215.0, rel=1e-12)


def test_weighted_pipeline_validation(opps):
    with pytest.raises(ValidationError, match="not a stage"):
        weighted_pipeline(opps.assign(stage="heaven"))
    with pytest.raises(ValidationError, match=r"\[0, 100\]"):
        weighted_pipeline(opps.assign(probability=150))
    with pytest.raises(ValidationError, match="missing column"):
        weighted_pipeline(opps, by="region")


def test_money_amounts_in_mixed_currencies_are_refused():
    usd = Money(amount=Decimal("100"), currency="USD")
    eur = Money(amount=Decimal("50"), currency="EUR")
    same = pd.DataFrame({"stage": ["proposal", "negotiation"], "amount": [usd, usd]})
    out = weighted_pipeline(same)
    assert out.loc["total", "amount"] == pytest.approx(200.0, rel=1e-12)
    mixed = pd.DataFrame({"stage": ["proposal", "negotiation"], "amount": [usd, eur]})
    with pytest.raises(ValidationError, match="mixes currencies") as err:
        weighted_pipeline(mixed)
    assert err.value.field == "amount"
    assert err.value.row == 1


def test_forecast(opps):
    out = forecast(opps, by="M")
    jan, feb = pd.Period("2026-01", "M"), pd.Period("2026-02", "M")
    # Jan: proposal 100 best_case, negotiation 200 commit, won 300 closed.
    assert out.loc[jan].to_dict() == {
        "pipeline": 0.0,
        "best_case": 100.0,
        "commit": 200.0,
        "closed": 300.0,
    }
    # Feb: prospecting 50 pipeline, won 20 closed; the lost deal is omitted.
    assert out.loc[feb].to_dict() == {
        "pipeline": 50.0,
        "best_case": 0.0,
        "commit": 0.0,
        "closed": 20.0,
    }
    cum = forecast(opps, by="M", cumulative=True)
    assert cum.loc[jan].to_dict() == {
        "pipeline": 600.0,
        "best_case": 600.0,
        "commit": 500.0,
        "closed": 300.0,
    }
    with pytest.raises(ValidationError, match="unknown forecast category"):
        forecast(opps, categories=["maybe"])


def test_forecast_buckets_aware_dates_by_their_local_period():
    # 31 January 20:00 in New York is 1 February 01:00 UTC: the deal belongs to
    # January in the sales team's calendar.
    opps = pd.DataFrame(
        {
            "stage": ["proposal"],
            "amount": [100.0],
            "close_date": pd.DatetimeIndex([pd.Timestamp("2026-01-31 20:00")]).tz_localize(
                "America/New_York"
            ),
        }
    )
    out = forecast(opps, by="M")
    assert list(out.index) == [pd.Period("2026-01", "M")]
    assert out.loc[pd.Period("2026-01", "M"), "best_case"] == pytest.approx(100.0, rel=1e-12)


def test_win_rate(opps):
    out = win_rate(opps, by="owner")
    assert out.loc["ann", "win_rate"] == pytest.approx(1.0, rel=1e-12)
    assert out.loc["bob", "win_rate"] == pytest.approx(0.5, rel=1e-12)
    assert out.loc["bob", "amount_win_rate"] == pytest.approx(300 / 380, rel=1e-12)


def test_sales_cycle_length(opps):
    out = sales_cycle_length(opps)
    # Won: 2025-12-01 -> 12-11 (10 d), 2026-01-01 -> 01-21 (20 d).
    assert out.loc["total", "count"] == 2
    assert out.loc["total", "mean"] == pytest.approx(15.0, rel=1e-12)
    every = sales_cycle_length(opps, won_only=False, by="owner", unit="h")
    assert every.loc["bob", "count"] == 2
    assert every.loc["bob", "max"] == pytest.approx(240.0, rel=1e-12)


def random_log(n_entities, seed):
    """A random but legal opportunity history, with a reference funnel/velocity."""
    rng = np.random.default_rng(seed)
    open_stages = ["prospecting", "qualification", "proposal", "negotiation"]
    rows = []
    for e in range(n_entities):
        at = ts("2026-01-01") + pd.Timedelta(hours=int(rng.integers(0, 100)))
        cur = "prospecting"
        for _ in range(int(rng.integers(1, 6))):
            choices = [s for s in [*open_stages, "closed_won", "closed_lost"] if s != cur]
            nxt = choices[int(rng.integers(len(choices)))]
            at = at + pd.Timedelta(hours=int(rng.integers(1, 50)))
            rows.append((f"o{e}", cur, nxt, at))
            cur = nxt
            if cur.startswith("closed"):
                break
    return pd.DataFrame(rows, columns=["entity_id", "from_stage", "to_stage", "at"])


def test_funnel_matches_reference():
    log = random_log(300, 1)
    out = stage_funnel(log)
    seq = {s.name: s.sequence for s in OPPORTUNITY_WORKFLOW.stages}
    expected = {}
    for name in ["prospecting", "qualification", "proposal", "negotiation"]:
        count = 0
        for _, g in log.groupby("entity_id"):
            won = (g["to_stage"] == "closed_won").any()
            visited = set(g["from_stage"]) | set(g["to_stage"])
            best = max(seq[s] for s in visited if not s.startswith("closed"))
            count += won or best >= seq[name]
        expected[name] = count
    expected["closed_won"] = log.loc[log["to_stage"] == "closed_won", "entity_id"].nunique()
    assert out["reached"].to_dict() == expected
    assert out["conversion"].iloc[1] == pytest.approx(
        expected["qualification"] / expected["prospecting"], rel=1e-12
    )


def test_velocity_matches_reference():
    log = random_log(200, 2)
    out = stage_velocity(log, unit="h")
    ref: dict[str, list[float]] = {}
    for _, g in log.sort_values("at").groupby("entity_id"):
        rows = g.to_dict("records")
        for a, b in itertools.pairwise(rows):
            ref.setdefault(a["to_stage"], []).append((b["at"] - a["at"]).total_seconds() / 3600)
    for stage, values in ref.items():
        assert out.loc[stage, "count"] == len(values)
        assert out.loc[stage, "mean"] == pytest.approx(np.mean(values), rel=1e-12)
        assert out.loc[stage, "median"] == pytest.approx(np.median(values), rel=1e-12)
    assert "closed_won" not in out.index


def test_velocity_open_stays_and_working_time():
    log = pd.DataFrame(
        {
            "entity_id": ["a", "a"],
            "from_stage": ["prospecting", "proposal"],
            "to_stage": ["proposal", "negotiation"],
            "at": [ts("2026-11-20 15:00"), ts("2026-11-23 11:00")],  # Fri 15:00 -> Mon 11:00
        }
    )
    cal = BusinessCalendar()
    out = stage_velocity(
        log, unit="h", calendar=cal, as_of=dt.datetime(2026, 11, 23, 12, tzinfo=UTC)
    )
    assert out.loc["proposal", "mean"] == pytest.approx(4.0, rel=1e-12)  # 2 h Fri + 2 h Mon
    assert out.loc["negotiation", "mean"] == pytest.approx(1.0, rel=1e-12)  # open, to as_of


def test_events_frame_roundtrip():
    from crmcore.pipeline import StageChanged

    at = dt.datetime(2026, 1, 5, tzinfo=UTC)
    frame = events_frame([StageChanged("o1", "prospecting", "proposal", at, "ann")])
    assert list(frame.columns) == [
        "entity_id",
        "from_stage",
        "to_stage",
        "at",
        "actor",
        "reason",
        "workflow",
    ]
    assert frame.loc[0, "at"] == pd.Timestamp(at)


def test_service_kpis():
    tickets = pd.DataFrame(
        {
            "id": ["t1", "t2", "t3"],
            "created_at": [ts("2026-11-23 09:00")] * 3,
            "priority": ["high", "high", "normal"],
        }
    )
    log = pd.DataFrame(
        {
            "entity_id": ["t1", "t1", "t2", "t2", "t2", "t3"],
            "from_stage": [
                "new",
                "in_progress",
                "new",
                "waiting_on_customer",
                "in_progress",
                "new",
            ],
            "to_stage": [
                "in_progress",
                "resolved",
                "waiting_on_customer",
                "in_progress",
                "resolved",
                "assigned",
            ],
            "at": [
                ts("2026-11-23 09:30"),
                ts("2026-11-23 11:00"),
                ts("2026-11-23 11:00"),
                ts("2026-11-23 13:00"),
                ts("2026-11-23 20:00"),
                ts("2026-11-23 09:10"),
            ],
        }
    )
    policy = SLAPolicy(
        {"high": H, "normal": 4 * H}, {"high": 8 * H, "normal": 16 * H}, BusinessCalendar()
    )
    out = service_kpis(tickets, log, policy, as_of=dt.datetime(2026, 11, 24, 9, tzinfo=UTC))
    row = out.loc["total"]
    # t1: response 0.5 h (met), resolved after 2 h (met), first-contact resolution.
    # t2: response 2 h (breached), running 09-11 + 13-17 = 6 h (met), was paused: not FCR.
    # t3: no response by Tue 09:00 = 8 h of work > 4 h: breached; still open, 24 h old.
    assert row["tickets"] == 3
    assert row["first_response_hours"] == pytest.approx(1.25, rel=1e-12)
    assert row["resolution_hours"] == pytest.approx(4.0, rel=1e-12)
    assert row["first_response_attainment"] == pytest.approx(1 / 3, rel=1e-12)
    assert row["resolution_attainment"] == pytest.approx(1.0, rel=1e-12)
    assert row["first_contact_resolution"] == pytest.approx(0.5, rel=1e-12)
    assert row["backlog"] == 1
    assert row["backlog_age_hours"] == pytest.approx(24.0, rel=1e-12)
    by = service_kpis(
        tickets, log, policy, as_of=dt.datetime(2026, 11, 24, 9, tzinfo=UTC), by="priority"
    )
    assert by.loc["high", "tickets"] == 2
    assert by.loc["normal", "backlog"] == 1
