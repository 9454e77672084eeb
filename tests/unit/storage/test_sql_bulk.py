"""SQLite bulk writes (``add_many``, ``add_frame``): one transaction, no savepoint per batch."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pandas as pd
import pytest

from crmcore.domain import Money, Order
from crmcore.errors import ValidationError
from tests.contract._stores import sql_statements as statements

T = dt.datetime(2026, 3, 2, 9, 30, tzinfo=dt.UTC)


def order(key: str) -> Order:
    return Order(
        id=key, customer_id="c1", placed_at=T, amount=Money(amount=Decimal("9.50"), currency="EUR")
    )


@pytest.fixture
def store(sqlite_file_store):
    return sqlite_file_store


def test_batches_of_one_call_share_its_transaction_without_savepoints(store):
    # a savepoint per batch made SQLite copy each touched index page into its sub-journal
    seen = statements(store)
    assert store.orders.add_many((order(f"o{i}") for i in range(25)), batch_size=10) == 25
    frame = pd.DataFrame(
        {
            "id": [f"f{i}" for i in range(25)],
            "customer_id": "c1",
            "placed_at": pd.Timestamp(T),
            "amount": "9.50",
            "amount_currency": "EUR",
        }
    )
    assert store.orders.add_frame(frame, batch_size=10) == 25
    assert not [s for s in seen if "SAVEPOINT" in s.upper()]
    assert sum(s.startswith("INSERT INTO") for s in seen) == 6  # three batches per call
    assert store.orders.count() == 50


def test_a_refused_row_late_in_a_later_batch_is_named_and_nothing_stays(store):
    store.orders.add(order("o0"))
    ids = [f"n{i}" for i in range(23)] + ["n3", "n30"]  # n3 repeats, in the third batch
    with pytest.raises(ValidationError, match="'n3' already exists") as caught:
        store.orders.add_many([order(i) for i in ids], batch_size=10)
    assert caught.value.value == "n3"
    assert [o.id for o in store.orders.query({})] == ["o0"]


def test_a_refused_frame_row_is_named_by_its_label(store):
    store.orders.add(order("o0"))
    frame = pd.DataFrame(
        {
            "id": ["f1", "f2", "o0", "f3"],
            "customer_id": "c1",
            "placed_at": pd.Timestamp(T),
            "amount": "9.50",
            "amount_currency": "EUR",
        },
        index=[10, 11, 12, 13],
    )
    with pytest.raises(ValidationError, match="already exists") as caught:
        store.orders.add_frame(frame, batch_size=2)
    assert caught.value.row == 12
    assert store.orders.count() == 1
