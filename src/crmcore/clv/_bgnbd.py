"""BG/NBD and MBG/NBD estimators (thin wrappers over ``_bgfamily``)."""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import pandas as pd

from crmcore._types import ArrayLike, BoolArray, FloatArray
from crmcore._validation import as_float_array, check_integer_valued, check_nonnegative
from crmcore.clv._base import BaseModel
from crmcore.clv._bgfamily import (
    BGData,
    bg_conditional_expectation,
    bg_discounted_purchases,
    bg_loglik_grad,
    bg_probability_alive,
    bg_probability_of_purchases,
    prepare_bg,
)
from crmcore.clv._dask import is_dask, map_scores
from crmcore.clv._data import read_summary, wrap
from crmcore.clv._kernels import matvec
from crmcore.errors import ValidationError

__all__ = ["BetaGeoModel", "ModifiedBetaGeoModel", "TransactionModel", "as_time"]

_RIDGE = 1e6  # mixing parameters beyond this: the no-heterogeneity ridge


def as_time(t: ArrayLike, *, name: str = "t") -> FloatArray:
    """Validate a non-negative time (scalar or array) and return it as float64."""
    if np.ndim(t) != 0:
        arr = as_float_array(t, name=name, ndim=None)
        check_nonnegative(arr, name=name)
        return arr
    # A scalar is checked as it is, in a list (which as_float_array inspects
    # element by element before converting), never through np.asarray first.
    one: list[Any] = [t.item() if isinstance(t, np.ndarray) else t]
    arr = as_float_array(one, name=name)
    check_nonnegative(arr, name=name)
    return arr.reshape(())


class TransactionModel(BaseModel):
    """Base for models of the purchase process (frequency, recency, T)."""

    _columns: ClassVar[tuple[str, ...]] = ("frequency", "recency", "T")

    def _theta(self) -> FloatArray:
        params = self._check_fitted()
        return np.array([params[p] for p in self._param_names], dtype=np.float64)

    def _arrays(
        self, data: pd.DataFrame | ArrayLike
    ) -> tuple[FloatArray, FloatArray, FloatArray, Any]:
        summary = read_summary(data, self._columns)
        return summary["frequency"], summary["recency"], summary["T"], summary.index

    def _expected(self, x: FloatArray, tx: FloatArray, T: FloatArray, t: FloatArray) -> FloatArray:
        raise NotImplementedError

    def _alive(self, x: FloatArray, tx: FloatArray, T: FloatArray) -> FloatArray:
        raise NotImplementedError

    def _discounted(
        self, x: FloatArray, tx: FloatArray, T: FloatArray, times: FloatArray, factors: FloatArray
    ) -> FloatArray:
        """Discounted sum of expected purchases per period (generic grid version)."""
        grid = self._expected(x[:, None], tx[:, None], T[:, None], times[None, :])
        inc = np.diff(grid, axis=1, prepend=0.0)
        return matvec(inc, factors)

    def expected_purchases(
        self, t: ArrayLike, data: pd.DataFrame | ArrayLike
    ) -> pd.Series | FloatArray:
        """Return the expected number of purchases in the next ``t`` time units.

        Parameters
        ----------
        t : float or array_like
            Horizon in the data's time units (one value, or one per customer).
        data : DataFrame, array_like or dask.dataframe.DataFrame
            Customer summary with ``frequency``, ``recency``, ``T``.

        Returns
        -------
        Series or ndarray
            A Series indexed like ``data`` for a DataFrame (a lazy Dask Series
            for a Dask DataFrame), else an array.
        """
        self._check_fitted()
        if is_dask(data):
            if np.ndim(t) != 0:
                raise ValidationError("t must be one value for Dask input", field="t")
            return map_scores(  # type: ignore[no-any-return]
                data, lambda part: self.expected_purchases(t, part), "expected_purchases"
            )
        x, tx, T, index = self._arrays(data)
        tt = as_time(t)
        if tt.ndim > 1 or (tt.ndim == 1 and tt.shape[0] not in (1, x.shape[0])):
            raise ValidationError(
                f"t must be one value or one per customer ({x.shape[0]}); got shape {tt.shape}",
                field="t",
            )
        values = self._expected(x, tx, T, np.broadcast_to(tt, x.shape))
        return wrap(np.asarray(values, dtype=np.float64), index, "expected_purchases")

    def probability_alive(self, data: pd.DataFrame | ArrayLike) -> pd.Series | FloatArray:
        """Probability that each customer is still active at the end of observation.

        Parameters
        ----------
        data : DataFrame or array_like
            Customer summary with ``frequency``, ``recency``, ``T``.

        Returns
        -------
        Series or ndarray
            Values in ``[0, 1]``, indexed like ``data``.
        """
        self._check_fitted()
        if is_dask(data):
            return map_scores(  # type: ignore[no-any-return]
                data, self.probability_alive, "probability_alive"
            )
        x, tx, T, index = self._arrays(data)
        return wrap(self._alive(x, tx, T), index, "probability_alive")

    def expected_purchases_new_customer(self, t: ArrayLike) -> FloatArray | float:
        """Return the expected number of repeat purchases of a new customer by ``t``.

        Parameters
        ----------
        t : float or array_like
            Time since the first purchase, in the data's time units.

        Returns
        -------
        float or ndarray
            Same shape as ``t``.
        """
        self._check_fitted()
        tt = np.asarray(as_time(t), dtype=np.float64)
        zero = np.zeros(tt.shape)
        out = self._expected(zero, zero, zero, tt)
        return float(out) if out.ndim == 0 else out

    def probability_of_purchases(self, n: ArrayLike, t: ArrayLike) -> FloatArray | float:
        """Probability that a new customer makes exactly ``n`` repeat purchases by ``t``.

        Parameters
        ----------
        n : int or array_like of int
            Number of repeat purchases (whole, >= 0).
        t : float or array_like
            Time since the first purchase (broadcast against ``n``).

        Returns
        -------
        float or ndarray
            Probabilities, shape of ``broadcast(n, t)``.
        """
        self._check_fitted()
        nn = as_time(n, name="n")
        check_integer_valued(np.atleast_1d(nn), name="n")
        tt = as_time(t)
        out = self._pmf(np.asarray(nn, dtype=np.float64), np.asarray(tt, dtype=np.float64))
        return float(out) if out.ndim == 0 else out

    def _pmf(self, n: FloatArray, t: FloatArray) -> FloatArray:
        raise NotImplementedError


