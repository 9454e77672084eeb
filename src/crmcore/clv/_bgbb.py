"""The beta-geometric/beta-Bernoulli (BG/BB) model for discrete opportunities.

Fader, Hardie & Shang (2010), "Customer-base analysis in a discrete-time
noncontractual setting", Marketing Science 29(6) (FHS 2010). While alive a
customer transacts at each opportunity with probability ``p ~ Beta(α, β)``;
at the start of each later opportunity an alive customer dies with
probability ``θ ~ Beta(γ, δ)``. With ``x`` transactions in ``n``
opportunities, the last at opportunity ``t_x`` (eq. 5)::

    L = B(α+x, β+n-x)/B(α,β) · B(γ, δ+n)/B(γ,δ)
        + sum_{i=0}^{n-t_x-1} B(α+x, β+t_x-x+i)/B(α,β) · B(γ+1, δ+t_x+i)/B(γ,δ)

evaluated in log space (``betaln``, ``logsumexp``) on the distinct
``(x, t_x, n)`` rows, with its analytic gradient.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import pandas as pd
from scipy import special

from crmcore._types import ArrayLike, BoolArray, FloatArray, IntArray
from crmcore._validation import check_integer_valued, first_bad
from crmcore.clv._compress import unique_rows
from crmcore.clv._data import Summary, wrap
from crmcore.clv._kernels import PurchaseKernels
from crmcore.clv._transaction import PurchaseModel, as_time

__all__ = [
    "BGBBKernels",
    "BetaGeoBetaBinomModel",
    "bgbb_conditional_expectation",
    "bgbb_expected_if_alive",
    "bgbb_expected_new",
    "bgbb_loglik_grad",
    "bgbb_pmf_if_alive",
    "bgbb_probability_alive",
    "bgbb_probability_of_purchases",
    "bgbb_survival_if_alive",
    "check_bgbb",
]

_GAMMA_ONE = 1e-7


@dataclass(frozen=True)
class _Rows:
    x: FloatArray
    tx: FloatArray
    n: FloatArray
    w: FloatArray
    i: FloatArray  # (1, K) opportunity offsets 0..K-1
    mask: BoolArray  # (rows, K) True where i < n - t_x


def _rows(x: FloatArray, tx: FloatArray, n: FloatArray, w: FloatArray) -> _Rows:
    gap = n - tx
    k = max(int(gap.max()), 1)
    i = np.arange(k, dtype=np.float64)[None, :]
    return _Rows(x, tx, n, w, i, i < gap[:, None])


def _terms(theta: FloatArray, d: _Rows) -> tuple[FloatArray, FloatArray]:
    """Log of the alive-through-n term (rows) and of the dropout terms (rows × K)."""
    a, b, g, dl = (float(v) for v in theta)
    x, tx = d.x[:, None], d.tx[:, None]
    lb_ab = special.betaln(a, b)
    lb_gd = special.betaln(g, dl)
    alive = special.betaln(a + d.x, b + d.n - d.x) - lb_ab + special.betaln(g, dl + d.n) - lb_gd
    drop = (
        special.betaln(a + x, b + tx - x + d.i) - lb_ab + special.betaln(g + 1.0, dl + tx + d.i)
    ) - lb_gd
    drop = np.where(d.mask, drop, -np.inf)
    return np.asarray(alive), np.asarray(drop)


def bgbb_loglik_rows(theta: FloatArray, d: _Rows) -> FloatArray:
    """Per-row log-likelihood (FHS 2010 eq. 5)."""
    alive, drop = _terms(theta, d)
    return np.asarray(
        special.logsumexp(np.concatenate([alive[:, None], drop], axis=1), axis=1),
        dtype=np.float64,
    )


def bgbb_loglik_grad(theta: FloatArray, d: _Rows) -> tuple[float, FloatArray]:
    """Total weighted log-likelihood and its gradient in ``(α, β, γ, δ)``."""
    a, b, g, dl = (float(v) for v in theta)
    alive, drop = _terms(theta, d)
    allt = np.concatenate([alive[:, None], drop], axis=1)
    tot = special.logsumexp(allt, axis=1)
    wts = np.exp(allt - tot[:, None])  # softmax over the terms
    x, tx, n = d.x[:, None], d.tx[:, None], d.n[:, None]
    psi = special.digamma
    # d/da, d/db of betaln(a + x, b + y) - betaln(a, b) for each term.
    y_alive = d.n - d.x
    y_drop = tx - x + d.i
    ya = np.concatenate([y_alive[:, None], np.broadcast_to(y_drop, drop.shape)], axis=1)
    xa = np.broadcast_to(x, ya.shape)
    s_ab = psi(a + xa + b + ya)
    da = psi(a + xa) - s_ab - (psi(a) - psi(a + b))
    db = psi(b + ya) - s_ab - (psi(b) - psi(a + b))
    # gamma/delta part: betaln(g, dl + n) for alive, betaln(g + 1, dl + tx + i) for drops.
    gg = np.concatenate([np.full((d.x.size, 1), g), np.full(drop.shape, g + 1.0)], axis=1)
    dd = np.concatenate([dl + n, np.broadcast_to(dl + tx + d.i, drop.shape)], axis=1)
    s_gd = psi(gg + dd)
    dg = psi(gg) - s_gd - (psi(g) - psi(g + dl))
    ddl = psi(dd) - s_gd - (psi(dl) - psi(g + dl))
    ww = wts * d.w[:, None]
    grad = np.array([np.sum(ww * da), np.sum(ww * db), np.sum(ww * dg), np.sum(ww * ddl)])
    return float(d.w @ tot), grad


def _lbeta_ratio_gamma(g: float, dl: float, n: FloatArray, m: FloatArray) -> FloatArray:
    """``δ/(γ-1) Γ(γ+δ)/Γ(1+δ) [Γ(1+δ+n)/Γ(γ+δ+n) - Γ(1+δ+n+m)/Γ(γ+δ+n+m)]``.

    Continuous at ``γ = 1`` (limit ``δ [ψ(1+δ+n+m) - ψ(1+δ+n)]``).
    """
    if abs(g - 1.0) < _GAMMA_ONE:
        return np.asarray(dl * (special.digamma(1 + dl + n + m) - special.digamma(1 + dl + n)))
    c = special.gammaln(g + dl) - special.gammaln(1 + dl)
    e1 = special.gammaln(1 + dl + n) - special.gammaln(g + dl + n) + c
    e2 = special.gammaln(1 + dl + n + m) - special.gammaln(g + dl + n + m) + c
    # exp(e1) - exp(e2) = exp(e1) (1 - exp(e2 - e1)), with the sign of (g - 1).
    return np.asarray(dl / (g - 1.0) * np.exp(e1) * -np.expm1(e2 - e1))


def bgbb_probability_alive(
    theta: FloatArray, x: FloatArray, tx: FloatArray, n: FloatArray
) -> FloatArray:
    """P(alive at opportunity n+1 | x, t_x, n) (FHS 2010 eq. 11)."""
    a, b, g, dl = (float(v) for v in theta)
    d = _rows(x, tx, n, np.ones(x.size))
    ll = bgbb_loglik_rows(theta, d)
    num = (
        special.betaln(a + x, b + n - x)
        - special.betaln(a, b)
        + special.betaln(g, dl + n + 1.0)
        - special.betaln(g, dl)
    )
    return np.asarray(np.exp(num - ll), dtype=np.float64)


def bgbb_conditional_expectation(
    theta: FloatArray, x: FloatArray, tx: FloatArray, n: FloatArray, m: FloatArray
) -> FloatArray:
    """E[X(n, n+m) | x, t_x, n]: transactions in the next ``m`` opportunities (FHS 2010 eq. 13)."""
    a, b, g, dl = (float(v) for v in theta)
    d = _rows(x, tx, n, np.ones(x.size))
    ll = bgbb_loglik_rows(theta, d)
    lead = np.exp(special.betaln(a + x + 1.0, b + n - x) - special.betaln(a, b) - ll)
    return np.asarray(lead * _lbeta_ratio_gamma(g, dl, n, m), dtype=np.float64)


def bgbb_expected_if_alive(
    theta: FloatArray, x: FloatArray, n: FloatArray, m: FloatArray
) -> FloatArray:
    """E[X(n, n+m) | alive at n+1, x, n]: FHS 2010 eq. 13 without its P(alive) factor.

    ``(α+x)/(α+β+n) · S``: the posterior mean transaction probability times
    ``S = Σ_{j<m} B(γ, δ+n+1+j) / B(γ, δ+n+1)``, the expected number of the
    next ``m`` opportunities at which the customer is alive (the ratio of
    eq. 13's gamma/delta factor to the one of P(alive at n+1), eq. 11).
    """
    a, b, g, dl = (float(v) for v in theta)
    x, n, m = np.broadcast_arrays(
        np.asarray(x, dtype=np.float64), np.asarray(n, dtype=np.float64), np.asarray(m)
    )
    alive_next = special.betaln(g, dl + n + 1.0) - special.betaln(g, dl)
    S = _lbeta_ratio_gamma(g, dl, n, m) * np.exp(-alive_next)
    return np.asarray((a + x) / (a + b + n) * S, dtype=np.float64)


def bgbb_survival_if_alive(
    theta: FloatArray, x: FloatArray, n: FloatArray, m: FloatArray
) -> FloatArray:
    """P(alive at n+1+m | alive at n+1) = B(γ, δ+n+1+m) / B(γ, δ+n+1).

    Alive at opportunity ``n + 1`` the dropout probability is
    ``θ ~ Beta(γ, δ+n+1)`` (FHS 2010, the factor of eq. 11), and surviving
    ``m`` more opportunities has probability ``E[(1-θ)^m]``.
    """
    g, dl = float(theta[2]), float(theta[3])
    x, n, m = np.broadcast_arrays(*(np.asarray(v, dtype=np.float64) for v in (x, n, m)))
    dp = dl + n + 1.0
    return np.asarray(np.exp(special.betaln(g, dp + m) - special.betaln(g, dp)), dtype=np.float64)


def bgbb_pmf_if_alive(
    theta: FloatArray, x: FloatArray, n: FloatArray, m: FloatArray, k_max: int
) -> FloatArray:
    """P(X(n, n+m) = k | alive at n+1, x, n) for ``k = 0..k_max``: ``(rows, k_max + 1)``.

    Alive at opportunity ``n + 1``, the customer transacts at each alive
    opportunity with ``p ~ Beta(α+x, β+n-x)`` and is alive at ``L`` of the
    next ``m`` opportunities, ``P(L = l) = B(γ+1, δ'+l-1)/B(γ, δ')`` for
    ``l < m`` and ``B(γ, δ'+m-1)/B(γ, δ')`` for ``l = m``, ``δ' = δ+n+1`` (the
    death process of FHS 2010, section 2). Given ``L = l`` the count is
    beta-binomial: ``C(l, k) B(α'+k, β'+l-k) / B(α', β')``. Summed over
    ``l`` in log space; times P(alive at n+1) (eq. 11), plus its complement
    at ``k = 0``, this is the conditional PMF ``P(X(n, n+m) = k | x, t_x, n)``.
    """
    a, b, g, dl = (float(v) for v in theta)
    xf, nf, mf = (np.asarray(v, dtype=np.float64).ravel() for v in (x, n, m))
    ap, bp, dp = (a + xf)[:, None, None], (b + nf - xf)[:, None, None], (dl + nf + 1.0)[:, None]
    top = max(int(mf.max(initial=0.0)), 1)
    ell = np.arange(1, top + 1, dtype=np.float64)[None, :]
    mm = mf[:, None]
    log_l = np.where(
        ell < mm,
        special.betaln(g + 1.0, dp + ell - 1.0),
        special.betaln(g, dp + mm - 1.0),
    ) - special.betaln(g, dp)
    log_l = np.where(ell <= mm, log_l, -np.inf)[:, :, None]  # (rows, l, 1)
    k = np.arange(k_max + 1, dtype=np.float64)[None, None, :]
    lv = ell[:, :, None]
    ks = np.minimum(k, lv)
    log_k = (
        special.gammaln(lv + 1.0)
        - special.gammaln(ks + 1.0)
        - special.gammaln(lv - ks + 1.0)
        + special.betaln(ap + ks, bp + lv - ks)
        - special.betaln(ap, bp)
    )
    log_k = np.where(k <= lv, log_k, -np.inf)
    with np.errstate(divide="ignore"):  # rows with m = 0 have no term: exp(-inf) = 0
        out = np.exp(special.logsumexp(log_l + log_k, axis=1))
    out[:, 0] = np.where(mf == 0, 1.0, out[:, 0])
    return np.asarray(out, dtype=np.float64)


def bgbb_expected_new(theta: FloatArray, m: FloatArray) -> FloatArray:
    """E[X(m)]: expected transactions of a new customer in ``m`` opportunities (FHS 2010 eq. 9)."""
    a, b, g, dl = (float(v) for v in theta)
    zero = np.zeros(np.shape(m))
    return np.asarray(a / (a + b) * _lbeta_ratio_gamma(g, dl, zero, np.asarray(m)))


def bgbb_probability_of_purchases(theta: FloatArray, x: FloatArray, n: FloatArray) -> FloatArray:
    """P(X(n) = x): ``x`` transactions in ``n`` opportunities of a new customer (FHS 2010 eq. 7).

    ``C(n,x) B(α+x, β+n-x)/B(α,β) · B(γ, δ+n)/B(γ,δ)
    + Σ_{i=x}^{n-1} C(i,x) B(α+x, β+i-x)/B(α,β) · B(γ+1, δ+i)/B(γ,δ)``:
    alive at all ``n`` opportunities, or alive at exactly ``i`` of them and
    dead from opportunity ``i + 1`` on; evaluated in log space, broadcast
    over ``x`` and ``n`` (0 where ``x > n``).
    """
    a, b, g, dl = (float(v) for v in theta)
    x, n = np.broadcast_arrays(np.asarray(x, dtype=np.float64), np.asarray(n, dtype=np.float64))
    shape = x.shape
    xf, nf = x.ravel(), n.ravel()
    ok = xf <= nf
    xs = np.where(ok, xf, 0.0)

    def log_choose(top: FloatArray, k: FloatArray) -> FloatArray:
        return np.asarray(
            special.gammaln(top + 1.0) - special.gammaln(k + 1.0) - special.gammaln(top - k + 1.0)
        )

    lb_ab, lb_gd = special.betaln(a, b), special.betaln(g, dl)
    alive = (
        log_choose(nf, xs)
        + special.betaln(a + xs, b + nf - xs)
        - lb_ab
        + special.betaln(g, dl + nf)
        - lb_gd
    )
    top = int(nf.max(initial=0.0))
    i = np.arange(max(top, 1), dtype=np.float64)[None, :]
    use = (i >= xs[:, None]) & (i < nf[:, None])
    ii = np.where(use, i, xs[:, None])
    drop = (
        log_choose(ii, xs[:, None])
        + special.betaln(a + xs[:, None], b + ii - xs[:, None])
        - lb_ab
        + special.betaln(g + 1.0, dl + ii)
        - lb_gd
    )
    drop = np.where(use, drop, -np.inf)
    total = special.logsumexp(np.concatenate([alive[:, None], drop], axis=1), axis=1)
    return np.asarray(np.where(ok, np.exp(total), 0.0).reshape(shape), dtype=np.float64)


def check_bgbb(summary: Summary) -> None:
    """Check a BG/BB summary: whole opportunities, ``x <= t_x <= n``, ``n >= 1``."""
    kw: dict[str, Any] = {"index": summary.index, "row_name": "customer"}
    x, tx, n = summary["frequency"], summary["recency"], summary["n_periods"]
    check_integer_valued(tx, name="recency", **kw)
    check_integer_valued(n, name="n_periods", **kw)
    first_bad(x > tx, name="frequency", problem="must not exceed recency", values=x, **kw)
    first_bad(tx > n, name="recency", problem="must not exceed n_periods", values=tx, **kw)
    first_bad(n < 1, name="n_periods", problem="must be >= 1", values=n, **kw)
    first_bad(
        (x > 0) & (tx < 1),
        name="recency",
        problem="must be >= 1 when frequency > 0",
        values=tx,
        **kw,
    )


class BGBBKernels(PurchaseKernels):
    """Prediction kernels of the BG/BB model: time counts opportunities, "alive" is at ``n+1``."""

    columns = ("frequency", "recency", "n_periods")
    discrete = True

    def check(self, summary: Summary) -> None:
        check_bgbb(summary)

    def alive(self, theta: FloatArray, x: FloatArray, tx: FloatArray, T: FloatArray) -> FloatArray:
        (ux, utx, un), inv = unique_rows(np.ravel(x), np.ravel(tx), np.ravel(T))
        out = bgbb_probability_alive(theta, ux, utx, un)[inv]
        return np.asarray(out.reshape(np.shape(x)), dtype=np.float64)

    def expected_if_alive(
        self, theta: FloatArray, x: FloatArray, T: FloatArray, t: FloatArray
    ) -> FloatArray:
        return bgbb_expected_if_alive(theta, x, T, t)

    def survival_if_alive(
        self, theta: FloatArray, x: FloatArray, T: FloatArray, t: FloatArray
    ) -> FloatArray:
        return bgbb_survival_if_alive(theta, x, T, t)

    def pmf_if_alive(
        self, theta: FloatArray, x: FloatArray, T: FloatArray, t: FloatArray, n_max: int
    ) -> FloatArray:
        return bgbb_pmf_if_alive(theta, x, T, t, n_max)

    def sample_future(
        self,
        theta: FloatArray,
        x: FloatArray,
        tx: FloatArray,
        T: FloatArray,
        *,
        span: float,
        rng: np.random.Generator,
    ) -> tuple[IntArray, FloatArray]:
        """Alive at ``n+1``: ``p ~ Beta(α+x, β+n-x)``, ``θ ~ Beta(γ, δ+n+1)``.

        Alive at the first ``min(G, span)`` of the next opportunities
        (``G ~ Geometric(θ)``), transacting at each with probability ``p``;
        returns the opportunities (1..span) with a transaction.
        """
        a, b, g, dl = (float(v) for v in theta)
        idx = np.flatnonzero(rng.random(x.size) < self.alive(theta, x, tx, T))
        p = rng.beta(a + x[idx], b + T[idx] - x[idx])
        drop = np.clip(rng.beta(g, dl + T[idx] + 1.0), 1e-300, 1.0)
        alive_for = np.minimum(rng.geometric(drop), int(span))
        owner = np.repeat(np.arange(idx.size), alive_for)
        starts = np.cumsum(alive_for) - alive_for
        when = np.arange(owner.size) - np.repeat(starts, alive_for) + 1.0
        buys = rng.random(owner.size) < p[owner]
        return idx[owner[buys]], when[buys]

    def expected_new(self, theta: FloatArray, t: FloatArray) -> FloatArray:
        return bgbb_expected_new(theta, t)

    def pmf_new(self, theta: FloatArray, n: FloatArray, t: FloatArray) -> FloatArray:
        return bgbb_probability_of_purchases(theta, n, t)


class BetaGeoBetaBinomModel(PurchaseModel):
    """BG/BB model of repeat transactions at discrete opportunities (FHS 2010).

    Reads ``frequency`` (transactions after the first, ``x``), ``recency``
    (the opportunity of the last one, ``t_x``; 0 if none) and ``n_periods``
    (opportunities observed, ``n``). The data is naturally aggregated: pass
    one row per distinct pattern with ``weights`` = number of customers.

    Parameters
    ----------
    penalizer : float, default 0.0
        L2 penalty on ``(alpha, beta, gamma, delta)`` per customer (see
        :class:`BaseModel`).
    initial_params : mapping, optional
        Start point ``{"alpha", "beta", "gamma", "delta"}``.
    max_iter : int, default 1000
        Maximum number of optimiser iterations.
    tol : float, default 1e-9
        Projected-gradient tolerance, in ``(0, 1e-3]``.
    on_failure : {"raise", "warn"}, default "raise"
        Raise or warn when the fit does not converge.

    Attributes
    ----------
    params_ : dict
        ``alpha``, ``beta`` (transaction probability), ``gamma``, ``delta``
        (dropout probability).
    log_likelihood_, standard_errors_, covariance_, converged_, n_iter_
        As for :class:`BetaGeoModel`.

    Examples
    --------
    >>> from crmcore.clv import BetaGeoBetaBinomModel, simulate_bgbb
    >>> data = simulate_bgbb(
    ...     5000, alpha=1.2, beta=0.75, gamma=0.66, delta=2.8, n_periods=6, random_state=0
    ... )
    >>> model = BetaGeoBetaBinomModel().fit(data)
    >>> sorted(model.params_)
    ['alpha', 'beta', 'delta', 'gamma']
    """

    _param_names: ClassVar[tuple[str, ...]] = ("alpha", "beta", "gamma", "delta")
    _columns: ClassVar[tuple[str, ...]] = ("frequency", "recency", "n_periods")
    _default_start: ClassVar[tuple[float, ...]] = (1.0, 1.0, 1.0, 1.0)
    kernels: ClassVar[PurchaseKernels] = BGBBKernels()

    def _prepare(self, cols: dict[str, FloatArray], weights: FloatArray) -> _Rows:
        return _rows(cols["frequency"], cols["recency"], cols["n_periods"], weights)

    def _loglik_grad(self, theta: FloatArray, prepared: Any) -> tuple[float, FloatArray]:
        return bgbb_loglik_grad(theta, prepared)

    def _loglik_rows(self, theta: FloatArray, cols: dict[str, FloatArray]) -> FloatArray:
        x, tx, n = cols["frequency"], cols["recency"], cols["n_periods"]
        return bgbb_loglik_rows(theta, _rows(x, tx, n, np.ones(x.size)))

    def probability_alive(
        self, data: pd.DataFrame | ArrayLike, *, n: ArrayLike = 0
    ) -> pd.Series | FloatArray:
        """Probability of being alive at the next opportunity, or ``n`` opportunities later.

        ``n = 0``: P(alive at opportunity ``n_periods + 1``) (FHS 2010 eq. 11);
        ``n > 0``: P(alive at ``n_periods + 1 + n``), that times the
        probability of surviving ``n`` more opportunities,
        ``B(γ, δ+n_periods+1+n) / B(γ, δ+n_periods+1)``.

        Parameters
        ----------
        data : DataFrame or array_like
            ``frequency``, ``recency``, ``n_periods`` per customer.
        n : int or array_like of int, default 0
            Opportunities after the next one (one, or one per customer).

        Returns
        -------
        Series or ndarray
            Values in ``[0, 1]``, indexed like ``data``.
        """
        return self._alive_values(data, n, "n")

    def conditional_probability_of_purchases(
        self, x: ArrayLike, n: ArrayLike, data: pd.DataFrame | ArrayLike
    ) -> pd.Series | FloatArray:
        """Probability of exactly ``x`` transactions in the next ``n`` opportunities.

        ``P(X(n_periods, n_periods + n) = x | history)``: ``1 - P(alive)`` at
        ``x = 0`` plus P(alive at the next opportunity) (eq. 11) times the
        beta-binomial mixture over the number of those ``n`` opportunities at
        which the customer is alive (see :func:`bgbb_pmf_if_alive`).

        Parameters
        ----------
        x : int or array_like of int
            Number of transactions (one, or one per customer).
        n : int or array_like of int
            Number of future opportunities (one, or one per customer).
        data : DataFrame or array_like
            ``frequency``, ``recency``, ``n_periods`` per customer.

        Returns
        -------
        Series or ndarray
            Probabilities indexed like ``data`` (0 where ``x > n``); over
            ``x = 0..n`` they sum to 1 with mean :meth:`expected_purchases`.
        """
        return self._conditional_pmf(x, n, data, ("x", "n"))

    def probability_of_purchases(self, x: ArrayLike, n: ArrayLike) -> FloatArray | float:
        """P(X(n) = x): a new customer's ``x`` transactions in ``n`` opportunities (FHS 2010).

        See :func:`bgbb_probability_of_purchases` for the expression.

        Parameters
        ----------
        x : int or array_like of int
            Number of transactions (whole, >= 0).
        n : int or array_like of int
            Number of opportunities (whole, >= 0; broadcast against ``x``).

        Returns
        -------
        float or ndarray
            Probabilities, shape of ``broadcast(x, n)``; 0 where ``x > n``.

        Examples
        --------
        >>> from crmcore.clv import BetaGeoBetaBinomModel
        >>> model = BetaGeoBetaBinomModel.from_params(
        ...     alpha=1.204, beta=0.75, gamma=0.657, delta=2.783
        ... )
        >>> p = model.probability_of_purchases(range(7), 6)
        >>> round(float(p.sum()), 12), round(float(p @ range(7)), 4)
        (1.0, 2.2196)
        """
        self._check_fitted()
        xx = as_time(x, name="x")
        check_integer_valued(np.atleast_1d(xx), name="x")
        nn = as_time(n, name="n")
        check_integer_valued(np.atleast_1d(nn), name="n")
        out = self.kernels.pmf_new(
            self._theta(), np.asarray(xx, dtype=np.float64), np.asarray(nn, dtype=np.float64)
        )
        return float(out) if out.ndim == 0 else out

    def expected_purchases(
        self, n: ArrayLike, data: pd.DataFrame | ArrayLike
    ) -> pd.Series | FloatArray:
        """Return the expected transactions in the next ``n`` opportunities (FHS 2010 eq. 13).

        Parameters
        ----------
        n : int or array_like of int
            Number of future opportunities (one, or one per customer).
        data : DataFrame or array_like
            ``frequency``, ``recency``, ``n_periods`` per customer.

        Returns
        -------
        Series or ndarray
            Indexed like ``data``.
        """
        self._check_fitted()
        summary = self.kernels.read(data)
        x, tx, nn = (summary[c] for c in self.kernels.columns)
        m = self._horizon(n, x.shape[0], "n")
        out = self.kernels.expected(self._theta(), x, tx, nn, m)
        return wrap(out, summary.index, "expected_purchases")

    def expected_purchases_new_customer(self, n: ArrayLike) -> FloatArray | float:
        """Return the expected transactions of a new customer in ``n`` opportunities (eq. 9).

        Parameters
        ----------
        n : int or array_like of int
            Number of opportunities.

        Returns
        -------
        float or ndarray
            Same shape as ``n``.
        """
        self._check_fitted()
        m = np.asarray(as_time(n, name="n"), dtype=np.float64)
        out = self.kernels.expected_new(self._theta(), m)
        return float(out) if out.ndim == 0 else out
