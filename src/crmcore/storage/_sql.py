"""``SqlStore``: repositories on SQLAlchemy Core (SQLite, PostgreSQL).

No ORM: every row is converted explicitly by the aggregate's
:class:`~crmcore.storage._codec.RowCodec` (``from_row`` is
``RowCodec.decode``).  Each repository call outside a unit of work is one
transaction; inside one, calls share the unit of work's transaction and each
write runs in a savepoint, so a refused write (a duplicate id, a stale
version) leaves the rest of the unit of work intact.
"""

from __future__ import annotations

import contextlib
import itertools
import threading
from collections.abc import Iterable, Iterator, Sequence
from typing import Any, Generic, TypeVar

import attrs
import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from crmcore.domain import Order
from crmcore.errors import (
    ConcurrencyConflict,
    NotFound,
    SchemaVersionError,
    StoreUnavailable,
    ValidationError,
)
from crmcore.storage._aggregates import (
    AggregateSpec,
    Layout,
    check_specs,
    default_aggregates,
    layout,
)
from crmcore.storage._bulk import FrameEncoder, check_frame, chunks, duplicate_at_row
from crmcore.storage._eventcodec import EventRecord
from crmcore.storage._filters import check_batch, check_page, resolve_order
from crmcore.storage._frame import FrameBuilder, frame_columns
from crmcore.storage._normal import resolve
from crmcore.storage._protocols import OrderRepository, RepositoryAccess, Store, Versioned
from crmcore.storage._references import references_of, sql_check
from crmcore.storage._sql_events import EventTables, SqlEventLog, SqlLedger, SqlOutbox
from crmcore.storage._sqlquery import compile_where, frame_expression, order_clauses, raw_chunks
from crmcore.storage._sqlschema import (
    ALEMBIC_TABLE,
    EVENT_TABLE_NAMES,
    SCHEMA_TABLE,
    SCHEMA_VERSION,
    build_metadata,
    check_layout,
    check_schema_version,
    configure_engine,
    create_indexes,
    dialect_of,
    drop_indexes,
    lock_name,
    lock_schema,
    outdated_error,
    read_schema_version,
)
from crmcore.storage._uow import EventHandler, UnitOfWork

__all__ = ["SqlRepository", "SqlStore"]

E = TypeVar("E", bound=Versioned)
_BULK_CACHE_KIB = 65_536  # page cache while add_many runs (SQLite)


class _Transactions:
    """Hands out connections: one transaction per call, or the unit of work's."""

    def __init__(self, store: SqlStore, uow: _SqlUnitOfWork | None = None) -> None:
        self.store = store
        self.uow = uow

    @contextlib.contextmanager
    def __call__(self, *, write: bool) -> Iterator[sa.Connection]:
        self.store._require_schema()
        if self.uow is not None:
            conn = self.uow._connection()
            if write:
                with conn.begin_nested():
                    yield conn
            else:
                yield conn
            return
        with self.store.engine.connect() as conn:
            if write:
                conn.execution_options(crmcore_write=True)
            with conn.begin():
                yield conn


