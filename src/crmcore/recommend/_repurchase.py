"""Repurchase timing for consumables: when each customer will buy a product again."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Self

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator

from crmcore._time import NS_PER_DAY, to_duration, to_instant, wall_ns
from crmcore._types import FloatArray, IntArray
from crmcore._validation import check_scalar
from crmcore.errors import NotFittedError, ValidationError
from crmcore.recommend import _codec
from crmcore.recommend._base import as_interactions
from crmcore.recommend._interactions import Interactions, plain
from crmcore.recommend._renewal import Fitted, PairStats, em, predict
from crmcore.recommend._similarity import check_int

__all__ = ["RepurchaseModel"]


def _pair_stats(
    data: Interactions, product_rows: IntArray
) -> tuple[PairStats, IntArray, IntArray, IntArray, IntArray]:
    """Per (customer, modelled product): interval statistics, ids, counts, last day.

    ``product_rows[p]`` is the model row of product code ``p`` (-1: not
    modelled). Purchases on one calendar day (the data's wall clock) are one
    purchase.

    Returns
    -------
    (PairStats, customer codes, product codes, purchases, last purchase day)
    """
    keep = product_rows[data.product] >= 0
    day = wall_ns(data.times[keep], data.tz) // NS_PER_DAY
    as_of_day = int(wall_ns(np.array([data.cutoff.ns]), data.tz)[0] // NS_PER_DAY)
    cust, prod = data.customer[keep], data.product[keep]
    base = int(day.min()) if day.size else 0
    span = int(day.max()) - base + 1 if day.size else 1
    pair = cust * data.n_products + prod
    key = np.unique(pair * span + (day - base))
    pair_of, d = key // span, key % span + base
    new_pair = np.ones(key.size, dtype=bool)
    new_pair[1:] = pair_of[1:] != pair_of[:-1]
    starts = np.flatnonzero(new_pair)
    idx = np.cumsum(new_pair) - 1
    gap = np.zeros(key.size)
    gap[1:] = np.where(new_pair[1:], 0.0, np.diff(d))
    interval = ~new_pair
    log_gap = np.zeros(key.size)
    log_gap[interval] = np.log(gap[interval])
    n_pairs = starts.size
    n = np.bincount(idx, weights=interval.astype(np.float64), minlength=n_pairs)
    s1 = np.bincount(idx, weights=log_gap, minlength=n_pairs)
    s2 = np.bincount(idx, weights=log_gap**2, minlength=n_pairs)
    ends = np.append(starts[1:], key.size) - 1
    last_day = d[ends]
    open_days = (as_of_day - last_day).astype(np.float64)
    with np.errstate(divide="ignore"):
        log_open = np.where(open_days > 0, np.log(open_days), -np.inf)
    pc = pair_of[starts]
    codes_c, codes_p = pc // data.n_products, pc % data.n_products
    purchases = np.diff(np.append(starts, key.size)).astype(np.int64)
    stats = PairStats(
        product_rows[codes_p],
        np.asarray(n, dtype=np.float64),
        np.asarray(s1, dtype=np.float64),
        np.asarray(s2, dtype=np.float64),
        log_open,
    )
    return stats, codes_c, codes_p, purchases, last_day.astype(np.int64)


class RepurchaseModel(BaseEstimator):  # type: ignore[misc]
    """Expected next purchase of consumables, per customer and product.

    A log-normal renewal model per product with empirical-Bayes pooling
    across its customers and the open interval censored at ``as_of``
    (the model and its estimation are stated in full in the repurchase
    section of the recommendations guide): a customer's intervals between
    purchase days satisfy ``log T ~ N(μ_c, σ²)`` with ``μ_c ~ N(m, τ²)``, so
    a customer with one or two intervals is shrunk toward the product's
    norm, and one who has not rebought for long is expected later than the
    norm (the next interval exceeds the open one).

    Products with fewer than ``min_customers`` repeat buyers (two purchase
    days or more) are not modelled; they are listed in ``skipped_`` with
    their count, never silently dropped.

    Parameters
    ----------
    min_customers : int, default 20
        Repeat buyers a product needs to be modelled.
    quadrature : int, default 16
        Gauss-Hermite nodes for the integral over ``μ_c``.
    max_iter : int, default 100
        EM iterations.
    tol : float, default 1e-5
        Convergence threshold on the parameters (log days).

    Attributes
    ----------
    params_ : DataFrame
        One row per modelled product: ``m``, ``sigma``, ``tau`` (log days),
        ``typical_interval_days`` (``exp(m + (σ² + τ²)/2)``, the population
        mean interval), ``customers``, ``intervals``, ``n_iter``,
        ``converged``.
    skipped_ : DataFrame
        Products not modelled: ``customers`` (repeat buyers) and ``reason``.
    as_of_ : Timestamp
        The cut-off of the fit.

    Examples
    --------
    >>> from crmcore.recommend import simulate_baskets
    >>> import numpy as np
    >>> sim = simulate_baskets(2000, 60, consumable_share=0.2, random_state=3)
    >>> consumables = sim.products.loc[sim.products["consumable"], "product_id"]
    >>> model = RepurchaseModel().fit(
    ...     sim.lines, as_of="2024-06-30", order_col="order_id", products=consumables
    ... )
    >>> true_m = np.log(sim.products.set_index("product_id")["cycle_days"])
    >>> error = model.params_["m"] - true_m[model.params_.index]  # log days
    >>> len(error), bool(error.abs().median() < 0.05)
    (12, True)
    """

    def __init__(
        self,
        *,
        min_customers: int = 20,
        quadrature: int = 16,
        max_iter: int = 100,
        tol: float = 1e-5,
    ) -> None:
        self.min_customers = min_customers
        self.quadrature = quadrature
        self.max_iter = max_iter
        self.tol = tol

    def _check_params(self) -> None:
        check_int(self.min_customers, name="min_customers", low=2)
        check_int(self.quadrature, name="quadrature", low=2)
        check_int(self.max_iter, name="max_iter", low=1)
        check_scalar(self.tol, name="tol", low=0, low_inclusive=False)

    def fit(
        self,
        data: Any,
        y: Any = None,
        *,
        as_of: Any = None,
        products: Any = None,
        customer_col: str = "customer_id",
        product_col: str = "product_id",
        date_col: str = "date",
        quantity_col: str | None = None,
        order_col: str | None = None,
        date_format: str | None = None,
    ) -> Self:
        """Estimate each product's cycle from the purchases at or before ``as_of``.

        Parameters
        ----------
        data : DataFrame or Interactions
            Order lines (see :func:`~crmcore.recommend.interactions`).
        y : None
            Ignored.
        as_of : date-like
            The cut-off (required for a DataFrame); open intervals are
            censored here.
        products : sequence, optional
            Only these products (for example the consumables); default all.
        customer_col, product_col, date_col, quantity_col, order_col, date_format
            How to read a DataFrame.

        Returns
        -------
        self

        Raises
        ------
        ValidationError
            Bad lines or hyper-parameters, an unknown product in
            ``products``, or no product with enough repeat buyers.
        """
        self._check_params()
        inter = as_interactions(
            data,
            as_of=as_of,
            customer_col=customer_col,
            product_col=product_col,
            date_col=date_col,
            quantity_col=quantity_col,
            order_col=order_col,
            date_format=date_format,
        )
        wanted = np.ones(inter.n_products, dtype=bool)
        if products is not None:
            ids = pd.Index([products] if isinstance(products, str | int) else list(products))
            pos = inter.products.get_indexer(ids)
            if (pos < 0).any():
                bad = plain(ids[pos < 0][0])
                raise ValidationError(
                    f"unknown product {bad!r}: it has no purchase at or before "
                    f"as_of={inter.as_of}",
                    field=str(inter.products.name),
                    row=bad,
                    value=bad,
                )
            wanted[:] = False
            wanted[pos] = True
        rows = np.where(wanted, np.arange(inter.n_products), -1)
        stats, _, _, _, _ = _pair_stats(inter, rows)
        repeat = stats.n > 0
        repeaters = np.bincount(stats.product[repeat], minlength=inter.n_products)
        ok = wanted & (repeaters >= int(self.min_customers))
        self.as_of_ = inter.as_of
        self.skipped_ = pd.DataFrame(
            {
                "repeat_customers": repeaters[wanted & ~ok],
                "reason": f"fewer than min_customers={self.min_customers} repeat buyers",
            },
            index=inter.products[wanted & ~ok],
        )
        if not ok.any():
            raise ValidationError(
                f"no product has {self.min_customers} customers who bought it on two days or "
                f"more by as_of={inter.as_of}; lower min_customers or give more history",
                field="min_customers",
            )
        model_rows = np.full(inter.n_products, -1, dtype=np.int64)
        model_rows[ok] = np.arange(int(ok.sum()))
        use = ok[stats.product]
        sub = PairStats(
            model_rows[stats.product[use]],
            stats.n[use],
            stats.s1[use],
            stats.s2[use],
            stats.log_open[use],
        )
        n_model = int(ok.sum())
        fitted = em(
            sub, n_model, k=int(self.quadrature), max_iter=int(self.max_iter), tol=float(self.tol)
        )
        customers = np.bincount(sub.product, minlength=n_model).astype(np.int64)
        intervals = np.bincount(sub.product, weights=sub.n, minlength=n_model)
        self._set_params_frame(
            inter.products[ok], fitted, customers, repeaters[ok], intervals.round()
        )
        return self

    def _set_params_frame(
        self, ids: pd.Index, fitted: Fitted, customers: Any, repeat: Any, intervals: Any
    ) -> None:
        self._fitted = fitted
        self.params_ = pd.DataFrame(
            {
                "m": fitted.m,
                "sigma": fitted.sigma,
                "tau": fitted.tau,
                "typical_interval_days": np.exp(
                    fitted.m + 0.5 * (fitted.sigma**2 + fitted.tau**2)
                ),
                "regular": fitted.regular,
                "customers": np.asarray(customers, dtype=np.int64),
                "repeat_customers": np.asarray(repeat, dtype=np.int64),
                "intervals": np.asarray(intervals, dtype=np.int64),
                "n_iter": fitted.n_iter,
                "converged": fitted.converged,
            },
            index=ids,
        )

    def _check_fitted(self) -> None:
        if not hasattr(self, "params_"):
            raise NotFittedError(
                "this RepurchaseModel is not fitted yet: call fit(lines, as_of=...) first"
            )

    def next_purchases(
        self,
        data: Any,
        *,
        as_of: Any = None,
        horizon: Any = None,
        customer_col: str = "customer_id",
        product_col: str = "product_id",
        date_col: str = "date",
        quantity_col: str | None = None,
        order_col: str | None = None,
        date_format: str | None = None,
    ) -> pd.DataFrame:
        """Predict the next purchase of every modelled product by every customer who bought it.

        The history is the lines at or before ``as_of`` (which may be later
        than the fit's: the model's product parameters, the customers'
        newest purchases).

        Parameters
        ----------
        data : DataFrame or Interactions
            Order lines.
        as_of : date-like
            The cut-off (required for a DataFrame).
        horizon : duration, optional
            Also give the probability of a purchase in ``(as_of, as_of +
            horizon]`` (days after the ``as_of`` day).
        customer_col, product_col, date_col, quantity_col, order_col, date_format
            How to read a DataFrame.

        Returns
        -------
        DataFrame
            ``customer_id``, ``product_id``, ``purchases`` (purchase days),
            ``last_purchase`` (day), ``days_since`` (to the ``as_of`` day),
            ``typical_interval_days`` (the customer's own cycle, shrunk to
            the product's), ``expected_interval_days`` (the next interval
            given that it is longer than ``days_since``),
            ``next_purchase`` (``last_purchase`` + that, a day), and with a
            horizon ``probability``.

        Raises
        ------
        NotFittedError
            Before ``fit``.
        ValidationError
            Bad lines, or a horizon that is not a fixed duration.
        """
        self._check_fitted()
        inter = as_interactions(
            data,
            as_of=as_of,
            customer_col=customer_col,
            product_col=product_col,
            date_col=date_col,
            quantity_col=quantity_col,
            order_col=order_col,
            date_format=date_format,
        )
        days = None
        if horizon is not None:
            days = to_duration(horizon, name="horizon") / pd.Timedelta(days=1)
        rows = np.asarray(self.params_.index.get_indexer(inter.products), dtype=np.int64)
        stats, codes_c, codes_p, purchases, last_day = _pair_stats(inter, rows)
        expected, typical, regular, prob = predict(
            stats, self._fitted, horizon_days=days, k=int(self.quadrature)
        )
        as_of_day = int(wall_ns(np.array([inter.cutoff.ns]), inter.tz)[0] // NS_PER_DAY)
        last = pd.DatetimeIndex((last_day * NS_PER_DAY).astype("datetime64[ns]"))
        nxt = pd.DatetimeIndex(
            ((last_day + np.round(expected)) * NS_PER_DAY)
            .astype(np.int64)
            .astype("datetime64[ns]")
        )
        if inter.tz is not None:
            last = last.tz_localize(inter.tz)
            nxt = nxt.tz_localize(inter.tz, nonexistent="shift_forward", ambiguous=True)
        out = pd.DataFrame(
            {
                str(inter.customers.name): inter.customers.take(codes_c),
                str(inter.products.name): inter.products.take(codes_p),
                "purchases": purchases,
                "last_purchase": last,
                "days_since": (as_of_day - last_day).astype(np.int64),
                "regular_probability": regular,
                "typical_interval_days": typical,
                "expected_interval_days": expected,
                "next_purchase": nxt,
            }
        )
        if days is not None:
            out["probability"] = prob
        return out

    def due_for_repurchase(
        self,
        data: Any,
        *,
        as_of: Any,
        horizon: Any,
        min_probability: float = 0.5,
        **columns: Any,
    ) -> pd.DataFrame:
        """Re-purchase reminders: pairs likely to be rebought in ``(as_of, as_of + horizon]``.

        Parameters
        ----------
        data : DataFrame or Interactions
            Order lines.
        as_of : date-like
            The cut-off.
        horizon : duration
            The reminder window (``"7D"``).
        min_probability : float, default 0.5
            Keep pairs whose probability of a purchase in the window is at
            least this.
        **columns
            Column names, as for :meth:`next_purchases`.

        Returns
        -------
        DataFrame
            The rows of :meth:`next_purchases` that qualify, most likely
            first.

        Raises
        ------
        NotFittedError
            Before ``fit``.
        ValidationError
            A ``min_probability`` outside ``[0, 1]``, or as for
            :meth:`next_purchases`.
        """
        if isinstance(min_probability, bool) or not 0 <= float(min_probability) <= 1:
            raise ValidationError(
                f"min_probability must lie in [0, 1]; got {min_probability!r}",
                field="min_probability",
            )
        if horizon is None:
            raise ValidationError(
                "horizon is required (the reminder window, e.g. '7D')", field="horizon"
            )
        table = self.next_purchases(data, as_of=as_of, horizon=horizon, **columns)
        due = table.loc[table["probability"] >= float(min_probability)]
        return due.sort_values("probability", ascending=False, kind="stable").reset_index(
            drop=True
        )

    # ------------------------------------------------------------------ persistence
    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready description (hyper-parameters and per-product estimates).

        Raises
        ------
        NotFittedError
            Before ``fit``.
        """
        self._check_fitted()
        p = self.params_
        return {
            "model": "RepurchaseModel",
            "schema_version": _codec.SCHEMA_VERSION,
            "params": self.get_params(),
            "fitted": {
                "products": _codec.encode_ids(p.index, field="params_.index"),
                "product_col": str(p.index.name),
                "as_of_": self.as_of_.isoformat(),
                **{c: [float(v) for v in p[c]] for c in ("m", "sigma", "tau", "regular")},
                **{
                    c: [int(v) for v in p[c]]
                    for c in ("customers", "repeat_customers", "intervals", "n_iter")
                },
                "converged": [bool(v) for v in p["converged"]],
                "skipped": {
                    "products": _codec.encode_ids(self.skipped_.index, field="skipped_.index"),
                    "repeat_customers": [int(v) for v in self.skipped_["repeat_customers"]],
                },
            },
        }

    @classmethod
    def from_dict(cls, state: Mapping[str, Any]) -> Self:
        """Rebuild a fitted model from :meth:`to_dict` output.

        Raises
        ------
        ValidationError
            Not a saved RepurchaseModel of this schema version, or parts that
            do not fit together.
        """
        params, fitted = _codec.read_envelope(state, cls)
        model = cls(**params)
        model._check_params()
        ids = _codec.decode_ids(
            fitted.get("products"), field="products", name=str(fitted.get("product_col"))
        )
        m: FloatArray = np.array(_codec.float_list(fitted.get("m"), field="m"))
        sigma: FloatArray = np.array(_codec.float_list(fitted.get("sigma"), field="sigma"))
        tau: FloatArray = np.array(_codec.float_list(fitted.get("tau"), field="tau"))
        regular: FloatArray = np.array(_codec.float_list(fitted.get("regular"), field="regular"))
        names = ("customers", "repeat_customers", "intervals", "n_iter", "converged")
        counts = {c: fitted.get(c) for c in names}
        if not all(isinstance(v, list) and len(v) == len(ids) for v in counts.values()) or not (
            m.size == sigma.size == tau.size == regular.size == len(ids)
        ):
            raise ValidationError("saved model: per-product lists differ in length", field="m")
        if (sigma <= 0).any() or (tau <= 0).any() or ((regular <= 0) | (regular >= 1)).any():
            raise ValidationError(
                "saved model: sigma and tau must be > 0 and regular in (0, 1)", field="sigma"
            )
        fit = Fitted(
            m,
            sigma,
            tau,
            regular,
            np.asarray(counts["n_iter"], dtype=np.int64),
            np.asarray(counts["converged"], dtype=bool),
        )
        model._set_params_frame(
            ids, fit, counts["customers"], counts["repeat_customers"], counts["intervals"]
        )
        model.as_of_ = to_instant(str(fitted.get("as_of_")), name="as_of_")
        skipped = fitted.get("skipped") or {}
        model.skipped_ = pd.DataFrame(
            {
                "repeat_customers": np.asarray(
                    skipped.get("repeat_customers", []), dtype=np.int64
                ),
                "reason": f"fewer than min_customers={model.min_customers} repeat buyers",
            },
            index=_codec.decode_ids(
                skipped.get("products", []), field="skipped.products", name=str(ids.name)
            ),
        )
        return model

    def save(self, path: Any) -> None:
        """Write :meth:`to_dict` to ``path`` as JSON (never pickle)."""
        _codec.write_json(self.to_dict(), path)

    @classmethod
    def load(cls, path: Any) -> Self:
        """Read a model written by :meth:`save`."""
        return cls.from_dict(_codec.read_json(path, kind=cls.__name__))
