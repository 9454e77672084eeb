"""User JSON in ``custom`` that looks like the codec's own tags comes back exactly."""

from __future__ import annotations

import datetime as dt

import pytest

from crmcore.domain import Customer
from crmcore.storage import InMemoryStore, SqlStore

T0 = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)

TAG_SHAPED = {
    "a": {"$date": None},  # the shape hypothesis found: refused before the escape existed
    "b": {"$decimal": "1.5"},  # a plain string, not a Decimal
    "c": {"$map": {"x": 1}},  # the escape tag itself, nested
    "d": [{"$uuid": "not-a-uuid"}, {"$datetime": 3}],
    "e": {"$date": "2024-01-01", "other": 1},  # two keys: never a tag
}


@pytest.fixture(params=["memory", "sqlite"])
def store(request, tmp_path):
    if request.param == "memory":
        yield InMemoryStore()
        return
    sql = SqlStore(f"sqlite:///{tmp_path / 'crm.db'}")
    sql.create_schema()
    yield sql
    sql.close()


def test_tag_shaped_user_mappings_round_trip(store):
    customer = Customer(id="c1", name="Ada", created_at=T0, custom=TAG_SHAPED)
    store.customers.add(customer)
    back = store.customers.get("c1")
    assert back == customer
    assert back.custom["b"] == {"$decimal": "1.5"}
    assert back.custom["c"] == {"$map": {"x": 1}}
