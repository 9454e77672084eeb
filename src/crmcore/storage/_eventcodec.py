"""Events <-> stored records, stored events, and the criteria every event query takes.

Both stores keep an event as one :class:`EventRecord`: the envelope as
plain values (ids as text, the instant in UTC microseconds plus its zone)
and the payload as JSON text.  Encoding validates (an unregistered kind, a
naive ``at``, an id that is not text, NaN or NUL characters in the payload
raise :class:`~crmcore.errors.ValidationError`), so a bad event is refused
when it is recorded, by every store alike, and reading back decodes the
same text on every store.

Time ranges follow the docs page "Time, cut-offs and units": ``since`` and
``until`` select ``since < at <= until`` (a lookback window), and a
date-only bound means the end of that day (in ``tz``, UTC unless given).
"""

from __future__ import annotations

import datetime as dt
import enum
import json
import json.encoder
import math
import re
import uuid
from collections.abc import Iterable, Mapping, Sequence
from operator import attrgetter
from typing import Any, NamedTuple

import attrs

from crmcore._text import MAX_KEY_LENGTH, check_key
from crmcore._time import (
    EPOCH_UTC,
    MICROSECOND,
    require_aware,
    require_existing,
    resolve_as_of,
)
from crmcore.domain import EVENT_TYPES, DomainEvent, FrozenMapping, GenericEvent
from crmcore.errors import ValidationError
from crmcore.storage import _json
from crmcore.storage._codec import check_utf8, decode_id
from crmcore.storage._filters import MAX_IN
from crmcore.storage._zones import tz_from_text, tz_text

__all__ = [
    "EventCriteria",
    "EventRecord",
    "StoredEvent",
    "criteria",
    "decode_event",
    "decode_payload_value",
    "encode_event",
    "encode_ids",
    "from_micros",
    "to_micros",
]

_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")


class EventRecord(NamedTuple):
    """An event as stored (before a position is assigned)."""

    id: str
    type: str
    entity_type: str
    entity_id: str
    at_us: int
    at_tz: str
    actor: str | None
    payload: str
    related: tuple[str, ...]

    @property
    def related_text(self) -> str | None:
        """The related ids as JSON text (``None`` when there are none)."""
        return _json.dumps(list(self.related)) if self.related else None


@attrs.frozen
class StoredEvent:
    """An event read back from a store, with its position in the store's total order.

    Attributes
    ----------
    position : int
        1, 2, 3... in the order the events were committed; a consumer reads
        ``after=`` the last position it processed.
    event : DomainEvent
        The event: its registered kind, or a
        :class:`~crmcore.domain.GenericEvent` for a type no kind claims.
    """

    position: int
    event: DomainEvent

    @property
    def id(self) -> Any:
        """The event id: unique in the store, the consumers' idempotency key."""
        return self.event.id

    @property
    def type(self) -> str:
        """The event type."""
        return self.event.type


# ---------------------------------------------------------------- encoding


def to_micros(value: dt.datetime, field: str = "at") -> int:
    """Return UTC microseconds since the epoch of an aware datetime."""
    # _time.instant_us, inlined (once per stored event), with the UTC case in one go
    if value.__class__ is dt.datetime and value.tzinfo is dt.UTC:
        d = value - EPOCH_UTC  # integer arithmetic below: ``timedelta // timedelta`` costs more
        return (d.days * 86_400 + d.seconds) * 1_000_000 + d.microseconds
    if value.__class__ is not dt.datetime or value.utcoffset() is None:
        require_aware(value, field=field)  # raises, naming the field
    if type(value.tzinfo) is not dt.timezone:  # a zone with DST: no skipped wall time
        require_existing(value, field=field)
    try:
        return (value - EPOCH_UTC) // MICROSECOND
    except OverflowError:  # pragma: no cover - aware datetimes near year 1 / 9999
        raise ValidationError(f"{field} is out of range", field=field, value=value) from None


def from_micros(micros: int, zone: str) -> dt.datetime:
    """Rebuild an aware datetime from UTC microseconds and its zone text."""
    utc = EPOCH_UTC + dt.timedelta(microseconds=micros)  # _time.from_instant_us, inlined
    return utc if zone == "Z" else utc.astimezone(tz_from_text(zone))


