"""Top-k selection per row, vectorised over blocks of customers.

Three selections serve every recommender:

* :func:`topk_sparse`: the best ``k`` entries of each row of a sparse score
  matrix (an item-similarity model's candidates). Rows are grouped by their
  number of candidates into buckets of widths ``k, 2k, 4k, ...``; each bucket
  is padded into a dense block and ``argpartition`` picks the top ``k``, so
  the work is proportional to the number of candidates, never to customers
  × catalogue;
* :func:`topk_dense`: the same for a dense block of scores (factor models);
* :func:`fill_ranked`: the first ``need[r]`` items of one ranked list (a
  popularity ranking) that row ``r`` has not blocked (already bought,
  already recommended, or filtered out).

Ties are broken by the lower item code, so results do not depend on the
order of equal scores in memory.
"""

from __future__ import annotations

from typing import Any

import attrs
import numpy as np
import scipy.sparse as sp

from crmcore._types import BoolArray, FloatArray, IntArray

__all__ = ["Picked", "fill_ranked", "row_of_entries", "topk_dense", "topk_sparse"]


@attrs.frozen
class Picked:
    """Selected entries, sorted by row then rank.

    Attributes
    ----------
    row : ndarray of int64
        Row (customer position in the block) of each entry.
    item : ndarray of int64
        Item code.
    score : ndarray of float64
        Score.
    """

    row: IntArray
    item: IntArray
    score: FloatArray

    @classmethod
    def empty(cls) -> Picked:
        """No entry."""
        z = np.zeros(0, dtype=np.int64)
        return cls(z, z.copy(), np.zeros(0, dtype=np.float64))

    def counts(self, n_rows: int) -> IntArray:
        """Count the entries of each row."""
        return np.bincount(self.row, minlength=n_rows).astype(np.int64)


def row_of_entries(indptr: np.ndarray[Any, Any]) -> IntArray:
    """Row index of every stored entry of a CSR matrix."""
    lengths = np.diff(indptr)
    return np.repeat(np.arange(lengths.size, dtype=np.int64), lengths)


def _sort_rows(vals: FloatArray, cols: IntArray) -> tuple[FloatArray, IntArray]:
    """Sort each row by score descending, then item code ascending."""
    order = np.lexsort((cols, -vals), axis=-1)
    return np.take_along_axis(vals, order, axis=1), np.take_along_axis(cols, order, axis=1)


def _select(vals: FloatArray, cols: IntArray, k: int) -> tuple[FloatArray, IntArray]:
    """Top ``k`` per row of padded blocks (padding is ``-inf``), sorted."""
    if vals.shape[1] > k:
        part = np.argpartition(-vals, k - 1, axis=1)[:, :k]
        vals = np.take_along_axis(vals, part, axis=1)
        cols = np.take_along_axis(cols, part, axis=1)
    return _sort_rows(vals, cols)


def topk_sparse(
    scores: sp.csr_matrix,
    k: int,
    *,
    blocked: BoolArray | None = None,
    positive: bool = True,
) -> Picked:
    """Best ``k`` stored entries per row of ``scores``.

    Parameters
    ----------
    scores : csr_matrix
        Rows × items.
    k : int
        Entries to keep per row (fewer where a row has fewer candidates).
    blocked : ndarray of bool, optional
        Rows × items; ``True`` entries are never selected.
    positive : bool, default True
        Keep only scores > 0 (a zero similarity is no evidence).
    """
    n_rows = scores.shape[0]
    indptr = scores.indptr.astype(np.int64, copy=False)
    lengths = np.diff(indptr)
    if scores.nnz == 0:
        return Picked.empty()
    # excluded entries become -inf in place of being removed: no compaction
    val = scores.data.astype(np.float64)
    drop = ~np.isfinite(val)
    if positive:
        drop |= ~(val > 0)
    if blocked is not None:
        drop |= blocked[row_of_entries(indptr), scores.indices]
    val[drop] = -np.inf
    col = scores.indices
    out_val = np.full((n_rows, k), -np.inf)
    out_col = np.zeros((n_rows, k), dtype=np.int64)
    lower, width = 0, k
    max_len = int(lengths.max())
    while lower < max_len:
        rows = np.flatnonzero((lengths > lower) & (lengths <= width))
        if rows.size:
            w = int(lengths[rows].max())
            offs = np.arange(w, dtype=np.int64)
            valid = offs[None, :] < lengths[rows][:, None]
            idx = np.where(valid, indptr[rows][:, None] + offs[None, :], 0)
            vals = np.where(valid, val[idx], -np.inf)
            cols = np.where(valid, col[idx], np.iinfo(np.int64).max)
            vals, cols = _select(vals, cols, k)
            out_val[rows, : vals.shape[1]] = vals
            out_col[rows, : cols.shape[1]] = cols
        lower, width = width, width * 2
    # -inf sorts last, so each row's kept entries are a prefix: row-major order
    # is already "by row, then rank"
    ok = np.isfinite(out_val)
    r = np.broadcast_to(np.arange(n_rows, dtype=np.int64)[:, None], ok.shape)[ok]
    return Picked(r, out_col[ok], out_val[ok])


def topk_dense(scores: FloatArray, k: int, *, blocked: BoolArray | None = None) -> Picked:
    """Best ``k`` entries per row of a dense block; ``blocked`` entries excluded.

    ``scores`` is modified in place (blocked entries set to ``-inf``).
    """
    if blocked is not None:
        scores[blocked] = -np.inf
    n_rows, n_items = scores.shape
    cols = np.broadcast_to(np.arange(n_items, dtype=np.int64), scores.shape)
    if n_items > k:
        part = np.argpartition(-scores, k - 1, axis=1)[:, :k]
        vals = np.take_along_axis(scores, part, axis=1).astype(np.float64)
        sel = part.astype(np.int64)
    else:
        vals, sel = scores.astype(np.float64), np.array(cols)
    vals, sel = _sort_rows(vals, sel)
    ok = np.isfinite(vals)
    rows = np.broadcast_to(np.arange(n_rows, dtype=np.int64)[:, None], vals.shape)
    return Picked(rows[ok], sel[ok], vals[ok])


def fill_ranked(
    ranked: IntArray,
    ranked_scores: FloatArray,
    blocked: BoolArray,
    need: IntArray,
) -> Picked:
    """Pick the first ``need[r]`` items of ``ranked`` not blocked in row ``r``.

    Parameters
    ----------
    ranked : ndarray of int64
        Item codes, best first (already restricted to allowed items).
    ranked_scores : ndarray of float64
        Their scores.
    blocked : ndarray of bool
        Rows × items.
    need : ndarray of int64
        Items wanted per row (0 for rows that are complete).
    """
    if ranked.size == 0 or not need.any():
        return Picked.empty()
    rows = np.flatnonzero(need > 0)
    # Look at a prefix of the ranking wide enough for every row (a row skips
    # only its blocked items); widen it until each row found what it needs.
    width = min(ranked.size, int(need.max()) * 4 + 64)
    while True:
        avail = ~blocked[np.ix_(rows, ranked[:width])]
        if width >= ranked.size or bool(np.all(avail.sum(axis=1) >= need[rows])):
            break
        width = min(ranked.size, width * 4)
    cum = np.cumsum(avail, axis=1)
    take = avail & (cum <= need[rows][:, None])
    r, pos = np.nonzero(take)
    return Picked(rows[r].astype(np.int64), ranked[pos], ranked_scores[pos])
