"""The in-memory event log, outbox and loyalty ledger (behind ``InMemoryStore``).

Everything lives in the store's :class:`EventState` and changes under the
store's lock, so a commit applies entity changes, ledger rows and events
at once (see ``_MemoryUnitOfWork``).  Records are kept encoded (the same
:class:`~crmcore.storage._eventcodec.EventRecord` the SQL store writes) and
decoded on every read, so both stores return equal, fresh objects.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator, Sequence
from typing import TYPE_CHECKING, Any

from crmcore.errors import ValidationError
from crmcore.storage._engagement import ENGAGEMENT_TEXT
from crmcore.storage._eventcodec import (
    EventCriteria,
    EventRecord,
    StoredEvent,
    decode_event,
    encode_event,
    from_micros,
)
from crmcore.storage._eventlog import EventLogBase, OutboxBase
from crmcore.storage._json import dumps, loads
from crmcore.storage._ledger import LedgerBase
from crmcore.storage._ledger_codec import LedgerRow, check_new_rows, row_event

if TYPE_CHECKING:
    from crmcore.storage._uow import UnitOfWork

__all__ = ["EventState", "MemoryEventLog", "MemoryLedger", "MemoryOutbox"]


class EventState:
    """Committed events, consumer cursors and ledger rows of one in-memory store."""

    def __init__(self, lock: threading.RLock) -> None:
        self.lock = lock
        self.records: list[EventRecord] = []  # position p is records[p - 1]
        self.positions: dict[str, int] = {}  # event id -> position
        self.by_entity: dict[str, list[int]] = {}
        self.consumers: dict[str, int] = {}
        self.ledger: dict[str, dict[str, LedgerRow]] = {}  # account -> event_id -> row

    # ---------------------------------------------------------- called under the lock
    def check_new_events(self, records: Sequence[EventRecord]) -> None:
        """Refuse records whose id is stored already (nothing appended)."""
        for record in records:
            if record.id in self.positions:
                raise ValidationError(
                    f"events: an event with id {record.id!r} is stored already",
                    field="id",
                    value=record.id,
                )

    def append(self, records: Sequence[EventRecord]) -> tuple[int, ...]:
        """Append checked records; return their positions."""
        out: list[int] = []
        for record in records:
            self.records.append(record)
            position = len(self.records)
            self.positions[record.id] = position
            for key in dict.fromkeys((record.entity_id, *record.related)):
                self.by_entity.setdefault(key, []).append(position)
            out.append(position)
        return tuple(out)

    def stored_rows(self, rows: Sequence[LedgerRow]) -> list[LedgerRow]:
        """Return stored rows of these ledgers sharing an event id or sequence with ``rows``."""
        out: list[LedgerRow] = []
        for account in {r.account_id for r in rows}:
            ledger = self.ledger.get(account, {})
            events = {r.event_id for r in rows if r.account_id == account}
            sequences = {r.sequence for r in rows if r.account_id == account}
            out.extend(
                row
                for row in ledger.values()
                if row.event_id in events or row.sequence in sequences
            )
        return out

    def insert_rows(self, rows: Sequence[LedgerRow]) -> None:
        """Store checked ledger rows."""
        for row in rows:
            self.ledger.setdefault(row.account_id, {})[row.event_id] = row


def _decode(position: int, record: EventRecord) -> StoredEvent:
    return StoredEvent(
        position,
        decode_event(
            id=record.id,
            type=record.type,
            entity_type=record.entity_type,
            entity_id=record.entity_id,
            at=from_micros(record.at_us, record.at_tz),
            actor=record.actor,
            payload=record.payload,
            related=record.related_text,
        ),
    )


def _fragment(payload: str, key: str) -> str | None:
    data = loads(payload)
    if not isinstance(data, dict) or key not in data or data[key] is None:
        return None
    return dumps(data[key])


class MemoryEventLog(EventLogBase):
    """``store.events`` of an :class:`~crmcore.storage.InMemoryStore`."""

    def __init__(self, state: EventState) -> None:
        self._state = state

    def __repr__(self) -> str:
        return "<InMemoryStore events>"

    def _matching(self, crit: EventCriteria) -> Iterator[tuple[int, EventRecord]]:
        state = self._state
        with state.lock:
            records = list(state.records)
            if crit.entities is not None:
                candidates = sorted(
                    {p for key in crit.entities for p in state.by_entity.get(key, ())}
                )
            else:
                start = crit.after or 0
                candidates = list(range(start + 1, len(records) + 1))
        for position in candidates:
            record = records[position - 1]
            if crit.matches(record, position):
                yield position, record

    def _limited(self, crit: EventCriteria) -> list[tuple[int, EventRecord]]:
        out: list[tuple[int, EventRecord]] = []
        for item in self._matching(crit):
            if crit.limit is not None and len(out) >= crit.limit:
                break
            out.append(item)
        return out

    def _append_records(self, records: Sequence[EventRecord]) -> tuple[int, ...]:
        with self._state.lock:
            self._state.check_new_events(records)
            return self._state.append(records)

    def _append_batches(self, batches: Iterable[Sequence[EventRecord]]) -> int:
        records = [r for batch in batches for r in batch]
        seen: set[str] = set()
        for record in records:  # across batches too: nothing is appended on a repeat
            if record.id in seen:
                raise ValidationError(
                    f"events: the id {record.id!r} appears twice in one append",
                    field="id",
                    value=record.id,
                )
            seen.add(record.id)
        self._append_records(records)
        return len(records)

    def _select(self, crit: EventCriteria) -> list[StoredEvent]:
        return [_decode(p, r) for p, r in self._limited(crit)]

    def _count(self, crit: EventCriteria) -> int:
        return sum(1 for _ in self._matching(crit))

    def _find_text(self, id_text: str) -> StoredEvent | None:
        with self._state.lock:
            position = self._state.positions.get(id_text)
            record = None if position is None else self._state.records[position - 1]
        return None if position is None or record is None else _decode(position, record)

    def _frame_chunks(
        self, crit: EventCriteria, keys: tuple[str, ...], batch_size: int
    ) -> Iterator[Sequence[Sequence[Any]]]:
        rows = [
            (
                p,
                r.id,
                r.type,
                r.entity_type,
                r.entity_id,
                r.at_us,
                r.actor,
                r.payload,
                *(_fragment(r.payload, k) for k in keys),
            )
            for p, r in self._limited(crit)
        ]
        for start in range(0, len(rows), batch_size):
            yield rows[start : start + batch_size]

    def _engagement_chunks(
        self, crit: EventCriteria, properties: tuple[str, ...], batch_size: int
    ) -> Iterator[Sequence[Sequence[Any]]]:
        rows = []
        for _, r in self._limited(crit):
            data = loads(r.payload)
            extra = data.get("properties") or {}
            rows.append(
                (
                    r.id,
                    r.at_us,
                    *(data.get(k) for k in ENGAGEMENT_TEXT),
                    *(None if extra.get(k) is None else dumps(extra[k]) for k in properties),
                )
            )
        for start in range(0, len(rows), batch_size):
            yield rows[start : start + batch_size]

    def _latest_rows(self, crit: EventCriteria, keys: tuple[str, ...]) -> list[Sequence[Any]]:
        best: dict[str, tuple[int, int, EventRecord]] = {}
        for position, record in self._matching(crit):
            current = best.get(record.entity_id)
            if current is None or (record.at_us, position) > (current[0], current[1]):
                best[record.entity_id] = (record.at_us, position, record)
        return [
            (entity, position, at_us, r.actor, *(_fragment(r.payload, k) for k in keys))
            for entity, (at_us, position, r) in best.items()
        ]

    def last_position(self) -> int:
        """Return the position of the last committed event (0 when there is none)."""
        with self._state.lock:
            return len(self._state.records)


class MemoryOutbox(OutboxBase):
    """``store.outbox`` of an :class:`~crmcore.storage.InMemoryStore`."""

    def __init__(self, state: EventState, events: MemoryEventLog) -> None:
        super().__init__(events)
        self._state = state

    def __repr__(self) -> str:
        return "<InMemoryStore outbox>"

    def _read_cursor(self, consumer: str) -> int:
        with self._state.lock:
            return self._state.consumers.get(consumer, 0)

    def _write_cursor(self, consumer: str, position: int, *, forward_only: bool) -> None:
        with self._state.lock:
            current = self._state.consumers.get(consumer, 0)
            self._state.consumers[consumer] = max(current, position) if forward_only else position

    def consumers(self) -> dict[str, int]:
        """Return every consumer's cursor."""
        with self._state.lock:
            return dict(sorted(self._state.consumers.items()))


