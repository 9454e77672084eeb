"""The journey engine reads what happened from an EngagementEvent's ``kind``.

Since EngagementEvent became a registered domain event, its ``type`` is the
event-store type ("marketing.engagement"); a journey waiting for an open or a
click must see "open" or "click", whether events come as objects or as a frame.
"""

from __future__ import annotations

import datetime as dt

from crmcore.domain import EngagementEvent, StageChanged
from crmcore.marketing import engagement_frame
from crmcore.marketing._journey_engine import _prepare_events

T = dt.datetime(2026, 3, 2, 9, tzinfo=dt.UTC)
NOW = int((T + dt.timedelta(days=1)).timestamp()) * 10**9


def test_objects_and_frames_give_the_same_kinds():
    events = [
        EngagementEvent(id="e1", kind="open", channel="email", at=T, customer_id="c1"),
        EngagementEvent(
            id="e2", kind="click", channel="email", at=T + dt.timedelta(hours=1), customer_id="c1"
        ),
    ]
    from_objects = _prepare_events(events, NOW)
    assert [kind for _, kind, _ in from_objects] == ["open", "click"]
    assert _prepare_events(engagement_frame(events), NOW) == from_objects


def test_other_domain_events_keep_their_type():
    moved = StageChanged("c1", "new", "working", T, None, None, "lead")
    assert [kind for _, kind, _ in _prepare_events([moved], NOW)] == [moved.type]
