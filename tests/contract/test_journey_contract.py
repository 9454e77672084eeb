"""Journeys on a store: enrolments kept, actions and audit events in the history, one tick
one transaction; the same on every store (memory, SQLite, PostgreSQL)."""

from __future__ import annotations

import datetime as dt
import threading
import time
import uuid

import pandas as pd
import pytest

from crmcore.domain import DomainEvent, Enrolment
from crmcore.errors import ValidationError
from crmcore.marketing import _journey_store
from crmcore.marketing.journeys import (
    Entry,
    Exit,
    FrequencyCap,
    Journey,
    JourneyActionEmitted,
    JourneyStepRecorded,
    Send,
    Wait,
    enrolment_values,
    replay_enrolment,
    run_tick,
    stored_sends,
    tick,
)
from crmcore.storage import UnitOfWork

T = dt.datetime(2024, 9, 2, 9, tzinfo=dt.UTC)  # a Monday
HOUR = dt.timedelta(hours=1)
DAY = dt.timedelta(days=1)
GRACE = uuid.UUID(int=9)  # a UUID customer: stored as text, read back as the UUID

SEMINAR = Journey(
    id="seminar",
    steps=[
        Entry("whitepaper", event="download", next="invite"),
        Send("invite", channel="email", message_id="seminar-invite", next="reply"),
        Wait("reply", event="seminar_reply", timeout="7D", next="end", on_timeout="follow_up"),
        Send("follow_up", channel="email", message_id="seminar-follow-up", next="end"),
        Exit("end"),
    ],
    quiet_hours=("20:00", "08:00"),
)
NEWS = Journey(
    id="news",
    steps=[
        Entry("signup", event="download", next="welcome"),
        Send("welcome", channel="email", message_id="news-welcome", next="end"),
        Exit("end"),
    ],
)


def _events() -> pd.DataFrame:
    rows = [
        ("L-1", "download", T + HOUR),
        ("L-2", "download", T + 2 * HOUR),
        (GRACE, "download", T + 12 * HOUR),  # 21:00 UTC: quiet, sent at 08:00
        ("L-1", "seminar_reply", T + 3 * DAY),
        ("L-3", "download", T + 4 * DAY),
    ]
    return pd.DataFrame(
        {
            "customer_id": pd.Series([r[0] for r in rows], dtype=object),
            "type": [r[1] for r in rows],
            "date": pd.to_datetime([r[2] for r in rows], utc=True),
        }
    )


EVENTS = _events()
CONSENTS = pd.DataFrame(
    {
        "customer_id": pd.Series(["L-1", "L-2", GRACE, "L-3", "L-2"], dtype=object),
        "channel": "email",
        "granted": [True, True, True, True, False],
        "date": pd.to_datetime([T - 60 * DAY] * 4 + [T + 8 * DAY], utc=True),
    }
)
NOWS = [T + k * 6 * HOUR for k in range(4 * 12)]  # every six hours for twelve days


def _run(store, journey=SEMINAR, nows=NOWS, **kwargs):
    return [run_tick(store, journey, EVENTS, now, consents=CONSENTS, **kwargs) for now in nows]


def _pure(journey=SEMINAR, nows=NOWS):
    """The same scheduler with the state kept in memory by the caller."""
    state, actions, audit = None, [], []
    for now in nows:
        res = tick(journey, state, EVENTS, now, consents=CONSENTS)
        state = res.enrolments
        actions += res.action_values()
        audit.append(res.audit)
    return state, actions


def _stored(store) -> dict[str, Enrolment]:
    return {e.id: e for e in store.journey_enrolments.query(order_by="id")}


def _without_version(enrolments):
    return {e.id: e.to_dict() | {"version": 0} for e in enrolments}


def _history(store) -> list[tuple[str, str]]:
    return [(s.event.type, str(s.id)) for s in store.events.query()]


def test_a_stored_scheduler_equals_the_pure_engine(store):
    _run(store)
    state, actions = _pure()
    assert _without_version(_stored(store).values()) == _without_version(enrolment_values(state))
    stored_actions = [s.event.to_action() for s in store.events.query(type=JourneyActionEmitted)]
    assert stored_actions == actions  # in emission order, each once
    assert (
        len({a.id for a in stored_actions}) == len(stored_actions) == 7
    )  # 4 invitations, 3 follow-ups
    sent = {(str(a.customer_id), a.message_id, a.at) for a in stored_actions}
    assert (str(GRACE), "seminar-invite", dt.datetime(2024, 9, 3, 8, tzinfo=dt.UTC)) in sent
    # L-2 got no reply in 7 days: the follow-up, before withdrawing consent on day 8
    assert ("L-2", "seminar-follow-up", T + 2 * HOUR + 7 * DAY) in sent
    # a customer stored by UUID comes back as the UUID
    assert _stored(store)[f"seminar:urn:uuid:{GRACE}:0"].customer_id == GRACE