def _id_text(value: Any, field: str) -> str:
    if (
        type(value) is str
        and len(value) <= MAX_KEY_LENGTH
        and value.isascii()
        and "\x00" not in value
        and value.strip()
    ):
        return value  # the common case, checked in one pass
    if isinstance(value, uuid.UUID):
        return value.urn
    if not isinstance(value, str) or not value.strip():
        raise ValidationError(
            f"{field} must be a non-empty str or a uuid.UUID to be stored; got {value!r}",
            field=field,
            value=value,
        )
    if "\x00" in value:
        raise ValidationError(
            f"{field}: NUL characters cannot be stored", field=field, value=value
        )
    check_key(value, field)
    return value


def _text(value: Any, field: str, *, optional: bool = False) -> str | None:
    if value is None and optional:
        return None
    if not isinstance(value, str):
        raise ValidationError(
            f"{field} must be a str; got {type(value).__name__}", field=field, value=value
        )
    if "\x00" in value:
        raise ValidationError(
            f"{field}: NUL characters cannot be stored", field=field, value=value
        )
    if not value.isascii():
        check_utf8(value, field)
    return value


def _key_text(value: Any, field: str) -> str:
    """Check an indexed text (the entity type): storable, at most ``MAX_KEY_LENGTH`` long."""
    text = _text(value, field) or ""
    if len(text) > MAX_KEY_LENGTH:
        check_key(text, field)
    return text


def _check_json(value: Any, field: str) -> None:
    """Refuse what JSON text or PostgreSQL cannot hold (NaN, infinities, NUL characters).

    Only run to name the culprit once the fast path (the encoder refusing NaN,
    an escaped NUL in the text) has found something.
    """
    if isinstance(value, float) and not math.isfinite(value):
        raise ValidationError(
            f"{field}: NaN and infinite numbers cannot be stored", field=field, value=value
        )
    if isinstance(value, str) and "\x00" in value:
        raise ValidationError(
            f"{field}: NUL characters cannot be stored", field=field, value=value
        )
    if isinstance(value, Mapping):
        for key, item in value.items():
            _check_json(key, field)
            _check_json(item, f"{field}.{key}")
    elif isinstance(value, list | tuple):
        for item in value:
            _check_json(item, field)


# one encoder, built once (``json.dumps`` with options builds one per call)
_to_json = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode
_quote = json.encoder.encode_basestring  # what that encoder writes for a str (C-accelerated)


_PLANS: dict[type, tuple[tuple[str, ...], Any]] = {}
_NULL, _TRUE, _FALSE = "null", "true", "false"


def _fast_payload(event: DomainEvent, kind: type) -> str | None:
    """Build the payload's JSON text field by field (None: a value needs the full path).

    Gives exactly what the JSON encoder would, for the plain values most
    payloads hold (str, int, bool, None, finite float, members of text
    enumerations, an empty mapping), without building the payload dict and
    walking it again.
    """
    plan = _PLANS.get(kind)
    if plan is None:
        names = kind.payload_fields()  # type: ignore[attr-defined]
        keys = tuple(f"{_quote(name)}:" for name in names)
        getter = (lambda e: (getattr(e, names[0]),)) if len(names) == 1 else attrgetter(*names)
        plan = (keys, getter)
        _PLANS[kind] = plan
    keys, getter = plan
    parts = []
    for key, value in zip(keys, getter(event), strict=True):
        t = type(value)
        if t is str:
            text = _quote(value)
        elif value is None:
            text = _NULL
        elif t is bool:
            text = _TRUE if value else _FALSE
        elif t is int:
            text = int.__repr__(value)
        elif t is float and math.isfinite(value):
            text = float.__repr__(value)
        elif isinstance(value, enum.Enum) and type(value.value) is str:
            text = _quote(value.value)  # the domain stores a member as its value
        elif t is FrozenMapping and not value:
            text = "{}"  # no properties: the common case of mapping-valued fields
        else:
            return None
        parts.append(key + text)
    return "{" + ",".join(parts) + "}"


