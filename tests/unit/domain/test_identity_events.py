"""The identity event kinds: merges, undos, "not a duplicate" decisions."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest

from crmcore.domain import (
    EVENT_TYPES,
    Customer,
    CustomersMerged,
    DomainEvent,
    MergeUndone,
    NotDuplicateMarked,
    RecordMove,
)
from crmcore.errors import ValidationError

AT = dt.datetime(2026, 3, 2, 9, 30, tzinfo=dt.UTC)


def _customer(cid: object, **kw: object) -> Customer:
    return Customer(id=cid, name="Mina Park", created_at=AT, **kw)  # type: ignore[arg-type]


def _merge(**kw: object) -> CustomersMerged:
    fields: dict[str, object] = {
        "survivor_id": "c1",
        "merged_ids": ["c2"],
        "before": [_customer("c1"), _customer("c2", email="mina@example.org")],
        "after": _customer("c1", email="mina@example.org", version=1),
        "moves": [RecordMove(aggregate="orders", id="o2", from_id="c2")],
        "at": AT,
        "actor": "ops",
    }
    fields.update(kw)
    return CustomersMerged(**fields)  # type: ignore[arg-type]


def test_kinds_are_registered():
    assert EVENT_TYPES["identity.customers_merged"] is CustomersMerged
    assert EVENT_TYPES["identity.merge_undone"] is MergeUndone
    assert EVENT_TYPES["identity.not_duplicate"] is NotDuplicateMarked


def test_a_merge_is_about_the_survivor_and_related_to_the_merged():
    event = _merge(merged_ids=["c2", "c3"])
    assert (event.entity_type, event.entity_id) == ("customer", "c1")
    assert event.related_ids == ("c2", "c3")
    assert event.describe() == "customers c2, c3 merged into c1 (1 records re-pointed)"


@pytest.mark.parametrize("cid", ["c2", uuid.UUID(int=7)])
def test_events_round_trip_through_json(cid):
    merge = _merge(
        merged_ids=[cid],
        before=[_customer("c1"), _customer(cid, gender="female")],
        moves=[RecordMove(aggregate="tickets", id=uuid.UUID(int=9), from_id=cid)],
    )
    undone = MergeUndone(merge_id=str(merge.id), survivor_id="c1", merged_ids=[cid], at=AT)
    decided = NotDuplicateMarked(left_id="c1", right_id=cid, at=AT, reason="twins")
    for event in (merge, undone, decided):
        back = DomainEvent.from_dict(event.to_dict())
        assert type(back) is type(event)
        assert back == event
        assert back.id == event.id
    assert DomainEvent.from_dict(merge.to_dict()).before[1].id == cid  # type: ignore[attr-defined]


def test_bad_values_are_refused():
    with pytest.raises(ValidationError, match="merged_ids must not be empty"):
        _merge(merged_ids=[])
    with pytest.raises(ValidationError, match="sequence of ids"):
        _merge(merged_ids="c2")
    with pytest.raises(ValidationError, match="Customer records"):
        _merge(before=[{"id": "c1"}])
    with pytest.raises(ValidationError, match="RecordMove"):
        _merge(moves=[("orders", "o1", "c2")])
    with pytest.raises(ValidationError, match="aggregate must be one of orders"):
        RecordMove(aggregate="opportunities", id="p1", from_id="c2")
    with pytest.raises(ValidationError, match="timezone-aware"):
        _merge(at=dt.datetime(2026, 3, 2))  # noqa: DTZ001 -- naive on purpose
    with pytest.raises(ValidationError, match="same person as itself"):
        NotDuplicateMarked(left_id="c1", right_id="c1", at=AT)


def test_a_decision_describes_itself():
    marked = NotDuplicateMarked(left_id="c1", right_id="c2", at=AT, reason="twins")
    assert marked.describe() == "c1 and c2 marked as not duplicates (twins)"
    withdrawn = NotDuplicateMarked(left_id="c1", right_id="c2", distinct=False, at=AT)
    assert withdrawn.describe() == "c1 and c2 no longer marked as distinct"
    assert withdrawn.related_ids == ("c2",)


def test_gender_is_a_declared_customer_field():
    assert _customer("c1", gender=" Non-Binary ").gender == "non-binary"
    with pytest.raises(ValidationError, match="gender"):
        _customer("c1", gender=" ")
    with pytest.raises(ValidationError, match="gender"):
        _customer("c1", gender=3)
