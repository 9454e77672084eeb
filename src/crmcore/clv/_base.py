"""The estimator base class shared by every CLV model.

A concrete model declares its parameter names, the summary columns it reads,
a start point, and a vectorised log-likelihood with its analytic gradient.
This class does the rest: validation, compression of identical rows into
weighted unique rows, time (or money) rescaling for conditioning, L-BFGS-B
over log-parameters, the Hessian and the delta-method standard errors, the
summary table, and JSON persistence.
"""

from __future__ import annotations

import json
import os
import warnings
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from typing import Any, ClassVar, Literal, Self

import numpy as np
import pandas as pd
from scipy import optimize, stats
from sklearn.base import BaseEstimator

from crmcore._deprecation import renamed_columns, warn_renamed
from crmcore._jsonfile import read_json
from crmcore._types import ArrayLike, BoolArray, FloatArray
from crmcore._validation import check_scalar, check_weights
from crmcore.clv._blas import dot, single_threaded_blas
from crmcore.clv._compress import compress_rows, unique_rows
from crmcore.clv._dask import compress_on_dask, is_dask
from crmcore.clv._data import Summary, read_summary, wrap
from crmcore.clv._persist import read_state, write_state
from crmcore.clv._repr import html_table, text_table
from crmcore.errors import (
    ConvergenceError,
    ConvergenceWarning,
    NotFittedError,
    ValidationError,
)

__all__ = ["BaseModel"]

_LOG_BOUND = 30.0
_NOISE = 1e-12  # relative rounding noise of an objective summed over many rows
_MAX_TOL = 1e-3  # a looser projected-gradient tolerance stops wherever the fit starts
_POLISH_STEPS = 8  # plain Newton steps after a trust region stalls at the noise floor


class _Converged(Exception):
    """Raised from the objective to end L-BFGS-B at a point that meets ``gtol``."""

    def __init__(self, result: optimize.OptimizeResult) -> None:
        super().__init__("converged")
        self.result = result


class _GradientWatch:
    """End the optimisation at the first point L-BFGS-B would accept as converged.

    Near the optimum of a likelihood summed over millions of rows, the
    objective's rounding noise (about 1e-16 relative) is as large as the
    decrease a line search can still find: L-BFGS-B may reach a point whose
    projected gradient meets ``gtol`` during a line search and then spend
    dozens of evaluations on failed line searches at the noise floor, ending
    at a point no better. Each evaluation is a pass over every row. This
    watch stops at the first evaluated point inside the bounds whose
    ``max |gradient| <= gtol`` (L-BFGS-B's own convergence test) and whose
    objective is no higher than every earlier value, up to that rounding
    noise (``_NOISE`` relative).
    """

    def __init__(self, gtol: float) -> None:
        self.gtol = gtol
        self.best = np.inf
        self.nit = 0
        self.armed = True

    def iteration(self, intermediate_result: optimize.OptimizeResult) -> None:
        self.nit += 1

    def see(self, phi: FloatArray, f: float, g: FloatArray) -> None:
        if not self.armed:
            return
        if (
            f <= self.best + _NOISE * abs(self.best)
            and float(np.max(np.abs(g))) <= self.gtol
            and bool((np.abs(phi) < _LOG_BOUND).all())
        ):
            raise _Converged(
                optimize.OptimizeResult(
                    x=phi.copy(),
                    fun=f,
                    jac=g.copy(),
                    nit=self.nit + 1,
                    success=True,
                    message="the projected gradient is below gtol",
                )
            )
        self.best = min(self.best, f)


