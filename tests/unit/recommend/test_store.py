"""Recommenders on a store: store_interactions and store_catalogue."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from crmcore.domain import Money, Order, OrderLine, Product
from crmcore.errors import ValidationError
from crmcore.recommend import (
    CATALOGUE_COLUMNS,
    ItemSimilarityRecommender,
    interactions,
    store_catalogue,
    store_interactions,
)
from crmcore.segmentation import Rule
from crmcore.storage import InMemoryStore, add_order, order_lines_frame


def eur(amount: str) -> Money:
    return Money(amount=amount, currency="EUR")


def at(day: int) -> dt.datetime:
    return dt.datetime(2026, 1, day, 12, tzinfo=dt.UTC)


@pytest.fixture
def store():
    store = InMemoryStore()
    store.products.add_many(
        [
            Product(id="tea", sku="T", name="Tea", price=eur("4"), category="Grocery > Tea"),
            Product(id="mug", sku="M", name="Mug", price=eur("9"), category="Home > Kitchen"),
            Product(id="pot", sku="P", name="Pot", price=eur("20"), category=("Home",)),
            Product(id="old", sku="O", name="Old", price=eur("1"), active=False),
            Product(id="new", sku="N", name="New", price=eur("3")),  # never sold
        ]
    )
    baskets = {
        "a": [(1, ["tea", "mug"]), (9, ["tea"])],
        "b": [(2, ["tea", "mug", "old"]), (20, ["pot"])],
        "c": [(3, ["mug"])],
    }
    for customer, orders in baskets.items():
        for day, products in orders:
            key = f"{customer}{day}"
            prices = {"tea": "4", "mug": "9", "pot": "20", "old": "1"}
            lines = [
                OrderLine(
                    id=f"{key}:{n}",
                    order_id=key,
                    product_id=p,
                    quantity=n + 1,
                    unit_price=eur(prices[p]),
                )
                for n, p in enumerate(products)
            ]
            total = sum((ln.total for ln in lines), eur("0"))
            order = Order(id=key, customer_id=customer, placed_at=at(day), amount=total)
            add_order(store, order, lines)
    return store


def test_store_interactions_are_the_lines_at_as_of_on_the_whole_catalogue(store):
    data = store_interactions(store, as_of="2026-01-10")
    assert list(data.products) == ["mug", "new", "old", "pot", "tea"]  # never-sold kept
    assert list(data.customers) == ["a", "b", "c"]
    assert data.n_orders == 4  # the order of day 20 is after as_of
    expected = interactions(
        order_lines_frame(store),
        as_of="2026-01-10",
        order_col="order_id",
        quantity_col="quantity",
        products=["mug", "new", "old", "pot", "tea"],
    )
    np.testing.assert_array_equal(
        data.matrix("quantity").toarray(), expected.matrix("quantity").toarray()
    )
    # quantities summed per customer and product: a bought tea twice (1 + 1), b once (1)
    tea = list(data.products).index("tea")
    np.testing.assert_allclose(data.matrix("quantity").toarray()[:, tea], [2, 1, 0], rtol=0)


def test_the_catalogue_feeds_the_filter(store):
    catalogue = store_catalogue(store)
    assert tuple(catalogue.columns) == CATALOGUE_COLUMNS
    row = catalogue.set_index("product_id").loc["tea"]
    assert (row["category"], row["department"], row["price"]) == ("Grocery > Tea", "Grocery", 4.0)
    assert catalogue.set_index("product_id").loc["old", "department"] == ""
    model = ItemSimilarityRecommender().fit(store_interactions(store, as_of="2026-01-31"))
    lists = model.recommend(
        ["c"],
        k=3,
        filter=Rule.parse("active == true"),
        products=catalogue,
        exclude_purchased=True,
    )
    assert "old" not in set(lists["product_id"])
    assert "mug" not in set(lists["product_id"])  # c bought it


def test_an_empty_store_says_what_is_missing():
    with pytest.raises(ValidationError, match=r"store\.products"):
        store_interactions(InMemoryStore(), as_of="2026-01-10")
    with pytest.raises(ValidationError, match=r"store\.products"):
        store_catalogue(InMemoryStore())


def test_nothing_before_as_of_is_refused_by_name(store):
    with pytest.raises(ValidationError, match="as_of"):
        store_interactions(store, as_of="2025-12-31")
