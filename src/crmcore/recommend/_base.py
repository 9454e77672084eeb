"""The one estimator contract of every recommender: fit, recommend, save.

Subclasses declare their hyper-parameters in ``__init__`` (stored unchanged,
as scikit-learn requires), check them in ``_check_params``, learn from
:class:`~crmcore.recommend.Interactions` in ``_fit_model``, propose
candidates for a block of known customers in ``_pick``, and describe their
fitted state as JSON in ``_state_to_dict`` / ``_state_from_dict``. This
class does the rest: reading the log at ``as_of``, the purchase history,
popularity tables and the cold-start fallback, ``recommend`` with
exclusions and filters, and the JSON envelope.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from typing import Any, ClassVar, Self

import numpy as np
import pandas as pd
import scipy.sparse as sp
from sklearn.base import BaseEstimator

from crmcore._time import resolve_as_of, to_instant
from crmcore._types import BoolArray, FloatArray, IntArray
from crmcore.errors import DataWarning, NotFittedError, ValidationError
from crmcore.recommend import _codec
from crmcore.recommend._fallback import Popularity, segment_codes
from crmcore.recommend._interactions import Interactions, catalogue_ids, interactions, plain
from crmcore.recommend._topk import Picked, fill_ranked
from crmcore.segmentation import Rule

__all__ = ["BaseRecommender", "as_interactions"]

# Reasons of fallback rows are negative codes; a model's own reasons are >= 0.
_POPULAR, _CATALOGUE = -1, -2
_BLOCK_CELLS = 1 << 24  # customers × products cells per block (16 MB of booleans)


def as_interactions(data: Any, *, as_of: Any, **columns: Any) -> Interactions:
    """Return ``data`` as :class:`Interactions` (reading a DataFrame at ``as_of``).

    Raises
    ------
    ValidationError
        Neither a DataFrame nor Interactions; a DataFrame without ``as_of``;
        or Interactions with an ``as_of`` other than the one they were cut at.
    """
    if isinstance(data, Interactions):
        if as_of is not None and resolve_as_of(as_of, tz=data.tz).ns != data.cutoff.ns:
            raise ValidationError(
                f"these interactions were cut at as_of={data.cutoff}; give as_of=None or the same "
                "cut-off (build new interactions for another as_of)",
                field="as_of",
                value=as_of,
            )
        return data
    if isinstance(data, pd.DataFrame):
        return interactions(data, as_of=as_of, **columns)
    raise ValidationError(
        f"data must be a DataFrame of order lines or Interactions; got {type(data).__name__}",
        field="data",
    )


def _check_k(k: Any, n_products: int) -> int:
    if isinstance(k, bool) or not isinstance(k, int | np.integer) or k < 1:
        raise ValidationError(f"k must be a whole number >= 1; got {k!r}", field="k", value=k)
    if k > n_products:
        raise ValidationError(
            f"k={k} is larger than the catalogue ({n_products} products): ask for k <= "
            f"{n_products}",
            field="k",
            value=k,
        )
    return int(k)


def _requested(customer_ids: Any, name: str) -> pd.Index:
    if isinstance(customer_ids, str | int | np.integer):
        customer_ids = [customer_ids]
    try:
        ids = pd.Index(customer_ids)
    except TypeError as exc:
        raise ValidationError(
            f"customer_ids must be a list of customer ids; got {type(customer_ids).__name__}",
            field="customer_ids",
        ) from exc
    if ids.hasnans:
        raise ValidationError("customer_ids holds a missing id", field="customer_ids")
    if not ids.is_unique:
        dup = plain(ids[ids.duplicated()][0])
        raise ValidationError(
            f"customer_ids lists {dup!r} twice; ask for each customer once",
            field="customer_ids",
            row=dup,
            value=dup,
        )
    out: pd.Index = ids.rename(name)
    return out


class _Slots:
    """Each customer's ``k`` recommendation slots, filled source by source in rank order."""

    def __init__(self, n: int, k: int) -> None:
        self.item = np.full((n, k), -1, dtype=np.int64)
        self.score = np.zeros((n, k))
        self.reason = np.zeros((n, k), dtype=np.int64)
        self.have = np.zeros(n, dtype=np.int64)

    def put(self, rows: IntArray, items: IntArray, scores: FloatArray, reasons: IntArray) -> None:
        """Append entries (sorted by row, each row's in rank order) after what rows have."""
        if rows.size == 0:
            return
        new = np.ones(rows.size, dtype=bool)
        new[1:] = rows[1:] != rows[:-1]
        starts = np.flatnonzero(new)
        within = np.arange(rows.size) - np.repeat(starts, np.diff(np.append(starts, rows.size)))
        slot = self.have[rows] + within
        self.item[rows, slot] = items
        self.score[rows, slot] = scores
        self.reason[rows, slot] = reasons
        self.have += np.bincount(rows, minlength=self.have.size)

    def flat(self) -> tuple[IntArray, IntArray, FloatArray, IntArray]:
        """Return the filled slots in row-major order: by customer, then rank."""
        ok = self.item >= 0
        rows = np.broadcast_to(np.arange(ok.shape[0], dtype=np.int64)[:, None], ok.shape)
        return rows[ok], self.item[ok], self.score[ok], self.reason[ok]


