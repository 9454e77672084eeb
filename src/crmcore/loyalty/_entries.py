"""Ledger entries, lots and summaries: the immutable records of a points ledger."""

from __future__ import annotations

import datetime as _dt
from typing import Any, Literal

import attrs

from crmcore._time import instant_key
from crmcore.loyalty._events import LedgerEvent

__all__ = ["ENTRY_KINDS", "EntryKind", "LedgerEntry", "LedgerSummary", "Lot"]

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
        When (timezone-aware; instants non-decreasing along the ledger).
        Entries, lots, events and summaries compare their moments as
        instants (``fold`` included), not as wall-clock readings.
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
    at: _dt.datetime = attrs.field(eq=instant_key)
    points: int
    order_id: str | None = None
    spend_minor: int = 0
    expires_at: _dt.datetime | None = attrs.field(default=None, eq=instant_key)
    source: LedgerEvent | None = attrs.field(default=None, eq=False, repr=False)

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-friendly ``dict`` (datetimes as ISO strings, no source event).

        Returns
        -------
        dict
            One key per field except ``source``; ``None`` stays ``None``.
        """
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
    earned_at: _dt.datetime = attrs.field(eq=instant_key)
    expires_at: _dt.datetime | None = attrs.field(eq=instant_key)
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
    as_of: _dt.datetime | None = attrs.field(eq=instant_key)
    balance: int
    debt: int
    earned: int
    redeemed: int
    expired: int
    clawed_back: int
    tier: str | None
    next_expiry: _dt.datetime | None = attrs.field(eq=instant_key)
    expiring_points: int

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-friendly ``dict`` (datetimes as ISO strings).

        Returns
        -------
        dict
            One key per field; ``None`` stays ``None``.
        """
        out = attrs.asdict(self)
        for key in ("as_of", "next_expiry"):
            if out[key] is not None:
                out[key] = out[key].isoformat()
        return out
