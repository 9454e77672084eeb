"""Invariants of assignment (hypothesis): capacity, completeness, replay, the reference."""

from __future__ import annotations

import datetime as dt
import itertools

import hypothesis.strategies as st
import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings

from crmcore.pipeline import (
    Agent,
    AssignmentRule,
    LeastLoaded,
    RoundRobin,
    SkillsMatch,
    Team,
    Territory,
    Workload,
    assign,
)
from tests.unit.pipeline._assign_reference import reference_assign

AT = dt.datetime(2026, 3, 2, 9, tzinfo=dt.UTC)
SKILLS = ["en", "ko", "de"]
AREAS = ["n", "s", "e"]
AGENT_IDS = ["a", "b", "c", "d", "e"]


@st.composite
def agents(draw):
    """One definition per agent id, shared by every team that lists it."""
    return {
        i: Agent(
            i,
            capacity=draw(st.one_of(st.none(), st.integers(0, 6))),
            skills=draw(st.sets(st.sampled_from(SKILLS))),
            territories=draw(st.sets(st.sampled_from(AREAS))),
            active=draw(st.booleans().filter(lambda b: b) | st.booleans()),
        )
        for i in AGENT_IDS
    }


STRATEGIES = st.sampled_from(
    [
        RoundRobin(),
        LeastLoaded(),
        SkillsMatch("lang"),
        SkillsMatch("lang", then=RoundRobin()),
        Territory("area"),
        Territory("area", then=LeastLoaded()),
    ]
)


@st.composite
def setups(draw):
    pool = draw(agents())
    n_rules = draw(st.integers(1, 3))
    rules = []
    for r in range(n_rules):
        if draw(st.integers(0, 5)) == 0:
            rules.append(AssignmentRule(f"q{r}", f"kind == {r}", queue="later"))
            continue
        ids = draw(st.lists(st.sampled_from(AGENT_IDS), min_size=1, max_size=4, unique=True))
        team = Team(f"t{r}", [pool[i] for i in ids])
        rules.append(AssignmentRule(f"r{r}", f"kind == {r}", team=team, strategy=draw(STRATEGIES)))
    n = draw(st.integers(0, 40))
    frame = pd.DataFrame(
        {
            "id": [f"L{i}" for i in range(n)],
            "kind": draw(st.lists(st.integers(0, 3), min_size=n, max_size=n)),
            "lang": draw(st.lists(st.sampled_from([None, *SKILLS]), min_size=n, max_size=n)),
            "area": draw(st.lists(st.sampled_from([None, *AREAS]), min_size=n, max_size=n)),
        }
    )
    loads = draw(st.dictionaries(st.sampled_from(AGENT_IDS), st.integers(0, 8)))
    last = {r.team.name: draw(st.sampled_from(AGENT_IDS)) for r in rules if r.team is not None}
    return pool, rules, frame, Workload(loads, last)


def owners(result):
    return result.table["owner"].astype(object).where(result.table["owner"].notna(), None).tolist()


@settings(max_examples=80)
@given(setups())
def test_capacity_never_exceeded_and_every_entity_assigned_or_reported(setup):
    pool, rules, frame, workload = setup
    result = assign(frame, rules, workload=workload, at=AT)
    t = result.table
    assert len(t) == len(frame)
    assert t["status"].notna().all()
    un = t["status"] == "unassigned"
    assert t.loc[un, "reason"].notna().all()
    assert t.loc[~un, "reason"].isna().all()
    assert (t["owner"].notna() == (t["status"] == "assigned")).all()
    got = pd.Series(owners(result)).value_counts().to_dict()
    for agent_id, agent in pool.items():
        before = workload.loads.get(agent_id, 0)
        added = got.get(agent_id, 0)
        assert result.workload.loads.get(agent_id, 0) == before + added
        if agent.capacity is not None and added:
            assert before + added <= agent.capacity
        if added:
            assert agent.active


@settings(max_examples=80)
@given(setups())
def test_bulk_equals_one_at_a_time_reference(setup):
    _, rules, frame, workload = setup
    result = assign(frame, rules, workload=workload, at=AT)
    want, reasons, loads, last = reference_assign(
        frame, rules, dict(workload.loads), dict(workload.last_assigned)
    )
    assert owners(result) == want
    got_reasons = result.table["reason"].astype(object)
    assert got_reasons.where(got_reasons.notna(), None).tolist() == reasons
    assert dict(result.workload.last_assigned) == last
    assert {k: v for k, v in result.workload.loads.items() if v} == {
        k: v for k, v in loads.items() if v
    }


@pytest.mark.slow
@settings(max_examples=60)
@given(setups(), st.lists(st.integers(0, 40), max_size=4))
def test_replay_in_one_batch_equals_live_batches(setup, cuts):
    _, rules, frame, workload = setup
    whole = assign(frame, rules, workload=workload, at=AT)
    bounds = sorted({0, len(frame), *(min(c, len(frame)) for c in cuts)})
    live_owners: list[object] = []
    live_status: list[str] = []
    state = workload
    for a, b in itertools.pairwise(bounds):
        part = assign(frame.iloc[a:b], rules, workload=state, at=AT)
        live_owners += owners(part)
        live_status += part.table["status"].tolist()
        state = part.workload
    assert live_owners == owners(whole)
    assert live_status == whole.table["status"].tolist()
    assert state == whole.workload
    assert [e.entity_id for e in whole.events] == whole.assigned["entity_id"].tolist()


@settings(max_examples=30)
@given(
    st.integers(0, 5),
    st.lists(st.one_of(st.none(), st.integers(0, 30)), min_size=1, max_size=6),
    st.integers(0, 120),
)
def test_the_bulk_kernels_match_a_loop(seed, caps, n):
    rng = np.random.default_rng(seed)
    team = Team("t", [Agent(f"m{i}", capacity=c) for i, c in enumerate(caps)])
    loads = {f"m{i}": int(x) for i, x in enumerate(rng.integers(0, 10, len(caps)))}
    frame = pd.DataFrame({"id": np.arange(n)})
    for strategy in (RoundRobin(), LeastLoaded()):
        rules = [AssignmentRule("r", None, team=team, strategy=strategy)]
        last = {"t": f"m{int(rng.integers(0, len(caps)))}"}
        result = assign(frame, rules, workload=Workload(loads, last), at=AT, id_col=None)
        want, *_ = reference_assign(frame, rules, loads, last)
        assert owners(result) == want
