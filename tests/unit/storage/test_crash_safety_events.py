"""A writer killed (SIGKILL) mid unit of work: entity rows, ledger rows and events all or none.

The child commits a first unit of work, then starts a second one (orders,
ledger entries, recorded events) and is killed at the worst moment: its
events are inserted and their positions allocated, and it is about to send
COMMIT (paused in a ``commit`` hook).  Afterwards the first unit is there
in full, nothing of the second, positions are gap-free and the database
takes new events at the next position.  A third mode kills the child just
after its commit: then everything of the second unit is there.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap

import pytest

from crmcore.storage import SqlStore
from tests.contract._samples import note
from tests.contract._stores import clean_pg

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="needs SIGKILL")
KINDS = ("sqlite", pytest.param("postgres", marks=pytest.mark.postgres))

_CHILD = textwrap.dedent(
    """
    import datetime as dt, sys, time
    from decimal import Decimal
    import sqlalchemy as sa
    from crmcore.domain import Money, Order, StageChanged
    from crmcore.loyalty import EarnRule, PointsLedger, Program, Purchase
    from crmcore.storage import SqlStore

    url, mode = sys.argv[1], sys.argv[2]
    at = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    program = Program(earn_rules=[EarnRule(name="base", per_unit=Decimal(1))])

    def work(uow, prefix, n):
        ledger = PointsLedger(program, account_id=f"{prefix}m")
        for i in range(n):
            amount = Money(amount=Decimal(i + 1), currency="EUR")
            uow.orders.add(Order(id=f"{prefix}{i}", customer_id="c1", placed_at=at, amount=amount))
            uow.record(StageChanged(f"{prefix}{i}", "new", "assigned", at, None, None, "ticket"))
            ledger = ledger.post(Purchase(event_id=f"{prefix}{i}", at=at, amount=amount))
        uow.loyalty_ledger.append(f"{prefix}m", ledger.entries)

    store = SqlStore(url)
    store.create_schema()
    with store.unit_of_work() as uow:
        work(uow, "committed-", 100)
        uow.commit()

    paused = {"on": mode == "kill-before-commit"}
    def before_commit(conn):
        if paused["on"]:
            print("inside", flush=True)
            time.sleep(600)
    sa.event.listen(store.engine, "commit", before_commit)

    with store.unit_of_work() as uow:
        work(uow, "pending-", 200)
        uow.commit()
    print("committed", flush=True)
    time.sleep(600)
    """
)


def run_and_kill(url: str, mode: str, expect: str) -> None:
    child = subprocess.Popen(
        [sys.executable, "-c", _CHILD, url, mode],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
    )
    try:
        line = child.stdout.readline().strip()  # blocks until the child is in position
        assert line == expect, f"child said {line!r}"
        os.kill(child.pid, signal.SIGKILL)
        child.wait(timeout=30)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait(timeout=30)
        child.stdout.close()
    assert child.returncode == -signal.SIGKILL


@pytest.fixture
def database(request, tmp_path):
    def url_for(kind: str) -> str:
        if kind == "sqlite":
            return f"sqlite:///{tmp_path / 'crm.db'}"
        engine = request.getfixturevalue("pg_engine")
        clean_pg(engine)
        return engine.url.render_as_string(hide_password=False)

    return url_for


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize(
    ("mode", "expect", "pending"),
    [("kill-before-commit", "inside", 0), ("kill-after-commit", "committed", 200)],
)
def test_killed_writer_leaves_entities_and_events_together(database, kind, mode, expect, pending):
    url = database(kind)
    run_and_kill(url, mode, expect)

    store = SqlStore(url)
    if kind == "sqlite":
        with store.engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA integrity_check").scalar() == "ok"
    orders = set(store.orders.to_frame(["id"])["id"])
    assert {o for o in orders if o.startswith("committed-")} == {
        f"committed-{i}" for i in range(100)
    }
    assert len([o for o in orders if o.startswith("pending-")]) == pending
    total = 100 + pending
    # 100 stage changes + 100 ledger events per committed unit: all or nothing
    assert store.events.count(entity_type="ticket") == total
    assert store.loyalty_ledger.count() == total
    assert store.events.count() == 2 * total
    assert [s.position for s in store.events.query()] == list(range(1, 2 * total + 1))
    assert store.events.append(note()) == (2 * total + 1,)  # the head row is free again
    store.close()
