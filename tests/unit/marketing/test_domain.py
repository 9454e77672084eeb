"""Engagement events and campaign members: validation, JSON round trip, frames."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
import pytest

from crmcore.domain import Consent, Customer
from crmcore.errors import ValidationError
from crmcore.marketing import (
    CHANNEL_TYPES,
    CampaignMember,
    Channel,
    EngagementEvent,
    EngagementType,
    consent_log,
    engagement_frame,
    members_frame,
)

T = dt.datetime(2024, 5, 2, 8, 30, tzinfo=ZoneInfo("Europe/Paris"))


def event(**kw):
    base = {"id": "e1", "kind": "open", "channel": "email", "at": T, "customer_id": "C-1"}
    return EngagementEvent(**{**base, **kw})


def test_types_and_channels_are_normalised():
    e = event(kind=" Click ", channel="EMAIL")
    assert e.kind is EngagementType.CLICK
    assert e.channel is Channel.EMAIL


def test_every_type_has_channels_and_every_channel_a_type():
    assert set(CHANNEL_TYPES) == set(EngagementType)
    assert set().union(*CHANNEL_TYPES.values()) == set(Channel)


@pytest.mark.parametrize(
    ("kind", "channel"),
    [("open", "sms"), ("web_visit", "email"), ("app_usage", "web"), ("complaint", "push")],
)
def test_a_type_on_a_channel_it_cannot_happen_on_is_refused(kind, channel):
    with pytest.raises(ValidationError, match="cannot happen on channel") as err:
        event(kind=kind, channel=channel)
    assert err.value.field == "channel"


@pytest.mark.parametrize(
    ("field", "value", "match"),
    [
        ("kind", "view", "kind must be one of"),
        ("channel", "fax", "channel must be one of"),
        ("at", dt.datetime(2024, 5, 2), "timezone-aware"),  # noqa: DTZ001 - naive on purpose
        ("id", "  ", "not blank"),
        ("campaign_id", 7, "non-empty str or a uuid.UUID"),
        ("variant", "", "must not be empty or blank"),
        ("properties", {"x": float("nan")}, "finite"),
        ("properties", ["x"], "mapping"),
    ],
)
def test_bad_fields_are_named(field, value, match):
    with pytest.raises(ValidationError, match=match):
        event(**{field: value})


def test_customer_or_contact_is_required():
    with pytest.raises(ValidationError, match="customer_id or contact_id"):
        event(customer_id=None)
    assert event(customer_id=None, contact_id="P-9").contact_id == "P-9"


def test_json_round_trip_keeps_zone_uuid_and_properties():
    e = event(
        id=uuid.UUID(int=5),
        campaign_id=uuid.UUID(int=6),
        message_id="m-1",
        variant="B",
        properties={"user_agent": "Mozilla/5.0", "links": [1, 2], "meta": {"a": None}},
    )
    data = json.loads(json.dumps(e.to_dict()))
    back = EngagementEvent.from_dict(data)
    assert back == e
    assert back.at.tzinfo == ZoneInfo("Europe/Paris")
    assert back.properties["links"] == (1, 2)
    assert hash(back) == hash(e)


def test_from_dict_refuses_unknown_and_missing_keys():
    data = event().to_dict()
    with pytest.raises(ValidationError, match="unknown payload field 'colour'"):
        EngagementEvent.from_dict({**data, "payload": {**data["payload"], "colour": "red"}})
    del data["at"]
    with pytest.raises(ValidationError, match="missing required field 'at'"):
        EngagementEvent.from_dict(data)


def test_engagement_is_a_registered_domain_event_about_the_customer():
    import crmcore.domain
    from crmcore.domain import EVENT_TYPES, DomainEvent

    assert EngagementEvent is crmcore.domain.EngagementEvent
    assert EVENT_TYPES["marketing.engagement"] is EngagementEvent
    e = event(campaign_id="K", contact_id="P-1", message_id="m1", variant="B")
    assert (e.type, e.entity_type, e.entity_id, e.related_ids) == (
        "marketing.engagement",
        "customer",
        "C-1",
        ("K", "P-1"),
    )
    assert e.describe() == "email open (campaign K, message m1, variant B)"
    b2b = event(customer_id=None, contact_id="P-1")
    assert (b2b.entity_type, b2b.entity_id, b2b.related_ids) == ("contact", "P-1", ())
    assert isinstance(DomainEvent.from_dict(b2b.to_dict()), EngagementEvent)
    # the id is the platform's, or generated; equality compares what happened
    generated = EngagementEvent(kind="open", channel="email", at=T, customer_id="C-1")
    assert len(generated.id) == 32
    assert generated == event(id="other")
    assert event().payload["kind"] == "open"


def test_campaign_member_round_trip_and_control_rule():
    m = CampaignMember(campaign_id="K", customer_id="C-1", selected_at=T, variant="A")
    assert CampaignMember.from_dict(json.loads(json.dumps(m.to_dict()))) == m
    with pytest.raises(ValidationError, match="control member receives no variant"):
        CampaignMember(campaign_id="K", customer_id="C", selected_at=T, variant="A", control=True)
    with pytest.raises(ValidationError, match="bool"):
        CampaignMember(campaign_id="K", customer_id="C", selected_at=T, control=1)


def test_engagement_frame_columns_and_instants():
    events = [
        event(id="a", at=T, properties={"user_agent": "x"}),
        event(id="b", kind="send", at=T - dt.timedelta(hours=1), campaign_id="K"),
    ]
    frame = engagement_frame(events, properties=["user_agent"], tz="Asia/Seoul")
    assert list(frame.columns) == [
        "event_id",
        "customer_id",
        "contact_id",
        "campaign_id",
        "message_id",
        "variant",
        "channel",
        "type",
        "date",
        "user_agent",
    ]
    assert isinstance(frame["type"].dtype, pd.CategoricalDtype)
    assert frame["date"].iloc[0] == pd.Timestamp(T)  # same instant
    assert str(frame["date"].dt.tz) == "Asia/Seoul"
    assert frame["user_agent"].tolist() == ["x", None]
    with pytest.raises(ValidationError, match="not an EngagementEvent"):
        engagement_frame([{"id": "x"}])


def test_members_frame():
    members = [
        CampaignMember(campaign_id="K", customer_id="a", selected_at=T, variant="A"),
        CampaignMember(campaign_id="K", customer_id="b", selected_at=T, control=True),
    ]
    frame = members_frame(members)
    assert frame["control"].tolist() == [False, True]
    assert frame["variant"].tolist() == ["A", None]
    assert frame["control"].dtype == bool


def test_consent_log_flattens_histories_in_recorded_order():
    t = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
    c = Customer(
        id="C-1",
        name="Ada",
        created_at=t,
        consents=[
            Consent(channel="email", granted=True, at=t),
            Consent(channel="email", granted=False, at=t + dt.timedelta(days=3)),
        ],
    )
    log = consent_log([c, Customer(id="C-2", name="Bo", created_at=t)])
    assert log["customer_id"].tolist() == ["C-1", "C-1"]
    assert log["granted"].tolist() == [True, False]
    np.testing.assert_array_equal(
        log["date"].to_numpy(), pd.to_datetime([t, t + dt.timedelta(days=3)]).to_numpy()
    )
