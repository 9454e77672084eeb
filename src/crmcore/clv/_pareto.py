"""The Pareto/NBD estimator (a thin wrapper over ``_pareto_core``)."""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import pandas as pd

from crmcore._types import ArrayLike, BoolArray, FloatArray
from crmcore._validation import check_scalar
from crmcore.clv._bgnbd import _RIDGE, ridge_verdict
from crmcore.clv._data import wrap
from crmcore.clv._kernels import PurchaseKernels
from crmcore.clv._pareto_core import PNBDData, pnbd_loglik_grad, pnbd_loglik_rows, prepare_pnbd
from crmcore.clv._pareto_predict import PNBDKernels, pnbd_dert
from crmcore.clv._transaction import TransactionModel

__all__ = ["ParetoNBDModel"]


class ParetoNBDModel(TransactionModel):
    """The Pareto/NBD model of Schmittlein, Morrison & Colombo (1987).

    While alive, a customer buys as a Poisson process with rate
    ``λ ~ Gamma(r, α)``; the lifetime is exponential with rate
    ``μ ~ Gamma(s, β)``. Likelihood, P(alive) and the conditional expectation
    follow Fader & Hardie (2005), "A note on deriving the Pareto/NBD model and
    related expressions" (eq. 11, 21-23), evaluated in a stable all-positive
    form with an analytic gradient (see the notes); DERT follows Fader, Hardie
    & Lee (2005), "RFM and CLV: using iso-value curves for customer base
    analysis", eq. 2.

    Parameters
    ----------
    penalizer : float, default 0.0
        L2 penalty on ``(r, alpha / max(T), s, beta / max(T))`` per customer
        (see :class:`BaseModel`): the fit does not depend on the time unit.
    initial_params : mapping, optional
        Start point ``{"r", "alpha", "s", "beta"}`` in the data's units.
    max_iter : int, default 1000
        Maximum number of optimiser iterations.
    tol : float, default 1e-9
        Projected-gradient tolerance (per customer, log-parameters), in ``(0, 1e-3]``.
    on_failure : {"raise", "warn"}, default "raise"
        Raise :class:`~crmcore.errors.ConvergenceError` or warn when the fit
        does not converge.

    Attributes
    ----------
    params_ : dict
        ``r``, ``alpha``, ``s``, ``beta``.
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

    Notes
    -----
    The hypergeometric term ``2F1(r+s+x, ·; r+s+x+1; z)``, ``z`` in
    ``[0, 1)``, is evaluated after Euler's transformation as a series of
    positive terms (or, for ``z > 0.9``, by tanh-sinh quadrature of its Euler
    integral), and the difference of the two terms in log space, so the
    likelihood stays finite and accurate for hundreds of purchases, for
    ``alpha == beta``, ``t_x == T`` and ``s == 1``. The constant
    ``r ln α + s ln β`` is folded into each row as ``-r log1p(T/α)`` and
    ``-s log1p(T/β)``, so the likelihood keeps its accuracy as ``s`` and
    ``beta`` (or ``r`` and ``alpha``) grow together: on data without
    heterogeneity in lifetimes (or in purchase rates) the maximum lies at
    infinity along that ridge, and an estimate past ``1e6`` is reported as
    the limiting model (one exponential dropout rate ``s / beta``, or one
    purchase rate ``r / alpha``) with a warning and NaN standard errors.

    Examples
    --------
    >>> from crmcore.clv import ParetoNBDModel, simulate_pareto_nbd
    >>> data = simulate_pareto_nbd(
    ...     2000, r=0.5, alpha=10.0, s=0.8, beta=12.0, T=52.0, random_state=1
    ... )
    >>> model = ParetoNBDModel().fit(data)
    >>> sorted(model.params_)
    ['alpha', 'beta', 'r', 's']
    >>> bool(model.converged_)
    True
    """

    _param_names: ClassVar[tuple[str, ...]] = ("r", "alpha", "s", "beta")
    _default_start: ClassVar[tuple[float, ...]] = (1.0, 1.0, 1.0, 1.0)
    kernels: ClassVar[PurchaseKernels] = PNBDKernels()

    def _scale(self, cols: dict[str, FloatArray]) -> float:
        top = float(np.max(cols["T"]))
        return top if top > 0 else 1.0

    def _scale_data(self, cols: dict[str, FloatArray], s: float) -> dict[str, FloatArray]:
        return {"frequency": cols["frequency"], "recency": cols["recency"] / s, "T": cols["T"] / s}

    def _param_scale(self, s: float) -> FloatArray:
        return np.array([1.0, s, 1.0, s])

    def _penalty_scale(self, s: float) -> FloatArray:
        # alpha and beta in units of the longest T: the penalty, and so the
        # fit, does not depend on the data's time unit.
        return np.ones(4)

    def _prepare(self, cols: dict[str, FloatArray], weights: FloatArray) -> PNBDData:
        return prepare_pnbd(cols["frequency"], cols["recency"], cols["T"], weights)

    def _loglik_grad(self, theta: FloatArray, prepared: Any) -> tuple[float, FloatArray]:
        return pnbd_loglik_grad(theta, prepared)

    def _loglik_rows(self, theta: FloatArray, cols: dict[str, FloatArray]) -> FloatArray:
        return pnbd_loglik_rows(theta, cols["frequency"], cols["recency"], cols["T"])

    def _ridge(self, theta: FloatArray) -> tuple[BoolArray, str] | None:
        # A gamma mixing distribution whose shape and rate grow together (ratio
        # fixed) tends to a point mass: the likelihood rises towards that of a
        # homogeneous purchase rate (r, alpha) or dropout rate (s, beta), with
        # its maximum at infinity. Beyond _RIDGE the coefficient of variation
        # 1 / sqrt(shape) of the rate is below 1e-3.
        s, beta = float(theta[2]), float(theta[3])
        return ridge_verdict(
            theta,
            s >= _RIDGE,
            "s and beta diverge together: the data show no heterogeneity in dropout "
            "rates, and the fit is the limit in which every customer's lifetime is "
            f"exponential with the same rate s / beta = {s / beta:.4g} per time unit",
        )

    def expected_residual_lifetime(
        self, data: pd.DataFrame | ArrayLike, discount_rate: float
    ) -> pd.Series | FloatArray:
        """Discounted expected residual transactions (DERT) per customer.

        ``DERT = ∫_T^∞ E[purchase rate at τ | history] e^{-δ(τ-T)} dτ``
        (Fader, Hardie & Lee 2005, "RFM and CLV", eq. 2): the present value,
        in transactions, of a customer's remaining purchases. Multiply by the
        expected margin per transaction to get residual CLV.

        Parameters
        ----------
        data : DataFrame or array_like
            Customer summary with ``frequency``, ``recency``, ``T``.
        discount_rate : float
            Continuously compounded discount rate ``δ`` per time unit of the
            data (> 0). An annual rate ``d`` with weekly data is
            ``δ = log(1 + d) / 52`` (15% a year: ``δ ≈ 0.0027``).

        Returns
        -------
        Series or ndarray
            DERT per customer, indexed like ``data``.

        Examples
        --------
        >>> import numpy as np
        >>> from crmcore.clv import ParetoNBDModel
        >>> model = ParetoNBDModel.from_params(r=0.55, alpha=10.58, s=0.61, beta=11.67)
        >>> dert = model.expected_residual_lifetime(
        ...     np.array([[0, 0.0, 39.0], [5, 38.0, 39.0]]), np.log(1.15) / 52
        ... )
        >>> bool(dert[1] > dert[0])
        True
        """
        self._check_fitted()
        delta = check_scalar(discount_rate, name="discount_rate", low=0, low_inclusive=False)
        summary = self.kernels.read(data)
        x, tx, T = (summary[c] for c in self.kernels.columns)
        return wrap(pnbd_dert(self._theta(), x, tx, T, delta), summary.index, "dert")
