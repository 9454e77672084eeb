"""Compression of identical rows into unique rows with integer weights.

Fitting and scoring work on the sufficient statistics ``(frequency, recency,
T)``; customers who share them are evaluated once. The grouping is hash based
(:func:`pandas.factorize` on NumPy arrays), so it costs O(n) and never sorts.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from crmcore._types import FloatArray, IntArray

__all__ = ["compress_rows", "unique_rows"]


def _codes(values: np.ndarray) -> tuple[IntArray, int]:
    codes, uniques = pd.factorize(values, sort=False)
    return np.asarray(codes, dtype=np.int64), len(uniques)


def unique_rows(*columns: np.ndarray) -> tuple[IntArray, IntArray]:
    """Group identical rows of equally long 1-D arrays.

    Parameters
    ----------
    *columns : ndarray
        One or more 1-D arrays of the same length.

    Returns
    -------
    first : ndarray of int64
        Position of the first occurrence of each unique row (in order of
        first appearance).
    inverse : ndarray of int64
        For every input row, the index of its unique row.

    Examples
    --------
    >>> first, inverse = unique_rows(np.array([1, 2, 1]), np.array([0.5, 0.5, 0.5]))
    >>> first.tolist(), inverse.tolist()
    ([0, 1], [0, 1, 0])
    """
    key, card = _codes(columns[0])
    for col in columns[1:]:
        codes, n = _codes(col)
        if card * n >= 2**62:
            key, card = _codes(key)
        key = key * n + codes
        card *= n
    inverse, _ = _codes(key)
    n_unique = int(inverse.max()) + 1 if inverse.size else 0
    first = np.full(n_unique, inverse.size, dtype=np.int64)
    np.minimum.at(first, inverse, np.arange(inverse.size, dtype=np.int64))
    return first, inverse


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
        The unique rows.
    unique_weights : ndarray
        Summed weights of each unique row.
    inverse : ndarray of int64
        Unique-row index of every input row.
    """
    first, inverse = unique_rows(*columns.values())
    unique = {name: col[first] for name, col in columns.items()}
    w = np.bincount(inverse, weights=weights, minlength=first.size).astype(np.float64)
    return unique, w, inverse
