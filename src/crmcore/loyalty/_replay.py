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

Every comparison of two moments is a comparison of instants (epoch
microseconds from :func:`crmcore._time.instant_us`), never of wall clocks:
at a daylight-saving fall-back, 02:45 before the change happened 30 minutes
*before* 02:15 after it, though Python compares the two the other way.

Invariant, at every instant: ``balance - debt == earned - redeemed -
expired - clawed_back``; ``balance >= 0``, ``debt >= 0``, and never both
positive.
"""

from __future__ import annotations

import datetime as _dt
from typing import Any

from crmcore._time import instant_us
from crmcore.errors import ValidationError
from crmcore.loyalty._entries import ENTRY_KINDS, LedgerEntry
from crmcore.loyalty._program import Program

__all__ = ["LotState", "State", "advance", "apply_entry", "check_entry"]


class LotState:
    """Points earned by one purchase, as the replay sees them (mutable; copied, never shared)."""

    __slots__ = (
        "earned_at",
        "expired",
        "expires_at",
        "expires_us",
        "lot_id",
        "points",
        "remaining",
    )

    def __init__(
        self, lot_id: str, earned_at: _dt.datetime, expires_at: _dt.datetime | None, points: int
    ) -> None:
        self.lot_id = lot_id
        self.earned_at = earned_at
        self.expires_at = expires_at
        #: the expiry instant in epoch microseconds (None: never)
        self.expires_us = None if expires_at is None else instant_us(expires_at)
        self.points = points  # earned
        self.remaining = points  # still available
        self.expired = 0  # taken by the expiry

    def copy(self) -> LotState:
        new = LotState.__new__(LotState)
        new.lot_id = self.lot_id
        new.earned_at = self.earned_at
        new.expires_at = self.expires_at
        new.expires_us = self.expires_us
        new.points = self.points
        new.remaining = self.remaining
        new.expired = self.expired
        return new


class _Qualification:
    """What one purchase contributes to each tier, and until when (epoch µs per tier)."""

    __slots__ = ("ends_us", "refunded", "values")

    def __init__(self, ends_us: list[int], values: list[int]) -> None:
        self.ends_us = ends_us
        self.values = values
        self.refunded = False

    def copy(self) -> _Qualification:
        new = _Qualification(self.ends_us, self.values)  # both lists are never changed
        new.refunded = self.refunded
        return new


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
        "last_us",
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
        self.lots: list[LotState] = []
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
        self.last_us: int | None = None  # instant of the last entry, epoch µs
        self.orders: dict[str, int] = {}
        self.refunded: set[str] = set()
        self.entries_by_event: dict[str, LedgerEntry] = {}
        # one qualification record per earn lot, in the same order
        self.qual: list[_Qualification] = []
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
        new.last_us = self.last_us
        new.orders = dict(self.orders)
        new.refunded = set(self.refunded)
        new.entries_by_event = dict(self.entries_by_event)
        new.qual = [q.copy() for q in self.qual]
        new.qual_ptr = list(self.qual_ptr)
        new.qual_sum = list(self.qual_sum)
        return new


def _qualifying_tier(s: State, program: Program, t_us: int, *, review: bool) -> int:
    """Highest tier whose rolling metric at instant ``t_us`` reaches its threshold.

    ``review=True`` evaluates just before ``t_us`` (a purchase whose window
    ends exactly then still counts); otherwise just after the event at ``t_us``.
    """
    best = 0
    thresholds = program.tier_thresholds()
    for k in range(len(program.tiers)):
        ptr = s.qual_ptr[k]
        while ptr < len(s.qual):
            rec = s.qual[ptr]
            end = rec.ends_us[k]
            if end > t_us or (review and end == t_us):
                break
            if not rec.refunded:
                s.qual_sum[k] -= rec.values[k]
            ptr += 1
        s.qual_ptr[k] = ptr
        if s.qual_sum[k] >= thresholds[k]:
            best = k
    return best


def advance(s: State, program: Program, t: _dt.datetime, t_us: int | None = None) -> None:
    """Apply the tier review and the expiries due at or before the instant ``t``.

    ``t_us`` is ``instant_us(t)`` when the caller has it already.
    """
    if t_us is None:
        t_us = instant_us(t)
    if program.tiers and s.last_us is not None:
        review_us = program.period_start_us(program.review_period(t, us=t_us))
        if s.last_us < review_us:
            s.tier = _qualifying_tier(s, program, review_us, review=True)
    while s.next_exp < len(s.lots):
        lot = s.lots[s.next_exp]
        if lot.expires_us is None or lot.expires_us > t_us:
            break
        amount = lot.remaining
        lot.remaining = 0
        lot.expired = amount
        s.expired += amount
        s.balance -= amount
        s.next_exp += 1


def _burn(s: State, amount: int) -> None:
    """Debit ``amount`` (<= balance) from the oldest lots first."""
    s.balance -= amount
    while amount > 0:
        lot = s.lots[s.head]
        take = min(lot.remaining, amount)
        lot.remaining -= take
        amount -= take
        if lot.remaining == 0:
            s.head += 1
    while s.head < len(s.lots) and s.lots[s.head].remaining == 0:
        s.head += 1


def apply_entry(s: State, program: Program, entry: LedgerEntry, at_us: int | None = None) -> None:
    """Apply one entry (the state must already be advanced to ``entry.at``).

    ``at_us`` is ``instant_us(entry.at)`` when the caller has it already.
    """
    if at_us is None:
        at_us = instant_us(entry.at)
    if entry.kind == "earn":
        lot = LotState(entry.event_id, entry.at, entry.expires_at, entry.points)
        repay = min(entry.points, s.debt)
        s.debt -= repay
        lot.remaining -= repay
        s.lots.append(lot)
        s.orders[entry.event_id] = len(s.lots) - 1
        s.earned += entry.points
        s.balance += lot.remaining
        if program.tiers:
            p = program.period_of(entry.at, us=at_us)
            ends = [program.period_start_us(p + tier.window) for tier in program.tiers]
            values = [
                entry.points if tier.points is not None else entry.spend_minor
                for tier in program.tiers
            ]
            s.qual.append(_Qualification(ends, values))
            for k in range(len(program.tiers)):
                s.qual_sum[k] += values[k]
            s.tier = max(s.tier, _qualifying_tier(s, program, at_us, review=False))
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
            rec = s.qual[j]
            if not rec.refunded:
                rec.refunded = True
                for k in range(len(program.tiers)):
                    if j >= s.qual_ptr[k]:
                        s.qual_sum[k] -= rec.values[k]
    s.last_at = entry.at
    s.last_us = at_us
    s.entries_by_event[entry.event_id] = entry


def check_entry(entry: Any, position: int, s: State) -> int:
    """Refuse an entry that a ledger could not have produced; return its instant (epoch µs)."""
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
    at_us = instant_us(entry.at, name="at")
    if s.last_us is not None and at_us < s.last_us:
        problems.append("entries must be in time order (compared as instants)")
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
        expires_us = instant_us(entry.expires_at, name="expires_at")
        previous = s.lots[-1].expires_us if s.lots else None
        if previous is None and s.lots:
            problems.append("expires_at must be set on every lot or on none")
        if previous is not None and expires_us < previous:
            problems.append("lots must expire in the order they were earned")
    if problems:
        raise ValidationError(
            f"entry {position} ({entry.event_id!r}) is inconsistent: " + "; ".join(problems),
            field="entries",
            row=position,
        )
    return at_us
