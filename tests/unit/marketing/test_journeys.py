"""Journeys: definitions checked when built, the engine's rules, values and analytics."""

from __future__ import annotations

import datetime as dt
import json

import attrs
import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from crmcore.domain import Consent, Customer, Lead
from crmcore.errors import InvalidTransition, ValidationError
from crmcore.marketing._journey_clock import (
    next_time_of_day,
    next_times_of_day,
    quiet_shift,
    quiet_shifts,
)
from crmcore.marketing.journeys import (
    Action,
    Branch,
    Enrolment,
    Entry,
    Exit,
    FrequencyCap,
    Goal,
    Journey,
    JourneyAction,
    JourneyEntered,
    MessageSkipped,
    Send,
    StepCompleted,
    Wait,
    audit_from_dict,
    enter,
    journey_conversion,
    journey_funnel,
    replay_enrolment,
    step,
    tick,
)
from crmcore.pipeline import BusinessCalendar
from tests.strategies import journey_definitions

T = dt.datetime(2024, 5, 6, 10, tzinfo=dt.UTC)  # a Monday
DAY = dt.timedelta(days=1)
YES = [Consent(channel="email", granted=True, at=T - 30 * DAY)]


def simple(**kw):
    steps = kw.pop(
        "steps",
        [
            Entry("start", event="download", next="hello"),
            Send("hello", channel="email", message_id="m1", next="pause"),
            Wait("pause", duration="2D", next="end"),
            Goal("bought", event="purchase"),
            Exit("end"),
        ],
    )
    return Journey(id="j", steps=steps, **kw)


class _Ev:
    def __init__(self, type_, at, message_id=None):
        self.type, self.at, self.message_id = type_, at, message_id


# ---------------------------------------------------------------- definitions