def test_the_outbox_delivers_every_action_once_with_its_id(store):
    _run(store, nows=NOWS[:20])
    delivered = []
    store.outbox.deliver("mailer", delivered.extend, batch_size=7)
    actions = [s for s in delivered if isinstance(s.event, JourneyActionEmitted)]
    assert [str(s.id) for s in actions] == [str(s.event.to_action().id) for s in actions]
    _run(store, nows=NOWS[20:])
    more = []
    store.outbox.deliver("mailer", more.extend)
    ids = [str(s.id) for s in delivered + more]
    assert len(ids) == len(set(ids)) == store.events.count()
    assert {s.position for s in more}.isdisjoint({s.position for s in delivered})


def test_replaying_the_stored_audit_events_gives_the_stored_state(store):
    _run(store)
    for eid, enrolment in _stored(store).items():
        history = [
            s.event.to_audit() for s in store.events.query(entity=eid, type=JourneyStepRecorded)
        ]
        assert replay_enrolment(history).to_dict() == enrolment.to_dict() | {"version": 0}


def test_running_a_tick_again_emits_nothing_and_changes_nothing(store):
    _run(store, nows=NOWS[:10])
    before, history = _stored(store), _history(store)
    again = run_tick(store, SEMINAR, EVENTS, NOWS[9], consents=CONSENTS)
    assert len(again.actions) == 0
    assert len(again.audit) == 0
    assert _stored(store) == before  # not even a version moved
    assert _history(store) == history


@pytest.mark.parametrize("where", ["writes", "events"])
def test_a_failed_tick_leaves_the_store_as_it_was_and_a_rerun_emits_each_action_once(
    store, monkeypatch, where
):
    _run(store, nows=NOWS[:4])
    before, history = _stored(store), _history(store)

    def killed(*_args, **_kwargs):
        raise RuntimeError("killed mid-tick")

    if where == "writes":  # state written in the unit of work, events not yet recorded
        monkeypatch.setattr(UnitOfWork, "record", killed)
    else:  # events recorded, the commit fails
        monkeypatch.setattr(type(store.unit_of_work()), "_commit", killed)
    with pytest.raises(RuntimeError, match="killed"):
        run_tick(store, SEMINAR, EVENTS, NOWS[-1], consents=CONSENTS)
    assert _stored(store) == before
    assert _history(store) == history
    monkeypatch.undo()

    run_tick(store, SEMINAR, EVENTS, NOWS[-1], consents=CONSENTS)
    state, actions = _pure(nows=[*NOWS[:4], NOWS[-1]])
    stored_actions = [s.event.to_action() for s in store.events.query(type=JourneyActionEmitted)]
    assert stored_actions == actions
    assert _without_version(_stored(store).values()) == _without_version(enrolment_values(state))


def test_the_frequency_cap_counts_the_sends_of_every_journey_on_the_store(store):
    cap = FrequencyCap(1, "7D")
    _run(store, SEMINAR, nows=[T + DAY], frequency_cap=cap)  # three invitations
    news = run_tick(store, NEWS, EVENTS, T + DAY, consents=CONSENTS, frequency_cap=cap)
    assert len(news.actions) == 0  # each of them had the seminar's invitation this week

    def reasons(journey_id):
        return {
            str(s.event.customer_id): s.event.details["reason"]
            for s in store.events.query(type=JourneyStepRecorded, entity_type="journey_enrolment")
            if s.event.journey_id == journey_id
            and s.event.audit_type == "marketing.journey_message_skipped"
        }

    assert reasons("news") == {
        "L-1": "frequency_cap",
        "L-2": "frequency_cap",
        str(GRACE): "frequency_cap",
    }
    # L-3 downloads on day 4: the news journey runs first and welcomes L-3 ...
    later = run_tick(store, NEWS, EVENTS, T + 5 * DAY, consents=CONSENTS, frequency_cap=cap)
    assert list(later.actions["customer_id"]) == ["L-3"]
    # ... so the seminar's invitation, at the same instant, is over the cap
    seminar = run_tick(store, SEMINAR, EVENTS, T + 5 * DAY, consents=CONSENTS, frequency_cap=cap)
    assert len(seminar.actions) == 0
    assert reasons("seminar") == {"L-3": "frequency_cap"}


