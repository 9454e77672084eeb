"""Golden tests: Pareto/NBD on the CDNOW 2,357-customer cohort.

Data: ``tests/data/clv/cdnow_customers_summary_with_transactions.csv`` (the
CLV core's copy of Fader & Hardie's CDNOW weekly summary; see
``tests/data/README.md``).
"""

from __future__ import annotations

from pathlib import Path

import mpmath as mp
import numpy as np
import pandas as pd
import pytest

from crmcore.clv import ParetoNBDModel

DATA = Path(__file__).resolve().parents[1] / "data" / "clv"


@pytest.fixture(scope="module")
def cdnow() -> pd.DataFrame:
    raw = pd.read_csv(DATA / "cdnow_customers_summary_with_transactions.csv")
    return pd.DataFrame(
        {"frequency": raw["x"], "recency": raw["t_x"], "T": raw["T"]},
    ).set_axis(pd.Index(raw["ID"].to_numpy(), name="customer_id"))


@pytest.fixture(scope="module")
def model(cdnow: pd.DataFrame) -> ParetoNBDModel:
    return ParetoNBDModel().fit(cdnow)


def test_estimates_match_fader_hardie_2005(model: ParetoNBDModel) -> None:
    # Fader & Hardie (2005), "A note on deriving the Pareto/NBD model and
    # related expressions", section on CDNOW; also Fader, Hardie & Lee (2005),
    # Marketing Science 24(2), Table 1: r = 0.55, alpha = 10.58, s = 0.61,
    # beta = 11.67, LL = -9595.0 (printed to 2 decimals / 1 decimal).
    p = model.params_
    assert p["r"] == pytest.approx(0.55, abs=5e-3)
    assert p["alpha"] == pytest.approx(10.58, abs=5e-3)
    assert p["s"] == pytest.approx(0.61, abs=5e-3)
    assert p["beta"] == pytest.approx(11.67, abs=5e-3)
    assert model.log_likelihood_ == pytest.approx(-9595.0, abs=0.05)
    assert model.converged_


def test_standard_errors_are_finite_and_positive(model: ParetoNBDModel) -> None:
    se = model.standard_errors_
    assert all(np.isfinite(v) and v > 0 for v in se.values())
    table = model.summary()
    assert (table["ci_low"] < table["coef"]).all()
    assert (table["coef"] < table["ci_high"]).all()


def _mp_parts(th: dict[str, float], x: int, tx: float, T: float) -> tuple[mp.mpf, mp.mpf]:
    """E1 and s·I of FH 2005 eq. 3 by 40-digit quadrature (independent of the series)."""
    r, a, s, b = (mp.mpf(th[k]) for k in ("r", "alpha", "s", "beta"))
    e1 = (a + T) ** (-(r + x)) * (b + T) ** (-s)
    if tx < T:
        integral = mp.quad(lambda u: (a + u) ** (-(r + x)) * (b + u) ** (-(s + 1)), [tx, T])
    else:
        integral = mp.mpf(0)
    return e1, s * integral


def test_probability_alive_and_expectation_agree_with_mpmath(
    model: ParetoNBDModel, cdnow: pd.DataFrame
) -> None:
    # P(alive) = E1 / (E1 + s I) (FH 2005 eq. 11); E[Y(t)] = P(alive)
    # (r+x)(beta+T)/((alpha+T)(s-1)) [1 - ((beta+T)/(beta+T+t))^(s-1)] (eq. 21).
    mp.mp.dps = 40
    th = model.params_
    rows = cdnow.iloc[[0, 1, 2, 10, 100, 1000]]
    alive = model.probability_alive(rows)
    expected = model.expected_purchases(39.0, rows)
    r, a, s, b = (mp.mpf(th[k]) for k in ("r", "alpha", "s", "beta"))
    for (xf, tx, T), pa, ey in zip(
        rows[["frequency", "recency", "T"]].to_numpy(), alive, expected, strict=True
    ):
        x = int(xf)
        e1, si = _mp_parts(th, x, tx, T)
        ref_alive = e1 / (e1 + si)
        bt = b + T
        ref_ey = ref_alive * (r + x) * bt / ((a + T) * (s - 1)) * (1 - (bt / (bt + 39)) ** (s - 1))
        assert pa == pytest.approx(float(ref_alive), rel=1e-10)
        assert ey == pytest.approx(float(ref_ey), rel=1e-10)


def test_dert_agrees_with_its_integral_definition(
    model: ParetoNBDModel, cdnow: pd.DataFrame
) -> None:
    # DERT (Fader, Hardie & Lee 2005, "RFM and CLV", eq. 2) equals
    # P(alive) (r+x)/(alpha+T) E[1/(delta + mu)], mu ~ Gamma(s, beta+T); the
    # expectation is integrated here in 40 digits. delta: 15% a year, weekly.
    mp.mp.dps = 40
    delta = float(np.log(1.15) / 52)
    th = model.params_
    rows = cdnow.iloc[[0, 1, 2]]
    got = model.expected_residual_lifetime(rows, delta)
    r, a, s, b = (mp.mpf(th[k]) for k in ("r", "alpha", "s", "beta"))
    for (xf, tx, T), value in zip(
        rows[["frequency", "recency", "T"]].to_numpy(), got, strict=True
    ):
        x = int(xf)
        e1, si = _mp_parts(th, x, tx, T)
        bt = b + T
        life = mp.quad(
            lambda mu, bt=bt: (
                bt**s * mu ** (s - 1) * mp.exp(-bt * mu) / mp.gamma(s) / (delta + mu)
            ),
            [0, 0.01, 1, mp.inf],
        )
        ref = e1 / (e1 + si) * (r + x) / (a + T) * life
        assert value == pytest.approx(float(ref), rel=1e-8)
