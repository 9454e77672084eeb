from __future__ import annotations

import json

import mpmath as mp
import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone

from crmcore.clv import (
    BetaGeoModel,
    GammaGammaModel,
    ModifiedBetaGeoModel,
    simulate_bgnbd,
    simulate_gamma_gamma,
)
from crmcore.errors import (
    ConvergenceError,
    ConvergenceWarning,
    NotFittedError,
    SchemaVersionError,
    ValidationError,
)

PARAMS = {"r": 0.5, "alpha": 8.0, "a": 0.8, "b": 2.5}


@pytest.fixture(scope="module")
def data() -> pd.DataFrame:
    return simulate_bgnbd(3000, **PARAMS, T=40.0, random_state=7)


@pytest.fixture(scope="module")
def fitted(data: pd.DataFrame) -> BetaGeoModel:
    return BetaGeoModel().fit(data)


@pytest.fixture(scope="module")
def spend_data() -> pd.DataFrame:
    rng = np.random.default_rng(3)
    freq = rng.integers(0, 8, 3000)
    m = simulate_gamma_gamma(freq, p=6.0, q=4.0, gamma=15.0, random_state=4)
    return pd.DataFrame({"frequency": freq, "monetary_value": m})


# ----------------------------------------------------------------- conventions
@pytest.mark.parametrize("cls", [BetaGeoModel, ModifiedBetaGeoModel, GammaGammaModel])
def test_sklearn_conventions(cls: type) -> None:
    model = cls(penalizer=0.1, max_iter=50)
    assert model.get_params()["penalizer"] == 0.1
    twin = clone(model)
    assert twin.get_params() == model.get_params()
    model.set_params(penalizer=0.0)
    assert model.penalizer == 0.0
    with pytest.raises(NotFittedError):
        model.summary()


def test_queries_before_fit_raise(data: pd.DataFrame) -> None:
    model = BetaGeoModel()
    for call in (
        lambda: model.expected_purchases(1.0, data),
        lambda: model.probability_alive(data),
        lambda: model.expected_purchases_new_customer(1.0),
        lambda: model.probability_of_purchases(1, 1.0),
        model.to_dict,
    ):
        with pytest.raises(NotFittedError):
            call()
    with pytest.raises(NotFittedError):
        GammaGammaModel().expected_spend(pd.DataFrame({"frequency": [1], "monetary_value": [2.0]}))


def test_fit_returns_self_and_fitted_attributes(data: pd.DataFrame) -> None:
    model = BetaGeoModel()
    assert model.fit(data) is model
    assert set(model.params_) == {"r", "alpha", "a", "b"}
    assert model.converged_
    assert model.n_iter_ > 0
    assert model.n_customers_ == len(data)
    assert isinstance(model.n_customers_, int)
    assert set(model.standard_errors_) == set(model.params_)
    assert model.covariance_.shape == (4, 4)
    np.testing.assert_allclose(
        np.sqrt(np.diag(model.covariance_.to_numpy())),
        list(model.standard_errors_.values()),
        rtol=1e-12,
    )


def test_array_input_equals_frame_input(data: pd.DataFrame, fitted: BetaGeoModel) -> None:
    arr = data[["frequency", "recency", "T"]].to_numpy()
    other = BetaGeoModel().fit(arr)
    for k, v in fitted.params_.items():
        assert other.params_[k] == pytest.approx(v, rel=1e-10)
    np.testing.assert_allclose(
        other.probability_alive(arr), fitted.probability_alive(data).to_numpy(), rtol=1e-12
    )


def test_summary_table(fitted: BetaGeoModel) -> None:
    table = fitted.summary()
    assert list(table.columns) == ["coef", "se", "ci_low", "ci_high"]
    assert list(table.index) == ["r", "alpha", "a", "b"]
    assert (table["ci_low"] < table["coef"]).all()
    assert (table["coef"] < table["ci_high"]).all()
    narrower = fitted.summary(confidence=0.5)
    assert (narrower["ci_high"] - narrower["ci_low"] < table["ci_high"] - table["ci_low"]).all()
    # log-scale Wald interval: coef * exp(±z se_log), z the 97.5 % normal quantile
    se_log = np.sqrt(np.diag(fitted.covariance_log_.to_numpy()))
    np.testing.assert_allclose(
        table["ci_high"], table["coef"] * np.exp(1.959963984540054 * se_log), rtol=1e-12
    )
    with pytest.raises(ValidationError, match="confidence"):
        fitted.summary(confidence=1.0)


