"""Shared building blocks of the domain model.

Field checks, lenient converters, the frozen JSON mapping used for custom
fields, and the JSON-safe encoding of identifiers, datetimes and dates that
every entity's ``to_dict`` / ``from_dict`` relies on.

How converters and validators cooperate
---------------------------------------
attrs converters do not know which field they convert, but every error must
name its field.  Converters here therefore never raise: a value they cannot
convert is wrapped in :class:`_Rejected` (carrying the original error), and
the field's validator, which does know the field, raises the
:class:`~crmcore.errors.ValidationError` with ``field=`` set.  Every
validator below handles :class:`_Rejected` first.
"""

from __future__ import annotations

import datetime as _dt
import enum
import math
import uuid
from collections.abc import Callable, Hashable, Iterable, Iterator, Mapping
from typing import Any, TypeAlias, TypeVar, cast
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import attrs

from crmcore._validation import require_aware
from crmcore.errors import ValidationError

__all__ = [
    "EntityId",
    "FrozenMapping",
    "decode_date",
    "decode_datetime",
    "encode_date",
    "encode_datetime",
    "encode_id",
]

EntityId: TypeAlias = str | uuid.UUID
"""An identifier chosen by the caller: a non-empty string or a UUID."""

_URN_PREFIX = "urn:uuid:"
_MAX_ID_LENGTH = 255

T = TypeVar("T")
E = TypeVar("E", bound=enum.Enum)
Validator: TypeAlias = Callable[[Any, "attrs.Attribute[Any]", Any], None]


# ---------------------------------------------------------------- rejected values


@attrs.frozen
class _Rejected:
    """A value a converter could not convert, kept for the field validator."""

    value: Any
    error: ValidationError


def _attempt(parse: Callable[[Any], T], value: Any) -> T:
    """Return ``parse(value)``, or a :class:`_Rejected` wrapper if it raises."""
    try:
        return parse(value)
    except ValidationError as err:
        return cast("T", _Rejected(value, err))


def _raise_if_rejected(name: str, value: Any) -> None:
    if isinstance(value, _Rejected):
        message = value.error.message
        inner = value.error.field
        if inner is not None and message.startswith(f"{inner}: "):
            message = message[len(inner) + 2 :]
        raise ValidationError(f"{name}: {message}", field=name, value=value.value) from value.error


def _fail(name: str, problem: str, value: Any) -> ValidationError:
    return ValidationError(f"{name} {problem}; got {value!r}", field=name, value=value)


# ---------------------------------------------------------------- identifiers


def convert_id(value: Any) -> Any:
    """Turn ``"urn:uuid:..."`` strings into :class:`uuid.UUID`; pass anything else."""
    if isinstance(value, str) and value[: len(_URN_PREFIX)].lower() == _URN_PREFIX:
        try:
            return uuid.UUID(value[len(_URN_PREFIX) :])
        except ValueError:
            return _Rejected(value, ValidationError(f"malformed UUID URN {value!r}"))
    return value


def convert_optional_id(value: Any) -> Any:
    """Like :func:`convert_id`, letting ``None`` through."""
    return None if value is None else convert_id(value)


def _check_id(name: str, value: Any) -> None:
    _raise_if_rejected(name, value)
    if isinstance(value, uuid.UUID):
        return
    if not isinstance(value, str):
        raise _fail(name, "must be a non-empty str or a uuid.UUID", value)
    if not value.strip():
        raise _fail(name, "must be a non-empty str (not blank) or a uuid.UUID", value)
    if len(value) > _MAX_ID_LENGTH:
        raise ValidationError(
            f"{name} must be at most {_MAX_ID_LENGTH} characters; got {len(value)}",
            field=name,
            value=value,
        )


