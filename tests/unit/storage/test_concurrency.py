"""Two writers on one record: exactly one wins, the other gets ConcurrencyConflict.

Threads share a process (two stores on one database, or one InMemoryStore);
processes share only the SQLite file.  The retry loops check that no update
is ever lost.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
import threading

import attrs
import pytest

from crmcore.errors import ConcurrencyConflict
from crmcore.storage import InMemoryStore, SqlStore
from tests.contract._samples import customer
from tests.contract._stores import clean_pg


def _race(store_a, store_b, n_records=12):
    """Both stores read version 0 of each record, then both update it."""
    store_a.customers.add_many([customer(f"c{i}") for i in range(n_records)])
    outcomes = {"won": [], "conflict": []}
    lock = threading.Lock()
    barrier = threading.Barrier(2)
    versions = []

    def writer(store, name):
        for i in range(n_records):
            entity = store.customers.get(f"c{i}")
            barrier.wait()
            try:
                store.customers.update(attrs.evolve(entity, name=name))
                result = "won"
            except ConcurrencyConflict as exc:
                result = "conflict"
                versions.append((exc.expected_version, exc.actual_version))
            with lock:
                outcomes[result].append((i, name))
            barrier.wait()

    threads = [
        threading.Thread(target=writer, args=(s, n)) for s, n in ((store_a, "A"), (store_b, "B"))
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert len(outcomes["won"]) == n_records
    assert len(outcomes["conflict"]) == n_records
    assert versions == [(0, 1)] * n_records
    for i, winner in outcomes["won"]:
        stored = store_a.customers.get(f"c{i}")
        assert stored.version == 1
        assert stored.name == winner
    assert sorted(i for i, _ in outcomes["won"]) == list(range(n_records))


def _increments(store_factory, n_threads=4, per_thread=15):
    """Retry-on-conflict increments from several threads: the total is exact."""
    first = store_factory()
    first.customers.add(customer("counter", custom={"n": 0}))
    conflicts = []

    def bump(store):
        for _ in range(per_thread):
            while True:
                c = store.customers.get("counter")
                try:
                    store.customers.update(attrs.evolve(c, custom={"n": c.custom["n"] + 1}))
                    break
                except ConcurrencyConflict:
                    conflicts.append(1)

    threads = [threading.Thread(target=bump, args=(store_factory(),)) for _ in range(n_threads)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    final = first.customers.get("counter")
    assert final.custom["n"] == n_threads * per_thread
    assert final.version == n_threads * per_thread


def test_memory_threads():
    store = InMemoryStore()
    _race(store, store)
    _increments(lambda: store)


def test_memory_units_of_work_conflict_at_commit():
    store = InMemoryStore()
    store.customers.add(customer())
    with store.unit_of_work() as a, store.unit_of_work() as b:
        a.customers.update(attrs.evolve(a.customers.get("c1"), name="A"))
        b.customers.update(attrs.evolve(b.customers.get("c1"), name="B"))
        a.commit()
        with pytest.raises(ConcurrencyConflict):
            b.commit()
    assert store.customers.get("c1").name == "A"


def test_sqlite_two_stores_threads(tmp_path):
    url = f"sqlite:///{tmp_path / 'crm.db'}"
    a, b = SqlStore(url), SqlStore(url)
    a.create_schema()
    _race(a, b)
    stores = []

    def factory():
        stores.append(SqlStore(url))
        return stores[-1]

    _increments(factory, n_threads=3, per_thread=10)
    for s in (a, b, *stores):
        s.close()


@pytest.mark.postgres
def test_postgres_two_stores_threads(pg_engine):
    clean_pg(pg_engine)
    _race(SqlStore(pg_engine), SqlStore(pg_engine))
    clean_pg(pg_engine)
    _increments(lambda: SqlStore(pg_engine), n_threads=3, per_thread=10)


_CHILD = textwrap.dedent(
    """
    import sys, time, pathlib, attrs
    from crmcore.errors import ConcurrencyConflict
    from crmcore.storage import SqlStore
    url, name, go = sys.argv[1], sys.argv[2], pathlib.Path(sys.argv[3])
    store = SqlStore(url)
    entity = store.customers.get("c1")
    print("ready", flush=True)
    while not go.exists():
        time.sleep(0.005)
    try:
        store.customers.update(attrs.evolve(entity, name=name))
        print("won", flush=True)
    except ConcurrencyConflict as exc:
        print("conflict", exc.actual_version, flush=True)
    """
)


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_two_processes(tmp_path, request, kind):
    if kind == "sqlite":
        url = f"sqlite:///{tmp_path / 'crm.db'}"
        store = SqlStore(url)
        store.create_schema()
    else:
        engine = request.getfixturevalue("pg_engine")
        clean_pg(engine)
        url = engine.url.render_as_string(hide_password=False)
        store = SqlStore(engine)
    store.customers.add(customer())
    go = tmp_path / "go"
    children = [
        subprocess.Popen(
            [sys.executable, "-c", _CHILD, url, name, str(go)],
            stdout=subprocess.PIPE,
            text=True,
        )
        for name in ("A", "B")
    ]
    for child in children:
        assert child.stdout.readline().strip() == "ready"
    go.touch()
    results = [child.communicate(timeout=60)[0].strip() for child in children]
    assert sorted(r.split()[0] for r in results) == ["conflict", "won"]
    assert "conflict 1" in results
    winner = "AB"[results.index("won")]
    stored = store.customers.get("c1")
    assert stored.version == 1
    assert stored.name == winner
    store.close()
