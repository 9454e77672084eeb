"""The event payload's fast JSON path writes exactly what the JSON encoder writes."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from crmcore.domain import EngagementEvent
from crmcore.storage import InMemoryStore
from crmcore.storage._eventcodec import encode_event

AT = dt.datetime(2026, 3, 1, 9, 0, tzinfo=dt.UTC)


@pytest.mark.parametrize(
    "properties",
    [{}, {"user_agent": "Mail/1.0"}, {"nested": {"a": [1, 2.5, None]}}, {"é": "ü\u2028"}],
)
@pytest.mark.parametrize("kind", ["send", "open", "click"])
def test_enum_and_mapping_payloads_match_the_json_encoder(kind, properties):
    event = EngagementEvent(
        id="e1",
        kind=kind,
        channel="email",
        at=AT,
        customer_id="C1",
        campaign_id="K1",
        message_id="K1-1",
        variant=None,
        properties=properties,
    )
    stored = encode_event(event).payload
    expected = json.dumps(event.payload, separators=(",", ":"), ensure_ascii=False)
    assert stored == expected
    assert json.loads(stored)["kind"] == kind


def test_a_fast_encoded_event_reads_back_equal():
    store = InMemoryStore()
    event = EngagementEvent(
        id="e2", kind="open", channel="email", at=AT, customer_id="C1", campaign_id="K1"
    )
    store.events.append(event)
    assert store.events.get("e2").event == event
