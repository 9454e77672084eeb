"""Marketing storage contract: campaigns, campaign members and the engagement view, on every store.

``store.events.engagement()`` must give, on every store, the frame that
:func:`crmcore.marketing.engagement_frame` builds from the same events (ids
as stored text, as in every store frame), selected exactly by campaign and
person.
"""

from __future__ import annotations

import datetime as dt
import uuid
from zoneinfo import ZoneInfo

import attrs
import numpy as np
import pandas as pd
import pytest

from crmcore.domain import (
    Campaign,
    CampaignMember,
    CampaignMemberAdded,
    CampaignMemberReassigned,
    add_campaign_member,
    campaign_member_id,
    reassign_campaign_member,
)
from crmcore.errors import ValidationError
from crmcore.marketing import EngagementEvent, engagement_frame
from tests.contract._samples import at, eur, note

PROPS = ("user_agent", "score", "bot", "tags")
COLUMNS = [
    "event_id",
    "customer_id",
    "contact_id",
    "campaign_id",
    "message_id",
    "variant",
    "channel",
    "type",
    "date",
]


def ev(eid, kind, days, **kw):
    channel = kw.pop("channel", "email")
    kw.setdefault("customer_id", "c1")
    return EngagementEvent(id=eid, kind=kind, channel=channel, at=at(days), **kw)


def sample():
    """Engagement of two campaigns, a contact, a UUID customer; appended out of time order."""
    return [
        ev("e1", "send", 0, campaign_id="spring", message_id="m1", variant="A"),
        ev(
            "e2",
            "open",
            0.5,
            campaign_id="spring",
            message_id="m1",
            variant="A",
            properties={"user_agent": "Mozilla/5.0", "score": 3, "bot": False, "tags": ["x", 1]},
        ),
        ev("e3", "web_visit", -1, channel="web", customer_id=None, contact_id="k1"),
        ev("e4", "send", 1, customer_id="c2", campaign_id="autumn", message_id="m9"),
        ev(
            "e5",
            "click",
            2,
            channel="sms",
            customer_id=uuid.UUID(int=9),
            contact_id="k1",
            campaign_id="spring",
            properties={"score": 2.5},
        ),
        # a customer whose id is another campaign's id: selecting the campaign must not take it
        ev("e6", "send", 3, customer_id="autumn", campaign_id="spring", message_id="m2"),
    ]


def stored_text(frame):
    """The reference frame with ids as a store keeps them (a UUID as its URN)."""
    out = frame.copy()
    for col in ("event_id", "customer_id", "contact_id", "campaign_id"):
        if col not in out.columns:
            continue
        texts = [v.urn if isinstance(v, uuid.UUID) else v for v in out[col]]
        out[col] = pd.Series(texts, index=out.index, dtype=object)
    return out


def reference(events, **kw):
    return stored_text(engagement_frame(events, properties=PROPS, **kw))


def assert_same(got, want):
    want = want.reset_index(drop=True)
    tags = [list(v) if isinstance(v, tuple) else v for v in want["tags"]]  # JSON lists
    want["tags"] = pd.Series(tags, index=want.index, dtype=object)
    pd.testing.assert_frame_equal(got, want, check_exact=True)


# ---------------------------------------------------------------- engagement view


def test_engagement_is_the_engagement_frame_in_position_order(store):
    events = sample()
    store.events.append(*events[:3])
    store.events.append_many(events[3:], batch_size=2)
    store.events.append(note("c1"))  # other kinds are not engagement
    got = store.events.engagement(properties=PROPS)
    assert list(got.columns) == [*COLUMNS, *PROPS]
    assert list(got["event_id"]) == ["e1", "e2", "e3", "e4", "e5", "e6"]  # position, not time
    assert str(got["date"].dtype) == "datetime64[us, UTC]"
    assert got["type"].dtype == engagement_frame([])["type"].dtype
    assert got["channel"].dtype == engagement_frame([])["channel"].dtype
    assert got.loc[1, "score"] == 3
    assert got.loc[1, "bot"] is False
    assert got.loc[4, "score"] == 2.5
    assert got.loc[4, "customer_id"] == uuid.UUID(int=9).urn
    assert_same(got, reference(events))


def test_engagement_selects_exactly_by_campaign_and_person(store):
    store.events.append(*sample())

    def ids(**kw):
        return list(store.events.engagement(**kw)["event_id"])

    assert ids(campaign="spring") == ["e1", "e2", "e5", "e6"]
    assert ids(campaign="autumn") == ["e4"]  # not e6, whose customer is called "autumn"
    assert ids(campaign=["autumn", "nothing"]) == ["e4"]
    assert ids(customer="c1") == ["e1", "e2"]
    assert ids(customer="k1") == ["e3", "e5"]  # a contact, as entity or as related id
    assert ids(customer=uuid.UUID(int=9)) == ["e5"]
    assert ids(customer="k1", campaign="spring") == ["e5"]
    assert ids(customer="c2", campaign="spring") == []
    assert ids(campaign="nobody") == []


