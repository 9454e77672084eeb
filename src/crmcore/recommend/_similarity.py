"""Item-to-item recommendations: customers who bought this also bought that."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

import numpy as np
import pandas as pd
import scipy.sparse as sp

from crmcore._types import BoolArray, IntArray
from crmcore._validation import check_scalar
from crmcore.errors import ValidationError
from crmcore.recommend import _codec
from crmcore.recommend._base import BaseRecommender
from crmcore.recommend._cooccurrence import Links, anchors, neighbours
from crmcore.recommend._interactions import Interactions, plain
from crmcore.recommend._topk import Picked, topk_sparse

__all__ = ["ItemSimilarityRecommender", "check_int", "product_codes"]

_SIMILARITIES = ("cosine", "jaccard", "lift")


def check_int(value: Any, *, name: str, low: int) -> int:
    """Check a whole-number hyper-parameter ``>= low`` and return it."""
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < low:
        raise ValidationError(
            f"{name} must be a whole number >= {low}; got {value!r}", field=name, value=value
        )
    return int(value)


def product_codes(model: BaseRecommender, product_ids: Any) -> IntArray:
    """Codes of known products; an unknown product is an error naming it."""
    if isinstance(product_ids, str | int | np.integer):
        product_ids = [product_ids]
    ids = pd.Index(product_ids)
    codes = np.asarray(model.products_.get_indexer(ids), dtype=np.int64)
    if (codes < 0).any():
        bad = plain(ids[codes < 0][0])
        raise ValidationError(
            f"unknown product {bad!r}: the model knows {len(model.products_)} products sold at "
            "or before its as_of (or listed in its catalogue)",
            field=str(model.products_.name),
            row=bad,
            value=bad,
        )
    return codes


class ItemSimilarityRecommender(BaseRecommender):
    """Item-to-item collaborative filtering over a sparse co-occurrence matrix.

    Two products are similar when the same customers bought both
    (``C = Xᵀ X`` over the customers × products purchase matrix, each
    customer counting once per product). A customer's score for a product
    ``j`` is the sum of its similarities to the products they bought,
    ``Σ_i S[i, j]``; the ``reason`` of a recommendation names the bought
    product that contributed most ("similar to tea").

    Only each product's ``n_neighbors`` most similar products are kept, so
    the model is ``n_products × n_neighbors`` numbers and scoring a customer
    touches only the neighbours of what they bought.

    Parameters
    ----------
    similarity : {"cosine", "jaccard", "lift"}, default "cosine"
        ``cosine``: ``C_ij / (n_i^(1-d) n_j^d)`` with the popularity damping
        ``d`` (Aiolli, 2013: ``d = 0.5`` is the plain cosine, larger ``d``
        damps popular products); ``jaccard``: ``C_ij / (n_i + n_j - C_ij)``;
        ``lift``: ``C_ij N / (n_i n_j)``.
    n_neighbors : int, default 50
        Similar products kept per product.
    popularity_damping : float, default 0.5
        ``d`` in ``[0, 1]`` (cosine only).
    shrinkage : float, default 10
        ``λ >= 0``: similarities are multiplied by ``C_ij / (C_ij + λ)``, so
        pairs bought together by few customers count less (Koren, 2008).
    min_count : int, default 1
        Pairs bought together by fewer customers are ignored.

    Attributes
    ----------
    similarity_ : csr_matrix
        Products × products, float32; row ``i`` holds the neighbours of ``i``.
    co_counts_ : csr_matrix
        The customers who bought both, for the same entries.
    (and those of :class:`PopularityRecommender`)

    Examples
    --------
    >>> import pandas as pd
    >>> lines = pd.DataFrame(
    ...     {
    ...         "customer_id": [1, 1, 2, 2, 3, 3, 4],
    ...         "product_id": ["tea", "honey", "tea", "honey", "tea", "lemon", "tea"],
    ...         "date": pd.to_datetime(["2024-01-02"] * 7),
    ...     }
    ... )
    >>> model = ItemSimilarityRecommender(shrinkage=0).fit(lines, as_of="2024-01-31")
    >>> model.recommend([4], k=2)[["product_id", "reason"]]
      product_id         reason
    0      honey  similar to tea
    1      lemon  similar to tea
    >>> model.similar_items("tea", k=1)["product_id"].tolist()
    ['honey']
    """

    _reason: ClassVar[str] = "similar to {anchor}"
    _anchored: ClassVar[bool] = True

    def __init__(
        self,
        *,
        similarity: str = "cosine",
        n_neighbors: int = 50,
        popularity_damping: float = 0.5,
        shrinkage: float = 10.0,
        min_count: int = 1,
    ) -> None:
        self.similarity = similarity
        self.n_neighbors = n_neighbors
        self.popularity_damping = popularity_damping
        self.shrinkage = shrinkage
        self.min_count = min_count

    def _check_params(self) -> None:
        if self.similarity not in _SIMILARITIES:
            raise ValidationError(
                f"similarity must be one of {', '.join(map(repr, _SIMILARITIES))}; got "
                f"{self.similarity!r}",
                field="similarity",
                value=self.similarity,
            )
        check_int(self.n_neighbors, name="n_neighbors", low=1)
        check_int(self.min_count, name="min_count", low=1)
        check_scalar(self.popularity_damping, name="popularity_damping", low=0, high=1)
        check_scalar(self.shrinkage, name="shrinkage", low=0)

    def _fit_model(self, data: Interactions, rng: np.random.Generator) -> None:
        nb = neighbours(
            data.matrix("binary"),
            measure=self.similarity,
            n_neighbors=int(self.n_neighbors),
            damping=float(self.popularity_damping),
            shrinkage=float(self.shrinkage),
            min_count=int(self.min_count),
        )
        self.similarity_ = nb.score
        self.co_counts_ = nb.count
        self._links = Links(nb.score)

    def _basis(self, codes: IntArray) -> sp.csr_matrix:
        """Return the bought products the scores start from (1 per product bought)."""
        basis = self.history_[codes]
        basis.data = np.ones_like(basis.data)
        return basis

    def _pick(self, codes: IntArray, k: int, blocked: BoolArray) -> tuple[Picked, IntArray]:
        basis = self._basis(codes)
        picked = topk_sparse((basis @ self.similarity_).tocsr(), k, blocked=blocked)
        return picked, anchors(picked.row, picked.item, basis, self._links)

    def similar_items(self, product_ids: Any, k: int = 10) -> pd.DataFrame:
        """Return the ``k`` products most similar to each given product.

        Parameters
        ----------
        product_ids : list-like or scalar
            Known products.
        k : int, default 10
            Neighbours per product (fewer where fewer were kept).

        Returns
        -------
        DataFrame
            ``source``, ``rank``, ``product_id`` (named after the fitted
            column), ``score`` (similarity), ``co_customers`` (customers who
            bought both).

        Raises
        ------
        ValidationError
            An unknown product, or ``k`` not a whole number >= 1.
        """
        self._check_fitted()
        check_int(k, name="k", low=1)
        codes = product_codes(self, product_ids)
        sub = self.similarity_[codes]
        picked = topk_sparse(sub, int(k))
        counts = self.co_counts_[codes[picked.row], picked.item]
        col = str(self.products_.name)
        return pd.DataFrame(
            {
                "source": self.products_.take(codes[picked.row]),
                "rank": _ranks(picked.row),
                col: self.products_.take(picked.item),
                "score": picked.score,
                "co_customers": np.asarray(counts).ravel().round().astype(np.int64),
            }
        )

    def _state_to_dict(self) -> dict[str, Any]:
        return {
            "similarity_": _codec.encode_csr(self.similarity_),
            "co_counts_": _codec.encode_csr(self.co_counts_),
        }

    def _state_from_dict(self, fitted: Mapping[str, Any]) -> None:
        n = len(self.products_)
        self.similarity_ = _codec.decode_csr(fitted.get("similarity_"), field="similarity_")
        self.co_counts_ = _codec.decode_csr(fitted.get("co_counts_"), field="co_counts_")
        for name in ("similarity_", "co_counts_"):
            if getattr(self, name).shape != (n, n):
                raise ValidationError(f"saved model: {name} does not match products_", field=name)
        self._links = Links(self.similarity_)


def _ranks(rows: IntArray) -> IntArray:
    """1, 2, ... within each run of equal (sorted) rows."""
    if rows.size == 0:
        return np.zeros(0, dtype=np.int64)
    new = np.ones(rows.size, dtype=bool)
    new[1:] = rows[1:] != rows[:-1]
    starts = np.flatnonzero(new)
    lengths = np.diff(np.append(starts, rows.size))
    return (np.arange(rows.size) - np.repeat(starts, lengths) + 1).astype(np.int64)
