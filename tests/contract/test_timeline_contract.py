"""customer_timeline contract: one ordered frame of a customer's history, on every store."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pandas as pd
import pytest

from crmcore.domain import (
    Activity,
    Consent,
    LoyaltyAccount,
    Money,
    SurveyResponse,
    Ticket,
    change_consent,
)
from crmcore.errors import ValidationError
from crmcore.loyalty import EarnRule, PointsLedger, Program, Purchase
from crmcore.pipeline import TICKET_WORKFLOW, advance
from crmcore.storage import customer_timeline
from tests.contract._samples import at, customer, eur, note, order


@pytest.fixture
def lived(store):
    """c1 with a bit of everything; c2 with an order and a ticket that must stay out."""
    ada = customer("c1", consents=[Consent(channel="sms", granted=True, at=at(0.5))])
    ada, consent_events = change_consent(
        ada, Consent(channel="email", granted=False, at=at(6), source="web form"), actor="ada"
    )
    ticket = Ticket(
        id="s1", customer_id="c1", subject="Broken gear", channel="email", created_at=at(2)
    )
    other = Ticket(id="s9", customer_id="c2", subject="Other", channel="phone", created_at=at(2))
    moves = []
    for stage, days in (("assigned", 3), ("resolved", 4)):
        ticket, events = advance(ticket, stage, at=at(days), workflow=TICKET_WORKFLOW, actor="bo")
        moves.extend(events)
    program = Program(earn_rules=[EarnRule(name="base", per_unit=Decimal(1))])
    ledger = PointsLedger(program, account_id="m1").post(
        Purchase(event_id="o1", at=at(1), amount=Money(amount=Decimal(40), currency="EUR"))
    )
    with store.unit_of_work() as uow:
        uow.customers.add(ada)
        uow.customers.add(customer("c2"))
        uow.orders.add(order("o1", placed_at=at(1), amount=eur(40)))
        uow.orders.add(order("o9", customer_id="c2", placed_at=at(1)))
        uow.tickets.add(ticket)
        uow.tickets.add(other)
        uow.activities.add(
            Activity(
                id="t1",
                kind="call",
                subject="Follow-up",
                created_at=at(2),
                completed_at=at(5),
                customer_id="c1",
            )
        )
        uow.survey_responses.add(
            SurveyResponse(id="r1", customer_id="c1", kind="nps", score=9, answered_at=at(7))
        )
        uow.loyalty_accounts.add(
            LoyaltyAccount(id="m1", customer_id="c1", program_id="stars", opened_at=at(0))
        )
        uow.loyalty_ledger.append("m1", ledger.entries)
        uow.record(*moves, *consent_events, note("c1", "vip call", 8), note("c2", "not c1", 8))
        other_moved, events = advance(other, "assigned", at=at(3), workflow=TICKET_WORKFLOW)
        uow.tickets.update(other_moved)
        uow.record(*events)
        uow.commit()
    return store


def test_everything_about_a_customer_in_time_order(lived):
    frame = customer_timeline(lived, "c1")
    assert list(frame.columns) == [
        "at", "kind", "entity", "entity_id", "summary", "position", "payload",
    ]  # fmt: skip
    assert str(frame["at"].dtype) == "datetime64[us, UTC]"
    assert frame["at"].is_monotonic_increasing
    rows = list(zip(frame["kind"], frame["entity_id"], strict=True))
    assert rows == [
        ("consent.changed", "c1"),  # sms opt-in, from the customer record
        ("order", "o1"),
        ("loyalty.entry_posted", "m1"),
        ("ticket", "s1"),
        ("pipeline.stage_changed", "s1"),
        ("pipeline.stage_changed", "s1"),
        ("activity", "t1"),
        ("consent.changed", "c1"),  # e-mail opt-out: record and event, shown once
        ("survey_response", "r1"),
        ("test.note_added", "c1"),
    ]
    summaries = frame["summary"].tolist()
    assert summaries[1] == "order o1: 40 EUR (completed)"
    assert summaries[2] == "earn +40 points (o1)"
    assert summaries[4] == "ticket s1: new -> assigned"
    assert summaries[7] == "email consent withdrawn (web form)"
    assert summaries[8] == "NPS 9 of 10"
    assert frame["position"].isna().tolist() == [
        True, True, False, True, False, False, True, False, True, False,
    ]  # fmt: skip
    assert frame["payload"].iloc[4]["to_stage"] == "assigned"
    assert frame["payload"].iloc[1]["amount"] == {"amount": "40", "currency": "EUR"}
    assert frame["entity"].tolist()[4] == "ticket"


def test_since_and_until_cut_the_timeline(lived):
    frame = customer_timeline(lived, "c1", since=at(2), until=at(6))
    assert frame["kind"].tolist() == [
        "pipeline.stage_changed",
        "pipeline.stage_changed",
        "activity",
        "consent.changed",
    ]
    assert (frame["at"] > pd.Timestamp(at(2))).all()
    until_day = customer_timeline(lived, "c1", until="2026-03-03")  # end of that day, UTC
    assert until_day["entity_id"].tolist() == ["c1", "o1", "m1"]


def test_a_customer_without_history_has_an_empty_timeline(lived):
    frame = customer_timeline(lived, "nobody")
    assert frame.empty
    assert list(frame.columns)[:2] == ["at", "kind"]
    with pytest.raises(ValidationError):
        customer_timeline(lived, "c1", until=dt.datetime(2026, 3, 5))  # noqa: DTZ001 -- naive
