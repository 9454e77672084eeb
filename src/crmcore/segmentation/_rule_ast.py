"""Abstract syntax tree of a segment rule and its canonical text.

Nodes are frozen attrs classes. Positions (character offsets in the rule
text, used in error messages) do not take part in equality, so two rules
that say the same thing compare equal however they were spaced.
"""

from __future__ import annotations

import datetime as _dt
import re
from typing import Any, TypeAlias

import attrs

from crmcore.segmentation._rule_lexer import KEYWORDS

__all__ = [
    "OPERATORS",
    "And",
    "Between",
    "Compare",
    "In",
    "IsNull",
    "LiteralValue",
    "Node",
    "Not",
    "Or",
    "StoreFilter",
    "fields_of",
    "render",
]

LiteralValue: TypeAlias = "int | float | str | bool | _dt.date | _dt.datetime"
"""A literal in a rule: number, string, boolean or date/datetime."""

StoreFilter: TypeAlias = "tuple[Any, ...]"
"""A storage-agnostic filter tree (see :meth:`Rule.to_store_filter`)."""

OPERATORS = {"==": "eq", "!=": "ne", "<": "lt", "<=": "le", ">": "gt", ">=": "ge"}
"""Comparison operator symbols and their store-filter names."""

_SYMBOL = {v: k for k, v in OPERATORS.items()}
_BARE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


@attrs.frozen
class Compare:
    """``field <op> value`` with ``op`` one of eq, ne, lt, le, gt, ge."""

    field: str
    op: str
    value: LiteralValue
    position: int = attrs.field(default=-1, eq=False, repr=False)


@attrs.frozen
class Between:
    """``field between low and high`` (both bounds inclusive)."""

    field: str
    low: LiteralValue
    high: LiteralValue
    position: int = attrs.field(default=-1, eq=False, repr=False)


@attrs.frozen
class In:
    """``field in [v1, v2, ...]``."""

    field: str
    values: tuple[LiteralValue, ...]
    position: int = attrs.field(default=-1, eq=False, repr=False)


@attrs.frozen
class IsNull:
    """``field is null``."""

    field: str
    position: int = attrs.field(default=-1, eq=False, repr=False)


@attrs.frozen
class Not:
    """``not operand``."""

    operand: Node


@attrs.frozen
class And:
    """``a and b and ...`` (two or more operands)."""

    operands: tuple[Node, ...]


@attrs.frozen
class Or:
    """``a or b or ...`` (two or more operands)."""

    operands: tuple[Node, ...]


Node: TypeAlias = "Compare | Between | In | IsNull | Not | And | Or"
"""Any rule node."""


def fields_of(node: Node) -> tuple[str, ...]:
    """Field names used by ``node``, in order of first appearance, without repeats."""
    seen: dict[str, None] = {}
    stack: list[Node] = [node]
    while stack:
        cur = stack.pop()
        if isinstance(cur, And | Or):
            stack.extend(reversed(cur.operands))
        elif isinstance(cur, Not):
            stack.append(cur.operand)
        else:
            seen.setdefault(cur.field, None)
    return tuple(seen)


def render_field(name: str) -> str:
    """Write a field name bare when possible, else in backticks."""
    if _BARE.fullmatch(name) and name.lower() not in KEYWORDS and not name.startswith("__"):
        return name
    return "`" + name.replace("`", "``") + "`"


def render_value(value: LiteralValue) -> str:
    """Write a literal so that it parses back to the same value."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return "'" + value.replace("'", "''") + "'"
    if isinstance(value, _dt.datetime):
        return f"date'{value.isoformat()}'"
    return f"date'{value.isoformat()}'"


def _level(node: Node) -> int:
    if isinstance(node, Or):
        return 0
    if isinstance(node, And):
        return 1
    if isinstance(node, Not):
        return 2
    return 3


def _wrap(node: Node, min_level: int) -> str:
    text = render(node)
    return f"({text})" if _level(node) < min_level else text


def render(node: Node) -> str:
    """Canonical text of ``node``; ``Rule.parse(render(node))`` gives ``node`` back."""
    if isinstance(node, Or):
        return " or ".join(_wrap(op, 1) for op in node.operands)
    if isinstance(node, And):
        return " and ".join(_wrap(op, 2) for op in node.operands)
    if isinstance(node, Not):
        inner = node.operand
        if isinstance(inner, IsNull):
            return f"{render_field(inner.field)} is not null"
        if isinstance(inner, Between | In):
            field = render_field(inner.field)
            return f"{field} not {render(inner)[len(field) + 1 :]}"
        return "not " + _wrap(inner, 2)
    name = render_field(node.field)
    if isinstance(node, Compare):
        return f"{name} {_SYMBOL[node.op]} {render_value(node.value)}"
    if isinstance(node, Between):
        return f"{name} between {render_value(node.low)} and {render_value(node.high)}"
    if isinstance(node, In):
        return f"{name} in [" + ", ".join(render_value(v) for v in node.values) + "]"
    return f"{name} is null"
