"""Marketing values: engagement events and campaign members (frozen attrs, JSON round trip).

These are values, not stored aggregates yet: they import only what the
domain layer may import (attrs, ``crmcore.domain``, ``crmcore._time``,
``crmcore.errors``), so that they can move into :mod:`crmcore.domain` and
the event registry unchanged.
"""

from __future__ import annotations

import datetime as _dt
import enum
import uuid
from collections.abc import Mapping
from typing import Any, Final, TypeVar

import attrs

from crmcore._time import require_aware
from crmcore.domain import (
    EntityId,
    FrozenMapping,
    decode_datetime,
    decode_id,
    encode_datetime,
    encode_id,
)
from crmcore.errors import ValidationError

__all__ = [
    "CHANNEL_TYPES",
    "MESSAGE_TYPES",
    "CampaignMember",
    "Channel",
    "EngagementEvent",
    "EngagementType",
]


class EngagementType(enum.StrEnum):
    """What happened: the ``type`` of an :class:`EngagementEvent`.

    Message events (``send`` to ``complaint``) follow one message to one
    person; the others are behaviour on the web site or in the app.
    """

    SEND = "send"
    DELIVER = "deliver"
    OPEN = "open"
    CLICK = "click"
    BOUNCE = "bounce"
    UNSUBSCRIBE = "unsubscribe"
    COMPLAINT = "complaint"
    WEB_VISIT = "web_visit"
    FORM_SUBMIT = "form_submit"
    DOWNLOAD = "download"
    CART_ADD = "cart_add"
    CART_ABANDON = "cart_abandon"
    APP_USAGE = "app_usage"


class Channel(enum.StrEnum):
    """Where it happened: ``email``, ``sms``, ``push`` (messages), ``web``, ``app``."""

    EMAIL = "email"
    SMS = "sms"
    PUSH = "push"
    WEB = "web"
    APP = "app"


_T = EngagementType
_C = Channel
_MESSAGING = frozenset({_C.EMAIL, _C.SMS, _C.PUSH})
_SITE = frozenset({_C.WEB, _C.APP})

CHANNEL_TYPES: Final[Mapping[EngagementType, frozenset[Channel]]] = {
    _T.SEND: _MESSAGING,
    _T.DELIVER: _MESSAGING,
    # SMS carries no open tracking; a push "open" is the tap on the notification
    _T.OPEN: frozenset({_C.EMAIL, _C.PUSH}),
    _T.CLICK: _MESSAGING,
    _T.BOUNCE: _MESSAGING,
    _T.UNSUBSCRIBE: _MESSAGING,
    _T.COMPLAINT: frozenset({_C.EMAIL, _C.SMS}),
    _T.WEB_VISIT: frozenset({_C.WEB}),
    _T.FORM_SUBMIT: _SITE,
    _T.DOWNLOAD: _SITE,
    _T.CART_ADD: _SITE,
    _T.CART_ABANDON: _SITE,
    _T.APP_USAGE: frozenset({_C.APP}),
}
"""The channels each event type can happen on (anything else is refused)."""

MESSAGE_TYPES: Final = frozenset(
    {_T.SEND, _T.DELIVER, _T.OPEN, _T.CLICK, _T.BOUNCE, _T.UNSUBSCRIBE, _T.COMPLAINT}
)
"""Event types that follow one message (they carry ``message_id`` when known)."""

E = TypeVar("E", bound=enum.Enum)


def _enum_converter(cls: type[E], name: str) -> Any:
    allowed = ", ".join(repr(m.value) for m in cls)

    def convert(value: Any) -> E:
        if isinstance(value, cls):
            return value
        if isinstance(value, str):
            try:
                return cls(value.strip().lower())
            except ValueError:
                pass
        raise ValidationError(
            f"{name} must be one of {allowed}; got {value!r}", field=name, value=value
        )

    return convert


_TYPE_CONVERTER = _enum_converter(EngagementType, "type")
_CHANNEL_CONVERTER = _enum_converter(Channel, "channel")


def _to_type(value: Any) -> EngagementType:
    converted: EngagementType = _TYPE_CONVERTER(value)
    return converted


def _to_channel(value: Any) -> Channel:
    converted: Channel = _CHANNEL_CONVERTER(value)
    return converted


def _check_id(name: str, value: Any, *, optional: bool) -> None:
    if value is None and optional:
        return
    if isinstance(value, uuid.UUID):
        return
    if not isinstance(value, str) or not value.strip():
        raise ValidationError(
            f"{name} must be a non-blank str or a UUID; got {value!r}", field=name, value=value
        )


