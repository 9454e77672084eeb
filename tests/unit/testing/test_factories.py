"""Factory: valid entities with readable ids, stored all or nothing."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from crmcore.domain import Money
from crmcore.errors import ValidationError
from crmcore.testing import Factory

KINDS = ["memory", "sqlite"]


def test_defaults_are_valid_and_sequential():
    make = Factory()
    first, second = make.customer(), make.customer(name="Bo")
    assert (first.id, second.id, second.name) == ("customer-1", "customer-2", "Bo")
    assert first.created_at < second.created_at
    order = make.order(amount="12.5")
    assert order.customer_id == "customer-2"  # the last customer built
    assert order.amount == Money(amount=Decimal("12.5"), currency="EUR")
    opp = make.opportunity(amount=Money(amount=Decimal(3), currency="USD"))
    assert opp.account_id == "account-1"  # no account built yet
    assert opp.expected_close_date == (opp.created_at + dt.timedelta(days=30)).date()
    built = [
        make.account(), make.contact(), make.lead(), make.activity(), make.ticket(),
        make.campaign(budget=100), make.survey_response(score=3), make.loyalty_account(),
    ]  # fmt: skip
    assert [e.id for e in built] == [
        "account-1", "contact-1", "lead-1", "activity-1", "ticket-1",
        "campaign-1", "survey_response-1", "loyalty_account-1",
    ]  # fmt: skip
    assert built[1].account_id == "account-1"


def test_overrides_are_validated_by_the_entity():
    with pytest.raises(ValidationError):
        Factory().survey_response(score=11)
    with pytest.raises(ValidationError, match="start"):
        Factory(start=dt.datetime(2026, 1, 1))  # noqa: DTZ001


@pytest.mark.parametrize("kind", KINDS)
def test_add_stores_everything_or_nothing(kind, crm_store_maker, tmp_path):
    store = crm_store_maker.make(kind, tmp_path)
    make = Factory(store=store)
    alice = make.customer(name="Alice")
    make.add(alice, [make.order(), make.order()])
    assert store.customers.get(alice.id) == alice
    assert store.orders.count() == 2
    with pytest.raises(ValidationError, match="cannot store a str"):
        make.add(make.order(), "not an entity")
    assert store.orders.count() == 2
    duplicate = store.orders.get("order-1")
    with pytest.raises(Exception):  # noqa: B017 -- the store's own conflict error
        make.add(make.order(), duplicate)
    assert store.orders.count() == 2  # the new order was rolled back with the duplicate
    if hasattr(store, "close"):
        store.close()


def test_add_needs_a_store():
    with pytest.raises(ValidationError, match="no store"):
        Factory().add(Factory().customer())


def test_crm_factory_fixture_is_bound_to_crm_store(crm_factory, crm_store):
    crm_factory.add(crm_factory.customer())
    assert crm_store.customers.count() == 1
