"""Differential property: random filters and orderings give identical answers on every store.

The in-memory store evaluates filters in Python; the SQL stores compile them to
SQL.  Whatever the data and the filter, both must return the same records in
the same order.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from crmcore.domain import Address, Customer, EmailAddress, Money, Order
from crmcore.storage import And, Filter, InMemoryStore, Not, Or, SqlStore
from tests.contract._stores import clean_pg, pg_engine  # noqa: F401 -- fixture

PARIS = ZoneInfo("Europe/Paris")
INSTANTS = [
    dt.datetime(2026, 10, 25, 2, 30, fold=0, tzinfo=PARIS),
    dt.datetime(2026, 10, 25, 2, 30, fold=1, tzinfo=PARIS),
    dt.datetime(2026, 10, 25, 0, 30, tzinfo=dt.UTC),
    dt.datetime(2026, 10, 25, 1, 30, tzinfo=dt.UTC),
    dt.datetime(2026, 10, 24, 20, 30, tzinfo=ZoneInfo("America/New_York")),
    dt.datetime(2020, 2, 29, 12, tzinfo=dt.timezone(dt.timedelta(hours=-3, minutes=-30))),
]
TEXT = ["web", "Web", "wéb", "shop", "a", "ab", "Ω", "z"]
JSON_SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-3, 3),
    st.sampled_from([0.5, -1.25, 2.0, 0.1]),
    st.sampled_from(TEXT),
)

# filter values may also be Decimals (compared as JSON numbers)
FILTER_SCALARS = JSON_SCALARS.filter(lambda v: v is not None) | st.sampled_from(
    [Decimal("0.1"), Decimal("2"), Decimal("-1.25")]
)

orders = st.lists(
    st.builds(
        lambda i, c, amount, cur, when, channel, status, custom: Order(
            id=f"o{i}",
            customer_id=c,
            amount=Money(amount=amount, currency=cur),
            placed_at=when,
            channel=channel,
            status=status,
            custom=custom,
        ),
        st.integers(0, 30),
        st.sampled_from(["c1", "c2", "C1"]),
        st.decimals(min_value=0, max_value=100, places=2),
        st.sampled_from(["EUR", "USD"]),
        st.sampled_from(INSTANTS),
        st.none() | st.sampled_from(TEXT),
        st.sampled_from(["pending", "completed", "refunded"]),
        st.dictionaries(st.sampled_from(["a", "b"]), JSON_SCALARS, max_size=2),
    ),
    max_size=10,
    unique_by=lambda o: o.id,
)

VALUES = {
    "customer_id": st.sampled_from(["c1", "c2", "C1", "c"]),
    "amount": st.decimals(min_value=0, max_value=100, places=1) | st.integers(0, 100),
    "amount.currency": st.sampled_from(["EUR", "USD"]),
    "placed_at": st.sampled_from(INSTANTS),
    "channel": st.sampled_from(TEXT),
    "status": st.sampled_from(["pending", "completed", "refunded"]),
    "custom.a": FILTER_SCALARS,
    "custom.b": FILTER_SCALARS,
}
ORDERABLE = ("customer_id", "amount", "placed_at", "channel", "amount.currency")


@st.composite
def leaves(draw):
    field = draw(st.sampled_from(sorted(VALUES)))
    op = draw(st.sampled_from(["eq", "ne", "lt", "le", "gt", "ge", "in", "contains", "is_null"]))
    if op == "is_null":
        return Filter(field, op, draw(st.booleans()))
    if op == "in":
        return Filter(field, op, draw(st.lists(VALUES[field], max_size=3)))
    value = draw(VALUES[field])
    if op == "contains":
        if field not in ("customer_id", "channel", "custom.a", "custom.b"):
            field = "channel"
        return Filter(field, op, draw(st.sampled_from(["", "w", "b", "é", "Ω", "C"])))
    if op in ("lt", "le", "gt", "ge") and isinstance(value, bool):
        op = "eq"
    return Filter(field, op, value)


filters = st.recursive(
    leaves(),
    lambda inner: st.one_of(
        st.lists(inner, max_size=3).map(lambda p: And(*p)),
        st.lists(inner, max_size=3).map(lambda p: Or(*p)),
        inner.map(Not),
    ),
    max_leaves=6,
)
orderings = st.lists(
    st.sampled_from(ORDERABLE).flatmap(lambda f: st.sampled_from([f, "-" + f])),
    max_size=2,
    unique=True,
)


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def sql_store(request, tmp_path_factory):
    if request.param == "sqlite":
        store = SqlStore(f"sqlite:///{tmp_path_factory.mktemp('diff') / 'crm.db'}")
        store.create_schema()
        yield store
        store.close()
    else:
        engine = request.getfixturevalue("pg_engine")
        clean_pg(engine)
        yield SqlStore(engine)


@pytest.mark.slow
def test_sql_store_answers_like_the_in_memory_store(sql_store):
    @settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(
        rows=orders,
        where=filters,
        order_by=orderings,
        page=st.tuples(st.none() | st.integers(0, 4), st.integers(0, 3)),
    )
    def check(rows, where, order_by, page):
        with sql_store.engine.begin() as conn:
            conn.execute(sa.delete(sql_store.table("orders")))
        memory = InMemoryStore()
        memory.orders.add_many(rows)
        sql_store.orders.add_many(rows)
        limit, offset = page
        want = [
            o.id for o in memory.orders.query(where, order_by=order_by, limit=limit, offset=offset)
        ]
        got = [
            o.id
            for o in sql_store.orders.query(where, order_by=order_by, limit=limit, offset=offset)
        ]
        assert got == want
        assert sql_store.orders.count(where) == memory.orders.count(where)

    check()


def test_decimal_edge_of_amount_filters():
    store = InMemoryStore()
    store.orders.add(
        Order(
            id="o",
            customer_id="c",
            placed_at=INSTANTS[0],
            amount=Money(amount=Decimal("0.10"), currency="EUR"),
        )
    )
    assert store.orders.count({"amount": 0.1}) == 1  # a float means its shortest decimal
    assert store.orders.count({"amount__gt": 0.1}) == 0


NAMES = ["Ada", "ada", "Åsa", "Zoë", "Bob", "名前"]
CITIES = ["Berlin", "berlin", "Paris"]
customers = st.lists(
    st.builds(
        lambda i, name, email, city, born, account, tags: Customer(
            id=f"c{i}",
            name=name,
            created_at=INSTANTS[i % len(INSTANTS)],
            email=None if email is None else EmailAddress(value=email),
            address=None if city is False else Address(country="DE", city=city),
            birth_date=born,
            account_id=account,
            tags=tags,
        ),
        st.integers(0, 20),
        st.sampled_from(NAMES),
        st.none() | st.sampled_from(["a@x.org", "b@x.org", "ab@y.com"]),
        st.just(False) | st.none() | st.sampled_from(CITIES),
        st.none() | st.dates(dt.date(1950, 1, 1), dt.date(2000, 1, 1)),
        st.none() | st.sampled_from(["a1", "a2"]) | st.uuids(),
        st.frozensets(st.sampled_from(["vip", "b2b", "churn-risk"]), max_size=2),
    ),
    max_size=8,
    unique_by=lambda c: c.id,
)
CUSTOMER_VALUES = {
    "name": st.sampled_from(NAMES),
    "email": st.sampled_from(["a@x.org", "b@x.org", "ab@y.com", "zz@z.z"]),
    "address.city": st.sampled_from(CITIES),
    "birth_date": st.dates(dt.date(1950, 1, 1), dt.date(2000, 1, 1)),
    "account_id": st.sampled_from(["a1", "a2", "a3"]),
    "created_at": st.sampled_from(INSTANTS),
}


@st.composite
def customer_leaves(draw):
    field = draw(st.sampled_from([*sorted(CUSTOMER_VALUES), "tags"]))
    if field == "tags":
        return Filter("tags", "contains", draw(st.sampled_from(["vip", "b2b", "x"])))
    op = draw(st.sampled_from(["eq", "ne", "lt", "ge", "in", "contains", "is_null"]))
    if op == "is_null":
        return Filter(field, op, draw(st.booleans()))
    if op == "in":
        return Filter(field, op, draw(st.lists(CUSTOMER_VALUES[field], max_size=3)))
    if op == "contains":
        text_fields = ["name", "email", "address.city", "account_id"]
        return Filter(
            draw(st.sampled_from(text_fields)), op, draw(st.sampled_from(["a", "A", "ö", "@x"]))
        )
    return Filter(field, op, draw(CUSTOMER_VALUES[field]))


customer_filters = st.recursive(
    customer_leaves(),
    lambda inner: st.one_of(
        st.lists(inner, max_size=3).map(lambda p: And(*p)),
        st.lists(inner, max_size=3).map(lambda p: Or(*p)),
        inner.map(Not),
    ),
    max_leaves=5,
)
customer_orderings = st.lists(
    st.sampled_from(["name", "email", "birth_date", "account_id", "created_at"]).flatmap(
        lambda f: st.sampled_from([f, "-" + f])
    ),
    max_size=2,
    unique=True,
)


def test_customer_queries_agree(sql_store):
    @settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(rows=customers, where=customer_filters, order_by=customer_orderings)
    def check(rows, where, order_by):
        with sql_store.engine.begin() as conn:
            conn.execute(sa.delete(sql_store.table("customers")))
        memory = InMemoryStore()
        memory.customers.add_many(rows)
        sql_store.customers.add_many(rows)
        want = [c.id for c in memory.customers.query(where, order_by=order_by)]
        got = [c.id for c in sql_store.customers.query(where, order_by=order_by)]
        assert got == want

    check()