def test_capped_ticks_at_once_count_each_others_sends(store, monkeypatch):
    """Two journeys tick at the same moment under one cap, on two threads: the second
    to read the stored sends waits for the first to commit, so nobody gets two."""
    cap = FrequencyCap(1, "7D")
    real_tick = _journey_store.tick
    inside = threading.Event()

    def slow_seminar(journey, *args, **kwargs):
        if journey.id == "seminar":  # the sends are read: let the news tick start now
            inside.set()
            time.sleep(0.5)
        return real_tick(journey, *args, **kwargs)

    monkeypatch.setattr(_journey_store, "tick", slow_seminar)
    results, errors = {}, []

    def seminar():
        try:
            results["seminar"] = run_tick(
                store, SEMINAR, EVENTS, T + DAY, consents=CONSENTS, frequency_cap=cap
            )
        except Exception as exc:  # re-raised in the test's thread
            errors.append(exc)

    worker = threading.Thread(target=seminar)
    worker.start()
    assert inside.wait(30)
    results["news"] = run_tick(store, NEWS, EVENTS, T + DAY, consents=CONSENTS, frequency_cap=cap)
    worker.join(60)
    assert not errors
    assert not worker.is_alive()
    assert len(results["seminar"].actions) == 3  # L-1, L-2 and GRACE are invited ...
    assert len(results["news"].actions) == 0  # ... so the news journey, waiting, sends none
    sends = stored_sends(store, since=T - DAY, until=T + DAY)
    assert len(sends) == 3
    assert sends["customer_id"].astype(str).is_unique


def test_journey_events_round_trip_through_json(store):
    _run(store, nows=NOWS[:8])
    for stored in store.events.query():
        event = stored.event
        assert isinstance(event, JourneyActionEmitted | JourneyStepRecorded)
        again = DomainEvent.from_dict(event.to_dict())
        assert again == event
        assert again.id == event.id
        assert event.entity_type == "journey_enrolment"
        assert event.actor == "journey:seminar"
    by_customer = store.events.query(entity="L-1")
    assert by_customer
    assert {s.event.customer_id for s in by_customer} == {"L-1"}


def test_enrolments_of_another_journey_are_left_alone(store):
    other = Enrolment(
        journey_id="other",
        customer_id="L-1",
        enrolled_at=T,
        step="somewhere",
        step_at=T,
    )
    store.journey_enrolments.add(other)
    _run(store, nows=NOWS[:6])
    assert store.journey_enrolments.get(other.id) == other
    assert store.journey_enrolments.count({"journey_id": "seminar"}) == 3  # L-3 comes on day 4


def test_a_tick_reads_the_active_enrolments_and_those_a_trigger_may_re_enter(store):
    def enrolment(customer, status):
        return Enrolment(
            journey_id="seminar",
            customer_id=customer,
            enrolled_at=T - 30 * DAY,
            step="end" if status != "active" else "reply",
            step_at=T - 20 * DAY,
            due_at=T + 20 * DAY if status == "active" else None,
            status=status,
        )

    waiting, done, before = (
        enrolment("Y", "active"),
        enrolment("Z", "completed"),
        enrolment("L-1", "completed"),
    )
    store.journey_enrolments.add_many([waiting, done, before])
    res = run_tick(store, SEMINAR, EVENTS, T + 2 * HOUR, consents=CONSENTS)
    # Z has no entry event: not read; L-1 downloads again, and "never" re-enters
    assert set(res.enrolments["enrolment_id"]) == {waiting.id, before.id, "seminar:L-2:0"}
    assert "seminar:L-1:1" not in _stored(store)
    assert _stored(store)[done.id] == done


def test_an_enrolment_id_is_derived():
    with pytest.raises(ValidationError, match="derived"):
        Enrolment(id="x", journey_id="j", customer_id="c", enrolled_at=T, step="s", step_at=T)


def test_event_times_in_nanoseconds_are_stored_to_the_microsecond(store):
    events = EVENTS.assign(date=EVENTS["date"].dt.as_unit("ns") + pd.Timedelta(789, "ns"))
    run_tick(store, SEMINAR, events, T + DAY, consents=CONSENTS)  # no warning either
    stored = _stored(store)["seminar:L-1:0"]
    assert stored.enrolled_at == T + HOUR  # 789 ns dropped, as every engine value does
