"""Predictive intervals: what a customer will do, not only what the model expects.

A parameter interval (``kind="parameter"``) says how sure we are of an
*expectation* given the estimation error; a predictive interval
(``kind="predictive"``) says where the customer's *outcome* will fall: the
randomness of the purchase process (and of spend) given the history, mixed
over the parameter draws of :func:`~crmcore.clv.draw_parameters`:

    P(Y = n | history) = (1/K) Σ_k P(Y = n | history, θ_k)

Purchases. ``P(Y(t) = n | history, θ)`` is the conditional distribution of
:meth:`~crmcore.clv.BetaGeoModel.conditional_probability_of_purchases`; the
mixture is evaluated exactly, for ``n`` up to where its CDF passes the upper
quantile for every customer. Counts are whole numbers, so the interval is
formed from the mixture's quantiles: ``ci_low`` is the smallest ``n`` with
``F(n) >= (1 - c)/2``, ``ci_high`` the smallest with ``F(n) >= (1 + c)/2``.
Its predictive probability ``F(ci_high) - F(ci_low - 1)`` (reported as
``ci_probability``) is at least ``c`` and can be well above it (a customer
with ``P(Y = 0) = 0.97`` gets ``[0, 0]`` at 90 %). Coverage is therefore
*measured* with the fractional rule of :func:`fractional_coverage` (the
randomised PIT of count forecasting), whose expectation under a correct model
is exactly ``c``; the share of outcomes inside ``[ci_low, ci_high]`` is
expected to equal the mean ``ci_probability``.

CLV. The value is a sum over future purchases of a random spend discounted
by the period of the purchase, so it is simulated: for every parameter draw,
one future per customer (alive or not, then the purchase process under the
posterior of an alive customer, :meth:`PurchaseKernels.sample_future`) and,
with a spend model, each purchase's value from the Gamma-Gamma posterior
predictive (given spend: its value, held fixed). The interval is the pair of
empirical quantiles of the ``K`` simulated values.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from crmcore._types import FloatArray, IntArray
from crmcore.clv._compress import unique_rows
from crmcore.clv._kernels import Discounting, PurchaseKernels

__all__ = ["count_interval", "fractional_coverage", "purchase_distribution", "simulated_values"]

_START_N = 8


def purchase_distribution(
    kernels: PurchaseKernels,
    draws: FloatArray,
    cols: list[FloatArray],
    t: FloatArray,
    *,
    upper: float,
    chunk: int = 1 << 16,
) -> FloatArray:
    """Mixture over draws of P(Y(t) = n | history, θ_k): ``(rows, N + 1)``.

    ``cols`` are ``x``, ``t_x`` and ``T`` of the rows. ``N`` grows
    (doubling, for the rows that need it only) until the CDF of every row
    reaches ``upper``; the table is zero-padded to a common width. Rows are
    taken ``chunk`` at a time (``chunk × (N + 1)`` cells held); within a
    chunk, draw after draw, P(alive) per row and the distribution given alive
    once at the chunk's distinct ``(x, T, t)``.
    """
    x, tx, T = cols[0], cols[1], cols[2]
    first = _START_N
    tables: list[FloatArray] = []
    for start in range(0, x.size, chunk):
        sl = slice(start, min(start + chunk, x.size))
        rows = np.arange(sl.stop - sl.start)
        cx, ctx, cT, ct = x[sl], tx[sl], T[sl], t[sl]
        out = np.zeros((rows.size, 0))
        n_max = first
        while rows.size:
            (ux, uT, ut), inv = unique_rows(cx[rows], cT[rows], ct[rows])
            acc = np.zeros((rows.size, n_max + 1))
            for theta in draws:
                given = kernels.pmf_if_alive(theta, ux, uT, ut, n_max)[inv]
                a = kernels.alive(theta, cx[rows], ctx[rows], cT[rows])
                acc += a[:, None] * given
                acc[:, 0] += 1.0 - a
            acc /= draws.shape[0]
            if acc.shape[1] > out.shape[1]:
                out = np.pad(out, ((0, 0), (0, acc.shape[1] - out.shape[1])))
            out[rows, : acc.shape[1]] = acc
            rows = rows[acc.sum(axis=1) < upper]
            n_max *= 2
        tables.append(out)
    width = max(tab.shape[1] for tab in tables)
    return np.concatenate([np.pad(tab, ((0, 0), (0, width - tab.shape[1]))) for tab in tables])


def count_interval(dist: FloatArray, q: FloatArray) -> tuple[IntArray, IntArray, FloatArray]:
    """Quantile interval of each row's count distribution and its probability.

    ``low`` is the smallest ``n`` with ``F(n) >= q[0]``, ``high`` the smallest
    with ``F(n) >= q[1]``; the probability is ``F(high) - F(low - 1)``.
    """
    cdf = np.cumsum(dist, axis=1)
    # tolerate the last bit of rounding in the sum (a CDF of 0.95 - 1e-16)
    low = np.argmax(cdf >= q[0] - 1e-12, axis=1)
    high = np.argmax(cdf >= q[1] - 1e-12, axis=1)
    rows = np.arange(dist.shape[0])
    below = np.where(low > 0, cdf[rows, np.maximum(low - 1, 0)], 0.0)
    return low.astype(np.int64), high.astype(np.int64), cdf[rows, high] - below


def fractional_coverage(dist: FloatArray, observed: IntArray, confidence: float) -> FloatArray:
    """Covered share of each observed count: the randomised PIT rule for counts.

    An observed ``y`` occupies ``[F(y - 1), F(y)]`` of the probability
    scale; the share of it inside the central band ``[(1 - c)/2, (1 + c)/2]``
    is the share of ``y`` the interval covers. If the predictive
    distribution is right, this share averages exactly ``c`` (the randomised
    probability integral transform is uniform; Czado, Gneiting & Held 2009,
    "Predictive model assessment for count data", *Biometrics* 65(4)).

    Parameters
    ----------
    dist : ndarray
        ``(rows, N + 1)`` predictive probabilities of ``0..N``.
    observed : ndarray of int
        The observed counts (beyond ``N``: probability 0, share 0).
    confidence : float
        Nominal level ``c``.

    Returns
    -------
    ndarray
        One share in ``[0, 1]`` per row.
    """
    lo_q, hi_q = (1.0 - confidence) / 2.0, (1.0 + confidence) / 2.0
    cdf = np.cumsum(dist, axis=1)
    rows = np.arange(dist.shape[0])
    inside = observed < dist.shape[1]
    y = np.minimum(observed, dist.shape[1] - 1)
    top = np.where(inside, cdf[rows, y], 1.0)
    bottom = np.where(y > 0, cdf[rows, np.maximum(y - 1, 0)], 0.0)
    bottom = np.where(inside, bottom, 1.0)
    mass = top - bottom
    overlap = np.clip(np.minimum(top, hi_q) - np.maximum(bottom, lo_q), 0.0, None)
    return np.asarray(
        np.divide(overlap, mass, out=np.zeros(rows.size), where=mass > 0), dtype=np.float64
    )


SpendSampler = Callable[[int, IntArray, IntArray, np.random.Generator], FloatArray]
"""``f(draw, rows, owner, rng)``: the value of each purchase of ``rows[owner]``."""


def simulated_values(
    kernels: PurchaseKernels,
    draws: FloatArray,
    cols: list[FloatArray],
    *,
    schedule: Discounting,
    spend: SpendSampler,
    chunk: int,
    q: FloatArray,
    rng: np.random.Generator,
) -> tuple[FloatArray, FloatArray]:
    """Quantiles ``q`` of simulated lifetime values per row, one future per draw.

    Rows are simulated ``chunk`` at a time (``draws × chunk`` values held at
    once), draw after draw; a purchase at time ``w`` after ``T`` falls in
    period ``ceil(w / u)`` and is discounted by that period's factor.
    """
    x, tx, T = cols[0], cols[1], cols[2]
    n = x.size
    H = schedule.times.size
    u = float(schedule.times[0])
    span = float(schedule.times[-1])
    low, high = np.empty(n), np.empty(n)
    for start in range(0, n, chunk):
        rows = np.arange(start, min(start + chunk, n))
        block = np.empty((draws.shape[0], rows.size))
        for k, theta in enumerate(draws):
            owner, when = kernels.sample_future(
                theta, x[rows], tx[rows], T[rows], span=span, rng=rng
            )
            period = np.clip(np.ceil(when / u).astype(np.int64), 1, H)
            values = spend(k, rows, owner, rng) * schedule.factors[period - 1]
            block[k] = np.bincount(owner, weights=values, minlength=rows.size)
        lo, hi = np.quantile(schedule.value(block, 1.0), q, axis=0)
        low[rows], high[rows] = lo, hi
    return low, high
