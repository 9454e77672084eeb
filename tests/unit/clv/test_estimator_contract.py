"""The scikit-learn estimator contract and JSON persistence, for every CLV model."""

from __future__ import annotations

import inspect
import json
import math
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
import pytest
import sklearn.exceptions
from sklearn.base import clone
from sklearn.utils.validation import check_is_fitted

from crmcore.clv import (
    BaseModel,
    BetaGeoBetaBinomModel,
    BetaGeoModel,
    GammaGammaModel,
    ModifiedBetaGeoModel,
    ParetoNBDModel,
    ShiftedBetaGeoModel,
    simulate_bgbb,
    simulate_bgnbd,
    simulate_gamma_gamma,
)
from crmcore.errors import NotFittedError, ValidationError

MODELS: list[type[BaseModel]] = [
    BetaGeoModel,
    ModifiedBetaGeoModel,
    ParetoNBDModel,
    BetaGeoBetaBinomModel,
    GammaGammaModel,
    ShiftedBetaGeoModel,
]
HYPER = {"penalizer", "initial_params", "max_iter", "tol", "on_failure"}


def _continuous() -> pd.DataFrame:
    data = simulate_bgnbd(1500, r=0.5, alpha=8.0, a=0.8, b=2.5, T=40.0, random_state=7)
    m = simulate_gamma_gamma(data["frequency"], p=6.0, q=4.0, gamma=15.0, random_state=8)
    return data[["frequency", "recency", "T"]].assign(monetary_value=m)


DATA: dict[type[BaseModel], Any] = {}


def _data(cls: type[BaseModel]) -> Any:
    if cls not in DATA:
        if cls is BetaGeoBetaBinomModel:
            sim = simulate_bgbb(
                2000, alpha=1.2, beta=0.75, gamma=0.66, delta=2.8, n_periods=6, random_state=3
            )
            DATA[cls] = sim[["frequency", "recency", "n_periods"]]
        elif cls is ShiftedBetaGeoModel:
            DATA[cls] = [1000, 631, 468, 382, 326, 289, 262, 241]
        else:
            DATA[cls] = _continuous()
    return DATA[cls]


def _queries(cls: type[BaseModel], model: Any) -> dict[str, Callable[[], Any]]:
    """Every public query of ``model`` (each must refuse an unfitted model)."""
    data = _data(cls)
    calls: dict[str, Callable[[], Any]] = {"summary": model.summary, "to_dict": model.to_dict}
    if cls is ShiftedBetaGeoModel:
        calls |= {
            "survival": lambda: model.survival(3),
            "retention_rate": lambda: model.retention_rate(3),
            "churn_probability": lambda: model.churn_probability(3),
            "expected_residual_lifetime": lambda: model.expected_residual_lifetime(0.1),
            "project": lambda: model.project(5),
        }
    elif cls is GammaGammaModel:
        calls["expected_spend"] = lambda: model.expected_spend(data)
    else:
        t = 3 if cls is BetaGeoBetaBinomModel else 10.0
        calls |= {
            "probability_alive": lambda: model.probability_alive(data),
            "expected_purchases": lambda: model.expected_purchases(t, data),
            "expected_purchases_new_customer": lambda: model.expected_purchases_new_customer(t),
            "predict_interval": lambda: model.predict_interval(
                "probability_alive", data, n_draws=5
            ),
        }
        if cls is not BetaGeoBetaBinomModel:
            calls["probability_of_purchases"] = lambda: model.probability_of_purchases(1, t)
    return calls


FITTED: dict[type[BaseModel], BaseModel] = {}


def _fitted(cls: type[BaseModel]) -> Any:
    if cls not in FITTED:
        FITTED[cls] = cls().fit(_data(cls))
    return FITTED[cls]


def _public_state(model: BaseModel) -> dict[str, Any]:
    return {k: v for k, v in vars(model).items() if not k.startswith("_")}


@pytest.mark.parametrize("cls", MODELS)
def test_init_stores_keyword_hyper_parameters_unchanged(cls: type[BaseModel]) -> None:
    sig = inspect.signature(cls.__init__)
    params = [p for p in sig.parameters.values() if p.name != "self"]
    assert {p.name for p in params} == HYPER
    assert all(p.kind is inspect.Parameter.KEYWORD_ONLY for p in params)
    start = {"not": 1.0}  # nonsense: __init__ must neither check nor copy it
    model = cls(penalizer=-3.0, initial_params=start, max_iter=0, tol=0.0, on_failure="nope")
    assert model.initial_params is start
    assert model.get_params() == {
        "penalizer": -3.0,
        "initial_params": start,
        "max_iter": 0,
        "tol": 0.0,
        "on_failure": "nope",
    }
    # ... fit is where they are validated
    with pytest.raises(ValidationError) as info:
        model.fit(_data(cls))
    assert info.value.field == "penalizer"


