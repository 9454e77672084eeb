"""Filter normal form: where every ``where=`` tree is made fit for every store.

A filter reaches the stores in many shapes (mappings, :class:`Filter` trees,
the tuple tree of ``Rule.parse(...).to_store_filter()``), some of them far
deeper or longer than a SQL parser accepts: SQLite's parser overflows at about
30 nested parentheses and refuses an expression tree deeper than 1,000 (a
chain of 1,000 ``AND``), and compiling a deep tree recurses in Python.  The
in-memory store has no such bounds, so the stores would disagree.  Every store
therefore resolves ``where=`` here, once, into the same normal form:

1. **negation pushed to the conditions** (De Morgan; ``not not c`` is ``c``;
   ``ne`` is ``not eq``; ``not is_null=True`` is ``is_null=False``).  This is
   exact, not an approximation: every condition is two-valued (a comparison
   with a missing value is false, see :mod:`crmcore.storage._filters`);
2. **and/or chains flattened**: ``a and (b and c)`` is one ``and`` of three,
   ``and()`` (true) and ``or()`` (false) are folded away;
3. **equality chains on one field merged**: ``f == a or f == b or f in [c]``
   becomes ``f in [a, b, c]`` and ``f != a and f != b`` becomes
   ``not f in [a, b]`` (a SQL ``IN`` / ``NOT IN``: one expression whatever
   the number of values).

The walk is iterative, so no input is too deep to read.  What remains must
fit the documented limits, the same on every store (a filter over them is
refused with a :class:`~crmcore.errors.ValidationError` naming the limit):

- :data:`MAX_FILTER_DEPTH` nesting levels (alternations of ``and`` / ``or``),
- :data:`MAX_FILTER_CONDITIONS` conditions,
- :data:`MAX_FILTER_VALUES` values in all (every ``in`` value counts),
- :data:`MAX_FILTER_PARTS` parts in the filter as given, before any
  simplification (a bound on the work of reading it).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

from crmcore.errors import ValidationError
from crmcore.storage._fields import FieldSpec
from crmcore.storage._filters import (
    MAX_IN,
    OPERATORS,
    And,
    Cond,
    Filter,
    Not,
    Or,
    Resolved,
    Target,
    check_value,
    resolve_target,
)

__all__ = [
    "MAX_FILTER_CONDITIONS",
    "MAX_FILTER_DEPTH",
    "MAX_FILTER_PARTS",
    "MAX_FILTER_VALUES",
    "resolve",
]

#: Deepest nesting of a filter once simplified (a condition is 1 level,
#: ``a and (b or c)`` is 3).  SQLite's parser overflows near 30 nested groups;
#: 16 leaves room for the grouping of long chains and the conditions' own SQL.
MAX_FILTER_DEPTH = 16
#: Most conditions in a filter once simplified (an ``in`` list is one condition).
MAX_FILTER_CONDITIONS = 1_000
#: Most values in a filter once simplified, every ``in`` value counted (SQLite
#: binds at most 32,766 parameters per statement).
MAX_FILTER_VALUES = MAX_IN
#: Most parts (conditions and and/or/not nodes) in a filter as given.
MAX_FILTER_PARTS = 50_000

_SWAP = {"and": "or", "or": "and"}
_EQUALITY = frozenset({"eq", "in"})


def _where_error(aggregate: str, message: str, where: Any = None) -> ValidationError:
    return ValidationError(f"{aggregate}: {message}", field="where", value=where)


def _mapping_parts(where: Mapping[Any, Any]) -> list[Filter]:
    parts = []
    for key, value in where.items():
        if not isinstance(key, str):
            raise ValidationError(
                f"filter keys must be strings, got {key!r}", field="where", value=key
            )
        field, sep, op = key.rpartition("__")
        if not sep or op not in OPERATORS:
            field, op = key, "eq"
        parts.append(Filter(field, op, value))
    return parts


def _decompose(where: Any) -> tuple[str, Any]:
    """One level of a ``where=`` form: ("leaf", Filter), ("and"/"or", children), ("not", child).

    ``None`` children of an and/or are left out (as the whole filter ``None``
    means no condition); ``("not", None)`` negates the empty ``and``.
    """
    if isinstance(where, Filter):
        return "leaf", where
    if isinstance(where, Not):
        return "not", where.part
    if isinstance(where, And):
        return "and", where.parts
    if isinstance(where, Or):
        return "or", where.parts
    if isinstance(where, Mapping):
        return "and", _mapping_parts(where)
    if isinstance(where, tuple) and len(where) == 3 and isinstance(where[0], str):
        return "leaf", Filter(where[0], where[1], where[2])
    if isinstance(where, tuple) and len(where) == 2 and where[0] in ("and", "or", "not"):
        # the plain tuple tree of ``Rule.to_store_filter()``:
        # ("and", (c1, c2, ...)), ("or", (c1, ...)), ("not", c)
        head, body = where
        if head == "not":
            return "not", And() if body is None else body
        if isinstance(body, (str, bytes)) or not isinstance(body, Sequence):
            raise ValidationError(
                f"({head!r}, ...) takes a sequence of conditions", field="where", value=where
            )
        return head, body
    if isinstance(where, Sequence) and not isinstance(where, (str, bytes)):
        return "and", where
    raise ValidationError(
        "where= must be a mapping {'field__op': value}, a Filter/And/Or/Not, a (field, op, value) "
        f"tuple or a list of those; got {type(where).__name__}",
        field="where",
        value=where,
    )


def _condition(
    fields: Mapping[str, FieldSpec],
    node: Filter,
    aggregate: str,
    negated: bool,
    targets: dict[str, Target],
) -> Resolved:
    """Resolve one condition, with the negation (if any) folded in where it is exact."""
    if node.op not in OPERATORS:
        raise ValidationError(
            f"{aggregate}: unknown operator {node.op!r}; use one of {', '.join(OPERATORS)}",
            field=str(node.field),
            value=node.op,
        )
    path: Any = node.field  # unchecked input: maybe not even hashable
    target = targets.get(path) if isinstance(path, str) else None
    if target is None:
        target = resolve_target(fields, path, aggregate)
        targets[path] = target
    value = check_value(target, node.op, node.value)
    op = node.op
    if op == "ne":  # exactly "not eq" on every store
        op, negated = "eq", not negated
    if op == "is_null":  # two-valued: negation flips the flag
        return Cond(target, op, value is not negated)
    if op == "in" and not value:  # in [] matches nothing
        return And() if negated else Or()
    cond = Cond(target, op, value)
    return Not(cond) if negated else cond  # type: ignore[arg-type]


def _value_key(value: Any) -> tuple[str, Any]:
    """Identity of an ``in`` value: a JSON bool is not the number it equals."""
    if isinstance(value, bool):
        return "bool", value
    if isinstance(value, (int, float, Decimal)):
        return "num", value
    return type(value).__name__, value


def _equality(part: Resolved, negated: bool) -> Cond | None:
    """Return the eq/in condition ``part`` is (negated: the one under its Not), else None."""
    if negated:
        if not isinstance(part, Not):
            return None
        part = part.part  # type: ignore[assignment]
    if isinstance(part, Cond) and part.op in _EQUALITY:
        return part
    return None


def _merge(parts: list[Resolved], negated: bool) -> list[Resolved]:
    """Merge eq/in conditions on one field: or -> one ``in``; and of negations -> ``not in``."""
    groups: dict[str, list[Cond]] = {}
    for part in parts:
        cond = _equality(part, negated)
        if cond is not None:
            groups.setdefault(cond.target.path, []).append(cond)
    if all(len(group) < 2 for group in groups.values()):
        return parts
    out: list[Resolved] = []
    done: set[str] = set()
    for part in parts:
        cond = _equality(part, negated)
        if cond is None or len(groups[cond.target.path]) < 2:
            out.append(part)
            continue
        path = cond.target.path
        if path in done:
            continue
        done.add(path)
        seen: set[tuple[str, Any]] = set()
        values: list[Any] = []
        for member in groups[path]:
            for value in member.value if member.op == "in" else (member.value,):
                key = _value_key(value)
                if key not in seen:
                    seen.add(key)
                    values.append(value)
        merged = Cond(cond.target, "in", tuple(values))
        out.append(Not(merged) if negated else merged)  # type: ignore[arg-type]
    return out


def _combine(kind: str, parts: list[Resolved]) -> Resolved:
    """Build a flat and/or from already normal parts."""
    cls: type[And] | type[Or] = And if kind == "and" else Or
    other: type[And] | type[Or] = Or if kind == "and" else And
    flat: list[Resolved] = []
    for part in parts:
        if type(part) is cls:
            flat.extend(part.parts)  # type: ignore[arg-type]
        elif type(part) is other and not part.parts:
            return other()  # false in an and, true in an or
        else:
            flat.append(part)
    flat = _merge(flat, negated=kind == "and")
    if len(flat) == 1:
        return flat[0]
    return cls(*flat)  # type: ignore[arg-type]


_BUILD = object()


def _normal_form(fields: Mapping[str, FieldSpec], where: Any, aggregate: str) -> Resolved:
    """Resolve ``where`` into the normal form, iteratively (no input is too deep)."""
    root: list[Resolved] = []
    # tasks: (None, raw, negated, out) to visit; (_BUILD, kind, parts, out) to combine
    stack: list[tuple[Any, Any, Any, list[Resolved]]] = [(None, where, False, root)]
    parts_seen = 0
    targets: dict[str, Target] = {}  # field path -> its resolution, once per filter
    while stack:
        marker, first, second, out = stack.pop()
        if marker is _BUILD:
            out.append(_combine(first, second))
            continue
        parts_seen += 1
        if parts_seen > MAX_FILTER_PARTS:
            raise _where_error(
                aggregate,
                f"the filter has more than {MAX_FILTER_PARTS:,} parts (conditions and "
                "and/or/not); merge equalities into 'in' lists or split the query",
            )
        negated: bool = second
        kind, body = _decompose(first)
        if kind == "not":
            stack.append((None, body, not negated, out))
            continue
        if kind == "leaf":
            out.append(_condition(fields, body, aggregate, negated, targets))
            continue
        if negated:
            kind = _SWAP[kind]
        parts: list[Resolved] = []
        stack.append((_BUILD, kind, parts, out))
        stack.extend(
            (None, child, negated, parts) for child in reversed(body) if child is not None
        )
    (tree,) = root
    return tree


def _measure(tree: Resolved) -> tuple[int, int, int]:
    """Return (depth, conditions, values) of a normal tree (iteratively)."""
    depth = conditions = values = 0
    stack: list[tuple[Resolved, int]] = [(tree, 1)]
    while stack:
        node, level = stack.pop()
        if isinstance(node, Not):
            node = node.part  # type: ignore[assignment]
        if isinstance(node, Cond):
            depth = max(depth, level)
            conditions += 1
            if node.op == "in":
                values += len(node.value)
            elif node.op != "is_null":
                values += 1
            continue
        depth = max(depth, level)
        stack.extend((part, level + 1) for part in node.parts)  # type: ignore[misc]
    return depth, conditions, values


def resolve(fields: Mapping[str, FieldSpec], where: Any, aggregate: str) -> Resolved | None:
    """Resolve ``where`` against an entity's fields into the normal form (None: no condition).

    Raises
    ------
    ValidationError
        An unknown field or operator, a value of the wrong kind, or a filter
        over one of the limits of this module (the message names it).
    """
    if where is None:
        return None
    tree = _normal_form(fields, where, aggregate)
    depth, conditions, values = _measure(tree)
    if depth > MAX_FILTER_DEPTH:
        raise _where_error(
            aggregate,
            f"the filter is nested {depth} levels deep once simplified; at most "
            f"{MAX_FILTER_DEPTH} levels of and/or are allowed (flatten it, e.g. into "
            "a list of conditions that must all hold, or split the query)",
        )
    if conditions > MAX_FILTER_CONDITIONS:
        raise _where_error(
            aggregate,
            f"the filter has {conditions:,} conditions once simplified; at most "
            f"{MAX_FILTER_CONDITIONS:,} are allowed (merge equalities into 'in' lists "
            "or split the query)",
        )
    if values > MAX_FILTER_VALUES:
        raise _where_error(
            aggregate,
            f"the filter holds {values:,} values once simplified; at most "
            f"{MAX_FILTER_VALUES:,} are allowed (query in chunks)",
        )
    return tree
