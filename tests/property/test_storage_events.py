"""Event-store properties on every store: round trips, and queries equal a reference filter.

Also: a stored ledger's balances equal ``ledger_balances`` on the same entries,
for random ledgers and programmes.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from crmcore._time import to_zone
from crmcore.domain import Money, StageChanged, encode_id
from crmcore.loyalty import PointsLedger, Purchase, Redemption, Refund, ledger_balances
from crmcore.storage import InMemoryStore, SqlStore
from crmcore.testing.strategies import (
    EVENT_ENTITIES,
    TIMEZONES,
    aware_datetimes,
    domain_events,
    loyalty_programs,
    optional,
)
from tests.contract._stores import clean_pg, pg_engine  # noqa: F401 -- fixture

SETTINGS = settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@pytest.fixture(params=["memory", "sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def new_store(request):
    def make():
        if request.param == "memory":
            return InMemoryStore()
        if request.param == "sqlite":
            store = SqlStore("sqlite://")
            store.create_schema()
            return store
        engine = request.getfixturevalue("pg_engine")
        clean_pg(engine)
        return SqlStore(engine)

    return make


def _no_nul(value) -> bool:
    if isinstance(value, str):
        return "\x00" not in value
    if isinstance(value, dict):
        return all(_no_nul(k) and _no_nul(v) for k, v in value.items())
    if isinstance(value, list | tuple):
        return all(_no_nul(v) for v in value)
    return True


storable_events = domain_events().filter(lambda e: _no_nul(e.to_dict()))


def _key(value) -> str:
    return encode_id(value)


@pytest.mark.slow
@SETTINGS
@given(events=st.lists(storable_events, max_size=12), data=st.data())
def test_events_round_trip_and_queries_match_a_reference(new_store, events, data):
    store = new_store()
    store.events.append(*events)
    stored = store.events.query()
    assert [s.event for s in stored] == events
    assert [s.id for s in stored] == [e.id for e in events]
    assert [s.event.to_dict() for s in stored] == [e.to_dict() for e in events]

    entity = data.draw(optional(st.lists(st.sampled_from(EVENT_ENTITIES), min_size=1, max_size=2)))
    types = data.draw(
        optional(
            st.lists(
                st.sampled_from(
                    ["pipeline.stage_changed", "consent.changed", "future.kind_unknown"]
                ),
                min_size=1,
                max_size=2,
            )
        )
    )
    instants = [e.at for e in events] or [dt.datetime(2026, 1, 1, tzinfo=dt.UTC)]
    bound = st.one_of(st.sampled_from(instants), aware_datetimes())
    since, until = data.draw(optional(bound)), data.draw(optional(bound))
    after = data.draw(optional(st.integers(0, len(events) + 1)))
    limit = data.draw(optional(st.integers(0, 5)))

    wanted = {_key(v) for v in entity} if entity is not None else None
    want = []
    for position, e in enumerate(events, start=1):
        if wanted is not None and not ({_key(i) for i in e.entity_ids} & wanted):
            continue
        if types is not None and e.type not in types:
            continue
        if since is not None and not e.at > since:
            continue
        if until is not None and not e.at <= until:
            continue
        if after is not None and position <= after:
            continue
        want.append(position)
    kwargs = {"entity": entity, "type": types, "since": since, "until": until, "after": after}
    got = store.events.query(**kwargs, limit=limit)
    assert [s.position for s in got] == (want[:limit] if limit is not None else want)
    assert store.events.count(**kwargs) == len(want)
    frame = store.events.to_frame(**kwargs, limit=limit)
    assert frame["position"].tolist() == [s.position for s in got]
    assert frame["at"].tolist() == [pd.Timestamp(s.event.at).tz_convert("UTC") for s in got]


@st.composite
def ledgers(draw):
    program = draw(loyalty_programs())
    books = {}
    start = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    for account in ("m1", "m2", "m3")[: draw(st.integers(1, 3))]:
        ledger = PointsLedger(program, account_id=account)
        now = start
        for n in range(draw(st.integers(0, 8))):
            now += dt.timedelta(days=draw(st.integers(0, 60)), hours=draw(st.integers(0, 23)))
            action = draw(st.sampled_from(["buy", "buy", "redeem", "refund"]))
            balance = ledger.balance(now)
            earned = [e.event_id for e in ledger.entries if e.kind == "earn"]
            refunded = {e.order_id for e in ledger.entries if e.kind == "clawback"}
            if action == "redeem" and balance > 0:
                points = draw(st.integers(1, balance))
                ledger = ledger.post(Redemption(event_id=f"r{n}", at=now, points=points))
            elif action == "refund" and set(earned) - refunded:
                order = draw(st.sampled_from(sorted(set(earned) - refunded)))
                ledger = ledger.post(Refund(event_id=f"f{n}", at=now, order_id=order))
            else:
                cents = draw(st.integers(1, 50_000))
                amount = Money(amount=Decimal(cents) / 100, currency="EUR")
                ledger = ledger.post(Purchase(event_id=f"o{n}", at=now, amount=amount))
        books[account] = ledger
    as_of = start + dt.timedelta(days=draw(st.integers(0, 500)))
    return program, books, as_of


_STAGES = ("prospecting", "qualification", "proposal", "closed_won")
_T0 = dt.datetime(2026, 3, 1, tzinfo=dt.UTC)
# moves a few hours apart, some at the same instant, around the DST changes of late March
_move_times = st.builds(
    lambda hours, tz: (_T0 + dt.timedelta(hours=hours)).astimezone(tz),
    st.integers(0, 24 * 40),
    st.sampled_from(TIMEZONES),
)
_moves = st.lists(
    st.builds(
        lambda entity, frm, to, at, wf: StageChanged(entity, frm, to, at, workflow=wf),
        st.sampled_from(["d1", "d2", "d3"]),
        st.sampled_from(_STAGES),
        st.sampled_from(_STAGES),
        _move_times,
        st.sampled_from(["opportunity", "ticket"]),
    ),
    max_size=15,
)


@pytest.mark.slow
@SETTINGS
@given(moves=_moves, cut=_move_times)
def test_stages_as_of_is_the_last_move_of_the_stage_log_up_to_as_of(new_store, moves, cut):
    # stage_history(until=as_of) is the stage log a pipeline snapshot is rebuilt from;
    # stages_as_of reads the same answer from the store directly (last by time, then position)
    store = new_store()
    store.events.append(*moves)
    log = store.events.stage_history(workflow="opportunity", until=cut)
    assert (log["at"] <= pd.Timestamp(cut)).all()
    expected = {}
    for move in sorted(
        (m for m in moves if m.workflow == "opportunity" and m.at <= cut),
        key=lambda m: m.at,  # stable: equal instants keep their position order
    ):
        expected[move.entity_id] = move.to_stage
    last = log.sort_values("at", kind="stable").drop_duplicates("entity_id", keep="last")
    assert dict(zip(last["entity_id"], last["to_stage"], strict=True)) == expected
    got = store.events.stages_as_of(cut, workflow="opportunity")
    assert dict(zip(got.index, got["stage"], strict=True)) == expected


@pytest.mark.slow
@SETTINGS
@given(case=ledgers())
def test_stored_balances_equal_ledger_balances(new_store, case):
    program, books, as_of = case
    store = new_store()
    for account, ledger in books.items():
        store.loyalty_ledger.append(account, ledger.entries)
    frames = [ledger.to_frame() for ledger in books.values() if ledger.entries]
    if not frames:
        assert store.loyalty_ledger.count() == 0
        return
    want = ledger_balances(pd.concat(frames, ignore_index=True), as_of=as_of, program=program)
    got = store.loyalty_ledger.balances(as_of=as_of, program=program)
    pd.testing.assert_frame_equal(got, want, check_index_type=False)
    for account, ledger in books.items():
        assert store.loyalty_ledger.ledger(account, program) == ledger


def _instants(frame: pd.DataFrame) -> pd.DataFrame:
    """The frame without store positions, its datetimes as UTC instants."""
    out = frame.drop(columns=["position"], errors="ignore").copy()
    for col in out.columns:
        if isinstance(out[col].dtype, pd.DatetimeTZDtype):
            out[col] = out[col].dt.tz_convert("UTC")
    return out


@pytest.mark.slow
@SETTINGS
@given(
    moves=st.lists(
        st.tuples(
            st.sampled_from(["o1", "o2", "o3"]),
            st.sampled_from(["lead", "won", "lost"]),
            aware_datetimes(),
        ),
        max_size=10,
    ),
    as_of=aware_datetimes(),
    zone=st.sampled_from(["Asia/Seoul", "America/Santiago", "Europe/Paris"]),
)
def test_as_of_reads_ignore_later_events_and_the_zone(new_store, moves, as_of, zone):
    events = [StageChanged(e, "new", stage, at, workflow="sales") for e, stage, at in moves]
    shown = to_zone(zone)
    moved = [
        StageChanged(e, "new", stage, at.astimezone(shown), workflow="sales")
        for e, stage, at in moves
    ]
    past = [e for e in events if e.at <= as_of]  # only these may matter
    answers = []
    for batch in (events, past, moved):
        store = new_store()
        store.events.append(*batch)
        answers.append(
            (
                _instants(store.events.stages_as_of(as_of)),
                _instants(store.events.latest(type="pipeline.stage_changed", as_of=as_of)),
            )
        )
    for got in answers[1:]:
        for want, have in zip(answers[0], got, strict=True):
            pd.testing.assert_frame_equal(have, want, check_index_type=False)


@pytest.mark.slow
@SETTINGS
@given(case=ledgers())
def test_stored_balances_ignore_entries_after_as_of(new_store, case):
    program, books, as_of = case
    full, past = new_store(), new_store()
    for account, ledger in books.items():
        full.loyalty_ledger.append(account, ledger.entries)
        past.loyalty_ledger.append(account, [e for e in ledger.entries if e.at <= as_of])
    got = full.loyalty_ledger.balances(as_of=as_of, program=program)
    want = past.loyalty_ledger.balances(as_of=as_of, program=program)
    # as ledger_balances: an account whose entries all come later is still listed, with zeros
    later = got.index.difference(want.index)
    assert (got.loc[later, ["balance", "earned", "redeemed", "expired"]] == 0).all().all()
    pd.testing.assert_frame_equal(got.drop(index=later), want, check_index_type=False)
