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
    out = forecast(opps, freq="M")
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
    cum = forecast(opps, freq="M", cumulative=True)
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
    out = forecast(opps, freq="M")
    assert list(out.index) == [pd.Period("2026-01", "M")]
    assert out.loc[pd.Period("2026-01", "M"), "best_case"] == pytest.approx(100.0, rel=1e-12)


def test_forecast_by_groups_and_the_old_by_period(opps):
    out = forecast(opps, by="owner")  # by= is grouping now, as in weighted_pipeline
    jan = pd.Period("2026-01", "M")
    assert out.index.names == ["owner", "period"]
    assert out.loc[("ann", jan)].to_dict() == {
        "pipeline": 0.0,
        "best_case": 100.0,
        "commit": 200.0,
        "closed": 0.0,
    }
    assert out.loc[("bob", jan), "closed"] == pytest.approx(300.0, rel=1e-12)
    total = out.groupby(level="period").sum()
    pd.testing.assert_frame_equal(total, forecast(opps), check_names=False)
    with pytest.warns(DeprecationWarning, match="freq='Q'") as caught:
        old = forecast(opps, by="Q")  # a period and no column: the old meaning, for now
    assert caught[0].filename == __file__  # the warning points at the caller
    pd.testing.assert_frame_equal(old, forecast(opps, freq="Q"))
    with pytest.raises(TypeError, match="both"):
        forecast(opps, by="M", freq="Q")
    with pytest.raises(ValidationError, match="freq"):
        forecast(opps, freq="fortnight")


def test_forecast_as_of_and_horizon(opps):
    # As known at the end of 31 December 2025: the three deals created on
    # 1 January 2026 did not exist yet.
    known = forecast(opps, as_of="2025-12-31")
    assert known.to_numpy().sum() == pytest.approx(100.0 + 200.0 + 300.0, rel=1e-12)
    # the future window (as_of, as_of + 1M]: close dates in January only
    window = forecast(opps, as_of="2025-12-31", horizon="1M")
    assert list(window.index) == [pd.Period("2026-01", "M")]
    assert window.loc[pd.Period("2026-01", "M"), "closed"] == pytest.approx(300.0, rel=1e-12)
    # adding or changing deals created after as_of changes nothing
    later = opps.assign(created_at=opps["created_at"] + pd.Timedelta(days=400))
    more = pd.concat([opps, later.assign(amount=1e6)], ignore_index=True)
    pd.testing.assert_frame_equal(forecast(more, as_of="2025-12-31"), known)
    with pytest.raises(ValidationError, match="horizon needs as_of"):
        forecast(opps, horizon="1M")
    with pytest.raises(ValidationError, match="missing column"):
        forecast(opps.drop(columns="created_at"), as_of="2025-12-31")


def test_forecast_reads_date_objects_and_strings(opps):
    as_dates = opps.assign(close_date=[d.date() for d in opps["close_date"]])
    as_text = opps.assign(close_date=opps["close_date"].dt.strftime("%Y-%m-%d"))
    expected = forecast(opps)
    pd.testing.assert_frame_equal(forecast(as_dates), expected)
    pd.testing.assert_frame_equal(forecast(as_text), expected)
    with pytest.raises(ValidationError) as info:
        forecast(opps.assign(close_date=[None, *as_dates["close_date"][1:]]))
    assert (info.value.field, info.value.row) == ("close_date", 0)


def test_win_rate(opps):
    out = win_rate(opps, by="owner")
    assert out.loc["ann", "win_rate"] == pytest.approx(1.0, rel=1e-12)
    assert out.loc["bob", "win_rate"] == pytest.approx(0.5, rel=1e-12)
    assert out.loc["bob", "amount_win_rate"] == pytest.approx(300 / 380, rel=1e-12)


@pytest.mark.parametrize("func", [weighted_pipeline, forecast, win_rate])
def test_amount_col_is_the_deprecated_name_of_value_col(opps, func):
    renamed = opps.rename(columns={"amount": "total"})
    expected = func(renamed, value_col="total")
    pd.testing.assert_frame_equal(expected, func(opps))  # "amount" is the default
    with pytest.warns(DeprecationWarning, match="'amount_col=' is deprecated.*'value_col='") as w:
        old = func(renamed, amount_col="total")
    assert w[0].filename == __file__
    pd.testing.assert_frame_equal(old, expected)
    with pytest.raises(TypeError, match="both"):
        func(renamed, amount_col="total", value_col="total")


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


def test_funnel_and_velocity_as_of_read_the_log_as_it_stood():
    log = random_log(150, 3)
    as_of = ts("2026-01-04 12:00")
    past = log[log["at"] <= as_of]
    future = log[log["at"] > as_of]
    pd.testing.assert_frame_equal(stage_funnel(log, as_of=as_of), stage_funnel(past))
    # changing what happened after as_of changes nothing
    moved = pd.concat([past, future.assign(at=future["at"] + pd.Timedelta(days=30))])
    pd.testing.assert_frame_equal(stage_funnel(moved, as_of=as_of), stage_funnel(log, as_of=as_of))
    velocity = stage_velocity(log, as_of=as_of, unit="h")
    pd.testing.assert_frame_equal(stage_velocity(moved, as_of=as_of, unit="h"), velocity)
    # an event exactly at as_of is history
    edge = log.iloc[[0]].assign(at=as_of)
    assert stage_funnel(edge, as_of=as_of)["reached"].iloc[0] == 1
    with pytest.raises(ValidationError, match="naive"):
        stage_funnel(log, as_of=dt.datetime(2026, 1, 4))  # noqa: DTZ001


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
    assert str(frame["at"].dt.tz) == "UTC"
    # moves in a DST fold keep their instants (and so their order)
    from zoneinfo import ZoneInfo

    paris = ZoneInfo("Europe/Paris")
    first = dt.datetime(2026, 10, 25, 2, 45, tzinfo=paris)  # 00:45Z
    second = dt.datetime(2026, 10, 25, 2, 15, fold=1, tzinfo=paris)  # 01:15Z
    frame = events_frame(
        [
            StageChanged("o1", "prospecting", "proposal", first),
            StageChanged("o1", "proposal", "negotiation", second),
        ]
    )
    assert frame["at"].tolist() == [ts("2026-10-25 00:45"), ts("2026-10-25 01:15")]


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
    # a ticket created after as_of did not exist yet: it is not counted
    later = pd.DataFrame(
        {"id": ["t4"], "created_at": [ts("2026-11-25 09:00")], "priority": ["high"]}
    )
    more = service_kpis(
        pd.concat([tickets, later], ignore_index=True),
        log,
        policy,
        as_of=dt.datetime(2026, 11, 24, 9, tzinfo=UTC),
    )
    pd.testing.assert_frame_equal(more, out)
    # the same instants written in Paris time give the same KPIs
    paris = service_kpis(
        tickets.assign(created_at=tickets["created_at"].dt.tz_convert("Europe/Paris")),
        log.assign(at=log["at"].dt.tz_convert("Europe/Paris")),
        policy,
        as_of=dt.datetime(2026, 11, 24, 10, tzinfo=dt.timezone(dt.timedelta(hours=1))),
    )
    pd.testing.assert_frame_equal(paris, out)
