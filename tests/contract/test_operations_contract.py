"""Sales and service operations on a store: assignments recorded as events, the
pipeline's past read from stored stage changes; on every store."""

from __future__ import annotations

import datetime as dt

import attrs
import numpy as np
import pandas as pd
import pytest

from crmcore.domain import ArticleSaved, Assigned, GenericEvent, Lead, StageChanged
from crmcore.errors import ValidationError
from crmcore.pipeline import (
    ARTICLE_WORKFLOW,
    Agent,
    Article,
    AssignmentRule,
    KnowledgeBase,
    RoundRobin,
    Team,
    Workload,
    advance,
    assign,
    events_frame,
    forecast_accuracy,
    load_articles,
    pipeline_changes,
    pipeline_snapshot,
    revise,
)
from tests.contract._samples import T0, at

UTC = dt.UTC


def _leads() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "id": ["L1", "L2", "L3", "L4", "L5"],
            "region": ["EMEA", "EMEA", "EMEA", "APAC", "LATAM"],
        }
    )


def _rules() -> list[AssignmentRule]:
    emea = Team("emea", [Agent("ann", capacity=2), Agent("bob", capacity=1)])
    return [
        AssignmentRule("emea", "region == 'EMEA'", team=emea, strategy=RoundRobin()),
        AssignmentRule("apac", "region == 'APAC'", queue="apac-desk"),
    ]


# ---------------------------------------------------------------- assignments


def test_assigned_events_commit_with_the_new_owners_and_read_back_equal(store):
    with store.unit_of_work() as uow:
        uow.leads.add_many(
            Lead(id=i, name=f"lead {i}", source="web", created_at=at()) for i in _leads()["id"]
        )
        uow.commit()
    result = assign(_leads(), _rules(), workload=Workload(), at=at(1), entity_type="lead")
    owners = result.table.set_index("entity_id")["owner"]
    with store.unit_of_work() as uow:
        for lead_id, owner in owners.dropna().items():
            uow.leads.update(attrs.evolve(uow.leads.get(lead_id), owner=owner))
        uow.record(*result.events)
        uow.commit()

    stored = store.events.query(type=Assigned)
    assert [s.event for s in stored] == list(result.events)
    assert [s.event.id for s in stored] == [e.id for e in result.events]
    assert [s.event.entity_id for s in stored] == ["L1", "L2", "L3", "L4"]  # L5: no rule
    assert stored[3].event.queue == "apac-desk"
    assert stored[3].event.owner is None
    assert store.leads.get("L2").owner == "bob"
    assert store.events.query(entity="L3")[0].event.describe() == (
        "lead L3 assigned to ann (team emea, rule emea)"
    )
    frame = store.events.to_frame(type=Assigned, payload_keys=["owner", "team", "queue", "rule"])
    assert frame["entity_type"].tolist() == ["lead"] * 4
    assert frame["owner"].fillna("-").tolist() == ["ann", "bob", "ann", "-"]  # missing: queued
    assert frame["queue"].fillna("-").tolist() == ["-", "-", "-", "apac-desk"]
    assert (frame["at"] == pd.Timestamp(at(1))).all()


def test_a_rolled_back_assignment_stores_neither_owners_nor_events(store):
    store.leads.add(Lead(id="L1", name="lead", source="web", created_at=at()))
    result = assign(_leads().head(1), _rules(), workload=Workload(), at=at(1))
    with store.unit_of_work() as uow:
        uow.leads.update(attrs.evolve(uow.leads.get("L1"), owner="ann"))
        uow.record(*result.events)
    assert store.leads.get("L1").owner is None
    assert store.events.count(type=Assigned) == 0


def test_assignments_in_pieces_from_the_stored_workload_equal_one_batch(store):
    leads = pd.DataFrame({"id": [f"L{i}" for i in range(7)], "region": "EMEA"})
    rules = [
        AssignmentRule(
            "emea",
            "region == 'EMEA'",
            team=Team("emea", [Agent("ann"), Agent("bob"), Agent("cy")]),
            strategy=RoundRobin(),
        )
    ]
    live = assign(leads, rules, workload=Workload(), at=at(1))
    workload = Workload()
    for piece in (leads.iloc[:3], leads.iloc[3:4], leads.iloc[4:]):
        step = assign(piece, rules, workload=workload, at=at(1))
        store.events.append(*step.events)
        workload = Workload.from_dict(step.workload.to_dict())  # what an application keeps
    owners = store.events.to_frame(type=Assigned, payload_keys=["owner"])["owner"].tolist()
    assert owners == live.table["owner"].tolist()
    assert workload == live.workload


def test_an_assignment_with_ids_a_store_cannot_hold_is_refused_whole(store):
    leads = pd.DataFrame({"id": [1, 2], "region": "EMEA"})
    result = assign(leads, _rules(), workload=Workload(), at=at(1))
    with pytest.raises(ValidationError, match="entity_id"):
        store.events.append(*result.events)
    assert store.events.count() == 0


# ---------------------------------------------------------------- the pipeline's past


def _opportunities() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "id": ["O1", "O2", "O3", "O4"],
            "owner": ["ann", "ann", "bob", "bob"],
            "created_at": pd.DatetimeIndex([at(d) for d in (0, 1, 2, 40)]).tz_convert("UTC"),
            "amount": [100.0, 200.0, 300.0, 50.0],
            "close_date": pd.to_datetime(["2026-04-20", "2026-05-10", "2026-05-25", "2026-06-15"]),
        }
    )


