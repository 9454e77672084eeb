"""The shifted-beta-geometric (sBG) model of contract duration.

Fader & Hardie (2007), "How to project customer retention", Journal of
Interactive Marketing 21(1) (FH 2007): each customer renews at the end of
every period with a constant probability ``1 - θ``; ``θ ~ Beta(α, β)`` across
customers. With ``T`` the period in which a customer churns (eq. 3-5)::

    P(T = t) = B(α+1, β+t-1) / B(α, β),      t = 1, 2, ...
    S(t)     = B(α, β+t) / B(α, β)
    r_t      = S(t) / S(t-1) = (β+t-1) / (α+β+t-1)

Residual value: Fader & Hardie (2010), "Customer-base valuation in a
contractual setting: the perils of ignoring heterogeneity", Marketing
Science 29(1), eq. 6 (FH 2010).
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import pandas as pd
from scipy import special

from crmcore._types import ArrayLike, FloatArray
from crmcore._validation import as_float_array, check_nonnegative, check_scalar, first_bad
from crmcore.clv._base import BaseModel
from crmcore.clv._data import Summary
from crmcore.errors import ValidationError

__all__ = ["ShiftedBetaGeoModel", "sbg_derl", "sbg_survival"]

_DERL_TOL = 1e-17
# Terms of the direct sum; what has not converged by then (a discount rate
# near 0, where the ratio tends to 1) is evaluated by scipy's hyp2f1, which
# uses the 1 - z transformations there.
_DERL_MAX = 20_000


def sbg_survival(alpha: float, beta: float, t: FloatArray) -> FloatArray:
    """``S(t) = B(α, β+t) / B(α, β)`` (FH 2007 eq. 5)."""
    return np.asarray(np.exp(special.betaln(alpha, beta + t) - special.betaln(alpha, beta)))


def sbg_derl(alpha: float, beta: float, d: float, renewals: FloatArray) -> FloatArray:
    """DERL for customers who have made ``n - 1 = renewals`` renewals (FH 2010 eq. 6).

    ``DERL = sum_{t>=n} S(t)/S(n-1) (1+d)^-(t-n)
    = (β+n-1)/(α+β+n-1) · 2F1(1, β+n; α+β+n; 1/(1+d))``; the series has
    positive terms with ratio ``(β+t)/(α+β+t) / (1+d) < 1/(1+d)`` and is
    summed directly (vectorised over ``renewals``); entries it has not
    converged for after ``_DERL_MAX`` terms (small ``d``) are taken from
    :func:`scipy.special.hyp2f1` instead of being truncated.
    """
    n = np.asarray(renewals, dtype=np.float64) + 1.0
    z = 1.0 / (1.0 + d)
    shape = n.shape
    nf = n.ravel()
    term = np.ones(nf.size)
    total = np.ones(nf.size)
    active = np.arange(nf.size)
    for k in range(_DERL_MAX):
        ratio = (beta + nf[active] + k) / (alpha + beta + nf[active] + k) * z
        t_new = term[active] * ratio
        term[active] = t_new
        total[active] += t_new
        # Remaining tail <= t_new * z / (1 - z).
        done = t_new * z <= _DERL_TOL * total[active] * (1.0 - z)
        active = active[~done]
        if active.size == 0:
            break
    if active.size:
        na = nf[active]
        total[active] = special.hyp2f1(1.0, beta + na, alpha + beta + na, z)
    first = (beta + nf - 1.0) / (alpha + beta + nf - 1.0)
    return np.asarray((first * total).reshape(shape), dtype=np.float64)


def _survivor_rows(survivors: Any) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Turn one or several survivor series into (period, churned, count) rows."""
    if isinstance(survivors, pd.DataFrame):
        # Only trailing NaN (cohorts of different lengths) are cut; a gap
        # inside a series stays and is refused below, never closed up.
        series = []
        for c in survivors.columns:
            present = survivors[c].notna().to_numpy()
            end = present.size - int(np.argmax(present[::-1])) if present.any() else 0
            series.append(survivors[c].iloc[:end])
    elif isinstance(survivors, pd.Series):
        series = [survivors]
    else:
        arr = survivors if isinstance(survivors, list | tuple) else [survivors]
        if arr and np.ndim(arr[0]) == 0:
            arr = [arr]
        series = list(arr)
    if not series:
        raise ValidationError("survivors is empty", field="survivors")
    periods, churned, counts = [], [], []
    for j, raw in enumerate(series):
        name = "survivors" if len(series) == 1 else f"survivors[{j}]"
        s = as_float_array(raw, name=name)
        if s.size < 2:
            raise ValidationError(
                f"{name} needs the cohort size and at least one later count; got {s.size} values",
                field=name,
            )
        check_nonnegative(s, name=name)
        first_bad(
            s != np.round(s),
            name=name,
            problem="must be whole numbers of customers (scale percentages by the cohort size)",
            values=s,
            row_name="period",
            index=list(range(s.size)),
        )
        first_bad(
            np.diff(s) > 0,
            name=name,
            problem="must not increase from one period to the next",
            values=s[1:],
            row_name="period",
            index=list(range(1, s.size)),
        )
        if s[0] <= 0:
            raise ValidationError(f"{name}[0] (cohort size) must be > 0", field=name, value=s[0])
        t = np.arange(1, s.size, dtype=np.float64)
        periods += [t, t[-1:]]
        churned += [np.ones(t.size), np.zeros(1)]
        counts += [-np.diff(s), s[-1:]]
    return np.concatenate(periods), np.concatenate(churned), np.concatenate(counts)


