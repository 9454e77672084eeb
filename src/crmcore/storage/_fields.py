"""Field introspection: what an attrs entity's fields look like to a store.

Every store derives its layout from the entity definition itself
(:func:`attrs.fields` plus the resolved type hints), so adding a field to a
domain class needs no change here.  Each field gets a :class:`Kind` that says
how it is stored and compared:

``STR, INT, FLOAT, BOOL, DECIMAL, DATE, UUID``
    one scalar column of the obvious type;
``DATETIME``
    the instant in UTC, plus a ``<field>_tz`` text column with the zone
    (see :mod:`crmcore.storage._zones`);
``ID``
    an identifier typed ``str | UUID``: one text column, UUIDs written in
    their URN form ``"urn:uuid:<hex>"`` (as :func:`crmcore.domain` encodes them);
``ENUM``
    one column holding the member's ``value`` (text or integer);
``MONEY``
    a value object with ``amount`` (Decimal) and ``currency`` (str): two
    columns, ``<field>`` (the amount) and ``<field>_currency``;
``WRAPPED``
    a value object with a single scalar field (an e-mail address, a phone
    number): one column holding that scalar;
``JSON``
    anything else (value objects, mappings such as ``custom``, tuples): one
    JSON column, encoded by :mod:`crmcore.storage._json`.
"""

from __future__ import annotations

import datetime as dt
import enum
import types
import typing
import uuid
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

import attrs

from crmcore.errors import ValidationError

__all__ = ["FieldSpec", "Kind", "introspect", "unwrap_optional"]


class Kind(enum.Enum):
    """How a field is stored and compared."""

    STR = "str"
    INT = "int"
    FLOAT = "float"
    BOOL = "bool"
    DECIMAL = "decimal"
    DATETIME = "datetime"
    DATE = "date"
    UUID = "uuid"
    ID = "id"
    ENUM = "enum"
    MONEY = "money"
    WRAPPED = "wrapped"
    JSON = "json"


#: Kinds whose values live in a single, directly comparable column.
SCALAR_KINDS = frozenset(
    {
        Kind.STR,
        Kind.INT,
        Kind.FLOAT,
        Kind.BOOL,
        Kind.DECIMAL,
        Kind.DATETIME,
        Kind.DATE,
        Kind.UUID,
        Kind.ID,
        Kind.ENUM,
    }
)

_SCALAR_TYPES: dict[type, Kind] = {
    bool: Kind.BOOL,
    int: Kind.INT,
    float: Kind.FLOAT,
    str: Kind.STR,
    Decimal: Kind.DECIMAL,
    dt.datetime: Kind.DATETIME,
    dt.date: Kind.DATE,
    uuid.UUID: Kind.UUID,
}


@attrs.frozen
class FieldSpec:
    """One entity field as a store sees it.

    Attributes
    ----------
    name : str
        Attribute name on the entity.
    alias : str
        Keyword used by the entity's ``__init__`` (attrs strips leading underscores).
    kind : Kind
        Storage and comparison kind.
    optional : bool
        Whether ``None`` is allowed.
    tp : object
        The resolved type with ``None`` removed (used by the JSON codec).
    scalar : Kind or None
        For ``ENUM``, ``WRAPPED``: the kind of the stored scalar.
    cls : type or None
        For ``ENUM``, ``MONEY``, ``WRAPPED``: the class to rebuild.
    inner : tuple of str
        For ``MONEY``: the (amount, currency) attribute names and init aliases;
        for ``WRAPPED``: the wrapped attribute name and its alias.
    columns : tuple of str
        The column names this field occupies.
    """

    name: str
    alias: str
    kind: Kind
    optional: bool
    tp: Any
    scalar: Kind | None = None
    cls: Any = None
    inner: tuple[str, ...] = ()
    columns: tuple[str, ...] = ()

    @property
    def compare_kind(self) -> Kind:
        """The kind values are compared as (the scalar inside wrappers)."""
        if self.kind is Kind.MONEY:
            return Kind.DECIMAL
        if self.kind in (Kind.ENUM, Kind.WRAPPED):
            assert self.scalar is not None
            return self.scalar
        return self.kind


