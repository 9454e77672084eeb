"""The report reads a store's pipeline history from its event log, through public APIs only."""

from __future__ import annotations

import ast
import datetime as dt
import warnings
from decimal import Decimal
from pathlib import Path

import pandas as pd
import pytest

import crmcore.report
from crmcore.datasets import make_company, write_company
from crmcore.domain import Customer, Money, Opportunity, Order
from crmcore.pipeline import stage_funnel
from crmcore.report import ReportOptions, analyse, read_store
from crmcore.storage import InMemoryStore


@pytest.fixture(scope="module")
def store():
    memory = InMemoryStore()
    write_company(make_company(300, random_state=5), memory)
    return memory


def test_the_report_package_imports_nothing_from_datasets():
    # the report is a client of the store's public API, not of the sample company
    package = Path(crmcore.report.__file__).parent
    imported = []
    for source in sorted(package.glob("*.py")):
        for node in ast.walk(ast.parse(source.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module:
                imported.append(node.module)
            elif isinstance(node, ast.Import):
                imported.extend(alias.name for alias in node.names)
    assert "crmcore.storage" in imported  # the scan sees the imports
    assert not [m for m in imported if m.startswith("crmcore.datasets")]


def test_read_store_takes_the_stage_logs_from_the_event_store(store):
    data = read_store(store)
    for got, workflow in (
        (data.opportunity_events, "opportunity"),
        (data.ticket_events, "ticket"),
    ):
        expected = store.events.stage_history(workflow=workflow)
        assert len(expected) > 0
        pd.testing.assert_frame_equal(got, expected)


def test_the_funnel_counts_the_history_at_or_before_as_of(store):
    data = read_store(store)
    as_of = "2025-12-31"
    with warnings.catch_warnings():  # churn_labels may note a quiet tail; not under test
        warnings.simplefilter("ignore")
        result = analyse(data, ReportOptions(as_of=as_of, n_draws=20))
    funnel = result.funnel
    expected = stage_funnel(store.events.stage_history(workflow="opportunity"), as_of=as_of)
    whole = stage_funnel(data.opportunity_events)
    pd.testing.assert_frame_equal(funnel, expected)
    # later moves are not counted: the cut-off matters for this company
    assert int(expected["reached"].iloc[0]) < int(whole["reached"].iloc[0])


def _legacy_store():
    """A store as a release before 0.2 wrote it: histories in custom, no events."""
    at = dt.datetime(2026, 2, 1, tzinfo=dt.UTC)
    memory = InMemoryStore()
    memory.customers.add(Customer(id="c1", name="Ada", created_at=at))
    memory.orders.add(
        Order(
            id="r1",
            customer_id="c1",
            placed_at=at,
            amount=Money(amount=Decimal(10), currency="EUR"),
        )
    )
    history = [
        ["prospecting", "qualification", "2026-02-02T10:00:00+01:00"],
        ["qualification", "proposal", "2026-02-05T09:00:00+00:00"],
    ]
    memory.opportunities.add(
        Opportunity(
            id="o1",
            account_id="a1",
            name="Deal",
            amount=Money(amount=Decimal(100), currency="EUR"),
            expected_close_date=dt.date(2026, 3, 31),
            probability=40.0,
            created_at=at,
            stage="proposal",
            custom={"stage_history": history},
        )
    )
    return memory


def test_legacy_custom_histories_are_read_with_a_deprecation_warning():
    with pytest.warns(DeprecationWarning, match=r"custom\['stage_history'\].*StageChanged"):
        data = read_store(_legacy_store())
    log = data.opportunity_events
    assert log["to_stage"].tolist() == ["qualification", "proposal"]
    assert log["at"].tolist() == [
        pd.Timestamp("2026-02-02 09:00", tz="UTC"),
        pd.Timestamp("2026-02-05 09:00", tz="UTC"),
    ]
    assert (log["workflow"] == "opportunity").all()
    assert data.ticket_events is None  # no tickets at all


def test_campaign_intervals_are_shown_beside_their_estimate():
    from crmcore.report._html import _table, _with_intervals

    rows = [
        {"campaign_id": "K1", "open_rate": 0.25, "open_rate_ci_low": 0.2,
         "open_rate_ci_high": 0.31, "romi": 2.5, "click_rate": None,
         "click_rate_ci_low": None, "click_rate_ci_high": None},
    ]  # fmt: skip
    shown = _with_intervals(rows)
    assert list(shown[0]) == ["campaign_id", "open_rate", "romi", "click_rate"]
    page = _table(shown)
    assert "0.25 [0.2, 0.31]" in page
    assert "<td>–</td>" in page  # a rate that cannot be measured stays missing
    assert rows[0]["open_rate_ci_low"] == 0.2  # summary.json's rows are left alone
