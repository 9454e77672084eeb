"""JSON-safe encoding of field values, and the generic ``to_dict`` / ``from_dict``.

Identifiers are encoded by :func:`crmcore.domain._base.encode_id`; this
module adds datetimes (ISO 8601 with offset and, for IANA zones, the RFC 9557
zone suffix), dates, and the per-field decoders entities register in their
attrs metadata.
"""

from __future__ import annotations

import datetime as _dt
import enum
import uuid
from collections.abc import Callable, Mapping
from typing import Any, TypeAlias, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import attrs

from crmcore._time import require_aware
from crmcore.domain._base import _fail, encode_id
from crmcore.domain._frozen import FrozenMapping
from crmcore.errors import ValidationError

__all__ = ["decode_date", "decode_datetime", "encode_date", "encode_datetime"]

T = TypeVar("T")


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
        parsed = _in_zone(parsed, tz)
    return parsed


def _in_zone(parsed: _dt.datetime, tz: ZoneInfo) -> _dt.datetime:
    """Attach ``tz`` keeping the wall time and offset written, else convert the instant.

    Keeping the written wall time (and choosing ``fold`` to match the written
    offset) restores ambiguous and even non-existent local times exactly;
    if the zone's rules no longer give the written offset, the instant wins.
    """
    offset = parsed.utcoffset()
    naive = parsed.replace(tzinfo=None)
    for fold in (0, 1):
        candidate = naive.replace(tzinfo=tz, fold=fold)
        if candidate.utcoffset() == offset:
            return candidate
    return parsed.astimezone(tz)


def decode_optional_datetime(value: Any, *, field: str) -> _dt.datetime | None:
    """Like :func:`decode_datetime`, letting ``None`` through."""
    return None if value is None else decode_datetime(value, field=field)


def encode_date(value: _dt.date) -> str:
    """Encode a calendar date as ``YYYY-MM-DD``.

    Parameters
    ----------
    value : datetime.date
        A calendar date.  A :class:`~datetime.datetime` (a subclass of
        ``date``) is refused: its time would be lost, or its text would not
        decode as a date; use :func:`encode_datetime` for instants.

    Returns
    -------
    str
        The ISO 8601 calendar date, which :func:`decode_date` reads back.

    Raises
    ------
    ValidationError
        If ``value`` is not a ``date`` or is a ``datetime`` (``field="date"``).

    Examples
    --------
    >>> import datetime as dt
    >>> encode_date(dt.date(2024, 2, 29))
    '2024-02-29'
    >>> decode_date(encode_date(dt.date(2024, 2, 29)))
    datetime.date(2024, 2, 29)
    """
    given: Any = value  # typed as date, but checked: callers may pass anything
    if not isinstance(given, _dt.date) or isinstance(given, _dt.datetime):
        raise _fail("date", "must be a datetime.date (not a datetime)", value)
    return value.isoformat()


def decode_date(value: Any, *, field: str = "date") -> _dt.date:
    """Decode ``YYYY-MM-DD`` text (a ``datetime.date`` passes through).

    Parameters
    ----------
    value : str or datetime.date
        ISO 8601 calendar-date text such as ``"2024-02-29"`` (the output of
        :func:`encode_date`), or a date, returned as it is.
    field : str, default "date"
        Field name used in error messages.

    Returns
    -------
    datetime.date
        The date.

    Raises
    ------
    ValidationError
        If the text is not an ISO calendar date, or a datetime (or any other
        type) is given; the error names ``field``.

    Examples
    --------
    >>> decode_date("2024-02-29")
    datetime.date(2024, 2, 29)
    >>> decode_date("2024-02-30", field="birth_date")
    Traceback (most recent call last):
    ...
    crmcore.errors.ValidationError: birth_date must be an ISO 8601 date string (YYYY-MM-DD); ...
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


# ---------------------------------------------------------------- field values


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