def test_engagement_time_bounds_and_zone(store):
    events = sample()
    store.events.append(*events)
    # since < at <= until: e2 sits exactly on the lower bound and is left out
    got = store.events.engagement(since=at(0.5), until=at(2))
    assert list(got["event_id"]) == ["e4", "e5"]
    tokyo = ZoneInfo("Asia/Tokyo")
    # a date-only bound is the end of that day in tz; the dates come back in tz
    local = store.events.engagement(until="2026-03-02", tz=tokyo, properties=PROPS)
    cut = pd.Timestamp("2026-03-03", tz=tokyo)
    want = [e for e in events if pd.Timestamp(e.at) < cut]
    assert list(local["event_id"]) == [e.id for e in want]
    assert str(local["date"].dtype) == "datetime64[us, Asia/Tokyo]"
    assert_same(local, reference(want, tz=tokyo))


def test_engagement_options_and_empty_store(store):
    empty = store.events.engagement(properties=["user_agent"])
    assert list(empty.columns) == [*COLUMNS, "user_agent"]
    assert len(empty) == 0
    assert str(empty["date"].dtype) == "datetime64[us, UTC]"
    events = sample()
    store.events.append(*events)
    small = store.events.engagement(properties=PROPS, batch_size=1)
    assert_same(small, reference(events))
    no_ids = store.events.engagement(event_ids=False)
    assert list(no_ids.columns) == COLUMNS[1:]
    with pytest.raises(ValidationError, match="event_ids"):
        store.events.engagement(event_ids="yes")
    with pytest.raises(ValidationError, match="identifiers"):
        store.events.engagement(properties=["user agent"])
    with pytest.raises(ValidationError, match="batch_size"):
        store.events.engagement(batch_size=0)


def test_engagement_frame_feeds_marketing_functions(store):
    from crmcore.marketing import engagement_features

    events = sample()
    store.events.append(*events)
    got = store.events.engagement(campaign="spring")
    want = reference([e for e in events if e.campaign_id == "spring"])
    got = engagement_features(got, as_of=at(10), windows=["30D"])
    want = engagement_features(want, as_of=at(10), windows=["30D"])
    assert len(want) == 3
    pd.testing.assert_frame_equal(got, want, check_exact=True)


# ---------------------------------------------------------------- campaigns and members


def test_campaign_audience_variants_cost_and_goal_round_trip(store):
    c = Campaign(
        id="spring",
        name="Spring",
        channel="email",
        start_date=dt.date(2026, 3, 1),
        audience="tier == 'gold' and age >= 30",
        variants=["A", "B"],
        cost=eur("1250.40"),
        goal="reactivation",
    )
    store.campaigns.add(c)
    assert store.campaigns.get("spring") == c
    assert store.campaigns.get("spring").variants == ("A", "B")
    assert [x.id for x in store.campaigns.query(where={"goal": "reactivation"})] == ["spring"]
    frame = store.campaigns.to_frame(["id", "cost", "cost_currency", "audience", "goal"])
    np.testing.assert_allclose(frame["cost"], [1250.40], rtol=0, atol=1e-9)
    assert frame["cost_currency"].tolist() == ["EUR"]
    assert frame["audience"].tolist() == ["tier == 'gold' and age >= 30"]


def members():
    return [
        CampaignMember(campaign_id="spring", customer_id="c1", selected_at=at(), variant="A"),
        CampaignMember(campaign_id="spring", customer_id="c2", selected_at=at(), control=True),
        CampaignMember(campaign_id="autumn", customer_id="c1", selected_at=at(1), variant="B"),
        CampaignMember(campaign_id="spring", customer_id=uuid.UUID(int=9), selected_at=at()),
    ]


def test_members_are_one_per_campaign_and_customer(store):
    store.campaign_members.add_many(members())
    assert store.campaign_members.get(campaign_member_id("spring", "c2")).control is True
    again = CampaignMember(campaign_id="spring", customer_id="c1", selected_at=at(5))
    with pytest.raises(ValidationError, match="already exists"):
        store.campaign_members.add(again)
    assert store.campaign_members.count({"campaign_id": "spring"}) == 3
    assert store.campaign_members.count({"customer_id": "c1"}) == 2


def test_members_frame_joins_the_engagement_view(store):
    store.campaign_members.add_many(members())
    store.events.append(*sample())
    frame = store.campaign_members.to_frame(
        ["campaign_id", "customer_id", "variant", "control", "selected_at"],
        where={"campaign_id": "spring"},
        order_by="customer_id",
    )
    assert frame["customer_id"].tolist() == ["c1", "c2", uuid.UUID(int=9).urn]
    assert frame["control"].tolist() == [False, True, False]
    assert frame["control"].dtype == np.bool_
    events = store.events.engagement(campaign="spring")
    joined = events.merge(frame, on=["campaign_id", "customer_id"], suffixes=("", "_member"))
    assert joined["event_id"].tolist() == ["e1", "e2", "e5"]  # e6's customer is no member


