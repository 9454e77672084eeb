"""Counting and summing a per-group time log over many windows at once, and integer keys.

Conversion windows, attribution look-backs and consent look-ups all ask the
same question for millions of (group, window) pairs: which entries of group
``g`` fall in ``(lo, hi]``? :class:`GroupedTimes` sorts the log once by
(group, time); each query then runs a binary search *inside its group's
slice*, all queries at once: every step is one vectorised comparison over
the queries, and there are ``log2`` (largest group) steps. No Python loop
runs per group, and no global rank table is built.

:func:`compact` turns integer keys into consecutive codes (the distinct keys
and each row's code), by direct addressing when the key space is small and
by one sort otherwise (``numpy.unique`` without ``return_inverse`` takes a
hash path that is slow for millions of distinct keys).
"""

from __future__ import annotations

import numpy as np

from crmcore._types import BoolArray, FloatArray, IntArray

__all__ = ["DENSE_LIMIT", "GroupedTimes", "compact", "group_time_order", "stable_code_order"]

DENSE_LIMIT = 1 << 26
"""Largest key space addressed directly by :func:`compact` (64 Mi entries)."""


def compact(keys: IntArray, space: int | None = None) -> tuple[IntArray, IntArray]:
    """Distinct non-negative keys (sorted) and the code of each key among them."""
    keys = np.asarray(keys, dtype=np.int64)
    if keys.size == 0:
        return keys.copy(), np.zeros(0, dtype=np.int64)
    size = int(keys.max()) + 1 if space is None else int(space)
    if size <= max(DENSE_LIMIT, 4 * keys.size):
        present = np.zeros(size, dtype=bool)
        present[keys] = True
        distinct = np.flatnonzero(present)
        code = np.cumsum(present, dtype=np.int64) - 1
        return distinct.astype(np.int64), code[keys]
    order = np.argsort(keys, kind="stable")
    ordered = keys[order]
    new = np.empty(ordered.size, dtype=bool)
    new[0] = True
    np.not_equal(ordered[1:], ordered[:-1], out=new[1:])
    inverse = np.empty(keys.size, dtype=np.int64)
    inverse[order] = np.cumsum(new) - 1
    return ordered[new], inverse


def stable_code_order(codes: IntArray) -> IntArray:
    """Stable argsort of non-negative integer codes below 2**32, by 16-bit radix passes.

    NumPy radix-sorts 16-bit keys (a stable ``argsort`` of int64 is a merge
    sort): two passes over the low and high halves are about twice as fast.
    """
    if codes.size == 0:
        return np.zeros(0, dtype=np.int64)
    top = int(codes.max())
    if top < 1 << 16:
        return np.argsort(codes.astype(np.uint16), kind="stable").astype(np.int64)
    if top >= 1 << 32 or int(codes.min()) < 0:
        return np.argsort(codes, kind="stable").astype(np.int64)
    order = np.argsort((codes & 0xFFFF).astype(np.uint16), kind="stable")
    high = (codes[order] >> 16).astype(np.uint16)
    return order[np.argsort(high, kind="stable")].astype(np.int64)


def group_time_order(groups: IntArray, times: IntArray) -> IntArray:
    """Stable order by (group, time): ties keep the input order.

    Logs usually come in time order; then one radix pass over the groups is
    enough. Otherwise the times are sorted first (stable), then the groups.
    """
    if times.size < 2 or bool(np.all(times[1:] >= times[:-1])):
        return stable_code_order(groups)
    by_time = np.argsort(times, kind="stable")
    return by_time[stable_code_order(groups[by_time])]


class GroupedTimes:
    """A log of (group, time[, weights]) sorted once for window queries.

    Parameters
    ----------
    groups : ndarray of int64
        Group code of each entry, in ``[0, n_groups)``.
    times : ndarray of int64
        Time of each entry (nanoseconds).
    n_groups : int
        Number of groups.
    weights : tuple of ndarray of float64, optional
        Values to sum over windows (amounts, margins).

    Attributes
    ----------
    order : ndarray of int64
        Positions of the entries in (group, time) order; ties keep the input
        order, so "the last entry at or before t" is the one given last
        among equal times.
    starts : ndarray of int64
        ``starts[g]:starts[g + 1]`` is group ``g``'s slice of the sorted log.
    """

    def __init__(
        self,
        groups: IntArray,
        times: IntArray,
        n_groups: int,
        weights: tuple[FloatArray, ...] = (),
    ) -> None:
        self.n_groups = int(n_groups)
        self.order = group_time_order(groups, times)
        self.groups = groups[self.order]
        self.times = times[self.order]
        self.cums = tuple(
            np.concatenate([[0.0], np.cumsum(w[self.order], dtype=np.float64)]) for w in weights
        )
        counts = np.bincount(self.groups, minlength=self.n_groups)
        self.starts = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)

    def position(self, groups: IntArray, times: IntArray, *, inclusive: bool = True) -> IntArray:
        """Sorted position after the group's entries ``<= time`` (``inclusive``) or ``< time``.

        Positions are global (they count all earlier groups), so window
        counts are differences of two positions.
        """
        lo = self.starts[groups]
        hi = self.starts[groups + 1]
        t = self.times
        # only the queries whose interval is still open take part in a step
        active = np.flatnonzero(lo < hi)
        a_lo, a_hi, a_t = lo[active], hi[active], times[active]
        while active.size:
            mid = (a_lo + a_hi) >> 1
            right = (t[mid] <= a_t) if inclusive else (t[mid] < a_t)
            a_lo = np.where(right, mid + 1, a_lo)
            a_hi = np.where(right, a_hi, mid)
            still = a_lo < a_hi
            done = ~still
            lo[active[done]] = a_lo[done]
            if not still.all():
                active, a_lo, a_hi, a_t = active[still], a_lo[still], a_hi[still], a_t[still]
        return lo

    def window(self, groups: IntArray, lo: IntArray, hi: IntArray) -> tuple[IntArray, IntArray]:
        """Sorted-order bounds ``[a, b)`` of each group's entries with ``lo < t <= hi``."""
        a = self.position(groups, lo)
        b = self.position(groups, np.maximum(hi, lo))
        return a, b

    def count(self, groups: IntArray, lo: IntArray, hi: IntArray) -> IntArray:
        """Count the entries of each query's group with ``lo < t <= hi``."""
        a, b = self.window(groups, lo, hi)
        return b - a

    def sums(
        self, groups: IntArray, lo: IntArray, hi: IntArray
    ) -> tuple[IntArray, tuple[FloatArray, ...]]:
        """Count and every weight's sum over each query's window ``(lo, hi]``."""
        a, b = self.window(groups, lo, hi)
        return b - a, tuple(cum[b] - cum[a] for cum in self.cums)

    def first_time(self) -> IntArray:
        """Earliest time of each group (int64 min where a group has no entry)."""
        out = np.full(self.n_groups, np.iinfo(np.int64).min, dtype=np.int64)
        has: BoolArray = self.starts[1:] > self.starts[:-1]
        out[has] = self.times[self.starts[:-1][has]]
        return out

    def last_at_or_before(self, groups: IntArray, times: IntArray) -> IntArray:
        """Input position of the last entry of each group at or before ``time`` (-1: none)."""
        pos = self.position(groups, times) - 1
        ok = pos >= self.starts[groups]
        out = np.full(groups.size, -1, dtype=np.int64)
        out[ok] = self.order[pos[ok]]
        return out
