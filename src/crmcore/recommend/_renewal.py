"""The log-normal renewal model with empirical-Bayes pooling and a censored open interval.

For a consumable product ``p``, customer ``c`` rebuys after intervals (days
between purchase days) ``T_c1, T_c2, ...`` with

    log T_cj ~ N(μ_c, σ_p²)        (a customer's own rhythm, independent intervals)
    μ_c      ~ N(m_p, τ_p²)        (customers differ around the product's norm)

so the product's ``(m_p, σ_p, τ_p)`` pool what all its buyers show, and a
customer with few purchases is shrunk toward the product's norm (empirical
Bayes: the prior is estimated from the data, Robbins 1956; the normal-normal
hierarchy is the one-way random-effects model). The *open* interval, from the
last purchase to ``as_of``, is right-censored: the next purchase has not
happened yet, so it tells that ``T > c``. Leaving it out would bias the cycle
short (long intervals are more likely to be still open at ``as_of``).

**One-off buyers.** Many customers buy a consumable once and never again
(a trial, a gift). Treating them as slow regulars would stretch the cycle
and send them reminders, so each (customer, product) pair is *regular* with
probability ``π_p`` and otherwise a one-off buyer who never rebuys: a
mixture cure model (Farewell, 1982, "The use of mixture models for the
analysis of survival data with long-term survivors", Biometrics 38). A
repeat purchase proves a pair regular; for a single purchase ``c`` days
before ``as_of``, ``P(regular) = π S(c) / (π S(c) + 1 - π)`` with ``S`` the
prior probability of no repurchase within ``c`` days. (A regular who stops
for good is not modelled: their open interval just grows.)

**Estimation** maximises the marginal likelihood of each product's
``(m, σ, τ, π)``, integrating ``μ_c`` out, by EM: ``μ_c`` is integrated by
Gauss-Hermite quadrature centred on its exact (conjugate) posterior given
the complete intervals, so that only the censoring factor is integrated
numerically (adaptive quadrature, Liu and Pierce, 1994, "A note on
Gauss-Hermite quadrature", Biometrika 81), and the censored log interval
is the latent value of a censored normal (Dempster, Laird and Rubin, 1977,
section 4.1.3), whose conditional moments are those of a truncated normal:
with ``a = (log c - μ)/σ`` and the inverse Mills ratio
``λ(a) = φ(a) / (1 - Φ(a))``, ``E[(Y - μ)² | Y > log c] = σ² (1 + a λ(a))``.
All products are fitted at once (flat arrays, ``bincount`` per product).

**Prediction**: the posterior of ``μ_c`` on the quadrature nodes, then the
next interval given that it exceeds the open one, for log-normal ``T``:
``E[T | T > c] = exp(μ + σ²/2) Φ((μ + σ² - log c)/σ) / Φ((μ - log c)/σ)``,
and ``P(rebuy in h) = P(regular) · (S(c) - S(c + h)) / S(c)``.
"""

from __future__ import annotations

import attrs
import numpy as np
from scipy.special import log_ndtr, logsumexp

from crmcore._types import BoolArray, FloatArray, IntArray

__all__ = ["Fitted", "PairStats", "em", "posterior", "predict"]

_LOG_2PI = float(np.log(2 * np.pi))
_FLOOR = 1e-3


@attrs.frozen(eq=False)
class PairStats:
    """Sufficient statistics of each (customer, product) pair.

    Attributes
    ----------
    product : ndarray of int64
        Product (model row) of each pair.
    n : ndarray of float64
        Complete intervals.
    s1, s2 : ndarray of float64
        Sum and sum of squares of the log intervals.
    log_open : ndarray of float64
        Log of the open interval in days; ``-inf`` when the last purchase is
        on the ``as_of`` day (no censoring information).
    """

    product: IntArray
    n: FloatArray
    s1: FloatArray
    s2: FloatArray
    log_open: FloatArray


@attrs.frozen(eq=False)
class Fitted:
    """Per-product estimates and the EM's iterations and convergence."""

    m: FloatArray
    sigma: FloatArray
    tau: FloatArray
    regular: FloatArray
    n_iter: IntArray
    converged: BoolArray


def _nodes(k: int) -> tuple[FloatArray, FloatArray]:
    """Gauss-Hermite nodes and log weights for a standard normal."""
    x, w = np.polynomial.hermite.hermgauss(k)
    return np.sqrt(2.0) * x, np.log(w / np.sqrt(np.pi))


