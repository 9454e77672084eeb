"""Fixtures for the storage unit tests (SQL specifics, concurrency, crash safety)."""

from __future__ import annotations

from tests.contract._stores import pg_engine, sqlite_template  # noqa: F401 -- fixtures
