"""Popularity tables: the ranking of the popularity recommender and everyone's fallback.

Popularity is the number of distinct customers who bought a product (so a
bulk buyer counts once), overall and within each customer segment. Every
recommender keeps these tables: a customer without history at ``as_of`` (a
*cold start*), or one for whom the model finds fewer than ``k`` candidates,
is completed from the ranking of their segment when it is known, then from
the overall ranking.
"""

from __future__ import annotations

from typing import Any

import attrs
import numpy as np
import pandas as pd
import scipy.sparse as sp

from crmcore._types import FloatArray, IntArray
from crmcore.errors import ValidationError
from crmcore.recommend._codec import decode_array, decode_ids, encode_array, encode_ids
from crmcore.recommend._interactions import plain

__all__ = ["Popularity", "segment_codes"]


def segment_codes(
    segments: Any, customers: pd.Index, *, labels: pd.Index | None = None
) -> tuple[IntArray, pd.Index]:
    """Code each customer's segment (-1 where unknown).

    Parameters
    ----------
    segments : Series
        Segment label per customer id (index). Customers missing from it, or
        with a missing label, have no segment.
    customers : Index
        The customers to code.
    labels : Index, optional
        Known segment labels; others count as unknown. Default: the sorted
        labels of ``segments``.

    Raises
    ------
    ValidationError
        ``segments`` is not a Series, or its index repeats a customer.
    """
    if not isinstance(segments, pd.Series):
        raise ValidationError(
            "segments must be a pandas Series: the segment label of each customer id (index); "
            f"got {type(segments).__name__}",
            field="segments",
        )
    if not segments.index.is_unique:
        dup = plain(segments.index[segments.index.duplicated()][0])
        raise ValidationError(
            f"segments lists customer {dup!r} twice; give one segment per customer",
            field="segments",
            row=dup,
        )
    present = segments.dropna()
    if labels is None:
        try:
            labels = pd.Index(sorted(present.unique().tolist()))
        except TypeError:
            labels = pd.Index(present.unique().tolist())
    per_customer = present.reindex(customers)
    codes = np.asarray(labels.get_indexer(pd.Index(per_customer)), dtype=np.int64)
    return codes, labels


@attrs.frozen(eq=False)
class Popularity:
    """Buyer counts per product, overall and per segment.

    Attributes
    ----------
    buyers : ndarray of int64
        Distinct buyers of each product.
    n_customers : int
        Customers counted.
    segments : Index or None
        Segment labels.
    segment_buyers : ndarray of int64, shape (n_segments, n_products)
        Distinct buyers per segment.
    segment_sizes : ndarray of int64
        Customers per segment.
    """

    buyers: IntArray
    n_customers: int
    segments: pd.Index | None = None
    segment_buyers: IntArray | None = None
    segment_sizes: IntArray | None = None

    @classmethod
    def from_matrix(
        cls, bought: sp.csr_matrix, segment_of: IntArray | None, labels: pd.Index | None
    ) -> Popularity:
        """Count buyers from a customers × products matrix (any positive entry is a buyer)."""
        binary = bought.copy()
        binary.data = (binary.data > 0).astype(np.float64)
        buyers = np.asarray(binary.sum(axis=0)).ravel().astype(np.int64)
        active = np.diff(binary.indptr) > 0
        n_customers = int(active.sum())
        if segment_of is None or labels is None:
            return cls(buyers, n_customers)
        n_seg = len(labels)
        known = segment_of >= 0
        onehot = sp.csr_matrix(
            (
                np.ones(int(known.sum())),
                (segment_of[known], np.flatnonzero(known)),
            ),
            shape=(n_seg, binary.shape[0]),
        )
        seg_buyers = np.asarray((onehot @ binary).toarray()).round().astype(np.int64)
        sizes = np.bincount(segment_of[known & active], minlength=n_seg).astype(np.int64)
        return cls(buyers, n_customers, labels, seg_buyers, sizes)

    def ranking(self, allowed: np.ndarray[Any, np.dtype[np.bool_]]) -> tuple[IntArray, FloatArray]:
        """Rank the allowed products, most bought first; the score is the share of buyers."""
        order = np.lexsort((np.arange(self.buyers.size), -self.buyers))
        order = order[allowed[order]]
        share = self.buyers[order] / max(self.n_customers, 1)
        return order.astype(np.int64), share.astype(np.float64)

    def segment_ranking(
        self, segment: int, allowed: np.ndarray[Any, np.dtype[np.bool_]]
    ) -> tuple[IntArray, FloatArray]:
        """Rank the allowed products bought in ``segment``, most bought first."""
        assert self.segment_buyers is not None
        assert self.segment_sizes is not None
        counts = self.segment_buyers[segment]
        order = np.lexsort((np.arange(counts.size), -self.buyers, -counts))
        order = order[allowed[order] & (counts[order] > 0)]
        share = counts[order] / max(int(self.segment_sizes[segment]), 1)
        return order.astype(np.int64), share.astype(np.float64)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        out: dict[str, Any] = {
            "buyers": encode_array(self.buyers),
            "n_customers": self.n_customers,
        }
        if self.segments is not None:
            assert self.segment_buyers is not None
            assert self.segment_sizes is not None
            out["segments"] = encode_ids(self.segments, field="segments")
            out["segment_buyers"] = encode_array(self.segment_buyers)
            out["segment_sizes"] = encode_array(self.segment_sizes)
        return out

    @classmethod
    def from_dict(cls, value: Any, n_products: int) -> Popularity:
        """Read :meth:`to_dict` output, checking shapes."""
        if not isinstance(value, dict):
            raise ValidationError("saved model: popularity_ is missing", field="popularity_")
        buyers = decode_array(value.get("buyers"), field="popularity_.buyers", dtype=np.int64)
        n = value.get("n_customers")
        if buyers.shape != (n_products,) or not isinstance(n, int) or n < 0:
            raise ValidationError(
                "saved model: popularity_ does not match the products", field="popularity_"
            )
        if "segments" not in value:
            return cls(buyers, n)
        labels = decode_ids(value["segments"], field="popularity_.segments", name="segment")
        seg_buyers = decode_array(
            value.get("segment_buyers"), field="popularity_.segment_buyers", dtype=np.int64
        )
        sizes = decode_array(
            value.get("segment_sizes"), field="popularity_.segment_sizes", dtype=np.int64
        )
        if seg_buyers.shape != (len(labels), n_products) or sizes.shape != (len(labels),):
            raise ValidationError(
                "saved model: popularity_ segment tables do not match", field="popularity_"
            )
        return cls(buyers, n, labels, seg_buyers, sizes)