class SqlRepository(Generic[E]):
    """Repository of one aggregate in a :class:`SqlStore` (see the Protocols)."""

    def __init__(
        self, layout: Layout, table: sa.Table, store: SqlStore, tx: _Transactions
    ) -> None:
        self._layout = layout
        self._name = layout.name
        self._table = table
        self._dialect = store.dialect
        self._codec = layout.codec(store.dialect)
        self._memory = layout.codec("memory")
        self._tx = tx
        self._refs = references_of(layout, self._codec.columns)
        self._tables = store._tables
        self._select_all = sa.select(*(table.c[c] for c in self._codec.columns))
        self._raw_insert: str | None = None
        if self._dialect == "sqlite":  # bulk path: plain DB-API executemany over tuples
            quote = store.engine.dialect.identifier_preparer.quote
            names = ", ".join(quote(c) for c in self._codec.columns)
            marks = ", ".join("?" for _ in self._codec.columns)
            self._raw_insert = f"INSERT INTO {quote(table.name)} ({names}) VALUES ({marks})"  # noqa: S608 -- identifiers from the entity definition, quoted

    def __repr__(self) -> str:
        return f"<SqlStore repository {self._name!r}>"

    # -------------------------------------------------------------- helpers
    def _params(self, row: Sequence[Any]) -> dict[str, Any]:
        return dict(zip(self._codec.columns, row, strict=True))

    def _current_version(self, conn: sa.Connection, key: Any) -> int | None:
        version = conn.execute(
            sa.select(self._table.c.version).where(self._table.c.id == key)
        ).scalar_one_or_none()
        return None if version is None else int(version)

    def _duplicate(self, conn: sa.Connection, rows: Sequence[Sequence[Any]]) -> ValidationError:
        """Name the first id of ``rows`` that exists already (or repeats within rows)."""
        keys = [self._codec.id_of(r) for r in rows]
        seen: set[Any] = set()
        for key in keys:
            if key in seen:
                return self._exists(key)
            seen.add(key)
        for start in range(0, len(keys), 5_000):
            chunk = keys[start : start + 5_000]
            found = set(
                conn.execute(
                    sa.select(self._table.c.id).where(self._table.c.id.in_(chunk))
                ).scalars()
            )
            for key in chunk:
                if key in found:
                    return self._exists(key)
        return ValidationError(f"{self._name}: the records violate a database constraint")

    def _check_references(self, conn: sa.Connection, rows: Sequence[Sequence[Any]]) -> None:
        if self._refs:
            sql_check(conn, self._name, self._refs, rows, self._tables, self._codec.id_of)

    def _exists(self, key: Any) -> ValidationError:
        return ValidationError(
            f"{self._name}: a record with id {key!r} already exists", field="id", value=key
        )

    # -------------------------------------------------------------- writes
    def add(self, entity: E) -> E:
        row = self._codec.encode(entity)
        try:
            with self._tx(write=True) as conn:
                self._check_references(conn, [row])
                conn.execute(sa.insert(self._table), [self._params(row)])
        except sa.exc.IntegrityError:
            raise self._exists(self._codec.id_of(row)) from None
        return self._memory.decode(self._memory.encode(entity))  # type: ignore[no-any-return]

    def add_many(self, entities: Iterable[E], *, batch_size: int = 10_000) -> int:
        check_batch(batch_size)
        encode = self._codec.encode
        total = 0
        rest = iter(entities)
        with self._tx(write=True) as conn, self._bulk_cache(conn):
            # a batch is encoded by one comprehension (no per-entity append and length test)
            while batch := [encode(entity) for entity in itertools.islice(rest, batch_size)]:
                self._insert_rows(conn, batch)
                total += len(batch)
        return total

    def add_frame(self, frame: pd.DataFrame, *, batch_size: int = 10_000) -> int:
        check_batch(batch_size)
        frame = check_frame(frame, self._name)
        encoder = FrameEncoder(self._layout.entity, self._codec, self._name)
        encoder.check_columns(frame)
        total = 0
        with (
            self._tx(write=True) as conn,
            self._bulk_cache(conn),
            self._indexes_after(conn),
        ):
            for part in chunks(frame, batch_size):
                rows = encoder.encode(part)
                try:
                    self._insert_rows(conn, rows)
                except ValidationError as exc:
                    raise duplicate_at_row(exc, rows, part.index, self._codec) from None
                total += len(rows)
        return total

    def _insert_rows(self, conn: sa.Connection, rows: list[tuple[Any, ...]]) -> None:
        """Insert encoded rows in one savepoint; a refused batch names its duplicate id."""
        self._check_references(conn, rows)
        try:
            # a savepoint per batch: a refused batch leaves no rows behind and
            # the transaction usable for naming the culprit
            with conn.begin_nested():
                if self._raw_insert is not None:
                    # SQLite: the DB-API cursor's executemany over plain tuples, inside
                    # SQLAlchemy's transaction (Core's executemany builds a dict per row)
                    conn.exec_driver_sql(self._raw_insert, rows)
                else:
                    columns = self._codec.columns
                    conn.execute(
                        sa.insert(self._table), [dict(zip(columns, r, strict=True)) for r in rows]
                    )
        except sa.exc.IntegrityError:
            raise self._duplicate(conn, rows) from None

    @contextlib.contextmanager
    def _bulk_cache(self, conn: sa.Connection) -> Iterator[None]:
        """On SQLite, a larger page cache while loading: index pages stay in memory."""
        if self._dialect != "sqlite":
            yield
            return
        previous = conn.exec_driver_sql("PRAGMA cache_size").scalar()
        conn.exec_driver_sql(f"PRAGMA cache_size = -{_BULK_CACHE_KIB}")
        try:
            yield
        finally:
            conn.exec_driver_sql(f"PRAGMA cache_size = {int(previous or -2000)}")

    @contextlib.contextmanager
    def _indexes_after(self, conn: sa.Connection) -> Iterator[None]:
        """SQLite: a load into an empty table builds the table's secondary indexes after its rows.

        Building an index once over all the keys costs less than inserting
        them one by one.  The indexes are dropped and created again from
        their own stored definitions in the load's transaction (SQLite DDL is
        transactional): a failed load rolls back to the indexes as they were,
        and readers never see the table without them.  In a unit of work
        they are built at its commit (loads a batch at a time into one
        table); the primary key stays, so duplicates are refused as they
        arrive.
        """
        if (
            self._dialect != "sqlite"
            or conn.execute(sa.select(sa.literal(1)).select_from(self._table).limit(1)).first()
        ):
            yield
            return
        found = drop_indexes(conn, self._table.name)
        uow = self._tx.uow
        if uow is not None:  # the unit of work builds them before it commits
            uow._build_at_commit(found)
            yield
            return
        yield
        create_indexes(conn, found)

    def update(self, entity: E) -> E:
        version = entity.version
        new = attrs.evolve(entity, version=version + 1)  # type: ignore[misc]
        row = self._codec.encode(new)
        key = self._codec.id_of(row)
        values = {c: v for c, v in self._params(row).items() if c != "id"}
        t = self._table
        with self._tx(write=True) as conn:
            self._check_references(conn, [row])
            result = conn.execute(
                sa.update(t).where(t.c.id == key, t.c.version == version).values(values)
            )
            if result.rowcount != 1:
                actual = self._current_version(conn, key)
                if actual is None:
                    raise NotFound(self._name, entity.id)
                raise ConcurrencyConflict(
                    self._name,
                    entity.id,
                    expected_version=version,
                    actual_version=actual,
                )
        return self._memory.decode(self._memory.encode(new))  # type: ignore[no-any-return]

    def update_many(self, entities: Iterable[E], *, batch_size: int = 10_000) -> int:
        check_batch(batch_size)
        t = self._table
        names = [c for c in self._codec.columns if c != "id"]
        # one statement for all rows (executemany): SET every column WHERE id and version match
        stmt = (
            sa.update(t)
            .where(t.c.id == sa.bindparam("_key"), t.c.version == sa.bindparam("_expected"))
            .values({c: sa.bindparam(f"_v_{c}") for c in names})
        )
        total = 0
        batch: list[tuple[Any, int, dict[str, Any], Any]] = []
        encoded: list[tuple[Any, ...]] = []  # the rows again, for the reference check
        with self._tx(write=True) as conn:

            def flush() -> None:
                keys = [key for key, _, _, _ in batch]
                if len(set(keys)) != len(keys):
                    raise self._stale(conn, batch, repeated=True)
                self._check_references(conn, encoded)
                params = [
                    {**{f"_v_{c}": row[c] for c in names}, "_key": key, "_expected": v}
                    for key, v, row, _ in batch
                ]
                try:
                    with conn.begin_nested():  # a refused batch leaves nothing behind
                        if conn.execute(stmt, params).rowcount != len(batch):
                            raise _Refused
                except _Refused:  # named once the savepoint is rolled back
                    raise self._stale(conn, batch, repeated=False) from None

            for entity in entities:
                version = entity.version
                new = attrs.evolve(entity, version=version + 1)  # type: ignore[misc]
                encoded_row = self._codec.encode(new)
                if self._refs:
                    encoded.append(encoded_row)
                row = self._params(encoded_row)
                key = row.pop("id")
                batch.append((key, version, row, entity.id))
                if len(batch) >= batch_size:
                    flush()
                    total += len(batch)
                    batch, encoded = [], []
            if batch:
                flush()
                total += len(batch)
        return total

    def _stale(
        self,
        conn: sa.Connection,
        batch: list[tuple[Any, int, dict[str, Any], Any]],
        *,
        repeated: bool,
    ) -> Exception:
        """Name the first record of a refused ``update_many`` batch."""
        seen: set[Any] = set()
        for key, version, _, entity_id in batch:
            actual = self._current_version(conn, key)
            if actual is None:
                return NotFound(self._name, entity_id)
            if repeated and key in seen:
                return ConcurrencyConflict(
                    self._name, entity_id, expected_version=version, actual_version=version + 1
                )
            if not repeated and actual != version:
                return ConcurrencyConflict(
                    self._name, entity_id, expected_version=version, actual_version=actual
                )
            seen.add(key)
        raise AssertionError("update_many: no record to blame")  # pragma: no cover

    def remove(self, id: Any, *, expected_version: int | None = None) -> None:
        key = self._codec.encode_id(id)
        t = self._table
        condition = t.c.id == key
        if expected_version is not None:
            condition = sa.and_(condition, t.c.version == expected_version)
        with self._tx(write=True) as conn:
            if conn.execute(sa.delete(t).where(condition)).rowcount == 1:
                return
            actual = self._current_version(conn, key)
        if actual is None:
            raise NotFound(self._name, id)
        assert expected_version is not None
        raise ConcurrencyConflict(
            self._name, id, expected_version=expected_version, actual_version=actual
        )

    # -------------------------------------------------------------- reads
    def find(self, id: Any) -> E | None:
        key = self._codec.encode_id(id)
        with self._tx(write=False) as conn:
            row = conn.execute(self._select_all.where(self._table.c.id == key)).one_or_none()
        return None if row is None else self._codec.decode(row)

    def get(self, id: Any) -> E:
        entity = self.find(id)
        if entity is None:
            raise NotFound(self._name, id)
        return entity

    def _where(self, where: Any) -> sa.ColumnElement[Any] | None:
        return compile_where(
            self._table, resolve(self._layout.by_name, where, self._name), self._dialect
        )

    def query(
        self,
        where: Any = None,
        *,
        order_by: str | Sequence[str] | None = None,
        limit: int | None = None,
        offset: int = 0,
    ) -> list[E]:
        condition = self._where(where)
        order = resolve_order(self._layout.by_name, order_by, self._name)
        limit, offset = check_page(limit, offset)
        stmt = self._select_all.order_by(*order_clauses(self._table, order, self._dialect))
        if condition is not None:
            stmt = stmt.where(condition)
        if limit is not None:
            stmt = stmt.limit(limit)
        if offset:
            stmt = stmt.offset(offset)
        decode = self._codec.decode
        with self._tx(write=False) as conn:
            return [decode(row) for row in conn.execute(stmt)]

    def count(self, where: Any = None) -> int:
        condition = self._where(where)
        stmt = sa.select(sa.func.count()).select_from(self._table)
        if condition is not None:
            stmt = stmt.where(condition)
        with self._tx(write=False) as conn:
            return int(conn.execute(stmt).scalar_one())

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
        condition = self._where(where)
        order = resolve_order(self._layout.by_name, order_by, self._name)
        t = self._table
        stmt = sa.select(*(frame_expression(t.c[c[1]], c[2], self._dialect) for c in chosen))
        stmt = stmt.order_by(*order_clauses(t, order, self._dialect))
        if condition is not None:
            stmt = stmt.where(condition)
        builder = FrameBuilder(chosen)
        with self._tx(write=False) as conn:
            if self._dialect == "sqlite":
                builder.add_chunks(raw_chunks(conn, stmt, batch_size))
            else:
                # options on the statement, not the connection: a unit of work's connection
                # is used again after this read (a streaming cursor cannot run a SAVEPOINT)
                streamed = stmt.execution_options(stream_results=True, yield_per=batch_size)
                for part in conn.execute(streamed).partitions(batch_size):
                    builder.add_rows(part)
        return builder.build()


