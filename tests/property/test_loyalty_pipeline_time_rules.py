"""The time rule for loyalty and pipeline, for random logs and cut-offs (hypothesis).

* No leak: every result "as of" a cut-off is the same when events after it are
  added, removed or changed (history is everything at or before ``as_of``; an
  event exactly at ``as_of`` is history).
* Instants: where a result depends on instants only, the same instants written
  in another zone give the same answer.
* Ledger instants through a DST fold: the ledger and ``ledger_balances`` order
  and compare moments by instant and agree with each other.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crmcore.domain import Money
from crmcore.errors import ValidationError
from crmcore.loyalty import (
    EarnRule,
    PointsLedger,
    Program,
    Purchase,
    Redemption,
    Refund,
    Tier,
    churn_rate,
    ledger_balances,
    nps_trend,
    repurchase_rate,
    retention_rate,
)
from crmcore.pipeline import (
    TICKET_WORKFLOW,
    BusinessCalendar,
    SLAPolicy,
    forecast,
    service_kpis,
    sla_report,
    stage_funnel,
)
from tests.strategies import fold_moments, offsets

FAST = settings(max_examples=25, deadline=None)
SLOW = settings(max_examples=12, deadline=None)  # several frames per example
BASE = pd.Timestamp("2026-01-01", tz="UTC")
SPAN = 120 * 86_400  # seconds of history the logs cover
CUT = 80 * 86_400  # as_of, as seconds after BASE
AS_OF = BASE + pd.Timedelta(seconds=CUT)
ZONES = ["Asia/Tokyo", "America/New_York", "Europe/Paris"]


def outcome(call: Any) -> Any:
    """The result, or the kind of refusal (both sides of a property must agree)."""
    try:
        return call()
    except ValidationError as err:
        return ("refused", str(err))


def stamps(seconds: list[int], tz: str = "UTC") -> pd.DatetimeIndex:
    return (BASE + pd.to_timedelta(seconds, unit="s")).tz_convert(tz)


def split(frame: pd.DataFrame, col: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Rows at or before AS_OF (history) and after it (the future)."""
    past = frame[col] <= AS_OF
    return frame[past], frame[~past]


# ---------------------------------------------------------------- transaction logs

rows = st.lists(
    st.tuples(st.sampled_from("abcdef"), offsets(SPAN, also=(CUT, CUT - 7 * 86_400))),
    min_size=1,
    max_size=40,
)
future_rows = st.lists(
    st.tuples(st.sampled_from("abcdefg"), st.integers(CUT + 1, SPAN + 86_400)), max_size=15
)
windows = st.sampled_from(["7D", "30D", "1M", pd.DateOffset(weeks=2)])


def log_of(pairs: list[tuple[str, int]], tz: str = "UTC") -> pd.DataFrame:
    return pd.DataFrame(
        {"customer_id": [c for c, _ in pairs], "date": stamps([s for _, s in pairs], tz)}
    )


@FAST
@given(rows, future_rows, future_rows, windows)
def test_rates_ignore_the_future(history, future, other_future, window):
    past = [r for r in history if r[1] <= CUT]
    for rate in (retention_rate, churn_rate, repurchase_rate):
        expected = outcome(lambda r=rate: r(log_of(past), as_of=AS_OF, window=window))
        for extra in (history + future, past + other_future):
            assert outcome(lambda r=rate, e=extra: r(log_of(e), as_of=AS_OF, window=window)) == (
                expected
            )


@FAST
@given(rows, st.sampled_from(ZONES), st.sampled_from(["7D", "30D"]))
def test_rates_depend_on_instants_only(history, zone, window):
    for rate in (retention_rate, churn_rate, repurchase_rate):
        here = outcome(lambda r=rate: r(log_of(history), as_of=AS_OF, window=window))
        there = outcome(
            lambda r=rate: r(log_of(history, zone), as_of=AS_OF.tz_convert(zone), window=window)
        )
        if isinstance(here, tuple):
            assert isinstance(there, tuple)
            continue
        assert (here.numerator, here.denominator) == (there.numerator, there.denominator)
        assert pd.Timestamp(here.start) == pd.Timestamp(there.start)
        assert pd.Timestamp(here.end) == pd.Timestamp(there.end) == AS_OF


