"""select_audience: consent per channel at as_of, exclusions by reason, stable control groups."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest
from attrs import evolve as attrs_evolve

from crmcore.domain import Consent, Customer, current_consent
from crmcore.errors import RuleSyntaxError, ValidationError
from crmcore.marketing import CONSENT_POLICY, EXCLUSION_REASONS, consent_log, select_audience
from crmcore.marketing._hashing import fnv1a64, stable_uniform
from crmcore.segmentation import Rule

T0 = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)


def day(n: int) -> dt.datetime:
    return T0 + dt.timedelta(days=n)


def consent(channel: str, granted: bool, n: int) -> Consent:
    return Consent(channel=channel, granted=granted, at=day(n))


def frame(histories, **extra):
    data = {"customer_id": [f"c{i}" for i in range(len(histories))], "consents": histories}
    data.update(extra)
    return pd.DataFrame(data)


def select(customers, **kw):
    args = {
        "channel": "email",
        "as_of": day(10),
        "control_fraction": 0.0,
        "random_state": 1,
    }
    args.update(kw)
    return select_audience(customers, **args)


# ------------------------------------------------------------------ hashing


def test_fnv1a64_matches_the_published_test_vectors():
    # draft-eastlake-fnv, 64-bit FNV-1a: "", "a", "foobar"
    assert [int(h) for h in fnv1a64(["", "a", "foobar"])] == [
        0xCBF29CE484222325,
        0xAF63DC4C8601EC8C,
        0x85944171F73967E8,
    ]


def test_stable_uniform_depends_only_on_salt_and_id():
    ids = np.array([f"C-{i}" for i in range(1000)], dtype=object)
    u = stable_uniform(ids, "seed")
    assert u.min() >= 0
    assert u.max() < 1
    rng = np.random.default_rng(0)
    perm = rng.permutation(ids.size)
    np.testing.assert_array_equal(stable_uniform(ids[perm], "seed"), u[perm])
    np.testing.assert_array_equal(stable_uniform(ids[:10], "seed"), u[:10])
    assert not np.array_equal(stable_uniform(ids, "other"), u)
    # integers hash as their decimal text, non-ASCII ids as UTF-8
    np.testing.assert_array_equal(stable_uniform([42, -7], "s"), stable_uniform(["42", "-7"], "s"))
    assert stable_uniform(["Zoë"], "s")[0] != stable_uniform(["Zoe"], "s")[0]


def test_stable_uniform_is_uniform():
    u = stable_uniform(np.arange(200_000), "campaign-7")
    counts = np.bincount((u * 20).astype(int), minlength=20)
    # chi-square with 19 df: 43.8 is the 0.999 quantile
    chi2 = ((counts - 10_000) ** 2 / 10_000).sum()
    assert chi2 < 43.8


# ------------------------------------------------------------------ consent


def test_consent_rules_and_exclusion_counts():
    customers = frame(
        [
            (consent("email", True, 1),),  # in
            (consent("email", True, 1), consent("email", False, 5)),  # withdrew
            (consent("email", False, 1), consent("email", True, 5)),  # re-opted in
            (),  # unknown
            (consent("sms", True, 1),),  # other channel only: unknown for e-mail
            (consent("email", True, 20),),  # opted in after as_of: unknown then
            None,  # no history at all
        ],
        spend=[10, 10, 10, 10, 10, 10, 10],
    )
    audience = select(customers)
    assert audience.members["customer_id"].tolist() == ["c0", "c2"]
    assert audience.excluded.to_dict() == {
        "not_in_segment": 0,
        "opted_out": 1,
        "no_consent": 4,
        "no_address": 0,
    }
    assert audience.summary()["candidates"] == 7
    assert list(audience.excluded.index) == list(EXCLUSION_REASONS)


def test_same_instant_consents_last_recorded_wins_like_current_consent():
    history = (consent("email", True, 3), consent("email", False, 3))
    audience = select(frame([history, tuple(reversed(history))]))
    assert audience.members["customer_id"].tolist() == ["c1"]
    assert not current_consent(history, "email").granted
    assert current_consent(tuple(reversed(history)), "email").granted


def test_date_only_as_of_ends_the_day():
    customers = frame(
        [(Consent(channel="email", granted=True, at=day(10) + dt.timedelta(hours=20)),)]
    )
    assert len(select(customers, as_of="2024-01-11").members) == 1
    assert len(select(customers, as_of=day(10)).members) == 0


def test_agrees_with_the_domain_on_customer_entities():
    rng = np.random.default_rng(3)
    people = []
    for i in range(60):
        history = [
            consent(
                str(rng.choice(["email", "sms"])),
                bool(rng.random() < 0.6),
                int(rng.integers(0, 20)),
            )
            for _ in range(int(rng.integers(0, 5)))
        ]
        people.append(Customer(id=f"c{i}", name="x", created_at=T0, consents=history))
    customers = pd.DataFrame(
        {"customer_id": [p.id for p in people], "consents": [p.consents for p in people]}
    )
    for channel in ("email", "sms"):
        got = set(select(customers, channel=channel).members["customer_id"])
        want = {p.id for p in people if p.has_consent(channel, as_of=day(10))}
        assert got == want
        # the same from a consent log
        logged = set(
            select(
                customers.drop(columns="consents"), channel=channel, consents=consent_log(people)
            ).members["customer_id"]
        )
        assert logged == want


def test_rule_and_address_exclusions():
    yes = (consent("email", True, 1),)
    customers = frame(
        [yes, yes, yes, yes],
        spend=[50.0, 150.0, 300.0, np.nan],
        email=["a@x", None, "  ", "d@x"],
    )
    audience = select(customers, rule="spend >= 100 or spend is null", address_col="email")
    assert audience.members["customer_id"].tolist() == ["c3"]
    assert audience.excluded["not_in_segment"] == 1
    assert audience.excluded["no_address"] == 2
    with pytest.raises(RuleSyntaxError):
        select(customers, rule="spend >=")
    assert len(select(customers, rule=Rule.parse("spend > 200")).members) == 1


def test_a_campaign_gives_its_audience_id_and_variants():
    from crmcore.domain import Campaign
    from crmcore.marketing import audience_rule

    yes = (consent("email", True, 1),)
    customers = frame([yes] * 400, spend=[50.0, 150.0] * 200)
    campaign = Campaign(
        id="K9",
        name="Big spenders",
        channel="email",
        start_date=dt.date(2024, 1, 1),
        audience="spend >= 100",
        variants=["A", "B"],
    )
    assert audience_rule(campaign) == Rule.parse("spend >= 100")
    got = select(customers, rule=campaign, control_fraction=0.1)
    want = select(
        customers,
        rule="spend >= 100",
        campaign_id="K9",
        variants=["A", "B"],
        control_fraction=0.1,
    )
    pd.testing.assert_frame_equal(got.members, want.members)
    assert set(got.members["campaign_id"]) == {"K9"}
    assert set(got.members["variant"].dropna()) == {"A", "B"}
    assert got.excluded["not_in_segment"] == 200
    everyone = attrs_evolve(campaign, audience=None, variants=())
    assert audience_rule(everyone) is None
    assert select(customers, rule=everyone).members["variant"].isna().all()
    with pytest.raises(ValidationError, match="'K9' sends on channel 'email'"):
        select(customers, rule=campaign, channel="sms")
    with pytest.raises(RuleSyntaxError, match="campaign 'K9'"):
        audience_rule(attrs_evolve(campaign, audience="spend >="))
    with pytest.raises(ValidationError, match="must be a Campaign"):
        audience_rule("spend >= 100")


def test_every_sending_channel_never_sends_on_unknown():
    assert set(CONSENT_POLICY) == {"email", "sms", "push"}
    customers = frame([(), ()])
    for channel in CONSENT_POLICY:
        audience = select(customers, channel=channel)
        assert audience.members.empty
        assert audience.excluded["no_consent"] == 2


# ------------------------------------------------------------------ control groups


def many(n):
    yes = (consent("email", True, 1),)
    return frame([yes] * n)


def test_control_group_is_stable_and_reported():
    customers = many(4000)
    first = select(customers, control_fraction=0.2, random_state="spring", campaign_id="K1")
    control = set(first.members.loc[first.members["control"], "customer_id"])
    assert 0.17 < len(control) / 4000 < 0.23
    assert first.n_control == len(control)
    assert first.n_treatment == 4000 - len(control)
    # reruns, reordered input and new customers move nobody
    shuffled = customers.sample(frac=1.0, random_state=2)
    grown = pd.concat(
        [
            customers,
            frame([(consent("email", True, 1),)] * 500).assign(
                customer_id=[f"new{i}" for i in range(500)]
            ),
        ]
    )
    for again in (shuffled, grown):
        other = select(again, control_fraction=0.2, random_state="spring", campaign_id="K1")
        members = other.members.set_index("customer_id")["control"]
        assert set(members[members].index) & set(customers["customer_id"]) == control
    # another seed or campaign gives another group
    other = select(customers, control_fraction=0.2, random_state="spring", campaign_id="K2")
    assert set(other.members.loc[other.members["control"], "customer_id"]) != control


def test_variants_by_weight_and_control_has_none():
    audience = select(many(6000), control_fraction=0.1, variants={"A": 1, "B": 3}, random_state=5)
    m = audience.members
    assert m.loc[m["control"], "variant"].isna().all()
    shares = m.loc[~m["control"], "variant"].value_counts(normalize=True)
    assert shares["B"] == pytest.approx(0.75, abs=0.03)


def test_to_members_needs_a_campaign_id():
    audience = select(many(3), campaign_id="K9", variants=["A"])
    members = audience.to_members()
    assert {m.customer_id for m in members} == {"c0", "c1", "c2"}
    assert all(m.campaign_id == "K9" and m.variant == "A" for m in members)
    assert members[0].selected_at == day(10)
    with pytest.raises(ValidationError, match="campaign_id"):
        select(many(3)).to_members()


@pytest.mark.parametrize(
    ("kw", "match"),
    [
        ({"channel": "web"}, "channel must be one of"),
        ({"control_fraction": 1.0}, "control_fraction"),
        ({"random_state": None}, "random_state must be an int or a str"),
        ({"random_state": np.random.default_rng(0)}, "random_state must be an int or a str"),
        ({"variants": ["A", "A"]}, "each once"),
        ({"as_of": None}, "as_of is required"),
    ],
)
def test_bad_arguments_are_refused(kw, match):
    with pytest.raises(ValidationError, match=match):
        select(many(3), **kw)


def test_repeated_or_missing_customer_ids_are_refused():
    customers = many(3)
    customers.loc[2, "customer_id"] = "c0"
    with pytest.raises(ValidationError, match="more than once"):
        select(customers)
    customers.loc[2, "customer_id"] = None
    with pytest.raises(ValidationError, match="must not be missing"):
        select(customers)


def test_naive_consent_log_is_refused():
    log = pd.DataFrame(
        {
            "customer_id": ["c0"],
            "channel": ["email"],
            "granted": [True],
            "date": [pd.Timestamp("2024-01-01")],
        }
    )
    with pytest.raises(ValidationError, match="timezone-aware"):
        select(many(1).drop(columns="consents"), consents=log)
