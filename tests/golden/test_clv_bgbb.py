"""Golden tests: BG/BB on the donations data of Fader, Hardie & Shang (2010).

Data: ``tests/data/clv5/donations_1995_cohort.csv`` (see
``tests/data/README.md``): 11,104 first-time supporters of 1995, their
frequency and recency over the six annual opportunities 1996-2001.
"""

from __future__ import annotations

from pathlib import Path

import mpmath as mp
import numpy as np
import pandas as pd
import pytest

from crmcore.clv import BetaGeoBetaBinomModel

DATA = Path(__file__).resolve().parents[1] / "data" / "clv5"


@pytest.fixture(scope="module")
def donations() -> pd.DataFrame:
    return pd.read_csv(DATA / "donations_1995_cohort.csv")


@pytest.fixture(scope="module")
def model(donations: pd.DataFrame) -> BetaGeoBetaBinomModel:
    cols = donations[["frequency", "recency", "n_periods"]]
    return BetaGeoBetaBinomModel().fit(cols, weights=donations["n_customers"])


def test_data_is_the_published_cohort(donations: pd.DataFrame) -> None:
    # FHS 2010, section 3: 11,104 supporters, 24,615 repeat donations in 1996-2001.
    assert len(donations) == 22
    assert int(donations["n_customers"].sum()) == 11104
    assert int((donations["frequency"] * donations["n_customers"]).sum()) == 24615


def test_estimates_match_fader_hardie_shang_2010(model: BetaGeoBetaBinomModel) -> None:
    # FHS 2010, Marketing Science 29(6), section 4: alpha = 1.204,
    # beta = 0.750, gamma = 0.657, delta = 2.783, LL = -33,225.6.
    p = model.params_
    assert p["alpha"] == pytest.approx(1.204, abs=5e-4)
    assert p["beta"] == pytest.approx(0.750, abs=5e-4)
    assert p["gamma"] == pytest.approx(0.657, abs=5e-4)
    assert p["delta"] == pytest.approx(2.783, abs=5e-4)
    assert model.log_likelihood_ == pytest.approx(-33225.6, abs=0.05)
    assert model.converged_


def test_conditional_expectations_match_published(
    model: BetaGeoBetaBinomModel, donations: pd.DataFrame
) -> None:
    # FHS 2010, eq. 13, expected donations 2002-2006 (n* = 5), as presented in
    # Fader's "Predictive customer analytics" lecture on this data set: a
    # supporter who gave every year 1996-2001 ("Bob") 3.75; one who never gave
    # again ("Sarah") 0.07.
    rows = pd.DataFrame({"frequency": [6, 0], "recency": [6, 0], "n_periods": [6, 6]})
    got = model.expected_purchases(5, rows)
    assert got[0] == pytest.approx(3.75, abs=5e-3)
    assert got[1] == pytest.approx(0.07, abs=5e-3)


def _mp_alive(p: dict[str, float], x: int, tx: int, n: int) -> mp.mpf:
    """P(alive at n+1 | x, t_x, n) by Bayes over the latent death opportunity.

    Independent of FHS eq. 5/11: enumerate the number ``k`` of opportunities
    alive (``k = t_x..n`` observed, or alive at ``n+1``) with beta-mixed
    geometric probabilities, and the beta-binomial chance of the pattern.
    """
    a, b, g, d = (mp.mpf(p[k]) for k in ("alpha", "beta", "gamma", "delta"))

    def beta_fn(u: mp.mpf, v: mp.mpf) -> mp.mpf:
        return mp.beta(u, v)

    def buys(k: int) -> mp.mpf:  # x purchases at k alive opportunities, pattern fixed
        return beta_fn(a + x, b + k - x) / beta_fn(a, b)

    total = mp.mpf(0)
    for k in range(tx, n):  # alive for exactly k opportunities, dies at k+1
        total += buys(k) * beta_fn(g + 1, d + k) / beta_fn(g, d)
    alive_n = buys(n) * beta_fn(g, d + n) / beta_fn(g, d)  # alive through n
    alive_next = buys(n) * beta_fn(g, d + n + 1) / beta_fn(g, d)  # and still alive at n+1
    return alive_next / (total + alive_n)


def test_probability_alive_table(model: BetaGeoBetaBinomModel, donations: pd.DataFrame) -> None:
    # FHS 2010, section 5 (P(alive) in 2002 for every recency/frequency pattern),
    # evaluated at the published estimates and compared with a 30-digit Bayes
    # computation over the latent death time.
    mp.mp.dps = 30
    published = {"alpha": 1.204, "beta": 0.750, "gamma": 0.657, "delta": 2.783}
    fixed = BetaGeoBetaBinomModel.from_dict(
        {
            **model.to_dict(),
            "params": published,
        }
    )
    got = fixed.probability_alive(donations[["frequency", "recency", "n_periods"]])
    ref = [
        float(_mp_alive(published, int(x), int(tx), int(n)))
        for x, tx, n in donations[["frequency", "recency", "n_periods"]].to_numpy()
    ]
    np.testing.assert_allclose(np.asarray(got), ref, rtol=1e-12)
    # Everyone who donated in 2001 (t_x = 6) has the same P(alive), the
    # "alive at n" probability of a customer who cannot have died yet.
    last = np.asarray(got)[donations["recency"].to_numpy() == 6]
    assert np.ptp(last) == pytest.approx(0.0, abs=1e-12)
