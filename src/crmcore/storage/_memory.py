"""``InMemoryStore``: the shipped, first-class test double.

Semantics are those of :class:`~crmcore.storage.SqlStore`, checked by the same
contract tests: entities are validated and normalised exactly as the SQL
store would (datetimes returned in UTC, ``custom`` re-frozen from JSON, NaN
and naive datetimes refused), ``update`` checks versions, every call outside a
unit of work is atomic, and a unit of work stages its changes privately and
applies them all at once on commit after re-checking the versions it saw
(optimistic concurrency: a concurrent commit in between makes the later one
raise :class:`~crmcore.errors.ConcurrencyConflict`, nothing half-applied),
together with its ledger rows and its recorded events.
Thread safe; not shared between processes.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any, Generic, TypeVar

import attrs
import pandas as pd

from crmcore.domain import Order
from crmcore.errors import ConcurrencyConflict, NotFound, ValidationError
from crmcore.storage._aggregates import (
    SCHEMA_VERSION,
    AggregateSpec,
    Layout,
    check_specs,
    default_aggregates,
    layout,
)
from crmcore.storage._bulk import FrameEncoder, at_row, check_frame, chunks
from crmcore.storage._eventcodec import EventRecord
from crmcore.storage._filters import check_batch, check_page, resolve_order
from crmcore.storage._frame import FrameBuilder, frame_columns
from crmcore.storage._memory_events import EventState, MemoryEventLog, MemoryLedger, MemoryOutbox
from crmcore.storage._normal import resolve
from crmcore.storage._predicates import compile_predicate, sort_entities
from crmcore.storage._protocols import OrderRepository, RepositoryAccess, Store, Versioned
from crmcore.storage._references import memory_check, references_of
from crmcore.storage._uow import EventHandler, UnitOfWork

__all__ = ["InMemoryStore"]

E = TypeVar("E", bound=Versioned)
_DELETED: Any = object()
_MISSING: Any = object()


class _State:
    """Committed data of one store: aggregate -> encoded id -> entity."""

    def __init__(self, names: Iterable[str]) -> None:
        self.lock = threading.RLock()
        self.tables: dict[str, dict[Any, Any]] = {name: {} for name in names}
        self.events = EventState(self.lock)
        #: locks units of work hold by name (UnitOfWork._hold), made on first use
        self.named: dict[str, threading.Lock] = {}


class _Session:
    """Where a repository reads and writes.

    The committed state, plus a private overlay inside a unit of work.
    """

    def __init__(self, state: _State, staged: bool) -> None:
        self.state = state
        self.staged: dict[str, dict[Any, Any]] | None = {} if staged else None
        self.expected: dict[tuple[str, Any], Any] = {}

    def read(self, name: str, key: Any) -> Any:
        if self.staged is not None:
            value = self.staged.get(name, {}).get(key, _MISSING)
            if value is not _MISSING:
                return None if value is _DELETED else value
        return self.state.tables[name].get(key)

    def scan(self, name: str) -> list[Any]:
        with self.state.lock:
            committed = dict(self.state.tables[name])
        if self.staged is not None:
            for key, value in self.staged.get(name, {}).items():
                if value is _DELETED:
                    committed.pop(key, None)
                else:
                    committed[key] = value
        return list(committed.values())

    def write(self, changes: Sequence[tuple[str, Any, Any, Any]]) -> None:
        """Apply ``(aggregate, key, new entity or _DELETED, expected current)``.

        ``expected`` is the entity the caller based the change on (None: the
        key must be free); checked again at commit time in a unit of work.
        """
        if self.staged is None:
            with self.state.lock:
                for name, key, _, expected in changes:
                    _check_current(name, key, self.state.tables[name].get(key), expected)
                for name, key, value, _ in changes:
                    _apply(self.state.tables[name], key, value)
            return
        for name, key, value, expected in changes:
            self.expected.setdefault((name, key), expected)
            self.staged.setdefault(name, {})[key] = value

    def check(self) -> None:
        """Re-check the versions this session based its changes on (under the lock)."""
        for (name, key), expected in self.expected.items():
            _check_current(name, key, self.state.tables[name].get(key), expected)

    def apply(self) -> None:
        """Apply the staged changes (under the lock, after :meth:`check`)."""
        for name, changes in (self.staged or {}).items():
            table = self.state.tables[name]
            for key, value in changes.items():
                _apply(table, key, value)
        self.rollback()

    def rollback(self) -> None:
        if self.staged is not None:
            self.staged = {}
            self.expected = {}


def _version(entity: Any) -> int | None:
    return None if entity is None else int(entity.version)


def _check_current(name: str, key: Any, current: Any, expected: Any) -> None:
    if _version(current) == _version(expected):
        return
    if expected is None:
        raise ValidationError(
            f"{name}: a record with id {key!r} already exists", field="id", value=key
        )
    raise ConcurrencyConflict(
        name, expected.id, expected_version=int(expected.version), actual_version=_version(current)
    )


def _apply(table: dict[Any, Any], key: Any, value: Any) -> None:
    if value is _DELETED:
        table.pop(key, None)
    else:
        table[key] = value


class MemoryRepository(Generic[E]):
    """Repository of one aggregate in an :class:`InMemoryStore` (see the Protocols)."""

    def __init__(
        self, layout: Layout, session: _Session, layouts: dict[str, Layout] | None = None
    ) -> None:
        self._layout = layout
        self._name = layout.name
        self._codec = layout.codec("memory")
        self._session = session
        self._refs = references_of(layout, self._codec.columns)
        self._layouts = layouts or {}

    def _exists(self, target: str, id: Any) -> bool:
        key = self._layouts[target].codec("memory").encode_id(id)
        return self._session.read(target, key) is not None

    def _check_references(self, entities: Sequence[Any]) -> None:
        memory_check(self._name, self._refs, entities, self._exists)

    def __repr__(self) -> str:
        return f"<InMemoryStore repository {self._name!r}>"

    def _normalise(self, entity: Any) -> Any:
        return self._codec.decode(self._codec.encode(entity))

    def _key(self, id: Any) -> Any:
        return self._codec.encode_id(id)

    def add(self, entity: E) -> E:
        stored = self._normalise(entity)
        key = self._key(stored.id)
        current = self._session.read(self._name, key)
        if current is not None:
            raise ValidationError(
                f"{self._name}: a record with id {stored.id!r} already exists",
                field="id",
                value=stored.id,
            )
        self._check_references([stored])
        self._session.write([(self._name, key, stored, None)])
        return stored  # type: ignore[no-any-return]

    def get(self, id: Any) -> E:
        entity = self._session.read(self._name, self._key(id))
        if entity is None:
            raise NotFound(self._name, id)
        return entity  # type: ignore[no-any-return]

    def find(self, id: Any) -> E | None:
        return self._session.read(self._name, self._key(id))  # type: ignore[no-any-return]

    def update(self, entity: E) -> E:
        key = self._key(entity.id)
        version = entity.version
        current = self._session.read(self._name, key)
        if current is None:
            raise NotFound(self._name, entity.id)
        if current.version != version:
            raise ConcurrencyConflict(
                self._name,
                entity.id,
                expected_version=version,
                actual_version=current.version,
            )
        stored = self._normalise(attrs.evolve(entity, version=version + 1))  # type: ignore[misc]
        self._check_references([stored])
        self._session.write([(self._name, key, stored, current)])
        return stored  # type: ignore[no-any-return]

    def update_many(self, entities: Iterable[E], *, batch_size: int = 10_000) -> int:
        check_batch(batch_size)
        changes = []
        seen: set[Any] = set()
        for entity in entities:
            key = self._key(entity.id)
            version = entity.version
            current = self._session.read(self._name, key)
            if current is None:
                raise NotFound(self._name, entity.id)
            if key in seen:  # the second copy is stale: the first moved the version on
                version_now = version + 1 if current.version == version else current.version
                raise ConcurrencyConflict(
                    self._name, entity.id, expected_version=version, actual_version=version_now
                )
            if current.version != version:
                raise ConcurrencyConflict(
                    self._name,
                    entity.id,
                    expected_version=version,
                    actual_version=current.version,
                )
            seen.add(key)
            new = attrs.evolve(entity, version=version + 1)  # type: ignore[misc]
            changes.append((self._name, key, self._normalise(new), current))
        self._check_references([c[2] for c in changes])
        self._session.write(changes)
        return len(changes)

    def remove(self, id: Any, *, expected_version: int | None = None) -> None:
        key = self._key(id)
        current = self._session.read(self._name, key)
        if current is None:
            raise NotFound(self._name, id)
        if expected_version is not None and current.version != expected_version:
            raise ConcurrencyConflict(
                self._name, id, expected_version=expected_version, actual_version=current.version
            )
        self._session.write([(self._name, key, _DELETED, current)])

    def add_many(self, entities: Iterable[E], *, batch_size: int = 10_000) -> int:
        check_batch(batch_size)
        changes = []
        seen: set[Any] = set()
        for entity in entities:
            stored = self._normalise(entity)
            key = self._key(stored.id)
            if key in seen or self._session.read(self._name, key) is not None:
                raise ValidationError(
                    f"{self._name}: a record with id {stored.id!r} already exists",
                    field="id",
                    value=stored.id,
                )
            seen.add(key)
            changes.append((self._name, key, stored, None))
        self._check_references([c[2] for c in changes])
        self._session.write(changes)
        return len(changes)

    def add_frame(self, frame: pd.DataFrame, *, batch_size: int = 10_000) -> int:
        check_batch(batch_size)
        frame = check_frame(frame, self._name)
        encoder = FrameEncoder(self._layout.entity, self._codec, self._name)
        encoder.check_columns(frame)
        changes = []
        seen: set[Any] = set()
        decode = self._codec.decode
        for part in chunks(frame, batch_size):
            for label, row in zip(part.index, encoder.encode(part), strict=True):
                stored = decode(row)
                key = self._key(stored.id)
                if key in seen or self._session.read(self._name, key) is not None:
                    raise at_row(
                        ValidationError(
                            f"{self._name}: a record with id {stored.id!r} already exists",
                            field="id",
                            value=stored.id,
                        ),
                        label,
                    )
                seen.add(key)
                changes.append((self._name, key, stored, None))
        self._check_references([c[2] for c in changes])
        self._session.write(changes)
        return len(changes)

    def _select(self, where: Any, order_by: Any, limit: Any, offset: Any) -> list[Any]:
        fields = self._layout.by_name
        tree = resolve(fields, where, self._name)
        order = resolve_order(fields, order_by, self._name)
        limit, offset = check_page(limit, offset)
        rows = self._session.scan(self._name)
        if tree is not None:
            keep: Callable[[Any], bool] = compile_predicate(tree)
            rows = [e for e in rows if keep(e)]
        rows = sort_entities(rows, order, self._codec.encode_id)
        stop = None if limit is None else offset + limit
        return rows[offset:stop]

    def query(
        self,
        where: Any = None,
        *,
        order_by: str | Sequence[str] | None = None,
        limit: int | None = None,
        offset: int = 0,
    ) -> list[E]:
        return self._select(where, order_by, limit, offset)

    def count(self, where: Any = None) -> int:
        return len(self._select(where, None, None, 0))

    def to_frame(
        self,
        columns: Sequence[str] | None = None,
        *,
        where: Any = None,
        order_by: str | Sequence[str] | None = None,
        batch_size: int = 50_000,
    ) -> pd.DataFrame:
        check_batch(batch_size)
        chosen = frame_columns(self._layout.fields, columns, self._name)
        entities = self._select(where, order_by, None, 0)
        encode = self._layout.codec("sqlite").encode
        codec_columns = self._layout.codec("sqlite").columns
        positions = [codec_columns.index(c[1]) for c in chosen]
        builder = FrameBuilder(chosen)
        for start in range(0, len(entities), batch_size):
            chunk = [encode(e) for e in entities[start : start + batch_size]]
            builder.add_rows([_frame_row(row, positions, chosen) for row in chunk])
        return builder.build()


def _frame_row(
    row: Sequence[Any], positions: Sequence[int], chosen: Sequence[Any]
) -> tuple[Any, ...]:
    out = []
    for pos, column in zip(positions, chosen, strict=True):
        value = row[pos]
        if value is not None and column[2].value == "decimal":
            value = float(value)
        out.append(value)
    return tuple(out)


class _MemoryUnitOfWork(UnitOfWork):
    def __init__(
        self, store: InMemoryStore, on_commit: EventHandler | Sequence[EventHandler]
    ) -> None:
        super().__init__(on_commit=on_commit)
        self._state = store._state
        self._session = _Session(store._state, staged=True)
        self._repositories = store._repositories_for(self._session)
        self._ledger = MemoryLedger(store._state.events, self)
        self._held: dict[str, threading.Lock] = {}

    def repository(self, name: str) -> MemoryRepository[Any]:
        """Return the repository of aggregate ``name`` inside this unit of work."""
        self._require_active()
        return _lookup(self._repositories, name)

    @property
    def loyalty_ledger(self) -> MemoryLedger:
        """Loyalty ledgers, inside this unit of work."""
        self._require_active()
        return self._ledger

    def _commit(self, records: tuple[EventRecord, ...]) -> None:
        events = self._state.events
        with self._state.lock:  # everything checked first, then applied: all or nothing
            self._session.check()
            self._ledger.check_staged()
            events.check_new_events(records)
            self._session.apply()
            self._ledger.apply_staged()
            events.append(records)
        self._release()

    def _rollback(self) -> None:
        self._session.rollback()
        self._ledger.staged = []
        self._release()

    def _close(self) -> None:
        self._release()

    def _hold(self, name: str) -> None:
        self._require_active()
        if name in self._held:
            return
        with self._state.lock:
            lock = self._state.named.setdefault(name, threading.Lock())
        lock.acquire()
        self._held[name] = lock

    def _release(self) -> None:
        held, self._held = self._held, {}
        for lock in held.values():
            lock.release()


def _lookup(repos: dict[str, MemoryRepository[Any]], name: str) -> MemoryRepository[Any]:
    try:
        return repos[name]
    except KeyError:
        raise AttributeError(f"this store has no aggregate {name!r}") from None


class InMemoryStore(RepositoryAccess):
    """A complete store held in memory: the shipped test double.

    Same surface and semantics as :class:`SqlStore` (repositories, version
    checks, units of work with rollback, filters, ``to_frame``), so tests of
    code written against the repository Protocols can run on it unchanged.

    Parameters
    ----------
    aggregates : sequence of AggregateSpec, optional
        What to store; default: every domain aggregate (:func:`default_aggregates`).

    Examples
    --------
    >>> import datetime as dt
    >>> from crmcore.domain import Customer
    >>> from crmcore.storage import InMemoryStore
    >>> store = InMemoryStore()
    >>> at = dt.datetime(2026, 1, 5, 9, 0, tzinfo=dt.UTC)
    >>> store.customers.add(Customer(id="c1", name="Ada", created_at=at)).version
    0
    >>> store.customers.update(store.customers.get("c1")).version
    1
    >>> [c.id for c in store.customers.query(where={"name__contains": "Ad"})]
    ['c1']
    """

    def __init__(self, *, aggregates: Sequence[AggregateSpec] | None = None) -> None:
        specs = default_aggregates() if aggregates is None else check_specs(aggregates)
        self._layouts = {s.name: layout(s) for s in specs}
        self._state = _State(self._layouts)
        self._repositories = self._repositories_for(_Session(self._state, staged=False))
        self.events = MemoryEventLog(self._state.events)
        """The event history (see :class:`~crmcore.storage.EventStore`)."""
        self.outbox = MemoryOutbox(self._state.events, self.events)
        """Consumers reading the event history (see :class:`~crmcore.storage.Outbox`)."""
        self.loyalty_ledger = MemoryLedger(self._state.events)
        """Loyalty ledgers (see :class:`~crmcore.storage.LedgerRepository`)."""

    def _repositories_for(self, session: _Session) -> dict[str, MemoryRepository[Any]]:
        return {
            name: MemoryRepository[Any](lay, session, self._layouts)
            for name, lay in self._layouts.items()
        }

    def __repr__(self) -> str:
        return f"InMemoryStore(aggregates={list(self._layouts)})"

    def create_schema(self) -> None:
        """Do nothing (present so code written for :class:`SqlStore` runs unchanged)."""

    def upgrade_schema(self) -> int:
        """Do nothing and return ``SCHEMA_VERSION`` (code written for :class:`SqlStore` runs)."""
        return SCHEMA_VERSION

    def unit_of_work(self, *, on_commit: EventHandler | Sequence[EventHandler] = ()) -> UnitOfWork:
        """Start a unit of work (use it in a ``with`` block; commit explicitly).

        Parameters
        ----------
        on_commit : callable or sequence of callables, optional
            Called after each successful commit with that commit's events.
        """
        return _MemoryUnitOfWork(self, on_commit)

    def repository(self, name: str) -> MemoryRepository[Any]:
        """Return the repository of aggregate ``name`` (also available as an attribute)."""
        return _lookup(self._repositories, name)

    def __iter__(self) -> Iterator[str]:
        return iter(self._layouts)


def _conforms(repo: MemoryRepository[Order]) -> OrderRepository:
    """Let mypy check that the in-memory repository satisfies the Protocol."""
    return repo


def _store_conforms(store: InMemoryStore) -> Store:
    """Let mypy check that the store satisfies the Store Protocol."""
    return store
