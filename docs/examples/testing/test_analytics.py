"""Tests of analytics.py with crmcore's pytest plugin (docs/testing.rst)."""

from __future__ import annotations

import pytest
from analytics import customer_features, order_log
from hypothesis import given, settings

from crmcore.testing import assert_frame_schema, assert_no_leak
from crmcore.testing import strategies as cst

SCHEMA = {
    "frequency": "integer",
    "recency": "float",
    "T": "float",
    "monetary_value": "float",
    "repeat_buyer": "bool",
}


def test_features_have_their_schema(sample_company):
    features = customer_features(sample_company.transactions, as_of="2026-06-30")
    assert_frame_schema(features, SCHEMA, index="customer_id", nullable=False)


def test_features_never_read_the_future(sample_company):
    log = sample_company.transactions
    assert_no_leak(lambda log: customer_features(log, as_of="2026-01-31"), log, "2026-01-31")


@settings(max_examples=25, deadline=None)
@given(log=cst.transaction_logs(tz="UTC"))
def test_repeat_buyers_bought_twice(log):
    as_of = log["date"].max()
    features = customer_features(log, as_of=as_of)
    days = log.assign(day=log["date"].dt.floor("D")).groupby("customer_id")["day"].nunique()
    assert (features["repeat_buyer"] == (days.loc[features.index] > 1)).all()


def test_orders_read_back_from_the_store(crm_store, crm_factory):
    alice = crm_factory.customer(name="Alice")
    crm_factory.add(alice, crm_factory.order(amount="20.00"), crm_factory.order(amount="5.00"))
    log = order_log(crm_store)
    assert log["amount"].sum() == pytest.approx(25.0)
    assert set(log["customer_id"]) == {alice.id}


@pytest.mark.crm_sample(n_customers=50, random_state=3, store=True)
def test_the_stored_sample_company(crm_store, sample_company):
    log = order_log(crm_store)
    assert len(log) == len(sample_company.orders)
    assert crm_store.customers.count() == 50