class _BGFamily(TransactionModel):
    _param_names: ClassVar[tuple[str, ...]] = ("r", "alpha", "a", "b")
    _default_start: ClassVar[tuple[float, ...]] = (1.0, 1.0, 1.0, 1.0)
    _shift: ClassVar[int] = 0

    def _scale(self, cols: dict[str, FloatArray]) -> float:
        top = float(np.max(cols["T"]))
        return top if top > 0 else 1.0

    def _scale_data(self, cols: dict[str, FloatArray], s: float) -> dict[str, FloatArray]:
        return {"frequency": cols["frequency"], "recency": cols["recency"] / s, "T": cols["T"] / s}

    def _param_scale(self, s: float) -> FloatArray:
        return np.array([1.0, s, 1.0, 1.0])

    def _penalty_scale(self, s: float) -> FloatArray:
        # lifetimes penalises alpha in time units of the longest T.
        return np.ones(4)

    def _prepare(self, cols: dict[str, FloatArray], weights: FloatArray) -> BGData:
        return prepare_bg(cols["frequency"], cols["recency"], cols["T"], weights, s=self._shift)

    def _loglik_grad(self, theta: FloatArray, prepared: Any) -> tuple[float, FloatArray]:
        return bg_loglik_grad(theta, prepared, self._shift)

    def _ridge(self, theta: FloatArray) -> tuple[BoolArray, str] | None:
        # A gamma or beta mixing distribution whose two parameters grow together
        # (ratio fixed) tends to a point mass: the likelihood rises towards that
        # of a homogeneous purchase rate (r, alpha) or dropout probability (a, b)
        # and its maximum lies at infinity. Beyond _RIDGE the mixing spread
        # (coefficient of variation 1 / sqrt(r), or sd of p below 1e-3) is nil.
        r, alpha, a, b = (float(v) for v in theta)
        mask = np.array([r >= _RIDGE, r >= _RIDGE, min(a, b) >= _RIDGE, min(a, b) >= _RIDGE])
        if not mask.any():
            return None
        what = []
        if mask[0]:
            what.append(
                "r and alpha diverge together: the data show no heterogeneity in purchase "
                f"rates, and the fit is the limit in which every customer buys at the same "
                f"rate r / alpha = {r / alpha:.4g} per time unit"
            )
        if mask[2]:
            what.append(
                "a and b diverge together: the data show no heterogeneity in the dropout "
                "probability, and the fit is the limit in which every customer drops out "
                f"with the same probability p = a / (a + b) = {a / (a + b):.4g} after a purchase"
            )
        return mask, "; ".join(what)

    def _expected(self, x: FloatArray, tx: FloatArray, T: FloatArray, t: FloatArray) -> FloatArray:
        return bg_conditional_expectation(self._theta(), x, tx, T, t, s=self._shift)

    def _alive(self, x: FloatArray, tx: FloatArray, T: FloatArray) -> FloatArray:
        return bg_probability_alive(self._theta(), x, tx, T, s=self._shift)

    def _discounted(
        self, x: FloatArray, tx: FloatArray, T: FloatArray, times: FloatArray, factors: FloatArray
    ) -> FloatArray:
        return bg_discounted_purchases(
            self._theta(), x, tx, T, times=times, factors=factors, s=self._shift
        )

    def _pmf(self, n: FloatArray, t: FloatArray) -> FloatArray:
        return bg_probability_of_purchases(self._theta(), n, t, s=self._shift)


