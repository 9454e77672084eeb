"""A process killed (SIGKILL) in the middle of work leaves the SQLite file consistent."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest

from crmcore.storage import SqlStore

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="needs SIGKILL")

_CHILD = textwrap.dedent(
    """
    import datetime as dt, sys, time
    from decimal import Decimal
    from crmcore.domain import Money, Order
    from crmcore.storage import SqlStore

    url, mode = sys.argv[1], sys.argv[2]
    at = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)

    def orders(prefix, n):
        for i in range(n):
            yield Order(id=f"{prefix}{i}", customer_id="c1", placed_at=at,
                        amount=Money(amount=Decimal(i), currency="EUR"))

    store = SqlStore(url)
    store.create_schema()
    with store.unit_of_work() as uow:
        uow.orders.add_many(orders("committed-", 100))
        uow.commit()
    if mode == "uow":
        with store.unit_of_work() as uow:
            uow.orders.add_many(orders("pending-", 5000), batch_size=500)
            uow.orders.remove("committed-0")
            print("inside", flush=True)
            time.sleep(600)
    else:
        def slow():
            for k, o in enumerate(orders("bulk-", 400_000)):
                if k == 20_000:
                    print("inside", flush=True)
                yield o
        store.orders.add_many(slow(), batch_size=5_000)
        print("finished", flush=True)
        time.sleep(600)
    """
)


@pytest.mark.parametrize("mode", ["uow", "bulk"])
def test_killed_child_leaves_only_committed_work(tmp_path, mode):
    url = f"sqlite:///{tmp_path / 'crm.db'}"
    child = subprocess.Popen(
        [sys.executable, "-c", _CHILD, url, mode], stdout=subprocess.PIPE, text=True
    )
    try:
        assert child.stdout.readline().strip() == "inside"
        time.sleep(0.05 if mode == "bulk" else 0.0)
        os.kill(child.pid, signal.SIGKILL)
        child.wait(timeout=30)
    finally:
        if child.poll() is None:
            child.kill()
        child.stdout.close()
    assert child.returncode == -signal.SIGKILL

    store = SqlStore(url)
    with store.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA integrity_check").scalar() == "ok"
    ids = set(store.orders.to_frame(["id"])["id"])
    assert ids == {f"committed-{i}" for i in range(100)}  # nothing half-written
    store.orders.remove("committed-1")  # and the database is writable again
    assert store.orders.count() == 99
    store.close()
