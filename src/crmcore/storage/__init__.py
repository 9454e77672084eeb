"""Repositories, units of work and the two stores: in memory and SQL.

The domain and the analytics talk to repository *interfaces*
(:class:`CustomerRepository`, :class:`OrderRepository`, ... — one
:class:`typing.Protocol` per aggregate, all shaped like :class:`Repository`);
two implementations ship:

:class:`InMemoryStore`
    A complete store in memory, the first-class test double.
:class:`SqlStore`
    SQLAlchemy Core on any URL; SQLite (the embedded default) and PostgreSQL
    are tested.  Tables are created by an explicit ``create_schema()``.
    Needs the ``sql`` extra (SQLAlchemy), imported on first use.

Both expose the same repositories as attributes — ``customers, accounts,
contacts, leads, opportunities, activities, tickets, campaigns, orders,
survey_responses, loyalty_accounts, campaign_members, journey_enrolments,
products, order_lines``
— each with ``add, get, find, update, update_many, remove, add_many, query,
count, to_frame``, and the same semantics (one
contract test suite runs against both):

- ``get`` of a missing id raises :class:`~crmcore.errors.NotFound`; ``add`` of
  an existing id raises :class:`~crmcore.errors.ValidationError`;
- ``update(entity)`` succeeds only if the stored ``version`` equals
  ``entity.version``; it stores and returns the entity with ``version + 1``,
  otherwise raises :class:`~crmcore.errors.ConcurrencyConflict`;
- ``add_many`` is all-or-nothing and batched; ``to_frame`` reads columns
  straight into a DataFrame without building entities;
- values that cannot be stored faithfully (naive datetimes, NaN amounts,
  NUL characters, integers beyond 64 bits) raise ``ValidationError`` before
  anything is written;
- datetimes come back in UTC (same instant; entities compare equal);
- an order line must name a stored product and order (``ValidationError``
  otherwise); :func:`add_order` writes an order with its lines, checked
  against its amount, and :func:`order_lines_frame` reads every line with
  its buyer and time, the input of :mod:`crmcore.recommend`.

Filters
-------
``query``, ``count`` and ``to_frame`` take ``where=`` in any of these forms:

- a mapping ``{"field": value, "field__op": value, ...}`` — every condition
  must hold; no suffix means ``eq``:
  ``{"stage": "proposal", "amount__gt": 100, "custom.region__in": ["EU", "UK"]}``;
- :class:`Filter` objects, combined with :class:`And`, :class:`Or`,
  :class:`Not` or the operators ``&``, ``|``, ``~``:
  ``Filter("amount", "gt", 100) & ~Filter("custom.region", "eq", "EU")``;
- a ``(field, op, value)`` tuple, or a list of any of these (all must hold);
- the plain tuple tree ``("and", (c1, c2, ...))``, ``("or", (...))``,
  ``("not", c)`` with ``(field, op, value)`` leaves — what
  ``crmcore.segmentation.Rule.to_store_filter()`` returns.

Operators: ``eq, ne, lt, le, gt, ge, in, contains, is_null``.

Fields are the entity's attribute names; ``<money field>.currency`` selects a
Money currency (the field itself compares by amount); ``custom.<name>`` (or
``<value object>.<attribute>``, e.g. ``address.city``) reaches inside JSON
fields.  Unknown names raise ``ValidationError``; values are always bound
parameters.  Comparisons with a missing value are false (so ``ne`` is
exactly ``not eq``, and rows with ``None`` satisfy ``ne``); use
``is_null=True/False`` for missing values.  Custom values compare only with
values of the same JSON type (string, number, bool).  ``contains`` is a
case-sensitive substring test on text, and membership on collection fields
(``{"tags__contains": "vip"}``).  Strings compare by code point.
``order_by`` takes a field name or a list of them, ``"-field"`` for
descending; ``None`` sorts first ascending and last descending; ties are
broken by id, so pagination with ``limit``/``offset`` is stable.

Units of work
-------------
``with store.unit_of_work() as uow: ...; uow.commit()`` — the repositories
on ``uow`` share one transaction; only :meth:`UnitOfWork.commit` makes the
work durable, leaving the block rolls back the rest.  Domain events are
recorded with ``uow.record(*events)`` and appended to the event store in
the same transaction when it commits (see :class:`UnitOfWork`).

Event history
-------------
``store.events`` (:class:`EventStore`) is the append-only history of
domain events, in one total order per store (``position``), queried by
entity, type, time range (``since < at <= until``) and position, exported
with ``to_frame`` or streamed in batches.  ``store.outbox`` (:class:`Outbox`)
delivers it to other systems: a consumer polls ``after`` its cursor and
acknowledges; at least once, keyed on event ids.  Positions become visible
in increasing order even when writers commit out of the order they began
in, so no consumer skips a late-committing event (the storage guide says
how).  ``store.loyalty_ledger``
(:class:`LedgerRepository`) stores loyalty ledger entries, unique per
idempotency key.  :func:`customer_timeline` puts everything about one
customer into one frame.

Schema versions
---------------
The SQL schema is versioned (:data:`SCHEMA_VERSION`) and migrated with
Alembic: a store of an older version names ``store.upgrade_schema()``,
which upgrades it in place without losing a record.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from crmcore.storage._aggregates import SCHEMA_VERSION, AggregateSpec
from crmcore.storage._event_protocols import EventStore, LedgerRepository, Outbox
from crmcore.storage._eventcodec import StoredEvent
from crmcore.storage._filters import OPERATORS, And, Filter, Not, Or
from crmcore.storage._memory import InMemoryStore
from crmcore.storage._order_lines import ORDER_LINE_COLUMNS, add_order, order_lines_frame
from crmcore.storage._protocols import (
    AccountRepository,
    ActivityRepository,
    CampaignMemberRepository,
    CampaignRepository,
    ContactRepository,
    CustomerRepository,
    JourneyEnrolmentRepository,
    LeadRepository,
    LoyaltyAccountRepository,
    OpportunityRepository,
    OrderLineRepository,
    OrderRepository,
    ProductRepository,
    Repository,
    Store,
    SurveyResponseRepository,
    TicketRepository,
)
from crmcore.storage._timeline import customer_timeline
from crmcore.storage._uow import UnitOfWork

if TYPE_CHECKING:
    from crmcore.storage._sql import SqlStore

__all__ = [
    "OPERATORS",
    "ORDER_LINE_COLUMNS",
    "SCHEMA_VERSION",
    "AccountRepository",
    "ActivityRepository",
    "AggregateSpec",
    "And",
    "CampaignMemberRepository",
    "CampaignRepository",
    "ContactRepository",
    "CustomerRepository",
    "EventStore",
    "Filter",
    "InMemoryStore",
    "JourneyEnrolmentRepository",
    "LeadRepository",
    "LedgerRepository",
    "LoyaltyAccountRepository",
    "Not",
    "OpportunityRepository",
    "Or",
    "OrderLineRepository",
    "OrderRepository",
    "Outbox",
    "ProductRepository",
    "Repository",
    "SqlStore",
    "Store",
    "StoredEvent",
    "SurveyResponseRepository",
    "TicketRepository",
    "UnitOfWork",
    "add_order",
    "customer_timeline",
    "order_lines_frame",
]


def __getattr__(name: str) -> Any:
    # SqlStore needs SQLAlchemy (the ``sql`` extra); InMemoryStore does not.
    if name == "SqlStore":
        try:
            from crmcore.storage._sql import SqlStore  # noqa: PLC0415 -- optional dependency
        except ImportError as exc:  # pragma: no cover - exercised in a subprocess test
            raise ImportError(
                "crmcore.storage.SqlStore needs SQLAlchemy: pip install 'crmcore[sql]' "
                "(and 'crmcore[postgres]' for PostgreSQL)"
            ) from exc
        return SqlStore
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
