"""Small, readable sample entities for the contract suite."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from crmcore.domain import (
    Account,
    Activity,
    Address,
    Campaign,
    CampaignMember,
    ConsentChanged,
    Contact,
    Customer,
    EmailAddress,
    Enrolment,
    GenericEvent,
    Lead,
    LoyaltyAccount,
    Money,
    Opportunity,
    Order,
    OrderLine,
    Product,
    StageChanged,
    SurveyResponse,
    Ticket,
)

T0 = dt.datetime(2026, 3, 2, 9, 30, tzinfo=ZoneInfo("Europe/Paris"))


def at(days: float = 0) -> dt.datetime:
    return T0 + dt.timedelta(days=days)


def eur(amount: str | int) -> Money:
    return Money(amount=Decimal(str(amount)), currency="EUR")


def moved(
    entity_id: Any = "s1", frm: str = "new", to: str = "assigned", days: float = 0, **kw: Any
) -> StageChanged:
    """A ticket stage change."""
    return StageChanged(entity_id, frm, to, at(days), kw.pop("actor", "ann"), None, "ticket", **kw)


def note(
    entity_id: Any = "c1", text: str = "called back", days: float = 0, **kw: Any
) -> GenericEvent:
    """An ad-hoc event of a type no kind registers."""
    return GenericEvent(
        event_type="test.note_added",
        entity_type="customer",
        entity_id=entity_id,
        at=at(days),
        payload={"text": text},
        **kw,
    )


def opted_out(customer_id: Any = "c1", days: float = 0) -> ConsentChanged:
    return ConsentChanged(customer_id, "email", False, at(days), "web form")


def customer(cid: Any = "c1", **kw: Any) -> Customer:
    fields: dict[str, Any] = {"id": cid, "name": "Ada Lovelace", "created_at": at()}
    fields.update(kw)
    return Customer(**fields)


def order(oid: Any = "o1", **kw: Any) -> Order:
    fields: dict[str, Any] = {
        "id": oid,
        "customer_id": "c1",
        "placed_at": at(),
        "amount": eur("19.99"),
    }
    fields.update(kw)
    return Order(**fields)


def one_of_each() -> dict[str, Any]:
    """One entity per aggregate, keyed by repository name."""
    return {
        "customers": customer(
            "c1",
            email=EmailAddress(value="ada@example.com"),
            address=Address(country="GB", city="London"),
            tags={"vip", "b2c"},
            custom={"region": "EU", "score": 7, "nested": {"a": [1, 2.5, None]}},
        ),
        "accounts": Account(id="a1", name="Analytical Engines Ltd", created_at=at()),
        "contacts": Contact(id="k1", account_id="a1", name="Charles", created_at=at()),
        "leads": Lead(id="l1", name="Mary", source="web", created_at=at(), score=0.25),
        "opportunities": Opportunity(
            id="p1",
            account_id="a1",
            name="Engine No. 2",
            amount=eur("125000.50"),
            expected_close_date=dt.date(2026, 6, 30),
            probability=0.4,
            created_at=at(),
        ),
        "activities": Activity(id="t1", kind="call", subject="Intro call", created_at=at()),
        "tickets": Ticket(
            id="s1",
            customer_id="c1",
            subject="Broken gear",
            channel="email",
            created_at=at(),
            category="product",
            sub_category="defect",
        ),
        "campaigns": Campaign(
            id="m1",
            name="Spring",
            channel="email",
            start_date=dt.date(2026, 3, 1),
            budget=eur(5000),
        ),
        "orders": order(uuid.UUID(int=42)),
        "survey_responses": SurveyResponse(
            id="r1", customer_id="c1", kind="nps", score=9, answered_at=at(1)
        ),
        "loyalty_accounts": LoyaltyAccount(
            id="y1", customer_id="c1", program_id="gold-club", opened_at=at()
        ),
        "campaign_members": CampaignMember(
            campaign_id="m1", customer_id="c1", selected_at=at(), variant="A"
        ),
        "journey_enrolments": Enrolment(
            journey_id="seminar",
            customer_id=uuid.UUID(int=7),
            seq=1,
            enrolled_at=at(),
            step="invite",
            step_at=at(1),
            due_at=dt.datetime(2026, 10, 25, 2, 30, fold=1, tzinfo=ZoneInfo("Europe/Paris")),
        ),
        "products": Product(
            id="g1",
            sku="GEAR-2",
            name="Gear, 2 teeth",
            category=("Parts", "Gears"),
            price=eur("19.90"),
        ),
        # a line of the order above (UUID id), of the product above: both must be stored first
        "order_lines": OrderLine(
            id="l1",
            order_id=uuid.UUID(int=42),
            product_id="g1",
            quantity=3,
            unit_price=eur("19.90"),
            discount=eur("0.70"),
        ),
    }
