"""Replay of ledger entries: the rules that derive state from entries.

Rules (see :class:`PointsLedger` for the user-facing account):

* A purchase appends an ``earn`` entry creating a *lot* of points that
  expires at a fixed instant (recorded on the entry when it is earned).
* Every debit (redemption, claw-back) burns the oldest points first (FIFO);
  expiry removes what is left of a lot at its expiry instant, before any
  event at that instant.
* A refund appends a ``clawback`` entry for the points its order earned,
  less what of that order's lot had already expired. If the balance cannot
  cover it, the remainder becomes *debt*, repaid first from future
  earnings; the balance itself is never negative.
* Tiers: upgraded right after a qualifying purchase, re-evaluated (and
  possibly lowered) at each review instant.

Invariant, at every instant: ``balance - debt == earned - redeemed -
expired - clawed_back``; ``balance >= 0``, ``debt >= 0``, and never both
positive.
"""

from __future__ import annotations

import datetime as _dt
from typing import Any

from crmcore._time import require_aware
from crmcore.errors import ValidationError
from crmcore.loyalty._entries import ENTRY_KINDS, LedgerEntry
from crmcore.loyalty._periods import period_index, period_start
from crmcore.loyalty._program import Program

__all__ = ["State", "advance", "apply_entry", "check_entry"]


class State:
    """Mutable replay state; copied before every change, never shared."""

    __slots__ = (
        "balance",
        "clawed_back",
        "debt",
        "earned",
        "entries_by_event",
        "expired",
        "head",
        "last_at",
        "lots",
        "next_exp",
        "orders",
        "qual",
        "qual_ptr",
        "qual_sum",
        "redeemed",
        "refunded",
        "tier",
    )

    def __init__(self, n_tiers: int) -> None:
        # lot: [lot_id, earned_at, expires_at, points, remaining, expired_amount]
        self.lots: list[list[Any]] = []
        self.head = 0  # first lot that may still hold points
        self.next_exp = 0  # first lot whose expiry has not been processed
        self.balance = 0
        self.debt = 0
        self.earned = 0
        self.redeemed = 0
        self.expired = 0
        self.clawed_back = 0
        self.tier = 0 if n_tiers else -1
        self.last_at: _dt.datetime | None = None
        self.orders: dict[str, int] = {}
        self.refunded: set[str] = set()
        self.entries_by_event: dict[str, LedgerEntry] = {}
        # qualification records: [window_ends per tier, values per tier, refunded]
        self.qual: list[list[Any]] = []
        self.qual_ptr = [0] * n_tiers
        self.qual_sum = [0] * n_tiers

    def copy(self) -> State:
        new = State.__new__(State)
        new.lots = [lot.copy() for lot in self.lots]
        new.head = self.head
        new.next_exp = self.next_exp
        new.balance = self.balance
        new.debt = self.debt
        new.earned = self.earned
        new.redeemed = self.redeemed
        new.expired = self.expired
        new.clawed_back = self.clawed_back
        new.tier = self.tier
        new.last_at = self.last_at
        new.orders = dict(self.orders)
        new.refunded = set(self.refunded)
        new.entries_by_event = dict(self.entries_by_event)
        new.qual = [q.copy() for q in self.qual]
        new.qual_ptr = list(self.qual_ptr)
        new.qual_sum = list(self.qual_sum)
        return new


def _qualifying_tier(s: State, program: Program, t: _dt.datetime, *, review: bool) -> int:
    """Highest tier whose rolling metric at ``t`` reaches its threshold.

    ``review=True`` evaluates just before ``t`` (a purchase whose window ends
    exactly at ``t`` still counts); otherwise just after the event at ``t``.
    """
    best = 0
    thresholds = program.tier_thresholds()
    for k in range(len(program.tiers)):
        ptr = s.qual_ptr[k]
        while ptr < len(s.qual):
            end = s.qual[ptr][0][k]
            if end > t or (review and end == t):
                break
            if not s.qual[ptr][2]:
                s.qual_sum[k] -= s.qual[ptr][1][k]
            ptr += 1
        s.qual_ptr[k] = ptr
        if s.qual_sum[k] >= thresholds[k]:
            best = k
    return best


def advance(s: State, program: Program, t: _dt.datetime) -> None:
    """Apply the tier review and the expiries due at or before ``t``."""
    if program.tiers and s.last_at is not None:
        review = program.last_review(t)
        if s.last_at < review:
            s.tier = _qualifying_tier(s, program, review, review=True)
    while s.next_exp < len(s.lots):
        lot = s.lots[s.next_exp]
        if lot[2] is None or lot[2] > t:
            break
        amount = lot[4]
        lot[4] = 0
        lot[5] = amount
        s.expired += amount
        s.balance -= amount
        s.next_exp += 1


