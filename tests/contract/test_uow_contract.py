"""Unit-of-work contract: explicit commit, rollback otherwise, events kept only if committed."""

from __future__ import annotations

import threading

import attrs
import pytest

from crmcore.errors import ConcurrencyConflict, ValidationError
from crmcore.storage import UnitOfWork
from tests.contract._samples import customer, eur, note, order


def test_commit_makes_work_visible(store):
    with store.unit_of_work() as uow:
        assert isinstance(uow, UnitOfWork)
        uow.customers.add(customer())
        uow.orders.add(order())
        assert uow.customers.get("c1").name == "Ada Lovelace"  # reads its own writes
        uow.commit()
    assert store.customers.get("c1").name == "Ada Lovelace"
    assert store.orders.count() == 1


def test_leaving_without_commit_rolls_back(store):
    store.customers.add(customer())
    with store.unit_of_work() as uow:
        uow.customers.update(attrs.evolve(uow.customers.get("c1"), name="Changed"))
        uow.orders.add(order())
        uow.customers.add(customer("c2"))
    assert store.customers.get("c1").name == "Ada Lovelace"
    assert store.customers.get("c1").version == 0
    assert store.orders.count() == 0
    assert store.customers.find("c2") is None


def test_exception_rolls_back_and_propagates(store):
    class Boom(Exception):
        pass

    def work():
        with store.unit_of_work() as uow:
            uow.orders.add(order())
            raise Boom

    with pytest.raises(Boom):
        work()
    assert store.orders.count() == 0


def test_uncommitted_work_is_invisible_to_others(store):
    with store.unit_of_work() as uow:
        uow.orders.add(order())
        assert store.orders.find("o1") is None
        uow.commit()
    assert store.orders.find("o1") is not None


def test_work_after_commit_is_a_new_batch(store):
    with store.unit_of_work() as uow:
        uow.orders.add(order("o1"))
        uow.commit()
        uow.orders.add(order("o2"))
    assert [o.id for o in store.orders.query()] == ["o1"]


def test_explicit_rollback_then_continue(store):
    with store.unit_of_work() as uow:
        uow.orders.add(order("o1"))
        uow.record(note())
        uow.rollback()
        assert uow.pending_events == ()
        uow.orders.add(order("o2"))
        uow.commit()
    assert [o.id for o in store.orders.query()] == ["o2"]


def test_a_refused_write_leaves_the_rest_of_the_unit_intact(store):
    store.customers.add(customer("c1"))
    with store.unit_of_work() as uow:
        uow.orders.add(order("o1"))
        with pytest.raises(ValidationError):
            uow.customers.add(customer("c1"))
        with pytest.raises(ConcurrencyConflict):
            uow.customers.update(attrs.evolve(customer("c1"), version=5))
        uow.orders.add(order("o2"))
        uow.commit()
    assert store.orders.count() == 2


def test_version_checks_inside_a_unit_of_work(store):
    store.customers.add(customer())
    with store.unit_of_work() as uow:
        c = uow.customers.get("c1")
        c1 = uow.customers.update(attrs.evolve(c, name="One"))
        with pytest.raises(ConcurrencyConflict):
            uow.customers.update(attrs.evolve(c, name="Stale"))
        uow.customers.update(attrs.evolve(c1, name="Two"))
        uow.commit()
    assert store.customers.get("c1").version == 2
    assert store.customers.get("c1").name == "Two"


def test_queries_inside_see_staged_changes(store):
    store.orders.add_many([order("o1", amount=eur(5)), order("o2", amount=eur(50))])
    with store.unit_of_work() as uow:
        uow.orders.remove("o1")
        uow.orders.add(order("o3", amount=eur(500)))
        assert [o.id for o in uow.orders.query(where={"amount__gt": 1})] == ["o2", "o3"]
        assert uow.orders.count() == 2
        assert list(uow.orders.to_frame(["id"])["id"]) == ["o2", "o3"]


def test_events_are_kept_only_when_committed(store):
    seen = []
    added, mailed, discarded = note(text="added"), note(text="welcome mail"), note(text="no")
    with store.unit_of_work(on_commit=seen.append) as uow:
        uow.customers.add(customer())
        uow.record(added, mailed)
        assert uow.pending_events == (added, mailed)
        uow.commit()
        uow.record(discarded)
    assert uow.committed_events == (added, mailed)
    assert uow.pending_events == ()
    assert seen == [(added, mailed)]
    stored = store.events.query()
    assert [s.event for s in stored] == [added, mailed]
    assert [s.id for s in stored] == [added.id, mailed.id]


def test_only_domain_events_can_be_recorded(store):
    with store.unit_of_work() as uow:
        with pytest.raises(ValidationError, match="only domain events") as info:
            uow.record(note(), "customer-added")
        assert "register_event" in str(info.value)
        assert uow.pending_events == ()  # nothing of a refused call is recorded


def test_unit_of_work_outside_with_block_is_refused(store):
    uow = store.unit_of_work()
    with pytest.raises(RuntimeError, match="with"):
        uow.orders.add(order())
    with pytest.raises(RuntimeError, match="with"):
        uow.commit()
    with uow, pytest.raises(RuntimeError, match="already in use"):
        uow.__enter__()


def test_writes_after_a_frame_export_inside_a_unit_of_work(store):
    # a frame export streams (PostgreSQL: a server-side cursor); the writes after it, each in
    # a savepoint, must not run on a cursor left streaming
    store.orders.add_many([order("o1", amount=eur(5)), order("o2", amount=eur(50))])
    with store.unit_of_work() as uow:
        assert list(uow.orders.to_frame(["id"])["id"]) == ["o1", "o2"]
        uow.orders.update(attrs.evolve(uow.orders.get("o1"), channel="shop"))
        uow.orders.add(order("o3"))
        uow.commit()
    assert store.orders.get("o1").channel == "shop"
    assert store.orders.count() == 3


def _hold_on_a_thread(store, name):
    """Start a unit of work on another thread that holds ``name`` until ``release`` is set."""
    held, release, errors = threading.Event(), threading.Event(), []

    def run():
        try:
            with store.unit_of_work() as uow:
                uow._hold(name)
                held.set()
                release.wait(60)
        except Exception as exc:  # re-raised in the test's thread
            errors.append(exc)

    worker = threading.Thread(target=run)
    worker.start()
    return held, release, worker, errors


@pytest.mark.parametrize("end", ["commit", "rollback", "leave"])
def test_a_name_held_serialises_units_of_work_until_the_batch_ends(store, end):
    with store.unit_of_work() as uow:
        uow._hold("journey-sends")
        uow._hold("journey-sends")  # held already: a no-op, not a deadlock
        held, release, worker, errors = _hold_on_a_thread(store, "journey-sends")
        assert not held.wait(0.2)  # the other unit of work waits ...
        if end == "commit":
            uow.commit()
        elif end == "rollback":
            uow.rollback()
        if end != "leave":
            assert held.wait(30)  # ... until the batch ends, not the with block
    assert held.wait(30)
    release.set()
    worker.join(60)
    assert not errors
    assert not worker.is_alive()