class TestDefinition:
    @pytest.mark.parametrize(
        ("steps", "message"),
        [
            (
                lambda: [Entry("s", event="e", next="x"), Exit("x"), Exit("island")],
                "step 'island' cannot be reached from the entry",
            ),
            (
                lambda: [
                    Entry("s", event="e", next="a"),
                    Send("a", channel="email", message_id="m", next="b"),
                    Branch("b", rule="x > 1", yes="a", no="end"),
                    Exit("end"),
                ],
                r"step 'a' is on a loop without a wait \(a -> b -> a\)",
            ),
            (
                lambda: [Entry("s", event="e", next="a"), Send("a", message_id="m", next="s")],
                "step 'a': a send step needs a channel",
            ),
            (
                lambda: [
                    Entry("s", event="e", next="a"),
                    Send("a", channel="email", message_id="m", next="b"),
                    Wait("b", duration="1D", next="a"),
                ],
                "a journey needs an exit step",
            ),
            (
                lambda: [Entry("s", event="e", next="nowhere"), Exit("end")],
                "step 's': next='nowhere' names no step",
            ),
            (
                lambda: [Entry("s", event="e"), Exit("end")],
                "step 's': next is not set",
            ),
            (
                lambda: [Entry("s", event="e", next="end"), Exit("end"), Exit("end")],
                "step 'end' is defined twice",
            ),
            (
                lambda: [
                    Entry("s", event="e", next="w"),
                    Wait("w", duration="1D", next="s"),
                    Exit("x"),
                ],
                "leads to the entry",
            ),
            (lambda: [Exit("end")], "exactly one entry step"),
            (
                lambda: [
                    Entry("s", event="e", next="w"),
                    Wait("w", event="r", timeout="1D", next="end"),
                    Exit("end"),
                ],
                "step 'w': waiting for an event needs timeout= and on_timeout=",
            ),
            (
                lambda: [Entry("s", event="e", next="w"), Wait("w", next="end"), Exit("end")],
                "step 'w': a wait takes exactly one of duration, until and event; got none",
            ),
            (
                lambda: [
                    Entry("s", event="e", next="b"),
                    Branch("b", event="open", yes="end", no="end"),
                    Exit("end"),
                ],
                "step 'b': an engagement branch needs within=",
            ),
            (
                lambda: [
                    Entry("s", event="e", next="a"),
                    Action("a", kind="create_task", params={}, next="end"),
                    Exit("end"),
                ],
                "step 'a': a create_task action takes subject .* missing subject",
            ),
            (
                lambda: [
                    Entry("s", event="e", next="a"),
                    Action("a", kind="add_points", params={"points": 1.5}, next="end"),
                    Exit("end"),
                ],
                "step 'a': points must be a non-zero int",
            ),
            (
                lambda: [
                    Entry("s", event="e", next="a"),
                    Action("a", kind="send_fax", next="end"),
                    Exit("end"),
                ],
                "step 'a': kind must be one of",
            ),
            (
                lambda: [Entry("s", next="end"), Exit("end")],
                "step 's': an entry needs an event type, a segment rule, or both",
            ),
            (
                lambda: [
                    Entry("s", event="e", next="a"),
                    Send("a", channel="fax", message_id="m", next="end"),
                    Exit("end"),
                ],
                "step 'a': channel must be one of email, sms, push",
            ),
        ],
    )
    def test_errors_name_the_step(self, steps, message):
        with pytest.raises(ValidationError, match=message):
            Journey(id="j", steps=steps())

    def test_a_loop_through_a_wait_is_fine(self):
        j = Journey(
            id="loop",
            steps=[
                Entry("s", rule="x > 0", next="a"),
                Send("a", channel="sms", message_id="m", next="w"),
                Wait("w", duration="1D", next="b"),
                Branch("b", rule="x > 5", yes="end", no="a"),
                Exit("end"),
            ],
        )
        assert j["w"].duration == pd.Timedelta("1D")
        with pytest.raises(ValidationError, match="has no step 'zz'; steps: s, a, w, b, end"):
            j["zz"]

    @pytest.mark.parametrize(
        ("kw", "message"),
        [
            ({"re_entry": "sometimes"}, "re_entry must be one of never, cooldown, always"),
            ({"re_entry": "cooldown"}, "cooldown goes with re_entry='cooldown'"),
            ({"cooldown": "3D"}, "cooldown goes with re_entry='cooldown'"),
            ({"control_fraction": 1.0}, "control_fraction"),
            ({"quiet_hours": ("21:00",)}, "quiet_hours must be a"),
            ({"quiet_hours": ("21:00", "21:00")}, "is empty"),
            ({"tz": "Mars/Olympus"}, "tz is not a time zone"),
            ({"random_state": 1.5}, "random_state must be an int or a str"),
            ({"starts_at": dt.datetime(2024, 1, 1)}, "starts_at"),  # noqa: DTZ001
        ],
    )
    def test_journey_settings_are_checked(self, kw, message):
        with pytest.raises(ValidationError, match=message):
            simple(**kw)

    def test_json_round_trip_with_every_step_kind(self):
        cal = BusinessCalendar(
            {0: ("22:00", "06:00"), 2: [("09:00", "12:00"), ("13:00", "24:00")]},
            holidays=[dt.date(2024, 12, 25)],
            tz="Europe/Berlin",
        )
        j = Journey(
            id="all",
            steps=[
                Entry("s", event="download", rule="score > 3", next="w"),
                Wait("w", until="09:30", calendar=cal, next="e"),
                Wait("e", event="reply", message_id="m", timeout="36h", next="b", on_timeout="t"),
                Branch("b", event="click", within="3D", yes="a", no="p"),
                Action(
                    "a", kind="set_field", params={"field": "hot", "value": [1, 2]}, next="end"
                ),
                Action("p", kind="add_points", params={"points": 50, "reason": "x"}, next="end"),
                Action(
                    "t", kind="create_task", params={"subject": "Call", "due_in": "2D"}, next="end"
                ),
                Goal("g", event="purchase", message_id="m", within="14D"),
                Exit("end"),
            ],
            re_entry="cooldown",
            cooldown="30D",
            control_fraction=0.25,
            random_state="seed",
            quiet_hours=("21:00", "08:00"),
            tz="Asia/Kolkata",
            starts_at=T,
        )
        text = j.to_json()
        assert json.loads(text)["steps"][1]["calendar"]["working_hours"]["0"] == [
            ["22:00", "06:00"]
        ]
        assert Journey.from_json(text) == j

    @given(journey_definitions())
    def test_json_round_trip_property(self, journey):
        assert Journey.from_json(journey.to_json()) == journey

    def test_from_dict_names_unknown_fields(self):
        data = simple().to_dict()
        data["steps"][1]["colour"] = "red"
        with pytest.raises(ValidationError, match="step 'hello': unknown field"):
            Journey.from_dict(data)
        with pytest.raises(ValidationError, match="unknown key"):
            Journey.from_dict({**simple().to_dict(), "owner": "x"})