class ShiftedBetaGeoModel(BaseModel):
    """Shifted-beta-geometric model of contract renewal (Fader & Hardie 2007).

    Fitted on cohort survivor counts: ``survivors[t]`` customers of a cohort
    are still active at the start of period ``t`` (``survivors[0]`` is the
    cohort size). Several cohorts (of different lengths) share one
    ``(alpha, beta)``.

    Parameters
    ----------
    penalizer : float, default 0.0
        L2 penalty on ``(alpha, beta)`` per customer (see :class:`BaseModel`).
    initial_params : mapping, optional
        Start point ``{"alpha", "beta"}``.
    max_iter : int, default 1000
        Maximum number of optimiser iterations.
    tol : float, default 1e-9
        Projected-gradient tolerance, in ``(0, 1e-3]``.
    on_failure : {"raise", "warn"}, default "raise"
        Raise or warn when the fit does not converge.

    Attributes
    ----------
    params_ : dict
        ``alpha``, ``beta``.
    log_likelihood_, standard_errors_, covariance_, converged_, n_iter_
        As for :class:`BetaGeoModel`.
    cohort_size_ : int
        Size of the first cohort (used by :meth:`project`).

    Examples
    --------
    >>> from crmcore.clv import ShiftedBetaGeoModel
    >>> regular = [1000, 631, 468, 382, 326, 289, 262, 241]
    >>> model = ShiftedBetaGeoModel().fit(regular)
    >>> round(model.params_["alpha"], 3), round(model.params_["beta"], 3)
    (0.704, 1.182)
    >>> round(float(model.survival(12)), 3)
    0.17
    """

    _param_names: ClassVar[tuple[str, ...]] = ("alpha", "beta")
    _columns: ClassVar[tuple[str, ...]] = ("period", "churned")
    _default_start: ClassVar[tuple[float, ...]] = (1.0, 1.0)

    def _read(self, data: pd.DataFrame | ArrayLike) -> Summary:
        arr = np.asarray(data, dtype=np.float64)
        return Summary({"period": arr[:, 0], "churned": arr[:, 1]}, None)

    def _prepare(self, cols: dict[str, FloatArray], weights: FloatArray) -> Any:
        return cols["period"], cols["churned"] > 0, weights

    def _loglik_grad(self, theta: FloatArray, prepared: Any) -> tuple[float, FloatArray]:
        t, churned, w = prepared
        a, b = float(theta[0]), float(theta[1])
        psi_ab = special.digamma(a + b)
        # churn in t: B(a+1, b+t-1)/B(a, b); survive t: B(a, b+t)/B(a, b).
        a1 = np.where(churned, a + 1.0, a)
        b1 = np.where(churned, b + t - 1.0, b + t)
        ll = float(w @ (special.betaln(a1, b1) - special.betaln(a, b)))
        psi_sum = special.digamma(a1 + b1)
        g_a = float(w @ (special.digamma(a1) - psi_sum)) - w.sum() * (special.digamma(a) - psi_ab)
        g_b = float(w @ (special.digamma(b1) - psi_sum)) - w.sum() * (special.digamma(b) - psi_ab)
        return ll, np.array([g_a, g_b])

    def _loglik_rows(self, theta: FloatArray, cols: dict[str, FloatArray]) -> FloatArray:
        a, b = float(theta[0]), float(theta[1])
        t, churned = cols["period"], cols["churned"] > 0
        a1 = np.where(churned, a + 1.0, a)
        b1 = np.where(churned, b + t - 1.0, b + t)
        return np.asarray(special.betaln(a1, b1) - special.betaln(a, b), dtype=np.float64)

    def log_likelihood(  # type: ignore[override]
        self,
        survivors: ArrayLike | pd.DataFrame | list[ArrayLike],
        *,
        per_customer: bool = False,
        weights: None = None,
    ) -> float | pd.DataFrame:
        """Log-likelihood of survivor counts at the model's parameters (FH 2007 eq. 6).

        Parameters
        ----------
        survivors : array_like, list of array_like, or DataFrame
            As for :meth:`fit`.
        per_customer : bool, default False
            Return a table instead of the total: one row per cohort period
            with ``period``, ``churned`` (1: churned in that period, 0: still
            active at the last one), ``n_customers`` and ``log_likelihood``
            (of one such customer).
        weights : None
            Not used (the counts are the weights).

        Returns
        -------
        float or DataFrame
            The total over every customer of every cohort, or the table.

        Raises
        ------
        ValidationError
            For invalid survivor counts.
        """
        params = self._check_fitted()
        if weights is not None:
            raise ValidationError(
                "ShiftedBetaGeoModel.log_likelihood takes survivor counts only; "
                "weights must be None",
                field="weights",
            )
        periods, churned, counts = _survivor_rows(survivors)
        theta = np.array([params["alpha"], params["beta"]])
        rows = self._loglik_rows(theta, {"period": periods, "churned": churned})
        if per_customer:
            return pd.DataFrame(
                {
                    "period": periods.astype(np.int64),
                    "churned": churned.astype(np.int64),
                    "n_customers": counts.astype(np.int64),
                    "log_likelihood": rows,
                }
            )
        return float(counts @ rows)

    @classmethod
    def from_params(  # type: ignore[override]
        cls, *, alpha: float, beta: float, cohort_size: int = 1
    ) -> ShiftedBetaGeoModel:
        """Build a model with given ``alpha`` and ``beta``, without fitting.

        As :meth:`BaseModel.from_params`; ``cohort_size`` is the cohort that
        :meth:`project` counts survivors of by default.

        Examples
        --------
        >>> model = ShiftedBetaGeoModel.from_params(alpha=0.704, beta=1.182, cohort_size=1000)
        >>> round(float(model.survival(12)), 3)
        0.17
        """
        model = super().from_params(alpha=alpha, beta=beta)
        model.cohort_size_ = int(
            check_scalar(cohort_size, name="cohort_size", low=0, integer=True)
        )
        return model

    def fit(  # type: ignore[override]
        self, survivors: ArrayLike | pd.DataFrame | list[ArrayLike], weights: None = None
    ) -> ShiftedBetaGeoModel:
        """Estimate ``(alpha, beta)`` by maximum likelihood (FH 2007 eq. 6).

        Parameters
        ----------
        survivors : array_like, list of array_like, or DataFrame
            One cohort's survivor counts (``survivors[0]`` = cohort size,
            non-increasing), a list of such series (one per cohort), or a
            DataFrame with one column per cohort (trailing NaN allowed).
        weights : None
            Not used (the counts are the weights); present for API symmetry.

        Returns
        -------
        self
            The fitted model.

        Raises
        ------
        ValidationError
            For empty, negative, non-finite or increasing survivor series.
        """
        if weights is not None:
            raise ValidationError(
                "ShiftedBetaGeoModel.fit takes survivor counts only; weights must be None",
                field="weights",
            )
        periods, churned, counts = _survivor_rows(survivors)
        super().fit(np.column_stack([periods, churned]), counts)
        # The first cohort's rows end at its first "still active" row.
        self.cohort_size_ = round(float(counts[: int(np.argmax(churned == 0)) + 1].sum()))
        return self

    def _ab(self) -> tuple[float, float]:
        params = self._check_fitted()
        return params["alpha"], params["beta"]

    def survival(self, t: ArrayLike) -> FloatArray | float:
        """Probability of being still active after ``t`` periods, ``S(t)`` (FH 2007 eq. 5).

        Parameters
        ----------
        t : float or array_like
            Periods (>= 0; ``S(0) = 1``).

        Returns
        -------
        float or ndarray
            Same shape as ``t``.
        """
        a, b = self._ab()
        tt = _periods(t, "t", low=0.0)
        out = sbg_survival(a, b, tt)
        return float(out) if out.ndim == 0 else out

    def retention_rate(self, t: ArrayLike) -> FloatArray | float:
        """Retention rate of period ``t``, ``r_t = (β+t-1)/(α+β+t-1)`` (FH 2007 eq. 8).

        Parameters
        ----------
        t : float or array_like
            Periods (>= 1).

        Returns
        -------
        float or ndarray
            Same shape as ``t``.
        """
        a, b = self._ab()
        tt = _periods(t, "t", low=1.0)
        out = np.asarray((b + tt - 1.0) / (a + b + tt - 1.0))
        return float(out) if out.ndim == 0 else out

    def churn_probability(self, t: ArrayLike) -> FloatArray | float:
        """Probability of churning in period ``t``, ``P(T = t)`` (FH 2007 eq. 3).

        Parameters
        ----------
        t : float or array_like
            Periods (>= 1).

        Returns
        -------
        float or ndarray
            Same shape as ``t``.
        """
        a, b = self._ab()
        tt = _periods(t, "t", low=1.0)
        out = np.exp(special.betaln(a + 1.0, b + tt - 1.0) - special.betaln(a, b))
        return float(out) if np.ndim(out) == 0 else np.asarray(out)

    def expected_residual_lifetime(
        self, discount_rate: float, renewals: ArrayLike = 0
    ) -> FloatArray | float:
        """Discounted expected residual lifetime, DERL (Fader & Hardie 2010, eq. 6).

        For a customer who has made ``renewals = n - 1`` renewals and is
        about to make the next decision, the expected number of future
        payments, each discounted at ``discount_rate`` per period:
        ``sum_{t >= n} P(T > t | T > n - 1) / (1 + d)^(t - n)``. Multiply by
        the margin per period for the residual lifetime value.

        Parameters
        ----------
        discount_rate : float
            Discount rate ``d`` per period (> 0).
        renewals : int or array_like of int, default 0
            Renewals made so far (>= 0).

        Returns
        -------
        float or ndarray
            Same shape as ``renewals``.
        """
        a, b = self._ab()
        d = check_scalar(discount_rate, name="discount_rate", low=0, low_inclusive=False)
        n = _periods(renewals, "renewals", low=0.0)
        out = sbg_derl(a, b, d, n)
        return float(out) if out.ndim == 0 else out

    def project(self, periods: int, cohort_size: float | None = None) -> pd.DataFrame:
        """Fitted survival and retention for periods ``0..periods``.

        Parameters
        ----------
        periods : int
            Last period (>= 1).
        cohort_size : float, optional
            Cohort size for the expected survivor counts (default: the size
            of the (first) cohort the model was fitted on).

        Returns
        -------
        DataFrame
            Indexed by ``period``: ``survival``, ``survivors`` (expected
            count) and ``retention_rate`` (NaN for period 0).
        """
        a, b = self._ab()
        h = int(check_scalar(periods, name="periods", low=1, integer=True))
        size = (
            self.cohort_size_
            if cohort_size is None
            else check_scalar(cohort_size, name="cohort_size", low=0)
        )
        t = np.arange(h + 1, dtype=np.float64)
        surv = sbg_survival(a, b, t)
        ret = np.full(t.size, np.nan)
        ret[1:] = (b + t[1:] - 1.0) / (a + b + t[1:] - 1.0)
        return pd.DataFrame(
            {"survival": surv, "survivors": size * surv, "retention_rate": ret},
            index=pd.Index(t.astype(np.int64), name="period"),
        )

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-serialisable description (adds the cohort size)."""
        state = super().to_dict()
        state["cohort_size"] = self.cohort_size_
        return state

    @classmethod
    def from_dict(cls, state: Any) -> ShiftedBetaGeoModel:
        """Rebuild a fitted model from :meth:`to_dict` output."""
        model = super().from_dict(state)
        assert isinstance(model, ShiftedBetaGeoModel)
        model.cohort_size_ = int(
            check_scalar(state.get("cohort_size", 1), name="cohort_size", low=0, integer=True)
        )
        return model


def _periods(t: ArrayLike, name: str, *, low: float) -> FloatArray:
    arr = as_float_array(np.atleast_1d(np.asarray(t)), name=name, ndim=None)
    first_bad(
        arr.ravel() < low,
        name=name,
        problem=f"must be >= {low:g}",
        values=arr.ravel(),
    )
    return arr.reshape(np.shape(t))
