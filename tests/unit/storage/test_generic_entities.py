"""Storage is derived from attrs definitions: any entity works, not just the domain's."""

from __future__ import annotations

import datetime as dt
import enum
import uuid
from collections.abc import Mapping
from decimal import Decimal
from typing import Any, Literal

import attrs
import pytest

from crmcore.errors import ValidationError
from crmcore.storage import AggregateSpec, Filter, InMemoryStore, SqlStore
from tests.contract._stores import clean_pg

KEY = uuid.UUID(int=1)


class Priority(enum.IntEnum):
    LOW = 1
    HIGH = 2


@attrs.frozen
class Price:
    amount: Decimal
    currency: str


@attrs.frozen
class Point:
    x: float
    y: float
    label: str | None = None


@attrs.frozen
class Code:
    value: str


@attrs.frozen(kw_only=True)
class Thing:
    id: int
    label: str
    version: int = 0
    key: uuid.UUID = KEY
    size: Literal["S", "M", "L"] = "M"
    priority: Priority = Priority.LOW
    price: Price | None = None
    where: Point | None = None
    code: Code | None = None
    scores: tuple[int, ...] = ()
    labels: frozenset[str] = frozenset()
    rates: Mapping[str, Decimal] = attrs.field(factory=dict)
    extra: Any = None
    born: dt.date | None = None
    seen: dt.datetime | None = None
    active: bool = True
    weight: float = 1.0


SPECS = [AggregateSpec("things", Thing, indexes=("label",))]


