"""The points ledger: an append-only list of entries; everything else derived.

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
from collections.abc import Iterable
from typing import Any, Literal

import attrs
import pandas as pd

from crmcore._validation import require_aware
from crmcore.errors import ValidationError
from crmcore.loyalty._events import LedgerEvent, Purchase, Redemption, Refund
from crmcore.loyalty._periods import period_index, period_start
from crmcore.loyalty._program import Program

__all__ = ["LedgerEntry", "LedgerSummary", "Lot", "PointsLedger"]

EntryKind = Literal["earn", "redeem", "clawback"]
ENTRY_KINDS: tuple[str, ...] = ("earn", "redeem", "clawback")


@attrs.frozen(kw_only=True)
class LedgerEntry:
    """One immutable line of a points ledger.

    Attributes
    ----------
    sequence : int
        Position in the ledger (0, 1, 2...).
    event_id : str
        The event that produced the entry (idempotency key).
    kind : {"earn", "redeem", "clawback"}
        What happened.
    at : datetime
        When (timezone-aware; non-decreasing along the ledger).
    points : int
        Signed points: ``> = 0`` for ``earn``, ``< 0`` for ``redeem``,
        ``<= 0`` for ``clawback`` (the whole amount clawed back, including
        any part carried as debt).
    order_id : str or None
        For ``clawback``: the ``event_id`` of the refunded purchase.
    spend_minor : int
        For ``earn``: the purchase amount in whole minor units (cents),
        used for spend-based tiers.
    expires_at : datetime or None
        For ``earn``: when the lot expires (``None``: never).
    """

    sequence: int
    event_id: str
    kind: EntryKind
    at: _dt.datetime
    points: int
    order_id: str | None = None
    spend_minor: int = 0
    expires_at: _dt.datetime | None = None
    source: LedgerEvent | None = attrs.field(default=None, eq=False, repr=False)

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-friendly ``dict`` (datetimes as ISO strings, no source event)."""
        return {
            "sequence": self.sequence,
            "event_id": self.event_id,
            "kind": self.kind,
            "at": self.at.isoformat(),
            "points": self.points,
            "order_id": self.order_id,
            "spend_minor": self.spend_minor,
            "expires_at": None if self.expires_at is None else self.expires_at.isoformat(),
        }


@attrs.frozen(kw_only=True)
class Lot:
    """Points earned together, burned FIFO, expiring together.

    Attributes
    ----------
    lot_id : str
        The purchase event that earned the lot.
    earned_at : datetime
        When it was earned.
    expires_at : datetime or None
        When what remains of it expires.
    points : int
        Points originally earned.
    remaining : int
        Points still available.
    """

    lot_id: str
    earned_at: _dt.datetime
    expires_at: _dt.datetime | None
    points: int
    remaining: int


