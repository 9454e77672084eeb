"""Resolved filters -> SQLAlchemy Core expressions (bound parameters only).

Field names never reach the SQL text unchecked: they were whitelisted by
:func:`crmcore.storage._filters.resolve` and are used only to pick a
:class:`sqlalchemy.Column`.  Keys inside JSON columns are restricted to
``[A-Za-z_][A-Za-z0-9_-]*`` and bound as parameters on PostgreSQL.  Every
value is a bound parameter.

Trees arrive in the normal form of :mod:`crmcore.storage._normal` (negation
only on single conditions, flat and/or, bounded depth and size), so the
statement stays within what SQLite and PostgreSQL parse.

Semantics match :mod:`crmcore.storage._predicates`: a comparison with a
missing value is false (SQL ``NULL`` is folded to false under ``NOT``), JSON
values compare only with filter values of the same JSON type, text compares
by code point, ``contains`` is case-sensitive.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql as pg

from crmcore.storage._codec import Dialect, scalar_encoder
from crmcore.storage._fields import Kind
from crmcore.storage._filters import And, Cond, Not, Or, Resolved, Target

__all__ = ["compile_where", "frame_expression", "order_clauses", "raw_chunks"]

ColumnExpr = sa.ColumnElement[Any]


def _column(table: sa.Table, target: Target) -> sa.Column[Any]:
    if target.part == "currency":
        return table.c[target.spec.columns[1]]
    return table.c[target.spec.columns[0]]


def _bind(target: Target, value: Any, dialect: Dialect) -> Any:
    """Filter value -> the column's stored representation."""
    kind = target.kind
    assert kind is not None
    if kind in (Kind.INT, Kind.FLOAT) or kind is Kind.ENUM:
        return value
    if kind in (Kind.STR, Kind.ID, Kind.BOOL):
        return value
    if kind is Kind.DECIMAL:
        return str(value) if dialect == "sqlite" else value
    return scalar_encoder(kind, dialect, target.path)(value)


def _typed(table: sa.Table, target: Target, dialect: Dialect) -> tuple[ColumnExpr, Any]:
    """Return (comparable column expression, value converter) for a typed target."""
    col: ColumnExpr = _column(table, target)
    if target.kind is Kind.DECIMAL and dialect == "sqlite":
        # exact digits are stored as text; compare numerically
        def convert(v: Any) -> Any:
            return sa.cast(sa.literal(_bind(target, v, dialect), sa.Text()), sa.Double())

        return sa.cast(col, sa.Double()), convert
    return col, lambda v: _bind(target, v, dialect)


def _json_class(value: Any) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, (int, float, Decimal)):
        return "num"
    return "str"


class _JsonKey:
    """Typed accessors for a key inside a JSON column, per dialect."""

    def __init__(self, table: sa.Table, target: Target, dialect: Dialect) -> None:
        self.col = _column(table, target)
        self.key = target.key
        self.dialect = dialect
        if dialect == "sqlite":
            self.path = f'$."{self.key}"'
            self.type_ = sa.func.json_type(self.col, self.path)
            self.raw = sa.func.json_extract(self.col, self.path)
        else:
            self.item = self.col[self.key]
            self.type_ = sa.func.json_typeof(self.item)
            self.text = self.item.astext

    def is_null(self) -> ColumnExpr:
        return sa.or_(self.type_.is_(None), self.type_ == "null")

    def value(self, cls: str) -> ColumnExpr:
        """Return the value when its JSON type is ``cls``, else NULL."""
        if self.dialect == "sqlite":
            types = {"str": ("text",), "num": ("integer", "real"), "bool": ("true", "false")}[cls]
            return sa.case((self.type_.in_(types), self.raw), else_=sa.null())
        if cls == "str":
            return sa.case((self.type_ == "string", self.text.collate("C")), else_=sa.null())
        if cls == "num":
            return sa.case(
                (self.type_ == "number", sa.cast(self.text, sa.Numeric())), else_=sa.null()
            )
        return sa.case(
            (self.type_ == "boolean", sa.cast(self.text, sa.Boolean())), else_=sa.null()
        )

    def param(self, value: Any) -> Any:
        if self.dialect == "sqlite":
            if isinstance(value, bool):
                return int(value)
            if isinstance(value, Decimal):
                return float(value)
        return value


def _contains_text(dialect: Dialect, expr: ColumnExpr, value: str) -> ColumnExpr:
    if dialect == "sqlite":
        return sa.func.instr(expr, sa.literal(value, sa.Text())) > 0
    return sa.func.strpos(expr, sa.literal(value, sa.Text())) > 0


def _member(table: sa.Table, target: Target, dialect: Dialect, value: Any) -> ColumnExpr:
    """``value`` is an element of the JSON array in the target column."""
    col = _column(table, target)
    if dialect == "sqlite":
        each = sa.func.json_each(col).table_valued("value", "type")
        types = {"str": ("text",), "num": ("integer", "real"), "bool": ("true", "false")}[
            _json_class(value)
        ]
        param = int(value) if isinstance(value, bool) else value
        return sa.exists(
            sa.select(sa.literal(1))
            .select_from(each)
            .where(each.c.type.in_(types), each.c.value == param)
        )
    return sa.cast(col, pg.JSONB()).contains([value])  # @> on the parsed value


