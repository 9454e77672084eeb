"""Workflow definitions, advance, replay, probabilities and lead conversion."""

from __future__ import annotations

import datetime as dt

import attrs
import pytest

from crmcore.domain import Lead, Money, Opportunity, Ticket
from crmcore.errors import InvalidTransition, ValidationError
from crmcore.pipeline import (
    LEAD_WORKFLOW,
    OPPORTUNITY_WORKFLOW,
    TICKET_WORKFLOW,
    LeadConverted,
    Stage,
    StageChanged,
    Transition,
    Workflow,
    advance,
    allowed_transitions,
    convert_lead,
    replay,
    reset_probability,
    set_probability,
)

UTC = dt.UTC
T0 = dt.datetime(2026, 3, 2, 9, tzinfo=UTC)


def opp(**kw):
    base = {
        "id": "O-1",
        "account_id": "A-1",
        "name": "Acme",
        "amount": Money(amount="1000.00", currency="EUR"),
        "expected_close_date": dt.date(2026, 6, 30),
        "probability": 10,
        "created_at": T0,
    }
    return Opportunity(**{**base, **kw})


def lead(**kw):
    base = {"id": "L-1", "name": "Grace", "source": "web", "created_at": T0, "company": "Navy"}
    return Lead(**{**base, **kw})


def ticket(**kw):
    base = {
        "id": "T-1",
        "customer_id": "C-1",
        "subject": "help",
        "created_at": T0,
        "channel": "email",
    }
    return Ticket(**{**base, **kw})


def at(hours):
    return T0 + dt.timedelta(hours=hours)


# ---------------------------------------------------------------- definition


def two_stages():
    return [Stage("a", 1), Stage("b", 2, is_closed=True)]


@pytest.mark.parametrize(
    ("stages", "transitions", "initial", "needle"),
    [
        ([Stage("a", 1), Stage("a", 2)], [], "a", "duplicate stage name 'a'"),
        (two_stages(), [Transition("a", "zz")], "a", "unknown stage 'zz'"),
        (two_stages(), [Transition("a", "b")], "nope", "initial stage 'nope' is unknown"),
        (two_stages(), [Transition("a", "b"), Transition("b", "a")], "a", "leaves final stage"),
        (
            [*two_stages(), Stage("c", 3)],
            [Transition("a", "b"), Transition("c", "b")],
            "a",
            "stage 'c' is unreachable",
        ),
        (two_stages(), [Transition("a", "b"), Transition("a", "b")], "a", "duplicate transition"),
        ([Stage("a", 1), Stage("b", 2)], [Transition("a", "b")], "a", "'b' has no outgoing"),
    ],
)
def test_invalid_workflows_name_the_problem(stages, transitions, initial, needle):
    with pytest.raises(ValidationError, match=needle):
        Workflow("w", stages, transitions, initial)


def test_stage_validation():
    with pytest.raises(ValidationError, match="probability"):
        Stage("x", 1, 120)
    with pytest.raises(ValidationError, match="forecast_category"):
        Stage("x", 1, 10, "maybe")
    with pytest.raises(ValidationError, match="won but not closed"):
        Stage("x", 1, is_won=True)


def test_workflow_is_immutable():
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        OPPORTUNITY_WORKFLOW.initial = "proposal"  # type: ignore[misc]


def test_default_workflows():
    assert OPPORTUNITY_WORKFLOW.state_attr == "stage"
    assert LEAD_WORKFLOW.state_attr == TICKET_WORKFLOW.state_attr == "status"
    probs = {s.name: s.probability for s in OPPORTUNITY_WORKFLOW.stages}
    assert probs == {
        "prospecting": 10,
        "qualification": 20,
        "proposal": 50,
        "negotiation": 80,
        "closed_won": 100,
        "closed_lost": 0,
    }
    assert TICKET_WORKFLOW.stage("waiting_on_customer").pauses_sla
    assert TICKET_WORKFLOW.final == frozenset({"closed"})
    assert set(LEAD_WORKFLOW.stage_names) == {
        "new",
        "contacted",
        "nurturing",
        "qualified",
        "converted",
        "disqualified",
    }


# ---------------------------------------------------------------- advance


