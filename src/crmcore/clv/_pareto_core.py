"""Likelihood and predictions of the Pareto/NBD model (pure, vectorised).

Schmittlein, Morrison & Colombo (1987); notation and expressions of Fader &
Hardie (2005), "A note on deriving the Pareto/NBD model and related
expressions" (FH 2005 below). Purchases follow a Poisson process with rate
``λ ~ Gamma(r, α)``; the unobserved lifetime is exponential with rate
``μ ~ Gamma(s, β)``. For a customer with ``x`` repeat purchases, the last at
``t_x``, observed until ``T`` (FH 2005 eq. 3, integrated over λ and μ)::

    L = Γ(r+x) α^r β^s / Γ(r) · [ (α+T)^-(r+x) (β+T)^-s + s · I ]
    I = ∫_{t_x}^{T} (α+τ)^-(r+x) (β+τ)^-(s+1) dτ

``I`` is the probability of dying at ``τ`` after the last purchase. With
``c0 = max(α, β)``, ``c1 = min(α, β)`` and the exponents ``p`` (of the factor
in ``c0``) and ``q`` (of the factor in ``c1``), ``m = p + q - 1 = r + s + x``::

    I = [G(t_x) - G(T)] / m,
    G(t) = (c0+t)^-m 2F1(m, q; m+1; z_t),   z_t = (c0-c1)/(c0+t) in [0, 1),

which is FH 2005 eq. 22-23 (the ``alpha >= beta`` / ``alpha < beta`` branches).
Euler's transformation (Abramowitz & Stegun 15.3.3) gives
``2F1(m, q; m+1; z) = (1-z)^(1-q) H``, ``H = 2F1(1, p; p+q; z)``, a series of
positive terms whose ratio ``z (p+k)/(p+q+k)`` is below ``z`` whatever the
frequency: large ``x`` only speeds it up. ``1 - z = (c1+t)/(c0+t)`` is formed
without cancellation. For ``z > 0.9`` the same ``H`` is evaluated from its
Euler integral, ``H = E[1/(1 - zV)]`` with ``V ~ Beta(p, q)``, by tanh-sinh
quadrature in log space (robust to the endpoint singularities of ``q < 1``
and to ``z -> 1``; no special case at ``s = 1`` where the textbook
``1 - z`` connection formula is degenerate). Nodes fixed on ``(0, 1)`` serve
wide betas; when ``p`` and ``q`` are both large (``s + 1`` and ``r + x``, as
on the ``s, β -> ∞`` ridge of BG/NBD-like data) the beta is narrower than
their spacing and ``log H`` was off by up to 37, so those rows get nodes
centred on the peak of their own integrand (:func:`_centred_nodes`). ``G(t_x) - G(T)`` is taken as
``G(t_x) (1 - exp(log G(T) - log G(t_x)))`` with ``log1mexp``; it is exactly
0 when ``t_x = T``. Every quantity carries its analytic gradient.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import special

from crmcore._types import BoolArray, FloatArray, IntArray
from crmcore.clv._bgfamily import digamma_step, log_rising
from crmcore.clv._blas import dot, matvec
from crmcore.clv._compress import unique_rows

__all__ = [
    "PNBDData",
    "log_g",
    "log_g_value",
    "pnbd_loglik_grad",
    "pnbd_loglik_rows",
    "prepare_pnbd",
    "row_terms",
]

_Z_SERIES = 0.9
_TOL = 2e-17
_MAX_TERMS = 1000
# Centred sinh rule for narrow z > 0.9 rows (see _centred_nodes): y = y* + σ sinh τ,
# τ = k/16, |τ| <= 6.5 (209 nodes; the reach 3 sinh 6.5 ≈ 1000 covers tails
# falling off at rate 0.04 in y), σ <= 3, eight safeguarded Newton steps for y*.
# h = 1/16 resolves the softplus bends up to |y - y*| ≈ 14 (h = 1/10: 4e-8 off).
# tanh-sinh nodes on (0, 1): t = k h, |t| <= 6.5 (1 - v reaches exp(-2000); all in logs).
_TS_H = 1.0 / 16.0
_TS_T = np.arange(-104, 105) * _TS_H
_TS_U = 0.5 * np.pi * np.sinh(_TS_T)
_TS_LOGV = -np.logaddexp(0.0, -2.0 * _TS_U)
_TS_LOG1MV = -np.logaddexp(0.0, 2.0 * _TS_U)
_TS_LOGJ = np.log(np.pi * _TS_H) + np.log(np.cosh(_TS_T))
_TS_Y = 2.0 * _TS_U  # logit v
# A row is narrow when its beta's logit width sqrt(1/p + 1/q) is under _NARROW
# fixed-node spacings at its mode log(p/q) (spacing h sqrt(π² + y²) in y = 2u).
_NARROW = 3.0
_SLOW = 0.25
_LC_H = 1.0 / 16.0
_LC_T = np.arange(-104, 105) * _LC_H
_LC_SINH = np.sinh(_LC_T)
_LC_LOGC = np.log(np.cosh(_LC_T))
_LC_CAP = 3.0
_LC_NEWTON = 8


def _series_h(
    p: FloatArray, q: FloatArray, z: FloatArray, eps: FloatArray
) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray]:
    """``log H`` and ``d log H / d(p, q, z)`` by the positive-term series (z <= 0.9).

    The running state is kept compact: converged entries are written out and
    dropped only once a fifth of the active set has converged (they keep
    accumulating negligible terms until then), so most iterations are plain
    whole-array updates without gathers.
    """
    n = p.size
    out = np.empty((4, n))
    idx = np.arange(n)
    pa, qa, za, ea = p.copy(), q.copy(), z.copy(), eps.copy()
    term = np.ones(n)
    H = np.ones(n)
    Hp, Hq, Hz, lp, lq = (np.zeros(n) for _ in range(5))
    for k in range(_MAX_TERMS):
        pk = pa + k
        pqk = pk + qa
        ratio = pk / pqk
        Hz += term * ratio * (k + 1)
        term *= ratio
        term *= za
        lp += 1.0 / pk - 1.0 / pqk
        lq -= 1.0 / pqk
        H += term
        Hp += term * lp
        Hq += term * lq
        done = term * (k + 2) <= _TOL * H * ea
        n_done = int(np.count_nonzero(done))
        if n_done and (n_done == idx.size or 5 * n_done >= idx.size or k == _MAX_TERMS - 1):
            out[:, idx[done]] = (H[done], Hp[done], Hq[done], Hz[done])
            keep = ~done
            idx = idx[keep]
            if idx.size == 0:
                break
            pa, qa, za, ea, term, H, Hp, Hq, Hz, lp, lq = (
                v[keep] for v in (pa, qa, za, ea, term, H, Hp, Hq, Hz, lp, lq)
            )
    if idx.size:
        out[:, idx] = (H, Hp, Hq, Hz)
    Hs = out[0]
    return np.log(Hs), out[1] / Hs, out[2] / Hs, out[3] / Hs


def _series_logh(p: FloatArray, q: FloatArray, z: FloatArray) -> FloatArray:
    """``log H`` alone by the positive-term series (z <= 0.9; no derivatives)."""
    n = p.size
    out = np.empty(n)
    idx = np.arange(n)
    pa, qa, za = p.copy(), q.copy(), z.copy()
    term = np.ones(n)
    H = np.ones(n)
    for k in range(_MAX_TERMS):
        term *= za * (pa + k) / (pa + qa + k)
        H += term
        done = term <= _TOL * H * (1.0 - za)
        n_done = int(np.count_nonzero(done))
        if n_done and (n_done == idx.size or 5 * n_done >= idx.size or k == _MAX_TERMS - 1):
            out[idx[done]] = H[done]
            keep = ~done
            idx = idx[keep]
            if idx.size == 0:
                break
            pa, qa, za, term, H = (v[keep] for v in (pa, qa, za, term, H))
    if idx.size:
        out[idx] = H
    return np.log(out)


def _softplus(x: FloatArray) -> FloatArray:
    """``log(1 + e^x)`` in place of ``x``: ``max(x, 0) + log1p(e^-|x|)``.

    About 2.5x faster than ``np.logaddexp(0, x)``; it is the inner loop of
    both quadrature rules below.
    """
    pos = np.maximum(x, 0.0)
    np.abs(x, out=x)
    np.negative(x, out=x)
    np.exp(x, out=x)
    np.log1p(x, out=x)
    x += pos
    return x


def _centre(p: FloatArray, q: FloatArray, big_l: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Mode ``y*`` of the logit-space integrand ``F`` and the node scale there.

    ``F'(y) = p σ(-y) - (q-1) σ(y) - σ(y-L)`` falls from ``p`` to ``-q`` and
    has one root; ``[lo, hi]`` brackets it (``F'(lo) > 0 > F'(hi)``) and a
    safeguarded Newton iteration (bisection when a step leaves the bracket or
    ``F'' >= 0``) needs only to land within a fraction of the peak's width.
    The width is ``1/sqrt(-F''(y*))``; as a node scale it is capped (``_LC_CAP``)
    so that the softplus bends at ``y = 0`` and ``y = L`` (singular at
    ``± iπ``) stay resolved.
    """
    lo = np.log(p) - np.log(np.maximum(q, 1.0)) - 1.0
    hi = np.maximum(big_l, np.log(p)) + np.log1p(1.0 / q) + 3.0
    y = np.clip(np.where(q > 1.0, np.log(p) - np.log(np.abs(q - 1.0) + 1e-300), big_l), lo, hi)
    pq1 = p + q - 1.0
    for _ in range(_LC_NEWTON):
        sy = special.expit(y)
        sl = special.expit(y - big_l)
        f1 = p * (1.0 - sy) - (q - 1.0) * sy - sl
        f2 = -pq1 * sy * (1.0 - sy) - sl * (1.0 - sl)
        up = f1 > 0.0
        lo = np.where(up, y, lo)
        hi = np.where(up, hi, y)
        step = y - f1 / np.where(f2 < 0.0, f2, -np.inf)
        y = np.where((step > lo) & (step < hi), step, 0.5 * (lo + hi))
    sy = special.expit(y)
    sl = special.expit(y - big_l)
    curv = pq1 * sy * (1.0 - sy) + sl * (1.0 - sl)
    return y, 1.0 / np.sqrt(np.maximum(curv, 1e-300))


