"""Predictions of the Pareto/NBD model (pure, vectorised) and its prediction kernels.

Notation and likelihood in :mod:`crmcore.clv._pareto_core` (Fader & Hardie
2005, "A note on deriving the Pareto/NBD model and related expressions", FH
2005 below). An alive customer with history ``(x, T)`` has the posterior
purchase rate ``λ ~ Gamma(r+x, α+T)`` and dropout rate ``μ ~ Gamma(s, β+T)``,
independently; every prediction below is P(alive) times an expectation under
that posterior.
"""

from __future__ import annotations

import numpy as np
from scipy import special

from crmcore._types import FloatArray, IntArray
from crmcore.clv._compress import unique_rows
from crmcore.clv._kernels import AliveDraws, PurchaseKernels
from crmcore.clv._pareto_core import PNBDData, log_g_value, prepare_pnbd, row_terms

__all__ = [
    "PNBDKernels",
    "pnbd_dert",
    "pnbd_expected_if_alive",
    "pnbd_expected_new",
    "pnbd_many",
    "pnbd_pmf_if_alive",
    "pnbd_probability_alive",
    "pnbd_probability_of_purchases",
    "pnbd_survival_if_alive",
]


def pnbd_probability_alive(
    theta: FloatArray, x: FloatArray, tx: FloatArray, T: FloatArray
) -> FloatArray:
    """P(alive at T | x, t_x, T) = E1 / (E1 + s I) (FH 2005 eq. 11)."""
    log_e1, log_a = row_terms(theta, x, tx, T)
    return np.asarray(np.exp(log_e1 - np.logaddexp(log_e1, log_a)), dtype=np.float64)


def _rate_horizon(s: float, b: FloatArray, t: FloatArray) -> FloatArray:
    """``[1 - (b/(b+t))^(s-1)] / (s-1)``, continuous at ``s = 1`` (= log(1 + t/b))."""
    L = np.log1p(t / b)
    return np.asarray(L * special.exprel(-(s - 1.0) * L), dtype=np.float64)


def pnbd_expected_if_alive(
    theta: FloatArray, x: FloatArray, T: FloatArray, t: FloatArray
) -> FloatArray:
    """E[Y(t) | alive at T, x, T] = (r+x)(β+T)/(α+T) · [1 - ((β+T)/(β+T+t))^(s-1)]/(s-1).

    FH 2005 eq. 21 without its P(alive) factor: the posterior mean rate
    ``(r+x)/(α+T)`` times the expected remaining lifetime within ``t`` under
    the posterior ``μ ~ Gamma(s, β+T)``.
    """
    r, alpha, s, beta = (float(v) for v in theta)
    return (r + x) * (beta + T) / (alpha + T) * _rate_horizon(s, beta + T, t)


def pnbd_survival_if_alive(
    theta: FloatArray, x: FloatArray, T: FloatArray, t: FloatArray
) -> FloatArray:
    """P(alive at T+t | alive at T) = E[e^(-μt)] = ((β+T)/(β+T+t))^s, ``μ ~ Gamma(s, β+T)``.

    Times P(alive at T) (FH 2005 eq. 11) this is the probability of being
    alive ``t`` after the end of observation (independent of ``x``: the
    lifetime and the purchases are independent given alive).
    """
    s, beta = float(theta[2]), float(theta[3])
    x, T, t = np.broadcast_arrays(*(np.asarray(v, dtype=np.float64) for v in (x, T, t)))
    return np.asarray(np.exp(-s * np.log1p(t / (beta + T))), dtype=np.float64)


_PMF_CELLS = 1 << 22
_GL_X, _GL_W = np.polynomial.legendre.leggauss(200)
# The distribution of future purchases integrates a smooth function of
# v = log((β+T+τ)/(β+T)) over a finite interval: 64 Gauss-Legendre nodes are
# exact to ~1e-13 relative (checked against mpmath in the golden tests).
_PMF_X, _PMF_W = np.polynomial.legendre.leggauss(64)
_TINY = 1e-250


