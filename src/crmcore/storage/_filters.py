"""Query filters: the public filter objects and their validation.

A ``where=`` argument is a tree of :class:`Filter`, :class:`And`, :class:`Or`
and :class:`Not` (or a mapping / tuple form of one).  It is *resolved*
against the aggregate's field list, in :mod:`crmcore.storage._normal`, into
one bounded normal form: every field name is checked against the entity
definition and every value is checked (and converted) here for the field's
kind.
The stores compile resolved trees into SQL (bound parameters only) or into a
Python predicate, with identical semantics:

- comparisons with a missing value (``None``, an absent custom key, a custom
  value of another JSON type) are false, so ``ne`` is exactly ``not eq``;
- strings compare by code point (PostgreSQL columns use the ``"C"``
  collation) and ``contains`` is a case-sensitive substring test (or, on a
  collection field, membership);
- ``Money`` fields compare by amount; ``<field>.currency`` filters the currency.
"""

from __future__ import annotations

import datetime as dt
import enum
import math
import re
import typing
import uuid
from collections.abc import Iterable, Mapping, Sequence
from collections.abc import Set as AbstractSet
from decimal import Decimal
from typing import Any, TypeAlias, cast

import attrs

from crmcore._limits import INT64_MAX, INT64_MIN
from crmcore._text import check_storable
from crmcore.errors import ValidationError
from crmcore.storage._fields import SCALAR_KINDS, FieldSpec, Kind, unwrap_optional

__all__ = [
    "OPERATORS",
    "And",
    "Cond",
    "Filter",
    "Not",
    "Or",
    "Target",
    "check_value",
    "resolve_order",
    "resolve_target",
]

#: Operator names accepted in filters.
OPERATORS = ("eq", "ne", "lt", "le", "gt", "ge", "in", "contains", "is_null")
_ORDERING = frozenset({"lt", "le", "gt", "ge"})
_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_\-]{0,62}$")
#: Most values an ``in`` filter may carry (SQLite binds at most 32766 parameters).
MAX_IN = 20_000


@attrs.frozen
class Filter:
    """One condition: ``field op value``.

    Parameters
    ----------
    field : str
        An entity field (``"stage"``), a Money currency (``"amount.currency"``)
        or a key inside a mapping / value-object field (``"custom.region"``).
    op : str, default "eq"
        One of ``eq, ne, lt, le, gt, ge, in, contains, is_null``.
    value : object
        The value to compare with (a collection for ``in``, a bool for ``is_null``).

    Examples
    --------
    >>> from crmcore.storage import Filter
    >>> f = Filter("amount", "gt", 100) & ~Filter("custom.region", "eq", "EU")
    >>> f.parts[1]
    Not(Filter(field='custom.region', op='eq', value='EU'))
    """

    field: str
    op: str = "eq"
    value: Any = None

    def __and__(self, other: Condition) -> And:
        return And(self, other)

    def __or__(self, other: Condition) -> Or:
        return Or(self, other)

    def __invert__(self) -> Not:
        return Not(self)


class _Combinator:
    __slots__ = ("parts",)
    parts: tuple[Condition, ...]

    def __init__(self, *parts: Condition) -> None:
        object.__setattr__(self, "parts", tuple(parts))

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"{type(self).__name__} is immutable")

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and other.parts == self.parts

    def __hash__(self) -> int:
        return hash((type(self).__name__, self.parts))

    def __repr__(self) -> str:
        return f"{type(self).__name__}({', '.join(map(repr, self.parts))})"

    def __and__(self, other: Condition) -> And:
        return And(cast("Condition", self), other)

    def __or__(self, other: Condition) -> Or:
        return Or(cast("Condition", self), other)

    def __invert__(self) -> Not:
        return Not(cast("Condition", self))


class And(_Combinator):
    """All of the given conditions hold (``And()`` matches everything).

    Parameters
    ----------
    *parts : Filter, And, Or or Not
        The conditions.
    """

    __slots__ = ()


class Or(_Combinator):
    """At least one of the given conditions holds (``Or()`` matches nothing).

    Parameters
    ----------
    *parts : Filter, And, Or or Not
        The conditions.
    """

    __slots__ = ()


