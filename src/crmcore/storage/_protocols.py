"""Repository Protocols: the port every store implements.

Code that stores or loads CRM records should depend on these Protocols (or
on :class:`Store`), never on a concrete store, so that the in-memory double
and the SQL store are interchangeable.  ``mypy`` checks that both stores
satisfy them; the contract tests check that they behave alike.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any, Protocol, TypeVar, cast

import pandas as pd

from crmcore.domain import (
    Account,
    Activity,
    Campaign,
    CampaignMember,
    Contact,
    Customer,
    Enrolment,
    Lead,
    LoyaltyAccount,
    Opportunity,
    Order,
    OrderLine,
    Product,
    SurveyResponse,
    Ticket,
)

if TYPE_CHECKING:
    from crmcore.storage._event_protocols import EventStore, LedgerRepository, Outbox
    from crmcore.storage._uow import EventHandler, UnitOfWork

__all__ = [
    "AccountRepository",
    "ActivityRepository",
    "CampaignMemberRepository",
    "CampaignRepository",
    "ContactRepository",
    "CustomerRepository",
    "Identifier",
    "JourneyEnrolmentRepository",
    "LeadRepository",
    "LoyaltyAccountRepository",
    "OpportunityRepository",
    "OrderLineRepository",
    "OrderRepository",
    "ProductRepository",
    "Repository",
    "RepositoryAccess",
    "Store",
    "SurveyResponseRepository",
    "TicketRepository",
    "Versioned",
    "Where",
]

E = TypeVar("E")

#: An entity identifier: the domain uses ``str`` or :class:`uuid.UUID`.
Identifier = str | uuid.UUID | int
#: Anything accepted as ``where=`` (see :mod:`crmcore.storage`).
Where = Any


class Versioned(Protocol):
    """What every stored entity has: an identifier and a version."""

    @property
    def id(self) -> Any: ...

    @property
    def version(self) -> int: ...


class Repository(Protocol[E]):
    """The operations every repository offers, for entities of type ``E``."""

    def add(self, entity: E) -> E:
        """Store a new record; return it as stored.

        Raises ``ValidationError`` if the id exists or a value cannot be stored.
        """
        ...

    def get(self, id: Identifier) -> E:
        """Return the record with ``id``; raise ``NotFound`` if there is none."""
        ...

    def find(self, id: Identifier) -> E | None:
        """Return the record with ``id``, or ``None``."""
        ...

    def update(self, entity: E) -> E:
        """Replace a record if its stored version equals ``entity.version``.

        Returns the stored entity with ``version + 1``.  Raises
        ``ConcurrencyConflict`` on a version mismatch, ``NotFound`` if absent.
        """
        ...

    def remove(self, id: Identifier, *, expected_version: int | None = None) -> None:
        """Delete a record (optionally only at ``expected_version``); ``NotFound`` if absent."""
        ...

    def add_many(self, entities: Iterable[E], *, batch_size: int = 10_000) -> int:
        """Store many new records atomically (all or none); return how many."""
        ...

    def add_frame(self, frame: pd.DataFrame, *, batch_size: int = 10_000) -> int:
        """Store a whole table of new records atomically (all or none); return how many.

        ``frame`` has one column per field, named as :meth:`to_frame` names
        them (a Money field ``amount`` as ``amount`` and ``amount_currency``);
        fields with a default may be left out.  Values are validated column
        by column with the domain's own rules, without building an entity
        per row; a refused value raises the ``ValidationError`` that
        ``add_many`` raises for the same record, with ``row`` set to the
        frame's index label, and stores nothing.
        """
        ...

    def update_many(self, entities: Iterable[E], *, batch_size: int = 10_000) -> int:
        """Replace many records atomically (all or none), each checked like ``update``.

        Every stored version must equal the entity's; each is stored with
        ``version + 1``.  Raises ``ConcurrencyConflict`` (or ``NotFound``)
        naming the first record that fails, and stores nothing; returns how
        many were replaced.
        """
        ...

    def query(
        self,
        where: Where = None,
        *,
        order_by: str | Sequence[str] | None = None,
        limit: int | None = None,
        offset: int = 0,
    ) -> list[E]:
        """Return the records matching ``where``, ordered and paginated."""
        ...

    def count(self, where: Where = None) -> int:
        """Return the number of records matching ``where``."""
        ...

    def to_frame(
        self,
        columns: Sequence[str] | None = None,
        *,
        where: Where = None,
        order_by: str | Sequence[str] | None = None,
        batch_size: int = 50_000,
    ) -> pd.DataFrame:
        """Export matching records column-wise into a DataFrame (no entities built)."""
        ...


class CustomerRepository(Repository[Customer], Protocol):
    """Repository of :class:`~crmcore.domain.Customer` (``store.customers``)."""


class AccountRepository(Repository[Account], Protocol):
    """Repository of :class:`~crmcore.domain.Account` (``store.accounts``)."""


class ContactRepository(Repository[Contact], Protocol):
    """Repository of :class:`~crmcore.domain.Contact` (``store.contacts``)."""


class LeadRepository(Repository[Lead], Protocol):
    """Repository of :class:`~crmcore.domain.Lead` (``store.leads``)."""


class OpportunityRepository(Repository[Opportunity], Protocol):
    """Repository of :class:`~crmcore.domain.Opportunity` (``store.opportunities``)."""


class ActivityRepository(Repository[Activity], Protocol):
    """Repository of :class:`~crmcore.domain.Activity` (``store.activities``)."""


class TicketRepository(Repository[Ticket], Protocol):
    """Repository of :class:`~crmcore.domain.Ticket` (``store.tickets``)."""


class CampaignRepository(Repository[Campaign], Protocol):
    """Repository of :class:`~crmcore.domain.Campaign` (``store.campaigns``)."""


class OrderRepository(Repository[Order], Protocol):
    """Repository of :class:`~crmcore.domain.Order` (``store.orders``).

    ``to_frame()`` gives the columns ``id, version, customer_id, placed_at,
    amount, amount_currency, status, campaign_id, channel`` with ``placed_at``
    as ``datetime64[us, UTC]`` and ``amount`` as float64: the transaction
    table the numeric core (``crmcore.clv.rfm_summary``) takes.
    """


class SurveyResponseRepository(Repository[SurveyResponse], Protocol):
    """Repository of :class:`~crmcore.domain.SurveyResponse` (``store.survey_responses``)."""


class LoyaltyAccountRepository(Repository[LoyaltyAccount], Protocol):
    """Repository of :class:`~crmcore.domain.LoyaltyAccount` (``store.loyalty_accounts``)."""


class CampaignMemberRepository(Repository[CampaignMember], Protocol):
    """Repository of :class:`~crmcore.domain.CampaignMember` (``store.campaign_members``).

    ``to_frame(["campaign_id", "customer_id", "variant", "control",
    "selected_at"])`` gives the members frame
    :func:`crmcore.marketing.campaign_kpis` takes; ``campaign_id`` and
    ``customer_id`` are indexed.
    """


class JourneyEnrolmentRepository(Repository[Enrolment], Protocol):
    """Repository of journey :class:`~crmcore.domain.Enrolment` (``store.journey_enrolments``).

    Kept by :func:`crmcore.marketing.journeys.run_tick`; ``journey_id``,
    ``customer_id``, ``status`` and ``due_at`` are indexed.
    """


class ProductRepository(Repository[Product], Protocol):
    """Repository of :class:`~crmcore.domain.Product` (``store.products``): the catalogue.

    ``sku`` is indexed.  Retire a product (``active=False``) rather than
    remove it: stored order lines keep naming it.
    """


class OrderLineRepository(Repository[OrderLine], Protocol):
    """Repository of :class:`~crmcore.domain.OrderLine` (``store.order_lines``).

    Every write checks that the line's ``product_id`` names a stored product
    and its ``order_id`` a stored order (a
    :class:`~crmcore.errors.ValidationError` names the missing one);
    ``order_id`` and ``product_id`` are indexed.  Write an order with its
    lines, checked against its amount, with :func:`~crmcore.storage.add_order`;
    read them for the recommenders with
    :func:`~crmcore.storage.order_lines_frame`.
    """


class RepositoryAccess:
    """Typed attribute access to a store's (or unit of work's) repositories."""

    def repository(self, name: str) -> Any:
        """Return the repository of aggregate ``name``."""
        raise NotImplementedError

    @property
    def customers(self) -> CustomerRepository:
        """Customers."""
        return cast("CustomerRepository", self.repository("customers"))

    @property
    def accounts(self) -> AccountRepository:
        """Accounts (companies)."""
        return cast("AccountRepository", self.repository("accounts"))

    @property
    def contacts(self) -> ContactRepository:
        """Contacts (people at accounts)."""
        return cast("ContactRepository", self.repository("contacts"))

    @property
    def leads(self) -> LeadRepository:
        """Leads."""
        return cast("LeadRepository", self.repository("leads"))

    @property
    def opportunities(self) -> OpportunityRepository:
        """Opportunities."""
        return cast("OpportunityRepository", self.repository("opportunities"))

    @property
    def activities(self) -> ActivityRepository:
        """Activities (calls, meetings, e-mails, tasks)."""
        return cast("ActivityRepository", self.repository("activities"))

    @property
    def tickets(self) -> TicketRepository:
        """Service tickets."""
        return cast("TicketRepository", self.repository("tickets"))

    @property
    def campaigns(self) -> CampaignRepository:
        """Marketing campaigns."""
        return cast("CampaignRepository", self.repository("campaigns"))

    @property
    def orders(self) -> OrderRepository:
        """Orders (purchases)."""
        return cast("OrderRepository", self.repository("orders"))

    @property
    def survey_responses(self) -> SurveyResponseRepository:
        """Survey responses (NPS / CSAT / CES)."""
        return cast("SurveyResponseRepository", self.repository("survey_responses"))

    @property
    def loyalty_accounts(self) -> LoyaltyAccountRepository:
        """Loyalty programme memberships."""
        return cast("LoyaltyAccountRepository", self.repository("loyalty_accounts"))

    @property
    def campaign_members(self) -> CampaignMemberRepository:
        """Campaign members (who a campaign targets, by variant or in the control group)."""
        return cast("CampaignMemberRepository", self.repository("campaign_members"))

    @property
    def journey_enrolments(self) -> JourneyEnrolmentRepository:
        """Journey enrolments (each customer's way through a marketing journey)."""
        return cast("JourneyEnrolmentRepository", self.repository("journey_enrolments"))

    @property
    def products(self) -> ProductRepository:
        """Products (the catalogue)."""
        return cast("ProductRepository", self.repository("products"))

    @property
    def order_lines(self) -> OrderLineRepository:
        """Order lines (what each order holds)."""
        return cast("OrderLineRepository", self.repository("order_lines"))


class Store(Protocol):
    """What every store offers: repositories, the event history, schema, units of work."""

    @property
    def customers(self) -> CustomerRepository: ...
    @property
    def accounts(self) -> AccountRepository: ...
    @property
    def contacts(self) -> ContactRepository: ...
    @property
    def leads(self) -> LeadRepository: ...
    @property
    def opportunities(self) -> OpportunityRepository: ...
    @property
    def activities(self) -> ActivityRepository: ...
    @property
    def tickets(self) -> TicketRepository: ...
    @property
    def campaigns(self) -> CampaignRepository: ...
    @property
    def orders(self) -> OrderRepository: ...
    @property
    def survey_responses(self) -> SurveyResponseRepository: ...
    @property
    def loyalty_accounts(self) -> LoyaltyAccountRepository: ...
    @property
    def campaign_members(self) -> CampaignMemberRepository: ...
    @property
    def journey_enrolments(self) -> JourneyEnrolmentRepository: ...
    @property
    def products(self) -> ProductRepository: ...
    @property
    def order_lines(self) -> OrderLineRepository: ...
    @property
    def events(self) -> EventStore: ...
    @property
    def outbox(self) -> Outbox: ...
    @property
    def loyalty_ledger(self) -> LedgerRepository: ...

    def create_schema(self) -> None:
        """Create the tables (idempotent; a no-op in memory)."""
        ...

    def upgrade_schema(self) -> int:
        """Migrate an older schema to this release's; return the version found before.

        A no-op in memory (it returns ``SCHEMA_VERSION``).
        """
        ...

    def unit_of_work(self, *, on_commit: EventHandler | Sequence[EventHandler] = ()) -> UnitOfWork:
        """Start a unit of work."""
        ...

    def repository(self, name: str) -> Any:
        """Return the repository of aggregate ``name``."""
        ...
