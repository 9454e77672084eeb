"""InMemoryStore works without SQLAlchemy; SqlStore then says which extra to install."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

SCRIPT = textwrap.dedent(
    """
    import sys
    sys.modules["sqlalchemy"] = None  # as if the `sql` extra were not installed
    import datetime as dt
    from crmcore.domain import Customer
    from crmcore.storage import InMemoryStore
    store = InMemoryStore()
    at = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    store.customers.add(Customer(id="c1", name="Ada", created_at=at))
    assert store.customers.get("c1").name == "Ada"
    try:
        from crmcore.storage import SqlStore
    except ImportError as exc:
        print("ImportError:", exc)
    """
)


def test_in_memory_store_without_sqlalchemy():
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=120, check=True
    )
    assert "pip install 'crmcore[sql]'" in done.stdout


def test_unknown_attribute():
    import crmcore.storage

    with pytest.raises(AttributeError, match="NoSuchThing"):
        crmcore.storage.NoSuchThing  # noqa: B018