def test_advance_sets_stage_probability_and_event():
    o = opp()
    o2, events = advance(o, "proposal", at=at(1), workflow=OPPORTUNITY_WORKFLOW, actor="ann")
    assert o.stage == "prospecting"  # pure
    assert (o2.stage, o2.probability) == ("proposal", 50.0)
    assert events == (
        StageChanged("O-1", "prospecting", "proposal", at(1), "ann", None, "opportunity"),
    )


def test_illegal_move_names_current_and_allowed():
    t = ticket(status="resolved")
    with pytest.raises(InvalidTransition) as info:
        advance(t, "waiting_on_customer", at=at(1), workflow=TICKET_WORKFLOW)
    err = info.value
    assert err.current == "resolved"
    assert err.target == "waiting_on_customer"
    assert err.allowed == ("in_progress", "closed")
    assert "'resolved'" in str(err)
    assert "in_progress, closed" in str(err)


def test_final_stage_cannot_be_left():
    o, _ = advance(opp(), "closed_won", at=at(1), workflow=OPPORTUNITY_WORKFLOW)
    with pytest.raises(InvalidTransition, match="final") as info:
        advance(o, "proposal", at=at(2), workflow=OPPORTUNITY_WORKFLOW)
    assert info.value.allowed == ()
    assert allowed_transitions(o, OPPORTUNITY_WORKFLOW) == ()


def test_unknown_target_and_same_stage():
    with pytest.raises(InvalidTransition, match="no such stage"):
        advance(opp(), "heaven", at=at(1), workflow=OPPORTUNITY_WORKFLOW)
    with pytest.raises(InvalidTransition, match="already there"):
        advance(opp(), "prospecting", at=at(1), workflow=OPPORTUNITY_WORKFLOW)


def test_naive_time_refused():
    with pytest.raises(ValidationError, match="timezone-aware"):
        advance(opp(), "proposal", at=dt.datetime(2026, 3, 2), workflow=OPPORTUNITY_WORKFLOW)  # noqa: DTZ001


def test_wall_time_in_a_dst_gap_refused():
    from zoneinfo import ZoneInfo

    gap = dt.datetime(2026, 3, 29, 2, 30, tzinfo=ZoneInfo("Europe/Paris"))
    with pytest.raises(ValidationError, match="does not exist in Europe/Paris") as info:
        advance(opp(), "proposal", at=gap, workflow=OPPORTUNITY_WORKFLOW)
    assert info.value.field == "at"


def test_lost_needs_reason_and_remembers_last_open_stage():
    o, _ = advance(opp(), "negotiation", at=at(1), workflow=OPPORTUNITY_WORKFLOW)
    with pytest.raises(InvalidTransition, match="reason is required"):
        advance(o, "closed_lost", at=at(2), workflow=OPPORTUNITY_WORKFLOW)
    lost, events = advance(
        o, "closed_lost", at=at(2), workflow=OPPORTUNITY_WORKFLOW, reason="price"
    )
    assert lost.lost_reason == "price"
    assert lost.last_open_stage == "negotiation"
    assert lost.probability == 0.0
    assert lost.closed_at == at(2)
    assert events[0].reason == "price"


def test_manual_probability_survives_moves_until_reset():
    o = set_probability(opp(), 35)
    assert (o.probability, o.probability_is_manual) == (35.0, True)
    o, _ = advance(o, "proposal", at=at(1), workflow=OPPORTUNITY_WORKFLOW)
    o, _ = advance(o, "negotiation", at=at(2), workflow=OPPORTUNITY_WORKFLOW)
    assert o.probability == 35.0
    o = reset_probability(o)
    assert (o.probability, o.probability_is_manual) == (80.0, False)
    o, _ = advance(o, "proposal", at=at(3), workflow=OPPORTUNITY_WORKFLOW)
    assert o.probability == 50.0
    with pytest.raises(ValidationError, match=r"\[0, 100\]"):
        set_probability(o, 101)


def test_guard_refusal_says_why():
    def needs_owner(entity, move):
        return None if entity.owner else f"{move.target} needs an owner"

    wf = Workflow(
        "ticket",
        [Stage("new", 1), Stage("done", 2, is_closed=True)],
        [Transition("new", "done", guard=needs_owner)],
        "new",
    )
    with pytest.raises(InvalidTransition, match="done needs an owner"):
        advance(ticket(), "done", at=at(1), workflow=wf)
    t, _ = advance(ticket(owner="u1"), "done", at=at(1), workflow=wf)
    assert t.status == "done"
    assert t.resolved_at == at(1)


