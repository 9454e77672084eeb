"""Schema migrations with Alembic, run from inside the package (no ``alembic.ini``).

:func:`upgrade` migrates a database from the schema version it records in
``crm_schema`` to :data:`SCHEMA_VERSION`, running the revisions in
``crmcore/storage/migrations/versions`` (ids ``v1``, ``v2``...) through
Alembic's :class:`~alembic.runtime.environment.EnvironmentContext`, in one
transaction on the caller's connection: a failed migration leaves the
database as it was (PostgreSQL and SQLite both run DDL transactionally).

Databases created by schema version 1 carry no Alembic version table; they
are stamped ``v1`` first (in the same transaction).  Alembic is imported on
first use: only upgrading needs it.
"""

from __future__ import annotations

import importlib.resources
from typing import Any

import sqlalchemy as sa

from crmcore.errors import SchemaVersionError
from crmcore.storage._sqlschema import (
    ALEMBIC_TABLE,
    SCHEMA_VERSION,
    read_schema_version,
)

__all__ = ["FIRST_VERSION", "build_version", "revision_id", "upgrade"]

#: The oldest schema version :func:`upgrade` can migrate from.
FIRST_VERSION = 1


def revision_id(version: int) -> str:
    """Return the Alembic revision id of a schema version (``"v2"``)."""
    return f"v{version}"


def _script() -> tuple[Any, Any]:
    try:
        from alembic.config import Config  # noqa: PLC0415 -- needed only to migrate
        from alembic.script import ScriptDirectory  # noqa: PLC0415
    except ImportError as exc:  # pragma: no cover - alembic ships with the sql extra
        raise ImportError(
            "upgrading a crmcore database needs Alembic: pip install 'crmcore[sql]'"
        ) from exc
    config = Config()
    location = importlib.resources.files("crmcore.storage") / "migrations"
    config.set_main_option("script_location", str(location))
    return config, ScriptDirectory.from_config(config)


def upgrade(conn: sa.Connection, *, target: int = SCHEMA_VERSION) -> int:
    """Migrate the database on ``conn`` to schema version ``target``.

    Runs inside the connection's current transaction; the caller commits.

    Parameters
    ----------
    conn : sqlalchemy.Connection
        A connection in a transaction.
    target : int
        The version to reach (this release's by default).

    Returns
    -------
    int
        The version found before upgrading (``target`` when nothing was to do).

    Raises
    ------
    SchemaVersionError
        No crmcore schema, or a version this release cannot migrate from
        (newer than ``target``, or older than :data:`FIRST_VERSION`).
    """
    from alembic.runtime.migration import MigrationContext  # noqa: PLC0415

    found = read_schema_version(conn)
    if found is None:
        raise SchemaVersionError(
            "this database has no crmcore tables to upgrade; call store.create_schema() to "
            "create them",
            found=None,
            expected=target,
        )
    if found > target or found < FIRST_VERSION:
        raise SchemaVersionError(
            f"this database has crmcore schema version {found}; this release can upgrade "
            f"versions {FIRST_VERSION} to {target} only (open it with the crmcore release "
            "that wrote it)",
            found=found,
            expected=target,
        )
    config, script = _script()
    if not sa.inspect(conn).has_table(ALEMBIC_TABLE):  # written before crmcore used Alembic
        MigrationContext.configure(conn, opts=_OPTIONS).stamp(script, revision_id(found))
    if found == target:
        return found
    _run(conn, config, script, revision_id(target))
    after = read_schema_version(conn)
    if after != target:  # pragma: no cover - a revision that forgot to record its version
        raise SchemaVersionError(
            f"the migration ended at schema version {after}, not {target}",
            found=after,
            expected=target,
        )
    return found


_OPTIONS: dict[str, Any] = {"version_table": ALEMBIC_TABLE}


def _run(conn: sa.Connection, config: Any, script: Any, destination: str) -> None:
    from alembic.runtime.environment import EnvironmentContext  # noqa: PLC0415

    def steps(rev: Any, _context: Any) -> Any:
        return script._upgrade_revs(destination, rev)  # what `alembic upgrade` runs

    with EnvironmentContext(config, script, fn=steps, destination_rev=destination) as env:
        env.configure(connection=conn, **_OPTIONS)
        with env.begin_transaction():
            env.run_migrations()


def build_version(conn: sa.Connection, version: int) -> None:
    """Create the schema of ``version`` from scratch on an empty database, by migration.

    For tests and tools that need a store of an older release (the
    revisions' DDL is frozen).  Runs in the connection's transaction.

    Raises
    ------
    SchemaVersionError
        The database holds a crmcore schema already, or ``version`` is unknown.
    """
    found = read_schema_version(conn)
    if found is not None or not FIRST_VERSION <= version <= SCHEMA_VERSION:
        raise SchemaVersionError(
            f"build_version needs an empty database and a version from {FIRST_VERSION} to "
            f"{SCHEMA_VERSION}; found schema {found}, asked for {version}",
            found=found,
            expected=version,
        )
    config, script = _script()
    _run(conn, config, script, revision_id(version))
