"""Clusters of duplicate records from scored pairs, without chaining through weak links."""

from __future__ import annotations

from collections.abc import Hashable, Iterable
from typing import Any

import numpy as np
import pandas as pd
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from crmcore._types import FloatArray, IntArray
from crmcore._validation import check_columns, check_scalar
from crmcore.errors import ValidationError
from crmcore.identity._links import cannot_link_pairs
from crmcore.identity._match import DEFAULT_THRESHOLD

__all__ = ["cannot_link_pairs", "cluster_duplicates"]


def _order(ids: pd.Index) -> IntArray:
    try:
        order = np.argsort(ids.to_numpy(), kind="stable")
    except TypeError:
        order = np.argsort(ids.astype(str).to_numpy(), kind="stable")
    rank = np.empty(len(ids), dtype=np.int64)
    rank[order] = np.arange(len(ids))
    return rank


def _split(
    members: IntArray,
    nbrs: dict[int, dict[int, float]],
    rank: IntArray,
    forbidden: set[tuple[int, int]],
) -> list[list[int]]:
    """Star clusters around cores, never joining a cannot-link pair (small components)."""
    remaining = set(members.tolist())
    out: list[list[int]] = []
    while remaining:
        degree = {v: sum(s for w, s in nbrs[v].items() if w in remaining) for v in remaining}
        core = min(remaining, key=lambda v: (-degree[v], rank[v]))
        cluster = [core]
        linked = sorted(
            (w for w in nbrs[core] if w in remaining), key=lambda w: (-nbrs[core][w], rank[w])
        )
        for w in linked:
            if all((min(w, c), max(w, c)) not in forbidden for c in cluster):
                cluster.append(w)
        out.append(cluster)
        remaining.difference_update(cluster)
    return out


def cluster_duplicates(
    pairs: pd.DataFrame,
    threshold: float = DEFAULT_THRESHOLD,
    *,
    ids: Iterable[Hashable] | None = None,
    cannot_link: Any = None,
    score_col: str = "score",
) -> pd.Series:
    """Group records into clusters of one customer each, from scored pairs.

    Pairs scoring at least ``threshold`` are edges of a sparse graph; its
    connected components (``scipy.sparse.csgraph``) are the candidate
    clusters. **Chaining guard** (the *core rule*): a record joins a cluster
    only through a direct link (an edge at or above ``threshold``) with the
    cluster's *core*, the member with the largest sum of link scores (ties:
    the smallest id). A component in which every record links to the core
    is kept whole; otherwise the core's cluster is cut out and the rest of
    the component is clustered again by the same rule. So a chain
    ``A–B–C–D`` of pairwise resemblances yields ``{A, B, C}`` (core ``B``)
    and ``{D}``: two records share a cluster only when each resembles the
    same record directly, never through a path of weak links.

    "Not a duplicate" decisions are respected: no cluster ever holds both
    records of a ``cannot_link`` pair (the record with the weaker link to the
    core is left for a later cluster).

    Parameters
    ----------
    pairs : DataFrame
        ``id_l``, ``id_r`` and ``score_col``, as :func:`find_duplicates`
        returns.
    threshold : float, default 0.5
        Minimum score of a link.
    ids : iterable, optional
        Every record id; records without a link get a cluster of their own.
        Default: the ids appearing in ``pairs``.
    cannot_link : DataFrame or iterable of pairs, optional
        Pairs of records a user marked as distinct (``id_l``, ``id_r``
        columns, or 2-tuples). Pairs naming records outside ``ids`` are
        ignored.
    score_col : str, default "score"
        Column of link scores.

    Returns
    -------
    Series
        ``cluster`` (int, 0, 1, ...; numbered in order of each cluster's
        smallest id), indexed by record id (sorted).

    Raises
    ------
    ValidationError
        Missing columns, a threshold outside [0, 1], non-finite scores, a
        pair naming a record outside ``ids``, or a ``cannot_link`` pair of a
        record with itself.

    Examples
    --------
    >>> import pandas as pd
    >>> pairs = pd.DataFrame(
    ...     {"id_l": ["a", "b", "c"], "id_r": ["b", "c", "d"], "score": [0.9, 0.95, 0.8]}
    ... )
    >>> cluster_duplicates(pairs, 0.5).tolist()  # the chain a-b-c-d: core b links a and c
    [0, 0, 0, 1]
    >>> cluster_duplicates(pairs, 0.5, cannot_link=[("a", "c")]).tolist()
    [0, 1, 1, 2]
    """
    check_columns(pairs, ("id_l", "id_r", score_col), name="pairs")
    check_scalar(threshold, name="threshold", low=0, high=1)
    scores = pd.to_numeric(pairs[score_col], errors="coerce").to_numpy(dtype=np.float64)
    if not np.isfinite(scores).all():
        pos = int(np.flatnonzero(~np.isfinite(scores))[0])
        raise ValidationError(
            f"{score_col} must be a finite number on every pair; row {pos} holds "
            f"{pairs[score_col].iloc[pos]!r}",
            field=score_col,
            row=pos,
        )
    if ids is None:
        universe = pd.Index(pd.unique(np.concatenate([pairs["id_l"], pairs["id_r"]])))
    else:
        universe = pd.Index(list(ids))
        if not universe.is_unique:
            raise ValidationError("ids must be unique", field="ids")
    rank = _order(universe)
    universe = universe[np.argsort(rank)]
    rank = np.arange(len(universe))
    left = universe.get_indexer(pairs["id_l"])
    right = universe.get_indexer(pairs["id_r"])
    unknown = (left < 0) | (right < 0)
    if unknown.any():
        pos = int(np.flatnonzero(unknown)[0])
        bad = pairs["id_l"].iloc[pos] if left[pos] < 0 else pairs["id_r"].iloc[pos]
        raise ValidationError(
            f"pairs name record {bad!r}, which is not among ids", field="ids", row=bad
        )
    forbidden: set[tuple[int, int]] = set()
    for a, b in cannot_link_pairs(cannot_link):
        ia, ib = universe.get_indexer([a, b])
        if ia >= 0 and ib >= 0:
            forbidden.add((min(ia, ib), max(ia, ib)))
    keep = (scores >= threshold) & (left != right)
    lo, hi = np.minimum(left, right)[keep], np.maximum(left, right)[keep]
    w = scores[keep]
    packed = lo.astype(np.int64) * len(universe) + hi
    if packed.size:  # a pair given twice is one link, at its best score
        order = np.lexsort((-w, packed))
        first = np.r_[True, packed[order][1:] != packed[order][:-1]]
        lo, hi, w = lo[order][first], hi[order][first], w[order][first]
    if forbidden:  # a direct link between a cannot-link pair is no link
        packed = lo.astype(np.int64) * len(universe) + hi
        banned = np.array([a * len(universe) + b for a, b in forbidden], dtype=np.int64)
        ok = ~np.isin(packed, banned)
        lo, hi, w = lo[ok], hi[ok], w[ok]
    return pd.Series(
        _label(len(universe), lo, hi, w, rank=rank, forbidden=forbidden),
        index=universe,
        name="cluster",
    )