class MemoryLedger(LedgerBase):
    """``store.loyalty_ledger`` of an :class:`~crmcore.storage.InMemoryStore`.

    Inside a unit of work new rows are staged and their events recorded on
    the unit of work; the commit re-checks and applies both at once.
    """

    def __init__(self, state: EventState, uow: UnitOfWork | None = None) -> None:
        self._state = state
        self._uow = uow
        self.staged: list[LedgerRow] = []

    def __repr__(self) -> str:
        return "<InMemoryStore loyalty_ledger>"

    def _store_new(self, rows: Sequence[LedgerRow], actor: str | None) -> int:
        state = self._state
        if self._uow is not None:
            with state.lock:
                stored = state.stored_rows(rows)
            staged = [r for r in self.staged if r.account_id in {x.account_id for x in rows}]
            new = check_new_rows(rows, [*stored, *staged])
            events = [row_event(r, actor) for r in new]
            self._uow.record(*events)
            self.staged.extend(new)
            return len(new)
        with state.lock:
            new = check_new_rows(rows, state.stored_rows(rows))
            records = [encode_event(row_event(r, actor)) for r in new]
            state.check_new_events(records)
            state.insert_rows(new)
            state.append(records)
        return len(new)

    def check_staged(self) -> None:
        """Refuse to commit if a staged row was stored meanwhile (called under the lock)."""
        if self.staged:
            still_new = check_new_rows(self.staged, self._state.stored_rows(self.staged))
            if len(still_new) != len(self.staged):
                raise ValidationError(
                    "loyalty_ledger: an entry of this unit of work was stored by another "
                    "one meanwhile; nothing was committed",
                    field="event_id",
                )

    def apply_staged(self) -> None:
        """Store the staged rows (after :meth:`check_staged` passed)."""
        self._state.insert_rows(self.staged)
        self.staged = []

    def _rows(self, account: str | None) -> list[tuple[Any, ...]]:
        with self._state.lock:
            ledgers = (
                {account: self._state.ledger.get(account, {})}
                if account is not None
                else dict(self._state.ledger)
            )
            rows = [row for ledger in ledgers.values() for row in ledger.values()]
        if self._uow is not None:
            rows.extend(r for r in self.staged if account is None or r.account_id == account)
        rows.sort(key=lambda r: (r.account_id, r.sequence))
        return [tuple(r) for r in rows]

    def _count(self, account: str | None) -> int:
        return len(self._rows(account))
