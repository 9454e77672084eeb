"""Store factories shared by the storage tests (contract, unit and property tiers).

PostgreSQL: set ``CRMCORE_TEST_POSTGRES_URL`` (for example
``postgresql+psycopg://crm:crm@localhost/crmcore_test``).  Each test session
works in a fresh PostgreSQL schema that is dropped at the end; tables are
emptied between tests.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import sqlalchemy as sa

from crmcore.storage import InMemoryStore, SqlStore
from crmcore.testing._stores import empty_postgres, schema_url

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
    return schema_url(PG_URL, schema)


def skip_without_pg() -> None:
    """Skip when no server is configured; fail instead where CI demands PostgreSQL."""
    if PG_URL:
        return
    if os.environ.get(REQUIRE_ENV):
        pytest.fail(f"{REQUIRE_ENV} is set but {PG_ENV} is not: the PostgreSQL tests cannot run")
    pytest.skip(PG_SKIP)


@pytest.fixture(scope="session")
def pg_engine(crm_store_maker) -> sa.Engine:
    """An engine bound to a fresh schema for this test session."""
    skip_without_pg()
    assert PG_URL
    engine: sa.Engine = crm_store_maker._postgres_engine(PG_URL)
    return engine


@pytest.fixture(scope="session")
def sqlite_template(crm_store_maker) -> Path:
    """An empty SQLite database with the schema, copied by each test (cheaper than DDL)."""
    return crm_store_maker._sqlite_template()


def clean_pg(engine: sa.Engine) -> None:
    """Empty every crmcore table (keeps the schema version rows; event positions restart)."""
    empty_postgres(engine)


def make_store(kind: str, tmp_path, request) -> InMemoryStore | SqlStore:
    """A fresh, empty store of the given kind (schema created)."""
    maker = request.getfixturevalue("crm_store_maker")
    if kind == "postgres":
        request.getfixturevalue("pg_engine")  # skips without a server
        assert PG_URL
        kind = PG_URL
    store = maker.make(kind, tmp_path)
    if isinstance(store, SqlStore) and kind == "sqlite":
        request.addfinalizer(store.close)
    return store


def sql_statements(store: SqlStore) -> list[str]:
    """Start recording the SQL ``store`` sends; return the (growing) list of statements."""
    seen: list[str] = []
    sa.event.listen(
        store.engine, "before_cursor_execute", lambda *args: seen.append(args[2]), named=False
    )
    return seen


@pytest.fixture
def sqlite_file_store(tmp_path):
    """An empty SQLite store in a file of its own, with the schema, closed after the test."""
    store = SqlStore(f"sqlite:///{tmp_path / 'crm.db'}")
    store.create_schema()
    yield store
    store.close()
