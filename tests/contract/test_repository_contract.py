"""Repository contract: CRUD, versions and bulk loads behave alike on every store."""

from __future__ import annotations

import datetime as dt
import uuid
from zoneinfo import ZoneInfo

import attrs
import pandas as pd
import pytest

from crmcore.errors import ConcurrencyConflict, NotFound, ValidationError
from crmcore.storage import InMemoryStore, SqlStore, UnitOfWork
from tests.contract._samples import at, customer, eur, one_of_each, order

AGGREGATES = (
    "customers",
    "accounts",
    "contacts",
    "leads",
    "opportunities",
    "activities",
    "tickets",
    "campaigns",
    "orders",
    "survey_responses",
    "loyalty_accounts",
    "campaign_members",
    "journey_enrolments",
    "products",
    "order_lines",
)
#: What must be stored before an aggregate's sample (checked references).
NEEDS = {"order_lines": ("orders", "products")}


def test_contract_names_are_importable():
    assert InMemoryStore
    assert SqlStore
    assert UnitOfWork


@pytest.mark.parametrize("name", AGGREGATES)
def test_every_aggregate_round_trips_and_versions(store, name):
    entity = one_of_each()[name]
    for needed in NEEDS.get(name, ()):
        getattr(store, needed).add(one_of_each()[needed])
    repo = getattr(store, name)
    stored = repo.add(entity)
    assert stored == entity
    assert repo.get(entity.id) == entity
    assert repo.find(entity.id) == entity
    updated = repo.update(repo.get(entity.id))
    assert updated.version == entity.version + 1
    assert repo.get(entity.id) == updated
    repo.remove(entity.id)
    assert repo.find(entity.id) is None


@pytest.mark.parametrize(
    "when",
    [
        at(),
        dt.datetime(2026, 10, 25, 2, 30, fold=0, tzinfo=ZoneInfo("Europe/Paris")),  # DST fold
        dt.datetime(2026, 10, 25, 2, 30, fold=1, tzinfo=ZoneInfo("Europe/Paris")),
        dt.datetime(
            2026, 1, 1, 23, 59, 59, 999999, tzinfo=dt.timezone(dt.timedelta(hours=5, minutes=45))
        ),
        dt.datetime(1970, 1, 1, tzinfo=dt.UTC),
        dt.datetime(1, 1, 1, 12, tzinfo=dt.UTC),
    ],
    ids=["paris", "fold0", "fold1", "kathmandu", "epoch", "year1"],
)
def test_datetimes_come_back_in_their_own_zone(store, when):
    store.customers.add(customer(created_at=when))
    loaded = store.customers.get("c1")
    assert loaded.created_at == when
    assert loaded.created_at.utcoffset() == when.utcoffset()
    assert loaded.created_at.isoformat() == when.isoformat()
    assert loaded == customer(created_at=when)
    assert [c.id for c in store.customers.query(where={"created_at": when})] == ["c1"]
    assert store.customers.count({"created_at__lt": when}) == 0


def test_get_missing_raises_not_found_naming_aggregate_and_id(store):
    with pytest.raises(NotFound) as info:
        store.orders.get("nope")
    assert info.value.aggregate == "orders"
    assert info.value.id == "nope"
    assert "orders" in str(info.value)
    assert "nope" in str(info.value)
    assert isinstance(info.value, KeyError)
    assert store.orders.find("nope") is None


def test_add_existing_id_is_refused(store):
    store.customers.add(customer())
    with pytest.raises(ValidationError, match="already exists"):
        store.customers.add(customer(name="Someone Else"))
    assert store.customers.get("c1").name == "Ada Lovelace"


def test_uuid_and_string_ids_are_distinct_types_that_survive(store):
    uid = uuid.UUID(int=7)
    store.customers.add(customer(uid))
    store.customers.add(customer(str(uid)))
    assert store.customers.get(uid).id == uid
    assert store.customers.get(str(uid)).id == str(uid)
    assert isinstance(store.customers.get(str(uid)).id, str)


def test_update_checks_the_version(store):
    store.customers.add(customer())
    first = store.customers.get("c1")
    second = store.customers.get("c1")
    won = store.customers.update(attrs.evolve(first, name="Ada King"))
    assert won.version == 1
    with pytest.raises(ConcurrencyConflict) as info:
        store.customers.update(attrs.evolve(second, name="Lost Update"))
    assert info.value.expected_version == 0
    assert info.value.actual_version == 1
    assert store.customers.get("c1").name == "Ada King"
    again = store.customers.update(attrs.evolve(won, name="Countess"))
    assert again.version == 2
    assert store.customers.get("c1") == again


def test_update_of_missing_record_raises_not_found(store):
    with pytest.raises(NotFound):
        store.customers.update(customer("ghost"))


