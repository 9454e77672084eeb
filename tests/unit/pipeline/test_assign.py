"""Assignment: rules, round robin, least loaded, skills, territory, capacity, state."""

from __future__ import annotations

import datetime as dt
import json

import numpy as np
import pandas as pd
import pytest

from crmcore.domain import Lead, Ticket
from crmcore.errors import ValidationError
from crmcore.pipeline import (
    Agent,
    Assigned,
    AssignmentRule,
    LeastLoaded,
    RoundRobin,
    SkillsMatch,
    Team,
    Territory,
    Workload,
    assign,
)
from crmcore.segmentation import Rule
from tests.unit.pipeline._assign_reference import reference_assign

AT = dt.datetime(2026, 3, 2, 9, tzinfo=dt.UTC)


def owners(result):
    return result.table["owner"].astype(object).where(result.table["owner"].notna(), None).tolist()


def leads(n, **cols):
    return pd.DataFrame({"id": [f"L{i}" for i in range(n)], **cols})


def test_round_robin_takes_turns_and_continues_from_the_workload():
    team = Team("t", [Agent("a"), Agent("b"), Agent("c")])
    rules = [AssignmentRule("all", None, team=team)]
    first = assign(leads(4), rules, workload=Workload(), at=AT)
    assert owners(first) == ["a", "b", "c", "a"]
    assert first.workload.last_assigned == {"t": "a"}
    assert first.workload.loads == {"a": 2, "b": 1, "c": 1}
    again = assign(leads(2), rules, workload=first.workload, at=AT)
    assert owners(again) == ["b", "c"]


def test_round_robin_skips_full_and_inactive_members():
    team = Team("t", [Agent("a", capacity=1), Agent("b", active=False), Agent("c")])
    result = assign(leads(4), [AssignmentRule("all", None, team=team)], workload=Workload(), at=AT)
    assert owners(result) == ["a", "c", "c", "c"]


def test_least_loaded_fills_the_emptiest_first_ties_to_the_first_listed():
    team = Team("t", [Agent("a"), Agent("b"), Agent("c", capacity=3)])
    rules = [AssignmentRule("all", None, team=team, strategy=LeastLoaded())]
    result = assign(leads(6), rules, workload=Workload({"a": 2, "c": 2}), at=AT)
    # b from 0 to 2 first, then a, b, c level with 2: a, b, c; c is then full
    assert owners(result) == ["b", "b", "a", "b", "c", "a"]
    assert result.workload.loads == {"a": 4, "b": 3, "c": 3}


def test_capacity_is_never_exceeded_and_the_rest_is_reported():
    team = Team("t", [Agent("a", capacity=2), Agent("b", capacity=1)])
    for strategy in (RoundRobin(), LeastLoaded()):
        rules = [AssignmentRule("all", None, team=team, strategy=strategy)]
        result = assign(leads(5), rules, workload=Workload({"a": 1}), at=AT)
        assert sorted(o for o in owners(result) if o) == ["a", "b"]
        un = result.unassigned
        assert un["reason"].tolist() == ["at_capacity"] * 3
        assert "at capacity" in un["detail"].iloc[0]


def test_an_agent_above_capacity_gets_nothing_more():
    team = Team("t", [Agent("a", capacity=2), Agent("b")])
    rules = [AssignmentRule("all", None, team=team, strategy=LeastLoaded())]
    result = assign(leads(2), rules, workload=Workload({"a": 5, "b": 9}), at=AT)
    assert owners(result) == ["b", "b"]


def test_skills_match_and_territory_narrow_the_team():
    team = Team(
        "t",
        [
            Agent("ann", skills=["en"], territories=["north"]),
            Agent("kim", skills=["en", "ko"], territories=["south"]),
        ],
    )
    frame = leads(4, language=["ko", "en", "fr", None], area=["north", "south", "north", None])
    by_skill = assign(
        frame,
        [AssignmentRule("s", None, team=team, strategy=SkillsMatch("language"))],
        workload=Workload(),
        at=AT,
    )
    assert owners(by_skill)[:2] == ["kim", "ann"]
    assert owners(by_skill)[3] == "ann"  # no requirement: least loaded, first listed
    assert by_skill.table["reason"].iloc[2] == "no_eligible_member"
    assert by_skill.table["detail"].iloc[2] == "team 't' has no active member with skills ['fr']"
    by_area = assign(
        frame,
        [AssignmentRule("a", None, team=team, strategy=Territory("area"))],
        workload=Workload(),
        at=AT,
    )
    assert owners(by_area) == ["ann", "kim", "ann", None]
    assert "covering no territory" in by_area.table["detail"].iloc[3]


