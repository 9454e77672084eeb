"""Property: the filter normal form keeps the meaning of every filter.

The stores run filters only after :func:`crmcore.storage._normal.resolve`
(negation pushed to the conditions, and/or flattened, equality chains merged
into ``in`` lists).  Here a filter evaluated *as written* (each condition
resolved in place, the tree kept) and its normal form select the same records
of the in-memory store's predicate compiler, whatever the data.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from crmcore.domain import Money, Order
from crmcore.storage import And, Filter, Not, Or
from crmcore.storage._aggregates import default_aggregates, layout
from crmcore.storage._filters import Cond, check_value, resolve_target
from crmcore.storage._normal import _measure, resolve
from crmcore.storage._predicates import compile_predicate

_SPEC = next(spec for spec in default_aggregates() if spec.entity is Order)
FIELDS = layout(_SPEC).by_name
T0 = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
CHANNELS = ["web", "shop", "Web", "a"]
CUSTOM = st.one_of(st.booleans(), st.integers(-2, 2), st.sampled_from(["1", "x", "y"]))

records = st.lists(
    st.builds(
        lambda i, amount, channel, status, custom: Order(
            id=f"o{i}",
            customer_id="c1",
            amount=Money(amount=Decimal(amount), currency="EUR"),
            placed_at=T0 + dt.timedelta(hours=i),
            channel=channel,
            status=status,
            custom=custom,
        ),
        st.integers(0, 50),
        st.integers(0, 5),
        st.one_of(st.none(), st.sampled_from(CHANNELS)),
        st.sampled_from(["completed", "refunded"]),
        st.dictionaries(st.sampled_from(["k", "m"]), CUSTOM, max_size=2),
    ),
    max_size=12,
    unique_by=lambda o: o.id,
)

leaves = st.one_of(
    st.builds(
        Filter, st.just("channel"), st.sampled_from(["eq", "ne"]), st.sampled_from(CHANNELS)
    ),
    st.builds(
        Filter, st.just("channel"), st.just("in"), st.lists(st.sampled_from(CHANNELS), max_size=3)
    ),
    st.builds(Filter, st.just("channel"), st.just("is_null"), st.booleans()),
    st.builds(Filter, st.just("status"), st.sampled_from(["eq", "ne"]), st.just("refunded")),
    st.builds(
        Filter, st.just("amount"), st.sampled_from(["lt", "ge", "eq", "ne"]), st.integers(0, 5)
    ),
    st.builds(
        Filter, st.sampled_from(["custom.k", "custom.m"]), st.sampled_from(["eq", "ne"]), CUSTOM
    ),
    st.builds(
        Filter,
        st.just("custom.k"),
        st.just("in"),
        st.lists(CUSTOM, max_size=3),
    ),
    st.builds(Filter, st.just("custom.m"), st.just("is_null"), st.booleans()),
)


def _extend(children: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    many = st.lists(children, max_size=4)
    return st.one_of(
        children.map(Not),
        children.map(lambda c: ("not", c)),
        many.map(lambda cs: And(*cs)),
        many.map(lambda cs: Or(*cs)),
        many.map(lambda cs: ("or", tuple(cs))),
        many,  # a list: all must hold
    )


filters = st.recursive(leaves, _extend, max_leaves=14)


def as_written(where: Any) -> Any:
    """Resolve each condition in place, keeping the tree exactly as given (the reference)."""
    if isinstance(where, Filter):
        target = resolve_target(FIELDS, where.field, "orders")
        return Cond(target, where.op, check_value(target, where.op, where.value))
    if isinstance(where, Not):
        return Not(as_written(where.part))
    if isinstance(where, tuple) and where[0] == "not":
        return Not(as_written(where[1]))
    if isinstance(where, tuple):
        return Or(*(as_written(c) for c in where[1]))
    if isinstance(where, Or):
        return Or(*(as_written(c) for c in where.parts))
    parts = where.parts if isinstance(where, And) else where
    return And(*(as_written(c) for c in parts))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rows=records, where=filters)
def test_the_normal_form_selects_the_same_records(rows, where):
    reference = compile_predicate(as_written(where))
    normal = resolve(FIELDS, where, "orders")
    assert normal is not None
    compiled = compile_predicate(normal)
    assert [r.id for r in rows if compiled(r)] == [r.id for r in rows if reference(r)]


@settings(max_examples=40, deadline=None)
@given(where=filters)
def test_the_normal_form_has_negation_only_on_conditions_and_no_nested_same_operator(where):
    normal = resolve(FIELDS, where, "orders")
    stack = [(normal, None)]
    while stack:
        node, parent = stack.pop()
        if isinstance(node, Not):
            assert isinstance(node.part, Cond)
            assert node.part.op != "ne"  # ne is "not eq"
            continue
        if isinstance(node, Cond):
            assert node.op != "ne"
            continue
        assert type(node) is not type(parent)  # and inside and is flattened
        if parent is not None:
            assert len(node.parts) >= 2  # one-part groups are folded away
        stack.extend((part, node) for part in node.parts)
    # normalising never makes a filter deeper than written
    assert _measure(normal)[0] <= _measure(as_written(where))[0]