class _SqlUnitOfWork(UnitOfWork):
    def __init__(self, store: SqlStore, on_commit: EventHandler | Sequence[EventHandler]) -> None:
        super().__init__(on_commit=on_commit)
        self._store = store
        self._conn: sa.Connection | None = None
        self._tx: sa.RootTransaction | None = None
        self._held: set[str] = set()
        self._indexes: dict[str, str] = {}  # dropped for a bulk load; built at commit
        tx = _Transactions(store, self)
        self._repositories = store._repositories_for(tx)
        self._ledger = store._ledger_for(tx, self)

    def repository(self, name: str) -> SqlRepository[Any]:
        """Return the repository of aggregate ``name`` inside this unit of work."""
        self._require_active()
        return _lookup(self._repositories, name)

    @property
    def loyalty_ledger(self) -> SqlLedger:
        """Loyalty ledgers, inside this unit of work's transaction."""
        self._require_active()
        return self._ledger

    def _connection(self) -> sa.Connection:
        self._require_active()
        if self._conn is None:
            self._conn = self._store.engine.connect()
            self._conn.execution_options(crmcore_write=True)
        if self._tx is None or not self._tx.is_active:
            self._tx = self._conn.begin()
        return self._conn

    def _hold(self, name: str) -> None:
        # the lock belongs to the transaction: released by its commit or rollback
        if name not in self._held:
            lock_name(self._connection(), name)
            self._held.add(name)

    def _build_at_commit(self, indexes: Sequence[tuple[str, str]]) -> None:
        self._indexes.update(indexes)

    def _begin(self) -> None:
        self._held = set()
        self._indexes = {}

    def _commit(self, records: tuple[EventRecord, ...]) -> None:
        if records:  # appended last: the head row stays locked only for the commit itself
            self._store.events.insert(self._connection(), records)
        if self._indexes:  # dropped by a bulk load in this transaction (SQLite)
            create_indexes(self._connection(), list(self._indexes.items()))
            self._indexes = {}
        if self._tx is not None and self._tx.is_active:
            self._tx.commit()
        self._tx = None

    def _rollback(self) -> None:
        if self._tx is not None and self._tx.is_active:
            self._tx.rollback()
        self._tx = None

    def _close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None