def _take(stats: PairStats, sel: IntArray) -> PairStats:
    return PairStats(
        stats.product[sel], stats.n[sel], stats.s1[sel], stats.s2[sel], stats.log_open[sel]
    )


def posterior(
    stats: PairStats,
    *,
    m: FloatArray,
    sigma: FloatArray,
    tau: FloatArray,
    regular: FloatArray,
    k: int,
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Posterior of each pair: ``μ_c`` on the quadrature nodes, and P(regular).

    Returns
    -------
    (ndarray, ndarray, ndarray)
        Weights of ``μ_c`` given that the pair is regular (pairs × k, rows
        sum to 1), the node values ``μ`` (pairs × k), and the probability
        that the pair is regular (1 for a pair with a repeat purchase).
    """
    z, logw = _nodes(k)
    p = stats.product
    s = sigma[p]
    # Adaptive quadrature: given the complete intervals alone, the posterior of
    # μ_c is exactly normal (conjugate prior), so the nodes are placed on it and
    # only the censoring factor S(open | μ) is left to integrate numerically.
    # Nodes on the prior would miss the sharp posterior of a customer with
    # many intervals.
    precision = 1.0 / tau[p] ** 2 + stats.n / s**2
    centre = (m[p] / tau[p] ** 2 + stats.s1 / s**2) / precision
    spread = 1.0 / np.sqrt(precision)
    mu = centre[:, None] + spread[:, None] * z[None, :]
    logpost = np.broadcast_to(logw, mu.shape).copy()
    censored = np.isfinite(stats.log_open)
    if censored.any():
        a = (stats.log_open[censored][:, None] - mu[censored]) / s[censored][:, None]
        logpost[censored] += log_ndtr(-a)
    norm = logsumexp(logpost, axis=1)
    weights = np.exp(logpost - norm[:, None])
    # P(regular): a repeat purchase proves it; otherwise Bayes' rule against a
    # one-off buyer, whose likelihood of "no repurchase yet" is 1
    single = stats.n == 0
    pi = regular[p]
    reg = np.ones(p.size)
    with np.errstate(divide="ignore"):
        log_reg = np.log(pi[single]) + norm[single]
        log_off = np.log1p(-pi[single])
    reg[single] = np.exp(log_reg - np.logaddexp(log_reg, log_off))
    return weights, mu, reg


def em(
    stats: PairStats,
    n_products: int,
    *,
    k: int = 16,
    max_iter: int = 200,
    tol: float = 1e-6,
) -> Fitted:
    """Maximum marginal likelihood of every product's ``(m, σ, τ, π)`` by EM.

    Starts from the moments of the repeat buyers' mean log intervals, and
    from ``π`` = the share of pairs with a repeat purchase. Each iteration
    computes only the products that have not converged.
    """
    p = stats.product
    rep = stats.n > 0
    count_rep = np.bincount(p[rep], minlength=n_products).astype(np.float64)
    mean_c = np.where(rep, stats.s1 / np.maximum(stats.n, 1), 0.0)
    m = np.bincount(p[rep], weights=mean_c[rep], minlength=n_products) / np.maximum(count_rep, 1)
    dof = np.bincount(p, weights=np.maximum(stats.n - 1, 0), minlength=n_products)
    within = np.bincount(p, weights=stats.s2 - stats.n * mean_c**2, minlength=n_products)
    sigma = np.sqrt(np.maximum(within / np.maximum(dof, 1), 0.01))
    between = np.bincount(
        p[rep], weights=(mean_c[rep] - m[p[rep]]) ** 2, minlength=n_products
    ) / np.maximum(count_rep, 1)
    tau = np.sqrt(np.maximum(between, 0.01))
    count = np.bincount(p, minlength=n_products).astype(np.float64)
    regular = np.clip(count_rep / np.maximum(count, 1), 0.01, 0.99)
    n_iter = np.zeros(n_products, dtype=np.int64)
    converged = count == 0
    sel = np.arange(p.size)
    sub = stats
    for _ in range(max_iter):
        if converged.all():
            break
        keep = ~converged[sub.product]
        if not keep.all():
            sel = sel[keep]
            sub = _take(stats, sel)
        q = sub.product
        w, mu, reg = posterior(sub, m=m, sigma=sigma, tau=tau, regular=regular, k=k)
        s = sigma[q][:, None]
        n = sub.n[:, None]
        quad = sub.s2[:, None] - 2.0 * mu * sub.s1[:, None] + n * mu * mu
        resid = (w * quad).sum(axis=1)
        censored = np.isfinite(sub.log_open)
        if censored.any():
            sc = s[censored]
            a = (sub.log_open[censored][:, None] - mu[censored]) / sc
            mills = np.exp(-0.5 * a * a - 0.5 * _LOG_2PI - log_ndtr(-a))
            resid[censored] += (w[censored] * sc * sc * (1.0 + a * mills)).sum(axis=1)
        # every sum over pairs is weighted by P(regular): one-off buyers say
        # nothing about the cycle
        weight = np.bincount(q, weights=reg, minlength=n_products)
        obs = np.bincount(q, weights=reg * (sub.n + censored), minlength=n_products)
        post_mean = (w * mu).sum(axis=1)
        new_m = np.bincount(q, weights=reg * post_mean, minlength=n_products) / np.maximum(
            weight, 1e-12
        )
        spread = (w * (mu - new_m[q][:, None]) ** 2).sum(axis=1)
        new_tau = np.sqrt(
            np.maximum(
                np.bincount(q, weights=reg * spread, minlength=n_products)
                / np.maximum(weight, 1e-12),
                _FLOOR**2,
            )
        )
        new_sigma = np.sqrt(
            np.maximum(
                np.bincount(q, weights=reg * resid, minlength=n_products) / np.maximum(obs, 1e-12),
                _FLOOR**2,
            )
        )
        n_pairs = np.bincount(q, minlength=n_products)
        new_regular = np.clip(weight / np.maximum(n_pairs, 1), _FLOOR, 1.0 - _FLOOR)
        change = np.maximum.reduce(
            [
                np.abs(new_m - m),
                np.abs(new_sigma - sigma),
                np.abs(new_tau - tau),
                np.abs(new_regular - regular),
            ]
        )
        moving = (n_pairs > 0) & ~converged
        n_iter[moving] += 1
        m = np.where(moving, new_m, m)
        sigma = np.where(moving, new_sigma, sigma)
        tau = np.where(moving, new_tau, tau)
        regular = np.where(moving, new_regular, regular)
        converged |= moving & (change < tol)
    return Fitted(m, sigma, tau, regular, n_iter, converged & (count > 0))


def predict(
    stats: PairStats,
    fitted: Fitted,
    *,
    horizon_days: float | None,
    k: int = 16,
) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray]:
    """Next interval, typical interval, P(regular) and P(rebuy within the horizon).

    Returns
    -------
    (ndarray, ndarray, ndarray, ndarray)
        For a regular buyer, ``E[T | T > open]`` (days since the last
        purchase) and the typical interval ``E[exp(μ_c + σ²/2)]`` (days);
        the probability that the pair is regular; and the probability of a
        purchase within ``horizon_days`` after the ``as_of`` day,
        ``P(regular) · P(T ≤ open + h | T > open)`` (NaN without horizon).
    """
    w, mu, reg = posterior(
        stats, m=fitted.m, sigma=fitted.sigma, tau=fitted.tau, regular=fitted.regular, k=k
    )
    s = fitted.sigma[stats.product][:, None]
    lo = stats.log_open[:, None]
    has_open = np.isfinite(lo)
    log_mean = mu + 0.5 * s * s
    cond = np.where(
        has_open,
        log_ndtr(np.where(has_open, (mu + s * s - lo) / s, 0.0))
        - log_ndtr(np.where(has_open, (mu - lo) / s, 0.0)),
        0.0,
    )
    expected = (w * np.exp(log_mean + cond)).sum(axis=1)
    typical = (w * np.exp(log_mean)).sum(axis=1)
    if horizon_days is None:
        return expected, typical, reg, np.full(expected.size, np.nan)
    open_days = np.where(np.isfinite(stats.log_open), np.exp(stats.log_open), 0.0)[:, None]
    log_end = np.log(open_days + horizon_days)
    # S(c) and S(c + h) of a log-normal, in log space; S(0) = 1
    log_s_open = np.where(has_open, log_ndtr(np.where(has_open, (mu - lo) / s, 0.0)), 0.0)
    log_s_end = log_ndtr((mu - log_end) / s)
    frac = -np.expm1(np.minimum(log_s_end - log_s_open, 0.0))
    return expected, typical, reg, reg * (w * frac).sum(axis=1)