def _moves() -> list[StageChanged]:
    def move(oid: str, frm: str, to: str, days: float) -> StageChanged:
        return StageChanged(oid, frm, to, at(days), "ann", None, "opportunity")

    return [
        move("O1", "prospecting", "qualification", 3),
        move("O2", "prospecting", "proposal", 5),
        move("O1", "qualification", "negotiation", 20),
        move("O3", "prospecting", "negotiation", 25),
        move("O1", "negotiation", "closed_won", 45),
        move("O2", "proposal", "closed_lost", 50),
        move("O3", "negotiation", "closed_won", 70),
        # two moves of O4 at one instant: the later one (by position) holds
        move("O4", "prospecting", "proposal", 60),
        move("O4", "proposal", "negotiation", 60),
    ]


@pytest.fixture
def pipeline_store(store):
    noise = StageChanged("T1", "new", "assigned", at(10), None, None, "ticket")
    store.events.append(*_moves()[:4], noise)
    store.events.append(*_moves()[4:])
    return store


def test_snapshots_from_stored_stage_changes_equal_those_from_the_events(pipeline_store):
    stored = pipeline_store.events.stage_history(workflow="opportunity")
    direct = events_frame(_moves())
    opps = _opportunities()
    for as_of in (T0, at(4), at(20), "2026-04-30", at(60), at(90)):
        got = pipeline_snapshot(stored, opps, as_of=as_of)
        want = pipeline_snapshot(direct, opps, as_of=as_of)
        pd.testing.assert_frame_equal(got, want, check_index_type=False)
    later = pipeline_snapshot(stored, opps, as_of=at(61))
    assert later.loc["O4", "stage"] == "negotiation"
    assert later.loc[["O1", "O3"], "is_won"].tolist() == [True, False]


def test_forecast_accuracy_and_waterfall_from_the_store_equal_the_direct_ones(pipeline_store):
    stored = pipeline_store.events.stage_history(workflow="opportunity")
    direct = events_frame(_moves())
    opps = _opportunities()
    cuts = ["2026-03-31", "2026-04-30", "2026-05-31"]
    got = forecast_accuracy(stored, opps, as_of=cuts, freq="M", by="owner")
    want = forecast_accuracy(direct, opps, as_of=cuts, freq="M", by="owner")
    pd.testing.assert_frame_equal(got.detail, want.detail)
    pd.testing.assert_frame_equal(got.summary, want.summary)
    changes = pipeline_changes(stored, opps, start="2026-03-31", end="2026-05-31")
    same = pipeline_changes(direct, opps, start="2026-03-31", end="2026-05-31")
    pd.testing.assert_frame_equal(changes, same)
    np.testing.assert_allclose(
        changes.loc["start", "amount"] + changes["amount"].iloc[1:-1].sum(),
        changes.loc["end", "amount"],
        rtol=1e-12,
    )


# ---------------------------------------------------------------- knowledge-base articles


def test_article_revisions_are_stored_as_events_and_read_back_as_they_stood(store):
    body = "주문 내역에서 배송 조회를 누르세요."
    draft = Article("KB-1", "배송이 늦어요", body, at(), tags=["배송"], language="ko")
    live, moves = advance(draft, "published", at=at(1), workflow=ARTICLE_WORKFLOW)
    with store.unit_of_work() as uow:
        uow.record(draft.saved(at=at(), actor="mia"), live.saved(at=at(1)), *moves)
        uow.commit()
    rework = revise(live, body="앱에서 주문 > 배송 조회를 누르세요.", at=at(5))
    refund = Article(
        "KB-2", "How do I get a refund?", "Open the order.", at(2), status="published"
    )
    store.events.append(rework.saved(at=at(5)), refund.saved(at=at(2)))

    everything = load_articles(store.events)
    assert everything == [live, rework, refund]  # by (article, revision), as last saved
    assert everything[1].body == "앱에서 주문 > 배송 조회를 누르세요."
    assert load_articles(store.events, as_of=at(0.5)) == [draft]
    assert load_articles(store.events, as_of=at(1)) == [live]  # at exactly as_of: history
    assert load_articles(store.events, as_of=at(-1)) == []
    assert store.events.query(entity="KB-1", type=ArticleSaved)[0].event.actor == "mia"

    kb = KnowledgeBase(everything)  # serves revision 1 while revision 2 is a draft
    hit = kb.search("배송을 조회하고 싶어요", k=1)
    assert hit["id"].tolist() == ["KB-1"]
    assert [a.revision for a in kb.articles if a.id == "KB-1"] == [1]


def test_a_later_save_of_one_revision_wins_and_a_tie_goes_to_the_later_position(store):
    a = Article("A1", "Refunds", "Open the order.", at())
    published = attrs.evolve(a, status="published")
    archived = attrs.evolve(a, status="archived")
    store.events.append(published.saved(at=at(3)), a.saved(at=at(1)))  # back-filled earlier save
    assert load_articles(store.events) == [published]
    store.events.append(archived.saved(at=at(3)))  # same instant, later position
    assert load_articles(store.events) == [archived]


def test_a_stored_article_event_that_no_longer_fits_is_reported_not_skipped(store):
    store.events.append(
        GenericEvent(
            event_type="knowledge.article_saved",
            entity_type="article",
            entity_id="A9",
            at=at(),
            payload={"article_id": "A9", "headline": "renamed field"},
        )
    )
    with pytest.raises(ValidationError, match="does not fit ArticleSaved"):
        load_articles(store.events)
