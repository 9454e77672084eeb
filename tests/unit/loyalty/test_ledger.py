"""PointsLedger: idempotency, FIFO burning, expiry, claw-backs and debt, tiers."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from zoneinfo import ZoneInfo

import pandas as pd
import pytest

from crmcore.domain import Money, Order
from crmcore.errors import ValidationError
from crmcore.loyalty import (
    EarnRule,
    LedgerEntry,
    PointsLedger,
    Program,
    Purchase,
    Redemption,
    Refund,
    Tier,
    ledger_balances,
)


def eur(x):
    return Money(amount=x, currency="EUR")


def utc(*args):
    return dt.datetime(*args, tzinfo=dt.UTC)


def buy(eid, at, amount, **kw):
    return Purchase(event_id=eid, at=at, amount=eur(amount), **kw)


@pytest.fixture
def simple():
    return Program(earn_rules=[EarnRule(name="base", per_unit=1)], expiry=2)


def test_post_is_immutable_and_idempotent(simple):
    empty = PointsLedger(simple, account_id="m")
    one = empty.post(buy("o1", utc(2026, 1, 5), "100"))
    assert len(empty) == 0
    assert one.balance() == 100
    again = one.post(buy("o1", utc(2026, 1, 5), "100"))
    assert again is one
    with pytest.raises(ValidationError, match="different content"):
        one.post(buy("o1", utc(2026, 1, 5), "101"))


def test_events_must_come_in_time_order(simple):
    led = PointsLedger(simple).post(buy("o1", utc(2026, 1, 5), "10"))
    with pytest.raises(ValidationError, match="time order"):
        led.post(buy("o2", utc(2026, 1, 4), "10"))


def test_redeem_never_drives_balance_negative(simple):
    led = PointsLedger(simple).post(buy("o1", utc(2026, 1, 5), "50"))
    with pytest.raises(ValidationError, match="balance") as info:
        led.post(Redemption(event_id="r1", at=utc(2026, 1, 6), points=51))
    assert info.value.field == "points"
    led = led.post(Redemption(event_id="r1", at=utc(2026, 1, 6), points=50))
    assert led.balance() == 0


def test_fifo_burning_and_expiry(simple):
    led = PointsLedger(simple).post_many(
        [
            buy("o1", utc(2026, 1, 10), "100"),  # expires 2026-04-01
            buy("o2", utc(2026, 2, 10), "100"),  # expires 2026-05-01
            Redemption(event_id="r1", at=utc(2026, 3, 1), points=30),
        ]
    )
    lots = led.lots()
    assert [(lot.lot_id, lot.remaining) for lot in lots] == [("o1", 70), ("o2", 100)]
    assert led.next_expiry() == (utc(2026, 4, 1), 70)
    just_before = utc(2026, 3, 31, 23, 59, 59)
    assert led.balance(just_before) == 170
    assert led.balance(utc(2026, 4, 1)) == 100  # the oldest lot expired first
    summary = led.summary(utc(2026, 5, 1))
    assert (summary.balance, summary.expired, summary.redeemed) == (0, 170, 30)
    assert summary.next_expiry is None


def test_expiry_applies_before_an_event_at_the_same_instant(simple):
    led = PointsLedger(simple).post(buy("o1", utc(2026, 1, 10), "100"))
    with pytest.raises(ValidationError, match="balance"):
        led.post(Redemption(event_id="r1", at=utc(2026, 4, 1), points=1))


def test_refund_claws_back_spent_points_as_debt_repaid_later(simple):
    led = PointsLedger(simple).post_many(
        [
            buy("o1", utc(2026, 1, 5), "100"),
            buy("o2", utc(2026, 1, 6), "40"),
            Redemption(event_id="r1", at=utc(2026, 1, 7), points=120),
            Refund(event_id="f1", at=utc(2026, 1, 8), order_id="o1"),
        ]
    )
    s = led.summary()
    assert led.entries[-1].points == -100  # exactly what o1 earned
    assert (s.balance, s.debt, s.clawed_back) == (0, 80, 100)
    led = led.post(buy("o3", utc(2026, 1, 9), "50"))
    assert (led.balance(), led.debt()) == (0, 30)
    led = led.post(buy("o4", utc(2026, 1, 10), "50"))
    assert (led.balance(), led.debt()) == (20, 0)
    s = led.summary()
    assert s.balance - s.debt == s.earned - s.redeemed - s.expired - s.clawed_back


def test_refund_does_not_claw_back_points_that_already_expired(simple):
    led = PointsLedger(simple).post_many(
        [
            buy("o1", utc(2026, 1, 5), "100"),
            buy("o2", utc(2026, 3, 5), "30"),
            Refund(event_id="f1", at=utc(2026, 4, 2), order_id="o1"),
        ]
    )
    assert led.entries[-1].points == 0
    assert (led.balance(), led.debt()) == (30, 0)


def test_refund_validation(simple):
    led = PointsLedger(simple).post(buy("o1", utc(2026, 1, 5), "10"))
    with pytest.raises(ValidationError, match="not in this ledger"):
        led.post(Refund(event_id="f1", at=utc(2026, 1, 6), order_id="nope"))
    led = led.post(Refund(event_id="f1", at=utc(2026, 1, 6), order_id="o1"))
    assert led.post(Refund(event_id="f1", at=utc(2026, 1, 6), order_id="o1")) is led
    with pytest.raises(ValidationError, match="already refunded"):
        led.post(Refund(event_id="f2", at=utc(2026, 1, 7), order_id="o1"))


def test_replay_from_entries_gives_the_same_ledger(simple):
    led = PointsLedger(simple, account_id="m").post_many(
        [
            buy("o1", utc(2026, 1, 5), "100"),
            Redemption(event_id="r1", at=utc(2026, 1, 7), points=20),
            Refund(event_id="f1", at=utc(2026, 1, 8), order_id="o1"),
        ]
    )
    rebuilt = PointsLedger(simple, account_id="m", entries=led.entries)
    assert rebuilt == led
    assert rebuilt.summary() == led.summary()


def test_inconsistent_entries_are_refused(simple):
    led = PointsLedger(simple).post(buy("o1", utc(2026, 1, 5), "10"))
    entry = led.entries[0]
    import attrs

    with pytest.raises(ValidationError, match="sequence"):
        PointsLedger(simple, entries=[attrs.evolve(entry, sequence=3)])
    with pytest.raises(ValidationError, match="redeems"):
        PointsLedger(
            simple,
            entries=[
                entry,
                attrs.evolve(entry, sequence=1, event_id="r", kind="redeem", points=-11),
            ],
        )


def test_summary_as_of_in_the_past_replays_a_prefix(simple):
    led = PointsLedger(simple).post_many(
        [buy("o1", utc(2026, 1, 5), "10"), buy("o2", utc(2026, 1, 20), "5")]
    )
    assert led.balance(utc(2026, 1, 10)) == 10
    assert led.balance() == 15
    with pytest.raises(ValidationError, match="timezone-aware"):
        led.balance(dt.datetime(2026, 1, 10))  # noqa: DTZ001


def test_tiers_upgrade_immediately_and_downgrade_at_review():
    prog = Program(
        earn_rules=[
            EarnRule(name="base", per_unit=1),
            EarnRule(name="x2", multiplier=2, tiers="gold"),
        ],
        tiers=[Tier(name="member", points=0), Tier(name="gold", points=100, window=3)],
        review_every=6,
    )
    led = PointsLedger(prog).post(buy("o1", utc(2026, 2, 1), "60"))
    assert led.tier() == "member"
    led = led.post(buy("o2", utc(2026, 2, 2), "50"))  # earned at member rate...
    assert led.entries[-1].points == 50
    assert led.tier() == "gold"  # ...then upgraded at once
    led = led.post(buy("o3", utc(2026, 2, 3), "10"))
    assert led.entries[-1].points == 20  # gold multiplier
    # the window (Feb..Apr) has passed, but there is no downgrade before the review
    assert led.tier(utc(2026, 6, 30)) == "gold"
    assert led.tier(utc(2026, 7, 1)) == "member"  # review on 1 July


def test_review_keeps_a_tier_still_qualified():
    prog = Program(
        earn_rules=[EarnRule(name="base", per_unit=1)],
        tiers=[Tier(name="member", points=0), Tier(name="gold", points=100, window=3)],
        review_every=6,
    )
    led = PointsLedger(prog).post(buy("o1", utc(2026, 5, 20), "150"))
    assert led.tier(utc(2026, 7, 1)) == "gold"  # May is inside the May..June window
    led = led.post(Refund(event_id="f1", at=utc(2026, 6, 1), order_id="o1"))
    assert led.tier(utc(2026, 6, 30)) == "gold"  # no downgrade before the review
    assert led.tier(utc(2026, 7, 1)) == "member"  # refunded orders stop counting


def test_spend_tier_and_order_conversion():
    prog = Program(
        earn_rules=[EarnRule(name="base", per_unit=Decimal("0.5"))],
        tiers=[Tier(name="member", points=0), Tier(name="vip", spend=eur("250.00"))],
    )
    order = Order(id="O-9", customer_id="C-1", placed_at=utc(2026, 3, 1), amount=eur("250.00"))
    led = PointsLedger(prog).post(Purchase.from_order(order))
    assert led.entries[0].event_id == "O-9"
    assert led.entries[0].points == 125
    assert led.entries[0].spend_minor == 25000
    assert led.tier() == "vip"
    cancelled = Order(
        id="O-10",
        customer_id="C-1",
        placed_at=utc(2026, 3, 1),
        amount=eur("5"),
        status="cancelled",
    )
    with pytest.raises(ValidationError, match="only completed"):
        Purchase.from_order(cancelled)


def test_to_frame_and_summary_dict(simple):
    led = PointsLedger(simple, account_id="m").post_many(
        [buy("o1", utc(2026, 1, 5), "10"), Redemption(event_id="r1", at=utc(2026, 1, 6), points=4)]
    )
    frame = led.to_frame()
    assert list(frame.columns) == [
        "account_id",
        "sequence",
        "event_id",
        "kind",
        "at",
        "points",
        "order_id",
        "spend_minor",
        "expires_at",
    ]
    assert frame["points"].tolist() == [10, -4]
    assert str(frame["at"].dt.tz) == "UTC"
    d = led.summary().to_dict()
    assert d["balance"] == 6
    assert d["next_expiry"] == "2026-04-01T00:00:00+00:00"


def test_an_expiry_past_2262_is_refused_not_wrapped(simple):
    # two months after March 2262 is past the nanosecond range; it wrapped to 1677
    late = buy("o1", utc(2262, 3, 1), "10")
    with pytest.raises(ValidationError, match="2262-04-11"):
        PointsLedger(simple).post(late)


def test_event_validation():
    with pytest.raises(ValidationError, match="timezone-aware"):
        Purchase(event_id="o", at=dt.datetime(2026, 1, 1), amount=eur("1"))  # noqa: DTZ001
    with pytest.raises(ValidationError, match="positive"):
        Purchase(event_id="o", at=utc(2026, 1, 1), amount=eur("0"))
    with pytest.raises(ValidationError, match="positive"):
        Redemption(event_id="r", at=utc(2026, 1, 1), points=0)
    with pytest.raises(ValidationError, match="event_id"):
        Redemption(event_id="", at=utc(2026, 1, 1), points=1)
    with pytest.raises(ValidationError, match="order_id"):
        Refund(event_id="f", at=utc(2026, 1, 1), order_id="")


def test_shorthand_methods_and_positional_construction():
    prog = Program([EarnRule("base", per_unit=1)], [Tier("member", points=0)], 3)
    assert prog.expiry == 3
    led = PointsLedger(prog)
    led = led.purchase(eur("30"), at=utc(2026, 1, 5), event_id="o1")
    led = led.redeem(10, at=utc(2026, 1, 6), event_id="r1")
    with pytest.raises(ValidationError, match="balance"):
        led.redeem(21, at=utc(2026, 1, 7), event_id="r2")
    led = led.refund("o1", at=utc(2026, 1, 8), event_id="f1")
    assert (led.balance(), led.debt()) == (0, 10)
    assert [e.kind for e in led.entries] == ["earn", "redeem", "clawback"]


# ---------------------------------------------------------------- instants, not wall clocks
# Europe/Paris falls back from 03:00 CEST to 02:00 CET on 2026-10-25: 02:45 before
# the change (fold=0) is 00:45 UTC, 02:15 after it (fold=1) is 01:15 UTC.
PARIS = ZoneInfo("Europe/Paris")
EARLY = dt.datetime(2026, 10, 25, 2, 45, tzinfo=PARIS)  # 00:45Z
LATE = dt.datetime(2026, 10, 25, 2, 15, fold=1, tzinfo=PARIS)  # 01:15Z


def test_a_redemption_before_the_purchase_in_a_dst_fold_is_refused(simple):
    led = PointsLedger(simple).post(buy("o1", LATE, "100"))
    with pytest.raises(ValidationError, match="earlier than the last entry"):
        led.post(Redemption(event_id="r1", at=EARLY, points=50))
    # posted first, it is above the balance: the points did not exist yet
    with pytest.raises(ValidationError, match="balance"):
        PointsLedger(simple).post(Redemption(event_id="r1", at=EARLY, points=50))
    later = dt.datetime(2026, 10, 25, 2, 45, fold=1, tzinfo=PARIS)  # 01:45Z
    led = led.post(Redemption(event_id="r1", at=later, points=50))
    assert led.balance() == 50
    assert led.balance(as_of=dt.datetime(2026, 10, 25, 2, 30, tzinfo=PARIS)) == 0  # 00:30Z
    assert led.balance(as_of=dt.datetime(2026, 10, 25, 2, 30, fold=1, tzinfo=PARIS)) == 100
    assert led.balance(as_of=dt.datetime(2026, 10, 25, 1, 50, tzinfo=dt.UTC)) == 50


def test_entries_out_of_instant_order_are_refused_by_the_ledger_and_the_batch(simple):
    purchase = PointsLedger(simple, account_id="m").post(buy("o1", LATE, "100")).entries[0]
    redeem = LedgerEntry(sequence=1, event_id="r1", kind="redeem", at=EARLY, points=-50)
    with pytest.raises(ValidationError, match="time order"):
        PointsLedger(simple, account_id="m", entries=[purchase, redeem])
    frame = pd.DataFrame(
        {
            "account_id": ["m", "m"],
            "sequence": [0, 1],
            "kind": ["earn", "redeem"],
            "at": pd.DatetimeIndex([pd.Timestamp(LATE), pd.Timestamp(EARLY)]).tz_convert("UTC"),
            "points": [100, -50],
        }
    )
    with pytest.raises(ValidationError, match="must not decrease") as info:
        ledger_balances(frame, as_of=dt.datetime(2026, 11, 1, tzinfo=dt.UTC))
    assert (info.value.field, info.value.row) == ("at", 1)


def test_two_purchases_an_hour_apart_in_the_fold_are_different_events(simple):
    first = buy("o1", dt.datetime(2026, 10, 25, 2, 15, tzinfo=PARIS), "10")  # 00:15Z
    second = buy("o1", LATE, "10")  # same wall clock, one hour later
    assert first != second
    assert hash(first) != hash(second) or first != second
    led = PointsLedger(simple).post(first)
    with pytest.raises(ValidationError, match="different content"):
        led.post(second)
    # the same instant written in UTC is the same event: posting it again is a no-op
    same = buy("o1", dt.datetime(2026, 10, 25, 0, 15, tzinfo=dt.UTC), "10")
    assert led.post(same) is led


def test_ledger_in_paris_agrees_with_the_batch_through_the_fold():
    prog = Program(
        earn_rules=[EarnRule(name="base", per_unit=1)],
        tiers=[Tier(name="member", points=0), Tier(name="gold", points=150, window=1)],
        expiry=1,
        tz="Europe/Paris",
    )
    led = PointsLedger(prog, account_id="m").post_many(
        [
            buy("o1", dt.datetime(2026, 10, 25, 2, 15, tzinfo=PARIS), "100"),  # 00:15Z
            Redemption(event_id="r1", at=EARLY, points=30),  # 00:45Z
            buy("o2", LATE, "60"),  # 01:15Z
            Refund(
                event_id="f1",
                at=dt.datetime(2026, 10, 25, 2, 30, fold=1, tzinfo=PARIS),
                order_id="o1",
            ),  # 01:30Z
        ]
    )
    frame = led.to_frame()
    assert frame["at"].is_monotonic_increasing
    for as_of in [
        dt.datetime(2026, 10, 25, 2, 50, tzinfo=PARIS),  # 00:50Z: after r1, before o2
        dt.datetime(2026, 10, 25, 2, 20, fold=1, tzinfo=PARIS),  # 01:20Z: after o2
        dt.datetime(2026, 11, 30, 23, 30, tzinfo=dt.UTC),  # 1 Dec 00:30 in Paris: o2 expired
        "2026-11-30",  # the end of 30 November in Paris: o2's lot not yet expired
    ]:
        s = led.summary(as_of)
        row = ledger_balances(frame, as_of=as_of, program=prog).loc["m"]
        assert (int(row["balance"]), int(row["debt"]), int(row["expired"])) == (
            s.balance,
            s.debt,
            s.expired,
        ), as_of
        assert row["tier"] == s.tier, as_of
    assert led.balance(dt.datetime(2026, 10, 25, 0, 50, tzinfo=dt.UTC)) == 70
    # the refund claws back o1's 100 points: its lot's 70, then 30 of o2's 60
    assert led.balance("2026-11-30") == 30
    # o2's lot expires at the start of December in Paris, 23:00 UTC on 30 November
    assert led.balance(dt.datetime(2026, 11, 30, 22, 59, tzinfo=dt.UTC)) == 30
    assert led.balance(dt.datetime(2026, 11, 30, 23, 0, tzinfo=dt.UTC)) == 0
    assert led.summary("2026-11-30").as_of == dt.datetime(
        2026, 11, 30, 23, 59, 59, 999999, tzinfo=PARIS
    )


def test_date_only_as_of_and_naive_as_of(simple):
    led = PointsLedger(simple).post(buy("o1", utc(2026, 1, 5, 18), "10"))
    assert led.balance("2026-01-05") == 10  # the end of that day (UTC)
    assert led.balance(dt.date(2026, 1, 4)) == 0
    with pytest.raises(ValidationError, match="naive"):
        led.balance(dt.datetime(2026, 1, 10))  # noqa: DTZ001
    with pytest.raises(ValidationError, match="as_of"):
        led.balance("soon")