def test_ticket_reopen_clears_resolution():
    t, _ = advance(ticket(), "in_progress", at=at(1), workflow=TICKET_WORKFLOW)
    t, _ = advance(t, "resolved", at=at(2), workflow=TICKET_WORKFLOW)
    assert t.resolved_at == at(2)
    t, _ = advance(t, "in_progress", at=at(3), workflow=TICKET_WORKFLOW)
    assert t.resolved_at is None
    assert t.status == "in_progress"


def test_domain_invariants_still_checked_by_fast_evolve():
    # closed_at may not precede created_at: the domain's post-init check still runs.
    with pytest.raises(ValidationError, match="closed_at"):
        advance(
            opp(),
            "closed_won",
            at=T0 - dt.timedelta(days=1),
            workflow=OPPORTUNITY_WORKFLOW,
        )


def test_custom_state_attribute():
    @attrs.frozen
    class Job:
        id: str
        phase: str = "todo"

    wf = Workflow(
        "jobs",
        [Stage("todo", 1), Stage("done", 2, is_closed=True)],
        [Transition("todo", "done")],
        "todo",
        state_attr="phase",
    )
    job, _ = advance(Job("j"), "done", at=at(1), workflow=wf)
    assert job.phase == "done"
    with pytest.raises(ValidationError, match="no attribute 'phase'"):
        advance(opp(), "done", at=at(1), workflow=wf)


# ---------------------------------------------------------------- replay


def test_replay_rebuilds_state_and_checks_continuity():
    o, history = opp(), []
    for stage in ("qualification", "proposal", "qualification", "closed_won"):
        o, ev = advance(o, stage, at=at(len(history)), workflow=OPPORTUNITY_WORKFLOW)
        history.extend(ev)
    assert replay(history, workflow=OPPORTUNITY_WORKFLOW) == {"O-1": o.stage}
    with pytest.raises(ValidationError, match="left it in"):
        replay([history[0], history[2]])


def test_replay_refuses_moves_outside_the_workflow():
    bad = [
        StageChanged("O-1", "prospecting", "closed_won", T0),
        StageChanged("O-1", "closed_won", "proposal", T0),
    ]
    with pytest.raises(ValidationError, match="no move 'closed_won' -> 'proposal'"):
        replay(bad, workflow=OPPORTUNITY_WORKFLOW)


# ---------------------------------------------------------------- conversion


def test_convert_lead_with_opportunity():
    res = convert_lead(
        lead(status="qualified", owner="u7"),
        at=at(5),
        account_id="A-9",
        contact_id="C-9",
        opportunity_id="O-9",
        amount=Money(amount="500", currency="EUR"),
        expected_close_date=dt.date(2026, 5, 1),
    )
    assert res.lead.status == "converted"
    assert res.lead.converted_at == at(5)
    assert (res.lead.converted_account_id, res.lead.converted_contact_id) == ("A-9", "C-9")
    assert res.lead.converted_opportunity_id == "O-9"
    assert res.account.name == "Navy"
    assert res.contact.account_id == "A-9"
    assert res.contact.name == "Grace"
    assert res.opportunity.stage == "prospecting"
    assert res.opportunity.probability == 10.0
    assert res.opportunity.owner == "u7"
    assert res.events[0] == StageChanged(
        "L-1", "qualified", "converted", at(5), None, None, "lead"
    )
    assert res.events[1] == LeadConverted("L-1", "A-9", "C-9", "O-9", at(5))


def test_convert_lead_without_opportunity_onto_existing_account():
    first = convert_lead(lead(), at=at(1), account_id="A-1", contact_id="C-1")
    res = convert_lead(lead(id="L-2"), at=at(2), account=first.account, contact_id="C-2")
    assert res.opportunity is None
    assert res.account is first.account
    assert res.contact.account_id == "A-1"


@pytest.mark.parametrize("status", ["converted", "disqualified"])
def test_closed_leads_cannot_be_converted(status):
    with pytest.raises(InvalidTransition, match=status):
        convert_lead(lead(status=status), at=at(1), account_id="A", contact_id="C")


def test_convert_lead_needs_opportunity_details():
    with pytest.raises(ValidationError, match="amount"):
        convert_lead(lead(), at=at(1), account_id="A", contact_id="C", opportunity_id="O")


