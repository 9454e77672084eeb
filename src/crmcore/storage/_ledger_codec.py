"""Loyalty ledger entries <-> stored rows, their events, and their frame.

Shared by both stores' ledger repositories, so that both validate, compare
and export entries identically.  ``crmcore.loyalty`` (which owns
:class:`~crmcore.loyalty.LedgerEntry` and the balance computation) is
imported on first use: importing the storage layer stays light.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np
import pandas as pd

from crmcore._text import MAX_KEY_LENGTH, check_key, check_storable
from crmcore._time import NAT, timestamps
from crmcore.domain import LedgerEntryPosted
from crmcore.errors import ValidationError
from crmcore.storage._codec import decode_id
from crmcore.storage._eventcodec import encode_ids, from_micros, to_micros
from crmcore.storage._zones import tz_text

if TYPE_CHECKING:
    from crmcore.loyalty import LedgerEntry

__all__ = [
    "LEDGER_COLUMNS",
    "LedgerRow",
    "check_new_rows",
    "decode_entry",
    "encode_entries",
    "ledger_frame",
    "row_event",
]

LEDGER_COLUMNS = (
    "account_id",
    "sequence",
    "event_id",
    "kind",
    "at",
    "points",
    "order_id",
    "spend_minor",
    "expires_at",
)
_KINDS = ("earn", "redeem", "clawback")
_STRING = pd.StringDtype(na_value=np.nan)
_EVENT_NAMESPACE = uuid.UUID("6f3a0b0e-3c1d-4f4e-9a57-2f1c8e3d7b11")


class LedgerRow(NamedTuple):
    """One stored ledger entry (the instants in UTC microseconds plus their zones)."""

    account_id: str
    sequence: int
    event_id: str
    kind: str
    at_us: int
    at_tz: str
    points: int
    order_id: str | None
    spend_minor: int
    expires_us: int | None
    expires_tz: str | None

    @property
    def key(self) -> tuple[str, str]:
        """The idempotency key: ``(account_id, event_id)``."""
        return (self.account_id, self.event_id)


def _int(value: Any, field: str, *, minimum: int | None = None) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not -(2**63) <= value < 2**63:
        raise ValidationError(
            f"ledger entry {field} must be a 64-bit integer; got {value!r}",
            field=field,
            value=value,
        )
    if minimum is not None and value < minimum:
        raise ValidationError(
            f"ledger entry {field} must be >= {minimum}; got {value!r}", field=field, value=value
        )
    return value


def _str(value: Any, field: str, *, optional: bool = False, key: bool = False) -> str | None:
    if value is None and optional:
        return None
    if not isinstance(value, str) or not value or "\x00" in value:
        raise ValidationError(
            f"ledger entry {field} must be a non-empty str without NUL characters; got {value!r}",
            field=field,
            value=value,
        )
    if key and len(value) > MAX_KEY_LENGTH:  # (account_id, event_id) is a unique index
        check_key(value, field)
    if not value.isascii():
        check_storable(value, field)
    return value


def encode_entries(account_id: Any, entries: Iterable[LedgerEntry]) -> list[LedgerRow]:
    """Validate ledger entries and turn them into rows.

    Raises
    ------
    ValidationError
        Not a ``LedgerEntry``, an unknown kind, a naive datetime, a key that
        repeats within ``entries``, or a value the store cannot hold.
    """
    from crmcore.loyalty import LedgerEntry  # noqa: PLC0415 -- loyalty loads on first use

    (account,) = encode_ids(account_id, "account_id")
    rows: list[LedgerRow] = []
    seen_events: set[str] = set()
    seen_sequences: set[int] = set()
    for entry in entries:
        if not isinstance(entry, LedgerEntry):
            raise ValidationError(
                f"expected a crmcore.loyalty.LedgerEntry; got {type(entry).__name__}",
                field="entries",
                value=entry,
            )
        if entry.kind not in _KINDS:
            raise ValidationError(
                f"ledger entry kind must be one of {_KINDS}; got {entry.kind!r}",
                field="kind",
                value=entry.kind,
            )
        event_id = _str(entry.event_id, "event_id", key=True)
        assert event_id is not None
        sequence = _int(entry.sequence, "sequence", minimum=0)
        if event_id in seen_events or sequence in seen_sequences:
            what = f"event_id {event_id!r}" if event_id in seen_events else f"sequence {sequence}"
            raise ValidationError(
                f"ledger {account!r}: {what} appears twice in one append",
                field="event_id" if event_id in seen_events else "sequence",
            )
        seen_events.add(event_id)
        seen_sequences.add(sequence)
        expires = entry.expires_at
        rows.append(
            LedgerRow(
                account_id=account,
                sequence=sequence,
                event_id=event_id,
                kind=entry.kind,
                at_us=to_micros(entry.at, "at"),
                at_tz=tz_text(entry.at),
                points=_int(entry.points, "points"),
                order_id=_str(entry.order_id, "order_id", optional=True),
                spend_minor=_int(entry.spend_minor, "spend_minor"),
                expires_us=None if expires is None else to_micros(expires, "expires_at"),
                expires_tz=None if expires is None else tz_text(expires),
            )
        )
    return rows


def check_new_rows(rows: Sequence[LedgerRow], stored: Iterable[LedgerRow]) -> list[LedgerRow]:
    """Return the rows not stored yet; refuse a row that conflicts with a stored one.

    ``stored`` holds the stored rows of the same ledger whose event id or
    sequence appears in ``rows``.  An identical stored row makes its row a
    no-op (an at-least-once producer posting again).
    """
    by_event = {r.event_id: r for r in stored}
    by_sequence = {r.sequence: r for r in by_event.values()}
    new = []
    for row in rows:
        old = by_event.get(row.event_id)
        if old is not None:
            if old != row:
                raise ValidationError(
                    f"ledger {row.account_id!r} already holds event_id {row.event_id!r} "
                    f"with other values (sequence {old.sequence}, {old.kind}, "
                    f"{old.points} points): an idempotency key is posted once",
                    field="event_id",
                    value=row.event_id,
                )
            continue
        taken = by_sequence.get(row.sequence)
        if taken is not None:
            raise ValidationError(
                f"ledger {row.account_id!r} already holds sequence {row.sequence} "
                f"(event_id {taken.event_id!r}); append the entries PointsLedger made after it",
                field="sequence",
                value=row.sequence,
            )
        new.append(row)
    return new


def decode_entry(row: Sequence[Any]) -> LedgerEntry:
    """Rebuild a ``LedgerEntry`` from a :class:`LedgerRow`-shaped tuple."""
    from crmcore.loyalty import LedgerEntry  # noqa: PLC0415 -- loyalty loads on first use

    r = LedgerRow(*row)
    return LedgerEntry(
        sequence=r.sequence,
        event_id=r.event_id,
        kind=r.kind,  # type: ignore[arg-type]
        at=from_micros(r.at_us, r.at_tz),
        points=r.points,
        order_id=r.order_id,
        spend_minor=r.spend_minor,
        expires_at=None
        if r.expires_us is None or r.expires_tz is None
        else from_micros(r.expires_us, r.expires_tz),
    )


def row_event(row: LedgerRow, actor: str | None) -> LedgerEntryPosted:
    """Return the :class:`~crmcore.domain.LedgerEntryPosted` recorded with a new entry.

    Its id is derived from the idempotency key (a UUID 5), so the same
    entry always has the same event id.
    """
    return LedgerEntryPosted(
        decode_id(row.account_id),
        row.sequence,
        row.event_id,
        row.kind,
        from_micros(row.at_us, row.at_tz),
        row.points,
        row.order_id,
        row.spend_minor,
        None
        if row.expires_us is None or row.expires_tz is None
        else from_micros(row.expires_us, row.expires_tz),
        actor,
        id=uuid.uuid5(_EVENT_NAMESPACE, f"{row.account_id}\x00{row.event_id}"),
    )


def ledger_frame(rows: Sequence[Sequence[Any]]) -> pd.DataFrame:
    """Rows (in :class:`LedgerRow` order) -> the entries frame ``ledger_balances`` takes."""
    cols = list(zip(*rows, strict=True)) if rows else [() for _ in LedgerRow._fields]
    r = dict(zip(LedgerRow._fields, cols, strict=True))

    def instants(values: Sequence[Any]) -> pd.DatetimeIndex:
        arr = np.array([NAT if v is None else v for v in values], dtype=np.int64)
        return timestamps(arr, dt.UTC, unit="us")

    return pd.DataFrame(
        {
            "account_id": pd.array(np.array(r["account_id"], dtype=object), dtype=_STRING),
            "sequence": np.array(r["sequence"], dtype=np.int64),
            "event_id": pd.array(np.array(r["event_id"], dtype=object), dtype=_STRING),
            "kind": pd.array(np.array(r["kind"], dtype=object), dtype=_STRING),
            "at": instants(r["at_us"]),
            "points": np.array(r["points"], dtype=np.int64),
            "order_id": pd.array(np.array(r["order_id"], dtype=object), dtype=_STRING),
            "spend_minor": np.array(r["spend_minor"], dtype=np.int64),
            "expires_at": instants(r["expires_us"]),
        }
    )
