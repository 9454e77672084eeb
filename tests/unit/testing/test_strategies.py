"""crmcore.testing.strategies keeps the guarantees its documentation states."""

from __future__ import annotations

import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from crmcore.pipeline import OPPORTUNITY_WORKFLOW, replay
from crmcore.testing import strategies as cst


@settings(max_examples=60)
@given(cst.transaction_logs(min_rows=5, max_rows=40))
def test_transaction_logs_have_the_default_columns(log):
    assert list(log.columns) == ["customer_id", "date", "amount"]
    assert pd.api.types.is_datetime64_any_dtype(log["date"])
    assert (log["amount"] >= 0).all()
    assert (log["amount"].round(2) == log["amount"]).all()


def test_transaction_logs_contain_what_real_exports_contain():
    seen = {"duplicate": False, "same_day": False, "aware": False, "naive": False}

    @settings(max_examples=80, derandomize=True)
    @given(cst.transaction_logs(min_rows=10, max_rows=40))
    def look(log):
        seen["duplicate"] |= bool(log.duplicated().any())
        days = log.assign(day=log["date"].dt.floor("D"))
        seen["same_day"] |= bool(days.duplicated(["customer_id", "day"]).any())
        seen["aware" if log["date"].dt.tz is not None else "naive"] = True

    look()
    assert all(seen.values()), seen


@given(cst.transaction_logs(tz="Europe/Paris", days=400))
def test_a_zone_can_be_pinned(log):
    assert str(log["date"].dt.tz) == "Europe/Paris"


@given(cst.customers(name=st.just("Ada")), cst.orders(customer_id=st.just("c1")))
def test_overrides_pin_fields(customer, order):
    assert customer.name == "Ada"
    assert order.customer_id == "c1"


@given(cst.stage_walks(OPPORTUNITY_WORKFLOW))
def test_stage_walks_are_legal(events):
    # replay checks every move against the workflow and refuses an illegal one
    stages = replay(events, workflow=OPPORTUNITY_WORKFLOW)
    expected = events[-1].to_stage if events else None
    assert stages.get("e1") == expected