class Not(_Combinator):
    """The given condition does not hold.

    Parameters
    ----------
    part : Filter, And, Or or Not
        The condition to negate.
    """

    __slots__ = ()

    def __init__(self, part: Condition) -> None:
        super().__init__(part)

    @property
    def part(self) -> Condition:
        """The negated condition."""
        return self.parts[0]


Condition: TypeAlias = Filter | And | Or | Not


# ------------------------------------------------------------------ resolution


@attrs.frozen
class Target:
    """A resolved field reference.

    ``part`` is ``"value"`` (the field's own scalar), ``"currency"`` (a Money
    currency) or ``"key"`` (``key`` inside a JSON field).  ``kind`` is the
    comparison kind (``None`` for a JSON key: typed by the filter value, or
    for a whole JSON field: only ``is_null`` / ``contains``).
    """

    spec: FieldSpec
    part: str
    kind: Kind | None
    key: str | None = None
    element: Any = None

    @property
    def path(self) -> str:
        """The field path as the user wrote it."""
        if self.part == "currency":
            return f"{self.spec.name}.currency"
        if self.part == "key":
            return f"{self.spec.name}.{self.key}"
        return self.spec.name


@attrs.frozen
class Cond:
    """A validated condition: target, operator and converted value."""

    target: Target
    op: str
    value: Any


Resolved: TypeAlias = Cond | And | Or | Not


def _collection_element(tp: Any) -> Any:
    inner, _ = unwrap_optional(tp)
    origin = typing.get_origin(inner) or inner
    if isinstance(origin, type) and issubclass(origin, (Sequence, AbstractSet)):
        if issubclass(origin, (str, bytes)):
            return None
        args = typing.get_args(inner)
        return args[0] if args else Any
    return None


def _json_keys(spec: FieldSpec) -> frozenset[str] | None:
    """Keys allowed after ``<field>.``: None = any identifier (mappings)."""
    inner, _ = unwrap_optional(spec.tp)
    origin = typing.get_origin(inner) or inner
    if isinstance(origin, type) and issubclass(origin, Mapping):
        return None
    if isinstance(inner, type) and attrs.has(inner):
        return frozenset(f.name for f in attrs.fields(inner))
    return frozenset()


def resolve_target(fields: Mapping[str, FieldSpec], path: Any, aggregate: str) -> Target:
    """Check a field path against the entity definition."""
    if not isinstance(path, str):
        raise ValidationError(f"{aggregate}: field names must be strings", field=str(path))
    spec = fields.get(path)
    if spec is not None:
        if spec.kind is Kind.JSON:
            return Target(spec, "value", None, element=_collection_element(spec.tp))
        return Target(spec, "value", spec.compare_kind)
    head, dot, rest = path.partition(".")
    spec = fields.get(head)
    if dot and spec is not None:
        if spec.kind is Kind.MONEY and rest == "currency":
            return Target(spec, "currency", Kind.STR)
        if spec.kind is Kind.JSON:
            allowed = _json_keys(spec)
            if _KEY.match(rest) and (allowed is None or rest in allowed):
                return Target(spec, "key", None, key=rest)
            raise ValidationError(
                f"{aggregate}: cannot filter on {path!r}; keys inside {head!r} must be "
                + (
                    "letters, digits, '_' or '-'"
                    if allowed is None
                    else f"one of {sorted(allowed)}"
                ),
                field=path,
            )
    known = sorted(fields)
    raise ValidationError(
        f"{aggregate}: unknown field {path!r}; known fields: {', '.join(known)} "
        "(use 'custom.<name>' for custom fields)",
        field=path,
    )


_INT64 = (INT64_MIN, INT64_MAX)


def _text(value: str, path: str) -> str:
    """Refuse text no store can hold (PostgreSQL would fail on it, the others match nothing)."""
    if "\x00" in value:
        raise ValidationError(
            f"{path}: NUL characters cannot be stored or searched", field=path, value=value
        )
    return check_storable(value, path)


