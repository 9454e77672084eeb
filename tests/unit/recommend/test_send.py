"""Offers sent through campaigns, responses recorded as engagement."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from crmcore.domain import Campaign, CampaignMemberAdded, EngagementEvent
from crmcore.errors import ValidationError
from crmcore.recommend import record_responses, send_offers
from crmcore.storage import InMemoryStore

AT = dt.datetime(2026, 5, 4, 9, tzinfo=dt.UTC)
CAMPAIGNS = {"tea-10": "k-tea", "mug-5": "k-mug"}


@pytest.fixture
def store():
    store = InMemoryStore()
    for key in CAMPAIGNS.values():
        store.campaigns.add(Campaign(id=key, name=key, channel="email", start_date=AT.date()))
    return store


def actions() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "customer_id": ["a", "a", "b"],
            "rank": [1, 2, 1],
            "offer_id": ["tea-10", "mug-5", "tea-10"],
            "channel": ["email", "sms", "call"],
        }
    )


def test_actions_become_members_and_sends(store):
    members = send_offers(store, actions(), campaigns=CAMPAIGNS, at=AT, actor="nba")
    assert [(m.campaign_id, m.customer_id, m.variant) for m in members] == [
        ("k-tea", "a", "tea-10"),
        ("k-mug", "a", "mug-5"),
        ("k-tea", "b", "tea-10"),
    ]
    assert store.campaign_members.count({"campaign_id": "k-tea"}) == 2
    events = [s.event for s in store.events.query()]
    added = [e for e in events if isinstance(e, CampaignMemberAdded)]
    sends = [e for e in events if isinstance(e, EngagementEvent)]
    assert len(added) == 3
    assert [(str(e.kind), str(e.channel), e.campaign_id) for e in sends] == [
        ("send", "email", "k-tea"),
        ("send", "sms", "k-mug"),
    ]  # a call is a membership without a message


def test_a_bad_mapping_or_a_second_send_writes_nothing(store):
    with pytest.raises(ValidationError, match="offer 'mug-5' has no campaign"):
        send_offers(store, actions(), campaigns={"tea-10": "k-tea"}, at=AT)
    with pytest.raises(ValidationError, match=r"campaign 'k-x' is not in the store"):
        send_offers(store, actions(), campaigns={"tea-10": "k-tea", "mug-5": "k-x"}, at=AT)
    assert store.campaign_members.count() == 0
    assert store.events.count() == 0
    send_offers(store, actions().iloc[:1], campaigns=CAMPAIGNS, at=AT)
    with pytest.raises(ValidationError, match="already exists"):
        send_offers(store, actions(), campaigns=CAMPAIGNS, at=AT)
    assert store.campaign_members.count() == 1
    assert store.events.count() == 2  # the member added and its e-mail sent


def test_responses_are_engagement_of_the_campaign(store):
    send_offers(store, actions(), campaigns=CAMPAIGNS, at=AT)
    responses = pd.DataFrame(
        {
            "customer_id": ["b"],
            "offer_id": ["tea-10"],
            "channel": ["email"],
            "at": [AT + dt.timedelta(hours=3)],
        }
    )
    assert record_responses(store, responses, campaigns=CAMPAIGNS) == 1
    clicks = [
        s.event
        for s in store.events.query()
        if isinstance(s.event, EngagementEvent) and s.event.kind == "click"
    ]
    assert [(c.customer_id, c.campaign_id, c.variant) for c in clicks] == [
        ("b", "k-tea", "tea-10")
    ]
    naive = responses.assign(at=[dt.datetime(2026, 5, 4, 12)])  # noqa: DTZ001 -- naive on purpose
    with pytest.raises(ValidationError, match="at"):
        record_responses(store, naive, campaigns=CAMPAIGNS)
