"""The engagement simulator: reproducible, consistent with its own truth and with consent."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from crmcore.errors import ValidationError
from crmcore.marketing import campaign_kpis, simulate_engagement
from crmcore.marketing._audience import consent_state


@pytest.fixture(scope="module")
def sim():
    return simulate_engagement(1500, n_campaigns=5, random_state=9)


def test_seeded_runs_repeat(sim):
    again = simulate_engagement(1500, n_campaigns=5, random_state=9)
    pd.testing.assert_frame_equal(sim.events, again.events)
    pd.testing.assert_frame_equal(sim.orders, again.orders)
    other = simulate_engagement(1500, n_campaigns=5, random_state=10)
    assert len(other.events) != len(sim.events) or not other.events.equals(sim.events)


def test_frames_pass_the_analyses(sim):
    table = campaign_kpis(
        sim.events,
        sim.orders,
        sim.members,
        as_of="2024-12-31",
        conversion_window="7D",
        campaigns=sim.campaigns,
    )
    assert len(table) == 5
    assert (table["control_sent"] == 0).all()
    assert (table["not_member_events"] == 0).all()


def test_sends_only_with_consent_at_send_time(sim):
    sends = sim.events[sim.events["type"] == "send"]
    ids = pd.Index(sim.customers["customer_id"])
    for cid, channel, start in sim.campaigns[["campaign_id", "channel", "start"]].itertuples(
        index=False
    ):
        state = consent_state(
            sim.consents,
            ids,
            channel=channel,
            at=np.full(len(ids), start.value, dtype=np.int64),
        )
        sent = ids.get_indexer(sends.loc[sends["campaign_id"] == cid, "customer_id"].unique())
        assert (state[sent] == 1).all()
        members = sim.members[sim.members["campaign_id"] == cid]
        controls = set(members.loc[members["control"], "customer_id"])
        assert not controls & set(sends.loc[sends["campaign_id"] == cid, "customer_id"])


def test_truth_is_consistent(sim):
    opens = sim.events[sim.events["type"] == "open"].copy()
    delivered = sim.events[sim.events["type"] == "deliver"].set_index(
        ["customer_id", "message_id"]
    )["date"]
    opens["delay"] = (
        opens["date"].to_numpy()
        - delivered.reindex(
            pd.MultiIndex.from_frame(opens[["customer_id", "message_id"]])
        ).to_numpy()
    )
    fast = opens["delay"] <= pd.Timedelta("10s")
    proxies = sim.truth.proxy[sim.truth.proxy].index
    assert set(opens.loc[fast, "customer_id"]) <= set(proxies)
    organic = sim.orders[~sim.orders["incremental"]]
    churn = sim.truth.churn_at.reindex(organic["customer_id"]).to_numpy()
    assert (organic["date"].to_numpy() < churn).all()
    assert sim.members["true_uplift"].between(0, 1).all()
    assert (sim.members.loc[sim.members["control"], "variant"].isna()).all()


def test_bad_arguments():
    with pytest.raises(ValidationError, match="channels"):
        simulate_engagement(10, channels=("fax",))
    with pytest.raises(ValidationError, match="30 days"):
        simulate_engagement(10, start="2024-01-01", end="2024-01-10")
    with pytest.raises(ValidationError, match="n_customers"):
        simulate_engagement(0)
