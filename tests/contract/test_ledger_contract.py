"""Loyalty-ledger contract: entries stored once per idempotency key; balances as computed."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import attrs
import pandas as pd
import pytest

from crmcore.domain import LedgerEntryPosted, LoyaltyAccount, Money
from crmcore.errors import ValidationError
from crmcore.loyalty import (
    EarnRule,
    PointsLedger,
    Program,
    Purchase,
    Redemption,
    Refund,
    Tier,
    ledger_balances,
)

UTC = dt.UTC
START = dt.datetime(2026, 1, 1, 10, tzinfo=UTC)
PROGRAM = Program(
    earn_rules=[
        EarnRule(name="base", per_unit=Decimal(1)),
        EarnRule(name="gold bonus", multiplier=2, tiers="gold"),
    ],
    tiers=[Tier(name="member", points=0), Tier(name="gold", points=300, window=6)],
    expiry=3,
)


def day(n: float) -> dt.datetime:
    return START + dt.timedelta(days=n)


def eur(amount: str) -> Money:
    return Money(amount=Decimal(amount), currency="EUR")


def ledgers() -> dict[str, PointsLedger]:
    a = PointsLedger(PROGRAM, account_id="m1").post_many(
        [
            Purchase(event_id="O-1", at=day(1), amount=eur("120.50")),
            Purchase(event_id="O-2", at=day(20), amount=eur("250")),
            Redemption(event_id="R-1", at=day(30), points=200),
            Refund(event_id="F-1", at=day(40), order_id="O-1"),
            Purchase(event_id="O-3", at=day(130), amount=eur("40")),
        ]
    )
    b = PointsLedger(PROGRAM, account_id="m2").post_many(
        [
            Purchase(event_id="O-1", at=day(2), amount=eur("10")),  # same key, another ledger
            Redemption(event_id="R-1", at=day(3), points=5),
        ]
    )
    return {"m1": a, "m2": b}


def test_entries_round_trip(store):
    books = ledgers()
    for account, ledger in books.items():
        assert store.loyalty_ledger.append(account, ledger.entries) == len(ledger.entries)
    for account, ledger in books.items():
        assert store.loyalty_ledger.entries(account) == ledger.entries
        assert store.loyalty_ledger.count(account) == len(ledger.entries)
    assert store.loyalty_ledger.count() == 7
    assert store.loyalty_ledger.entries("nobody") == ()


def test_posting_again_is_a_no_op(store):
    ledger = ledgers()["m1"]
    store.loyalty_ledger.append("m1", ledger.entries[:2])
    assert store.loyalty_ledger.append("m1", ledger.entries) == 3  # the first two: stored
    assert store.loyalty_ledger.append("m1", ledger.entries) == 0
    assert store.loyalty_ledger.entries("m1") == ledger.entries
    assert store.events.count(type=LedgerEntryPosted) == 5  # one event per entry, once


def test_a_different_entry_under_a_stored_key_is_refused_and_nothing_is_stored(store):
    ledger = ledgers()["m1"]
    store.loyalty_ledger.append("m1", ledger.entries[:2])
    changed = attrs.evolve(ledger.entries[1], points=999)
    with pytest.raises(ValidationError, match="O-2") as info:
        store.loyalty_ledger.append("m1", [ledger.entries[2], changed])
    assert info.value.field == "event_id"
    stolen = attrs.evolve(ledger.entries[2], sequence=0)  # a new key on a taken sequence
    with pytest.raises(ValidationError, match="sequence 0"):
        store.loyalty_ledger.append("m1", [stolen])
    assert store.loyalty_ledger.entries("m1") == ledger.entries[:2]
    assert store.events.count() == 2


def test_keys_repeated_within_one_append_are_refused(store):
    entries = ledgers()["m1"].entries
    with pytest.raises(ValidationError, match="twice"):
        store.loyalty_ledger.append("m1", [entries[0], entries[0]])
    with pytest.raises(ValidationError, match="LedgerEntry"):
        store.loyalty_ledger.append("m1", [object()])
    assert store.loyalty_ledger.count() == 0


def test_balances_equal_ledger_balances_on_the_same_entries(store):
    books = ledgers()
    for account, ledger in books.items():
        store.loyalty_ledger.append(account, ledger.entries)
    expected_frame = pd.concat([books["m1"].to_frame(), books["m2"].to_frame()], ignore_index=True)
    for as_of in (day(5), day(35), day(200)):
        got = store.loyalty_ledger.balances(as_of=as_of, program=PROGRAM)
        want = ledger_balances(expected_frame, as_of=as_of, program=PROGRAM)
        pd.testing.assert_frame_equal(got, want, check_index_type=False)
        summary = books["m1"].summary(as_of)
        assert int(got.loc["m1", "balance"]) == summary.balance
        assert int(got.loc["m1", "debt"]) == summary.debt
        assert got.loc["m1", "tier"] == summary.tier
    one = store.loyalty_ledger.balances(as_of=day(200), program=PROGRAM, account_id="m2")
    assert one.index.tolist() == ["m2"]


def test_to_frame_is_the_ledger_format(store):
    ledger = ledgers()["m1"]
    store.loyalty_ledger.append("m1", ledger.entries)
    got = store.loyalty_ledger.to_frame()
    want = ledger.to_frame()
    assert list(got.columns) == list(want.columns)
    for column in ("sequence", "event_id", "kind", "points", "spend_minor"):
        assert got[column].tolist() == want[column].tolist()
    assert (got["at"] == want["at"]).all()
    assert got["expires_at"].isna().tolist() == want["expires_at"].isna().tolist()
    assert (got["expires_at"].dropna() == want["expires_at"].dropna()).all()


def test_the_ledger_rebuilds(store):
    ledger = ledgers()["m1"]
    store.loyalty_ledger.append("m1", ledger.entries)
    rebuilt = store.loyalty_ledger.ledger("m1", PROGRAM)
    assert rebuilt == ledger
    assert rebuilt.summary(day(200)) == ledger.summary(day(200))


def test_each_new_entry_is_recorded_as_an_event(store):
    ledger = ledgers()["m1"]
    store.loyalty_ledger.append("m1", ledger.entries, actor="pos")
    events = [s.event for s in store.events.query(entity="m1")]
    assert [e.event_id for e in events] == [e.event_id for e in ledger.entries]
    assert all(isinstance(e, LedgerEntryPosted) and e.actor == "pos" for e in events)
    assert [e.points for e in events] == [e.points for e in ledger.entries]
    again = PointsLedger(PROGRAM, account_id="m1").post_many(
        [Purchase(event_id="O-1", at=day(1), amount=eur("120.50"))]
    )
    assert store.loyalty_ledger.append("m1", again.entries) == 0
    assert store.events.count() == len(ledger.entries)


def test_a_unit_of_work_stores_entries_with_the_account_or_neither(store):
    ledger = ledgers()["m2"]
    member = LoyaltyAccount(id="m2", customer_id="c1", program_id="stars", opened_at=day(0))
    with store.unit_of_work() as uow:
        uow.loyalty_accounts.add(member)
        assert uow.loyalty_ledger.append("m2", ledger.entries) == 2
        assert uow.loyalty_ledger.entries("m2") == ledger.entries  # reads its own writes
        assert store.loyalty_ledger.count() == 0
    assert store.loyalty_accounts.count() == 0
    assert store.loyalty_ledger.count() == 0
    assert store.events.count() == 0
    with store.unit_of_work() as uow:
        uow.loyalty_accounts.add(member)
        uow.loyalty_ledger.append("m2", ledger.entries)
        assert uow.loyalty_ledger.append("m2", ledger.entries) == 0
        uow.commit()
    assert store.loyalty_ledger.entries("m2") == ledger.entries
    assert store.events.count(type=LedgerEntryPosted) == 2
