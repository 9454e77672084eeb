"""Matrix factorisation for purchases: implicit ALS as an estimator."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

import numpy as np

from crmcore._types import BoolArray, IntArray
from crmcore._validation import check_scalar
from crmcore.errors import ValidationError
from crmcore.recommend import _codec
from crmcore.recommend._als import als, confidence_minus_one
from crmcore.recommend._base import BaseRecommender
from crmcore.recommend._interactions import Interactions
from crmcore.recommend._similarity import check_int
from crmcore.recommend._topk import Picked, topk_dense

__all__ = ["ImplicitALSRecommender"]


class ImplicitALSRecommender(BaseRecommender):
    """Latent-factor recommendations from purchases (implicit ALS).

    Customers and products get ``factors``-dimensional vectors whose inner
    product predicts whether the customer buys the product, fitted by
    alternating least squares on *every* customer × product pair, weighted by
    a confidence that grows with the number of purchases (Hu, Koren and
    Volinsky, 2008, "Collaborative Filtering for Implicit Feedback
    Datasets", ICDM, section 4). Implemented on NumPy / SciPy: the
    conjugate-gradient solver of Takács, Pilászy and Tikk (2011) runs a few
    steps per sweep, warm-started, so each sweep costs ``O(nnz · f + n · f²)``.
    (The ``implicit`` package implements the same model in compiled code; it
    is not used, to keep crmcore free of a compiled dependency whose wheels
    lag new Python releases. The tests check the NumPy solver against an
    exact solve.)

    A customer's score for a product is ``x_uᵀ y_i``; the ``reason`` of a
    row is ``"latent factors"``. Customers without history at ``as_of`` have
    no factors and get the popularity fallback.

    Parameters
    ----------
    factors : int, default 32
        Dimension of the vectors.
    regularization : float, default 100
        ``λ > 0``. Larger values pull scores toward popularity; the right
        value grows with the data (tune it with
        :func:`evaluate_recommenders`; the defaults were chosen on
        :func:`simulate_baskets` data, where ``λ`` from 0.1 to 1000 and
        ``α`` from 1 to 100 were compared).
    alpha : float, default 20
        Confidence scale ``α > 0``.
    scaling : {"log", "linear"}, default "log"
        The confidence of ``r`` purchases: ``1 + α log(1 + r / ε)`` or
        ``1 + α r``.
    epsilon : float, default 1
        ``ε`` of the log confidence.
    weight : {"orders", "quantity"}, default "orders"
        What ``r`` counts: orders holding the product, or units bought.
    iterations : int, default 15
        Sweeps (customers, then products).
    solver : {"cg", "exact"}, default "cg"
        Conjugate gradient (fast) or the exact per-customer solve.
    cg_steps : int, default 3
        CG steps per half sweep.
    random_state : int, Generator or None
        Seed of the initial factors.

    Attributes
    ----------
    customer_factors_ : ndarray of float32, shape (n_customers, factors)
    product_factors_ : ndarray of float32, shape (n_products, factors)
    (and those of :class:`PopularityRecommender`)

    Examples
    --------
    >>> from crmcore.recommend import simulate_baskets
    >>> sim = simulate_baskets(300, 40, random_state=0)
    >>> model = ImplicitALSRecommender(factors=8, iterations=5, random_state=0)
    >>> recs = model.fit(sim.lines, as_of="2024-06-30", order_col="order_id").recommend([0], k=3)
    >>> recs["rank"].tolist(), recs["reason"].unique().tolist()
    ([1, 2, 3], ['latent factors'])
    """

    _reason: ClassVar[str] = "latent factors"

    def __init__(
        self,
        *,
        factors: int = 32,
        regularization: float = 100.0,
        alpha: float = 20.0,
        scaling: str = "log",
        epsilon: float = 1.0,
        weight: str = "orders",
        iterations: int = 15,
        solver: str = "cg",
        cg_steps: int = 3,
        random_state: Any = None,
    ) -> None:
        self.factors = factors
        self.regularization = regularization
        self.alpha = alpha
        self.scaling = scaling
        self.epsilon = epsilon
        self.weight = weight
        self.iterations = iterations
        self.solver = solver
        self.cg_steps = cg_steps
        self.random_state = random_state

    def _check_params(self) -> None:
        check_int(self.factors, name="factors", low=1)
        check_int(self.iterations, name="iterations", low=1)
        check_int(self.cg_steps, name="cg_steps", low=1)
        check_scalar(self.regularization, name="regularization", low=0, low_inclusive=False)
        check_scalar(self.alpha, name="alpha", low=0, low_inclusive=False)
        check_scalar(self.epsilon, name="epsilon", low=0, low_inclusive=False)
        for name, value, allowed in (
            ("scaling", self.scaling, ("log", "linear")),
            ("weight", self.weight, ("orders", "quantity")),
            ("solver", self.solver, ("cg", "exact")),
        ):
            if value not in allowed:
                raise ValidationError(
                    f"{name} must be one of {', '.join(map(repr, allowed))}; got {value!r}",
                    field=name,
                    value=value,
                )

    def _fit_model(self, data: Interactions, rng: np.random.Generator) -> None:
        conf = confidence_minus_one(
            data.matrix(self.weight),  # type: ignore[arg-type]
            alpha=float(self.alpha),
            scaling=self.scaling,
            epsilon=float(self.epsilon),
        )
        self.customer_factors_, self.product_factors_ = als(
            conf,
            factors=int(self.factors),
            regularization=float(self.regularization),
            iterations=int(self.iterations),
            solver=self.solver,
            cg_steps=int(self.cg_steps),
            rng=rng,
        )

    def _pick(self, codes: IntArray, k: int, blocked: BoolArray) -> tuple[Picked, IntArray]:
        scores = np.asarray(self.customer_factors_[codes] @ self.product_factors_.T, np.float64)
        picked = topk_dense(scores, k, blocked=blocked)
        return picked, np.zeros(picked.row.size, dtype=np.int64)

    def _state_to_dict(self) -> dict[str, Any]:
        return {
            "customer_factors_": _codec.encode_array(self.customer_factors_),
            "product_factors_": _codec.encode_array(self.product_factors_),
        }

    def _state_from_dict(self, fitted: Mapping[str, Any]) -> None:
        x = _codec.decode_array(
            fitted.get("customer_factors_"), field="customer_factors_", dtype=np.float32, ndim=2
        )
        y = _codec.decode_array(
            fitted.get("product_factors_"), field="product_factors_", dtype=np.float32, ndim=2
        )
        f = int(self.factors)
        if x.shape != (len(self.customers_), f) or y.shape != (len(self.products_), f):
            raise ValidationError(
                "saved model: factor matrices do not match customers_, products_ and factors",
                field="customer_factors_",
            )
        self.customer_factors_, self.product_factors_ = x, y
