"""The SQL event log, outbox and loyalty ledger (behind ``SqlStore``).

Positions and commit order
--------------------------
An event's position is allocated from the one-row table ``crm_event_head``
(``UPDATE ... SET position = position + n RETURNING position``) in the same
transaction that inserts the event, immediately before it commits (a unit
of work appends its events at commit time).  The row lock this update takes
is held until the transaction ends, so appends are serialised from
allocation to commit: a transaction cannot obtain a position until every
transaction holding a smaller one has committed (or rolled back, releasing
its positions to the next one).  Positions therefore become visible in
increasing order with no gaps, and a reader that has seen position ``p``
never later finds a new event below ``p``.  This is what defeats the known
pitfall of sequence-allocated positions on PostgreSQL, where a slow
transaction commits a smaller position after a reader has passed it.  On
SQLite the database write lock (``BEGIN IMMEDIATE``) serialises writers
anyway; the head row gives both databases the same behaviour.  The cost is
that event appends do not run in parallel; each holds the row only for the
insert and the commit.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import re
import sqlite3
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql as pg
from sqlalchemy.dialects import sqlite as sqlite_dialect
from sqlalchemy.sql.elements import UnaryExpression
from sqlalchemy.sql.operators import custom_op

from crmcore._time import EPOCH_UTC
from crmcore.errors import ValidationError
from crmcore.storage import _json
from crmcore.storage._codec import Dialect
from crmcore.storage._engagement import ENGAGEMENT_TEXT
from crmcore.storage._engagement_sql import json_fragment, text_field
from crmcore.storage._eventbulk import RecordColumns
from crmcore.storage._eventcodec import (
    EventCriteria,
    EventRecord,
    StoredEvent,
    decode_event,
    encode_event,
    from_micros,
    to_micros,
)
from crmcore.storage._eventlog import EventLogBase, OutboxBase
from crmcore.storage._fields import Kind
from crmcore.storage._ledger import LedgerBase
from crmcore.storage._ledger_codec import LedgerRow, check_new_rows, row_event
from crmcore.storage._sqlquery import frame_expression, raw_chunks
from crmcore.storage._sqlschema import create_indexes, drop_indexes

if TYPE_CHECKING:
    from crmcore.storage._uow import UnitOfWork

__all__ = ["EventTables", "SqlEventLog", "SqlLedger", "SqlOutbox"]

Tx = Callable[..., contextlib.AbstractContextManager[sa.Connection]]
_ARROW = sqlite3.sqlite_version_info >= (3, 38, 0)  # the ``->`` JSON operator
_BULK_CACHE_KIB = 65_536  # page cache while append_many runs (SQLite)
# append_frame on SQLite: a load of at least this many rows, and at least as many as the
# log holds, builds these indexes after loading (see SqlEventLog._deferred_indexes)
_DEFER_MIN_ROWS = 50_000
_DEFERRED_INDEXES = ("ix_crm_events_entity", "ix_crm_events_kind")


# what JSON escapes in a string (crmcore's compact encoding keeps other characters as they are)
_JSON_ESCAPED = re.compile(r'["\\\x00-\x1f]')


def _related_text(ids: Sequence[str]) -> str:
    """``_json.dumps(list(ids))`` of text ids; plain ones joined without the encoder."""
    if _JSON_ESCAPED.search("".join(ids)) is None:
        return '["' + '","'.join(ids) + '"]'
    return _json.dumps(list(ids))


class EventTables:
    """The tables of the event history in one metadata."""

    def __init__(self, tables: dict[str, sa.Table]) -> None:
        self.events = tables["crm_events"]
        self.links = tables["crm_event_links"]
        self.head = tables["crm_event_head"]
        self.consumers = tables["crm_consumers"]
        self.ledger = tables["crm_ledger_entries"]


def _insert_for(dialect: Dialect, table: sa.Table) -> Any:
    return (sqlite_dialect.insert if dialect == "sqlite" else pg.insert)(table)


class SqlEventLog(EventLogBase):
    """``store.events`` of a :class:`~crmcore.storage.SqlStore`."""

    def __init__(self, tables: EventTables, dialect: Dialect, tx: Tx, quote: Any) -> None:
        self._t = tables
        self._dialect = dialect
        self._tx = tx
        t = tables.events
        self._columns = (
            t.c.position,
            t.c.id,
            t.c.type,
            t.c.entity_type,
            t.c.entity_id,
            t.c.at,
            t.c.at_tz,
            t.c.actor,
            t.c.payload,
            t.c.related_ids,
        )
        names = ", ".join(quote(c.name) for c in self._columns)
        marks = ", ".join("?" for _ in self._columns)
        self._raw_insert = f"INSERT INTO {quote(t.name)} ({names}) VALUES ({marks})"  # noqa: S608 -- constant identifiers
        # PostgreSQL: the payload goes in as our JSON text (json keeps it verbatim), so
        # every store exports the same text
        text = sa.cast(sa.bindparam("payload_text", type_=sa.Text()), t.c.payload.type)
        self._pg_insert = sa.insert(t).values(payload=text)
        links = tables.links
        self._raw_links = (
            f"INSERT INTO {quote(links.name)} ({quote('entity_id')}, {quote('position')}) "  # noqa: S608 -- constant identifiers
            "VALUES (?, ?)"
        )

    def __repr__(self) -> str:
        return "<SqlStore events>"

    # ------------------------------------------------------------ writing
    def _allocate(self, conn: sa.Connection, n: int) -> int:
        """Reserve ``n`` positions; return the last.  Locks the head row until commit."""
        head = self._t.head
        bump = (
            sa.update(head)
            .where(head.c.id == 1)
            .values(position=head.c.position + n)
            .returning(head.c.position)
        )
        last = conn.execute(bump).scalar_one_or_none()
        if last is None:  # the head row is gone: rebuild it above every stored position
            current = sa.select(
                sa.literal(1), sa.func.coalesce(sa.func.max(self._t.events.c.position), 0)
            )
            ins = _insert_for(self._dialect, head).from_select(["id", "position"], current)
            conn.execute(ins.on_conflict_do_nothing(index_elements=["id"]))
            last = conn.execute(bump).scalar_one()
        return int(last)

    def insert(self, conn: sa.Connection, records: Sequence[EventRecord]) -> tuple[int, ...]:
        """Append records in the connection's transaction; return their positions.

        Raises
        ------
        ValidationError
            An id that is stored already (the transaction stays usable).
        """
        if not records:
            return ()
        try:
            with conn.begin_nested():
                last = self._allocate(conn, len(records))
                first = last - len(records) + 1
                positions = tuple(range(first, last + 1))
                self._write(conn, records, positions)
        except sa.exc.IntegrityError:
            raise self._duplicate(conn, [r.id for r in records]) from None
        return positions

    def _write(
        self, conn: sa.Connection, records: Sequence[EventRecord], positions: Sequence[int]
    ) -> None:
        links = [  # one row per distinct related id (an id may be named twice)
            (related, p)
            for r, p in zip(records, positions, strict=True)
            for related in dict.fromkeys(r.related)
        ]
        if self._dialect == "sqlite":
            rows = [
                (p, r.id, r.type, r.entity_type, r.entity_id, r.at_us, r.at_tz, r.actor, r.payload,
                 r.related_text)
                for r, p in zip(records, positions, strict=True)
            ]  # fmt: skip
            conn.exec_driver_sql(self._raw_insert, rows)
            if links:
                conn.exec_driver_sql(self._raw_links, links)
            return
        conn.execute(
            self._pg_insert,
            [
                {
                    "position": p,
                    "id": r.id,
                    "type": r.type,
                    "entity_type": r.entity_type,
                    "entity_id": r.entity_id,
                    "at": EPOCH_UTC + dt.timedelta(microseconds=r.at_us),
                    "at_tz": r.at_tz,
                    "actor": r.actor,
                    "payload_text": r.payload,
                    "related_ids": r.related_text,
                }
                for r, p in zip(records, positions, strict=True)
            ],
        )
        if links:
            conn.execute(
                sa.insert(self._t.links), [{"entity_id": e, "position": p} for e, p in links]
            )

    def _duplicate(self, conn: sa.Connection, ids: Sequence[str]) -> ValidationError:
        t = self._t.events
        found: set[str] = set()
        for start in range(0, len(ids), 5_000):
            found.update(
                conn.execute(sa.select(t.c.id).where(t.c.id.in_(ids[start : start + 5_000])))
                .scalars()
                .all()
            )
        for key in ids:
            if key in found:
                return ValidationError(
                    f"events: an event with id {key!r} is stored already", field="id", value=key
                )
        return ValidationError("events: the events violate a database constraint")

    def _append_records(self, records: Sequence[EventRecord]) -> tuple[int, ...]:
        with self._tx(write=True) as conn:
            out: list[int] = []
            for start in range(0, len(records), 10_000):
                out.extend(self.insert(conn, records[start : start + 10_000]))
            return tuple(out)

    def _append_batches(self, batches: Iterable[Sequence[EventRecord]]) -> int:
        total = 0
        with self._tx(write=True) as conn, self._bulk_cache(conn):
            for batch in batches:
                self.insert(conn, batch)
                total += len(batch)
        return total

    def _append_column_batches(self, batches: Iterable[RecordColumns], size: int = 0) -> int:
        if self._dialect != "sqlite":
            return super()._append_column_batches(batches, size)
        total = 0
        with (
            self._tx(write=True) as conn,
            self._bulk_cache(conn),
            self._deferred_indexes(conn, size),
        ):
            for columns in batches:
                self._insert_columns(conn, columns)
                total += len(columns.id)
        return total

    @contextlib.contextmanager
    def _deferred_indexes(self, conn: sa.Connection, size: int) -> Iterator[None]:
        """SQLite: for a load at least as large as the log, build the secondary indexes after it.

        The entity and kind indexes are dropped and created again from their
        own stored definitions inside the load's transaction (SQLite DDL is
        transactional): a failed load rolls back to the indexes as they were,
        and readers never see the log without them.  Building an index once
        over sorted keys costs less than inserting a large load's keys one by
        one into it.  The primary key and the unique event ids stay, so
        duplicates are refused as they arrive.
        """
        if size < _DEFER_MIN_ROWS or size < self._last_position(conn):
            yield
            return
        found = drop_indexes(conn, self._t.events.name, _DEFERRED_INDEXES)
        yield
        create_indexes(conn, found)

    def _last_position(self, conn: sa.Connection) -> int:
        stmt = sa.select(sa.func.coalesce(sa.func.max(self._t.events.c.position), 0))
        return int(conn.execute(stmt).scalar_one())

    def _insert_columns(self, conn: sa.Connection, columns: RecordColumns) -> None:
        """SQLite: insert a batch of record columns (no record per row), as :meth:`insert`."""
        n = len(columns.id)
        if not n:
            return
        try:
            with conn.begin_nested():
                last = self._allocate(conn, n)
                positions = range(last - n + 1, last + 1)
                related = [_related_text(r) if r else None for r in columns.related]
                rows = zip(
                    positions,
                    columns.id,
                    columns.type,
                    columns.entity_type,
                    columns.entity_id,
                    columns.at_us,
                    columns.at_tz,
                    columns.actor,
                    columns.payload,
                    related,
                    strict=True,
                )
                conn.exec_driver_sql(self._raw_insert, list(rows))
                links = [
                    (entity, p)
                    for r, p in zip(columns.related, positions, strict=True)
                    if r
                    for entity in dict.fromkeys(r)
                ]
                if links:
                    conn.exec_driver_sql(self._raw_links, links)
        except sa.exc.IntegrityError:
            raise self._duplicate(conn, columns.id) from None

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

    # ------------------------------------------------------------ reading
    def _micros_value(self, micros: int) -> Any:
        if self._dialect == "sqlite":
            return micros
        return EPOCH_UTC + dt.timedelta(microseconds=micros)

    def _conditions(
        self, crit: EventCriteria, table: Any = None, *, unindexed: bool = False
    ) -> list[sa.ColumnElement[bool]]:
        t = self._t.events if table is None else table

        def col(name: str) -> Any:
            column = t.c[name]
            if unindexed and self._dialect == "sqlite":  # ``+col``: no index for this term
                return UnaryExpression(column, operator=custom_op("+"), type_=column.type)
            return column

        out: list[sa.ColumnElement[bool]] = []
        if crit.after is not None:
            out.append(t.c.position > crit.after)
        if crit.types is not None:
            out.append(col("type").in_(crit.types))
        if crit.entity_types is not None:
            out.append(col("entity_type").in_(crit.entity_types))
        if crit.since_us is not None:
            out.append(col("at") > self._micros_value(crit.since_us))
        if crit.until_us is not None:
            out.append(col("at") <= self._micros_value(crit.until_us))
        if crit.entities is not None:
            links = self._t.links
            linked = sa.select(links.c.position).where(links.c.entity_id.in_(crit.entities))
            out.append(sa.or_(t.c.entity_id.in_(crit.entities), t.c.position.in_(linked)))
        return out

    def _decode_row(self, row: Sequence[Any]) -> StoredEvent:
        position, id_, type_, entity_type, entity_id, at, at_tz, actor, payload, related = row
        if self._dialect == "sqlite":
            when = from_micros(at, at_tz)
        else:
            when = from_micros(to_micros(at), at_tz)
        return StoredEvent(
            int(position),
            decode_event(
                id=id_,
                type=type_,
                entity_type=entity_type,
                entity_id=entity_id,
                at=when,
                actor=actor,
                payload=payload,
                related=related,
            ),
        )

    def _select(self, crit: EventCriteria) -> list[StoredEvent]:
        stmt = sa.select(*self._columns).where(*self._conditions(crit))
        stmt = stmt.order_by(self._t.events.c.position)
        if crit.limit is not None:
            stmt = stmt.limit(crit.limit)
        with self._tx(write=False) as conn:
            rows = conn.execute(stmt).all()
        return [self._decode_row(r) for r in rows]

    def _count(self, crit: EventCriteria) -> int:
        stmt = sa.select(sa.func.count()).select_from(self._t.events)
        stmt = stmt.where(*self._conditions(crit))
        with self._tx(write=False) as conn:
            return int(conn.execute(stmt).scalar_one())

    def _find_text(self, id_text: str) -> StoredEvent | None:
        stmt = sa.select(*self._columns).where(self._t.events.c.id == id_text)
        with self._tx(write=False) as conn:
            row = conn.execute(stmt).one_or_none()
        return None if row is None else self._decode_row(row)

    def _fragment(self, payload: Any, key: str) -> sa.ColumnElement[Any]:
        """Return the JSON text of one payload key (NULL when absent)."""
        return json_fragment(payload, (key,), self._dialect, arrow=_ARROW)

    def _at_micros(self, column: Any) -> Any:
        return frame_expression(column, Kind.DATETIME, self._dialect)

    def _frame_chunks(
        self, crit: EventCriteria, keys: tuple[str, ...], batch_size: int
    ) -> Iterator[Sequence[Sequence[Any]]]:
        t = self._t.events
        payload_text = (
            t.c.payload if self._dialect == "sqlite" else sa.cast(t.c.payload, sa.Text())
        )
        stmt = sa.select(
            t.c.position,
            t.c.id,
            t.c.type,
            t.c.entity_type,
            t.c.entity_id,
            self._at_micros(t.c.at),
            t.c.actor,
            payload_text,
            *(self._fragment(t.c.payload, k) for k in keys),
        ).where(*self._conditions(crit))
        stmt = stmt.order_by(t.c.position)
        if crit.limit is not None:
            stmt = stmt.limit(crit.limit)
        with self._tx(write=False) as conn:
            streamed = stmt.execution_options(stream_results=True, yield_per=batch_size)
            yield from conn.execute(streamed).partitions(batch_size)  # not the connection's

    def _engagement_chunks(
        self, crit: EventCriteria, properties: tuple[str, ...], batch_size: int
    ) -> Iterator[Sequence[Sequence[Any]]]:
        t = self._t.events
        stmt = sa.select(
            t.c.id,
            self._at_micros(t.c.at),
            *(text_field(t.c.payload, k, self._dialect) for k in ENGAGEMENT_TEXT),
            *(
                json_fragment(t.c.payload, ("properties", k), self._dialect, arrow=_ARROW)
                for k in properties
            ),
        ).where(*self._conditions(crit))
        stmt = stmt.order_by(t.c.position)
        with self._tx(write=False) as conn:
            if self._dialect == "sqlite":  # plain DB-API tuples: no row objects built
                yield from raw_chunks(conn, stmt, batch_size)
                return
            result = conn.execution_options(stream_results=True, yield_per=batch_size).execute(
                stmt
            )
            yield from result.partitions(batch_size)

    def _latest_rows(self, crit: EventCriteria, keys: tuple[str, ...]) -> list[Sequence[Any]]:
        # Three steps, each served by ix_crm_events_kind (type, entity_type, entity_id, at):
        # each entity's last instant, the last position at that instant, then the rows.
        t = self._t.events
        # SQLite would take the kind index and sort every match by entity; the entity index
        # is in that order already and covers the query (8x less work): keep the filters
        # off the kind index
        conditions = self._conditions(crit, unindexed=crit.entities is None)
        last_at = (
            sa.select(t.c.entity_id, sa.func.max(t.c.at).label("at"))
            .where(*conditions)
            .group_by(t.c.entity_id)
            .subquery("last_at")
        )
        e = t.alias("e")
        at_last = (  # correlated: one index seek per entity
            sa.select(sa.func.max(e.c.position))
            .where(
                e.c.entity_id == last_at.c.entity_id,
                e.c.at == last_at.c.at,
                *self._conditions(crit, e),
            )
            .scalar_subquery()
        )
        last = sa.select(at_last.label("position")).select_from(last_at).subquery("last")
        stmt = sa.select(
            t.c.entity_id,
            t.c.position,
            self._at_micros(t.c.at),
            t.c.actor,
            *(self._fragment(t.c.payload, k) for k in keys),
        ).select_from(t.join(last, t.c.position == last.c.position))
        with self._tx(write=False) as conn:
            # the driver's own tuples (ints and text: no result processing to apply);
            # SQLAlchemy's row objects cost a sixth of the whole query here
            return list(conn.execute(stmt).cursor.fetchall())

    def last_position(self) -> int:
        """Return the position of the last committed event (0 when there is none)."""
        stmt = sa.select(sa.func.coalesce(sa.func.max(self._t.events.c.position), 0))
        with self._tx(write=False) as conn:
            return int(conn.execute(stmt).scalar_one())


class SqlOutbox(OutboxBase):
    """``store.outbox`` of a :class:`~crmcore.storage.SqlStore` (cursors in ``crm_consumers``)."""

    def __init__(self, tables: EventTables, dialect: Dialect, tx: Tx, events: SqlEventLog) -> None:
        super().__init__(events)
        self._t = tables.consumers
        self._dialect = dialect
        self._tx = tx

    def __repr__(self) -> str:
        return "<SqlStore outbox>"

    def _read_cursor(self, consumer: str) -> int:
        stmt = sa.select(self._t.c.position).where(self._t.c.name == consumer)
        with self._tx(write=False) as conn:
            value = conn.execute(stmt).scalar_one_or_none()
        return 0 if value is None else int(value)

    def _write_cursor(self, consumer: str, position: int, *, forward_only: bool) -> None:
        c = self._t
        ins = _insert_for(self._dialect, c).values(name=consumer, position=position)
        new = ins.excluded.position
        value = sa.case((new > c.c.position, new), else_=c.c.position) if forward_only else new
        with self._tx(write=True) as conn:
            conn.execute(
                ins.on_conflict_do_update(index_elements=["name"], set_={"position": value})
            )

    def consumers(self) -> dict[str, int]:
        """Return every consumer's cursor."""
        stmt = sa.select(self._t.c.name, self._t.c.position).order_by(self._t.c.name)
        with self._tx(write=False) as conn:
            return {name: int(p) for name, p in conn.execute(stmt)}