@FAST
@given(
    st.lists(st.tuples(offsets(SPAN, also=(CUT,)), st.integers(0, 10)), min_size=1, max_size=40),
    st.lists(st.tuples(st.integers(CUT + 1, SPAN), st.integers(0, 10)), max_size=10),
    st.sampled_from(["W", "M"]),
)
def test_nps_trend_as_of_ignores_the_future(answers, future, freq):
    def trend(pairs: list[tuple[int, int]]) -> Any:
        frame = pd.DataFrame(
            {"date": stamps([s for s, _ in pairs]), "score": [x for _, x in pairs]}
        )
        return outcome(lambda: nps_trend(frame, freq=freq, as_of=AS_OF, min_n=1))

    past = [a for a in answers if a[0] <= CUT]
    expected = trend(past) if past else ("refused", "")
    got = trend(answers + future)
    if isinstance(expected, tuple):
        assert isinstance(got, tuple)
    else:
        pd.testing.assert_frame_equal(got, expected)


# ---------------------------------------------------------------- points ledger

PROGRAM = Program(
    earn_rules=[EarnRule(name="base", per_unit=1)],
    tiers=[Tier(name="member", points=0), Tier(name="gold", points=300, window=1)],
    expiry=1,
    review_every=1,
    tz="Europe/Paris",
)


@st.composite
def ledger_events(draw: st.DrawFn, moments: list[dt.datetime]) -> PointsLedger:
    """A ledger with one event per moment (purchases, redemptions within the balance,
    refunds of open purchases)."""
    led = PointsLedger(PROGRAM, account_id="m")
    for i, at in enumerate(moments):
        kind = draw(st.sampled_from(["buy", "buy", "redeem", "refund"]))
        if kind == "redeem" and led.balance(at) > 0:
            pts = draw(st.integers(1, led.balance(at)))
            led = led.post(Redemption(event_id=f"r{i}", at=at, points=pts))
            continue
        refunded = {e.order_id for e in led.entries if e.kind == "clawback"}
        open_orders = [e.event_id for e in led.entries if e.kind == "earn"]
        open_orders = [o for o in open_orders if o not in refunded]
        if kind == "refund" and open_orders:
            order = draw(st.sampled_from(open_orders))
            led = led.post(Refund(event_id=f"f{i}", at=at, order_id=order))
            continue
        cents = draw(st.integers(100, 40_000))
        amount = Money(amount=Decimal(cents) / 100, currency="EUR")
        led = led.post(Purchase(event_id=f"o{i}", at=at, amount=amount))
    return led


def summary_row(frame: pd.DataFrame, as_of: Any) -> tuple[Any, ...]:
    out = ledger_balances(frame, as_of=as_of, program=PROGRAM)
    if out.empty:
        return ()
    row = out.loc["m"]
    nxt = None if pd.isna(row["next_expiry"]) else row["next_expiry"].to_pydatetime()
    return (
        int(row["balance"]),
        int(row["debt"]),
        int(row["earned"]),
        int(row["expired"]),
        int(row["clawed_back"]),
        nxt,
        row["tier"],
    )


def ledger_tuple(led: PointsLedger, as_of: Any) -> tuple[Any, ...]:
    s = led.summary(as_of)
    return (s.balance, s.debt, s.earned, s.expired, s.clawed_back, s.next_expiry, s.tier)


@settings(max_examples=20, deadline=None)
@given(st.data(), st.integers(2, 10), st.integers(0, 9))
def test_ledger_and_batch_agree_through_a_dst_fold_and_ignore_the_future(data, n, cut_at):
    moments = data.draw(fold_moments(n))
    led = data.draw(ledger_events(moments))
    frame = led.to_frame()
    as_of = moments[min(cut_at, n - 1)]  # exactly at an event: that event is history
    expected = ledger_tuple(led, as_of)
    assert summary_row(frame, as_of) == expected
    # without the entries after as_of (by instant), nothing changes
    history = frame[frame["at"] <= pd.Timestamp(as_of)]
    if len(history):
        assert summary_row(history, as_of) == expected
    # an account whose entries all come later did not exist at as_of: not listed
    later = frame[frame["at"] > pd.Timestamp(as_of)].assign(account_id="later")
    with_later = pd.concat([frame, later], ignore_index=True)
    pd.testing.assert_frame_equal(
        ledger_balances(with_later, as_of=as_of, program=PROGRAM),
        ledger_balances(history, as_of=as_of, program=PROGRAM),
    )
    # the same instants written on another clock give the same balances
    tokyo = frame.assign(
        at=frame["at"].dt.tz_convert("Asia/Tokyo"),
        expires_at=frame["expires_at"].dt.tz_convert("Asia/Tokyo"),
    )
    assert summary_row(tokyo, as_of.astimezone(dt.UTC)) == expected
    # a rebuilt ledger accepts its entries: they are in instant order
    assert PointsLedger(PROGRAM, account_id="m", entries=led.entries) == led