class _Refused(Exception):  # an internal signal: never escapes update_many
    """A batch of ``update_many`` matched fewer rows than it holds."""


def _lookup(repos: dict[str, SqlRepository[Any]], name: str) -> SqlRepository[Any]:
    try:
        return repos[name]
    except KeyError:
        raise AttributeError(f"this store has no aggregate {name!r}") from None


class SqlStore(RepositoryAccess):
    """A store on any SQLAlchemy database; SQLite and PostgreSQL are tested.

    Parameters
    ----------
    url_or_engine : str or sqlalchemy.engine.Engine
        A database URL (``"sqlite:///crm.db"``,
        ``"postgresql+psycopg://user:pw@host/db"``) or an engine.  On SQLite,
        crmcore installs connection listeners on the engine (WAL journal,
        foreign keys on, busy timeout, ``BEGIN IMMEDIATE`` for writes); pass
        a fresh engine.
    aggregates : sequence of AggregateSpec, optional
        What to store; default: every domain aggregate (:func:`default_aggregates`).

    Raises
    ------
    SchemaVersionError
        If the database holds a crmcore schema of a newer version.  A store
        of an older version opens, but every call raises this error naming
        :meth:`upgrade_schema` until the schema is upgraded.

    Attributes
    ----------
    events : EventStore
        The event history (events recorded in units of work, in commit order).
    outbox : Outbox
        Consumers reading the event history after a position.
    loyalty_ledger : LedgerRepository
        Loyalty ledger entries.

    Notes
    -----
    Tables are created only by :meth:`create_schema` (explicit,
    idempotent) and migrated only by :meth:`upgrade_schema`.  Datetimes
    are stored in UTC (SQLite: integer microseconds since the Unix epoch;
    PostgreSQL: ``timestamptz``) and come back as
    aware UTC datetimes: equal instants, not the original offset.  Amounts
    keep every digit (SQLite: decimal text; PostgreSQL: ``NUMERIC``).

    Examples
    --------
    >>> import datetime as dt
    >>> from decimal import Decimal
    >>> from crmcore.domain import Money, Order
    >>> from crmcore.storage import SqlStore
    >>> store = SqlStore("sqlite://")  # an in-memory SQLite database
    >>> store.create_schema()
    >>> at = dt.datetime(2026, 3, 1, 12, 0, tzinfo=dt.UTC)
    >>> store.orders.add_many(
    ...     Order(
    ...         id=f"o{i}",
    ...         customer_id="c1",
    ...         placed_at=at,
    ...         amount=Money(amount=Decimal(i), currency="EUR"),
    ...     )
    ...     for i in range(1, 4)
    ... )
    3
    >>> store.orders.to_frame(["id", "amount"])
       id  amount
    0  o1     1.0
    1  o2     2.0
    2  o3     3.0
    """

    def __init__(
        self,
        url_or_engine: str | sa.URL | Engine,
        *,
        aggregates: Sequence[AggregateSpec] | None = None,
    ) -> None:
        if isinstance(url_or_engine, Engine):
            self.engine = url_or_engine
            self._owns_engine = False
        else:
            self.engine = _create_engine(url_or_engine)
            self._owns_engine = True
        configure_engine(self.engine)
        self.dialect = dialect_of(self.engine)
        specs = default_aggregates() if aggregates is None else check_specs(aggregates)
        self._layouts = {s.name: layout(s) for s in specs}
        self._metadata, self._tables = build_metadata(list(self._layouts.values()), self.dialect)
        self._event_tables = EventTables(
            {name: self._metadata.tables[name] for name in EVENT_TABLE_NAMES}
        )
        self._ready = False
        self._ready_lock = threading.Lock()
        try:
            with self.engine.connect() as conn:
                found = read_schema_version(conn)
                check_schema_version(found)
                # a table of its own aggregates may be missing: create_schema() makes it
                complete = found == SCHEMA_VERSION and check_layout(
                    conn, self._metadata, found, allow_missing=True
                )
        except (sa.exc.OperationalError, sa.exc.InterfaceError, sa.exc.DatabaseError) as exc:
            if self._owns_engine:
                self.engine.dispose()
            raise _unavailable(self.engine.url, exc) from None
        except SchemaVersionError:
            if self._owns_engine:
                self.engine.dispose()
            raise
        self._ready = complete
        tx = _Transactions(self)
        self._repositories = self._repositories_for(tx)
        quote = self.engine.dialect.identifier_preparer.quote
        self.events = SqlEventLog(self._event_tables, self.dialect, tx, quote)
        self.outbox = SqlOutbox(self._event_tables, self.dialect, tx, self.events)
        self.loyalty_ledger = self._ledger_for(tx, None)

    def _ledger_for(self, tx: _Transactions, uow: UnitOfWork | None) -> SqlLedger:
        return SqlLedger(self._event_tables, self.dialect, tx, self.events, uow)

    def _repositories_for(self, tx: _Transactions) -> dict[str, SqlRepository[Any]]:
        return {
            name: SqlRepository[Any](lay, self._tables[name], self, tx)
            for name, lay in self._layouts.items()
        }

    def __repr__(self) -> str:
        return f"SqlStore({self.engine.url.render_as_string(hide_password=True)!r})"

    def __enter__(self) -> SqlStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Release pooled connections (the engine, if crmcore created it)."""
        if self._owns_engine:
            self.engine.dispose()

    def create_schema(self) -> None:
        """Create the tables and indexes if missing and record the schema version.

        Idempotent.  Raises :class:`~crmcore.errors.SchemaVersionError` if
        the database holds another schema version (an older one: call
        :meth:`upgrade_schema` instead).
        """
        with self.engine.connect() as conn:
            conn.execution_options(crmcore_write=True)
            with conn.begin():
                lock_schema(conn)  # concurrent create_schema() calls: one at a time
                found = read_schema_version(conn)
                check_schema_version(found)
                if found is not None and found < SCHEMA_VERSION:
                    raise outdated_error(found)
                self._metadata.create_all(conn, checkfirst=True)
                check_layout(conn, self._metadata, SCHEMA_VERSION)  # tables that were there
                if found is None:
                    conn.execute(
                        sa.text(f"INSERT INTO {SCHEMA_TABLE} (version) VALUES (:v)"),  # noqa: S608 -- constant name
                        {"v": SCHEMA_VERSION},
                    )
                    conn.execute(
                        sa.text(f"INSERT INTO {ALEMBIC_TABLE} (version_num) VALUES (:v)"),  # noqa: S608 -- constant name
                        {"v": f"v{SCHEMA_VERSION}"},
                    )
                head = self._event_tables.head
                if conn.execute(sa.select(sa.func.count()).select_from(head)).scalar_one() == 0:
                    conn.execute(sa.insert(head).values(id=1, position=0))
        self._ready = True

    def upgrade_schema(self) -> int:
        """Migrate an older crmcore schema to this release's, keeping every record.

        Runs the Alembic migrations shipped in ``crmcore.storage.migrations``
        in one transaction (nothing changes if one fails).  A database of
        this release's version is left alone.  ``crmcore db upgrade URL``
        does the same from the command line.

        Returns
        -------
        int
            The schema version found before upgrading (:data:`SCHEMA_VERSION`
            when there was nothing to do).

        Raises
        ------
        SchemaVersionError
            No crmcore schema (call :meth:`create_schema`), or one newer than
            this release.

        Examples
        --------
        >>> from crmcore.storage import SqlStore
        >>> store = SqlStore("sqlite://")
        >>> store.create_schema()
        >>> store.upgrade_schema()  # already the current version: nothing to do
        7
        """
        from crmcore.storage._migrate import upgrade  # noqa: PLC0415 -- loads Alembic

        with self.engine.connect() as conn:
            conn.execution_options(crmcore_write=True)
            with conn.begin():
                lock_schema(conn)
                found = upgrade(conn)
        self._ready = True
        return found

    def _require_schema(self) -> None:
        if self._ready:
            return
        with self._ready_lock, self.engine.connect() as conn:
            found = read_schema_version(conn)
            check_schema_version(found)
            if found == SCHEMA_VERSION:
                check_layout(conn, self._metadata, found)
        if found is None:
            raise SchemaVersionError(
                "this database has no crmcore tables yet; call store.create_schema() first",
                found=None,
                expected=SCHEMA_VERSION,
            )
        if found < SCHEMA_VERSION:
            raise outdated_error(found)
        self._ready = True

    def unit_of_work(self, *, on_commit: EventHandler | Sequence[EventHandler] = ()) -> UnitOfWork:
        """Start a unit of work: one database transaction, committed explicitly.

        Parameters
        ----------
        on_commit : callable or sequence of callables, optional
            Called after each successful commit with that commit's events.

        Notes
        -----
        On SQLite the transaction is ``BEGIN IMMEDIATE`` (taken at the first
        repository call): writers queue for the database lock instead of
        failing part-way; readers are never blocked (WAL).
        """
        return _SqlUnitOfWork(self, on_commit)

    def repository(self, name: str) -> SqlRepository[Any]:
        """Return the repository of aggregate ``name`` (also available as an attribute)."""
        return _lookup(self._repositories, name)

    def table(self, name: str) -> sa.Table:
        """Return the SQLAlchemy table of aggregate ``name`` (for reporting queries)."""
        return self._tables[name]


def _conforms(repo: SqlRepository[Order]) -> OrderRepository:
    """Let mypy check that the SQL repository satisfies the Protocol."""
    return repo


def _store_conforms(store: SqlStore) -> Store:
    """Let mypy check that the store satisfies the Store Protocol."""
    return store


def _create_engine(url: str | sa.URL) -> Engine:
    """``sa.create_engine``, with a bad URL or a missing driver as named errors."""
    try:
        return sa.create_engine(url)
    except sa.exc.NoSuchModuleError:
        shown = _shown(url)
        backend = shown.split(":", 1)[0]
        raise StoreUnavailable(
            f"no database driver for {backend!r} in {shown!r}: crmcore stores work on "
            "sqlite:/// and postgresql+psycopg:// (pip install 'crmcore[postgres]')",
            url=shown,
        ) from None
    except (sa.exc.ArgumentError, ValueError) as exc:
        raise ValidationError(
            f"{_shown(url)!r} is not a database URL ({_first_line(exc)}); "
            "e.g. sqlite:///crm.sqlite or postgresql+psycopg://user:password@host/db",
            field="url",
        ) from None
    except ImportError as exc:  # the dialect is known but its driver is not installed
        raise StoreUnavailable(
            f"the driver of {_shown(url)!r} is not installed: {_first_line(exc)}",
            url=_shown(url),
        ) from None


def _shown(url: str | sa.URL) -> str:
    """Show the URL without its password (also when it does not parse)."""
    try:
        return sa.engine.make_url(url).render_as_string(hide_password=True)
    except (sa.exc.ArgumentError, ValueError, TypeError):
        text = str(url)
        return text.split("@", 1)[-1] if "@" in text else text


def _first_line(exc: BaseException) -> str:
    text = str(getattr(exc, "orig", None) or exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _unavailable(url: sa.URL, exc: BaseException) -> StoreUnavailable:
    shown = url.render_as_string(hide_password=True)
    return StoreUnavailable(f"cannot open the database {shown!r}: {_first_line(exc)}", url=shown)
