"""The Gauss hypergeometric term of the BG/NBD-family expectations.

The conditional expectation of the BG/NBD model (Fader, Hardie & Lee 2005,
eq. 10) needs

    1 - (1 - z)^(r+x) 2F1(r + x, b + x; a + b + x - 1; z),   z = t / (alpha + T + t).

For a large frequency ``x`` the series in that form diverges like
``(1 - z)^(a - 1 - r - x)`` as ``z -> 1`` and the two factors cancel. Euler's
transformation, 2F1(A, B; C; z) = (1 - z)^(C - A - B) 2F1(C - A, C - B; C; z)
(Abramowitz & Stegun 15.3.3), removes the cancellation:

    (1 - z)^(r+x) 2F1(r+x, b+x; a+b+x-1; z) = (1 - z)^(a-1) 2F1(a+b-1-r, a-1; a+b+x-1; z),

whose parameters no longer grow with ``x`` except ``C``, which only speeds up
convergence. Because the second parameter is ``a - 1``, every series term but
the first carries the factor ``a - 1``; this module returns the quotient

    h = [1 - (1 - z)^(a-1) 2F1(A, a-1; C; z)] / (a - 1)

computed without dividing by ``a - 1`` (the limit ``a -> 1`` is exact):
``h = -log1p(-z) * exprel(u) - exp(u) * S`` with ``u = (a-1) log1p(-z)`` and
``S = sum_{k>=1} (A)_k (a)_{k-1} z^k / ((C)_k k!)``.

The series is summed in vectorised form for ``z <= 0.9`` or ``C >= 40`` (where
its terms fall off fast whatever ``z``); otherwise SciPy's
``hyp2f1`` (which applies its own ``1 - z`` transformations) is used on the
transformed parameters, except when ``|a - 1| < 1e-3`` where the series is
summed further (up to ``z = 0.9999``) to avoid cancellation.
"""

from __future__ import annotations

import numpy as np
from scipy import special

from crmcore._types import FloatArray

__all__ = ["bg_h"]

_SERIES_MAX_Z = 0.9
_SERIES_MIN_C = 40.0
_MAX_TERMS = 2000
_SMALL_AM1 = 1e-3
_SLOW_MAX_Z = 0.9999
_SLOW_TERMS = 400_000
_EPS = 1e-17


def _series(
    A: FloatArray, am1: FloatArray, C: FloatArray, z: FloatArray, max_terms: int = _MAX_TERMS
) -> FloatArray:
    """``S`` for arrays of equal shape (``z <= 0.9``).

    The terms run on compacted copies of the unfinished elements: gathering
    and scattering through an index array at every term cost more than the
    arithmetic. An element that has converged keeps a zero term (so later
    terms add exactly nothing to its sum) until a quarter of the live
    elements have converged, and then all converged ones are dropped at once.
    Each element gets exactly the terms it got one at a time: the same sum.
    """
    term = A / C * z
    total = term.copy()
    idx = np.flatnonzero(term != 0)
    a_A, a_m, a_C, a_z = A[idx], am1[idx], C[idx], z[idx]
    a_t, a_s = term[idx], total[idx]
    # the same double as elementwise when every element has the same A and a - 1
    uniform = idx.size > 0 and bool((a_A == a_A[0]).all() and (a_m == a_m[0]).all())
    A0, m0 = (float(a_A[0]), float(a_m[0])) if uniform else (0.0, 0.0)
    # scratch arrays reused at every term (fresh temporaries cost page faults)
    num, den = np.empty(idx.size), np.empty(idx.size)
    done = np.empty(idx.size, dtype=bool)
    for k in range(1, max_terms):
        n = idx.size
        if n == 0:
            break
        nu, de, dn = num[:n], den[:n], done[:n]
        np.add(a_C, k, out=de)
        de *= k + 1
        if uniform:  # one draw's A and a - 1: the numerator is one number
            np.divide((A0 + k) * (m0 + k), de, out=nu)
        else:
            np.add(a_A, k, out=nu)
            nu *= a_m + k
            nu /= de
        a_t *= nu
        a_t *= a_z
        a_s += a_t
        # converged where |term| <= eps |sum|
        np.abs(a_t, out=nu)
        np.abs(a_s, out=de)
        de *= _EPS
        np.less_equal(nu, de, out=dn)
        n_done = int(np.count_nonzero(dn))
        if n_done == 0:
            continue
        if 4 * n_done < n:
            a_t[dn] = 0.0  # converged: every later term adds zero
            continue
        total[idx[dn]] = a_s[dn]
        live = ~dn
        idx = idx[live]
        a_A, a_m, a_C, a_z = a_A[live], a_m[live], a_C[live], a_z[live]
        a_t, a_s = a_t[live], a_s[live]
    total[idx] = a_s
    return total


def bg_h(A: FloatArray, am1: float, C: FloatArray, z: FloatArray) -> FloatArray:
    """Return ``[1 - (1-z)^(a-1) 2F1(A, a-1; C; z)] / (a-1)`` elementwise.

    Parameters
    ----------
    A, C : ndarray
        First and third hypergeometric parameters (broadcast with ``z``).
    am1 : float
        ``a - 1`` (any real; the value at ``a = 1`` is the continuous limit).
    z : ndarray
        Argument in ``[0, 1)``.

    Returns
    -------
    ndarray
        The quotient, same shape as the broadcast inputs.
    """
    A_b, C_b, z_b = np.broadcast_arrays(
        np.asarray(A, dtype=np.float64),
        np.asarray(C, dtype=np.float64),
        np.asarray(z, dtype=np.float64),
    )
    shape = z_b.shape
    A_f, C_f, z_f = A_b.ravel(), C_b.ravel(), z_b.ravel()
    am1_f = np.full(z_f.shape, am1)
    L1 = np.log1p(-z_f)
    u = am1 * L1
    out = -L1 * special.exprel(u)
    small = (z_f <= _SERIES_MAX_Z) | (C_f >= _SERIES_MIN_C)
    if small.any():
        idx = np.flatnonzero(small)
        S = _series(A_f[idx], am1_f[idx], C_f[idx], z_f[idx])
        out[idx] -= np.exp(u[idx]) * S
    if (~small).any():
        idx = np.flatnonzero(~small)
        if abs(am1) < _SMALL_AM1:
            # (F - 1) / (a - 1) would cancel: sum the series, whose terms decay
            # like z^k (bounded work; beyond _SLOW_MAX_Z the cancellation costs
            # about -log10|a - 1| digits).
            slow = idx[z_f[idx] <= _SLOW_MAX_Z]
            if slow.size:
                S = _series(A_f[slow], am1_f[slow], C_f[slow], z_f[slow], _SLOW_TERMS)
                out[slow] -= np.exp(u[slow]) * S
            idx = idx[z_f[idx] > _SLOW_MAX_Z]
        if idx.size:
            F = special.hyp2f1(A_f[idx], am1, C_f[idx], z_f[idx])
            S = (F - 1.0) / am1 if am1 != 0.0 else np.full(idx.size, np.nan)
            bad = ~np.isfinite(S)
            if bad.any():  # SciPy gave up: sum the series (slowly) instead
                j = idx[bad]
                S[bad] = _series(A_f[j], am1_f[j], C_f[j], z_f[j], _SLOW_TERMS)
            out[idx] -= np.exp(u[idx]) * S
    return np.asarray(out.reshape(shape), dtype=np.float64)
