"""Service operations: ticket KPIs by category and channel, complaint trends and their test."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from crmcore.errors import ValidationError
from crmcore.pipeline import complaint_trends, ticket_kpis


def at(s):
    return pd.Timestamp(s, tz="UTC")


TICKETS = pd.DataFrame(
    {
        "id": ["T1", "T2", "T3", "T4", "T5"],
        "category": ["billing", "billing", "billing", "delivery", "delivery"],
        "sub_category": ["refund", "invoice", "refund", "late", "late"],
        "channel": ["chat", "chat", "email", "email", "email"],
        "created_at": [
            at("2026-03-02 09:00"),
            at("2026-03-02 10:00"),
            at("2026-03-02 11:00"),
            at("2026-03-01 12:00"),
            at("2026-03-05 09:00"),  # after as_of
        ],
    }
)
EVENTS = pd.DataFrame(
    {
        "entity_id": ["T1", "T2", "T2", "T2", "T3", "T3", "T4", "T1"],
        "from_stage": [
            "new",
            "new",
            "resolved",
            "in_progress",
            "new",
            "waiting_on_customer",
            "new",
            "resolved",
        ],
        "to_stage": [
            "resolved",
            "resolved",
            "in_progress",
            "resolved",
            "waiting_on_customer",
            "resolved",
            "in_progress",
            "in_progress",  # T1 reopened after as_of: not read
        ],
        "at": [
            at("2026-03-02 09:30"),
            at("2026-03-02 11:00"),
            at("2026-03-02 15:00"),
            at("2026-03-02 16:00"),
            at("2026-03-02 12:00"),
            at("2026-03-03 12:00"),
            at("2026-03-01 13:00"),
            at("2026-03-04 09:00"),
        ],
    }
)
WORK = pd.DataFrame(
    {
        "ticket_id": ["T1", "T2", "T2", "T4", "T4"],
        "started_at": [
            at("2026-03-02 09:05"),
            at("2026-03-02 10:10"),
            at("2026-03-02 15:00"),
            at("2026-03-03 23:40"),  # runs past as_of: counts up to it
            at("2026-03-04 10:00"),  # after as_of
        ],
        "ended_at": [
            at("2026-03-02 09:25"),
            at("2026-03-02 10:40"),
            at("2026-03-02 15:50"),
            at("2026-03-04 00:30"),
            at("2026-03-04 11:00"),
        ],
    }
)
SURVEYS = pd.DataFrame(
    {
        "ticket_id": ["T1", "T2", "T3", "T4"],
        "score": [5, 2, 4, 1],
        "answered_at": [
            at("2026-03-02 12:00"),
            at("2026-03-03 09:00"),
            at("2026-03-03 13:00"),
            at("2026-03-09 09:00"),  # after as_of
        ],
    }
)


def test_ticket_kpis_by_category_and_channel():
    k = ticket_kpis(TICKETS, EVENTS, as_of="2026-03-03", worklogs=WORK, surveys=SURVEYS)
    assert k.index.tolist() == [("billing", "chat"), ("billing", "email"), ("delivery", "email")]
    assert k["tickets"].tolist() == [2, 1, 1]  # T5 was created after as_of
    assert k["resolved"].tolist() == [2, 1, 0]
    # T1 resolved once; T2 reopened; T3 paused waiting on the customer
    assert k["first_contact_resolution"].tolist() == [0.5, 0.0, pytest.approx(np.nan, nan_ok=True)]
    assert k.loc[("billing", "chat"), "reopen_rate"] == 0.5
    # T1 20 min, T2 30 + 50 min; T4 from 23:40 to the end of 3 March: 20 min
    assert k.loc[("billing", "chat"), "avg_handle_minutes"] == pytest.approx(50.0, rel=1e-12)
    assert k.loc[("delivery", "email"), "avg_handle_minutes"] == pytest.approx(20.0, rel=1e-9)
    assert np.isnan(k.loc[("billing", "email"), "avg_handle_minutes"])
    assert k["backlog"].tolist() == [0, 0, 1]
    # T4 open since 1 March 12:00 until the end of 3 March
    assert k.loc[("delivery", "email"), "backlog_age_hours"] == pytest.approx(60.0, rel=1e-9)
    assert k["csat"].tolist()[:2] == [50.0, 100.0]
    assert k["csat_responses"].tolist() == [2, 1, 0]


def test_ticket_kpis_by_sub_category_and_in_total():
    k = ticket_kpis(TICKETS, EVENTS, as_of="2026-03-03", by=["category", "sub_category"])
    assert k.loc[("billing", "refund"), "tickets"] == 2
    total = ticket_kpis(TICKETS, EVENTS, as_of="2026-03-03", by=None)
    assert total.index.tolist() == ["total"]
    assert total.loc["total", "tickets"] == 4
    assert total.loc["total", "reopen_rate"] == pytest.approx(1 / 3, rel=1e-12)


def test_ticket_kpis_before_the_first_ticket_give_an_empty_total_and_no_groups():
    total = ticket_kpis(TICKETS, EVENTS, as_of="2000-01-01", by=None)
    assert total.index.tolist() == ["total"]
    assert total.loc["total", ["tickets", "resolved", "backlog"]].tolist() == [0, 0, 0]
    assert np.isnan(total.loc["total", "reopen_rate"])
    grouped = ticket_kpis(TICKETS, EVENTS, as_of="2000-01-01", by="category")
    assert grouped.empty
    assert list(grouped.columns) == list(total.columns)
    assert grouped["tickets"].dtype == np.int64


def test_complaint_trends_before_the_first_ticket_keep_their_columns():
    for by, names in (("category", ["category", "period"]), (None, ["period"])):
        trend = complaint_trends(TICKETS, as_of="2000-01-01", by=by)
        assert trend.index.names == names
        assert trend["count"].sum() == 0
        assert trend["count"].dtype == np.int64
        assert "p_value" in trend.columns
    assert len(complaint_trends(TICKETS, as_of="2000-01-01", by="category")) == 0


@pytest.mark.parametrize(
    "call",
    [
        lambda by: ticket_kpis(TICKETS, EVENTS, as_of="2026-03-03", by=by),
        lambda by: complaint_trends(TICKETS, as_of="2026-03-03", by=by),
    ],
    ids=["kpis", "trends"],
)
def test_a_grouping_column_named_twice_is_refused(call):
    with pytest.raises(ValidationError, match="'category' twice") as info:
        call(["category", "category"])
    assert info.value.field == "by"


def test_ticket_kpis_read_nothing_after_as_of():
    base = ticket_kpis(TICKETS, EVENTS, as_of="2026-03-03", worklogs=WORK, surveys=SURVEYS)
    late = pd.DataFrame(
        {
            "entity_id": ["T4", "T3"],
            "from_stage": ["in_progress", "resolved"],
            "to_stage": ["resolved", "in_progress"],
            "at": [at("2026-03-04"), at("2026-03-05")],
        }
    )
    more = ticket_kpis(
        TICKETS,
        pd.concat([EVENTS, late], ignore_index=True),
        as_of="2026-03-03",
        worklogs=WORK,
        surveys=SURVEYS,
    )
    pd.testing.assert_frame_equal(base, more)


def test_complaint_trend_counts_exposure_and_test():
    days = ["2026-01-05"] * 12 + ["2026-02-05"] * 11 + ["2026-03-05"] * 30 + ["2026-03-20"]
    cats = ["late"] * 12 + ["late"] * 10 + ["broken"] + ["late"] * 30 + ["broken"]
    complaints = pd.DataFrame({"created_at": pd.to_datetime(days), "category": cats})
    t = complaint_trends(complaints, as_of="2026-03-15")
    late = t.xs("late", level="category")
    assert late["count"].tolist() == [12, 10, 30]
    # the March complaint on the 20th is after as_of; March observed for 15 days
    assert late["exposure"].tolist() == [31.0, 28.0, 15.0]
    assert t.xs("broken", level="category")["count"].tolist() == [0, 1, 0]
    assert late["share"].tolist()[1] == pytest.approx(10 / 11, rel=1e-12)
    row = late.iloc[2]
    x1, x2, t1, t2 = 10, 30, 28.0, 15.0
    assert row["rate_ratio"] == pytest.approx((x2 / t2) / (x1 / t1), rel=1e-12)
    # the conditional test: x2 ~ Bin(x1 + x2, t2 / (t1 + t2)); two-sided exact p-value
    n, p0 = x1 + x2, t2 / (t1 + t2)
    pmf = stats.binom.pmf(np.arange(n + 1), n, p0)
    want_p = pmf[pmf <= pmf[x2] * (1 + 1e-7)].sum()
    assert row["p_value"] == pytest.approx(want_p, rel=1e-9)
    assert bool(row["changed"]) is True
    # Clopper-Pearson: each bound leaves alpha/2 in its tail
    to_p = lambda r: r * t2 / t1 / (1 + r * t2 / t1)  # noqa: E731 - the ratio back to p
    assert stats.binom.sf(x2 - 1, n, to_p(row["ci_low"])) == pytest.approx(0.025, rel=1e-6)
    assert stats.binom.cdf(x2, n, to_p(row["ci_high"])) == pytest.approx(0.025, rel=1e-6)
    assert row["ci_low"] < row["rate_ratio"] < row["ci_high"]
    first = late.iloc[0]
    assert pd.isna(first["previous"])
    assert pd.isna(first["changed"])


def test_complaint_trend_with_an_exposure_and_no_grouping():
    complaints = pd.DataFrame(
        {"created_at": pd.to_datetime(["2026-01-10"] * 20 + ["2026-02-10"] * 20)}
    )
    orders = pd.Series([1000.0, 1000.0], index=["2026-01", "2026-02"])
    t = complaint_trends(complaints, as_of="2026-02-28", by=None, exposure=orders)
    assert t["rate"].tolist() == [0.02, 0.02]
    assert t["rate_ratio"].iloc[1] == 1.0
    assert t["p_value"].iloc[1] == pytest.approx(1.0, rel=1e-12)
    assert bool(t["changed"].iloc[1]) is False
    with pytest.raises(ValidationError, match="positive for every period"):
        complaint_trends(complaints, as_of="2026-02-28", by=None, exposure=orders.iloc[:1])


def test_bad_input_is_refused():
    with pytest.raises(ValidationError, match="category"):
        ticket_kpis(TICKETS.drop(columns="category"), EVENTS, as_of="2026-03-03")
    bad = WORK.assign(ended_at=WORK["started_at"] - pd.Timedelta(minutes=1))
    with pytest.raises(ValidationError, match="before started_at"):
        ticket_kpis(TICKETS, EVENTS, as_of="2026-03-03", worklogs=bad)
    with pytest.raises(ValidationError, match="whole number from 1 to 5"):
        ticket_kpis(TICKETS, EVENTS, as_of="2026-03-03", surveys=SURVEYS.assign(score=7))
    with pytest.raises(ValidationError, match="confidence"):
        complaint_trends(TICKETS, as_of="2026-03-03", confidence=1.5)


def test_ticket_kpis_by_category_read_the_store_frame_directly():
    from crmcore.domain import Ticket
    from crmcore.storage import InMemoryStore

    store = InMemoryStore()
    for row in TICKETS.itertuples():
        store.tickets.add(
            Ticket(
                id=row.id,
                customer_id="c1",
                subject="A case",
                channel=row.channel,
                created_at=row.created_at.to_pydatetime(),
                category=row.category,
                sub_category=row.sub_category,
            )
        )
    frame = store.tickets.to_frame()
    k = ticket_kpis(frame, EVENTS, as_of="2026-03-03", by="category")
    assert k.index.tolist() == ["billing", "delivery"]
    assert k["tickets"].tolist() == [3, 1]  # T5 was created after as_of
    assert k["resolved"].tolist() == [3, 0]
    expected = ticket_kpis(TICKETS, EVENTS, as_of="2026-03-03", by="category")
    pd.testing.assert_frame_equal(k, expected, check_names=False)
    sub = ticket_kpis(frame, EVENTS, as_of="2026-03-03", by=["category", "sub_category"])
    assert sub.loc[("billing", "refund"), "tickets"] == 2