def _payload_text(event: DomainEvent, kind: type) -> str:
    if kind is not GenericEvent:
        fast = _fast_payload(event, kind)
        if fast is not None:
            if "\\u0000" in fast:
                _check_json(event.payload, "payload")
            return fast if fast.isascii() else _checked_utf8(fast)
    payload: Any = event.payload
    if kind is GenericEvent:
        payload = event.to_dict()["payload"]  # thawed
    try:
        text = _to_json(payload)
    except (TypeError, ValueError) as exc:
        _check_json(payload, "payload")  # names the field of a NaN
        raise ValidationError(
            f"{kind.__name__}: the payload cannot be stored as JSON: {exc}", field="payload"
        ) from None
    if "\\u0000" in text:  # an escaped NUL (or a backslash before "u0000")
        _check_json(payload, "payload")
    return text if text.isascii() else _checked_utf8(text)


def _checked_utf8(text: str) -> str:
    check_utf8(text, "payload")
    return text


def encode_event(event: object) -> EventRecord:
    """Validate an event and turn it into an :class:`EventRecord`.

    Raises
    ------
    ValidationError
        Not a :class:`~crmcore.domain.DomainEvent`, a kind that is not
        registered, an id that is not text, a naive ``at``, or a payload
        that JSON cannot hold.
    """
    kind = type(event)
    if kind is not GenericEvent and EVENT_TYPES.get(getattr(kind, "TYPE", "")) is not kind:
        if not isinstance(event, DomainEvent):
            raise ValidationError(
                f"only domain events can be recorded and stored; got {kind.__name__} "
                f"{event!r} (define a kind with crmcore.domain.register_event, or use "
                "crmcore.domain.GenericEvent)",
                field="event",
                value=event,
            )
        raise ValidationError(
            f"{kind.__name__} is not a registered event kind: decorate it with "
            "crmcore.domain.register_event('<area>.<what_happened>')",
            field="type",
            value=kind.__name__,
        )
    assert isinstance(event, DomainEvent)
    at = event.at
    related = event.related_ids
    return EventRecord(  # positional: the tuple is built once per event, in hot loops
        _id_text(event.id, "id"),
        event.type,
        _key_text(event.entity_type, "entity_type"),
        _id_text(event.entity_id, "entity_id"),
        to_micros(at),
        tz_text(at),
        _text(event.actor, "actor", optional=True),
        _payload_text(event, kind),
        tuple(_id_text(v, "related_ids") for v in related) if related else (),
    )


def decode_event(
    *,
    id: str,
    type: str,
    entity_type: str,
    entity_id: str,
    at: dt.datetime,
    actor: str | None,
    payload: Any,
    related: Any,
) -> DomainEvent:
    """Rebuild a stored event: its registered kind, else a GenericEvent (never lost)."""
    data = _json.loads(payload) if payload is not None else {}
    kind = EVENT_TYPES.get(type)
    if kind is not None:
        try:
            return kind.from_parts(id=decode_id(id), at=at, actor=actor, payload=data)
        except (ValidationError, TypeError, ValueError, KeyError):
            pass  # the stored payload no longer fits the kind: keep it as a generic event
    related_ids = _json.loads(related) if related is not None else []
    return GenericEvent(
        id=decode_id(id),
        event_type=type,
        entity_type=entity_type or "entity",
        entity_id=decode_id(entity_id),
        at=at,
        actor=actor,
        payload=data if isinstance(data, Mapping) else {"value": data},
        related_ids=tuple(decode_id(v) for v in related_ids),
    )


def decode_payload_value(text: str | None) -> Any:
    """Decode one JSON fragment of a payload key (``None`` for a missing key or null)."""
    if text is None:
        return None
    if len(text) >= 2 and text[0] == '"' and text[-1] == '"' and "\\" not in text:
        return text[1:-1]  # the common case, a plain string: no parser needed
    return json.loads(text)


# ---------------------------------------------------------------- criteria


