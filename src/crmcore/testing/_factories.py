"""Entity factories: valid defaults, sequential ids, any field overridden."""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Callable, Iterable
from decimal import Decimal
from typing import TYPE_CHECKING, Any, TypeVar

import attrs

from crmcore.domain import (
    Account,
    Activity,
    ActivityKind,
    Campaign,
    CampaignMember,
    Contact,
    Customer,
    Enrolment,
    Entity,
    Lead,
    LoyaltyAccount,
    Money,
    Opportunity,
    Order,
    OrderLine,
    Product,
    SurveyKind,
    SurveyResponse,
    Ticket,
    TicketChannel,
)
from crmcore.errors import ValidationError

if TYPE_CHECKING:
    from crmcore.storage import Store

__all__ = ["Factory", "copy_company"]

E = TypeVar("E", bound=Entity)

# the repository of each entity class on a store
_REPOSITORIES: dict[type[Any], str] = {
    Customer: "customers",
    Account: "accounts",
    Contact: "contacts",
    Lead: "leads",
    Opportunity: "opportunities",
    Activity: "activities",
    Ticket: "tickets",
    Campaign: "campaigns",
    Order: "orders",
    SurveyResponse: "survey_responses",
    LoyaltyAccount: "loyalty_accounts",
    CampaignMember: "campaign_members",
    Enrolment: "journey_enrolments",
    Product: "products",
    OrderLine: "order_lines",
}


