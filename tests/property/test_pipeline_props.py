"""Invariants of workflows, calendars and SLAs (hypothesis)."""

from __future__ import annotations

import datetime as dt

import hypothesis.strategies as st
import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings

from crmcore.domain import Ticket
from crmcore.errors import InvalidTransition
from crmcore.pipeline import (
    LEAD_WORKFLOW,
    OPPORTUNITY_WORKFLOW,
    TICKET_WORKFLOW,
    BusinessCalendar,
    SLAPolicy,
    advance,
    events_frame,
    replay,
    sla_report,
    sla_status,
    stage_funnel,
    stage_velocity,
)
from crmcore.testing.strategies import (
    business_calendars,
    leads,
    opportunities,
    stage_walks,
    tickets,
)

UTC = dt.UTC
WORKFLOWS = {"opportunity": OPPORTUNITY_WORKFLOW, "ticket": TICKET_WORKFLOW, "lead": LEAD_WORKFLOW}
ANY_NAME = st.sampled_from(
    sorted({n for w in WORKFLOWS.values() for n in w.stage_names} | {"won", "limbo", ""})
)
FAST = settings(max_examples=30, deadline=None)


def entity_for(kind):
    created = st.datetimes(
        min_value=dt.datetime(2020, 1, 1),  # noqa: DTZ001 - hypothesis bounds
        max_value=dt.datetime(2030, 1, 1),  # noqa: DTZ001
        timezones=st.just(UTC),
    )
    if kind == "opportunity":
        return opportunities(stage=st.just("prospecting"), closed_at=st.none(), created_at=created)
    if kind == "ticket":
        return tickets(status=st.just("new"), resolved_at=st.none(), created_at=created)
    return leads(status=st.just("new"), converted_at=st.none(), created_at=created)


@st.composite
def journeys(draw):
    kind = draw(st.sampled_from(sorted(WORKFLOWS)))
    entity = draw(entity_for(kind))
    targets = draw(st.lists(ANY_NAME, max_size=12))
    gaps = draw(st.lists(st.integers(0, 10**6), min_size=len(targets), max_size=len(targets)))
    reasons = draw(
        st.lists(st.sampled_from([None, "price"]), min_size=len(targets), max_size=len(targets))
    )
    return kind, entity, list(zip(targets, gaps, reasons, strict=True))


@FAST
@given(journeys())
def test_advance_stays_in_workflow_and_never_leaves_final(journey):
    kind, entity, moves = journey
    wf = WORKFLOWS[kind]
    at = entity.created_at
    history = []
    for target, gap, reason in moves:
        at = at + dt.timedelta(seconds=gap)
        before = getattr(entity, wf.state_attr)
        try:
            entity, events = advance(entity, target, at=at, workflow=wf, reason=reason)
        except InvalidTransition as err:
            refused = err
            assert refused.current == before
            assert set(refused.allowed) <= set(wf.stage_names)
            assert target not in refused.allowed or wf.stage(target).requires_reason
            continue
        assert before not in wf.final
        assert getattr(entity, wf.state_attr) == target
        assert target in wf.stage_names
        history.extend(events)
    state = getattr(entity, wf.state_attr)
    assert state in wf.stage_names
    if history:
        assert replay(history, workflow=wf) == {entity.id: state}
    if history and kind == "opportunity" and not entity.probability_is_manual:
        assert entity.probability == wf.stage(state).probability


def instants():
    return st.datetimes(
        min_value=dt.datetime(2025, 1, 1),  # noqa: DTZ001
        max_value=dt.datetime(2027, 12, 31),  # noqa: DTZ001
        timezones=st.just(UTC),
    )


@FAST
@given(business_calendars(), instants(), st.timedeltas(dt.timedelta(0), dt.timedelta(days=40)))
def test_calendar_diff_inverts_add(cal, start, d):
    end = cal.add(start, d)
    assert end >= start
    assert cal.diff(start, end) == d
    if d > dt.timedelta(0):
        assert cal.is_within(end - dt.timedelta(microseconds=1))


@FAST
@given(business_calendars(), instants(), instants(), instants())
def test_calendar_diff_is_additive_and_bounded(cal, a, b, c):
    assert cal.diff(a, b) + cal.diff(b, c) == cal.diff(a, c)
    assert abs(cal.diff(a, b)) <= abs(b - a)


