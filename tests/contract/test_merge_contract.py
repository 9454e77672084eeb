"""Merging duplicate customers in a store: atomic, recorded, undoable, on every store."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal
from typing import Any

import attrs
import pandas as pd
import pytest

from crmcore.domain import (
    REPOINTED,
    Activity,
    Consent,
    CustomersMerged,
    EmailAddress,
    LoyaltyAccount,
    MergeUndone,
    Money,
    NotDuplicateMarked,
    SurveyResponse,
    Ticket,
    change_consent,
)
from crmcore.errors import ConcurrencyConflict, NotFound, ValidationError
from crmcore.identity import (
    apply_merge,
    customer_frame,
    mark_not_duplicate,
    merge_plan,
    not_duplicates,
    undo_merge,
    withdraw_not_duplicate,
)
from crmcore.loyalty import EarnRule, PointsLedger, Program, Purchase
from crmcore.segmentation import Rule
from crmcore.storage import customer_timeline
from tests.contract._samples import at, customer, eur, order


@pytest.fixture
def dupes(store):
    """c1 (older, sms opt-in) and c2 (newer, e-mail, e-mail opt-out) are one person; c3 is not."""
    c1 = customer("c1", consents=[Consent(channel="sms", granted=True, at=at(0.5))])
    c2 = customer(
        "c2",
        name="Ada Lovelace-King",
        email=EmailAddress(value="ada@example.org"),
        created_at=at(3),
        consents=[Consent(channel="email", granted=True, at=at(3))],
    )
    c2, consent_events = change_consent(
        c2, Consent(channel="email", granted=False, at=at(4), source="web form"), actor="ada"
    )
    program = Program(earn_rules=[EarnRule(name="base", per_unit=Decimal(1))])
    ledger = PointsLedger(program, account_id="m2").post(
        Purchase(event_id="o2", at=at(5), amount=Money(amount=Decimal(30), currency="EUR"))
    )
    with store.unit_of_work() as uow:
        uow.customers.add(c1)
        uow.customers.add(c2)
        uow.customers.add(customer("c3", name="Charles Babbage", created_at=at(2)))
        uow.orders.add(order("o1", placed_at=at(1)))
        uow.orders.add(order("o2", customer_id="c2", placed_at=at(5), amount=eur(30)))
        uow.orders.add(order("o3", customer_id="c2", placed_at=at(6)))
        uow.orders.add(order("o9", customer_id="c3", placed_at=at(6)))
        uow.tickets.add(
            Ticket(id="s2", customer_id="c2", subject="Late", channel="email", created_at=at(6))
        )
        uow.activities.add(
            Activity(id="t2", kind="call", subject="Hi", created_at=at(6), customer_id="c2")
        )
        uow.survey_responses.add(
            SurveyResponse(id="r2", customer_id="c2", kind="nps", score=9, answered_at=at(7))
        )
        uow.loyalty_accounts.add(
            LoyaltyAccount(id="m2", customer_id="c2", program_id="club", opened_at=at(3))
        )
        uow.record(*consent_events)
        uow.commit()
    store.loyalty_ledger.append("m2", ledger.entries)
    return store


def dump(store) -> dict[str, Any]:
    """Everything a merge may touch, comparable."""
    out: dict[str, Any] = {
        name: sorted(store.repository(name).query(), key=lambda e: str(e.id))
        for name in ("customers", *REPOINTED)
    }
    out["ledger"] = store.loyalty_ledger.to_frame().to_dict("records")
    out["last_position"] = store.events.last_position()
    return out


def unversioned(state: dict[str, Any]) -> dict[str, Any]:
    return {
        k: [attrs.evolve(e, version=0) for e in v] if k in ("customers", *REPOINTED) else v
        for k, v in state.items()
        if k != "last_position"
    }


def plan_for(store, *ids):
    return merge_plan([store.customers.get(i) for i in ids])


def test_merge_repoints_every_reference_and_keeps_history(dupes):
    store = dupes
    plan = plan_for(store, "c1", "c2")
    event = apply_merge(store, plan, at=at(10), actor="ops", reason="score 0.97")

    assert store.customers.find("c2") is None
    c1 = store.customers.get("c1")
    assert c1.version == 1
    assert c1.email == EmailAddress(value="ada@example.org")  # most recent value
    assert c1.created_at == at()  # the oldest record survives
    assert c1.has_consent("sms")
    assert not c1.has_consent("email")  # the opt-out of c2 wins
    for name, rid in (
        ("orders", "o2"),
        ("orders", "o3"),
        ("tickets", "s2"),
        ("activities", "t2"),
        ("survey_responses", "r2"),
        ("loyalty_accounts", "m2"),
    ):
        assert store.repository(name).get(rid).customer_id == "c1", (name, rid)
    assert store.orders.get("o9").customer_id == "c3"
    assert store.orders.get("o1").version == 0  # the survivor's own records untouched
    assert store.loyalty_ledger.count("m2") == 1  # the ledger follows its account

    stored = store.events.get(event.id)
    assert stored.event == event
    assert isinstance(stored.event, CustomersMerged)
    assert stored.event.merged_ids == ("c2",)
    assert stored.event.after == c1
    assert [b.id for b in stored.event.before] == ["c1", "c2"]
    assert {(m.aggregate, m.id) for m in stored.event.moves} == {
        ("orders", "o2"),
        ("orders", "o3"),
        ("tickets", "s2"),
        ("activities", "t2"),
        ("survey_responses", "r2"),
        ("loyalty_accounts", "m2"),
    }
    assert [e.id for e in store.events.query(entity="c2", type=CustomersMerged)] == [event.id]
    polled = store.outbox.poll("erp", limit=100)
    assert polled[-1].id == event.id
    assert polled[-1].type == "identity.customers_merged"


def test_undo_restores_the_state_before_the_merge(dupes):
    store = dupes
    before = dump(store)
    event = apply_merge(store, plan_for(store, "c1", "c2"), at=at(10))
    undone = undo_merge(store, event.id, at=at(11), actor="ops")

    after = dump(store)
    assert unversioned(after) == unversioned(before)
    assert store.customers.get("c2") == before["customers"][1]  # same version as before
    assert store.customers.get("c1").version == 2  # merged, then restored
    assert after["last_position"] == before["last_position"] + 2
    assert isinstance(store.events.get(undone.id).event, MergeUndone)
    assert store.events.get(undone.id).event.merge_id == event.id

    with pytest.raises(ValidationError, match="undone already"):
        undo_merge(store, event, at=at(12))


def test_undo_leaves_records_created_after_the_merge_with_the_survivor(dupes):
    store = dupes
    event = apply_merge(store, plan_for(store, "c1", "c2"), at=at(10))
    store.orders.add(order("o4", customer_id="c1", placed_at=at(10.5)))
    store.orders.remove("o3")
    undo_merge(store, event, at=at(11))
    assert store.orders.get("o4").customer_id == "c1"
    assert store.orders.get("o2").customer_id == "c2"
    assert store.orders.find("o3") is None


class _Boom(RuntimeError):
    pass


class _FailingRepository:
    def __init__(self, repo: Any) -> None:
        self._repo = repo

    def __getattr__(self, name: str) -> Any:
        return getattr(self._repo, name)

    def update(self, entity: Any) -> Any:
        raise _Boom("injected failure")


class _FailingUnitOfWork:
    def __init__(self, uow: Any, aggregate: str) -> None:
        self._uow = uow
        self._aggregate = aggregate

    def __enter__(self) -> _FailingUnitOfWork:
        self._uow.__enter__()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._uow.__exit__(*exc)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._uow, name)

    def repository(self, name: str) -> Any:
        repo = self._uow.repository(name)
        return _FailingRepository(repo) if name == self._aggregate else repo


class _FailingStore:
    """The store, except that one aggregate's updates fail inside units of work."""

    def __init__(self, store: Any, aggregate: str) -> None:
        self._store = store
        self._aggregate = aggregate

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store, name)

    def unit_of_work(self, **kw: Any) -> _FailingUnitOfWork:
        return _FailingUnitOfWork(self._store.unit_of_work(**kw), self._aggregate)