class Factory:
    """Build valid entities for tests, with readable sequential ids.

    Each method returns a new entity whose required fields have valid
    defaults; keyword arguments override any field (validated by the entity
    as usual). Ids are ``"<kind>-<n>"`` (``customer-1``, ``order-1`` ...),
    counted per kind; times start at ``start`` and advance one hour per
    entity built, so entities built later are later. References to other
    records (``order.customer_id`` ...) default to the last record of that
    kind this factory built, or to ``"<kind>-1"`` if none was.

    Parameters
    ----------
    store : Store, optional
        Where :meth:`add` writes.
    start : datetime.datetime, default 2026-01-05 09:00 UTC
        The time of the first entity (timezone-aware).
    currency : str, default "EUR"
        Currency of default amounts.

    Examples
    --------
    >>> from crmcore.testing import Factory
    >>> make = Factory()
    >>> alice = make.customer(name="Alice")
    >>> order = make.order(amount="19.90")
    >>> alice.id, order.id, order.customer_id, str(order.amount.amount)
    ('customer-1', 'order-1', 'customer-1', '19.90')
    """

    def __init__(
        self,
        store: Store | None = None,
        *,
        start: dt.datetime = dt.datetime(2026, 1, 5, 9, tzinfo=dt.UTC),
        currency: str = "EUR",
    ) -> None:
        if start.tzinfo is None or start.utcoffset() is None:
            raise ValidationError(
                "start must be timezone-aware, e.g. datetime(2026, 1, 5, tzinfo=UTC)",
                field="start",
                value=start,
            )
        self.store = store
        self.currency = currency
        self._start = start
        self._clock = itertools.count()
        self._counts: dict[str, itertools.count[int]] = {}
        self._last: dict[str, Any] = {}

    # -- helpers

    def now(self) -> dt.datetime:
        """Return the next time on the factory's clock (one hour after the previous one)."""
        return self._start + dt.timedelta(hours=next(self._clock))

    def _id(self, kind: str) -> str:
        counter = self._counts.setdefault(kind, itertools.count(1))
        return f"{kind}-{next(counter)}"

    def _ref(self, kind: str) -> Any:
        return self._last.get(kind, f"{kind}-1")

    def _money(self, value: Any) -> Money:
        if isinstance(value, Money):
            return value
        return Money(amount=Decimal(str(value)), currency=self.currency)

    def _build(
        self, cls: type[E], kind: str, defaults: dict[str, Callable[[], Any]], **kw: Any
    ) -> E:
        values = {name: kw.pop(name) if name in kw else make() for name, make in defaults.items()}
        entity = cls(**values, **kw)
        self._last[kind] = entity.id
        return entity

    # -- entities

    def customer(self, **overrides: Any) -> Customer:
        """Build a :class:`~crmcore.domain.Customer` (``name="Customer n"``)."""
        cid = overrides.pop("id", None) or self._id("customer")
        return self._build(
            Customer,
            "customer",
            {"id": lambda: cid, "name": lambda: f"Customer {cid}", "created_at": self.now},
            **overrides,
        )

    def account(self, **overrides: Any) -> Account:
        """Build an :class:`~crmcore.domain.Account`."""
        aid = overrides.pop("id", None) or self._id("account")
        return self._build(
            Account,
            "account",
            {"id": lambda: aid, "name": lambda: f"Account {aid}", "created_at": self.now},
            **overrides,
        )

    def contact(self, **overrides: Any) -> Contact:
        """Build a :class:`~crmcore.domain.Contact` at the last account built."""
        return self._build(
            Contact,
            "contact",
            {
                "id": lambda: self._id("contact"),
                "account_id": lambda: self._ref("account"),
                "name": lambda: "Contact",
                "created_at": self.now,
            },
            **overrides,
        )

    def lead(self, **overrides: Any) -> Lead:
        """Build a :class:`~crmcore.domain.Lead` (``source="web"``, stage ``new``)."""
        return self._build(
            Lead,
            "lead",
            {
                "id": lambda: self._id("lead"),
                "name": lambda: "Lead",
                "source": lambda: "web",
                "created_at": self.now,
            },
            **overrides,
        )

    def opportunity(self, **overrides: Any) -> Opportunity:
        """Build an :class:`~crmcore.domain.Opportunity` (1000.00, 10 %, closing in 30 days).

        ``amount`` may be given as a number or string in the factory's currency.
        """
        if "amount" in overrides:
            overrides["amount"] = self._money(overrides["amount"])
        created = overrides.pop("created_at", None) or self.now()
        return self._build(
            Opportunity,
            "opportunity",
            {
                "id": lambda: self._id("opportunity"),
                "account_id": lambda: self._ref("account"),
                "name": lambda: "Opportunity",
                "amount": lambda: self._money("1000.00"),
                "expected_close_date": (created + dt.timedelta(days=30)).date,
                "probability": lambda: 10.0,
                "created_at": lambda: created,
            },
            **overrides,
        )

    def activity(self, **overrides: Any) -> Activity:
        """Build an :class:`~crmcore.domain.Activity` (a call)."""
        return self._build(
            Activity,
            "activity",
            {
                "id": lambda: self._id("activity"),
                "kind": lambda: ActivityKind.CALL,
                "subject": lambda: "Call",
                "created_at": self.now,
            },
            **overrides,
        )

    def ticket(self, **overrides: Any) -> Ticket:
        """Build a :class:`~crmcore.domain.Ticket` (by e-mail) of the last customer built."""
        return self._build(
            Ticket,
            "ticket",
            {
                "id": lambda: self._id("ticket"),
                "customer_id": lambda: self._ref("customer"),
                "subject": lambda: "Question",
                "channel": lambda: TicketChannel.EMAIL,
                "created_at": self.now,
            },
            **overrides,
        )

    def campaign(self, **overrides: Any) -> Campaign:
        """Build a :class:`~crmcore.domain.Campaign` (e-mail, starting today on the clock)."""
        if "budget" in overrides and overrides["budget"] is not None:
            overrides["budget"] = self._money(overrides["budget"])
        return self._build(
            Campaign,
            "campaign",
            {
                "id": lambda: self._id("campaign"),
                "name": lambda: "Campaign",
                "channel": lambda: "email",
                "start_date": lambda: self.now().date(),
            },
            **overrides,
        )

    def order(self, **overrides: Any) -> Order:
        """Build an :class:`~crmcore.domain.Order` (10.00) of the last customer built.

        ``amount`` may be given as a number or string in the factory's currency.
        """
        if "amount" in overrides:
            overrides["amount"] = self._money(overrides["amount"])
        return self._build(
            Order,
            "order",
            {
                "id": lambda: self._id("order"),
                "customer_id": lambda: self._ref("customer"),
                "placed_at": self.now,
                "amount": lambda: self._money("10.00"),
            },
            **overrides,
        )

    def survey_response(self, **overrides: Any) -> SurveyResponse:
        """Build a :class:`~crmcore.domain.SurveyResponse` (an NPS answer of 9)."""
        return self._build(
            SurveyResponse,
            "survey_response",
            {
                "id": lambda: self._id("survey_response"),
                "customer_id": lambda: self._ref("customer"),
                "kind": lambda: SurveyKind.NPS,
                "score": lambda: 9,
                "answered_at": self.now,
            },
            **overrides,
        )

    def loyalty_account(self, **overrides: Any) -> LoyaltyAccount:
        """Build a :class:`~crmcore.domain.LoyaltyAccount` in programme ``"rewards"``."""
        return self._build(
            LoyaltyAccount,
            "loyalty_account",
            {
                "id": lambda: self._id("loyalty_account"),
                "customer_id": lambda: self._ref("customer"),
                "program_id": lambda: "rewards",
                "opened_at": self.now,
            },
            **overrides,
        )

    def campaign_member(self, **overrides: Any) -> CampaignMember:
        """Build a :class:`~crmcore.domain.CampaignMember`: the last customer in the last campaign.

        Its id is derived from campaign and customer (a customer joins a
        campaign once), in variant ``"A"`` unless ``control=True``.
        """
        control = bool(overrides.get("control", False))
        return self._build(
            CampaignMember,
            "campaign_member",
            {
                "campaign_id": lambda: self._ref("campaign"),
                "customer_id": lambda: self._ref("customer"),
                "selected_at": self.now,
                "variant": lambda: None if control else "A",
            },
            **overrides,
        )

    # -- storing

    def add(self, *entities: Any) -> list[Any]:
        """Store ``entities`` (each in its repository, in one unit of work).

        Parameters
        ----------
        *entities : Entity or iterable of Entity
            Entities built by this factory (or any crmcore entities).

        Returns
        -------
        list
            The stored entities, in order.

        Raises
        ------
        ValidationError
            When the factory has no store, or for an object that is not a
            crmcore entity. Nothing is stored then.
        """
        if self.store is None:
            raise ValidationError(
                "this Factory has no store: Factory(store=...) or the crm_factory fixture",
                field="store",
            )
        flat: list[Any] = []
        for item in entities:
            flat.extend(
                item if isinstance(item, Iterable) and not attrs.has(type(item)) else [item]
            )
        for entity in flat:
            if type(entity) not in _REPOSITORIES:
                raise ValidationError(
                    f"cannot store a {type(entity).__name__}: expected a crmcore entity "
                    f"({', '.join(sorted(c.__name__ for c in _REPOSITORIES))})",
                    value=entity,
                )
        with self.store.unit_of_work() as uow:
            for entity in flat:
                getattr(uow, _REPOSITORIES[type(entity)]).add(entity)
            uow.commit()
        return flat


def copy_company(company: Any) -> Any:
    """Return a copy of a sample company that a test may change freely.

    Frames are copied and lists are new lists (the entities in them are
    immutable), so changing the copy never changes the original.

    Parameters
    ----------
    company : crmcore.datasets.SampleCompany

    Returns
    -------
    SampleCompany
    """
    changes: dict[str, Any] = {}
    for field in attrs.fields(type(company)):
        value = getattr(company, field.name)
        if hasattr(value, "copy") and hasattr(value, "columns"):
            changes[field.name] = value.copy()
        elif isinstance(value, list):
            changes[field.name] = list(value)
    return attrs.evolve(company, **changes)
