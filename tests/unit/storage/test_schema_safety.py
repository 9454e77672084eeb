"""Schema creation is safe to race, and tables unlike their recorded version are named.

Issue 23, class 3: four processes calling ``create_schema()`` at once on one
PostgreSQL schema used to fail in three of them (a duplicate ``pg_type`` row);
a table whose columns differ from the schema version the database records
used to surface as raw SQL errors at the first write.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
import uuid

import attrs
import pytest
import sqlalchemy as sa

from crmcore.errors import SchemaMismatchError, SchemaVersionError
from crmcore.storage import SCHEMA_VERSION, AggregateSpec, SqlStore
from tests.contract._samples import customer, one_of_each
from tests.contract._stores import PG_URL, pg_schema_url, skip_without_pg

_CHILD = textwrap.dedent(
    """
    import sys, time, pathlib
    from crmcore.storage import SqlStore
    url, go = sys.argv[1], pathlib.Path(sys.argv[2])
    store = SqlStore(url)
    print("ready", flush=True)
    while not go.exists():
        time.sleep(0.002)
    try:
        store.create_schema()
        print("ok", flush=True)
    except Exception as exc:
        print(type(exc).__name__, str(exc).splitlines()[0][:200], flush=True)
    """
)


@pytest.fixture
def fresh_url(request, tmp_path):
    """A URL of an empty database: a SQLite file, or a new PostgreSQL schema."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'crm.db'}"
        return
    skip_without_pg()
    assert PG_URL
    schema = f"crmcore_race_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(PG_URL)
    with admin.begin() as conn:
        conn.exec_driver_sql(f'CREATE SCHEMA "{schema}"')

    yield pg_schema_url(schema)
    with admin.begin() as conn:
        conn.exec_driver_sql(f'DROP SCHEMA "{schema}" CASCADE')
    admin.dispose()


_KINDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


@pytest.mark.slow
@pytest.mark.parametrize("fresh_url", _KINDS, indirect=True)
def test_four_processes_creating_the_schema_at_once_all_succeed(fresh_url, tmp_path):
    go = tmp_path / "go"
    children = [
        subprocess.Popen(
            [sys.executable, "-c", _CHILD, fresh_url, str(go)], stdout=subprocess.PIPE, text=True
        )
        for _ in range(4)
    ]
    try:
        for child in children:
            assert child.stdout.readline().strip() == "ready"
        go.touch()
        results = [child.communicate(timeout=120)[0].strip() for child in children]
    finally:
        for child in children:
            if child.poll() is None:
                child.kill()
                child.wait(timeout=10)
    assert results == ["ok"] * 4
    store = SqlStore(fresh_url)
    try:
        with store.engine.connect() as conn:
            # one version row, one event counter: no process recorded the schema twice
            assert conn.exec_driver_sql("SELECT count(*) FROM crm_schema").scalar_one() == 1
            assert conn.exec_driver_sql("SELECT count(*) FROM crm_event_head").scalar_one() == 1
        store.customers.add(customer())
        assert store.customers.count() == 1
    finally:
        store.close()


def _sqlite(tmp_path) -> str:
    url = f"sqlite:///{tmp_path / 'crm.db'}"
    with SqlStore(url) as store:
        store.create_schema()
    return url


def _alter(url: str, *statements: str) -> None:
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        for statement in statements:
            conn.exec_driver_sql(statement)
    engine.dispose()


def test_a_table_lacking_a_column_is_named_when_the_store_opens(tmp_path):
    url = _sqlite(tmp_path)
    _alter(url, "ALTER TABLE crm_accounts DROP COLUMN industry")
    with pytest.raises(
        SchemaMismatchError, match="crm_accounts lacks the columns industry"
    ) as info:
        SqlStore(url)
    assert info.value.problems == ("table crm_accounts lacks the columns industry",)
    assert isinstance(info.value, SchemaVersionError)  # callers catching the parent keep working
    assert info.value.found == info.value.expected == SCHEMA_VERSION


@pytest.mark.parametrize("fresh_url", _KINDS, indirect=True)
def test_a_table_with_a_foreign_layout_is_refused_on_open_and_by_create_schema(fresh_url):
    with SqlStore(fresh_url) as opened:
        opened.create_schema()
        _refuse_foreign_layout(fresh_url, opened)


def _refuse_foreign_layout(fresh_url: str, opened: SqlStore) -> None:
    _alter(
        fresh_url,
        "DROP TABLE crm_campaign_members",
        "CREATE TABLE crm_campaign_members (id TEXT PRIMARY KEY, version BIGINT NOT NULL, "
        "weight REAL NOT NULL)",
    )
    with pytest.raises(SchemaMismatchError) as info:
        SqlStore(fresh_url)
    (problem, extra) = info.value.problems
    assert problem == (
        "table crm_campaign_members lacks the columns custom, campaign_id, customer_id, "
        "selected_at, selected_at_tz, variant, control"
    )
    assert (
        extra == "table crm_campaign_members has required columns crmcore does not write: weight"
    )
    assert "AggregateSpec" in str(info.value)
    # create_schema (on a store opened before the change) cannot mend it either, and says so
    with pytest.raises(SchemaMismatchError, match="crm_campaign_members lacks"):
        opened.create_schema()


def test_extra_nullable_columns_an_application_added_are_fine(tmp_path):
    url = _sqlite(tmp_path)
    _alter(url, "ALTER TABLE crm_customers ADD COLUMN crm_region TEXT")
    with SqlStore(url) as store:
        store.customers.add(customer())
        assert store.customers.get("c1") == customer()


@attrs.frozen
class Note:
    id: str
    text: str
    version: int = 0


def test_a_missing_aggregate_table_is_named_at_first_use_and_made_by_create_schema(tmp_path):
    url = _sqlite(tmp_path)
    notes = SqlStore(url, aggregates=[AggregateSpec("notes", Note)])  # opens: nothing wrong yet
    with pytest.raises(SchemaMismatchError, match=r"crm_notes is missing\. Call store\.create_s"):
        notes.repository("notes").add(Note("n1", "hello"))
    notes.create_schema()
    notes.repository("notes").add(Note("n1", "hello"))
    assert notes.repository("notes").get("n1") == Note("n1", "hello")
    notes.close()


def test_a_layout_changed_after_open_is_named_at_first_use(tmp_path):
    url = f"sqlite:///{tmp_path / 'crm.db'}"
    store = SqlStore(url)  # no schema yet: the check waits for first use
    other = SqlStore(url)
    other.create_schema()
    other.close()
    _alter(url, "ALTER TABLE crm_leads DROP COLUMN score")
    with pytest.raises(SchemaMismatchError, match="crm_leads lacks the columns score"):
        store.leads.add(one_of_each()["leads"])
    store.close()