@pytest.mark.parametrize("aggregate", ["survey_responses", "loyalty_accounts"])
def test_a_failed_merge_leaves_the_store_as_it_was(dupes, aggregate):
    store = dupes
    before = dump(store)
    plan = plan_for(store, "c1", "c2")
    with pytest.raises(_Boom):
        apply_merge(_FailingStore(store, aggregate), plan, at=at(10))
    assert dump(store) == before  # orders and tickets were re-pointed first: rolled back


def test_a_failed_undo_leaves_the_store_as_it_was(dupes):
    store = dupes
    event = apply_merge(store, plan_for(store, "c1", "c2"), at=at(10))
    before = dump(store)
    with pytest.raises(_Boom):
        undo_merge(_FailingStore(store, "loyalty_accounts"), event, at=at(11))
    assert dump(store) == before


def test_a_record_changed_since_the_plan_is_a_conflict(dupes):
    store = dupes
    plan = plan_for(store, "c1", "c2")
    store.customers.update(attrs.evolve(store.customers.get("c2"), name="Ada King"))
    before = dump(store)
    with pytest.raises(ConcurrencyConflict, match="c2"):
        apply_merge(store, plan, at=at(10))
    assert dump(store) == before


def test_undo_after_the_survivor_changed_is_a_conflict(dupes):
    store = dupes
    event = apply_merge(store, plan_for(store, "c1", "c2"), at=at(10))
    store.customers.update(attrs.evolve(store.customers.get("c1"), name="Ada K."))
    before = dump(store)
    with pytest.raises(ConcurrencyConflict, match="c1"):
        undo_merge(store, event, at=at(11))
    assert dump(store) == before


