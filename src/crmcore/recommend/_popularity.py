"""The popularity recommender: the most-bought products, overall or within a segment."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

import numpy as np
import scipy.sparse as sp

from crmcore._time import add_duration, to_duration
from crmcore.errors import ValidationError
from crmcore.recommend._base import BaseRecommender
from crmcore.recommend._interactions import Interactions

__all__ = ["PopularityRecommender"]


class PopularityRecommender(BaseRecommender):
    """Recommend the products bought by the most customers (the baseline).

    Popularity is the number of distinct customers who bought a product at
    or before ``as_of`` (within ``(as_of - lookback, as_of]`` when
    ``lookback`` is given), so a bulk buyer counts once. When ``fit`` is given
    ``segments``, each customer is ranked by the popularity within their
    segment first, then overall: "popularity by segment".

    Every other recommender falls back on these same tables for customers it
    knows nothing about, so this class is also the stated cold-start rule.

    Parameters
    ----------
    lookback : duration, optional
        Count only purchases in ``(as_of - lookback, as_of]`` (``"90D"``):
        what is popular *now*. Default: all history.

    Attributes
    ----------
    customers_ : Index
        Customers with history at ``as_of``.
    products_ : Index
        Products (catalogue order).
    as_of_ : Timestamp
        The cut-off the model was fitted at.
    history_ : csr_matrix
        Customers × products: orders holding the product (for exclusions).
    popularity_ : Popularity
        Buyer counts, overall (``buyers``) and per segment.
    customer_segment_ : ndarray of int64 or None
        Each known customer's segment code (-1: none).

    Examples
    --------
    >>> import pandas as pd
    >>> lines = pd.DataFrame(
    ...     {
    ...         "customer_id": ["a", "a", "b", "c", "c"],
    ...         "product_id": ["tea", "milk", "tea", "tea", "cake"],
    ...         "date": pd.to_datetime(["2024-01-02"] * 5),
    ...     }
    ... )
    >>> model = PopularityRecommender().fit(lines, as_of="2024-01-31")
    >>> model.recommend(["b", "new"], k=2)[["customer_id", "product_id", "reason"]]
      customer_id product_id   reason
    0           b       cake  popular
    1           b       milk  popular
    2         new        tea  popular
    3         new       cake  popular
    """

    _reason: ClassVar[str] = "popular"

    def __init__(self, *, lookback: Any = None) -> None:
        self.lookback = lookback

    def _check_params(self) -> None:
        if self.lookback is not None:
            to_duration(self.lookback, name="lookback")

    def _popularity_matrix(self, data: Interactions) -> sp.csr_matrix:
        if self.lookback is None:
            return data.matrix("binary")
        window = to_duration(self.lookback, name="lookback")
        start = add_duration(data.cutoff.ns, data.tz, window, sign=-1)
        keep = data.times > start
        if not keep.any():
            raise ValidationError(
                f"no order line falls in the lookback window ({window}) before as_of="
                f"{data.cutoff}: widen lookback",
                field="lookback",
                value=self.lookback,
            )
        m = sp.csr_matrix(
            (
                np.ones(int(keep.sum()), dtype=np.float32),
                (data.customer[keep], data.product[keep]),
            ),
            shape=(data.n_customers, data.n_products),
        )
        m.sum_duplicates()
        return m

    def _state_to_dict(self) -> dict[str, Any]:
        return {}

    def _state_from_dict(self, fitted: Mapping[str, Any]) -> None:
        return None
