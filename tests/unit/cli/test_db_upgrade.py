"""``crmcore db upgrade URL``: a store of the release before, upgraded from the command line."""

from __future__ import annotations

import io

import sqlalchemy as sa

from crmcore.cli import main
from crmcore.storage import SCHEMA_VERSION, SqlStore
from tests.contract._samples import one_of_each
from tests.unit.storage.test_migrations import (
    fill_v1,
    make_v1,
    project,
    raw_rows,
    table_names,
)


def run(argv):
    err, out = io.StringIO(), io.StringIO()
    code = main(argv, stdout=out, stderr=err)
    return code, out.getvalue(), err.getvalue()


def _v1_file(tmp_path):
    path = tmp_path / "crm.sqlite"
    engine = sa.create_engine(f"sqlite:///{path}")
    make_v1(engine)
    fill_v1(engine)
    return path, engine


def _version(engine):
    with engine.connect() as conn:
        return conn.exec_driver_sql("SELECT version FROM crm_schema").scalar_one()


def test_upgrades_a_store_of_the_release_before_and_says_from_what_to_what(tmp_path):
    path, engine = _v1_file(tmp_path)
    before = raw_rows(engine)
    code, stdout, stderr = run(["db", "upgrade", f"sqlite:///{path}"])
    assert (code, stderr) == (0, "")
    assert stdout.strip() == (
        f"sqlite:///{path}: upgraded from schema version 1 to {SCHEMA_VERSION}"
    )
    assert _version(engine) == SCHEMA_VERSION == 7
    after = project(raw_rows(engine), before)  # every record kept, column by column
    assert after == {**before, "crm_schema": [{"version": SCHEMA_VERSION}]}
    with SqlStore(f"sqlite:///{path}") as store:
        customer = one_of_each()["customers"]
        assert store.customers.get(customer.id) == customer
        assert store.events.count() == 0  # the new tables are there and usable
    # again: nothing to do, and it says so
    code, stdout, _ = run(["db", "upgrade", f"sqlite:///{path}", "-q"])
    assert (code, stdout) == (0, "")
    code, stdout, _ = run(["db", "upgrade", f"sqlite:///{path}"])
    assert code == 0
    assert f"schema version {SCHEMA_VERSION} is current; nothing to upgrade" in stdout
    engine.dispose()


def test_a_failed_upgrade_exits_1_in_one_line_and_changes_nothing(tmp_path):
    path, engine = _v1_file(tmp_path)
    with engine.begin() as conn:  # something in the way of version 2
        conn.exec_driver_sql("CREATE TABLE crm_consumers (name TEXT)")
    tables, before = table_names(engine), raw_rows(engine)
    code, stdout, stderr = run(["db", "upgrade", f"sqlite:///{path}"])
    assert (code, stdout) == (1, "")
    assert stderr.count("\n") == 1
    assert "failed and changed nothing" in stderr
    assert "crm_consumers" in stderr  # the database's own reason
    assert table_names(engine) == tables  # no half-created tables, no version table
    assert raw_rows(engine) == before
    assert _version(engine) == 1
    engine.dispose()


def test_a_missing_file_or_a_database_without_crmcore_tables_is_refused(tmp_path):
    missing = tmp_path / "nowhere.sqlite"
    code, stdout, stderr = run(["db", "upgrade", f"sqlite:///{missing}"])
    assert (code, stdout) == (2, "")
    assert "does not exist" in stderr
    assert not missing.exists()  # not created as an empty database
    empty = tmp_path / "empty.sqlite"
    sa.create_engine(f"sqlite:///{empty}").connect().close()
    code, _, stderr = run(["db", "upgrade", f"sqlite:///{empty}"])
    assert code == 2
    assert "create_schema" in stderr
    code, _, stderr = run(["db", "upgrade", "not a url"])
    assert code == 2
    assert "URL: 'not a url' is not a database URL" in stderr