def _centred_nodes(
    p: FloatArray, q: FloatArray, log_eps: FloatArray, y0: FloatArray, sig: FloatArray
) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray]:
    """Nodes ``y`` (rows, nodes), ``softplus(-y)`` there, ``log`` weights, ``log`` H offsets.

    ``H B(p, q) = ∫ exp(F(y)) dy`` with ``y = logit v`` and
    ``F = -(p+q-1) softplus(-y) - (q-1) y - softplus(y - L)``, ``L = -log(1-z)``
    (``v^p (1-v)^q`` from the beta, ``(1+e^y)/(1+e^(y-L)) = 1/(1-zv)``).
    With ``y = y* + σ sinh τ`` centred on each row's peak the trapezoidal rule
    in ``τ`` converges double exponentially however narrow the peak is.
    """
    big_l = -log_eps
    y = sig[:, None] * _LC_SINH[None, :]
    y += y0[:, None]
    a = _softplus(-y)
    logw = _softplus(y - big_l[:, None])
    np.negative(logw, out=logw)
    logw -= (q - 1.0)[:, None] * y
    logw -= (p + q - 1.0)[:, None] * a
    logw += _LC_LOGC[None, :]
    offset = np.log(_LC_H * sig) - special.betaln(p, q)
    return y, a, logw, offset


