"""A rule as a storage-agnostic filter tree (:meth:`Rule.to_store_filter`).

Store datetimes are timezone-aware and compared as instants, so a date
literal becomes aware datetimes here: a date-only literal the day it names
in the zone ``tz`` (half-open, as in :mod:`crmcore.segmentation._rule_dates`),
a literal with a time the instant it names (it must carry its offset).
Fields named in ``date_fields`` hold calendar dates (``datetime.date``
fields such as ``birth_date``): date-only literals stay dates there.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Iterable
from typing import Any, TypeAlias

import numpy as np

from crmcore._time import timestamps
from crmcore.errors import ValidationError
from crmcore.segmentation._rule_ast import (
    And,
    Between,
    Compare,
    IsNull,
    LiteralValue,
    Node,
    Not,
    Or,
    render_value,
)
from crmcore.segmentation._rule_dates import is_instant, literal_span

__all__ = ["StoreFilter", "to_store_filter"]

StoreFilter: TypeAlias = "tuple[Any, ...]"
"""A storage-agnostic filter tree (see :meth:`Rule.to_store_filter`)."""

_DAY_OPS = {"lt": ("lt", 0), "le": ("lt", 1), "gt": ("ge", 1), "ge": ("ge", 0)}
"""A comparison with a day ``[start, next start)``: (store operator, which bound)."""


def _zone(tz: Any) -> Any:
    given: Any = tz
    if isinstance(given, str | _dt.tzinfo):
        try:
            timestamps(np.zeros(1, dtype=np.int64), given)
        except (KeyError, ValueError, TypeError) as exc:
            raise ValidationError(
                f"tz={tz!r} is not a time zone; give an IANA name such as 'Europe/Paris' "
                "or 'UTC', or a tzinfo",
                field="tz",
                value=tz,
            ) from exc
        return given
    raise ValidationError(
        "tz must name the time zone whose days date-only literals mean (store "
        f"datetimes are timezone-aware), e.g. 'UTC' or 'Europe/Paris'; got {tz!r}",
        field="tz",
        value=tz,
    )


def _names(date_fields: Iterable[str]) -> frozenset[str]:
    given: Any = date_fields
    names = [given] if isinstance(given, str) else list(given)
    bad = [n for n in names if not isinstance(n, str)]
    if bad:
        raise ValidationError(
            f"date_fields must be field names; got {bad[0]!r}", field="date_fields", value=bad[0]
        )
    return frozenset(names)


class _Translator:
    def __init__(self, tz: Any, date_fields: frozenset[str]) -> None:
        self.tz = tz
        self.date_fields = date_fields

    def day(self, field: str, value: LiteralValue) -> tuple[_dt.datetime, _dt.datetime] | None:
        """Return the aware bounds of a date-only literal, or None for any other literal."""
        if not isinstance(value, _dt.date) or field in self.date_fields:
            if isinstance(value, _dt.datetime) and field in self.date_fields:
                raise ValidationError(
                    f"field {field!r} is named in date_fields (calendar dates): compare it "
                    f"with a date-only literal, not {render_value(value)}",
                    field=field,
                    value=value,
                )
            return None
        if is_instant(value):
            assert isinstance(value, _dt.datetime)
            if value.tzinfo is None or value.utcoffset() is None:
                raise ValidationError(
                    f"{render_value(value)} has no UTC offset, and store datetimes are "
                    "timezone-aware (compared as instants): write the offset, e.g. "
                    f"date'{value.isoformat()}+01:00' (or 'Z' for UTC), or a date-only "
                    f"literal date'{value.date().isoformat()}' for that day in {self.tz}",
                    field=field,
                    value=value,
                )
            literal_span(value, tz=self.tz, field=field)  # 1677..2262, as on frames
            return None
        lo, hi = literal_span(value, tz=self.tz, field=field)
        start, end = timestamps(np.array([lo, hi], dtype=np.int64), self.tz).to_pydatetime()
        return start, end

    def equal(self, field: str, value: LiteralValue) -> StoreFilter:
        bounds = self.day(field, value)
        if bounds is None:
            return (field, "eq", value)
        return ("and", ((field, "ge", bounds[0]), (field, "lt", bounds[1])))

    def run(self, node: Node) -> StoreFilter:
        if isinstance(node, And | Or):
            kind = "and" if isinstance(node, And) else "or"
            return (kind, tuple(self.run(op) for op in node.operands))
        if isinstance(node, Not):
            if isinstance(node.operand, IsNull):
                return (node.operand.field, "is_null", False)
            return ("not", self.run(node.operand))
        if isinstance(node, IsNull):
            return (node.field, "is_null", True)
        field = node.field
        if isinstance(node, Compare):
            if node.op in ("eq", "ne"):
                eq = self.equal(field, node.value)
                if node.op == "eq":
                    return eq
                return ("not", eq) if len(eq) == 2 else (field, "ne", node.value)
            bounds = self.day(field, node.value)
            if bounds is None:
                return (field, node.op, node.value)
            op, which = _DAY_OPS[node.op]
            return (field, op, bounds[which])
        if isinstance(node, Between):
            low, high = self.day(field, node.low), self.day(field, node.high)
            lower = (field, "ge", node.low if low is None else low[0])
            upper = (field, "le", node.high) if high is None else (field, "lt", high[1])
            return ("and", (lower, upper))
        forms = [self.equal(field, v) for v in node.values]
        if all(len(form) == 3 for form in forms):  # no day ranges: a plain "in"
            return (field, "in", node.values)
        return ("or", tuple(forms))


def to_store_filter(node: Node, *, tz: Any, date_fields: Iterable[str]) -> StoreFilter:
    """Translate ``node`` into the plain filter tree documented on ``Rule``."""
    return _Translator(_zone(tz), _names(date_fields)).run(node)