def _log_nbd_steps(rx: FloatArray, n_max: int) -> FloatArray:
    """``sum_{j<n} log((r'+j)/(j+1))``, ``n = 0..n_max``: the NBD's n-dependence in logs."""
    j = np.arange(n_max, dtype=np.float64)[None, :]
    steps = np.log(rx[:, None] + j) - np.log(j + 1.0)
    return np.concatenate([np.zeros((rx.size, 1)), np.cumsum(steps, axis=1)], axis=1)


def pnbd_pmf_if_alive(
    theta: FloatArray, x: FloatArray, T: FloatArray, t: FloatArray, n_max: int
) -> FloatArray:
    """P(Y(t) = n | alive at T, x, T) for ``n = 0..n_max``: ``(rows, n_max + 1)``.

    A new customer's P(X(t) = n) at the posterior of an alive customer,
    ``λ ~ Gamma(r+x, α+T)``, ``μ ~ Gamma(s, β+T)``: alive throughout
    (``((β+T)/(β+T+t))^s``) the count is NBD at ``t``; dying at ``τ`` it is
    NBD at ``τ``. Times P(alive) plus ``1 - P(alive)`` at ``n = 0``, this is
    the conditional PMF of Fader & Hardie, "Deriving the conditional PMF of
    the Pareto/NBD model" (brucehardie.com note 028, eq. 16).

    The death time is integrated in ``v = log((β+T+τ)/(β+T))`` (density
    ``s e^(-s v)``) by Gauss-Legendre quadrature. With ``z = τ/(α'+τ)`` the
    NBD at a node is ``c_n (1-z)^r' z^n``, ``c_n`` common to all nodes, so
    every ``n`` costs one multiply-and-sum over the nodes (rows rescaled
    when the running powers get tiny) and no special function.
    """
    r, alpha, s, beta = (float(v) for v in theta)
    xf, Tf, tf = (np.asarray(v, dtype=np.float64).ravel() for v in (x, T, t))
    out = np.empty((xf.size, n_max + 1))
    n = np.arange(n_max + 1, dtype=np.float64)[None, :]
    step = max(1, _PMF_CELLS // (_PMF_X.size * (n_max + 1)))
    for lo in range(0, xf.size, step):
        sl = slice(lo, min(lo + step, xf.size))
        rx, at, bt, tt = r + xf[sl], alpha + Tf[sl], beta + Tf[sl], tf[sl]
        steps = _log_nbd_steps(rx, n_max)
        span = np.log1p(tt / bt)  # v runs over (0, span)
        with np.errstate(divide="ignore"):  # t = 0: nothing happens, log 0 = -inf
            log_z = np.log(tt) - np.log(at + tt)
            alive = np.exp(
                steps
                + (rx * (np.log(at) - np.log(at + tt)) - s * span)[:, None]
                + special.xlogy(n, np.exp(log_z)[:, None])
            )
            v = 0.5 * span[:, None] * (_PMF_X[None, :] + 1.0)
            tau = bt[:, None] * np.expm1(v)
            log_w = (
                np.log(0.5 * _PMF_W)[None, :]
                + np.log(s)
                - s * v
                + rx[:, None] * (np.log(at)[:, None] - np.log(at[:, None] + tau))
            )
            z = tau / (at[:, None] + tau)
            top = log_w.max(axis=1)
            power = np.exp(log_w - top[:, None])
            log_sum = np.empty((rx.size, n_max + 1))
            shift = np.zeros(rx.size)
            for k in range(n_max + 1):
                if k:
                    power *= z
                total = power.sum(axis=1)
                tiny = (total < _TINY) & (total > 0)
                if tiny.any():
                    power[tiny] /= _TINY
                    total[tiny] /= _TINY
                    shift[tiny] += np.log(_TINY)
                log_sum[:, k] = np.log(total) + shift
            dead = np.exp(steps + log_sum + (top + np.log(span))[:, None])
        dead[tt == 0] = 0.0
        alive[tt == 0] = np.where(n[0] == 0, 1.0, 0.0)
        out[sl] = alive + dead
    return out


def pnbd_expected_new(theta: FloatArray, t: FloatArray) -> FloatArray:
    """E[X(t)] = rβ/(α(s-1)) [1 - (β/(β+t))^(s-1)] (FH 2005 eq. 17)."""
    r, alpha, s, beta = (float(v) for v in theta)
    return np.asarray(r * beta / alpha * _rate_horizon(s, np.full(np.shape(t), beta), t))


def pnbd_probability_of_purchases(theta: FloatArray, n: FloatArray, t: FloatArray) -> FloatArray:
    """P(X(t) = n) for a new customer.

    Alive throughout ``(0, t]`` (probability ``(β/(β+t))^s``) the count is
    NBD; dying at ``τ`` (density ``s β^s (β+τ)^-(s+1)``) it is NBD over ``τ``:
    ``NB(n; t) (β/(β+t))^s + ∫_0^t s β^s (β+τ)^-(s+1) NB(n; τ) dτ`` (the
    decomposition behind FH 2005 eq. 18). The integral is taken in
    ``v = log((β+τ)/β)``, where the dropout density becomes ``s e^(-s v)``
    (``τ = β (e^v - 1)``): deaths soon after ``0`` (``β`` small against
    ``t``) are no longer a spike that a rule in ``τ`` misses. 200-point
    Gauss-Legendre quadrature in log space.
    """
    r, alpha, s, beta = (float(v) for v in theta)
    n, t = np.broadcast_arrays(np.asarray(n, dtype=np.float64), np.asarray(t, dtype=np.float64))
    shape = n.shape
    nf, tf = n.ravel(), t.ravel()

    def log_nb(nn: FloatArray, tau: FloatArray) -> FloatArray:
        return np.asarray(
            special.gammaln(r + nn)
            - special.gammaln(r)
            - special.gammaln(nn + 1)
            + r * (np.log(alpha) - np.log(alpha + tau))
            + special.xlogy(nn, tau)
            - nn * np.log(alpha + tau)
        )

    span = np.log1p(tf / beta)  # v runs over (0, log((β+t)/β))
    alive = np.exp(log_nb(nf, tf) - s * span)
    v = 0.5 * span[:, None] * (_GL_X[None, :] + 1.0)
    tau = beta * np.expm1(v)
    logw = np.log(s) - s * v + log_nb(nf[:, None], tau) + np.log(0.5 * _GL_W)[None, :]
    dead = np.where(tf > 0, span * np.exp(special.logsumexp(logw, axis=1)), 0.0)
    return np.asarray((alive + dead).reshape(shape), dtype=np.float64)


def pnbd_dert(
    theta: FloatArray, x: FloatArray, tx: FloatArray, T: FloatArray, delta: float
) -> FloatArray:
    """Discounted expected residual transactions (Fader, Hardie & Lee 2005b, eq. 2).

    ``DERT = P(alive) · (r+x)/(α+T) · (β+T)^s δ^(s-1) U(s, s; δ(β+T))`` with
    ``U`` the confluent hypergeometric function of the second kind: the
    expected rate of an alive customer times ``E[1/(δ + μ)]`` under the
    posterior ``μ ~ Gamma(s, β+T)``.
    """
    r, alpha, s, beta = (float(v) for v in theta)
    (ux, utx, uT), inv = unique_rows(x, tx, T)
    alive = pnbd_probability_alive(theta, ux, utx, uT)
    bT = beta + uT
    w = delta * bT
    with np.errstate(over="ignore", invalid="ignore"):
        life = bT * np.exp((s - 1.0) * np.log(w)) * special.hyperu(s, s, w)
    bad = ~np.isfinite(life)
    if bad.any() and s > 1.0:
        # scipy's U(s, s, w) is NaN for large s at small w, and w^(s-1)
        # overflows for large s (the no-heterogeneity ridge, s and beta large).
        life[bad] = bT[bad] * _residual_integral(s, w[bad])
    out = alive * (r + ux) / (alpha + uT) * life
    return np.asarray(out[inv], dtype=np.float64)


_LAG_X, _LAG_W = np.polynomial.laguerre.laggauss(80)


def _residual_integral(s: float, w: FloatArray) -> FloatArray:
    """``J(s, w) = ∫_0^∞ e^(-w t) (1+t)^(-s) dt = w^(s-1) U(s, s, w)`` for ``s > 1``.

    With ``u = w t + s log(1+t)`` (increasing from 0 to ∞),
    ``J = ∫_0^∞ e^(-u) / (w + s/(1+t(u))) du``: a bounded, smooth integrand
    for Gauss-Laguerre (80 nodes; relative error below 1e-12 for ``s >= 2``
    against mpmath). ``y = log(1+t)`` solves the convex equation
    ``w (e^y - 1) + s y = u`` by Newton's method from an upper bound, which
    converges monotonically.
    """
    ww = np.asarray(w, dtype=np.float64)[:, None]
    u = _LAG_X[None, :]
    y = np.minimum(u / s, np.log1p(u / ww))
    for _ in range(200):
        step = (ww * np.expm1(y) + s * y - u) / (ww * np.exp(y) + s)
        y = y - step
        if np.all(np.abs(step) <= 1e-15 * np.maximum(y, 1e-300)):
            break
    return np.asarray((_LAG_W / (ww + s * np.exp(-y))).sum(axis=1), dtype=np.float64)


def pnbd_many(
    draws: FloatArray,
    lg: FloatArray,
    d: PNBDData,
    t: float | None,
) -> FloatArray:
    """P(alive) (``t is None``) or E[Y(t)] for many parameter vectors at once.

    Parameters
    ----------
    draws : ndarray
        ``(k, 4)`` parameter vectors.
    lg : ndarray
        ``(k, n_pairs)``: :func:`log_g` of every draw at ``d``'s pairs.
    d : PNBDData
        The rows (weights unused).
    t : float or None
        Horizon of the conditional expectation.

    Returns
    -------
    ndarray
        ``(k, rows)``, one row per parameter vector.
    """
    r, alpha, s, beta = (draws[:, j][:, None] for j in range(4))
    tu, xu = d.t_u[None, :], d.x_u[None, :]
    # Tables per distinct T and per distinct x, gathered per row (few logs on k x rows).
    # log E1 with the factor α^r β^s that lg carries too (see log_g).
    log_e1 = (-xu)[:, d.i_xu] * np.log(alpha + tu)[:, d.i_tu]
    log_e1 -= (r * np.log1p(tu / alpha) + s * np.log1p(tu / beta))[:, d.i_tu]
    lg_x = lg[:, d.i_tx]
    diff = lg[:, d.i_big_t]
    diff -= lg_x
    has = diff < 0
    has &= (d.tx < d.T)[None, :]
    np.minimum(diff, -1e-300, out=diff)
    # log A = log s - log(r+s+x) + lg_x + log(1 - exp(diff)); then alive = expit(log E1 - log A).
    log_a = np.expm1(diff)
    np.negative(log_a, out=log_a)
    np.log(log_a, out=log_a)  # log(-expm1(diff))
    log_a += lg_x
    log_a += (np.log(s) - np.log(r + s + xu))[:, d.i_xu]
    np.subtract(log_e1, log_a, out=log_e1)
    log_e1[~has] = np.inf
    alive = special.expit(log_e1, out=log_e1)
    if t is None:
        return np.asarray(alive, dtype=np.float64)
    L = np.log1p(t / (beta + tu))
    k_t = (beta + tu) / (alpha + tu) * (L * special.exprel(-(s - 1.0) * L))
    alive *= (r + xu)[:, d.i_xu]
    alive *= k_t[:, d.i_tu]
    return np.asarray(alive, dtype=np.float64)


def _rows_of(d: PNBDData, ks: slice) -> PNBDData:
    """Return the rows ``ks`` of ``d``, keeping all its pairs and distinct values."""
    return PNBDData(
        d.x[ks],
        d.tx[ks],
        d.T[ks],
        d.w[ks],
        d.pair_x,
        d.pair_t,
        d.i_tx[ks],
        d.i_big_t[ks],
        d.t_u,
        d.i_tu[ks],
        d.x_u,
        d.i_xu[ks],
        d.w_x,
        d.n,
    )


class PNBDKernels(PurchaseKernels):
    """Prediction kernels of the Pareto/NBD model."""

    def alive(self, theta: FloatArray, x: FloatArray, tx: FloatArray, T: FloatArray) -> FloatArray:
        return pnbd_probability_alive(theta, x, tx, T)

    def expected_if_alive(
        self, theta: FloatArray, x: FloatArray, T: FloatArray, t: FloatArray
    ) -> FloatArray:
        return pnbd_expected_if_alive(theta, x, T, t)

    def survival_if_alive(
        self, theta: FloatArray, x: FloatArray, T: FloatArray, t: FloatArray
    ) -> FloatArray:
        return pnbd_survival_if_alive(theta, x, T, t)

    def pmf_if_alive(
        self, theta: FloatArray, x: FloatArray, T: FloatArray, t: FloatArray, n_max: int
    ) -> FloatArray:
        return pnbd_pmf_if_alive(theta, x, T, t, n_max)

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
        """Alive: ``λ ~ Gamma(r+x, α+T)``, ``μ ~ Gamma(s, β+T)``, remaining life ``Exp(μ)``.

        ``Poisson(λ L)`` purchases, uniform on ``(0, L)``, ``L`` the part of
        the span the customer lives.
        """
        r, alpha, s, beta = (float(v) for v in theta)
        idx = np.flatnonzero(rng.random(x.size) < self.alive(theta, x, tx, T))
        lam = rng.gamma(r + x[idx], 1.0 / (alpha + T[idx]))
        mu = rng.gamma(s, 1.0 / (beta + T[idx]))
        life = np.minimum(rng.exponential(size=idx.size) / np.maximum(mu, 1e-300), span)
        count = rng.poisson(lam * life)
        owner = np.repeat(np.arange(idx.size), count)
        return idx[owner], rng.random(owner.size) * life[owner]

    def expected_new(self, theta: FloatArray, t: FloatArray) -> FloatArray:
        return pnbd_expected_new(theta, t)

    def pmf_new(self, theta: FloatArray, n: FloatArray, t: FloatArray) -> FloatArray:
        return pnbd_probability_of_purchases(theta, n, t)

    def alive_draws(
        self, draws: FloatArray, x: FloatArray, tx: FloatArray, T: FloatArray, *, chunk: int
    ) -> AliveDraws:
        """P(alive) for all draws; ``log G`` tables built once when they fit one chunk.

        With few distinct ``(x, t)`` pairs (``T`` on a grid of days) the
        ``draws × pairs`` table of ``log G`` is evaluated once for all rows;
        otherwise (continuous ``T``: a pair per customer) per slice, at that
        slice's own pairs, distinct ``T`` and ``x`` only, so no array is ever
        ``draws × customers``.
        """
        d_all = prepare_pnbd(x, tx, T, np.ones(x.size))
        lg_all: FloatArray | None = None
        if max(d_all.pair_x.size / 2, d_all.t_u.size, d_all.x_u.size) <= chunk:
            lg_all = np.stack([log_g_value(th, d_all.pair_x, d_all.pair_t) for th in draws])

        def rows(ks: slice) -> FloatArray:
            if lg_all is not None:
                return pnbd_many(draws, lg_all, _rows_of(d_all, ks), None)
            d = prepare_pnbd(x[ks], tx[ks], T[ks], np.ones(x[ks].size))
            lg = np.stack([log_g_value(th, d.pair_x, d.pair_t) for th in draws])
            return pnbd_many(draws, lg, d, None)

        return rows
