"""Shared field checks and converters of the domain model, and identifiers.

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
import uuid
from collections.abc import Callable, Iterable
from typing import Any, TypeAlias, TypeVar, cast

import attrs

from crmcore._text import MAX_KEY_LENGTH, check_key, check_storable
from crmcore._time import require_aware, require_existing
from crmcore.errors import ValidationError

__all__ = ["EntityId", "decode_id", "encode_id"]

EntityId: TypeAlias = str | uuid.UUID
"""An identifier chosen by the caller: a non-empty string or a UUID."""

_URN_PREFIX = "urn:uuid:"
_MAX_ID_LENGTH = MAX_KEY_LENGTH

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


def _arg(attribute: attrs.Attribute[Any]) -> str:
    """Return the name a user passes the field by (``id`` for a private ``_id``)."""
    return attribute.alias or attribute.name


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
    if not value.isascii() or "\x00" in value:  # the common case costs no call
        check_storable(value, name)


def valid_id(_inst: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    """Validate a required identifier (str or UUID)."""
    _check_id(_arg(attribute), value)


def valid_optional_id(_inst: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    """Validate an optional identifier (str, UUID or None)."""
    if value is not None:
        _check_id(_arg(attribute), value)


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
        raise _fail(_arg(attribute), "must be an int >= 0", value)
    if value < 0:
        raise _fail(_arg(attribute), "must be >= 0", value)


# ---------------------------------------------------------------- text


def _check_text(name: str, value: Any) -> None:
    _raise_if_rejected(name, value)
    if not isinstance(value, str):
        raise _fail(name, "must be a str", value)
    if not value.strip():
        raise _fail(name, "must not be empty or blank", value)
    if not value.isascii() or "\x00" in value:  # the common case costs no call
        check_storable(value, name)


def valid_text(_inst: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    """Validate a required non-blank string."""
    _check_text(_arg(attribute), value)


def valid_optional_text(_inst: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    """Validate an optional non-blank string (``None`` allowed, ``""`` not)."""
    if value is not None:
        _check_text(_arg(attribute), value)


def valid_key_text(_inst: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    """Validate a required non-blank string a store indexes (at most 255 characters)."""
    _check_text(_arg(attribute), value)
    check_key(value, _arg(attribute))


def valid_optional_key_text(_inst: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    """Validate an optional non-blank string a store indexes (``None`` allowed)."""
    if value is not None:
        _check_text(_arg(attribute), value)
        check_key(value, _arg(attribute))


def valid_bool(_inst: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    """Validate a strict bool (``0`` / ``1`` are refused)."""
    if not isinstance(value, bool):
        raise _fail(_arg(attribute), "must be a bool (True or False)", value)


def convert_tags(value: Any) -> Any:
    """Turn an iterable of tags (not a bare string) into a frozenset."""
    if isinstance(value, str | bytes) or not isinstance(value, Iterable):
        return _Rejected(value, ValidationError("must be an iterable of str (a set or list)"))
    return frozenset(value)


def valid_tags(_inst: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    """Validate a frozenset of non-blank strings."""
    _raise_if_rejected(_arg(attribute), value)
    for tag in sorted(value, key=repr):
        if not isinstance(tag, str) or not tag.strip():
            raise _fail(_arg(attribute), "must contain only non-blank str tags", tag)
        check_storable(tag, _arg(attribute))


# ---------------------------------------------------------------- time


def valid_aware(_inst: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    """Validate a timezone-aware datetime whose wall time exists (no DST gap)."""
    require_existing(require_aware(value, field=_arg(attribute)), field=_arg(attribute))


def valid_optional_aware(_inst: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    """Validate an optional timezone-aware datetime whose wall time exists."""
    if value is not None:
        require_existing(require_aware(value, field=_arg(attribute)), field=_arg(attribute))


def _check_date(name: str, value: Any) -> None:
    if isinstance(value, _dt.datetime) or not isinstance(value, _dt.date):
        raise _fail(name, "must be a datetime.date (not a datetime)", value)


def valid_date(_inst: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    """Validate a calendar date (a ``datetime`` is refused: use ``.date()``)."""
    _check_date(_arg(attribute), value)


def valid_optional_date(_inst: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    """Validate an optional calendar date."""
    if value is not None:
        _check_date(_arg(attribute), value)


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


def convert_lower(value: Any) -> Any:
    """Field converter: strip and lower-case text; other values pass to the validator."""
    return value.strip().lower() if isinstance(value, str) else value


def valid_member(enum_cls: type[enum.Enum]) -> Validator:
    """Build a validator: the (converted) value is a member of ``enum_cls``."""

    def check(_inst: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
        _raise_if_rejected(_arg(attribute), value)
        if not isinstance(value, enum_cls):
            allowed = ", ".join(repr(m.value) for m in enum_cls)
            raise _fail(_arg(attribute), f"must be one of {allowed}", value)

    return check


def valid_instance(cls: type[Any], *, optional: bool = False) -> Validator:
    """Build a validator: the (converted) value is an instance of ``cls`` (or None)."""

    def check(_inst: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
        _raise_if_rejected(_arg(attribute), value)
        if value is None and optional:
            return
        if not isinstance(value, cls):
            raise _fail(_arg(attribute), f"must be a {cls.__name__}", value)

    return check