class BaseRecommender(BaseEstimator):  # type: ignore[misc]
    """Base class of the recommenders (not used directly)."""

    #: what ``reason`` says for a model candidate; ``{anchor}`` is the product behind it
    _reason: ClassVar[str] = "model"
    #: whether model reasons name an anchor product (``_pick`` returns product codes)
    _anchored: ClassVar[bool] = False

    # ------------------------------------------------------------------ hooks
    def _check_params(self) -> None:
        """Validate hyper-parameters (raise ValidationError)."""

    def _fit_model(self, data: Interactions, rng: np.random.Generator) -> None:
        """Learn the model's own state."""

    def _pick(self, codes: IntArray, k: int, blocked: BoolArray) -> tuple[Picked, IntArray] | None:
        """Candidates of known customers (codes) and their reason codes, or None."""
        return None

    def _state_to_dict(self) -> dict[str, Any]:
        return {}

    def _state_from_dict(self, fitted: Mapping[str, Any]) -> None:
        return None

    def _popularity_matrix(self, data: Interactions) -> sp.csr_matrix:
        return data.matrix("binary")

    # ------------------------------------------------------------------ fit
    def fit(
        self,
        data: Any,
        y: Any = None,
        *,
        as_of: Any = None,
        segments: pd.Series | None = None,
        products: Any = None,
        customer_col: str = "customer_id",
        product_col: str = "product_id",
        date_col: str = "date",
        quantity_col: str | None = None,
        order_col: str | None = None,
        date_format: str | None = None,
    ) -> Self:
        """Learn from the order lines at or before ``as_of``.

        Parameters
        ----------
        data : DataFrame or Interactions
            Order lines (read with :func:`~crmcore.recommend.interactions`
            and the column arguments), or lines already read.
        y : None
            Ignored (scikit-learn signature).
        as_of : date-like
            The cut-off; required for a DataFrame. Lines after it are not used.
        segments : Series, optional
            Segment label per customer id, for popularity by segment (the
            cold-start fallback).
        products : DataFrame or sequence, optional
            The catalogue (product ids); lines naming other products are
            refused.
        customer_col, product_col, date_col, quantity_col, order_col, date_format
            How to read a DataFrame (see :func:`~crmcore.recommend.interactions`).

        Returns
        -------
        self

        Raises
        ------
        ValidationError
            Bad hyper-parameters or bad lines (see ``interactions``).
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
            products=products,
            date_format=date_format,
        )
        seg_of, labels = (None, None)
        if segments is not None:
            seg_of, labels = segment_codes(segments, inter.customers)
        rng = np.random.default_rng(getattr(self, "random_state", None))
        self.customers_ = inter.customers
        self.products_ = inter.products
        self.as_of_ = inter.as_of
        self.history_ = inter.matrix("orders")
        self.customer_segment_ = seg_of
        self.popularity_ = Popularity.from_matrix(self._popularity_matrix(inter), seg_of, labels)
        self._fit_model(inter, rng)
        return self

    # ------------------------------------------------------------------ queries
    def _check_fitted(self) -> None:
        if not hasattr(self, "history_"):
            raise NotFittedError(
                f"this {type(self).__name__} is not fitted yet: call fit(lines, as_of=...) first"
            )

    def _allowed(self, filter: Rule | None, products: Any) -> BoolArray:
        n = len(self.products_)
        if filter is not None and not isinstance(filter, Rule):
            raise ValidationError(
                f"filter must be a crmcore.segmentation.Rule; got {type(filter).__name__} (build "
                "one with Rule.parse('category == ...'))",
                field="filter",
            )
        if products is None:
            if filter is not None:
                raise ValidationError(
                    "filter needs products=: the catalogue frame whose columns the rule reads",
                    field="products",
                )
            return np.ones(n, dtype=bool)
        col = str(self.products_.name)
        ids = catalogue_ids(products, col)
        frame = products if isinstance(products, pd.DataFrame) else pd.DataFrame(index=ids)
        keep = np.ones(len(ids), dtype=bool) if filter is None else filter.mask(frame)
        allowed = np.zeros(n, dtype=bool)
        pos = self.products_.get_indexer(ids[keep])
        allowed[pos[pos >= 0]] = True
        if not allowed.any():
            raise ValidationError(
                f"no product of the model passes the filter {filter!s}"
                if filter is not None
                else "none of the given products is known to the model",
                field="filter" if filter is not None else "products",
            )
        return allowed

    def recommend(
        self,
        customer_ids: Any,
        k: int = 10,
        *,
        exclude_purchased: bool = True,
        filter: Rule | None = None,
        products: Any = None,
        segments: pd.Series | None = None,
    ) -> pd.DataFrame:
        """Top-``k`` products for each customer, best first.

        Customers without history at the model's ``as_of`` (cold starts), and
        customers for whom the model has fewer than ``k`` candidates, are
        completed from popularity: within their segment when it is known
        (``segments``, or the segments given to ``fit``), then overall. The
        ``reason`` column says which source chose each row.

        Parameters
        ----------
        customer_ids : list-like
            Customers to recommend for (each once).
        k : int, default 10
            Recommendations per customer (at most the catalogue's size).
        exclude_purchased : bool, default True
            Leave out what the customer bought at or before ``as_of``.
        filter : Rule, optional
            Only products for which the rule holds on ``products``.
        products : DataFrame, optional
            The catalogue (one row per product id, with the columns the
            rule reads). Model products missing from it are not recommended.
        segments : Series, optional
            Segment label per customer id (for the fallback of cold starts).

        Returns
        -------
        DataFrame
            ``customer_id``, ``rank`` (1..k), ``product_id``, ``score``,
            ``reason`` (named after the fitted columns), in the order of
            ``customer_ids``. Scores are on the scale of the row's source
            (popularity rows: the share of customers who bought it).

        Raises
        ------
        NotFittedError
            Before ``fit``.
        ValidationError
            ``k`` not a whole number in ``1..catalogue size``, a filter that
            is not a Rule, reads a column the catalogue lacks, or leaves
            fewer than ``k`` products, or repeated customer ids.

        Warns
        -----
        DataWarning
            Some customers get fewer than ``k`` rows because they already
            bought all but a few of the allowed products.
        """
        self._check_fitted()
        n_products = len(self.products_)
        k = _check_k(k, n_products)
        allowed = self._allowed(filter, products)
        n_allowed = int(allowed.sum())
        if k > n_allowed:
            raise ValidationError(
                f"the filter leaves {n_allowed} products; ask for k <= {n_allowed}",
                field="k",
                value=k,
            )
        ids = _requested(customer_ids, str(self.customers_.name))
        if len(ids) == 0:
            return self._frame(ids, [])
        codes = np.asarray(self.customers_.get_indexer(ids), dtype=np.int64)
        seg = self._segments_of(ids, codes, segments)
        block = max(1, _BLOCK_CELLS // max(n_products, 1))
        parts: list[tuple[IntArray, IntArray, FloatArray, IntArray]] = []
        short = 0
        for start in range(0, len(ids), block):
            stop = min(start + block, len(ids))
            rows, items, scores, reasons = self._block(
                codes[start:stop], seg[start:stop], k, allowed, exclude_purchased=exclude_purchased
            )
            short += int((np.bincount(rows, minlength=stop - start) < k).sum())
            parts.append((rows + start, items, scores, reasons))
        if short:
            warnings.warn(
                f"{short} customer(s) get fewer than k={k} recommendations: they already bought "
                "nearly every allowed product (exclude_purchased=True)",
                DataWarning,
                stacklevel=2,
            )
        return self._frame(ids, parts)

    def _segments_of(self, ids: pd.Index, codes: IntArray, segments: pd.Series | None) -> IntArray:
        pop = self.popularity_
        seg = np.full(len(ids), -1, dtype=np.int64)
        if pop.segments is None:
            return seg
        if self.customer_segment_ is not None:
            known = codes >= 0
            seg[known] = self.customer_segment_[codes[known]]
        if segments is not None:
            given, _ = segment_codes(segments, ids, labels=pop.segments)
            seg = np.where(given >= 0, given, seg)
        return seg

    def _block(
        self,
        codes: IntArray,
        seg: IntArray,
        k: int,
        allowed: BoolArray,
        *,
        exclude_purchased: bool,
    ) -> tuple[IntArray, IntArray, FloatArray, IntArray]:
        n = codes.size
        n_products = len(self.products_)
        blocked = np.zeros((n, n_products), dtype=bool)
        if not allowed.all():
            blocked[:, ~allowed] = True
        known = np.flatnonzero(codes >= 0)
        hist = self.history_[codes[known]]
        if exclude_purchased and hist.nnz:
            r = np.repeat(known, np.diff(hist.indptr))
            blocked[r, hist.indices] = True
        out = _Slots(n, k)
        if known.size:
            got = self._pick(codes[known], k, blocked[known])
            if got is not None:
                picked, why = got
                rows = known[picked.row]
                blocked[rows, picked.item] = True
                out.put(rows, picked.item, picked.score, why)
        pop = self.popularity_
        if pop.segments is not None:
            for s in np.unique(seg[seg >= 0]):
                need = np.where(seg == s, k - out.have, 0)
                ranked, share = pop.segment_ranking(int(s), allowed)
                fill = fill_ranked(ranked, share, blocked, need)
                if fill.row.size:
                    blocked[fill.row, fill.item] = True
                    out.put(fill.row, fill.item, fill.score, np.full(fill.row.size, -3 - int(s)))
        ranked, share = pop.ranking(allowed)
        fill = fill_ranked(ranked, share, blocked, k - out.have)
        if fill.row.size:
            why = np.where(pop.buyers[fill.item] > 0, _POPULAR, _CATALOGUE)
            out.put(fill.row, fill.item, fill.score, why.astype(np.int64))
        return out.flat()

    def _reason_texts(self, codes: IntArray) -> list[str]:
        labels = self.popularity_.segments
        out = []
        for c in codes.tolist():
            if c == _POPULAR:
                out.append("popular")
            elif c == _CATALOGUE:
                out.append("in catalogue (no sales yet)")
            elif c <= -3:
                assert labels is not None
                out.append(f"popular in segment {labels[-3 - c]}")
            elif self._anchored:
                out.append(self._reason.format(anchor=self.products_[c]))
            else:
                out.append(self._reason)
        return out

    def _frame(
        self, ids: pd.Index, parts: list[tuple[IntArray, IntArray, FloatArray, IntArray]]
    ) -> pd.DataFrame:
        if parts:
            rows = np.concatenate([p[0] for p in parts])
            items = np.concatenate([p[1] for p in parts])
            scores = np.concatenate([p[2] for p in parts])
            reasons = np.concatenate([p[3] for p in parts])
        else:
            rows = items = reasons = np.zeros(0, dtype=np.int64)
            scores = np.zeros(0)
        counts = np.bincount(rows, minlength=len(ids))
        starts = np.cumsum(counts) - counts
        rank = np.arange(rows.size) - np.repeat(starts, counts) + 1
        # reason codes are small integers: map them to categories without sorting
        low = int(reasons.min()) if reasons.size else 0
        present = np.bincount(reasons - low) > 0 if reasons.size else np.zeros(0, dtype=bool)
        uniq = np.flatnonzero(present) + low
        lookup = np.cumsum(present) - 1
        reason = pd.Categorical.from_codes(
            lookup[reasons - low].astype(np.int64) if reasons.size else reasons,
            categories=pd.Index(self._reason_texts(uniq)),
        )
        return pd.DataFrame(
            {
                str(self.customers_.name): ids.take(rows),
                "rank": rank.astype(np.int64),
                str(self.products_.name): self.products_.take(items),
                "score": scores.astype(np.float64),
                "reason": reason,
            }
        )

    # ------------------------------------------------------------------ persistence
    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready description (hyper-parameters and fitted state).

        Arrays are stored as base64 of their little-endian bytes, ids as
        lists of strings or integers: strict JSON, never pickle.

        Raises
        ------
        NotFittedError
            Before ``fit``.
        ValidationError
            Customer, product or segment ids that are not strings or integers.
        """
        self._check_fitted()
        params = self.get_params()
        if "random_state" in params and not isinstance(params["random_state"], int | None):
            params["random_state"] = None  # a Generator has no JSON form
        fitted: dict[str, Any] = {
            "customers_": _codec.encode_ids(self.customers_, field="customers_"),
            "customer_col": str(self.customers_.name),
            "products_": _codec.encode_ids(self.products_, field="products_"),
            "product_col": str(self.products_.name),
            "as_of_": self.as_of_.isoformat(),
            "history_": _codec.encode_csr(self.history_),
            "popularity_": self.popularity_.to_dict(),
            **self._state_to_dict(),
        }
        if self.customer_segment_ is not None:
            fitted["customer_segment_"] = _codec.encode_array(self.customer_segment_)
        return {
            "model": type(self).__name__,
            "schema_version": _codec.SCHEMA_VERSION,
            "params": params,
            "fitted": fitted,
        }

    @classmethod
    def from_dict(cls, state: Mapping[str, Any]) -> Self:
        """Rebuild a fitted recommender from :meth:`to_dict` output.

        Raises
        ------
        ValidationError
            Not a saved model of this class and schema version, or parts that
            do not fit together.
        """
        params, fitted = _codec.read_envelope(state, cls)
        model = cls(**params)
        model._check_params()
        model.customers_ = _codec.decode_ids(
            fitted.get("customers_"), field="customers_", name=str(fitted.get("customer_col"))
        )
        model.products_ = _codec.decode_ids(
            fitted.get("products_"), field="products_", name=str(fitted.get("product_col"))
        )
        model.as_of_ = to_instant(str(fitted.get("as_of_")), name="as_of_")
        history = _codec.decode_csr(fitted.get("history_"), field="history_")
        if history.shape != (len(model.customers_), len(model.products_)):
            raise ValidationError(
                "saved model: history_ does not match customers_ × products_", field="history_"
            )
        model.history_ = history
        model.popularity_ = Popularity.from_dict(fitted.get("popularity_"), len(model.products_))
        seg = fitted.get("customer_segment_")
        model.customer_segment_ = None
        if seg is not None:
            codes = _codec.decode_array(seg, field="customer_segment_", dtype=np.int64, ndim=1)
            n_seg = 0 if model.popularity_.segments is None else len(model.popularity_.segments)
            if codes.size != len(model.customers_) or (codes.size and codes.max() >= n_seg):
                raise ValidationError(
                    "saved model: customer_segment_ does not match", field="customer_segment_"
                )
            model.customer_segment_ = codes
        model._state_from_dict(fitted)
        return model

    def save(self, path: Any) -> None:
        """Write :meth:`to_dict` to ``path`` as JSON (never pickle).

        Raises
        ------
        NotFittedError
            Before ``fit``.
        ValidationError
            As :meth:`to_dict`; nothing is written then.
        """
        _codec.write_json(self.to_dict(), path)

    @classmethod
    def load(cls, path: Any) -> Self:
        """Read a recommender written by :meth:`save`.

        Raises
        ------
        ValidationError
            The file does not hold a saved model of this class.
        """
        return cls.from_dict(_codec.read_json(path, kind=cls.__name__))
