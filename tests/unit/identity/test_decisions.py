"""Stored "not a duplicate" decisions, as later matching and clustering read them."""

from __future__ import annotations

import datetime as dt

import pandas as pd

from crmcore.domain import Customer
from crmcore.identity import (
    cluster_duplicates,
    find_duplicates,
    mark_not_duplicate,
    not_duplicates,
    withdraw_not_duplicate,
)
from crmcore.storage import InMemoryStore

T = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)
DAY = dt.timedelta(days=1)
FIELDS = {"name": "name", "email": "email"}


def _store() -> InMemoryStore:
    store = InMemoryStore()
    for cid, name, email in (
        ("c1", "Ann Lee", "ann.lee@example.org"),
        ("c2", "Lee, Ann", "Ann.Lee@Example.org"),
        ("c3", "Anne Leigh", "ann.lee+shop@example.org"),
        ("c4", "Bo Chen", "bo@example.org"),
    ):
        store.customers.add(Customer(id=cid, name=name, email=email, created_at=T))
    return store


def test_matching_leaves_out_decided_pairs():
    store = _store()
    records = list(store.customers.query())
    everything = find_duplicates(records, fields=FIELDS, threshold=0)
    pairs = set(zip(everything["id_l"], everything["id_r"], strict=True))
    assert {("c1", "c2"), ("c1", "c3"), ("c2", "c3")} <= pairs

    mark_not_duplicate(store, "c3", "c1", at=T, reason="mother and daughter")
    mark_not_duplicate(store, "c2", "c3", at=T + DAY)
    withdraw_not_duplicate(store, "c3", "c2", at=T + 2 * DAY)
    decided = not_duplicates(store)
    assert decided[["id_l", "id_r"]].values.tolist() == [["c1", "c3"]]
    kept = find_duplicates(records, fields=FIELDS, threshold=0, cannot_link=decided)
    assert set(zip(kept["id_l"], kept["id_r"], strict=True)) == pairs - {("c1", "c3")}
    # everything else unchanged: same scores for the pairs kept
    merged = everything.merge(kept, on=["id_l", "id_r"], suffixes=("", "_kept"))
    pd.testing.assert_series_equal(
        merged["score"], merged["score_kept"], check_names=False, rtol=1e-12
    )


def test_clustering_respects_stored_decisions():
    store = _store()
    mark_not_duplicate(store, "c1", "c3", at=T)
    pairs = pd.DataFrame({"id_l": ["c1", "c2"], "id_r": ["c2", "c3"], "score": [0.99, 0.7]})
    clusters = cluster_duplicates(pairs, 0.5, cannot_link=not_duplicates(store))
    assert clusters["c1"] == clusters["c2"]
    assert clusters["c3"] != clusters["c1"]  # the weaker link is cut


def test_decisions_as_of_a_moment():
    store = _store()
    mark_not_duplicate(store, "c1", "c2", at=T)
    withdraw_not_duplicate(store, "c1", "c2", at=T + DAY)
    assert len(not_duplicates(store, as_of=T)) == 1
    assert not_duplicates(store, as_of="2026-03-02").values.tolist()[0][:2] == ["c1", "c2"]
    assert not_duplicates(store, as_of="2026-03-03").empty
    assert not_duplicates(store).empty
    assert list(not_duplicates(InMemoryStore()).columns) == [
        "id_l",
        "id_r",
        "at",
        "actor",
        "reason",
    ]
