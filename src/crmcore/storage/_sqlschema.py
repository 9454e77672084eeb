"""SQL tables derived from the aggregate layouts, engine set-up, schema version.

Tables are named ``crm_<aggregate>`` with one column per scalar field (two
for Money: ``<field>`` and ``<field>_currency``) and one JSON column per
structured field; ``id`` is the primary key, ``version`` a BIGINT.  Every
``*_id`` field and the aggregate's declared fields are indexed (optional
fields with a partial index over the rows that have a value).  The table
``crm_schema`` holds the schema version; a database with another version is
refused with :class:`~crmcore.errors.SchemaVersionError` instead of misread
(an older one names :meth:`SqlStore.upgrade_schema`, which migrates it).

The event history has its own tables (see :func:`add_event_tables`):
``crm_events`` (one row per event, ``position`` the primary key),
``crm_event_links`` (the related ids of each event, indexed),
``crm_event_head`` (one row: the last allocated position),
``crm_consumers`` (outbox cursors) and ``crm_ledger_entries`` (loyalty
ledgers).  ``crm_alembic_version`` is Alembic's record of the migration
applied (see :mod:`crmcore.storage.migrations`).

SQLite connections are set up on connect: WAL journal with
``synchronous=NORMAL``, ``foreign_keys=ON``, a busy timeout, and
transactions begun by crmcore itself (``BEGIN IMMEDIATE`` for writes, so
that concurrent writers queue instead of failing half-way).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql as pg
from sqlalchemy.engine import Engine

from crmcore.errors import SchemaMismatchError, SchemaVersionError
from crmcore.storage._aggregates import SCHEMA_VERSION, Layout
from crmcore.storage._codec import Dialect
from crmcore.storage._fields import Kind

__all__ = [
    "ALEMBIC_TABLE",
    "EVENT_TABLE_NAMES",
    "SCHEMA_TABLE",
    "SCHEMA_VERSION",
    "add_event_tables",
    "build_metadata",
    "check_layout",
    "configure_engine",
    "dialect_of",
    "lock_schema",
    "outdated_error",
    "read_schema_version",
]

SCHEMA_TABLE = "crm_schema"
ALEMBIC_TABLE = "crm_alembic_version"
EVENT_TABLE_NAMES = (
    "crm_events",
    "crm_event_links",
    "crm_event_head",
    "crm_consumers",
    "crm_ledger_entries",
)
_BUSY_TIMEOUT_MS = 30_000


def dialect_of(engine: Engine) -> Dialect:
    """Return the codec dialect for an engine: ``"sqlite"`` or ``"postgresql"``-like."""
    return "sqlite" if engine.dialect.name == "sqlite" else "postgresql"


def _column_type(kind: Kind, dialect: Dialect) -> Any:
    sqlite = dialect == "sqlite"
    if kind in (Kind.STR, Kind.ID, Kind.UUID):
        return sa.Text() if sqlite else sa.Text(collation="C")
    if kind is Kind.INT:
        return sa.BigInteger()
    if kind is Kind.FLOAT:
        return sa.Double()
    if kind is Kind.BOOL:
        return sa.Boolean(create_constraint=False)
    if kind is Kind.DECIMAL:
        return sa.Text() if sqlite else sa.Numeric(asdecimal=True)
    if kind is Kind.DATETIME:
        return sa.BigInteger() if sqlite else sa.DateTime(timezone=True)
    if kind is Kind.DATE:
        return sa.Text() if sqlite else sa.Date()
    if kind is Kind.JSON:
        return (
            sa.Text() if sqlite else pg.JSON(none_as_null=True)
        )  # json keeps the text: 1e300 stays a float
    raise AssertionError(kind)  # pragma: no cover


def table_name(layout: Layout) -> str:
    """Return the SQL table name of an aggregate."""
    return f"crm_{layout.name}"


def build_metadata(
    layouts: list[Layout], dialect: Dialect
) -> tuple[sa.MetaData, dict[str, sa.Table]]:
    """Build the tables of every aggregate for a dialect."""
    metadata = sa.MetaData()
    tables: dict[str, sa.Table] = {}
    for lay in layouts:
        columns: list[sa.Column[Any]] = []
        for f in lay.fields:
            if f.kind is Kind.DATETIME:
                columns.append(
                    sa.Column(
                        f.columns[0], _column_type(Kind.DATETIME, dialect), nullable=f.optional
                    )
                )
                columns.append(sa.Column(f.columns[1], sa.Text(), nullable=f.optional))
                continue
            if f.kind is Kind.MONEY:
                columns.append(
                    sa.Column(
                        f.columns[0], _column_type(Kind.DECIMAL, dialect), nullable=f.optional
                    )
                )
                columns.append(
                    sa.Column(f.columns[1], _column_type(Kind.STR, dialect), nullable=f.optional)
                )
                continue
            kind = f.kind if f.kind not in (Kind.ENUM, Kind.WRAPPED) else f.scalar
            assert kind is not None
            columns.append(
                sa.Column(
                    f.name,
                    _column_type(kind, dialect),
                    primary_key=f.name == "id",
                    nullable=f.optional and f.name != "id",
                )
            )
        table = sa.Table(table_name(lay), metadata, *columns)
        for name in lay.index_fields:
            column = table.c[name]
            if lay.by_name[name].optional:  # partial: mostly-empty references cost nothing
                present = column.is_not(None)
                sa.Index(
                    f"ix_{table.name}_{name}",
                    column,
                    sqlite_where=present,
                    postgresql_where=present,
                )
            else:
                sa.Index(f"ix_{table.name}_{name}", column)
        tables[lay.name] = table
    sa.Table(SCHEMA_TABLE, metadata, sa.Column("version", sa.Integer, nullable=False))
    add_event_tables(metadata, dialect)
    return metadata, tables


def add_event_tables(metadata: sa.MetaData, dialect: Dialect) -> dict[str, sa.Table]:
    """Add the event-history, outbox and ledger tables (and Alembic's) to ``metadata``.

    Keep in step with the latest migration in ``crmcore/storage/migrations``
    (a test compares the two).
    """
    text = _column_type(Kind.STR, dialect)
    instant = _column_type(Kind.DATETIME, dialect)
    position = sa.BigInteger().with_variant(sa.Integer(), "sqlite")  # SQLite: the rowid
    events = sa.Table(
        "crm_events",
        metadata,
        sa.Column("position", position, primary_key=True, autoincrement=False),
        sa.Column("id", text, nullable=False),
        sa.Column("type", text, nullable=False),
        sa.Column("entity_type", text, nullable=False),
        sa.Column("entity_id", text, nullable=False),
        sa.Column("at", instant, nullable=False),
        sa.Column("at_tz", sa.Text(), nullable=False),
        sa.Column("actor", text, nullable=True),
        sa.Column("payload", _column_type(Kind.JSON, dialect), nullable=False),
        sa.Column("related_ids", sa.Text(), nullable=True),
        sa.UniqueConstraint("id", name="uq_crm_events_id"),
    )
    # An entity's history (timelines), also per kind (each entity's latest move); and the
    # events of a kind in time order, which grows at its end as events arrive (cheap to
    # append, unlike a second index ordered by entity).
    sa.Index(
        "ix_crm_events_entity",
        events.c.entity_id,
        events.c.type,
        events.c.entity_type,
        events.c.at,
    )
    sa.Index("ix_crm_events_kind", events.c.type, events.c.entity_type, events.c.at)
    links = sa.Table(
        "crm_event_links",
        metadata,
        sa.Column("entity_id", text, primary_key=True),
        sa.Column("position", sa.BigInteger(), primary_key=True, autoincrement=False),
    )
    head = sa.Table(
        "crm_event_head",
        metadata,
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("position", sa.BigInteger(), nullable=False),
    )
    consumers = sa.Table(
        "crm_consumers",
        metadata,
        sa.Column("name", text, primary_key=True),
        sa.Column("position", sa.BigInteger(), nullable=False),
    )
    ledger = sa.Table(
        "crm_ledger_entries",
        metadata,
        sa.Column("account_id", text, primary_key=True),
        sa.Column("sequence", sa.BigInteger(), primary_key=True, autoincrement=False),
        sa.Column("event_id", text, nullable=False),
        sa.Column("kind", text, nullable=False),
        sa.Column("at", instant, nullable=False),
        sa.Column("at_tz", sa.Text(), nullable=False),
        sa.Column("points", sa.BigInteger(), nullable=False),
        sa.Column("order_id", text, nullable=True),
        sa.Column("spend_minor", sa.BigInteger(), nullable=False),
        sa.Column("expires_at", instant, nullable=True),
        sa.Column("expires_at_tz", sa.Text(), nullable=True),
        sa.UniqueConstraint("account_id", "event_id", name="uq_crm_ledger_entries_event"),
    )
    sa.Table(
        ALEMBIC_TABLE,
        metadata,
        sa.Column("version_num", sa.String(32), primary_key=True),
    )
    return {t.name: t for t in (events, links, head, consumers, ledger)}


# ------------------------------------------------------------------ engine set-up


def _sqlite_on_connect(dbapi_connection: Any, _record: Any) -> None:
    # crmcore issues BEGIN itself (see _sqlite_on_begin); the driver must not.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute(f"PRAGMA busy_timeout = {_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.execute("PRAGMA journal_mode = WAL")
        # WAL + NORMAL: a commit survives the process being killed; only an OS crash or
        # power cut can lose the last commits, and never corrupts the file.
        cursor.execute("PRAGMA synchronous = NORMAL")
    finally:
        cursor.close()


def _sqlite_on_begin(conn: sa.Connection) -> None:
    mode = "IMMEDIATE" if conn.get_execution_options().get("crmcore_write") else "DEFERRED"
    conn.exec_driver_sql(f"BEGIN {mode}")


def configure_engine(engine: Engine) -> None:
    """Install the SQLite connection set-up on an engine (once; no-op elsewhere)."""
    if engine.dialect.name != "sqlite":
        return
    if not sa.event.contains(engine, "connect", _sqlite_on_connect):
        sa.event.listen(engine, "connect", _sqlite_on_connect)
    if not sa.event.contains(engine, "begin", _sqlite_on_begin):
        sa.event.listen(engine, "begin", _sqlite_on_begin)


#: First key of the PostgreSQL advisory lock that serialises schema changes ("crm").
_SCHEMA_LOCK_CLASS = 0x63726D


def lock_schema(conn: sa.Connection) -> None:
    """Serialise schema creation and migration on this database until the transaction ends.

    On PostgreSQL, two processes creating the same tables at once collide in
    the system catalogues (a duplicate ``pg_type`` row) even with
    ``IF NOT EXISTS`` checks; a transaction-level advisory lock, keyed by the
    current schema, makes the second wait for the first to commit and then
    find everything in place. SQLite needs nothing: crmcore begins its write
    transactions with ``BEGIN IMMEDIATE``, which already queues writers.
    Call it first in the transaction, before the schema version is read.
    """
    if conn.dialect.name == "postgresql":
        conn.execute(
            sa.text("SELECT pg_advisory_xact_lock(:ns, hashtext(current_schema()))"),
            {"ns": _SCHEMA_LOCK_CLASS},
        )


#: First key of the PostgreSQL advisory locks that units of work hold by name ("crn").
_NAMED_LOCK_CLASS = 0x63726E


def lock_name(conn: sa.Connection, name: str) -> None:
    """Serialise the transactions that lock ``name`` on this database until this one ends.

    PostgreSQL: a transaction-level advisory lock keyed by the current schema
    and ``name``. SQLite needs nothing: a crmcore write transaction holds the
    database write lock (``BEGIN IMMEDIATE``) from its start to its end.
    """
    if conn.dialect.name == "postgresql":
        conn.execute(
            sa.text(
                "SELECT pg_advisory_xact_lock(:ns, hashtext(current_schema() || '/' || :name))"
            ),
            {"ns": _NAMED_LOCK_CLASS, "name": name},
        )


def read_schema_version(conn: sa.Connection) -> int | None:
    """Return the recorded schema version, or None when there is no crmcore schema."""
    if not sa.inspect(conn).has_table(SCHEMA_TABLE):
        return None
    rows = conn.execute(sa.text(f"SELECT version FROM {SCHEMA_TABLE}")).scalars().all()  # noqa: S608 -- constant name
    if len(rows) != 1:
        raise SchemaVersionError(
            f"the table {SCHEMA_TABLE} should hold one row, found {len(rows)}; "
            "this database was not written by crmcore",
            found=None,
            expected=SCHEMA_VERSION,
        )
    return int(rows[0])


UPGRADE_HINT = (
    "upgrade it with store.upgrade_schema() (or the command `crmcore db upgrade URL`), "
    "which keeps every record"
)


def check_schema_version(found: int | None) -> None:
    """Raise unless this release can open schema ``found`` (None passes: no schema yet).

    An older version passes too (the store opens, and names
    ``upgrade_schema()`` on first use); a newer one is refused at once.
    """
    if found is not None and found > SCHEMA_VERSION:
        raise SchemaVersionError(
            f"this database has crmcore schema version {found}, but this release reads and "
            f"writes version {SCHEMA_VERSION}; it was written by a newer crmcore: open it "
            "with that release (or a later one)",
            found=found,
            expected=SCHEMA_VERSION,
        )
    if found is not None and found < 1:
        raise SchemaVersionError(
            f"this database records crmcore schema version {found}, which no release wrote",
            found=found,
            expected=SCHEMA_VERSION,
        )


def outdated_error(found: int) -> SchemaVersionError:
    """Return the error for an older schema, naming what upgrades it."""
    return SchemaVersionError(
        f"this database has crmcore schema version {found}, but this release reads and "
        f"writes version {SCHEMA_VERSION}: {UPGRADE_HINT}",
        found=found,
        expected=SCHEMA_VERSION,
    )


def layout_problems(conn: sa.Connection, metadata: sa.MetaData) -> list[str]:
    """Compare the tables in the database with ``metadata``: one line per difference.

    A table is wrong when it is missing, lacks a column, or has a column
    crmcore does not write that refuses NULL (without a default): every insert
    would fail. Extra nullable columns (added by an application) are fine.
    """
    inspector = sa.inspect(conn)
    present = set(inspector.get_table_names())
    wanted = [t for t in metadata.sorted_tables if t.name in present]
    columns = inspector.get_multi_columns(filter_names=[t.name for t in wanted]) if wanted else {}
    problems = [
        f"table {t.name} is missing" for t in metadata.sorted_tables if t.name not in present
    ]
    for table in wanted:
        found = {c["name"]: c for c in columns.get((None, table.name), [])}
        missing = [c.name for c in table.columns if c.name not in found]
        required = [
            name
            for name, col in found.items()
            if name not in table.c and not col["nullable"] and col.get("default") is None
        ]
        if missing:
            problems.append(f"table {table.name} lacks the columns {', '.join(missing)}")
        if required:
            problems.append(
                f"table {table.name} has required columns crmcore does not write: "
                + ", ".join(required)
            )
    return problems


def check_layout(
    conn: sa.Connection, metadata: sa.MetaData, found: int, *, allow_missing: bool = False
) -> bool:
    """Raise :class:`~crmcore.errors.SchemaMismatchError` unless the tables match ``metadata``.

    For a database recording this release's schema version (``found``).
    With ``allow_missing``, tables that are only missing are no error (a store
    opened with an aggregate of its own, before ``create_schema()`` creates
    its table): the result says whether every table is there.
    """
    problems = layout_problems(conn, metadata)
    if not problems:
        return True
    only_missing_tables = all(p.endswith(" is missing") for p in problems)
    if only_missing_tables and allow_missing:
        return False
    fix = (
        "call store.create_schema() (idempotent) to create the missing tables"
        if only_missing_tables
        else "open it with the aggregates (AggregateSpec) that created it, or restore the "
        "tables' layout; to start afresh, create_schema() on an empty database and copy the "
        "records over"
    )
    raise SchemaMismatchError(
        f"this database records crmcore schema version {found}, but its tables do not have "
        f"that version's layout: {'; '.join(problems)}. {fix[0].upper()}{fix[1:]}",
        found=found,
        expected=SCHEMA_VERSION,
        problems=problems,
    )


def drop_indexes(
    conn: sa.Connection, table: str, names: Sequence[str] | None = None
) -> list[tuple[str, str]]:
    """SQLite: drop ``table``'s secondary indexes (or those of ``names``); return them.

    ``(name, sql)`` pairs as ``sqlite_master`` stores them, for
    :func:`create_indexes` to build them again after a bulk load, in the same
    transaction (SQLite DDL is transactional: a rollback restores them).
    Indexes SQLite made itself (primary keys, unique constraints) have no
    stored definition and stay.
    """
    found = [
        (str(name), str(sql))
        for name, sql in conn.exec_driver_sql(
            "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = ? "
            "AND sql IS NOT NULL ORDER BY rowid",
            (table,),
        ).all()
        if names is None or name in names
    ]
    for name, _ in found:
        conn.exec_driver_sql(f'DROP INDEX "{name}"')
    return found


def create_indexes(conn: sa.Connection, indexes: Sequence[tuple[str, str]]) -> None:
    """SQLite: create the indexes :func:`drop_indexes` dropped, unless they exist (again)."""
    if not indexes:
        return
    present = {
        str(name)
        for (name,) in conn.exec_driver_sql(
            "SELECT name FROM sqlite_master WHERE type = 'index'"
        ).all()
    }
    for name, sql in indexes:
        if name not in present:
            conn.exec_driver_sql(sql)