@pytest.mark.parametrize("cls", MODELS)
def test_set_params_and_clone_of_an_unfitted_model(cls: type[BaseModel]) -> None:
    model = cls()
    assert model.set_params(penalizer=0.25, max_iter=40) is model
    assert (model.penalizer, model.max_iter) == (0.25, 40)
    twin = clone(model)
    assert type(twin) is cls
    assert twin is not model
    assert twin.get_params() == model.get_params()
    with pytest.raises(ValueError, match="Invalid parameter"):
        model.set_params(learning_rate=0.1)


@pytest.mark.parametrize("cls", MODELS)
def test_queries_before_fit_raise_not_fitted(cls: type[BaseModel]) -> None:
    model = cls()
    with pytest.raises(sklearn.exceptions.NotFittedError):
        check_is_fitted(model)
    for call in _queries(cls, model).values():
        with pytest.raises(NotFittedError, match="not fitted"):
            call()
    # crmcore's NotFittedError is scikit-learn's too
    assert issubclass(NotFittedError, sklearn.exceptions.NotFittedError)


@pytest.mark.parametrize("cls", MODELS)
def test_fit_returns_self_and_keeps_only_trailing_underscore_state(
    cls: type[BaseModel],
) -> None:
    model = cls(max_iter=500)
    before = model.get_params()
    assert model.fit(_data(cls)) is model
    assert model.get_params() == before  # fit never changes a hyper-parameter
    check_is_fitted(model)
    fitted = set(_public_state(model)) - HYPER
    assert fitted
    assert all(name.endswith("_") for name in fitted), fitted
    # nothing the size of the data is kept (no reference to it)
    for value in _public_state(model).values():
        assert not (hasattr(value, "__len__") and not isinstance(value, str) and len(value) > 16)
    assert isinstance(model.n_customers_, int)


@pytest.mark.parametrize("cls", MODELS)
def test_clone_of_a_fitted_model_is_unfitted_with_the_same_parameters(
    cls: type[BaseModel],
) -> None:
    model = _fitted(cls)
    twin = clone(model)
    assert twin.get_params() == model.get_params()
    with pytest.raises(NotFittedError):
        twin.summary()
    check_is_fitted(model)  # the original is untouched
    # refitting the clone on the same data gives the same estimate
    twin.fit(_data(cls))
    for name, value in model.params_.items():
        assert twin.params_[name] == pytest.approx(value, rel=1e-10)


@pytest.mark.parametrize("cls", MODELS)
def test_json_round_trip(cls: type[BaseModel], tmp_path: Any) -> None:
    model = _fitted(cls)
    text = json.dumps(model.to_dict(), allow_nan=False)  # plain JSON, no NaN, no pickle
    again = cls.from_dict(json.loads(text))
    assert type(again) is cls
    assert again.get_params() == model.get_params()
    assert again.params_ == model.params_
    assert again.log_likelihood_ == model.log_likelihood_
    assert again.converged_ == model.converged_
    assert again.n_iter_ == model.n_iter_
    assert again.n_customers_ == model.n_customers_
    assert isinstance(again.n_customers_, int)
    for name, se in model.standard_errors_.items():
        assert math.isnan(se) == math.isnan(again.standard_errors_[name])
        if not math.isnan(se):
            assert again.standard_errors_[name] == pytest.approx(se, rel=1e-12)
    pd.testing.assert_frame_equal(
        pd.DataFrame(again.summary()), pd.DataFrame(model.summary()), rtol=1e-12
    )
    path = tmp_path / f"{cls.__name__}.json"
    model.save(path)
    loaded = cls.load(path)
    assert loaded.params_ == model.params_
    expected = _queries(cls, model)
    for name, query in _queries(cls, loaded).items():
        if name in ("summary", "to_dict", "predict_interval"):
            continue  # compared above; predict_interval reads the same parameters
        np.testing.assert_allclose(
            np.asarray(query(), dtype=float), np.asarray(expected[name](), dtype=float), rtol=1e-15
        )


def test_sbg_round_trip_keeps_the_cohort_size() -> None:
    model = _fitted(ShiftedBetaGeoModel)
    again = ShiftedBetaGeoModel.from_dict(json.loads(json.dumps(model.to_dict())))
    assert again.cohort_size_ == model.cohort_size_ == 1000
    assert isinstance(again.cohort_size_, int)


def test_initial_params_with_an_unknown_name_are_refused() -> None:
    start = {"r": 0.5, "alpha": 8.0, "a": 0.8, "b": 2.5, "beta": 1.0}
    with pytest.raises(ValidationError, match=r"unknown.*beta") as info:
        BetaGeoModel(initial_params=start).fit(_data(BetaGeoModel))
    assert info.value.field == "initial_params"


@pytest.mark.parametrize("cls", [GammaGammaModel, ShiftedBetaGeoModel])
def test_models_outside_the_purchase_process_carry_no_purchase_query(
    cls: type[BaseModel],
) -> None:
    # Nothing is inherited that could only raise: these models have no
    # prediction kernels, no bands and no purchase queries.
    for name in ("predict_interval", "kernels", "expected_purchases", "probability_alive"):
        assert not hasattr(cls, name), name
