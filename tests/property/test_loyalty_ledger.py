"""Stateful properties of PointsLedger (hypothesis RuleBasedStateMachine).

Invariants checked after every step: the balance equals earned - redeemed -
expired - clawed back (net of debt), is never negative, never coexists with
debt, equals the sum of live lots; lots expire in FIFO order and only the
oldest live lot can be partly burned; rebuilding from the entries gives the
same ledger. Rules also replay the posted events with duplicates inserted
anywhere after their first posting (same ledger) and compare the vectorised
``ledger_balances`` with the ledger.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pandas as pd
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
)

from crmcore.domain import Money
from crmcore.errors import ValidationError
from crmcore.loyalty import PointsLedger, Purchase, Redemption, Refund, ledger_balances
from crmcore.testing.strategies import loyalty_programs

START = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)


class LedgerMachine(RuleBasedStateMachine):
    @initialize(program=loyalty_programs())
    def setup(self, program):
        self.program = program
        self.ledger = PointsLedger(program, account_id="m")
        self.now = START
        self.posted = []
        self.n = 0

    def _post(self, event):
        self.ledger = self.ledger.post(event)
        self.posted.append(event)
        self.n += 1

    @rule(days=st.integers(0, 70), hours=st.integers(0, 23))
    def wait(self, days, hours):
        self.now += dt.timedelta(days=days, hours=hours)

    @rule(cents=st.integers(1, 60_000))
    def purchase(self, cents):
        amount = Money(amount=Decimal(cents) / 100, currency="EUR")
        self._post(Purchase(event_id=f"o{self.n}", at=self.now, amount=amount))

    @rule(share=st.floats(0.01, 1.0))
    def redeem(self, share):
        balance = self.ledger.balance(self.now)
        if balance == 0:
            return
        self._post(
            Redemption(event_id=f"r{self.n}", at=self.now, points=max(1, int(balance * share)))
        )

    @rule(extra=st.integers(1, 1000))
    def redeem_too_much(self, extra):
        before = self.ledger
        points = self.ledger.balance(self.now) + extra
        try:
            self.ledger.post(Redemption(event_id="too-much", at=self.now, points=points))
        except ValidationError:
            pass
        else:
            raise AssertionError("a redemption above the balance was accepted")
        assert self.ledger is before

    @rule(data=st.data())
    def refund(self, data):
        refunded = {e.order_id for e in self.ledger.entries if e.kind == "clawback"}
        open_orders = [
            e.event_id
            for e in self.ledger.entries
            if e.kind == "earn" and e.event_id not in refunded
        ]
        if not open_orders:
            return
        order = data.draw(st.sampled_from(open_orders))
        earned = next(e.points for e in self.ledger.entries if e.event_id == order)
        self._post(Refund(event_id=f"f{self.n}", at=self.now, order_id=order))
        clawed = -self.ledger.entries[-1].points
        assert 0 <= clawed <= earned
        if self.program.expiry is None:
            assert clawed == earned  # exactly what the order earned

    @precondition(lambda self: self.posted)
    @rule(data=st.data())
    def post_duplicate_now(self, data):
        event = data.draw(st.sampled_from(self.posted))
        assert self.ledger.post(event) is self.ledger

    @precondition(lambda self: self.posted)
    @rule(data=st.data())
    def replay_with_duplicates(self, data):
        stream = list(self.posted)
        for _ in range(data.draw(st.integers(1, 5))):
            i = data.draw(st.integers(0, len(self.posted) - 1))
            j = data.draw(st.integers(stream.index(self.posted[i]) + 1, len(stream)))
            stream.insert(j, self.posted[i])
        replayed = PointsLedger(self.program, account_id="m").post_many(stream)
        assert replayed == self.ledger
        assert replayed.summary(self.now) == self.ledger.summary(self.now)

    @precondition(lambda self: self.posted)
    @rule()
    def batch_agrees(self):
        out = ledger_balances(self.ledger.to_frame(), as_of=self.now, program=self.program)
        s = self.ledger.summary(self.now)
        row = out.loc["m"]
        assert int(row["balance"]) == s.balance
        assert int(row["debt"]) == s.debt
        assert int(row["expired"]) == s.expired
        assert int(row["expiring_points"]) == s.expiring_points
        nxt = None if pd.isna(row["next_expiry"]) else row["next_expiry"].to_pydatetime()
        assert nxt == s.next_expiry
        if self.program.tiers:
            assert row["tier"] == s.tier

    @invariant()
    def accounting_identity(self):
        if not hasattr(self, "ledger"):
            return
        s = self.ledger.summary(self.now)
        assert s.balance >= 0
        assert s.debt >= 0
        assert s.balance == 0 or s.debt == 0
        assert s.balance - s.debt == s.earned - s.redeemed - s.expired - s.clawed_back
        assert min(s.earned, s.redeemed, s.expired, s.clawed_back) >= 0

    @invariant()
    def lots_are_fifo(self):
        if not hasattr(self, "ledger"):
            return
        lots = self.ledger.lots(self.now)
        assert sum(lot.remaining for lot in lots) == self.ledger.balance(self.now)
        expiries = [lot.expires_at for lot in lots]
        assert [lot.earned_at for lot in lots] == sorted(lot.earned_at for lot in lots)
        if self.program.expiry is not None:
            assert expiries == sorted(expiries)
            assert all(e > self.now for e in expiries)  # nothing expired is still counted
        # burning is oldest-first: only the oldest live lot may be partly used
        assert all(lot.remaining == lot.points for lot in lots[1:])

    @invariant()
    def rebuild_from_entries(self):
        if not hasattr(self, "ledger"):
            return
        rebuilt = PointsLedger(self.program, account_id="m", entries=self.ledger.entries)
        assert rebuilt.summary() == self.ledger.summary()


LedgerMachine.TestCase.settings = settings(max_examples=40, stateful_step_count=25, deadline=None)
TestLedgerMachine = LedgerMachine.TestCase
