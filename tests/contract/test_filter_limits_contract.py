"""Hostile filters: deep, long or out-of-range filters run alike on every store, or are refused.

Every store resolves ``where=`` into one normal form (crmcore.storage._normal):
what the in-memory store answers, SQLite and PostgreSQL answer too, and what
is over a documented limit is refused with the same ValidationError everywhere.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from crmcore.errors import ValidationError
from crmcore.segmentation import Rule
from crmcore.storage import And, Filter, Not, Or
from crmcore.storage._normal import (
    MAX_FILTER_CONDITIONS,
    MAX_FILTER_DEPTH,
    MAX_FILTER_PARTS,
    MAX_FILTER_VALUES,
)
from tests.contract._samples import customer, eur, order

NAMES = ["x", "y", "x3", "Ada"]


@pytest.fixture
def customers(store):
    store.customers.add_many(
        customer(f"c{i}", name=name, custom={"n": i, "flag": i % 2 == 0, "tag": f"t{i}"})
        for i, name in enumerate(NAMES)
    )
    return store.customers


def ids(entities):
    return sorted(e.id for e in entities)


@pytest.mark.parametrize("nots", [1, 2, 35, 98, 99])
def test_deep_negation_in_a_rule_runs_on_every_store(customers, nots):
    rule = Rule.parse("not " * nots + "name == 'x'")
    expected = ["c0"] if nots % 2 == 0 else ["c1", "c2", "c3"]
    assert ids(customers.query(rule.to_store_filter())) == expected
    assert customers.count(rule.to_store_filter()) == len(expected)


def test_deep_nesting_given_directly_collapses(customers):
    # 20,001 nested Not objects and tuple "not"s: read without recursion, collapsed to one
    node: object = Filter("name", "eq", "x")
    tup: object = ("name", "eq", "x")
    for _ in range(20_001):
        node = Not(node)  # type: ignore[arg-type]
        tup = ("not", tup)
    assert ids(customers.query(node)) == ["c1", "c2", "c3"]
    assert ids(customers.query(tup)) == ["c1", "c2", "c3"]
    # and/or of one part nested deeply: flattened away
    deep: object = Filter("name", "eq", "y")
    for i in range(5_000):
        deep = And(deep) if i % 2 else Or(deep)  # type: ignore[arg-type]
    assert ids(customers.query(deep)) == ["c1"]


def test_a_thousand_ne_clauses_become_not_in(customers):
    rule = Rule.parse(" and ".join(f"name != 'n{i}'" for i in range(998)) + " and name != 'x'")
    assert ids(customers.query(rule.to_store_filter())) == ["c1", "c2", "c3"]
    on_custom = And(*(Filter("custom.tag", "ne", f"t{i}") for i in range(1, 1_500)))
    assert ids(customers.query(on_custom)) == ["c0"]


def test_a_thousand_eq_clauses_become_in(customers):
    rule = Rule.parse(" or ".join(f"name == 'n{i}'" for i in range(998)) + " or name == 'Ada'")
    assert ids(customers.query(rule.to_store_filter())) == ["c3"]
    # JSON values of several types in one list: each type compared with its own
    mixed = Or(
        *(Filter("custom.n", "eq", i) for i in range(2, 3_000)),
        Filter("custom.n", "eq", "0"),  # text, not the number 0
        Filter("custom.flag", "eq", True),
    )
    assert ids(customers.query(mixed)) == ["c0", "c2", "c3"]


def test_the_largest_in_list_runs(customers):
    values = [f"v{i}" for i in range(MAX_FILTER_VALUES - 1)] + ["Ada"]
    assert ids(customers.query({"name__in": values})) == ["c3"]
    assert customers.count({"custom.tag__in": [*values[:-1], "t1"]}) == 1


def _alternating(depth: int, leaf: object) -> object:
    """A tree ``depth`` levels deep: and/or alternating, two children each level.

    Beside ``leaf`` each level adds a JSON condition that changes nothing: a false
    one under ``or``, a negated false one (true) under ``and``.
    """
    node = leaf
    for level in range(depth - 1):
        false = Filter("custom.n", "lt", -level)  # every n is >= 0
        node = Or(false, node) if level % 2 else And(Not(false), node)  # type: ignore[arg-type]
    return node


def _nested_nots(count: int) -> object:
    """``count`` nested ("not", ...) around one condition: count + 1 parts."""
    tup: object = ("name", "eq", "x")
    for _ in range(count):
        tup = ("not", tup)
    return tup


def test_the_deepest_and_largest_filter_allowed_runs(customers):
    tree = _alternating(MAX_FILTER_DEPTH, Filter("name", "eq", "y"))
    assert ids(customers.query(tree)) == ["c1"]
    # as many conditions as allowed, all on JSON keys, in a long and/or chain
    many = [Not(Filter(f"custom.k{i}", "gt", i)) for i in range(MAX_FILTER_CONDITIONS - 1)]
    big = And(Filter("name", "ne", "y"), Or(*many[:500]), *many[500:])
    assert ids(customers.query(big)) == ["c0", "c2", "c3"]


@pytest.mark.parametrize(
    ("make", "match"),
    [
        (
            lambda: _alternating(MAX_FILTER_DEPTH + 1, Filter("name", "eq", "y")),
            f"at most {MAX_FILTER_DEPTH} levels",
        ),
        (
            lambda: And(
                *(Filter(f"custom.k{i}", "gt", i) for i in range(MAX_FILTER_CONDITIONS + 1))
            ),
            f"at most {MAX_FILTER_CONDITIONS:,} are allowed",
        ),
        (
            lambda: {"name__in": [f"v{i}" for i in range(MAX_FILTER_VALUES + 1)]},
            "at most",
        ),
        (
            lambda: Or(
                Filter("name", "in", [f"a{i}" for i in range(MAX_FILTER_VALUES)]),
                Filter("custom.tag", "in", ["b1", "b2"]),
            ),
            f"at most {MAX_FILTER_VALUES:,} are allowed",
        ),
        (
            lambda: _nested_nots(MAX_FILTER_PARTS),
            f"more than {MAX_FILTER_PARTS:,} parts",
        ),
    ],
    ids=["depth", "conditions", "in-list", "values", "parts"],
)
def test_filters_over_a_limit_are_refused_alike(customers, make, match):
    where = make()
    with pytest.raises(ValidationError, match=match):
        customers.query(where)
    with pytest.raises(ValidationError, match=match):
        customers.count(where)


@pytest.mark.parametrize(
    "kwargs",
    [{"limit": 2**63}, {"offset": 2**63}, {"limit": 10**30, "offset": 1}],
)
def test_paging_beyond_64_bits_is_refused(customers, kwargs):
    with pytest.raises(ValidationError, match="at most 9223372036854775807") as info:
        customers.query(**kwargs)
    assert info.value.field in kwargs


def test_the_largest_64_bit_page_bounds_work(customers):
    assert len(customers.query(limit=2**63 - 1)) == len(NAMES)
    assert customers.query(offset=2**63 - 1) == []


@pytest.mark.parametrize(
    "value",
    [
        dt.datetime.max.replace(tzinfo=dt.timezone(dt.timedelta(hours=-5))),
        dt.datetime.min.replace(tzinfo=dt.timezone(dt.timedelta(hours=5))),
    ],
)
def test_datetimes_past_the_utc_range_are_refused(customers, value):
    with pytest.raises(ValidationError, match="once converted to UTC") as info:
        customers.count({"created_at__gt": value})
    assert info.value.field == "created_at"


def test_the_documented_date_literal_example_selects_q1_in_paris(store):
    paris = ZoneInfo("Europe/Paris")
    placed = {
        "before": dt.datetime(2023, 12, 31, 23, 59, tzinfo=paris),
        "first": dt.datetime(2024, 1, 1, 0, 0, tzinfo=paris),
        "utc-last-day": dt.datetime(2024, 3, 31, 21, 59, tzinfo=dt.UTC),  # 23:59 in Paris
        "after": dt.datetime(2024, 4, 1, 0, 0, tzinfo=paris),
    }
    store.orders.add_many(
        order(key, placed_at=when, amount=eur("10")) for key, when in placed.items()
    )
    rule = Rule.parse("placed_at >= date'2024-01-01' and placed_at <= date'2024-03-31'")
    got = store.orders.query(where=rule.to_store_filter(tz="Europe/Paris"))
    assert ids(got) == ["first", "utc-last-day"]
