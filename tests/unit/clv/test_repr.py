"""What a model shows in the console and in notebooks (issue 15, item 8)."""

from __future__ import annotations

import warnings

from crmcore.clv import (
    BetaGeoModel,
    GammaGammaModel,
    ParetoNBDModel,
    ShiftedBetaGeoModel,
    simulate_bgnbd,
)
from crmcore.errors import ConvergenceWarning


def test_an_unfitted_model_keeps_the_scikit_learn_repr() -> None:
    assert repr(BetaGeoModel()) == "BetaGeoModel()"
    assert repr(BetaGeoModel(penalizer=0.1, max_iter=50)) == (
        "BetaGeoModel(max_iter=50, penalizer=0.1)"
    )
    assert "<" in BetaGeoModel()._repr_html_()  # scikit-learn's diagram


def test_a_fitted_model_shows_its_fit_and_parameters() -> None:
    data = simulate_bgnbd(1234, r=0.5, alpha=8.0, a=0.8, b=2.5, T=40.0, random_state=2)
    model = BetaGeoModel(penalizer=0.01).fit(data)
    text = repr(model)
    lines = text.splitlines()
    assert lines[0] == "BetaGeoModel(penalizer=0.01)"
    assert "fitted on 1,234 customers" in lines[1]
    assert f"log-likelihood {model.log_likelihood_:,.2f}" in lines[1]
    assert f"converged in {model.n_iter_} iterations" in lines[1]
    for name, line in zip(("r", "alpha", "a", "b"), lines[3:], strict=True):
        assert line.split() == [
            name,
            f"{model.params_[name]:.4g}",
            f"{model.standard_errors_[name]:.4g}",
        ]
    page = model._repr_html_()
    assert page.startswith('<div class="crmcore-model">')
    assert "<th>alpha</th>" in page
    assert "1,234 customers" in page
    bundle = model._repr_mimebundle_()
    assert bundle == {"text/plain": text, "text/html": page}


def test_repr_says_when_a_fit_did_not_converge_or_was_not_a_fit() -> None:
    data = simulate_bgnbd(500, r=0.5, alpha=8.0, a=0.8, b=2.5, T=40.0, random_state=2)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        stuck = ParetoNBDModel(max_iter=2, on_failure="warn").fit(data)
    assert "did NOT converge (2 iterations)" in repr(stuck)
    given = ShiftedBetaGeoModel.from_params(alpha=0.7, beta=1.2)
    assert "parameters given (from_params), not fitted" in repr(given)
    assert repr(given).splitlines()[-1].split() == ["beta", "1.2", "n/a"]


def test_the_spend_model_has_the_same_display() -> None:
    model = GammaGammaModel.from_params(p=6.0, q=4.0, gamma=15.0)
    assert repr(model).startswith("GammaGammaModel()\n")
    assert "<th>gamma</th>" in model._repr_html_()
