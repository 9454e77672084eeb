"""The report's campaigns section: KPIs with intervals, incremental revenue, attribution."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from crmcore.datasets import make_company, write_company
from crmcore.marketing import campaign_frames
from crmcore.report import analyse, read_store
from crmcore.report._html import render_html
from crmcore.storage import InMemoryStore, SqlStore


@pytest.fixture(scope="module")
def stored():
    store = InMemoryStore()
    write_company(make_company(300, random_state=5, n_campaigns=4), store)
    return store


@pytest.fixture(scope="module")
def analysis(stored):
    return analyse(read_store(stored))


def test_campaign_kpis_are_those_of_the_store(stored, analysis):
    section = analysis.summary["campaigns"]
    assert section["available"] is True
    assert section["currency"] == "EUR"
    as_of = pd.Timestamp(analysis.summary["as_of"])
    level = analysis.summary["settings"]["confidence"]  # the report's one level
    want = campaign_frames(stored).kpis(as_of=as_of, conversion_window="7D", confidence=level)
    got = pd.DataFrame(section["by_campaign"]).set_index("campaign_id")
    assert got.index.tolist() == ["K001", "K002", "K003", "K004"]
    for col in ("members", "control", "sent"):
        assert got[col].tolist() == want[col].astype(int).tolist()
    for col in ("open_rate", "click_rate_ci_high", "romi", "incremental_revenue_ci_low"):
        np.testing.assert_allclose(got[col].astype(float), want[col], rtol=1e-12, equal_nan=True)
    assert (got["incremental_revenue_ci_low"] <= got["incremental_revenue"]).all()
    assert (got["incremental_revenue"] <= got["incremental_revenue_ci_high"]).all()


@pytest.mark.parametrize("kind", ["memory", "sqlite"])
def test_read_store_gives_the_campaign_frames_of_the_store(kind):
    # read_store reads the orders once and hands them to the campaigns' reader: the frames
    # must be those campaign_frames(store) reads on its own (orders of members only)
    store = InMemoryStore() if kind == "memory" else SqlStore("sqlite://")
    if kind == "sqlite":
        store.create_schema()
    write_company(make_company(80, random_state=3, n_campaigns=2), store)
    got = read_store(store).campaigns
    want = campaign_frames(store)
    assert got is not None
    for name in ("events", "orders", "members", "campaigns"):
        pd.testing.assert_frame_equal(getattr(got, name), getattr(want, name), check_exact=True)
    assert got.currency == want.currency == "EUR"
    assert len(got.orders) < len(store.orders.to_frame(["id"]))  # non-members' orders left out


def test_attribution_shares_every_purchase_of_the_members(stored, analysis):
    section = analysis.summary["campaigns"]
    frames = campaign_frames(stored)
    total = float(frames.orders["amount"].sum())  # the history ends at the report's as_of
    for model in ("last_touch", "markov"):
        rows = pd.DataFrame(section["attribution"][model]).set_index("channel")
        np.testing.assert_allclose(rows["credit"].sum(), total, rtol=1e-9)
        np.testing.assert_allclose(rows["share"].sum(), 1.0, rtol=1e-9)
        assert set(rows.index) <= {"(direct)", "email", "sms"}


@pytest.mark.slow
def test_html_has_the_campaigns_section_or_says_there_are_none(analysis):
    page = render_html(analysis)
    assert '<section id="campaigns"><h2>Campaigns</h2>' in page
    assert "K004" in page
    assert "Purchases attributed to clicks by channel (markov" in page
    company = make_company(60, random_state=2, n_campaigns=0)
    bare = analyse(read_store(_stored(company)))
    assert bare.summary["campaigns"] == {"available": False}
    assert "no campaign members in the data" in render_html(bare)


def _stored(company):
    store = InMemoryStore()
    write_company(company, store)
    return store
