"""Next-best-action: expected value by hand, consent, caps, capacity and budget held exactly,
and the exact allocation checked against brute force on small problems."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest

from crmcore.errors import ValidationError
from crmcore.recommend import (
    STATUSES,
    Constraints,
    FrequencyCap,
    Offer,
    next_best_action,
)

IDS = pd.Index(["a", "b", "c"], name="customer_id")


@pytest.fixture
def customers():
    return pd.DataFrame(
        {"customer_id": IDS, "tier": ["gold", "silver", "gold"], "clv": [100.0, 50.0, 20.0]}
    )


@pytest.fixture
def offers():
    return [
        Offer("o1", channel="email", cost=1.0, value=30.0),
        Offer("o2", channel="sms", rule="tier == 'gold'", cost=2.0, value="clv"),
    ]


@pytest.fixture
def consent():
    return pd.DataFrame({"email": [True, True, False], "sms": [True, False, True]}, index=IDS)


@pytest.fixture
def response():
    return pd.DataFrame({"o1": [0.1, 0.2, 0.3], "o2": [0.05, 0.1, 0.5]}, index=IDS)


def test_expected_value_and_statuses_by_hand(customers, offers, consent, response):
    # EV = p × value − cost: a/o1 0.1·30−1 = 2, a/o2 0.05·100−2 = 3, b/o1 0.2·30−1 = 5,
    # c/o2 0.5·20−2 = 8; b/o2 is not eligible (silver), c/o1 has no email consent.
    result = next_best_action(
        customers,
        offers,
        response_model=response,
        consent=consent,
        constraints=Constraints(max_actions=2),
    )
    got = result.actions.set_index(["customer_id", "offer_id"])["expected_value"]
    expected = pd.Series({("a", "o2"): 3.0, ("a", "o1"): 2.0, ("b", "o1"): 5.0, ("c", "o2"): 8.0})
    np.testing.assert_allclose(got.loc[expected.index], expected, rtol=1e-12)
    assert len(got) == 4
    assert result.actions.loc[result.actions["customer_id"] == "a", "offer_id"].tolist() == [
        "o2",
        "o1",
    ]  # ranked by expected value
    why = result.explain(["b", "c"]).set_index(["customer_id", "offer_id"])["status"]
    assert why[("b", "o2")] == "not_eligible"
    assert why[("c", "o1")] == "no_consent"
    assert set(why.cat.categories) == set(STATUSES)
    np.testing.assert_allclose(result.summary["expected_value"], 18.0, rtol=1e-12)


def test_budget_is_never_exceeded_and_the_optimum_is_found(customers, offers, consent, response):
    # budget 3: the best affordable set is b/o1 (5, cost 1) + c/o2 (8, cost 2) = 13
    result = next_best_action(
        customers,
        offers,
        response_model=response,
        consent=consent,
        constraints=Constraints(max_actions=2, budget=3.0),
    )
    assert result.actions["cost"].sum() <= 3.0
    np.testing.assert_allclose(result.summary["expected_value"], 13.0, rtol=1e-12)
    assert set(result.explain("a")["status"]) == {"budget"}


def test_capacity_is_held(customers, offers, consent, response):
    result = next_best_action(
        customers,
        offers,
        response_model=response,
        consent=consent,
        constraints=Constraints(max_actions=2, capacity={"o2": 1}),
    )
    assert (result.actions["offer_id"] == "o2").sum() == 1
    assert result.explain("a").set_index("offer_id")["status"]["o2"] == "capacity"


def test_missing_consent_means_none(customers, offers, response):
    consent = pd.DataFrame({"email": [True], "sms": [pd.NA]}, index=pd.Index(["a"]))
    result = next_best_action(customers, offers, response_model=response, consent=consent)
    assert result.actions["customer_id"].tolist() == ["a"]
    assert result.actions["offer_id"].tolist() == ["o1"]  # no sms: the missing value is no
    with pytest.raises(ValidationError, match="sms"):
        next_best_action(customers, offers, response_model=response, consent=consent[["email"]])


def test_frequency_caps_count_the_lookback_window_only(customers, offers, consent, response):
    as_of = pd.Timestamp("2024-05-10 12:00")
    contacts = pd.DataFrame(
        {
            "customer_id": ["a", "a", "b", "b", "c", "c"],
            "channel": ["email", "sms", "email", "email", "sms", "sms"],
            "date": [
                as_of - pd.Timedelta("1D"),  # in (as_of - 7D, as_of]
                as_of,  # at as_of: counts
                as_of - pd.Timedelta("7D"),  # on the window's open end: does not count
                as_of + pd.Timedelta("1s"),  # after as_of: does not count
                as_of - pd.Timedelta("2D"),
                as_of - pd.Timedelta("6D"),
            ],
        }
    )
    caps = Constraints(
        max_actions=2,
        frequency_caps=(
            FrequencyCap(2, "7D"),  # every channel together
            FrequencyCap(1, "7D", channel="sms"),
        ),
    )
    result = next_best_action(
        customers,
        offers,
        response_model=response,
        consent=consent,
        constraints=caps,
        contacts=contacts,
        as_of=as_of,
    )
    chosen = set(zip(result.actions["customer_id"], result.actions["offer_id"], strict=True))
    # a: 2 contacts in the window, the overall cap is reached; b: none count, o1 allowed;
    # c: 2 sms contacts, the sms cap is reached and there is no email consent
    assert chosen == {("b", "o1")}
    status = result.explain(["a", "c"]).set_index(["customer_id", "offer_id"])["status"]
    assert status[("a", "o1")] == status[("a", "o2")] == "frequency_cap"
    assert status[("c", "o2")] == "frequency_cap"
    with pytest.raises(ValidationError, match="contacts"):
        next_best_action(
            customers, offers, response_model=response, consent=consent, constraints=caps
        )


def test_a_rule_on_a_missing_column_names_the_offer(customers, consent, response):
    offers = [Offer("o1", channel="email", rule="spend_90d > 10", value=1.0)]
    with pytest.raises(ValidationError, match=r"offer 'o1'.*spend_90d"):
        next_best_action(customers, offers, response_model=response, consent=consent)


def test_probabilities_outside_the_unit_interval_are_refused(customers, offers, consent):
    bad = pd.DataFrame({"o1": [0.1, 1.5, 0.3], "o2": [0.1, 0.1, 0.1]}, index=IDS)
    with pytest.raises(ValidationError, match=r"response_model\['o1'\].*\[0, 1\]"):
        next_best_action(customers, offers, response_model=bad, consent=consent)


def _random_problem(rng, n_c, n_o):
    ids = pd.Index([f"c{i}" for i in range(n_c)], name="customer_id")
    customers = pd.DataFrame({"customer_id": ids, "x": rng.integers(0, 3, n_c)})
    channels = ["email", "sms"]
    offers = [
        Offer(
            f"o{j}",
            channel=channels[j % 2],
            rule=None if j % 3 else "x >= 1",
            cost=float(rng.integers(1, 5)),
            value=float(rng.integers(5, 40)),
        )
        for j in range(n_o)
    ]
    response = pd.DataFrame(
        rng.uniform(0.0, 0.6, (n_c, n_o)), index=ids, columns=[o.id for o in offers]
    )
    consent = pd.DataFrame(rng.random((n_c, 2)) < 0.8, index=ids, columns=channels)
    constraints = Constraints(
        max_actions=int(rng.integers(1, 3)),
        budget=float(rng.integers(3, 10)),
        capacity={"o0": int(rng.integers(1, 3))},
    )
    return customers, offers, response, consent, constraints


def _brute_force(customers, offers, response, consent, constraints):
    """The best total expected value over every feasible set of allowed actions."""
    pairs = []
    for c, cid in enumerate(customers["customer_id"]):
        for j, o in enumerate(offers):
            ok = o.eligible(customers.iloc[[c]])[0] and consent.loc[cid, o.channel]
            ev = response.loc[cid, o.id] * o.value - o.cost
            if ok and ev > 0:
                pairs.append((c, j, ev))
    best = 0.0
    for n in range(len(pairs) + 1):
        for chosen in itertools.combinations(pairs, n):
            per_c = np.bincount([c for c, _, _ in chosen], minlength=len(customers))
            per_o = np.bincount([j for _, j, _ in chosen], minlength=len(offers))
            cost = sum(offers[j].cost for _, j, _ in chosen)
            if (per_c > constraints.max_actions).any() or cost > constraints.budget + 1e-9:
                continue
            if any(per_o[int(k[1:])] > cap for k, cap in constraints.capacity.items()):
                continue
            best = max(best, sum(ev for _, _, ev in chosen))
    return best


def _check_feasible(result, customers, offers, response, consent, constraints):
    acts = result.actions
    by_id = {o.id: o for o in offers}
    assert acts.groupby("customer_id").size().max() <= constraints.max_actions
    assert acts["cost"].sum() <= constraints.budget + 1e-9
    for key, cap in constraints.capacity.items():
        assert (acts["offer_id"] == key).sum() <= cap
    for cid, oid in zip(acts["customer_id"], acts["offer_id"], strict=True):
        offer = by_id[oid]
        assert consent.loc[cid, offer.channel]
        assert offer.eligible(customers.set_index("customer_id").loc[[cid]].reset_index())[0]
        assert response.loc[cid, oid] * offer.value - offer.cost > 0


@pytest.mark.parametrize("seed", range(12))
def test_milp_is_optimal_and_at_least_greedy_by_brute_force(seed):
    rng = np.random.default_rng(seed)
    problem = _random_problem(rng, n_c=4, n_o=3)
    customers, offers, response, consent, constraints = problem
    optimum = _brute_force(*problem)
    kwargs = {"response_model": response, "consent": consent, "constraints": constraints}
    exact = next_best_action(customers, offers, method="milp", **kwargs)
    greedy = next_best_action(customers, offers, method="greedy", **kwargs)
    auto = next_best_action(customers, offers, **kwargs)
    for result in (exact, greedy, auto):
        _check_feasible(result, *problem)
    np.testing.assert_allclose(exact.summary["expected_value"], optimum, rtol=1e-9, atol=1e-9)
    assert greedy.summary["expected_value"] <= exact.summary["expected_value"] + 1e-9
    assert exact.summary["greedy_expected_value"] == greedy.summary["expected_value"]
    assert auto.summary["expected_value"] >= greedy.summary["expected_value"] - 1e-9
    assert auto.summary["upper_bound"] >= optimum - 1e-9  # the dual bound is a bound


def test_greedy_can_lose_to_the_optimum():
    # one unit of budget... greedy gives the single best action (10, cost 2) and stops;
    # the optimum takes two actions of 6 (cost 1 each)
    ids = pd.Index(["a", "b", "c"], name="customer_id")
    customers = pd.DataFrame({"customer_id": ids})
    offers = [
        Offer("big", channel="email", cost=2.0, value=12.0),
        Offer("small", channel="email", cost=1.0, value=7.0),
    ]
    response = pd.DataFrame({"big": [1.0, 0.0, 0.0], "small": [0.0, 1.0, 1.0]}, index=ids)
    consent = pd.DataFrame({"email": [True] * 3}, index=ids)
    kwargs = {
        "response_model": response,
        "consent": consent,
        "constraints": Constraints(budget=2.0),
    }
    greedy = next_best_action(customers, offers, method="greedy", **kwargs)
    exact = next_best_action(customers, offers, method="milp", **kwargs)
    np.testing.assert_allclose(greedy.summary["expected_value"], 10.0, rtol=1e-12)
    np.testing.assert_allclose(exact.summary["expected_value"], 12.0, rtol=1e-12)
    assert sorted(exact.actions["customer_id"]) == ["b", "c"]
