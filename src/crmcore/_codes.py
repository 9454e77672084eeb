"""Customer ids as integer codes: ``pd.factorize(ids, sort=True)``, fast for integer ids.

Integer ids in a compact range (codes carried from an earlier factorisation,
or a shop's own sequential ids) are coded by direct addressing: a presence
table over the range and a running count, linear in the rows, with no hashing
and no sort. Anything else goes to :func:`pandas.factorize`.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

__all__ = ["sorted_codes"]


def sorted_codes(
    ids: pd.Series | pd.Index, *, copy: bool = True
) -> tuple[np.ndarray[Any, np.dtype[np.int64]], Any]:
    """Return ``(codes, uniques)`` exactly as ``pd.factorize(ids, sort=True)`` does.

    Codes are int64 ranks of each id among the distinct ids; ``uniques`` are
    the distinct ids in ascending order. Ids must not be missing (the callers
    check first). Other ids are passed to :func:`pandas.factorize` as they are.
    With ``copy=False``, int64 ids that are their own codes (every one of
    ``0..n-1``) are returned as they are, for a caller that only reads them.
    """
    dtype = ids.dtype
    if isinstance(dtype, np.dtype) and dtype.kind in "iu" and len(ids):
        arr = ids.to_numpy()
        lo, hi = int(arr.min()), int(arr.max())
        if hi - lo < max(1 << 20, 4 * arr.size):
            if arr.dtype == np.int64:
                # codes from 0 (carried from an earlier factorisation) are their own offsets:
                # no 80 MB copy of a 10M-row log only to be read
                rel = arr if lo == 0 else arr - lo
            else:
                rel = (arr - lo).astype(np.int64)
            present = np.zeros(hi - lo + 1, dtype=bool)
            present[rel] = True
            distinct = np.flatnonzero(present)
            if distinct.size == present.size:  # every id in the range: the rank is the offset
                codes = rel.copy() if rel is arr and copy else rel
                return codes, (distinct + lo).astype(dtype)
            rank = np.empty(present.size, dtype=np.int64)
            rank[distinct] = np.arange(distinct.size, dtype=np.int64)
            return rank[rel], (distinct + lo).astype(dtype)
    codes, uniques = pd.factorize(ids, sort=True)
    return np.asarray(codes, dtype=np.int64), uniques
