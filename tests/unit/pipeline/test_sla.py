"""SLA worked scenarios with hand-computed deadlines (arithmetic in the comments).

Unless stated otherwise the calendar is Monday-Friday 09:00-17:00 UTC and the
policy gives "high" 1 h first response / 8 h resolution and "normal" 4 h / 16 h.
2026-11-20 is a Friday; 2026-11-23 a Monday.
"""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from crmcore.domain import Ticket
from crmcore.errors import ValidationError
from crmcore.pipeline import (
    TICKET_WORKFLOW,
    BusinessCalendar,
    SLAPolicy,
    Stage,
    StageChanged,
    Transition,
    Workflow,
    advance,
    events_frame,
    sla_report,
    sla_status,
)

UTC = dt.UTC
H = dt.timedelta(hours=1)
OFFICE = BusinessCalendar({d: [("09:00", "17:00")] for d in range(5)})
TARGETS = {
    "first_response": {"high": 1 * H, "normal": 4 * H},
    "resolution": {"high": 8 * H, "normal": 16 * H},
}


def utc(*args):
    return dt.datetime(*args, tzinfo=UTC)


def policy(calendar=OFFICE, **kw):
    return SLAPolicy(TARGETS["first_response"], TARGETS["resolution"], calendar, **kw)


def ticket(created, priority="normal", tid="T-1", **kw):
    return Ticket(
        id=tid,
        customer_id="C",
        subject="s",
        channel="email",
        created_at=created,
        priority=priority,
        **kw,
    )


def history(t, *moves, workflow=TICKET_WORKFLOW):
    """Drive ``t`` through ``(stage, at)`` moves with ``advance``; return events."""
    events = []
    for stage, when in moves:
        t, ev = advance(t, stage, at=when, workflow=workflow)
        events.extend(ev)
    return t, events


def check_report_agrees(t, events, pol, as_of, status):
    """The vectorised report must give the same figures as sla_status."""
    frame = pd.DataFrame([{"id": t.id, "created_at": t.created_at, "priority": str(t.priority)}])
    frame["created_at"] = pd.to_datetime(frame["created_at"], utc=True)
    rep = sla_report(frame, events_frame(events), pol, as_of=as_of).loc[t.id]
    for kind in ("first_response", "resolution"):
        st = getattr(status, kind)
        assert rep[f"{kind}_state"] == st.state
        assert rep[f"{kind}_deadline"] == pd.Timestamp(st.deadline)
        assert rep[f"{kind}_elapsed"] == pytest.approx(st.elapsed / H, abs=1e-9)
    assert rep["resolution_paused"] == pytest.approx(status.resolution.paused / H, abs=1e-9)


def test_weekend():
    # Created Fri 15:00, normal. First response 4 h: Fri 15-17 (2 h) + Mon 09-11 (2 h)
    # -> Mon 11:00. Resolution 16 h: Fri 2 h + Mon 8 h + Tue 6 h -> Tue 24 15:00.
    t = ticket(utc(2026, 11, 20, 15))
    as_of = utc(2026, 11, 23, 10)  # Mon 10:00: 2 h Fri + 1 h Mon = 3 h used
    st = sla_status(t, [], policy(), as_of=as_of)
    assert st.first_response.deadline == utc(2026, 11, 23, 11)
    assert st.first_response.elapsed == 3 * H
    assert st.first_response.remaining == 1 * H
    assert st.first_response.state == "ongoing"
    assert st.resolution.deadline == utc(2026, 11, 24, 15)
    assert st.resolution.paused == dt.timedelta(0)
    check_report_agrees(t, [], policy(), as_of, st)


def test_holiday():
    # Holiday Fri 25 Dec 2026. Created Thu 24 Dec 16:00, high. First response 1 h ->
    # Thu 17:00. Resolution 8 h: Thu 16-17 (1 h), Fri holiday, weekend, Mon 28
    # 09:00 + 7 h -> Mon 16:00.
    cal = BusinessCalendar(
        {d: [("09:00", "17:00")] for d in range(5)}, holidays=[dt.date(2026, 12, 25)]
    )
    t = ticket(utc(2026, 12, 24, 16), "high")
    st = sla_status(t, [], policy(cal), as_of=utc(2026, 12, 24, 16, 30))
    assert st.first_response.deadline == utc(2026, 12, 24, 17)
    assert st.resolution.deadline == utc(2026, 12, 28, 16)


