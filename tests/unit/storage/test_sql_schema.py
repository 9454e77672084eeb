"""SqlStore specifics: explicit schema, schema version, SQLite settings, indexes."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from crmcore.errors import SchemaVersionError
from crmcore.storage import SCHEMA_VERSION, SqlStore
from tests.contract._samples import customer, order


def sqlite_url(tmp_path, name="crm.db"):
    return f"sqlite:///{tmp_path / name}"


def test_create_schema_is_explicit_and_idempotent(tmp_path):
    store = SqlStore(sqlite_url(tmp_path))
    with pytest.raises(SchemaVersionError, match="create_schema") as info:
        store.customers.find("c1")
    assert info.value.found is None
    store.create_schema()
    store.customers.add(customer())
    store.create_schema()  # again: nothing lost, nothing duplicated
    assert store.customers.count() == 1
    with store.engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT version FROM crm_schema").scalars().all() == [
            SCHEMA_VERSION
        ]
    store.close()


def test_another_schema_version_is_refused_on_open(tmp_path):
    store = SqlStore(sqlite_url(tmp_path))
    store.create_schema()
    with store.engine.begin() as conn:
        conn.exec_driver_sql("UPDATE crm_schema SET version = 999")
    store.close()
    with pytest.raises(SchemaVersionError) as info:
        SqlStore(sqlite_url(tmp_path))
    assert info.value.found == 999
    assert info.value.expected == SCHEMA_VERSION
    assert "999" in str(info.value)


def test_a_foreign_schema_table_is_refused(tmp_path):
    engine = sa.create_engine(sqlite_url(tmp_path))
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE crm_schema (version INTEGER)")
    with pytest.raises(SchemaVersionError, match="one row"):
        SqlStore(engine)
    engine.dispose()


def test_sqlite_runs_in_wal_mode_with_foreign_keys(tmp_path):
    store = SqlStore(sqlite_url(tmp_path))
    store.create_schema()
    with store.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() >= 1000
    store.close()


def test_engine_can_be_passed_and_shared(tmp_path):
    engine = sa.create_engine(sqlite_url(tmp_path))
    a, b = SqlStore(engine), SqlStore(engine)
    a.create_schema()
    a.orders.add(order())
    assert b.orders.get("o1") == order()
    assert "sqlite" in repr(a)
    engine.dispose()


def test_tables_are_plain_columns_with_indexes(tmp_path):
    store = SqlStore(sqlite_url(tmp_path))
    store.create_schema()
    inspector = sa.inspect(store.engine)
    columns = [c["name"] for c in inspector.get_columns("crm_orders")]
    assert columns == [
        "id",
        "version",
        "custom",
        "customer_id",
        "placed_at",
        "placed_at_tz",
        "amount",
        "amount_currency",
        "status",
        "campaign_id",
        "channel",
    ]
    indexed = {tuple(ix["column_names"]) for ix in inspector.get_indexes("crm_orders")}
    assert {("customer_id",), ("placed_at",), ("campaign_id",)} <= indexed
    store.orders.add(order())
    with store.engine.connect() as conn:
        row = conn.exec_driver_sql(
            "SELECT placed_at, placed_at_tz, amount, amount_currency, custom FROM crm_orders"
        ).one()
        plan = " ".join(
            str(r[-1])
            for r in conn.exec_driver_sql(
                "EXPLAIN QUERY PLAN SELECT id FROM crm_orders WHERE customer_id = 'c1'"
            )
        )
    # UTC microseconds since the epoch + zone, exact decimal text, JSON text
    assert row == (1772440200000000, "Europe/Paris", "19.99", "EUR", "{}")
    assert "ix_crm_orders_customer_id" in plan
    assert store.table("orders").name == "crm_orders"
    store.close()


@pytest.mark.postgres
def test_postgres_column_types(pg_engine):
    inspector = sa.inspect(pg_engine)
    types = {c["name"]: str(c["type"]) for c in inspector.get_columns("crm_orders")}
    assert types["placed_at"] == "TIMESTAMP WITH TIME ZONE" or "TIMESTAMP" in types["placed_at"]
    assert types["amount"].startswith("NUMERIC")
    assert types["custom"] == "JSON"
    assert types["version"] == "BIGINT"