def _burn(s: State, amount: int) -> None:
    """Debit ``amount`` (<= balance) from the oldest lots first."""
    s.balance -= amount
    while amount > 0:
        lot = s.lots[s.head]
        take = min(lot[4], amount)
        lot[4] -= take
        amount -= take
        if lot[4] == 0:
            s.head += 1
    while s.head < len(s.lots) and s.lots[s.head][4] == 0:
        s.head += 1


def apply_entry(s: State, program: Program, entry: LedgerEntry) -> None:
    """Apply one entry (the state must already be advanced to ``entry.at``)."""
    if entry.kind == "earn":
        remaining = entry.points
        repay = min(remaining, s.debt)
        s.debt -= repay
        remaining -= repay
        s.lots.append([entry.event_id, entry.at, entry.expires_at, entry.points, remaining, 0])
        s.orders[entry.event_id] = len(s.lots) - 1
        s.earned += entry.points
        s.balance += remaining
        if program.tiers:
            p = period_index(entry.at, program.period)
            ends = [period_start(p + tier.window, program.period) for tier in program.tiers]
            values = [
                entry.points if tier.points is not None else entry.spend_minor
                for tier in program.tiers
            ]
            s.qual.append([ends, values, False])
            for k in range(len(program.tiers)):
                s.qual_sum[k] += values[k]
            s.tier = max(s.tier, _qualifying_tier(s, program, entry.at, review=False))
    elif entry.kind == "redeem":
        amount = -entry.points
        if amount > s.balance:
            raise ValidationError(
                f"entry {entry.sequence} redeems {amount} points but the balance at "
                f"{entry.at.isoformat()} is {s.balance}",
                field="points",
                row=entry.sequence,
                value=entry.points,
            )
        _burn(s, amount)
        s.redeemed += amount
    else:
        amount = -entry.points
        take = min(amount, s.balance)
        _burn(s, take)
        s.debt += amount - take
        s.clawed_back += amount
        order = entry.order_id
        assert order is not None
        s.refunded.add(order)
        if program.tiers:
            j = s.orders[order]
            # qualification records are one per earn lot, in the same order
            rec = s.qual[j]
            if not rec[2]:
                rec[2] = True
                for k in range(len(program.tiers)):
                    if j >= s.qual_ptr[k]:
                        s.qual_sum[k] -= rec[1][k]
    s.last_at = entry.at
    s.entries_by_event[entry.event_id] = entry


def check_entry(entry: Any, position: int, s: State) -> None:
    """Refuse an entry that a ledger could not have produced."""
    if not isinstance(entry, LedgerEntry):
        raise ValidationError(
            f"entries must be LedgerEntry objects; got {type(entry).__name__} at {position}",
            field="entries",
            row=position,
        )
    problems = []
    if entry.sequence != position:
        problems.append(f"sequence {entry.sequence} should be {position}")
    if entry.kind not in ENTRY_KINDS:
        problems.append(f"kind {entry.kind!r} is not one of {ENTRY_KINDS}")
    require_aware(entry.at, field="at")
    if s.last_at is not None and entry.at < s.last_at:
        problems.append("entries must be in time order")
    if entry.event_id in s.entries_by_event:
        problems.append(f"event {entry.event_id!r} appears twice")
    if entry.kind == "earn" and entry.points < 0:
        problems.append("earn points must be >= 0")
    if entry.kind == "redeem" and entry.points >= 0:
        problems.append("redeem points must be < 0")
    if entry.kind == "clawback":
        if entry.points > 0:
            problems.append("clawback points must be <= 0")
        if entry.order_id not in s.orders or entry.order_id in s.refunded:
            problems.append(f"order {entry.order_id!r} is unknown or already refunded")
    if entry.kind == "earn" and entry.expires_at is not None:
        require_aware(entry.expires_at, field="expires_at")
        previous = s.lots[-1][2] if s.lots else None
        if previous is None and s.lots:
            problems.append("expires_at must be set on every lot or on none")
        if previous is not None and entry.expires_at < previous:
            problems.append("lots must expire in the order they were earned")
    if problems:
        raise ValidationError(
            f"entry {position} ({entry.event_id!r}) is inconsistent: " + "; ".join(problems),
            field="entries",
            row=position,
        )
