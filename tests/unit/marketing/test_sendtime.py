"""Send-time profiles: hours of the week, empirical-Bayes shrinkage, best hours, backtest."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from crmcore.errors import ValidationError
from crmcore.marketing import (
    best_send_time,
    send_time_backtest,
    send_time_profile,
    simulate_engagement,
)

MONDAY = pd.Timestamp("2024-01-01")  # a Monday


def events_at(customers, hours, kinds=None, tz=None):
    dates = MONDAY + pd.to_timedelta(np.asarray(hours), unit="h") + pd.Timedelta("10min")
    if tz is not None:
        dates = dates.tz_localize(tz)
    return pd.DataFrame(
        {
            "customer_id": customers,
            "type": kinds if kinds is not None else ["open"] * len(customers),
            "date": dates,
        }
    )


def test_hours_of_the_week_and_zones():
    events = events_at(["a", "a", "b"], [0, 24 * 6 + 23, 50], tz="UTC")
    profile = send_time_profile(events, as_of="2024-02-01")
    assert profile.counts.toarray()[0, [0, 167]].tolist() == [1, 1]
    assert profile.counts.toarray()[1, 50] == 1
    seoul = send_time_profile(events, as_of="2024-02-01", tz="Asia/Seoul")
    assert seoul.counts.toarray()[1, 59] == 1  # 02:10 UTC on Tuesday is 11:10 in Seoul
    with pytest.raises(ValidationError, match="dates are naive"):
        send_time_profile(events_at(["a"], [1]), as_of="2024-02-01", tz="UTC")


def test_opens_right_after_a_delivery_are_left_out():
    events = pd.DataFrame(
        {
            "customer_id": ["a", "a", "a"],
            "type": ["deliver", "open", "open"],
            "date": pd.to_datetime(
                ["2024-01-01 09:00:00", "2024-01-01 09:00:04", "2024-01-02 20:30:00"]
            ),
        }
    )
    profile = send_time_profile(events, as_of="2024-02-01")
    assert profile.n_events["a"] == 1
    assert best_send_time(profile).loc["a", "label"] == "Tue 20:00"


def test_events_after_as_of_are_unseen():
    events = events_at(["a", "a"], [10, 24 * 40])
    assert send_time_profile(events, as_of="2024-01-05").n_events["a"] == 1


def test_fitted_prior_strength_recovers_the_simulated_one():
    rng = np.random.default_rng(4)
    p = rng.dirichlet(np.ones(168) * 0.5)
    alpha = 25.0
    n_cust = 3000
    theta = rng.dirichlet(alpha * p, size=n_cust)
    sizes = 2 + rng.poisson(10, n_cust)
    customers, hours = [], []
    for c in range(n_cust):
        h = rng.choice(168, size=sizes[c], p=theta[c])
        customers += [c] * sizes[c]
        hours += list(h + 168 * rng.integers(0, 4, sizes[c]))
    profile = send_time_profile(events_at(customers, hours), as_of="2024-03-01")
    assert profile.prior_strength == pytest.approx(alpha, rel=0.2)


def test_shrinkage_and_best_hours_agree_with_the_dense_propensities():
    rng = np.random.default_rng(1)
    customers = rng.integers(0, 300, 2000)
    hours = np.where(rng.random(2000) < 0.5, 19 + 24 * (customers % 5), rng.integers(0, 168, 2000))
    profile = send_time_profile(events_at(customers, hours), as_of="2024-03-01")
    dense = profile.propensity()
    np.testing.assert_allclose(dense.sum(axis=1), 1.0, rtol=1e-12)
    np.testing.assert_array_equal(profile.best_hour().to_numpy(), dense.to_numpy().argmax(axis=1))
    evenings = [h for h in range(168) if h % 24 >= 18]
    allowed = profile.best_hour(allowed=evenings)
    np.testing.assert_array_equal(
        allowed.to_numpy(), np.asarray(evenings)[dense[evenings].to_numpy().argmax(axis=1)]
    )
    # few events: close to the population; a strong prior makes everyone the population
    flat = send_time_profile(events_at(customers, hours), as_of="2024-03-01", prior_strength=1e6)
    np.testing.assert_allclose(
        flat.propensity().to_numpy(), np.tile(flat.population, (len(flat.customers), 1)), atol=1e-4
    )


def test_unknown_customers_get_the_population_best_hour():
    profile = send_time_profile(events_at(["a", "b", "b"], [5, 9, 9]), as_of="2024-03-01")
    table = best_send_time(profile, ["b", "zz"])
    assert table.loc["b", "hour_of_week"] == 9
    assert table.loc["zz", "hour_of_week"] == int(np.argmax(profile.population))
    assert table.loc["zz", "n_events"] == 0
    assert (table["weekday"] * 24 + table["hour"] == table["hour_of_week"]).all()


def test_personal_send_times_beat_the_population_on_held_out_opens():
    sim = simulate_engagement(3000, random_state=2)
    table = send_time_backtest(sim.events, as_of="2024-08-31", horizon="120D")
    assert table.loc["personal", "hit_rate"] > table.loc["population", "hit_rate"] + 0.2
    assert table.loc["personal", "log_score"] > table.loc["population", "log_score"]
    profile = send_time_profile(sim.events, as_of="2024-12-31")
    best = best_send_time(profile)
    truth = sim.truth.preferred_hour.reindex(best.index)
    assert (best["hour_of_week"] == truth).mean() > 0.5


@pytest.mark.parametrize(
    ("kw", "match"),
    [
        ({"types": ["view"]}, "types must name"),
        ({"prior_strength": 0.0}, "prior_strength"),
        ({"as_of": "2023-01-01"}, "no engagement event"),
    ],
)
def test_bad_arguments(kw, match):
    args = {"as_of": "2024-03-01", **kw}
    with pytest.raises(ValidationError, match=match):
        send_time_profile(events_at(["a"], [3]), **args)
    with pytest.raises(ValidationError, match="allowed"):
        send_time_profile(events_at(["a"], [3]), as_of="2024-03-01").best_hour(allowed=[200])