def _valid_id(_inst: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    _check_id(attribute.name, value, optional=False)


def _valid_optional_id(_inst: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    _check_id(attribute.name, value, optional=True)


def _valid_aware(_inst: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    require_aware(value, field=attribute.name)


def _valid_optional_text(_inst: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    if value is not None and (not isinstance(value, str) or not value.strip()):
        raise ValidationError(
            f"{attribute.name} must be a non-blank str or None; got {value!r}",
            field=attribute.name,
            value=value,
        )


def _to_properties(value: Any) -> FrozenMapping:
    if isinstance(value, FrozenMapping):
        return value
    if not isinstance(value, Mapping):
        raise ValidationError(
            f"properties must be a mapping of str to JSON values; got {value!r}",
            field="properties",
            value=value,
        )
    try:
        return FrozenMapping(value)
    except ValidationError as exc:
        raise ValidationError(f"properties: {exc}", field="properties") from exc


def _encode_optional_id(value: EntityId | None) -> str | None:
    return None if value is None else encode_id(value)


def _decode_id(value: Any, name: str) -> EntityId:
    try:
        return decode_id(value)
    except ValidationError as exc:
        raise ValidationError(f"{name}: {exc}", field=name, value=value) from exc


def _decode_optional_id(value: Any, name: str) -> EntityId | None:
    if value is None:
        return None
    try:
        return decode_id(value)
    except ValidationError as exc:
        raise ValidationError(f"{name}: {exc}", field=name, value=value) from exc


def _check_keys(cls_name: str, data: Any, required: set[str], optional: set[str]) -> None:
    if not isinstance(data, Mapping):
        raise ValidationError(
            f"{cls_name}.from_dict needs a mapping; got {type(data).__name__}", value=data
        )
    missing = sorted(required - set(data))
    if missing:
        raise ValidationError(
            f"{cls_name}.from_dict: missing field(s) {', '.join(missing)}", field=missing[0]
        )
    unknown = sorted(set(data) - required - optional)
    if unknown:
        raise ValidationError(
            f"{cls_name}.from_dict: unknown field(s) {', '.join(map(repr, unknown))}; "
            f"fields: {', '.join(sorted(required | optional))}",
            field=str(unknown[0]),
        )


@attrs.frozen(kw_only=True)
class EngagementEvent:
    """One engagement event: a message sent, delivered, opened or clicked, a visit, a cart.

    Parameters
    ----------
    id : str or uuid.UUID
        Event id chosen by the caller (the sending platform's id); ids are
        unique, and analyses refuse a log that repeats one.
    type : EngagementType or str
        ``send``, ``deliver``, ``open``, ``click``, ``bounce``,
        ``unsubscribe``, ``complaint`` (message events), ``web_visit``,
        ``form_submit``, ``download``, ``cart_add``, ``cart_abandon``,
        ``app_usage``. Case-insensitive.
    channel : Channel or str
        ``email``, ``sms``, ``push``, ``web`` or ``app``; it must suit the
        type (:data:`CHANNEL_TYPES`: an ``open`` is an ``email`` or ``push``
        event, a ``web_visit`` a ``web`` one...).
    at : datetime.datetime
        When it happened (timezone-aware).
    customer_id, contact_id : str or uuid.UUID, optional
        Who: a customer, a contact (B2B), or both; at least one is required.
    campaign_id : str or uuid.UUID, optional
        The campaign the message belongs to.
    message_id : str, optional
        The message (one send of one piece of content).
    variant : str, optional
        The campaign variant (A/B arm) the message carried.
    properties : mapping, default {}
        Free JSON fields, e.g. ``{"user_agent": "...", "url": "..."}``,
        stored as a :class:`~crmcore.domain.FrozenMapping`.

    Examples
    --------
    >>> import datetime as dt
    >>> e = EngagementEvent(
    ...     id="ev-1",
    ...     type="Open",
    ...     channel="email",
    ...     at=dt.datetime(2024, 5, 2, 8, 30, tzinfo=dt.UTC),
    ...     customer_id="C-1",
    ...     campaign_id="spring",
    ...     message_id="m-1",
    ... )
    >>> e.type, e.channel
    (<EngagementType.OPEN: 'open'>, <Channel.EMAIL: 'email'>)
    >>> EngagementEvent.from_dict(e.to_dict()) == e
    True
    """

    id: EntityId = attrs.field(validator=_valid_id)
    type: EngagementType = attrs.field(converter=_to_type)
    channel: Channel = attrs.field(converter=_to_channel)
    at: _dt.datetime = attrs.field(validator=_valid_aware)
    customer_id: EntityId | None = attrs.field(default=None, validator=_valid_optional_id)
    contact_id: EntityId | None = attrs.field(default=None, validator=_valid_optional_id)
    campaign_id: EntityId | None = attrs.field(default=None, validator=_valid_optional_id)
    message_id: str | None = attrs.field(default=None, validator=_valid_optional_text)
    variant: str | None = attrs.field(default=None, validator=_valid_optional_text)
    properties: FrozenMapping = attrs.field(factory=FrozenMapping, converter=_to_properties)

    def __attrs_post_init__(self) -> None:
        if self.customer_id is None and self.contact_id is None:
            raise ValidationError(
                "an engagement event needs customer_id or contact_id (or both)",
                field="customer_id",
            )
        allowed = CHANNEL_TYPES[self.type]
        if self.channel not in allowed:
            names = ", ".join(sorted(c.value for c in allowed))
            raise ValidationError(
                f"a {self.type.value!r} event cannot happen on channel "
                f"{self.channel.value!r}; allowed: {names}",
                field="channel",
                value=self.channel.value,
            )

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-safe dict (ids encoded, ``at`` as ISO 8601 with its zone).

        Returns
        -------
        dict
            One key per field; :meth:`from_dict` reads it back.
        """
        return {
            "id": encode_id(self.id),
            "type": self.type.value,
            "channel": self.channel.value,
            "at": encode_datetime(self.at),
            "customer_id": _encode_optional_id(self.customer_id),
            "contact_id": _encode_optional_id(self.contact_id),
            "campaign_id": _encode_optional_id(self.campaign_id),
            "message_id": self.message_id,
            "variant": self.variant,
            "properties": self.properties.thaw(),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> EngagementEvent:
        """Build from the output of :meth:`to_dict`.

        Parameters
        ----------
        data : mapping
            The output of :meth:`to_dict`; optional fields may be left out.

        Returns
        -------
        EngagementEvent

        Raises
        ------
        ValidationError
            A missing or unknown key, or an invalid value (named).
        """
        _check_keys(
            "EngagementEvent",
            data,
            {"id", "type", "channel", "at"},
            {"customer_id", "contact_id", "campaign_id", "message_id", "variant", "properties"},
        )
        return cls(
            id=_decode_id(data["id"], "id"),
            type=data["type"],
            channel=data["channel"],
            at=decode_datetime(data["at"], field="at"),
            customer_id=_decode_optional_id(data.get("customer_id"), "customer_id"),
            contact_id=_decode_optional_id(data.get("contact_id"), "contact_id"),
            campaign_id=_decode_optional_id(data.get("campaign_id"), "campaign_id"),
            message_id=data.get("message_id"),
            variant=data.get("variant"),
            properties=data.get("properties") or {},
        )


def _valid_bool(_inst: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    if not isinstance(value, bool):
        raise ValidationError(
            f"{attribute.name} must be a bool (True or False); got {value!r}",
            field=attribute.name,
            value=value,
        )


@attrs.frozen(kw_only=True)
class CampaignMember:
    """One customer chosen for a campaign: the variant they get, or the control group.

    Parameters
    ----------
    campaign_id, customer_id : str or uuid.UUID
        The campaign and the customer; together they identify the member.
    selected_at : datetime.datetime
        When the audience was selected (timezone-aware): the ``as_of`` of
        :func:`select_audience`.
    variant : str, optional
        The variant (A/B arm) the customer receives; ``None`` for the
        control group and for single-variant campaigns.
    control : bool, default False
        True for a hold-out customer who receives nothing and measures what
        would have happened anyway.

    Examples
    --------
    >>> import datetime as dt
    >>> m = CampaignMember(
    ...     campaign_id="spring",
    ...     customer_id="C-1",
    ...     selected_at=dt.datetime(2024, 5, 1, tzinfo=dt.UTC),
    ...     control=True,
    ... )
    >>> CampaignMember.from_dict(m.to_dict()) == m
    True
    """

    campaign_id: EntityId = attrs.field(validator=_valid_id)
    customer_id: EntityId = attrs.field(validator=_valid_id)
    selected_at: _dt.datetime = attrs.field(validator=_valid_aware)
    variant: str | None = attrs.field(default=None, validator=_valid_optional_text)
    control: bool = attrs.field(default=False, validator=_valid_bool)

    def __attrs_post_init__(self) -> None:
        if self.control and self.variant is not None:
            raise ValidationError(
                f"a control member receives no variant; got variant={self.variant!r} "
                "with control=True",
                field="variant",
                value=self.variant,
            )

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-safe dict; :meth:`from_dict` reads it back.

        Returns
        -------
        dict
            One key per field.
        """
        return {
            "campaign_id": encode_id(self.campaign_id),
            "customer_id": encode_id(self.customer_id),
            "selected_at": encode_datetime(self.selected_at),
            "variant": self.variant,
            "control": self.control,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> CampaignMember:
        """Build from the output of :meth:`to_dict`.

        Parameters
        ----------
        data : mapping
            The output of :meth:`to_dict`.

        Returns
        -------
        CampaignMember

        Raises
        ------
        ValidationError
            A missing or unknown key, or an invalid value (named).
        """
        _check_keys(
            "CampaignMember",
            data,
            {"campaign_id", "customer_id", "selected_at"},
            {"variant", "control"},
        )
        return cls(
            campaign_id=_decode_id(data["campaign_id"], "campaign_id"),
            customer_id=_decode_id(data["customer_id"], "customer_id"),
            selected_at=decode_datetime(data["selected_at"], field="selected_at"),
            variant=data.get("variant"),
            control=data.get("control", False),
        )
