"""Fresh, isolated stores for tests: in memory, SQLite files, PostgreSQL schemas."""

from __future__ import annotations

import shutil
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any

from crmcore.errors import ValidationError

if TYPE_CHECKING:
    from crmcore.storage import InMemoryStore, SqlStore

__all__ = ["StoreMaker", "empty_postgres", "schema_url", "store_kind"]

# tables whose rows survive between tests: the schema version and the event counter
_KEEP = frozenset({"crm_schema", "crm_alembic_version", "crm_event_head"})


def store_kind(value: str | None) -> str:
    """Check a ``--crm-store`` value: ``memory``, ``sqlite`` or a PostgreSQL URL.

    Parameters
    ----------
    value : str or None
        ``None`` or ``""`` mean ``memory``.

    Returns
    -------
    str
        ``"memory"``, ``"sqlite"`` or the URL, unchanged.

    Raises
    ------
    ValidationError
        For anything else (a typo must not silently run on another store).
    """
    if value is None or value in {"", "memory"}:
        return "memory"
    if value == "sqlite" or value.startswith(("postgresql://", "postgresql+")):
        return value
    raise ValidationError(
        f"--crm-store={value!r}: expected 'memory', 'sqlite' or a PostgreSQL URL "
        "such as 'postgresql+psycopg://user:password@host/database'"
    )


class StoreMaker:
    """Make empty stores with their schema, cheaply and isolated from each other.

    * ``memory``: a new :class:`~crmcore.storage.InMemoryStore`.
    * ``sqlite``: a new database file, copied from a template created once
      (copying a file is much cheaper than creating the tables).
    * a PostgreSQL URL: one schema per URL for the whole session (created on
      first use, dropped by :meth:`close`), emptied before each store is
      handed out; the event positions restart at 1. Tests sharing a URL must
      therefore not run concurrently in one process (pytest does not).

    Parameters
    ----------
    directory : pathlib.Path
        Where SQLite files are written (a temporary directory).
    """

    def __init__(self, directory: Path) -> None:
        self._directory = Path(directory)
        self._template: Path | None = None
        self._engines: dict[str, tuple[Any, Any, str]] = {}
        self._count = 0

    def make(self, kind: str, directory: Path | None = None) -> InMemoryStore | SqlStore:
        """Return a fresh, empty store of ``kind`` (see :func:`store_kind`).

        Parameters
        ----------
        kind : str
            ``"memory"``, ``"sqlite"`` or a PostgreSQL URL.
        directory : pathlib.Path, optional
            For SQLite, the directory of the new file (default: the maker's).

        Returns
        -------
        InMemoryStore or SqlStore
            A SQL store is the caller's to close.
        """
        kind = store_kind(kind)
        if kind == "memory":
            from crmcore.storage import InMemoryStore  # noqa: PLC0415 -- the sql extra is optional

            return InMemoryStore()
        from crmcore.storage import SqlStore  # noqa: PLC0415 -- the sql extra is optional

        if kind == "sqlite":
            self._count += 1
            path = (directory or self._directory) / f"crm-{self._count}.sqlite"
            shutil.copyfile(self._sqlite_template(), path)
            return SqlStore(f"sqlite:///{path}")
        engine = self._postgres_engine(kind)
        empty_postgres(engine)
        return SqlStore(engine)

    def _sqlite_template(self) -> Path:
        if self._template is None:
            from crmcore.storage import SqlStore  # noqa: PLC0415 -- the sql extra is optional

            path = self._directory / "template.sqlite"
            store = SqlStore(f"sqlite:///{path}")
            store.create_schema()
            store.close()  # checkpoints the write-ahead log into the file
            self._template = path
        return self._template

    def _postgres_engine(self, url: str) -> Any:
        if url not in self._engines:
            import sqlalchemy as sa  # noqa: PLC0415 -- the sql extra is optional

            from crmcore.storage import SqlStore  # noqa: PLC0415 -- the sql extra is optional

            schema = f"crmcore_test_{uuid.uuid4().hex[:12]}"
            admin = sa.create_engine(url)
            with admin.begin() as conn:
                conn.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
            engine = sa.create_engine(schema_url(url, schema))
            SqlStore(engine).create_schema()
            self._engines[url] = (engine, admin, schema)
        return self._engines[url][0]

    def close(self) -> None:
        """Drop the PostgreSQL schemas this maker created and dispose of its engines."""
        while self._engines:
            _, (engine, admin, schema) = self._engines.popitem()
            engine.dispose()
            with admin.begin() as conn:
                conn.exec_driver_sql(f'DROP SCHEMA "{schema}" CASCADE')
            admin.dispose()


def schema_url(url: str, schema: str) -> str:
    """Return ``url`` with its ``search_path`` set to ``schema`` (usable by child processes).

    Parameters
    ----------
    url : str
        A PostgreSQL URL.
    schema : str
        The schema the connections should use.

    Returns
    -------
    str
    """
    separator = "&" if "?" in url else "?"
    return f"{url}{separator}options=-csearch_path%3D{schema}"


def empty_postgres(engine: Any) -> None:
    """Empty every crmcore table but the schema version; restart the event positions."""
    import sqlalchemy as sa  # noqa: PLC0415 -- the sql extra is optional

    with engine.begin() as conn:
        names = [
            n
            for n in sa.inspect(conn).get_table_names()
            if n.startswith("crm_") and n not in _KEEP
        ]
        for name in names:  # DELETE is much cheaper than TRUNCATE on tiny tables
            conn.exec_driver_sql(f'DELETE FROM "{name}"')  # noqa: S608 -- crm_ table names
        conn.exec_driver_sql("UPDATE crm_event_head SET position = 0")
