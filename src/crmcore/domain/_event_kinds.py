"""The event kinds crmcore raises: stage changes, lead conversions, consents, ledger entries.

``StageChanged`` and ``LeadConverted`` are built by
:func:`crmcore.pipeline.advance` and :func:`crmcore.pipeline.convert_lead`,
which validate their inputs; they carry no validators of their own because
``advance`` runs in hot loops (a store still checks every event it records).
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Hashable
from typing import Any, Literal, TypeVar

import attrs

from crmcore._time import instant_key
from crmcore.domain._base import (
    EntityId,
    convert_id,
    convert_lower,
    valid_aware,
    valid_bool,
    valid_id,
    valid_optional_aware,
    valid_optional_text,
    valid_text,
)
from crmcore.domain._codec import dec_datetime, dec_optional_datetime, meta
from crmcore.domain._events import DomainEvent, register_event
from crmcore.domain._parties import Contact, Customer
from crmcore.domain._values import Consent
from crmcore.errors import ValidationError

__all__ = [
    "ConsentChanged",
    "LeadConverted",
    "LedgerEntryPosted",
    "StageChanged",
    "change_consent",
]

P = TypeVar("P", Customer, Contact)


@register_event("pipeline.stage_changed")
@attrs.frozen(slots=True)
class StageChanged(DomainEvent):
    """An entity moved from one stage to another (the audit record of a move).

    Type ``"pipeline.stage_changed"``; ``entity_type`` is the workflow's
    name (``"lead"``, ``"opportunity"``, ``"ticket"``), ``"entity"`` when
    none is given.

    Attributes
    ----------
    entity_id : hashable
        The moved entity's ``id``.
    from_stage, to_stage : str
        Stage before and after the move.
    at : datetime
        When (timezone-aware). Events compare their moments as instants
        (``fold`` included), not as wall-clock readings.
    actor : str or None
        Who moved it.
    reason : str or None
        Reason given (a lost reason, for example).
    workflow : str or None
        Name of the workflow the move belongs to.
    """

    entity_id: Hashable
    from_stage: str
    to_stage: str
    at: _dt.datetime = attrs.field(eq=instant_key, metadata=meta(dec_datetime))
    actor: str | None = None
    reason: str | None = None
    workflow: str | None = None

    @property
    def entity_type(self) -> str:
        """The workflow name (what kind of entity moved), ``"entity"`` when unknown."""
        return self.workflow or "entity"

    def describe(self) -> str:
        """Return e.g. ``"opportunity O-1: proposal -> closed_lost (price)"``."""
        why = f" ({self.reason})" if self.reason else ""
        return f"{self.entity_type} {self.entity_id}: {self.from_stage} -> {self.to_stage}{why}"


@register_event("pipeline.lead_converted")
@attrs.frozen(slots=True)
class LeadConverted(DomainEvent):
    """A lead was converted (recorded next to its :class:`StageChanged`).

    Type ``"pipeline.lead_converted"``, about the lead; the account, contact
    and opportunity are its related entities.

    Attributes
    ----------
    lead_id, account_id, contact_id : hashable
    opportunity_id : hashable or None
    at : datetime
    actor : str or None
    """

    ENTITY_TYPE = "lead"
    ENTITY_FIELD = "lead_id"
    RELATED_FIELDS = ("account_id", "contact_id", "opportunity_id")

    lead_id: Hashable
    account_id: Hashable
    contact_id: Hashable
    opportunity_id: Hashable | None
    at: _dt.datetime = attrs.field(eq=instant_key, metadata=meta(dec_datetime))
    actor: str | None = None

    def describe(self) -> str:
        """Return e.g. ``"lead L-1 converted: account A-1, contact C-1"``."""
        opened = f", opportunity {self.opportunity_id}" if self.opportunity_id is not None else ""
        return (
            f"lead {self.lead_id} converted: account {self.account_id}, "
            f"contact {self.contact_id}{opened}"
        )


def _valid_party(_inst: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    if value not in ("customer", "contact"):
        raise ValidationError(
            f"{attribute.name} must be 'customer' or 'contact'; got {value!r}",
            field=attribute.name,
            value=value,
        )


@register_event("consent.changed")
@attrs.frozen(slots=True)
class ConsentChanged(DomainEvent):
    """A customer or contact gave or withdrew marketing consent for a channel.

    Type ``"consent.changed"``.  :func:`change_consent` returns it next to
    the updated person; ``consent`` gives the :class:`Consent` value.

    Parameters
    ----------
    entity_id : str or uuid.UUID
        The customer (or contact).
    channel : str
        ``"email"``, ``"sms"``... (stored lower-case).
    granted : bool
        Opt-in (True) or opt-out (False).
    at : datetime.datetime
        When (timezone-aware).
    source : str, optional
        Where it was captured.
    actor : str, optional
        Who recorded it.
    entity_type : {"customer", "contact"}, default "customer"
        Whose consent it is.

    Examples
    --------
    >>> import datetime as dt
    >>> e = ConsentChanged("c1", "Email", False, dt.datetime(2026, 2, 1, tzinfo=dt.UTC))
    >>> e.type, e.channel, e.consent.granted
    ('consent.changed', 'email', False)
    """

    entity_id: EntityId = attrs.field(converter=convert_id, validator=valid_id)
    channel: str = attrs.field(converter=convert_lower, validator=valid_text)
    granted: bool = attrs.field(validator=valid_bool)
    at: _dt.datetime = attrs.field(
        eq=instant_key, validator=valid_aware, metadata=meta(dec_datetime)
    )
    source: str | None = attrs.field(default=None, validator=valid_optional_text)
    actor: str | None = attrs.field(default=None, validator=valid_optional_text)
    entity_type: Literal["customer", "contact"] = attrs.field(
        default="customer", validator=_valid_party
    )

    def __attrs_post_init__(self) -> None:
        self.consent  # noqa: B018 -- the channel must make a valid Consent

    def describe(self) -> str:
        """Return e.g. ``"email consent withdrawn (web form)"``."""
        what = "given" if self.granted else "withdrawn"
        where = f" ({self.source})" if self.source else ""
        return f"{self.channel} consent {what}{where}"

    @property
    def consent(self) -> Consent:
        """The consent as a value object."""
        return Consent(channel=self.channel, granted=self.granted, at=self.at, source=self.source)


def change_consent(
    person: P, consent: Consent, *, actor: str | None = None
) -> tuple[P, tuple[ConsentChanged, ...]]:
    """Append a consent to a customer's or contact's history; return it and the event.

    Like :func:`crmcore.pipeline.advance`: pure, the input is unchanged, and
    the event is meant for ``uow.record`` so that the change and its audit
    record are stored together.

    Parameters
    ----------
    person : Customer or Contact
        Whose consent changes.
    consent : Consent
        The opt-in or opt-out.
    actor : str, optional
        Who recorded it.

    Returns
    -------
    person : Customer or Contact
        A copy with ``consent`` appended to ``consents``.
    events : tuple of ConsentChanged
        One event.

    Raises
    ------
    ValidationError
        ``person`` is not a Customer or Contact, or ``consent`` not a Consent.

    Examples
    --------
    >>> import datetime as dt
    >>> from crmcore.domain import Consent, Customer
    >>> at = dt.datetime(2026, 2, 1, tzinfo=dt.UTC)
    >>> ada = Customer(id="c1", name="Ada", created_at=at)
    >>> ada, events = change_consent(ada, Consent(channel="email", granted=True, at=at))
    >>> ada.has_consent("email"), events[0].entity_id
    (True, 'c1')
    """
    given: object = person  # checked: callers may pass anything
    if not isinstance(given, Customer | Contact):
        raise ValidationError(
            f"person must be a Customer or a Contact; got {type(person).__name__}",
            field="person",
        )
    if not isinstance(consent, Consent):
        raise ValidationError(
            f"consent must be a Consent; got {type(consent).__name__}", field="consent"
        )
    event = ConsentChanged(
        person.id,
        consent.channel,
        consent.granted,
        consent.at,
        consent.source,
        actor,
        entity_type="customer" if isinstance(given, Customer) else "contact",
    )
    return person.with_consent(consent), (event,)


_ENTRY_KINDS = ("earn", "redeem", "clawback")


def _valid_entry_kind(_inst: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    if value not in _ENTRY_KINDS:
        raise ValidationError(
            f"{attribute.name} must be one of {', '.join(map(repr, _ENTRY_KINDS))}; got {value!r}",
            field=attribute.name,
            value=value,
        )


def _valid_int(_inst: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValidationError(
            f"{attribute.name} must be an int; got {value!r}", field=attribute.name, value=value
        )


@register_event("loyalty.entry_posted")
@attrs.frozen(slots=True)
class LedgerEntryPosted(DomainEvent):
    """A line was added to a member's points ledger.

    Type ``"loyalty.entry_posted"``, about the loyalty account.  The fields
    are those of :class:`crmcore.loyalty.LedgerEntry`; the store's
    ``loyalty_ledger`` records one of these for every entry it stores.

    Parameters
    ----------
    account_id : str or uuid.UUID
        The loyalty account (ledger).
    sequence : int
        Position of the entry in its ledger.
    event_id : str
        The ledger's idempotency key (the purchase, redemption or refund id).
    kind : {"earn", "redeem", "clawback"}
        What happened.
    at : datetime.datetime
        When (timezone-aware).
    points : int
        Signed points.
    order_id : str, optional
        For a claw-back: the refunded purchase.
    spend_minor : int, default 0
        For an earn: the purchase amount in minor units.
    expires_at : datetime.datetime, optional
        For an earn: when the lot expires.
    actor : str, optional
        Who posted it.
    """

    ENTITY_TYPE = "loyalty_account"
    ENTITY_FIELD = "account_id"

    account_id: EntityId = attrs.field(converter=convert_id, validator=valid_id)
    sequence: int = attrs.field(validator=_valid_int)
    event_id: str = attrs.field(validator=valid_text)
    kind: str = attrs.field(validator=_valid_entry_kind)
    at: _dt.datetime = attrs.field(
        eq=instant_key, validator=valid_aware, metadata=meta(dec_datetime)
    )
    points: int = attrs.field(validator=_valid_int)
    order_id: str | None = attrs.field(default=None, validator=valid_optional_text)
    spend_minor: int = attrs.field(default=0, validator=_valid_int)
    expires_at: _dt.datetime | None = attrs.field(
        default=None,
        eq=instant_key,
        validator=valid_optional_aware,
        metadata=meta(dec_optional_datetime),
    )
    actor: str | None = attrs.field(default=None, validator=valid_optional_text)

    def describe(self) -> str:
        """Return e.g. ``"earn +120 points (O-1)"``."""
        return f"{self.kind} {self.points:+d} points ({self.event_id})"
