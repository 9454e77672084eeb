"""Recommenders on a store: its catalogue and order lines as the models' input.

The stores keep products and order lines (:mod:`crmcore.storage`);
:func:`store_interactions` reads the lines of the completed orders with
their buyer and time (:func:`crmcore.storage.order_lines_frame`) and codes
them at ``as_of`` against the store's whole catalogue, and
:func:`store_catalogue` gives the product attributes a recommender's
``filter=`` rule reads.  Together they let every model of
:mod:`crmcore.recommend` (and :class:`~crmcore.recommend.RepurchaseModel`)
run on a store end to end.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import pandas as pd

from crmcore.errors import ValidationError
from crmcore.recommend._interactions import Interactions, interactions

if TYPE_CHECKING:
    from crmcore.storage import Store

__all__ = ["CATALOGUE_COLUMNS", "store_catalogue", "store_interactions"]

#: The columns of :func:`store_catalogue`, in order.
CATALOGUE_COLUMNS = (
    "product_id",
    "sku",
    "name",
    "category",
    "department",
    "price",
    "currency",
    "active",
)


def store_catalogue(store: Store) -> pd.DataFrame:
    """Return the store's products as a frame, for recommenders' ``products=`` and ``filter=``.

    Parameters
    ----------
    store : InMemoryStore or SqlStore

    Returns
    -------
    DataFrame
        One row per product, sorted by id: ``product_id``, ``sku``,
        ``name``, ``category`` (the path, ``"Grocery > Tea"``),
        ``department`` (its top level, ``""`` without a category),
        ``price`` (float, in ``currency``) and ``active``.  A rule such as
        ``Rule.parse("active == true and department != 'Books'")`` then filters
        what a recommender may propose.

    Raises
    ------
    ValidationError
        The store holds no product.
    """
    products = store.products.query(order_by="id")
    if not products:
        raise ValidationError(
            "the store holds no product: add the catalogue to store.products first",
            field="products",
        )
    return pd.DataFrame(
        {
            "product_id": [p.id for p in products],
            "sku": [p.sku for p in products],
            "name": [p.name for p in products],
            "category": [p.category_path for p in products],
            "department": [p.category[0] if p.category else "" for p in products],
            "price": [float(p.price.amount) for p in products],
            "currency": [p.price.currency for p in products],
            "active": [p.active for p in products],
        },
        columns=list(CATALOGUE_COLUMNS),
    )


def store_interactions(
    store: Store,
    *,
    as_of: Any,
    statuses: str | Sequence[str] = ("completed",),
    where: Any = None,
) -> Interactions:
    """Read a store's order lines at ``as_of``: the input every recommender fits on.

    The lines of the orders whose status is in ``statuses`` (completed
    orders: the purchases), with each order's buyer and time
    (:func:`crmcore.storage.order_lines_frame`), cut at ``as_of`` and coded
    against the store's whole catalogue (products never sold included, so
    popularity and filters see them).  A basket is an order; quantities are
    the lines' quantities.

    Parameters
    ----------
    store : InMemoryStore or SqlStore
    as_of : date-like
        The cut-off (a date means the end of that day; the stored times are
        UTC instants, so give an aware datetime or a date).
    statuses : str or sequence of str, default ("completed",)
        Which orders count as purchases.
    where : filter, optional
        A filter on the orders (as ``store.orders.query`` takes).

    Returns
    -------
    Interactions
        Ready for ``fit`` of every recommender and of
        :class:`~crmcore.recommend.RepurchaseModel`.

    Raises
    ------
    ValidationError
        No product in the store, no line at or before ``as_of``, or a bad
        status or filter.

    Examples
    --------
    >>> from crmcore.datasets import make_company, write_company
    >>> from crmcore.recommend import ItemSimilarityRecommender, store_interactions
    >>> from crmcore.storage import InMemoryStore
    >>> store = InMemoryStore()
    >>> _ = write_company(make_company(200, random_state=3), store)
    >>> data = store_interactions(store, as_of="2026-06-30")
    >>> data.n_products == store.products.count()
    True
    >>> model = ItemSimilarityRecommender().fit(data)
    >>> model.recommend(data.customers[:2], k=3)["rank"].tolist()
    [1, 2, 3, 1, 2, 3]
    """
    from crmcore.storage import order_lines_frame  # noqa: PLC0415 -- storage on demand

    catalogue = [p.id for p in store.products.query(order_by="id")]
    if not catalogue:
        raise ValidationError(
            "the store holds no product: add the catalogue to store.products first",
            field="products",
        )
    lines = order_lines_frame(store, statuses=statuses, where=where)
    return interactions(
        lines,
        as_of=as_of,
        order_col="order_id",
        quantity_col="quantity",
        products=catalogue,
    )
