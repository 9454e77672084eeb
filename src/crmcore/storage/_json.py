"""Typed JSON codec for fields stored in a JSON column.

The codec is driven by the field's type hint, so a ``tuple[str, ...]`` comes
back as a tuple, a ``Mapping[str, Consent]`` as a dict of ``Consent`` objects
and an attrs value object as itself.  Values typed ``Any`` (``custom``) are
stored as plain JSON; the few non-JSON scalars a user is likely to put there
are written as one-key tagged objects so that they survive the round trip:

``Decimal`` -> ``{"$decimal": "12.50"}``, ``datetime`` -> ``{"$datetime":
"2026-01-31T09:00:00+01:00[Europe/Paris]"}`` (zone kept), ``date`` -> ``{"$date": ...}``,
``UUID`` -> ``{"$uuid": ...}``.  A user mapping that itself looks like a tag
(one key, and that key one of the tags) is escaped as ``{"$map": {...}}``, so
every JSON value a user stores comes back exactly, never misread as a tag.

Everything refused raises :class:`~crmcore.errors.ValidationError`: NaN and
infinite numbers, naive datetimes, NUL characters (PostgreSQL cannot store
them), mapping keys that are not strings, and types JSON cannot express.
"""

from __future__ import annotations

import datetime as dt
import enum
import functools
import json
import math
import typing
import uuid
from collections.abc import Mapping, Sequence
from collections.abc import Set as AbstractSet
from decimal import Decimal
from typing import Any

import attrs

from crmcore._time import require_existing
from crmcore.errors import ValidationError
from crmcore.storage._fields import unwrap_optional
from crmcore.storage._zones import from_iso, to_iso

__all__ = ["decode", "dumps", "encode", "loads"]

_TAGS = ("$decimal", "$datetime", "$date", "$uuid", "$union", "$map")
_INT64 = 2**63


def _fail(field: str, problem: str, value: Any) -> ValidationError:
    return ValidationError(f"{field}: {problem}", field=field, value=value)


def _check_str(value: str, field: str) -> str:
    if "\x00" in value:
        raise _fail(field, "NUL characters cannot be stored", value)
    return value


def _check_float(value: float, field: str) -> float:
    if not math.isfinite(value):
        raise _fail(field, "NaN and infinite numbers cannot be stored", value)
    return value


def _check_decimal(value: Decimal, field: str) -> str:
    if not value.is_finite():
        raise _fail(field, "NaN and infinite amounts cannot be stored", value)
    return str(value)


def _check_aware(value: dt.datetime, field: str) -> str:
    if value.tzinfo is None or value.utcoffset() is None:
        raise _fail(field, "naive datetime; give a timezone-aware datetime", value)
    return to_iso(require_existing(value, field=field))


def _encode_any(value: Any, field: str) -> Any:
    """Encode a value typed ``Any``: JSON natives plus tagged scalars."""
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, int):
        if not -_INT64 <= value < _INT64:
            raise _fail(field, "integers must fit in 64 bits", value)
        return value
    if isinstance(value, float):
        return _check_float(value, field)
    if isinstance(value, str):
        return _check_str(value, field)
    if isinstance(value, Decimal):
        return {"$decimal": _check_decimal(value, field)}
    if isinstance(value, dt.datetime):
        return {"$datetime": _check_aware(value, field)}
    if isinstance(value, dt.date):
        return {"$date": value.isoformat()}
    if isinstance(value, uuid.UUID):
        return {"$uuid": str(value)}
    if isinstance(value, Mapping):
        out = {}
        for key, item in value.items():
            if not isinstance(key, str):
                raise _fail(field, f"mapping keys must be strings, got {key!r}", key)
            out[_check_str(key, field)] = _encode_any(item, field)
        if len(out) == 1 and next(iter(out)) in _TAGS:
            return {"$map": out}  # a user mapping shaped like a tag: escape it
        return out
    if isinstance(value, (list, tuple)):
        return [_encode_any(item, field) for item in value]
    raise _fail(
        field,
        f"cannot store a {type(value).__name__} here; use str, int, float, bool, None, Decimal, "
        "datetime, date, UUID, or lists and string-keyed mappings of those",
        value,
    )