def test_undo_needs_a_merge_event(dupes):
    store = dupes
    event = apply_merge(store, plan_for(store, "c1", "c2"), at=at(10))
    with pytest.raises(NotFound):
        undo_merge(store, "no-such-event", at=at(11))
    consent = store.events.query(type="consent.changed")[0]
    with pytest.raises(ValidationError, match=r"not a identity\.customers_merged"):
        undo_merge(store, consent.id, at=at(11))
    with pytest.raises(ValidationError, match="before the merge"):
        undo_merge(store, event, at=at(9))


def test_not_duplicate_decisions_are_stored_and_respected(dupes):
    store = dupes
    plan = plan_for(store, "c1", "c2")
    mark_not_duplicate(store, "c2", "c1", at=at(8), actor="ann", reason="siblings")
    decided = not_duplicates(store)
    assert decided[["id_l", "id_r", "actor", "reason"]].values.tolist() == [
        ["c1", "c2", "ann", "siblings"]
    ]
    assert not_duplicates(store, as_of=at(7)).empty
    before = dump(store)
    with pytest.raises(ValidationError, match="not duplicates"):
        apply_merge(store, plan, at=at(10))
    assert dump(store) == before
    with pytest.raises(ValidationError, match="not duplicates"):
        merge_plan([store.customers.get("c1"), store.customers.get("c2")], cannot_link=decided)

    withdraw_not_duplicate(store, "c1", "c2", at=at(9), actor="bo")
    assert not_duplicates(store).empty
    assert len(not_duplicates(store, as_of=at(8.5))) == 1
    assert [e.event.distinct for e in store.events.query(type=NotDuplicateMarked)] == [
        True,
        False,
    ]
    apply_merge(store, plan, at=at(10))
    assert store.customers.find("c2") is None


def test_a_decision_needs_stored_customers(dupes):
    with pytest.raises(NotFound):
        mark_not_duplicate(dupes, "c1", "zz", at=at(8))
    with pytest.raises(ValidationError, match="same person"):
        mark_not_duplicate(dupes, "c1", "c1", at=at(8))
    assert dupes.events.count(type=NotDuplicateMarked) == 0


def test_the_survivors_timeline_holds_the_merged_history(dupes):
    store = dupes
    event = apply_merge(store, plan_for(store, "c1", "c2"), at=at(10))
    line = customer_timeline(store, "c1")
    assert set(line["entity_id"]) >= {"o1", "o2", "o3", "s2", "t2", "r2"}
    merged = line[line["kind"] == "identity.customers_merged"]
    assert merged["summary"].tolist() == ["customers c2 merged into c1 (6 records re-pointed)"]
    # c2's own history: its consent events, once each (not again from c1's merged record)
    consents = line[line["kind"] == "consent.changed"]
    withdrawn = consents[consents["summary"] == "email consent withdrawn (web form)"]
    assert len(withdrawn) == 1
    assert withdrawn["entity_id"].tolist() == ["c2"]
    # the merged id's own timeline shows the merge
    assert "identity.customers_merged" in set(customer_timeline(store, "c2")["kind"])

    undo_merge(store, event, at=at(11))
    line = customer_timeline(store, "c1")
    assert not set(line["entity_id"]) & {"o2", "o3", "s2", "t2", "r2"}
    assert "identity.merge_undone" in set(line["kind"])
    assert "web form" not in " ".join(line["summary"])


def test_a_three_way_merge_and_a_merge_of_a_survivor(dupes):
    store = dupes
    first = apply_merge(store, plan_for(store, "c1", "c2"), at=at(10))
    second = apply_merge(store, plan_for(store, "c3", "c1"), at=at(11))
    assert second.survivor_id == "c1"  # the oldest record
    assert [c.id for c in store.customers.query()] == ["c1"]
    assert {o.customer_id for o in store.orders.query()} == {"c1"}
    assert "o9" in set(customer_timeline(store, "c1")["entity_id"])
    with pytest.raises(ConcurrencyConflict):
        undo_merge(store, first, at=at(12))  # c1 changed by the second merge
    undo_merge(store, second, at=at(12))
    undo_merge(store, first, at=at(13))
    assert {c.id for c in store.customers.query()} == {"c1", "c2", "c3"}
    assert store.orders.get("o9").customer_id == "c3"
    assert store.orders.get("o2").customer_id == "c2"


