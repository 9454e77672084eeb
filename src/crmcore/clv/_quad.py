"""Expectations over a beta distribution by double-exponential quadrature, in log space.

``E[g(V)]`` with ``V ~ Beta(p, q)`` is ``∫_0^1 v^(p-1) (1-v)^(q-1) g(v) dv /
B(p, q)``. In the logit ``y = log(v / (1 - v))`` the beta's log-density
``p y - (p + q) log(1 + e^y)`` is concave, with its mode at ``log(p / q)``,
curvature ``pq / (p + q)`` there, and tails falling off exponentially (at
rates ``p`` and ``q``). With ``y = log(p / q) + σ sinh τ``,
``σ = sqrt(1/p + 1/q)``, they fall off double exponentially in ``τ``, so
a trapezoidal rule in ``τ`` (step 1/32, ``|τ| <= 6.5``: 417 nodes) is
accurate for analytic ``g`` (Takahasi & Mori 1974), and, the nodes being
centred and scaled per row, whatever the beta's concentration: fixed nodes
on ``(0, 1)`` let a narrow beta (``q`` in the tens, ``p`` in the
thousands) fall between them. ``v`` and ``1 - v`` are formed as logs,
never by subtraction, so ``v`` near either end is represented.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from scipy import special

from crmcore._types import FloatArray

__all__ = ["beta_mean"]

_H = 1.0 / 32.0
_T = np.arange(-208, 209) * _H
_SINH = np.sinh(_T)[None, :]
_LOG_J = np.log(_H) + np.log(np.cosh(_T))[None, :]

LogIntegrand = Callable[[FloatArray, FloatArray], FloatArray]
"""``log g`` at the nodes: ``f(log v, log(1 - v)) -> (rows, nodes)``."""


def beta_mean(p: FloatArray, q: FloatArray, log_g: LogIntegrand) -> FloatArray:
    """Return ``E[g(V)]``, ``V ~ Beta(p, q)``, per row (``g > 0``).

    Accurate to about 1e-12 against mpmath for ``p, q`` from 0.05 to 1e4
    and ``g`` with a pole just beyond ``v = 1`` (see the tests).

    Parameters
    ----------
    p, q : ndarray
        Beta parameters per row (> 0).
    log_g : callable
        ``log g`` at the nodes, given ``log v`` and ``log(1 - v)`` of shape
        ``(rows, nodes)``; returns ``(rows, nodes)``.

    Returns
    -------
    ndarray
        One expectation per row.
    """
    p = np.asarray(p, dtype=np.float64)[:, None]
    q = np.asarray(q, dtype=np.float64)[:, None]
    scale = np.sqrt(1.0 / p + 1.0 / q)
    y = scale * _SINH
    y += np.log(p) - np.log(q)
    lv = -np.logaddexp(0.0, -y)
    l1v = -np.logaddexp(0.0, y)
    terms = p * lv + q * l1v + np.log(scale) + _LOG_J + log_g(lv, l1v)
    return np.asarray(
        np.exp(special.logsumexp(terms, axis=1) - special.betaln(p[:, 0], q[:, 0])),
        dtype=np.float64,
    )
