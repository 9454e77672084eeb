"""Fixtures of the store contract suite: every test runs on every store."""

from __future__ import annotations

import pytest

from tests.contract._stores import (  # noqa: F401 -- fixtures
    STORE_KINDS,
    make_store,
    pg_engine,
    sqlite_template,
)


@pytest.fixture(params=STORE_KINDS)
def store(request, tmp_path):
    return make_store(request.param, tmp_path, request)
