"""``crmcore demo`` hands the report the frames it has just written: what read_store reads."""

from __future__ import annotations

import pytest
from pandas.testing import assert_frame_equal

from crmcore.datasets import make_company, write_company
from crmcore.datasets._report import report_data, written_frames
from crmcore.marketing._store import ORDER_COLUMNS, PURCHASE_STATUSES
from crmcore.report import analyse, read_store
from crmcore.report._inputs import LOYALTY_COLUMNS, SURVEY_COLUMNS
from crmcore.report._output import write_files
from crmcore.storage import SqlStore

FRAMES = [
    "transactions",
    "surveys",
    "opportunities",
    "opportunity_events",
    "tickets",
    "ticket_events",
    "loyalty_accounts",
]
CAMPAIGN_FRAMES = ["events", "orders", "members", "campaigns"]


def written(tmp_path, n: int, seed: int):
    company = make_company(n, random_state=seed)
    store = SqlStore(f"sqlite:///{tmp_path / 'crm.db'}")
    store.create_schema()
    write_company(company, store)
    return company, store


def assert_same_inputs(read, given) -> None:
    for name in FRAMES:
        assert_frame_equal(getattr(given, name), getattr(read, name), check_exact=True)
    assert given.transactions.attrs == read.transactions.attrs == {"currency": "EUR"}
    for name in CAMPAIGN_FRAMES:
        assert_frame_equal(
            getattr(given.campaigns, name), getattr(read.campaigns, name), check_exact=True
        )
    assert given.campaigns.currency == read.campaigns.currency == "EUR"


def test_the_frames_handed_over_are_what_the_store_returns(tmp_path):
    company, store = written(tmp_path, 300, seed=3)
    with store:
        frames = written_frames(company)
        purchases = {"status__in": list(PURCHASE_STATUSES)}
        assert_frame_equal(frames["orders"], store.orders.to_frame(ORDER_COLUMNS, where=purchases))
        answers = store.survey_responses.to_frame(
            SURVEY_COLUMNS, where={"kind__in": ["nps", "csat"]}
        )
        assert {"nps", "csat"} == set(answers["kind"])
        assert_frame_equal(frames["survey_responses"], answers, check_exact=True)
        assert_frame_equal(
            frames["loyalty_accounts"], store.loyalty_accounts.to_frame(LOYALTY_COLUMNS)
        )
        # one row per (campaign, customer), sorted so by read_frames: the rows' order is moot
        pair = ["campaign_id", "customer_id"]
        members = store.campaign_members.to_frame(list(frames["campaign_members"].columns))
        assert len(members) > 0
        assert_frame_equal(
            frames["campaign_members"].sort_values(pair).reset_index(drop=True),
            members.sort_values(pair).reset_index(drop=True),
            check_exact=True,
        )
        assert_frame_equal(
            frames["engagement"],
            store.events.engagement(tz="UTC", properties=("user_agent",)),
            check_exact=True,
        )
        assert_same_inputs(read_store(store), report_data(company, store))


@pytest.mark.slow
def test_the_demo_report_is_the_same_from_the_frames_as_read_back(tmp_path):
    company, store = written(tmp_path, 3000, seed=1)
    with store:
        read, given = read_store(store), report_data(company, store)
    assert_same_inputs(read, given)
    for name, data in (("read", read), ("given", given)):
        (tmp_path / name).mkdir()
        write_files(analyse(data), tmp_path / name)
    for name in ("customers.csv", "summary.json"):
        assert (tmp_path / "read" / name).read_bytes() == (tmp_path / "given" / name).read_bytes()
