"""Compression of identical rows into unique rows with integer weights.

Fitting and scoring work on the sufficient statistics ``(frequency, recency,
T)``; customers who share them are evaluated once. Whole-number columns with
a modest range are coded directly as ``value - min`` (no hashing); other
columns are factorised by hashing (:func:`pandas.factorize` on NumPy arrays).
The per-column codes are combined into one mixed-radix integer key, which is
marked in a dense boolean table when the key space is small and hashed
otherwise. Nothing is sorted; the cost is O(n).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from crmcore._types import FloatArray, IntArray

__all__ = ["compress_rows", "unique_rows"]

_DIRECT_RANGE = 1 << 20
_DENSE_SPACE = 1 << 24


def _codes(values: np.ndarray) -> tuple[IntArray, np.ndarray]:
    """Codes ``0..k-1`` and the ``k`` distinct values (in code order)."""
    if values.size and values.dtype.kind in "iuf":
        lo, hi = values.min(), values.max()
        if hi - lo < _DIRECT_RANGE:
            codes = values - lo
            as_int = codes.astype(np.int64)
            if values.dtype.kind in "iu" or np.array_equal(as_int, codes):
                return as_int, np.arange(int(hi - lo) + 1, dtype=values.dtype) + lo
    codes, uniques = pd.factorize(values, sort=False)
    return np.asarray(codes, dtype=np.int64), np.asarray(uniques)


def unique_rows(*columns: np.ndarray) -> tuple[list[np.ndarray], IntArray]:
    """Group identical rows of equally long 1-D arrays.

    Parameters
    ----------
    *columns : ndarray
        One or more 1-D arrays of the same length.

    Returns
    -------
    uniques : list of ndarray
        One array per input column: the values of the distinct rows.
    inverse : ndarray of int64
        For every input row, the index of its distinct row.

    Examples
    --------
    >>> uniques, inverse = unique_rows(np.array([1, 2, 1]), np.array([0.5, 0.5, 0.5]))
    >>> [u.tolist() for u in uniques], inverse.tolist()
    ([[1, 2], [0.5, 0.5]], [0, 1, 0])
    """
    coded = [_codes(np.asarray(col)) for col in columns]
    key = coded[0][0]
    space = len(coded[0][1])
    rehashed = False
    for codes, values in coded[1:]:
        n = len(values)
        if space * n >= 2**62:
            key, uniq = _rehash(key)
            space, rehashed = len(uniq), True
        key = key * n + codes
        space *= n
    if space <= max(_DENSE_SPACE, 8 * key.size):
        present = np.zeros(space, dtype=bool)
        present[key] = True
        distinct = np.flatnonzero(present)
        rank = np.empty(space, dtype=np.int32)
        rank[distinct] = np.arange(distinct.size, dtype=np.int32)
        inverse = rank[key].astype(np.int64)
    else:
        inverse, distinct = _rehash(key)
    if not rehashed:
        # Decode the mixed-radix key back into the columns' distinct values.
        out: list[np.ndarray] = []
        rem = distinct
        for codes_values in coded[:0:-1]:
            rem, c = np.divmod(rem, len(codes_values[1]))
            out.append(codes_values[1][c])
        out.append(coded[0][1][rem])
        return out[::-1], inverse
    first = np.full(distinct.size, inverse.size, dtype=np.int64)
    np.minimum.at(first, inverse, np.arange(inverse.size, dtype=np.int64))
    return [np.asarray(col)[first] for col in columns], inverse


def _rehash(key: IntArray) -> tuple[IntArray, IntArray]:
    codes, uniques = pd.factorize(key, sort=False)
    return np.asarray(codes, dtype=np.int64), np.asarray(uniques, dtype=np.int64)


def compress_rows(
    columns: dict[str, FloatArray], weights: FloatArray
) -> tuple[dict[str, FloatArray], FloatArray, IntArray]:
    """Collapse identical rows, summing their weights.

    Parameters
    ----------
    columns : dict of str to ndarray
        The columns that define a row.
    weights : ndarray
        Per-row weights (counts).

    Returns
    -------
    unique : dict of str to ndarray
        The distinct rows.
    unique_weights : ndarray
        Summed weights of each distinct row.
    inverse : ndarray of int64
        Distinct-row index of every input row.
    """
    uniques, inverse = unique_rows(*columns.values())
    unique = dict(zip(columns, (np.asarray(u, dtype=np.float64) for u in uniques), strict=True))
    n = len(uniques[0])
    w = np.asarray(np.bincount(inverse, weights=weights, minlength=n), dtype=np.float64)
    return unique, w, inverse