def test_remove(store):
    store.customers.add(customer())
    with pytest.raises(ConcurrencyConflict):
        store.customers.remove("c1", expected_version=3)
    store.customers.remove("c1", expected_version=0)
    with pytest.raises(NotFound):
        store.customers.remove("c1")


def test_add_many_counts_and_loads(store):
    n = store.orders.add_many((order(f"o{i}", amount=eur(i)) for i in range(250)), batch_size=64)
    assert n == 250
    assert store.orders.count() == 250
    assert store.orders.get("o249").amount == eur(249)


def test_add_many_is_all_or_nothing(store):
    store.orders.add(order("o7"))
    with pytest.raises(ValidationError, match="o7"):
        store.orders.add_many([order(f"o{i}") for i in range(20)], batch_size=5)
    assert store.orders.count() == 1
    with pytest.raises(ValidationError, match="x1"):
        store.orders.add_many([order("x1"), order("x2"), order("x1")])
    assert store.orders.count() == 1


def test_add_many_names_the_first_refused_record_in_order(store):
    # the duplicate sits mid-way in the third batch, after rows of the same
    # batch that went in: the record named is the one refused, nothing stays
    store.orders.add(order("o12"))
    ids = [*(f"o{i}" for i in range(12)), "x1", "o12", "x1", "x2"]
    with pytest.raises(ValidationError, match="'o12' already exists") as caught:
        store.orders.add_many([order(i) for i in ids], batch_size=5)
    assert caught.value.field == "id"
    assert caught.value.value == "o12"
    assert [o.id for o in store.orders.query({})] == ["o12"]


def test_a_refused_add_many_leaves_the_rest_of_the_unit_intact(store):
    with store.unit_of_work() as uow:
        uow.orders.add(order("a1"))
        uow.orders.add_many([order("b1"), order("b2")])
        with pytest.raises(ValidationError, match="'b2' already exists"):
            uow.orders.add_many([order(f"c{i}") for i in range(7)] + [order("b2")], batch_size=3)
        uow.orders.add_many([order("d1")])
        uow.commit()
    assert sorted(o.id for o in store.orders.query({})) == ["a1", "b1", "b2", "d1"]


def test_add_many_refuses_a_bad_entity_without_partial_write(store):
    good = [order(f"o{i}") for i in range(30)]
    bad = attrs.evolve(order("bad"))
    object.__setattr__(bad, "placed_at", dt.datetime(2026, 1, 1))  # noqa: DTZ001 -- the point
    with pytest.raises(ValidationError, match="naive"):
        store.orders.add_many([*good, bad], batch_size=10)
    assert store.orders.count() == 0


def test_add_many_empty_and_bad_batch_size(store):
    assert store.orders.add_many([]) == 0
    with pytest.raises(ValidationError, match="batch_size"):
        store.orders.add_many([order()], batch_size=0)


def test_update_many_replaces_each_at_its_version(store):
    store.orders.add_many([order(f"o{i}", amount=eur(i)) for i in range(25)])
    store.orders.update(store.orders.get("o3"))  # o3 is at version 1, the others at 0
    moved = [attrs.evolve(o, channel="shop") for o in store.orders.query(order_by="id")]
    assert store.orders.update_many(moved, batch_size=4) == 25
    stored = {o.id: o for o in store.orders.query()}
    assert {o.channel for o in stored.values()} == {"shop"}
    assert stored["o3"].version == 2
    assert {o.version for k, o in stored.items() if k != "o3"} == {1}
    assert store.orders.update_many([]) == 0


@pytest.mark.parametrize("batch_size", [3, 10_000])
def test_update_many_is_all_or_nothing_and_names_the_stale_record(store, batch_size):
    store.orders.add_many([order(f"o{i}") for i in range(8)])
    fresh = store.orders.query(order_by="id")
    store.orders.update(store.orders.get("o5"))  # someone else moved o5 on
    before = store.orders.to_frame()
    with pytest.raises(ConcurrencyConflict) as info:
        store.orders.update_many(
            [attrs.evolve(o, channel="shop") for o in fresh], batch_size=batch_size
        )
    assert (info.value.expected_version, info.value.actual_version) == (0, 1)
    assert "o5" in str(info.value)
    pd.testing.assert_frame_equal(store.orders.to_frame(), before)
    with pytest.raises(NotFound, match="nope"):
        store.orders.update_many([fresh[0], order("nope")], batch_size=batch_size)
    with pytest.raises(ConcurrencyConflict, match="o1"):  # the second copy is stale
        store.orders.update_many([fresh[1], fresh[1]], batch_size=batch_size)
    pd.testing.assert_frame_equal(store.orders.to_frame(), before)


def test_wrong_entity_type_is_refused(store):
    with pytest.raises(ValidationError, match="expected a Customer"):
        store.customers.add(order())


def test_unknown_repository_name(store):
    with pytest.raises(AttributeError, match="no aggregate"):
        store.repository("invoices")
