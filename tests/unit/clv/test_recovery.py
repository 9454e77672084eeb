"""Parameter recovery: simulate 100k customers, fit, land within 3 SE."""

from __future__ import annotations

import numpy as np
import pytest

from crmcore.clv import (
    BetaGeoModel,
    GammaGammaModel,
    ModifiedBetaGeoModel,
    simulate_bgnbd,
    simulate_gamma_gamma,
)

TRUE = {"r": 0.6, "alpha": 12.0, "a": 0.9, "b": 3.0}


@pytest.mark.parametrize(
    ("cls", "modified"), [(BetaGeoModel, False), (ModifiedBetaGeoModel, True)]
)
def test_bg_family_recovers_parameters(cls: type, modified: bool) -> None:
    T = np.random.default_rng(0).uniform(20.0, 60.0, 100_000).round(0)
    data = simulate_bgnbd(100_000, **TRUE, T=T, modified=modified, random_state=2024)
    model = cls().fit(data)
    assert model.converged_
    for name, value in TRUE.items():
        se = model.standard_errors_[name]
        assert abs(model.params_[name] - value) < 3 * se, (name, model.params_[name], se)


def test_gamma_gamma_recovers_parameters() -> None:
    freq = np.random.default_rng(1).integers(1, 10, 100_000)
    spend = simulate_gamma_gamma(freq, p=6.0, q=4.0, gamma=15.0, random_state=3)
    model = GammaGammaModel().fit({"frequency": freq, "monetary_value": spend})
    for name, value in {"p": 6.0, "q": 4.0, "gamma": 15.0}.items():
        se = model.standard_errors_[name]
        assert abs(model.params_[name] - value) < 3 * se, (name, model.params_[name], se)