def _int64(value: int | float | Decimal, path: str) -> int | float | Decimal:
    """Refuse integers the databases cannot bind (stored integers fit in 64 bits)."""
    if isinstance(value, int) and not _INT64[0] <= value <= _INT64[1]:
        raise ValidationError(f"{path}: integers must fit in 64 bits", field=path, value=value)
    return value


def _number(value: Any, path: str) -> int | float | Decimal:
    if isinstance(value, bool) or not isinstance(value, (int, float, Decimal)):
        raise ValidationError(f"{path}: expected a number, got {value!r}", field=path, value=value)
    if isinstance(value, float) and not math.isfinite(value):
        raise ValidationError(
            f"{path}: NaN and infinity cannot be compared", field=path, value=value
        )
    if isinstance(value, Decimal) and not value.is_finite():
        raise ValidationError(
            f"{path}: NaN and infinity cannot be compared", field=path, value=value
        )
    return value


def _scalar_value(target: Target, value: Any) -> Any:
    """Check and convert one comparison value for a typed target."""
    path, kind, spec = target.path, target.kind, target.spec
    if value is None:
        raise ValidationError(
            f"{path}: compare with None using the 'is_null' operator", field=path, value=value
        )
    if target.part == "value" and spec.kind is Kind.ENUM:
        members = {m.value: m for m in spec.cls}
        if isinstance(value, enum.Enum):
            value = value.value
        if value not in members or isinstance(value, bool):
            raise ValidationError(
                f"{path}: {value!r} is not one of {sorted(map(str, members))}",
                field=path,
                value=value,
            )
        return value
    if target.part == "value" and spec.kind is Kind.WRAPPED and isinstance(value, spec.cls):
        value = getattr(value, spec.inner[0])
    if kind is Kind.STR:
        if not isinstance(value, str):
            raise ValidationError(
                f"{path}: expected a string, got {value!r}", field=path, value=value
            )
        return _text(value, path)
    if kind in (Kind.INT, Kind.FLOAT, Kind.DECIMAL):
        number = _number(value, path)
        if kind is Kind.DECIMAL and not isinstance(number, Decimal):
            return Decimal(repr(number)) if isinstance(number, float) else Decimal(number)
        return _int64(number, path)
    if kind is Kind.BOOL:
        if not isinstance(value, bool):
            raise ValidationError(
                f"{path}: expected True or False, got {value!r}", field=path, value=value
            )
        return value
    if kind is Kind.DATETIME:
        if not isinstance(value, dt.datetime):
            raise ValidationError(
                f"{path}: expected a datetime, got {value!r}", field=path, value=value
            )
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValidationError(
                f"{path}: naive datetime; give a timezone-aware datetime", field=path, value=value
            )
        try:
            return value.astimezone(dt.UTC)
        except OverflowError:
            raise ValidationError(
                f"{path}: {value.isoformat()} lies outside the datetime range (years 1 to "
                "9999) once converted to UTC; give an instant inside it",
                field=path,
                value=value,
            ) from None
    if kind is Kind.DATE:
        if isinstance(value, dt.datetime) or not isinstance(value, dt.date):
            raise ValidationError(
                f"{path}: expected a date, got {value!r}", field=path, value=value
            )
        return value
    if kind is Kind.ID:
        if isinstance(value, uuid.UUID):
            return value.urn
        if not isinstance(value, str):
            raise ValidationError(
                f"{path}: expected a str or UUID identifier, got {value!r}",
                field=path,
                value=value,
            )
        if value[:9].lower() == "urn:uuid:":
            try:
                return uuid.UUID(value[9:]).urn
            except ValueError:
                raise ValidationError(
                    f"{path}: malformed UUID URN", field=path, value=value
                ) from None
        return _text(value, path)
    if kind is Kind.UUID:
        if isinstance(value, uuid.UUID):
            return value
        try:
            return uuid.UUID(value)
        except (TypeError, ValueError, AttributeError):
            raise ValidationError(
                f"{path}: expected a UUID, got {value!r}", field=path, value=value
            ) from None
    raise AssertionError(kind)  # pragma: no cover


