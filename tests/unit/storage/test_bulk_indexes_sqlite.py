"""SQLite ``add_frame`` into an empty table: its secondary indexes are built after the rows."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from crmcore.datasets import make_company, write_company
from crmcore.errors import ValidationError
from crmcore.storage import SqlStore
from tests.contract._stores import sql_statements as statements

T = dt.datetime(2026, 3, 2, 9, 30, tzinfo=dt.UTC)
SCHEMA = "SELECT type, name, tbl_name, sql FROM sqlite_master ORDER BY type, name"


def orders(n: int, start: int = 0) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "id": [f"o{i}" for i in range(start, start + n)],
            "customer_id": [f"c{i % 7}" for i in range(start, start + n)],
            "placed_at": pd.date_range(T, periods=n, freq="h"),
            "amount": [f"{i}.50" for i in range(start, start + n)],
            "amount_currency": "EUR",
        }
    )


def schema(store: SqlStore) -> list[tuple[str, ...]]:
    with store.engine.connect() as conn:
        return [tuple(r) for r in conn.exec_driver_sql(SCHEMA)]


@pytest.fixture
def store(sqlite_file_store):
    return sqlite_file_store


def order_indexes(store: SqlStore) -> list[str]:
    with store.engine.connect() as conn:
        plan = conn.exec_driver_sql(
            "EXPLAIN QUERY PLAN SELECT id FROM crm_orders WHERE customer_id = 'c3'"
        ).all()
    return [str(row[-1]) for row in plan]


def test_a_load_into_an_empty_table_keeps_the_same_schema_and_answers(store):
    before = schema(store)
    seen = statements(store)
    assert store.orders.add_frame(orders(40), batch_size=15) == 40
    # the three secondary indexes of crm_orders were dropped and built again
    assert sum(s.startswith("DROP INDEX") for s in seen) == 3
    assert sum(s.startswith("CREATE INDEX") for s in seen) == 3
    assert schema(store) == before
    assert any("ix_crm_orders_customer_id" in step for step in order_indexes(store))
    assert store.orders.count(where={"customer_id": "c3"}) == len(range(3, 40, 7))


def test_a_load_into_a_table_with_rows_leaves_the_indexes_alone(store):
    store.orders.add_frame(orders(5))
    seen = statements(store)
    assert store.orders.add_frame(orders(40, start=5)) == 40
    assert not [s for s in seen if "INDEX" in s]
    assert store.orders.count() == 45


def test_a_failed_load_leaves_the_indexes_and_no_rows(store):
    before = schema(store)
    bad = orders(40)
    bad.loc[39, "id"] = "o1"  # refused by the primary key in the last batch
    with pytest.raises(ValidationError, match="o1") as err:
        store.orders.add_frame(bad, batch_size=15)
    assert err.value.row == 39
    assert schema(store) == before
    assert store.orders.count() == 0


def test_a_unit_of_work_builds_them_at_its_commit(store):
    before = schema(store)
    with store.unit_of_work() as uow:
        repo = uow.repository("orders")
        for start in range(0, 40, 15):  # a batch at a time, as write_company's progress does
            repo.add_frame(orders(min(15, 40 - start), start=start))
        uow.commit()
    assert schema(store) == before
    assert store.orders.count(where={"customer_id": "c3"}) == len(range(3, 40, 7))


def test_a_unit_of_work_rolled_back_leaves_the_store_as_it_was(store):
    before = schema(store)
    with store.unit_of_work() as uow:
        uow.repository("orders").add_frame(orders(20))
    assert schema(store) == before
    assert store.orders.count() == 0
    with store.unit_of_work() as uow:  # a refused first load, then a good one, committed
        repo = uow.repository("orders")
        bad = orders(20)
        bad.loc[19, "id"] = "o0"
        with pytest.raises(ValidationError, match="o0"):
            repo.add_frame(bad)
        repo.add_frame(orders(20))
        uow.commit()
    assert schema(store) == before
    assert store.orders.count() == 20


@pytest.mark.parametrize("progress", [False, True])
def test_write_company_into_a_fresh_store_keeps_the_schema(store, progress):
    before = schema(store)
    seen = statements(store)
    company = make_company(60, random_state=1)
    counts = write_company(
        company,
        store,
        batch_size=50,
        progress=(lambda table, n: lambda k: None) if progress else None,
    )
    assert sum(s.startswith("DROP INDEX") for s in seen) >= 10
    assert schema(store) == before
    assert store.order_lines.count() == counts["order_lines"] == len(company.order_lines)
