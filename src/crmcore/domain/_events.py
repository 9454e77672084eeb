"""Domain events: what happened, as frozen values, and the registry of event kinds.

Every event is a frozen attrs value deriving from :class:`DomainEvent`.  It
has an ``id`` (chosen by the caller, or generated), a ``type`` (a stable,
namespaced string such as ``"pipeline.stage_changed"``), the entity it is
about (``entity_type``, ``entity_id``) and the other entities it involves
(``related_ids``), an instant ``at``, an ``actor`` and a JSON ``payload``
(its own fields).  :meth:`DomainEvent.to_dict` and
:meth:`DomainEvent.from_dict` round-trip through JSON.

Kinds register themselves with :func:`register_event`; a store reads an
event whose type is not registered (a kind added by a later release, or by
another application on the same database) back as a :class:`GenericEvent`,
so no event is ever lost or refused on reading.
"""

from __future__ import annotations

import builtins
import datetime as _dt
import itertools
import operator
import os
import re
import secrets
import threading
from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

import attrs

from crmcore._time import instant_key
from crmcore.domain._base import (
    EntityId,
    convert_id,
    convert_optional_id,
    valid_aware,
    valid_id,
    valid_key_text,
    valid_optional_id,
    valid_optional_text,
)
from crmcore.domain._codec import decode_datetime, encode_datetime, encode_value
from crmcore.domain._frozen import FrozenMapping, convert_custom, valid_custom
from crmcore.errors import ValidationError

__all__ = [
    "EVENT_TYPES",
    "DomainEvent",
    "GenericEvent",
    "new_event_id",
    "register_event",
]

EV = TypeVar("EV", bound="DomainEvent")

_TYPE_NAME = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$")
_MAX_TYPE_LENGTH = 100
_RESERVED = frozenset({"id", "type", "payload", "related_ids", "entity_ids"})

# ---------------------------------------------------------------- generated ids

_ID_LOCK = threading.Lock()
_id_prefix = secrets.token_hex(10)
_id_counter = itertools.count()


def _reseed() -> None:  # pragma: no cover - runs in forked children
    global _id_prefix, _id_counter  # noqa: PLW0603 -- a forked child must not repeat its parent's ids
    _id_prefix = secrets.token_hex(10)
    _id_counter = itertools.count()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_reseed)


def new_event_id() -> str:
    """Return a fresh event id: 32 hexadecimal characters, unique across processes.

    80 random bits drawn once per process (again in a forked child) followed
    by a 48-bit counter: as unique as a random UUID for any realistic number
    of processes, at a fraction of the cost (events are created in hot loops
    such as :func:`crmcore.pipeline.advance`).  No clock is read.

    Returns
    -------
    str
        The id.

    Examples
    --------
    >>> a, b = new_event_id(), new_event_id()
    >>> len(a), a != b
    (32, True)
    """
    return f"{_id_prefix}{next(_id_counter):012x}"


# ---------------------------------------------------------------- the base