def test_summary_old_names_still_work_with_a_warning(fitted: BetaGeoModel) -> None:
    table = fitted.summary(confidence=0.9)
    with pytest.warns(DeprecationWarning, match="'alpha=' is deprecated.*'confidence=1 - alpha'"):
        old = fitted.summary(alpha=0.1)
    pd.testing.assert_frame_equal(pd.DataFrame(old), pd.DataFrame(table), rtol=1e-12)
    with pytest.warns(DeprecationWarning, match="'lower' is deprecated.*'ci_low'"):
        np.testing.assert_array_equal(table["lower"], table["ci_low"])
    with pytest.warns(DeprecationWarning, match="'upper' is deprecated.*'ci_high'"):
        np.testing.assert_array_equal(table["upper"], table["ci_high"])


def test_standard_errors_match_mpmath_hessian() -> None:
    # Observed information of the total log-likelihood in log-parameters,
    # computed by 30-digit central differences of an independent mpmath
    # likelihood (FHL 2005 eq. 6) on a small data set.
    data = simulate_bgnbd(60, **PARAMS, T=30.0, random_state=11)
    model = BetaGeoModel().fit(data)
    mp.mp.dps = 30
    rows = data[["frequency", "recency", "T"]].to_numpy()

    def ll(logp: list[mp.mpf]) -> mp.mpf:
        r, alpha, a, b = (mp.e**v for v in logp)
        total = mp.mpf(0)
        for xf, tx, T in rows:
            x = int(xf)
            c = mp.beta(a, b + x) / mp.beta(a, b) * mp.gamma(r + x) * alpha**r / mp.gamma(r)
            lik = c / (alpha + mp.mpf(T)) ** (r + x)
            if x > 0:
                c2 = mp.beta(a + 1, b + x - 1) / mp.beta(a, b) * mp.gamma(r + x) * alpha**r
                lik += c2 / mp.gamma(r) / (alpha + mp.mpf(tx)) ** (r + x)
            total += mp.log(lik)
        return total

    phi = [mp.log(mp.mpf(model.params_[k])) for k in ("r", "alpha", "a", "b")]
    h = mp.mpf("1e-6")
    H = mp.matrix(4, 4)
    for i in range(4):
        for j in range(4):

            def shifted(di: int, dj: int, i: int = i, j: int = j) -> mp.mpf:
                p = list(phi)
                p[i] += di * h
                p[j] += dj * h
                return ll(p)

            H[i, j] = -(shifted(1, 1) - shifted(1, -1) - shifted(-1, 1) + shifted(-1, -1)) / (
                4 * h * h
            )
    cov_log = np.array((H**-1).tolist(), dtype=float)
    np.testing.assert_allclose(model.covariance_log_.to_numpy(), cov_log, rtol=1e-4, atol=1e-8)


# ----------------------------------------------------------------- convergence
def test_non_convergence_raises_with_result(data: pd.DataFrame) -> None:
    with pytest.raises(ConvergenceError) as info:
        BetaGeoModel(max_iter=1).fit(data)
    assert info.value.result is not None
    assert not info.value.result.success


def test_non_convergence_can_warn(data: pd.DataFrame) -> None:
    with pytest.warns(ConvergenceWarning):
        model = BetaGeoModel(max_iter=1, on_failure="warn").fit(data)
    assert model.converged_ is False