def _centred_logh(
    p: FloatArray, q: FloatArray, log_eps: FloatArray, y0: FloatArray, sig: FloatArray
) -> FloatArray:
    """``log H`` alone by the centred rule of :func:`_centred_h` (no derivatives)."""
    _, _, logw, offset = _centred_nodes(p, q, log_eps, y0, sig)
    top = logw.max(axis=1, keepdims=True)
    logw -= top
    np.exp(logw, out=logw)
    return np.asarray(np.log(logw.sum(axis=1)) + top[:, 0] + offset, dtype=np.float64)


def _centred_h(
    p: FloatArray, q: FloatArray, log_eps: FloatArray, y0: FloatArray, sig: FloatArray
) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray]:
    """``log H`` and its gradient from ``H = E[1/(1 - zV)]``, ``V ~ Beta(p, q)``.

    The Euler integral in ``y = logit v`` on nodes centred per row
    (:func:`_centred_nodes`). ``d log H/dp = E_w[log v] - ψ(p) + ψ(p+q)``
    (likewise ``q`` with ``log(1-v) = -y - softplus(-y)``) and ``d log H/dz =
    E_w[v/(1-zv)]``, ``v/(1-zv) = 1/(e^-y + 1 - z)``, under the normalised
    quadrature weights ``w``.
    """
    y, a, logw, offset = _centred_nodes(p, q, log_eps, y0, sig)
    top = logw.max(axis=1, keepdims=True)
    wts = np.exp(logw - top)
    tot = wts.sum(axis=1)
    logH = np.log(tot) + top[:, 0] + offset
    wts /= tot[:, None]
    psi_p = digamma_step(p, q)  # ψ(p+q) - ψ(p)
    e_a = np.einsum("ij,ij->i", wts, a)
    dp = psi_p - e_a
    dq = -np.einsum("ij,ij->i", wts, y) - e_a + digamma_step(q, p)
    # v/(1-zv) = 1/(e^-y + e^-L) = exp(L - softplus(L - y)), at most e^L.
    np.subtract(-log_eps[:, None], y, out=y)
    _softplus(y)
    np.subtract(-log_eps[:, None], y, out=y)
    np.exp(y, out=y)
    dz = np.einsum("ij,ij->i", wts, y)
    return logH, dp, dq, dz


