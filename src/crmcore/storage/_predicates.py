"""Resolved filters as Python predicates, and ordering, for the in-memory store.

The semantics mirror the SQL compiler in :mod:`crmcore.storage._sqlquery`:
a missing value (``None``, absent key, a JSON value of another type) makes
every comparison false; ``ne`` is ``not eq``; ``None`` sorts first when
ascending and last when descending; ties are broken by id.
"""

from __future__ import annotations

import datetime as dt
import operator
from collections.abc import Callable, Mapping, Sequence
from decimal import Decimal
from typing import Any

from crmcore.storage._fields import Kind
from crmcore.storage._filters import And, Cond, Not, Or, Resolved, Target

__all__ = ["compile_predicate", "getter", "sort_entities"]

Predicate = Callable[[Any], bool]
_ORDER_OPS: dict[str, Callable[[Any, Any], bool]] = {
    "lt": operator.lt,
    "le": operator.le,
    "gt": operator.gt,
    "ge": operator.ge,
}


def json_class(value: Any) -> str | None:
    """Return the JSON type family of a value: ``"bool"``, ``"num"``, ``"str"`` or None."""
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, (int, float, Decimal)):
        return "num"
    if isinstance(value, str):
        return "str"
    return None


def getter(target: Target) -> Callable[[Any], Any]:
    """Return a function reading the target's comparable value from an entity."""
    spec = target.spec
    name = spec.name
    read = operator.attrgetter(name)
    if target.part == "currency":
        return lambda e: None if (m := read(e)) is None else m.currency
    if target.part == "key":
        key = target.key
        assert key is not None

        def get_key(e: Any) -> Any:
            value = read(e)
            if value is None:
                return None
            if isinstance(value, Mapping):
                return value.get(key)
            return getattr(value, key, None)

        return get_key
    if spec.kind is Kind.MONEY:
        return lambda e: None if (m := read(e)) is None else m.amount
    if spec.kind is Kind.ENUM:
        return lambda e: None if (m := read(e)) is None else m.value
    if spec.kind is Kind.WRAPPED:
        inner = operator.attrgetter(spec.inner[0])
        return lambda e: None if (w := read(e)) is None else inner(w)
    if spec.kind is Kind.DATETIME:  # by instant: Python never equates a DST-fold time across zones
        return lambda e: None if (v := read(e)) is None else v.astimezone(dt.UTC)
    if spec.kind is Kind.ID:
        return lambda e: None if (v := read(e)) is None else (v if isinstance(v, str) else v.urn)
    return read


def compile_predicate(node: Resolved) -> Predicate:
    """Compile a resolved filter tree into ``entity -> bool``."""
    if isinstance(node, Cond):
        return _leaf(node)
    if isinstance(node, Not):
        inner = compile_predicate(node.part)  # type: ignore[arg-type]
        return lambda e: not inner(e)
    parts = [compile_predicate(p) for p in node.parts]  # type: ignore[arg-type]
    if isinstance(node, And):
        return lambda e: all(p(e) for p in parts)
    assert isinstance(node, Or)
    return lambda e: any(p(e) for p in parts)


def _leaf(cond: Cond) -> Predicate:
    target, op, x = cond.target, cond.op, cond.value
    get = getter(target)
    typed = target.kind is not None

    def same(v: Any, y: Any) -> bool:
        return v is not None and (typed or json_class(v) == json_class(y))

    if op == "is_null":
        return lambda e: (get(e) is None) is x
    if op == "eq":
        return lambda e: same(v := get(e), x) and v == x
    if op == "ne":
        return lambda e: not (same(v := get(e), x) and v == x)
    if op in _ORDER_OPS:
        compare = _ORDER_OPS[op]
        return lambda e: same(v := get(e), x) and compare(v, x)
    if op == "in":
        values = tuple(x)
        if typed:
            try:  # a set: one look-up per record, not one comparison per value
                lookup = frozenset(values)
            except TypeError:
                pass
            else:
                return lambda e: (v := get(e)) is not None and v in lookup
        return lambda e: any(same(v := get(e), y) and v == y for y in values)
    assert op == "contains"
    if target.part == "value" and target.kind is None:  # membership in a collection field
        return lambda e: (
            (v := get(e)) is not None
            and any(json_class(item) == json_class(x) and item == x for item in v)
        )
    return lambda e: isinstance(v := get(e), str) and x in v


def sort_entities(
    entities: list[Any],
    order: Sequence[tuple[Target, bool]],
    encode_id: Callable[[Any], Any],
) -> list[Any]:
    """Sort by the given keys (None first ascending, last descending), ties by id."""
    rows = sorted(entities, key=lambda e: encode_id(e.id))
    for target, descending in reversed(order):
        get = getter(target)
        rows.sort(key=lambda e, g=get: ((v := g(e)) is not None, v), reverse=descending)  # type: ignore[misc]
    return rows