def test_bad_hyper_parameters_raise_in_fit(data: pd.DataFrame) -> None:
    for kwargs, field in [
        ({"penalizer": -1.0}, "penalizer"),
        ({"max_iter": 0}, "max_iter"),
        ({"on_failure": "ignore"}, "on_failure"),
        ({"initial_params": {"r": 1.0}}, "initial_params"),
    ]:
        with pytest.raises(ValidationError) as info:
            BetaGeoModel(**kwargs).fit(data)
        assert info.value.field == field


def test_initial_params_reach_same_optimum(data: pd.DataFrame, fitted: BetaGeoModel) -> None:
    other = BetaGeoModel(initial_params={"r": 2.0, "alpha": 1.0, "a": 3.0, "b": 0.5}).fit(data)
    assert other.log_likelihood_ == pytest.approx(fitted.log_likelihood_, rel=1e-9)


def test_penalizer_shrinks_parameters(data: pd.DataFrame, fitted: BetaGeoModel) -> None:
    pen = BetaGeoModel(penalizer=0.01).fit(data)
    norm = sum(v**2 for v in pen.params_.values())
    assert norm < sum(v**2 for v in fitted.params_.values())
    assert pen.log_likelihood_ < fitted.log_likelihood_


# ----------------------------------------------------------------- weights
def test_weights_equal_repeated_rows(data: pd.DataFrame) -> None:
    small = data.iloc[:500]
    w = np.arange(500) % 3 + 1
    expanded = small.loc[small.index.repeat(w)]
    a = BetaGeoModel().fit(small, weights=w)
    b = BetaGeoModel().fit(expanded)
    assert a.log_likelihood_ == pytest.approx(b.log_likelihood_, rel=1e-10)
    for k in a.params_:
        assert a.params_[k] == pytest.approx(b.params_[k], rel=1e-6)


def test_gamma_gamma_weights_equal_repeated_rows(spend_data: pd.DataFrame) -> None:
    # fit merges identical (frequency, monetary_value) rows into one weighted row
    small = spend_data.iloc[:600]
    w = np.arange(600) % 4 + 1
    expanded = small.loc[small.index.repeat(w)]
    a = GammaGammaModel().fit(small, weights=w)
    b = GammaGammaModel().fit(expanded)
    assert b.n_customers_ == int(w[small["frequency"].to_numpy() > 0].sum())
    assert a.n_customers_ == b.n_customers_
    assert a.log_likelihood_ == pytest.approx(b.log_likelihood_, rel=1e-10)
    for k in a.params_:
        assert a.params_[k] == pytest.approx(b.params_[k], rel=1e-6)
    # and the likelihood of the expanded rows is the weighted one of the distinct rows
    assert a.log_likelihood(expanded) == pytest.approx(
        a.log_likelihood(small, weights=w), rel=1e-12
    )
    assert a.log_likelihood(small, weights=w) == pytest.approx(a.log_likelihood_, rel=1e-12)


def test_gamma_gamma_fit_ignores_row_order(spend_data: pd.DataFrame) -> None:
    a = GammaGammaModel().fit(spend_data)
    b = GammaGammaModel().fit(spend_data.iloc[::-1])
    assert a.params_ == b.params_  # the optimiser sees bit-identical input
    assert a.log_likelihood_ == b.log_likelihood_


def test_gamma_gamma_estimate_meets_gradient_tolerance(spend_data: pd.DataFrame) -> None:
    # the fit may stop at the first point meeting tol; that point is a maximum
    model = GammaGammaModel(tol=1e-9).fit(spend_data)
    repeat = spend_data[spend_data["frequency"] > 0]
    theta = np.array([model.params_[k] for k in ("p", "q", "gamma")])
    cols = {c: repeat[c].to_numpy(dtype=float) for c in repeat.columns}
    _, grad = model._loglik_grad(theta, model._prepare(cols, np.ones(len(repeat))))
    # gradient in log-parameters, per customer (the optimiser's scale)
    assert np.max(np.abs(grad * theta / len(repeat))) <= 1e-8
    assert model.converged_


