"""Likelihood and predictions of the BG/NBD and MBG/NBD models.

Both models share one structure (Fader, Hardie & Lee 2005; Batislam, Denizel
& Filiztekin 2007, corrected by Wagner & Hoppe 2008): purchases follow a
Poisson process with rate ``lambda ~ Gamma(r, alpha)``; a customer drops out
with probability ``p ~ Beta(a, b)`` after each repeat purchase (BG/NBD) or
also right after the first purchase at time 0 (MBG/NBD). With ``s = 0``
(BG/NBD) or ``s = 1`` (MBG/NBD) and ``beta(x) = b + x - 1 + s``:

    log L = lnΓ(r+x) - lnΓ(r) + r ln α + lnΓ(a+b) + lnΓ(b+x+s) - lnΓ(b)
            - lnΓ(a+b+x+s) + log[(α+T)^-(r+x) + δ a/beta(x) (α+t_x)^-(r+x)]

where ``δ = 1{x > 0}`` for BG/NBD and 1 for MBG/NBD (FHL 2005 eq. 6; the
numerically stable arrangement of Fader & Hardie's "#NUM!" note, 2013). All
functions here are pure and vectorised; the terms that depend on the
frequency alone are evaluated once per distinct frequency.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import special

from crmcore._types import FloatArray, IntArray
from crmcore.clv._blas import dot
from crmcore.clv._compress import unique_rows
from crmcore.clv._hyp import (
    ASYMPTOTIC_MIN_A,
    bg_expected_concentrated,
    bg_h,
    bg_survival_concentrated,
)
from crmcore.clv._kernels import AliveDraws, PurchaseKernels
from crmcore.clv._quad import beta_mean
from crmcore.clv._simulate import first_order_statistics
from crmcore.errors import ValidationError

_MAX_HORIZON_RATIO = 1e15
"""``t / (alpha + T)`` beyond which ``1 - z`` has no significant digit left."""

__all__ = [
    "BGData",
    "BGKernels",
    "bg_alive_many",
    "bg_expected_if_alive",
    "bg_loglik_grad",
    "bg_loglik_rows",
    "bg_pmf_if_alive",
    "bg_probability_alive",
    "bg_probability_of_purchases",
    "bg_survival_if_alive",
    "prepare_bg",
]


@dataclass(frozen=True)
class BGData:
    """Compressed rows with the bookkeeping the likelihood reuses.

    Terms that depend on one statistic only are evaluated once per distinct
    value (frequency, T, recency) and summed with aggregated weights; only the
    rows that have a second likelihood term (``x > 0`` for BG/NBD, all rows for
    MBG/NBD) are visited per evaluation.
    """

    x_u: FloatArray  # distinct frequencies
    w_x: FloatArray  # total weight per distinct frequency
    t_u: FloatArray  # distinct T
    w_t: FloatArray  # total weight per distinct T
    wx_t: FloatArray  # total weight * frequency per distinct T
    tx_u: FloatArray  # distinct recencies
    ix: IntArray  # second-term rows: distinct-frequency index
    i_t: IntArray  # second-term rows: distinct-T index
    itx: IntArray  # second-term rows: distinct-recency index
    x: FloatArray  # second-term rows: frequency
    w: FloatArray  # second-term rows: weight
    n: float


def prepare_bg(x: FloatArray, tx: FloatArray, T: FloatArray, w: FloatArray, *, s: int) -> BGData:
    """Index rows by distinct frequency, T and recency."""
    (x_u,), ix = unique_rows(x)
    (t_u,), i_t = unique_rows(T)
    (tx_u,), itx = unique_rows(tx)
    f64 = np.float64
    w_x = np.asarray(np.bincount(ix, weights=w, minlength=x_u.size), dtype=f64)
    w_t = np.asarray(np.bincount(i_t, weights=w, minlength=t_u.size), dtype=f64)
    wx_t = np.asarray(np.bincount(i_t, weights=w * x, minlength=t_u.size), dtype=f64)
    rows = np.flatnonzero(x > 0) if s == 0 else np.arange(x.size)
    return BGData(
        np.asarray(x_u, dtype=f64),
        w_x,
        np.asarray(t_u, dtype=f64),
        w_t,
        wx_t,
        np.asarray(tx_u, dtype=f64),
        ix[rows],
        i_t[rows],
        itx[rows],
        x[rows],
        w[rows],
        float(w.sum()),
    )


# Above this argument the Stirling series below is exact to double precision
# (the first omitted term of lnΓ is below 1/(1680 z^7) = 6e-18 at z = 100).
_STIRLING_MIN = 100.0


def _stirling_tail(z: FloatArray | float) -> FloatArray:
    """``lnΓ(z) - [(z - 1/2) ln z - z + ln(2π)/2]`` for ``z >= 100``."""
    zi = 1.0 / np.asarray(z, dtype=np.float64)
    zi2 = zi * zi
    return np.asarray(zi * (1.0 / 12.0 - zi2 * (1.0 / 360.0 - zi2 / 1260.0)), dtype=np.float64)


def log_rising(z: float, k: FloatArray) -> FloatArray:
    """``lnΓ(z + k) - lnΓ(z)`` for ``z > 0``, ``k >= 0``, accurate for large ``z``.

    The plain difference of two ``gammaln`` values loses ``eps * z ln z`` to
    cancellation (about ``1e-2`` at ``z = 1e12``); for ``z >= 100`` Stirling's
    series is differenced term by term instead, with ``log1p`` for the
    leading term.
    """
    k = np.asarray(k, dtype=np.float64)
    if z < _STIRLING_MIN:
        return np.asarray(special.gammaln(z + k) - special.gammaln(z), dtype=np.float64)
    zk = z + k
    out = (z - 0.5) * np.log1p(k / z) + k * (np.log(zk) - 1.0)
    return np.asarray(out + _stirling_tail(zk) - _stirling_tail(z), dtype=np.float64)


def digamma_step(z: float | FloatArray, k: FloatArray) -> FloatArray:
    """``ψ(z + k) - ψ(z)`` (the derivative of :func:`log_rising` in ``z``).

    Elementwise (``z`` a scalar or an array broadcast with ``k``). For
    ``z >= 100`` from the asymptotic series ``ψ(z) = ln z - 1/(2z) -
    1/(12z²) + 1/(120z⁴) - 1/(252z⁶)``, differenced term by term: the plain
    difference loses ``eps * ln z`` to cancellation.
    """
    z_arr, k_arr = np.broadcast_arrays(
        np.asarray(z, dtype=np.float64), np.asarray(k, dtype=np.float64)
    )
    out = np.empty(z_arr.shape)
    big = z_arr >= _STIRLING_MIN
    small = ~big
    if small.any():
        zs, ks = z_arr[small], k_arr[small]
        out[small] = special.digamma(zs + ks) - special.digamma(zs)
    if big.any():
        zb, kb = z_arr[big], k_arr[big]

        def tail(u: FloatArray) -> FloatArray:
            ui = 1.0 / u
            ui2 = ui * ui
            return np.asarray(
                -0.5 * ui - ui2 * (1.0 / 12.0 - ui2 * (1.0 / 120.0 - ui2 / 252.0)),
                dtype=np.float64,
            )

        out[big] = np.log1p(kb / zb) + tail(zb + kb) - tail(zb)
    return out


def _second_log(theta: FloatArray, x: FloatArray, s: int) -> FloatArray:
    """``log(a / beta(x))`` per frequency (``-inf`` where the term is absent)."""
    a, b = theta[2], theta[3]
    out = np.full(x.shape, -np.inf)
    has = x > 0 if s == 0 else np.ones(x.shape, dtype=bool)
    out[has] = np.log(a) - np.log(b + x[has] - 1 + s)
    return out


def bg_loglik_grad(theta: FloatArray, d: BGData, s: int) -> tuple[float, FloatArray]:
    """Total weighted log-likelihood and gradient in ``(r, alpha, a, b)``.

    Parameters
    ----------
    theta : ndarray
        ``(r, alpha, a, b)``.
    d : BGData
        Prepared rows (:func:`prepare_bg`).
    s : {0, 1}
        0 for BG/NBD, 1 for MBG/NBD.

    Returns
    -------
    ll : float
        Total weighted log-likelihood.
    grad : ndarray
        Its gradient with respect to ``theta``.

    Notes
    -----
    With ``A1 = -(r+x) ln(α+T)`` and ``A2 = ln(a/beta(x)) - (r+x) ln(α+t_x)``,
    ``log(e^A1 + e^A2) = A1 + softplus(A2 - A1)``; the derivative of the
    softplus is the logistic weight ``p2`` of the second term.
    """
    r, alpha, a, b = (float(v) for v in theta)
    xu = d.x_u
    # Terms in the frequency only (one value per distinct frequency). The beta
    # part lnΓ(a+b) + lnΓ(b+x+s) - lnΓ(b) - lnΓ(a+b+x+s) is evaluated as a
    # difference of log rising factorials, which stays accurate when a and b
    # are large (the no-heterogeneity ridge), where the four lnΓ cancel.
    k = xu + s
    lx = log_rising(r, xu) + log_rising(b, k) - log_rising(a + b, k)
    ll = dot(d.w_x, lx)
    dpsi_ab = digamma_step(a + b, k)
    g_r = dot(d.w_x, digamma_step(r, xu))
    g_a = -dot(d.w_x, dpsi_ab)
    g_b = dot(d.w_x, digamma_step(b, k) - dpsi_ab)
    # A1 = -(r + x) ln(alpha + T), summed per distinct T.
    # r ln(alpha) - (r + x) ln(alpha + T) = -(r + x) log1p(T / alpha) - x ln(alpha),
    # summed per distinct T; in this form it does not cancel when r and alpha
    # are large together (the homogeneous-rate ridge).
    invT_u = 1.0 / (alpha + d.t_u)
    l1p_u = np.log1p(d.t_u / alpha)
    ll -= dot(r * d.w_t + d.wx_t, l1p_u) + np.log(alpha) * float(d.wx_t.sum())
    g_r -= dot(d.w_t, l1p_u)
    g_alpha = r * dot(d.w_t, d.t_u * invT_u) / alpha - dot(d.wx_t, invT_u)
    # Second term, row by row.
    if d.x.size:
        second_u = _second_log(theta, xu, s)
        has_u = np.isfinite(second_u)
        inv_beta_u = np.zeros(xu.shape)
        inv_beta_u[has_u] = 1.0 / (b + xu[has_u] - 1 + s)
        # ln(alpha + T) - ln(alpha + t_x) as log1p(T/alpha) - log1p(t_x/alpha): the
        # ln(alpha) cancels exactly, so large alpha (and r) lose no precision.
        l1ptx_u = np.log1p(d.tx_u / alpha)
        invtx_u = 1.0 / (alpha + d.tx_u)
        rx = r + d.x
        dl = l1p_u[d.i_t]
        dl -= l1ptx_u[d.itx]
        z = rx * dl
        z += second_u[d.ix]
        # softplus(z) = z + log(1 + exp(-z)) and expit(z) = 1 / (1 + exp(-z)); z is
        # clipped at -700 so exp cannot overflow (the softplus is then ~1e-304).
        np.maximum(z, -700.0, out=z)
        q = np.negative(z)
        np.exp(q, out=q)
        q += 1.0
        sp = np.log(q)
        sp += z
        ll += dot(d.w, sp)
        p2 = np.divide(d.w, q)  # weighted second-term share w * expit(z)
        g_r += dot(p2, dl)
        g_a += float(p2.sum()) / a
        g_b -= dot(p2, inv_beta_u[d.ix])
        dinv = invT_u[d.i_t]
        dinv -= invtx_u[d.itx]
        p2 *= rx
        g_alpha += dot(p2, dinv)
    return ll, np.array([g_r, g_alpha, g_a, g_b])


def bg_loglik_rows(
    theta: FloatArray, x: FloatArray, tx: FloatArray, T: FloatArray, *, s: int
) -> FloatArray:
    """Per-customer log-likelihood (unweighted), arranged as in :func:`bg_loglik_grad`."""
    r, alpha, a, b = (float(v) for v in theta)
    second = _second_log(theta, x, s)
    rx = r + x
    return np.asarray(
        log_rising(r, x)
        - x * np.log(alpha)
        + log_rising(b, x + s)
        - log_rising(a + b, x + s)
        + np.logaddexp(-rx * np.log1p(T / alpha), second - rx * np.log1p(tx / alpha)),
        dtype=np.float64,
    )


def bg_probability_alive(
    theta: FloatArray, x: FloatArray, tx: FloatArray, T: FloatArray, *, s: int
) -> FloatArray:
    """P(alive at T | x, t_x, T): Fader, Hardie & Lee (2008), "Computing P(alive)".

    ``1 / (1 + δ a/beta(x) ((α+T)/(α+t_x))^(r+x))``, evaluated as a logistic of
    the log-odds so it never overflows.
    """
    r, alpha = float(theta[0]), float(theta[1])
    log_odds = _second_log(theta, x, s) + (r + x) * (np.log(alpha + T) - np.log(alpha + tx))
    return np.asarray(special.expit(-log_odds), dtype=np.float64)


def bg_expected_if_alive(
    theta: FloatArray, x: FloatArray, T: FloatArray, t: FloatArray, *, s: int
) -> FloatArray:
    """E[Y(t) | alive at T, x, T]: expected purchases in (T, T+t] of an alive customer.

    ``(a+b+x-1+s)/(a-1) [1 - ((α+T)/(α+T+t))^(r+x) 2F1(r+x, b+x+s; a+b+x-1+s; z)]``,
    ``z = t/(α+T+t)`` (FHL 2005 eq. 10 without its P(alive) factor), through
    Euler's transformation (see ``_hyp``); for ``a >= 60`` (towards the
    no-heterogeneity ridge, where the series overflows) by the expansion of
    the mixture form about the beta's mean (``_hyp.bg_expected_concentrated``).
    """
    r, alpha, a, b = (float(v) for v in theta)
    if a >= ASYMPTOTIC_MIN_A:
        return bg_expected_concentrated(r + x, t / (alpha + T), a, b + x + s)
    span = alpha + T
    far = np.asarray(t > _MAX_HORIZON_RATIO * span)
    if far.any():
        # z = t / (α+T+t) rounds to 1: the hypergeometric form has no digits left.
        i = int(np.flatnonzero(far.ravel())[0])
        t_bad = float(np.broadcast_to(t, far.shape).ravel()[i])
        raise ValidationError(
            f"horizon t = {t_bad:g} is beyond what the BG/NBD expectation resolves in "
            f"double precision: t must be at most {_MAX_HORIZON_RATIO:g} times alpha + T "
            f"(here alpha = {alpha:g} in the data's time units); use a shorter horizon",
            field="t",
            value=t_bad,
        )
    z = t / (span + t)
    A = np.full(np.shape(z), a + b - 1 - r + s)
    C = a + b + x - 1 + s
    return (a + b + x - 1 + s) * bg_h(A, a - 1.0, np.broadcast_to(C, np.shape(z)), z)


def bg_survival_if_alive(
    theta: FloatArray, x: FloatArray, T: FloatArray, t: FloatArray, *, s: int
) -> FloatArray:
    """P(alive at T+t | alive at T, x, T): no dropout at the purchases in (T, T+t].

    Given alive at ``T`` the posterior is ``λ ~ Gamma(r+x, α+T)`` and
    ``p ~ Beta(a, b+x+s)`` (the likelihood's alive term, FHL 2005 eq. 6), and
    the customer is still alive at ``T+t`` if none of the ``N ~ Poisson(λt)``
    purchases was followed by a dropout: ``E[(1-p)^N] = E[e^(-λpt)] =
    E_p[(1 + pt/(α+T))^-(r+x)]``. Pfaff's transformation (Abramowitz &
    Stegun 15.3.4) turns this into ``(1-u)^(r+x) E[(1 - uV)^-(r+x)]`` with
    ``V ~ Beta(b+x+s, a)`` and ``u = t/(α+T+t)``, a ratio below 1 evaluated
    by double-exponential quadrature in log space with nodes centred on each
    row's beta (``_quad.beta_mean``; fixed nodes missed a narrow
    beta: 8e-2 off at a = 45, b = 1e4); for ``a >= 60``, towards the
    no-heterogeneity ridge, by the expansion about the beta's mean
    (``_hyp.bg_survival_concentrated``).
    """
    r, alpha, a, b = (float(v) for v in theta)
    if a >= ASYMPTOTIC_MIN_A:
        return bg_survival_concentrated(
            r + np.asarray(x, dtype=np.float64), t / (alpha + T), a, b + np.asarray(x) + s
        )
    x, T, t = np.broadcast_arrays(*(np.asarray(v, dtype=np.float64) for v in (x, T, t)))
    shape = x.shape
    xf, Tf, tf = x.ravel(), T.ravel(), t.ravel()
    rx = (r + xf)[:, None]
    log_1mu = (np.log(alpha + Tf) - np.log(alpha + Tf + tf))[:, None]

    def log_g(lv: FloatArray, l1v: FloatArray) -> FloatArray:
        return np.asarray(rx * (log_1mu - np.logaddexp(l1v, log_1mu + lv)), dtype=np.float64)

    out = beta_mean(b + xf + s, np.full(xf.shape, a), log_g)
    return np.asarray(np.minimum(out, 1.0).reshape(shape), dtype=np.float64)


def bg_pmf_if_alive(
    theta: FloatArray, x: FloatArray, T: FloatArray, t: FloatArray, n_max: int, *, s: int
) -> FloatArray:
    """P(Y(t) = n | alive at T, x, T) for ``n = 0..n_max``: ``(rows, n_max + 1)``.

    FHL 2005 eq. 8 (a new customer's P(X(t) = n)) at the posterior of an
    alive customer, ``λ ~ Gamma(r+x, α+T)``, ``p ~ Beta(a, b+x+s)``: the
    purchases in ``(T, T+t]`` are ``min(N, K)``, ``N ~ Poisson(λt)`` and
    ``K`` the purchase after which the customer drops out (``K >= 1``;
    MBG/NBD's drop at time 0 is behind an alive customer), so

        P(n) = B(a, b'+n)/B(a, b') NB(n) + 1{n>=1} B(a+1, b'+n-1)/B(a, b') P(N >= n),

    ``b' = b+x+s``, ``NB`` the negative binomial of ``(r+x, α+T)`` at ``t``
    and its tail the regularised incomplete beta function ``I_z(n, r+x)``,
    ``z = t/(α+T+t)``, evaluated once per row at ``n_max + 1`` and carried
    down by adding the NBD probabilities (positive terms: no cancellation,
    and one incomplete beta function per row instead of one per ``n``). The
    NBD and beta factors follow their one-step recurrences.
    Times the P(alive) of FHL (2008), plus ``1 - P(alive)`` at ``n = 0``,
    this is the conditional PMF of Fader & Hardie's BG/NBD notes.
    """
    r, alpha, a, b = (float(v) for v in theta)
    rx = (r + np.asarray(x, dtype=np.float64))[:, None]
    at = (alpha + np.asarray(T, dtype=np.float64))[:, None]
    tt = np.asarray(t, dtype=np.float64)[:, None]
    bp = (b + np.asarray(x, dtype=np.float64) + s)[:, None]
    j = np.arange(n_max, dtype=np.float64)[None, :]  # steps n -> n + 1
    z = tt / (at + tt)
    # NBD by its recurrence NB(n+1) = NB(n) (r'+n)/(n+1) z, summed in logs (no gammaln
    # per cell; NB(0) = (α'/(α'+t))^r' may underflow alone, its products may not).
    with np.errstate(divide="ignore"):  # t = 0: log z = -inf, NB(n >= 1) = 0
        steps = np.log(rx + j) - np.log(j + 1.0) + np.log(z)
    log_nb = np.concatenate([np.zeros_like(rx), np.cumsum(steps, axis=1)], axis=1)
    log_nb += rx * (np.log(at) - np.log(at + tt))
    nb = np.exp(log_nb)
    # E[(1-p)^n] = B(a, b'+n)/B(a, b') and E[p (1-p)^(n-1)] = B(a+1, b'+n-1)/B(a, b'),
    # by their ratios (b'+n)/(a+b'+n) and (b'+n-1)/(a+b'+n).
    keep = np.concatenate([np.ones_like(bp), np.cumprod((bp + j) / (a + bp + j), axis=1)], axis=1)
    first = a / (a + bp)
    later = np.cumprod((bp + j[:, :-1]) / (a + 1.0 + bp + j[:, :-1]), axis=1)
    drop = np.concatenate([np.zeros_like(bp), first, first * later], axis=1)[:, : n_max + 1]
    # P(N >= n) = P(N > n_max) + sum_{j=n}^{n_max} P(N = j)
    beyond = special.betainc(float(n_max + 1), rx[:, 0], z[:, 0])
    tail = np.cumsum(nb[:, ::-1], axis=1)[:, ::-1] + beyond[:, None]
    return np.asarray(keep * nb + drop * tail, dtype=np.float64)


def bg_alive_many(
    draws: FloatArray, x: FloatArray, tx: FloatArray, T: FloatArray, s: int
) -> FloatArray:
    """BG/MBG P(alive) (Fader, Hardie & Lee 2008, eq. 2) for all draws: ``(k, rows)``."""
    r, alpha, a, b = (draws[:, j][:, None] for j in range(4))
    log_odds = np.log(alpha + T[None, :])
    log_odds -= np.log(alpha + tx[None, :])
    log_odds *= r + x[None, :]
    # BG/NBD has no dropout term at x = 0 (masked below); keep its log finite.
    xs = x if s == 1 else np.maximum(x, 1.0)
    log_odds += np.log(a) - np.log(b + xs[None, :] - 1.0 + s)
    if s == 0:
        log_odds[:, x == 0] = -np.inf
    np.negative(log_odds, out=log_odds)
    return np.asarray(special.expit(log_odds, out=log_odds), dtype=np.float64)


def bg_probability_of_purchases(
    theta: FloatArray, n: FloatArray, t: FloatArray, *, s: int
) -> FloatArray:
    """P(X(t) = n) for a new customer (FHL 2005 eq. 8; MBG/NBD analogue).

    Given λ and p: BG/NBD ``(1-p)^n P(N=n) + p (1-p)^(n-1) P(N>=n)`` (n >= 1),
    MBG/NBD ``(1-p)^(n+1) P(N=n) + p (1-p)^n P(N>=n)``, ``N ~ Poisson(λ t)``;
    integrated over the mixing distributions: NBD probabilities and the
    regularised incomplete beta function for the NBD tail.
    """
    r, alpha, a, b = (float(v) for v in theta)
    n, t = np.broadcast_arrays(np.asarray(n, dtype=np.float64), np.asarray(t, dtype=np.float64))
    lbeta_ab = special.betaln(a, b)
    q = t / (alpha + t)
    log_nb = (
        special.gammaln(r + n)
        - special.gammaln(r)
        - special.gammaln(n + 1)
        + r * np.log(alpha / (alpha + t))
        + special.xlogy(n, q)
    )
    first = np.exp(special.betaln(a, b + n + s) - lbeta_ab + log_nb)
    tail = np.where(n > 0, special.betainc(np.maximum(n, 1e-300), r, q), 1.0)
    has_second = n > 0 if s == 0 else np.ones(n.shape, dtype=bool)
    n_drop = np.where(has_second, n - 1 + s, 0.0)
    second = np.where(has_second, np.exp(special.betaln(a + 1, b + n_drop) - lbeta_ab) * tail, 0.0)
    return np.asarray(first + second, dtype=np.float64)


class BGKernels(PurchaseKernels):
    """Prediction kernels of the BG/NBD (``s = 0``) and MBG/NBD (``s = 1``) models."""

    def __init__(self, s: int) -> None:
        self.s = s

    def alive(self, theta: FloatArray, x: FloatArray, tx: FloatArray, T: FloatArray) -> FloatArray:
        return bg_probability_alive(theta, x, tx, T, s=self.s)

    def expected_if_alive(
        self, theta: FloatArray, x: FloatArray, T: FloatArray, t: FloatArray
    ) -> FloatArray:
        return bg_expected_if_alive(theta, x, T, t, s=self.s)

    def survival_if_alive(
        self, theta: FloatArray, x: FloatArray, T: FloatArray, t: FloatArray
    ) -> FloatArray:
        return bg_survival_if_alive(theta, x, T, t, s=self.s)

    def pmf_if_alive(
        self, theta: FloatArray, x: FloatArray, T: FloatArray, t: FloatArray, n_max: int
    ) -> FloatArray:
        return bg_pmf_if_alive(theta, x, T, t, n_max, s=self.s)

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
        """Alive: ``λ ~ Gamma(r+x, α+T)``, ``p ~ Beta(a, b+x+s)``; ``min(N, K)`` purchases.

        ``N ~ Poisson(λ span)`` arrivals, ``K ~ Geometric(p)`` the purchase
        after which the customer drops out; the purchases are the first
        ``min(N, K)`` arrivals (uniform order statistics).
        """
        r, alpha, a, b = (float(v) for v in theta)
        idx = np.flatnonzero(rng.random(x.size) < self.alive(theta, x, tx, T))
        lam = rng.gamma(r + x[idx], 1.0 / (alpha + T[idx]))
        p = np.clip(rng.beta(a, b + x[idx] + self.s), 1e-12, 1.0)
        N = rng.poisson(lam * span)
        taken = np.minimum(N, rng.geometric(p))
        owner, u = first_order_statistics(taken, N, rng)
        return idx[owner], u * span

    def expected_new(self, theta: FloatArray, t: FloatArray) -> FloatArray:
        zero = np.zeros(np.shape(t))
        return self.expected(theta, zero, zero, zero, t)

    def pmf_new(self, theta: FloatArray, n: FloatArray, t: FloatArray) -> FloatArray:
        return bg_probability_of_purchases(theta, n, t, s=self.s)

    def alive_draws(
        self, draws: FloatArray, x: FloatArray, tx: FloatArray, T: FloatArray, *, chunk: int
    ) -> AliveDraws:
        def rows(ks: slice) -> FloatArray:
            return bg_alive_many(draws, x[ks], tx[ks], T[ks], self.s)

        return rows
