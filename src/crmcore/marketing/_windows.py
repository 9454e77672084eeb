"""Counting and summing a per-group time log over many windows at once.

Conversion windows, attribution look-backs and consent look-ups all ask the
same question for millions of (group, window) pairs: which entries of group
``g`` fall in ``(lo, hi]``? :class:`GroupedTimes` sorts the log once by
(group, time) and answers every query with one ``searchsorted``, instead of
a Python loop per group.

The trick: times are replaced by their rank among the log's distinct times,
so ``group * (ranks + 1) + rank`` is one int64 key that sorts like the pair
(group, time); a query time becomes the number of distinct log times at or
before it (``side="right"``), which keeps ``<=`` exact, ties included.
"""

from __future__ import annotations

import numpy as np

from crmcore._types import FloatArray, IntArray

__all__ = ["GroupedTimes"]


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
    weights : sequence of ndarray of float64, optional
        Values to sum over windows (amounts, margins).

    Attributes
    ----------
    order : ndarray of int64
        Positions of the entries in (group, time) order; ties keep the input
        order (stable), so "the last entry at or before t" is the one given
        last among equal times.
    """

    def __init__(
        self,
        groups: IntArray,
        times: IntArray,
        n_groups: int,
        weights: tuple[FloatArray, ...] = (),
    ) -> None:
        self.n_groups = int(n_groups)
        self.distinct, inverse = np.unique(times, return_inverse=True)
        width = self.distinct.size + 1
        if self.n_groups and self.n_groups > np.iinfo(np.int64).max // (width + 1):
            raise OverflowError("too many groups x distinct times for one int64 key")
        self.width = width
        keys = groups.astype(np.int64) * width + (inverse + 1)  # ranks 1..U
        self.order = np.argsort(keys, kind="stable")
        self.keys = keys[self.order]
        self.groups = groups[self.order]
        self.times = times[self.order]
        self.cums = tuple(
            np.concatenate([[0.0], np.cumsum(w[self.order], dtype=np.float64)]) for w in weights
        )
        starts = np.searchsorted(self.keys, np.arange(self.n_groups + 1, dtype=np.int64) * width)
        self.starts = np.asarray(starts, dtype=np.int64)

    def position(self, groups: IntArray, times: IntArray, *, inclusive: bool = True) -> IntArray:
        """Entries sorted before ``(group, time)``: ``<= time`` (``inclusive``) or ``< time``.

        Positions are global (they count all earlier groups), so window
        counts are differences of two positions.
        """
        side = "right" if inclusive else "left"
        # distinct log times <= t (or < t): the entries of rank <= that qualify
        rank = np.searchsorted(self.distinct, times, side=side)  # type: ignore[call-overload]
        keys = groups.astype(np.int64) * self.width + rank
        return np.asarray(np.searchsorted(self.keys, keys, side="right"), dtype=np.int64)

    def window(self, groups: IntArray, lo: IntArray, hi: IntArray) -> tuple[IntArray, IntArray]:
        """Sorted-order bounds ``[a, b)`` of each group's entries with ``lo < t <= hi``."""
        a = self.position(groups, lo)
        b = self.position(groups, np.maximum(hi, lo))
        return a, b

    def count(self, groups: IntArray, lo: IntArray, hi: IntArray) -> IntArray:
        """Count the entries of each query's group with ``lo < t <= hi``."""
        a, b = self.window(groups, lo, hi)
        return b - a

    def total(self, k: int, groups: IntArray, lo: IntArray, hi: IntArray) -> FloatArray:
        """Sum of weight ``k`` over each query's window ``(lo, hi]``."""
        a, b = self.window(groups, lo, hi)
        cum = self.cums[k]
        out: FloatArray = cum[b] - cum[a]
        return out

    def first_time(self) -> IntArray:
        """Earliest time of each group (int64 min where a group has no entry)."""
        out = np.full(self.n_groups, np.iinfo(np.int64).min, dtype=np.int64)
        has = self.starts[1:] > self.starts[:-1]
        out[has] = self.times[self.starts[:-1][has]]
        return out

    def last_at_or_before(self, groups: IntArray, times: IntArray) -> IntArray:
        """Input position of the last entry of each group at or before ``time`` (-1: none)."""
        pos = self.position(groups, times) - 1
        ok = pos >= self.starts[groups]
        out = np.full(groups.size, -1, dtype=np.int64)
        out[ok] = self.order[pos[ok]]
        return out
