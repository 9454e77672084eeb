"""Marketing events: engagement (sends, opens, clicks, visits, carts) and campaign membership.

They live in the domain, next to the other registered kinds, so that every
store decodes them by their type name whether or not :mod:`crmcore.marketing`
was imported (:mod:`crmcore.marketing` re-exports them).

:class:`EngagementEvent` (``"marketing.engagement"``) is one event of a
person's engagement: a message sent, delivered, opened, clicked, bounced,
unsubscribed from or complained about, a web visit, a form, a download, a
cart, an app session.  It is about the customer (or the contact, B2B); its
campaign and contact are related ids, so a store finds a campaign's
engagement by the campaign's id.

:class:`CampaignMemberAdded`, :class:`CampaignMemberReassigned` and
:class:`CampaignMemberRemoved` record changes of a campaign's audience
(built by :func:`crmcore.domain.add_campaign_member` and its siblings); they
are about the :class:`~crmcore.domain.CampaignMember`, with the campaign and
the customer as related ids.
"""

from __future__ import annotations

import datetime as _dt
import enum
from collections.abc import Mapping
from typing import Any, Final

import attrs

from crmcore._time import instant_key
from crmcore.domain._base import (
    EntityId,
    convert_id,
    convert_optional_id,
    valid_aware,
    valid_bool,
    valid_id,
    valid_optional_id,
    valid_optional_text,
)
from crmcore.domain._codec import dec_datetime, meta
from crmcore.domain._events import DomainEvent, register_event
from crmcore.domain._frozen import FrozenMapping
from crmcore.errors import ValidationError

__all__ = [
    "CHANNEL_TYPES",
    "MESSAGE_TYPES",
    "CampaignMemberAdded",
    "CampaignMemberReassigned",
    "CampaignMemberRemoved",
    "Channel",
    "EngagementEvent",
    "EngagementType",
]


