"""Shapley values over channels, exact, for every observed channel set at once.

The game: the *worth* ``v(S)`` of a set of channels ``S`` is the conversion
rate of the paths whose set of channels is exactly ``S`` (converting paths
over all paths with that set; 0 for a set no path has), the simplified
data-driven Shapley of Shao and Li ("Data-driven multi-touch attribution
models", KDD 2011) and Dalessandro et al. ("Causally motivated attribution
for online advertising", ADKDD 2012).

A converting path with channel set ``T`` shares its value by the Shapley
values of the game restricted to ``T``. Writing ``v`` through its Harsanyi
dividends ``d`` (the Möbius transform, ``v(T) = sum_{S <= T} d(S)``), the
Shapley value of channel ``k`` in ``T`` is ``sum_{S <= T, k in S} d(S) / |S|``
(Harsanyi 1963), and these sum to ``v(T)`` (``v`` of the empty set is 0:
paths without touches are not observed). Both transforms are ``K`` passes
of vectorised additions over the ``2**K`` subsets, so one table gives every
``T`` in ``O(K**2 2**K)``: milliseconds for 12 channels, about a second for
16. Beyond ``max_channels`` channels the least-touched ones are pooled into
one ``"(other)"`` channel (reported as such) rather than approximated by
sampling.

A channel whose Shapley value in ``T`` is negative (paths with it convert
less often) gets no credit in that path; the others share the value in
proportion to their positive values (equally when none is positive).
"""

from __future__ import annotations

import numpy as np

from crmcore._types import FloatArray, IntArray
from crmcore.marketing._windows import compact

__all__ = ["coalition_values", "path_masks", "shapley_table"]


def path_masks(path: IntArray, channel: IntArray, n_paths: int) -> IntArray:
    """Return each path's channel set as a bit mask (from distinct (path, channel) rows)."""
    key, _ = compact(path * 64 + channel, n_paths * 64)
    p, c = key // 64, key % 64
    masks = np.zeros(n_paths, dtype=np.int64)
    np.add.at(masks, p, np.left_shift(np.int64(1), c))
    return masks


def coalition_values(conv_masks: IntArray, null_masks: IntArray, k: int) -> FloatArray:
    """``v(S)``: conversion rate of the paths whose channel set is exactly ``S``."""
    size = 1 << k
    conv = np.bincount(conv_masks, minlength=size).astype(np.float64)
    total = conv + np.bincount(null_masks, minlength=size)
    v = np.divide(conv, total, out=np.zeros(size), where=total > 0)
    v[0] = 0.0
    return v


def shapley_table(v: FloatArray, k: int) -> FloatArray:
    """``phi[j, T]``: Shapley value of channel ``j`` in the game restricted to ``T``."""
    d = v.copy()
    for i in range(k):  # Möbius transform: dividends
        view = d.reshape(-1, 2, 1 << i)
        view[:, 1, :] -= view[:, 0, :]
    subsets = np.arange(1 << k, dtype=np.int64)
    sizes = np.bitwise_count(subsets).astype(np.float64)
    share = np.divide(d, sizes, out=np.zeros_like(d), where=sizes > 0)
    members = (subsets[None, :] >> np.arange(k, dtype=np.int64)[:, None]) & 1
    phi = np.where(members == 1, share[None, :], 0.0)
    for i in range(k):  # zeta transform: sum over subsets
        blocks = phi.reshape(k, -1, 2, 1 << i)
        blocks[:, :, 1, :] += blocks[:, :, 0, :]
    out: FloatArray = phi
    return out