def _json_value(target: Target, value: Any) -> Any:
    """Values compared against a key inside a JSON field: str, number or bool."""
    path = target.path
    if value is None:
        raise ValidationError(
            f"{path}: compare with None using the 'is_null' operator", field=path, value=value
        )
    if isinstance(value, str):
        return _text(value, path)
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float, Decimal)):
        number = _number(value, path)
        if isinstance(number, Decimal):  # JSON numbers are ints and doubles
            number = int(number) if number == number.to_integral_value() else float(number)
        return _int64(number, path)
    raise ValidationError(
        f"{path}: custom values can be compared with a string, number or bool, got {value!r}",
        field=path,
        value=value,
    )


def check_value(target: Target, op: str, value: Any) -> Any:
    """Check and convert the value of ``target op value`` (raises ValidationError)."""
    path = target.path
    if op == "is_null":
        if not isinstance(value, bool):
            raise ValidationError(f"{path}: is_null takes True or False", field=path, value=value)
        return value
    if target.part == "value" and target.kind is None:  # a whole JSON field
        if op == "contains" and target.element is not None:
            element, _ = unwrap_optional(target.element)
            if element in (str, int) or element is Any:
                return _json_value(target, value)
        raise ValidationError(
            f"{path}: a structured field supports only is_null"
            + (" and contains" if target.element is not None else ""),
            field=path,
            value=value,
        )
    convert = _json_value if target.kind is None else _scalar_value
    if op == "in":
        if isinstance(value, (str, bytes, Mapping)) or not isinstance(value, Iterable):
            raise ValidationError(
                f"{path}: 'in' takes a collection of values", field=path, value=value
            )
        values = tuple(convert(target, v) for v in value)
        if len(values) > MAX_IN:
            raise ValidationError(
                f"{path}: 'in' takes at most {MAX_IN} values, got {len(values)}", field=path
            )
        return values
    if op == "contains":
        if target.kind not in (Kind.STR, Kind.ID, None) or not isinstance(value, str):
            raise ValidationError(
                f"{path}: 'contains' needs a text field and a string value",
                field=path,
                value=value,
            )
        return _text(value, path)
    converted = convert(target, value)
    if op in _ORDERING and isinstance(converted, bool):
        raise ValidationError(f"{path}: True/False cannot be ordered", field=path, value=value)
    if op in _ORDERING and target.kind in (Kind.BOOL, Kind.UUID):
        raise ValidationError(f"{path}: {target.kind.value} values cannot be ordered", field=path)
    return converted


def resolve_order(
    fields: Mapping[str, FieldSpec], order_by: Any, aggregate: str
) -> list[tuple[Target, bool]]:
    """Resolve ``order_by`` (a field or list of fields, ``"-field"`` descending)."""
    if order_by is None:
        return []
    items = [order_by] if isinstance(order_by, str) else list(order_by)
    out = []
    for item in items:
        if not isinstance(item, str):
            raise ValidationError(
                f"{aggregate}: order_by takes field names", field="order_by", value=item
            )
        descending = item.startswith("-")
        target = resolve_target(fields, item.lstrip("-+"), aggregate)
        if target.kind is None or target.kind not in SCALAR_KINDS:
            raise ValidationError(
                f"{aggregate}: cannot order by {item!r}; order by a scalar field",
                field=item,
            )
        out.append((target, descending))
    return out


def check_page(limit: Any, offset: Any) -> tuple[int | None, int]:
    """Validate ``limit`` (None or 0..2**63-1) and ``offset`` (0..2**63-1).

    The SQL stores bind both as 64-bit integers; the in-memory store takes the
    same bound so that the stores agree.
    """
    for name, value in (("limit", limit), ("offset", offset)):
        if value is None and name == "limit":
            continue
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise ValidationError(
                f"{name} must be a non-negative integer", field=name, value=value
            )
        if value > INT64_MAX:
            raise ValidationError(
                f"{name} must be at most {INT64_MAX} (2**63 - 1, the largest 64-bit integer); "
                f"got {value}",
                field=name,
                value=value,
            )
    return limit, offset


def check_batch(batch_size: Any) -> int:
    """Validate a ``batch_size`` (a positive integer)."""
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ValidationError(
            "batch_size must be a positive integer", field="batch_size", value=batch_size
        )
    return batch_size