def test_overnight_shift():
    # Support works 22:00-06:00 every night. Created Tue 24 Nov 05:00 (inside Monday
    # night's shift), high. First response 1 h -> 06:00. Resolution 8 h: 05-06 (1 h),
    # then Tue 22:00 + 7 h -> Wed 25 05:00.
    cal = BusinessCalendar({d: [("22:00", "06:00")] for d in range(7)})
    t = ticket(utc(2026, 11, 24, 5), "high")
    st = sla_status(t, [], policy(cal), as_of=utc(2026, 11, 24, 5, 30))
    assert st.first_response.deadline == utc(2026, 11, 24, 6)
    assert st.resolution.deadline == utc(2026, 11, 25, 5)


def test_dst():
    # New York office hours. Created Fri 6 Mar 2026 16:00 EST = 21:00 UTC, high.
    # First response 1 h -> 17:00 EST = 22:00 UTC. Resolution 8 h: 1 h Friday, then
    # clocks spring forward on Sun 8 Mar, so Mon 09:00 EDT = 13:00 UTC; + 7 h ->
    # 16:00 EDT = 20:00 UTC (21:00 UTC if DST were ignored).
    cal = BusinessCalendar({d: [("09:00", "17:00")] for d in range(5)}, tz="America/New_York")
    t = ticket(utc(2026, 3, 6, 21), "high")
    st = sla_status(t, [], policy(cal), as_of=utc(2026, 3, 6, 21, 30))
    assert st.first_response.deadline == utc(2026, 3, 6, 22)
    assert st.resolution.deadline == utc(2026, 3, 9, 20)


def test_pause_across_weekend():
    # Created Thu 19 Nov 09:00, normal (16 h). in_progress 10:00 (first response after
    # 1 h: met). waiting_on_customer Fri 20 12:00; back in_progress Mon 23 13:00.
    # Running: Thu 09-17 (8 h) + Fri 09-12 (3 h) = 11 h. Paused working time: Fri
    # 12-17 (5 h) + Mon 09-13 (4 h) = 9 h (the weekend is not working time).
    # At Mon 14:00: elapsed 11 + 1 = 12 h, remaining 4 h -> Mon 14-17 (3 h) + Tue 1 h
    # -> deadline Tue 24 10:00.
    t = ticket(utc(2026, 11, 19, 9))
    t, ev = history(
        t,
        ("in_progress", utc(2026, 11, 19, 10)),
        ("waiting_on_customer", utc(2026, 11, 20, 12)),
        ("in_progress", utc(2026, 11, 23, 13)),
    )
    as_of = utc(2026, 11, 23, 14)
    st = sla_status(t, ev, policy(), as_of=as_of)
    assert st.first_response.state == "met"
    assert st.first_response.achieved_at == utc(2026, 11, 19, 10)
    assert st.resolution.paused == 9 * H
    assert st.resolution.elapsed == 12 * H
    assert st.resolution.remaining == 4 * H
    assert st.resolution.deadline == utc(2026, 11, 24, 10)
    assert st.resolution.state == "ongoing"
    check_report_agrees(t, ev, policy(), as_of, st)


def test_pause_to_pause_is_not_double_counted():
    # Two pausing stages in a row on a 24/7 calendar: waiting on customer 10:00-12:00,
    # then waiting on vendor 12:00-15:00. Paused = 10-15 = 5 h (not 2 + 3 + overlap).
    # Running: 09-10 and 15-16 = 2 h at 16:00.
    stages = [
        Stage("new", 1),
        Stage("in_progress", 2),
        Stage("waiting_on_customer", 3, pauses_sla=True),
        Stage("waiting_on_vendor", 4, pauses_sla=True),
        Stage("resolved", 5, is_closed=True),
    ]
    moves = [
        ("new", "in_progress"),
        ("in_progress", "waiting_on_customer"),
        ("waiting_on_customer", "waiting_on_vendor"),
        ("waiting_on_vendor", "in_progress"),
        ("in_progress", "resolved"),
    ]
    wf = Workflow("ticket", stages, [Transition(a, b) for a, b in moves], "new")
    pol = policy(BusinessCalendar.always(), workflow=wf, response_stages=["in_progress"])
    t = ticket(utc(2026, 11, 23, 9))
    t, ev = history(
        t,
        ("in_progress", utc(2026, 11, 23, 9)),
        ("waiting_on_customer", utc(2026, 11, 23, 10)),
        ("waiting_on_vendor", utc(2026, 11, 23, 12)),
        ("in_progress", utc(2026, 11, 23, 15)),
        workflow=wf,
    )
    as_of = utc(2026, 11, 23, 16)
    st = sla_status(t, ev, pol, as_of=as_of)
    assert st.resolution.paused == 5 * H
    assert st.resolution.elapsed == 2 * H
    # 14 h left on a 24/7 clock from 16:00 -> Tue 06:00.
    assert st.resolution.deadline == utc(2026, 11, 24, 6)
    check_report_agrees(t, ev, pol, as_of, st)