def test_membership_and_its_events_commit_together(store):
    m, added = add_campaign_member(members()[0], actor="ann")
    with store.unit_of_work() as uow:
        uow.campaign_members.add(m)
        uow.record(*added)
        uow.commit()
    moved, changed = reassign_campaign_member(
        store.campaign_members.get(m.id), variant=None, control=True, at=at(1)
    )
    with store.unit_of_work() as uow:
        uow.campaign_members.update(moved)
        uow.record(*changed)
        uow.rollback()
    assert store.campaign_members.get(m.id).variant == "A"
    with store.unit_of_work() as uow:
        uow.campaign_members.update(moved)
        uow.record(*changed)
        uow.commit()
    back = store.campaign_members.get(m.id)
    assert (back.variant, back.control, back.version) == (None, True, 1)
    history = store.events.query(entity="spring")
    assert [type(s.event) for s in history] == [CampaignMemberAdded, CampaignMemberReassigned]
    assert history[0].event == added[0]
    assert [s.position for s in store.events.query(entity="c1")] == [1, 2]
    assert store.events.engagement().empty  # membership events are not engagement
    assert attrs.evolve(back, version=0) == moved


# ---------------------------------------------------------------- campaign_kpis from a store


def campaign_store(store):
    from crmcore.domain import Money, Order

    store.campaigns.add_many(
        [
            Campaign(
                id="spring",
                name="Spring",
                channel="email",
                start_date=dt.date(2026, 3, 1),
                variants=["A"],
                cost=eur("20.00"),
            ),
            Campaign(id="autumn", name="Autumn", channel="email", start_date=dt.date(2026, 3, 1)),
        ]
    )
    store.campaign_members.add_many(members())
    store.events.append(*sample())

    def buy(oid, who, days, amount, **kw):
        return Order(
            id=oid,
            customer_id=who,
            placed_at=at(days),
            amount=Money(amount=amount, currency=kw.pop("currency", "EUR")),
            **kw,
        )

    store.orders.add_many(
        [
            buy("o1", "c1", 1, "50.00"),  # c1 converts (sent at day 0)
            buy("o2", "c2", 1, "30.00"),  # control member: counts for the control arm
            buy("o3", "c1", 2, "99.00", status="cancelled"),  # not a purchase
            buy("o4", "c9", 1, "70.00"),  # not a member
        ]
    )
    return buy


def test_campaign_frames_give_the_kpis_of_the_hand_built_frames(store):
    from crmcore.marketing import campaign_frames, campaign_kpis, members_frame

    campaign_store(store)
    frames = campaign_frames(store, "spring")
    assert frames.currency == "EUR"
    assert frames.orders["order_id"].tolist() == ["o1", "o2"]
    assert str(frames.orders["date"].dtype) == "datetime64[us, UTC]"
    assert frames.campaigns.index.tolist() == ["spring"]
    got = frames.kpis(as_of=at(10), conversion_window="7D")
    spring = [m for m in members() if m.campaign_id == "spring"]
    want = campaign_kpis(
        reference([e for e in sample() if e.campaign_id == "spring"]),
        pd.DataFrame(
            {
                "customer_id": ["c1", "c2"],
                "date": pd.to_datetime([at(1), at(1)], utc=True),
                "amount": [50.0, 30.0],
            }
        ),
        stored_text(members_frame(spring)),
        as_of=at(10),
        conversion_window="7D",
        campaigns=pd.DataFrame(
            {"cost": [20.0], "start": [pd.Timestamp("2026-03-01")]},
            index=pd.Index(["spring"], name="campaign_id"),
        ),
    )
    pd.testing.assert_frame_equal(got, want, check_exact=False, rtol=1e-12)
    row = got.loc["spring"]
    assert (row["members"], row["sent"], row["converters"]) == (3, 2, 1)  # c2 is held out
    np.testing.assert_allclose(row[["revenue", "cost", "romi"]].astype(float), [50.0, 20.0, 1.5],
                               rtol=1e-12)  # fmt: skip
    every = campaign_frames(store)
    assert every.campaigns.index.tolist() == ["autumn", "spring"]
    assert sorted(every.kpis(as_of=at(10), conversion_window="7D").index) == ["autumn", "spring"]


def test_campaign_frames_refuse_unknown_campaigns_and_mixed_currencies(store):
    from crmcore.errors import NotFound
    from crmcore.marketing import campaign_frames

    buy = campaign_store(store)
    with pytest.raises(NotFound, match="nowhere"):
        campaign_frames(store, ["spring", "nowhere"])
    with pytest.raises(ValidationError, match="campaign"):
        campaign_frames(store, [])
    store.orders.add(buy("o5", "c2", 3, "5.00", currency="USD"))
    with pytest.raises(ValidationError, match=r"EUR \(orders\), USD|EUR .*USD"):
        campaign_frames(store, "spring")