@pytest.fixture(params=["memory", "sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def things(request, tmp_path):
    if request.param == "memory":
        return InMemoryStore(aggregates=SPECS).repository("things")
    if request.param == "sqlite":
        store = SqlStore(f"sqlite:///{tmp_path / 't.db'}", aggregates=SPECS)
    else:
        engine = request.getfixturevalue("pg_engine")
        clean_pg(engine)
        with engine.begin() as conn:
            conn.exec_driver_sql('DROP TABLE IF EXISTS "crm_things"')
        store = SqlStore(engine, aggregates=SPECS)
    store.create_schema()
    return store.repository("things")


FULL = Thing(
    id=7,
    label="seven",
    key=uuid.UUID(int=99),
    size="L",
    priority=Priority.HIGH,
    price=Price(Decimal("1234567890.123456789"), "JPY"),
    where=Point(1.5, -2.25, "hq"),
    code=Code("X-1"),
    scores=(3, 1, 2),
    labels=frozenset({"b", "a"}),
    rates={"vat": Decimal("0.19")},
    extra={
        "d": Decimal("1.10"),
        "t": dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
        "day": dt.date(2026, 1, 2),
        "u": uuid.UUID(int=5),
        "l": [1, "x"],
    },
    born=dt.date(1999, 12, 31),
    seen=dt.datetime(2026, 5, 1, 8, tzinfo=dt.timezone(dt.timedelta(hours=2))),
    active=False,
    weight=0.1,
)


def test_round_trip_of_every_kind(things):
    things.add(FULL)
    things.add(Thing(id=8, label="eight"))
    assert things.get(7) == FULL
    assert things.get(8) == Thing(id=8, label="eight")
    assert things.get(7).extra["d"] == Decimal("1.10")
    assert str(things.get(7).price.amount) == "1234567890.123456789"


@pytest.mark.parametrize(
    ("where", "expected"),
    [
        ({"priority": Priority.HIGH}, [7]),
        ({"priority__gt": 1}, [7]),
        ({"size": "L"}, [7]),
        ({"key": uuid.UUID(int=99)}, [7]),
        ({"key": str(uuid.UUID(int=1))}, [8]),
        ({"price__gt": 1000}, [7]),
        ({"price.currency": "JPY"}, [7]),
        ({"price__is_null": True}, [8]),
        ({"where.label": "hq"}, [7]),
        ({"where.x__ge": 1}, [7]),
        ({"code": "X-1"}, [7]),
        ({"scores__contains": 2}, [7]),
        ({"labels__contains": "a"}, [7]),
        ({"rates.vat__is_null": False}, [7]),
        ({"born__lt": dt.date(2000, 1, 1)}, [7]),
        ({"seen__ge": dt.datetime(2026, 5, 1, 6, tzinfo=dt.UTC)}, [7]),
        ({"active": False}, [7]),
        ({"weight__lt": 0.5}, [7]),
        ({"id__in": [8, 9]}, [8]),
    ],
)
def test_filters_on_every_kind(things, where, expected):
    things.add_many([FULL, Thing(id=8, label="eight")])
    assert [t.id for t in things.query(where)] == expected


def test_ordering_on_every_orderable_kind(things):
    things.add_many([FULL, Thing(id=8, label="eight", weight=5.0)])
    assert [t.id for t in things.query(order_by="-weight")] == [8, 7]
    assert [t.id for t in things.query(order_by=["priority", "-id"])] == [8, 7]
    assert [t.id for t in things.query(order_by="seen")] == [8, 7]


@pytest.mark.parametrize(
    ("where", "match"),
    [
        ({"where.z": 1}, "one of"),
        ({"size": 3}, "expected a string"),
        ({"priority": 3}, "not one of"),
        ({"key": "not-a-uuid"}, "UUID"),
        ({"born": dt.datetime(2026, 1, 1, tzinfo=dt.UTC)}, "expected a date"),
        ({"active__lt": True}, "ordered"),
    ],
)
def test_bad_filters_for_generic_kinds(things, where, match):
    with pytest.raises(ValidationError, match=match):
        things.query(where)


def test_tag_shaped_mapping_is_escaped_not_misread(things):
    things.add(Thing(id=1, label="x", extra={"$decimal": "1"}))
    assert things.get(1).extra == {"$decimal": "1"}  # the plain string, not Decimal("1")
    with pytest.raises(ValidationError, match="cannot store a set"):
        things.add(Thing(id=2, label="x", extra={1, 2}))


def test_aggregate_spec_validation():
    with pytest.raises(ValueError, match="snake_case"):
        AggregateSpec("Bad Name", Thing)

    @attrs.frozen
    class NoVersion:
        id: str

    with pytest.raises(TypeError, match="version"):
        InMemoryStore(aggregates=[AggregateSpec("novs", NoVersion)])
    with pytest.raises(TypeError, match="not an attrs class"):
        InMemoryStore(aggregates=[AggregateSpec("dicts", dict)])
    with pytest.raises(TypeError, match="cannot index"):
        InMemoryStore(aggregates=[AggregateSpec("things", Thing, indexes=("rates",))])
    with pytest.raises(ValueError, match="unique"):
        InMemoryStore(aggregates=SPECS * 2)
    store = InMemoryStore(aggregates=SPECS)
    with pytest.raises(AttributeError, match="customers"):
        store.customers  # noqa: B018 -- not registered in this store


def test_filter_objects():
    f = Filter("a", "gt", 1)
    assert (f & f) == (f & f)
    assert hash(f | f) == hash(f | f)
    assert repr(~f) == "Not(Filter(field='a', op='gt', value=1))"
    with pytest.raises(AttributeError):
        (f & f).parts = ()


@pytest.mark.parametrize(
    ("where", "expected"),
    [
        ({"priority__in": [Priority.HIGH, 5 - 4]}, [7, 8]),
        ({"size__in": ["L", "S"]}, [7]),
        ({"key__in": [uuid.UUID(int=99), uuid.UUID(int=3)]}, [7]),
        ({"price__in": [Decimal("1234567890.123456789"), 5]}, [7]),
        ({"price.currency__in": ["JPY", "EUR"]}, [7]),
        ({"code__in": ["X-1", "Y"]}, [7]),
        ({"born__in": [dt.date(1999, 12, 31), dt.date(2000, 1, 1)]}, [7]),
        ({"seen__in": [dt.datetime(2026, 5, 1, 6, tzinfo=dt.UTC)]}, [7]),
        ({"active__in": [False]}, [7]),
        ({"weight__in": [0.1, 2.0]}, [7]),
        ({"label__in": ["eight", "nine"]}, [8]),
        ({"where.label__in": ["hq", 1, True]}, [7]),
        # equality chains merged into one list (the normal form): the same answers
        ({"priority__ne": Priority.LOW, "size__ne": "S"}, [7]),
        (
            [("seen", "ne", dt.datetime(2026, 5, 1, 6, tzinfo=dt.UTC)), ("seen", "ne", FULL.seen)],
            [8],
        ),
    ],
)
def test_in_lists_on_every_kind(things, where, expected):
    things.add_many([FULL, Thing(id=8, label="eight")])
    assert sorted(t.id for t in things.query(where)) == expected