def test_skills_may_be_lists_and_filters_nest():
    team = Team(
        "t",
        [Agent("a", skills=["en"], territories=["x"]), Agent("b", skills=["en", "ko"])],
    )
    frame = leads(2, need=[["en", "ko"], ["en"]], area=["x", "x"])
    nested = SkillsMatch("need", then=Territory("area", then=LeastLoaded()))
    result = assign(
        frame, [AssignmentRule("r", None, team=team, strategy=nested)], workload=Workload(), at=AT
    )
    assert owners(result) == [None, "a"]
    assert result.table["detail"].iloc[0] == (
        "team 't' has no active member covering territory 'x' with skills ['en', 'ko']"
    )


def test_first_matching_rule_decides_queues_and_no_rule():
    emea = Team("emea", [Agent("ann")])
    rules = [
        AssignmentRule("big", Rule.parse("employees >= 1000"), queue="enterprise"),
        AssignmentRule("emea", "region == 'EMEA'", team=emea),
    ]
    frame = leads(3, employees=[5000, 10, 10], region=["EMEA", "EMEA", "APAC"])
    result = assign(frame, rules, workload=Workload(), at=AT)
    t = result.table
    assert t["status"].tolist() == ["queued", "assigned", "unassigned"]
    assert t["queue"].tolist()[0] == "enterprise"
    assert t["rule"].tolist()[:2] == ["big", "emea"]
    assert t["reason"].tolist()[2] == "no_rule"
    assert result.entities["owner"].fillna("-").tolist() == ["-", "ann", "-"]
    assert [e.queue for e in result.events] == ["enterprise", None]


def test_events_record_every_assigned_or_queued_entity():
    team = Team("t", [Agent("a")])
    rules = [AssignmentRule("r", "x > 0", team=team), AssignmentRule("q", None, queue="later")]
    result = assign(
        leads(3, x=[1, 0, 1]), rules, workload=Workload(), at=AT, entity_type="lead", actor="bot"
    )
    assert result.events == (
        Assigned("L0", "lead", "a", "t", None, "r", AT, "bot"),
        Assigned("L1", "lead", None, None, "later", "q", AT, "bot"),
        Assigned("L2", "lead", "a", "t", None, "r", AT, "bot"),
    )


def test_assigned_is_a_registered_domain_event_that_round_trips_through_json():
    from crmcore.domain import EVENT_TYPES, DomainEvent

    event = Assigned("L1", "lead", None, None, "later", "q", AT, "bot")
    assert EVENT_TYPES["pipeline.assigned"] is Assigned
    assert (event.type, event.entity_type, event.entity_ids) == (
        "pipeline.assigned",
        "lead",
        ("L1",),
    )
    assert event.payload == {
        "entity_id": "L1", "entity_type": "lead", "owner": None, "team": None,
        "queue": "later", "rule": "q",
    }  # fmt: skip
    back = DomainEvent.from_dict(json.loads(json.dumps(event.to_dict())))
    assert type(back) is Assigned
    assert back == event
    assert back.id == event.id
    assert event.describe() == "lead L1 queued in later (rule q)"


def test_entities_are_evolved_with_their_owner():
    made = [
        Lead(id=f"L{i}", name="n", source="web", created_at=AT, custom={"region": r})
        for i, r in enumerate(["EMEA", "APAC"])
    ]
    team = Team("t", [Agent("ann")])
    result = assign(
        made, [AssignmentRule("r", "region == 'EMEA'", team=team)], workload=Workload(), at=AT
    )
    assert [e.owner for e in result.entities] == ["ann", None]
    assert result.entities[1] is made[1]
    assert result.events[0].entity_type == "lead"
    ticket = Ticket(id="T1", customer_id="C", subject="s", channel="chat", created_at=AT)
    res = assign(
        [ticket], [AssignmentRule("r", "channel == 'chat'", team=team)], workload=Workload(), at=AT
    )
    assert res.entities[0].owner == "ann"
    assert res.events[0].entity_type == "ticket"


