"""Offline evaluation on a time split: top-k metrics against the popularity baseline.

The split follows the time rule (:doc:`/time`): models are fitted on the
lines at or before ``as_of``; what each customer buys in the future window
``(as_of, as_of + horizon]`` is what they should have been recommended.

For a customer ``u`` with relevant products ``R_u`` (bought in the window;
with ``exclude_purchased``, only those *not* bought before ``as_of``, since
those are the only ones a recommender that leaves out past purchases can
find) and top-``k`` list ``L_u``, with ``rel_r = 1`` when the product at rank
``r`` is in ``R_u``:

* hit rate: ``1`` if ``|L_u ∩ R_u| > 0``;
* precision@k: ``|L_u ∩ R_u| / k`` (``k``, not ``|L_u|``: a short list is
  not rewarded);
* recall@k: ``|L_u ∩ R_u| / |R_u|``;
* nDCG@k (Järvelin and Kekäläinen, 2002, "Cumulated gain-based evaluation
  of IR techniques", ACM TOIS 20(4), with binary gains): ``DCG / IDCG`` with
  ``DCG = Σ_{r≤k} rel_r / log2(r + 1)`` and ``IDCG`` the DCG of a perfect
  list, ``Σ_{r ≤ min(k, |R_u|)} 1 / log2(r + 1)``;
* AP@k: ``Σ_{r≤k} rel_r · P@r / min(k, |R_u|)``, where ``P@r`` is the
  precision of the first ``r`` (average precision as in Manning, Raghavan
  and Schütze, 2008, *Introduction to Information Retrieval*, section 8.4,
  truncated at ``k`` and normalised by the best number of hits achievable in
  ``k`` slots); MAP@k is its mean;
* catalogue coverage: the share of the catalogue recommended to at least
  one evaluated customer (Ge, Delgado-Battenfeld and Jannach, 2010, "Beyond
  accuracy", RecSys).

Each metric is averaged over the customers with at least one relevant
product; products first sold after ``as_of`` stay in ``R_u`` (no model could
have recommended them, and the table should say so).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import clone

from crmcore._time import add_duration, to_duration
from crmcore._types import FloatArray, IntArray
from crmcore._validation import check_columns
from crmcore.errors import ValidationError
from crmcore.recommend._base import BaseRecommender
from crmcore.recommend._interactions import encode, read_lines
from crmcore.recommend._popularity import PopularityRecommender
from crmcore.recommend._similarity import check_int

__all__ = ["METRICS", "evaluate_recommenders", "ranking_metrics"]

METRICS: tuple[str, ...] = ("hit_rate", "precision", "recall", "ndcg", "map", "coverage")
"""The columns of :func:`ranking_metrics` and :func:`evaluate_recommenders`."""


def _per_customer(
    cust: IntArray,
    rank: IntArray,
    hit: np.ndarray[Any, np.dtype[np.bool_]],
    n_rel: IntArray,
    k: int,
) -> dict[str, FloatArray]:
    """Metrics per customer from recommendation rows (customer position, rank, hit)."""
    n = n_rel.size
    use = rank <= k
    cust, rank, hit = cust[use], rank[use], hit[use]
    hits = np.bincount(cust, weights=hit, minlength=n)
    discount = 1.0 / np.log2(rank + 1.0)
    dcg = np.bincount(cust, weights=hit * discount, minlength=n)
    ideal_cum = np.concatenate([[0.0], np.cumsum(1.0 / np.log2(np.arange(1, k + 1) + 1.0))])
    best = np.minimum(n_rel, k)
    idcg = ideal_cum[best]
    # hits so far at each row: rows of a customer are sorted by rank
    order = np.lexsort((rank, cust))
    c_sorted, h_sorted, r_sorted = cust[order], hit[order].astype(np.float64), rank[order]
    cum = np.cumsum(h_sorted)
    start = np.searchsorted(c_sorted, c_sorted, side="left")
    before = np.where(start > 0, cum[start - 1], 0.0)
    hits_to_r = cum - before
    ap = np.bincount(c_sorted, weights=h_sorted * hits_to_r / r_sorted, minlength=n)
    with np.errstate(invalid="ignore", divide="ignore"):
        return {
            "hit_rate": (hits > 0).astype(np.float64),
            "precision": hits / k,
            "recall": hits / n_rel,
            "ndcg": dcg / idcg,
            "map": ap / best,
        }


def ranking_metrics(
    recommendations: pd.DataFrame,
    relevant: pd.DataFrame,
    *,
    k: int,
    customer_col: str = "customer_id",
    product_col: str = "product_id",
    n_products: int | None = None,
) -> pd.Series:
    """Hit rate, precision, recall, nDCG, MAP at ``k`` and coverage of a set of top-k lists.

    Parameters
    ----------
    recommendations : DataFrame
        ``customer_col``, ``rank`` (1 = best) and ``product_col``, as
        ``recommend`` returns them.
    relevant : DataFrame
        ``customer_col`` and ``product_col``: what each customer did buy.
        The metrics average over the customers listed here; one without
        recommendations scores zero.
    k : int
        The cut-off (ranks above ``k`` are ignored).
    customer_col, product_col : str
        Column names.
    n_products : int, optional
        Catalogue size for the coverage (default: products in either frame).

    Returns
    -------
    Series
        The :data:`METRICS` and ``customers`` (how many were averaged).

    Raises
    ------
    ValidationError
        Missing columns, ``k`` < 1, or no relevant product at all.

    Examples
    --------
    The hand-computed example of the tests: customer ``a`` gets
    ``[x, y, z]`` and bought ``{y, w}``; ``b`` gets ``[w, x, v]`` and bought
    ``{w}``.

    >>> import pandas as pd
    >>> recs = pd.DataFrame(
    ...     {
    ...         "customer_id": ["a"] * 3 + ["b"] * 3,
    ...         "rank": [1, 2, 3] * 2,
    ...         "product_id": ["x", "y", "z", "w", "x", "v"],
    ...     }
    ... )
    >>> bought = pd.DataFrame({"customer_id": ["a", "a", "b"], "product_id": ["y", "w", "w"]})
    >>> ranking_metrics(recs, bought, k=3, n_products=10).round(4).to_dict()
    {'hit_rate': 1.0, 'precision': 0.3333, 'recall': 0.75, 'ndcg': 0.6934, 'map': 0.625, 'coverage': 0.5, 'customers': 2.0}
    """  # noqa: E501
    k = check_int(k, name="k", low=1)
    check_columns(recommendations, [customer_col, "rank", product_col], name="recommendations")
    check_columns(relevant, [customer_col, product_col], name="relevant")
    rel = relevant[[customer_col, product_col]].drop_duplicates()
    if rel.empty:
        raise ValidationError(
            "relevant is empty: no customer bought anything to recommend", field="relevant"
        )
    customers = pd.Index(rel[customer_col].unique())
    products = pd.Index(
        pd.concat([rel[product_col], recommendations[product_col]], ignore_index=True).unique()
    )
    rel_c = customers.get_indexer(rel[customer_col])
    rel_p = products.get_indexer(rel[product_col])
    recs = recommendations.loc[recommendations[customer_col].isin(customers)]
    rec_c = customers.get_indexer(recs[customer_col])
    rec_p = products.get_indexer(recs[product_col])
    rank = recs["rank"].to_numpy(np.int64)
    width = len(products)
    rel_keys = np.unique(rel_c.astype(np.int64) * width + rel_p)
    rec_keys = rec_c.astype(np.int64) * width + rec_p
    hit = np.isin(rec_keys, rel_keys)
    n_rel = np.bincount(rel_c, minlength=len(customers)).astype(np.int64)
    per = _per_customer(rec_c.astype(np.int64), rank, hit, n_rel, int(k))
    out = {name: float(np.mean(v)) for name, v in per.items()}
    shown = recommendations.loc[recommendations["rank"] <= k, product_col].nunique()
    out["coverage"] = shown / (n_products if n_products is not None else width)
    out["customers"] = float(len(customers))
    return pd.Series(out, name="metrics")


def evaluate_recommenders(
    lines: pd.DataFrame,
    recommenders: Mapping[str, BaseRecommender],
    *,
    as_of: Any,
    horizon: Any,
    k: int = 10,
    exclude_purchased: bool = True,
    include_new: bool = False,
    baseline: bool = True,
    segments: pd.Series | None = None,
    customer_col: str = "customer_id",
    product_col: str = "product_id",
    date_col: str = "date",
    quantity_col: str | None = None,
    order_col: str | None = None,
    date_format: str | None = None,
) -> pd.DataFrame:
    """Fit each recommender at ``as_of`` and score its top-k on ``(as_of, as_of + horizon]``.

    Each recommender is cloned (the given objects are not changed) and
    fitted on the lines at or before ``as_of``; the popularity baseline
    (:class:`PopularityRecommender`, overall, without segments) is added
    unless ``baseline=False``. Every model recommends for the same
    customers: those who bought in the window, with history at ``as_of``
    (and without, with ``include_new``).

    Parameters
    ----------
    lines : DataFrame
        Order lines, before and after ``as_of``.
    recommenders : mapping of str to recommender
        Name → unfitted (or fitted) recommender.
    as_of : date-like
        Training cut-off.
    horizon : duration
        Length of the test window (``"30D"``; calendar lengths such as
        ``"1M"`` are accepted).
    k : int, default 10
        List length.
    exclude_purchased : bool, default True
        Recommend only products not bought before, and count only those as
        relevant.
    include_new : bool, default False
        Also evaluate customers without history at ``as_of`` (cold starts:
        every model falls back on popularity for them).
    baseline : bool, default True
        Add ``"popularity (baseline)"``.
    segments : Series, optional
        Segment per customer, given to every ``fit``.
    customer_col, product_col, date_col, quantity_col, order_col, date_format
        How to read ``lines``.

    Returns
    -------
    DataFrame
        One row per model: the :data:`METRICS`, ``customers``, and
        ``vs_baseline_ndcg`` (nDCG over the baseline's; missing when the
        baseline's nDCG is 0, as the ratio is undefined then).

    Raises
    ------
    ValidationError
        Bad lines, a bad horizon, no recommender, or no customer to
        evaluate in the window.
    """
    given: Any = recommenders
    if not isinstance(given, Mapping) or not given:
        raise ValidationError(
            "recommenders must be a non-empty mapping of name to recommender", field="recommenders"
        )
    checked = read_lines(
        lines,
        customer_col=customer_col,
        product_col=product_col,
        date_col=date_col,
        quantity_col=quantity_col,
        order_col=order_col,
        date_format=date_format,
    )
    cutoff = checked.cutoff(as_of)
    window = to_duration(horizon, name="horizon", calendar=True)
    end = add_duration(cutoff.ns, checked.tz, window)
    train = encode(checked, checked.times <= cutoff.ns, cutoff)
    in_window = (checked.times > cutoff.ns) & (checked.times <= end)
    test = pd.DataFrame(
        {
            customer_col: checked.customer_ids[in_window].to_numpy(),
            product_col: checked.product_ids[in_window].to_numpy(),
        }
    ).drop_duplicates()
    if not include_new:
        test = test.loc[test[customer_col].isin(train.customers)]
    if exclude_purchased:
        known_c = train.customers.get_indexer(pd.Index(test[customer_col]))
        known_p = train.products.get_indexer(pd.Index(test[product_col]))
        bought = train.matrix("binary")
        ok = (known_c >= 0) & (known_p >= 0)
        old = np.zeros(len(test), dtype=bool)
        if ok.any():  # (an empty fancy index of a sparse matrix is a matrix, not an array)
            old[ok] = np.asarray(bought[known_c[ok], known_p[ok]]).ravel() > 0
        test = test.loc[~old]
    if test.empty:
        raise ValidationError(
            f"no customer to evaluate: nobody with history at as_of={cutoff} bought a new product "
            f"in ({cutoff}, +{horizon}]; widen horizon or set include_new=True",
            field="horizon",
        )
    who = pd.Index(test[customer_col].unique())
    models: dict[str, BaseRecommender] = {}
    if baseline:
        models["popularity (baseline)"] = PopularityRecommender()
    models.update(recommenders)
    rows = {}
    for name, model in models.items():
        # the baseline is plain popularity; add a segmented one under its own name
        seg = None if name == "popularity (baseline)" and baseline else segments
        fitted = clone(model).fit(train, segments=seg)
        recs = fitted.recommend(who, k=k, exclude_purchased=exclude_purchased, segments=segments)
        rows[name] = ranking_metrics(
            recs,
            test,
            k=k,
            customer_col=customer_col,
            product_col=product_col,
            n_products=len(fitted.products_),
        )
    table = pd.DataFrame(rows).T
    table["customers"] = table["customers"].astype(np.int64)
    table.index.name = "model"
    ref = "popularity (baseline)" if baseline else table.index[0]
    ndcg = table["ndcg"].to_numpy(dtype=np.float64)
    reference = ndcg[list(table.index).index(ref)]
    # a baseline that hit nothing leaves the ratio undefined: missing, not inf and a warning
    table["vs_baseline_ndcg"] = ndcg / reference if reference > 0 else np.nan
    return table