# ---------------------------------------------------------------- clocks


ZONES = ["UTC", "Europe/Berlin", "America/New_York", "Australia/Lord_Howe", "Asia/Kolkata"]
INSTANTS = st.integers(
    int(pd.Timestamp("2024-01-01", tz="UTC").value),
    int(pd.Timestamp("2025-12-31", tz="UTC").value),
).map(lambda ns: ns - ns % 1000)


class TestClock:
    @given(
        st.lists(INSTANTS, min_size=1, max_size=20),
        st.sampled_from(ZONES),
        st.sampled_from([(21 * 3600, 8 * 3600), (2 * 3600, 2 * 3600 + 1800), (0, 3600)]),
    )
    def test_quiet_shift_scalar_equals_arrays(self, instants, tz, quiet):
        arr = quiet_shifts(np.array(instants, dtype=np.int64), tz, quiet)
        assert arr.tolist() == [quiet_shift(ns, tz, quiet) for ns in instants]
        for before, after in zip(instants, arr.tolist(), strict=True):
            assert after >= before

    @given(
        st.lists(INSTANTS, min_size=1, max_size=10),
        st.sampled_from(["09:00", "02:30", "00:00"]),
        st.sampled_from([None, "Europe/Berlin", "America/New_York"]),
    )
    def test_next_time_of_day_scalar_equals_arrays(self, instants, until, zone):
        cal = None if zone is None else BusinessCalendar(holidays=[dt.date(2024, 12, 25)], tz=zone)
        seconds = int(until[:2]) * 3600 + int(until[3:]) * 60
        arr = next_times_of_day(np.array(instants, dtype=np.int64), seconds, cal)
        assert arr.tolist() == [next_time_of_day(ns, seconds, cal) for ns in instants]
        assert all(a > b for a, b in zip(arr.tolist(), instants, strict=True))

    def test_quiet_hours_move_to_the_end_in_the_customers_zone(self):
        late = pd.Timestamp("2024-05-06 20:30", tz="UTC").value  # 22:30 in Berlin
        got = quiet_shift(late, "Europe/Berlin", (21 * 3600, 8 * 3600))
        assert pd.Timestamp(got, tz="UTC") == pd.Timestamp("2024-05-07 06:00", tz="UTC")
        # the same instant is 16:30 in New York: not quiet
        assert quiet_shift(late, "America/New_York", (21 * 3600, 8 * 3600)) == late

    def test_until_skips_weekends_and_holidays_and_dst_gaps(self):
        cal = BusinessCalendar(holidays=[dt.date(2024, 4, 1)], tz="Europe/Berlin")
        fri = pd.Timestamp("2024-03-29 10:00", tz="UTC").value  # Good Friday 11:00
        got = next_time_of_day(fri, 2 * 3600 + 1800, cal)
        # Sat/Sun are off, Monday 1 April a holiday: Tuesday 02:30 CEST = 00:30 UTC
        assert pd.Timestamp(got, tz="UTC") == pd.Timestamp("2024-04-02 00:30", tz="UTC")
        every_day = BusinessCalendar.always("Europe/Berlin")
        sat = pd.Timestamp("2024-03-30 12:00", tz="UTC").value
        # 31 March 02:30 does not exist in Berlin: the first instant after the gap
        got = next_time_of_day(sat, 2 * 3600 + 1800, every_day)
        assert pd.Timestamp(got, tz="UTC") == pd.Timestamp("2024-03-31 01:00", tz="UTC")