def _fixed_logh(p: FloatArray, q: FloatArray, log_eps: FloatArray) -> FloatArray:
    """``log H`` alone by the fixed tanh-sinh rule of :func:`_fixed_h` (no derivatives)."""
    lv = _TS_LOGV[None, :]
    l1v = _TS_LOG1MV[None, :]
    # log(1 - z v) = log(1 - v) + softplus(log(1 - z) + logit v).
    logw = _softplus(log_eps[:, None] + _TS_Y[None, :])
    logw += l1v
    np.subtract(_TS_LOGJ[None, :], logw, out=logw)
    logw += p[:, None] * lv
    logw += q[:, None] * l1v
    top = logw.max(axis=1, keepdims=True)
    logw -= top
    np.exp(logw, out=logw)
    total = np.log(logw.sum(axis=1)) + top[:, 0]
    return np.asarray(total - special.betaln(p, q), dtype=np.float64)


def _fixed_h(
    p: FloatArray, q: FloatArray, z: FloatArray, log_eps: FloatArray
) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray]:
    """``log H`` and its gradient by tanh-sinh nodes fixed on ``(0, 1)`` (wide betas)."""
    lv = _TS_LOGV[None, :]
    l1v = _TS_LOG1MV[None, :]
    # log(1 - z v) = log((1 - v) + (1 - z) v) = log(1 - v) + softplus(log(1 - z)
    # + logit v): no cancellation near v = z = 1.
    l1zv = _softplus(log_eps[:, None] + _TS_Y[None, :])
    l1zv += l1v
    logw = p[:, None] * lv + q[:, None] * l1v + _TS_LOGJ[None, :] - l1zv
    top = logw.max(axis=1, keepdims=True)
    wts = np.exp(logw - top)
    tot = wts.sum(axis=1)
    logH = np.log(tot) + top[:, 0] - special.betaln(p, q)
    wts /= tot[:, None]
    dp = wts @ _TS_LOGV + digamma_step(p, q)
    dq = wts @ _TS_LOG1MV + digamma_step(q, p)
    dz = np.sum(wts * np.exp(lv - l1zv), axis=1)
    return logH, dp, dq, dz