def test_customer_frame_identifies_customers_as_of_a_moment(dupes):
    store = dupes
    before = customer_frame(store, as_of=at(9))
    assert before.index.tolist() == ["c1", "c2", "c3"]
    assert before["n_purchases"].tolist() == [1, 2, 1]

    event = apply_merge(store, plan_for(store, "c1", "c2"), at=at(10))
    pd.testing.assert_frame_equal(customer_frame(store, as_of=at(9)), before)
    merged = customer_frame(store, as_of=at(10))
    assert merged.index.tolist() == ["c1", "c3"]
    assert merged["n_purchases"].tolist() == [3, 1]
    assert merged.loc["c1", "total_spend"] == pytest.approx(19.99 + 30 + 19.99, rel=1e-12)

    undo_merge(store, event, at=at(11))
    still = customer_frame(store, as_of=at(10.5))  # undone later: still one customer then
    pd.testing.assert_frame_equal(
        still[["n_purchases", "total_spend"]], merged[["n_purchases", "total_spend"]]
    )
    pd.testing.assert_frame_equal(customer_frame(store, as_of=at(9)), before)
    assert customer_frame(store, as_of=at(12))["n_purchases"].tolist() == [1, 2, 1]
    with pytest.raises(ValidationError, match=r"store\.orders"):
        customer_frame(store, pd.DataFrame(), as_of=at(12))


def test_the_segment_rule_runs_on_a_stores_customers(store):
    """Women in their 30s with three or more purchases in the last six months."""
    with store.unit_of_work() as uow:
        for cid, gender, born in (("w1", "Female", (1990, 5, 1)), ("w2", "female", (1970, 1, 1))):
            uow.customers.add(customer(cid, gender=gender, birth_date=dt.date(*born)))
        uow.customers.add(customer("m1", gender="male", birth_date=dt.date(1991, 1, 1)))
        uow.customers.add(customer("w3", gender="female", birth_date=dt.date(1992, 1, 1)))
        for k, cid in enumerate(["w1", "w1", "w1", "w2", "w2", "w2", "m1", "m1", "m1", "w3"]):
            uow.orders.add(order(f"o{k}", customer_id=cid, placed_at=at(10 + k)))
        uow.commit()
    frame = customer_frame(store, as_of=at(60), windows=["6M"])
    assert frame.loc["w1", "gender"] == "female"
    assert frame["age"].tolist() == [35, 36, 56, 34]  # m1, w1 (birthday today), w2, w3
    rule = Rule.parse("gender == 'female' and age between 30 and 39 and purchases_6m >= 3")
    assert rule.select(frame).index.tolist() == ["w1"]


def test_uuid_ids_merge_and_undo_on_every_store(store):
    a, b = uuid.UUID(int=11), uuid.UUID(int=12)
    with store.unit_of_work() as uow:
        uow.customers.add(customer(a))
        uow.customers.add(customer(b, created_at=at(1)))
        uow.orders.add(order("o1", customer_id=b))
        uow.tickets.add(
            Ticket(
                id=uuid.UUID(int=13), customer_id=b, subject="x", channel="web", created_at=at(2)
            )
        )
        uow.commit()
    event = apply_merge(store, plan_for(store, a, b), at=at(3))
    assert store.events.get(event.id).event == event
    assert store.orders.get("o1").customer_id == a
    assert store.tickets.get(uuid.UUID(int=13)).customer_id == a
    assert [e.id for e in store.events.query(entity=b)] == [event.id]
    undo_merge(store, event.id, at=at(4))
    assert store.tickets.get(uuid.UUID(int=13)).customer_id == b
    assert store.customers.get(b) == customer(b, created_at=at(1))


def test_a_merge_inside_the_callers_unit_of_work(dupes):
    store = dupes
    before = dump(store)
    with store.unit_of_work() as uow:
        apply_merge(store, plan_for(store, "c1", "c2"), at=at(10), uow=uow)
        assert uow.customers.find("c2") is None
        assert store.customers.find("c2") is not None  # not committed yet
    assert dump(store) == before  # left without commit: rolled back
    with store.unit_of_work() as uow:
        event = apply_merge(store, plan_for(store, "c1", "c2"), at=at(10), uow=uow)
        uow.orders.add(order("o5", customer_id="c1", placed_at=at(10)))
        uow.commit()
    assert store.customers.find("c2") is None
    assert store.orders.get("o5").customer_id == "c1"
    assert store.events.get(event.id).event == event
    with pytest.raises(ValidationError, match="unit of work"):
        apply_merge(store, plan_for(store, "c1", "c3"), at=at(11), uow=object())  # type: ignore[arg-type]