@attrs.frozen(kw_only=True)
class LedgerSummary:
    """Derived state of a ledger at an instant (see :meth:`PointsLedger.summary`).

    Attributes
    ----------
    account_id : str
        The ledger's account.
    as_of : datetime or None
        The instant described (``None`` for an empty ledger queried without one).
    balance, debt : int
        Available points, and claw-back points owed (never both positive).
    earned, redeemed, expired, clawed_back : int
        Cumulative totals (all ``>= 0``).
    tier : str or None
        Current tier (``None`` when the programme has no tiers).
    next_expiry : datetime or None
        Next instant at which some of the balance expires.
    expiring_points : int
        Points that expire then (0 when ``next_expiry`` is ``None``).
    """

    account_id: str
    as_of: _dt.datetime | None
    balance: int
    debt: int
    earned: int
    redeemed: int
    expired: int
    clawed_back: int
    tier: str | None
    next_expiry: _dt.datetime | None
    expiring_points: int

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-friendly ``dict`` (datetimes as ISO strings)."""
        out = attrs.asdict(self)
        for key in ("as_of", "next_expiry"):
            if out[key] is not None:
                out[key] = out[key].isoformat()
        return out


class _State:
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

    def copy(self) -> _State:
        new = _State.__new__(_State)
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


def _qualifying_tier(s: _State, program: Program, t: _dt.datetime, *, review: bool) -> int:
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


def _advance(s: _State, program: Program, t: _dt.datetime) -> None:
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


def _burn(s: _State, amount: int) -> None:
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


def _apply(s: _State, program: Program, entry: LedgerEntry) -> None:
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


def _check_entry(entry: Any, position: int, s: _State) -> None:
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


class PointsLedger:
    """The points account of one member: append-only entries, derived state.

    The ledger is immutable: :meth:`post` returns a *new* ledger with the
    event's entry appended (or the same ledger when the event was already
    posted). Nothing is stored but the entries; balance, lots, tier, debt
    and next expiry are derived by replaying them, so two ledgers with the
    same entries are the same ledger.

    Posting rules:

    * :class:`Purchase` earns ``program.points_for(amount, tier=current
      tier, ...)`` points as a new lot expiring at
      ``program.expires_at(at)``; the member is then upgraded at once if
      their rolling qualification reaches a higher tier.
    * :class:`Redemption` burns points oldest-first; it is refused with
      :class:`~crmcore.errors.ValidationError` if it exceeds the balance
      (expiries due by then are applied first).
    * :class:`Refund` claws back exactly the points its purchase earned
      (minus any of them that had already expired, which the member never
      got to use), oldest-first, even if the purchase's own points were
      spent. What the balance cannot cover is recorded as **debt** and
      repaid first from future earnings: the balance never goes negative,
      the refund is never refused, and no point is lost or invented.
    * Events are idempotent by ``event_id``: posting an identical event
      again returns the ledger unchanged; posting a *different* event with
      a used id, or an event earlier than the last entry, raises
      :class:`~crmcore.errors.ValidationError`.

    Parameters
    ----------
    program : Program
        The programme's rules.
    account_id : str, default ""
        Label carried into summaries and frames.
    entries : iterable of LedgerEntry, optional
        Entries to rebuild the ledger from (for example as loaded from
        storage); they are replayed and checked for consistency.

    Examples
    --------
    >>> import datetime as dt
    >>> from crmcore.domain import Money
    >>> from crmcore.loyalty import EarnRule, Program, Purchase, Redemption, Refund
    >>> prog = Program(earn_rules=[EarnRule(name="base", per_unit=1)], expiry=12)
    >>> day = lambda d: dt.datetime(2026, 1, d, tzinfo=dt.UTC)
    >>> eur = lambda a: Money(amount=a, currency="EUR")
    >>> led = PointsLedger(prog, account_id="M-1")
    >>> led = led.post(Purchase(event_id="O-1", at=day(2), amount=eur("120.50")))
    >>> led = led.post(Purchase(event_id="O-1", at=day(2), amount=eur("120.50")))  # replay
    >>> led = led.post(Redemption(event_id="R-1", at=day(5), points=100))
    >>> led.balance()
    20
    >>> led = led.post(Refund(event_id="F-1", at=day(9), order_id="O-1"))
    >>> led.balance(), led.debt()
    (0, 100)
    >>> [e.kind for e in led.entries]
    ['earn', 'redeem', 'clawback']
    """

    __slots__ = ("_account_id", "_entries", "_program", "_state")

    def __init__(
        self,
        program: Program,
        *,
        account_id: str = "",
        entries: Iterable[LedgerEntry] = (),
    ) -> None:
        if not isinstance(program, Program):
            raise ValidationError(
                f"program must be a Program; got {type(program).__name__}", field="program"
            )
        self._program = program
        self._account_id = account_id
        self._entries: tuple[LedgerEntry, ...] = tuple(entries)
        self._state = self._replay(self._entries)

    def _replay(self, entries: Iterable[LedgerEntry]) -> _State:
        s = _State(len(self._program.tiers))
        for position, entry in enumerate(entries):
            _check_entry(entry, position, s)
            _advance(s, self._program, entry.at)
            _apply(s, self._program, entry)
        return s

    @classmethod
    def _from_parts(
        cls, program: Program, account_id: str, entries: tuple[LedgerEntry, ...], state: _State
    ) -> PointsLedger:
        new = cls.__new__(cls)
        new._program = program
        new._account_id = account_id
        new._entries = entries
        new._state = state
        return new

    # ------------------------------------------------------------ properties

    @property
    def program(self) -> Program:
        """The programme's rules."""
        return self._program

    @property
    def account_id(self) -> str:
        """The account label."""
        return self._account_id

    @property
    def entries(self) -> tuple[LedgerEntry, ...]:
        """All entries, oldest first."""
        return self._entries

    def __len__(self) -> int:
        return len(self._entries)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, PointsLedger):
            return NotImplemented
        return (
            self._program == other._program
            and self._account_id == other._account_id
            and self._entries == other._entries
        )

    def __hash__(self) -> int:
        return hash((self._account_id, self._entries))

    def __repr__(self) -> str:
        return f"PointsLedger(account_id={self._account_id!r}, entries={len(self._entries)})"

    # ------------------------------------------------------------ posting

    def post(self, event: LedgerEvent) -> PointsLedger:
        """Return the ledger with ``event`` applied (idempotent by event id).

        Raises
        ------
        ValidationError
            On a redemption above the balance, a refund of an unknown or
            already refunded order, a purchase in another currency, an event
            earlier than the last entry, or a different event reusing an id.
        """
        if not isinstance(event, Purchase | Redemption | Refund):
            raise ValidationError(
                f"event must be a Purchase, Redemption or Refund; got {type(event).__name__}",
                field="event",
            )
        s0 = self._state
        seen = s0.entries_by_event.get(event.event_id)
        if seen is not None:
            if seen.source == event:
                return self
            raise ValidationError(
                f"event id {event.event_id!r} was already posted with different content",
                field="event_id",
                value=event.event_id,
            )
        if s0.last_at is not None and event.at < s0.last_at:
            raise ValidationError(
                f"event {event.event_id!r} at {event.at.isoformat()} is earlier than the last "
                f"entry ({s0.last_at.isoformat()}); post events in time order",
                field="at",
                value=event.at,
            )
        s = s0.copy()
        _advance(s, self._program, event.at)
        entry = self._entry_for(event, s)
        _apply(s, self._program, entry)
        return PointsLedger._from_parts(
            self._program, self._account_id, (*self._entries, entry), s
        )

    def _entry_for(self, event: LedgerEvent, s: _State) -> LedgerEntry:
        seq = len(self._entries)
        prog = self._program
        if isinstance(event, Purchase):
            tier = prog.tiers[s.tier].name if s.tier >= 0 else None
            points = prog.points_for(
                event.amount, tier=tier, category=event.category, campaign=event.campaign
            )
            return LedgerEntry(
                sequence=seq,
                event_id=event.event_id,
                kind="earn",
                at=event.at,
                points=points,
                spend_minor=prog.spend_minor(event.amount),
                expires_at=prog.expires_at(event.at),
                source=event,
            )
        if isinstance(event, Redemption):
            if event.points > s.balance:
                raise ValidationError(
                    f"cannot redeem {event.points} points: the balance at "
                    f"{event.at.isoformat()} is {s.balance}",
                    field="points",
                    value=event.points,
                )
            return LedgerEntry(
                sequence=seq,
                event_id=event.event_id,
                kind="redeem",
                at=event.at,
                points=-event.points,
                source=event,
            )
        if event.order_id not in s.orders:
            raise ValidationError(
                f"refund {event.event_id!r}: order {event.order_id!r} is not in this ledger",
                field="order_id",
                value=event.order_id,
            )
        if event.order_id in s.refunded:
            raise ValidationError(
                f"refund {event.event_id!r}: order {event.order_id!r} was already refunded",
                field="order_id",
                value=event.order_id,
            )
        lot = s.lots[s.orders[event.order_id]]
        return LedgerEntry(
            sequence=seq,
            event_id=event.event_id,
            kind="clawback",
            at=event.at,
            points=-(lot[3] - lot[5]),
            order_id=event.order_id,
            source=event,
        )

    def post_many(self, events: Iterable[LedgerEvent]) -> PointsLedger:
        """Post events in order; equivalent to chaining :meth:`post`."""
        ledger = self
        for event in events:
            ledger = ledger.post(event)
        return ledger

    # ------------------------------------------------------------ derived state

    def _state_at(self, as_of: _dt.datetime | None) -> _State:
        if as_of is None:
            return self._state
        require_aware(as_of, field="as_of")
        s0 = self._state
        if s0.last_at is not None and as_of < s0.last_at:
            s = self._replay(e for e in self._entries if e.at <= as_of)
        else:
            s = s0.copy()
        _advance(s, self._program, as_of)
        return s

    def summary(self, as_of: _dt.datetime | None = None) -> LedgerSummary:
        """Balance, debt, totals, tier and next expiry at ``as_of``.

        Parameters
        ----------
        as_of : datetime, optional
            Timezone-aware instant; entries after it are ignored and
            expiries and tier reviews due by then are applied. Default: just
            after the last entry.
        """
        s = self._state_at(as_of)
        next_expiry: _dt.datetime | None = None
        expiring = 0
        for lot in s.lots[s.head :]:
            if lot[4] == 0:
                continue
            if next_expiry is None:
                if lot[2] is None:
                    break
                next_expiry = lot[2]
            if lot[2] != next_expiry:
                break
            expiring += lot[4]
        return LedgerSummary(
            account_id=self._account_id,
            as_of=as_of if as_of is not None else s.last_at,
            balance=s.balance,
            debt=s.debt,
            earned=s.earned,
            redeemed=s.redeemed,
            expired=s.expired,
            clawed_back=s.clawed_back,
            tier=self._program.tiers[s.tier].name if s.tier >= 0 else None,
            next_expiry=next_expiry,
            expiring_points=expiring,
        )

    def balance(self, as_of: _dt.datetime | None = None) -> int:
        """Available points at ``as_of`` (never negative)."""
        return self._state_at(as_of).balance

    def debt(self, as_of: _dt.datetime | None = None) -> int:
        """Claw-back points owed at ``as_of``, repaid from future earnings."""
        return self._state_at(as_of).debt

    def tier(self, as_of: _dt.datetime | None = None) -> str | None:
        """Tier at ``as_of`` (``None`` if the programme has no tiers)."""
        return self.summary(as_of).tier

    def next_expiry(self, as_of: _dt.datetime | None = None) -> tuple[_dt.datetime, int] | None:
        """``(instant, points)`` of the next expiry of part of the balance, or ``None``."""
        summ = self.summary(as_of)
        if summ.next_expiry is None:
            return None
        return summ.next_expiry, summ.expiring_points

    def lots(self, as_of: _dt.datetime | None = None) -> tuple[Lot, ...]:
        """Lots still holding points at ``as_of``, oldest first."""
        s = self._state_at(as_of)
        return tuple(
            Lot(
                lot_id=lot[0], earned_at=lot[1], expires_at=lot[2], points=lot[3], remaining=lot[4]
            )
            for lot in s.lots
            if lot[4] > 0
        )

    def to_frame(self) -> pd.DataFrame:
        """Entries as a DataFrame, the input format of :func:`ledger_balances`.

        Columns: ``account_id``, ``sequence``, ``event_id``, ``kind``, ``at``
        (UTC), ``points``, ``order_id``, ``spend_minor``, ``expires_at``
        (UTC, ``NaT`` for lots that never expire).
        """
        rows = [e.to_dict() for e in self._entries]
        frame = pd.DataFrame(
            rows,
            columns=[
                "sequence",
                "event_id",
                "kind",
                "at",
                "points",
                "order_id",
                "spend_minor",
                "expires_at",
            ],
        )
        frame.insert(0, "account_id", self._account_id)
        frame["at"] = pd.to_datetime(frame["at"], utc=True, format="ISO8601")
        frame["expires_at"] = pd.to_datetime(frame["expires_at"], utc=True, format="ISO8601")
        return frame.astype({"sequence": "int64", "points": "int64", "spend_minor": "int64"})
