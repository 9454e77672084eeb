"""Fellegi–Sunter scoring: m/u probabilities per agreement level, fitted by EM.

Fellegi and Sunter (1969, "A theory for record linkage", JASA 64: 1183–1210)
score a pair of records by the likelihood ratio of its comparison vector γ
under "match" (M) and "non-match" (U). With fields conditionally independent
given the class, ``m_f(k) = P(γ_f = k | M)`` and ``u_f(k) = P(γ_f = k | U)``,
the match weight is ``Σ_f log2(m_f(γ_f) / u_f(γ_f))`` (a missing value
contributes 0) and, with the share λ of matches among the compared pairs, the
posterior ``P(M | γ) = λ·m(γ) / (λ·m(γ) + (1 − λ)·u(γ))``.

Without labels, m, u and λ are estimated by EM on the candidate pairs
(Winkler, 1988, "Using the EM algorithm for weight computation in the
Fellegi–Sunter model of record linkage", Proc. Survey Research Methods
Section, ASA: 667–671), started from u measured on random pairs of records
(almost all non-matches). The pairs are first compressed to their distinct
comparison vectors with counts, so an iteration costs the number of distinct
vectors (hundreds to a few thousand), not of pairs. With labelled pairs, m
and u are the level frequencies among the labelled matches and non-matches
(Laplace-smoothed) and EM estimates λ alone.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.special import logsumexp

from crmcore._types import FloatArray, IntArray

__all__ = ["EMResult", "Patterns", "compress", "fit_em", "fit_labelled", "level_frequencies"]

_FLOOR = 1e-6  # no level has probability 0: one unseen level must not veto a pair


@dataclass(frozen=True, slots=True)
class Patterns:
    """Distinct comparison vectors (rows of levels, -1 missing) with their counts."""

    levels: np.ndarray[Any, np.dtype[np.int8]]
    counts: FloatArray
    inverse: IntArray


def compress(levels: np.ndarray[Any, np.dtype[np.int8]], n_levels: Sequence[int]) -> Patterns:
    """Collapse a pairs × fields matrix of levels to its distinct rows (mixed-radix codes)."""
    code = np.zeros(levels.shape[0], dtype=np.int64)
    for f, k in enumerate(n_levels):
        code = code * (k + 1) + (levels[:, f].astype(np.int64) + 1)
    _uniq, first, inverse, counts = np.unique(
        code, return_index=True, return_inverse=True, return_counts=True
    )
    return Patterns(levels[first], counts.astype(np.float64), inverse.astype(np.int64))


def _normalise(p: FloatArray) -> FloatArray:
    p = np.maximum(p, _FLOOR)
    out: FloatArray = p / p.sum()
    return out


def level_frequencies(
    levels: np.ndarray[Any, np.dtype[np.int8]],
    n_levels: Sequence[int],
    weights: FloatArray | None = None,
    prior: float = 1.0,
) -> list[FloatArray]:
    """Per field, the (weighted, ``prior``-smoothed) share of pairs at each level."""
    w = np.ones(levels.shape[0]) if weights is None else weights
    out = []
    for f, k in enumerate(n_levels):
        g = levels[:, f].astype(np.int64)
        ok = g >= 0
        counts = np.bincount(g[ok], weights=w[ok], minlength=k)[:k].astype(np.float64) + prior
        out.append(_normalise(counts))
    return out


def _log_terms(patterns: Patterns, probs: Sequence[FloatArray]) -> FloatArray:
    total = np.zeros(patterns.levels.shape[0])
    for f, p in enumerate(probs):
        g = patterns.levels[:, f].astype(np.int64)
        total += np.where(g >= 0, np.log(p)[np.maximum(g, 0)], 0.0)
    return total


def posterior(
    patterns_levels: np.ndarray[Any, np.dtype[np.int8]],
    m: Sequence[FloatArray],
    u: Sequence[FloatArray],
    prior: float,
) -> tuple[FloatArray, FloatArray]:
    """Posterior match probability and total match weight (log2) of rows of levels."""
    pat = Patterns(patterns_levels, np.ones(patterns_levels.shape[0]), np.zeros(0, np.int64))
    lm, lu = _log_terms(pat, m), _log_terms(pat, u)
    a = np.log(prior) + lm
    b = np.log1p(-prior) + lu
    prob = np.exp(a - np.logaddexp(a, b))
    return prob, (lm - lu) / np.log(2.0)


@dataclass(frozen=True, slots=True)
class EMResult:
    """Fitted m and u per field, the match share λ, iterations and convergence."""

    m: list[FloatArray]
    u: list[FloatArray]
    prior: float
    n_iter: int
    converged: bool
    log_likelihood: float


def _e_step(
    patterns: Patterns, m: Sequence[FloatArray], u: Sequence[FloatArray], prior: float
) -> tuple[FloatArray, float]:
    a = np.log(prior) + _log_terms(patterns, m)
    b = np.log1p(-prior) + _log_terms(patterns, u)
    norm = np.logaddexp(a, b)
    return np.exp(a - norm), float(logsumexp(norm, b=patterns.counts))


def fit_em(
    patterns: Patterns,
    n_levels: Sequence[int],
    *,
    u_start: Sequence[FloatArray],
    prior_start: float = 0.05,
    fix_mu: tuple[Sequence[FloatArray], Sequence[FloatArray]] | None = None,
    max_iter: int = 200,
    tol: float = 1e-7,
) -> EMResult:
    """EM for the two-class latent model on compressed comparison vectors.

    ``m`` starts concentrated on the top levels (matches mostly agree), ``u``
    at ``u_start`` (measured on random pairs). With ``fix_mu`` only λ is
    estimated. After fitting, the class whose m puts more mass on higher
    levels is called the match class (EM's labels are arbitrary).
    """
    if fix_mu is not None:
        m, u = [np.asarray(x) for x in fix_mu[0]], [np.asarray(x) for x in fix_mu[1]]
    else:
        m = [_normalise(np.exp(2.0 * np.arange(k))) for k in n_levels]
        u = [np.asarray(x, dtype=np.float64) for x in u_start]
    prior = float(prior_start)
    counts = patterns.counts
    total = counts.sum()
    ll_old = -np.inf
    converged = False
    it = 0
    ll = -np.inf
    for it in range(1, max_iter + 1):  # noqa: B007
        w, ll = _e_step(patterns, m, u, prior)
        wm, wu = counts * w, counts * (1.0 - w)
        prior = float(np.clip(wm.sum() / total, 1e-9, 1 - 1e-9))
        if fix_mu is None:
            m = level_frequencies(patterns.levels, n_levels, wm, prior=1e-3)
            u = level_frequencies(patterns.levels, n_levels, wu, prior=1e-3)
        if abs(ll - ll_old) <= tol * max(1.0, abs(ll)):
            converged = True
            break
        ll_old = ll
    if fix_mu is None:
        up = sum(float(np.arange(k) @ (m[f] - u[f])) for f, k in enumerate(n_levels))
        if up < 0:  # the classes came out the other way round
            m, u, prior = u, m, 1.0 - prior
    return EMResult(m, u, prior, it, converged, float(ll))


def fit_labelled(
    levels: np.ndarray[Any, np.dtype[np.int8]],
    is_match: np.ndarray[Any, np.dtype[np.bool_]],
    n_levels: Sequence[int],
    u_random: Sequence[FloatArray],
) -> tuple[list[FloatArray], list[FloatArray]]:
    """Estimate m and u from labelled pairs (Laplace-smoothed level frequencies).

    Without labelled non-matches, u is the one measured on random pairs.
    """
    m = level_frequencies(levels[is_match], n_levels, prior=1.0)
    if (~is_match).any():
        u = level_frequencies(levels[~is_match], n_levels, prior=1.0)
    else:
        u = [np.asarray(x) for x in u_random]
    return m, u