@attrs.frozen(kw_only=True, slots=True)
class DomainEvent:
    """Base of every domain event: something that happened, as a frozen value.

    Subclasses are attrs classes registered with :func:`register_event`;
    they declare their own fields, among them ``at`` (a timezone-aware
    datetime) and ``actor`` (who did it, or ``None``), and name their
    entity-id fields in class attributes:

    ``ENTITY_FIELD``
        the field holding the id of the entity the event is about
        (default ``"entity_id"``);
    ``RELATED_FIELDS``
        fields holding ids of other entities it involves (a conversion's
        account, contact, opportunity); a store finds the event by these
        too;
    ``ENTITY_TYPE``
        what kind of entity ``entity_id`` is (``"customer"``,
        ``"ticket"``...); a subclass may compute it in an ``entity_type``
        property instead.

    Parameters
    ----------
    id : str or uuid.UUID, optional
        The event's identifier, keyword only.  When not given, one is
        generated (:func:`new_event_id`) the first time ``id`` is read, so
        building events in a hot loop costs nothing extra; the id is fixed
        from then on.  A store refuses a second event with the same id, and
        an outbox consumer uses it as its idempotency key.

    Notes
    -----
    Equality and hashing compare what happened (the type and the fields),
    not ``id``: two moves of the same deal at the same instant by the same
    actor are equal values.  Moments compare as instants (``fold``
    included), not as wall-clock readings.  Compare
    ``.id`` to ask "the same event?".
    """

    _id: EntityId | None = attrs.field(
        default=None,
        eq=False,
        repr=False,
        converter=convert_optional_id,
        validator=valid_optional_id,
    )

    TYPE: ClassVar[str] = ""
    ENTITY_TYPE: ClassVar[str] = "entity"
    ENTITY_FIELD: ClassVar[str] = "entity_id"
    RELATED_FIELDS: ClassVar[tuple[str, ...]] = ()

    if TYPE_CHECKING:
        at: _dt.datetime
        actor: str | None

    # ---------------------------------------------------------- envelope
    @property
    def id(self) -> EntityId:
        """The event's identifier (generated on first access when not given)."""
        value = self._id
        if value is None:
            with _ID_LOCK:  # two threads reading a fresh event's id must see one id
                value = self._id
                if value is None:
                    value = new_event_id()
                    object.__setattr__(self, "_id", value)
        return value

    @property
    def type(self) -> str:
        """The stable type name the kind was registered under."""
        return type(self).TYPE

    @property
    def entity_id(self) -> Any:
        """The id of the entity the event is about (the ``ENTITY_FIELD``)."""
        return getattr(self, type(self).ENTITY_FIELD)

    @property
    def entity_type(self) -> str:
        """What kind of entity ``entity_id`` is."""
        return type(self).ENTITY_TYPE

    @property
    def related_ids(self) -> tuple[Any, ...]:
        """Ids of the other entities the event involves (``None`` values left out)."""
        names = type(self).RELATED_FIELDS
        if not names:
            return ()
        return tuple(v for v in (getattr(self, name) for name in names) if v is not None)

    @classmethod
    def payload_fields(cls) -> tuple[str, ...]:
        """Return the names of the fields that make up :attr:`payload`, in order."""
        return _payload_getter(cls)[0]

    @property
    def entity_ids(self) -> tuple[Any, ...]:
        """``entity_id`` followed by ``related_ids``."""
        return (self.entity_id, *self.related_ids)

    @property
    def payload(self) -> Mapping[str, Any]:
        """The kind's own fields (all but ``id``, ``at``, ``actor``) as JSON-safe values."""
        names, values = _payload_getter(type(self))
        plain = _PLAIN
        return {
            name: value if type(value) in plain else encode_value(value)
            for name, value in zip(names, values(self), strict=True)
        }

    def describe(self) -> str:
        """Return a one-line, human-readable account of the event (for timelines).

        Kinds override it; the default names the type and the entity.
        """
        return f"{self.type}: {self.entity_type} {self.entity_id}"

    # ---------------------------------------------------------- JSON
    def to_dict(self) -> dict[str, Any]:
        """Return the event as JSON-safe primitives.

        Returns
        -------
        dict
            ``id``, ``type``, ``at`` (ISO 8601 with offset and zone key),
            ``actor``, ``entity_type``, ``entity_id``, ``related_ids`` and
            ``payload``; :meth:`from_dict` reads it back.
        """
        return {
            "id": encode_value(self.id),
            "type": self.type,
            "at": encode_datetime(self.at),
            "actor": self.actor,
            "entity_type": self.entity_type,
            "entity_id": encode_value(self.entity_id),
            "related_ids": [encode_value(v) for v in self.related_ids],
            "payload": self.payload,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> DomainEvent:
        """Rebuild an event from :meth:`to_dict` output.

        On :class:`DomainEvent` itself this dispatches on ``data["type"]``:
        a registered kind comes back as its class, any other type as a
        :class:`GenericEvent`.  On a registered kind it insists on that kind.

        Parameters
        ----------
        data : mapping
            The output of :meth:`to_dict`.

        Returns
        -------
        DomainEvent

        Raises
        ------
        ValidationError
            A missing or invalid field, or (on a kind) another type.
        """
        if not isinstance(data, Mapping):
            raise ValidationError(
                f"an event must be a mapping; got {type(data).__name__}", value=data
            )
        missing = [k for k in ("type", "at", "entity_id") if k not in data]
        if missing:
            raise ValidationError(
                f"event: missing required field {missing[0]!r}", field=missing[0], value=data
            )
        type_name = data["type"]
        kind = EVENT_TYPES.get(type_name) if isinstance(type_name, str) else None
        if cls not in (DomainEvent, GenericEvent) and kind is not cls:
            raise ValidationError(
                f"{cls.__name__}.from_dict: the event has type {type_name!r}, not {cls.TYPE!r}",
                field="type",
                value=type_name,
            )
        payload = data.get("payload", {})
        if kind is not None and cls is not GenericEvent:
            return kind.from_parts(
                id=data.get("id"), at=data["at"], actor=data.get("actor"), payload=payload
            )
        return GenericEvent(
            id=data.get("id"),
            event_type=type_name,
            entity_type=data.get("entity_type", "entity"),
            entity_id=data["entity_id"],
            at=decode_datetime(data["at"], field="at"),
            actor=data.get("actor"),
            payload=payload,
            related_ids=tuple(data.get("related_ids", ())),
        )

    @classmethod
    def from_parts(
        cls: builtins.type[EV], *, id: Any, at: Any, actor: Any, payload: Mapping[str, Any]
    ) -> EV:
        """Build an event of this kind from its envelope and its payload.

        What a store calls when it reads an event back.

        Parameters
        ----------
        id : str or uuid.UUID or None
            The event id.
        at : datetime or str
            When it happened (ISO 8601 text is decoded).
        actor : str or None
            Who did it.
        payload : mapping
            The kind's own fields, as :attr:`payload` gives them.

        Returns
        -------
        DomainEvent
            An instance of this kind.

        Raises
        ------
        ValidationError
            A payload key the kind does not have, a missing one, or an
            invalid value.
        """
        if not isinstance(payload, Mapping):
            raise ValidationError(
                f"{cls.__name__}: payload must be a mapping; got {type(payload).__name__}",
                field="payload",
                value=payload,
            )
        fields = _payload_fields(cls)
        unknown = sorted(k for k in payload if k not in fields)
        if unknown:
            raise ValidationError(
                f"{cls.__name__}: unknown payload field {unknown[0]!r}; allowed: "
                f"{', '.join(fields)}",
                field=unknown[0],
            )
        kwargs: dict[str, Any] = {}
        ids = {cls.ENTITY_FIELD, *cls.RELATED_FIELDS}
        for name, attribute in fields.items():
            if name not in payload:
                if attribute.default is attrs.NOTHING:
                    raise ValidationError(
                        f"{cls.__name__}: missing payload field {name!r}", field=name
                    )
                continue
            value = payload[name]
            decode = attribute.metadata.get("decode")
            if decode is not None:
                value = decode(value, name)
            elif name in ids and value is not None:
                value = convert_id(value)
            kwargs[attribute.alias or name] = value
        kwargs["at"] = decode_datetime(at, field="at")
        kwargs["actor"] = actor
        if id is not None:
            kwargs["id"] = id
        return cls(**kwargs)


_FIELDS_CACHE: dict[type, dict[str, attrs.Attribute[Any]]] = {}
_GETTERS: dict[type, tuple[tuple[str, ...], Callable[[Any], tuple[Any, ...]]]] = {}
_PLAIN = frozenset({str, int, float, bool, type(None)})  # JSON-safe as they are


def _payload_getter(cls: type) -> tuple[tuple[str, ...], Callable[[Any], tuple[Any, ...]]]:
    """Return the payload field names of a kind and a function reading them (cached)."""
    found = _GETTERS.get(cls)
    if found is None:
        names = tuple(_payload_fields(cls))

        def values(event: Any) -> tuple[Any, ...]:
            return tuple(getattr(event, name) for name in names)

        if len(names) > 1:  # attrgetter of several names returns a tuple, in C
            values = operator.attrgetter(*names)  # type: ignore[assignment]
        found = (names, values)
        _GETTERS[cls] = found
    return found


def _payload_fields(cls: type) -> dict[str, attrs.Attribute[Any]]:
    """Return the attrs fields of a kind that make up its payload (cached per class)."""
    found = _FIELDS_CACHE.get(cls)
    if found is None:
        found = {
            f.name: f for f in attrs.fields(cls) if f.init and f.name not in ("_id", "at", "actor")
        }
        _FIELDS_CACHE[cls] = found
    return found


# ---------------------------------------------------------------- the registry

_REGISTRY: dict[str, type[DomainEvent]] = {}

EVENT_TYPES: Mapping[str, type[DomainEvent]] = MappingProxyType(_REGISTRY)
"""Every registered event kind by its type name (read-only; see :func:`register_event`).

:meta hide-value:
"""


def _check_type_name(type_name: object) -> str:
    if (
        not isinstance(type_name, str)
        or len(type_name) > _MAX_TYPE_LENGTH
        or not _TYPE_NAME.match(type_name)
    ):
        raise ValidationError(
            "an event type must be a namespaced lower-case name such as "
            f"'marketing.email_opened' (at most {_MAX_TYPE_LENGTH} characters); "
            f"got {type_name!r}",
            field="type",
            value=type_name,
        )
    return type_name


def register_event(type_name: str) -> Callable[[type[EV]], type[EV]]:
    """Class decorator: register an event kind under a stable type name.

    The class must be an attrs class deriving from :class:`DomainEvent`
    with an ``at`` and an ``actor`` field and the entity-id fields its
    ``ENTITY_FIELD`` / ``RELATED_FIELDS`` name.  The type name is what
    stores write; keep it stable across releases (rename the class freely).
    Field values must be what :meth:`DomainEvent.to_dict` can encode
    (str, int, float, bool, None, date, aware datetime, UUID, tuples of
    these, value objects with ``to_dict`` such as Money), and fields that need decoding
    (datetimes, value objects) declare a ``decode`` in their metadata as
    the domain entities do.

    Parameters
    ----------
    type_name : str
        Namespaced, lower case: ``"<area>.<what_happened>"``.

    Returns
    -------
    callable
        The decorator; it returns the class unchanged (with ``TYPE`` set).

    Raises
    ------
    ValidationError
        A malformed name, a name already taken by another class, or a
        class that does not fit.

    Examples
    --------
    >>> import datetime as dt
    >>> import attrs
    >>> from crmcore.domain import DomainEvent, register_event
    >>> @register_event("docs.coupon_sent")
    ... @attrs.frozen
    ... class CouponSent(DomainEvent):
    ...     ENTITY_TYPE = "customer"
    ...     entity_id: str
    ...     code: str
    ...     at: dt.datetime
    ...     actor: str | None = None
    >>> sent = CouponSent("c1", "SPRING", dt.datetime(2026, 3, 1, tzinfo=dt.UTC))
    >>> sent.type, sent.payload
    ('docs.coupon_sent', {'entity_id': 'c1', 'code': 'SPRING'})
    >>> DomainEvent.from_dict(sent.to_dict()) == sent
    True
    """
    name = _check_type_name(type_name)

    def decorate(cls: type[EV]) -> type[EV]:
        given: Any = cls  # checked: a decorator can be applied to anything
        if not (isinstance(given, type) and issubclass(given, DomainEvent) and attrs.has(given)):
            raise ValidationError(
                f"register_event({name!r}) needs an attrs class deriving from DomainEvent; "
                f"got {cls!r}",
                field="type",
                value=name,
            )
        if cls is GenericEvent:
            raise ValidationError("GenericEvent cannot be registered", field="type", value=name)
        field_names = {f.name for f in attrs.fields(cls)}
        needed = ["at", "actor", cls.ENTITY_FIELD, *cls.RELATED_FIELDS]
        absent = [f for f in needed if f not in field_names]
        if absent:
            raise ValidationError(
                f"{cls.__name__} cannot be registered: it has no field {absent[0]!r} "
                "(events need at, actor and the fields ENTITY_FIELD and RELATED_FIELDS name)",
                field=absent[0],
            )
        clash = sorted(field_names & _RESERVED)
        if clash:
            raise ValidationError(
                f"{cls.__name__} cannot be registered: the field name {clash[0]!r} is taken by "
                "the event envelope",
                field=clash[0],
            )
        current = _REGISTRY.get(name)
        if current is not None and current is not cls and _qualified(current) != _qualified(cls):
            raise ValidationError(
                f"the event type {name!r} is registered already, by {_qualified(current)}",
                field="type",
                value=name,
            )
        if cls.TYPE and name != cls.TYPE and _REGISTRY.get(cls.TYPE) is cls:
            raise ValidationError(
                f"{cls.__name__} is registered already, as {cls.TYPE!r}", field="type", value=name
            )
        cls.TYPE = name
        _REGISTRY[name] = cls
        return cls

    return decorate


def _qualified(cls: type) -> str:
    return f"{cls.__module__}.{cls.__qualname__}"


# ---------------------------------------------------------------- unknown kinds


def _valid_type_name(_inst: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    _check_type_name(value)


def _convert_ids(value: Any) -> Any:
    if isinstance(value, list | tuple):
        return tuple(convert_id(v) for v in value)
    return value


def _valid_ids(_inst: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    if not isinstance(value, tuple):
        raise ValidationError(
            f"{attribute.name} must be a sequence of ids; got {value!r}",
            field=attribute.name,
            value=value,
        )
    for item in value:
        valid_id(_inst, attribute, item)


@attrs.frozen(kw_only=True, slots=True)
class GenericEvent(DomainEvent):
    """An event of any type, carried as its envelope and a JSON payload.

    What a store returns for a type no registered kind claims (or whose
    payload no longer fits its kind), so that nothing is lost; it can also
    be built and stored directly for ad-hoc kinds.

    Parameters
    ----------
    event_type : str
        The type name (``"area.what_happened"``); also available as ``type``.
    entity_type : str
        What kind of entity ``entity_id`` is.
    entity_id : str or uuid.UUID
        The entity the event is about.
    at : datetime.datetime
        When it happened (timezone-aware).
    actor : str, optional
        Who did it.
    payload : mapping, default {}
        JSON-compatible fields (frozen like entities' ``custom``).
    related_ids : sequence of str or uuid.UUID, default ()
        Other entities involved.
    id : str or uuid.UUID, optional
        See :class:`DomainEvent`.

    Examples
    --------
    >>> import datetime as dt
    >>> e = GenericEvent(
    ...     event_type="legacy.note_added",
    ...     entity_type="customer",
    ...     entity_id="c1",
    ...     at=dt.datetime(2026, 1, 2, tzinfo=dt.UTC),
    ...     payload={"text": "called back"},
    ... )
    >>> e.type, e.payload["text"]
    ('legacy.note_added', 'called back')
    """

    event_type: str = attrs.field(validator=_valid_type_name)
    entity_type: str = attrs.field(validator=valid_key_text)
    entity_id: EntityId = attrs.field(converter=convert_id, validator=valid_id)
    at: _dt.datetime = attrs.field(eq=instant_key, validator=valid_aware)
    actor: str | None = attrs.field(default=None, validator=valid_optional_text)
    payload: Mapping[str, Any] = attrs.field(
        factory=FrozenMapping, converter=convert_custom, validator=valid_custom
    )
    related_ids: tuple[EntityId, ...] = attrs.field(
        default=(), converter=_convert_ids, validator=_valid_ids
    )

    @property
    def type(self) -> str:
        """The type name (``event_type``)."""
        return self.event_type

    def to_dict(self) -> dict[str, Any]:
        """Return the event as JSON-safe primitives (see :meth:`DomainEvent.to_dict`).

        Returns
        -------
        dict
            The envelope and the payload as given.
        """
        out = super().to_dict()
        payload = self.payload
        out["payload"] = payload.thaw() if isinstance(payload, FrozenMapping) else dict(payload)
        return out
