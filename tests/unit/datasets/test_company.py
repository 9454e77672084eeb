"""The synthetic sample company: reproducible, consistent, legal workflow histories."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

import crmcore.datasets
from crmcore.clv import BetaGeoModel, rfm_summary
from crmcore.datasets import (
    BTYD_PARAMS,
    DEFAULT_AS_OF,
    history_frame,
    make_company,
    write_company,
)
from crmcore.domain import LeadConverted, StageChanged
from crmcore.errors import ValidationError
from crmcore.pipeline import (
    LEAD_WORKFLOW,
    OPPORTUNITY_WORKFLOW,
    TICKET_WORKFLOW,
    events_frame,
    stage_funnel,
)
from crmcore.storage import InMemoryStore, SqlStore


@pytest.fixture(scope="module")
def company():
    return make_company(400, random_state=11)


def test_same_seed_same_company(company):
    again = make_company(400, random_state=11)
    pd.testing.assert_frame_equal(company.orders, again.orders)
    pd.testing.assert_frame_equal(company.customers, again.customers)
    pd.testing.assert_frame_equal(company.surveys, again.surveys)
    assert company.opportunities == again.opportunities
    assert company.tickets == again.tickets
    assert company.events == again.events  # events compare what happened, not their ids


def test_other_seed_other_company(company):
    other = make_company(400, random_state=12)
    assert not company.orders["amount"].equals(other.orders["amount"])


def test_every_customer_buys_inside_the_window(company):
    orders = company.orders
    assert set(orders["customer_id"]) == set(company.customers["id"])
    assert orders["placed_at"].max() <= pd.Timestamp(company.as_of)
    assert orders["placed_at"].min() >= pd.Timestamp(company.as_of) - pd.Timedelta(days=2.5 * 366)
    assert (orders["amount"] > 0).all()
    assert orders["id"].is_unique
    first = orders.groupby("customer_id")["placed_at"].min()
    created = company.customers.set_index("id")["created_at"]
    assert (created.reindex(first.index) <= first).all()


def test_seasonality_puts_more_orders_in_december():
    orders = make_company(3000, random_state=3).orders
    month = orders["placed_at"].dt.month
    december = (month == 12).sum()
    june = (month == 6).sum()
    # seasonal intensity 1.35 vs 0.65 at the peaks; acquisition and churn blur it
    assert december > 1.3 * june


def test_transactions_are_the_orders_with_the_standard_column_names(company):
    tx = company.transactions
    assert tx.columns.tolist() == ["customer_id", "date", "amount"]
    orders = company.orders
    assert tx["customer_id"].tolist() == orders["customer_id"].tolist()
    assert (tx["date"] == orders["placed_at"]).all()
    assert str(tx["date"].dt.tz) == "UTC"
    np.testing.assert_array_equal(tx["amount"].to_numpy(), orders["amount"].to_numpy())
    tx.loc[0, "amount"] = -1.0  # a copy: the company is not changed through it
    assert orders.loc[0, "amount"] > 0


def test_orders_follow_the_bgnbd_generator():
    tx = make_company(4000, random_state=5).transactions
    summary = rfm_summary(tx, as_of=DEFAULT_AS_OF)
    fitted = BetaGeoModel().fit(summary).params_
    # the seasonal time warp and daily periods distort the estimates a little
    assert fitted["r"] == pytest.approx(BTYD_PARAMS["r"], rel=0.25)
    assert fitted["alpha"] == pytest.approx(BTYD_PARAMS["alpha"], rel=0.25)


def test_consent_and_demographics(company):
    customers = company.customers
    assert customers["email"].str.endswith("@example.com").all()
    share = customers["email_opt_in"].mean()
    assert 0.45 < share < 0.75
    withdrawn = customers["email_withdrawn_at"].notna()
    assert not (withdrawn & ~customers["email_opt_in"]).any()
    age = (
        pd.Timestamp(company.as_of).tz_localize(None) - customers["birth_date"]
    ).dt.days / 365.25
    assert age.between(17.9, 80.1).all()


@pytest.mark.parametrize(
    ("attr", "workflow"),
    [
        ("leads", LEAD_WORKFLOW),
        ("opportunities", OPPORTUNITY_WORKFLOW),
        ("tickets", TICKET_WORKFLOW),
    ],
)
def test_stage_histories_are_legal_walks(company, attr, workflow):
    # the events advance returned are the history: replayed, they walk each entity
    # from the workflow's initial stage to the stage it holds, by allowed moves only
    entities = getattr(company, attr)
    assert entities
    allowed = {(t.source, t.target) for t in workflow.transitions}
    moves = {}
    for event in company.events:
        if isinstance(event, StageChanged) and event.workflow == workflow.name:
            moves.setdefault(event.entity_id, []).append(event)
    assert set(moves) <= {e.id for e in entities}
    moved = 0
    for entity in entities:
        state = workflow.initial
        for event in moves.get(entity.id, ()):
            assert event.from_stage == state
            assert (event.from_stage, event.to_stage) in allowed
            assert event.at <= company.as_of
            state = event.to_stage
        assert getattr(entity, workflow.state_attr) == state
        assert "stage_history" not in entity.custom  # retired: the events are the history
        moved += entity.id in moves
    assert moved > len(entities) // 2


def test_events_are_in_time_order_and_every_conversion_is_recorded(company):
    times = [e.at for e in company.events]
    assert times == sorted(times)
    converted = [e for e in company.events if isinstance(e, LeadConverted)]
    assert len(converted) == len(company.opportunities) == len(company.accounts)
    assert {e.opportunity_id for e in converted} == {o.id for o in company.opportunities}


def test_history_frame_is_deprecated_and_still_reads_custom_histories():
    paris = dt.timezone(dt.timedelta(hours=2))
    at = dt.datetime(2026, 5, 4, 11, 0, tzinfo=paris)
    with pytest.warns(DeprecationWarning, match=r"stage_history\(workflow=\.\.\.\)"):
        frame = history_frame(
            ["o1", "o2"],
            [{"stage_history": [["new", "qualification", at.isoformat()]]},
             {"stage_history": [["new", "lost", at.astimezone(dt.UTC).isoformat()]]}],
        )  # fmt: skip
    assert str(frame["at"].dt.tz) == "UTC"
    assert (frame["at"] == pd.Timestamp("2026-05-04 09:00", tz="UTC")).all()
    with pytest.warns(DeprecationWarning, match="history_frame"):
        empty = history_frame([], [])
    assert len(empty) == 0
    assert str(empty["at"].dt.tz) == "UTC"
    with pytest.warns(DeprecationWarning, match="HISTORY_KEY is deprecated"):
        assert crmcore.datasets.HISTORY_KEY == "stage_history"


def test_stored_history_feeds_the_funnel(company):
    store = InMemoryStore()
    write_company(company, store)
    events = store.events.stage_history(workflow="opportunity")
    funnel = stage_funnel(events)
    reached = funnel["reached"].to_numpy()
    assert reached[0] == len(set(events["entity_id"]))
    assert (np.diff(reached[:4]) <= 0).all()
    # the stored log is the company's own events, in the same order
    mine = events_frame(
        e for e in company.events if isinstance(e, StageChanged) and e.workflow == "opportunity"
    )
    cols = ["entity_id", "from_stage", "to_stage", "reason"]
    assert events[cols].astype(object).fillna("").values.tolist() == (
        mine[cols].astype(object).fillna("").values.tolist()
    )
    assert (events["at"].to_numpy() == mine["at"].to_numpy()).all()


def test_csat_follows_resolved_tickets(company):
    csat = company.surveys[company.surveys["kind"] == "csat"]
    resolved = {t.id: t.resolved_at for t in company.tickets if t.resolved_at is not None}
    assert len(csat) > 0
    for ticket, at in zip(csat["ticket_id"], csat["answered_at"], strict=True):
        assert at >= resolved[ticket]
    assert csat["score"].between(1, 5).all()
    nps_scores = company.surveys.loc[company.surveys["kind"] == "nps", "score"]
    assert nps_scores.between(0, 10).all()


def test_write_company_appends_the_engagement_append_many_would(company):
    from crmcore.datasets._marketing import engagement_events
    from crmcore.domain import EngagementEvent

    store = SqlStore("sqlite://")
    store.create_schema()
    write_company(company, store, batch_size=97)
    reference = InMemoryStore()
    reference.events.append_many(engagement_events(company.engagement))
    assert reference.events.count() == len(company.engagement) > 0
    got = store.events.to_frame(type=EngagementEvent).drop(columns="position")
    want = reference.events.to_frame().drop(columns="position")
    pd.testing.assert_frame_equal(got, want)
    assert got["payload"].str.contains("user_agent").any()  # properties stored too


def test_loyalty_tiers(company):
    loyalty = company.loyalty_accounts
    assert set(loyalty["tier"]) <= {"bronze", "silver", "gold"}
    assert (loyalty["points_balance"] <= loyalty["points_earned"]).all()
    assert loyalty["customer_id"].isin(company.customers["id"]).all()


def test_write_company_to_sqlite_and_memory(company):
    store = SqlStore("sqlite://")
    store.create_schema()
    seen = []
    counts = write_company(company, store, batch_size=97, progress=lambda t, n: seen.append(t))
    assert counts["customers"] == 400 == store.customers.count()
    assert counts["orders"] == len(company.orders) == store.orders.count()
    assert store.survey_responses.count() == len(company.surveys)
    assert seen[0] == "customers"
    assert seen[-2:] == ["engagement_events", "events"]
    stage_events = store.events.count() - counts["engagement_events"]
    assert counts["events"] == len(company.events) == stage_events
    assert [s.event for s in store.events.query(entity=company.opportunities[0].id)] == [
        e for e in company.events if company.opportunities[0].id in (e.entity_id, *e.related_ids)
    ]
    stored = store.opportunities.get(company.opportunities[0].id)
    assert stored == company.opportunities[0]
    memory = InMemoryStore()
    assert write_company(company, memory) == counts


def test_bad_arguments():
    with pytest.raises(ValidationError, match="n_customers"):
        make_company(0)
    with pytest.raises(ValidationError, match="as_of"):
        make_company(10, as_of=dt.datetime(2026, 1, 1))  # noqa: DTZ001
    with pytest.raises(ValidationError, match="years"):
        make_company(10, years=0.5)


# ---------------------------------------------------------------- campaigns


def test_campaign_audiences_respect_consent_and_hold_out_a_control_group(company):
    members = company.campaign_members
    customers = company.customers.set_index("id")
    channel = {c.id: c.channel for c in company.campaigns}
    assert len(company.campaigns) == 8
    assert set(members["campaign_id"]) == set(channel)
    who = customers.loc[members["customer_id"]]
    at = members["selected_at"].to_numpy()
    is_email = members["campaign_id"].map(channel).eq("email").to_numpy()
    opted = np.where(is_email, who["email_opt_in"], who["sms_opt_in"])
    withdrawn = who["email_withdrawn_at"].to_numpy()
    still = ~is_email | pd.isna(withdrawn) | (withdrawn > at)
    assert opted.all()
    assert (who["created_at"].to_numpy() <= at).all()
    assert still.all()
    share = members["control"].mean()
    assert 0.05 < share < 0.15  # control_fraction 0.1, a seeded hash
    treated = members[~members["control"]]
    assert set(treated.loc[is_email[~members["control"]], "variant"]) == {"A", "B"}
    assert members.loc[members["control"], "variant"].isna().all()
    for campaign in company.campaigns:
        if campaign.audience == "country == 'DE'":
            ids = members.loc[members["campaign_id"] == campaign.id, "customer_id"]
            assert (customers.loc[ids, "country"] == "DE").all()
    assert not members.duplicated(["campaign_id", "customer_id"]).any()


def test_engagement_follows_the_members(company):
    from crmcore.datasets._marketing import PROXY_AGENT

    events = company.engagement
    members = company.campaign_members
    assert events["event_id"].is_unique
    assert (events["date"] <= company.as_of).all()
    start = {c.id: pd.Timestamp(c.start_date, tz="UTC") for c in company.campaigns}
    assert (events["date"] >= events["campaign_id"].map(start)).all()
    key = ["campaign_id", "customer_id"]
    joined = events.merge(members, on=key, how="left", suffixes=("", "_m"))
    assert joined["control"].notna().all()  # only members engage...
    assert not joined["control"].astype(bool).any()  # ...and never the control group
    opens = events[events["type"] == "open"]
    assert set(opens["user_agent"]) == {PROXY_AGENT, "Mozilla/5.0"}
    sent = events[events["type"] == "send"]
    assert len(sent) == int((~members["control"]).sum())
    # recent buyers read more: the signal engagement_features picks up
    recent = company.orders.loc[
        company.orders["placed_at"] > company.as_of - pd.Timedelta(days=365), "customer_id"
    ].unique()
    human = opens[opens["user_agent"] != PROXY_AGENT]
    email = sent[sent["channel"] == "email"]
    rate_recent = human["customer_id"].isin(recent).sum() / email["customer_id"].isin(recent).sum()
    rate_lapsed = (~human["customer_id"].isin(recent)).sum() / (
        ~email["customer_id"].isin(recent)
    ).sum()
    assert rate_recent > 2 * rate_lapsed


def test_campaigns_do_not_change_the_rest_of_the_company(company):
    plain = make_company(400, random_state=11, n_campaigns=0)
    pd.testing.assert_frame_equal(plain.orders, company.orders)
    pd.testing.assert_frame_equal(plain.loyalty_accounts, company.loyalty_accounts)
    assert plain.campaigns == []
    assert len(plain.campaign_members) == len(plain.engagement) == 0
    again = make_company(400, random_state=11)
    pd.testing.assert_frame_equal(again.engagement, company.engagement)
    pd.testing.assert_frame_equal(again.campaign_members, company.campaign_members)
    assert again.campaigns == company.campaigns
    store = InMemoryStore()
    counts = write_company(plain, store)
    assert counts["campaigns"] == counts["campaign_members"] == counts["engagement_events"] == 0


def test_stored_campaigns_give_the_kpis_of_the_company_frames(company):
    from crmcore.marketing import campaign_frames, campaign_kpis

    store = SqlStore("sqlite://")
    store.create_schema()
    counts = write_company(company, store)
    engagement = store.events.count(type="marketing.engagement")
    assert counts["engagement_events"] == len(company.engagement) == engagement
    assert store.campaign_members.count() == len(company.campaign_members)
    assert store.campaigns.get("K001") == company.campaigns[0]
    stored = store.events.engagement(properties=["user_agent"])
    pd.testing.assert_frame_equal(stored, company.engagement, check_exact=True)
    got = campaign_frames(store).kpis(as_of=company.as_of, conversion_window="14D")
    campaigns = pd.DataFrame(
        {
            "cost": [float(c.cost.amount) for c in company.campaigns],
            "start": [pd.Timestamp(c.start_date) for c in company.campaigns],
        },
        index=pd.Index([c.id for c in company.campaigns], name="campaign_id"),
    )
    want = campaign_kpis(
        company.engagement,
        company.transactions,
        company.campaign_members,
        as_of=company.as_of,
        conversion_window="14D",
        campaigns=campaigns,
    )
    pd.testing.assert_frame_equal(got, want, check_exact=False, rtol=1e-12)
    assert (got["machine_opens"] > 0).any()  # the privacy proxy's opens, excluded
    assert (got["opened"] < got["delivered"]).all()
    # no causal effect: the control arm converts alike (intervals cover zero)
    covered = (got["incremental_conversion_rate_ci_low"] <= 0) & (
        got["incremental_conversion_rate_ci_high"] >= 0
    )
    assert covered.mean() >= 0.75


@pytest.mark.parametrize(
    "campaigns",
    [
        ["K001", "spring sale", "K001"],  # plain text: built column-wise
        ["K001", 'say "hi"', "back\\slash"],  # JSON escapes: per pair
        ["K001", "été", "urn:uuid:12345678-1234-5678-1234-567812345678"],
    ],
)
def test_member_ids_are_the_domain_member_ids(campaigns):
    from crmcore.datasets._company import member_ids
    from crmcore.domain import campaign_member_id

    customers = pd.Series(["C0000001", "C-2", "c 3"], dtype="str")
    got = list(member_ids(pd.Series(campaigns, dtype="str"), customers))
    assert got == [
        str(campaign_member_id(k, c)) for k, c in zip(campaigns, customers, strict=True)
    ]