def _label(
    n: int,
    lo: IntArray,
    hi: IntArray,
    w: FloatArray,
    *,
    rank: IntArray,
    forbidden: set[tuple[int, int]],
) -> IntArray:
    """Cluster labels of ``n`` records from undirected weighted edges (``lo < hi``)."""
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    graph = coo_matrix((np.ones(lo.size), (lo, hi)), shape=(n, n)).tocsr()
    _k, comp = connected_components(graph, directed=False)
    comp = np.asarray(comp, dtype=np.int64)
    degree = np.bincount(lo, weights=w, minlength=n) + np.bincount(hi, weights=w, minlength=n)
    # core of each component: largest degree, then smallest rank
    order = np.lexsort((rank, -degree, comp))
    first = np.r_[True, comp[order][1:] != comp[order][:-1]]
    core = np.empty(comp.max() + 1 if n else 0, dtype=np.int64)
    core[comp[order][first]] = order[first]
    size = np.bincount(comp, minlength=core.size)
    touches = (lo == core[comp[lo]]) | (hi == core[comp[hi]])
    core_links = np.bincount(comp[lo[touches]], minlength=core.size)
    bad = core_links != size - 1
    for a, b in forbidden:
        if comp[a] == comp[b]:
            bad[comp[a]] = True
    label = comp.copy()
    next_label = core.size
    broken = np.flatnonzero(bad)
    if broken.size:
        in_broken = bad[comp[lo]]
        nbrs: dict[int, dict[int, float]] = {}
        for a, b, s in zip(lo[in_broken], hi[in_broken], w[in_broken], strict=True):
            nbrs.setdefault(int(a), {})[int(b)] = float(s)
            nbrs.setdefault(int(b), {})[int(a)] = float(s)
        members_of = np.argsort(comp, kind="stable")
        starts = np.r_[0, np.cumsum(size)]
        for c in broken:
            members = members_of[starts[c] : starts[c + 1]]
            for v in members:
                nbrs.setdefault(int(v), {})
            for part in _split(members, nbrs, rank, forbidden)[1:]:
                label[part] = next_label
                next_label += 1
    # number clusters by their smallest member (records are in id order)
    _u, first_pos = np.unique(label, return_index=True)
    renumber = np.empty(next_label, dtype=np.int64)
    renumber[label[np.sort(first_pos)]] = np.arange(first_pos.size)
    out: IntArray = renumber[label]
    return out
