"""Outbox contract: consumers poll after their cursor and acknowledge; on every store."""

from __future__ import annotations

import pytest

from crmcore.errors import ValidationError
from tests.contract._samples import customer, note


@pytest.fixture
def seven(store):
    store.events.append(*(note(text=str(i)) for i in range(7)))
    return store


def texts(batch):
    return [s.event.payload["text"] for s in batch]


def test_a_new_consumer_starts_at_the_beginning(seven):
    box = seven.outbox
    assert box.cursor("erp") == 0
    first = box.poll("erp", limit=3)
    assert texts(first) == ["0", "1", "2"]
    assert box.poll("erp", limit=3) == first  # not acknowledged: delivered again
    box.ack("erp", first[-1].position)
    assert box.cursor("erp") == 3
    assert texts(box.poll("erp", limit=10)) == ["3", "4", "5", "6"]
    box.ack("erp", 7)
    assert box.poll("erp") == []
    seven.events.append(note(text="late"))
    assert texts(box.poll("erp")) == ["late"]


def test_consumers_are_independent(seven):
    box = seven.outbox
    box.ack("a", 5)
    box.ack("b", 2)
    assert box.consumers() == {"a": 5, "b": 2}
    assert [s.position for s in box.poll("b", limit=2)] == [3, 4]
    assert [s.position for s in box.poll("c", limit=1)] == [1]
    assert "c" not in box.consumers()  # polling does not register a consumer


def test_a_late_smaller_ack_does_not_move_the_cursor_back(seven):
    box = seven.outbox
    box.ack("erp", 6)
    box.ack("erp", 4)  # a slow second instance of the consumer
    assert box.cursor("erp") == 6


def test_seek_replays_or_skips(seven):
    box = seven.outbox
    box.ack("erp", 6)
    box.seek("erp", 1)
    assert [s.position for s in box.poll("erp", limit=2)] == [2, 3]
    box.seek("erp", 7)
    assert box.poll("erp") == []


def test_acknowledging_beyond_the_last_event_is_refused(seven):
    with pytest.raises(ValidationError, match="beyond"):
        seven.outbox.ack("erp", 8)
    with pytest.raises(ValidationError, match="non-negative"):
        seven.outbox.seek("erp", -1)
    assert seven.outbox.consumers() == {}


@pytest.mark.parametrize("name", ["", "   ", 3, None, "x" * 256, "a\x00b"])
def test_consumer_names_are_checked(seven, name):
    with pytest.raises(ValidationError, match="consumer"):
        seven.outbox.poll(name)


def test_deliver_hands_over_batches_until_caught_up(seven):
    seen = []
    assert seven.outbox.deliver("erp", seen.append, batch_size=3) == 7
    assert [len(b) for b in seen] == [3, 3, 1]
    assert seven.outbox.cursor("erp") == 7
    assert seven.outbox.deliver("erp", seen.append) == 0
    assert seven.outbox.deliver("other", seen.append, batch_size=2, max_batches=2) == 4
    assert seven.outbox.cursor("other") == 4


def test_a_failing_handler_leaves_its_batch_for_next_time(seven):
    calls = []

    def flaky(batch):
        calls.append([s.position for s in batch])
        if len(calls) == 2:
            raise ConnectionError("ERP down")

    with pytest.raises(ConnectionError):
        seven.outbox.deliver("erp", flaky, batch_size=3)
    assert seven.outbox.cursor("erp") == 3
    assert seven.outbox.deliver("erp", flaky, batch_size=3) == 4
    assert calls == [[1, 2, 3], [4, 5, 6], [4, 5, 6], [7]]  # at least once: 4..6 again


def test_idempotency_keys_are_the_event_ids(seven):
    """A consumer that records processed ids sees each event once, even with redelivery."""
    processed: dict[object, int] = {}
    for _ in range(2):
        for stored in seven.outbox.poll("erp", limit=4):
            processed.setdefault(stored.id, 0)
            processed[stored.id] += 1
    seven.outbox.ack("erp", 4)
    for stored in seven.outbox.poll("erp"):
        processed.setdefault(stored.id, 0)
    assert len(processed) == 7
    assert len({s.id for s in seven.events.query()}) == 7


def test_events_of_a_unit_of_work_reach_consumers_only_once_committed(store):
    with store.unit_of_work() as uow:
        uow.customers.add(customer())
        uow.record(note(text="hello"))
        assert store.outbox.poll("erp") == []
        uow.commit()
    assert texts(store.outbox.poll("erp")) == ["hello"]
