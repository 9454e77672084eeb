"""Uplift modelling on scikit-learn: two-model and X-learner estimators, Qini curves.

The *uplift* of a customer is ``tau(x) = P(convert | treated, x) - P(convert |
control, x)``: whom does the campaign change? Both estimators learn it from
a randomised campaign (members with a control group).

- :class:`TwoModelUplift` fits one outcome model on the treated and one on
  the control members and subtracts their predictions (the "T-learner").
- :class:`XLearnerUplift` (Künzel, Sekhon, Bickel and Yu, "Metalearners for
  estimating heterogeneous treatment effects using machine learning",
  *PNAS* 116(10), 2019, section "X-learner"): the same two outcome models,
  then *imputed effects* ``D1 = y1 - mu0(x1)`` on the treated and
  ``D0 = mu1(x0) - y0`` on the controls, one effect model fitted to each,
  combined as ``tau(x) = g(x) tau0(x) + (1 - g(x)) tau1(x)`` with ``g`` the
  propensity of treatment (the treated share: the campaign is randomised).
  It does better than the two-model learner when one group (the control
  group) is much smaller than the other.

Both follow the scikit-learn estimator contract (hyper-parameters stored
unchanged, ``fit`` returns ``self``, fitted attributes end in ``_``,
``clone`` works). They hold fitted scikit-learn models, which have no JSON
form, so ``to_dict`` refuses (crmcore never pickles).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, clone, is_classifier
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from threadpoolctl import threadpool_limits

from crmcore._types import ArrayLike, FloatArray
from crmcore._validation import as_float_array, check_scalar, first_bad
from crmcore.errors import NotFittedError, ValidationError

__all__ = ["TwoModelUplift", "XLearnerUplift", "qini_curve", "uplift_at_k"]


def _treatment(values: ArrayLike, n: int) -> np.ndarray[Any, np.dtype[np.bool_]]:
    arr = np.asarray(values)
    if arr.ndim != 1 or arr.size != n:
        raise ValidationError(
            f"treatment must be one flag per row ({n}); got shape {arr.shape}", field="treatment"
        )
    if arr.dtype != bool:
        ok = pd.Series(arr).isin([0, 1, True, False]).to_numpy(dtype=bool)
        first_bad(~ok, name="treatment", problem="must be 0/1 or bool", values=arr.astype(object))
        arr = arr.astype(bool)
    if arr.all() or not arr.any():
        raise ValidationError(
            "treatment must contain both treated (1) and control (0) rows", field="treatment"
        )
    return arr


def _outcome(values: ArrayLike, n: int) -> FloatArray:
    arr = np.asarray(values)
    y = arr.astype(np.float64) if arr.dtype == bool else as_float_array(values, name="y")
    if y.size != n:
        raise ValidationError(f"y must have one value per row ({n}); got {y.size}", field="y")
    return y


def _features(X: Any) -> Any:
    if isinstance(X, pd.DataFrame):
        return X
    arr = np.asarray(X)
    if arr.ndim != 2:
        raise ValidationError(f"X must be 2-dimensional; got shape {arr.shape}", field="X")
    return arr


def _default_outcome(y: FloatArray) -> Any:
    """Scaled logistic regression for 0/1 outcomes, scaled ridge regression otherwise."""
    if np.isin(y, (0.0, 1.0)).all():
        return make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000))
    return make_pipeline(StandardScaler(), Ridge(alpha=1.0))


def _default_effect() -> Any:
    return make_pipeline(StandardScaler(), Ridge(alpha=1.0))


def _seeded(estimator: Any, random_state: Any) -> Any:
    est = clone(estimator)
    if random_state is not None and "random_state" in est.get_params():
        est.set_params(random_state=random_state)
    return est


def _response(model: Any, X: Any) -> FloatArray:
    """P(y = 1) for a classifier, the prediction for a regressor."""
    if is_classifier(model):
        classes = list(model.classes_)
        if 1 not in classes and True not in classes:
            return np.zeros(len(X))
        col = classes.index(1) if 1 in classes else classes.index(True)
        out: FloatArray = np.asarray(model.predict_proba(X)[:, col], dtype=np.float64)
        return out
    return np.asarray(model.predict(X), dtype=np.float64)


class _UpliftBase(BaseEstimator):  # type: ignore[misc]
    n_threads: int | None

    @contextmanager
    def _threads(self) -> Iterator[None]:
        if self.n_threads is None:
            yield
            return
        check_scalar(self.n_threads, name="n_threads", low=1, integer=True)
        with threadpool_limits(limits=int(self.n_threads)):
            yield

    def _check_fitted(self) -> None:
        if not hasattr(self, "n_features_in_"):
            raise NotFittedError(f"{type(self).__name__} is not fitted yet; call fit() first")

    def _prepare(self, X: Any, y: ArrayLike, treatment: ArrayLike) -> tuple[Any, FloatArray, Any]:
        features = _features(X)
        n = len(features)
        if n == 0:
            raise ValidationError("X is empty", field="X")
        t = _treatment(treatment, n)
        return features, _outcome(y, n), t

    def to_dict(self) -> dict[str, Any]:
        """Refuse: fitted scikit-learn models have no JSON form.

        Raises
        ------
        ValidationError
            Always. crmcore saves models as JSON and never pickles; refit the
            estimator from the campaign data instead.
        """
        raise ValidationError(
            f"{type(self).__name__} holds fitted scikit-learn models, which have no JSON "
            "form, and crmcore never pickles: keep the campaign data and refit (fitting is "
            "seconds), or store the uplift scores themselves"
        )

    def _take(self, X: Any, mask: np.ndarray[Any, np.dtype[np.bool_]]) -> Any:
        return X.loc[mask] if isinstance(X, pd.DataFrame) else X[mask]


class TwoModelUplift(_UpliftBase):
    """Uplift as the difference of two outcome models (treated minus control).

    Parameters
    ----------
    estimator : scikit-learn estimator, optional
        Outcome model, cloned for each group: a classifier (its probability
        of class 1 is used) or a regressor (for revenue). Default: standard
        scaling then logistic regression for a 0/1 outcome, ridge regression
        otherwise. Uplifts are small differences of noisy responses; flexible
        models (gradient boosting) need many members and tuning before they
        beat a linear model (see the user guide's simulation).
    n_threads : int, optional
        Cap on OpenMP / BLAS threads while fitting and predicting.
    random_state : int or None
        Passed to the cloned estimators that take one.

    Attributes
    ----------
    treated_model_, control_model_ : estimator
        The fitted outcome models.
    n_features_in_ : int
        Number of feature columns.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> X = rng.random((4000, 1))
    >>> t = rng.random(4000) < 0.5
    >>> y = rng.random(4000) < 0.1 + 0.3 * t * X[:, 0]  # uplift 0.3 x
    >>> model = TwoModelUplift().fit(X, y, treatment=t)
    >>> bool(model.predict(np.array([[0.9]]))[0] > model.predict(np.array([[0.1]]))[0])
    True
    """

    def __init__(
        self,
        *,
        estimator: Any = None,
        n_threads: int | None = None,
        random_state: int | None = None,
    ) -> None:
        self.estimator = estimator
        self.n_threads = n_threads
        self.random_state = random_state

    def fit(self, X: Any, y: ArrayLike, *, treatment: ArrayLike) -> TwoModelUplift:
        """Fit the treated and the control outcome models.

        Parameters
        ----------
        X : DataFrame or 2-D array
            Features of the members (known before the campaign).
        y : array-like
            Outcome (converted 0/1, or revenue with a regressor).
        treatment : array-like of bool
            True for treated members, False for the control group.

        Returns
        -------
        TwoModelUplift
            ``self``.
        """
        features, outcome, t = self._prepare(X, y, treatment)
        base = self.estimator if self.estimator is not None else _default_outcome(outcome)
        with self._threads():
            self.treated_model_ = _seeded(base, self.random_state).fit(
                self._take(features, t), outcome[t]
            )
            self.control_model_ = _seeded(base, self.random_state).fit(
                self._take(features, ~t), outcome[~t]
            )
        self.n_features_in_ = features.shape[1]
        return self

    def predict(self, X: Any) -> FloatArray:
        """Predicted uplift per row: treated response minus control response.

        Parameters
        ----------
        X : DataFrame or 2-D array
            Features, as in :meth:`fit`.

        Returns
        -------
        ndarray of float64
        """
        self._check_fitted()
        features = _features(X)
        with self._threads():
            out: FloatArray = _response(self.treated_model_, features) - _response(
                self.control_model_, features
            )
        return out


class XLearnerUplift(_UpliftBase):
    """The X-learner of Künzel et al. (2019): imputed effects, two effect models, propensity.

    Parameters
    ----------
    outcome_estimator : scikit-learn estimator, optional
        First-stage outcome model (classifier or regressor), cloned for each
        group. Default as for :class:`TwoModelUplift`.
    effect_estimator : scikit-learn regressor, optional
        Second-stage model of the imputed effects, cloned for each group.
        Default: standard scaling then ridge regression.
    propensity : float or None, default None
        Probability of treatment ``g`` in ``tau = g tau0 + (1 - g) tau1``;
        ``None``: the treated share of the training data (a randomised
        campaign assigns treatment independently of ``x``).
    n_threads : int, optional
        Cap on OpenMP / BLAS threads while fitting and predicting.
    random_state : int or None
        Passed to the cloned estimators that take one.

    Attributes
    ----------
    treated_model_, control_model_ : estimator
        First-stage outcome models.
    treated_effect_model_, control_effect_model_ : estimator
        Second-stage models ``tau1`` (fitted on the treated) and ``tau0``.
    propensity_ : float
        The ``g`` used.
    n_features_in_ : int
        Number of feature columns.
    """

    def __init__(
        self,
        *,
        outcome_estimator: Any = None,
        effect_estimator: Any = None,
        propensity: float | None = None,
        n_threads: int | None = None,
        random_state: int | None = None,
    ) -> None:
        self.outcome_estimator = outcome_estimator
        self.effect_estimator = effect_estimator
        self.propensity = propensity
        self.n_threads = n_threads
        self.random_state = random_state

    def fit(self, X: Any, y: ArrayLike, *, treatment: ArrayLike) -> XLearnerUplift:
        """Fit the outcome models, then the effect models on the imputed effects.

        Parameters
        ----------
        X : DataFrame or 2-D array
            Features of the members (known before the campaign).
        y : array-like
            Outcome (converted 0/1, or revenue with a regressor).
        treatment : array-like of bool
            True for treated members, False for the control group.

        Returns
        -------
        XLearnerUplift
            ``self``.
        """
        features, outcome, t = self._prepare(X, y, treatment)
        if self.propensity is None:
            g = float(t.mean())
        else:
            g = check_scalar(
                self.propensity,
                name="propensity",
                low=0,
                high=1,
                low_inclusive=False,
                high_inclusive=False,
            )
        first = (
            self.outcome_estimator
            if self.outcome_estimator is not None
            else _default_outcome(outcome)
        )
        second = self.effect_estimator if self.effect_estimator is not None else _default_effect()
        x1, x0 = self._take(features, t), self._take(features, ~t)
        with self._threads():
            self.treated_model_ = _seeded(first, self.random_state).fit(x1, outcome[t])
            self.control_model_ = _seeded(first, self.random_state).fit(x0, outcome[~t])
            d1 = outcome[t] - _response(self.control_model_, x1)
            d0 = _response(self.treated_model_, x0) - outcome[~t]
            self.treated_effect_model_ = _seeded(second, self.random_state).fit(x1, d1)
            self.control_effect_model_ = _seeded(second, self.random_state).fit(x0, d0)
        self.propensity_ = g
        self.n_features_in_ = features.shape[1]
        return self

    def predict(self, X: Any) -> FloatArray:
        """Predicted uplift per row: ``g tau0(x) + (1 - g) tau1(x)``.

        Parameters
        ----------
        X : DataFrame or 2-D array
            Features, as in :meth:`fit`.

        Returns
        -------
        ndarray of float64
        """
        self._check_fitted()
        features = _features(X)
        with self._threads():
            tau1 = np.asarray(self.treated_effect_model_.predict(features), dtype=np.float64)
            tau0 = np.asarray(self.control_effect_model_.predict(features), dtype=np.float64)
        out: FloatArray = self.propensity_ * tau0 + (1.0 - self.propensity_) * tau1
        return out


def _ranked(
    uplift: ArrayLike, treatment: ArrayLike, outcome: ArrayLike
) -> tuple[FloatArray, np.ndarray[Any, np.dtype[np.bool_]], FloatArray]:
    score = as_float_array(uplift, name="uplift")
    t = _treatment(treatment, score.size)
    y = _outcome(outcome, score.size)
    order = np.argsort(-score, kind="stable")
    return score[order], t[order], y[order]


def qini_curve(
    uplift: ArrayLike, treatment: ArrayLike, outcome: ArrayLike, *, points: int | None = 100
) -> pd.DataFrame:
    """Compute the Qini curve: incremental conversions when targeting the top-scored customers.

    Customers are sorted by predicted uplift, highest first. After the top
    ``n`` of them, the Qini value is ``Y_t(n) - Y_c(n) * N_t(n) / N_c(n)``
    (Radcliffe, "Using control groups to target on predicted lift",
    *Direct Marketing Analytics Journal*, 2007): treated conversions minus
    the control conversions scaled to the treated count. Random targeting
    gives the straight line to the final value.

    Parameters
    ----------
    uplift : array-like
        Predicted uplift (any score: only its order matters).
    treatment : array-like of bool
        Treated or control, per customer.
    outcome : array-like
        Converted (0/1) or revenue, per customer.
    points : int or None, default 100
        Evaluate at this many evenly spaced cut-offs (plus 0); ``None``:
        after every customer.

    Returns
    -------
    DataFrame
        ``n`` (customers targeted), ``fraction``, ``qini`` (incremental
        outcome) and ``random`` (the line of random targeting).
    """
    _, t, y = _ranked(uplift, treatment, outcome)
    size = t.size
    n_t = np.concatenate([[0], np.cumsum(t)])
    n_c = np.concatenate([[0], np.cumsum(~t)])
    y_t = np.concatenate([[0.0], np.cumsum(np.where(t, y, 0.0))])
    y_c = np.concatenate([[0.0], np.cumsum(np.where(t, 0.0, y))])
    with np.errstate(invalid="ignore", divide="ignore"):
        qini = y_t - np.where(n_c > 0, y_c * n_t / np.where(n_c > 0, n_c, 1), 0.0)
    if points is None:
        at = np.arange(size + 1)
    else:
        k = int(check_scalar(points, name="points", low=1, integer=True))
        at = np.unique(np.round(np.linspace(0, size, k + 1)).astype(np.int64))
    fraction = at / size
    return pd.DataFrame(
        {"n": at, "fraction": fraction, "qini": qini[at], "random": fraction * qini[-1]}
    )


def uplift_at_k(
    uplift: ArrayLike, treatment: ArrayLike, outcome: ArrayLike, *, k: float = 0.1
) -> float:
    """Observed uplift among the top-scored customers: treated minus control mean outcome.

    Parameters
    ----------
    uplift : array-like
        Predicted uplift.
    treatment : array-like of bool
        Treated or control, per customer.
    outcome : array-like
        Converted (0/1) or revenue, per customer.
    k : float, default 0.1
        Share of customers (in (0, 1]) with the highest predicted uplift.

    Returns
    -------
    float
        ``mean(outcome | treated, top k) - mean(outcome | control, top k)``;
        NaN when the top ``k`` holds no treated or no control customer.
    """
    share = check_scalar(k, name="k", low=0, high=1, low_inclusive=False)
    _, t, y = _ranked(uplift, treatment, outcome)
    top = max(1, int(np.ceil(share * t.size)))
    tt, yy = t[:top], y[:top]
    if not tt.any() or tt.all():
        return float("nan")
    return float(yy[tt].mean() - yy[~tt].mean())