@settings(max_examples=30, deadline=None)
@given(fold_moments(2), st.integers(1, 500))
def test_an_event_before_the_last_instant_is_refused(moments, points):
    first, second = moments
    if first == second or pd.Timestamp(first) == pd.Timestamp(second):
        return
    amount = Money(amount=Decimal(1000), currency="EUR")
    led = PointsLedger(PROGRAM).post(Purchase(event_id="o1", at=second, amount=amount))
    with pytest.raises(ValidationError, match="earlier than the last entry"):
        led.post(Redemption(event_id="r1", at=first, points=points))


@settings(max_examples=30, deadline=None)
@given(st.integers(0, 3599))
def test_the_repeated_hour_holds_two_different_purchases(second_of_hour):
    paris = PROGRAM.tz
    wall = dt.datetime(2026, 10, 25, 2, tzinfo=paris) + dt.timedelta(seconds=second_of_hour)
    first, second = wall.replace(fold=0), wall.replace(fold=1)  # one hour apart
    amount = Money(amount=Decimal(10), currency="EUR")
    a = Purchase(event_id="o1", at=first, amount=amount)
    b = Purchase(event_id="o1", at=second, amount=amount)
    assert a != b
    led = PointsLedger(PROGRAM).post(a)
    with pytest.raises(ValidationError, match="different content"):
        led.post(b)
    assert led.post(Purchase(event_id="o1", at=first.astimezone(dt.UTC), amount=amount)) is led


# ---------------------------------------------------------------- tickets and SLAs

STAGES = list(TICKET_WORKFLOW.stage_names)
POLICY = SLAPolicy(
    {"high": dt.timedelta(hours=2), "normal": dt.timedelta(hours=8)},
    {"high": dt.timedelta(hours=16), "normal": dt.timedelta(hours=40)},
    BusinessCalendar({d: [("08:00", "18:00")] for d in range(5)}, tz="Europe/Paris"),
)


@st.composite
def service_log(draw: st.DrawFn) -> tuple[pd.DataFrame, pd.DataFrame]:
    n = draw(st.integers(1, 6))
    created = [draw(offsets(CUT, also=(CUT,))) for _ in range(n)]
    tickets = pd.DataFrame(
        {
            "id": [f"t{i}" for i in range(n)],
            "created_at": stamps(created),
            "priority": [draw(st.sampled_from(["high", "normal"])) for _ in range(n)],
        }
    )
    moves = []
    for i, c in enumerate(created):
        at, stage = c, "new"
        for _ in range(draw(st.integers(0, 4))):
            at += draw(st.sampled_from([0, 600, 3600, 86_400, 5 * 86_400]))
            nxt = draw(st.sampled_from(STAGES))
            moves.append((f"t{i}", stage, nxt, at))
            stage = nxt
    events = pd.DataFrame(
        {
            "entity_id": [m[0] for m in moves],
            "from_stage": [m[1] for m in moves],
            "to_stage": [m[2] for m in moves],
            "at": stamps([m[3] for m in moves]),
        }
    )
    return tickets, events


def _changed(future: pd.DataFrame, shift: int) -> pd.DataFrame:
    return future.assign(
        at=future["at"] + pd.Timedelta(seconds=shift),
        to_stage=future["to_stage"].map(lambda s: STAGES[(STAGES.index(s) + 1) % len(STAGES)]),
    )