@pytest.mark.parametrize(
    ("weights", "problem"),
    [([-1.0], ">= 0"), ([1.5], "whole number"), ([float("nan")], "finite")],
)
def test_bad_weights(data: pd.DataFrame, weights: list[float], problem: str) -> None:
    w = np.ones(len(data))
    w[3] = weights[0]
    with pytest.raises(ValidationError, match=problem) as info:
        BetaGeoModel().fit(data, weights=w)
    assert info.value.field == "weights"


# ----------------------------------------------------------------- bad input
BAD = [
    ("frequency", 1.5, "whole number"),
    ("frequency", -1.0, ">= 0"),
    ("frequency", np.nan, "finite"),
    ("recency", np.inf, "finite"),
    ("recency", -2.0, ">= 0"),
    ("recency", 1e6, "must not exceed T"),
    ("T", -1.0, ">= 0"),
]


@pytest.mark.parametrize(("column", "value", "problem"), BAD)
def test_bad_summary_values_name_column_and_customer(
    data: pd.DataFrame, column: str, value: float, problem: str
) -> None:
    bad = data[["frequency", "recency", "T"]].astype(float).copy()
    bad.index = [f"c{i}" for i in range(len(bad))]
    bad.loc["c5", column] = value
    for call in (
        lambda: BetaGeoModel().fit(bad),
        lambda: ModifiedBetaGeoModel().fit(bad),
    ):
        with pytest.raises(ValidationError, match=problem) as info:
            call()
        assert info.value.field == column
        assert info.value.row == "c5"


def test_zero_frequency_with_recency_refused(data: pd.DataFrame) -> None:
    bad = pd.DataFrame(
        {"frequency": [1, 0], "recency": [2.0, 1.0], "T": [5.0, 5.0]}, index=["a", "b"]
    )
    with pytest.raises(ValidationError, match="must be 0 when frequency is 0") as info:
        BetaGeoModel().fit(bad)
    assert info.value.row == "b"


def test_missing_column_and_empty_input() -> None:
    with pytest.raises(ValidationError, match="missing column 'T'") as info:
        BetaGeoModel().fit(pd.DataFrame({"frequency": [1], "recency": [1.0]}))
    assert info.value.field == "T"
    with pytest.raises(ValidationError, match="empty"):
        BetaGeoModel().fit(pd.DataFrame({"frequency": [], "recency": [], "T": []}))
    with pytest.raises(ValidationError, match="2-D array"):
        BetaGeoModel().fit(np.ones((3, 2)))


def test_spend_model_refuses_non_positive_money(spend_data: pd.DataFrame) -> None:
    bad = spend_data.copy()
    bad.index = [f"c{i}" for i in range(len(bad))]
    row = bad.index[bad["frequency"] > 0][2]
    bad.loc[row, "monetary_value"] = 0.0
    with pytest.raises(ValidationError, match="must be > 0") as info:
        GammaGammaModel().fit(bad)
    assert (info.value.field, info.value.row) == ("monetary_value", row)
    with pytest.raises(ValidationError, match="repeat purchases"):
        GammaGammaModel().fit(pd.DataFrame({"frequency": [0, 0], "monetary_value": [0.0, 0.0]}))


# ----------------------------------------------------------------- persistence
@pytest.mark.parametrize("cls", [BetaGeoModel, ModifiedBetaGeoModel])
def test_json_round_trip(cls: type, data: pd.DataFrame, tmp_path) -> None:
    model = cls(penalizer=0.0).fit(data)
    path = tmp_path / "model.json"
    model.save(path)
    json.loads(path.read_text())  # plain JSON
    again = cls.load(path)
    assert again.params_ == model.params_
    assert again.standard_errors_ == pytest.approx(model.standard_errors_, rel=1e-12)
    np.testing.assert_allclose(
        again.expected_purchases(10.0, data), model.expected_purchases(10.0, data), rtol=1e-15
    )
    assert again.get_params() == model.get_params()


def test_from_dict_refuses_other_model_and_version(fitted: BetaGeoModel) -> None:
    state = fitted.to_dict()
    with pytest.raises(ValidationError):
        ModifiedBetaGeoModel.from_dict(state)
    with pytest.raises(SchemaVersionError):
        BetaGeoModel.from_dict({**state, "schema_version": 99})
    broken = dict(state)
    del broken["params"]
    with pytest.raises(ValidationError):
        BetaGeoModel.from_dict(broken)


