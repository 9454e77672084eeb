"""Golden tests: the shifted-beta-geometric model of Fader & Hardie (2007).

Data: ``tests/data/clv5/retention_fh2007.csv`` (see ``tests/data/README.md``):
the "regular" and "high end" survivor series of FH 2007, Table 1.
"""

from __future__ import annotations

from pathlib import Path

import mpmath as mp
import numpy as np
import pandas as pd
import pytest

from crmcore.clv import ShiftedBetaGeoModel

DATA = Path(__file__).resolve().parents[1] / "data" / "clv5"


@pytest.fixture(scope="module")
def series() -> pd.DataFrame:
    return pd.read_csv(DATA / "retention_fh2007.csv", index_col="year")


@pytest.mark.parametrize(
    ("segment", "alpha", "beta"),
    # FH 2007, "How to project customer retention", J. Interactive Marketing
    # 21(1), section "Estimating model parameters", fitted on years 0-7:
    # regular alpha = 0.704, beta = 1.182; high end alpha = 0.668, beta = 3.806.
    [("regular", 0.704, 1.182), ("high_end", 0.668, 3.806)],
)
def test_estimates_match_fader_hardie_2007(
    series: pd.DataFrame, segment: str, alpha: float, beta: float
) -> None:
    model = ShiftedBetaGeoModel().fit(series[segment].to_numpy()[:8])
    assert model.params_["alpha"] == pytest.approx(alpha, abs=5e-4)
    assert model.params_["beta"] == pytest.approx(beta, abs=5e-4)
    assert model.converged_


@pytest.mark.parametrize("segment", ["regular", "high_end"])
def test_projection_tracks_the_holdout_years(series: pd.DataFrame, segment: str) -> None:
    # FH 2007, Figure 4: the sBG fitted to years 0-7 projects years 8-12
    # closely (within a few percent of the actual survivors).
    actual = series[segment].to_numpy()
    model = ShiftedBetaGeoModel().fit(actual[:8])
    projected = model.project(12)["survivors"].to_numpy()
    assert projected[0] == pytest.approx(1000.0, rel=1e-12)
    np.testing.assert_allclose(projected[8:], actual[8:], rtol=0.05)
    # the in-sample fit is as close
    np.testing.assert_allclose(projected[1:8], actual[1:8], rtol=0.03)


@pytest.mark.parametrize("renewals", [0, 1, 4, 10])
def test_derl_matches_its_definition(series: pd.DataFrame, renewals: int) -> None:
    # Fader & Hardie (2010), Marketing Science 29(1), eq. 6:
    # DERL(d | alpha, beta, n-1 renewals) = sum_{t>=n} S(t)/S(n-1) (1+d)^-(t-n),
    # summed here in 30 digits to convergence.
    mp.mp.dps = 30
    model = ShiftedBetaGeoModel().fit(series["regular"].to_numpy()[:8])
    a, b = (mp.mpf(model.params_[k]) for k in ("alpha", "beta"))
    n = renewals + 1
    d = mp.mpf("0.1")

    def surv(t: int) -> mp.mpf:
        return mp.beta(a, b + t) / mp.beta(a, b)

    ref = mp.nsum(lambda t: surv(int(t)) / surv(n - 1) / (1 + d) ** (t - n), [n, mp.inf])
    got = model.expected_residual_lifetime(0.1, renewals)
    assert got == pytest.approx(float(ref), rel=1e-10)
