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

__all__ = ["DENSE_LIMIT", "GroupedTimes", "compact", "group_time_order"]

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


def group_time_order(groups: IntArray, times: IntArray) -> IntArray:
    """Stable order by (group, time); one sort when the times are already sorted."""
    if times.size < 2 or bool(np.all(times[1:] >= times[:-1])):
        return np.argsort(groups, kind="stable").astype(np.int64)
    return np.lexsort((times, groups)).astype(np.int64)


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
        self._steps = int(counts.max()).bit_length() if counts.size else 0

    def position(self, groups: IntArray, times: IntArray, *, inclusive: bool = True) -> IntArray:
        """Sorted position after the group's entries ``<= time`` (``inclusive``) or ``< time``.

        Positions are global (they count all earlier groups), so window
        counts are differences of two positions.
        """
        lo = self.starts[groups]
        hi = self.starts[groups + 1]
        t = self.times
        last = max(t.size - 1, 0)
        for _ in range(self._steps):
            open_ = lo < hi
            if not open_.any():
                break
            mid = (lo + hi) >> 1
            at = t[np.minimum(mid, last)] if t.size else mid
            go_right = open_ & ((at <= times) if inclusive else (at < times))
            lo = np.where(go_right, mid + 1, lo)
            hi = np.where(open_ & ~go_right, mid, hi)
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
