"""The Gamma-Gamma model of monetary value (Fader, Hardie & Lee 2005; Fader & Hardie 2013).

Each transaction value is Gamma(p, ν) with customer-specific rate
``ν ~ Gamma(q, γ)``. For a customer with ``x`` repeat transactions of mean
value ``m``, the density of ``m`` is (Fader & Hardie 2013, eq. 3):

    f(m | p, q, γ, x) = Γ(px+q) / (Γ(px) Γ(q)) · γ^q x^(px) m^(px-1) / (γ + m x)^(px+q)

and the posterior mean spend is ``p (γ + m x) / (p x + q - 1)`` (FHL 2005,
eq. 4).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import pandas as pd
from scipy import special

from crmcore._types import ArrayLike, BoolArray, FloatArray, IntArray
from crmcore._validation import first_bad
from crmcore.clv._base import BaseModel
from crmcore.clv._blas import dot
from crmcore.clv._compress import unique_rows
from crmcore.clv._dask import fit_gamma_gamma_on_dask, is_dask, map_scores
from crmcore.clv._data import Summary, read_summary, wrap
from crmcore.clv._kernels import SpendKernels
from crmcore.errors import ValidationError

__all__ = [
    "GGData",
    "GGSpendKernels",
    "GammaGammaModel",
    "check_spend_defined",
    "gg_expected_spend",
    "gg_from_sums",
    "gg_loglik_rows",
    "gg_loglik_sums",
    "prepare_gg",
]


_WARM_START_ROWS = 1 << 13  # rows of the sample fitted first (a start for Newton)
_NEWTON_MIN_ROWS = 20_000  # fewer distinct rows: L-BFGS-B (cheap passes, lighter iterations)


@dataclass(frozen=True)
class GGData:
    """Rows of a Gamma-Gamma fit, arranged for the sums of :func:`gg_loglik_sums`."""

    x_u: FloatArray  # distinct frequencies
    w_x: FloatArray  # weight per distinct frequency
    mx: FloatArray  # m * x per row
    w: FloatArray
    wx: FloatArray  # w * x per row
    sum_wlogm: float  # sum w log m
    sum_wxlogm: float  # sum w x log m
    n: float
    sample: GGData | None = None  # every k-th row, to fit first


def prepare_gg(x: FloatArray, m: FloatArray, w: FloatArray, *, sample: bool = False) -> GGData:
    """Arrange rows ``(x, m)`` with weights ``w`` (``x > 0``, ``m > 0``) for the sums.

    ``sample``: also keep every k-th row (about ``2**13`` of them) as
    ``.sample``, the start of a Newton fit. Taken from rows in a canonical
    order, the sample does not depend on the order of the customers.
    """
    (x_u,), ix = unique_rows(x)
    w_x = np.asarray(np.bincount(ix, weights=w, minlength=x_u.size), dtype=np.float64)
    wlogm = w * np.log(m)
    step = x.size // _WARM_START_ROWS
    return GGData(
        np.asarray(x_u, dtype=np.float64),
        w_x,
        m * x,
        w,
        w * x,
        float(wlogm.sum()),
        dot(wlogm, x),
        float(w.sum()),
        prepare_gg(x[::step], m[::step], w[::step]) if sample and step >= 4 else None,
    )


def gg_loglik_sums(
    theta: FloatArray, d: GGData, *, hessian: bool = True
) -> tuple[float, FloatArray, FloatArray | None]:
    """Weighted log-likelihood, gradient and Hessian of the Gamma-Gamma model in ``(p, q, γ)``.

    The total over the rows of ``d`` (:func:`prepare_gg`) of the log-density
    of the mean spend (Fader & Hardie 2013, eq. 3):

        ℓ = lnΓ(px+q) - lnΓ(px) - lnΓ(q) + q ln γ + px ln x + (px-1) ln m - (px+q) ln(γ+mx)

    with, writing ψ and ψ' for the digamma and trigamma functions and
    ``u = 1 / (γ + mx)``,

        ∂ℓ/∂p = x (ψ(px+q) - ψ(px) + ln x + ln m - ln(γ+mx))
        ∂ℓ/∂q = ψ(px+q) - ψ(q) + ln γ - ln(γ+mx)
        ∂ℓ/∂γ = q/γ - (px+q) u
        ∂²ℓ/∂p² = x² (ψ'(px+q) - ψ'(px))      ∂²ℓ/∂p∂q = x ψ'(px+q)
        ∂²ℓ/∂q² = ψ'(px+q) - ψ'(q)            ∂²ℓ/∂p∂γ = -x u
        ∂²ℓ/∂q∂γ = 1/γ - u                    ∂²ℓ/∂γ² = -q/γ² + (px+q) u²

    The terms in ``x`` alone are summed once per distinct frequency; per
    row only ``ln(γ+mx)``, ``u`` and ``u²`` are computed (``u²`` only for
    the Hessian). Every output is a sum over rows, so the sums of two sets
    of rows add up to the sums of their union (one partition at a time).
    """
    g = float(theta[2])
    gm = d.mx + g
    lgm = np.log(gm)
    u = np.reciprocal(gm, out=gm)  # gm is not needed any more
    sums = [dot(d.wx, lgm), dot(d.w, lgm), dot(d.wx, u), dot(d.w, u)]
    if hessian:
        u2 = np.square(u, out=u)
        sums += [dot(d.wx, u2), dot(d.w, u2)]
    return gg_from_sums(theta, d, np.array(sums), hessian=hessian)


def gg_from_sums(
    theta: FloatArray, d: GGData, sums: FloatArray, *, hessian: bool = True
) -> tuple[float, FloatArray, FloatArray | None]:
    """Return the Gamma-Gamma log-likelihood, gradient and Hessian from the rows' sums.

    ``d`` gives the per-frequency table and the sums of ``ln m`` (its row
    arrays are not read); ``sums`` the weighted row sums at ``γ``:
    ``Σ wx ln(γ+mx)``, ``Σ w ln(γ+mx)``, ``Σ wx u``, ``Σ w u`` and, for the
    Hessian, ``Σ wx u²``, ``Σ w u²`` (``u = 1/(γ+mx)``; see
    :func:`gg_loglik_sums`). The one kernel of the in-memory fit and of the
    fit on a Dask cluster, whose partitions send only these sums.
    """
    p, q, g = (float(v) for v in theta)
    xu, w_x = d.x_u, d.w_x
    s_wx_lgm, s_w_lgm, s_wx_u, s_w_u = (float(v) for v in sums[:4])
    pxu = p * xu
    lx = special.gammaln(pxu + q) - special.gammaln(pxu) + pxu * np.log(xu)
    psi_pq = special.digamma(pxu + q)
    gx_p = xu * (psi_pq - special.digamma(pxu) + np.log(xu))
    log_g = np.log(g)
    ll = (
        dot(w_x, lx)
        + d.n * (q * log_g - special.gammaln(q))
        + p * d.sum_wxlogm
        - d.sum_wlogm
        - p * s_wx_lgm
        - q * s_w_lgm
    )
    grad = np.array(
        [
            dot(w_x, gx_p) + d.sum_wxlogm - s_wx_lgm,
            dot(w_x, psi_pq) + d.n * (log_g - special.digamma(q)) - s_w_lgm,
            d.n * q / g - p * s_wx_u - q * s_w_u,
        ]
    )
    if not hessian:
        return float(ll), grad, None
    s_wx_u2, s_w_u2 = (float(v) for v in sums[4:6])
    tri_pq = special.polygamma(1, pxu + q)
    h_pp = dot(w_x * xu * xu, tri_pq - special.polygamma(1, pxu))
    h_pq = dot(w_x * xu, tri_pq)
    h_qq = dot(w_x, tri_pq) - d.n * float(special.polygamma(1, q))
    h_pg = -s_wx_u
    h_qg = d.n / g - s_w_u
    h_gg = -d.n * q / (g * g) + p * s_wx_u2 + q * s_w_u2
    hess = np.array([[h_pp, h_pq, h_pg], [h_pq, h_qq, h_qg], [h_pg, h_qg, h_gg]])
    return float(ll), grad, hess


def gg_loglik_rows(theta: FloatArray, x: FloatArray, m: FloatArray) -> FloatArray:
    """Per-customer log-density of the mean spend (Fader & Hardie 2013, eq. 3)."""
    p, q, g = (float(v) for v in theta)
    px = p * x
    return np.asarray(
        special.gammaln(px + q)
        - special.gammaln(px)
        - special.gammaln(q)
        + q * np.log(g)
        + px * np.log(x)
        + (px - 1) * np.log(m)
        - (px + q) * np.log(g + m * x),
        dtype=np.float64,
    )


def gg_expected_spend(theta: FloatArray, x: FloatArray, m: FloatArray) -> FloatArray:
    """Posterior mean transaction value ``p (γ + m x) / (p x + q - 1)`` (FHL 2005 eq. 4).

    For ``x = 0`` this is the population mean ``p γ / (q - 1)``.
    """
    p, q, g = (float(v) for v in theta)
    return np.asarray(p * (g + m * x) / (p * x + q - 1), dtype=np.float64)


def check_spend_defined(theta: FloatArray, x: FloatArray, index: pd.Index | None = None) -> None:
    """Refuse rows whose expected spend ``p (γ + m x) / (p x + q - 1)`` is not finite.

    The denominator must be positive. At ``x = 0`` the expected spend is the
    population mean ``p γ / (q - 1)`` of the Gamma-Gamma model, finite only
    for ``q > 1``; for ``q <= 1`` the mean spend distribution is so heavy-tailed
    that its mean is infinite. Repeat buyers need only ``p x + q > 1``.

    Raises
    ------
    ValidationError
        For the first such row (``field="q"``, ``row`` its label, ``value`` q).
    """
    p, q = float(theta[0]), float(theta[1])
    bad = p * x + q - 1.0 <= 0
    if not bad.any():
        return
    where = np.flatnonzero(bad)
    pos = int(where[0])
    label: Any = index[pos] if index is not None else pos
    more = f" ({where.size - 1} more)" if where.size > 1 else ""
    if x[pos] == 0:
        message = (
            f"the fitted spend distribution has no finite mean (q = {q:.4g} <= 1): "
            f"customer {label!r} with frequency 0 has no finite expected spend "
            f"(the population mean p*gamma/(q - 1)){more}; restrict to repeat buyers "
            "(frequency >= 1) or refit the spend model on more data"
        )
    else:
        message = (
            f"customer {label!r} with frequency {x[pos]:g} has no finite expected spend "
            f"with the fitted p = {p:.4g}, q = {q:.4g} (p*frequency + q - 1 must be > 0)"
            f"{more}"
        )
    raise ValidationError(message, field="q", row=label, value=q)


class GGSpendKernels(SpendKernels):
    """Prediction kernels of the Gamma-Gamma spend model."""

    def expected(self, theta: FloatArray, x: FloatArray, m: FloatArray) -> FloatArray:
        return gg_expected_spend(theta, x, m)

    def expected_many(self, draws: FloatArray, x: FloatArray, m: FloatArray) -> FloatArray:
        """``p (γ + m x) / (p x + q - 1)`` for all draws: ``(draws, rows)``."""
        p, q, g = (draws[:, j][:, None] for j in range(3))
        return np.asarray(p * (g + m * x) / (p * x + q - 1.0), dtype=np.float64)

    def sample(
        self,
        theta: FloatArray,
        x: FloatArray,
        m: FloatArray,
        owner: IntArray,
        rng: np.random.Generator,
    ) -> FloatArray:
        """Posterior predictive values: ``ν ~ Gamma(q + p x, γ + m x)`` per row, ``Gamma(p, ν)``.

        The customer's rate ``ν`` given ``x`` purchases of mean ``m``
        (FHL 2005, the posterior behind eq. 4), then each purchase's value.
        """
        p, q, g = (float(v) for v in theta)
        nu = rng.gamma(q + p * x, 1.0 / (g + m * x))
        return np.asarray(rng.gamma(p, 1.0 / nu[owner]), dtype=np.float64)

    def check(self, theta: FloatArray, summary: Summary) -> None:
        """Mean spend > 0 for repeat buyers, and a finite expected spend for every row."""
        _check_spend(summary)
        check_spend_defined(theta, summary["frequency"], summary.index)

    def defined_draws(self, draws: FloatArray, x: FloatArray) -> tuple[BoolArray, str]:
        """Draws with ``p x + q > 1`` at the smallest frequency, and what the others lack."""
        x_min = float(x.min())
        ok = draws[:, 0] * x_min + draws[:, 1] - 1.0 > 0
        what = "q <= 1 (no finite mean spend)" if x_min == 0 else "p*frequency + q <= 1"
        return np.asarray(ok, dtype=np.bool_), what


def _check_spend(summary: Summary) -> None:
    """Refuse a non-positive mean spend for customers with repeat purchases."""
    x, m = summary["frequency"], summary["monetary_value"]
    first_bad(
        (x > 0) & (m <= 0),
        name="monetary_value",
        problem="must be > 0 for customers with repeat purchases",
        values=m,
        index=summary.index,
        row_name="customer",
    )


_RADIX_LIMIT = 1 << 15  # frequencies below this sort as int16 (NumPy's radix sort)
_MAX_GROUPS = 2048  # distinct frequencies sorted one group at a time


def _sorted_by_frequency(
    x: FloatArray, m: FloatArray, weight: float
) -> tuple[dict[str, FloatArray], FloatArray] | None:
    """Rows with ``x > 0`` sorted by ``(x, m)``, repeats merged, every row of weight ``weight``.

    ``None`` when there are too many distinct frequencies for one sort per group.
    """
    x16 = x.astype(np.int16)
    counts = np.bincount(x16)
    groups = np.flatnonzero(counts[1:]) + 1
    if groups.size > _MAX_GROUPS:
        return None
    order = np.argsort(x16, kind="stable")  # a radix sort: rows grouped by frequency
    n0 = int(counts[0])
    ms = np.take(m, order[n0:])
    if ms.size == 0:
        return {"frequency": ms.copy(), "monetary_value": ms}, ms.copy()
    ends = np.cumsum(counts[groups])
    start = 0
    for end in ends.tolist():
        ms[start:end].sort()  # values only: no argsort
        start = end
    xs = np.repeat(groups.astype(np.float64), counts[groups])
    first = np.empty(ms.size, dtype=bool)
    first[0] = True
    np.not_equal(ms[1:], ms[:-1], out=first[1:])
    first[np.r_[0, ends[:-1]]] = True  # a new frequency starts a new row
    if first.all():
        return {"frequency": xs, "monetary_value": ms}, np.full(ms.size, weight)
    starts = np.flatnonzero(first)
    w = np.diff(starts, append=ms.size) * weight  # whole numbers: exact
    return {"frequency": xs[starts], "monetary_value": ms[starts]}, w.astype(np.float64)


class GammaGammaModel(BaseModel):
    """Gamma-Gamma model of the average transaction value.

    Fitted on customers with at least one repeat purchase (rows with
    ``frequency == 0`` carry no spend information and are skipped), using
    ``frequency`` and ``monetary_value`` (the mean value of the repeat
    purchases). Assumes spend is independent of the purchase process.

    Parameters
    ----------
    penalizer : float, default 0.0
        L2 penalty on the parameters in money units, same scale as
        ``lifetimes``' ``penalizer_coef``.
    initial_params : mapping, optional
        Start point ``{"p", "q", "gamma"}`` in the data's money units.
    max_iter : int, default 1000
        Maximum number of optimiser iterations.
    tol : float, default 1e-9
        Projected-gradient tolerance, in ``(0, 1e-3]``.
    on_failure : {"raise", "warn"}, default "raise"
        Raise or warn when the fit does not converge.

    Attributes
    ----------
    params_ : dict
        ``p``, ``q``, ``gamma``.
    log_likelihood_, standard_errors_, covariance_, converged_, n_iter_
        As for :class:`BetaGeoModel`.

    Notes
    -----
    A fitted ``q <= 1`` is a valid maximum-likelihood estimate (a spend
    distribution too heavy-tailed to have a finite mean), so ``fit`` does not
    warn. It matters only where the population mean ``p γ / (q - 1)`` is
    needed: :meth:`expected_spend` (and so the CLV functions and
    :func:`~crmcore.clv.predict_interval`) raise :class:`ValidationError`
    (``field="q"``) for customers with frequency 0 when ``q <= 1``, and for
    any customer with ``p x + q <= 1``. Repeat buyers are scored as usual.

    Examples
    --------
    >>> import numpy as np
    >>> from crmcore.clv import GammaGammaModel, simulate_gamma_gamma
    >>> freq = np.arange(1, 2001) % 7 + 1
    >>> spend = simulate_gamma_gamma(freq, p=6.0, q=4.0, gamma=15.0, random_state=0)
    >>> model = GammaGammaModel().fit({"frequency": freq, "monetary_value": spend})
    >>> sorted(model.params_)
    ['gamma', 'p', 'q']
    """

    _param_names: ClassVar[tuple[str, ...]] = ("p", "q", "gamma")
    _columns: ClassVar[tuple[str, ...]] = ("frequency", "monetary_value")
    _default_start: ClassVar[tuple[float, ...]] = (1.0, 1.0, 1.0)
    _compress: ClassVar[bool] = False  # repeated rows are merged by _canonical_rows
    _stop_at_tol: ClassVar[bool] = True  # every evaluation is a pass over all rows
    _newton_min_rows: ClassVar[int | None] = _NEWTON_MIN_ROWS  # gg_loglik_sums has the Hessian
    _dask_fit = fit_gamma_gamma_on_dask  # mean spend is continuous: summed on the cluster
    spend_kernels: ClassVar[SpendKernels] = GGSpendKernels()

    def _read(self, data: pd.DataFrame | ArrayLike | dict[str, Any]) -> Summary:
        if isinstance(data, dict):
            data = pd.DataFrame(data)
        summary = read_summary(data, self._columns)
        x = summary["frequency"]
        if not (x > 0).any():
            raise ValidationError(
                "frequency is 0 for every customer; the spend model needs repeat purchases",
                field="frequency",
            )
        _check_spend(summary)
        return summary

    def _canonical_rows(
        self, cols: dict[str, FloatArray], weights: FloatArray
    ) -> tuple[dict[str, FloatArray], FloatArray]:
        """Return the distinct repeat-buyer rows ``(frequency, monetary_value)``, sorted, weighted.

        Rows with ``frequency == 0`` carry no spend information and are
        dropped here. Customers with the same frequency and mean spend enter
        the likelihood once, with their summed weight (the weighted
        log-likelihood is the unweighted one on the repeated rows). With no
        two rows left equal, sorting by (frequency, mean spend) is a
        canonical order. When every row has the same weight (the usual
        case, no weights), only values move: a radix sort of the small whole
        frequencies groups the mean spends, and each group is sorted by value
        (no argsort). Otherwise one argsort of the mean spend, then a stable
        radix sort of the frequencies.
        """
        x, m = cols["frequency"], cols["monetary_value"]
        if x.size and 0 < weights.min() == weights.max() and x.max() < _RADIX_LIMIT:
            grouped = _sorted_by_frequency(x, m, float(weights[0]))
            if grouped is not None:
                return grouped
        keep = (weights > 0) & (x > 0)
        if not keep.all():
            x, m, weights = x[keep], m[keep], weights[keep]
        if x.size == 0:
            return {"frequency": x, "monetary_value": m}, weights
        order = np.argsort(m)
        x_sorted = x[order]
        # frequencies are validated whole numbers >= 0
        by_x = x_sorted.astype(np.int16) if x_sorted.max() < _RADIX_LIMIT else x_sorted
        order = order[np.argsort(by_x, kind="stable")]
        x, m, w = x[order], m[order], weights[order]
        first = np.empty(x.size, dtype=bool)
        first[0] = True
        np.not_equal(x[1:], x[:-1], out=first[1:])
        first[1:] |= m[1:] != m[:-1]
        if not first.all():
            starts = np.flatnonzero(first)
            w = np.add.reduceat(w, starts)
            x, m = x[starts], m[starts]
        return {"frequency": x, "monetary_value": m}, w

    def _scale(self, cols: dict[str, FloatArray]) -> float:
        return float(np.mean(cols["monetary_value"]))

    def _scale_data(self, cols: dict[str, FloatArray], s: float) -> dict[str, FloatArray]:
        return {"frequency": cols["frequency"], "monetary_value": cols["monetary_value"] / s}

    def _param_scale(self, s: float) -> FloatArray:
        return np.array([1.0, 1.0, s])

    def _prepare(self, cols: dict[str, FloatArray], weights: FloatArray) -> GGData:
        x, m = cols["frequency"], cols["monetary_value"]
        return prepare_gg(x, m, weights, sample=True)

    def _loglik_grad(self, theta: FloatArray, prepared: Any) -> tuple[float, FloatArray]:
        ll, grad, _ = gg_loglik_sums(theta, prepared, hessian=False)
        return ll, grad

    def _loglik_grad_hess(
        self, theta: FloatArray, prepared: Any
    ) -> tuple[float, FloatArray, FloatArray]:
        ll, grad, hess = gg_loglik_sums(theta, prepared)
        assert hess is not None
        return ll, grad, hess

    def _warm_start_rows(self, prepared: Any) -> tuple[Any, float] | None:
        d: GGData = prepared
        return None if d.sample is None else (d.sample, d.sample.n)

    def _loglik_in_data_units(self, ll_scaled: float, s: float, n_total: float) -> float | None:
        # Money scaled by 1/s: each customer's density of m is s times the
        # density of m/s (eq. 3 is homogeneous of degree -1 in m and gamma).
        return ll_scaled - n_total * float(np.log(s))

    def _loglik_rows(self, theta: FloatArray, cols: dict[str, FloatArray]) -> FloatArray:
        # Customers without repeat purchases carry no spend information: 0.
        x, m = cols["frequency"], cols["monetary_value"]
        out = np.zeros(x.size)
        has = x > 0
        out[has] = gg_loglik_rows(theta, x[has], m[has])
        return out

    def expected_spend(self, data: pd.DataFrame | ArrayLike) -> pd.Series | FloatArray:
        """Return the expected average transaction value per customer (FHL 2005 eq. 4).

        Parameters
        ----------
        data : DataFrame or array_like
            ``frequency`` and ``monetary_value`` per customer; customers with
            frequency 0 get the population mean ``p γ / (q - 1)``.

        Returns
        -------
        Series or ndarray
            Indexed like ``data``.

        Raises
        ------
        ValidationError
            If ``monetary_value <= 0`` for a customer with repeat purchases,
            or the expected spend of some customer is not finite: a customer
            with frequency 0 gets the population mean ``p γ / (q - 1)``, which
            needs ``q > 1`` (for ``q <= 1`` the fitted spend distribution has
            no finite mean); a repeat buyer needs ``p x + q > 1``.
        """
        params = self._check_fitted()
        if is_dask(data):
            return map_scores(data, self.expected_spend, "expected_spend")  # type: ignore[no-any-return]
        summary = read_summary(data, self._columns)
        _check_spend(summary)
        x, m = summary["frequency"], summary["monetary_value"]
        theta = np.array([params[k] for k in self._param_names])
        check_spend_defined(theta, x, summary.index)
        return wrap(gg_expected_spend(theta, x, m), summary.index, "expected_spend")
