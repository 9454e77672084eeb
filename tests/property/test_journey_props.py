"""Journey engine invariants: tick equals step, consent, caps, replay, exactly-once reruns."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from typing import Any

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crmcore.domain import Consent, current_consent
from crmcore.marketing.journeys import (
    Enrolment,
    FrequencyCap,
    Journey,
    JourneyAction,
    enrolment_values,
    enrolments_frame,
    enter,
    replay_enrolment,
    step,
    tick,
)
from tests.strategies import journey_definitions, journey_worlds

CAP = FrequencyCap(2, "2D")


class _Ev:
    def __init__(self, type_: str, at: dt.datetime, message_id: Any) -> None:
        self.type, self.at = type_, at
        self.message_id = message_id if isinstance(message_id, str) else None


def _capped_history(sends: pd.DataFrame, cap: FrequencyCap) -> pd.DataFrame:
    """Keep past sends that themselves respect the cap (greedy, in time order)."""
    keep = []
    kept: dict[Any, list[pd.Timestamp]] = defaultdict(list)
    for i, row in sends.sort_values("date").iterrows():
        mine = kept[row["customer_id"]]
        if sum(abs(row["date"] - t) < cap.window for t in mine) < cap.limit:
            mine.append(row["date"])
            keep.append(i)
    return sends.loc[keep]


def reference_tick(
    journey: Journey,
    enrolments: list[Enrolment],
    world: dict[str, Any],
    now: dt.datetime,
    sends: pd.DataFrame,
    cap: FrequencyCap | None,
) -> tuple[list[Enrolment], list[JourneyAction], dict[str, list[Any]]]:
    """What tick must do, written with enter and step per customer."""
    events, profiles, consents = world["events"], world["profiles"], world["consents"]
    people = set(events["customer_id"]) | {e.customer_id for e in enrolments}
    if journey.entry.event is None:
        people |= set(profiles.index)
    out: list[Enrolment] = list(enrolments)
    actions: list[JourneyAction] = []
    audit: dict[str, list[Any]] = defaultdict(list)
    for who in sorted(people):
        mine_ev = events[events["customer_id"] == who]
        evs = [
            _Ev(t, d.to_pydatetime(), m)
            for t, d, m in zip(
                mine_ev["type"], mine_ev["date"], mine_ev["message_id"], strict=True
            )
        ]
        cons = [
            Consent(channel=c, granted=bool(g), at=d.to_pydatetime())
            for c, g, d in consents[consents["customer_id"] == who][
                ["channel", "granted", "date"]
            ].itertuples(index=False)
        ]
        past = [d.to_pydatetime() for d in sends[sends["customer_id"] == who]["date"]]
        profile = profiles.loc[who].to_dict() if who in profiles.index else None
        mine = [e for e in out if e.customer_id == who]
        todo = [i for i, e in enumerate(out) if e.customer_id == who and e.is_active]
        if not todo:
            triggers = (
                sorted(e.at for e in evs if e.type == journey.entry.event and e.at <= now)
                if journey.entry.event is not None
                else [now]
            )
            for at in triggers:
                got = enter(journey, who, at, profile=profile, previous=mine)
                if got is not None:
                    out.append(got.enrolment)
                    audit[got.enrolment.id].extend(got.audit)
                    if got.enrolment.is_active:
                        todo.append(len(out) - 1)
                    break
        for i in todo:
            res = step(
                journey,
                out[i],
                evs,
                now,
                profile=profile,
                consents=cons,
                sends=past,
                frequency_cap=cap,
            )
            out[i] = res.enrolment
            actions.extend(res.actions)
            audit[res.enrolment.id].extend(res.audit)
            past += [a.at for a in res.actions if a.kind == "send"]
    return out, actions, audit


def _run_both(journey: Journey, world: dict[str, Any], cap: FrequencyCap | None) -> dict[str, Any]:
    sends = _capped_history(world["sends"], CAP)
    frame = None
    ref: list[Enrolment] = []
    log: dict[str, list[Any]] = defaultdict(list)
    all_actions: list[JourneyAction] = []
    ticks = []
    for now in world["ticks"]:
        res = tick(
            journey,
            frame,
            world["events"],
            now,
            profiles=world["profiles"],
            consents=world["consents"],
            sends=sends,
            frequency_cap=cap,
        )
        ref, ref_actions, ref_audit = reference_tick(journey, ref, world, now, sends, cap)
        got = {e.id: e for e in res.enrolment_values()}
        assert got == {e.id: e for e in ref}
        tick_actions = res.action_values()
        assert sorted(tick_actions, key=lambda a: a.id) == sorted(ref_actions, key=lambda a: a.id)
        by_enrolment: dict[str, list[Any]] = defaultdict(list)
        for ev in res.audit_events():
            by_enrolment[ev.enrolment_id].append(ev)
        assert dict(by_enrolment) == {k: v for k, v in ref_audit.items() if v}
        for k, v in by_enrolment.items():
            log[k].extend(v)
        all_actions.extend(tick_actions)
        new_sends = pd.DataFrame(
            {
                "customer_id": pd.Series(
                    [a.customer_id for a in tick_actions if a.kind == "send"], dtype=object
                ),
                "date": pd.to_datetime([a.at for a in tick_actions if a.kind == "send"], utc=True),
            }
        )
        sends = pd.concat([sends, new_sends], ignore_index=True)
        ticks.append((now, tick_actions))
        frame = res.enrolments
    return {"frame": frame, "log": log, "actions": all_actions, "sends": sends, "ticks": ticks}


@pytest.mark.slow
@settings(max_examples=60)
@given(data=st.data())
def test_tick_equals_step_per_customer_and_replay_equals_live(data):
    journey = data.draw(journey_definitions())
    world = data.draw(journey_worlds(journey))
    cap = data.draw(st.sampled_from([None, CAP]))
    run = _run_both(journey, world, cap)
    for e in enrolment_values(run["frame"]):
        assert replay_enrolment(run["log"][e.id]) == e


@pytest.mark.slow
@settings(max_examples=60)
@given(data=st.data())
def test_no_message_without_consent_at_its_send_time(data):
    journey = data.draw(journey_definitions())
    world = data.draw(journey_worlds(journey))
    run = _run_both(journey, world, None)
    consents = world["consents"]
    for now, actions in run["ticks"]:
        for a in actions:
            if a.kind != "send":
                continue
            mine = consents[consents["customer_id"] == a.customer_id]
            history = [
                Consent(channel=c, granted=bool(g), at=d.to_pydatetime())
                for c, g, d in mine[["channel", "granted", "date"]].itertuples(index=False)
            ]
            for when in (a.at, now):
                found = current_consent(history, str(a.channel), as_of=when)
                assert found is not None
                assert found.granted
            assert a.at <= now


@pytest.mark.slow
@settings(max_examples=60)
@given(data=st.data())
def test_frequency_cap_never_exceeded(data):
    journey = data.draw(journey_definitions())
    world = data.draw(journey_worlds(journey))
    run = _run_both(journey, world, CAP)
    for _, group in run["sends"].groupby("customer_id"):
        times = sorted(group["date"])
        for i in range(len(times) - CAP.limit):
            assert times[i + CAP.limit] - times[i] >= CAP.window


@pytest.mark.slow
@settings(max_examples=40)
@given(data=st.data(), crash_after=st.integers(0, 5))
def test_interrupted_tick_rerun_emits_each_action_exactly_once(data, crash_after):
    """A scheduler ticks customer batches; one batch's actions reach the outbox, its state not."""
    journey = data.draw(journey_definitions())
    world = data.draw(journey_worlds(journey))
    now = world["ticks"][-1]
    common = {
        "profiles": world["profiles"],
        "consents": world["consents"],
        "sends": world["sends"],
    }
    whole = tick(journey, None, world["events"], now, **common)
    people = sorted(set(world["events"]["customer_id"]) | set(world["profiles"].index))
    batches = [people[i : i + 2] for i in range(0, len(people), 2)]
    outbox: dict[str, Any] = {}
    delivered: list[str] = []
    saved: list[pd.DataFrame] = []

    def run_batch(batch: list[str], state: pd.DataFrame | None) -> Any:
        ev = world["events"][world["events"]["customer_id"].isin(batch)]
        prof = world["profiles"][world["profiles"].index.isin(batch)]
        return tick(
            journey,
            state,
            ev,
            now,
            profiles=prof,
            consents=common["consents"],
            sends=common["sends"],
            already_emitted=set(outbox),
        )

    crashed_at = min(crash_after, len(batches) - 1) if batches else 0
    for b, batch in enumerate(batches):
        res = run_batch(batch, None)
        for a in res.action_values():
            outbox[a.id] = a
            delivered.append(a.id)
        if b == crashed_at:
            break  # the actions are in the outbox, the enrolments were never saved
        saved.append(res.enrolments)
    # the rerun resumes at the batch that crashed, from the state saved before it
    for batch in batches[len(saved) :]:
        res = run_batch(batch, None)
        for a in res.action_values():
            outbox[a.id] = a
            delivered.append(a.id)
    assert sorted(delivered) == sorted(set(delivered))
    # the same tick run again on the saved state emits nothing it emitted before
    for b, state in enumerate(saved):
        again = run_batch(batches[b], None)
        assert again.actions.empty
        assert state.equals(again.enrolments)
    assert sorted(outbox) == sorted(whole.actions["action_id"])
    assert set(outbox.values()) == set(whole.action_values())


def test_enrolments_frame_round_trip():
    t = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
    e = Enrolment(
        journey_id="j",
        customer_id="a",
        enrolled_at=t,
        step="s",
        step_at=t,
        due_at=t + dt.timedelta(days=1),
    )
    done = Enrolment(
        journey_id="j", customer_id="b", enrolled_at=t, step="x", step_at=t, status="completed"
    )
    assert enrolment_values(enrolments_frame([e, done])) == (e, done)