def test_gamma_gamma_round_trip(spend_data: pd.DataFrame, tmp_path) -> None:
    model = GammaGammaModel().fit(spend_data)
    path = tmp_path / "gg.json"
    model.save(path)
    again = GammaGammaModel.load(path)
    np.testing.assert_allclose(
        again.expected_spend(spend_data), model.expected_spend(spend_data), rtol=1e-15
    )


# ----------------------------------------------------------------- predictions
def _bg_expectation_mpmath(
    params: dict[str, float], x: int, tx: float, T: float, t: float
) -> float:
    # FHL (2005) eq. 10, evaluated literally in 40-digit arithmetic.
    mp.mp.dps = 40
    r, alpha, a, b = (mp.mpf(params[k]) for k in ("r", "alpha", "a", "b"))
    T, tx, t = mp.mpf(T), mp.mpf(tx), mp.mpf(t)
    z = t / (alpha + T + t)
    num = (
        (a + b + x - 1)
        / (a - 1)
        * (
            1
            - ((alpha + T) / (alpha + T + t)) ** (r + x)
            * mp.hyp2f1(r + x, b + x, a + b + x - 1, z)
        )
    )
    den = 1 + (a / (b + x - 1) * ((alpha + T) / (alpha + tx)) ** (r + x) if x > 0 else 0)
    return float(num / den)


def _mbg_expectation_mpmath(
    params: dict[str, float], x: int, tx: float, T: float, t: float
) -> float:
    # Batislam et al. (2007), conditional expectation, literally.
    mp.mp.dps = 40
    r, alpha, a, b = (mp.mpf(params[k]) for k in ("r", "alpha", "a", "b"))
    T, tx, t = mp.mpf(T), mp.mpf(tx), mp.mpf(t)
    z = t / (alpha + T + t)
    num = (
        (a + b + x)
        / (a - 1)
        * (
            1
            - ((alpha + T) / (alpha + T + t)) ** (r + x)
            * mp.hyp2f1(r + x, b + x + 1, a + b + x, z)
        )
    )
    den = 1 + a / (b + x) * ((alpha + T) / (alpha + tx)) ** (r + x)
    return float(num / den)


CASES = [
    (0, 0.0, 10.0, 5.0),
    (2, 30.43, 38.86, 39.0),
    (20, 50.0, 52.0, 1.0),
    (300, 700.0, 730.0, 365.0),  # large frequency, long T
    (5, 3.0, 40.0, 5000.0),  # z close to 1
    (60, 100.0, 100.0, 1e5),
]


@pytest.mark.parametrize(("x", "tx", "T", "t"), CASES)
@pytest.mark.parametrize(
    "params",
    [
        {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426},
        {"r": 1.5, "alpha": 20.0, "a": 3.0, "b": 9.0},
        {"r": 0.7, "alpha": 2.0, "a": 1.0 + 1e-9, "b": 0.3},
    ],
)
def test_conditional_expectation_against_mpmath(
    params: dict[str, float], x: int, tx: float, T: float, t: float
) -> None:
    for cls, ref in (
        (BetaGeoModel, _bg_expectation_mpmath),
        (ModifiedBetaGeoModel, _mbg_expectation_mpmath),
    ):
        model = cls.from_dict(_state(cls, params))
        got = float(model.expected_purchases(t, np.array([[x, tx, T]]))[0])
        assert got == pytest.approx(ref(params, x, tx, T, t), rel=1e-9)


def _state(cls: type, params: dict[str, float]) -> dict:
    return {
        "model": cls.__name__,
        "schema_version": 1,
        "hyper_parameters": {},
        "params": params,
        "log_likelihood": 0.0,
        "converged": True,
        "n_iter": 1,
        "n_customers": 1.0,
        "covariance_log": [[None] * 4 for _ in range(4)],
    }


