"""Fixtures for the storage unit tests (SQL specifics, concurrency, crash safety)."""

from __future__ import annotations

from tests.contract._stores import (  # noqa: F401 -- fixtures
    pg_engine,
    sqlite_file_store,
    sqlite_template,
)