class BetaGeoModel(_BGFamily):
    """The BG/NBD model of Fader, Hardie & Lee (2005).

    Purchases follow a Poisson process with a gamma-distributed rate
    (shape ``r``, rate ``alpha``); after each repeat purchase a customer
    becomes inactive with a beta-distributed probability (``a``, ``b``).
    Likelihood: FHL 2005 eq. 6; conditional expectation eq. 10; P(alive):
    Fader, Hardie & Lee (2008) "Computing P(alive) using the BG/NBD model".

    Parameters
    ----------
    penalizer : float, default 0.0
        L2 penalty, same scale as ``lifetimes``' ``penalizer_coef`` (see Notes).
    initial_params : mapping, optional
        Start point ``{"r", "alpha", "a", "b"}`` in the data's units.
    max_iter : int, default 1000
        Maximum number of optimiser iterations.
    tol : float, default 1e-9
        Projected-gradient tolerance (per customer, log-parameters).
    on_failure : {"raise", "warn"}, default "raise"
        Raise :class:`~crmcore.errors.ConvergenceError` or warn when the fit
        does not converge.

    Attributes
    ----------
    params_ : dict
        ``r``, ``alpha``, ``a``, ``b``.
    log_likelihood_ : float
        Total log-likelihood at the estimate.
    standard_errors_ : dict
        Delta-method standard errors from the Hessian.
    covariance_ : DataFrame
        Covariance of the estimates (natural scale).
    converged_ : bool
        Whether the optimiser converged.
    n_iter_ : int
        Optimiser iterations.
    n_customers_ : int
        Customers fitted on (the sum of the weights).
    covariance_log_ : DataFrame
        Covariance of the log-parameters (inverse Hessian), which
        :func:`~crmcore.clv.predict_interval` draws from.

    Notes
    -----
    The objective is ``-LL/N + penalizer * sum(theta**2)`` with ``theta`` the
    natural-scale parameters, ``alpha`` measured in units of the longest
    ``T`` — exactly ``lifetimes``' ``penalizer_coef``.

    When the data show no heterogeneity in the dropout probability, the
    likelihood keeps rising as ``a`` and ``b`` grow together (``a / (a + b)``
    fixed): the estimate is then that limit (one dropout probability for
    everyone), reported with ``converged_ = True``, NaN standard errors and a
    :class:`~crmcore.errors.ConvergenceWarning`; likewise ``r`` and ``alpha``
    for purchase rates.

    Examples
    --------
    >>> from crmcore.clv import BetaGeoModel, simulate_bgnbd
    >>> data = simulate_bgnbd(2000, r=0.5, alpha=10.0, a=0.8, b=2.5, T=52.0, random_state=1)
    >>> model = BetaGeoModel().fit(data)
    >>> sorted(model.params_)
    ['a', 'alpha', 'b', 'r']
    >>> bool(model.converged_)
    True
    """


class ModifiedBetaGeoModel(_BGFamily):
    """The MBG/NBD model of Batislam, Denizel & Filiztekin (2007).

    As :class:`BetaGeoModel`, but a customer may also become inactive right
    after the first purchase (time 0), so customers without repeat purchases
    are not all assumed active. Likelihood as corrected by Wagner & Hoppe
    (2008, "Erratum on the MBG/NBD model").

    Parameters
    ----------
    penalizer : float, default 0.0
        L2 penalty, same scale as ``lifetimes``' ``penalizer_coef``.
    initial_params : mapping, optional
        Start point ``{"r", "alpha", "a", "b"}`` in the data's units.
    max_iter : int, default 1000
        Maximum number of optimiser iterations.
    tol : float, default 1e-9
        Projected-gradient tolerance.
    on_failure : {"raise", "warn"}, default "raise"
        Raise or warn when the fit does not converge.

    Attributes
    ----------
    params_, log_likelihood_, standard_errors_, covariance_, converged_, n_iter_
        As for :class:`BetaGeoModel`.

    Examples
    --------
    >>> from crmcore.clv import ModifiedBetaGeoModel, simulate_bgnbd
    >>> data = simulate_bgnbd(
    ...     2000, r=0.5, alpha=10.0, a=0.8, b=2.5, T=52.0, modified=True, random_state=1
    ... )
    >>> model = ModifiedBetaGeoModel().fit(data)
    >>> float(model.probability_alive(data).max()) <= 1.0
    True
    """

    _shift: ClassVar[int] = 1