@attrs.frozen
class EventCriteria:
    """A validated event query: which events, in position order."""

    entities: tuple[str, ...] | None = None
    types: tuple[str, ...] | None = None
    entity_types: tuple[str, ...] | None = None
    since_us: int | None = None  # exclusive
    until_us: int | None = None  # inclusive
    after: int | None = None
    limit: int | None = None

    def matches(self, record: EventRecord, position: int) -> bool:
        """Whether a stored record satisfies every condition but ``limit``."""
        if self.after is not None and position <= self.after:
            return False
        if self.types is not None and record.type not in self.types:
            return False
        if self.entity_types is not None and record.entity_type not in self.entity_types:
            return False
        if self.since_us is not None and record.at_us <= self.since_us:
            return False
        if self.until_us is not None and record.at_us > self.until_us:
            return False
        if self.entities is not None:
            wanted = self.entities
            return record.entity_id in wanted or any(r in wanted for r in record.related)
        return True


def encode_ids(value: Any, field: str = "entity") -> tuple[str, ...]:
    """One id or a collection of ids -> their stored text."""
    items: Iterable[Any] = (
        [value] if isinstance(value, str | uuid.UUID) or not isinstance(value, Iterable) else value
    )
    out = tuple(dict.fromkeys(_id_text(v, field) for v in items))
    if len(out) > MAX_IN:
        raise ValidationError(
            f"{field}: at most {MAX_IN} ids per query; got {len(out)} (query in chunks)",
            field=field,
        )
    return out


def _names(value: Any, field: str) -> tuple[str, ...]:
    items = [value] if isinstance(value, str | type) or not isinstance(value, Iterable) else value
    out = []
    for item in items:
        if isinstance(item, type) and issubclass(item, DomainEvent) and item.TYPE:
            out.append(item.TYPE)
        elif isinstance(item, str) and item:
            out.append(item)
        else:
            raise ValidationError(
                f"{field} must be a type name such as 'pipeline.stage_changed', an event "
                f"class, or a list of them; got {item!r}",
                field=field,
                value=item,
            )
    if len(out) > MAX_IN:
        raise ValidationError(f"{field}: too many values ({len(out)})", field=field)
    return tuple(dict.fromkeys(out))


def _bound_us(value: Any, *, name: str, tz: Any) -> int:
    cut = resolve_as_of(value, tz=dt.UTC if tz is None else tz, name=name)
    return cut.ns // 1_000  # floor: ``at_us <= until`` iff ``at_ns <= until_ns``


def criteria(
    *,
    entity: Any = None,
    type: Any = None,
    entity_type: Any = None,
    since: Any = None,
    until: Any = None,
    after: Any = None,
    limit: Any = None,
    tz: Any = None,
) -> EventCriteria:
    """Validate the arguments of an event query (see :class:`EventStore.query`)."""
    for name, value in (("after", after), ("limit", limit)):
        if value is not None and (
            isinstance(value, bool) or not isinstance(value, int) or value < 0
        ):
            raise ValidationError(
                f"{name} must be a non-negative integer (or None)", field=name, value=value
            )
    since_us = None if since is None else _bound_us(since, name="since", tz=tz)
    until_us = None if until is None else _bound_us(until, name="until", tz=tz)
    return EventCriteria(
        entities=None if entity is None else encode_ids(entity),
        types=None if type is None else _names(type, "type"),
        entity_types=None if entity_type is None else _names(entity_type, "entity_type"),
        since_us=since_us,
        until_us=until_us,
        after=after,
        limit=limit,
    )


def payload_keys(keys: Sequence[str] | str | None) -> tuple[str, ...]:
    """Validate payload keys asked for as frame columns."""
    if keys is None:
        return ()
    items: list[Any] = [keys] if isinstance(keys, str) else list(keys)
    for key in items:
        if not isinstance(key, str) or not _KEY.match(key):
            raise ValidationError(
                f"payload keys must be identifiers (letters, digits, '_'); got {key!r}",
                field="payload_keys",
                value=key,
            )
    if len(set(items)) != len(items):
        raise ValidationError("payload keys must not repeat", field="payload_keys")
    return tuple(items)