class SqlLedger(LedgerBase):
    """``store.loyalty_ledger`` of a :class:`~crmcore.storage.SqlStore`.

    The table ``crm_ledger_entries`` has the primary key ``(account_id,
    sequence)`` and the unique constraint ``uq_crm_ledger_entries_event`` on
    ``(account_id, event_id)``: the database itself refuses a second entry
    under an idempotency key, also from a concurrent writer.
    """

    def __init__(
        self,
        tables: EventTables,
        dialect: Dialect,
        tx: Tx,
        events: SqlEventLog,
        uow: UnitOfWork | None = None,
    ) -> None:
        self._t = tables.ledger
        self._dialect = dialect
        self._tx = tx
        self._events = events
        self._uow = uow

    def __repr__(self) -> str:
        return "<SqlStore loyalty_ledger>"

    def _instant(self, micros: int | None) -> Any:
        if micros is None or self._dialect == "sqlite":
            return micros
        return EPOCH_UTC + dt.timedelta(microseconds=micros)

    def _select_rows(self) -> sa.Select[Any]:
        t = self._t
        return sa.select(
            t.c.account_id,
            t.c.sequence,
            t.c.event_id,
            t.c.kind,
            frame_expression(t.c.at, Kind.DATETIME, self._dialect),
            t.c.at_tz,
            t.c.points,
            t.c.order_id,
            t.c.spend_minor,
            frame_expression(t.c.expires_at, Kind.DATETIME, self._dialect),
            t.c.expires_at_tz,
        )

    def _stored(self, conn: sa.Connection, rows: Sequence[LedgerRow]) -> list[LedgerRow]:
        t = self._t
        account = rows[0].account_id
        events = [r.event_id for r in rows]
        sequences = [r.sequence for r in rows]
        found: list[LedgerRow] = []
        for start in range(0, len(rows), 5_000):
            stmt = self._select_rows().where(
                t.c.account_id == account,
                sa.or_(
                    t.c.event_id.in_(events[start : start + 5_000]),
                    t.c.sequence.in_(sequences[start : start + 5_000]),
                ),
            )
            found.extend(LedgerRow(*r) for r in conn.execute(stmt))
        return found

    def _store_new(self, rows: Sequence[LedgerRow], actor: str | None) -> int:
        with self._tx(write=True) as conn:
            new = check_new_rows(rows, self._stored(conn, rows))
            if not new:
                return 0
            try:
                with conn.begin_nested():
                    conn.execute(
                        sa.insert(self._t),
                        [
                            {
                                "account_id": r.account_id,
                                "sequence": r.sequence,
                                "event_id": r.event_id,
                                "kind": r.kind,
                                "at": self._instant(r.at_us),
                                "at_tz": r.at_tz,
                                "points": r.points,
                                "order_id": r.order_id,
                                "spend_minor": r.spend_minor,
                                "expires_at": self._instant(r.expires_us),
                                "expires_at_tz": r.expires_tz,
                            }
                            for r in new
                        ],
                    )
            except sa.exc.IntegrityError:
                # a concurrent writer stored one of these keys meanwhile: name it
                check_new_rows(new, self._stored(conn, new))
                raise ValidationError(
                    "loyalty_ledger: an entry was stored by another writer meanwhile",
                    field="event_id",
                ) from None
            events = [row_event(r, actor) for r in new]
            if self._uow is not None:
                self._uow.record(*events)
            else:
                self._events.insert(conn, [encode_event(e) for e in events])
        return len(new)

    def _rows(self, account: str | None) -> list[tuple[Any, ...]]:
        t = self._t
        stmt = self._select_rows().order_by(t.c.account_id, t.c.sequence)
        if account is not None:
            stmt = stmt.where(t.c.account_id == account)
        with self._tx(write=False) as conn:
            return [tuple(r) for r in conn.execute(stmt)]

    def _count(self, account: str | None) -> int:
        stmt = sa.select(sa.func.count()).select_from(self._t)
        if account is not None:
            stmt = stmt.where(self._t.c.account_id == account)
        with self._tx(write=False) as conn:
            return int(conn.execute(stmt).scalar_one())
