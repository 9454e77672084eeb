"""Query contract: every operator, JSON fields, ordering and paging agree across stores."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal

import pytest

from crmcore.domain import EmailAddress
from crmcore.errors import ValidationError
from crmcore.storage import And, Filter, Not, Or
from tests.contract._samples import at, customer, eur, order


@pytest.fixture
def orders(store):
    rows = [
        order("o1", amount=eur("5.00"), placed_at=at(0), channel="web", custom={"coupon": "A1"}),
        order("o2", amount=eur("19.99"), placed_at=at(1), channel="shop", custom={"coupon": 5}),
        order("o3", amount=eur("19.99"), placed_at=at(2), channel=None, custom={"vip": True}),
        order("o4", amount=eur("250.10"), placed_at=at(3), channel="web", custom={"score": 2.5}),
        order(
            "o5",
            customer_id="c2",
            channel="phone",
            amount=eur("1000"),
            placed_at=at(4),
            status="refunded",
            custom={"score": 10, "coupon": None},
        ),
    ]
    store.orders.add_many(rows)
    return store.orders


def ids(entities):
    return [e.id for e in entities]


CASES = [
    ({"channel": "web"}, ["o1", "o4"]),
    ({"channel__ne": "web"}, ["o2", "o3", "o5"]),  # None is "not web"
    ({"amount__gt": 19.99}, ["o4", "o5"]),
    ({"amount__ge": Decimal("19.99")}, ["o2", "o3", "o4", "o5"]),
    ({"amount__lt": 19.99}, ["o1"]),
    ({"amount__le": 5}, ["o1"]),
    ({"amount": Decimal("19.990")}, ["o2", "o3"]),
    ({"amount.currency": "EUR"}, ["o1", "o2", "o3", "o4", "o5"]),
    ({"placed_at__ge": at(3)}, ["o4", "o5"]),
    ({"placed_at__lt": at(1).astimezone(dt.timezone(dt.timedelta(hours=-7)))}, ["o1"]),
    ({"channel__in": ["web", "shop"]}, ["o1", "o2", "o4"]),
    ({"channel__in": []}, []),
    ({"channel__contains": "ho"}, ["o2", "o5"]),
    ({"channel__contains": "WEB"}, []),  # case-sensitive
    ({"channel__is_null": True}, ["o3"]),
    ({"channel__is_null": False}, ["o1", "o2", "o4", "o5"]),
    ({"status": "refunded"}, ["o5"]),
    ({"customer_id": "c2"}, ["o5"]),
    ({"custom.coupon": "A1"}, ["o1"]),
    ({"custom.coupon": 5}, ["o2"]),  # typed: the number 5, not the text
    ({"custom.coupon__ne": "A1"}, ["o2", "o3", "o4", "o5"]),
    ({"custom.coupon__is_null": True}, ["o3", "o4", "o5"]),  # missing or JSON null
    ({"custom.score__gt": 2}, ["o4", "o5"]),
    ({"custom.score__in": [10, 99]}, ["o5"]),
    ({"custom.vip": True}, ["o3"]),
    ({"custom.vip": 1}, []),  # a bool is not a number
    ({"custom.coupon__contains": "A"}, ["o1"]),
    ({"custom.missing__lt": 3}, []),
    ([("channel", "eq", "web"), ("amount", "gt", 10)], ["o4"]),
    (Filter("channel", "eq", "web") | Filter("status", "eq", "refunded"), ["o1", "o4", "o5"]),
    (Not(Filter("channel", "eq", "web")), ["o2", "o3", "o5"]),
    (~Filter("custom.score", "gt", 5), ["o1", "o2", "o3", "o4"]),
    (And(), ["o1", "o2", "o3", "o4", "o5"]),
    (("and", (("channel", "eq", "web"), ("not", ("amount", "lt", 10)))), ["o4"]),
    (("or", (("status", "in", ("refunded",)), ("channel", "is_null", True))), ["o3", "o5"]),
    (("not", ("or", ())), ["o1", "o2", "o3", "o4", "o5"]),
    (Or(), []),
    (
        Filter("amount", "gt", 10)
        & ~Or(Filter("channel", "eq", "web"), Filter("channel", "is_null", True)),
        ["o2", "o5"],
    ),
]


@pytest.mark.parametrize(("where", "expected"), CASES, ids=[str(i) for i in range(len(CASES))])
def test_filters(orders, where, expected):
    assert ids(orders.query(where=where)) == expected
    assert orders.count(where) == len(expected)


def test_ordering_nulls_and_ties(orders):
    assert ids(orders.query(order_by="channel")) == ["o3", "o5", "o2", "o1", "o4"]
    assert ids(orders.query(order_by="-channel")) == ["o1", "o4", "o2", "o5", "o3"]
    assert ids(orders.query(order_by=["-amount", "id"])) == ["o5", "o4", "o2", "o3", "o1"]
    assert ids(orders.query(order_by=["amount.currency", "-placed_at"])) == [
        "o5",
        "o4",
        "o3",
        "o2",
        "o1",
    ]


def test_paging_is_stable(orders):
    pages = [ids(orders.query(order_by="amount", limit=2, offset=k)) for k in (0, 2, 4, 6)]
    assert pages == [["o1", "o2"], ["o3", "o4"], ["o5"], []]
    assert ids(orders.query(limit=0)) == []


def test_filters_on_collections_wrapped_values_and_value_objects(store):
    store.customers.add(
        customer("c1", tags={"vip", "b2b"}, email=EmailAddress(value="ada@example.com"))
    )
    store.customers.add(customer("c2", tags=set(), custom={"region": "EU"}))
    store.customers.add(customer(uuid.UUID(int=3), name="Zoë"))
    assert ids(store.customers.query(where={"tags__contains": "vip"})) == ["c1"]
    assert ids(store.customers.query(where={"email": "ada@example.com"})) == ["c1"]
    assert ids(store.customers.query(where={"email": EmailAddress(value="ada@example.com")})) == [
        "c1"
    ]
    assert ids(store.customers.query(where={"email__is_null": True})) == ["c2", uuid.UUID(int=3)]
    assert ids(store.customers.query(where={"id": uuid.UUID(int=3)})) == [uuid.UUID(int=3)]
    assert ids(store.customers.query(where={"name__contains": "ë"})) == [uuid.UUID(int=3)]
    assert ids(store.customers.query(where={"address.city__is_null": True})) == [
        "c1",
        "c2",
        uuid.UUID(int=3),
    ]


@pytest.mark.parametrize(
    ("where", "match"),
    [
        ({"nope": 1}, "unknown field 'nope'"),
        ({"name; DROP TABLE crm_orders; --": 1}, "unknown field"),
        ({"amount__gt": "100"}, "expected a number"),
        ({"amount__gt": float("nan")}, "NaN"),
        ({"placed_at__gt": dt.datetime(2026, 1, 1)}, "naive"),  # noqa: DTZ001
        ({"channel": None}, "is_null"),
        ({"channel__in": "web"}, "collection"),
        ({"custom.a b": 1}, "cannot filter"),
        ({"custom.x": [1]}, "string, number or bool"),
        ({"status": "lost"}, "is not one of"),
        ({"tags__eq": "x"}, "no such|unknown field|structured"),
        ([("amount", "between", 1)], "unknown operator"),
        (42, "where= must be"),
        (("and", "x"), "sequence of conditions"),
    ],
)
def test_bad_filters_are_refused(orders, where, match):
    with pytest.raises(ValidationError, match=match):
        orders.query(where=where)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"order_by": "custom"}, "cannot order"),
        ({"order_by": "bogus"}, "unknown field"),
        ({"limit": -1}, "limit"),
        ({"offset": 1.5}, "offset"),
    ],
)
def test_bad_ordering_and_paging(orders, kwargs, match):
    with pytest.raises(ValidationError, match=match):
        orders.query(**kwargs)


def test_injection_strings_as_values_are_just_values(store):
    evil = "x'); DROP TABLE crm_customers; --"
    store.customers.add(customer("c1", name=evil, custom={"note": evil, "k'\"]": 1}))
    store.customers.add(customer(evil))
    assert ids(store.customers.query(where={"name": evil})) == ["c1"]
    assert ids(store.customers.query(where={"custom.note": evil})) == ["c1"]
    assert ids(store.customers.query(where={"id": evil})) == [evil]
    assert store.customers.get("c1").name == evil
    assert store.customers.get("c1").custom["k'\"]"] == 1
    assert store.customers.count() == 2


def test_segmentation_rules_select_records(orders):
    from crmcore.segmentation import Rule

    rule = Rule.parse("channel == 'web' and not amount < 10 or status in ['refunded']")
    assert ids(orders.query(rule.to_store_filter())) == ["o4", "o5"]
    assert ids(orders.query(Rule.parse("channel is null").to_store_filter())) == ["o3"]