# ---------------------------------------------------------------- the engine


class TestEngine:
    def test_enter_and_step_send_wait_exit(self):
        j = simple()
        start = enter(j, "c1", T)
        assert start is not None
        assert start.enrolment.id == "j:c1:0"
        first = step(j, start.enrolment, [], T + DAY, consents=YES)
        (send,) = first.actions
        assert (send.kind, send.channel, send.message_id, send.at) == ("send", "email", "m1", T)
        assert send.id == f"j:c1:0:hello:{int(pd.Timestamp(T).value)}"
        assert first.enrolment.step == "pause"
        assert first.enrolment.due_at == T + 2 * DAY
        done = step(j, first.enrolment, [], T + 3 * DAY, consents=YES)
        assert done.enrolment.status == "completed"
        assert done.enrolment.step_at == T + 2 * DAY
        assert replay_enrolment(start.audit + first.audit + done.audit) == done.enrolment

    def test_goal_wins_over_any_step_due_at_or_after_it(self):
        j = simple()
        start = enter(j, "c1", T)
        bought = [_Ev("purchase", T + 2 * DAY)]  # the same instant the wait ends
        res = step(j, start.enrolment, bought, T + 5 * DAY, consents=YES)
        assert res.enrolment.status == "converted"
        assert res.enrolment.step == "pause"
        assert res.enrolment.step_at == T + 2 * DAY
        assert [type(a).__name__ for a in res.audit][-1] == "GoalReached"

    def test_events_after_now_are_not_seen(self):
        j = simple()
        start = enter(j, "c1", T)
        res = step(j, start.enrolment, [_Ev("purchase", T + 2 * DAY)], T + DAY, consents=YES)
        assert res.enrolment.status == "active"

    @pytest.mark.parametrize(
        ("history", "reason"),
        [
            ([], "no_consent"),
            ([Consent(channel="sms", granted=True, at=T - DAY)], "no_consent"),
            ([Consent(channel="email", granted=False, at=T - DAY)], "opted_out"),
            (
                [
                    Consent(channel="email", granted=True, at=T - DAY),
                    Consent(channel="email", granted=False, at=T + DAY),
                ],
                "opted_out",  # granted at the send time, withdrawn by now
            ),
        ],
    )
    def test_sends_without_consent_are_skipped_with_the_reason(self, history, reason):
        j = simple()
        res = step(j, enter(j, "c1", T).enrolment, [], T + DAY, consents=history)
        assert res.actions == ()
        (skip,) = [a for a in res.audit if isinstance(a, MessageSkipped)]
        assert (skip.reason, skip.channel, skip.message_id) == (reason, "email", "m1")
        assert res.enrolment.step == "pause"  # the journey goes on

    def test_frequency_cap_counts_every_journeys_sends(self):
        j = simple()
        cap = FrequencyCap(2, "3D")
        e = enter(j, "c1", T).enrolment
        two = [T - 2 * DAY, T + dt.timedelta(hours=1)]
        res = step(j, e, [], T, consents=YES, sends=two, frequency_cap=cap)
        assert res.actions == ()
        assert [a.reason for a in res.audit if isinstance(a, MessageSkipped)] == ["frequency_cap"]
        older = [T - 3 * DAY, T + dt.timedelta(hours=1)]  # exactly 3 days: outside the window
        assert len(step(j, e, [], T, consents=YES, sends=older, frequency_cap=cap).actions) == 1
        with pytest.raises(ValidationError, match="limit must be an int >= 1"):
            FrequencyCap(0, "1D")

    def test_already_emitted_actions_are_not_emitted_again(self):
        j = simple()
        e = enter(j, "c1", T).enrolment
        once = step(j, e, [], T, consents=YES)
        again = step(j, e, [], T, consents=YES, already_emitted={once.actions[0].id})
        assert again.actions == ()
        assert again.enrolment == once.enrolment
        assert again.audit == once.audit

    def test_re_entry_policies(self):
        done = Enrolment(
            journey_id="j",
            customer_id="c1",
            enrolled_at=T,
            step="end",
            step_at=T + 2 * DAY,
            status="completed",
        )
        later = T + 3 * DAY
        assert enter(simple(), "c1", later, previous=[done]) is None
        again = enter(simple(re_entry="always"), "c1", later, previous=[done])
        assert again is not None
        assert again.enrolment.seq == 1
        assert again.enrolment.id == "j:c1:1"
        # a trigger during the previous enrolment does not count
        assert enter(simple(re_entry="always"), "c1", T + DAY, previous=[done]) is None
        cool = simple(re_entry="cooldown", cooldown="10D")
        assert enter(cool, "c1", later, previous=[done]) is None
        assert enter(cool, "c1", T + 10 * DAY, previous=[done]) is not None
        busy = Enrolment(journey_id="j", customer_id="c1", enrolled_at=T, step="pause", step_at=T)
        assert enter(simple(re_entry="always"), "c1", later, previous=[busy]) is None
        assert enter(simple(starts_at=T), "c1", T - DAY) is None

    def test_entry_rule_and_control_group(self):
        j = simple(
            steps=[
                Entry("s", event="download", rule="score >= 50", next="end"),
                Exit("end"),
            ],
            control_fraction=0.5,
        )
        assert enter(j, "c1", T, profile={"score": 10}) is None
        assert enter(j, "c1", T) is None  # no profile: not in the segment
        groups = {
            c: enter(j, c, T, profile={"score": 60}).enrolment.control
            for c in [f"c{i}" for i in range(200)]
        }
        share = sum(groups.values()) / len(groups)
        assert 0.38 < share < 0.62  # binomial(200, 0.5): outside only with p < 0.002
        again = {c: enter(j, c, T, profile={"score": 60}).enrolment.control for c in groups}
        assert again == groups
        held = next(c for c, ctrl in groups.items() if ctrl)
        res = enter(j, held, T, profile={"score": 60})
        assert res.enrolment.status == "held_out"
        assert step(j, res.enrolment, [], T + DAY).enrolment == res.enrolment

    def test_event_wait_branch_and_task(self):
        j = Journey(
            id="j",
            steps=[
                Entry("s", event="download", next="invite"),
                Send("invite", channel="email", message_id="inv", next="reply"),
                Wait(
                    "reply",
                    event="reply",
                    message_id="inv",
                    timeout="7D",
                    next="opened",
                    on_timeout="end",
                ),
                Branch("opened", event="open", within="2D", yes="task", no="end"),
                Action(
                    "task",
                    kind="create_task",
                    params={"subject": "Call", "due_in": "1D", "owner_field": "rep"},
                    next="end",
                ),
                Exit("end"),
            ],
        )
        e = enter(j, "c1", T).enrolment
        evs = [
            _Ev("reply", T + DAY, "other"),  # about another message: ignored
            _Ev("open", T + dt.timedelta(hours=30)),
            _Ev("reply", T + 2 * DAY, "inv"),
        ]
        res = step(j, e, evs, T + 3 * DAY, profile={"rep": "zoe"}, consents=YES)
        outcomes = [a.outcome for a in res.audit if isinstance(a, StepCompleted)]
        assert outcomes == ["entered", "sent", "event", "yes", "done"]
        task = res.actions[1].to_activity()
        assert (task.owner, task.customer_id, task.due_at) == ("zoe", "c1", T + 3 * DAY)
        with pytest.raises(ValidationError, match="is a send, not a create_task"):
            res.actions[0].to_activity()

    def test_step_refuses_bad_calls(self):
        j = simple()
        e = enter(j, "c1", T).enrolment
        with pytest.raises(ValidationError, match="now is required"):
            step(j, e, [])
        with pytest.raises(ValidationError, match="belongs to journey 'j', not 'other'"):
            step(Journey(id="other", steps=j.steps), e, [], T)
        with pytest.raises(ValidationError, match="timezone-aware"):
            step(j, e, [], dt.datetime(2024, 5, 6))  # noqa: DTZ001

    def test_actions_apply_to_entities(self):
        lead = Lead(id="L-1", name="G", source="web", created_at=T - DAY, status="nurturing")
        advance = JourneyAction(
            id="x",
            kind="advance_stage",
            journey_id="j",
            enrolment_id="j:L-1:0",
            customer_id="L-1",
            step="h",
            at=T,
            params={"to_stage": "qualified"},
        )
        moved, (change,) = advance.apply(lead)
        assert moved.status == "qualified"
        assert change.actor == "journey:j"
        with pytest.raises(InvalidTransition):
            advance.apply(attrs.evolve(moved, status="converted"))
        set_field = JourneyAction.from_dict(
            {**advance.to_dict(), "kind": "set_field", "params": {"field": "tier", "value": 2}}
        )
        customer = Customer(id="c", name="C", created_at=T - DAY)
        updated, events = set_field.apply(customer)
        assert updated.custom["tier"] == 2
        assert events == ()
        scored, _ = JourneyAction.from_dict(
            {**set_field.to_dict(), "params": {"field": "score", "value": 88}}
        ).apply(lead)
        assert scored.score == 88
        with pytest.raises(ValidationError, match="apply\\(\\) carries out"):
            JourneyAction.from_dict({**advance.to_dict(), "kind": "add_points"}).apply(lead)