class EngagementType(enum.StrEnum):
    """What happened: the ``kind`` of an :class:`EngagementEvent`.

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
    """Where engagement happens: ``email``, ``sms``, ``push`` (messages), ``web``, ``app``."""

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
"""The channels each engagement type can happen on (anything else is refused)."""

MESSAGE_TYPES: Final = frozenset(
    {_T.SEND, _T.DELIVER, _T.OPEN, _T.CLICK, _T.BOUNCE, _T.UNSUBSCRIBE, _T.COMPLAINT}
)
"""Engagement types that follow one message (they carry ``message_id`` when known)."""


def _enum_value(cls: type[enum.Enum], name: str, value: Any) -> Any:
    if isinstance(value, cls):
        return value
    if isinstance(value, str):
        try:
            return cls(value.strip().lower())
        except ValueError:
            pass
    allowed = ", ".join(repr(m.value) for m in cls)
    raise ValidationError(
        f"{name} must be one of {allowed}; got {value!r}", field=name, value=value
    )


def _to_kind(value: Any) -> EngagementType:
    kind: EngagementType = _enum_value(EngagementType, "kind", value)
    return kind


def _to_channel(value: Any) -> Channel:
    channel: Channel = _enum_value(Channel, "channel", value)
    return channel


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


def _person(event: Any) -> tuple[str, Any]:
    if event.customer_id is not None:
        return "customer", event.customer_id
    return "contact", event.contact_id


@register_event("marketing.engagement")
@attrs.frozen(kw_only=True, slots=True)
class EngagementEvent(DomainEvent):
    """One engagement event: a message sent, delivered, opened or clicked, a visit, a cart.

    A registered domain event (type ``"marketing.engagement"``): record it
    in a unit of work or append it to ``store.events``, and read a
    campaign's engagement back as a frame with
    ``store.events.engagement(campaign=...)``.  It is about the customer
    (``entity_type`` ``"customer"``), or the contact when no customer is
    given; the campaign and the contact are related ids.

    Parameters
    ----------
    kind : EngagementType or str
        What happened: ``send``, ``deliver``, ``open``, ``click``,
        ``bounce``, ``unsubscribe``, ``complaint`` (message events),
        ``web_visit``, ``form_submit``, ``download``, ``cart_add``,
        ``cart_abandon``, ``app_usage``. Case-insensitive.
    channel : Channel or str
        ``email``, ``sms``, ``push``, ``web`` or ``app``; it must suit the
        kind (:data:`CHANNEL_TYPES`: an ``open`` is an ``email`` or ``push``
        event, a ``web_visit`` a ``web`` one...).
    at : datetime.datetime
        When it happened (timezone-aware; compared as an instant).
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
    actor : str, optional
        Who recorded it (the sending platform, an import job).
    id : str or uuid.UUID, optional
        The sending platform's event id; generated when not given (see
        :class:`~crmcore.domain.DomainEvent`).  A store refuses a second
        event with the same id, so re-importing a platform's log is safe.

    Notes
    -----
    ``type`` is the registered type name, as on every domain event; what
    happened is ``kind`` (the ``type`` column of the engagement frame).
    Equality compares what happened, not the ``id``.

    Examples
    --------
    >>> import datetime as dt
    >>> e = EngagementEvent(
    ...     id="ev-1",
    ...     kind="Open",
    ...     channel="email",
    ...     at=dt.datetime(2024, 5, 2, 8, 30, tzinfo=dt.UTC),
    ...     customer_id="C-1",
    ...     campaign_id="spring",
    ...     message_id="m-1",
    ... )
    >>> e.type, e.kind, e.channel
    ('marketing.engagement', <EngagementType.OPEN: 'open'>, <Channel.EMAIL: 'email'>)
    >>> e.entity_id, e.related_ids
    ('C-1', ('spring',))
    >>> EngagementEvent.from_dict(e.to_dict()) == e
    True
    """

    ENTITY_TYPE = "customer"
    ENTITY_FIELD = "customer_id"
    RELATED_FIELDS = ("campaign_id", "contact_id")

    kind: EngagementType = attrs.field(converter=_to_kind)
    channel: Channel = attrs.field(converter=_to_channel)
    at: _dt.datetime = attrs.field(
        eq=instant_key, validator=valid_aware, metadata=meta(dec_datetime)
    )
    customer_id: EntityId | None = attrs.field(
        default=None, converter=convert_optional_id, validator=valid_optional_id
    )
    contact_id: EntityId | None = attrs.field(
        default=None, converter=convert_optional_id, validator=valid_optional_id
    )
    campaign_id: EntityId | None = attrs.field(
        default=None, converter=convert_optional_id, validator=valid_optional_id
    )
    message_id: str | None = attrs.field(default=None, validator=valid_optional_text)
    variant: str | None = attrs.field(default=None, validator=valid_optional_text)
    properties: FrozenMapping = attrs.field(factory=FrozenMapping, converter=_to_properties)
    actor: str | None = attrs.field(default=None, validator=valid_optional_text)

    def __attrs_post_init__(self) -> None:
        if self.customer_id is None and self.contact_id is None:
            raise ValidationError(
                "an engagement event needs customer_id or contact_id (or both)",
                field="customer_id",
            )
        allowed = CHANNEL_TYPES[self.kind]
        if self.channel not in allowed:
            names = ", ".join(sorted(c.value for c in allowed))
            raise ValidationError(
                f"a {self.kind.value!r} event cannot happen on channel "
                f"{self.channel.value!r}; allowed: {names}",
                field="channel",
                value=self.channel.value,
            )

    @property
    def entity_id(self) -> Any:
        """The customer, or the contact when the event names no customer."""
        return _person(self)[1]

    @property
    def entity_type(self) -> str:
        """``"customer"``, or ``"contact"`` when the event names no customer."""
        return _person(self)[0]

    @property
    def related_ids(self) -> tuple[Any, ...]:
        """The campaign and the contact (when they are not the entity itself)."""
        out = [] if self.campaign_id is None else [self.campaign_id]
        if self.customer_id is not None and self.contact_id is not None:
            out.append(self.contact_id)
        return tuple(out)

    def describe(self) -> str:
        """Return e.g. ``"email open (campaign spring, message m-1)"``."""
        parts = []
        if self.campaign_id is not None:
            parts.append(f"campaign {self.campaign_id}")
        if self.message_id is not None:
            parts.append(f"message {self.message_id}")
        if self.variant is not None:
            parts.append(f"variant {self.variant}")
        where = f" ({', '.join(parts)})" if parts else ""
        return f"{self.channel.value} {self.kind.value}{where}"


# ---------------------------------------------------------------- membership


def _arm(variant: str | None, control: bool) -> str:
    if control:
        return "control group"
    return "variant " + variant if variant is not None else "treatment"


@register_event("marketing.member_added")
@attrs.frozen(kw_only=True, slots=True)
class CampaignMemberAdded(DomainEvent):
    """A customer joined a campaign's audience, in a variant or in the control group.

    Type ``"marketing.member_added"``, about the campaign member; the
    campaign and the customer are related ids.  Built by
    :func:`~crmcore.domain.add_campaign_member`.

    Parameters
    ----------
    member_id : str or uuid.UUID
        The :class:`~crmcore.domain.CampaignMember`'s id.
    campaign_id, customer_id : str or uuid.UUID
        The campaign and the customer.
    variant : str, optional
        The variant the member receives.
    control : bool, default False
        Held out (receives nothing).
    at : datetime.datetime
        When (timezone-aware): the member's ``selected_at``.
    actor : str, optional
        Who added the member.
    """

    ENTITY_TYPE = "campaign_member"
    ENTITY_FIELD = "member_id"
    RELATED_FIELDS = ("campaign_id", "customer_id")

    member_id: EntityId = attrs.field(converter=convert_id, validator=valid_id)
    campaign_id: EntityId = attrs.field(converter=convert_id, validator=valid_id)
    customer_id: EntityId = attrs.field(converter=convert_id, validator=valid_id)
    variant: str | None = attrs.field(default=None, validator=valid_optional_text)
    control: bool = attrs.field(default=False, validator=valid_bool)
    at: _dt.datetime = attrs.field(
        eq=instant_key, validator=valid_aware, metadata=meta(dec_datetime)
    )
    actor: str | None = attrs.field(default=None, validator=valid_optional_text)

    def describe(self) -> str:
        """Return e.g. ``"added to campaign spring (variant A)"``."""
        return f"added to campaign {self.campaign_id} ({_arm(self.variant, self.control)})"


@register_event("marketing.member_reassigned")
@attrs.frozen(kw_only=True, slots=True)
class CampaignMemberReassigned(DomainEvent):
    """A campaign member moved to another variant, or into or out of the control group.

    Type ``"marketing.member_reassigned"``; built by
    :func:`~crmcore.domain.reassign_campaign_member`.

    Parameters
    ----------
    member_id, campaign_id, customer_id : str or uuid.UUID
        The member, its campaign and its customer.
    variant, control
        The assignment from now on.
    previous_variant, previous_control
        The assignment before.
    at : datetime.datetime
        When (timezone-aware).
    actor : str, optional
        Who changed it.
    """

    ENTITY_TYPE = "campaign_member"
    ENTITY_FIELD = "member_id"
    RELATED_FIELDS = ("campaign_id", "customer_id")

    member_id: EntityId = attrs.field(converter=convert_id, validator=valid_id)
    campaign_id: EntityId = attrs.field(converter=convert_id, validator=valid_id)
    customer_id: EntityId = attrs.field(converter=convert_id, validator=valid_id)
    variant: str | None = attrs.field(validator=valid_optional_text)
    control: bool = attrs.field(validator=valid_bool)
    previous_variant: str | None = attrs.field(validator=valid_optional_text)
    previous_control: bool = attrs.field(validator=valid_bool)
    at: _dt.datetime = attrs.field(
        eq=instant_key, validator=valid_aware, metadata=meta(dec_datetime)
    )
    actor: str | None = attrs.field(default=None, validator=valid_optional_text)

    def describe(self) -> str:
        """Return e.g. ``"campaign spring: variant A -> control group"``."""
        before = _arm(self.previous_variant, self.previous_control)
        return f"campaign {self.campaign_id}: {before} -> {_arm(self.variant, self.control)}"


@register_event("marketing.member_removed")
@attrs.frozen(kw_only=True, slots=True)
class CampaignMemberRemoved(DomainEvent):
    """A customer left a campaign's audience before it ended.

    Type ``"marketing.member_removed"``; built by
    :func:`~crmcore.domain.remove_campaign_member`.

    Parameters
    ----------
    member_id, campaign_id, customer_id : str or uuid.UUID
        The member, its campaign and its customer.
    at : datetime.datetime
        When (timezone-aware).
    reason : str, optional
        Why (``"consent withdrawn"``, ``"duplicate"``...).
    actor : str, optional
        Who removed it.
    """

    ENTITY_TYPE = "campaign_member"
    ENTITY_FIELD = "member_id"
    RELATED_FIELDS = ("campaign_id", "customer_id")

    member_id: EntityId = attrs.field(converter=convert_id, validator=valid_id)
    campaign_id: EntityId = attrs.field(converter=convert_id, validator=valid_id)
    customer_id: EntityId = attrs.field(converter=convert_id, validator=valid_id)
    at: _dt.datetime = attrs.field(
        eq=instant_key, validator=valid_aware, metadata=meta(dec_datetime)
    )
    reason: str | None = attrs.field(default=None, validator=valid_optional_text)
    actor: str | None = attrs.field(default=None, validator=valid_optional_text)

    def describe(self) -> str:
        """Return e.g. ``"removed from campaign spring (consent withdrawn)"``."""
        why = f" ({self.reason})" if self.reason else ""
        return f"removed from campaign {self.campaign_id}{why}"