@FAST
@given(
    st.lists(
        st.tuples(st.sampled_from(TICKET_WORKFLOW.stage_names), st.integers(0, 3 * 86400)),
        max_size=10,
    ),
    st.integers(0, 10 * 86400),
)
def test_sla_pause_never_negative_and_parts_add_up(moves, extra):
    created = dt.datetime(2026, 11, 20, 9, tzinfo=UTC)
    cal = BusinessCalendar()
    policy = SLAPolicy(dt.timedelta(hours=4), dt.timedelta(hours=16), cal)
    ticket = Ticket(id="T", customer_id="C", subject="s", channel="email", created_at=created)
    at = created
    events = []
    for target, gap in moves:
        at = at + dt.timedelta(seconds=gap)
        try:
            ticket, ev = advance(ticket, target, at=at, workflow=TICKET_WORKFLOW)
        except InvalidTransition:
            continue
        events.extend(ev)
    as_of = at + dt.timedelta(seconds=extra)
    st_ = sla_status(ticket, events, policy, as_of=as_of)
    res = st_.resolution
    assert res.paused >= dt.timedelta(0)
    assert res.elapsed >= dt.timedelta(0)
    # Running + paused working time never exceeds the working time since creation.
    assert res.elapsed + res.paused <= cal.diff(created, as_of)
    assert (res.remaining == dt.timedelta(0)) or (res.exceeded == dt.timedelta(0))
    assert res.state in {"ongoing", "met", "breached"}


@settings(max_examples=15, deadline=None)
@given(business_calendars(), st.lists(st.tuples(instants(), instants()), min_size=1, max_size=8))
def test_calendar_array_path_matches_scalar_path(cal, pairs):
    starts = np.array([a.replace(tzinfo=None) for a, _ in pairs], dtype="datetime64[us]")
    ends = np.array([b.replace(tzinfo=None) for _, b in pairs], dtype="datetime64[us]")
    vec = cal.diff(starts, ends)
    assert [v.astype(dt.timedelta) for v in vec] == [cal.diff(a, b) for a, b in pairs]
    forward = np.abs(vec)
    added = cal.add(starts, forward)
    assert [pd.Timestamp(x, tz="UTC") for x in added] == [
        pd.Timestamp(cal.add(a, f.astype(dt.timedelta)))
        for (a, _), f in zip(pairs, forward, strict=True)
    ]


@settings(max_examples=25, deadline=None)
@given(
    st.lists(
        st.tuples(st.sampled_from(TICKET_WORKFLOW.stage_names), st.integers(0, 2 * 86400)),
        max_size=8,
    ),
    st.integers(0, 5 * 86400),
    st.sampled_from(["high", "normal"]),
)
def test_sla_report_matches_sla_status(moves, extra, priority):
    created = dt.datetime(2026, 11, 19, 8, 30, tzinfo=UTC)
    cal = BusinessCalendar(tz="Europe/Paris")
    policy = SLAPolicy(
        {"high": dt.timedelta(hours=1), "normal": dt.timedelta(hours=4)},
        {"high": dt.timedelta(hours=8), "normal": dt.timedelta(hours=16)},
        cal,
    )
    ticket = Ticket(
        id="T",
        customer_id="C",
        subject="s",
        channel="email",
        created_at=created,
        priority=priority,
    )
    at, events = created, []
    for target, gap in moves:
        at = at + dt.timedelta(seconds=gap)
        try:
            ticket, ev = advance(ticket, target, at=at, workflow=TICKET_WORKFLOW)
        except InvalidTransition:
            continue
        events.extend(ev)
    as_of = at + dt.timedelta(seconds=extra)
    status = sla_status(ticket, events, policy, as_of=as_of)
    frame = pd.DataFrame(
        {"id": ["T"], "created_at": [pd.Timestamp(created)], "priority": [priority]}
    )
    rep = sla_report(frame, events_frame(events), policy, as_of=as_of).loc["T"]
    for kind in ("first_response", "resolution"):
        got = getattr(status, kind)
        assert rep[f"{kind}_state"] == got.state
        assert rep[f"{kind}_deadline"] == pd.Timestamp(got.deadline)
        assert rep[f"{kind}_elapsed"] * 3600 == pytest.approx(
            got.elapsed.total_seconds(), abs=1e-6
        )
    assert status.resolution.paused >= dt.timedelta(0)


@FAST
@given(
    st.sampled_from(sorted(WORKFLOWS)).flatmap(
        lambda k: st.tuples(st.just(k), stage_walks(WORKFLOWS[k]))
    )
)
def test_legal_walks_replay_and_feed_the_log_analytics(walk):
    kind, events = walk
    wf = WORKFLOWS[kind]
    state = replay(events, workflow=wf)
    if not events:
        assert state == {}
        return
    assert state == {"e1": events[-1].to_stage}
    log = events_frame(events)
    funnel = stage_funnel(log, workflow=wf)
    # Reached-at-least counts never increase along the open stages.
    reached = funnel["reached"].to_numpy()[: len(wf.open_stages())]
    assert (np.diff(reached) <= 0).all()
    assert reached[0] == 1
    velocity = stage_velocity(log, workflow=wf, unit="h")
    assert (velocity["min"] >= 0).all()
    assert velocity["count"].sum() == len(events) - 1 - sum(
        e.to_stage in wf.final for e in events[:-1]
    )