class _NewtonObjective:
    """The per-customer penalised objective in log-parameters, with its Hessian.

    ``f = -LL / N + pen * sum((theta * pc)**2)`` at ``theta = exp(phi)``; the
    chain rule takes the natural-parameter gradient ``g`` and Hessian ``H``
    to ``phi``: ``d f / d phi_i = -g_i theta_i / N + ...`` and
    ``d2 f / d phi_i d phi_j = -(H_ij theta_i theta_j + [i = j] g_i theta_i) / N
    + [i = j] 4 pen (theta_i pc_i)**2``. One evaluation (a pass over the
    rows) serves the value, gradient and Hessian at a point; SciPy asks for
    them separately. As :class:`_GradientWatch` does for L-BFGS-B, the first
    evaluated point that meets the tolerance and is no worse than every
    earlier one (up to rounding noise) ends the search.
    """

    def __init__(
        self, model: BaseModel, prepared: Any, n: float, pen: float, pc: FloatArray
    ) -> None:
        self.model, self.prepared, self.n, self.pen, self.pc = model, prepared, n, pen, pc
        self.key = b""
        self.value: tuple[float, FloatArray, FloatArray, float] = (np.inf, pc, pc, np.nan)
        self.watch: _GradientWatch | None = None

    def __call__(self, phi: FloatArray) -> tuple[float, FloatArray, FloatArray, float]:
        key = phi.tobytes()
        if key != self.key:
            theta = np.exp(phi)
            ll, grad, hess = self.model._loglik_grad_hess(theta, self.prepared)
            pt = theta * self.pc
            f = -ll / self.n + self.pen * float(pt @ pt)
            g = -grad * theta / self.n + 2.0 * self.pen * pt * pt
            h = -(hess * np.outer(theta, theta) + np.diag(grad * theta)) / self.n
            h += np.diag(4.0 * self.pen * pt * pt)
            if not (np.isfinite(f) and np.isfinite(g).all() and np.isfinite(h).all()):
                f = np.inf
            self.key, self.value = key, (float(f), g, h, float(ll))
            if self.watch is not None and np.isfinite(f):
                self.watch.see(phi, float(f), g)
        return self.value

    def minimize(self, phi0: FloatArray, tol: float, max_iter: int) -> optimize.OptimizeResult:
        """Trust-region Newton (SciPy's ``trust-exact``) from ``phi0`` to ``|grad| < tol``.

        Close to the optimum the decrease a step promises falls below the
        rounding noise of the objective (a sum over many rows) and the trust
        region can no longer tell a good step from a bad one; there plain
        Newton steps finish the job, each kept only if it shrinks the gradient.
        """
        self.watch = _GradientWatch(tol)
        try:
            res = optimize.minimize(
                lambda phi: self(phi)[0],
                phi0,
                jac=lambda phi: self(phi)[1],
                hess=lambda phi: self(phi)[2],
                method="trust-exact",
                callback=self.watch.iteration,
                options={"gtol": tol, "maxiter": max_iter},
            )
        except _Converged as done:
            return done.result
        finally:
            self.watch = None
        if res.success or not np.isfinite(res.fun):
            return res
        phi = np.asarray(res.x, dtype=np.float64)
        f, g, h, _ = self(phi)
        for k in range(_POLISH_STEPS):
            if float(np.max(np.abs(g))) <= tol:
                return optimize.OptimizeResult(
                    x=phi, fun=f, jac=g, nit=res.nit + k, success=True, message="Newton steps"
                )
            try:
                np.linalg.cholesky(h)
            except np.linalg.LinAlgError:
                break
            trial = phi - np.linalg.solve(h, g)
            f_t, g_t, h_t, _ = self(trial)
            if not np.isfinite(f_t) or np.max(np.abs(g_t)) >= np.max(np.abs(g)):
                break
            phi, f, g, h = trial, f_t, g_t, h_t
        return res