def _route(
    p: FloatArray, q: FloatArray, log_eps: FloatArray
) -> tuple[BoolArray, FloatArray, FloatArray]:
    """Rows whose integrand is too narrow for the fixed nodes, with their centre and scale.

    Narrow: the integrand's own width at its peak ``y*`` (``1/sqrt(-F'')``,
    which a pole near ``v = 1`` widens, unlike the beta's ``sqrt(1/p + 1/q)``)
    is under ``_NARROW`` fixed-node spacings there (``h sqrt(π² + y*²)`` in
    ``y = 2u``). Wide rows, whose mass may spread over ``(0, -log(1-z))``,
    stay on the fixed nodes, which are as accurate there and cheaper.
    """
    y0, width = _centre(p, q, -log_eps)
    nar = width * width < (_NARROW * _TS_H) ** 2 * (np.pi**2 + y0 * y0)
    # A slow tail (rate min(p, q) < _SLOW in y) reaches where the fixed nodes
    # are sparse: about 1e-8 off, against 1e-10 on centred nodes.
    nar |= np.minimum(p, q) < _SLOW
    return np.asarray(nar, dtype=np.bool_), y0[nar], np.minimum(width[nar], _LC_CAP)


def _quad_logh(p: FloatArray, q: FloatArray, log_eps: FloatArray) -> FloatArray:
    """``log H`` alone (z > 0.9): fixed nodes, or centred ones for narrow rows."""
    nar, y0, sig = _route(p, q, log_eps)
    if not nar.any():
        return _fixed_logh(p, q, log_eps)
    out = np.empty(p.shape)
    wide = ~nar
    if wide.any():
        out[wide] = _fixed_logh(p[wide], q[wide], log_eps[wide])
    out[nar] = _centred_logh(p[nar], q[nar], log_eps[nar], y0, sig)
    return out


def _quad_h(
    p: FloatArray, q: FloatArray, z: FloatArray, log_eps: FloatArray
) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray]:
    """``log H`` and its gradient (z > 0.9): fixed nodes, or centred ones for narrow rows."""
    nar, y0, sig = _route(p, q, log_eps)
    if not nar.any():
        return _fixed_h(p, q, z, log_eps)
    out = np.empty((4, p.size))
    wide = ~nar
    if wide.any():
        out[:, wide] = _fixed_h(p[wide], q[wide], z[wide], log_eps[wide])
    out[:, nar] = _centred_h(p[nar], q[nar], log_eps[nar], y0, sig)
    return out[0], out[1], out[2], out[3]


def log_g_value(theta: FloatArray, x: FloatArray, t: FloatArray) -> FloatArray:
    """``log G(t) + r ln α + s ln β`` without the gradient (see :func:`log_g`)."""
    r, alpha, s, beta = (float(v) for v in theta)
    x = np.asarray(x, dtype=np.float64)
    t = np.asarray(t, dtype=np.float64)
    c0, c1 = (alpha, beta) if alpha >= beta else (beta, alpha)
    p, q = (
        (r + x, np.full(x.shape, s + 1.0)) if alpha >= beta else (np.full(x.shape, s + 1.0), r + x)
    )
    c0t = c0 + t
    z = (c0 - c1) / c0t
    log_eps = np.log(c1 + t) - np.log(c0t)
    low = z <= _Z_SERIES
    logH = np.empty(x.shape)
    if low.all():
        logH = _series_logh(p, q, z)
    else:
        logH[low] = _series_logh(p[low], q[low], z[low])
        hi = ~low
        logH[hi] = _quad_logh(p[hi], q[hi], log_eps[hi])
    return np.asarray(_log_g_base(theta, x, t) + logH, dtype=np.float64)


