"""The points ledger: an append-only list of entries; everything else derived."""

from __future__ import annotations

import datetime as _dt
from collections.abc import Iterable

import numpy as np
import pandas as pd

from crmcore._time import cutoff_us, datetime_index, from_instant_us, instant_us
from crmcore.domain import Money
from crmcore.errors import ValidationError
from crmcore.loyalty._entries import LedgerEntry, LedgerSummary, Lot
from crmcore.loyalty._events import LedgerEvent, Purchase, Redemption, Refund
from crmcore.loyalty._program import Program
from crmcore.loyalty._replay import State, advance, apply_entry, check_entry

__all__ = ["PointsLedger"]


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
    * Moments are compared as instants, never as wall-clock readings: at a
      daylight-saving fall-back a redemption at 02:45 (before the change)
      comes *before* a purchase at 02:15 (after it, ``fold=1``), and two
      purchases at 02:15 an hour apart are different events. Expiry and
      tier periods follow the calendar of ``program.tz`` (UTC by default).

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

    def _replay(self, entries: Iterable[LedgerEntry]) -> State:
        s = State(len(self._program.tiers))
        for position, entry in enumerate(entries):
            at_us = check_entry(entry, position, s)
            advance(s, self._program, entry.at, at_us)
            apply_entry(s, self._program, entry, at_us)
        return s

    @classmethod
    def _from_parts(
        cls, program: Program, account_id: str, entries: tuple[LedgerEntry, ...], state: State
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

        Parameters
        ----------
        event : Purchase, Redemption or Refund
            The event to record; it must not be earlier than the last entry.
            Expiries and tier reviews due by ``event.at`` are applied first.

        Returns
        -------
        PointsLedger
            A new ledger with one more entry, or this same ledger when an
            identical event with this ``event_id`` was already posted.  The
            ledger it is called on is never changed.

        Raises
        ------
        ValidationError
            On a redemption above the balance, a refund of an unknown or
            already refunded order, a purchase in another currency, an event
            earlier than the last entry, a different event reusing an id, or
            an object that is not one of the three event types.

        Examples
        --------
        >>> import datetime as dt
        >>> from crmcore.domain import Money
        >>> from crmcore.loyalty import EarnRule, Program, Purchase
        >>> prog = Program(earn_rules=[EarnRule(name="base", per_unit=1)])
        >>> buy = Purchase(
        ...     event_id="O-1",
        ...     at=dt.datetime(2026, 1, 2, tzinfo=dt.UTC),
        ...     amount=Money(amount="42.80", currency="EUR"),
        ... )
        >>> led = PointsLedger(prog).post(buy)
        >>> led.balance(), led.post(buy) is led
        (42, True)
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
        at_us = instant_us(event.at, name="at")
        if s0.last_us is not None and at_us < s0.last_us:
            assert s0.last_at is not None
            raise ValidationError(
                f"event {event.event_id!r} at {event.at.isoformat()} is earlier than the last "
                f"entry ({s0.last_at.isoformat()}); post events in time order",
                field="at",
                value=event.at,
            )
        s = s0.copy()
        advance(s, self._program, event.at, at_us)
        entry = self._entry_for(event, s)
        apply_entry(s, self._program, entry, at_us)
        return PointsLedger._from_parts(
            self._program, self._account_id, (*self._entries, entry), s
        )

    def _entry_for(self, event: LedgerEvent, s: State) -> LedgerEntry:
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
            points=-(lot.points - lot.expired),
            order_id=event.order_id,
            source=event,
        )

    def purchase(
        self,
        amount: Money,
        *,
        at: _dt.datetime,
        event_id: str,
        category: str | None = None,
        campaign: str | None = None,
    ) -> PointsLedger:
        """Post a :class:`Purchase`; shorthand for ``post(Purchase(...))``.

        Parameters
        ----------
        amount : Money
            Purchase amount, in the programme's currency.
        at : datetime
            Timezone-aware time of the purchase.
        event_id : str
            Unique id of the purchase (the order id): a later refund names
            it, and posting it again is a no-op.
        category, campaign : str, optional
            Purchase attributes that earn rules may match on.

        Returns
        -------
        PointsLedger
            The new ledger (see :meth:`post`).

        Raises
        ------
        ValidationError
            As for :meth:`post`, and for a bad ``amount`` or naive ``at``.

        Examples
        --------
        >>> import datetime as dt
        >>> from crmcore.domain import Money
        >>> from crmcore.loyalty import EarnRule, Program
        >>> prog = Program(earn_rules=[EarnRule(name="base", per_unit=1, per_order=10)])
        >>> led = PointsLedger(prog).purchase(
        ...     Money(amount="25.00", currency="EUR"),
        ...     at=dt.datetime(2026, 1, 2, tzinfo=dt.UTC),
        ...     event_id="O-1",
        ... )
        >>> led.balance()
        35
        """
        return self.post(
            Purchase(event_id=event_id, at=at, amount=amount, category=category, campaign=campaign)
        )

    def redeem(self, points: int, *, at: _dt.datetime, event_id: str) -> PointsLedger:
        """Post a :class:`Redemption`; shorthand for ``post(Redemption(...))``.

        Parameters
        ----------
        points : int
            Points to burn, ``>= 1``; taken from the oldest lots first.
        at : datetime
            Timezone-aware time of the redemption.
        event_id : str
            Unique id of the redemption (idempotency key).

        Returns
        -------
        PointsLedger
            The new ledger (see :meth:`post`).

        Raises
        ------
        ValidationError
            If ``points`` exceeds the balance at ``at`` (the balance never
            goes negative), or as for :meth:`post`.

        Examples
        --------
        >>> import datetime as dt
        >>> from crmcore.domain import Money
        >>> from crmcore.loyalty import EarnRule, Program
        >>> prog = Program(earn_rules=[EarnRule(name="base", per_unit=1)])
        >>> day = lambda d: dt.datetime(2026, 1, d, tzinfo=dt.UTC)
        >>> led = PointsLedger(prog).purchase(
        ...     Money(amount="80", currency="EUR"), at=day(2), event_id="O-1"
        ... )
        >>> led.redeem(50, at=day(3), event_id="R-1").balance()
        30
        >>> led.redeem(500, at=day(3), event_id="R-1")
        Traceback (most recent call last):
        ...
        crmcore.errors.ValidationError: cannot redeem 500 points: ...
        """
        return self.post(Redemption(event_id=event_id, at=at, points=points))

    def refund(self, order_id: str, *, at: _dt.datetime, event_id: str) -> PointsLedger:
        """Post a :class:`Refund` of purchase ``order_id``; shorthand for ``post``.

        The points the purchase earned are clawed back (less any that had
        already expired); what the balance cannot cover becomes :meth:`debt`.

        Parameters
        ----------
        order_id : str
            ``event_id`` of the purchase being refunded.
        at : datetime
            Timezone-aware time of the refund.
        event_id : str
            Unique id of the refund (idempotency key).

        Returns
        -------
        PointsLedger
            The new ledger (see :meth:`post`).

        Raises
        ------
        ValidationError
            If the order is not in this ledger or was already refunded, or as
            for :meth:`post`.

        Examples
        --------
        >>> import datetime as dt
        >>> from crmcore.domain import Money
        >>> from crmcore.loyalty import EarnRule, Program
        >>> prog = Program(earn_rules=[EarnRule(name="base", per_unit=1)])
        >>> day = lambda d: dt.datetime(2026, 1, d, tzinfo=dt.UTC)
        >>> led = PointsLedger(prog).purchase(
        ...     Money(amount="80", currency="EUR"), at=day(2), event_id="O-1"
        ... )
        >>> led = led.redeem(50, at=day(3), event_id="R-1")
        >>> led = led.refund("O-1", at=day(4), event_id="F-1")
        >>> led.balance(), led.debt()
        (0, 50)
        """
        return self.post(Refund(event_id=event_id, at=at, order_id=order_id))

    def post_many(self, events: Iterable[LedgerEvent]) -> PointsLedger:
        """Post events in order; equivalent to chaining :meth:`post`.

        Parameters
        ----------
        events : iterable of Purchase, Redemption or Refund
            Events in time order.

        Returns
        -------
        PointsLedger
            The ledger after the last event.

        Raises
        ------
        ValidationError
            At the first event :meth:`post` refuses; nothing is returned, so
            no partial ledger escapes (this ledger is unchanged).
        """
        ledger = self
        for event in events:
            ledger = ledger.post(event)
        return ledger

    # ------------------------------------------------------------ derived state

    def _state_at(self, as_of: object) -> tuple[State, _dt.datetime | None]:
        """Return the state at ``as_of`` and the instant it describes."""
        if as_of is None:
            return self._state, self._state.last_at
        cut = cutoff_us(as_of, tz=self._program.tz)
        at = as_of if isinstance(as_of, _dt.datetime) else from_instant_us(cut, self._program.tz)
        s0 = self._state
        if s0.last_us is not None and cut < s0.last_us:
            s = self._replay(e for e in self._entries if instant_us(e.at) <= cut)
        else:
            s = s0.copy()
        advance(s, self._program, at, cut)
        return s, at

    def summary(self, as_of: object = None) -> LedgerSummary:
        """Balance, debt, totals, tier and next expiry at ``as_of``.

        Parameters
        ----------
        as_of : datetime or date-like, optional
            Timezone-aware instant, or a date (the end of that day on the
            programme's calendar, ``program.tz``); entries after it are
            ignored and expiries and tier reviews due by then are applied.
            Default: just after the last entry.

        Returns
        -------
        LedgerSummary
            Balance, debt, points earned / redeemed / expired / clawed back,
            tier, and the next expiry with the points it will take.

        Raises
        ------
        ValidationError
            If ``as_of`` is a naive datetime or not a date.
        """
        s, at = self._state_at(as_of)
        next_expiry: _dt.datetime | None = None
        next_us: int | None = None
        expiring = 0
        for lot in s.lots[s.head :]:
            if lot.remaining == 0:
                continue
            if next_us is None:
                if lot.expires_us is None:
                    break
                next_expiry, next_us = lot.expires_at, lot.expires_us
            if lot.expires_us != next_us:
                break
            expiring += lot.remaining
        return LedgerSummary(
            account_id=self._account_id,
            as_of=at,
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

    def balance(self, as_of: object = None) -> int:
        """Available points at ``as_of`` (never negative).

        Parameters
        ----------
        as_of : datetime or date-like, optional
            Timezone-aware instant, or a date (the end of that day on the
            programme's calendar, ``program.tz``); entries after it are
            ignored and expiries and tier reviews due by then are applied.
            Default: just after the last entry.

        Returns
        -------
        int
            Points the member can redeem at ``as_of``.

        Raises
        ------
        ValidationError
            If ``as_of`` is a naive datetime or not a date.
        """
        return self._state_at(as_of)[0].balance

    def debt(self, as_of: object = None) -> int:
        """Claw-back points owed at ``as_of``, repaid from future earnings.

        Parameters
        ----------
        as_of : datetime or date-like, optional
            Timezone-aware instant, or a date (the end of that day on the
            programme's calendar, ``program.tz``); entries after it are
            ignored and expiries and tier reviews due by then are applied.
            Default: just after the last entry.

        Returns
        -------
        int
            Points owed (``>= 0``); while it is positive the balance is 0.

        Raises
        ------
        ValidationError
            If ``as_of`` is a naive datetime or not a date.
        """
        return self._state_at(as_of)[0].debt

    def tier(self, as_of: object = None) -> str | None:
        """Tier at ``as_of`` (``None`` if the programme has no tiers).

        Parameters
        ----------
        as_of : datetime or date-like, optional
            Timezone-aware instant, or a date (the end of that day on the
            programme's calendar, ``program.tz``); entries after it are
            ignored and expiries and tier reviews due by then are applied.
            Default: just after the last entry.

        Returns
        -------
        str or None
            The tier name; upgrades apply at once after a qualifying
            purchase, downgrades only at the programme's reviews.

        Raises
        ------
        ValidationError
            If ``as_of`` is a naive datetime or not a date.

        Examples
        --------
        >>> import datetime as dt
        >>> from crmcore.domain import Money
        >>> from crmcore.loyalty import EarnRule, Program, Tier
        >>> prog = Program(
        ...     earn_rules=[EarnRule(name="base", per_unit=1)],
        ...     tiers=[Tier(name="member", points=0), Tier(name="gold", points=100)],
        ... )
        >>> led = PointsLedger(prog)
        >>> led.tier()
        'member'
        >>> led = led.purchase(
        ...     Money(amount="150", currency="EUR"),
        ...     at=dt.datetime(2026, 3, 2, tzinfo=dt.UTC),
        ...     event_id="O-1",
        ... )
        >>> led.tier(), led.tier(as_of=dt.datetime(2026, 3, 1, tzinfo=dt.UTC))
        ('gold', 'member')
        """
        return self.summary(as_of).tier

    def next_expiry(self, as_of: object = None) -> tuple[_dt.datetime, int] | None:
        """``(instant, points)`` of the next expiry of part of the balance, or ``None``.

        Parameters
        ----------
        as_of : datetime or date-like, optional
            Timezone-aware instant, or a date (the end of that day on the
            programme's calendar, ``program.tz``); entries after it are
            ignored and expiries and tier reviews due by then are applied.
            Default: just after the last entry.

        Returns
        -------
        tuple of (datetime, int) or None
            When the next points expire and how many, or ``None`` when no
            remaining point has an expiry.

        Raises
        ------
        ValidationError
            If ``as_of`` is a naive datetime or not a date.
        """
        summ = self.summary(as_of)
        if summ.next_expiry is None:
            return None
        return summ.next_expiry, summ.expiring_points

    def lots(self, as_of: object = None) -> tuple[Lot, ...]:
        """Lots still holding points at ``as_of``, oldest first.

        Parameters
        ----------
        as_of : datetime or date-like, optional
            Timezone-aware instant, or a date (the end of that day on the
            programme's calendar, ``program.tz``); entries after it are
            ignored and expiries and tier reviews due by then are applied.
            Default: just after the last entry.

        Returns
        -------
        tuple of Lot
            One lot per purchase with points left, with its earn time,
            expiry, points earned and points remaining.

        Raises
        ------
        ValidationError
            If ``as_of`` is a naive datetime or not a date.

        Examples
        --------
        >>> import datetime as dt
        >>> from crmcore.domain import Money
        >>> from crmcore.loyalty import EarnRule, Program
        >>> prog = Program(earn_rules=[EarnRule(name="base", per_unit=1)], expiry=12)
        >>> day = lambda d: dt.datetime(2026, 1, d, tzinfo=dt.UTC)
        >>> led = PointsLedger(prog)
        >>> led = led.purchase(Money(amount="30", currency="EUR"), at=day(2), event_id="O-1")
        >>> led = led.purchase(Money(amount="20", currency="EUR"), at=day(9), event_id="O-2")
        >>> led = led.redeem(40, at=day(10), event_id="R-1")
        >>> [(lot.lot_id, lot.points, lot.remaining) for lot in led.lots()]
        [('O-2', 20, 10)]
        >>> led.lots()[0].expires_at
        datetime.datetime(2027, 2, 1, 0, 0, tzinfo=datetime.timezone.utc)
        """
        s, _ = self._state_at(as_of)
        return tuple(
            Lot(
                lot_id=lot.lot_id,
                earned_at=lot.earned_at,
                expires_at=lot.expires_at,
                points=lot.points,
                remaining=lot.remaining,
            )
            for lot in s.lots
            if lot.remaining > 0
        )

    def to_frame(self) -> pd.DataFrame:
        """Entries as a DataFrame, the input format of :func:`ledger_balances`.

        Returns
        -------
        DataFrame
            One row per entry, oldest first, with columns ``account_id``,
            ``sequence``, ``event_id``, ``kind``, ``at`` (UTC), ``points``,
            ``order_id``, ``spend_minor``, ``expires_at`` (UTC, ``NaT`` for
            lots that never expire).
        """
        entries = self._entries
        return pd.DataFrame(
            {
                "account_id": self._account_id,
                "sequence": np.array([e.sequence for e in entries], dtype=np.int64),
                "event_id": [e.event_id for e in entries],
                "kind": [e.kind for e in entries],
                "at": _utc([e.at for e in entries], "at"),
                "points": np.array([e.points for e in entries], dtype=np.int64),
                "order_id": [e.order_id for e in entries],
                "spend_minor": np.array([e.spend_minor for e in entries], dtype=np.int64),
                "expires_at": _utc([e.expires_at for e in entries], "expires_at"),
            },
            index=pd.RangeIndex(len(entries)),
        )


def _utc(values: list[_dt.datetime | None], name: str) -> pd.DatetimeIndex:
    """Aware datetimes (``None``: ``NaT``) as the UTC column ``name``, by their instants."""
    return datetime_index(values, name=name)
