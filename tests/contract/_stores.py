"""Store factories shared by the storage tests (contract, unit and property tiers).

PostgreSQL: set ``CRMCORE_TEST_POSTGRES_URL`` (for example
``postgresql+psycopg://crm:crm@localhost/crmcore_test``).  Each test session
works in a fresh PostgreSQL schema that is dropped at the end; tables are
emptied between tests.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from crmcore.storage import InMemoryStore, SqlStore

PG_ENV = "CRMCORE_TEST_POSTGRES_URL"
PG_URL = os.environ.get(PG_ENV)
PG_SKIP = (
    f"PostgreSQL tests need a server: set {PG_ENV}=postgresql+psycopg://USER:PW@HOST/DB "
    "(a database the user may create schemas in) to run them"
)
REQUIRE_ENV = "CRMCORE_REQUIRE_POSTGRES"
STORE_KINDS = ("memory", "sqlite", pytest.param("postgres", marks=pytest.mark.postgres))


def pg_schema_url(schema: str) -> str:
    """The test server's URL with ``search_path`` set to ``schema`` (usable by child processes)."""
    assert PG_URL
    separator = "&" if "?" in PG_URL else "?"
    return f"{PG_URL}{separator}options=-csearch_path%3D{schema}"


def skip_without_pg() -> None:
    """Skip when no server is configured; fail instead where CI demands PostgreSQL."""
    if PG_URL:
        return
    if os.environ.get(REQUIRE_ENV):
        pytest.fail(f"{REQUIRE_ENV} is set but {PG_ENV} is not: the PostgreSQL tests cannot run")
    pytest.skip(PG_SKIP)


@pytest.fixture(scope="session")
def pg_engine() -> Iterator[sa.Engine]:
    """An engine bound to a fresh schema for this test session."""
    skip_without_pg()
    schema = f"crmcore_test_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(PG_URL)
    with admin.begin() as conn:
        conn.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
    engine = sa.create_engine(pg_schema_url(schema))
    SqlStore(engine).create_schema()
    try:
        yield engine
    finally:
        engine.dispose()
        with admin.begin() as conn:
            conn.exec_driver_sql(f'DROP SCHEMA "{schema}" CASCADE')
        admin.dispose()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory) -> Path:
    """An empty SQLite database with the schema, copied by each test (cheaper than DDL)."""
    path = tmp_path_factory.mktemp("template") / "crm.db"
    store = SqlStore(f"sqlite:///{path}")
    store.create_schema()
    store.close()  # checkpoints the WAL into the main file
    return path


_KEEP = {"crm_schema", "crm_alembic_version", "crm_event_head"}


def clean_pg(engine: sa.Engine) -> None:
    """Empty every crmcore table (keeps the schema version rows; event positions restart)."""
    with engine.begin() as conn:
        names = [
            n
            for n in sa.inspect(conn).get_table_names()
            if n.startswith("crm_") and n not in _KEEP
        ]
        for name in names:  # DELETE is much cheaper than TRUNCATE on tiny tables
            conn.exec_driver_sql(f'DELETE FROM "{name}"')
        conn.exec_driver_sql("UPDATE crm_event_head SET position = 0")


def make_store(kind: str, tmp_path, request) -> InMemoryStore | SqlStore:
    """A fresh, empty store of the given kind (schema created)."""
    if kind == "memory":
        return InMemoryStore()
    if kind == "sqlite":
        path = tmp_path / "crm.db"
        shutil.copyfile(request.getfixturevalue("sqlite_template"), path)
        store = SqlStore(f"sqlite:///{path}")
        request.addfinalizer(store.close)
        return store
    engine = request.getfixturevalue("pg_engine")
    clean_pg(engine)
    return SqlStore(engine)
