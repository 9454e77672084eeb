"""Frequently bought together: pairwise association rules over orders."""

from __future__ import annotations

import math
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
from crmcore.recommend._interactions import Interactions
from crmcore.recommend._similarity import _ranks, check_int, product_codes
from crmcore.recommend._topk import Picked, row_of_entries, topk_sparse

__all__ = ["BoughtTogetherRecommender"]


class BoughtTogetherRecommender(BaseRecommender):
    """Frequently bought together: association rules ``A → B`` between products in one order.

    A basket is an order (the ``order_col`` given to ``fit``; without one,
    a customer's lines at one instant). For products ``A`` and ``B``, over
    the ``N`` orders at or before ``as_of`` (Agrawal, Imieliński and Swami,
    1993, "Mining association rules between sets of items in large
    databases", SIGMOD):

    * ``support(A → B) = n(A and B) / N``, the share of orders holding both;
    * ``confidence(A → B) = n(A and B) / n(A)``, the share of orders with
      ``A`` that also hold ``B``;
    * ``lift(A → B) = confidence / (n(B) / N)``: how much more often ``B``
      comes with ``A`` than on its own (1: independent).

    Rules have one product on each side (what a "bought together" box
    shows); rules below ``min_support`` or ``min_confidence`` are dropped,
    and each product keeps its ``n_rules`` best by ``rank_by``. A customer's
    score for ``B`` sums the rules' ``rank_by`` from the products of their
    last order (``basis="last_order"``) or of all their history
    (``basis="history"``); the ``reason`` names the strongest antecedent.

    Parameters
    ----------
    min_support : float, default 0.0001
        Minimum share of orders holding both products, in ``[0, 1]``.
    min_confidence : float, default 0.01
        Minimum confidence, in ``[0, 1]``.
    min_orders : int, default 2
        Minimum number of orders holding both (a floor under
        ``min_support`` for small logs).
    n_rules : int, default 20
        Rules kept per antecedent.
    rank_by : {"confidence", "lift"}, default "confidence"
        Which measure orders and scores the rules.
    basis : {"last_order", "history"}, default "last_order"
        Which purchases the customer's recommendations start from.

    Attributes
    ----------
    rules_ : DataFrame
        Every rule kept: ``antecedent``, ``consequent``, ``orders``,
        ``support``, ``confidence``, ``lift``.
    n_orders_ : int
        Orders counted.
    (and those of :class:`PopularityRecommender`)

    Examples
    --------
    >>> import pandas as pd
    >>> lines = pd.DataFrame(
    ...     {
    ...         "order_id": [1, 1, 2, 2, 3, 4],
    ...         "customer_id": ["a", "a", "b", "b", "c", "d"],
    ...         "product_id": ["pasta", "sauce", "pasta", "sauce", "pasta", "bread"],
    ...         "date": pd.to_datetime(["2024-01-02"] * 6),
    ...     }
    ... )
    >>> model = BoughtTogetherRecommender().fit(lines, as_of="2024-01-31", order_col="order_id")
    >>> model.rules_.round(2)
      antecedent consequent  orders  support  confidence  lift
    0      pasta      sauce       2      0.5        0.67  1.33
    1      sauce      pasta       2      0.5        1.00  1.33
    >>> model.recommend(["c"], k=1)[["product_id", "reason"]]
      product_id                       reason
    0      sauce  bought together with pasta
    """

    _reason: ClassVar[str] = "bought together with {anchor}"
    _anchored: ClassVar[bool] = True

    def __init__(
        self,
        *,
        min_support: float = 0.0001,
        min_confidence: float = 0.01,
        min_orders: int = 2,
        n_rules: int = 20,
        rank_by: str = "confidence",
        basis: str = "last_order",
    ) -> None:
        self.min_support = min_support
        self.min_confidence = min_confidence
        self.min_orders = min_orders
        self.n_rules = n_rules
        self.rank_by = rank_by
        self.basis = basis

    def _check_params(self) -> None:
        check_scalar(self.min_support, name="min_support", low=0, high=1)
        check_scalar(self.min_confidence, name="min_confidence", low=0, high=1)
        check_int(self.min_orders, name="min_orders", low=1)
        check_int(self.n_rules, name="n_rules", low=1)
        for name, value, allowed in (
            ("rank_by", self.rank_by, ("confidence", "lift")),
            ("basis", self.basis, ("last_order", "history")),
        ):
            if value not in allowed:
                raise ValidationError(
                    f"{name} must be one of {', '.join(map(repr, allowed))}; got {value!r}",
                    field=name,
                    value=value,
                )

    def _fit_model(self, data: Interactions, rng: np.random.Generator) -> None:
        baskets = data.baskets()
        n_orders = baskets.shape[0]
        floor = max(int(self.min_orders), math.ceil(float(self.min_support) * n_orders - 1e-9))
        nb = neighbours(
            baskets, measure=self.rank_by, n_neighbors=int(self.n_rules), min_count=floor
        )
        counts = nb.count
        rows = row_of_entries(counts.indptr)
        c = counts.data.astype(np.float64)
        n_a = nb.support[rows].astype(np.float64)
        n_b = nb.support[counts.indices].astype(np.float64)
        confidence = c / n_a
        keep = confidence >= float(self.min_confidence)
        self.n_orders_ = int(n_orders)
        self.rules_ = pd.DataFrame(
            {
                "antecedent": data.products.take(rows[keep]),
                "consequent": data.products.take(counts.indices[keep]),
                "orders": c[keep].round().astype(np.int64),
                "support": c[keep] / n_orders,
                "confidence": confidence[keep],
                "lift": c[keep] * n_orders / (n_a[keep] * n_b[keep]),
            }
        )
        lift = c * n_orders / (n_a * n_b)
        value = (confidence if self.rank_by == "confidence" else lift)[keep]
        self._score = sp.csr_matrix(
            (value.astype(np.float32), (rows[keep], counts.indices[keep])),
            shape=(data.n_products, data.n_products),
        )
        self._finish()
        self.last_order_ = self._last_orders(data) if self.basis == "last_order" else None

    def _finish(self) -> None:
        self._score.sort_indices()
        self._links = Links(self._score)

    @staticmethod
    def _last_orders(data: Interactions) -> sp.csr_matrix:
        """Return customers × products: the products of each customer's latest order."""
        owner, times = data.order_customer(), data.order_times()
        order = np.lexsort((np.arange(owner.size), times, owner))
        last = np.ones(order.size, dtype=bool)
        last[:-1] = owner[order][1:] != owner[order][:-1]
        latest = order[last]  # one order per customer, in customer order
        m = data.baskets()[latest]
        out = sp.csr_matrix((m.data, m.indices, m.indptr), shape=(data.n_customers, m.shape[1]))
        out.sort_indices()
        return out

    def _pick(self, codes: IntArray, k: int, blocked: BoolArray) -> tuple[Picked, IntArray]:
        source = self.last_order_ if self.last_order_ is not None else self.history_
        basis = source[codes]
        basis.data = np.ones_like(basis.data)
        picked = topk_sparse((basis @ self._score).tocsr(), k, blocked=blocked)
        return picked, anchors(picked.row, picked.item, basis, self._links)

    def bought_together(self, product_ids: Any, k: int = 5) -> pd.DataFrame:
        """Return the best ``k`` rules from each given product.

        Returns
        -------
        DataFrame
            ``antecedent``, ``rank``, ``consequent``, ``orders``,
            ``support``, ``confidence``, ``lift``.

        Raises
        ------
        ValidationError
            An unknown product, or ``k`` not a whole number >= 1.
        """
        self._check_fitted()
        check_int(k, name="k", low=1)
        codes = product_codes(self, product_ids)
        picked = topk_sparse(self._score[codes], int(k))
        rules = self.rules_.set_index(["antecedent", "consequent"])
        pairs = pd.MultiIndex.from_arrays(
            [
                pd.Index(self.products_.take(codes[picked.row])),
                pd.Index(self.products_.take(picked.item)),
            ]
        )
        out = rules.loc[pairs].reset_index()
        out.insert(1, "rank", _ranks(picked.row))
        return out

    def _state_to_dict(self) -> dict[str, Any]:
        rules = self.rules_
        pos = self.products_.get_indexer
        state: dict[str, Any] = {
            "n_orders_": self.n_orders_,
            "rules_": {
                "antecedent": _codec.encode_array(
                    pos(pd.Index(rules["antecedent"])).astype(np.int64)
                ),
                "consequent": _codec.encode_array(
                    pos(pd.Index(rules["consequent"])).astype(np.int64)
                ),
                "orders": _codec.encode_array(rules["orders"].to_numpy(np.int64)),
                "support": _codec.encode_array(rules["support"].to_numpy(np.float64)),
                "confidence": _codec.encode_array(rules["confidence"].to_numpy(np.float64)),
                "lift": _codec.encode_array(rules["lift"].to_numpy(np.float64)),
            },
        }
        if self.last_order_ is not None:
            state["last_order_"] = _codec.encode_csr(self.last_order_)
        return state

    def _state_from_dict(self, fitted: Mapping[str, Any]) -> None:
        n_products = len(self.products_)
        n_orders = fitted.get("n_orders_")
        raw = fitted.get("rules_")
        if not isinstance(n_orders, int) or n_orders < 1 or not isinstance(raw, Mapping):
            raise ValidationError("saved model: rules_ or n_orders_ is missing", field="rules_")
        cols = {}
        for name, dtype in (
            ("antecedent", np.int64),
            ("consequent", np.int64),
            ("orders", np.int64),
            ("support", np.float64),
            ("confidence", np.float64),
            ("lift", np.float64),
        ):
            cols[name] = _codec.decode_array(raw.get(name), field=f"rules_.{name}", dtype=dtype)
        sizes = {v.shape for v in cols.values()}
        a, b = cols["antecedent"], cols["consequent"]
        out_of_range = a.size > 0 and (
            min(a.min(), b.min()) < 0 or max(a.max(), b.max()) >= n_products
        )
        if len(sizes) != 1 or out_of_range:
            raise ValidationError("saved model: rules_ do not match products_", field="rules_")
        self.n_orders_ = n_orders
        self.rules_ = pd.DataFrame(
            {
                "antecedent": self.products_.take(a),
                "consequent": self.products_.take(b),
                **{k: cols[k] for k in ("orders", "support", "confidence", "lift")},
            }
        )
        value = cols["confidence"] if self.rank_by == "confidence" else cols["lift"]
        self._score = sp.csr_matrix(
            (value.astype(np.float32), (a, b)), shape=(n_products, n_products)
        )
        self._finish()
        self.last_order_ = None
        if "last_order_" in fitted:
            last = _codec.decode_csr(fitted["last_order_"], field="last_order_")
            if last.shape != self.history_.shape:
                raise ValidationError(
                    "saved model: last_order_ does not match history_", field="last_order_"
                )
            self.last_order_ = last
