"""``events.append_frame`` contract: what ``append_many`` stores, column-wise, on every store."""

from __future__ import annotations

import datetime as dt
import uuid
from zoneinfo import ZoneInfo

import attrs
import pandas as pd
import pytest

from crmcore.domain import (
    CampaignMemberAdded,
    ConsentChanged,
    CustomersMerged,
    EngagementEvent,
    StageChanged,
)
from crmcore.errors import ValidationError
from crmcore.storage import InMemoryStore

UTC = dt.UTC
T = dt.datetime(2026, 3, 2, 9, 30, tzinfo=UTC)
PARIS = ZoneInfo("Europe/Paris")


def frame_of(events: list, *, ids: bool = True) -> pd.DataFrame:
    """One column per field of the events' kind, as append_frame takes them."""
    names = [a.alias or a.name for a in attrs.fields(type(events[0]))]
    data = {
        name: [getattr(e, "id" if name == "id" else name) for e in events]
        for name in names
        if name != "id" or ids
    }
    data["at"] = pd.to_datetime(pd.Series(data["at"], dtype=object))  # aware datetime64
    return pd.DataFrame(data)


def stage_changes(zone: dt.tzinfo = UTC) -> list[StageChanged]:
    return [
        StageChanged("O1", "prospecting", "qualified", T.astimezone(zone), "ann", None,
                     "opportunity", id="s-1"),
        StageChanged("O2", "new", "assigned", (T + dt.timedelta(hours=1)).astimezone(zone),
                     None, None, None, id="s-2"),
        StageChanged(uuid.UUID(int=7), "qualified", "closed_lost",
                     (T + dt.timedelta(days=1)).astimezone(zone), "bob", "prix élevé ✓",
                     "opportunity", id=uuid.UUID(int=70)),
        StageChanged("O1", "qualified", "proposal", (T + dt.timedelta(days=2)).astimezone(zone),
                     "ann", None, "opportunity", id="s-4"),
    ]  # fmt: skip


def odd_ids() -> list[StageChanged]:
    """Ids the vectorised check passes to the per-value path (quotes, non-ASCII, URNs)."""
    return [
        StageChanged('O"5\\', "a", "b", T, id='q"1'),
        StageChanged("Ö-6", "a", "b", T, id="ü-2"),
        StageChanged(str(uuid.UUID(int=5).urn), "b", "c", T, id=str(uuid.UUID(int=6).urn)),
    ]


def engagement() -> list[EngagementEvent]:
    return [
        EngagementEvent(id="g-1", kind="send", channel="email", at=T, customer_id="C1",
                        campaign_id="spring", message_id="m1", variant="A", actor="esp"),
        EngagementEvent(id="g-2", kind="Open", channel="email", at=T + dt.timedelta(hours=2),
                        customer_id="C1", campaign_id="spring", message_id="m1", variant="A",
                        properties={"user_agent": "Mozilla/5.0"}, actor="esp"),
        EngagementEvent(id="g-3", kind="click", channel="sms", at=T + dt.timedelta(hours=3),
                        customer_id="C2", contact_id="K2", campaign_id="spring"),
        EngagementEvent(id="g-4", kind="web_visit", channel="web", at=T + dt.timedelta(days=1),
                        contact_id="K3"),
    ]  # fmt: skip


def stored(store) -> tuple[pd.DataFrame, list[dict], dict[str, int]]:
    """Everything a store keeps of its events: the frame, the events, the related-id index."""
    events = [s.event.to_dict() for s in store.events.query()]
    linked = {key: store.events.count(entity=key) for key in ("spring", "K2", "O1", "C1", "K3")}
    return store.events.to_frame(), events, linked


@pytest.mark.parametrize(
    "events",
    [stage_changes(), stage_changes(PARIS), odd_ids(), engagement()],
    ids=["stages-utc", "stages-paris", "odd-ids", "engagement"],
)
def test_append_frame_stores_what_append_many_stores(store, events):
    reference = InMemoryStore()
    reference.events.append_many(events)
    frame = frame_of(events)
    assert store.events.append_frame(frame, type=type(events[0]), batch_size=3) == len(events)
    got, want = stored(store), stored(reference)
    pd.testing.assert_frame_equal(got[0], want[0])
    assert got[1] == want[1]
    assert got[2] == want[2]
    # the stored payload text is exactly append_many's (the frame shows it verbatim)
    assert list(got[0]["payload"]) == list(want[0]["payload"])


def test_positions_follow_the_frame_row_order_and_continue_the_log(store):
    store.events.append(StageChanged("O9", "a", "b", T, id="first"))
    frame = frame_of(stage_changes())
    frame = frame.iloc[[3, 0, 2, 1]]
    frame.index = ["w", "x", "y", "z"]
    assert store.events.append_frame(frame, type="pipeline.stage_changed") == 4
    out = store.events.to_frame()
    assert list(out["position"]) == [1, 2, 3, 4, 5]
    assert list(out["id"]) == ["first", "s-4", "s-1", str(uuid.UUID(int=70).urn), "s-2"]


def test_ids_are_generated_where_the_frame_has_none(store):
    frame = frame_of(stage_changes(), ids=False)
    assert store.events.append_frame(frame, type=StageChanged) == 4
    ids = list(store.events.to_frame()["id"])
    assert len(set(ids)) == 4
    assert all(isinstance(i, str) and len(i) == 32 for i in ids)