def test_equals_one_entity_at_a_time_with_shared_agents():
    rng = np.random.default_rng(4)
    n = 300
    shared = Agent("s", capacity=60, skills=["en", "ko"], territories=["n", "s"])
    t1 = Team(
        "one",
        [
            Agent("a", skills=["en"], territories=["n"]),
            shared,
            Agent("b", skills=["ko"], capacity=40),
        ],
    )
    t2 = Team(
        "two",
        [shared, Agent("c", territories=["s"], capacity=50), Agent("d", territories=["n", "s"])],
    )
    rules = [
        AssignmentRule("skills", "kind == 1", team=t1, strategy=SkillsMatch("lang")),
        AssignmentRule("area", "kind == 2", team=t2, strategy=Territory("area")),
        AssignmentRule("ll", "kind == 3", team=t2, strategy=LeastLoaded()),
        AssignmentRule("rr", "kind == 4", team=t1),
    ]
    frame = leads(
        n,
        kind=rng.integers(0, 5, n),
        lang=rng.choice(np.array(["en", "ko", "fr"], dtype=object), n),
        area=rng.choice(np.array(["n", "s", "w"], dtype=object), n),
    )
    loads = {"a": 3, "s": 10, "d": 1}
    last = {"one": "s"}
    result = assign(frame, rules, workload=Workload(loads, last), at=AT)
    want_owners, want_reasons, want_loads, want_last = reference_assign(frame, rules, loads, last)
    assert owners(result) == want_owners
    reason = result.table["reason"].astype(object).where(result.table["reason"].notna(), None)
    assert reason.tolist() == want_reasons
    assert dict(result.workload.loads) == want_loads
    assert dict(result.workload.last_assigned) == want_last


def test_workload_counts_and_round_trips_through_json():
    open_items = pd.DataFrame({"owner": ["a", "b", "a", None]})
    w = Workload.count(open_items)
    assert w.loads == {"a": 2, "b": 1}
    w = Workload(w.loads, {"t": "a"})
    assert Workload.from_dict(json.loads(w.to_json())) == w


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: Agent("a", capacity=-1), "capacity"),
        (lambda: Agent("a", capacity=1.5), "capacity"),
        (lambda: Team("t", [Agent("a"), Agent("a")]), "listed twice"),
        (lambda: AssignmentRule("r", None), "exactly one of team= or queue="),
        (lambda: AssignmentRule("r", 5, queue="q"), "when must be"),
        (lambda: AssignmentRule("r", None, queue="q", strategy="rr"), "then must be a strategy"),
        (lambda: Workload({"a": -1}), "loads"),
    ],
)
def test_bad_definitions_are_refused(make, message):
    with pytest.raises(ValidationError, match=message):
        make()


def test_bad_calls_are_refused():
    team = Team("t", [Agent("a")])
    rule = AssignmentRule("r", None, team=team)
    with pytest.raises(ValidationError, match="timezone-aware"):
        assign(leads(1), [rule], workload=Workload(), at=dt.datetime(2026, 1, 1))  # noqa: DTZ001
    with pytest.raises(ValidationError, match="workload must be a Workload"):
        assign(leads(1), [rule], workload=None, at=AT)
    with pytest.raises(ValidationError, match="used twice"):
        assign(leads(1), [rule, rule], workload=Workload(), at=AT)
    other = Team("u", [Agent("a", capacity=3)])
    with pytest.raises(ValidationError, match="defined differently"):
        assign(leads(1), [rule, AssignmentRule("s", None, team=other)], workload=Workload(), at=AT)
    with pytest.raises(ValidationError, match="lang"):
        assign(
            leads(1),
            [AssignmentRule("s", None, team=team, strategy=SkillsMatch("lang"))],
            workload=Workload(),
            at=AT,
        )
    with pytest.raises(ValidationError, match="must be a string or a list of strings"):
        assign(
            leads(1, lang=[[1]]),
            [AssignmentRule("s", None, team=team, strategy=SkillsMatch("lang"))],
            workload=Workload(),
            at=AT,
        )