def test_reopen_resumes_the_clock():
    # Created Mon 23 09:00, normal (16 h). Resolved Mon 12:00 after 3 h. At Mon 14:00 the
    # resolution target is met. Reopened Tue 24 10:00: the resolved spell (Mon 12:00 -
    # Tue 10:00) does not count; at Tue 12:00 elapsed = 3 + 2 = 5 h, 11 h remain:
    # Tue 12-17 (5 h) + Wed 09-15 (6 h) -> deadline Wed 25 15:00.
    t0 = ticket(utc(2026, 11, 23, 9))
    t1, ev1 = history(
        t0, ("in_progress", utc(2026, 11, 23, 9)), ("resolved", utc(2026, 11, 23, 12))
    )
    st = sla_status(t1, ev1, policy(), as_of=utc(2026, 11, 23, 14))
    assert st.resolution.state == "met"
    assert st.resolution.achieved_at == utc(2026, 11, 23, 12)
    assert st.resolution.elapsed == 3 * H
    t2, ev2 = history(t1, ("in_progress", utc(2026, 11, 24, 10)))
    as_of = utc(2026, 11, 24, 12)
    st = sla_status(t2, ev1 + ev2, policy(), as_of=as_of)
    assert st.resolution.state == "ongoing"
    assert st.resolution.achieved_at is None
    assert st.resolution.elapsed == 5 * H
    assert st.resolution.deadline == utc(2026, 11, 25, 15)
    check_report_agrees(t2, ev1 + ev2, policy(), as_of, st)


def test_breached_deadline_is_when_the_clock_crossed():
    # High (1 h / 8 h), created Mon 23 09:00, nothing happens. At Tue 12:00: elapsed
    # 8 + 3 = 11 h > 8 h -> breached by 3 h; the deadline was Mon 17:00 (first response:
    # Mon 10:00).
    t = ticket(utc(2026, 11, 23, 9), "high")
    as_of = utc(2026, 11, 24, 12)
    st = sla_status(t, [], policy(), as_of=as_of)
    assert st.resolution.state == st.first_response.state == "breached"
    assert st.resolution.exceeded == 3 * H
    assert st.resolution.remaining == dt.timedelta(0)
    assert st.resolution.deadline == utc(2026, 11, 23, 17)
    assert st.first_response.deadline == utc(2026, 11, 23, 10)
    check_report_agrees(t, [], policy(), as_of, st)


def test_first_response_is_not_paused_and_recorded_response_counts():
    # Waiting on the customer does not stop the first-response clock... but moving to
    # waiting_on_customer *is* a response. A first_response_at recorded on the ticket
    # (an e-mail reply at 09:30) is earlier and wins.
    t = ticket(utc(2026, 11, 23, 9), "high", first_response_at=utc(2026, 11, 23, 9, 30))
    st = sla_status(t, [], policy(), as_of=utc(2026, 11, 23, 12))
    assert st.first_response.state == "met"
    assert st.first_response.elapsed == H / 2


def test_events_of_other_tickets_and_future_are_ignored():
    t = ticket(utc(2026, 11, 23, 9))
    ev = [
        StageChanged("other", "new", "in_progress", utc(2026, 11, 23, 9, 5)),
        StageChanged("T-1", "new", "in_progress", utc(2026, 11, 23, 20)),
    ]
    st = sla_status(t, ev, policy(), as_of=utc(2026, 11, 23, 10))
    assert st.first_response.state == "ongoing"


def test_policy_validation():
    with pytest.raises(ValidationError, match="positive timedelta"):
        SLAPolicy({"high": -H}, H)
    with pytest.raises(ValidationError, match="no first_response target for priority 'low'"):
        policy().target("first_response", "low")
    with pytest.raises(ValidationError, match="response stage 'replied'"):
        policy(response_stages=["replied"])


@pytest.mark.parametrize("kind", ["resolve", "first-response", "", None])
def test_policy_target_refuses_an_unknown_clock(kind):
    # An unknown kind used to fall through to the resolution target silently.
    with pytest.raises(ValidationError, match="first_response' or 'resolution'") as info:
        policy().target(kind, "high")
    assert info.value.field == "kind"