def _log_g_base(theta: FloatArray, x: FloatArray, t: FloatArray) -> FloatArray:
    """``log G(t) + r ln α + s ln β - log H``, without cancellation on the ridges.

    ``-m ln(c0+t) + (1-q) ln ε`` plus ``r ln α + s ln β`` regrouped so that
    ``r`` and ``s`` only multiply ``log1p(t/α)`` and ``log1p(t/β)``: as ``r``
    or ``s`` grow (the ``r, α -> ∞`` and ``s, β -> ∞`` ridges) the naive sum
    of terms of size ``s ln β`` would lose ``eps * s ln β`` (~1e-5 at
    ``s = 1e9``) to rounding.
    """
    r, alpha, s, beta = (float(v) for v in theta)
    l_a = np.log1p(t / alpha)
    l_b = np.log1p(t / beta)
    if alpha >= beta:  # c0 = α, q = s + 1
        out = -x * np.log(alpha + t)
    else:  # c0 = β, q = r + x
        out = (1.0 - x) * np.log(alpha + t) - np.log(beta + t)
    out -= r * l_a
    out -= s * l_b
    return np.asarray(out, dtype=np.float64)


def log_g(theta: FloatArray, x: FloatArray, t: FloatArray) -> tuple[FloatArray, FloatArray]:
    """``log G(t) + r ln α + s ln β`` and its gradient in ``(r, alpha, s, beta)``.

    ``G(t) = (c0+t)^-m 2F1(m, q; m+1; (c0-c1)/(c0+t))`` (see the module notes);
    ``G(t) / m`` is the integral of ``(α+τ)^-(r+x) (β+τ)^-(s+1)`` from ``t`` to
    infinity. The constant ``r ln α + s ln β`` of the likelihood is folded in
    (see :func:`_log_g_base`); the gradient has shape ``(4, n)``.
    """
    r, alpha, s, beta = (float(v) for v in theta)
    x = np.asarray(x, dtype=np.float64)
    t = np.asarray(t, dtype=np.float64)
    big_alpha = alpha >= beta
    c0, c1 = (alpha, beta) if big_alpha else (beta, alpha)
    if big_alpha:
        p, q = r + x, np.full(x.shape, s + 1.0)
    else:
        p, q = np.full(x.shape, s + 1.0), r + x
    c0t = c0 + t
    z = (c0 - c1) / c0t
    eps = (c1 + t) / c0t
    log_eps = np.log(c1 + t) - np.log(c0t)
    logH = np.empty(x.shape)
    dHp = np.empty(x.shape)
    dHq = np.empty(x.shape)
    dHz = np.empty(x.shape)
    low = z <= _Z_SERIES
    for mask, use_series in ((low, True), (~low, False)):
        if not mask.any():
            continue
        idx = np.flatnonzero(mask)
        if use_series:
            out = _series_h(p[idx], q[idx], z[idx], eps[idx])
        else:
            out = _quad_h(p[idx], q[idx], z[idx], log_eps[idx])
        logH[idx], dHp[idx], dHq[idx], dHz[idx] = out
    lg = _log_g_base(theta, x, t) + logH
    # Derivatives of the regrouped form (see _log_g_base) through z and p, q.
    l_a = np.log1p(t / alpha)
    l_b = np.log1p(t / beta)
    ridge_a = r * t / (alpha * (alpha + t))  # d/dα of -r log1p(t/α)
    ridge_b = s * t / (beta * (beta + t))
    grad = np.empty((4, *x.shape))
    if big_alpha:  # z = (α-β)/(α+t); p = r + x, q = s + 1
        grad[0] = dHp - l_a
        grad[2] = dHq - l_b
        grad[1] = ridge_a - x / c0t + dHz * (c1 + t) / (c0t * c0t)
        grad[3] = ridge_b - dHz / c0t
    else:  # z = (β-α)/(β+t); p = s + 1, q = r + x
        grad[0] = dHq - l_a
        grad[2] = dHp - l_b
        grad[1] = ridge_a + (1.0 - x) / (c1 + t) - dHz / c0t
        grad[3] = ridge_b - 1.0 / c0t + dHz * (c1 + t) / (c0t * c0t)
    return lg, grad


