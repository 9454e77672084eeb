"""All-draws-at-once bands over parameter draws, for any model's prediction kernels.

Every quantity :func:`~crmcore.clv.predict_interval` offers factors into

    (per-row part, broadcast over draws) × (part that depends on (x, T) only)

(see :mod:`crmcore.clv._kernels`): P(alive) is per row only; E[Y(t)] is
P(alive) times the expectation given alive; CLV is
``Discounting.value(P(alive) × discounted purchases given alive, spend)``.

Rows are processed in chunks of at most ``max_cells // draws`` distinct
``(x, t_x, T)`` keys. For each chunk, the ``(x, T)`` part is evaluated once
per draw at the distinct ``(x, T)`` pairs of that chunk only (or once for all
chunks when the pairs fit one chunk), and P(alive) comes from the kernels'
:meth:`~crmcore.clv._kernels.PurchaseKernels.alive_draws`, so no array is
ever ``draws × customers``. Each ``draws × rows`` block is reduced to its
quantiles at once.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from crmcore._types import FloatArray, IntArray
from crmcore.clv._compress import unique_rows
from crmcore.clv._kernels import PurchaseKernels

__all__ = ["Finish", "PairPart", "draw_bands", "quantiles_over_draws"]

PairPart = Callable[[FloatArray, FloatArray, FloatArray], FloatArray]
"""``f(theta, x, T) -> values`` at distinct ``(x, T)`` pairs, for one parameter draw."""

Finish = Callable[[FloatArray, IntArray], FloatArray]
"""``f(block, rows) -> block``: the last step over all draws (e.g. the CLV from spend).

``block`` is ``(draws, len(rows))``; ``rows`` are the indices of its
columns among the distinct rows passed to :func:`draw_bands`.
"""


def _pair_table(part: PairPart, draws: FloatArray, px: FloatArray, pT: FloatArray) -> FloatArray:
    """``part`` at pairs ``(px, pT)`` for every draw: ``(draws, pairs)``."""
    return np.asarray(np.stack([part(th, px, pT) for th in draws]), dtype=np.float64)


def quantiles_over_draws(block: FloatArray, q: FloatArray) -> FloatArray:
    """``np.quantile(block, q, axis=0)``, the same numbers, from one sort of the draws.

    NumPy sorts the short columns of draws several times faster than
    ``np.quantile`` partitions them. The quantiles are then read as NumPy's
    default ("linear", Hyndman & Fan 1996 definition 7) reads them: at
    ``(n - 1) q`` between the order statistics below and above, interpolated
    from the nearer end (``b - (b - a)(1 - g)`` from ``g = 0.5`` on) and
    NaN for a column holding a NaN; tested equal to ``np.quantile`` bit for
    bit.
    """
    ordered = np.sort(block, axis=0)  # NaNs last, as np.quantile's partition puts them
    n = ordered.shape[0]
    at = (n - 1) * q
    below = np.floor(at)
    gamma = (at - below)[:, None]
    i_lo = below.astype(np.intp)
    i_hi = i_lo + 1
    top = at >= n - 1
    i_lo[top] = n - 1
    i_hi[top] = n - 1
    a = ordered[i_lo]
    b = ordered[i_hi]
    diff = b - a
    out = a + diff * gamma
    np.subtract(b, diff * (1 - gamma), out=out, where=np.broadcast_to(gamma >= 0.5, out.shape))
    last = ordered[-1]
    out[:, np.isnan(last)] = np.nan
    return np.asarray(out, dtype=np.float64)


def draw_bands(
    kernels: PurchaseKernels,
    draws: FloatArray,
    cols: list[FloatArray],
    *,
    pair_part: PairPart | None,
    finish: Finish | None,
    chunk: int,
    q: FloatArray,
) -> tuple[FloatArray, FloatArray]:
    """Quantiles ``q`` over draws of ``finish(P(alive) × pair_part)`` per distinct row.

    Parameters
    ----------
    kernels : PurchaseKernels
        The model's kernels.
    draws : ndarray
        ``(k, n_params)`` parameter vectors.
    cols : list of ndarray
        ``x``, ``t_x``, ``T`` of the distinct rows.
    pair_part : callable, optional
        The ``(x, T)`` factor for one draw (``None``: P(alive) alone).
    finish : callable, optional
        Applied to each ``draws × rows`` block before its quantiles are
        taken (``None``: nothing).
    chunk : int
        Rows per block (``draws × chunk`` cells at most).
    q : ndarray
        The two quantile levels.

    Returns
    -------
    low, high : ndarray
        Per distinct row.

    Notes
    -----
    Rows are processed in the order of their ``(x, t_x, T)`` key, so a chunk
    of rows that differ only in further columns (monetary value, for the CLV)
    shares one evaluation of the purchase-process part per key.
    """
    (kx, ktx, kT), key = unique_rows(cols[0], cols[1], cols[2])
    order = np.argsort(key, kind="stable")
    key = key[order]
    n = key.size
    ci_low = np.empty(cols[0].size)
    ci_high = np.empty(cols[0].size)
    alive = kernels.alive_draws(draws, kx, ktx, kT, chunk=chunk)
    (px, pT), pair_of_key = unique_rows(kx, kT)
    table_all: FloatArray | None = None
    if pair_part is not None and px.size <= chunk:
        table_all = _pair_table(pair_part, draws, px, pT)
    for start in range(0, n, chunk):
        sl = slice(start, min(start + chunk, n))
        k_lo, k_hi = int(key[sl][0]), int(key[sl][-1]) + 1
        ks = slice(k_lo, k_hi)  # the keys of this chunk are exactly k_lo..k_hi-1
        per_key = alive(ks)
        if table_all is not None:
            per_key *= table_all[:, pair_of_key[ks]]
        elif pair_part is not None:
            (cx, cT), pair_of_row = unique_rows(kx[ks], kT[ks])
            per_key *= _pair_table(pair_part, draws, cx, cT)[:, pair_of_row]
        local = key[sl] - k_lo
        block = per_key if k_hi - k_lo == local.size else per_key[:, local]
        if finish is not None:
            block = finish(block, order[sl])
        lo, hi = quantiles_over_draws(block, q)
        ci_low[order[sl]] = lo
        ci_high[order[sl]] = hi
    return ci_low, ci_high
