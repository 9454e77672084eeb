"""campaign_kpis: funnel counts, machine opens, windows, incrementality, bad input."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from crmcore._stats import newcombe_interval, wilson_interval, z_value
from crmcore.errors import ValidationError
from crmcore.marketing import RATES, campaign_kpis, simulate_engagement


def utc(text: str) -> pd.Timestamp:
    return pd.Timestamp(text, tz="UTC")


def log(rows):
    """Events from (customer, type, time[, campaign, message, channel, user_agent])."""
    out = []
    for i, r in enumerate(rows):
        cust, kind, when, *rest = r
        camp = rest[0] if len(rest) > 0 else "K"
        msg = rest[1] if len(rest) > 1 else "m1"
        channel = rest[2] if len(rest) > 2 else "email"
        agent = rest[3] if len(rest) > 3 else None
        out.append(
            {
                "event_id": i,
                "customer_id": cust,
                "campaign_id": camp,
                "message_id": msg,
                "channel": channel,
                "type": kind,
                "date": utc(when),
                "user_agent": agent,
            }
        )
    return pd.DataFrame(out)


EVENTS = log(
    [
        ("a", "send", "2024-05-01 08:00"),
        ("a", "deliver", "2024-05-01 08:01"),
        ("a", "open", "2024-05-01 19:00"),
        ("a", "open", "2024-05-02 07:00"),
        ("a", "click", "2024-05-02 07:01"),
        ("b", "send", "2024-05-01 08:00"),
        ("b", "deliver", "2024-05-01 08:01"),
        ("b", "click", "2024-05-01 12:00"),  # click without a tracked open: implies one
        ("c", "send", "2024-05-01 08:00"),
        ("c", "bounce", "2024-05-01 08:00:30"),
        ("x", "send", "2024-05-01 08:00"),  # not a member
        ("a", "web_visit", "2024-05-02 07:02", None, None, "web"),  # not a message event
    ]
)
MEMBERS = pd.DataFrame(
    {
        "campaign_id": ["K"] * 7,
        "customer_id": ["a", "b", "c", "d", "e", "f", "g"],
        "control": [False, False, False, False, True, True, True],
    }
)
ORDERS = pd.DataFrame(
    {
        "customer_id": ["a", "a", "b", "e", "a", "d"],
        "date": [
            utc(s)
            for s in (
                "2024-04-01",
                "2024-05-03",
                "2024-05-01 08:00",
                "2024-05-04",
                "2024-05-09",
                "2024-05-05",
            )
        ],
        "amount": [5.0, 100.0, 40.0, 60.0, 30.0, 20.0],
    }
)
CAMPAIGNS = pd.DataFrame({"campaign_id": ["K"], "cost": [50.0]})


def kpis(events=EVENTS, orders=ORDERS, members=MEMBERS, **kw):
    args = {"as_of": "2024-05-31", "conversion_window": "7D", "campaigns": CAMPAIGNS}
    args.update(kw)
    return campaign_kpis(events, orders, members, **args)


def test_funnel_counts_by_hand():
    row = kpis().loc["K"]
    expected = {
        "members": 7,
        "treatment": 4,
        "control": 3,
        "reached": 3,  # d was never sent
        "control_sent": 0,
        "not_member_events": 1,
        "sent": 3,
        "delivered": 2,
        "bounced": 1,
        "opened": 2,
        "opens": 2,
        "clicked": 2,
        "clicks": 2,
        "machine_opens": 0,
        "unsubscribed": 0,
    }
    assert {k: int(row[k]) for k in expected} == expected
    assert row["open_rate"] == 1.0
    assert row["click_to_open"] == 1.0
    assert row["delivery_rate"] == pytest.approx(2 / 3, rel=1e-12)
    lo, hi = wilson_interval(np.array([2.0]), np.array([3.0]), z_value(0.95))
    assert row["delivery_rate_ci_low"] == pytest.approx(lo[0], rel=1e-12)
    assert row["delivery_rate_ci_high"] == pytest.approx(hi[0], rel=1e-12)


def test_conversions_revenue_romi_cac_by_hand():
    row = kpis().loc["K"]
    # a: 100 on 05-03 (in), 30 on 05-09 08:00 > 05-08 08:00 (out); its April order makes it
    # a returning customer. b: the order at the send instant is not after the send.
    assert row["converters"] == 1
    assert row["revenue"] == 100.0
    assert row["new_customers"] == 0
    assert np.isnan(row["cac"])
    assert row["cost"] == 50.0
    assert row["romi"] == pytest.approx((100.0 - 50.0) / 50.0, rel=1e-12)
    assert row["conversion_rate"] == pytest.approx(1 / 3, rel=1e-12)
    half = kpis(margin=0.25).loc["K"]
    assert half["romi"] == pytest.approx((25.0 - 50.0) / 50.0, rel=1e-12)


def test_incrementality_by_hand():
    row = kpis().loc["K"]
    # window from the campaign's first send (05-01 08:00) to 05-08 08:00, for both arms:
    # treated a (100), d (20) convert; b's order at 08:00 sharp is not inside; control e (60).
    assert row["treatment_conversion_rate"] == pytest.approx(2 / 4, rel=1e-12)
    assert row["control_conversion_rate"] == pytest.approx(1 / 3, rel=1e-12)
    lo, hi = newcombe_interval(
        np.array([2.0]), np.array([4.0]), np.array([1.0]), np.array([3.0]), z_value(0.95)
    )
    assert row["incremental_conversion_rate"] == pytest.approx(2 / 4 - 1 / 3, rel=1e-12)
    assert row["incremental_conversions"] == pytest.approx(4 * (2 / 4 - 1 / 3), rel=1e-12)
    assert row["incremental_conversions_ci_low"] == pytest.approx(4 * lo[0], rel=1e-12)
    assert row["incremental_conversions_ci_high"] == pytest.approx(4 * hi[0], rel=1e-12)
    assert row["treatment_revenue_per_member"] == pytest.approx(120 / 4, rel=1e-12)
    assert row["control_revenue_per_member"] == pytest.approx(60 / 3, rel=1e-12)
    assert row["incremental_revenue"] == pytest.approx(4 * (30 - 20), rel=1e-12)
    assert row["incremental_romi"] == pytest.approx((40 - 50) / 50, rel=1e-12)
    assert row["window_complete"]
    assert not kpis(as_of="2024-05-05").loc["K", "window_complete"]


def test_incremental_revenue_interval_is_welch():
    from scipy import stats

    row = kpis().loc["K"]
    treated = np.array([100.0, 0.0, 0.0, 20.0])
    control = np.array([60.0, 0.0, 0.0])
    ci = stats.ttest_ind(treated, control, equal_var=False).confidence_interval(0.95)
    assert row["incremental_revenue_ci_low"] == pytest.approx(4 * ci.low, rel=1e-9)
    assert row["incremental_revenue_ci_high"] == pytest.approx(4 * ci.high, rel=1e-9)


def test_as_of_cuts_events_and_orders():
    early = kpis(as_of=utc("2024-05-01 12:00")).loc["K"]
    assert early["opened"] == 1  # b's click at 12:00 is history; a's opens are not yet
    assert early["converters"] == 0
    assert early["revenue"] == 0.0


def test_machine_opens_proxy_customer_rule():
    rows = []
    for k in range(3):
        day = f"2024-05-0{k + 1}"
        rows += [
            ("p", "send", f"{day} 08:00", "K", f"m{k}"),
            ("p", "deliver", f"{day} 08:00:10", "K", f"m{k}"),
            ("p", "open", f"{day} 08:00:14", "K", f"m{k}"),  # 4 s after delivery, every time
            ("h", "send", f"{day} 08:00", "K", f"m{k}"),
            ("h", "deliver", f"{day} 08:00:10", "K", f"m{k}"),
        ]
    rows += [("p", "open", "2024-05-03 20:00", "K", "m2")]  # a real read later
    rows += [("h", "open", "2024-05-01 08:00:12", "K", "m0")]  # fast once, not always
    events = log(rows)
    members = pd.DataFrame({"campaign_id": ["K", "K"], "customer_id": ["p", "h"]})
    row = kpis(events, members=members).loc["K"]
    assert row["machine_opens"] == 3
    assert row["opened"] == 2  # p's m2 (the later read) and h's m0
    kept = kpis(events, members=members, machine_opens="keep").loc["K"]
    assert kept["machine_opens"] == 0
    assert kept["opened"] == 4
    # fewer delivered messages than min_messages: not a proxy customer
    assert kpis(events, members=members, min_messages=4).loc["K", "machine_opens"] == 0


def test_machine_opens_by_user_agent_and_flag_column():
    events = log(
        [
            ("a", "deliver", "2024-05-01 08:00:00", "K", "m", "email", None),
            ("a", "open", "2024-05-01 08:00:03", "K", "m", "email", "Mozilla/5.0 ProxyBot/2"),
            ("b", "deliver", "2024-05-01 08:00:00", "K", "m", "email", None),
            ("b", "open", "2024-05-01 08:00:03", "K", "m", "email", "Mozilla/5.0"),
        ]
    )
    members = pd.DataFrame({"campaign_id": ["K", "K"], "customer_id": ["a", "b"]})
    row = kpis(events, members=members, proxy_agents=["proxybot"]).loc["K"]
    assert (row["machine_opens"], row["opened"]) == (1, 1)
    flagged = events.assign(mpp=[False, False, False, True])
    row = kpis(flagged, members=members, machine_col="mpp").loc["K"]
    assert (row["machine_opens"], row["opened"]) == (1, 1)


def test_sms_campaigns_have_no_open_rate():
    events = log(
        [
            ("a", "send", "2024-05-01 08:00", "S", "m", "sms"),
            ("a", "click", "2024-05-01 09:00", "S", "m", "sms"),
        ]
    )
    members = pd.DataFrame({"campaign_id": ["S"], "customer_id": ["a"]})
    row = kpis(events, members=members, campaigns=None).loc["S"]
    assert np.isnan(row["open_rate"])
    assert np.isnan(row["click_to_open"])
    assert row["click_rate"] == 1.0
    assert np.isnan(row["cost"])
    assert np.isnan(row["romi"])


def test_by_variant_shares_the_control_group_and_splits_cost():
    members = MEMBERS.assign(variant=["A", "A", "B", "B", None, None, None])
    table = kpis(members=members, by="variant")
    assert list(table.index) == [("K", "A"), ("K", "B")]
    assert table["control"].tolist() == [3, 3]
    assert table["treatment"].tolist() == [2, 2]
    # cost shared by messages sent: A sent 2, B sent 1
    assert table["cost"].tolist() == pytest.approx([50 * 2 / 3, 50 / 3], rel=1e-12)
    assert table["control_conversion_rate"].tolist() == pytest.approx([1 / 3, 1 / 3], rel=1e-12)


def test_control_members_who_were_sent_anyway_are_counted_and_kept():
    events = pd.concat([EVENTS, log([("e", "send", "2024-05-01 09:00")])], ignore_index=True)
    events["event_id"] = range(len(events))
    row = kpis(events).loc["K"]
    assert row["control_sent"] == 1
    assert row["control"] == 3
    assert row["control_conversion_rate"] == pytest.approx(1 / 3, rel=1e-12)


@pytest.mark.parametrize(
    ("change", "match"),
    [
        (lambda e, o, m, c: (e.assign(event_id=0), o, m, c), "event_id 0 appears more than once"),
        (lambda e, o, m, c: (e.assign(channel="fax"), o, m, c), "channel must be one of"),
        (lambda e, o, m, c: (e.assign(type="view"), o, m, c), "type must be one of"),
        (
            lambda e, o, m, c: (e.assign(channel="sms").iloc[:3], o, m, c),
            "cannot happen on channel 'sms'",
        ),
        (lambda e, o, m, c: (e, o, m, c.assign(cost=-1.0)), "cost must be >= 0"),
        (
            lambda e, o, m, c: (e, o, m, c.assign(start=[utc("2024-05-01 08:30")])),
            "comes before the campaign's start",
        ),
        (lambda e, o, m, c: (e, o, pd.concat([m, m.iloc[:1]]), c), "listed twice"),
        (
            lambda e, o, m, c: (e, o.assign(date=o["date"].dt.tz_localize(None)), m, c),
            "make them agree",
        ),
        (lambda e, o, m, c: (e, o.drop(columns="amount"), m, c), "missing column"),
        (lambda e, o, m, c: (e.assign(customer_id=None), o, m, c), "must not be missing"),
    ],
)
def test_bad_input_is_named(change, match):
    e, o, m, c = change(EVENTS.copy(), ORDERS.copy(), MEMBERS.copy(), CAMPAIGNS.copy())
    with pytest.raises(ValidationError, match=match):
        kpis(e, o, m, campaigns=c)


@pytest.mark.parametrize("window", ["0D", "-1D", "1M", 7])
def test_bad_conversion_windows_are_refused(window):
    with pytest.raises(ValidationError, match="conversion_window"):
        kpis(conversion_window=window)


def test_a_start_date_reads_on_the_events_wall_clock():
    ok = kpis(campaigns=CAMPAIGNS.assign(start=[pd.Timestamp("2024-05-01")]))
    assert ok.loc["K", "sent"] == 3


def test_every_rate_has_its_interval_columns():
    table = kpis()
    for rate in RATES:
        assert {rate, f"{rate}_ci_low", f"{rate}_ci_high"} <= set(table.columns)
        ok = table[rate].notna()
        assert (table.loc[ok, f"{rate}_ci_low"] <= table.loc[ok, rate]).all()
        assert (table.loc[ok, rate] <= table.loc[ok, f"{rate}_ci_high"]).all()


def test_recovers_the_simulated_incremental_conversions():
    sim = simulate_engagement(6000, n_campaigns=6, channels=("email", "sms"), random_state=11)
    table = campaign_kpis(
        sim.events,
        sim.orders,
        sim.members,
        as_of="2024-12-31",
        conversion_window="7D",
        campaigns=sim.campaigns,
    )
    truth = sim.members.loc[~sim.members["control"]].groupby("campaign_id")["true_uplift"].sum()
    inside = (table["incremental_conversions_ci_low"] <= truth) & (
        truth <= table["incremental_conversions_ci_high"]
    )
    assert inside.sum() >= 5  # 95 % intervals: at most one miss in six expected
    assert (table["incremental_conversions"].sum() / truth.sum()) == pytest.approx(1.0, abs=0.35)
    # the simulated proxies open every e-mail: the rule finds them
    email = table.index.isin(sim.campaigns.loc[sim.campaigns["channel"] == "email", "campaign_id"])
    assert (table.loc[email, "machine_opens"] > 0).all()


def test_sends_without_consent_are_refused_when_consents_are_given():
    consents = pd.DataFrame(
        {
            "customer_id": ["a", "b", "c", "c"],
            "channel": ["email", "email", "email", "email"],
            "granted": [True, True, True, False],
            "date": [utc("2024-01-01")] * 3 + [utc("2024-04-30")],
        }
    )
    with pytest.raises(ValidationError, match=r"customer 'c' of campaign 'K'.*had withdrawn"):
        kpis(consents=consents)
    ok = consents.iloc[:3]
    assert kpis(consents=ok).loc["K", "sent"] == 3
    late = ok.assign(date=[utc("2024-01-01"), utc("2024-01-01"), utc("2024-05-02")])
    with pytest.raises(ValidationError, match="had given no consent"):
        kpis(consents=late)  # c opted in only after the send