@dataclass(frozen=True)
class PNBDData:
    """Rows with the ``(x, t)`` pairs at which ``G`` is evaluated, deduplicated.

    Also the distinct ``T`` (the first likelihood term depends on ``T`` and
    ``x`` only) and the distinct frequencies with their total weights (the
    constant ``lnΓ(r+x)`` term).
    """

    x: FloatArray
    tx: FloatArray
    T: FloatArray
    w: FloatArray
    pair_x: FloatArray
    pair_t: FloatArray
    i_tx: IntArray
    i_big_t: IntArray
    t_u: FloatArray
    i_tu: IntArray
    x_u: FloatArray
    i_xu: IntArray
    w_x: FloatArray
    n: float


def prepare_pnbd(x: FloatArray, tx: FloatArray, T: FloatArray, w: FloatArray) -> PNBDData:
    """Index the distinct ``(x, t_x)`` and ``(x, T)`` pairs, ``T`` and ``x`` of the rows."""
    (px, pt), inv = unique_rows(np.concatenate([x, x]), np.concatenate([tx, T]))
    (t_u,), i_tu = unique_rows(T)
    (x_u,), i_x = unique_rows(x)
    n = x.size
    f64 = np.float64
    return PNBDData(
        x,
        tx,
        T,
        w,
        np.asarray(px, dtype=f64),
        np.asarray(pt, dtype=f64),
        inv[:n],
        inv[n:],
        np.asarray(t_u, dtype=f64),
        i_tu,
        np.asarray(x_u, dtype=f64),
        i_x,
        np.asarray(np.bincount(i_x, weights=w, minlength=x_u.size), dtype=f64),
        float(w.sum()),
    )


def _log_terms(
    theta: FloatArray, d: PNBDData, lg: FloatArray
) -> tuple[FloatArray, FloatArray, FloatArray, BoolArray]:
    """Per row: ``log E1``, ``log s I`` (``-inf`` if t_x = T), ``log G(T) - log G(t_x)``.

    ``E1`` and ``I`` both carry the factor ``α^r β^s`` of the likelihood's
    constant (as ``lg`` does, see :func:`log_g`).
    """
    r, alpha, s, beta = (float(v) for v in theta)
    x = d.x
    log_e1 = (-r * np.log1p(d.t_u / alpha) - s * np.log1p(d.t_u / beta))[d.i_tu]
    log_e1 -= x * np.log(alpha + d.t_u)[d.i_tu]
    lg_x = lg[d.i_tx]
    diff = lg[d.i_big_t] - lg_x  # <= 0
    # t_x == T (or so close that G(t_x) and G(T) round equal): no dropout term.
    has = (d.tx < d.T) & (diff < 0)
    log_a = np.full(x.shape, -np.inf)
    dh = diff[has]
    log_a[has] = np.log(s) - np.log(r + s + x[has]) + lg_x[has] + np.log(-np.expm1(dh))
    return log_e1, log_a, diff, has


def _log_const(theta: FloatArray, x: FloatArray) -> FloatArray:
    """``lnΓ(r+x) - lnΓ(r)`` (``r ln α + s ln β`` is in the row terms)."""
    return log_rising(float(theta[0]), x)


