"""No consumer misses or reorders an event while writers commit slowly and out of order.

The pitfall (PostgreSQL): positions taken from a sequence are assigned
before commit, so a reader can pass a slow transaction's smaller position
and never see it.  ``test_the_pitfall_is_real_without_the_head_row`` shows
the scenario losing an event when positions come from a sequence;
``test_a_slow_commit_holds_back_later_positions`` shows the store's
allocation (the ``crm_event_head`` row, locked until commit) preventing it;
the stress test runs several writers with random slow commits and several
consumers, and checks every consumer saw every event once, in order.
Threads never wait without a timeout.
"""

from __future__ import annotations

import random
import shutil
import threading
import time

import pytest
import sqlalchemy as sa

from crmcore.storage import SqlStore
from crmcore.storage._sql_events import SqlEventLog
from tests.contract._samples import customer, note
from tests.contract._stores import clean_pg

KINDS = ("sqlite", pytest.param("postgres", marks=pytest.mark.postgres))
TIMEOUT = 60


@pytest.fixture
def make_store(request, tmp_path):
    def make(kind: str) -> SqlStore:
        if kind == "sqlite":
            path = tmp_path / "crm.db"
            shutil.copyfile(request.getfixturevalue("sqlite_template"), path)
            store = SqlStore(f"sqlite:///{path}")
        else:
            engine = request.getfixturevalue("pg_engine")
            clean_pg(engine)
            # a private engine: the commit hooks below must not leak into other tests
            store = SqlStore(sa.create_engine(engine.url))
        request.addfinalizer(store.engine.dispose)
        return store

    return make


def pause_commits_of(
    engine: sa.Engine, thread_name: str, inside: threading.Event, go: threading.Event
):
    """Make commits from one thread stop just before COMMIT until ``go`` is set."""

    def hook(_conn):
        if threading.current_thread().name == thread_name:
            inside.set()
            assert go.wait(TIMEOUT), "the test never released the slow commit"

    sa.event.listen(engine, "commit", hook)
    return hook


def write_one(store: SqlStore, text: str) -> None:
    with store.unit_of_work() as uow:
        uow.customers.add(customer(f"c-{text}"))
        uow.record(note(f"c-{text}", text))
        uow.commit()


def run_thread(target, name: str) -> threading.Thread:
    thread = threading.Thread(target=target, name=name, daemon=True)
    thread.start()
    return thread


@pytest.mark.parametrize("kind", KINDS)
def test_a_slow_commit_holds_back_later_positions(make_store, kind):
    store = make_store(kind)
    inside, go = threading.Event(), threading.Event()
    hook = pause_commits_of(store.engine, "slow", inside, go)
    slow = run_thread(lambda: write_one(store, "first"), "slow")
    assert inside.wait(TIMEOUT)  # the slow writer holds position 1, not committed
    fast = run_thread(lambda: write_one(store, "second"), "fast")
    fast.join(0.5)
    assert fast.is_alive()  # it cannot take position 2 before position 1 commits
    assert store.outbox.poll("erp") == []  # and a reader sees neither
    go.set()
    for thread in (slow, fast):
        thread.join(TIMEOUT)
        assert not thread.is_alive()
    sa.event.remove(store.engine, "commit", hook)
    seen = store.outbox.poll("erp")
    assert [(s.position, s.event.payload["text"]) for s in seen] == [(1, "first"), (2, "second")]


@pytest.mark.postgres
def test_the_pitfall_is_real_without_the_head_row(make_store, monkeypatch):
    """With sequence positions (no lock), a consumer acknowledges past a slow transaction."""
    store = make_store("postgres")
    with store.engine.begin() as conn:
        conn.exec_driver_sql("DROP SEQUENCE IF EXISTS crm_naive_positions")
        conn.exec_driver_sql("CREATE SEQUENCE crm_naive_positions")

    def naive(self, conn, n):
        return int(
            conn.exec_driver_sql(
                f"SELECT setval('crm_naive_positions', nextval('crm_naive_positions') + {n - 1})"
            ).scalar()
        )

    monkeypatch.setattr(SqlEventLog, "_allocate", naive)
    inside, go = threading.Event(), threading.Event()
    hook = pause_commits_of(store.engine, "slow", inside, go)
    slow = run_thread(lambda: write_one(store, "first"), "slow")
    assert inside.wait(TIMEOUT)
    write_one(store, "second")  # not blocked: takes position 2 and commits
    seen = [s.position for s in store.outbox.poll("erp")]
    store.outbox.ack("erp", max(seen))
    go.set()
    slow.join(TIMEOUT)
    assert not slow.is_alive()
    sa.event.remove(store.engine, "commit", hook)
    seen += [s.position for s in store.outbox.poll("erp")]
    assert seen == [2]  # position 1 committed behind the cursor: lost to this consumer
    assert store.events.count() == 2
    with store.engine.begin() as conn:
        conn.exec_driver_sql("DROP SEQUENCE crm_naive_positions")


@pytest.mark.parametrize("kind", KINDS)
def test_concurrent_writers_and_consumers_lose_nothing(make_store, kind):
    store = make_store(kind)
    writers, per_writer, consumers = 4, 15, 3
    total = writers * per_writer
    errors: list[BaseException] = []

    delays = {f"writer-{w}": random.Random(w) for w in range(writers)}  # seeded

    def slow_commits(_conn):
        rng = delays.get(threading.current_thread().name)
        if rng is not None:  # a writer: up to 20 ms between its INSERTs and its COMMIT
            time.sleep(rng.uniform(0, 0.02))

    sa.event.listen(store.engine, "commit", slow_commits)

    def writer(w: int) -> None:
        try:
            rng = random.Random(w)
            for i in range(per_writer):
                write_one(store, f"{w}:{i}")
                time.sleep(rng.uniform(0, 0.005))
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    seen: dict[str, list[tuple[int, object, str]]] = {
        f"consumer-{c}": [] for c in range(consumers)
    }

    def consumer(name: str) -> None:
        try:
            deadline = time.monotonic() + TIMEOUT
            while len(seen[name]) < total and time.monotonic() < deadline:
                batch = store.outbox.poll(name, limit=7)
                if not batch:
                    time.sleep(0.002)
                    continue
                seen[name].extend((s.position, s.id, s.event.payload["text"]) for s in batch)
                store.outbox.ack(name, batch[-1].position)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [run_thread(lambda w=w: writer(w), f"writer-{w}") for w in range(writers)]
    threads += [run_thread(lambda n=n: consumer(n), n) for n in seen]
    for thread in threads:
        thread.join(TIMEOUT + 10)
        assert not thread.is_alive(), f"{thread.name} did not finish"
    sa.event.remove(store.engine, "commit", slow_commits)
    assert errors == []

    stored = store.events.query()
    assert [s.position for s in stored] == list(range(1, total + 1))
    assert store.customers.count() == total
    for name, got in seen.items():
        assert [p for p, _, _ in got] == list(range(1, total + 1)), name  # none missed, in order
        assert [i for _, i, _ in got] == [s.id for s in stored], name
        for w in range(writers):  # each writer's events in the order it wrote them
            mine = [int(t.split(":")[1]) for _, _, t in got if t.startswith(f"{w}:")]
            assert mine == list(range(per_writer)), name
    assert store.outbox.consumers() == dict.fromkeys(seen, total)