class TestValues:
    def test_round_trips(self):
        j = simple()
        start = enter(j, "c1", T)
        res = step(j, start.enrolment, [], T, consents=[])
        for ev in start.audit + res.audit:
            back = audit_from_dict(json.loads(json.dumps(ev.to_dict())))
            assert back == ev
            assert back.id == ev.id
        e = res.enrolment
        assert Enrolment.from_dict(json.loads(json.dumps(e.to_dict()))) == e
        ok = step(j, start.enrolment, [], T, consents=YES).actions[0]
        assert JourneyAction.from_dict(json.loads(json.dumps(ok.to_dict()))) == ok
        assert isinstance(start.audit[0], JourneyEntered)
        with pytest.raises(ValidationError, match="unknown journey audit event type"):
            audit_from_dict({"type": "marketing.nope"})

    def test_replay_refuses_a_history_without_its_start(self):
        j = simple()
        start = enter(j, "c1", T)
        res = step(j, start.enrolment, [], T, consents=YES)
        with pytest.raises(ValidationError, match="starts with JourneyEntered"):
            replay_enrolment(res.audit)
        with pytest.raises(ValidationError, match="at least one event"):
            replay_enrolment([])


# ---------------------------------------------------------------- tick and analytics


class TestTickAndAnalytics:
    def test_tick_refuses_bad_input(self):
        j = simple()
        ev = pd.DataFrame(
            {"customer_id": ["a"], "type": ["download"], "date": [pd.Timestamp("2024-05-06")]}
        )
        consents = pd.DataFrame(columns=["customer_id", "channel", "granted", "date"])
        with pytest.raises(ValidationError, match="must be timezone-aware"):
            tick(j, None, ev, T, consents=consents)
        with pytest.raises(ValidationError, match=r"events has no column|missing"):
            tick(j, None, ev.drop(columns="type"), T, consents=consents)

    def test_categorical_types_read_like_strings(self):
        j = simple()
        ev = pd.DataFrame(
            {
                "customer_id": ["a", "b", "a"],
                "type": ["download", "open", "purchase"],
                "date": pd.to_datetime([T, T, T + DAY], utc=True),
            }
        )
        consents = pd.DataFrame(
            {
                "customer_id": ["a"],
                "channel": ["email"],
                "granted": [True],
                "date": pd.to_datetime([T - DAY], utc=True),
            }
        )
        plain = tick(j, None, ev, T + 3 * DAY, consents=consents)
        cat = tick(j, None, ev.astype({"type": "category"}), T + 3 * DAY, consents=consents)
        pd.testing.assert_frame_equal(plain.enrolments, cat.enrolments)
        assert plain.enrolments["status"].tolist() == ["converted"]

    def test_funnel_from_values_equals_from_frame(self):
        j = simple()
        start = enter(j, "c1", T)
        res = step(j, start.enrolment, [], T + 3 * DAY, consents=YES)
        values = start.audit + res.audit
        frame = tick(
            j,
            None,
            pd.DataFrame(
                {
                    "customer_id": ["c1"],
                    "type": ["download"],
                    "date": pd.to_datetime([T], utc=True),
                }
            ),
            T + 3 * DAY,
            consents=pd.DataFrame(
                {
                    "customer_id": ["c1"],
                    "channel": ["email"],
                    "granted": [True],
                    "date": pd.to_datetime([T - DAY], utc=True),
                }
            ),
        ).audit
        a, b = journey_funnel(j, values), journey_funnel(j, frame)
        pd.testing.assert_frame_equal(a, b)
        assert a.loc["pause", "time_in_step_median"] == pd.Timedelta("2D")
        assert a.loc["end", "exited"] == 1

    def test_conversion_against_control_golden_wilson(self):
        j = simple(
            steps=[
                *simple().steps[:3],
                Goal("bought", event="purchase", within="10D"),
                Exit("end"),
            ]
        )
        n = 200
        ids = [f"c{i}" for i in range(n)]
        enrolments = pd.DataFrame(
            {
                "customer_id": ids,
                "enrolled_at": pd.to_datetime([T] * n, utc=True),
                "control": [i >= 100 for i in range(n)],
            }
        )
        # treatment: 30 of 100 buy within the window; control: 10 of 100; 5 buy too late
        buyers = ids[:30] + ids[100:110]
        events = pd.DataFrame(
            {
                "customer_id": buyers + ids[30:35],
                "type": "purchase",
                "date": pd.to_datetime([T + 3 * DAY] * 40 + [T + 11 * DAY] * 5, utc=True),
            }
        )
        res = journey_conversion(j, enrolments, events, as_of=T + 20 * DAY)
        assert res.table["conversions"].tolist() == [30, 10]
        # Wilson (1927) 95 % interval of 30/100: [0.2189, 0.3958] (Newcombe 1998, table I)
        np.testing.assert_allclose(
            res.table.loc["treatment", ["ci_low", "ci_high"]], [0.2189, 0.3958], atol=5e-5
        )
        assert res.uplift == pytest.approx(0.2, rel=1e-12)
        assert res.ci_low < 0.2 < res.ci_high
        assert res.ci_low > 0
        early = journey_conversion(j, enrolments, events, as_of=T + 5 * DAY)
        assert early.pending == n
        assert early.table["enrolments"].tolist() == [0, 0]
        with pytest.raises(ValidationError, match="has 0 goals"):
            journey_conversion(
                Journey(id="x", steps=[Entry("s", event="e", next="end"), Exit("end")]),
                enrolments,
                events,
                as_of=T,
            )