_UNWRAPPED: dict[Any, tuple[Any, bool]] = {}


def unwrap_optional(tp: Any) -> tuple[Any, bool]:
    """Return ``(type without None, whether None was allowed)``.

    Remembered per type hint: the JSON encoder asks for every value it encodes.
    """
    try:
        return _UNWRAPPED[tp]
    except (KeyError, TypeError):  # TypeError: a hint that cannot be hashed
        pass
    out = _unwrap_optional(tp)
    try:
        if len(_UNWRAPPED) < 10_000:
            _UNWRAPPED[tp] = out
    except TypeError:
        pass
    return out


def _unwrap_optional(tp: Any) -> tuple[Any, bool]:
    origin = typing.get_origin(tp)
    if origin is typing.Annotated:
        return unwrap_optional(typing.get_args(tp)[0])
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        optional = len(args) < len(typing.get_args(tp))
        if len(args) == 1:
            inner, _ = unwrap_optional(args[0])
            return inner, optional
        return typing.Union[tuple(args)], optional  # noqa: UP007 -- rebuilt from parts
    supertype = getattr(tp, "__supertype__", None)  # typing.NewType
    if supertype is not None:
        return unwrap_optional(supertype)
    return tp, False


def _scalar_kind(tp: Any) -> Kind | None:
    if typing.get_origin(tp) in (typing.Union, types.UnionType) and set(typing.get_args(tp)) == {
        str,
        uuid.UUID,
    }:
        return Kind.ID
    if not isinstance(tp, type):
        if typing.get_origin(tp) is typing.Literal:
            values = typing.get_args(tp)
            if all(isinstance(v, str) for v in values):
                return Kind.STR
            if all(isinstance(v, int) and not isinstance(v, bool) for v in values):
                return Kind.INT
        return None
    if issubclass(tp, enum.Enum):
        return Kind.ENUM
    # datetime before date: datetime is a subclass of date.
    for base in (bool, dt.datetime, dt.date, int, float, str, Decimal, uuid.UUID):
        if issubclass(tp, base):
            return _SCALAR_TYPES[base]
    return None


def _enum_scalar(cls: type[enum.Enum]) -> Kind | None:
    values = [m.value for m in cls]
    if values and all(isinstance(v, str) for v in values):
        return Kind.STR
    if values and all(isinstance(v, int) and not isinstance(v, bool) for v in values):
        return Kind.INT
    return None


def _hints(cls: type) -> dict[str, Any]:
    try:
        return typing.get_type_hints(cls)
    except Exception as exc:  # a forward reference that cannot be resolved
        raise TypeError(f"cannot resolve the type hints of {cls.__qualname__}: {exc}") from exc


def _money_parts(cls: type) -> tuple[str, str, str, str] | None:
    """Return (amount name, amount alias, currency name, currency alias) for Money-like classes."""
    if not attrs.has(cls):
        return None
    fields = [f for f in attrs.fields(cls) if f.init]
    names = {f.name: f for f in fields}
    if set(names) != {"amount", "currency"}:
        return None
    hints = _hints(cls)
    amount_tp, amount_opt = unwrap_optional(hints["amount"])
    currency_tp, currency_opt = unwrap_optional(hints["currency"])
    if amount_opt or currency_opt or _scalar_kind(amount_tp) is not Kind.DECIMAL:
        return None
    if _scalar_kind(currency_tp) is not Kind.STR:
        return None
    return ("amount", names["amount"].alias, "currency", names["currency"].alias)


