"""Follow-ups: due and overdue activities in working time, next actions, touch KPIs."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from crmcore.domain import Activity
from crmcore.errors import ValidationError
from crmcore.pipeline import BusinessCalendar, activities_frame, activity_kpis, due_activities

UTC = dt.UTC


def ts(s):
    return pd.Timestamp(s, tz="UTC")


def frame(rows):
    out = pd.DataFrame(
        rows,
        columns=[
            "id",
            "owner",
            "kind",
            "lead_id",
            "opportunity_id",
            "created_at",
            "due_at",
            "completed_at",
        ],
    )
    for c in ("created_at", "due_at", "completed_at"):
        out[c] = pd.to_datetime(out[c]).dt.tz_localize("UTC")
    return out


ACTS = frame(
    [
        ("a1", "ann", "call", "L1", None, "2026-03-02 08:00", "2026-03-02 10:00", None),
        ("a2", "ann", "email", "L1", None, "2026-03-02 08:00", "2026-03-06 09:00", None),
        ("a3", "bob", "meeting", None, "O1", "2026-03-02 08:00", "2026-03-04 16:00", None),
        ("a4", "bob", "task", None, "O1", "2026-03-02 08:00", None, None),
        (
            "a5",
            "bob",
            "call",
            "L2",
            None,
            "2026-03-02 08:00",
            "2026-03-03 09:00",
            "2026-03-03 09:30",
        ),
        ("a6", "ann", "call", "L3", None, "2026-03-05 08:00", "2026-03-05 10:00", None),
        (
            "a7",
            "ann",
            "call",
            "L3",
            None,
            "2026-03-02 08:00",
            "2026-03-03 10:00",
            "2026-03-04 15:00",
        ),
    ]
)


def test_statuses_hours_and_next_action_on_a_calendar():
    cal = BusinessCalendar({d: [("09:00", "17:00")] for d in range(5)}, tz="UTC")
    as_of = ts("2026-03-04 12:00")  # a Wednesday
    due = due_activities(ACTS, as_of=as_of, calendar=cal).set_index("id")
    # a5 was done before as_of; a6 did not exist yet; a7 completed after as_of: still open
    assert sorted(due.index) == ["a1", "a2", "a3", "a4", "a7"]
    assert due["status"].to_dict() == {
        "a1": "overdue",
        "a2": "upcoming",
        "a3": "due_today",
        "a4": "no_due_date",
        "a7": "overdue",
    }
    # Mon 10:00 -> Wed 12:00: 7 h Monday + 8 h Tuesday + 3 h Wednesday
    assert due.loc["a1", "overdue_hours"] == pytest.approx(18.0, rel=1e-12)
    assert due.loc["a7", "overdue_hours"] == pytest.approx(10.0, rel=1e-12)
    assert due.loc["a3", "due_in_hours"] == pytest.approx(4.0, rel=1e-12)
    # Wed 12:00 -> Fri 09:00: 5 h + 8 h + 0 h
    assert due.loc["a2", "due_in_hours"] == pytest.approx(13.0, rel=1e-12)
    assert np.isnan(due.loc["a4", "due_in_hours"])
    assert due["is_next"].to_dict() == {
        "a1": True,
        "a2": False,
        "a3": True,
        "a4": False,
        "a7": True,
    }
    assert due.loc["a3", "record_type"] == "opportunity"
    assert due.loc["a1", "record_id"] == "L1"


def test_elapsed_hours_without_a_calendar_and_a_date_as_of():
    due = due_activities(ACTS, as_of="2026-03-03").set_index("id")  # end of Tuesday
    # Monday 10:00 to the last microsecond of Tuesday
    assert due.loc["a1", "overdue_hours"] == pytest.approx(38.0, rel=1e-9)
    assert "a5" not in due.index  # completed on Tuesday 09:30
    assert due.loc["a7", "status"] == "overdue"  # due Tuesday 10:00, completed Wednesday


def test_nothing_after_as_of_changes_the_answer():
    as_of = ts("2026-03-04 12:00")
    base = due_activities(ACTS, as_of=as_of)
    later = ACTS.copy()
    later.loc[later["id"] == "a1", "completed_at"] = ts("2026-03-05 09:00")  # done after as_of
    extra = frame(
        [("a9", "ann", "call", "L1", None, "2026-03-04 12:00:01", "2026-03-04 13:00", None)]
    )
    changed = due_activities(pd.concat([later, extra], ignore_index=True), as_of=as_of)
    cols = ["id", "record_type", "record_id", "status", "overdue_hours", "due_in_hours", "is_next"]
    pd.testing.assert_frame_equal(base[cols], changed[cols])


def test_activities_frame_from_domain_activities():
    at = dt.datetime(2026, 3, 2, 9, tzinfo=UTC)
    acts = [
        Activity(
            id="x1",
            kind="call",
            subject="intro",
            created_at=at,
            due_at=at,
            lead_id="L1",
            owner="ann",
        ),
        Activity(id="x2", kind="task", subject="quote", created_at=at, opportunity_id="O1"),
    ]
    f = activities_frame(acts)
    assert f["kind"].tolist() == ["call", "task"]
    assert str(f["due_at"].dtype) == "datetime64[ns, UTC]"
    assert f["due_at"].isna().tolist() == [False, True]
    due = due_activities(f, as_of=at)
    assert due["status"].tolist() == ["due_today", "no_due_date"]


def test_activity_kpis_touches_won_deals_and_first_touch():
    acts = frame(
        [
            ("t1", "ann", "call", "L1", None, "2026-03-01", None, "2026-03-02 10:00"),
            ("t2", "ann", "email", "L1", None, "2026-03-01", None, "2026-03-03 10:00"),
            ("t3", "ann", "meeting", None, "O1", "2026-03-01", None, "2026-03-04 10:00"),
            ("t4", "bob", "call", None, "O1", "2026-03-01", None, "2026-03-05 10:00"),
            (
                "t5",
                "bob",
                "call",
                None,
                "O1",
                "2026-03-01",
                None,
                "2026-03-20 10:00",
            ),  # after close
            ("t6", "bob", "call", "L2", None, "2026-03-01", None, None),  # open: no touch
            ("t7", "bob", "task", None, "O2", "2026-03-01", None, "2026-03-06 10:00"),
        ]
    )
    opps = pd.DataFrame(
        {
            "id": ["O1", "O2", "O3"],
            "owner": ["ann", "bob", "bob"],
            "stage": ["closed_won", "closed_lost", "closed_won"],
            "closed_at": [ts("2026-03-10"), ts("2026-03-10"), ts("2026-03-11")],
        }
    )
    leads = pd.DataFrame(
        {
            "id": ["L1", "L2"],
            "owner": ["ann", "bob"],
            "created_at": [ts("2026-03-02 08:00"), ts("2026-03-02 08:00")],
        }
    )
    k = activity_kpis(acts, as_of="2026-03-31", leads=leads, opportunities=opps)
    assert k["touches"].to_dict() == {"ann": 3, "bob": 3}
    assert k.loc["ann", ["call", "meeting", "email", "task"]].tolist() == [1, 1, 1, 0]
    assert k["won_deals"].to_dict() == {"ann": 1, "bob": 1}
    # O1 (ann's) had 2 touches before its close (t3, t4); O3 none
    assert k["touches_per_won_deal"].to_dict() == {"ann": 2.0, "bob": 0.0}
    assert k["new_leads"].to_dict() == {"ann": 1, "bob": 1}
    assert k["leads_touched"].to_dict() == {"ann": 1, "bob": 0}
    assert k.loc["ann", "first_touch_hours_mean"] == pytest.approx(2.0, rel=1e-12)
    assert np.isnan(k.loc["bob", "first_touch_hours_median"])
    # as of 3 March with a 1-day lookback: only t2 (3 March 10:00) counts
    early = activity_kpis(acts, as_of=ts("2026-03-03 12:00"), lookback="1D")
    assert early["touches"].to_dict() == {"ann": 1}


def test_bad_input_is_refused():
    with pytest.raises(ValidationError, match="due_at"):
        due_activities(ACTS.drop(columns="due_at"), as_of="2026-03-04")
    naive = ACTS.assign(created_at=ACTS["created_at"].dt.tz_localize(None))
    with pytest.raises(ValidationError, match="timezone-aware"):
        due_activities(naive, as_of="2026-03-04")
    with pytest.raises(ValidationError, match="lookback"):
        activity_kpis(ACTS, as_of="2026-03-04", lookback=3)
    opps = pd.DataFrame(
        {
            "id": ["O1", "O1"],
            "owner": ["a", "a"],
            "stage": ["closed_won"] * 2,
            "closed_at": [ts("2026-03-01")] * 2,
        }
    )
    with pytest.raises(ValidationError, match="appears twice"):
        activity_kpis(ACTS, as_of="2026-03-04", opportunities=opps)