@SLOW
@given(service_log(), st.integers(1, 10 * 86_400), st.sampled_from(ZONES))
def test_sla_and_service_kpis_ignore_the_future_and_the_zone(log, shift, zone):
    tickets, events = log
    past, future = split(events, "at")
    report = sla_report(tickets, events, POLICY, as_of=AS_OF)
    kpis = service_kpis(tickets, events, POLICY, as_of=AS_OF)
    for other in (past, pd.concat([past, _changed(future, shift)])):
        pd.testing.assert_frame_equal(sla_report(tickets, other, POLICY, as_of=AS_OF), report)
        pd.testing.assert_frame_equal(service_kpis(tickets, other, POLICY, as_of=AS_OF), kpis)
    # a ticket created after as_of is not in the KPIs
    late = tickets.assign(id=tickets["id"] + "-late", created_at=AS_OF + pd.Timedelta(hours=1))
    pd.testing.assert_frame_equal(
        service_kpis(pd.concat([tickets, late]), events, POLICY, as_of=AS_OF), kpis
    )
    # the same instants in another zone
    moved_t = tickets.assign(created_at=tickets["created_at"].dt.tz_convert(zone))
    moved_e = events.assign(at=events["at"].dt.tz_convert(zone))
    as_of = AS_OF.tz_convert(zone)
    pd.testing.assert_frame_equal(sla_report(moved_t, moved_e, POLICY, as_of=as_of), report)
    pd.testing.assert_frame_equal(service_kpis(moved_t, moved_e, POLICY, as_of=as_of), kpis)


# ---------------------------------------------------------------- sales pipeline


@st.composite
def opportunity_table(draw: st.DrawFn) -> pd.DataFrame:
    n = draw(st.integers(1, 12))
    return pd.DataFrame(
        {
            "owner": [draw(st.sampled_from(["ann", "bob"])) for _ in range(n)],
            "stage": [
                draw(st.sampled_from(["prospecting", "proposal", "negotiation", "closed_won"]))
                for _ in range(n)
            ],
            "amount": [float(draw(st.integers(1, 1000))) for _ in range(n)],
            "created_at": stamps([draw(offsets(SPAN, also=(CUT,))) for _ in range(n)]),
            "close_date": stamps([draw(st.integers(0, SPAN + 90 * 86_400)) for _ in range(n)]),
        }
    )


@SLOW
@given(opportunity_table(), opportunity_table(), st.sampled_from(ZONES))
def test_forecast_as_of_ignores_deals_created_later(opps, others, zone):
    known, _ = split(opps, "created_at")
    later = others.assign(created_at=AS_OF + pd.Timedelta(seconds=1))
    for kwargs in ({}, {"horizon": "30D"}, {"by": "owner", "horizon": "1Q"}):
        expected = forecast(opps, as_of=AS_OF, **kwargs)
        for table in (known, pd.concat([opps, later], ignore_index=True)):
            pd.testing.assert_frame_equal(forecast(table, as_of=AS_OF, **kwargs), expected)
    # creation instants in another zone: the same deals existed
    moved = opps.assign(created_at=opps["created_at"].dt.tz_convert(zone))
    pd.testing.assert_frame_equal(
        forecast(moved, as_of=AS_OF.tz_convert(zone)), forecast(opps, as_of=AS_OF)
    )


@st.composite
def stage_log(draw: st.DrawFn) -> pd.DataFrame:
    stages = ["prospecting", "qualification", "proposal", "negotiation", "closed_won"]
    moves = []
    for e in range(draw(st.integers(1, 6))):
        at, stage = draw(offsets(SPAN, also=(CUT,))), "prospecting"
        for _ in range(draw(st.integers(1, 4))):
            nxt = draw(st.sampled_from([s for s in stages if s != stage]))
            moves.append((f"o{e}", stage, nxt, at))
            at += draw(st.sampled_from([0, 3600, 86_400, 20 * 86_400]))
            stage = nxt
            if stage == "closed_won":
                break
    return pd.DataFrame(moves, columns=["entity_id", "from_stage", "to_stage", "at"]).assign(
        at=lambda f: stamps(f["at"].tolist())
    )


@FAST
@given(stage_log(), st.integers(1, 30 * 86_400), st.sampled_from(ZONES))
def test_funnel_as_of_ignores_the_future_and_the_zone(log, shift, zone):
    past, future = split(log, "at")
    expected = stage_funnel(log, as_of=AS_OF)
    pd.testing.assert_frame_equal(stage_funnel(past, as_of=AS_OF), expected)
    moved_future = future.assign(at=future["at"] + pd.Timedelta(seconds=shift))
    pd.testing.assert_frame_equal(
        stage_funnel(pd.concat([past, moved_future]), as_of=AS_OF), expected
    )
    in_zone = log.assign(at=log["at"].dt.tz_convert(zone))
    pd.testing.assert_frame_equal(stage_funnel(in_zone, as_of=AS_OF.tz_convert(zone)), expected)