def test_probability_of_purchases_is_a_distribution(fitted: BetaGeoModel) -> None:
    for model in (fitted, ModifiedBetaGeoModel.from_dict(_state(ModifiedBetaGeoModel, PARAMS))):
        n = np.arange(0, 400)
        pmf = model.probability_of_purchases(n, 30.0)
        assert np.all(pmf >= 0)
        assert pmf.sum() == pytest.approx(1.0, abs=1e-10)
        mean = float((n * pmf).sum())
        assert mean == pytest.approx(model.expected_purchases_new_customer(30.0), rel=1e-8)
    with pytest.raises(ValidationError, match="whole number"):
        fitted.probability_of_purchases(1.5, 3.0)
    with pytest.raises(ValidationError, match=">= 0"):
        fitted.probability_of_purchases(1, -3.0)


@pytest.mark.parametrize("modified", [False, True])
def test_new_customer_expectation_matches_simulation(modified: bool) -> None:
    cls = ModifiedBetaGeoModel if modified else BetaGeoModel
    model = cls.from_dict(_state(cls, PARAMS))
    sim = simulate_bgnbd(200_000, **PARAMS, T=25.0, modified=modified, random_state=5)
    mean = sim["frequency"].mean()
    se = sim["frequency"].std() / np.sqrt(len(sim))
    assert abs(model.expected_purchases_new_customer(25.0) - mean) < 4 * se
    pmf0 = model.probability_of_purchases(0, 25.0)
    assert abs(pmf0 - (sim["frequency"] == 0).mean()) < 0.005


@pytest.mark.parametrize("modified", [False, True])
def test_probability_alive_is_calibrated(modified: bool) -> None:
    cls = ModifiedBetaGeoModel if modified else BetaGeoModel
    model = cls.from_dict(_state(cls, PARAMS))
    sim = simulate_bgnbd(100_000, **PARAMS, T=25.0, modified=modified, random_state=9)
    p = np.asarray(model.probability_alive(sim))
    assert abs(p.mean() - sim["alive"].mean()) < 0.006


def test_expected_spend_formula(spend_data: pd.DataFrame) -> None:
    model = GammaGammaModel().fit(spend_data)
    p, q, g = (model.params_[k] for k in ("p", "q", "gamma"))
    x, m = spend_data["frequency"].to_numpy(), spend_data["monetary_value"].to_numpy()
    np.testing.assert_allclose(
        model.expected_spend(spend_data), p * (g + m * x) / (p * x + q - 1), rtol=1e-12
    )
    assert model.params_["p"] == pytest.approx(6.0, rel=0.3)
    assert model.params_["q"] == pytest.approx(4.0, rel=0.3)


def test_expected_spend_refuses_non_positive_spend(spend_data: pd.DataFrame) -> None:
    # The fit refuses monetary_value <= 0 for repeat buyers; scoring must too,
    # rather than return a negative expected spend.
    model = GammaGammaModel().fit(spend_data)
    frame = pd.DataFrame({"frequency": [2, 3], "monetary_value": [10.0, -50.0]}, index=["a", "b"])
    with pytest.raises(ValidationError, match="must be > 0") as info:
        model.expected_spend(frame)
    assert info.value.field == "monetary_value"
    assert info.value.row == "b"


def test_gamma_gamma_undefined_mean_refused() -> None:
    model = GammaGammaModel.from_dict(
        {
            "model": "GammaGammaModel",
            "schema_version": 1,
            "hyper_parameters": {},
            "params": {"p": 1.0, "q": 0.5, "gamma": 2.0},
            "log_likelihood": 0.0,
            "converged": True,
            "n_iter": 1,
            "n_customers": 1.0,
            "covariance_log": [[None] * 3 for _ in range(3)],
        }
    )
    frame = pd.DataFrame({"frequency": [3, 0], "monetary_value": [5.0, 0.0]}, index=["x", "y"])
    with pytest.raises(ValidationError, match="no finite expected spend") as info:
        model.expected_spend(frame)
    assert info.value.row == "y"