def _leaf(table: sa.Table, cond: Cond, dialect: Dialect) -> ColumnExpr:
    target, op, x = cond.target, cond.op, cond.value
    if target.part == "value" and target.kind is None:  # a whole JSON column
        if op == "is_null":
            whole = _column(table, target)
            return whole.is_(None) if x else whole.is_not(None)
        return _member(table, target, dialect, x)
    if target.part == "key":
        key = _JsonKey(table, target, dialect)
        if op == "is_null":
            return key.is_null() if x else sa.not_(key.is_null())
        if op == "contains":
            return _contains_text(dialect, key.value("str"), x)
        if op == "in":  # one IN per JSON type: a list of any length stays one expression each
            by_class: dict[str, list[Any]] = {}
            for v in x:
                by_class.setdefault(_json_class(v), []).append(key.param(v))
            return _chain(sa.or_, [key.value(c).in_(vs) for c, vs in by_class.items()], sa.false())
        return _compare(op, key.value(_json_class(x)), key.param(x))
    col, convert = _typed(table, target, dialect)
    if op == "is_null":
        plain = _column(table, target)
        return plain.is_(None) if x else plain.is_not(None)
    if op == "contains":
        return _contains_text(dialect, col, x)
    if op == "in":
        if not x:
            return sa.false()
        if dialect == "postgresql":  # one array parameter, whatever the number of values
            array = sa.bindparam(None, [convert(v) for v in x], type_=pg.ARRAY(col.type))
            return col == sa.any_(array)
        return col.in_([convert(v) for v in x])
    return _compare(op, col, convert(x))


def _compare(op: str, expr: ColumnExpr, value: Any) -> ColumnExpr:
    result: ColumnExpr
    if op == "eq":
        result = expr == value
    elif op == "ne":
        result = sa.not_(sa.func.coalesce(expr == value, sa.false()))
    elif op == "lt":
        result = expr < value
    elif op == "le":
        result = expr <= value
    elif op == "gt":
        result = expr > value
    else:
        assert op == "ge"
        result = expr >= value
    return result


def compile_where(table: sa.Table, node: Resolved | None, dialect: Dialect) -> ColumnExpr | None:
    """Compile a resolved filter tree (None: no condition)."""
    if node is None:
        return None
    if isinstance(node, Cond):
        return _leaf(table, node, dialect)
    if isinstance(node, Not):
        inner = compile_where(table, node.part, dialect)  # type: ignore[arg-type]
        assert inner is not None
        return sa.not_(sa.func.coalesce(inner, sa.false()))
    parts = [compile_where(table, p, dialect) for p in node.parts]  # type: ignore[arg-type]
    clean = [p for p in parts if p is not None]
    if isinstance(node, And):
        return _chain(sa.and_, clean, sa.true())
    assert isinstance(node, Or)
    return _chain(sa.or_, clean, sa.false())


_FANOUT = 32
"""Longest chain of AND / OR written without parentheses.

SQLite parses ``a OR b OR c ...`` into a tree as deep as the chain and refuses
one deeper than 1,000; chains of at most 32 grouped in parentheses keep the
tree shallow (1,000 conditions: two levels of groups) without nesting enough
parentheses to overflow its parser.
"""


def _chain(combine: Any, parts: list[ColumnExpr], empty: ColumnExpr) -> ColumnExpr:
    """``combine(*parts)`` as a tree of parenthesised chains of at most :data:`_FANOUT`."""
    if not parts:
        return empty
    while len(parts) > _FANOUT:
        # "(chain) IS true": a group SQLAlchemy will not flatten back into the outer
        # chain; NULL becomes false, which changes nothing here (no NOT above a chain
        # in the normal form, and WHERE keeps only true rows)
        parts = [
            combine(*parts[i : i + _FANOUT]).self_group().is_(sa.true())
            for i in range(0, len(parts), _FANOUT)
        ]
    result: ColumnExpr = combine(*parts)
    return result


def order_clauses(
    table: sa.Table, order: Sequence[tuple[Target, bool]], dialect: Dialect
) -> list[Any]:
    """ORDER BY terms: NULLs first ascending, last descending; ties by id."""
    out: list[Any] = []
    for target, descending in order:
        col, _ = _typed(table, target, dialect)
        out.append(col.desc().nulls_last() if descending else col.asc().nulls_first())
    out.append(table.c.id.asc())
    return out


def frame_expression(column: sa.Column[Any], kind: Kind, dialect: Dialect) -> ColumnExpr:
    """SELECT expression giving a column in the frame representation (see _frame)."""
    if dialect == "sqlite":
        if kind is Kind.DECIMAL:
            return sa.cast(column, sa.Double())
        return column
    if kind is Kind.DATETIME:
        micros = sa.extract("epoch", column) * 1_000_000
        return sa.cast(micros, sa.BigInteger())
    if kind is Kind.DECIMAL:
        return sa.cast(column, sa.Double())
    if kind is Kind.DATE:
        return sa.func.to_char(column, "YYYY-MM-DD")
    return column


def raw_chunks(
    conn: sa.Connection, stmt: sa.Select[Any], batch_size: int
) -> Iterator[Sequence[Any]]:
    """Stream plain DB-API tuples (SQLite; every bound value is already a driver type)."""
    compiled = stmt.compile(dialect=conn.dialect, compile_kwargs={"render_postcompile": True})
    values = compiled.construct_params()
    params = tuple(values[name] for name in compiled.positiontup or ())
    cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    try:
        cursor.execute(compiled.string, params)
        while chunk := cursor.fetchmany(batch_size):
            yield chunk
    finally:
        cursor.close()
