"""Schema versions and Alembic migrations, on SQLite files and PostgreSQL.

The version-1 stores are built from the DDL the release before wrote
(``tests/data/storage/schema_v1.*.sql``, captured from its
``create_schema()``), filled with records, upgraded, and checked row by row.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from crmcore.domain import StageChanged
from crmcore.errors import SchemaVersionError
from crmcore.storage import SCHEMA_VERSION, SqlStore
from crmcore.storage._aggregates import default_aggregates, layout
from crmcore.storage._migrate import build_version
from tests.contract._samples import at, customer, eur, one_of_each, order
from tests.contract._stores import PG_URL, pg_schema_url, skip_without_pg

DATA = Path(__file__).parents[2] / "data" / "storage"
KINDS = ("sqlite", pytest.param("postgres", marks=pytest.mark.postgres))


@pytest.fixture
def engine_of(tmp_path) -> Iterator:
    """Make empty databases: a SQLite file, or a fresh PostgreSQL schema (dropped after)."""
    made: list[tuple[sa.Engine, str | None]] = []

    def make(kind: str) -> sa.Engine:
        if kind == "sqlite":
            engine = sa.create_engine(f"sqlite:///{tmp_path / f'db{len(made)}.sqlite'}")
            made.append((engine, None))
            return engine
        skip_without_pg()
        schema = f"crmcore_mig_{uuid.uuid4().hex[:12]}"
        admin = sa.create_engine(PG_URL)
        with admin.begin() as conn:
            conn.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
        admin.dispose()
        engine = sa.create_engine(pg_schema_url(schema))
        made.append((engine, schema))
        return engine

    yield make
    for engine, schema in made:
        engine.dispose()
        if schema is not None:
            admin = sa.create_engine(PG_URL)
            with admin.begin() as conn:
                conn.exec_driver_sql(f'DROP SCHEMA "{schema}" CASCADE')
            admin.dispose()


def v1_statements(dialect: str) -> list[str]:
    text = (DATA / f"schema_v1.{dialect}.sql").read_text(encoding="utf-8")
    lines = [line for line in text.splitlines() if not line.startswith("--")]
    return [s.strip() for s in "\n".join(lines).split(";\n") if s.strip()]


def make_v1(engine: sa.Engine) -> None:
    """Create the schema exactly as the release before did."""
    dialect = "sqlite" if engine.dialect.name == "sqlite" else "postgresql"
    with engine.begin() as conn:
        for statement in v1_statements(dialect):
            conn.exec_driver_sql(statement.rstrip(";"))


def records() -> dict[str, list]:
    samples = {name: [entity] for name, entity in one_of_each().items()}
    samples["orders"] += [order(f"o{i}", amount=eur(i), placed_at=at(i)) for i in range(2, 40)]
    samples["customers"].append(customer(uuid.UUID(int=5), name="Grace"))
    return samples


def fill_v1(engine: sa.Engine) -> None:
    """Write records the way the release before did (the same codecs: its tables are ours)."""
    dialect = "sqlite" if engine.dialect.name == "sqlite" else "postgresql"
    metadata = sa.MetaData()
    metadata.reflect(engine)
    with engine.begin() as conn:
        for spec in default_aggregates():
            codec = layout(spec).codec(dialect)
            rows = [
                dict(zip(codec.columns, codec.encode(e), strict=True))
                for e in records().get(spec.name, [])
            ]
            if rows:
                table = metadata.tables[f"crm_{spec.name}"]
                if dialect == "postgresql":  # reflected JSON columns take objects
                    rows = [{k: _parsed(table, k, v) for k, v in row.items()} for row in rows]
                conn.execute(sa.insert(table), rows)


def _parsed(table: sa.Table, column: str, value):
    return value  # the PostgreSQL codec already yields JSON objects


def raw_rows(engine: sa.Engine) -> dict[str, list[tuple]]:
    with engine.connect() as conn:
        return {
            spec.name: [
                tuple(r)
                for r in conn.exec_driver_sql(f'SELECT * FROM "crm_{spec.name}" ORDER BY id')
            ]
            for spec in default_aggregates()
        }


def table_names(engine: sa.Engine) -> set[str]:
    return set(sa.inspect(engine).get_table_names())


# ---------------------------------------------------------------- opening old stores


@pytest.mark.parametrize("kind", KINDS)
def test_an_older_store_opens_and_names_the_upgrade(engine_of, kind):
    engine = engine_of(kind)
    make_v1(engine)
    store = SqlStore(engine)  # opening is fine: the store can upgrade itself
    for call in (
        store.customers.count,
        store.events.query,
        store.create_schema,
    ):
        with pytest.raises(SchemaVersionError, match=r"upgrade_schema\(\)") as info:
            call()
        assert info.value.found == 1
        assert info.value.expected == SCHEMA_VERSION == 5


@pytest.mark.parametrize("kind", KINDS)
def test_upgrade_keeps_every_row(engine_of, kind):
    engine = engine_of(kind)
    make_v1(engine)
    fill_v1(engine)
    before = raw_rows(engine)
    assert sum(map(len, before.values())) == 11 + 38 + 1
    SqlStore(engine).upgrade_schema()

    after = raw_rows(engine)
    # row by row, column by column; version 5 appended the customers' gender (None)
    assert after["customers"] == [(*r, None) for r in before["customers"]]
    assert {**after, "customers": before["customers"]} == before
    store = SqlStore(engine)
    for name, entities in records().items():
        stored = store.repository(name)
        for entity in entities:
            assert stored.get(entity.id) == entity
        assert stored.count() == len(entities)
    with engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT version FROM crm_schema").scalars().all() == [
            SCHEMA_VERSION
        ]
        assert conn.exec_driver_sql(
            "SELECT version_num FROM crm_alembic_version"
        ).scalars().all() == [f"v{SCHEMA_VERSION}"]
    # the new tables work, and the store takes new records
    assert store.events.append(StageChanged("p1", "prospecting", "proposal", at())) == (1,)
    store.orders.add(order("new"))
    store.upgrade_schema()  # again: nothing to do
    assert store.orders.count() == 40


@pytest.mark.parametrize("kind", KINDS)
def test_a_failed_upgrade_changes_nothing(engine_of, kind):
    engine = engine_of(kind)
    make_v1(engine)
    fill_v1(engine)
    with engine.begin() as conn:  # something in the way of version 2
        conn.exec_driver_sql("CREATE TABLE crm_consumers (name TEXT)")
    tables = table_names(engine)
    before = raw_rows(engine)
    with pytest.raises(sa.exc.DatabaseError):
        SqlStore(engine).upgrade_schema()
    assert table_names(engine) == tables  # no half-created tables, no version table
    assert raw_rows(engine) == before
    with engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT version FROM crm_schema").scalar() == 1


@pytest.mark.parametrize("kind", KINDS)
def test_newer_and_missing_schemas_are_refused(engine_of, kind):
    engine = engine_of(kind)
    with pytest.raises(SchemaVersionError, match="create_schema"):
        SqlStore(engine).upgrade_schema()
    SqlStore(engine).create_schema()
    with engine.begin() as conn:
        conn.exec_driver_sql(f"UPDATE crm_schema SET version = {SCHEMA_VERSION + 1}")
    with pytest.raises(SchemaVersionError, match="newer") as info:
        SqlStore(engine)
    assert info.value.found == SCHEMA_VERSION + 1


# ---------------------------------------------------------------- the migrations' schemas


def schema_of(engine: sa.Engine) -> dict:
    """Tables, columns, keys and indexes as the database reports them."""
    out = {}
    inspector = sa.inspect(engine)
    for table in sorted(inspector.get_table_names()):
        if table == "crm_alembic_version":
            continue
        columns = [
            (c["name"], str(c["type"]), c["nullable"]) for c in inspector.get_columns(table)
        ]
        indexes = sorted(
            (
                i["name"],
                tuple(i["column_names"]),
                bool(i["unique"]),
                str(i.get("dialect_options", {}).get("postgresql_where", "")),
            )
            for i in inspector.get_indexes(table)
        )
        uniques = sorted(
            (u["name"], tuple(u["column_names"])) for u in inspector.get_unique_constraints(table)
        )
        pk = tuple(inspector.get_pk_constraint(table)["constrained_columns"])
        out[table] = (columns, pk, indexes, uniques)
    if engine.dialect.name == "sqlite":  # partial-index predicates, as written
        with engine.connect() as conn:
            # whitespace aside: ALTER TABLE ADD COLUMN writes the column without a line break
            out["sqlite_master"] = sorted(
                (kind, name, " ".join(sql.split()))
                for kind, name, sql in conn.exec_driver_sql(
                    "SELECT type, name, sql FROM sqlite_master "
                    "WHERE sql IS NOT NULL AND name NOT LIKE '%alembic%'"
                ).all()
            )
    return out


@pytest.mark.parametrize("kind", KINDS)
def test_the_frozen_first_revision_builds_the_release_before(engine_of, kind):
    golden, migrated = engine_of(kind), engine_of(kind)
    make_v1(golden)
    with migrated.begin() as conn:
        build_version(conn, 1)
    assert schema_of(migrated) == schema_of(golden)


@pytest.mark.parametrize("kind", KINDS)
def test_migrating_gives_the_schema_create_schema_builds(engine_of, kind):
    fresh, migrated = engine_of(kind), engine_of(kind)
    SqlStore(fresh).create_schema()
    make_v1(migrated)
    SqlStore(migrated).upgrade_schema()
    assert schema_of(migrated) == schema_of(fresh)
    with fresh.connect() as a, migrated.connect() as b:
        for sql in ("SELECT version FROM crm_schema", "SELECT * FROM crm_event_head"):
            assert a.exec_driver_sql(sql).all() == b.exec_driver_sql(sql).all()


def test_build_version_refuses_a_database_with_a_schema(engine_of):
    engine = engine_of("sqlite")
    SqlStore(engine).create_schema()
    with engine.begin() as conn, pytest.raises(SchemaVersionError, match="empty"):
        build_version(conn, 1)


def test_migrations_ship_inside_the_package():
    import crmcore.storage

    root = Path(crmcore.storage.__file__).parent / "migrations"
    assert sorted(p.name for p in (root / "versions").glob("v*.py")) == [
        "v1_baseline.py",
        "v2_event_history.py",
        "v5_identity.py",
    ]
    assert not list(root.rglob("alembic.ini"))  # users need no Alembic configuration