def test_expected_purchases_per_customer_horizon(fitted: BetaGeoModel, data: pd.DataFrame) -> None:
    t = np.linspace(0, 20, len(data))
    per = np.asarray(fitted.expected_purchases(t, data))
    one = np.array(
        [
            float(fitted.expected_purchases(ti, data.iloc[[i]]).iloc[0])
            for i, ti in list(enumerate(t))[:20]
        ]
    )
    np.testing.assert_allclose(per[:20], one, rtol=1e-12)
    assert per[0] == 0.0


def test_horizon_shape_is_checked(fitted: BetaGeoModel, data: pd.DataFrame) -> None:
    with pytest.raises(ValidationError, match="one per customer") as info:
        fitted.expected_purchases(np.ones(3), data)
    assert info.value.field == "t"
    with pytest.raises(ValidationError, match="finite"):
        fitted.expected_purchases(np.inf, data)
    one = fitted.expected_purchases([5.0], data)
    np.testing.assert_allclose(one, fitted.expected_purchases(5.0, data), rtol=0)


def test_penalizer_scale_is_documented_scale(data: pd.DataFrame) -> None:
    # Documented objective: -LL/N + penalizer * sum(theta**2), alpha measured in
    # units of the longest T (the scale of lifetimes' penalizer_coef). Its
    # gradient must vanish at the penalised estimate.
    from crmcore.clv._bgfamily import bg_loglik_rows

    pen = 0.05
    model = BetaGeoModel(penalizer=pen).fit(data)
    x, tx, T = (data[c].to_numpy(dtype=float) for c in ("frequency", "recency", "T"))
    top = T.max()

    def objective(v: np.ndarray) -> float:
        ll = bg_loglik_rows(v, x, tx, T, s=0).sum()
        scaled = v * np.array([1.0, 1.0 / top, 1.0, 1.0])
        return -ll / len(x) + pen * float(scaled @ scaled)

    theta = np.array([model.params_[k] for k in ("r", "alpha", "a", "b")])
    for j in range(4):
        h = 1e-6 * theta[j]
        up, down = theta.copy(), theta.copy()
        up[j] += h
        down[j] -= h
        slope = (objective(up) - objective(down)) / (2 * h)
        assert abs(slope * theta[j]) < 1e-6


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"params": {**PARAMS, "r": "0.5"}}, "params['r']"),
        ({"params": {**PARAMS, "a": float("nan")}}, "params['a']"),
        ({"params": {**PARAMS, "b": True}}, "params['b']"),
        ({"params": {k: v for k, v in PARAMS.items() if k != "alpha"}}, "params"),
        ({"converged": "false"}, "converged"),
        ({"n_iter": 2.5}, "n_iter"),
        ({"n_customers": -1.0}, "n_customers"),
        ({"log_likelihood": "-10"}, "log_likelihood"),
        ({"covariance_log": [[None] * 4] * 3}, "covariance_log"),
        ({"covariance_log": [[None, None, None, "1"]] * 4}, "covariance_log[0][3]"),
        ({"hyper_parameters": {"tolerance": 1.0}}, "hyper_parameters"),
        ({"hyper_parameters": [1]}, "hyper_parameters"),
    ],
)
def test_from_dict_checks_each_value_before_converting(change: dict, field: str) -> None:
    # float("0.5"), float("nan"), bool("false") and int(2.5) used to be accepted.
    with pytest.raises(ValidationError) as info:
        BetaGeoModel.from_dict({**_state(BetaGeoModel, PARAMS), **change})
    assert info.value.field == field


def test_from_dict_refuses_a_non_mapping() -> None:
    with pytest.raises(ValidationError) as info:
        BetaGeoModel.from_dict([("model", "BetaGeoModel")])  # type: ignore[arg-type]
    assert info.value.field == "state"


@pytest.mark.parametrize("t", [True, np.bool_(True), "5", None, np.array("5"), -1.0])
def test_scalar_time_is_checked_before_conversion(fitted: BetaGeoModel, t: object) -> None:
    with pytest.raises(ValidationError) as info:
        fitted.expected_purchases_new_customer(t)
    assert info.value.field == "t"