def test_optional_fields_may_be_left_out(store):
    frame = pd.DataFrame(
        {
            "kind": ["send", "deliver"],
            "channel": ["sms", "sms"],
            "at": pd.to_datetime([T, T + dt.timedelta(minutes=1)]),
            "customer_id": ["C1", "C2"],
        }
    )
    assert store.events.append_frame(frame, type=EngagementEvent) == 2
    back = [s.event for s in store.events.query()]
    assert [e.customer_id for e in back] == ["C1", "C2"]
    assert back[0].properties == {}
    assert back[0].campaign_id is None
    assert back[0].actor is None


def test_a_kind_with_field_envelope_and_related_ids(store):
    events = [
        CampaignMemberAdded(member_id="M1", campaign_id="spring", customer_id="C1", at=T),
        CampaignMemberAdded(
            member_id="M2", campaign_id="spring", customer_id="C2", variant="B", at=T
        ),
        ConsentChanged("C1", "email", False, T, "ann", "form"),
    ]
    reference = InMemoryStore()
    reference.events.append_many(events)
    store.events.append_frame(frame_of(events[:2], ids=False), type=CampaignMemberAdded)
    store.events.append_frame(frame_of(events[2:], ids=False), type=ConsentChanged)
    assert store.events.count(entity="spring") == 2 == reference.events.count(entity="spring")
    assert [s.event for s in store.events.query()] == [s.event for s in reference.events.query()]


# ---------------------------------------------------------------- refusals name the row


def labelled(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.set_axis([f"r{i}" for i in range(len(frame))])


@pytest.mark.parametrize(
    ("column", "value", "field", "message"),
    [
        ("channel", "web", "channel", "cannot happen on channel 'web'"),
        ("kind", "teleport", "kind", "kind must be one of"),
        ("customer_id", "", "customer_id", "customer_id"),
        ("actor", "a\x00b", "actor", "NUL"),
        ("message_id", 5, "message_id", "message_id"),
    ],
)
def test_a_refused_value_names_its_row_and_nothing_is_stored(store, column, value, field, message):
    frame = labelled(frame_of(engagement()))
    frame[column] = frame[column].astype(object)
    frame.loc["r2", column] = value
    with pytest.raises(ValidationError, match=message) as err:
        store.events.append_frame(frame, type=EngagementEvent, batch_size=2)
    assert err.value.row == "r2"
    assert err.value.field == field
    assert store.events.count() == 0


def test_the_cross_field_rule_names_its_row(store):
    frame = labelled(frame_of(engagement()))
    frame.loc["r3", "contact_id"] = None
    with pytest.raises(ValidationError, match="customer_id or contact_id") as err:
        store.events.append_frame(frame, type=EngagementEvent)
    assert err.value.row == "r3"
    assert store.events.count() == 0


def test_a_naive_instant_names_its_row(store):
    frame = labelled(frame_of(stage_changes()))
    frame["at"] = frame["at"].dt.tz_localize(None)
    with pytest.raises(ValidationError, match="timezone-aware") as err:
        store.events.append_frame(frame, type=StageChanged)
    assert err.value.row == "r0"
    assert err.value.field == "at"
    assert store.events.count() == 0


def test_a_payload_nul_names_its_field_and_row(store):
    frame = labelled(frame_of(stage_changes()))
    frame.loc["r1", "reason"] = "bad\x00reason"
    with pytest.raises(ValidationError, match="NUL") as err:
        store.events.append_frame(frame, type=StageChanged)
    assert err.value.row == "r1"
    assert err.value.field == "payload.reason"


def test_an_id_repeated_in_the_frame_names_the_second_row(store):
    frame = labelled(frame_of(stage_changes()))
    frame.loc["r3", "id"] = "s-1"
    with pytest.raises(ValidationError, match="s-1") as err:
        store.events.append_frame(frame, type=StageChanged, batch_size=2)  # another batch
    assert err.value.row == "r3"
    assert err.value.field == "id"
    assert store.events.count() == 0


def test_an_id_stored_already_names_its_row(store):
    store.events.append(StageChanged("O9", "a", "b", T, id="s-4"))
    frame = labelled(frame_of(stage_changes()))
    with pytest.raises(ValidationError, match="stored already") as err:
        store.events.append_frame(frame, type=StageChanged)
    assert err.value.row == "r3"
    assert store.events.count() == 1


def test_columns_and_kinds_are_checked_before_anything_is_written(store):
    frame = frame_of(stage_changes())
    with pytest.raises(ValidationError, match="has no field 'stage'") as err:
        store.events.append_frame(frame.assign(stage="x"), type=StageChanged)
    assert err.value.field == "stage"
    with pytest.raises(ValidationError, match="no column 'to_stage'"):
        store.events.append_frame(frame.drop(columns="to_stage"), type=StageChanged)
    with pytest.raises(ValidationError, match="registered event kind"):
        store.events.append_frame(frame, type="pipeline.no_such_thing")
    with pytest.raises(ValidationError, match="append_many"):
        store.events.append_frame(frame, type=CustomersMerged)
    with pytest.raises(ValidationError, match="DataFrame"):
        store.events.append_frame(stage_changes(), type=StageChanged)
    with pytest.raises(ValidationError, match="batch_size"):
        store.events.append_frame(frame, type=StageChanged, batch_size=0)
    assert store.events.count() == 0


def test_an_empty_frame_appends_nothing(store):
    frame = frame_of(stage_changes()).iloc[:0]
    assert store.events.append_frame(frame, type=StageChanged) == 0
    assert store.events.last_position() == 0