def valid_id(_inst: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    """Validate a required identifier (str or UUID)."""
    _check_id(attribute.name, value)


def valid_optional_id(_inst: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    """Validate an optional identifier (str, UUID or None)."""
    if value is not None:
        _check_id(attribute.name, value)


def encode_id(value: EntityId) -> str:
    """Encode an identifier as a string that decodes back to the same type.

    Strings are returned unchanged; UUIDs become their URN form
    (``"urn:uuid:<hex>"``, RFC 9562), which the entity constructors turn back
    into :class:`uuid.UUID`.

    Parameters
    ----------
    value : str or uuid.UUID
        The identifier.

    Returns
    -------
    str
        The encoded identifier.

    Examples
    --------
    >>> import uuid
    >>> encode_id("C-0042")
    'C-0042'
    >>> encode_id(uuid.UUID(int=1))
    'urn:uuid:00000000-0000-0000-0000-000000000001'
    """
    if isinstance(value, uuid.UUID):
        return value.urn
    return value


def decode_id(value: Any) -> EntityId:
    """Decode the output of :func:`encode_id` (also accepts a UUID as is).

    Parameters
    ----------
    value : str or uuid.UUID
        An encoded identifier.

    Returns
    -------
    str or uuid.UUID
        The identifier.

    Raises
    ------
    ValidationError
        If ``value`` is not a valid identifier (``field="id"``).

    Examples
    --------
    >>> decode_id("urn:uuid:00000000-0000-0000-0000-000000000001")
    UUID('00000000-0000-0000-0000-000000000001')
    """
    converted = convert_id(value)
    _check_id("id", converted)
    return cast("EntityId", converted)


def valid_version(_inst: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    """Validate an optimistic-concurrency version: an int >= 0."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise _fail(attribute.name, "must be an int >= 0", value)
    if value < 0:
        raise _fail(attribute.name, "must be >= 0", value)


# ---------------------------------------------------------------- text


def _check_text(name: str, value: Any) -> None:
    _raise_if_rejected(name, value)
    if not isinstance(value, str):
        raise _fail(name, "must be a str", value)
    if not value.strip():
        raise _fail(name, "must not be empty or blank", value)


def valid_text(_inst: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    """Validate a required non-blank string."""
    _check_text(attribute.name, value)


def valid_optional_text(_inst: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    """Validate an optional non-blank string (``None`` allowed, ``""`` not)."""
    if value is not None:
        _check_text(attribute.name, value)


def valid_bool(_inst: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    """Validate a strict bool (``0`` / ``1`` are refused)."""
    if not isinstance(value, bool):
        raise _fail(attribute.name, "must be a bool (True or False)", value)


def convert_tags(value: Any) -> Any:
    """Turn an iterable of tags (not a bare string) into a frozenset."""
    if isinstance(value, str | bytes) or not isinstance(value, Iterable):
        return _Rejected(value, ValidationError("must be an iterable of str (a set or list)"))
    return frozenset(value)


def valid_tags(_inst: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    """Validate a frozenset of non-blank strings."""
    _raise_if_rejected(attribute.name, value)
    for tag in sorted(value, key=repr):
        if not isinstance(tag, str) or not tag.strip():
            raise _fail(attribute.name, "must contain only non-blank str tags", tag)


# ---------------------------------------------------------------- time


def valid_aware(_inst: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    """Validate a timezone-aware datetime."""
    require_aware(value, field=attribute.name)


def valid_optional_aware(_inst: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    """Validate an optional timezone-aware datetime."""
    if value is not None:
        require_aware(value, field=attribute.name)


def _check_date(name: str, value: Any) -> None:
    if isinstance(value, _dt.datetime) or not isinstance(value, _dt.date):
        raise _fail(name, "must be a datetime.date (not a datetime)", value)


def valid_date(_inst: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    """Validate a calendar date (a ``datetime`` is refused: use ``.date()``)."""
    _check_date(attribute.name, value)


def valid_optional_date(_inst: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    """Validate an optional calendar date."""
    if value is not None:
        _check_date(attribute.name, value)


def not_before(inst: Any, later: str, earlier: str) -> None:
    """Raise if ``inst.<later>`` lies before ``inst.<earlier>`` (when both are set)."""
    a = getattr(inst, later)
    b = getattr(inst, earlier)
    if a is None or b is None:
        return
    if a < b:
        raise ValidationError(
            f"{later} ({a.isoformat()}) must not be before {earlier} ({b.isoformat()})",
            field=later,
            value=a,
        )


def encode_datetime(value: _dt.datetime) -> str:
    """Encode an aware datetime as ISO 8601 text, keeping its time zone.

    The text is ``datetime.isoformat()`` (with the UTC offset).  When the
    time zone is an IANA :class:`zoneinfo.ZoneInfo`, its key is appended in
    brackets as in RFC 9557 (``2024-03-01T09:30:00+01:00[Europe/Paris]``), so
    that :func:`decode_datetime` restores the zone, not just the offset.

    Parameters
    ----------
    value : datetime.datetime
        A timezone-aware datetime.

    Returns
    -------
    str
        The encoded datetime.

    Examples
    --------
    >>> import datetime as dt
    >>> from zoneinfo import ZoneInfo
    >>> encode_datetime(dt.datetime(2024, 3, 1, 9, 30, tzinfo=ZoneInfo("Europe/Paris")))
    '2024-03-01T09:30:00+01:00[Europe/Paris]'
    >>> encode_datetime(dt.datetime(2024, 3, 1, 9, 30, tzinfo=dt.UTC))
    '2024-03-01T09:30:00+00:00'
    """
    text = require_aware(value, field="datetime").isoformat()
    if isinstance(value.tzinfo, ZoneInfo) and value.tzinfo.key:
        text += f"[{value.tzinfo.key}]"
    return text


def decode_datetime(value: Any, *, field: str = "datetime") -> _dt.datetime:
    """Decode the output of :func:`encode_datetime` (a datetime passes through).

    Parameters
    ----------
    value : str or datetime.datetime
        ISO 8601 text with a UTC offset, optionally followed by an IANA zone
        key in brackets; or an aware datetime.
    field : str, default "datetime"
        Field name used in error messages.

    Returns
    -------
    datetime.datetime
        A timezone-aware datetime: in the bracketed zone when one is given,
        else with a fixed UTC offset.

    Raises
    ------
    ValidationError
        If the text does not parse, has no offset, or names an unknown zone.
    """
    if isinstance(value, _dt.datetime):
        return require_aware(value, field=field)
    if not isinstance(value, str):
        raise _fail(field, "must be an ISO 8601 datetime string", value)
    text, zone = value, None
    if text.endswith("]") and "[" in text:
        text, _, rest = text.partition("[")
        zone = rest[:-1]
    try:
        parsed = _dt.datetime.fromisoformat(text)
    except ValueError:
        raise _fail(field, "must be an ISO 8601 datetime string", value) from None
    parsed = require_aware(parsed, field=field)
    if zone is not None:
        try:
            tz = ZoneInfo(zone)
        except (ZoneInfoNotFoundError, ValueError):
            raise _fail(field, f"names an unknown time zone {zone!r}", value) from None
        parsed = parsed.astimezone(tz)
    return parsed


def decode_optional_datetime(value: Any, *, field: str) -> _dt.datetime | None:
    """Like :func:`decode_datetime`, letting ``None`` through."""
    return None if value is None else decode_datetime(value, field=field)


def encode_date(value: _dt.date) -> str:
    """Encode a calendar date as ``YYYY-MM-DD``.

    Examples
    --------
    >>> import datetime as dt
    >>> encode_date(dt.date(2024, 2, 29))
    '2024-02-29'
    """
    return value.isoformat()


def decode_date(value: Any, *, field: str = "date") -> _dt.date:
    """Decode ``YYYY-MM-DD`` text (a ``datetime.date`` passes through).

    Raises
    ------
    ValidationError
        If the text is not an ISO calendar date, or a datetime is given.
    """
    if isinstance(value, _dt.date) and not isinstance(value, _dt.datetime):
        return value
    if isinstance(value, str):
        try:
            return _dt.date.fromisoformat(value)
        except ValueError:
            pass
    raise _fail(field, "must be an ISO 8601 date string (YYYY-MM-DD)", value)


def decode_optional_date(value: Any, *, field: str) -> _dt.date | None:
    """Like :func:`decode_date`, letting ``None`` through."""
    return None if value is None else decode_date(value, field=field)


# ---------------------------------------------------------------- closed sets


def enum_converter(enum_cls: type[E]) -> Callable[[Any], E]:
    """Build a parse function turning a member or its value into a member."""
    allowed = ", ".join(repr(m.value) for m in enum_cls)

    def parse(value: Any) -> E:
        if isinstance(value, enum_cls):
            return value
        if isinstance(value, str):
            try:
                return enum_cls(value.strip().lower())
            except ValueError:
                pass
        raise ValidationError(f"must be one of {allowed}; got {value!r}", value=value)

    return parse


def valid_member(enum_cls: type[enum.Enum]) -> Validator:
    """Build a validator: the (converted) value is a member of ``enum_cls``."""

    def check(_inst: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
        _raise_if_rejected(attribute.name, value)
        if not isinstance(value, enum_cls):
            allowed = ", ".join(repr(m.value) for m in enum_cls)
            raise _fail(attribute.name, f"must be one of {allowed}", value)

    return check


def valid_instance(cls: type[Any], *, optional: bool = False) -> Validator:
    """Build a validator: the (converted) value is an instance of ``cls`` (or None)."""

    def check(_inst: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
        _raise_if_rejected(attribute.name, value)
        if value is None and optional:
            return
        if not isinstance(value, cls):
            raise _fail(attribute.name, f"must be a {cls.__name__}", value)

    return check


# ---------------------------------------------------------------- custom fields


class FrozenMapping(Mapping[str, Any]):
    """An immutable, hashable mapping of JSON-compatible values.

    Entities store their ``custom`` fields in one of these: nested dicts
    become ``FrozenMapping`` and lists become tuples, so that the entity is
    really immutable and hashable.  It compares equal to a ``dict`` with the
    same items.

    Examples
    --------
    >>> m = FrozenMapping({"tier": "gold", "tags": ["a", "b"]})
    >>> m["tags"]
    ('a', 'b')
    >>> m == {"tier": "gold", "tags": ("a", "b")}
    True
    >>> m.thaw()
    {'tier': 'gold', 'tags': ['a', 'b']}
    """

    __slots__ = ("_data", "_hash")

    def __init__(self, data: Mapping[str, Any] | None = None, /) -> None:
        frozen = _freeze_mapping({} if data is None else data, "custom")
        self._data: dict[str, Any] = frozen
        self._hash: int | None = None

    @classmethod
    def _trusted(cls, data: dict[str, Any]) -> FrozenMapping:
        obj = cls.__new__(cls)
        obj._data = data
        obj._hash = None
        return obj

    def __getitem__(self, key: str) -> Any:
        return self._data[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)

    def __hash__(self) -> int:
        if self._hash is None:
            self._hash = hash(frozenset(self._data.items()))
        return self._hash

    def __eq__(self, other: object) -> bool:
        if isinstance(other, FrozenMapping):
            return self._data == other._data
        if isinstance(other, Mapping):
            return self._data == dict(other.items())
        return NotImplemented

    def __repr__(self) -> str:
        return f"FrozenMapping({self._data!r})"

    def thaw(self) -> dict[str, Any]:
        """Return a plain, mutable, JSON-ready copy (dicts and lists)."""
        return {k: _thaw(v) for k, v in self._data.items()}


_JSON_SCALARS = (str, int, bool, type(None))


def _freeze(value: Any, where: str) -> Hashable:
    if isinstance(value, _JSON_SCALARS):
        return cast("Hashable", value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValidationError(
                f"{where} must be a finite number (JSON has no NaN/inf); got {value!r}",
                value=value,
            )
        return value
    if isinstance(value, FrozenMapping):
        return value
    if isinstance(value, Mapping):
        return FrozenMapping._trusted(_freeze_mapping(value, where))
    if isinstance(value, list | tuple):
        return tuple(_freeze(v, f"{where}[{i}]") for i, v in enumerate(value))
    raise ValidationError(
        f"{where} must be JSON-compatible (str, int, float, bool, None, list, dict); "
        f"got {type(value).__name__} {value!r}",
        value=value,
    )


def _freeze_mapping(data: Mapping[Any, Any], where: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, val in data.items():
        if not isinstance(key, str):
            raise ValidationError(f"{where} keys must be str; got {key!r}", value=key)
        out[key] = _freeze(val, f"{where}[{key!r}]")
    return out


def _thaw(value: Any) -> Any:
    if isinstance(value, FrozenMapping):
        return value.thaw()
    if isinstance(value, tuple):
        return [_thaw(v) for v in value]
    return value


def _to_frozen_mapping(value: Any) -> FrozenMapping:
    if isinstance(value, FrozenMapping):
        return value
    if not isinstance(value, Mapping):
        raise ValidationError(f"must be a mapping of str to JSON values; got {value!r}")
    return FrozenMapping._trusted(_freeze_mapping(value, "custom"))


def convert_custom(value: Any) -> FrozenMapping:
    """Freeze a custom-fields mapping (rejections reach the validator)."""
    return _attempt(_to_frozen_mapping, value)


def valid_custom(_inst: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    """Validate a frozen custom-fields mapping."""
    _raise_if_rejected(attribute.name, value)


# ---------------------------------------------------------------- (de)serialisation


def encode_value(value: Any) -> Any:
    """Encode one field value into JSON-safe primitives."""
    if isinstance(value, enum.Enum):
        return value.value
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, uuid.UUID):
        return encode_id(value)
    if isinstance(value, _dt.datetime):
        return encode_datetime(value)
    if isinstance(value, _dt.date):
        return encode_date(value)
    if isinstance(value, FrozenMapping):
        return value.thaw()
    if isinstance(value, frozenset):
        return sorted(encode_value(v) for v in value)
    if isinstance(value, tuple):
        return [encode_value(v) for v in value]
    to_dict = getattr(value, "to_dict", None)
    if to_dict is not None:
        return to_dict()
    raise TypeError(f"cannot encode {type(value).__name__}")  # pragma: no cover


Decoder: TypeAlias = Callable[[Any, str], Any]


def dec_datetime(value: Any, field: str) -> Any:
    """Field decoder for a required datetime."""
    return decode_datetime(value, field=field)


def dec_optional_datetime(value: Any, field: str) -> Any:
    """Field decoder for an optional datetime."""
    return decode_optional_datetime(value, field=field)


def dec_date(value: Any, field: str) -> Any:
    """Field decoder for a required date."""
    return decode_date(value, field=field)


def dec_optional_date(value: Any, field: str) -> Any:
    """Field decoder for an optional date."""
    return decode_optional_date(value, field=field)


def dec_with(from_dict: Callable[[Any], Any], *, optional: bool = False) -> Decoder:
    """Field decoder calling a value object's ``from_dict`` on mappings."""

    def decode(value: Any, field: str) -> Any:
        if value is None and optional:
            return None
        if isinstance(value, Mapping):
            try:
                return from_dict(value)
            except ValidationError as err:
                raise ValidationError(f"{field}: {err.message}", field=field, value=value) from err
        return value

    return decode


def dec_tuple_of(from_dict: Callable[[Any], Any]) -> Decoder:
    """Field decoder for a sequence of value objects given as mappings."""
    item = dec_with(from_dict)

    def decode(value: Any, field: str) -> Any:
        if isinstance(value, list | tuple):
            return tuple(item(v, field) for v in value)
        return value

    return decode


def meta(decode: Decoder) -> dict[str, Any]:
    """Return attrs field metadata registering a decoder for ``from_dict``."""
    return {"decode": decode}


def to_dict(obj: Any) -> dict[str, Any]:
    """Encode every attrs field of ``obj`` (see :func:`encode_value`)."""
    return {a.name: encode_value(getattr(obj, a.name)) for a in attrs.fields(type(obj))}


def from_dict(cls: type[T], data: Mapping[str, Any]) -> T:
    """Decode a mapping produced by :func:`to_dict` into a ``cls`` instance.

    Unknown keys and missing required keys raise ValidationError naming them.
    """
    if not isinstance(data, Mapping):
        raise ValidationError(
            f"{cls.__name__}.from_dict needs a mapping; got {type(data).__name__}",
            value=data,
        )
    fields = attrs.fields_dict(cls)  # type: ignore[arg-type]
    unknown = sorted(k for k in data if k not in fields)
    if unknown:
        raise ValidationError(
            f"{cls.__name__}.from_dict: unknown field {unknown[0]!r}; "
            f"allowed: {', '.join(fields)}",
            field=str(unknown[0]),
            value=data[unknown[0]],
        )
    kwargs: dict[str, Any] = {}
    for name, attribute in fields.items():
        if name not in data:
            if attribute.default is attrs.NOTHING:
                raise ValidationError(
                    f"{cls.__name__}.from_dict: missing required field {name!r}", field=name
                )
            continue
        decode = attribute.metadata.get("decode")
        value = data[name]
        kwargs[name] = decode(value, name) if decode is not None else value
    return cls(**kwargs)
