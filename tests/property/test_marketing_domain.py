"""Engagement events survive JSON and the frame; consent look-ups agree with the domain."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
from hypothesis import given
from hypothesis import strategies as st

from crmcore.domain import current_consent
from crmcore.marketing import EngagementEvent, engagement_frame
from crmcore.marketing._audience import GRANTED, UNKNOWN, WITHDRAWN, consent_state
from crmcore.marketing._frame import consent_log
from tests.strategies import aware_datetimes, consents, engagement_events


@given(engagement_events())
def test_json_round_trip(event):
    assert EngagementEvent.from_dict(json.loads(json.dumps(event.to_dict()))) == event


@given(st.lists(engagement_events(), max_size=8))
def test_frame_keeps_every_event_and_instant(events):
    frame = engagement_frame(events)
    assert len(frame) == len(events)
    for row, event in zip(frame.itertuples(index=False), events, strict=True):
        assert row.date == pd.Timestamp(event.at)
        assert row.type == event.kind.value


class _Party:
    def __init__(self, pid, history):
        self.id = pid
        self.consents = history


@given(st.lists(st.lists(consents(), max_size=6), min_size=1, max_size=6), aware_datetimes())
def test_consent_state_is_current_consent(histories, as_of):
    parties = [_Party(f"c{i}", tuple(h)) for i, h in enumerate(histories)]
    ids = pd.Index([p.id for p in parties])
    log = consent_log(parties)
    for channel in ("email", "sms"):
        state = consent_state(
            log,
            ids,
            channel=channel,
            at=np.full(len(ids), int(pd.Timestamp(as_of).as_unit("ns").value)),
        )
        for s, party in zip(state, parties, strict=True):
            # the domain compares instants through Python datetimes
            found = current_consent(
                [c for c in party.consents if pd.Timestamp(c.at) <= pd.Timestamp(as_of)], channel
            )
            want = UNKNOWN if found is None else (GRANTED if found.granted else WITHDRAWN)
            assert s == want