def _wrapped_part(cls: type) -> tuple[str, str, Kind] | None:
    """Return (name, alias, scalar kind) for single-field value objects."""
    if not attrs.has(cls):
        return None
    fields = [f for f in attrs.fields(cls) if f.init]
    if len(fields) != 1 or len(attrs.fields(cls)) != 1:
        return None
    (only,) = fields
    tp, optional = unwrap_optional(_hints(cls)[only.name])
    kind = _scalar_kind(tp)
    if optional or kind is None or kind in (Kind.ENUM, Kind.DATETIME):
        return None
    return (only.name, only.alias, kind)


def field_spec(name: str, alias: str, hint: Any) -> FieldSpec:
    """Classify one field from its name and resolved type hint."""
    tp, optional = unwrap_optional(hint)
    kind = _scalar_kind(tp)
    if kind is Kind.ENUM:
        scalar = _enum_scalar(tp)
        if scalar is None:
            return FieldSpec(name, alias, Kind.JSON, optional, tp, columns=(name,))
        return FieldSpec(
            name, alias, Kind.ENUM, optional, tp, scalar=scalar, cls=tp, columns=(name,)
        )
    if kind is Kind.DATETIME:  # the instant, and the zone to bring it back in
        return FieldSpec(name, alias, kind, optional, tp, columns=(name, f"{name}_tz"))
    if kind is not None:
        return FieldSpec(name, alias, kind, optional, tp, columns=(name,))
    if isinstance(tp, type):
        money = _money_parts(tp)
        if money is not None:
            return FieldSpec(
                name,
                alias,
                Kind.MONEY,
                optional,
                tp,
                cls=tp,
                inner=money,
                columns=(name, f"{name}_currency"),
            )
        wrapped = _wrapped_part(tp)
        if wrapped is not None:
            inner_name, inner_alias, scalar = wrapped
            return FieldSpec(
                name,
                alias,
                Kind.WRAPPED,
                optional,
                tp,
                scalar=scalar,
                cls=tp,
                inner=(inner_name, inner_alias),
                columns=(name,),
            )
    free = tp is Any or tp is object  # ``Any`` admits None
    return FieldSpec(name, alias, Kind.JSON, optional or free, tp, columns=(name,))


def introspect(entity: Any) -> tuple[FieldSpec, ...]:
    """Describe every ``__init__`` field of an attrs entity class.

    Parameters
    ----------
    entity : type
        A class decorated with attrs (``attrs.frozen`` / ``attrs.define``).

    Returns
    -------
    tuple of FieldSpec
        In definition order.

    Raises
    ------
    TypeError
        If ``entity`` is not an attrs class, has no ``id`` or ``version``
        field, or its type hints cannot be resolved.
    """
    if not (isinstance(entity, type) and attrs.has(entity)):
        raise TypeError(f"{entity!r} is not an attrs class")
    hints = _hints(entity)
    specs = []
    for f in attrs.fields(entity):
        if not f.init:
            continue
        specs.append(field_spec(f.name, f.alias, hints.get(f.name, Any)))
    names = {s.name: s for s in specs}
    if "id" not in names or "version" not in names:
        raise TypeError(f"{entity.__qualname__} needs an `id` and a `version` field to be stored")
    if names["version"].kind is not Kind.INT:
        raise TypeError(f"{entity.__qualname__}.version must be an int")
    if names["id"].kind not in (Kind.STR, Kind.UUID, Kind.INT, Kind.ID):
        raise TypeError(f"{entity.__qualname__}.id must be a str, UUID or int")
    columns = [c for s in specs for c in s.columns]
    if len(set(columns)) != len(columns):
        raise TypeError(f"{entity.__qualname__}: two fields map onto one column name")
    return tuple(specs)


def check_mapping_keys(value: Mapping[Any, Any], *, field: str) -> None:
    """Reject mappings whose keys are not strings (JSON objects need text keys)."""
    for key in value:
        if not isinstance(key, str):
            raise ValidationError(
                f"{field}: keys must be strings, got {key!r}", field=field, value=key
            )