def test_reopening_a_lost_deal_clears_the_lost_reason():
    stages = [
        Stage("open", 1, 30, "pipeline"),
        Stage("won", 2, 100, "closed", is_won=True, is_closed=True),
        Stage("lost", 3, 0, "omitted", is_closed=True, requires_reason=True),
    ]
    moves = [("open", "won"), ("open", "lost"), ("lost", "open")]
    wf = Workflow(
        "deals",
        stages,
        [Transition(a, b) for a, b in moves],
        "open",
        final=["won"],
        state_attr="stage",
    )
    o = opp(stage="open")
    o, _ = advance(o, "lost", at=at(1), workflow=wf, reason="budget")
    assert (o.lost_reason, o.last_open_stage, o.closed_at) == ("budget", "open", at(1))
    o, _ = advance(o, "open", at=at(2), workflow=wf)
    assert (o.lost_reason, o.closed_at, o.probability) == (None, None, 30.0)
    assert o.last_open_stage == "open"  # history kept for funnel analysis


def test_open_stages_need_distinct_sequences():
    stages = [Stage("a", 1), Stage("b", 1), Stage("c", 2, is_closed=True)]
    with pytest.raises(ValidationError, match="share sequence 1"):
        Workflow("w", stages, [Transition("a", "b"), Transition("b", "c")], "a")


def test_replay_skips_other_event_types():
    res = convert_lead(lead(), at=at(1), account_id="A", contact_id="C")
    assert replay(res.events) == {"L-1": "converted"}


def test_convert_lead_unpacks_as_the_contract_says():
    account, contact, opportunity, events = convert_lead(
        lead(), at=at(1), account_id="A", contact_id="C"
    )
    assert (account.id, contact.id, opportunity) == ("A", "C", None)
    assert [type(e).__name__ for e in events] == ["StageChanged", "LeadConverted"]
    res = convert_lead(lead(), at=at(1), account_id="A", contact_id="C")
    assert res._replace(opportunity=None).lead.status == "converted"


def test_workflow_json_roundtrip_with_guards():
    import json

    def needs_owner(entity, move):
        return None if entity.owner else "needs an owner"

    wf = Workflow(
        "ticket",
        [Stage("new", 1), Stage("done", 2, is_closed=True, pauses_sla=False)],
        [Transition("new", "done", guard=needs_owner)],
        "new",
    )
    data = json.loads(json.dumps(wf.to_dict()))
    with pytest.raises(ValidationError, match="needs guard 'needs_owner'"):
        Workflow.from_dict(data)
    back = Workflow.from_dict(data, guards={"needs_owner": needs_owner})
    assert back.stages == wf.stages
    assert back.transition("new", "done").guard is needs_owner
    for default in (LEAD_WORKFLOW, OPPORTUNITY_WORKFLOW, TICKET_WORKFLOW):
        again = Workflow.from_dict(json.loads(json.dumps(default.to_dict())))
        assert again.to_dict() == default.to_dict()
    with pytest.raises(ValidationError, match="malformed"):
        Workflow.from_dict({"name": "x"})


def test_advance_falls_back_to_evolve_for_classes_with_hidden_state():
    @attrs.frozen(cache_hash=True)
    class Hashed:
        id: str
        status: str = "new"

    @attrs.define
    class Mutable:  # not frozen, not slotted by choice of the user
        id: str
        status: str = "new"

    for cls in (Hashed, Mutable):
        moved, _ = advance(cls("x"), "contacted", at=at(1), workflow=LEAD_WORKFLOW)
        assert moved.status == "contacted"
    assert hash(advance(Hashed("x"), "contacted", at=at(1), workflow=LEAD_WORKFLOW)[0]) == hash(
        Hashed("x", "contacted")
    )


def test_stage_changes_compare_their_moments_as_instants():
    import datetime as dt
    from zoneinfo import ZoneInfo

    from crmcore.pipeline import StageChanged

    paris = ZoneInfo("Europe/Paris")
    first = dt.datetime(2026, 10, 25, 2, 15, tzinfo=paris)
    a = StageChanged("o1", "prospecting", "proposal", first)
    b = StageChanged("o1", "prospecting", "proposal", first.replace(fold=1))  # an hour later
    assert a != b
    assert a == StageChanged("o1", "prospecting", "proposal", first.astimezone(dt.UTC))