def test_report_validation():
    frame = pd.DataFrame(
        {
            "id": ["T-1"],
            "created_at": [pd.Timestamp("2026-11-23 09:00", tz="UTC")],
            "priority": ["low"],
        }
    )
    empty = pd.DataFrame(
        {"entity_id": [], "from_stage": [], "to_stage": [], "at": pd.to_datetime([], utc=True)}
    )
    with pytest.raises(ValidationError, match="priority 'low'"):
        sla_report(frame, empty, policy(), as_of=utc(2026, 11, 24))
    bad = frame.assign(priority="high")
    ev = pd.DataFrame(
        {
            "entity_id": ["T-2"],
            "from_stage": ["new"],
            "to_stage": ["resolved"],
            "at": [pd.Timestamp("2026-11-23 10:00", tz="UTC")],
        }
    )
    with pytest.raises(ValidationError, match="unknown ticket 'T-2'"):
        sla_report(bad, ev, policy(), as_of=utc(2026, 11, 24))


def test_status_before_creation_and_enum_priorities():
    # as_of before the ticket exists: nothing elapsed; deadlines count from creation.
    t = ticket(utc(2026, 11, 23, 9), "high")
    st = sla_status(t, [], policy(), as_of=utc(2026, 11, 23, 8))
    assert st.first_response.elapsed == st.resolution.elapsed == dt.timedelta(0)
    assert st.first_response.deadline == utc(2026, 11, 23, 10)
    assert st.resolution.deadline == utc(2026, 11, 23, 17)
    frame = pd.DataFrame(
        {"id": ["T-1"], "created_at": [pd.Timestamp(t.created_at)], "priority": [t.priority]}
    )
    empty = events_frame([])
    rep = sla_report(frame, empty, policy(), as_of=utc(2026, 11, 23, 8)).loc["T-1"]
    assert rep["resolution_deadline"] == pd.Timestamp(utc(2026, 11, 23, 17))
    assert rep["first_response_elapsed"] == 0.0


def test_moves_in_a_dst_fold_are_ordered_by_instant():
    # Paris falls back on 2026-10-25: 02:45 (fold=0) is 00:45Z, 02:15 (fold=1) 01:15Z.
    # The ticket is paused at 00:45Z and resumed at 01:15Z; Python's same-zone
    # comparison would sort the two moves the other way round.
    from zoneinfo import ZoneInfo

    paris = ZoneInfo("Europe/Paris")
    t = ticket(utc(2026, 10, 25, 0), "high")
    pause = StageChanged(
        "T-1", "in_progress", "waiting_on_customer", dt.datetime(2026, 10, 25, 2, 45, tzinfo=paris)
    )
    resume = StageChanged(
        "T-1",
        "waiting_on_customer",
        "in_progress",
        dt.datetime(2026, 10, 25, 2, 15, fold=1, tzinfo=paris),
    )
    start = StageChanged("T-1", "new", "in_progress", utc(2026, 10, 25, 0, 30))
    pol = policy(BusinessCalendar.always())
    as_of = utc(2026, 10, 25, 2)
    st = sla_status(t, [resume, start, pause], pol, as_of=as_of)
    assert st.resolution.paused == dt.timedelta(minutes=30)  # 00:45Z -> 01:15Z
    assert st.resolution.elapsed == dt.timedelta(minutes=90)  # 00:00-00:45, 01:15-02:00
    check_report_agrees(t, [start, pause, resume], pol, as_of, st)


def test_date_only_as_of_is_the_end_of_that_day():
    t = ticket(utc(2026, 11, 23, 9), "high")
    st = sla_status(t, [], policy(BusinessCalendar.always()), as_of="2026-11-23")
    assert st.resolution.elapsed == dt.timedelta(hours=15) - dt.timedelta(microseconds=1)
    frame = pd.DataFrame(
        {"id": ["T-1"], "created_at": [pd.Timestamp(t.created_at)], "priority": ["high"]}
    )
    rep = sla_report(
        frame, events_frame([]), policy(BusinessCalendar.always()), as_of="2026-11-23"
    )
    assert rep.loc["T-1", "resolution_elapsed"] == pytest.approx(15.0, abs=1e-9)
    with pytest.raises(ValidationError, match="naive") as info:
        sla_status(t, [], policy(), as_of=dt.datetime(2026, 11, 23))  # noqa: DTZ001
    assert info.value.field == "as_of"