def _decode_any(obj: Any) -> Any:
    if isinstance(obj, dict):
        if len(obj) == 1:
            ((key, raw),) = obj.items()
            if key == "$decimal":
                return Decimal(raw)
            if key == "$datetime":
                return from_iso(raw)
            if key == "$date":
                return dt.date.fromisoformat(raw)
            if key == "$uuid":
                return uuid.UUID(raw)
            if key == "$map" and isinstance(raw, dict):
                return {k: _decode_any(v) for k, v in raw.items()}
        return {k: _decode_any(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_decode_any(v) for v in obj]
    return obj


@functools.cache
def _type_hints(cls: type) -> dict[str, Any]:
    """Return the resolved field types of a value class, computed once per class."""
    return typing.get_type_hints(cls)


def _is_instance(value: Any, tp: Any) -> bool:
    if tp is Any or tp is object:
        return True
    origin = typing.get_origin(tp)
    if origin is typing.Literal:
        return value in typing.get_args(tp)
    check = origin if origin is not None else tp
    return isinstance(check, type) and isinstance(value, check)


_PLAIN = (bool, int, float, str, Decimal, dt.datetime, dt.date, uuid.UUID)


def _plain_union(tp: Any) -> bool:
    """Whether every member of a union is a scalar that ``Any`` encoding keeps apart."""
    return all(m in _PLAIN for m in typing.get_args(tp))


def encode(value: Any, tp: Any, field: str) -> Any:
    """Encode ``value`` of type ``tp`` into JSON-compatible Python objects.

    Parameters
    ----------
    value : object
        The value to encode.
    tp : type hint
        Its declared type (``Any`` for free-form values).
    field : str
        Field name for error messages.

    Returns
    -------
    object
        ``None``, bool, int, float, str, list or dict.
    """
    try:
        plan = _plan(tp)
    except TypeError:  # a hint that cannot be hashed: read it for this value
        return _encode_read(value, tp, field)
    return plan(value, field)


_Plan = typing.Callable[[Any, str], Any]


def _same(value: Any, _field: str) -> Any:
    return value


# what _encode_any returns for a value of exactly these classes (unwrapped from its tag)
_SCALARS: dict[type, _Plan] = {str: _check_str, bool: _same, dt.datetime: _check_aware}


@functools.lru_cache(maxsize=4096)
def _plan(tp: Any) -> _Plan:
    """Return ``encode`` for values of ``tp``, the hint read once (what :func:`_encode_read` does).

    The type questions (optional? union? attrs class and its fields' hints?
    container and item type?) are answered when the plan is made, not for
    every value: a JSON column of value objects (a customer's consents) is
    encoded without ``typing`` calls per value.
    """
    inner, optional = unwrap_optional(tp)
    anything = inner is Any or inner is object

    def none(field: str, value: Any) -> None:
        if not (optional or anything):
            raise _fail(field, "None is not allowed", value)

    if anything:
        return lambda value, field: None if value is None else _encode_any(value, field)
    origin = typing.get_origin(inner)
    body: _Plan
    if origin is typing.Union and not _plain_union(inner):
        return lambda value, field: (
            none(field, value) if value is None else _encode_read(value, tp, field)
        )
    if origin is typing.Union or origin is typing.Literal:
        body = _encode_any
    elif isinstance(inner, type) and issubclass(inner, enum.Enum):
        enum_type = inner

        def body(value: Any, field: str) -> Any:
            return _encode_any(enum_type(value).value, field)

    elif inner in (bool, int, float, str, Decimal, dt.datetime, dt.date, uuid.UUID):
        exact = _SCALARS.get(inner)

        def body(value: Any, field: str) -> Any:
            if value.__class__ is inner and exact is not None:  # what _encode_any gives it
                return exact(value, field)
            encoded = _encode_any(value, field)
            return encoded if not isinstance(encoded, dict) else next(iter(encoded.values()))

    elif isinstance(inner, type) and attrs.has(inner):
        hints = _type_hints(inner)
        members = [
            (f.name, f".{f.name}", _lazy(hints.get(f.name, Any)))
            for f in attrs.fields(inner)
            if f.init
        ]

        def body(value: Any, field: str) -> Any:
            return {name: plan(getattr(value, name), field + dot) for name, dot, plan in members}

    else:
        body = _container_plan(inner, origin) or _read_plan(tp)

    def encode_one(value: Any, field: str) -> Any:
        if value is None:
            return none(field, value)
        return body(value, field)

    return encode_one


def _lazy(tp: Any) -> _Plan:
    """Return the plan of ``tp``, made when first used (a class may hold itself)."""
    made: list[_Plan] = []

    def call(value: Any, field: str) -> Any:
        if not made:
            made.append(_plan(tp))
        return made[0](value, field)

    return call


def _read_plan(tp: Any) -> _Plan:
    return lambda value, field: _encode_read(value, tp, field)


def _container_plan(inner: Any, origin: Any) -> _Plan | None:
    """Plans of mappings, sequences and sets (None: not a container)."""
    args = typing.get_args(inner)
    container = origin if origin is not None else inner
    if not isinstance(container, type):
        return None
    if issubclass(container, Mapping):
        key_tp, value_tp = args if len(args) == 2 else (Any, Any)
        key_plan, value_plan = _lazy(key_tp), _lazy(value_tp)

        def mapping(value: Any, field: str) -> Any:
            out = {}
            for key, item in value.items():
                enc_key = key_plan(key, field)
                if not isinstance(enc_key, str):
                    raise _fail(field, f"mapping keys must be strings, got {key!r}", key)
                out[enc_key] = value_plan(item, f"{field}[{key!r}]")
            return out

        return mapping
    if not issubclass(container, (Sequence, AbstractSet)):
        return None
    if container is tuple and args and not (len(args) == 2 and args[1] is Ellipsis):
        plans = [_lazy(t) for t in args]

        def fixed(value: Any, field: str) -> Any:
            if isinstance(value, (str, bytes)):
                raise _fail(field, "expected a collection, got a string", value)
            return [plan(v, field) for v, plan in zip(value, plans, strict=True)]

        return fixed
    item_plan = _lazy(args[0] if args else Any)
    is_set = issubclass(container, AbstractSet)

    def items(value: Any, field: str) -> Any:
        if isinstance(value, (str, bytes)):
            raise _fail(field, "expected a collection, got a string", value)
        out = [item_plan(v, field) for v in value]
        if is_set:
            out.sort(key=lambda e: json.dumps(e, sort_keys=True))
        return out

    return items


def _encode_read(value: Any, tp: Any, field: str) -> Any:
    """Encode ``value`` reading the hint ``tp`` now (unions, containers; see :func:`encode`)."""
    inner, optional = unwrap_optional(tp)
    if value is None:
        if optional or inner is Any or inner is object:
            return None
        raise _fail(field, "None is not allowed", value)
    if inner is Any or inner is object:
        return _encode_any(value, field)
    origin = typing.get_origin(inner)
    if origin is typing.Union:
        if _plain_union(inner):
            return _encode_any(value, field)
        for index, member in enumerate(typing.get_args(inner)):
            if _is_instance(value, member):
                return {"$union": index, "value": encode(value, member, field)}
        raise _fail(field, f"{value!r} matches none of {inner}", value)
    if origin is typing.Literal:
        return _encode_any(value, field)
    if isinstance(inner, type) and issubclass(inner, enum.Enum):
        return _encode_any(inner(value).value, field)
    if inner in (bool, int, float, str, Decimal, dt.datetime, dt.date, uuid.UUID):
        encoded = _encode_any(value, field)
        return encoded if not isinstance(encoded, dict) else next(iter(encoded.values()))
    if isinstance(inner, type) and attrs.has(inner):
        hints = _type_hints(inner)
        return {
            f.name: encode(getattr(value, f.name), hints.get(f.name, Any), f"{field}.{f.name}")
            for f in attrs.fields(inner)
            if f.init
        }
    args = typing.get_args(inner)
    container = origin if origin is not None else inner
    if isinstance(container, type) and issubclass(container, Mapping):
        key_tp, value_tp = args if len(args) == 2 else (Any, Any)
        out = {}
        for key, item in value.items():
            enc_key = encode(key, key_tp, field)
            if not isinstance(enc_key, str):
                raise _fail(field, f"mapping keys must be strings, got {key!r}", key)
            out[enc_key] = encode(item, value_tp, f"{field}[{key!r}]")
        return out
    if isinstance(container, type) and issubclass(container, (Sequence, AbstractSet)):
        if isinstance(value, (str, bytes)):
            raise _fail(field, "expected a collection, got a string", value)
        if container is tuple and args and not (len(args) == 2 and args[1] is Ellipsis):
            return [encode(v, t, field) for v, t in zip(value, args, strict=True)]
        item_tp = args[0] if args else Any
        items = [encode(v, item_tp, field) for v in value]
        if issubclass(container, AbstractSet):
            items.sort(key=lambda e: json.dumps(e, sort_keys=True))
        return items
    raise _fail(field, f"cannot store values of type {inner!r}", value)


def decode(obj: Any, tp: Any) -> Any:
    """Rebuild a value of type ``tp`` from what :func:`encode` produced."""
    inner, _ = unwrap_optional(tp)
    if obj is None:
        return None
    if inner is Any or inner is object:
        return _decode_any(obj)
    origin = typing.get_origin(inner)
    if origin is typing.Union:
        if _plain_union(inner):
            return _decode_any(obj)
        return decode(obj["value"], typing.get_args(inner)[obj["$union"]])
    if origin is typing.Literal:
        return obj
    if isinstance(inner, type) and issubclass(inner, enum.Enum):
        return inner(obj)
    if inner is Decimal:
        return Decimal(obj)
    if inner is dt.datetime:
        return from_iso(obj)
    if inner is dt.date:
        return dt.date.fromisoformat(obj)
    if inner is uuid.UUID:
        return uuid.UUID(obj)
    if inner is float:
        return float(obj)
    if inner in (bool, int, str):
        return obj
    if isinstance(inner, type) and attrs.has(inner):
        hints = _type_hints(inner)
        kwargs = {
            f.alias: decode(obj[f.name], hints.get(f.name, Any))
            for f in attrs.fields(inner)
            if f.init and f.name in obj
        }
        return inner(**kwargs)
    args = typing.get_args(inner)
    container = origin if origin is not None else inner
    if isinstance(container, type) and issubclass(container, Mapping):
        key_tp, value_tp = args if len(args) == 2 else (Any, Any)
        return {decode(k, key_tp): decode(v, value_tp) for k, v in obj.items()}
    if container is tuple and args and not (len(args) == 2 and args[1] is Ellipsis):
        return tuple(decode(v, t) for v, t in zip(obj, args, strict=True))
    item_tp = args[0] if args else Any
    items = [decode(v, item_tp) for v in obj]
    if isinstance(container, type) and issubclass(container, AbstractSet):
        return frozenset(items) if container is not set else set(items)
    if container is list:
        return items
    return tuple(items)


def empty_value(tp: Any) -> Any:
    """Return the encoding of an empty value of collection type ``tp`` (None: not a collection)."""
    inner, _ = unwrap_optional(tp)
    container = typing.get_origin(inner) or inner
    if not isinstance(container, type) or issubclass(container, (str, bytes)):
        return None
    if issubclass(container, Mapping):
        return {}
    if issubclass(container, (Sequence, AbstractSet)):
        return []
    return None


def dumps(obj: Any) -> str:
    """Serialise already-encoded objects compactly (no NaN, stable key order)."""
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def loads(text: str | bytes | Any) -> Any:
    """Parse JSON text; objects a driver already parsed pass through."""
    if isinstance(text, (str, bytes, bytearray)):
        return json.loads(text)
    return text
