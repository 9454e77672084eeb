"""apply_merge / undo_merge: bad input, named and refused before anything changes."""

from __future__ import annotations

import datetime as dt
import uuid

import pandas as pd
import pytest

from crmcore.domain import Customer, Money, Order
from crmcore.errors import ConcurrencyConflict, ValidationError
from crmcore.identity import Survivorship, apply_merge, merge_plan, undo_merge
from crmcore.storage import InMemoryStore

T = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)
DAY = dt.timedelta(days=1)


@pytest.fixture
def store() -> InMemoryStore:
    s = InMemoryStore()
    s.customers.add(Customer(id="c1", name="Mina Park", created_at=T))
    s.customers.add(Customer(id="c2", name="Mina Park", created_at=T + DAY, gender="female"))
    s.orders.add(
        Order(id="o2", customer_id="c2", placed_at=T, amount=Money(amount="4", currency="EUR"))
    )
    return s


def snapshot(store: InMemoryStore) -> tuple:
    return (
        store.customers.query(order_by="id"),
        store.orders.query(order_by="id"),
        store.events.last_position(),
    )


def plan(store: InMemoryStore, **kw):
    return merge_plan([store.customers.get("c1"), store.customers.get("c2")], **kw)


def test_a_plan_from_a_frame_names_the_fix(store):
    frame = pd.DataFrame(
        {"id": ["c1", "c2"], "name": ["a", "b"], "updated_at": pd.to_datetime(["2026", "2025"])}
    )
    with pytest.raises(ValidationError, match=r"store\.customers\.get"):
        apply_merge(store, merge_plan(frame, Survivorship(survivor="c1")), at=T)
    with pytest.raises(ValidationError, match="MergePlan"):
        apply_merge(store, {"survivor_id": "c1"}, at=T)  # type: ignore[arg-type]


def test_bad_arguments_change_nothing(store):
    before = snapshot(store)
    with pytest.raises(ValidationError, match="timezone-aware"):
        apply_merge(store, plan(store), at=dt.datetime(2026, 3, 2))  # noqa: DTZ001 -- naive
    with pytest.raises(ValidationError, match="store must be a crmcore store"):
        apply_merge(object(), plan(store), at=T)  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match="store must be a crmcore store"):
        undo_merge(object(), "x", at=T)  # type: ignore[arg-type]
    assert snapshot(store) == before


def test_a_customer_never_stored_is_refused(store):
    ghost = Customer(id="c9", name="Mina Park", created_at=T + 2 * DAY)
    before = snapshot(store)
    with pytest.raises(ConcurrencyConflict, match="c9"):
        apply_merge(store, merge_plan([store.customers.get("c1"), ghost]), at=T)
    assert snapshot(store) == before


def test_the_chosen_survivor_keeps_its_id_and_takes_the_others_fields(store):
    event = apply_merge(store, plan(store, survivorship=Survivorship(survivor="c2")), at=T)
    assert event.survivor_id == "c2"
    assert [c.id for c in store.customers.query()] == ["c2"]
    assert store.customers.get("c2").gender == "female"
    assert store.customers.get("c2").created_at == T  # created_at: the earliest
    undo_merge(store, event, at=T + DAY)
    assert [c.id for c in store.customers.query(order_by="id")] == ["c1", "c2"]


def test_uuid_ids_merge_and_undo():
    store = InMemoryStore()
    a, b = uuid.UUID(int=1), uuid.UUID(int=2)
    store.customers.add(Customer(id=a, name="Jo", created_at=T))
    store.customers.add(Customer(id=b, name="Jo", created_at=T + DAY))
    store.orders.add(
        Order(id="o1", customer_id=b, placed_at=T, amount=Money(amount="4", currency="EUR"))
    )
    event = apply_merge(
        store, merge_plan([store.customers.get(a), store.customers.get(b)]), at=T + DAY
    )
    assert store.orders.get("o1").customer_id == a
    assert store.events.get(event.id).event == event
    undo_merge(store, event.id, at=T + 2 * DAY)
    assert store.orders.get("o1").customer_id == b
    assert store.customers.get(b).version == 0