def pnbd_loglik_grad(theta: FloatArray, d: PNBDData) -> tuple[float, FloatArray]:
    """Total weighted log-likelihood (FH 2005 eq. 22-23) and its gradient.

    The dropout term's gradient is accumulated per ``(x, t)`` pair (two
    ``bincount`` calls), the first term's per row with single-threaded dot
    products; nothing of size ``4 × rows`` is formed.
    """
    r, alpha, s, beta = (float(v) for v in theta)
    lg, dlg = log_g(theta, d.pair_x, d.pair_t)
    log_e1, log_a, diff, has = _log_terms(theta, d, lg)
    tot = np.logaddexp(log_e1, log_a)
    p1 = np.exp(log_e1 - tot)
    wa = d.w * (1.0 - p1)
    we = d.w - wa
    # r ln α + s ln β is folded into each row's terms as -r log1p(T/α) and
    # -s log1p(T/β) (see _log_g_base): on the s, β -> ∞ ridge (s ~ 1e9) the
    # plain terms are ~1e10 per row and their rounding would swamp the
    # log-likelihood's changes and stall the line search.
    ll = dot(d.w, tot) + dot(d.w_x, log_rising(r, d.x_u))
    # First term: -r log1p(T/α) - x log(α+T) - s log1p(T/β), reduced per distinct T.
    we_t = np.bincount(d.i_tu, weights=we, minlength=d.t_u.size)
    wex_t = np.bincount(d.i_tu, weights=we * d.x, minlength=d.t_u.size)
    aT, bT = alpha + d.t_u, beta + d.t_u
    g = np.empty(4)
    g[0] = -dot(we_t, np.log1p(d.t_u / alpha))
    g[1] = r * dot(we_t, d.t_u / (alpha * aT)) - dot(wex_t, 1.0 / aT)
    g[2] = -dot(we_t, np.log1p(d.t_u / beta))
    g[3] = s * dot(we_t, d.t_u / (beta * bT))
    # Dropout term: d log A = (1 + κ) d lg_x - κ d lg_T + d log(s/m).
    kappa = np.zeros(d.x.size)
    dh = diff[has]
    # κ = 1 / expm1(-Δ) = exp(Δ) / (1 - exp(Δ)), without overflow for Δ << 0.
    kappa[has] = np.exp(dh - np.log(-np.expm1(dh)))
    wk = wa * kappa
    npair = d.pair_x.size
    pair_w = np.bincount(d.i_tx, weights=wa + wk, minlength=npair)
    pair_w -= np.bincount(d.i_big_t, weights=wk, minlength=npair)
    g += matvec(dlg, pair_w)
    inv_m = dot(wa, 1.0 / (r + s + d.x))
    g[0] -= inv_m
    g[2] += float(wa.sum()) / s - inv_m
    # Constant: lnΓ(r+x) - lnΓ(r).
    g[0] += dot(d.w_x, digamma_step(r, d.x_u))
    return float(ll), g


def row_terms(
    theta: FloatArray, x: FloatArray, tx: FloatArray, T: FloatArray
) -> tuple[FloatArray, FloatArray]:
    """Per row: ``log E1`` (alive throughout) and ``log s I`` (died after ``t_x``)."""
    d = prepare_pnbd(x, tx, T, np.ones(x.size))
    lg = log_g_value(theta, d.pair_x, d.pair_t)
    log_e1, log_a, _, _ = _log_terms(theta, d, lg)
    return log_e1, log_a


def pnbd_loglik_rows(
    theta: FloatArray, x: FloatArray, tx: FloatArray, T: FloatArray
) -> FloatArray:
    """Per-customer log-likelihood (unweighted)."""
    log_e1, log_a = row_terms(theta, x, tx, T)
    return np.asarray(_log_const(theta, x) + np.logaddexp(log_e1, log_a), dtype=np.float64)
