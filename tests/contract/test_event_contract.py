"""Event-store contract: append, read back, query, export, stream; on every store."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from zoneinfo import ZoneInfo

import attrs
import numpy as np
import pandas as pd
import pytest

from crmcore.domain import (
    ConsentChanged,
    GenericEvent,
    LeadConverted,
    LedgerEntryPosted,
    StageChanged,
)
from crmcore.errors import NotFound, ValidationError
from crmcore.pipeline import events_frame
from crmcore.storage import StoredEvent
from tests.contract._samples import T0, at, customer, moved, note, opted_out, order

UTC = dt.UTC


def every_kind():
    paris = ZoneInfo("Europe/Paris")
    return [
        moved("s1", "new", "assigned", 0),
        StageChanged(
            uuid.UUID(int=7), "prospecting", "closed_lost", at(1), None, "price", "opportunity"
        ),
        LeadConverted("l1", "a1", "k1", "p1", at(2), "ann"),
        LeadConverted("l2", "a2", "k2", None, at(2)),
        opted_out("c1", 3),
        ConsentChanged("k1", "sms", True, at(3), None, "bo", entity_type="contact"),
        LedgerEntryPosted(
            "m1", 0, "O-1", "earn", dt.datetime(2026, 10, 25, 2, 30, fold=1, tzinfo=paris), 120,
            spend_minor=12050, expires_at=at(365),
        ),
        note("c1", "ünïcödé ✓", 4, actor="bot", id=uuid.UUID(int=99)),
    ]  # fmt: skip


# ---------------------------------------------------------------- append and read back


def test_append_assigns_consecutive_positions_and_reads_back_equal(store):
    events = every_kind()
    assert store.events.last_position() == 0
    positions = store.events.append(*events)
    assert positions == tuple(range(1, len(events) + 1))
    assert store.events.last_position() == len(events)
    stored = store.events.query()
    assert [s.position for s in stored] == list(positions)
    for original, back in zip(events, stored, strict=True):
        assert isinstance(back, StoredEvent)
        assert type(back.event) is type(original)
        assert back.event == original
        assert back.id == original.id
        assert back.event.at.utcoffset() == original.at.utcoffset()  # zone kept
        assert back.event.to_dict() == original.to_dict()
    assert store.events.append(note(text="later")) == (len(events) + 1,)


def test_get_and_find_by_id(store):
    e = note(id="evt-1")
    store.events.append(e)
    assert store.events.get("evt-1").event == e
    assert store.events.find("evt-1").position == 1
    assert store.events.find("nope") is None
    with pytest.raises(NotFound):
        store.events.get("nope")


def test_a_stored_id_is_refused_and_nothing_of_the_batch_is_appended(store):
    store.events.append(note(id="dup"))
    with pytest.raises(ValidationError, match="dup"):
        store.events.append(note(id="fresh"), note(id="dup"))
    with pytest.raises(ValidationError, match="twice"):
        store.events.append(note(id="x"), note(id="x"))
    assert [s.id for s in store.events.query()] == ["dup"]
    assert store.events.last_position() == 1
    assert store.events.append(note(id="fresh")) == (2,)  # positions stay gap-free


def test_append_many_is_all_or_nothing(store):
    events = [note(text=str(i)) for i in range(25)]
    assert store.events.append_many(events, batch_size=10) == 25
    assert store.events.count() == 25
    with pytest.raises(ValidationError):
        store.events.append_many([note(), note(id=events[3].id)], batch_size=1)
    assert store.events.count() == 25


def test_unknown_types_and_misfit_payloads_come_back_as_generic_events(store):
    misfit = GenericEvent(
        event_type="pipeline.stage_changed",  # a registered type, but not its payload
        entity_type="ticket",
        entity_id="s1",
        at=at(),
        payload={"colour": "blue"},
    )
    store.events.append(note(), misfit)
    unknown, back = (s.event for s in store.events.query())
    assert isinstance(unknown, GenericEvent)
    assert unknown.type == "test.note_added"
    assert unknown.payload == {"text": "called back"}
    assert isinstance(back, GenericEvent)
    assert back == misfit
    assert back.type == "pipeline.stage_changed"


def _forced_id(event, value):
    """Bypass the domain's validators to test the store's last line of defence."""
    object.__setattr__(event, "_id", value)
    return event


@pytest.mark.parametrize(
    ("bad", "field"),
    [
        (StageChanged(None, "a", "b", at()), "entity_id"),
        (StageChanged("o1", "a", "b", dt.datetime(2026, 1, 1)), "at"),  # noqa: DTZ001 -- naive on purpose
        (StageChanged(7, "a", "b", at()), "entity_id"),
        (StageChanged("o1", "a\x00", "b", at()), "payload.from_stage"),
        (StageChanged("o1", "a", "b", at(), actor=3), "actor"),  # type: ignore[arg-type]
        (_forced_id(note(text="x"), "a\x00b"), "id"),  # the domain refuses it too
        (_forced_id(note(text="x"), "C-\ud800"), "id"),
        (_forced_id(note(text="x"), "é" * 256), "id"),
        ("not an event", "event"),
    ],
)
def test_unstorable_events_are_refused_before_anything_is_written(store, bad, field):
    with pytest.raises(ValidationError) as info:
        store.events.append(note(), bad)
    assert info.value.field == field
    assert store.events.count() == 0


def test_an_unregistered_subclass_is_refused(store):
    @attrs.frozen
    class Sub(StageChanged):
        pass

    with pytest.raises(ValidationError, match="register_event"):
        store.events.append(Sub("o1", "a", "b", at()))


# ---------------------------------------------------------------- units of work


def test_events_and_entity_changes_commit_together(store):
    with store.unit_of_work() as uow:
        uow.customers.add(customer())
        uow.record(opted_out())
        assert store.events.count() == 0  # not before the commit
        uow.commit()
    assert store.customers.find("c1") is not None
    assert [s.event for s in store.events.query()] == [opted_out()]


def test_a_rolled_back_unit_leaves_neither_entities_nor_events(store):
    with store.unit_of_work() as uow:
        uow.customers.add(customer())
        uow.record(opted_out(), moved())

    def fail():
        with store.unit_of_work() as uow:
            uow.orders.add(order())
            uow.record(note())
            raise RuntimeError

    with pytest.raises(RuntimeError):
        fail()
    assert store.customers.count() == 0
    assert store.orders.count() == 0
    assert store.events.count() == 0


def test_a_commit_refused_for_its_events_commits_nothing(store):
    store.events.append(note(id="taken"))
    with store.unit_of_work() as uow:
        uow.customers.add(customer())
        uow.record(note(id="taken"))
        with pytest.raises(ValidationError, match="taken"):
            uow.commit()
    assert store.customers.count() == 0
    assert store.events.count() == 1


def test_events_recorded_twice_in_a_unit_are_refused(store):
    e = note()
    with store.unit_of_work() as uow:
        uow.record(e)
        with pytest.raises(ValidationError, match="twice"):
            uow.record(e)


def test_commits_take_positions_in_commit_order(store):
    with store.unit_of_work() as first, store.unit_of_work() as second:
        first.record(note(text="first began"))
        second.record(note(text="second began"))
        second.commit()
        first.commit()
    texts = [s.event.payload["text"] for s in store.events.query()]
    assert texts == ["second began", "first began"]


# ---------------------------------------------------------------- queries


@pytest.fixture
def history(store):
    """Ten events over ten days, c1 and c2, tickets s1 and s2."""
    events = [
        moved("s1", "new", "assigned", 0),
        note("c1", "a", 1),
        moved("s2", "new", "in_progress", 2),
        opted_out("c1", 3),
        LeadConverted("l1", "a1", "c2", "p1", at(4)),
        moved("s1", "assigned", "in_progress", 5),
        note("c2", "b", 6),
        moved("s1", "in_progress", "resolved", 7),
        opted_out("c2", 8),
        note("c1", "c", 9),
    ]
    store.events.append(*events)
    return store


def positions(stored):
    return [s.position for s in stored]


def test_query_by_entity_finds_subjects_and_related_ids(history):
    ev = history.events
    assert positions(ev.query(entity="s1")) == [1, 6, 8]
    assert positions(ev.query(entity=["s2", "c1"])) == [2, 3, 4, 10]
    assert positions(ev.query(entity="c2")) == [5, 7, 9]  # c2 is a related id of event 5
    assert positions(ev.query(entity="a1")) == [5]
    assert ev.query(entity="nobody") == []


def test_query_by_type_and_entity_type(history):
    ev = history.events
    assert positions(ev.query(type=StageChanged)) == [1, 3, 6, 8]
    assert positions(ev.query(type="consent.changed")) == [4, 9]
    assert positions(ev.query(type=[LeadConverted, "test.note_added"])) == [2, 5, 7, 10]
    assert positions(ev.query(entity_type="customer")) == [2, 4, 7, 9, 10]
    assert positions(ev.query(type=StageChanged, entity="s1", after=1)) == [6, 8]


def test_time_ranges_are_since_exclusive_until_inclusive(history):
    ev = history.events
    assert positions(ev.query(since=at(2), until=at(5))) == [4, 5, 6]
    assert positions(ev.query(until=at(0))) == [1]
    assert positions(ev.query(since=at(9))) == []
    # a date-only bound is the end of that day (UTC unless tz is given); T0 is 08:30 UTC
    assert positions(ev.query(until="2026-03-02")) == [1]
    assert positions(ev.query(since="2026-03-02", until="2026-03-04")) == [2, 3]
    # in Honolulu (UTC-10) 2 March ends at 10:00 UTC on 3 March: the event at T0 + 1 day is in
    assert positions(ev.query(until="2026-03-02", tz="Pacific/Honolulu")) == [1, 2]
    with pytest.raises(ValidationError, match="until"):
        ev.query(until=dt.datetime(2026, 3, 5))  # noqa: DTZ001 -- naive, refused


def test_after_and_limit_page_through_positions(history):
    ev = history.events
    assert positions(ev.query(after=3, limit=2)) == [4, 5]
    assert positions(ev.query(limit=0)) == []
    assert ev.count() == 10
    assert ev.count(entity="s1", after=1) == 2
    assert ev.count(since=at(2), until=at(5)) == 3


@pytest.mark.parametrize(
    "kwargs",
    [{"limit": -1}, {"after": True}, {"after": 1.5}, {"type": 3}, {"entity": 5}, {"since": 3}],
)
def test_bad_query_arguments_are_refused(history, kwargs):
    with pytest.raises(ValidationError):
        history.events.query(**kwargs)


def test_stream_yields_every_match_in_batches(history):
    batches = list(history.events.stream(batch_size=3))
    assert [len(b) for b in batches] == [3, 3, 3, 1]
    assert [s.position for b in batches for s in b] == list(range(1, 11))
    batches = list(history.events.stream(entity="s1", batch_size=2))
    assert [positions(b) for b in batches] == [[1, 6], [8]]
    assert list(history.events.stream(entity="nobody")) == []


# ---------------------------------------------------------------- frames


def test_to_frame_columns_and_types(history):
    frame = history.events.to_frame(type=StageChanged, payload_keys=["to_stage", "reason"])
    assert list(frame.columns) == [
        "position", "id", "type", "entity_type", "entity_id", "at", "actor", "payload",
        "to_stage", "reason",
    ]  # fmt: skip
    assert frame["position"].dtype == np.int64
    assert str(frame["at"].dtype) == "datetime64[us, UTC]"
    assert frame["position"].tolist() == [1, 3, 6, 8]
    assert frame["entity_id"].tolist() == ["s1", "s2", "s1", "s1"]
    assert frame["to_stage"].tolist() == ["assigned", "in_progress", "in_progress", "resolved"]
    assert frame["reason"].isna().all()
    assert frame["actor"].tolist() == ["ann"] * 4
    assert frame["at"].iloc[0] == pd.Timestamp(T0)
    first = history.events.get(frame["id"].iloc[0]).event
    assert json.loads(frame["payload"].iloc[0]) == first.payload


def test_payload_keys_keep_json_types(store):
    store.events.append(
        LedgerEntryPosted("m1", 0, "O-1", "earn", at(), 120, spend_minor=5, expires_at=None),
        note("c1", "x"),
    )
    frame = store.events.to_frame(payload_keys=["points", "kind", "expires_at", "text"])
    assert frame["points"].tolist() == [120, None]
    assert frame["kind"].tolist() == ["earn", np.nan]
    assert frame["expires_at"].isna().all()
    assert frame["text"].tolist() == [np.nan, "x"]
    with pytest.raises(ValidationError, match="payload keys"):
        store.events.to_frame(payload_keys=["a'b"])


def test_empty_frame_has_the_columns(store):
    frame = store.events.to_frame(payload_keys=["to_stage"])
    assert list(frame.columns)[-1] == "to_stage"
    assert len(frame) == 0
    assert str(frame["at"].dtype) == "datetime64[us, UTC]"


def test_stream_frames_concatenate_to_the_frame(history):
    parts = list(history.events.stream_frames(batch_size=4, payload_keys=["text"]))
    assert [len(p) for p in parts] == [4, 4, 2]
    whole = history.events.to_frame(payload_keys=["text"])
    pd.testing.assert_frame_equal(pd.concat(parts, ignore_index=True), whole)


# ---------------------------------------------------------------- pipeline views


def test_stage_history_has_the_shape_of_events_frame(history):
    got = history.events.stage_history()
    moves = [s.event for s in history.events.query(type=StageChanged)]
    want = events_frame(moves)
    assert list(got.columns) == list(want.columns)
    for column in ("entity_id", "from_stage", "to_stage", "actor", "workflow"):
        assert got[column].tolist() == want[column].tolist()
    assert (got["at"] == want["at"]).all()
    assert history.events.stage_history(workflow="opportunity").empty
    assert history.events.stage_history(entity="s2")["to_stage"].tolist() == ["in_progress"]
    assert len(history.events.stage_history(until=at(5))) == 3


def test_stages_as_of_takes_the_last_move_by_time_not_by_position(store):
    store.events.append(
        moved("s1", "assigned", "in_progress", 5),
        moved("s1", "new", "assigned", 1),  # back-filled, earlier in time
        moved("s2", "new", "assigned", 2),
        moved("s2", "assigned", "resolved", 2),  # same instant: the later position wins
    )
    frame = store.events.stages_as_of(at(3))
    assert frame.index.tolist() == ["s1", "s2"]
    assert frame["stage"].tolist() == ["assigned", "resolved"]
    assert frame.loc["s1", "entered_at"] == pd.Timestamp(at(1))
    later = store.events.stages_as_of(at(5))
    assert later.loc["s1", "stage"] == "in_progress"  # at exactly as_of: history
    assert store.events.stages_as_of(at(0)).empty
    assert store.events.stages_as_of(at(9), workflow="opportunity").empty
    assert store.events.stages_as_of(at(9), entity="s2")["stage"].tolist() == ["resolved"]


def test_latest_needs_an_as_of(store):
    with pytest.raises(ValidationError, match="as_of"):
        store.events.latest(type=StageChanged, as_of=None)


# ---------------------------------------------------------------- daylight-saving changes

_PARIS = ZoneInfo("Europe/Paris")
# 29 March 2026 the clocks go from 02:00 to 03:00 in Paris; 25 October from 03:00 back to 02:00
_AROUND_DST = [
    dt.datetime(2026, 3, 29, 1, 59, 59, 999999, tzinfo=_PARIS),  # the last µs before the gap
    dt.datetime(2026, 3, 29, 3, 0, tzinfo=_PARIS),  # the first moment after it
    dt.datetime(2026, 10, 25, 2, 30, fold=0, tzinfo=_PARIS),  # 00:30Z, first pass of 02:30
    dt.datetime(2026, 10, 25, 2, 15, fold=1, tzinfo=_PARIS),  # 01:15Z, second pass: later
]
_UTC_OF = [
    "2026-03-29 00:59:59.999999",
    "2026-03-29 01:00",
    "2026-10-25 00:30",
    "2026-10-25 01:15",
]


def test_event_times_around_dst_changes_round_trip(store):
    # wall time, fold and zone come back as given (the instant decides equality, and
    # fold does not take part in aware == within one zone: compare offsets too)
    events = [
        StageChanged(f"d{i}", "prospecting", "proposal", when, workflow="opportunity")
        for i, when in enumerate(_AROUND_DST)
    ]
    store.events.append(*events)
    back = [s.event for s in store.events.query()]
    assert back == events
    assert [
        (e.at.replace(tzinfo=None), e.at.fold, e.at.utcoffset(), e.at.tzinfo) for e in back
    ] == [(t.replace(tzinfo=None), t.fold, t.utcoffset(), _PARIS) for t in _AROUND_DST]
    # the JSON form round-trips too, and exports are the instants in UTC, in time order
    assert [type(e).from_dict(json.loads(json.dumps(e.to_dict()))) for e in back] == events
    frame = store.events.stage_history(workflow="opportunity")
    assert frame["at"].tolist() == [pd.Timestamp(u, tz="UTC") for u in _UTC_OF]
    assert frame["at"].is_monotonic_increasing  # 02:15 (fold 1) is after 02:30 (fold 0)
    # time-range queries cut at instants: the second 02:15 is after the first 02:30
    cut = dt.datetime(2026, 10, 25, 2, 30, fold=0, tzinfo=_PARIS)
    assert [s.event.entity_id for s in store.events.query(until=cut)] == ["d0", "d1", "d2"]
    assert [s.event.entity_id for s in store.events.query(since=cut)] == ["d3"]
    # a date-only bound is the end of that day in tz: the gap day has 23 hours
    assert store.events.count(since="2026-03-28", until="2026-03-29", tz=_PARIS) == 2
    latest = store.events.stages_as_of(cut, workflow="opportunity")
    assert latest.index.tolist() == ["d0", "d1", "d2"]