class BaseModel(BaseEstimator, ABC):  # type: ignore[misc]
    """Maximum-likelihood estimation machinery for the CLV models.

    Parameters
    ----------
    penalizer : float, default 0.0
        L2 penalty on a scale-free footing: the optimiser minimises
        ``-LL / N + penalizer * sum(theta_s**2)``, where ``LL`` is the total
        log-likelihood, ``N`` the (weighted) number of customers and
        ``theta_s`` the natural-scale parameters with every parameter that
        is measured in the data's time units divided by the longest ``T``
        (``alpha`` of BG/NBD, MBG/NBD and Pareto/NBD; ``beta`` of
        Pareto/NBD); shape parameters enter as they are. The estimates and
        every prediction are therefore the same whatever time unit the
        summary is in (hours, days, weeks). The Gamma-Gamma ``gamma`` is
        penalised in the data's money units; BG/BB and sBG count
        opportunities and periods, which have no unit to change. For BG/NBD,
        MBG/NBD and Gamma-Gamma this is ``lifetimes``' ``penalizer_coef``;
        ``lifetimes``' Pareto/NBD divides the log-likelihood by the mean
        weight instead of ``N``, so its ``penalizer_coef = c`` is
        ``penalizer = c / rows`` here. ``0`` gives the maximum-likelihood
        estimate.
    initial_params : mapping of str to float, optional
        Start point on the natural scale (default: the model's own).
    max_iter : int, default 1000
        Maximum number of L-BFGS-B iterations.
    tol : float, default 1e-9
        Tolerance on the projected gradient of the per-customer objective
        (with respect to the log-parameters) at which the fit stops, in
        ``(0, 1e-3]`` (a looser one would accept the starting values).
    on_failure : {"raise", "warn"}, default "raise"
        What a fit that did not converge does: raise
        :class:`~crmcore.errors.ConvergenceError` (carrying the SciPy result),
        or emit :class:`~crmcore.errors.ConvergenceWarning` and keep the last
        iterate with ``converged_ = False``.

    Notes
    -----
    Subclasses declare ``_param_names``, ``_columns`` and ``_default_start``
    and implement ``_loglik_grad`` (total weighted log-likelihood and its
    gradient in the natural parameters); optionally ``_read`` (extra checks),
    ``_fit_rows``, ``_scale``/``_scale_data``/``_param_scale`` (conditioning),
    ``_penalty_scale``, ``_canonical_rows`` (row order, merging) and ``_prepare``
    (per-fit precomputation); ``_stop_at_tol`` for likelihoods over many rows.
    A model with ``_newton_min_rows`` also implements ``_loglik_grad_hess``
    (the analytic Hessian) and is fitted by trust-region Newton when at least
    that many distinct rows enter the likelihood, optionally from a
    fit on a subset of its rows (``_warm_start_rows``); L-BFGS-B is then the
    fallback where Newton does not reach ``tol``.

    ``covariance_log_`` is the inverse Hessian of the total penalised negative
    log-likelihood in log-parameters (central differences of the analytic
    gradient, or the analytic Hessian of a Newton fit); ``covariance_``
    and ``standard_errors_`` follow by the delta method,
    ``cov(theta) = diag(theta) cov_log diag(theta)``. A Hessian that
    is not positive definite (a flat likelihood) gives NaN standard errors and
    a :class:`~crmcore.errors.ConvergenceWarning`. So does an estimate on a
    model's known ridge (``_ridge``: parameters growing together towards a
    simpler limiting model, whose likelihood the estimate attains to machine
    precision); such a fit counts as converged. Rows are put in a canonical
    order before fitting, so the result does not depend on their order.
    """

    _param_names: ClassVar[tuple[str, ...]] = ()
    _columns: ClassVar[tuple[str, ...]] = ()
    _default_start: ClassVar[tuple[float, ...]] = ()
    _compress: ClassVar[bool] = True  # collapse identical rows before fitting
    # Stop at the first evaluated point that improves on every earlier one and
    # meets the gradient tolerance (see _GradientWatch).
    _stop_at_tol: ClassVar[bool] = False
    # The model implements _loglik_grad_hess: from this many rows on, fit by
    # trust-region Newton with the analytic Hessian (L-BFGS-B where Newton
    # fails). On few rows a pass is cheap and L-BFGS-B's lighter iterations win.
    _newton_min_rows: ClassVar[int | None] = None
    # How a Dask summary is fitted: None counts its distinct rows on the cluster and
    # fits them in memory; a model whose rows do not compress gives a function that
    # fits on the cluster and sets the fitted state (model, data, weights).
    _dask_fit: ClassVar[Callable[[Any, Any, Any], None] | None] = None

    def __init__(
        self,
        *,
        penalizer: float = 0.0,
        initial_params: Mapping[str, float] | None = None,
        max_iter: int = 1000,
        tol: float = 1e-9,
        on_failure: Literal["raise", "warn"] = "raise",
    ) -> None:
        self.penalizer = penalizer
        self.initial_params = initial_params
        self.max_iter = max_iter
        self.tol = tol
        self.on_failure = on_failure

    # ------------------------------------------------------------------ hooks
    def _read(self, data: pd.DataFrame | ArrayLike) -> Summary:
        """Validate input (subclasses add model-specific checks)."""
        return read_summary(data, self._columns)

    def _fit_rows(self, summary: Summary, weights: FloatArray) -> tuple[Summary, FloatArray]:
        """Rows that enter the likelihood (default: all)."""
        return summary, weights

    def _check_informative(self, cols: dict[str, FloatArray]) -> None:
        """Refuse data whose likelihood cannot depend on the parameters (default: none).

        Called on the rows that enter the likelihood, before optimising: a
        flat likelihood would leave the optimiser at its start and call that
        converged.
        """

    def _scale(self, cols: dict[str, FloatArray]) -> float:
        """Return a positive scale that brings the data to order one (default 1)."""
        return 1.0

    def _scale_data(self, cols: dict[str, FloatArray], s: float) -> dict[str, FloatArray]:
        return cols

    def _param_scale(self, s: float) -> FloatArray:
        """Multipliers taking parameters fitted on scaled data to the data's units."""
        return np.ones(len(self._param_names))

    def _penalty_scale(self, s: float) -> FloatArray:
        """Multipliers taking fitted (scaled) parameters to the penalised scale.

        The default penalises the parameters in the data's units.
        """
        return self._param_scale(s)

    def _prepare(self, cols: dict[str, FloatArray], weights: FloatArray) -> Any:
        """Precompute whatever the likelihood reuses across evaluations."""
        return (cols, weights)

    @abstractmethod
    def _loglik_grad(self, theta: FloatArray, prepared: Any) -> tuple[float, FloatArray]:
        """Total weighted log-likelihood and its gradient in ``theta``."""

    @abstractmethod
    def _loglik_rows(self, theta: FloatArray, cols: dict[str, FloatArray]) -> FloatArray:
        """Log-likelihood of each row of validated summary columns (unweighted)."""

    def _loglik_grad_hess(
        self, theta: FloatArray, prepared: Any
    ) -> tuple[float, FloatArray, FloatArray]:
        """Total log-likelihood, gradient and Hessian in ``theta`` (Newton models)."""
        raise NotImplementedError(f"{type(self).__name__} has no analytic Hessian")

    def _warm_start_rows(self, prepared: Any) -> tuple[Any, float] | None:
        """Return a small, order-independent subset of the prepared rows and its weight, or None.

        For a Newton fit, the estimate on these rows is the start of the fit
        on all rows, so that only the last few Newton steps pass over every row.
        """
        return None

    def _loglik_in_data_units(self, ll_scaled: float, s: float, n_total: float) -> float | None:
        """Return the log-likelihood in the data's units from the one on scaled data, if known.

        Default ``None``: evaluated again on the unscaled rows.
        """
        return None

    def _fit_newton(
        self,
        prepared: Any,
        phi0: FloatArray,
        fit_args: tuple[float, float, FloatArray, float, int],
    ) -> tuple[optimize.OptimizeResult, FloatArray, float] | None:
        """Newton fit: the result, the Hessian (total, in log-parameters) and the LL.

        ``None`` when Newton does not reach ``tol`` inside the parameter box,
        and the caller falls back to L-BFGS-B (which also reports why).
        """
        n_total, pen, pc, tol, max_iter = fit_args
        small = self._warm_start_rows(prepared)
        with warnings.catch_warnings():
            # a step that overflows is rejected by the trust region, not an error
            warnings.simplefilter("ignore", RuntimeWarning)
            try:
                if small is not None:
                    part = _NewtonObjective(self, small[0], small[1], pen, pc)
                    res = part.minimize(phi0, 1e-6, max_iter)
                    if res.success and bool((np.abs(res.x) < _LOG_BOUND).all()):
                        phi0 = np.asarray(res.x, dtype=np.float64)
                whole = _NewtonObjective(self, prepared, n_total, pen, pc)
                res = whole.minimize(phi0, tol, max_iter)
            except (np.linalg.LinAlgError, ValueError, OverflowError):
                return None
        phi = np.asarray(res.x, dtype=np.float64)
        if not (res.success and np.isfinite(res.fun) and bool((np.abs(phi) < _LOG_BOUND).all())):
            return None
        _, _, hess, ll = whole(phi)
        return res, hess * n_total, ll

    def _canonical_rows(
        self, cols: dict[str, FloatArray], weights: FloatArray
    ) -> tuple[dict[str, FloatArray], FloatArray]:
        """Return the rows with a positive weight, in a canonical order.

        Lexicographic in the columns, then the weight: the optimiser sees
        bit-identical input whatever the order of the customers, so the
        estimate and the convergence verdict cannot depend on it. Weights are
        whole numbers, so their sums are exact too.
        """
        keep = weights > 0
        order = np.lexsort((weights, *reversed(list(cols.values()))))
        order = order[keep[order]]
        return {k: v[order] for k, v in cols.items()}, weights[order]

    def _ridge(self, theta: FloatArray) -> tuple[BoolArray, str] | None:
        """Recognise an estimate on a known ridge of the likelihood (default: none).

        A model whose likelihood is maximised at infinity along a known
        direction (parameters growing together towards a simpler limiting
        model) returns the mask of those parameters and a sentence saying
        what the limit means. ``theta`` is on the natural scale.
        """
        return None

    # -------------------------------------------------------------- fitting
    def _check_hyper(self) -> tuple[float, int, float]:
        pen = check_scalar(self.penalizer, name="penalizer", low=0.0)
        max_iter = int(check_scalar(self.max_iter, name="max_iter", low=1, integer=True))
        tol = check_scalar(self.tol, name="tol", low=0.0, low_inclusive=False, high=_MAX_TOL)
        if self.on_failure not in ("raise", "warn"):
            raise ValidationError(
                f"on_failure must be 'raise' or 'warn'; got {self.on_failure!r}",
                field="on_failure",
                value=self.on_failure,
            )
        return pen, max_iter, tol

    def _start(self, scale: FloatArray) -> FloatArray:
        if self.initial_params is None:
            return np.array(self._default_start, dtype=np.float64)
        missing = [p for p in self._param_names if p not in self.initial_params]
        if missing:
            raise ValidationError(
                f"initial_params is missing {', '.join(missing)}", field="initial_params"
            )
        unknown = [str(p) for p in self.initial_params if p not in self._param_names]
        if unknown:
            raise ValidationError(
                f"initial_params has unknown name(s) {', '.join(unknown)}; "
                f"{type(self).__name__} has {', '.join(self._param_names)}",
                field="initial_params",
            )
        start = np.array(
            [
                check_scalar(
                    self.initial_params[p],
                    name=f"initial_params[{p!r}]",
                    low=0.0,
                    low_inclusive=False,
                )
                for p in self._param_names
            ]
        )
        return start / scale

    def fit(self, data: pd.DataFrame | ArrayLike, weights: ArrayLike | None = None) -> BaseModel:
        """Estimate the parameters by maximum likelihood.

        Parameters
        ----------
        data : DataFrame, array_like or dask.dataframe.DataFrame
            Customer summary (see :func:`~crmcore.clv.rfm_summary`) or a 2-D
            array with the model's columns in order. A Dask summary is
            collapsed to its distinct rows with counts on the cluster; only
            that small table is collected and fitted, with the same result
            as fitting the whole summary in memory.
        weights : array_like, optional
            Number of customers each row stands for (whole numbers >= 0).
            Not with a Dask summary (its rows are counted on the cluster).

        Returns
        -------
        self
            The fitted model.

        Raises
        ------
        ValidationError
            For invalid data, weights or hyper-parameters.
        ConvergenceError
            If the optimiser did not converge and ``on_failure="raise"``.
        """
        pen, max_iter, tol = self._check_hyper()
        if is_dask(data):
            dask_fit = type(self)._dask_fit
            if dask_fit is not None:
                dask_fit(self, data, weights)
                return self
            data, weights = compress_on_dask(data, self._columns, weights)
        summary = self._read(data)
        w = check_weights(weights, summary.n)
        summary, w = self._fit_rows(summary, w)
        if self._compress:
            cols, w_u, _ = compress_rows(summary.columns, w)
        else:
            cols, w_u = summary.columns, w
        cols, w_u = self._canonical_rows(cols, w_u)
        n_total = float(w_u.sum())
        self._check_informative(cols)
        s = self._scale(cols)
        c = self._param_scale(s)
        pc = self._penalty_scale(s)
        prepared = self._prepare(self._scale_data(cols, s), w_u)
        phi0 = np.log(self._start(c))
        watch = _GradientWatch(tol) if self._stop_at_tol else None

        def objective(phi: FloatArray) -> tuple[float, FloatArray]:
            theta = np.exp(phi)
            ll, grad = self._loglik_grad(theta, prepared)
            pt = theta * pc
            f = -ll / n_total + pen * float(pt @ pt)
            g = -grad * theta / n_total + 2.0 * pen * pt * pt
            if not np.isfinite(f):
                return np.inf, np.zeros_like(phi)
            if watch is not None:
                watch.see(phi, f, g)
            return f, g

        bounds = [(-_LOG_BOUND, _LOG_BOUND)] * len(phi0)
        newton = None
        if self._newton_min_rows is not None and w_u.size >= self._newton_min_rows:
            with single_threaded_blas():
                newton = self._fit_newton(prepared, phi0, (n_total, pen, pc, tol, max_iter))
        if newton is not None:
            res, hess, ll_scaled = newton
            phi = np.asarray(res.x, dtype=np.float64)
            g_final = np.asarray(res.jac, dtype=np.float64)
        else:
            with single_threaded_blas():
                try:
                    res = optimize.minimize(
                        objective,
                        phi0,
                        jac=True,
                        method="L-BFGS-B",
                        bounds=bounds,
                        callback=None if watch is None else watch.iteration,
                        options={"maxiter": max_iter, "ftol": 1e-15, "gtol": tol, "maxcor": 20},
                    )
                except _Converged as done:
                    res = done.result
                if watch is not None:
                    watch.armed = False
                phi = np.asarray(res.x, dtype=np.float64)
                _, g_final = objective(phi)
                hess = self._hessian(objective, phi) * n_total
            ll_scaled = None
        at_bound = np.abs(phi) >= _LOG_BOUND * (1 - 1e-9)
        ridge = self._ridge(np.exp(phi) * c) if np.isfinite(res.fun) else None
        on_ridge = np.zeros(phi.size, dtype=bool) if ridge is None else ridge[0]
        # On a ridge the optimiser may stop anywhere far out along it (the
        # likelihood there equals its limit to machine precision); only the
        # other parameters must have converged.
        free = ~on_ridge
        converged = (
            bool(np.isfinite(res.fun))
            and not (at_bound & free).any()
            and (
                bool(res.success)
                or float(np.max(np.abs(g_final[free]), initial=0.0)) <= max(tol, 1e-6)
            )
        )
        if not converged:
            self._not_converged(res, at_bound, f"{res.nit} iterations", str(res.message))
        theta_scaled = np.exp(phi)
        theta = theta_scaled * c
        ll = None if ll_scaled is None else self._loglik_in_data_units(ll_scaled, s, n_total)
        if ll is None:
            ll, _ = self._loglik_grad(theta, self._prepare(cols, w_u))
        if ridge is not None and converged:
            warnings.warn(
                f"{type(self).__name__}: {ridge[1]} ({self._describe_params(theta)}); the "
                "estimate is that limit, standard errors are undefined (reported as NaN)",
                ConvergenceWarning,
                stacklevel=2,
            )
        k = len(self._param_names)
        undefined = ridge is not None and converged
        self._set_state(
            dict(zip(self._param_names, map(float, theta), strict=True)),
            log_likelihood=float(ll),
            converged=converged,
            n_iter=int(res.nit),
            n_customers=round(n_total),  # weights are whole numbers: a count
            covariance_log=np.full((k, k), np.nan)
            if undefined
            else self._invert_hessian(hess, theta),
        )
        return self

    def _not_converged(
        self, result: Any, at_bound: BoolArray, after: str, why: str, *, depth: int = 1
    ) -> None:
        """Raise ConvergenceError or warn (``on_failure``) for a fit that did not converge.

        ``result`` is the optimiser's result (carried by the error), ``after``
        how far it went ("12 iterations"), ``why`` its reason, replaced by the
        parameters that ran off to the bounds of the log-parameters if any.
        The warning points ``depth`` frames above the caller (at the caller of ``fit``).
        """
        if at_bound.any():
            names = ", ".join(np.array(self._param_names)[at_bound])
            why = f"{names} ran off to the edge of the parameter space"
        units = "money" if self._columns == ("frequency", "monetary_value") else "time"
        msg = (
            f"{type(self).__name__}.fit did not converge after {after} ({why}); the maximum "
            "may lie at infinity (too little data) - try other initial_params, a small "
            f"penalizer, or check the data's {units} units"
        )
        if self.on_failure == "raise":
            raise ConvergenceError(msg, result=result)
        warnings.warn(msg, ConvergenceWarning, stacklevel=2 + depth)

    @staticmethod
    def _hessian(fun: Any, phi: FloatArray) -> FloatArray:
        """Central differences of the analytic gradient in log-parameters."""
        k = phi.size
        H = np.empty((k, k))
        for j in range(k):
            h = 1e-5 * max(1.0, abs(phi[j]))
            up, down = phi.copy(), phi.copy()
            up[j] += h
            down[j] -= h
            H[:, j] = (fun(up)[1] - fun(down)[1]) / (2.0 * h)
        return np.asarray(0.5 * (H + H.T), dtype=np.float64)

    def _invert_hessian(
        self, hess: FloatArray, theta: FloatArray, *, depth: int = 1
    ) -> FloatArray:
        names = self._param_names
        try:
            np.linalg.cholesky(hess)
            cov_log = np.linalg.inv(hess)
        except np.linalg.LinAlgError:
            warnings.warn(
                f"{type(self).__name__}: the Hessian at the optimum is not positive definite "
                "(the likelihood is flat in some direction, e.g. parameters growing together "
                f"without bound: {self._describe_params(theta)}); standard errors are "
                "undefined (reported as NaN)",
                ConvergenceWarning,
                stacklevel=2 + depth,
            )
            cov_log = np.full((len(names), len(names)), np.nan)
        return np.asarray(cov_log, dtype=np.float64)

    def _describe_params(self, theta: FloatArray) -> str:
        return ", ".join(f"{k}={v:.4g}" for k, v in zip(self._param_names, theta, strict=True))

    # -------------------------------------------------------------- queries
    def _check_fitted(self) -> dict[str, float]:
        if not hasattr(self, "params_"):
            raise NotFittedError(
                f"this {type(self).__name__} is not fitted yet; call fit(data) first"
            )
        params: dict[str, float] = self.params_
        return params

    def log_likelihood(
        self,
        data: pd.DataFrame | ArrayLike,
        *,
        per_customer: bool = False,
        weights: ArrayLike | None = None,
    ) -> float | pd.Series | FloatArray:
        """Log-likelihood of ``data`` at the model's parameters.

        The same likelihood the fit maximises, without the penalty: on the
        data the model was fitted to (with the same ``weights``) the total is
        ``log_likelihood_``. Identical rows are evaluated once.

        Parameters
        ----------
        data : DataFrame or array_like
            As for :meth:`fit`.
        per_customer : bool, default False
            Return each row's log-likelihood (unweighted) instead of the
            weighted total.
        weights : array_like, optional
            Number of customers each row stands for (the total only).

        Returns
        -------
        float, Series or ndarray
            The total, or one value per row indexed like ``data`` (an array
            for array input).

        Raises
        ------
        ValidationError
            For invalid data or weights.
        NotFittedError
            If the model has neither been fitted nor built by
            :meth:`from_params`.
        """
        params = self._check_fitted()
        if not isinstance(per_customer, bool | np.bool_):
            raise ValidationError(
                f"per_customer must be True or False; got {per_customer!r}",
                field="per_customer",
                value=per_customer,
            )
        summary = self._read(data)
        w = check_weights(weights, summary.n)
        theta = np.array([params[p] for p in self._param_names], dtype=np.float64)
        uniq, inv = unique_rows(*summary.columns.values())
        cols = dict(zip(summary.columns, (np.asarray(u, np.float64) for u in uniq), strict=True))
        rows = np.asarray(self._loglik_rows(theta, cols), dtype=np.float64)[inv]
        if per_customer:
            return wrap(rows, summary.index, "log_likelihood")
        return dot(w, rows)

    @classmethod
    def from_params(cls, **params: float) -> Self:
        """Build a model with given parameters, ready for every query, without fitting.

        The model answers every query, saves (:meth:`to_dict`, :meth:`save`)
        and evaluates :meth:`log_likelihood` like a fitted one. It has no
        standard errors (NaN; parameter draws and the intervals that need
        them are refused), ``log_likelihood_`` is NaN, ``n_customers_`` and
        ``n_iter_`` are 0, ``converged_`` is True.

        Parameters
        ----------
        **params : float
            Every parameter of the model, by name, on the natural scale
            (e.g. ``r``, ``alpha``, ``a``, ``b`` for :class:`BetaGeoModel`).

        Returns
        -------
        BaseModel
            A model of this class.

        Raises
        ------
        ValidationError
            For a missing or unknown parameter, or a value that is not a
            finite number > 0.

        Examples
        --------
        >>> from crmcore.clv import BetaGeoModel
        >>> model = BetaGeoModel.from_params(r=0.243, alpha=4.414, a=0.793, b=2.426)
        >>> round(float(model.expected_purchases(39, [[2, 30.43, 38.86]])[0]), 3)
        1.226
        """
        missing = [p for p in cls._param_names if p not in params]
        unknown = [str(p) for p in params if p not in cls._param_names]
        if missing or unknown:
            raise ValidationError(
                f"{cls.__name__}.from_params needs exactly {', '.join(cls._param_names)}"
                + (f"; missing {', '.join(missing)}" if missing else "")
                + (f"; unknown {', '.join(unknown)}" if unknown else ""),
                field=(missing or unknown)[0],
            )
        values = {
            p: check_scalar(params[p], name=p, low=0.0, low_inclusive=False)
            for p in cls._param_names
        }
        k = len(cls._param_names)
        model = cls()
        model._set_state(
            values,
            log_likelihood=np.nan,
            converged=True,
            n_iter=0,
            n_customers=0,
            covariance_log=np.full((k, k), np.nan),
        )
        return model

    def summary(self, *, confidence: float = 0.95, alpha: float | None = None) -> pd.DataFrame:
        """Parameter table with standard errors and confidence intervals.

        Intervals are computed on the log scale and transformed back
        (``exp(log(coef) ± z * se_log)``), so they are always positive.

        Parameters
        ----------
        confidence : float, default 0.95
            Confidence level of the intervals, in ``(0, 1)``.
        alpha : float, optional
            Deprecated: one minus the confidence level; give ``confidence``
            instead (``alpha=0.05`` is ``confidence=0.95``).

        Returns
        -------
        DataFrame
            Indexed by parameter name: ``coef``, ``se``, ``ci_low``,
            ``ci_high``. (The bounds were called ``lower`` and ``upper``;
            those names still work, with a ``DeprecationWarning``, until
            crmcore 0.3.0.)
        """
        params = self._check_fitted()
        if alpha is not None:
            warn_renamed(f"{type(self).__name__}.summary()", "alpha=", "confidence=1 - alpha")
            alpha = check_scalar(
                alpha, name="alpha", low=0, high=1, low_inclusive=False, high_inclusive=False
            )
            confidence = 1.0 - alpha
        confidence = check_scalar(
            confidence,
            name="confidence",
            low=0,
            high=1,
            low_inclusive=False,
            high_inclusive=False,
        )
        zq = float(stats.norm.ppf((1.0 + confidence) / 2.0))
        coef = np.array(list(params.values()))
        se_log = np.sqrt(np.diag(self.covariance_log_.to_numpy()))
        table = pd.DataFrame(
            {
                "coef": coef,
                "se": np.array(list(self.standard_errors_.values())),
                "ci_low": coef * np.exp(-zq * se_log),
                "ci_high": coef * np.exp(zq * se_log),
            },
            index=pd.Index(list(params), name="param"),
        )
        return renamed_columns(
            table,
            {"lower": "ci_low", "upper": "ci_high"},
            where=f"{type(self).__name__}.summary()",
        )

    # ------------------------------------------------------------ display
    def __repr__(self, N_CHAR_MAX: int = 700) -> str:
        """scikit-learn's repr; once fitted, also the fit and the parameters."""
        head: str = super().__repr__(N_CHAR_MAX=N_CHAR_MAX)
        if not hasattr(self, "params_"):
            return head
        return text_table(self, head)

    def _repr_html_(self) -> str:
        """HTML for notebooks: the fit and a parameter table (scikit-learn's when unfitted)."""
        if not hasattr(self, "params_"):
            return str(super()._html_repr())
        return html_table(self, super().__repr__())

    def _repr_mimebundle_(self, **kwargs: Any) -> dict[str, str]:
        """Return what Jupyter displays: :meth:`__repr__` and :meth:`_repr_html_`."""
        return {"text/plain": repr(self), "text/html": self._repr_html_()}

    # ---------------------------------------------------------- persistence
    def _set_state(
        self,
        params: Mapping[str, float],
        *,
        log_likelihood: float,
        converged: bool,
        n_iter: int,
        n_customers: int,
        covariance_log: FloatArray,
    ) -> None:
        """Set the fitted attributes (from a fit's result, a saved state or given values)."""
        names = list(self._param_names)
        theta = np.array([params[p] for p in names], dtype=np.float64)
        self.params_ = {p: float(params[p]) for p in names}
        self.log_likelihood_ = float(log_likelihood)
        self.converged_ = bool(converged)
        self.n_iter_ = int(n_iter)
        self.n_customers_ = int(n_customers)
        self.covariance_log_ = pd.DataFrame(covariance_log, index=names, columns=names)
        self.covariance_ = pd.DataFrame(
            covariance_log * np.outer(theta, theta), index=names, columns=names
        )
        se = np.sqrt(np.diag(self.covariance_.to_numpy()))
        self.standard_errors_ = dict(zip(names, map(float, se), strict=True))

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-serialisable description of the fitted model.

        Returns
        -------
        dict
            Model name, schema version, hyper-parameters and fitted state.
        """
        self._check_fitted()
        return write_state(self)

    @classmethod
    def from_dict(cls, state: Mapping[str, Any]) -> BaseModel:
        """Rebuild a fitted model from :meth:`to_dict` output.

        Raises
        ------
        ValidationError
            If ``state`` describes another model, is incomplete, or holds a
            value of the wrong kind (each is checked before it is converted).
        SchemaVersionError
            If it was written by an incompatible schema version.
        """
        saved = read_state(cls.__name__, cls._param_names, state)
        try:
            model = cls(**saved.hyper_parameters)
        except TypeError as exc:
            raise ValidationError(
                f"bad {cls.__name__} hyper_parameters: {exc}", field="hyper_parameters"
            ) from exc
        model._set_state(
            saved.params,
            log_likelihood=saved.log_likelihood,
            converged=saved.converged,
            n_iter=saved.n_iter,
            n_customers=saved.n_customers,
            covariance_log=saved.covariance_log,
        )
        return model

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write the fitted model to ``path`` as JSON."""
        with open(path, "w", encoding="utf-8") as fh:
            json.dump(self.to_dict(), fh, indent=2, allow_nan=False)

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> BaseModel:
        """Read a model written by :meth:`save`.

        Raises
        ------
        ValidationError
            A missing file, bytes that are not UTF-8, text that is not strict
            JSON, or a state :meth:`from_dict` refuses.
        """
        return cls.from_dict(read_json(path, what=f"{cls.__name__} file"))
