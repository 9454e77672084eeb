"""Stored "not a duplicate" decisions read as of a date see nothing decided later.

``not_duplicates(store, as_of=)`` is the decisions in force at ``as_of``: marks
and withdrawals after it, in any order, change nothing; the same instants
written in another zone give the same answer.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from crmcore.domain import Customer
from crmcore.identity import mark_not_duplicate, not_duplicates, withdraw_not_duplicate
from crmcore.storage import InMemoryStore

T0 = dt.datetime(2026, 3, 1, 9, tzinfo=dt.UTC)
AS_OF = T0 + dt.timedelta(days=10)
PEOPLE = ["c1", "c2", "c3", "c4"]

decision = st.tuples(
    st.sampled_from(PEOPLE),
    st.sampled_from(PEOPLE),
    st.booleans(),  # mark (True) or withdraw
    st.integers(0, 20 * 24 * 60),  # minutes after T0
).filter(lambda d: d[0] != d[1])


def _store(decisions: list[tuple[str, str, bool, int]], zone: dt.tzinfo) -> InMemoryStore:
    store = InMemoryStore()
    with store.unit_of_work() as uow:
        for cid in PEOPLE:
            uow.customers.add(Customer(id=cid, name=cid, created_at=T0))
        uow.commit()
    for left, right, mark, minutes in sorted(decisions, key=lambda d: d[3]):
        at = (T0 + dt.timedelta(minutes=minutes)).astimezone(zone)
        if mark:
            mark_not_duplicate(store, left, right, at=at)
        else:
            withdraw_not_duplicate(store, left, right, at=at)
    return store


def _pairs(frame: pd.DataFrame) -> list[tuple[str, str, pd.Timestamp]]:
    return [(r.id_l, r.id_r, pd.Timestamp(r.at).tz_convert("UTC")) for r in frame.itertuples()]


@settings(max_examples=30, deadline=None)
@given(
    history=st.lists(decision, max_size=6),
    later=st.lists(decision, max_size=6),
    zone=st.sampled_from([dt.UTC, ZoneInfo("Asia/Seoul"), ZoneInfo("America/New_York")]),
)
def test_decisions_after_as_of_change_nothing_and_zones_do_not_matter(history, later, zone):
    cut = int((AS_OF - T0).total_seconds() // 60)
    before = [d for d in history if d[3] <= cut]
    after = [(a, b, m, cut + 1 + (t % (10 * 24 * 60))) for a, b, m, t in later]
    expected = _pairs(not_duplicates(_store(before, dt.UTC), as_of=AS_OF))
    assert _pairs(not_duplicates(_store(before + after, dt.UTC), as_of=AS_OF)) == expected
    assert _pairs(not_duplicates(_store(before + after, zone), as_of=AS_OF)) == expected
