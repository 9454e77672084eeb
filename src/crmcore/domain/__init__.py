"""The CRM domain model: frozen attrs entities and value objects.

Entities (:class:`Customer`, :class:`Account`, :class:`Contact`,
:class:`Lead`, :class:`Opportunity`, :class:`Activity`, :class:`Ticket`,
:class:`Campaign`, :class:`Order`, :class:`SurveyResponse`,
:class:`LoyaltyAccount`, :class:`CampaignMember`, :class:`Product`,
:class:`OrderLine`) are frozen, slotted attrs classes built with
keyword arguments.  Each has an ``id`` chosen by the caller, a ``version``
for optimistic concurrency and a ``custom`` mapping of user fields, and
round-trips losslessly through ``to_dict()`` / ``from_dict()`` (JSON-safe).

An order with lines is worth the sum of their totals
(:func:`check_order_lines`, :func:`order_total`).

Value objects: :class:`Money` (exact Decimal amount in one ISO 4217
currency), :class:`Consent`, :class:`Address`, :class:`EmailAddress`,
:class:`PhoneNumber` (E.164 where the country is known).

A marketing journey's :class:`Enrolment` (one customer's way through a
journey, with a derived id; the engine is :mod:`crmcore.marketing.journeys`)
is stored like an entity.

Domain events (:class:`DomainEvent`): :class:`StageChanged`,
:class:`LeadConverted`, :class:`Assigned`, :class:`ArticleSaved`,
:class:`ConsentChanged`, :class:`LedgerEntryPosted`, marketing's
:class:`EngagementEvent` (sends, opens, clicks, visits, carts:
:class:`EngagementType` on a :class:`Channel`) and the audience changes
:class:`CampaignMemberAdded`, :class:`CampaignMemberReassigned`,
:class:`CampaignMemberRemoved`, and, for types no registered kind claims,
:class:`GenericEvent`; new kinds register with :func:`register_event` (see
:data:`EVENT_TYPES`).  :func:`change_consent` updates a consent history and
returns its event; :func:`add_campaign_member`,
:func:`reassign_campaign_member` and :func:`remove_campaign_member` do the
same for campaign members.

Every invalid value raises :class:`crmcore.errors.ValidationError` naming
the field; datetimes must be timezone-aware.  Nothing here reads the clock
or does I/O.

Examples
--------
>>> import datetime as dt
>>> import attrs
>>> from crmcore.domain import Customer
>>> ada = Customer(id="C-1", name="Ada", created_at=dt.datetime(2024, 1, 5, tzinfo=dt.UTC))
>>> renamed = attrs.evolve(ada, name="Ada King")
>>> renamed.name, ada.name
('Ada King', 'Ada')
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from crmcore.domain._base import (
    EntityId,
    decode_id,
    encode_id,
)
from crmcore.domain._campaign_member import (
    CampaignMember,
    add_campaign_member,
    campaign_member_id,
    reassign_campaign_member,
    remove_campaign_member,
)
from crmcore.domain._catalogue import OrderLine, Product, check_order_lines, order_total
from crmcore.domain._codec import (
    decode_date,
    decode_datetime,
    encode_date,
    encode_datetime,
)
from crmcore.domain._commerce import LoyaltyAccount, Order, OrderStatus
from crmcore.domain._entity import Entity
from crmcore.domain._event_kinds import (
    ArticleSaved,
    Assigned,
    ConsentChanged,
    LeadConverted,
    LedgerEntryPosted,
    StageChanged,
    change_consent,
)
from crmcore.domain._events import (
    EVENT_TYPES,
    DomainEvent,
    GenericEvent,
    new_event_id,
    register_event,
)
from crmcore.domain._frozen import (
    FrozenMapping,
)
from crmcore.domain._identity_events import (
    REPOINTED,
    CustomersMerged,
    MergeUndone,
    NotDuplicateMarked,
    RecordMove,
)
from crmcore.domain._journeys import ENROLMENT_STATUSES, Enrolment, enrolment_id
from crmcore.domain._marketing_events import (
    CHANNEL_TYPES,
    MESSAGE_TYPES,
    CampaignMemberAdded,
    CampaignMemberReassigned,
    CampaignMemberRemoved,
    Channel,
    EngagementEvent,
    EngagementType,
)
from crmcore.domain._money import Money
from crmcore.domain._parties import Account, Contact, Customer
from crmcore.domain._sales import (
    Activity,
    ActivityKind,
    Campaign,
    CampaignStatus,
    Lead,
    Opportunity,
)
from crmcore.domain._service import (
    SurveyKind,
    SurveyResponse,
    Ticket,
    TicketChannel,
    TicketPriority,
)
from crmcore.domain._values import (
    CALLING_CODES,
    Address,
    Consent,
    EmailAddress,
    PhoneNumber,
    current_consent,
)

__all__ = [
    "CALLING_CODES",
    "CHANNEL_TYPES",
    "ENROLMENT_STATUSES",
    "ENTITY_TYPES",
    "EVENT_TYPES",
    "MESSAGE_TYPES",
    "REPOINTED",
    "Account",
    "Activity",
    "ActivityKind",
    "Address",
    "ArticleSaved",
    "Assigned",
    "Campaign",
    "CampaignMember",
    "CampaignMemberAdded",
    "CampaignMemberReassigned",
    "CampaignMemberRemoved",
    "CampaignStatus",
    "Channel",
    "Consent",
    "ConsentChanged",
    "Contact",
    "Customer",
    "CustomersMerged",
    "DomainEvent",
    "EmailAddress",
    "EngagementEvent",
    "EngagementType",
    "Enrolment",
    "Entity",
    "EntityId",
    "FrozenMapping",
    "GenericEvent",
    "Lead",
    "LeadConverted",
    "LedgerEntryPosted",
    "LoyaltyAccount",
    "MergeUndone",
    "Money",
    "NotDuplicateMarked",
    "Opportunity",
    "Order",
    "OrderLine",
    "OrderStatus",
    "PhoneNumber",
    "Product",
    "RecordMove",
    "StageChanged",
    "SurveyKind",
    "SurveyResponse",
    "Ticket",
    "TicketChannel",
    "TicketPriority",
    "add_campaign_member",
    "campaign_member_id",
    "change_consent",
    "check_order_lines",
    "current_consent",
    "decode_date",
    "decode_datetime",
    "decode_id",
    "encode_date",
    "encode_datetime",
    "encode_id",
    "enrolment_id",
    "new_event_id",
    "order_total",
    "reassign_campaign_member",
    "register_event",
    "remove_campaign_member",
]

ENTITY_TYPES: Mapping[str, type[Entity]] = MappingProxyType(
    {
        cls.__name__: cls
        for cls in (
            Customer,
            Account,
            Contact,
            Lead,
            Opportunity,
            Activity,
            Ticket,
            Campaign,
            Order,
            SurveyResponse,
            LoyaltyAccount,
            CampaignMember,
            Product,
            OrderLine,
        )
    }
)
"""Every entity class by its class name.

A read-only mapping from ``"Customer"``, ``"Account"``, ``"Contact"``,
``"Lead"``, ``"Opportunity"``, ``"Activity"``, ``"Ticket"``,
``"Campaign"``, ``"Order"``, ``"SurveyResponse"``, ``"LoyaltyAccount"``,
``"CampaignMember"``, ``"Product"`` and ``"OrderLine"`` to the class, in a
fixed order.  It is meant for storage and tooling: to
rebuild an entity from a type name and its :meth:`Entity.to_dict` data
(``ENTITY_TYPES[name].from_dict(data)``), or to iterate over every
aggregate type.

:meta hide-value:

Examples
--------
>>> list(ENTITY_TYPES)[:3]
['Customer', 'Account', 'Contact']
>>> ENTITY_TYPES["Ticket"] is Ticket
True
"""
