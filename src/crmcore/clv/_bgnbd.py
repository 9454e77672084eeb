"""BG/NBD and MBG/NBD estimators (thin wrappers over ``_bgfamily``)."""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from crmcore._types import BoolArray, FloatArray
from crmcore.clv._bgfamily import BGData, BGKernels, bg_loglik_grad, bg_loglik_rows, prepare_bg
from crmcore.clv._kernels import PurchaseKernels
from crmcore.clv._transaction import TransactionModel

__all__ = ["BetaGeoModel", "ModifiedBetaGeoModel"]

_RIDGE = 1e6  # mixing parameters beyond this: the no-heterogeneity ridge


def ridge_verdict(
    theta: FloatArray, second: bool, second_text: str
) -> tuple[BoolArray, str] | None:
    """Return the ``_ridge`` verdict of a model whose first two parameters are ``r, alpha``.

    ``r, alpha`` are on their ridge past ``_RIDGE``; ``second`` says whether
    the other mixing distribution's two parameters are on theirs, and
    ``second_text`` what that limit means.
    """
    r, alpha = float(theta[0]), float(theta[1])
    on = (r >= _RIDGE, second)
    if not any(on):
        return None
    what = []
    if on[0]:
        what.append(
            "r and alpha diverge together: the data show no heterogeneity in purchase "
            "rates, and the fit is the limit in which every customer buys at the same "
            f"rate r / alpha = {r / alpha:.4g} per time unit"
        )
    if second:
        what.append(second_text)
    return np.repeat(on, 2), "; ".join(what)


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
        # alpha in units of the longest T (as lifetimes): the penalty, and so
        # the fit, does not depend on the data's time unit.
        return np.ones(4)

    def _prepare(self, cols: dict[str, FloatArray], weights: FloatArray) -> BGData:
        return prepare_bg(cols["frequency"], cols["recency"], cols["T"], weights, s=self._shift)

    def _loglik_grad(self, theta: FloatArray, prepared: Any) -> tuple[float, FloatArray]:
        return bg_loglik_grad(theta, prepared, self._shift)

    def _loglik_rows(self, theta: FloatArray, cols: dict[str, FloatArray]) -> FloatArray:
        x, tx, T = cols["frequency"], cols["recency"], cols["T"]
        return bg_loglik_rows(theta, x, tx, T, s=self._shift)

    def _ridge(self, theta: FloatArray) -> tuple[BoolArray, str] | None:
        # A gamma or beta mixing distribution whose two parameters grow together
        # (ratio fixed) tends to a point mass: the likelihood rises towards that
        # of a homogeneous purchase rate (r, alpha) or dropout probability (a, b)
        # and its maximum lies at infinity. Beyond _RIDGE the mixing spread
        # (coefficient of variation 1 / sqrt(r), or sd of p below 1e-3) is nil.
        a, b = float(theta[2]), float(theta[3])
        return ridge_verdict(
            theta,
            min(a, b) >= _RIDGE,
            "a and b diverge together: the data show no heterogeneity in the dropout "
            "probability, and the fit is the limit in which every customer drops out "
            f"with the same probability p = a / (a + b) = {a / (a + b):.4g} after a purchase",
        )


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
        L2 penalty on ``(r, alpha / max(T), a, b)``, the scale of ``lifetimes``'
        ``penalizer_coef`` (see Notes).
    initial_params : mapping, optional
        Start point ``{"r", "alpha", "a", "b"}`` in the data's units.
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
    The objective is ``-LL/N + penalizer * (r² + (α/max T)² + a² + b²)``:
    ``alpha`` measured in units of the longest ``T``, so the estimates and
    predictions do not depend on the data's time unit — exactly
    ``lifetimes``' ``penalizer_coef``.

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

    kernels: ClassVar[PurchaseKernels] = BGKernels(s=0)


class ModifiedBetaGeoModel(_BGFamily):
    """The MBG/NBD model of Batislam, Denizel & Filiztekin (2007).

    As :class:`BetaGeoModel`, but a customer may also become inactive right
    after the first purchase (time 0), so customers without repeat purchases
    are not all assumed active. Likelihood as corrected by Wagner & Hoppe
    (2008, "Erratum on the MBG/NBD model").

    Parameters
    ----------
    penalizer : float, default 0.0
        L2 penalty on ``(r, alpha / max(T), a, b)``, as :class:`BetaGeoModel`.
    initial_params : mapping, optional
        Start point ``{"r", "alpha", "a", "b"}`` in the data's units.
    max_iter : int, default 1000
        Maximum number of optimiser iterations.
    tol : float, default 1e-9
        Projected-gradient tolerance, in ``(0, 1e-3]``.
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
    kernels: ClassVar[PurchaseKernels] = BGKernels(s=1)
